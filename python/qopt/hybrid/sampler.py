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
4. Fallback tiers for subproblems: a transient backend error (connection, timeout) is
   retried with backoff; a structural one (refusal, bad model), a hang past
   ``subproblem_timeout`` or exhausted retries sends the remaining subproblems to the
   classical tier (exact enumeration up to ``ENUMERATION_MAX_VARIABLES`` variables,
   annealing above). Every switch is recorded in ``info["fallback_chain"]``, so a
   classical answer never passes as a quantum one.

:meth:`HybridSampler.sample` checks its arguments; the run loop is :class:`_HybridRun`,
one object per call holding the incumbent, the subproblems in flight and the fallback
state, with one method per step.

Every returned sample records the branch and backend that produced it (``branch`` and
``backend`` vectors of the sample set).
"""
from __future__ import annotations

import collections
import queue
import threading
import time

import dimod
import numpy as np

from qopt.errors import classify_error
from qopt.hybrid.decompose import STRATEGIES, IsingState, select_subproblem
from qopt.samplers.limits import ENUMERATION_MAX_VARIABLES
from qopt.samplers.registry import BACKENDS
from qopt.samplers.sa import SimulatedAnnealingSampler
from qopt.samplers.spec import Param, ParameterSpec, callable_validator, event_validator, has_method_validator
from qopt.solve.workers import WORKERS, WorkerPool

__all__ = ["HybridSampler"]


class _Call:
    """One subproblem dispatched to a sampler on a worker thread."""

    def __init__(self, key, variables, strategy, sampler, bqm, params, results: queue.Queue, attempt: int,
                 workers: "WorkerPool", backend: str):
        self.key = key
        self.variables = variables
        self.strategy = strategy
        self.attempt = attempt
        self.backend = backend  # registry name of the sampler, as counted in info["hybrid"]
        self.started = time.monotonic()
        workers.submit(lambda: self._run(sampler, bqm, params, results))

    def _run(self, sampler, bqm, params, results):
        try:
            ss = sampler.sample(bqm, **params)
            ss.resolve()
            results.put((self.key, ss, None))
        except BaseException as exc:  # noqa: BLE001 - reported to the orchestrator
            results.put((self.key, None, exc))


def _sub_bqm(h, rows, cols, vals) -> dimod.BinaryQuadraticModel:
    return dimod.BinaryQuadraticModel.from_numpy_vectors(h, (rows, cols, vals), 0.0, dimod.SPIN)


def _best_spins(ss: dimod.SampleSet, k: int) -> np.ndarray:
    ss = ss.change_vartype(dimod.SPIN, inplace=False) if ss.vartype is dimod.BINARY else ss
    best = ss.first.sample
    return np.array([best[i] for i in range(k)], dtype=np.int8)


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
                                 "(after Kerberos, dwave-hybrid), with fallback tiers"}

    def sample(self, bqm: dimod.BinaryQuadraticModel, *, quantum_backend: str = "qaoa", quantum_sampler=None,
               quantum_parameters: dict | None = None, subproblem_size: int = 12, time_limit: float = 10.0,
               seed: int | None = None, num_workers: int = 2, subproblem_timeout: float | None = None,
               max_retries: int = 1, classical_branch: bool = True, strategies=STRATEGIES,
               patience: int | None = None, interrupt=None, on_progress=None) -> dimod.SampleSet:
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
                ``min(5, time_limit / 4)``).
            max_retries: retries of a subproblem after a transient error (default 1), with
                exponential backoff from 50 ms.
            classical_branch: race simulated annealing alongside (default True).
            strategies: subproblem selections to rotate through (``"energy"``, ``"random_walk"``,
                ``"component"``).
            patience: stop after this many consecutive subproblems without improvement
                (default: ``4 * n / subproblem_size + 20``); None uses the default. After
                ``n / subproblem_size`` such subproblems (one pass) the quantum branch adopts the
                classical branch's incumbent when that is better.
            interrupt: optional :class:`threading.Event`; stops the loop when set.
            on_progress: optional callable receiving ``{"event": "best", "energy", "branch",
                "backend"}`` each time either branch improves its best.

        Returns:
            dimod.SampleSet: the quantum-branch incumbent and the classical branch's best, with
            ``branch`` and ``backend`` vectors; ``info`` holds ``hybrid`` (``subproblems`` and
            ``improvements``: backend -> count, rounds, strategies), ``fallback_chain``,
            ``quantum_value_added``, ``branch_agreement`` and ``timing`` (ns).

        Raises:
            ParameterError: a parameter out of range (named).
            UnknownBackendError: ``quantum_backend`` is not a registered backend.
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
        run = _HybridRun(bqm, quantum_sampler, qname, qparams, t_start=t_start, time_limit=time_limit,
                         subproblem_size=subproblem_size, seed=seed, num_workers=num_workers,
                         subproblem_timeout=subproblem_timeout, max_retries=max_retries,
                         classical_branch=classical_branch, strategies=list(strategies), patience=patience,
                         interrupt=interrupt, on_progress=on_progress)
        return run.run()


class _HybridRun:
    """One call of :meth:`HybridSampler.sample`: the incumbent, the subproblems in flight,
    the fallback state and the classical branch, with one method per step.

    The caller has checked every argument; :meth:`run` does the work and returns the
    sample set. Two threads touch the run: the classical branch (:meth:`classical_branch`)
    writes ``classical_energy``, ``classical_spins`` and ``classical_reads``; everything
    else belongs to the thread that called :meth:`run`. Subproblem calls run on the
    shared worker pool and report through ``results``.
    """

    def __init__(self, bqm: dimod.BinaryQuadraticModel, quantum_sampler, qname: str, qparams: dict, *,
                 t_start: float, time_limit: float, subproblem_size: int, seed: int, num_workers: int,
                 subproblem_timeout: float, max_retries: int, classical_branch: bool, strategies: list[str],
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
        if "interrupt" in getattr(quantum_sampler, "parameters", {}):  # in-flight subproblems stop with the run
            self.qparams = {**qparams, "interrupt": self.stop_event}
        self.sa = SimulatedAnnealingSampler()
        self.descent = None
        self.state: IsingState | None = None  # the quantum branch's incumbent

        # progress events: the best energy either branch has reported
        self._lock = threading.Lock()
        self._progress_best = np.inf

        # classical branch (written by its thread)
        self.spin_bqm = bqm.spin if bqm.vartype is dimod.BINARY else bqm
        self.classical_energy = np.inf
        self.classical_spins: np.ndarray | None = None
        self.classical_reads = 0
        self._classical_thread: threading.Thread | None = None

        # quantum branch: counters reported in info["hybrid"] and info["quantum_value_added"]
        self.subproblems: collections.Counter = collections.Counter()
        self.improvements: collections.Counter = collections.Counter()
        self.strategy_counts: collections.Counter = collections.Counter()
        self.quantum_gain = 0.0
        self.classical_tier_gain = 0.0
        self.polish_gain = 0.0
        self.rounds = 0
        self.since_gain = 0
        self.adopted = 0
        self.adopt_after = max(1, self.n // subproblem_size)

        # subproblems in flight and the fallback state
        self.results: queue.Queue = queue.Queue()
        self.workers = WORKERS
        self.in_flight: dict[int, _Call] = {}
        self.busy = np.zeros(self.n, dtype=bool)
        self.tabu = np.zeros(self.n)
        self.next_key = 0
        self.use_quantum = True  # False once the quantum backend failed: the classical tier takes over
        self.use_quantum_at_dispatch: dict[int, bool] = {}
        self.fallback_chain: list[dict] = []

    @property
    def incumbent(self) -> IsingState:
        """The quantum branch's incumbent (``self.state``), which :meth:`run` sets before any step reads it."""
        assert self.state is not None, "run() sets the incumbent before the quantum branch starts"
        return self.state

    # -- the run ------------------------------------------------------------------------
    def run(self) -> dimod.SampleSet:
        """Race both branches until the deadline and return the sample set (see
        :meth:`HybridSampler.sample` for its rows and ``info``)."""
        if self.with_classical_branch:
            self._classical_thread = threading.Thread(target=self.classical_branch, daemon=True,
                                                      name="qopt-hybrid-classical")
            self._classical_thread.start()
        # initial incumbent: a random state, as in Kerberos
        self.state = IsingState.from_bqm(self.bqm, self.rng.choice(np.array([-1, 1], dtype=np.int8), self.n))
        self.report(self.state.energy, "quantum", "initial")
        self.descent = _descent_sampler()
        self.quantum_branch()
        # final polish: descent on the incumbent
        if self.descent is not None and time.monotonic() < self.stop_at:
            self.polish_gain += _polish_descent(self.descent, self.bqm, self.state, self.variables)
            self.report(self.state.energy, "quantum", "polish")
        self.stop_event.set()
        if self._classical_thread is not None:
            self._classical_thread.join(timeout=max(0.0, self.deadline - time.monotonic() - 0.02))
        return self.sample_set()

    def stopped(self) -> bool:
        """Whether the run was told to stop (its own stop event or the caller's ``interrupt``)."""
        return self.stop_event.is_set() or (self.interrupt is not None and self.interrupt.is_set())

    def report(self, energy: float, branch: str, backend: str) -> None:
        """Send a ``best`` progress event when ``energy`` beats every energy reported so far."""
        with self._lock:
            if energy < self._progress_best - 1e-12:
                self._progress_best = energy
                if self.on_progress is not None:
                    self.on_progress({"event": "best", "energy": float(energy), "branch": branch,
                                      "backend": backend})

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
                                time_limit=left, interrupt=self.stop_event)
            k += 1
            e = float(ss.first.energy)
            self.classical_reads += len(ss)
            if e < self.classical_energy:
                self.classical_energy = e
                self.classical_spins = np.array([ss.first.sample[v] for v in self.variables], dtype=np.int8)
                self.report(e, "classical", "sa")

    # -- quantum branch: subproblems spliced into the incumbent -------------------------
    def quantum_branch(self) -> None:
        """Dispatch subproblems and splice their answers in until the deadline, the
        caller's interrupt or ``patience`` subproblems without gain."""
        while not self.stopped() and time.monotonic() < self.stop_at and self.since_gain < self.patience:
            self.adopt_classical_incumbent()
            self.fill()
            if not self.in_flight:
                break
            wait = max(0.0, min(0.05, self.stop_at - time.monotonic()))
            try:
                key, ss, err = self.results.get(timeout=wait)
            except queue.Empty:
                self.expire_hung_calls()
                continue
            call = self.in_flight.pop(key, None)
            if call is None:  # a call we already gave up on
                continue
            self.busy[call.variables] = False
            if err is not None:
                self.handle_error(call, err)
                continue
            self.splice(call, ss)
            if self.improvements.total() and self.improvements.total() % 10 == 0 and self.descent is not None:
                self.polish_gain += _polish_descent(self.descent, self.bqm, self.incumbent, self.variables)

    def adopt_classical_incumbent(self) -> None:
        """Shared incumbent (as in Kerberos), but only once the quantum branch has stalled
        for a full pass over the variables: until then it improves its own trajectory."""
        state = self.incumbent
        c_spins = self.classical_spins
        if (c_spins is not None and self.since_gain >= self.adopt_after
                and self.classical_energy < state.energy - 1e-9 * max(1.0, abs(state.energy))):
            state.spins = c_spins.copy()
            state.recompute()
            self.adopted += 1
            self.since_gain = 0

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
        quantum backend, or to the classical tier once the quantum backend has failed."""
        h_sub, r, c, v = self.incumbent.subproblem(vars_)
        sub = _sub_bqm(h_sub, r, c, v)
        key = self.next_key
        self.next_key += 1
        self.use_quantum_at_dispatch[key] = self.use_quantum
        if self.use_quantum:
            call = _Call(key, vars_, strategy, self.quantum_sampler, sub, self.qparams, self.results, attempt,
                         self.workers, self.qname)
        else:
            name, smp, prm = self.classical_tier(len(vars_))
            call = _Call(key, vars_, strategy, smp, sub, prm, self.results, attempt, self.workers, name)
        self.in_flight[key] = call
        self.busy[vars_] = True

    def classical_tier(self, k: int) -> tuple[str, dimod.Sampler, dict]:
        """(backend name, sampler, parameters) of the classical tier for ``k`` variables:
        exact enumeration up to ``ENUMERATION_MAX_VARIABLES``, a short anneal above."""
        if k <= ENUMERATION_MAX_VARIABLES:
            return "exact", dimod.ExactSolver(), {}
        return "sa", self.sa, {"num_reads": 8, "num_sweeps": 200, "seed": int(self.rng.integers(2**31))}

    def splice(self, call: _Call, ss: dimod.SampleSet) -> None:
        """Apply the subproblem's best sample when it lowers the incumbent's energy; else
        count a subproblem without gain and make its variables less likely next time."""
        state = self.incumbent
        vars_ = call.variables
        self.subproblems[call.backend] += 1
        new_spins = _best_spins(ss, len(vars_))
        delta = state.delta_energy(vars_, new_spins)
        if delta < -1e-9 * max(1.0, abs(state.energy)):
            state.apply(vars_, new_spins)
            self.improvements[call.backend] += 1
            if call.backend == self.qname and self.use_quantum_at_dispatch.get(call.key, True):
                self.quantum_gain += delta
            else:
                self.classical_tier_gain += delta
            self.since_gain = 0
            self.report(state.energy, "quantum", call.backend)
        else:
            self.since_gain += 1
            self.tabu[vars_] += 0.5 * (np.abs(state.fields[vars_]).mean() + 1e-12)

    # -- fallback tiers -----------------------------------------------------------------
    def expire_hung_calls(self) -> None:
        """Give up on calls older than ``subproblem_timeout``; a hung quantum call sends
        later subproblems to the classical tier."""
        now = time.monotonic()
        for key, call in list(self.in_flight.items()):
            if now - call.started > self.subproblem_timeout:
                del self.in_flight[key]
                self.busy[call.variables] = False
                if self.use_quantum and call.backend == self.qname:
                    self.use_quantum = False
                    self.record_fallback(f"no answer within subproblem_timeout={self.subproblem_timeout:g} s",
                                         "transient", None)

    def handle_error(self, call: _Call, err: BaseException) -> None:
        """Retry a transient quantum failure with backoff while retries are left; else fall
        back to the classical tier. A failure of the classical tier itself is raised."""
        kind = classify_error(err)
        if kind == "transient" and call.attempt < self.max_retries and self.use_quantum:
            time.sleep(min(0.05 * 2 ** call.attempt, max(0.0, self.stop_at - time.monotonic())))
            self.dispatch(call.variables, call.strategy, call.attempt + 1)
            self.fallback_chain.append({"tier": "quantum", "backend": self.qname, "outcome": "retry",
                                        "classification": kind, "error": f"{type(err).__name__}: {err}"[:300]})
            return
        if call.backend == self.qname and self.use_quantum:
            self.use_quantum = False
            self.record_fallback("failed", kind, err)
        elif call.backend != self.qname:
            raise err

    def record_fallback(self, reason: str, classification: str, error: BaseException | None) -> None:
        """Record in ``fallback_chain`` that the quantum tier failed and the classical one took over."""
        entry = {"tier": "quantum", "backend": self.qname, "outcome": reason, "classification": classification}
        if error is not None:
            entry["error"] = f"{type(error).__name__}: {error}"[:300]
        self.fallback_chain.append(entry)
        self.fallback_chain.append({"tier": "classical",
                                    "backend": f"exact (<= {ENUMERATION_MAX_VARIABLES} variables) or sa",
                                    "outcome": "used for later subproblems"})

    # -- the answer ---------------------------------------------------------------------
    def sample_set(self) -> dimod.SampleSet:
        """The quantum-branch incumbent and the classical branch's best, in the model's
        vartype, with ``branch``/``backend`` vectors and the run's ``info``."""
        bqm, state = self.bqm, self.incumbent
        rows = [state.spins.copy()]
        branch = ["quantum"]
        backend = [self.qname if self.quantum_gain < 0
                   else ("classical-tier" if self.classical_tier_gain < 0 else "initial+polish")]
        c_energy = self.classical_energy
        if self.classical_spins is not None:
            rows.append(self.classical_spins)
            branch.append("classical")
            backend.append("sa")
        samples = np.vstack(rows)
        if bqm.vartype is dimod.BINARY:
            samples = ((samples + 1) // 2).astype(np.int8)
        ss = dimod.SampleSet.from_samples_bqm((samples, self.variables), bqm, branch=np.array(branch),
                                              backend=np.array(backend))
        hybrid_best = float(state.energy)
        agreement = bool(np.isfinite(c_energy) and abs(hybrid_best - c_energy) <= 1e-9 * max(1.0, abs(c_energy)))
        ss.info.update({
            "seed": self.seed,
            "hybrid": {
                "quantum_backend": self.qname,
                "subproblems": dict(self.subproblems),
                "improvements": dict(self.improvements),
                "rounds": self.rounds,
                "strategies": dict(self.strategy_counts),
                "subproblem_size": self.subproblem_size,
                "incumbents_adopted_from_classical": self.adopted,
            },
            "fallback_chain": self.fallback_chain,
            "quantum_value_added": {
                "quantum_subproblem_energy_gain": float(self.quantum_gain),
                "classical_tier_energy_gain": float(self.classical_tier_gain),
                "polish_energy_gain": float(self.polish_gain),
                "hybrid_best_energy": hybrid_best,
                "classical_branch_best_energy": None if not np.isfinite(c_energy) else float(c_energy),
                "advantage_over_classical_branch": None if not np.isfinite(c_energy)
                else float(c_energy - hybrid_best),
            },
            "branch_agreement": agreement,
            "classical_branch_reads": self.classical_reads,
            "timing": {"sampling_ns": int((time.monotonic() - self.t_start) * 1e9)},
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
