"""The racing portfolio on a BQM: simulated annealing races an exact backend under one deadline.

:class:`RaceSampler` (backend ``"race"``) runs qopt's simulated annealing in the calling thread
and each exact racer (``highs``, ``cpsat``, ``scip``: :mod:`qopt.samplers.mip`) in a worker
thread. Incumbents flow both ways: an exact racer starts once annealing has a best state (or
after ``hint_wait(time_limit)`` seconds, whichever is first) and gets that state as its warm
start; every exact solution joins the returned sample set. The race stops at once (both
branches interrupted) when an exact racer proves optimality, when the caller's ``interrupt``
is set, or at ``time_limit``; without a ``time_limit`` the exact racers stop when annealing
ends. Every row says which branch produced it (vectors ``backend`` and ``branch``).

:class:`Race` holds what the branches share (the stop event, the best incumbent, each branch's
record); :mod:`qopt.solve.race` races at the level of a constrained model with the same class.
This is the portfolio idea of Gomes & Selman, "Algorithm portfolios", Artificial Intelligence
126 (2001), with incumbent sharing as in the parallel portfolios of MIP solvers.
"""
from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping

import dimod
import numpy as np

from qopt.errors import ParameterError
from qopt.samplers.spec import Param, ParameterSpec, event_validator

__all__ = ["RaceSampler", "Race", "EXACT_RACERS", "ANNEALING_RACERS", "DEFAULT_RACERS", "HINT_WAIT_SHARE",
           "HINT_WAIT_MAX", "hint_wait", "exact_seed", "share_cores", "STOP_LATENCY_SHARE", "STOP_LATENCY_MAX",
           "stop_latency"]

#: Exact backends that can race (each proves optimality and reports a dual bound).
EXACT_RACERS = ("cpsat", "highs", "scip")
#: The annealing racer (the heuristic branch of a race).
ANNEALING_RACERS = ("sa",)
#: The default race: annealing against CP-SAT.
DEFAULT_RACERS = ("sa", "cpsat")
#: An exact racer waits for annealing's first incumbent (its warm start) at most this share of
#: the time limit, and at most ``HINT_WAIT_MAX`` seconds; then it starts without one.
HINT_WAIT_SHARE = 0.1
HINT_WAIT_MAX = 0.5
#: An exact racer is given its time limit less this allowance for its stop latency (the
#: solver's own checks, then reading its answer back): ``STOP_LATENCY_SHARE`` of the time left,
#: at most ``STOP_LATENCY_MAX`` seconds. CP-SAT overran its limit by 20-30 ms on dantzig42 (its
#: solutions then read back), HiGHS and SCIP by up to 50 ms (2026-12-02, 2 loaded cores).
STOP_LATENCY_SHARE = 0.05
STOP_LATENCY_MAX = 0.05
#: The exact backends' seed range (non-negative 32-bit).
_EXACT_SEED_MODULUS = 2**31


def hint_wait(time_limit: float | None) -> float:
    """Seconds an exact racer waits for annealing's first incumbent (the rule above)."""
    return HINT_WAIT_MAX if time_limit is None else min(HINT_WAIT_MAX, HINT_WAIT_SHARE * time_limit)


def stop_latency(time_left: float) -> float:
    """Seconds an exact racer's time limit is cut by for its stop latency (the rule above)."""
    return min(STOP_LATENCY_MAX, STOP_LATENCY_SHARE * max(0.0, time_left))


def share_cores(num_exact: int, cores: int | None = None) -> tuple[int, int]:
    """``(annealing threads, threads of each exact racer)`` for a race of ``num_exact`` exact
    racers on ``cores`` cores (None: :func:`qopt.samplers.sa.available_cores`): half the cores
    to the exact racers together, at least one thread each, the rest (at least one) to
    annealing, so the race never runs more threads than there are cores while it can help it
    (on 2 cores: annealing 1 thread, one exact racer 1 thread). Without this rule annealing
    (all cores) and CP-SAT (its own ``min(8, cores)`` workers) each took every core, and the
    race's annealing got half of what annealing alone gets.
    """
    if cores is None:
        from qopt.samplers.sa import available_cores

        cores = available_cores()
    cores = max(1, int(cores))
    exact = max(1, (cores // 2) // max(1, num_exact))
    return max(1, cores - exact * max(1, num_exact)), exact


def exact_seed(seed: int | None) -> int | None:
    """The exact backends' seed (0..2**31-1) derived from a race's 64-bit seed."""
    return None if seed is None else int(seed) % _EXACT_SEED_MODULUS


def check_racers(racers) -> tuple[str, ...]:
    """``racers`` as a tuple: one annealing racer first, then one or more exact ones.

    Raises:
        ParameterError: another shape or an unknown name (the message says which).
    """
    names = (racers,) if isinstance(racers, str) else tuple(racers)
    if len(names) < 2 or names[0] not in ANNEALING_RACERS or any(n not in EXACT_RACERS for n in names[1:]) \
            or len(set(names)) != len(names):
        raise ParameterError("racers", f"must be one of {list(ANNEALING_RACERS)} followed by one or more distinct "
                                       f"of {list(EXACT_RACERS)}, was {list(names)!r}")
    return names


class _StopView:
    """``is_set()`` is true once the race is stopped or the caller's interrupt is set."""

    def __init__(self, race: "Race"):
        self._race = race

    def is_set(self) -> bool:
        interrupt = self._race.interrupt
        return self._race.stop.is_set() or (interrupt is not None and bool(interrupt.is_set()))


class Race:
    """What the branches of one race share.

    Args:
        interrupt: the caller's interrupt (an object with ``is_set()``), or None.

    Attributes:
        stop: set when a branch proves optimality (every branch then stops).
        stopping: an ``is_set()`` view that is set on ``stop`` or the caller's interrupt; give
            it to every branch as its interrupt.
        branches: backend name -> record (``branch``: "anneal" or "exact", ``status``,
            ``seconds``, ``num_solutions``, ``dual_bound`` for exact ones, ``error``).
        stopped_by: why the race ended early (e.g. "cpsat proved optimality"), or None.
    """

    def __init__(self, interrupt=None):
        self.interrupt = interrupt
        self.stop = threading.Event()
        self.stopping = _StopView(self)
        self.branches: dict[str, dict] = {}
        self.stopped_by: str | None = None
        self._lock = threading.Lock()
        self._incumbent: tuple[Mapping, float] | None = None
        self._first = threading.Event()

    def offer(self, sample: Mapping, value: float) -> None:
        """A branch found ``sample`` with (minimised) ``value``: keep it if it is the best so far."""
        with self._lock:
            if self._incumbent is None or value < self._incumbent[1]:
                self._incumbent = (dict(sample), float(value))
        self._first.set()

    def annealing_ended(self) -> None:
        """Annealing has nothing more to offer: an exact racer waiting for a hint starts now."""
        self._first.set()

    def hint(self, wait: float) -> Mapping | None:
        """The best incumbent, after waiting at most ``wait`` seconds for a first one."""
        self._first.wait(max(0.0, wait))
        with self._lock:
            return None if self._incumbent is None else dict(self._incumbent[0])

    def proved(self, name: str) -> None:
        """Racer ``name`` proved optimality: stop every branch."""
        with self._lock:
            if self.stopped_by is None:
                self.stopped_by = f"{name} proved optimality"
        self.stop.set()

    def record(self, name: str, **fields) -> None:
        """Set (or update) the record of branch ``name``."""
        with self._lock:
            self.branches.setdefault(name, {}).update(fields)

    def summary(self) -> dict:
        """The race as plain data: ``racers``, ``branches`` (one record each), ``stopped_by``."""
        with self._lock:
            return {"racers": list(self.branches), "branches": [{"backend": k, **v} for k, v in self.branches.items()],
                    "stopped_by": self.stopped_by}

    def run_exact(self, name: str, call: Callable[[Mapping | None], dimod.SampleSet], *, wait: float,
                  thread_name: str = "qopt-race") -> "ExactBranch":
        """Start exact racer ``name`` in a worker thread: ``call(hint)`` runs once a hint is
        known (or after ``wait`` seconds) and returns the backend's sample set. A status
        ``"optimal"`` stops the race. Join it with :meth:`ExactBranch.join`."""
        return ExactBranch(self, name, call, wait, thread_name)


class ExactBranch:
    """One exact racer running in a worker thread (see :meth:`Race.run_exact`)."""

    def __init__(self, race: Race, name: str, call, wait: float, thread_name: str):
        self.race, self.name = race, name
        self.sampleset: dimod.SampleSet | None = None
        #: set by the caller that stopped waiting for it: its late result is not used
        self.abandoned = False
        self.error: BaseException | None = None
        race.record(name, branch="exact", status="waiting", seconds=0.0, num_solutions=0)
        self._thread = threading.Thread(target=self._run, args=(call, wait), daemon=True,
                                        name=f"{thread_name}-{name}")
        self._thread.start()

    def _run(self, call, wait: float) -> None:
        hint = self.race.hint(wait)
        t0 = time.perf_counter()
        try:
            if self.race.stopping.is_set():
                self.race.record(self.name, status="not started", seconds=0.0)
                return
            self.race.record(self.name, status="running", warm_start=hint is not None)
            ss = call(hint)
            if self.abandoned:
                return
            self.sampleset = ss
            status = str(ss.info.get("status", "feasible"))
            self.race.record(self.name, status=status, seconds=time.perf_counter() - t0,
                             num_solutions=len(ss), dual_bound=float(ss.info.get("dual_bound", -np.inf)))
            if status == "optimal":
                self.race.proved(self.name)
        except Exception as exc:  # noqa: BLE001 - a failed racer leaves the others running; it is reported
            self.error = exc
            self.race.record(self.name, status="error", seconds=time.perf_counter() - t0,
                             error=f"{type(exc).__name__}: {exc}")

    def join(self, timeout: float | None = None) -> bool:
        """Wait for the racer (at most ``timeout`` s); returns whether it has ended."""
        self._thread.join(timeout)
        return not self._thread.is_alive()


def _branch_vectors(n: int, backend: str, branch: str) -> dict:
    return {"backend": np.array([backend] * n, dtype=object).astype(str),
            "branch": np.array([branch] * n, dtype=object).astype(str)}


class RaceSampler(dimod.Sampler):
    """Simulated annealing raced against exact backends on a BQM (see the module docstring).

    Examples:
        >>> import dimod
        >>> from qopt.samplers.race import RaceSampler
        >>> bqm = dimod.BQM({"a": 1.0, "b": -1.0}, {("a", "b"): -2.0}, 0.0, "SPIN")
        >>> ss = RaceSampler().sample(bqm, racers=["sa", "highs"], num_reads=4, seed=1, time_limit=5.0)
        >>> float(ss.first.energy), ss.info["race"]["stopped_by"]
        (-2.0, 'highs proved optimality')
    """

    #: The race's parameters, declared once.
    parameter_spec = ParameterSpec([
        Param("racers", "str_list", None, choices=ANNEALING_RACERS + EXACT_RACERS,
              doc=f"'sa' then one or more exact backends (None: {list(DEFAULT_RACERS)})"),
        Param("time_limit", "float", None, minimum=0.0, exclusive_minimum=True, maximum=1e9, unit="s",
              doc="wall-clock limit of the whole race (None: exact racers stop when annealing ends)"),
        Param("num_reads", "int", None, minimum=1, doc="annealing reads (None: the annealer's default)"),
        Param("num_sweeps", "int", None, minimum=1, doc="annealing sweeps per read (None: the annealer's default)"),
        Param("seed", "int", None, minimum=0, maximum=2**64 - 1,
              doc="64-bit seed of the annealer; the exact racers get it modulo 2**31"),
        Param("num_threads", "int", None, minimum=1, maximum=256,
              doc="threads of each racer (None: the cores shared, see share_cores)"),
        Param("interrupt", "object", None, wire=False, validator=event_validator("interrupt"),
              doc="an object with is_set() (threading.Event); every racer stops soon after it is set"),
    ])
    parameters = parameter_spec.dimod_parameters()
    properties = {"description": "simulated annealing raced against exact MIP/CP backends under one deadline "
                                 "(incumbents shared; stops when one proves optimality)"}

    def sample(self, bqm: dimod.BinaryQuadraticModel, *, racers=None, time_limit: float | None = None,
               num_reads: int | None = None, num_sweeps: int | None = None, seed: int | None = None,
               num_threads: int | None = None, interrupt=None, **kwargs) -> dimod.SampleSet:
        """Race annealing against the exact racers on ``bqm``.

        Args:
            bqm: the model, SPIN or BINARY.
            racers: ``["sa", exact, ...]`` (default :data:`DEFAULT_RACERS`).
            time_limit: seconds, wall clock, for the whole race (None: see the module docstring).
            num_reads, num_sweeps: the annealer's (None: its defaults).
            seed: the annealer's seed; exact racers get :func:`exact_seed` of it.
            num_threads: threads per racer (None: :func:`share_cores`, annealing and the exact
                racers together never more threads than cores).
            interrupt: an object with ``is_set()``; all racers stop soon after it is set.

        Returns:
            dimod.SampleSet in the BQM's vartype: annealing's reads then each exact racer's
            solutions, energies from ``bqm``, with vectors ``backend`` and ``branch``
            ("anneal"/"exact"); ``info``: ``race`` (:meth:`Race.summary`), ``status``
            ("optimal" when a racer proved it, else "feasible"), ``dual_bound`` (the best
            proven lower bound on the minimum energy of the exact racers; ``-inf`` if none),
            ``interrupted``.

        Raises:
            ParameterError: a parameter out of range, or ``racers`` of the wrong shape.
            UnknownBackendError: an exact racer's module is not installed here.
        """
        from qopt.samplers.registry import get_sampler

        self.remove_unknown_kwargs(**kwargs)
        args = self.parameter_spec.check_all({"racers": racers, "time_limit": time_limit, "num_reads": num_reads,
                                              "num_sweeps": num_sweeps, "seed": seed, "num_threads": num_threads,
                                              "interrupt": interrupt})
        names = check_racers(args["racers"] or DEFAULT_RACERS)
        exact = {name: get_sampler(name) for name in names[1:]}  # fails before anything starts
        anneal_threads, exact_threads = share_cores(len(exact))
        if args["num_threads"] is not None:
            anneal_threads = exact_threads = args["num_threads"]
        args = {**args, "num_threads": anneal_threads}
        race = Race(args["interrupt"])
        race.record(names[0], branch="anneal", status="running", seconds=0.0, num_solutions=0)
        t_end = None if args["time_limit"] is None else time.monotonic() + args["time_limit"]

        def left() -> float | None:
            return None if t_end is None else max(1e-3, t_end - time.monotonic())

        def exact_left() -> float | None:
            rest = left()
            return None if rest is None else max(1e-3, rest - stop_latency(rest))

        def exact_call(sampler):
            def call(hint):
                return sampler.sample(bqm, time_limit=exact_left(), num_threads=exact_threads,
                                      seed=exact_seed(args["seed"]), initial_state=hint, interrupt=race.stopping)
            return call

        runners = [race.run_exact(name, exact_call(s), wait=hint_wait(args["time_limit"])) for name, s in exact.items()]
        try:
            ss_sa = self._anneal(bqm, race, names[0], args, left())
        finally:
            race.annealing_ended()
            if t_end is None:  # no deadline: the exact racers stop with annealing
                race.stop.set()
            for runner in runners:  # until the time limit (they stop by it), then told to stop
                runner.join(None if t_end is None else max(0.0, t_end - time.monotonic()))
            race.stop.set()
            grace = time.monotonic() + (stop_latency(args["time_limit"]) if t_end is not None else 0.0)
            for runner in runners:  # then only its stop latency more (a model still being built is not waited for)
                runner.join(None if t_end is None else max(0.0, grace - time.monotonic()))
            for runner in runners:
                if not runner.join(0.0):
                    runner.abandoned = True
                    race.record(runner.name, status="overran the deadline (stopped, not waited for)")
        return self._combine(bqm, race, ss_sa, runners)

    @staticmethod
    def _anneal(bqm, race: Race, name: str, args: Mapping, time_limit: float | None) -> dimod.SampleSet:
        from qopt.samplers.sa import SimulatedAnnealingSampler

        t0 = time.perf_counter()
        params = {k: args[k] for k in ("num_reads", "num_sweeps", "seed", "num_threads") if args[k] is not None}
        ss = SimulatedAnnealingSampler().sample(bqm, time_limit=time_limit, interrupt=race.stopping, **params)
        if len(ss):
            best = ss.first
            race.offer(dict(best.sample), float(best.energy))
        race.record(name, status="interrupted" if ss.info.get("interrupted") else "finished",
                    seconds=time.perf_counter() - t0, num_solutions=len(ss))
        return ss

    @staticmethod
    def _combine(bqm, race: Race, ss_sa: dimod.SampleSet, runners) -> dimod.SampleSet:
        variables = list(bqm.variables)
        runners = [r for r in runners if not r.abandoned]
        parts = [(ss_sa, "sa", "anneal")] + [(r.sampleset, r.name, "exact") for r in runners
                                            if r.sampleset is not None and len(r.sampleset)
                                            and "best_effort" not in r.sampleset.info]  # not the racer's own
        rows: list = []
        counts: list = []
        vectors: dict[str, list] = {"backend": [], "branch": []}
        for ss, backend, branch in parts:
            ss = ss.change_vartype(bqm.vartype, inplace=False)
            rows.append(np.asarray([[row[v] for v in variables] for row in ss.samples()], dtype=np.int8))
            counts.append(ss.record.num_occurrences)
            for key, value in _branch_vectors(len(ss), backend, branch).items():
                vectors[key].append(value)
        samples = np.concatenate(rows) if rows else np.zeros((0, len(variables)), dtype=np.int8)
        bounds = [(float(r.sampleset.info.get("dual_bound", -np.inf)), str(r.sampleset.info.get("solver", r.name)))
                  for r in runners if r.sampleset is not None]
        best_bound = max(bounds, default=(-np.inf, ""))
        info = {"race": race.summary(), "status": "optimal" if race.stopped_by else "feasible",
                "dual_bound": best_bound[0], "solver": best_bound[1],
                "interrupted": bool(race.interrupt is not None and race.interrupt.is_set())}
        out = dimod.SampleSet.from_samples_bqm((samples, variables), bqm, num_occurrences=np.concatenate(counts),
                                               backend=np.concatenate(vectors["backend"]),
                                               branch=np.concatenate(vectors["branch"]))
        out.info.update(info)
        return out
