"""The ``quantum`` routing option is declared once and accepted by qopt.solve, the service's request
validation, Client.solve and the CLI."""
import argparse

import dimod
import pytest

from qopt.cli.options import add_sampler_options, sampler_parameters
from qopt.errors import ParameterError
from qopt.service.limits import ServiceConfig
from qopt.service.validation import check_parameters
from qopt.solve.routing import QUANTUM_CHOICES, check_quantum, routing_options


def test_choices_declared_once():
    assert QUANTUM_CHOICES == ("avoid", "auto", "prefer")
    assert check_quantum(None) == "auto"
    with pytest.raises(ParameterError) as info:
        check_quantum("yes")
    assert info.value.field == "quantum"
    with pytest.raises(ParameterError):
        with routing_options(quantum="sometimes"):
            pass


@pytest.mark.parametrize("backend", ["", "auto", "sa"])
def test_service_validation_accepts_quantum(backend):
    model = dimod.generators.ran_r(1, 10, seed=1)
    assert check_parameters(backend, {"quantum": "prefer"}, ServiceConfig(), model) == []
    bad = check_parameters(backend, {"quantum": "maybe"}, ServiceConfig(), model)
    assert [e.field for e in bad] == ["parameters.quantum"] and "avoid, auto, prefer" in bad[0].description


def test_service_refuses_a_routing_profile_path():
    bad = check_parameters("auto", {"routing_profile": "/etc/passwd"}, ServiceConfig(), None)
    assert [e.field for e in bad] == ["parameters.routing_profile"]


def test_cli_quantum_option():
    p = argparse.ArgumentParser()
    add_sampler_options(p)
    assert sampler_parameters(p.parse_args(["--quantum", "avoid", "--seed", "2"])) == {"quantum": "avoid", "seed": 2}
    assert "quantum" not in sampler_parameters(p.parse_args([]))
    with pytest.raises(SystemExit):
        p.parse_args(["--quantum", "always"])


def test_client_solve_sends_quantum_to_the_server():
    from qopt.client import Client
    from qopt.service.server import Server

    srv = Server("127.0.0.1:0", max_workers=2).start()
    try:
        with Client(srv.address) as c:
            avoid = c.solve(dimod.generators.ran_r(1, 22, seed=3), quantum="avoid", seed=1, timeout=60)
            prefer = c.solve(dimod.generators.ran_r(1, 17, seed=3), quantum="prefer", seed=1, maxiter=4, shots=32,
                             timeout=60)
            with pytest.raises(ParameterError):
                c.solve(dimod.generators.ran_r(1, 4, seed=3), quantum="never", timeout=60)
    finally:
        srv.stop(grace=1.0)
    assert avoid.provenance["routing"]["backend"] not in ("qaoa", "dwave", "hybrid")
    assert avoid.best.energy == -69.0  # brute-force optimum (issue 11)
    assert prefer.provenance["routing"]["backend"] == "qaoa"


def test_qopt_profile_command_shows_the_profile_in_use(capsys):
    from qopt.cli import main
    from qopt.solve.profile import router_class_keys

    assert main(["profile"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("routing profile: shipped (") and "command: bench_routing.py" in out
    assert all(key in out for key in router_class_keys())
