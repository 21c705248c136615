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
   classical tier (exact enumeration, or annealing above 16 variables). Every switch is
   recorded in ``info["fallback_chain"]``, so a classical answer never passes as a quantum one.

Every returned sample records the branch and backend that produced it (``branch`` and
``backend`` vectors of the sample set).
"""
from __future__ import annotations

import collections
import queue
import secrets
import threading
import time

import dimod
import numpy as np

from qopt._validation import ParameterError, check_choice, check_float, check_int
from qopt.errors import BackendUnavailable, classify_error
from qopt.hybrid.decompose import STRATEGIES, IsingState, select_subproblem
from qopt.samplers.sa import SimulatedAnnealingSampler
from qopt.solve.workers import WORKERS, WorkerPool

__all__ = ["HybridSampler", "TransientBackendError", "classify_error"]

EXACT_SUBPROBLEM_MAX = 16


#: The transient backend failure (an alias of :class:`qopt.errors.BackendUnavailable`).
TransientBackendError = BackendUnavailable


class _Call:
    """One subproblem dispatched to a sampler on a worker thread."""

    def __init__(self, key, variables, strategy, sampler, bqm, params, results: queue.Queue, attempt: int,
                 workers: "WorkerPool"):
        self.key = key
        self.variables = variables
        self.strategy = strategy
        self.attempt = attempt
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

    parameters = {
        "quantum_backend": [], "quantum_sampler": [], "quantum_parameters": [], "subproblem_size": [],
        "time_limit": [], "seed": [], "num_workers": [], "subproblem_timeout": [], "max_retries": [],
        "classical_branch": [], "strategies": [], "patience": [], "interrupt": [], "on_progress": [],
    }
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
        time_limit = check_float("time_limit", time_limit, minimum=0.0, strict_minimum=True, maximum=86400.0)
        subproblem_size = check_int("subproblem_size", subproblem_size, minimum=1, maximum=64)
        num_workers = check_int("num_workers", num_workers, minimum=1, maximum=64)
        max_retries = check_int("max_retries", max_retries, minimum=0, maximum=10)
        seed = secrets.randbits(52) if seed is None else check_int("seed", seed, minimum=0, maximum=2**63 - 1)
        if subproblem_timeout is None:
            subproblem_timeout = min(5.0, time_limit / 4.0)
        subproblem_timeout = check_float("subproblem_timeout", subproblem_timeout, minimum=0.0, strict_minimum=True)
        if isinstance(strategies, str):
            strategies = [strategies]
        for s in strategies:
            check_choice("strategies", s, STRATEGIES)
        if quantum_parameters is not None and not isinstance(quantum_parameters, dict):
            raise ParameterError("quantum_parameters", f"must be a mapping, was {quantum_parameters!r}")
        qparams = dict(quantum_parameters or {})
        if quantum_sampler is None:
            from qopt.samplers.registry import get_sampler_class

            check_choice("quantum_backend", quantum_backend, _subproblem_backends())
            quantum_sampler = get_sampler_class(quantum_backend)()
            qname = quantum_backend
        else:
            qname = getattr(quantum_sampler, "backend_name", type(quantum_sampler).__name__)
        if "seed" in getattr(quantum_sampler, "parameters", {}) and "seed" not in qparams:
            qparams["seed"] = seed % (2**31)

        deadline = t_start + time_limit
        margin = min(0.25, max(0.05, 0.03 * time_limit))
        stop_at = deadline - margin
        rng = np.random.default_rng(seed)
        variables = list(bqm.variables)
        n = len(variables)
        if patience is None:
            patience = int(4 * n / subproblem_size) + 20
        else:
            patience = check_int("patience", patience, minimum=1)
        stop_event = threading.Event()

        def stopped() -> bool:
            return stop_event.is_set() or (interrupt is not None and interrupt.is_set())

        sa = SimulatedAnnealingSampler()
        lock = threading.Lock()
        progress_best = [np.inf]

        def report(energy: float, branch: str, backend: str) -> None:
            with lock:
                if energy < progress_best[0] - 1e-12:
                    progress_best[0] = energy
                    if on_progress is not None:
                        on_progress({"event": "best", "energy": float(energy), "branch": branch, "backend": backend})

        # --- classical branch: repeated anneals until the deadline -----------------------
        classical = {"energy": np.inf, "spins": None, "reads": 0}
        spin_bqm = bqm.spin if bqm.vartype is dimod.BINARY else bqm

        def classical_loop():
            k = 0
            while not stopped():
                left = stop_at - time.monotonic()
                if left <= 0.01:
                    break
                # 16 reads cost what one does (one SIMD lane each in the C++ kernel)
                ss = sa.sample(spin_bqm, num_reads=16, num_sweeps=1000, seed=(seed + 1 + k) % 2**52,
                               time_limit=left, interrupt=stop_event)
                k += 1
                e = float(ss.first.energy)
                classical["reads"] += len(ss)
                if e < classical["energy"]:
                    classical["energy"] = e
                    classical["spins"] = np.array([ss.first.sample[v] for v in variables], dtype=np.int8)
                    report(e, "classical", "sa")

        classical_thread = None
        if classical_branch:
            classical_thread = threading.Thread(target=classical_loop, daemon=True, name="qopt-hybrid-classical")
            classical_thread.start()

        # --- initial incumbent: a random state, as in Kerberos ------------------------------
        state = IsingState.from_bqm(bqm, rng.choice(np.array([-1, 1], dtype=np.int8), n))
        report(state.energy, "quantum", "initial")

        subproblems = collections.Counter()
        improvements = collections.Counter()
        strategy_counts = collections.Counter()
        fallback_chain: list[dict] = []
        quantum_gain = 0.0
        classical_tier_gain = 0.0
        polish_gain = 0.0
        use_quantum = True
        results: queue.Queue = queue.Queue()
        workers = WORKERS
        in_flight: dict[int, _Call] = {}
        busy = np.zeros(n, dtype=bool)
        tabu = np.zeros(n)
        next_key = 0
        rounds = 0
        since_gain = 0
        descent = _descent_sampler()

        def classical_tier(k: int):
            if k <= EXACT_SUBPROBLEM_MAX:
                return "exact", dimod.ExactSolver(), {}
            return "sa", sa, {"num_reads": 8, "num_sweeps": 200, "seed": int(rng.integers(2**31))}

        def record_fallback(reason: str, classification: str, error: BaseException | None):
            entry = {"tier": "quantum", "backend": qname, "outcome": reason, "classification": classification}
            if error is not None:
                entry["error"] = f"{type(error).__name__}: {error}"[:300]
            fallback_chain.append(entry)
            fallback_chain.append({"tier": "classical", "backend": f"exact (<= {EXACT_SUBPROBLEM_MAX} variables) "
                                                                   f"or sa", "outcome": "used for later subproblems"})

        def dispatch(vars_, strategy, attempt=0):
            nonlocal next_key
            h_sub, r, c, v = state.subproblem(vars_)
            sub = _sub_bqm(h_sub, r, c, v)
            key = next_key
            next_key += 1
            if use_quantum:
                call = _Call(key, vars_, strategy, quantum_sampler, sub, qparams, results, attempt, workers)
                call.backend = qname
            else:
                name, smp, prm = classical_tier(len(vars_))
                call = _Call(key, vars_, strategy, smp, sub, prm, results, attempt, workers)
                call.backend = name
            in_flight[key] = call
            busy[vars_] = True

        def splice(call, ss):
            nonlocal quantum_gain, classical_tier_gain, since_gain
            vars_ = call.variables
            subproblems[call.backend] += 1
            new_spins = _best_spins(ss, len(vars_))
            delta = state.delta_energy(vars_, new_spins)
            if delta < -1e-9 * max(1.0, abs(state.energy)):
                state.apply(vars_, new_spins)
                improvements[call.backend] += 1
                if call.backend == qname and use_quantum_at_dispatch.get(call.key, True):
                    quantum_gain += delta
                else:
                    classical_tier_gain += delta
                since_gain = 0
                report(state.energy, "quantum", call.backend)
            else:
                since_gain += 1
                tabu[vars_] += 0.5 * (np.abs(state.fields[vars_]).mean() + 1e-12)

        use_quantum_at_dispatch: dict[int, bool] = {}
        strategies = list(strategies)
        adopted = 0
        adopt_after = max(1, n // subproblem_size)
        while not stopped() and time.monotonic() < stop_at and since_gain < patience:
            # Shared incumbent (as in Kerberos), but only once the quantum branch has stalled for
            # a full pass over the variables: until then it improves its own trajectory.
            c_spins = classical["spins"]
            if (c_spins is not None and since_gain >= adopt_after
                    and classical["energy"] < state.energy - 1e-9 * max(1.0, abs(state.energy))):
                state.spins = c_spins.copy()
                state.recompute()
                adopted += 1
                since_gain = 0
            # keep num_workers disjoint subproblems in flight
            while len(in_flight) < num_workers and time.monotonic() < stop_at:
                strategy = strategies[rounds % len(strategies)]
                vars_ = select_subproblem(state, min(subproblem_size, n), strategy, rng, exclude=busy, tabu=tabu)
                if vars_.size == 0:
                    break
                rounds += 1
                strategy_counts[strategy] += 1
                use_quantum_at_dispatch[next_key] = use_quantum
                dispatch(vars_, strategy)
            if not in_flight:
                break
            wait = max(0.0, min(0.05, stop_at - time.monotonic()))
            try:
                key, ss, err = results.get(timeout=wait)
            except queue.Empty:
                now = time.monotonic()
                for key, call in list(in_flight.items()):
                    if now - call.started > subproblem_timeout:
                        del in_flight[key]
                        busy[call.variables] = False
                        if use_quantum and call.backend == qname:
                            use_quantum = False
                            record_fallback(f"no answer within subproblem_timeout={subproblem_timeout:g} s",
                                            "transient", None)
                continue
            call = in_flight.pop(key, None)
            if call is None:  # a call we already gave up on
                continue
            busy[call.variables] = False
            if err is not None:
                kind = classify_error(err)
                if kind == "transient" and call.attempt < max_retries and use_quantum:
                    time.sleep(min(0.05 * 2 ** call.attempt, max(0.0, stop_at - time.monotonic())))
                    use_quantum_at_dispatch[next_key] = use_quantum
                    dispatch(call.variables, call.strategy, call.attempt + 1)
                    fallback_chain.append({"tier": "quantum", "backend": qname, "outcome": "retry",
                                           "classification": kind, "error": f"{type(err).__name__}: {err}"[:300]})
                    continue
                if call.backend == qname and use_quantum:
                    use_quantum = False
                    record_fallback("failed", kind, err)
                elif call.backend != qname:
                    raise err
                continue
            splice(call, ss)
            if improvements.total() and improvements.total() % 10 == 0 and descent is not None:
                polish_gain += _polish_descent(descent, bqm, state, variables)

        # --- final polish: descent on the incumbent ----------------------------------------
        if descent is not None and time.monotonic() < stop_at:
            polish_gain += _polish_descent(descent, bqm, state, variables)
            report(state.energy, "quantum", "polish")
        stop_event.set()
        if classical_thread is not None:
            classical_thread.join(timeout=max(0.0, deadline - time.monotonic() - 0.02))

        # --- assemble ------------------------------------------------------------------------
        rows = [state.spins.copy()]
        branch = ["quantum"]
        backend = [qname if quantum_gain < 0 else ("classical-tier" if classical_tier_gain < 0 else "initial+polish")]
        energies = [state.energy]
        c_energy = classical["energy"]
        if classical["spins"] is not None:
            rows.append(classical["spins"])
            branch.append("classical")
            backend.append("sa")
            energies.append(c_energy)
        samples = np.vstack(rows)
        if bqm.vartype is dimod.BINARY:
            samples = ((samples + 1) // 2).astype(np.int8)
        ss = dimod.SampleSet.from_samples_bqm((samples, variables), bqm, branch=np.array(branch),
                                              backend=np.array(backend))
        hybrid_best = float(state.energy)
        agreement = bool(np.isfinite(c_energy) and abs(hybrid_best - c_energy) <= 1e-9 * max(1.0, abs(c_energy)))
        ss.info.update({
            "seed": seed,
            "hybrid": {
                "quantum_backend": qname,
                "subproblems": dict(subproblems),
                "improvements": dict(improvements),
                "rounds": rounds,
                "strategies": dict(strategy_counts),
                "subproblem_size": subproblem_size,
                "incumbents_adopted_from_classical": adopted,
            },
            "fallback_chain": fallback_chain,
            "quantum_value_added": {
                "quantum_subproblem_energy_gain": float(quantum_gain),
                "classical_tier_energy_gain": float(classical_tier_gain),
                "polish_energy_gain": float(polish_gain),
                "hybrid_best_energy": hybrid_best,
                "classical_branch_best_energy": None if not np.isfinite(c_energy) else float(c_energy),
                "advantage_over_classical_branch": None if not np.isfinite(c_energy)
                else float(c_energy - hybrid_best),
            },
            "branch_agreement": agreement,
            "classical_branch_reads": classical["reads"],
            "timing": {"sampling_ns": int((time.monotonic() - t_start) * 1e9)},
        })
        return ss


def _subproblem_backends() -> tuple[str, ...]:
    from qopt.samplers.registry import BACKENDS

    return tuple(name for name in BACKENDS if name != "hybrid")


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
