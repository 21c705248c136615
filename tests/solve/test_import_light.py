"""`import qopt` stays light: no backend module, no qopt.hybrid, no grpc/qiskit/dwave.system."""
import os
import subprocess
import sys
from pathlib import Path

HEAVY = ("qopt.hybrid", "qopt.hybrid.sampler", "qopt.samplers.qaoa", "qopt.samplers.dwave", "grpc", "qiskit",
         "dwave.system")


def test_import_qopt_loads_no_backend():
    code = f"import qopt, sys; print(','.join(m for m in {HEAVY!r} if m in sys.modules))"
    import qopt

    python_dir = str(Path(qopt.__file__).resolve().parents[1])  # the qopt this test runs (installed or in-tree)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in (python_dir, os.environ.get("PYTHONPATH")) if p)}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120,
                         check=True)
    assert out.stdout.strip() == "", f"import qopt loaded {out.stdout.strip()}"


def test_solve_package_and_function():
    import qopt
    from qopt.solve import solve

    assert qopt.solve is solve and callable(qopt.solve)
