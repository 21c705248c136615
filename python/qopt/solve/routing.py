"""Routing policy for ``backend="auto"``: which backend solves a problem, and why.

The decision uses the problem's size after presolve, its density, the caller's deadline,
the qubit budget and which backends are available here; the reason is a sentence a user
can read ("42 variables after presolve exceed the 24-qubit QAOA budget: hybrid with
20-variable subproblems").
"""
from __future__ import annotations

import dataclasses
import importlib.util
import os

from qopt.samplers.limits import EXACT_ROUTE_MAX_VARIABLES, QAOA_MAX_QUBITS

__all__ = ["RoutingDecision", "route", "choose_backend", "available_backends", "dwave_credentials_configured"]

HYBRID_MIN_SECONDS = 1.0        # below this, quantum subproblems cannot pay off
DWAVE_MAX_DENSE = 120           # largest clique-like problem worth embedding on Advantage
DWAVE_MAX_SPARSE = 2000
HYBRID_SUBPROBLEM_SIZE = 20     # variables per hybrid subproblem the router asks for


@dataclasses.dataclass(frozen=True)
class RoutingDecision:
    """Where a problem goes.

    Attributes:
        backend: backend name (``"exact"``, ``"sa"``, ``"qaoa"``, ``"dwave"``, ``"hybrid"``, or
            ``"race"`` for a racing portfolio of ``racers``).
        reason: the decision in words.
        parameters: parameters the router sets (e.g. ``subproblem_size``, ``time_limit``).
        racers: for ``backend="race"``, the backends that race under one deadline (e.g.
            ``("sa", "cpsat")``); empty otherwise.
        profile: which routing profile the decision came from (its name or path), when one was used.
    """

    backend: str
    reason: str
    parameters: dict = dataclasses.field(default_factory=dict)
    racers: tuple[str, ...] = ()
    profile: str | None = None


def dwave_credentials_configured() -> bool:
    """True when a D-Wave API token is configured (environment or dwave config file).
    Reads local configuration only; never touches the network."""
    if os.environ.get("DWAVE_API_TOKEN"):
        return True
    try:
        from dwave.cloud.config import load_config

        return bool(load_config().get("token"))
    except Exception:  # noqa: BLE001 - a broken config means not configured
        return False


def available_backends() -> dict[str, bool]:
    """Which quantum backends can run here: ``{"qaoa": bool, "dwave": bool}``."""
    qaoa = (importlib.util.find_spec("qiskit") is not None
            and importlib.util.find_spec("qopt.samplers.qaoa") is not None)
    dwave = importlib.util.find_spec("dwave.system") is not None and dwave_credentials_configured()
    return {"qaoa": qaoa, "dwave": dwave}


def choose_backend(num_variables: int, num_interactions: int, *, time_limit: float | None = None,
                   max_qubits: int = QAOA_MAX_QUBITS, available: dict[str, bool] | None = None,
                   presolved: bool = True) -> RoutingDecision:
    """Choose a backend for a model of ``num_variables`` (after presolve) and ``num_interactions``.

    Large problems go to the hybrid solver only when the caller gives a deadline
    (``time_limit``), since the hybrid works until its deadline; without one they go to
    simulated annealing.

    Args:
        num_variables: variables left after presolve.
        num_interactions: quadratic interactions among them.
        time_limit: seconds the caller can wait (None: no deadline).
        max_qubits: qubit budget for statevector QAOA.
        available: ``{"qaoa": bool, "dwave": bool}``; probed with :func:`available_backends` when None.
        presolved: whether the counts are after presolve (only changes the wording).

    Returns:
        :class:`RoutingDecision`.
    """
    n, m = num_variables, num_interactions
    avail = available_backends() if available is None else available
    what = "variables after presolve" if presolved else "variables"
    if n == 0:
        return RoutingDecision("exact", "presolve fixed every variable: nothing left to sample")
    density = 0.0 if n < 2 else 2.0 * m / (n * (n - 1))
    if n <= EXACT_ROUTE_MAX_VARIABLES:
        return RoutingDecision("exact", f"{n} {what}: exact enumeration of 2^{n} states is fast and certain")
    short = time_limit is not None and time_limit < HYBRID_MIN_SECONDS
    if avail.get("dwave") and not short:
        limit = DWAVE_MAX_DENSE if density > 0.3 else DWAVE_MAX_SPARSE
        if n <= limit:
            return RoutingDecision("dwave", f"{n} {what} at density {density:.2f} fit a D-Wave Advantage "
                                            f"embedding (up to {limit}): quantum annealer")
    if avail.get("qaoa") and n <= max_qubits and not short:
        return RoutingDecision("qaoa", f"{n} {what} fit the {max_qubits}-qubit QAOA budget: QAOA")
    quantum = "dwave" if avail.get("dwave") else ("qaoa" if avail.get("qaoa") else None)
    if quantum is None:
        return RoutingDecision("sa", f"{n} {what} and no quantum backend available here: "
                                     "simulated annealing on the C++ core")
    if short:
        return RoutingDecision("sa", f"a deadline of {time_limit:.2g} s leaves no time for quantum "
                                     f"subproblems: simulated annealing on the C++ core")
    if time_limit is None:
        return RoutingDecision("sa", f"{n} {what} exceed the {max_qubits}-qubit QAOA budget and no deadline was "
                                     "given (the hybrid solver works until a deadline): simulated annealing on "
                                     "the C++ core")
    size = min(HYBRID_SUBPROBLEM_SIZE, max_qubits)
    params = {"quantum_backend": quantum, "subproblem_size": size, "time_limit": float(time_limit)}
    budget = f"the {max_qubits}-qubit QAOA budget" if quantum == "qaoa" else "a direct D-Wave embedding"
    return RoutingDecision("hybrid", f"{n} {what} exceed {budget}: hybrid with {size}-variable "
                                     f"subproblems on {quantum}, racing simulated annealing", params)


def route(bqm, backend: str | None, *, time_budget: float | None = None, num_variables: int | None = None,
          num_interactions: int | None = None) -> RoutingDecision:
    """Choose the backend for ``bqm`` (a :class:`dimod.BinaryQuadraticModel`).

    An explicit backend is used as asked; ``"auto"`` (or empty / None) applies the routing
    policy (:func:`choose_backend`) to the model's size after presolve
    (``num_variables``/``num_interactions`` when given), density, deadline
    (``time_budget``, seconds) and the backends available here.

    Returns:
        :class:`RoutingDecision`.
    """
    if backend and backend != "auto":
        return RoutingDecision(backend, f"backend {backend!r} requested")
    n = bqm.num_variables if num_variables is None else num_variables
    m = bqm.num_interactions if num_interactions is None else num_interactions
    return choose_backend(n, m, time_limit=time_budget, presolved=num_variables is not None)
