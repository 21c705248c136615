"""The generated code in python/qopt/v1 matches protos/ (scripts/gen_protos.py --check)."""
import pathlib
import subprocess
import sys

import pytest

REPO = pathlib.Path(__file__).resolve().parents[1]


def test_generated_code_is_current():
    pytest.importorskip("grpc_tools")
    proc = subprocess.run([sys.executable, str(REPO / "scripts" / "gen_protos.py"), "--check"],
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_enums_start_unspecified():
    from qopt.v1 import model_pb2

    assert model_pb2.Vartype.Name(0) == "VARTYPE_UNSPECIFIED"
