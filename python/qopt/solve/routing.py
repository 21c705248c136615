"""Routing policy for ``backend="auto"``: which backend solves a problem, and why, from measurements.

A model of at most ``ENUMERATION_MAX_VARIABLES`` (16) variables to sample goes to exact
enumeration (proven optimal, under 0.1 s; the rule presolve applies to its components), a BQM of
at most ``EXACT_PROOF_MAX_VARIABLES`` (30) to the exact backend's branch and bound (proven
optimal, measured in benchmarks/EXACT.md; not a constrained model, whose penalised BQM's optimum
proves nothing about the model).
Above that, the router classes the problem (:func:`qopt.solve.profile.problem_features`: size after
presolve, constraint kinds, template, vartype, density, sign structure), finds the nearest
class in the routing profile (:mod:`qopt.solve.profile`, measured by
``benchmarks/bench_routing.py``). A class measured on fewer than :data:`MIN_CLASS_INSTANCES`
(3) instances does not decide: a constrained model then goes to the race of annealing and
CP-SAT (the cores shared, :func:`qopt.samplers.race.share_cores`), a BQM to annealing.
Otherwise, in the column of the caller's deadline (the longest
measured deadline at or below it; without a deadline, that of the default budget for the model's
size, :func:`qopt.solve.stages.default_time_budget`), picks the backend
with the smallest median gap among those measured on every instance of the class that answered
within the deadline in at least half the runs; answers within :data:`GAP_TIE` of the best count
as equal (at the median and, where the profile records it, on the worst instance too), and then the one that meets the deadline more often, proves optimality more often,
and is faster wins. Where no backend answered in most runs of that column, the next longer
measured deadline decides. A deadline of at least :data:`BEYOND_FACTOR` times the profile's
longest column is beyond every measurement: where that column's pick is annealing (or a race)
that proved no instance of the class while an exact backend proved some, annealing races that
exact backend (:func:`_beyond_measured`), so the extra time can buy the proof and annealing's
answer is kept. Its reason
names the measurement, e.g. "on 4 benchmarks of class bqm/none/21-30 at a 1 s deadline, sa
reached a median gap of 0.00% (100% within the deadline, 0.02 s), where qaoa was 3.1% off".

Quantum backends (:data:`QUANTUM_BACKENDS`: QAOA, D-Wave, the quantum hybrid) compete only
where the profile measured them, and the caller's ``quantum`` option (:data:`QUANTUM_CHOICES`)
decides: ``"auto"`` (default) lets them win on their measurements, ``"avoid"`` never routes
to them, ``"prefer"`` routes to one whenever the model fits it (the old size rules: D-Wave
within its embedding sizes, QAOA within the qubit budget, else the hybrid with quantum
subproblems). An explicit backend is always honoured.
"""
from __future__ import annotations

import contextlib
import contextvars
import dataclasses
import importlib.util
import os
from collections.abc import Iterator, Mapping

from qopt.errors import ParameterError
from qopt.samplers.limits import ENUMERATION_MAX_VARIABLES, EXACT_PROOF_MAX_VARIABLES, QAOA_MAX_QUBITS
from qopt.samplers.race import DEFAULT_RACERS, EXACT_RACERS
from qopt.solve.profile import (
    DENSE_DENSITY,
    Measurement,
    Profile,
    ProfileClass,
    class_key,
    load_profile,
    problem_features,
    size_bucket,
)
from qopt.solve.stages import default_time_budget

__all__ = ["RoutingDecision", "route", "choose_backend", "available_backends", "dwave_credentials_configured",
           "QUANTUM_CHOICES", "QUANTUM_BACKENDS", "ROUTING_OPTIONS", "check_quantum", "routing_options", "GAP_TIE",
           "rank_backends", "MIN_CLASS_INSTANCES", "BEYOND_FACTOR"]

#: Values of the ``quantum`` option: never route to a quantum backend, route on measurements
#: (default), or route to one whenever the model fits it.
QUANTUM_CHOICES = ("avoid", "auto", "prefer")
#: Backends that run (or dispatch to) quantum hardware or its simulation.
QUANTUM_BACKENDS = frozenset({"qaoa", "dwave", "hybrid"})
#: Options of :func:`qopt.solve` that steer routing (not sampler parameters).
ROUTING_OPTIONS = frozenset({"quantum", "routing_profile"})
#: Median gaps within this (relative) of the best count as a tie.
GAP_TIE = 1e-3
#: Least fraction of runs within the deadline for a backend to be chosen on its gap.
MIN_SUCCESS = 0.5
#: A class's measurements decide only when it was measured on at least this many instances;
#: below, the choice is not decisive and :func:`choose_backend` takes the race of annealing and
#: CP-SAT for a constrained model (annealing with the exact backend's proof and bound beside it,
#: the cores shared), annealing for a BQM. portfolio30card10 was routed to HiGHS by a class
#: measured on one portfolio (HiGHS proved it in 0.04 s) and was 35% worse than annealing.
MIN_CLASS_INSTANCES = 3
#: A deadline at least this many times the profile's longest column is beyond its measurements
#: (:func:`_beyond_measured`). jeu_100_25_1 at 30 s (the 5 s column the longest): annealing,
#: routed on the 5 s column, was 0.05% off without a proof, where SCIP alone proved the optimum
#: in 6.6 s and HiGHS in 18 s (benchmarks/PORTFOLIO.md, run B).
BEYOND_FACTOR = 2.0
DWAVE_MAX_DENSE = 120           # largest clique-like problem worth embedding on Advantage
DWAVE_MAX_SPARSE = 2000
HYBRID_SUBPROBLEM_SIZE = 20     # variables per hybrid subproblem the router asks for
_NEEDS_DEADLINE = frozenset({"hybrid", "highs", "cpsat", "scip", "race"})  # run until their time_limit

_OPTIONS: contextvars.ContextVar[Mapping | None] = contextvars.ContextVar("qopt_routing_options", default=None)


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


def check_quantum(quantum) -> str:
    """``quantum`` if it is one of :data:`QUANTUM_CHOICES` (None: ``"auto"``).

    Raises:
        ParameterError: (field ``quantum``) any other value.
    """
    if quantum is None:
        return "auto"
    if quantum not in QUANTUM_CHOICES:
        raise ParameterError("quantum", f"must be one of {', '.join(QUANTUM_CHOICES)}, was {quantum!r}")
    return quantum


@contextlib.contextmanager
def routing_options(*, quantum: str | None = None, routing_profile=None) -> Iterator[None]:
    """Within the block (this thread / context), :func:`route` uses these options where its
    caller passes none: what :func:`qopt.solve` sets from its ``quantum`` and
    ``routing_profile`` arguments, so every path of the pipeline routes alike.

    Args:
        quantum: one of :data:`QUANTUM_CHOICES` (None: ``"auto"``).
        routing_profile: a profile file (None: ``$QOPT_ROUTING_PROFILE`` or the shipped one).

    Raises:
        ParameterError: ``quantum`` is not a valid choice; ``routing_profile`` is not a path.
    """
    quantum = check_quantum(quantum)
    if routing_profile is not None and not isinstance(routing_profile, (str, os.PathLike)):
        raise ParameterError("routing_profile", f"must be a path to a profile file, was {routing_profile!r}")
    token = _OPTIONS.set({"quantum": quantum, "routing_profile": routing_profile})
    try:
        yield
    finally:
        _OPTIONS.reset(token)


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


class _Availability:
    """Which backends can run here: the caller's ``available`` map first, quantum backends
    probed once (:func:`available_backends`), the others by the registry."""

    def __init__(self, given: Mapping[str, bool] | None):
        self.given = dict(given or {})
        self._quantum: dict[str, bool] | None = None

    def __call__(self, name: str, racers: tuple[str, ...] = ()) -> bool:
        if name in self.given:
            return bool(self.given[name])
        if name in ("qaoa", "dwave"):
            if self._quantum is None:
                self._quantum = available_backends()
            return self._quantum[name]
        if name == "hybrid":
            return self("qaoa") or self("dwave")
        from qopt.samplers.registry import backend_names

        return name in backend_names() and all(self(r) for r in racers)


def _pct(gap: float | None) -> str:
    return "no feasible answer" if gap is None else f"{100 * gap:.2f}%"


def rank_backends(measured: Mapping[str, Measurement]) -> list[str]:
    """The backends of one class and deadline (name -> :class:`~qopt.solve.profile.Measurement`),
    best first: the order ``auto`` prefers them in (see the module docstring)."""
    names = sorted(measured)
    if not names:
        return []
    full = max(measured[b].runs for b in names)  # measured on every instance of the class
    eligible = [b for b in names if measured[b].runs == full and measured[b].success_rate >= MIN_SUCCESS] or \
        [b for b in names if measured[b].runs == full]

    def gap(b: str) -> float:
        g = measured[b].median_gap
        return float("inf") if g is None else g

    def worst(b: str) -> float:
        m = measured[b]
        if not m.has_worst_gap:  # a profile without worst gaps: the median stands in
            return gap(b)
        return float("inf") if m.worst_gap is None else m.worst_gap

    best = min(gap(b) for b in eligible)
    # tied: as good as the best at the median and, where recorded, on every instance (a backend
    # that is 2% off on one instance of four does not displace one that never is)
    best_worst = min(worst(b) for b in eligible if gap(b) <= best + GAP_TIE)
    tied = [b for b in eligible if gap(b) <= best + GAP_TIE and worst(b) <= best_worst + GAP_TIE]
    tied.sort(key=lambda b: (-measured[b].success_rate, -measured[b].proven_rate, measured[b].median_seconds, b))
    rest = sorted((b for b in names if b not in tied), key=lambda b: (b not in eligible, gap(b), b))
    return tied + rest


def _reason(cls: ProfileClass, column: float, ranked: list[str], measured: Mapping[str, Measurement],
            time_budget: float | None, excluded: str) -> str:
    head = ranked[0]
    m = measured[head]
    when = f"a {column:g} s deadline" if time_budget is not None else \
        f"a {column:g} s deadline (no deadline was given: the column of the default budget for this size)"
    text = (f"on {cls.describe()} of class {cls.key} at {when}, {head} reached a median gap of "
            f"{_pct(m.median_gap)} to the best answer found ({100 * m.success_rate:.0f}% within the deadline, "
            f"{100 * m.proven_rate:.0f}% proven optimal, {m.median_seconds:.2g} s)")
    others = []
    for b in ranked[1:4]:
        o = measured[b]
        off = "no feasible answer" if o.median_gap is None else f"{_pct(o.median_gap)} off"
        part = "" if o.runs == m.runs else f" on only {o.runs} of {m.runs} runs"
        others.append(f"{b} was {off}{part} ({100 * o.success_rate:.0f}% within the deadline, "
                      f"{o.median_seconds:.2g} s)")
    if others:
        text += ", where " + "; ".join(others)
    return text + excluded


def _decision(name: str, reason: str, *, n: int, time_budget: float | None, column: float, max_qubits: int,
              avail: _Availability, racers: tuple[str, ...] = (), profile: str | None = None) -> RoutingDecision:
    params: dict = {}
    if name == "hybrid":
        quantum = "dwave" if avail("dwave") else "qaoa"
        params = {"quantum_backend": quantum, "subproblem_size": min(HYBRID_SUBPROBLEM_SIZE, max_qubits, max(1, n))}
    if name == "race" and racers:
        params["racers"] = list(racers)  # what was measured
    if name in _NEEDS_DEADLINE and time_budget is None:
        params["time_limit"] = float(column)  # they work until a deadline: the measured one
    elif name == "hybrid":
        params["time_limit"] = float(time_budget)  # type: ignore[arg-type]
    return RoutingDecision(name, reason, params, racers, profile)


def _prefer_quantum(n: int, density: float, what: str, time_budget: float | None, max_qubits: int,
                    avail: _Availability) -> RoutingDecision | None:
    """The quantum backend a model fits, for ``quantum="prefer"`` (None: none runs here)."""
    if avail("dwave"):
        limit = DWAVE_MAX_DENSE if density > 0.3 else DWAVE_MAX_SPARSE
        if n <= limit:
            return RoutingDecision("dwave", f"quantum='prefer': {n} {what} at density {density:.2f} fit a D-Wave "
                                            f"Advantage embedding (up to {limit}): quantum annealer")
    if avail("qaoa") and n <= max_qubits:
        return RoutingDecision("qaoa", f"quantum='prefer': {n} {what} fit the {max_qubits}-qubit QAOA budget: QAOA")
    if avail("qaoa") or avail("dwave"):
        quantum = "dwave" if avail("dwave") else "qaoa"
        size = min(HYBRID_SUBPROBLEM_SIZE, max_qubits)
        params = {"quantum_backend": quantum, "subproblem_size": size,
                  "time_limit": float(time_budget) if time_budget is not None else 10.0}
        return RoutingDecision("hybrid", f"quantum='prefer': {n} {what} exceed a direct {quantum} run: hybrid "
                                         f"with {size}-variable subproblems on {quantum}, racing simulated "
                                         "annealing", params)
    return None


def _usable(cls: ProfileClass, column: float, *, quantum: str, n: int, what: str, max_qubits: int,
            avail: _Availability) -> tuple[dict[str, Measurement], str]:
    """The measurements of ``cls`` at ``column`` that may be chosen here, and the others in words."""
    measured = dict(cls.results.get(column) or cls.results[min(cls.results, key=lambda d: abs(d - column))])
    dropped = []
    for b in list(measured):
        if quantum == "avoid" and b in QUANTUM_BACKENDS:
            dropped.append(f"{b} (quantum='avoid')")
        elif b == "qaoa" and n > max_qubits:
            dropped.append(f"{b} ({n} {what} exceed the {max_qubits}-qubit budget)")
        elif not avail(b, measured[b].racers):
            dropped.append(f"{b} (not available here)")
        else:
            continue
        del measured[b]
    return measured, (f"; set aside: {', '.join(dropped)}" if dropped else "")


#: The measurement behind the branch-and-bound rule (benchmarks/EXACT.md), quoted in its reason.
EXACT_PROOF_MEASURED = ("on 10 dense random BQMs per size (ran_r and uniform biases), 30 variables proved in "
                        "0.18 s at the 90th percentile, 32 in 0.54 s, 34 in 1.6 s")


def choose_backend(num_variables: int, num_interactions: int, *, time_limit: float | None = None,
                   max_qubits: int = QAOA_MAX_QUBITS, available: Mapping[str, bool] | None = None,
                   presolved: bool = True, features: Mapping | None = None, quantum: str | None = None,
                   profile: Profile | str | os.PathLike | None = None) -> RoutingDecision:
    """Choose a backend for a model of ``num_variables`` (after presolve) and ``num_interactions``
    from the routing profile (see the module docstring).

    Args:
        num_variables: variables left after presolve.
        num_interactions: quadratic interactions among them.
        time_limit: seconds the caller can wait (None: no deadline; the column of the default
            budget for this size decides, :func:`qopt.solve.stages.default_time_budget`, and
            backends that run until a deadline get that column's deadline).
        max_qubits: qubit budget for statevector QAOA.
        available: backend name -> whether it runs here (e.g. ``{"qaoa": True, "dwave": False}``);
            names not given are probed (:func:`available_backends`, the registry).
        presolved: whether the counts are after presolve (only changes the wording).
        features: the problem's routing features (:func:`qopt.solve.profile.problem_features`);
            default: a sparse/dense binary BQM of this size.
        quantum: one of :data:`QUANTUM_CHOICES` (None: the :func:`routing_options` in force,
            else ``"auto"``).
        profile: a loaded :class:`~qopt.solve.profile.Profile` or a profile file (None: the
            :func:`routing_options` in force, ``$QOPT_ROUTING_PROFILE`` or the shipped one).

    Returns:
        :class:`RoutingDecision`, with ``profile`` naming the profile used.

    Raises:
        ParameterError: ``quantum`` is not a valid choice; the profile file is missing or
            malformed (field ``routing_profile``, naming the file and the field).
    """
    n, m = num_variables, num_interactions
    options = _OPTIONS.get() or {}
    quantum = check_quantum(quantum if quantum is not None else options.get("quantum"))
    avail = _Availability(available)
    what = "variables after presolve" if presolved else "variables"
    if n == 0:
        return RoutingDecision("exact", "presolve fixed every variable: nothing left to sample")
    density = 0.0 if n < 2 else 2.0 * m / (n * (n - 1))
    if quantum == "prefer":
        preferred = _prefer_quantum(n, density, what, time_limit, max_qubits, avail)
        if preferred is not None:
            return preferred
    if n <= ENUMERATION_MAX_VARIABLES:  # the rule presolve's components follow too
        return RoutingDecision("exact", f"{n} {what}: exact enumeration of 2^{n} states (at most "
                                        f"2^{ENUMERATION_MAX_VARIABLES}, under 0.1 s) proves the optimum")
    # (a constrained model's penalised BQM proved optimal is no proof for the model: the profile decides)
    if n <= EXACT_PROOF_MAX_VARIABLES and (features is None or features.get("kind") == "bqm"):
        return RoutingDecision("exact", f"{n} {what}: the exact backend's branch and bound proves the optimum "
                                        f"(at most {EXACT_PROOF_MAX_VARIABLES} variables: {EXACT_PROOF_MEASURED})")
    if not isinstance(profile, Profile):
        profile = load_profile(profile if profile is not None else options.get("routing_profile"))
    if features is None:
        features = {"kind": "bqm", "constraints": "none", "size": size_bucket("bqm", n), "num_variables": n,
                    "vartype": "BINARY", "density": "dense" if density >= DENSE_DENSITY else "sparse",
                    "signs": "mixed", "template": None}
    cls = profile.nearest(features)
    if len(cls.instances) < MIN_CLASS_INSTANCES:
        return _not_decisive(cls, features, avail, n=n, time_budget=time_limit, max_qubits=max_qubits,
                             profile=profile)
    # without a deadline, the column of the budget the solve will get (the default for its size)
    column = profile.column(time_limit if time_limit is not None else default_time_budget(n, m)["value"])
    later = [d for d in sorted(cls.results) if d > column]
    measured, excluded = _usable(cls, column, quantum=quantum, n=n, what=what, max_qubits=max_qubits, avail=avail)
    if not measured:
        return RoutingDecision("sa", f"no backend measured on class {cls.key} runs here{excluded}: simulated "
                                     "annealing on the C++ core", profile=profile.name)
    ranked = rank_backends(measured)
    prefix = ""
    if measured[ranked[0]].median_gap is None and later:  # nobody answered in time: the next deadline decides
        prefix = f"no backend answered in most runs at a {column:g} s deadline; "
        column = later[0]
        measured, excluded = _usable(cls, column, quantum=quantum, n=n, what=what, max_qubits=max_qubits,
                                     avail=avail)
        ranked = rank_backends(measured) if measured else ["sa"]
    key = class_key(features)
    reason = prefix + (_reason(cls, column, ranked, measured, time_limit, excluded) if measured else
                       f"no backend measured on class {cls.key} runs here{excluded}: simulated annealing")
    if cls.key != key:
        reason = f"nearest measured class to {key}: " + reason
    head = ranked[0]
    racers = measured[head].racers if head in measured else ()
    if time_limit is not None and head in measured:
        beyond = _beyond_measured(profile, column, time_limit, head, measured, avail)
        if beyond is not None:
            head, racers, why = beyond
            reason += "; " + why
    return _decision(head, reason, n=n, time_budget=time_limit, column=column, max_qubits=max_qubits,
                     avail=avail, racers=racers, profile=profile.name)


def _beyond_measured(profile: Profile, column: float, time_limit: float, head: str,
                     measured: Mapping[str, Measurement], avail: _Availability
                     ) -> tuple[str, tuple[str, ...], str] | None:
    """For a deadline beyond the profile's measurements (at least :data:`BEYOND_FACTOR` times its
    longest column), ``("race", ("sa", exact), reason)`` where the longest column's pick is
    annealing or a race that proved no instance while an exact backend proved some (the one that
    proved most; ties: the smaller median gap); None otherwise (the pick stands)."""
    longest = profile.deadlines[-1]
    if column != longest or time_limit < BEYOND_FACTOR * longest or head not in ("sa", "race"):
        return None
    if measured[head].proven_rate > 0:
        return None
    proving = [b for b in EXACT_RACERS if b in measured and measured[b].proven_rate > 0]
    if not proving:
        return None
    exact = min(proving, key=lambda b: (-measured[b].proven_rate, measured[b].median_gap
                                        if measured[b].median_gap is not None else float("inf"), b))
    racers = ("sa", exact)
    if not avail("race", racers):
        return None
    return "race", racers, (f"the {time_limit:g} s deadline is at least {BEYOND_FACTOR:g} times the longest "
                            f"measured ({longest:g} s), where {head} proved no instance and {exact} proved "
                            f"{100 * measured[exact].proven_rate:.0f}%: annealing races {exact} (the cores "
                            "shared), so the extra time can buy the proof")


def _not_decisive(cls: ProfileClass, features: Mapping, avail: _Availability, *, n: int,
                  time_budget: float | None, max_qubits: int, profile: Profile) -> RoutingDecision:
    """The choice where the nearest class has fewer than :data:`MIN_CLASS_INSTANCES` instances."""
    why = (f"the nearest measured class, {cls.key}, was measured on only {len(cls.instances)} "
           f"instance{'s' if len(cls.instances) != 1 else ''} ({', '.join(cls.instances)}), fewer than the "
           f"{MIN_CLASS_INSTANCES} its measurements need to decide")
    if class_key(features) != cls.key:
        why = f"no class {class_key(features)} was measured and " + why
    column = profile.column(time_budget) if time_budget is not None else profile.deadlines[-1]
    if features.get("kind") != "bqm" and avail("race", DEFAULT_RACERS):
        return _decision("race", why + f": the race of {' and '.join(DEFAULT_RACERS)} (annealing with the exact "
                         "backend's proof and bound beside it, the cores shared)", n=n, time_budget=time_budget,
                         column=column, max_qubits=max_qubits, avail=avail, racers=DEFAULT_RACERS,
                         profile=profile.name)
    return RoutingDecision("sa", why + ": simulated annealing on the C++ core", profile=profile.name)


def route(bqm, backend: str | None, *, time_budget: float | None = None, num_variables: int | None = None,
          num_interactions: int | None = None, problem=None, quantum: str | None = None,
          profile: Profile | str | os.PathLike | None = None,
          available: Mapping[str, bool] | None = None) -> RoutingDecision:
    """Choose the backend for ``bqm`` (a :class:`dimod.BinaryQuadraticModel`).

    An explicit backend is used as asked; ``"auto"`` (or empty / None) applies the measured
    routing policy (:func:`choose_backend`) to the problem's class: the BQM's size after
    presolve (``num_variables``/``num_interactions`` when given), density, vartype and
    sign structure, or, for a constrained model (``problem``), its constraint kinds, size and
    template; at the caller's deadline (``time_budget``, seconds).

    Args:
        bqm: the BQM to sample (a constrained model's compiled BQM).
        backend: the caller's backend (``"auto"``, ``""`` or None: routed).
        time_budget: seconds the caller can wait (None: no deadline).
        num_variables, num_interactions: the size after presolve.
        problem: the constrained :class:`qopt.model.Problem` the BQM was compiled from, if any.
        quantum, profile, available: see :func:`choose_backend`.

    Returns:
        :class:`RoutingDecision`.

    Raises:
        ParameterError: see :func:`choose_backend`.
    """
    if backend and backend != "auto":
        return RoutingDecision(backend, f"backend {backend!r} requested")
    n = bqm.num_variables if num_variables is None else num_variables
    m = bqm.num_interactions if num_interactions is None else num_interactions
    features = problem_features(bqm, num_variables=n, num_interactions=m, problem=problem)
    return choose_backend(n, m, time_limit=time_budget, presolved=num_variables is not None, features=features,
                          quantum=quantum, profile=profile, available=available)
