"""``HybridSampler``: decompose, dispatch subproblems to a quantum backend, recombine.

Algorithm (after Kerberos in D-Wave's dwave-hybrid, with a deadline that holds):

1. An initial incumbent: a random state (as Kerberos starts).
2. A *quantum branch* loops until the deadline (or ``patience`` rounds without gain):
   choose a subproblem of at most ``subproblem_size`` variables (energy impact, random
   walks, components; :mod:`qopt.hybrid.decompose`), clamp the rest at the incumbent,
   solve it on the quantum backend (``num_workers`` subproblems in flight, disjoint),
   and splice the best sub-sample in only when it lowers the incumbent's energy.
   Steepest descent polishes the incumbent as it goes.
3. A *classical branch* (simulated annealing on the C++ core) races alongside under the
   same deadline.
4. Warm-up: before the first subproblem the quantum backend is warmed up (imports, the
   first circuit built and transpiled on a 2-variable model; for D-Wave the credentials
   and the solver, with no QPU time) while the classical branch already runs, so set-up
   cost never counts against ``subproblem_timeout``; its time is in ``info["hybrid"]["warm_up"]``.
   A backend that cannot run here (a structural failure of the warm-up, e.g. no D-Wave
   credentials) raises its error unless ``fallback="always"``.
5. A circuit breaker (:mod:`qopt.hybrid.breaker`) guards the quantum backend: a transient
   error is retried with backoff; ``breaker_failures`` consecutive failures or time-outs
   (no answer within ``subproblem_timeout``) open it, and subproblems then go to the
   classical tier (the exact backend's branch and bound up to ``ENUMERATION_MAX_VARIABLES`` variables,
   annealing above); after ``breaker_cool_down`` seconds one trial subproblem goes to the
   quantum backend again (half-open), and its success closes the breaker. Transitions are
   in ``info["hybrid"]["breaker"]`` and ``info["fallback_chain"]``, so a classical answer
   never passes as a quantum one.

Ownership: every subproblem call is a :class:`qopt.solve.workers.Task` with its own stop
event, set when it times out, when the run ends and (through ``interrupt``) when the caller
cancels; samplers that take ``interrupt`` (QAOA, annealing) stop at their next step. Calls
into samplers that cannot be interrupted (exact enumeration, a QPU call) are listed in
``info["hybrid"]["calls_not_stopped"]`` when they outlive the run.

Credit: a subproblem's answer is spliced in only when the variables it covers still hold
the values it was built from (else it is *stale* and dropped) and it lowers the energy; the
gain is credited to the backend that solved it. Each row of the sample set says which step
last lowered it: ``branch`` is ``quantum`` (the decomposition branch) or ``classical`` (the
classical branch, or an incumbent the decomposition adopted from it); ``backend`` is the
sampler: the quantum backend's name, ``classical-tier/exact`` or ``classical-tier/sa``
(a subproblem solved while the breaker was open), ``steepest`` (the polish), ``initial``
(the random start), ``sa`` (the classical branch).
The answer is assembled after the last progress event, so it is never worse than an energy
streamed through ``on_progress``.

:meth:`HybridSampler.sample` checks its arguments; the run loop is :class:`_HybridRun`,
one object per call holding the incumbent, the subproblems in flight and the breaker,
with one method per step.
"""
from __future__ import annotations

import collections
import queue
import threading
import time

import dimod
import numpy as np

from qopt.errors import STRUCTURAL, BackendUnavailable, InvalidInput, classify_error
from qopt.hybrid.breaker import CLOSED, CircuitBreaker
from qopt.hybrid.decompose import STRATEGIES, IsingState, select_subproblem
from qopt.samplers.exact import ExactSampler
from qopt.samplers.limits import ENUMERATION_MAX_VARIABLES
from qopt.samplers.registry import BACKENDS
from qopt.samplers.sa import SimulatedAnnealingSampler
from qopt.samplers.spec import Param, ParameterSpec, callable_validator, event_validator, has_method_validator
from qopt.solve.fallback import DEFAULT_FALLBACK, FALLBACK_MODES, fallback_mode
from qopt.solve.stages import AnyEvent
from qopt.solve.workers import WORKERS, Task, WorkerPool

__all__ = ["HybridSampler"]

#: Most entries of ``info["fallback_chain"]`` for individual failures (the rest are counted).
MAX_CHAIN_FAILURES = 20
#: Seconds the end of a run waits for cancelled subproblem calls to return.
STOP_WAIT = 0.2
#: The model a backend is warmed up on: two variables, one coupling.
_WARM_UP_BQM = dimod.BinaryQuadraticModel({0: 0.5, 1: -0.5}, {(0, 1): 1.0}, 0.0, dimod.SPIN)
#: Parameters of the warm-up call, where the backend takes them: the circuit is built and
#: transpiled as for a subproblem (same ``reps``), but not optimised, and sampled once.
WARM_UP_PARAMETERS = {"maxiter": 0, "shots": 1, "num_reads": 1}


#: How quantum subproblems leave this process, or None (they run on the worker pool here):
#: ``dispatch(backend, h, rows, cols, vals, params, interrupt) -> dimod.SampleSet``, with the
#: subproblem as plain arrays (linear biases ``h``, the quadratic terms ``rows``/``cols``/``vals``,
#: SPIN). Installed by a Ray worker (:mod:`qopt.service.executor_ray`) so a hybrid run inside a
#: Ray task fans its subproblems out to the cluster as Ray tasks of their own; the incumbent,
#: the splice, the breaker and the classical tiers stay here.
SUBPROBLEM_DISPATCH = None


def set_subproblem_dispatch(dispatch) -> None:
    """Install (or, with None, remove) the process-wide :data:`SUBPROBLEM_DISPATCH`."""
    global SUBPROBLEM_DISPATCH
    SUBPROBLEM_DISPATCH = dispatch


def _plain(value) -> bool:
    """Whether a parameter value can travel to another process as data."""
    if value is None or isinstance(value, (bool, int, float, str, np.ndarray, np.generic)):
        return True
    if isinstance(value, (list, tuple)):
        return all(_plain(v) for v in value)
    if isinstance(value, dict):
        return all(isinstance(k, str) and _plain(v) for k, v in value.items())
    return False


class _Call:
    """One subproblem dispatched to a sampler on a worker thread.

    Attributes:
        key: the run's id of the call; variables: int64 (k,) indices into the model;
        input_spins: int8 (k,), the incumbent's spins on ``variables`` when dispatched;
        quantum: whether it went to the quantum backend; backend: the name credited;
        task: the :class:`qopt.solve.workers.Task` running it.
    """

    def __init__(self, key: int, variables: np.ndarray, input_spins: np.ndarray, strategy: str, sampler, bqm,
                 params: dict, results: queue.Queue, attempt: int, workers: WorkerPool, backend: str, quantum: bool,
                 stop, remote=None):
        self.key = key
        self.variables = variables
        self.input_spins = input_spins
        self.strategy = strategy
        self.attempt = attempt
        self.backend = backend
        self.quantum = quantum
        takes_interrupt = "interrupt" in getattr(sampler, "parameters", {})

        def run(interrupt):
            kwargs = {**params, "interrupt": interrupt} if takes_interrupt else params
            try:
                ss = remote(interrupt) if remote is not None else sampler.sample(bqm, **kwargs)
                ss.resolve()
                results.put((key, ss, None))
            except BaseException as exc:  # noqa: BLE001 - reported to the orchestrator
                results.put((key, None, exc))

        self.task: Task = workers.run(run, interrupt=stop)

    @property
    def started(self) -> float:
        return self.task.started


def _sub_bqm(h, rows, cols, vals) -> dimod.BinaryQuadraticModel:
    return dimod.BinaryQuadraticModel.from_numpy_vectors(h, (rows, cols, vals), 0.0, dimod.SPIN)


def _best_spins(ss: dimod.SampleSet, k: int) -> np.ndarray:
    ss = ss.change_vartype(dimod.SPIN, inplace=False) if ss.vartype is dimod.BINARY else ss
    best = ss.first.sample
    return np.array([best[i] for i in range(k)], dtype=np.int8)


def _error_text(err: BaseException) -> str:
    return f"{type(err).__name__}: {err}"[:300]


class HybridSampler(dimod.Sampler):
    """Hybrid quantum-classical sampler (backend ``"hybrid"``).

    Examples:
        >>> import dimod, qopt.hybrid
        >>> bqm = dimod.generators.ran_r(1, 60, seed=1)
        >>> ss = qopt.hybrid.HybridSampler().sample(bqm, quantum_backend="exact",
        ...                                         subproblem_size=10, time_limit=1.0, seed=3)
        >>> sorted(ss.info["hybrid"]["subproblems"])              # doctest: +SKIP
        ['exact']
    """

    #: The backend's parameters (any size of model: it decomposes).
    parameter_spec = ParameterSpec([
        Param("quantum_backend", "str", "qaoa", choices=tuple(name for name in BACKENDS if name != "hybrid"),
              doc="registry name of the subproblem solver (ignored when quantum_sampler is given)"),
        Param("quantum_sampler", "object", None, validator=has_method_validator("quantum_sampler", "sample",
                                                                                "a dimod.Sampler"),
              doc="a dimod.Sampler instance for subproblems (overrides quantum_backend)"),
        Param("quantum_parameters", "mapping", None, doc="keyword arguments of every subproblem call"),
        Param("subproblem_size", "int", 12, minimum=1, maximum=64, doc="most variables (qubits) per subproblem"),
        Param("time_limit", "float", 10.0, minimum=0.0, exclusive_minimum=True, maximum=86400.0, unit="s",
              doc="wall clock for the whole call; the answer comes back before it expires"),
        Param("seed", "int", None, minimum=0, maximum=2**63 - 1,
              doc="seed of selection, the initial state and the classical branch (None: drawn)"),
        Param("num_workers", "int", 2, minimum=1, maximum=64, doc="subproblems in flight at once"),
        Param("subproblem_timeout", "float", None, minimum=0.0, exclusive_minimum=True, unit="s",
              doc="before a subproblem call counts as hung (None: min(5, time_limit / 4))"),
        Param("max_retries", "int", 1, minimum=0, maximum=10, doc="retries of a subproblem after a transient error"),
        Param("breaker_failures", "int", 3, minimum=1, maximum=1000,
              doc="consecutive quantum failures or time-outs that open the circuit breaker"),
        Param("breaker_cool_down", "float", None, minimum=0.0, unit="s",
              doc="seconds the breaker stays open before a half-open trial (None: subproblem_timeout)"),
        Param("warm_up", "bool", True, doc="warm the quantum backend up before the first subproblem"),
        Param("warm_up_timeout", "float", None, minimum=0.0, exclusive_minimum=True, unit="s",
              doc="longest warm-up before it counts as a time-out (None: half of time_limit)"),
        Param("fallback", "str", DEFAULT_FALLBACK, choices=FALLBACK_MODES,
              doc="'transient': a backend that cannot run (structural warm-up failure) raises; 'always': the "
                  "classical tier takes over instead; 'never': any quantum failure or time-out raises"),
        Param("classical_branch", "bool", True, doc="race simulated annealing alongside"),
        Param("strategies", "str_list", STRATEGIES, choices=STRATEGIES, doc="subproblem selections to rotate through"),
        Param("patience", "int", None, minimum=1,
              doc="stop after this many subproblems without gain (None: 4 n / subproblem_size + 20)"),
        Param("interrupt", "object", None, validator=event_validator("interrupt"),
              doc="an object with is_set() (threading.Event); stops the loop when set"),
        Param("on_progress", "object", None, validator=callable_validator("on_progress"),
              doc="callback receiving each improvement of either branch's best"),
    ])
    parameters = parameter_spec.dimod_parameters()
    properties = {"description": "decomposition with quantum subproblems racing simulated annealing "
                                 "(after Kerberos, dwave-hybrid), with a circuit breaker and fallback tiers"}

    def sample(self, bqm: dimod.BinaryQuadraticModel, *, quantum_backend: str = "qaoa", quantum_sampler=None,
               quantum_parameters: dict | None = None, subproblem_size: int = 12, time_limit: float = 10.0,
               seed: int | None = None, num_workers: int = 2, subproblem_timeout: float | None = None,
               max_retries: int = 1, breaker_failures: int = 3, breaker_cool_down: float | None = None,
               warm_up: bool = True, warm_up_timeout: float | None = None, fallback: str | bool = DEFAULT_FALLBACK,
               classical_branch: bool = True, strategies=STRATEGIES, patience: int | None = None, interrupt=None,
               on_progress=None) -> dimod.SampleSet:
        """Sample ``bqm`` with the hybrid workflow.

        Args:
            bqm: the model (SPIN or BINARY); the result uses its vartype.
            quantum_backend: registry name of the subproblem solver (``"qaoa"``, ``"dwave"``,
                or any backend such as ``"exact"``); ignored when ``quantum_sampler`` is given.
            quantum_sampler: a :class:`dimod.Sampler` instance for subproblems (overrides the name).
            quantum_parameters: keyword arguments for every subproblem call (e.g. ``reps``, ``shots``).
            subproblem_size: most variables (qubits) per subproblem, 1..64 (default 12).
            time_limit: seconds of wall clock for the whole call (default 10); the answer comes
                back before it expires.
            seed: seed for selection, the initial state and the classical branch; drawn when None.
            num_workers: subproblems in flight at once (default 2).
            subproblem_timeout: seconds before a subproblem call counts as hung (default
                ``min(5, time_limit / 4)``); the call is then told to stop.
            max_retries: retries of a subproblem after a transient error (default 1), with
                exponential backoff from 50 ms, while the breaker is closed.
            breaker_failures: consecutive quantum failures or time-outs that open the circuit
                breaker (default 3).
            breaker_cool_down: seconds the breaker stays open before one trial subproblem goes
                to the quantum backend again (default ``subproblem_timeout``).
            warm_up: warm the quantum backend up before the first subproblem (default True):
                its ``warm_up()`` method when it has one (D-Wave: credentials and solver), else
                one call on a 2-variable model (QAOA: imports, circuit, transpilation).
            warm_up_timeout: seconds the warm-up may take (default half of ``time_limit``);
                a longer one opens the breaker (a time-out) and goes on: its late answer closes it.
            fallback: ``"transient"`` (default), ``"always"`` or ``"never"``
                (:data:`qopt.solve.fallback.FALLBACK_MODES`; True / False alias the last two).
                A structural failure of the warm-up (the backend cannot run here) raises unless
                ``"always"``; under ``"never"`` any quantum failure or time-out raises.
            classical_branch: race simulated annealing alongside (default True).
            strategies: subproblem selections to rotate through (``"energy"``, ``"random_walk"``,
                ``"component"``).
            patience: stop after this many consecutive subproblems without improvement
                (default: ``4 * n / subproblem_size + 20``); None uses the default. After
                ``n / subproblem_size`` such subproblems (one pass) the quantum branch adopts the
                classical branch's incumbent when that is better.
            interrupt: optional :class:`threading.Event`; stops the loop and the calls in flight.
            on_progress: optional callable receiving ``{"event": "best", "energy", "branch",
                "backend"}`` each time either branch improves its best (never after the
                answer is assembled).

        Returns:
            dimod.SampleSet: the quantum-branch incumbent and the classical branch's best, with
            ``branch`` and ``backend`` vectors naming the step that last lowered each; ``info``
            holds ``hybrid`` (``subproblems`` and ``improvements``: backend -> count, with
            classical-tier entries as ``classical-tier/<sampler>``; ``stale``; ``rounds``;
            ``strategies``; ``warm_up``; ``breaker``; ``longest_subproblem_wait_s``;
            ``calls_not_stopped``), ``fallback_chain``, ``quantum_value_added``
            (``quantum_improvements``, ``quantum_energy_gain`` >= 0 and the other steps'
            gains, the best energies and the advantage over the classical branch),
            ``branch_agreement`` and ``timing`` (ns).

        Raises:
            ParameterError: a parameter out of range (named).
            UnknownBackendError: ``quantum_backend`` is not a registered backend.
            qopt.errors.BackendConfigurationError: the quantum backend cannot run here (its
                warm-up failed structurally, e.g. no D-Wave credentials), unless ``fallback="always"``.
            qopt.errors.BackendUnavailable: (``fallback="never"``) a quantum call timed out.
            Exception: (``fallback="never"``) the quantum backend's own error.
        """
        t_start = time.monotonic()
        spec = self.parameter_spec
        time_limit = spec.check("time_limit", time_limit)
        subproblem_size = spec.check("subproblem_size", subproblem_size)
        num_workers = spec.check("num_workers", num_workers)
        max_retries = spec.check("max_retries", max_retries)
        seed = spec.check("seed", seed)
        if seed is None:
            seed = spec.random_seed()
        if subproblem_timeout is None:
            subproblem_timeout = min(5.0, time_limit / 4.0)
        subproblem_timeout = spec.check("subproblem_timeout", subproblem_timeout)
        breaker_failures = spec.check("breaker_failures", breaker_failures)
        if breaker_cool_down is None:
            breaker_cool_down = subproblem_timeout
        breaker_cool_down = spec.check("breaker_cool_down", breaker_cool_down)
        warm_up = spec.check("warm_up", warm_up)
        if warm_up_timeout is None:
            warm_up_timeout = time_limit / 2.0
        warm_up_timeout = spec.check("warm_up_timeout", warm_up_timeout)
        fallback = fallback_mode(fallback)
        strategies = spec.check("strategies", strategies)
        if isinstance(strategies, str):
            strategies = [strategies]
        quantum_parameters = spec.check("quantum_parameters", quantum_parameters)
        classical_branch = spec.check("classical_branch", classical_branch)
        patience = spec.check("patience", patience)
        interrupt = spec.check("interrupt", interrupt)
        on_progress = spec.check("on_progress", on_progress)
        quantum_sampler = spec.check("quantum_sampler", quantum_sampler)
        qparams = dict(quantum_parameters or {})
        from_registry = quantum_sampler is None
        if quantum_sampler is None:
            from qopt.samplers.registry import get_sampler_class

            spec.check("quantum_backend", quantum_backend)
            quantum_sampler = get_sampler_class(quantum_backend)()
            qname = quantum_backend
        else:
            qname = getattr(quantum_sampler, "backend_name", type(quantum_sampler).__name__)
        if "seed" in getattr(quantum_sampler, "parameters", {}) and "seed" not in qparams:
            qparams["seed"] = seed % (2**31)

        n = len(bqm.variables)
        if patience is None:
            patience = int(4 * n / subproblem_size) + 20
        breaker = CircuitBreaker(breaker_failures, breaker_cool_down)
        run = _HybridRun(bqm, quantum_sampler, qname, qparams, t_start=t_start, time_limit=time_limit,
                         subproblem_size=subproblem_size, seed=seed, num_workers=num_workers,
                         subproblem_timeout=subproblem_timeout, max_retries=max_retries, breaker=breaker,
                         warm_up=warm_up, warm_up_timeout=warm_up_timeout, fallback=fallback,
                         classical_branch=classical_branch, strategies=list(strategies), patience=patience,
                         interrupt=interrupt, on_progress=on_progress)
        run.registry_sampler = from_registry
        return run.run()


class _HybridRun:
    """One call of :meth:`HybridSampler.sample`: the incumbent, the subproblems in flight,
    the circuit breaker and the classical branch, with one method per step.

    The caller has checked every argument; :meth:`run` does the work and returns the
    sample set. Two threads touch the run: the classical branch (:meth:`classical_branch`)
    writes ``classical_energy`` and ``classical_spins`` together under ``_lock`` (where
    progress is reported too); everything else belongs to the thread that called
    :meth:`run`. Subproblem calls run on the shared worker pool and report through ``results``.
    """

    def __init__(self, bqm: dimod.BinaryQuadraticModel, quantum_sampler, qname: str, qparams: dict, *,
                 t_start: float, time_limit: float, subproblem_size: int, seed: int, num_workers: int,
                 subproblem_timeout: float, max_retries: int, breaker: CircuitBreaker, warm_up: bool,
                 warm_up_timeout: float, fallback: str, classical_branch: bool, strategies: list[str],
                 patience: int, interrupt, on_progress):
        self.bqm = bqm
        self.quantum_sampler = quantum_sampler
        self.qname = qname
        self.qparams = qparams
        self.t_start = t_start
        self.subproblem_size = subproblem_size
        self.seed = seed
        self.num_workers = num_workers
        self.subproblem_timeout = subproblem_timeout
        self.max_retries = max_retries
        self.breaker = breaker
        self.with_warm_up = warm_up
        self.warm_up_timeout = warm_up_timeout
        self.fallback = fallback
        self.with_classical_branch = classical_branch
        self.strategies = strategies
        self.patience = patience
        self.interrupt = interrupt
        self.on_progress = on_progress

        # deadline: the answer is assembled by stop_at, a margin before the caller's deadline
        self.deadline = t_start + time_limit
        self.stop_at = self.deadline - min(0.25, max(0.05, 0.03 * time_limit))
        self.rng = np.random.default_rng(seed)
        self.variables = list(bqm.variables)
        self.n = len(self.variables)
        self.stop_event = threading.Event()
        self.calls_stop = AnyEvent(self.stop_event, interrupt)  # stops every call in flight
        self.sa = SimulatedAnnealingSampler()
        self.descent = None
        self.state: IsingState | None = None  # the quantum branch's incumbent
        self.source = ("quantum", "initial")  # (branch, backend) of the step that last lowered the incumbent

        # progress events and the answer: the best energy reported, and no report once closed
        self._lock = threading.Lock()
        self._progress_best = np.inf
        self._reported: tuple[float, np.ndarray, str, str] | None = None
        self._closed = False

        # classical branch (written by its thread, under _lock)
        self.spin_bqm = bqm.spin if bqm.vartype is dimod.BINARY else bqm
        self.classical_energy = np.inf
        self.classical_spins: np.ndarray | None = None
        self.classical_reads = 0
        self._classical_thread: threading.Thread | None = None

        # quantum branch: counters reported in info["hybrid"] and info["quantum_value_added"]
        self.subproblems: collections.Counter = collections.Counter()
        self.improvements: collections.Counter = collections.Counter()
        self.strategy_counts: collections.Counter = collections.Counter()
        self.gains: dict[str, float] = collections.defaultdict(float)  # branch -> energy gained (>= 0)
        self.stale = 0
        self.rounds = 0
        self.since_gain = 0
        self.adopted = 0
        self.adopt_after = max(1, self.n // subproblem_size)
        self.longest_wait = 0.0
        self.warm_up_report: dict = {"done": False}

        # subproblems in flight and the fallback state
        self.results: queue.Queue = queue.Queue()
        self.workers = WORKERS
        self.in_flight: dict[int, _Call] = {}
        self.busy = np.zeros(self.n, dtype=bool)
        self.tabu = np.zeros(self.n)
        self.next_key = 0
        self.given_up: list[_Call] = []  # calls that timed out (told to stop)
        self.warm_task: Task | None = None
        self.warm_pending = False  # the warm-up outlived warm_up_timeout and still runs
        self.fallback_chain: list[dict] = []
        self.failures_not_listed = 0
        self.registry_sampler = False  # the quantum sampler is the registry's (may run in another process)
        self.remote_subproblems = 0  # quantum subproblems sent out through SUBPROBLEM_DISPATCH

    @property
    def incumbent(self) -> IsingState:
        """The quantum branch's incumbent (``self.state``), which :meth:`run` sets before any step reads it."""
        assert self.state is not None, "run() sets the incumbent before the quantum branch starts"
        return self.state

    # -- the run ------------------------------------------------------------------------
    def run(self) -> dimod.SampleSet:
        """Race both branches until the deadline and return the sample set (see
        :meth:`HybridSampler.sample` for its rows and ``info``)."""
        warm = self.warm_task = self.start_warm_up()
        if self.with_classical_branch:
            self._classical_thread = threading.Thread(target=self.classical_branch, daemon=True,
                                                      name="qopt-hybrid-classical")
            self._classical_thread.start()
        try:
            # initial incumbent: a random state, as in Kerberos
            self.state = IsingState.from_bqm(self.bqm, self.rng.choice(np.array([-1, 1], dtype=np.int8), self.n))
            self.report(self.state.energy, self.state.spins, *self.source)
            self.descent = _descent_sampler()
            if warm is not None:
                self.finish_warm_up(warm)
            self.quantum_branch()
            # final polish: descent on the incumbent
            if self.descent is not None and time.monotonic() < self.stop_at:
                self.polish()
        finally:
            self.stop_all()
        return self.sample_set()

    def stop_all(self) -> None:
        """End of the run: stop the classical branch and every call in flight, wait for them
        (at most ``STOP_WAIT`` s, within the deadline), then close the progress stream."""
        self.stop_event.set()
        tasks = [call.task for call in self.in_flight.values()]
        if self.warm_task is not None:
            tasks.append(self.warm_task)
        for task in tasks:
            task.cancel()
        # the waits end halfway between stop_at and the deadline, leaving time to assemble the answer
        end = min(time.monotonic() + STOP_WAIT, self.stop_at + 0.5 * (self.deadline - self.stop_at))
        for task in tasks:
            task.wait(max(0.0, end - time.monotonic()))
        if self._classical_thread is not None:
            self._classical_thread.join(timeout=max(0.0, end - time.monotonic()))
        with self._lock:
            self._closed = True

    def stopped(self) -> bool:
        """Whether the run was told to stop (its own stop event or the caller's ``interrupt``)."""
        return self.calls_stop.is_set()

    def report(self, energy: float, spins: np.ndarray, branch: str, backend: str) -> None:
        """Send a ``best`` progress event when ``energy`` beats every energy reported so far,
        and keep that state (the answer includes it). Nothing is reported once the answer is
        being assembled."""
        with self._lock:
            self._report_locked(energy, spins, branch, backend)

    def _report_locked(self, energy: float, spins: np.ndarray, branch: str, backend: str) -> None:
        if self._closed or not energy < self._progress_best - 1e-12:
            return
        self._progress_best = energy
        self._reported = (float(energy), spins.copy(), branch, backend)
        if self.on_progress is not None:
            self.on_progress({"event": "best", "energy": float(energy), "branch": branch, "backend": backend})

    # -- warm-up ------------------------------------------------------------------------
    def start_warm_up(self) -> Task | None:
        """Start warming the quantum backend up on the pool (None when ``warm_up`` is off)."""
        if not self.with_warm_up:
            return None
        sampler, params = self.quantum_sampler, self.qparams
        takes_interrupt = "interrupt" in getattr(sampler, "parameters", {})

        def warm(interrupt):
            if callable(getattr(sampler, "warm_up", None)):
                return sampler.warm_up()
            accepted = getattr(sampler, "parameters", {})
            kwargs = {**params, **{k: v for k, v in WARM_UP_PARAMETERS.items() if k in accepted}}
            if takes_interrupt:
                kwargs["interrupt"] = interrupt
            return sampler.sample(_WARM_UP_BQM, **kwargs).resolve()

        return self.workers.run(warm, interrupt=self.calls_stop)

    def finish_warm_up(self, task: Task) -> None:
        """Wait for the warm-up (at most ``warm_up_timeout``, within the run). One that is not
        done by then opens the breaker but goes on (it is the trial: when it answers later,
        :meth:`check_late_warm_up` closes the breaker); a failure counts for the breaker; a
        structural failure raises (unless ``fallback="always"``)."""
        end = min(task.started + self.warm_up_timeout, self.stop_at)
        while not task.wait(min(0.02, max(0.0, end - time.monotonic()))):
            if self.stopped() or time.monotonic() >= end:
                break
        self.warm_up_report = {"done": True, "seconds": round(task.seconds, 6), "backend": self.qname}
        if task.done.is_set():
            self.warm_up_outcome(task)
            return
        outcome = "stopped" if self.stopped() else f"no answer within {end - task.started:.3g} s"
        self.warm_up_report["outcome"] = outcome
        if self.stopped():
            return
        if self.fallback == "never":
            raise BackendUnavailable(f"{self.qname}: warm-up {outcome} (fallback='never')", backend=self.qname)
        self.quantum_failed(f"warm-up: {outcome}", "transient", None, trip=True)
        self.warm_pending = True

    def check_late_warm_up(self) -> None:
        """A warm-up that outlived ``warm_up_timeout`` and has now ended: its outcome decides."""
        task = self.warm_task
        if not self.warm_pending or task is None or not task.done.is_set():
            return
        self.warm_pending = False
        self.warm_up_report.update(seconds=round(task.seconds, 6), late=True)
        self.warm_up_outcome(task)
        if task.error is None:
            self.breaker.close(f"the warm-up answered after {task.seconds:.3g} s")
            self.record_transition()

    def warm_up_outcome(self, task: Task) -> None:
        """Record the ended warm-up ``task``; raise its error when the backend cannot run here."""
        report = self.warm_up_report
        if task.error is None:
            report["outcome"] = "ok"
            return
        err = task.error
        kind = classify_error(err)
        report.update(outcome="failed", classification=kind, error=_error_text(err))
        if isinstance(err, InvalidInput) or self.fallback == "never" or \
                (kind == STRUCTURAL and self.fallback != "always"):
            raise err  # the backend cannot run here as asked: its own documented error
        if kind == STRUCTURAL:
            self.record_failure("warm-up failed", kind, err)
            self.breaker.force_open(f"the warm-up failed: {_error_text(err)}")
            self.record_transition()
        else:
            self.quantum_failed("warm-up failed", kind, err, trip=True)

    # -- classical branch: repeated anneals until the deadline --------------------------
    def classical_branch(self) -> None:
        """Anneal the whole model again and again (its own thread) until the run stops."""
        k = 0
        while not self.stopped():
            left = self.stop_at - time.monotonic()
            if left <= 0.01:
                break
            # 16 reads cost what one does (one SIMD lane each in the C++ kernel)
            ss = self.sa.sample(self.spin_bqm, num_reads=16, num_sweeps=1000, seed=(self.seed + 1 + k) % 2**52,
                                time_limit=left, interrupt=self.calls_stop)
            k += 1
            e = float(ss.first.energy)
            spins = np.array([ss.first.sample[v] for v in self.variables], dtype=np.int8)
            with self._lock:
                self.classical_reads += len(ss)
                if e < self.classical_energy and not self._closed:
                    self.classical_energy, self.classical_spins = e, spins
                    self._report_locked(e, spins, "classical", "sa")

    # -- quantum branch: subproblems spliced into the incumbent -------------------------
    def quantum_branch(self) -> None:
        """Dispatch subproblems and splice their answers in until the deadline, the
        caller's interrupt or ``patience`` subproblems without gain."""
        while not self.stopped() and time.monotonic() < self.stop_at and self.since_gain < self.patience:
            self.check_late_warm_up()
            self.adopt_classical_incumbent()
            self.fill()
            if not self.in_flight:
                break
            self.expire_hung_calls()
            wait = max(0.0, min(0.02, self.stop_at - time.monotonic(), self.next_expiry() - time.monotonic()))
            try:
                key, ss, err = self.results.get(timeout=wait)
            except queue.Empty:
                continue
            call = self.in_flight.pop(key, None)
            if call is None:  # a call we already gave up on
                continue
            self.busy[call.variables] = False
            self.longest_wait = max(self.longest_wait, call.task.seconds)
            if err is not None:
                self.handle_error(call, err)
                continue
            if call.quantum:
                self.breaker.record_success()
                self.record_transition()
            self.splice(call, ss)
            if self.improvements.total() and self.improvements.total() % 10 == 0 and self.descent is not None:
                self.polish()

    def polish(self) -> None:
        """Steepest descent from the incumbent (applied when it lowers the energy)."""
        assert self.descent is not None
        gain = -_polish_descent(self.descent, self.bqm, self.incumbent, self.variables)
        if gain > 0:
            self.gains["polish"] += gain
            self.source = ("quantum", "steepest")
            self.report(self.incumbent.energy, self.incumbent.spins, *self.source)

    def adopt_classical_incumbent(self) -> None:
        """Shared incumbent (as in Kerberos), but only once the quantum branch has stalled
        for a full pass over the variables: until then it improves its own trajectory."""
        state = self.incumbent
        with self._lock:
            c_spins, c_energy = self.classical_spins, self.classical_energy
        if (c_spins is not None and self.since_gain >= self.adopt_after
                and c_energy < state.energy - 1e-9 * max(1.0, abs(state.energy))):
            self.gains["adopted"] += state.energy - c_energy
            state.spins = c_spins.copy()
            state.recompute()
            self.adopted += 1
            self.since_gain = 0
            self.source = ("classical", "sa")

    def fill(self) -> None:
        """Keep ``num_workers`` disjoint subproblems in flight."""
        while len(self.in_flight) < self.num_workers and time.monotonic() < self.stop_at:
            strategy = self.strategies[self.rounds % len(self.strategies)]
            vars_ = select_subproblem(self.incumbent, min(self.subproblem_size, self.n), strategy, self.rng,
                                      exclude=self.busy, tabu=self.tabu)
            if vars_.size == 0:
                return
            self.rounds += 1
            self.strategy_counts[strategy] += 1
            self.dispatch(vars_, strategy)

    def dispatch(self, vars_: np.ndarray, strategy: str, attempt: int = 0) -> None:
        """Send the subproblem on ``vars_`` (the rest clamped at the incumbent) to the
        quantum backend when the breaker allows it, else to the classical tier."""
        h_sub, r, c, v = self.incumbent.subproblem(vars_)
        sub = _sub_bqm(h_sub, r, c, v)
        key = self.next_key
        self.next_key += 1
        quantum = self.breaker.allow()
        self.record_transition()
        if quantum:
            name, smp, prm = self.qname, self.quantum_sampler, self.qparams
            if "initial_states" in getattr(smp, "parameters", {}) and "initial_states" not in prm:
                # a backend that takes a warm start starts from the incumbent
                prm = {**prm, "initial_states": (self.incumbent.spins[vars_].reshape(1, -1), list(range(len(vars_))))}
        else:
            tier, smp, prm = self.classical_tier(len(vars_))
            name = f"classical-tier/{tier}"
        remote = None
        dispatch = SUBPROBLEM_DISPATCH
        if quantum and dispatch is not None and self.registry_sampler and _plain(prm):
            def remote(interrupt, _args=(name, h_sub, r, c, v, dict(prm))):
                return dispatch(*_args, interrupt)
            self.remote_subproblems += 1
        call = _Call(key, vars_, self.incumbent.spins[vars_].copy(), strategy, smp, sub, prm, self.results, attempt,
                     self.workers, name, quantum, self.calls_stop, remote)
        self.in_flight[key] = call
        self.busy[vars_] = True

    def classical_tier(self, k: int) -> tuple[str, dimod.Sampler, dict]:
        """(backend name, sampler, parameters) of the classical tier for ``k`` variables:
        the exact backend (branch and bound, interruptible) up to ``ENUMERATION_MAX_VARIABLES``,
        a short anneal above."""
        if k <= ENUMERATION_MAX_VARIABLES:
            return "exact", ExactSampler(), {"num_reads": 1}
        return "sa", self.sa, {"num_reads": 8, "num_sweeps": 200, "seed": int(self.rng.integers(2**31)),
                               "time_limit": self.subproblem_timeout}

    def splice(self, call: _Call, ss: dimod.SampleSet) -> None:
        """Apply the subproblem's best sample when its variables still hold the values it was
        built from and it lowers the incumbent's energy, crediting the backend that solved it;
        else count a subproblem without gain (a stale one is dropped)."""
        state = self.incumbent
        vars_ = call.variables
        self.subproblems[call.backend] += 1
        if not np.array_equal(state.spins[vars_], call.input_spins):
            self.stale += 1  # the incumbent moved under it (adoption, polish): not its answer any more
            self.since_gain += 1
            return
        new_spins = _best_spins(ss, len(vars_))
        delta = state.delta_energy(vars_, new_spins)
        if delta < -1e-9 * max(1.0, abs(state.energy)):
            state.apply(vars_, new_spins)
            self.improvements[call.backend] += 1
            self.source = ("quantum", call.backend)
            self.gains["quantum" if call.quantum else "classical-tier"] += -delta
            self.since_gain = 0
            self.report(state.energy, state.spins, *self.source)
        else:
            self.since_gain += 1
            self.tabu[vars_] += 0.5 * (np.abs(state.fields[vars_]).mean() + 1e-12)

    # -- circuit breaker and fallback ---------------------------------------------------
    def next_expiry(self) -> float:
        """When the oldest call in flight times out (monotonic seconds; the stop time if none)."""
        starts = [call.started for call in self.in_flight.values()]
        return min(starts) + self.subproblem_timeout if starts else self.stop_at

    def expire_hung_calls(self) -> None:
        """Give up on calls older than ``subproblem_timeout``: each is told to stop and its
        variables are freed; a quantum one counts as a failure for the breaker."""
        now = time.monotonic()
        for key, call in list(self.in_flight.items()):
            if now - call.started >= self.subproblem_timeout:
                del self.in_flight[key]
                call.task.cancel()
                self.given_up.append(call)
                self.busy[call.variables] = False
                self.longest_wait = max(self.longest_wait, now - call.started)
                if call.quantum:
                    reason = f"no answer within subproblem_timeout={self.subproblem_timeout:g} s"
                    if self.fallback == "never":
                        raise BackendUnavailable(f"{self.qname}: {reason} (fallback='never')", backend=self.qname)
                    self.quantum_failed(reason, "transient", None)

    def handle_error(self, call: _Call, err: BaseException) -> None:
        """A quantum failure: raised under ``fallback="never"`` and for invalid input; else
        counted for the breaker, and a transient one retried with backoff while retries are
        left and the breaker is closed. A failure of the classical tier itself is raised."""
        if not call.quantum or isinstance(err, InvalidInput) or self.fallback == "never":
            raise err
        kind = classify_error(err)
        self.quantum_failed("failed", kind, err)
        if kind == "transient" and call.attempt < self.max_retries and self.breaker.state == CLOSED:
            time.sleep(min(0.05 * 2 ** call.attempt, max(0.0, self.stop_at - time.monotonic())))
            self.fallback_chain.append({"tier": "quantum", "backend": self.qname, "outcome": "retry",
                                        "classification": kind, "error": _error_text(err)})
            self.dispatch(call.variables, call.strategy, call.attempt + 1)

    def quantum_failed(self, reason: str, classification: str, error: BaseException | None, *,
                       trip: bool = False) -> None:
        """Record a quantum failure (``trip``: open the breaker at once, as a warm-up time-out does)."""
        self.record_failure(reason, classification, error)
        if trip:
            self.breaker.trip(reason)
        else:
            self.breaker.record_failure(reason if error is None else f"{reason}: {_error_text(error)}")
        self.record_transition()

    def record_failure(self, reason: str, classification: str, error: BaseException | None) -> None:
        """One failure in ``fallback_chain`` (the first ``MAX_CHAIN_FAILURES``; the rest counted)."""
        if sum(1 for e in self.fallback_chain if e.get("outcome") != "retry" and e["tier"] == "quantum"
               and "breaker" not in e) >= MAX_CHAIN_FAILURES:
            self.failures_not_listed += 1
            return
        entry = {"tier": "quantum", "backend": self.qname, "outcome": reason, "classification": classification}
        if error is not None:
            entry["error"] = _error_text(error)
        self.fallback_chain.append(entry)

    def record_transition(self) -> None:
        """Copy the breaker's new transitions into ``fallback_chain``."""
        listed = sum(1 for e in self.fallback_chain if "breaker" in e)
        for t in self.breaker.transitions[listed:]:
            tier, backend = ("classical", f"exact (<= {ENUMERATION_MAX_VARIABLES} variables) or sa") \
                if t["to"] == "open" else ("quantum", self.qname)
            self.fallback_chain.append({"tier": tier, "backend": backend, "breaker": t["to"], "at": t["at"],
                                        "outcome": t["reason"]})

    # -- the answer ---------------------------------------------------------------------
    def sample_set(self) -> dimod.SampleSet:
        """The quantum-branch incumbent, the classical branch's best and (when better than
        both) the best state streamed through ``on_progress``, in the model's vartype, with
        ``branch``/``backend`` vectors and the run's ``info``."""
        bqm, state = self.bqm, self.incumbent
        with self._lock:  # closed: nothing changes these any more
            c_energy, c_spins, reported = self.classical_energy, self.classical_spins, self._reported
        rows = [state.spins.copy()]
        branch, backend = [self.source[0]], [self.source[1]]
        if c_spins is not None:
            rows.append(c_spins)
            branch.append("classical")
            backend.append("sa")
        if reported is not None and reported[0] < min(state.energy, c_energy) - 1e-9 * max(1.0, abs(reported[0])):
            rows.append(reported[1])
            branch.append(reported[2])
            backend.append(reported[3])
        samples = np.vstack(rows)
        if bqm.vartype is dimod.BINARY:
            samples = ((samples + 1) // 2).astype(np.int8)
        ss = dimod.SampleSet.from_samples_bqm((samples, self.variables), bqm, branch=np.array(branch),
                                              backend=np.array(backend))
        hybrid_best = float(state.energy)
        agreement = bool(np.isfinite(c_energy) and abs(hybrid_best - c_energy) <= 1e-9 * max(1.0, abs(c_energy)))
        quantum_improvements = int(self.improvements.get(self.qname, 0))
        not_stopped = [{"backend": call.backend, "call": "subproblem", "seconds": round(call.task.seconds, 3)}
                       for call in [*self.given_up, *self.in_flight.values()] if not call.task.done.is_set()]
        if self.warm_task is not None and not self.warm_task.done.is_set():
            not_stopped.insert(0, {"backend": self.qname, "call": "warm-up", "seconds": round(self.warm_task.seconds, 3)})
        if self.failures_not_listed:
            self.fallback_chain.append({"tier": "quantum", "backend": self.qname,
                                        "outcome": f"{self.failures_not_listed} more failure(s) not listed"})
        ss.info.update({
            "seed": self.seed,
            "hybrid": {
                "quantum_backend": self.qname,
                "subproblems": dict(self.subproblems),
                "improvements": dict(self.improvements),
                "stale": self.stale,
                "rounds": self.rounds,
                "strategies": dict(self.strategy_counts),
                "subproblem_size": self.subproblem_size,
                "incumbents_adopted_from_classical": self.adopted,
                "warm_up": self.warm_up_report,
                "breaker": {"state": self.breaker.state, "failure_threshold": self.breaker.failure_threshold,
                            "cool_down_s": self.breaker.cool_down, "transitions": list(self.breaker.transitions)},
                "fallback": self.fallback,
                "longest_subproblem_wait_s": round(self.longest_wait, 6),
                "subproblem_timeout_s": self.subproblem_timeout,
                "calls_not_stopped": not_stopped,
                "subproblems_dispatched_out": self.remote_subproblems,
            },
            "fallback_chain": self.fallback_chain,
            "quantum_value_added": {
                "quantum_improvements": quantum_improvements,
                "quantum_energy_gain": float(self.gains["quantum"]) if quantum_improvements else 0.0,
                "classical_tier_energy_gain": float(self.gains["classical-tier"]),
                "polish_energy_gain": float(self.gains["polish"]),
                "adopted_energy_gain": float(self.gains["adopted"]),
                "hybrid_best_energy": hybrid_best,
                "classical_branch_best_energy": None if not np.isfinite(c_energy) else float(c_energy),
                "advantage_over_classical_branch": None if not np.isfinite(c_energy)
                else float(c_energy - hybrid_best),
            },
            "branch_agreement": agreement,
            "classical_branch_reads": self.classical_reads,
            "timing": {"sampling_ns": int((time.monotonic() - self.t_start) * 1e9),
                       "warm_up_ns": int(self.warm_up_report.get("seconds", 0.0) * 1e9)},
        })
        return ss


def _descent_sampler():
    """qopt's C++ steepest descent when present, else dwave-samplers' SteepestDescentSolver."""
    try:
        from qopt.samplers.steepest import SteepestDescentSampler

        return SteepestDescentSampler()
    except ImportError:
        from dwave.samplers import SteepestDescentSolver

        return SteepestDescentSolver()


def _polish_descent(descent, bqm, state: IsingState, variables) -> float:
    """Steepest descent from the incumbent; applies the result if it is better. Returns dE (<= 0)."""
    start = state.spins if bqm.vartype is dimod.SPIN else ((state.spins + 1) // 2)
    ss = descent.sample(bqm, initial_states=(start.reshape(1, -1).astype(np.int8), variables))
    best = ss.first
    new = np.array([best.sample[v] for v in variables], dtype=np.int8)
    if bqm.vartype is dimod.BINARY:
        new = (2 * new - 1).astype(np.int8)
    all_vars = np.arange(len(variables))
    delta = state.delta_energy(all_vars, new)
    if delta < 0:
        state.apply(all_vars, new)
        return delta
    return 0.0
