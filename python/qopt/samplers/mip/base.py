"""The interface every exact backend shares: ``sample(bqm)`` and ``sample_cqm(cqm)`` over one
:meth:`MipSampler.solve_model`, their parameters declared once, and the result wrapping.

A backend subclasses :class:`MipSampler`, declares its ``parameter_spec`` with
:func:`mip_parameter_spec` and implements :meth:`MipSampler.solve_model`, which runs the
solver on a :class:`~qopt.samplers.mip.model.MipModel` and returns an
:class:`~qopt.samplers.mip.model.Outcome`. This module turns the outcome into a
:class:`dimod.SampleSet` with the ``info`` keys documented on :meth:`MipSampler.sample`.
"""
from __future__ import annotations

import contextlib
import importlib
import math
import threading
import time
from collections.abc import Callable, Iterator, Mapping

import dimod
import numpy as np

from qopt.samplers.mip.model import REAL, STATUSES, MipModel, Outcome, relative_gap
from qopt.samplers.spec import Param, ParameterSpec, callable_validator, event_validator

__all__ = ["MipSampler", "Options", "mip_parameter_spec", "import_solver", "COMMON_PARAMS", "CQM_PARAMS", "MAX_SEED", "MAX_THREADS"]

#: Largest ``seed`` (the solvers take a non-negative 32-bit int).
MAX_SEED = 2**31 - 1
#: Most ``num_threads`` a call may ask for.
MAX_THREADS = 256

#: The parameters of ``sample()`` every exact backend takes (declared once here).
COMMON_PARAMS = (
    Param("time_limit", "float", None, minimum=0.0, exclusive_minimum=True, maximum=1e9, unit="s",
          doc="wall-clock limit of the solver run (None: until proven optimal)"),
    Param("num_threads", "int", None, minimum=1, maximum=MAX_THREADS,
          doc="solver threads (None: the backend's default, stated in its parameter doc)"),
    Param("seed", "int", None, minimum=0, maximum=MAX_SEED, doc="the solver's random seed (None: its default)"),
    Param("initial_state", "object", None, wire=False,
          doc="a sample (mapping label -> value, or a dimod samples-like of one sample) used as a warm start"),
    Param("interrupt", "object", None, wire=False, validator=event_validator("interrupt"),
          doc="an object with is_set() (threading.Event); the solver stops soon after it is set"),
)

#: The further keyword arguments of ``sample_cqm()``.
CQM_PARAMS = (
    Param("hint", "object", None, wire=False,
          doc="a sample of the CQM's variables (mapping or samples-like), a warm start"),
    Param("structure", "mapping", None,
          doc="a declared structure, e.g. {'kind': 'tsp', ...} from qopt.model.templates.tsp"),
    Param("on_solution", "object", None, wire=False, validator=callable_validator("on_solution"),
          doc="callback (sample, objective) for each improving feasible solution; must not block"),
)


def import_solver(module: str, backend: str, package: str):
    """Import the solver library ``module`` for ``backend`` (imported when the backend runs).

    Raises:
        ImportError: it is not installed; the message says ``pip install <package>``.
    """
    try:
        return importlib.import_module(module)
    except ImportError as exc:  # pragma: no cover - installed with qopt
        raise ImportError(f"backend {backend!r} needs {package}: pip install {package}") from exc


def mip_parameter_spec(*extra: Param) -> ParameterSpec:
    """The ``parameter_spec`` of an exact backend: :data:`COMMON_PARAMS` and ``extra``."""
    return ParameterSpec([*COMMON_PARAMS, *extra])


class Options:
    """The checked arguments of one run, as :meth:`MipSampler.solve_model` reads them.

    Attributes:
        time_limit: seconds or None (read :meth:`remaining` when the solver starts).
        num_threads, seed: ints or None.
        hint: float64 (n,) values in the model's variables, or None.
        interrupt: an object with ``is_set()``, or None.
        on_solution: ``(values, objective)`` -> None, where ``values`` are solver values of
            the model's variables (the sampler converts them for the caller), or None.
        structure: the declared structure, or None.
        extra: the backend's own parameters (checked), by name.
    """

    def __init__(self, *, time_limit=None, num_threads=None, seed=None, hint=None, interrupt=None,
                 on_solution=None, structure=None, extra=None, start: float | None = None):
        self.time_limit: float | None = time_limit
        #: time.monotonic() when the call began: the time limit counts from there
        self.start = time.monotonic() if start is None else start
        self.num_threads: int | None = num_threads
        self.seed: int | None = seed
        self.hint: np.ndarray | None = hint
        self.interrupt = interrupt
        self.on_solution: Callable[[np.ndarray, float], None] | None = on_solution
        self.structure: Mapping | None = structure
        self.extra: dict = dict(extra or {})

        #: set once :meth:`watching` has stopped the solver
        self.stopped = False

    def remaining(self) -> float | None:
        """Seconds left of ``time_limit`` (counted from the call's start, model building
        included), at least 1 ms; None without a limit."""
        if self.time_limit is None:
            return None
        return max(1e-3, self.time_limit - (time.monotonic() - self.start))

    def expired(self) -> bool:
        """Whether ``time_limit`` is already spent (model building included): a backend then
        returns status ``"time_limit"`` without starting its solver."""
        return self.time_limit is not None and time.monotonic() - self.start >= self.time_limit

    def interrupted(self) -> bool:
        """Whether the interrupt event is set."""
        return self.interrupt is not None and bool(self.interrupt.is_set())

    @contextlib.contextmanager
    def watching(self, stop: Callable[[], None]) -> Iterator[None]:
        """While the block runs (the solver's run), a thread polls the interrupt every 10 ms
        and calls ``stop()`` once it is set; the thread is joined when the block ends."""
        if self.interrupt is None:
            yield
            return
        done = threading.Event()

        def watch() -> None:
            while not done.wait(0.01):
                if self.interrupted():
                    self.stopped = True
                    stop()
                    return

        thread = threading.Thread(target=watch, daemon=True, name="qopt-mip-interrupt")
        thread.start()
        try:
            yield
        finally:
            done.set()
            thread.join()


def _best_effort_bqm(model: MipModel, bqm: dimod.BinaryQuadraticModel, outcome: Outcome,
                     hint: np.ndarray | None) -> None:
    """Give ``outcome`` (no solution) one: the hint when there is one, else the better of
    all-zeros (solver space) and each variable at the value its linear bias prefers."""
    if hint is not None:
        outcome.solutions.append(hint)
        outcome.info["best_effort"] = "hint"
        return
    obj = model.objective
    zeros = np.zeros(model.num_variables)
    greedy = zeros.copy()
    greedy[obj.idx[obj.lin < 0]] = 1.0
    cands = np.stack([model.sample_array(zeros), model.sample_array(greedy)])
    energies = bqm.energies((cands, list(model.labels)))
    outcome.solutions.append(greedy if energies[1] < energies[0] else zeros)
    outcome.info["best_effort"] = "trivial"


class MipSampler(dimod.Sampler):
    """Base of the exact backends (``highs``, ``cpsat``, ``scip``): minimise a BQM's energy or
    a CQM's objective with a MIP/CP solver and report its proof.

    Subclasses set ``parameter_spec`` (:func:`mip_parameter_spec`), ``properties`` and
    implement :meth:`solve_model`.
    """

    parameter_spec: ParameterSpec = mip_parameter_spec()
    #: the checks of sample_cqm()'s own keywords (hint, structure, on_solution)
    cqm_parameter_spec = ParameterSpec(CQM_PARAMS)
    parameters = parameter_spec.dimod_parameters()
    properties: dict = {}

    # -- what a backend implements -------------------------------------------------------
    def solve_model(self, model: MipModel, options: Options) -> Outcome:  # pragma: no cover - abstract
        """Solve ``model`` (minimise its objective) under ``options``."""
        raise NotImplementedError

    # -- the two entry points -----------------------------------------------------------
    def sample(self, bqm: dimod.BinaryQuadraticModel, *, time_limit: float | None = None,
               num_threads: int | None = None, seed: int | None = None, initial_state=None, interrupt=None,
               **kwargs) -> dimod.SampleSet:
        """Minimise ``bqm``'s energy; return the best solution(s) found with the solver's proof.

        Args:
            bqm: the model, SPIN or BINARY.
            time_limit: seconds, wall clock, for the whole call (model building included; the
                solver gets what is left). None: until proven optimal.
            num_threads: solver threads (None: the backend's default).
            seed: the solver's random seed, 0..2**31-1 (None: its default).
            initial_state: a sample (mapping label -> value in the BQM's vartype, or a
                samples-like of one sample), given to the solver as a warm start.
            interrupt: an object with ``is_set()`` (a :class:`threading.Event`): once set the
                solver stops at its next check (status ``"interrupted"``).
            **kwargs: the backend's own parameters (its ``parameter_spec``); others are
                dropped with dimod's warning.

        Returns:
            dimod.SampleSet in the BQM's vartype, best energy first, never empty (every
            assignment of a BQM is feasible): when the solver stopped (time limit, interrupt)
            before it found a solution, the one row is a best effort, ``info["best_effort"]``
            saying which: ``"hint"`` (``initial_state``) or ``"trivial"`` (the better of all
            variables at 0 / -1 and each at the value its linear bias prefers), with the
            solver's status (``"time_limit"`` or ``"interrupted"``). ``info``: ``status`` (one of :data:`~qopt.samplers.mip.model.STATUSES`),
            ``dual_bound`` (a proven lower bound on the minimum energy, offset included,
            energy units; ``-inf`` when none), ``gap`` (``(best - dual_bound) / max(1, |best|)``),
            ``solver`` (name and version), ``timing`` (``preprocessing_ns``, ``sampling_ns``,
            ``postprocessing_ns``) and backend facts.

        Raises:
            ParameterError: an argument out of range (the message names it).
            UnsupportedProblem: the backend cannot take the model (names what).
        """
        t0 = time.perf_counter_ns()
        start = time.monotonic()
        kwargs = self.remove_unknown_kwargs(**kwargs)
        args = self.parameter_spec.check_all({"time_limit": time_limit, "num_threads": num_threads,
                                              "seed": seed, "initial_state": initial_state,
                                              "interrupt": interrupt, **kwargs})
        model = MipModel.from_bqm(bqm)
        options = self._options(model, args, hint=args["initial_state"], start=start)
        t1 = time.perf_counter_ns()
        outcome = self.solve_model(model, options)
        t2 = time.perf_counter_ns()
        if not outcome.solutions:
            _best_effort_bqm(model, bqm, outcome, options.hint)
        samples = self._samples(model, outcome)
        ss = dimod.SampleSet.from_samples_bqm((samples, list(model.labels)), bqm)
        return self._finish(ss, outcome, (t0, t1, t2))

    def sample_cqm(self, cqm: dimod.ConstrainedQuadraticModel, *, time_limit: float | None = None,
                   num_threads: int | None = None, seed: int | None = None, hint=None, interrupt=None,
                   structure: Mapping | None = None,
                   on_solution: Callable[[dict, float], None] | None = None, **kwargs) -> dimod.SampleSet:
        """Minimise ``cqm``'s objective subject to its constraints.

        Args:
            cqm: the model: BINARY, SPIN, INTEGER (and, where the backend says so, REAL)
                variables; linear constraints, quadratic ones where the backend takes them.
            time_limit, num_threads, seed, interrupt: as in :meth:`sample`.
            hint: a sample of the CQM's variables (mapping or samples-like of one), a warm
                start (HiGHS ``setSolution``, CP-SAT ``add_hint``, SCIP ``addSol``).
            structure: a declared structure (``{"kind": "tsp", ...}``, see
                :func:`qopt.model.templates.tsp`) a backend may exploit; others ignore it.
            on_solution: ``(sample, objective)`` called for each improving feasible solution
                the solver reports (``sample`` a dict over the CQM's variables, ``objective``
                the CQM's objective), from the solver's thread or after the run; it must
                return quickly.
            **kwargs: the backend's own parameters.

        Returns:
            dimod.SampleSet from :meth:`dimod.SampleSet.from_samples_cqm` (``energy`` is the
            objective, with ``is_feasible`` / ``is_satisfied``), best first; empty when the
            solver found no solution (a CQM has no assignment known to be feasible, and
            returning the caller's ``hint`` would credit this backend with it); ``info`` as in
            :meth:`sample` with ``dual_bound`` a proven lower bound on the CQM's minimum
            objective.

        Raises:
            ParameterError: an argument out of range (the message names it).
            UnsupportedProblem: a variable kind or constraint the backend cannot take (names it).
        """
        t0 = time.perf_counter_ns()
        start = time.monotonic()
        kwargs = self.remove_unknown_kwargs(**kwargs)
        args = self.parameter_spec.check_all({"time_limit": time_limit, "num_threads": num_threads,
                                              "seed": seed, "interrupt": interrupt, **kwargs})
        extra = self.cqm_parameter_spec.check_all({"hint": hint, "structure": structure,
                                                   "on_solution": on_solution})
        model = MipModel.from_cqm(cqm)
        options = self._options(model, args, hint=extra["hint"], structure=extra["structure"],
                                on_solution=extra["on_solution"], start=start)
        t1 = time.perf_counter_ns()
        outcome = self.solve_model(model, options)
        t2 = time.perf_counter_ns()
        samples = self._samples(model, outcome)
        ss = dimod.SampleSet.from_samples_cqm((samples, list(model.labels)), cqm)
        return self._finish(ss, outcome, (t0, t1, t2))

    # -- shared steps -------------------------------------------------------------------
    def _options(self, model: MipModel, args: Mapping, *, hint=None, structure=None, on_solution=None,
                 start: float | None = None) -> Options:
        callback = None
        if on_solution is not None:
            def callback(values: np.ndarray, _objective: float) -> None:
                sample = model.sample_dict(values)
                on_solution(sample, model.objective_value(sample))
        own = {k: v for k, v in args.items()
               if k not in ("time_limit", "num_threads", "seed", "initial_state", "interrupt")}
        return Options(time_limit=args.get("time_limit"), num_threads=args.get("num_threads"),
                       seed=args.get("seed"), hint=model.values(hint), interrupt=args.get("interrupt"),
                       on_solution=callback, structure=structure, extra=own, start=start)

    @staticmethod
    def _samples(model: MipModel, outcome: Outcome) -> np.ndarray:
        if not outcome.solutions:
            return np.zeros((0, model.num_variables))
        rows = np.stack([model.sample_array(s) for s in outcome.solutions]) + 0.0  # no -0.0
        if not np.any(model.kind == REAL):
            rows = rows.astype(np.int64)
        return np.unique(rows, axis=0) if len(rows) > 1 else rows

    @staticmethod
    def _finish(ss: dimod.SampleSet, outcome: Outcome, stamps) -> dimod.SampleSet:
        """``ss`` best first (feasible before infeasible, then by energy), with the info keys."""
        if outcome.status not in STATUSES:  # pragma: no cover - a backend bug
            raise AssertionError(f"backend status {outcome.status!r} is not one of {STATUSES}")
        t0, t1, t2 = stamps
        feasible = getattr(ss.record, "is_feasible", None)
        if len(ss) > 1:
            infeasible = np.zeros(len(ss), bool) if feasible is None else ~np.asarray(feasible, bool)
            order = np.lexsort((ss.record.energy, infeasible))
            ss = dimod.SampleSet(ss.record[order], ss.variables, dict(ss.info), ss.vartype)
            feasible = getattr(ss.record, "is_feasible", None)
        if feasible is not None and len(ss):
            ok = np.flatnonzero(feasible)
            best = float(ss.record.energy[ok].min()) if ok.size else None
        else:
            best = float(ss.record.energy.min()) if len(ss) else None
        bound = float(outcome.dual_bound)
        if best is not None and outcome.status == "optimal" and bound > best:
            bound = best  # a solver's bound can exceed the recomputed optimum by its tolerance
        if outcome.status == "infeasible":
            bound = math.inf
        info = {"status": outcome.status, "dual_bound": bound, "gap": relative_gap(best, bound),
                "solver": outcome.solver, **outcome.info}
        info["timing"] = {"preprocessing_ns": t1 - t0, "sampling_ns": t2 - t1,
                          "postprocessing_ns": time.perf_counter_ns() - t2}
        ss.info.update(info)
        return ss
