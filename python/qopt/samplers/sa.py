"""Simulated annealing on the qopt C++ core, as a :class:`dimod.Sampler`.

Method: Kirkpatrick, Gelatt & Vecchi, "Optimization by simulated annealing",
Science 220(4598), 1983: single-spin-flip Metropolis sweeps over a beta (inverse
temperature) schedule, with incremental local fields.

The kernel (``cpp/src/anneal.cpp``) anneals 16 reads at once, one SIMD lane per
read, with float32 local fields, per-read xoshiro128+ streams and an exp-free
acceptance test; on this project's 2-core benchmark machine it makes about 10x the
spin-flip attempts per second of dwave-samplers 1.8 at equal sweeps (see
``benchmarks/README.md``). Energies are recomputed exactly in double precision.

Anytime use: given only a ``time_limit`` the sampler calibrates its sweep cost on the model
and plans reads (one 16-read SIMD lane group per core), sweeps and restart rounds seeded
from an elite pool to fill the limit, reporting the incumbent through ``on_progress``; the
plan is returned in ``info["plan"]`` and, passed back, reproduces the run
(``benchmarks/FRONTIER.md`` compares it with other heuristics at equal wall time).
"""
from __future__ import annotations

import math
import os
import time
import warnings
from typing import Literal

import dimod
import numpy as np
import scipy.sparse

from qopt import _core
from qopt.errors import ParameterError
from qopt.samplers.spec import Param, ParameterSpec, callable_validator, event_validator

__all__ = ["SimulatedAnnealingSampler", "ising_csr", "default_beta_range", "states_in_vartype", "INITIAL_STATES_GENERATORS",
           "InitialStatesGenerator", "ACCEPTANCE_CRITERIA", "available_cores", "PLAN_SHARE", "CALIBRATION_SWEEPS",
           "CALIBRATION_SHARE", "PLAN_FIRST_SHARE", "PLAN_RESTARTS", "PLAN_MAX_EXTRA_RESTARTS", "PLAN_CYCLE_SECONDS", "PLAN_MAX_EXTRA_CYCLES", "PLAN_MIN_SWEEPS", "PLAN_MAX_SWEEPS", "RESTART_BETA_POSITIONS",
           "RESTART_FLIP_FRACTION", "RESTART_CROSSOVER_SHARE", "ELITE_SHARE", "restart_states"]

#: How :class:`dimod.Initialized` fills missing initial states.
#: dimod.Initialized's ways to fill missing initial states.
InitialStatesGenerator = Literal["none", "tile", "random"]
INITIAL_STATES_GENERATORS: tuple[InitialStatesGenerator, ...] = ("none", "tile", "random")

#: The proposal acceptance criteria the kernel implements (dwave-samplers also has "Gibbs").
ACCEPTANCE_CRITERIA: tuple[str, ...] = ("Metropolis",)

# The anytime plan (a time_limit and no num_reads / num_sweeps / restarts given): see
# SimulatedAnnealingSampler.sample. Each constant is used there only.
#: sweeps of the calibration anneal (one SIMD lane group on one thread; its states are discarded).
CALIBRATION_SWEEPS = 256
#: most of the time limit the calibration may take (it stops at its sweep boundary then).
CALIBRATION_SHARE = 0.05
#: share of the time left after calibration that the planned sweeps fill (the rest is margin
#: for load, polish and set-up; the time limit itself stops the run if the plan overruns).
PLAN_SHARE = 0.9
#: share of the planned sweeps given to the first (fresh) anneal; restarts share the rest.
PLAN_FIRST_SHARE = 0.4
#: restart rounds after the first anneal, when each gets at least PLAN_MIN_SWEEPS sweeps. 8 shorter
#: rounds with crossover seeding beat 4 longer ones on G55 at equal sweeps (benchmarks/FRONTIER.md).
PLAN_RESTARTS = 8
#: most restart rounds a planned run adds after its PLAN_RESTARTS while a round (at the rate
#: measured on the rounds done) still fits in the time left: the load changes during a run, and
#: a plan sized at a busy moment otherwise ended with up to a third of its deadline unused.
PLAN_MAX_EXTRA_RESTARTS = 16
#: seconds of time_limit per independent cycle of a planned run (first anneal + restarts, its own
#: elite pool): a 60 s limit gives 4 cycles (the time left after calibration, floor-divided). One
#: long plan of 60 s did no better than one of 10 s on G14 and G55 (benchmarks/FRONTIER.md); G14's
#: rate of reaching 3064 per second was the same with 2, 5 and 10 s cycles, while G55 gains from
#: longer ones (more crossover generations from one elite pool).
PLAN_CYCLE_SECONDS = 12.0
#: most cycles a planned run adds after its planned ones while one (at the mean time of the cycles
#: done) still fits in the time left: cycles sized from a calibration at a busy moment otherwise
#: ended with up to a third of a 60 s limit unused when the load fell (benchmarks/FRONTIER.md).
PLAN_MAX_EXTRA_CYCLES = 8
#: fewest sweeps of a planned anneal or restart.
PLAN_MIN_SWEEPS = 100
#: most sweeps of a planned run (its beta schedule is an array of that length): a tiny model
#: with a long deadline finishes early rather than holding a huge schedule.
PLAN_MAX_SWEEPS = 1_000_000
#: where on the (log) beta range a restart's anneal starts: 0 the hot end, 1 the cold end.
#: Cycle c's restarts use entry c mod len: the best start is the model's own (at equal sweeps G14
#: reached 3064 in 9 of 10 seeds from 0.8, 4 of 10 from 0.65, 1-2 of 10 from 0.5 or 0.9; G55 did
#: better from 0.65 than from 0.8, and worse with rounds alternating), so cycles alternate.
RESTART_BETA_POSITIONS: tuple[float, ...] = (0.65, 0.8)
#: share of the spins flipped at random when an elite state seeds a restart.
RESTART_FLIP_FRACTION = 0.05
#: share of a restart round's reads seeded by a crossover of two elite states (the rest: one elite
#: state with RESTART_FLIP_FRACTION of its spins flipped).
#: On G55 at equal sweeps (32 reads, 30000 + 8 x 6000) it reached 10294 in 5 of 5 seeds against 1 of 5
#: without (benchmarks/FRONTIER.md).
RESTART_CROSSOVER_SHARE = 0.5
#: share of the reads' count kept as the elite pool that seeds restarts (at least 1 state).
ELITE_SHARE = 0.25


def available_cores() -> int:
    """CPU cores this process may run on (its affinity mask where the OS has one)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not Linux
        return max(1, os.cpu_count() or 1)


def ising_csr(bqm: dimod.BinaryQuadraticModel):
    """Symmetric CSR arrays of ``bqm`` in Ising (SPIN) form.

    Args:
        bqm: any binary quadratic model; BINARY models are converted to SPIN.

    Returns:
        ``(h, row_ptr, col, J, offset)``: ``h`` float64 (n,), ``row_ptr`` int32 (n+1,),
        ``col`` int32 (2m,), ``J`` float64 (2m,), ``offset`` float, with variables in
        ``bqm.variables`` order. Each coupling appears in both rows.
    """
    n = bqm.num_variables
    lin, (irow, icol, q), offset = bqm.to_numpy_vectors(  # type: ignore[misc]  # dimod types it as a 3- or 4-tuple
        bqm.variables, sort_indices=False)
    lin = np.asarray(lin, dtype=np.float64)
    q = np.asarray(q, dtype=np.float64)
    irow = np.asarray(irow, dtype=np.int64)
    icol = np.asarray(icol, dtype=np.int64)
    offset = float(offset)
    if bqm.vartype is dimod.BINARY:
        # x = (s + 1) / 2:  a x_i = a/2 s_i + a/2;  b x_i x_j = b/4 (s_i s_j + s_i + s_j + 1)
        h = 0.5 * lin + np.bincount(irow, q, minlength=n)[:n] * 0.25 + np.bincount(icol, q, minlength=n)[:n] * 0.25
        offset += 0.5 * float(lin.sum()) + 0.25 * float(q.sum())
        q = 0.25 * q
    else:
        h = lin.copy()
    h = np.ascontiguousarray(h, dtype=np.float64)
    # symmetric CSR by an O(nnz) counting sort (scipy's coo -> csr)
    mat = scipy.sparse.csr_matrix(
        (np.concatenate([q, q]), (np.concatenate([irow, icol]), np.concatenate([icol, irow]))), shape=(n, n))
    row_ptr = np.ascontiguousarray(mat.indptr, dtype=np.int32)
    col = np.ascontiguousarray(mat.indices, dtype=np.int32)
    J = np.ascontiguousarray(mat.data, dtype=np.float64)
    return h, row_ptr, col, J, offset


def states_in_vartype(states: np.ndarray, vartype, *, sigint: bool, method: str) -> np.ndarray:
    """A kernel's int8 spin states (values +-1) in ``vartype`` (BINARY: 0/1), with the
    RuntimeWarning a run interrupted by Ctrl-C (``sigint``) gets; ``method`` names the run."""
    if sigint:
        warnings.warn(f"{method} interrupted (SIGINT): returning the states reached", RuntimeWarning, stacklevel=3)
    if vartype is dimod.BINARY:
        return ((states + 1) // 2).astype(np.int8)
    return states


def default_beta_range(h: np.ndarray, row_ptr: np.ndarray, J: np.ndarray) -> tuple[float, float]:
    """Default (hot, cold) beta range (1/energy units) for an Ising model in CSR form.

    The rule of dwave-samplers' ``_default_ising_beta_range`` (with its defaults
    ``max_single_qubit_excitation_rate=0.01``, ``scale_T_with_N=True``):

    * hot: a flip against the largest possible local field, max_i (|h_i| + sum_j |J_ij|),
      is accepted with probability 1/2: ``ln 2 / (2 max_field)``;
    * cold: with min_i the smallest non-zero |bias| (h_i or J_ij) touching variable i,
      m = min_i min_i and c = #{i : min_i = m}, ``ln(c / 0.01) / (2 m)``.

    Args:
        h: float64 (n,); row_ptr: int32 (n + 1,); J: float64 (nnz,), symmetric CSR as
            returned by :func:`ising_csr`.

    Returns:
        ``(hot, cold)``; ``(0.1, 1.0)`` when every bias is zero.
    """
    n = h.shape[0]
    absJ = np.abs(J)
    csum = np.concatenate([[0.0], np.cumsum(absJ)])
    row_sum = csum[row_ptr[1:]] - csum[row_ptr[:-1]]
    absh = np.abs(h)
    max_field = float(np.max(absh + row_sum)) if n else 0.0
    row_min = np.where(absh > 0, absh, np.inf)
    starts = np.asarray(row_ptr[:-1])
    nonempty = starts < np.asarray(row_ptr[1:])
    if absJ.size and nonempty.any():
        vals = np.where(absJ > 0, absJ, np.inf)
        row_min[nonempty] = np.minimum(row_min[nonempty], np.minimum.reduceat(vals, starts[nonempty]))
    finite = np.isfinite(row_min)
    if not finite.any():
        return 0.1, 1.0
    hot = math.log(2.0) / (2.0 * max_field) if max_field > 0 else 1.0
    m = float(row_min[finite].min())
    count = int(np.count_nonzero(row_min == m))
    cold = math.log(count / 0.01) / (2.0 * m)
    return hot, cold


class SimulatedAnnealingSampler(dimod.Sampler, dimod.Initialized):
    """Simulated annealing sampler on the qopt C++ core.

    Examples:
        >>> import dimod, qopt
        >>> bqm = dimod.generators.ran_r(1, 20, seed=1)
        >>> ss = qopt.SimulatedAnnealingSampler().sample(bqm, num_reads=10, seed=5)
        >>> bool(np.allclose(ss.record.energy, bqm.energies(ss)))
        True
    """

    #: The backend's parameters (any size of model).
    parameter_spec = ParameterSpec([
        Param("num_reads", "int", None, minimum=1,
              doc="independent anneals (None: 1 here, or the number of initial states; qopt.solve and the "
                  "service choose 64, fewer (at least 16) when 64 would exceed 1 s or half the deadline by "
                  "qopt.solve.parameters.sa_defaults, reported in provenance['defaults'])"),
        Param("num_sweeps", "int", None, minimum=0,
              doc="sweeps of n flip attempts per read (None: 1000, or len(beta_schedule); qopt.solve cuts the "
                  "1000 (to at least 100) only when even 16 reads would exceed that time)"),
        Param("beta_range", "pair", None, minimum=0.0, unit="1/energy",
              doc="(hot, cold) inverse temperatures (None: from the biases)"),
        Param("beta_schedule_type", "str", "geometric", choices=("linear", "geometric", "custom"),
              properties=("beta_schedule_options",), doc="interpolation over beta_range, or custom"),
        Param("beta_schedule", "array", None, minimum=0.0, unit="1/energy",
              doc="one beta per num_sweeps_per_beta sweeps; only with beta_schedule_type='custom'"),
        Param("num_sweeps_per_beta", "int", 1, minimum=1, doc="sweeps at each beta (dwave-samplers' meaning)"),
        Param("randomize_order", "bool", False,
              doc="only False: the kernel updates variables in index order once per sweep"),
        Param("proposal_acceptance_criteria", "str", "Metropolis", choices=ACCEPTANCE_CRITERIA,
              doc="only 'Metropolis' (the kernel's acceptance test); 'Gibbs' is refused"),
        Param("interrupt_function", "object", None, wire=False, validator=callable_validator("interrupt_function"),
              doc="a callable of no arguments, polled every 5 ms; True stops the run (dwave-samplers' meaning)"),
        Param("seed", "int", None, minimum=0, maximum=2**64 - 1,
              doc="64-bit seed (None: drawn, reported in info); results do not depend on num_threads"),
        Param("num_threads", "int", None, minimum=1, maximum=1024,
              doc="worker threads (None: the cores available; the GIL is released); results do not depend on it"),
        Param("initial_states", "object", None, doc="samples-like, one state per read, in the BQM's vartype"),
        Param("initial_states_generator", "str", "random", choices=INITIAL_STATES_GENERATORS,
              doc="how missing initial states are filled (dimod.Initialized)"),
        Param("time_limit", "float", None, minimum=0.0, exclusive_minimum=True, maximum=1e9, unit="s",
              doc="wall-clock limit; reads stop at the next sweep boundary (None: no limit). Alone (no "
                  "num_reads, num_sweeps, num_restarts, restart_sweeps): the sampler plans the run to fill it"),
        Param("polish", "bool", None,
              doc="finish every read by steepest descent (1-flip local minima); None: True in a planned run, "
                  "else False"),
        Param("num_restarts", "int", None, minimum=0,
              doc="restart rounds after the first anneal, each re-annealing perturbed elite states from a lower "
                  "temperature (None: 0, or planned with time_limit)"),
        Param("restart_sweeps", "int", None, minimum=1,
              doc="sweeps of each restart round (None: num_sweeps // 4, or planned with time_limit)"),
        Param("num_cycles", "int", None, minimum=1,
              doc="independent cycles, each a first anneal and its restart rounds from its own elite pool "
                  "(None: 1, or planned with time_limit: one per PLAN_CYCLE_SECONDS)"),
        Param("interrupt", "object", None, wire=False, validator=event_validator("interrupt"),
              doc="an object with is_set() (threading.Event), polled every 5 ms"),
        Param("on_progress", "object", None, wire=False, validator=callable_validator("on_progress"),
              doc="callback receiving a 'best' event each time the best energy improves (checked every 0.25 s)"),
    ])
    parameters = parameter_spec.dimod_parameters()
    properties = {
        "beta_schedule_options": ("linear", "geometric", "custom"),
        "description": "Metropolis single-spin-flip simulated annealing (Kirkpatrick et al. 1983), qopt C++ core",
    }

    def sample(self, bqm: dimod.BinaryQuadraticModel, *, num_reads: int | None = None, num_sweeps: int | None = None,
               beta_range: tuple[float, float] | None = None, beta_schedule_type: str = "geometric",
               seed: int | None = None, num_threads: int | None = None, initial_states=None,
               initial_states_generator: InitialStatesGenerator = "random", time_limit: float | None = None,
               polish: bool | None = None, num_restarts: int | None = None, restart_sweeps: int | None = None,
               num_cycles: int | None = None, interrupt=None, beta_schedule=None, num_sweeps_per_beta: int = 1,
               randomize_order: bool = False, proposal_acceptance_criteria: str = "Metropolis",
               interrupt_function=None, on_progress=None, **kwargs) -> dimod.SampleSet:
        """Sample from ``bqm`` by simulated annealing.

        Args:
            bqm: the model; SPIN or BINARY.
            num_reads: independent anneals (default 1, or the number of initial states).
            num_sweeps: sweeps per read (default 1000, or len(beta_schedule) *
                num_sweeps_per_beta); one sweep is n flip attempts. Must be a multiple of
                ``num_sweeps_per_beta``.
            beta_range: (hot, cold) inverse temperatures in 1/energy units; default from the
                biases (see :func:`default_beta_range`).
            beta_schedule_type: ``"geometric"`` (default) or ``"linear"`` interpolation
                over ``beta_range``, or ``"custom"`` to give ``beta_schedule``.
            beta_schedule: with ``beta_schedule_type="custom"`` only: 1-D array of betas
                (1/energy, finite, >= 0), each held for ``num_sweeps_per_beta`` sweeps;
                ``num_sweeps`` then defaults to ``len(beta_schedule) * num_sweeps_per_beta``
                and must equal it if given; ``beta_range``, if given, must equal its first
                and last entries.
            num_sweeps_per_beta: sweeps at each beta (default 1), as in dwave-samplers: the
                schedule has ``num_sweeps // num_sweeps_per_beta`` betas, each repeated; a
                one-beta schedule is the cold end of ``beta_range``.
            randomize_order: dwave-samplers' choice of random-order updates. Only False
                (the default: variables updated in index order, once each per sweep) is
                supported; True raises :class:`ParameterError`.
            proposal_acceptance_criteria: ``"Metropolis"`` (the default, the kernel's
                test); dwave-samplers' ``"Gibbs"`` raises :class:`ParameterError`.
            interrupt_function: None or a callable of no arguments, as in dwave-samplers:
                when it returns True the run stops and returns the states reached. It is
                polled every 5 ms while sampling (dwave-samplers calls it between reads):
                running reads stop at the next sweep boundary, reads not yet started are
                dropped, and ``info["interrupted"]`` is True. An exception it raises stops
                the run and is re-raised.
            seed: 64-bit seed; drawn at random when None and reported in ``info["seed"]``.
                The same seed gives the same samples whatever ``num_threads``.
            num_threads: worker threads (default None: the cores available, see
                :func:`available_cores`; reads are spread over them; the GIL is released).
            initial_states: samples-like, one state per read, in the BQM's vartype.
            initial_states_generator: how to fill missing initial states (dimod.Initialized).
            time_limit: seconds of wall clock (default None: no limit). **Given alone** (no
                ``num_reads``, ``num_sweeps``, ``num_restarts``, ``restart_sweeps``,
                ``beta_schedule``, ``initial_states``; ``num_sweeps_per_beta`` 1) the sampler
                plans an anytime run that fills it: a calibration (a call of no sweeps, then
                a short anneal of one SIMD lane group per thread, states discarded) measures
                the seconds per sweep on this model; the run uses one 16-read lane group (8 on the dense kernel) per
                thread, 40% of the planned sweeps in a first anneal and the rest in 8 restart
                rounds re-sized from the first anneal's measured rate, then up to 16 more rounds
                of that size while one still fits (the load may have fallen), with ``polish``
                on; a limit of at least 2 x :data:`PLAN_CYCLE_SECONDS` is split into independent
                cycles, and up to :data:`PLAN_MAX_EXTRA_CYCLES` more cycles follow while one
                still fits (see :func:`_plan` and the module constants ``PLAN_*``). The plan used is
                ``info["plan"]``; passing its ``num_reads``, ``num_sweeps``, ``num_restarts``,
                ``restart_sweeps``, ``num_cycles`` and ``polish`` back with the same seed gives the same
                samples on any machine and thread count (a planned run itself depends on the
                machine's speed and load, through the calibration). Otherwise: reads start in
                index order, in groups of 16 (8 for dense models) per thread; when the
                limit passes, running reads stop at the next sweep boundary and reads not
                yet started are dropped, so the sample set can hold fewer than
                ``num_reads`` rows (always the first group, i.e. at least
                ``min(num_reads, 8)``). Every returned row is a valid state with its
                exact energy; ``info["stopped_early"]`` is True and
                ``info["num_sweeps_completed"]`` the fewest sweeps a returned read did.
                Ctrl-C (SIGINT) during sampling is handled the same way and sets
                ``info["interrupted"]`` (the KeyboardInterrupt is consumed and a
                RuntimeWarning is issued).
            interrupt: None (default) or an object with an ``is_set()`` method, such as
                :class:`threading.Event`, polled every 5 ms while sampling; once set, the
                run stops as with ``time_limit`` and ``info["interrupted"]`` is True. Lets
                another thread (a hybrid race, a cancelled service job) stop the sampler.
            polish: if True, every read is finished by steepest descent in C++ (flip the
                spin with the most negative energy change until none is negative), so each
                returned state is a 1-flip local minimum. Default None: True in a planned run
                (``time_limit`` alone), else False.
            num_restarts: restart rounds after the first anneal (default None: 0, or planned).
                Each round starts every read from one of the ``max(1, num_reads // 4)``
                lowest-energy distinct states seen so far (the elite pool, read ``r`` from
                elite ``r mod P``), half of the reads (when ``P >= 2``) as a uniform crossover
                with another elite (spins where the two agree kept, the others random; Wu &
                Hao's memetic Max-Cut recombination, 2012), the other half with 5% of its spins
                flipped at random (see :func:`restart_states`), and re-anneals it over
                ``restart_sweeps`` sweeps from a lower temperature (65% of the way along
                the log beta range in even cycles, 80% in odd ones: :data:`RESTART_BETA_POSITIONS`)
                to the cold end, in the spirit of iterated annealing /
                elite-pool restarts (Lourenco, Martin & Stuetzle, "Iterated local search",
                2003). Rounds stop at ``time_limit``. The sample set then holds the
                ``num_reads`` lowest-energy states of all rounds (duplicates kept).
            restart_sweeps: sweeps of each restart round (default None: ``num_sweeps // 4``,
                or planned).
            num_cycles: independent cycles (default None: 1, or planned: one per
                :data:`PLAN_CYCLE_SECONDS` of ``time_limit``). Cycle ``c`` repeats the first anneal
                and its restart rounds with seed ``seed + c * 0xD1B54A32D192ED03 mod 2**64``
                from fresh random states and its own elite pool; the sample set holds the
                ``num_reads`` lowest-energy states of all cycles (a planned run counts the cycles it
                added in ``plan["num_cycles"]``). Independent cycles of 10-15 s
                reached G14's best-known cut more often than one long plan (benchmarks/FRONTIER.md).
            on_progress: None (default) or a callable receiving ``{"event": "best",
                "energy": e, "branch": "sa", "backend": "sa", "sweep": k, "elapsed": t}``
                each time the lowest energy of any read's state improves: the kernel looks
                at most every 0.25 s while it runs, and once more at the end, so the last
                event's energy is the sample set's lowest energy (in the BQM's units, offset
                included; ``sweep``: sweeps done by the reads looked at; ``elapsed``: seconds
                since this call). A read whose state seen mid-run was lower than its final
                state returns that state instead (polished when ``polish`` is set), so no event
                is below the sample set's lowest energy; that changes a read only on runs
                longer than 0.25 s, and only for the better. It is called on this thread; an
                exception it raises stops the run and is raised from here.

        Returns:
            dimod.SampleSet in the BQM's vartype, energies equal ``bqm.energies``
            (recomputed in double precision); ``info`` holds ``seed``, ``beta_range``,
            ``beta_schedule_type``, ``num_sweeps``, ``num_sweeps_per_beta``, ``num_sweeps_completed``,
            ``stopped_early``, ``interrupted``, ``polish``, ``kernel`` (``"sparse"`` or
            ``"dense"``), ``num_threads``; with restarts ``num_restarts``, ``restart_sweeps``,
            ``num_restarts_completed``; in a planned run ``plan`` (``num_reads``,
            ``num_sweeps``, ``num_restarts``, ``restart_sweeps``, ``polish``, ``num_threads``,
            ``calibration``, ``seconds_planned``, ``seconds_left``,
            ``first_anneal_seconds_per_sweep``); and ``timing`` (``preprocessing_ns``, ``sampling_ns``,
            ``postprocessing_ns``, in nanoseconds).

        Raises:
            ParameterError (a ValueError): a parameter out of range, naming it; a
                dwave-samplers option the kernel does not implement
                (``randomize_order=True``, ``proposal_acceptance_criteria="Gibbs"``).
        """
        t0 = time.perf_counter_ns()
        self.remove_unknown_kwargs(**kwargs)
        spec = self.parameter_spec
        num_sweeps_given = num_sweeps is not None
        num_sweeps = spec.check("num_sweeps", 1000 if num_sweeps is None else num_sweeps)
        per_beta, interrupt = _ocean_options(spec, num_sweeps_per_beta, randomize_order,
                                             proposal_acceptance_criteria, interrupt_function, interrupt)
        num_threads = spec.check("num_threads", num_threads)
        beta_schedule_type = spec.check("beta_schedule_type", beta_schedule_type)
        custom = spec.check("beta_schedule", beta_schedule)
        if beta_schedule_type == "custom":
            if custom is None:
                raise ParameterError("beta_schedule", "must be given when beta_schedule_type is 'custom', was None")
        elif custom is not None:
            raise ParameterError("beta_schedule", "must be None unless beta_schedule_type is 'custom'")
        seed = spec.check("seed", seed)
        if seed is None:
            seed = spec.random_seed()  # below 2**52: exact as a double (protobuf Struct)
        time_limit = spec.check("time_limit", time_limit)
        num_reads = spec.check("num_reads", num_reads)
        on_progress = spec.check("on_progress", on_progress)
        polish = spec.check("polish", polish)
        num_restarts = spec.check("num_restarts", num_restarts)
        restart_sweeps = spec.check("restart_sweeps", restart_sweeps)
        num_cycles = spec.check("num_cycles", num_cycles)
        # anytime: a deadline and nothing that sizes the run -> the sampler plans it to fill the deadline
        planned = (time_limit is not None and num_reads is None and not num_sweeps_given and custom is None
                   and initial_states is None and num_restarts is None and restart_sweeps is None
                   and per_beta == 1)
        beta_range = spec.check("beta_range", beta_range)
        initial_states_generator = spec.check("initial_states_generator", initial_states_generator)
        if initial_states is None and initial_states_generator == "random":
            # the kernel draws the random initial states itself (dimod would build and
            # score a SampleSet of them first, which costs more than annealing on big models)
            parsed = None
            num_reads = 1 if num_reads is None else num_reads
        else:
            parsed = self.parse_initial_states(
                bqm, num_reads=num_reads, initial_states=initial_states,
                initial_states_generator=initial_states_generator, seed=seed % (2**32))
            num_reads = parsed.initial_states.record.sample.shape[0] if num_reads is None else num_reads
        variables = list(bqm.variables)
        h, row_ptr, col, J, offset = ising_csr(bqm)

        if custom is not None:
            if num_sweeps_given and num_sweeps != len(custom) * per_beta:
                raise ParameterError("num_sweeps", f"must equal len(beta_schedule) * num_sweeps_per_beta = "
                                                   f"{len(custom) * per_beta}, was {num_sweeps}")
            num_sweeps = len(custom) * per_beta
            ends = (float(custom[0]), float(custom[-1])) if len(custom) else (0.0, 0.0)
            if beta_range is not None and tuple(beta_range) != ends:
                raise ParameterError("beta_range", f"must be None or equal the ends of beta_schedule {ends} when "
                                                   f"beta_schedule_type is 'custom', was {tuple(beta_range)}")
            beta_range = ends
            betas = np.repeat(custom, per_beta)
        else:
            if num_sweeps % per_beta:
                raise ParameterError("num_sweeps", f"must be a multiple of num_sweeps_per_beta = {per_beta}, "
                                                   f"was {num_sweeps}")
            if beta_range is None:
                beta_range = default_beta_range(h, row_ptr, J)
            betas = np.repeat(_beta_schedule(beta_range, num_sweeps // per_beta, beta_schedule_type), per_beta)

        init = None
        if parsed is not None:
            init_ss = parsed.initial_states.change_vartype(dimod.SPIN, inplace=False)
            init = np.ascontiguousarray(
                init_ss.record.sample[:, [init_ss.variables.index(v) for v in variables]], dtype=np.int8)
        threads = available_cores() if num_threads is None else num_threads

        def anneal(run_betas, reads, run_seed, init_states, limit, run_polish, progress):
            return _core.simulated_annealing(
                h, row_ptr, col, J, run_betas, reads, run_seed, threads, init_states, limit, bool(run_polish),
                "auto", 0.65, interrupt, progress)

        def left() -> float:  # seconds of the time limit not yet used (counted from this call's start)
            return 0.0 if time_limit is None else max(1e-6, time_limit - (time.perf_counter_ns() - t0) * 1e-9)

        plan = None
        if planned:
            plan = _plan(anneal, beta_range, seed=seed, num_threads=threads,
                         dense=_is_dense(len(variables), len(col)), left=left, num_cycles=num_cycles)
            num_cycles = plan["num_cycles"]
            num_reads, num_sweeps = plan["num_reads"], plan["num_sweeps"]
            num_restarts, restart_sweeps = plan["num_restarts"], plan["restart_sweeps"]
            betas = _beta_schedule(beta_range, num_sweeps, beta_schedule_type)
        num_restarts = 0 if num_restarts is None else num_restarts
        if restart_sweeps is None:
            restart_sweeps = max(1, num_sweeps // 4)
        polish = planned if polish is None else polish
        relay = None if on_progress is None else _improving(on_progress)
        t1 = time.perf_counter_ns()
        # the limit counts from this call's start: set-up time comes out of it
        kernel_limit = 0.0 if time_limit is None else left()
        progress = None if relay is None else _progress_relay(relay, offset, (t1 - t0) * 1e-9)
        num_cycles = 1 if num_cycles is None else num_cycles
        cycle_states, cycle_energies = [], []
        restarts_done = 0
        kinfo: dict = {}
        most_cycles = num_cycles + (PLAN_MAX_EXTRA_CYCLES if plan is not None else 0)
        c = 0
        while c < most_cycles:
            if c >= num_cycles and (time.perf_counter_ns() - t1) * 1e-9 / c > PLAN_SHARE * left():
                break  # an added cycle only while one, at the mean time of those done, still fits
            cseed = (seed + c * 0xD1B54A32D192ED03) % 2**64
            c_start = time.perf_counter_ns()
            c_end = c_start + (left() / max(1, num_cycles - c)) * 1e9  # this cycle's share of the time left

            def cycle_left(c_end=c_end) -> float:
                return max(1e-6, (c_end - time.perf_counter_ns()) * 1e-9)

            if c:
                kernel_limit = 0.0 if time_limit is None else left()
                progress = None if relay is None else _progress_relay(relay, offset, (c_start - t0) * 1e-9)
            st, en, ki = anneal(betas, num_reads, cseed, init, kernel_limit, polish, progress)
            if plan is not None and c == 0:
                # size the restarts from the first anneal's own rate (the machine's load changes), so
                # the rounds fill what is left of the cycle; when that holds fewer than the planned
                # rounds (or a one-anneal plan's none) of PLAN_MIN_SWEEPS, as many as it holds
                per_sweep = (time.perf_counter_ns() - c_start) * 1e-9 / max(1, num_sweeps)
                room = PLAN_SHARE * cycle_left() / per_sweep  # sweeps that fit in the rest of the cycle
                num_restarts = num_restarts or PLAN_RESTARTS
                if room < num_restarts * PLAN_MIN_SWEEPS:
                    num_restarts = int(room // PLAN_MIN_SWEEPS)
                restart_sweeps = min(PLAN_MAX_SWEEPS, int(room / max(1, num_restarts)))
                if restart_sweeps < PLAN_MIN_SWEEPS:
                    num_restarts = 0
                plan.update({"num_restarts": num_restarts, "restart_sweeps": max(1, restart_sweeps),
                             "first_anneal_seconds_per_sweep": per_sweep})
                restart_sweeps = max(1, restart_sweeps)
            done = 0
            if num_restarts and not (ki["stopped_early"] or ki["sigint"]):
                position = RESTART_BETA_POSITIONS[c % len(RESTART_BETA_POSITIONS)]
                rbetas = _beta_schedule(_restart_range(beta_range, beta_schedule_type, position), restart_sweeps,
                                        beta_schedule_type)
                st, en, done, ki = _restart_rounds(
                    anneal, st, en, ki, betas=rbetas, num_restarts=num_restarts, seed=cseed,
                    polish=polish, left=left if time_limit is not None else None, relay=relay, offset=offset, t0=t0,
                    extra=PLAN_MAX_EXTRA_RESTARTS if plan is not None and c == 0 else 0, round_left=cycle_left,
                    spin_symmetric=not np.any(h))
                if plan is not None and c == 0:  # rounds added to fill the cycle are part of the plan
                    num_restarts = max(num_restarts, done)
                    plan["num_restarts"] = num_restarts
            restarts_done += done
            c += 1
            cycle_states.append(st)
            cycle_energies.append(en)
            kinfo = ki if not kinfo else {**kinfo, **{f: bool(kinfo[f] or ki[f]) for f in
                                                      ("stopped_early", "interrupted", "sigint")},
                                          "num_sweeps_completed": min(kinfo["num_sweeps_completed"],
                                                                      ki["num_sweeps_completed"])}
            if ki["stopped_early"] or ki["sigint"]:
                break
        if plan is not None:  # cycles added to fill the time limit are part of the plan
            num_cycles = max(num_cycles, len(cycle_states))
            plan["num_cycles"] = num_cycles
        if len(cycle_states) > 1:
            all_states, all_energies = np.concatenate(cycle_states), np.concatenate(cycle_energies)
            order = np.argsort(all_energies, kind="stable")[:num_reads]
            states, energies = all_states[order], all_energies[order]
        else:
            states, energies = cycle_states[0], cycle_energies[0]
        t2 = time.perf_counter_ns()
        if isinstance(interrupt, _InterruptFunction) and interrupt.error is not None:
            raise interrupt.error
        energies = energies + offset
        states = states_in_vartype(states, bqm.vartype, sigint=kinfo["sigint"], method="simulated annealing")
        info = {
            "seed": seed,
            "beta_range": [float(beta_range[0]), float(beta_range[1])],
            "beta_schedule_type": beta_schedule_type,
            "num_sweeps": num_sweeps,
            "num_sweeps_per_beta": per_beta,
            "num_sweeps_completed": int(kinfo["num_sweeps_completed"]),
            "stopped_early": bool(kinfo["stopped_early"]),
            "interrupted": bool(kinfo["interrupted"]),
            "polish": bool(polish),
            "kernel": kinfo["kernel"],
            "num_threads": threads,
        }
        if num_restarts or plan is not None:
            info.update({"num_restarts": num_restarts, "restart_sweeps": restart_sweeps,
                         "num_restarts_completed": restarts_done})
        if num_cycles > 1 or plan is not None:
            info.update({"num_cycles": num_cycles, "num_cycles_completed": len(cycle_states)})
        if plan is not None:
            info["plan"] = plan
        ss = dimod.SampleSet.from_samples((states, variables), vartype=bqm.vartype, energy=energies, info=info,
                                          sort_labels=False)
        t3 = time.perf_counter_ns()
        ss.info["timing"] = {"preprocessing_ns": t1 - t0, "sampling_ns": t2 - t1, "postprocessing_ns": t3 - t2}
        return ss


def _ocean_options(spec: ParameterSpec, num_sweeps_per_beta, randomize_order, proposal_acceptance_criteria,
                   interrupt_function, interrupt):
    """dwave-samplers' options checked: ``(num_sweeps_per_beta, interrupt)`` where
    ``interrupt`` also stops when ``interrupt_function()`` returns True.

    Raises:
        ParameterError: an invalid value, or an option the kernel does not implement.
    """
    per_beta = spec.check("num_sweeps_per_beta", num_sweeps_per_beta)
    if spec.check("randomize_order", randomize_order):
        raise ParameterError("randomize_order", "True is not supported: the qopt kernel updates variables in "
                                                "index order (randomize_order=False); use "
                                                "dwave.samplers.SimulatedAnnealingSampler for random order")
    if proposal_acceptance_criteria == "Gibbs":
        raise ParameterError("proposal_acceptance_criteria", "'Gibbs' is not supported: the qopt kernel uses the "
                                                             "Metropolis criterion; use "
                                                             "dwave.samplers.SimulatedAnnealingSampler for Gibbs")
    spec.check("proposal_acceptance_criteria", proposal_acceptance_criteria)
    interrupt = spec.check("interrupt", interrupt)
    function = spec.check("interrupt_function", interrupt_function)
    if function is not None:
        interrupt = _InterruptFunction(function, interrupt)
    return per_beta, interrupt


class _InterruptFunction:
    """An event (``is_set()``) that is set when ``function()`` returns True or ``event`` is
    set; an exception from ``function`` sets it and is kept in :attr:`error`."""

    def __init__(self, function, event=None):
        self.function = function
        self.event = event
        self.error: BaseException | None = None

    def is_set(self) -> bool:
        if self.event is not None and self.event.is_set():
            return True
        try:
            return bool(self.function())
        except Exception as exc:  # noqa: BLE001 - re-raised by sample() once the kernel returns
            self.error = exc
            return True



def _is_dense(num_variables: int, nnz: int) -> bool:
    """Whether the kernel's "auto" choice is its dense kernel (8 lanes) for this size (anneal.cpp's rule)."""
    return 0 < num_variables <= 8192 and nnz >= 0.65 * num_variables * num_variables


def _plan(anneal, beta_range, *, seed: int, num_threads: int, dense: bool, left, num_cycles: int | None = None) -> dict:
    """The anytime plan: num_reads, num_sweeps, num_restarts, restart_sweeps that fill the time left.

    Two calibration calls of one SIMD lane group (16 reads, 8 on the dense kernel) per
    thread, on every thread (so a loaded machine is measured as it is): one of no sweeps (the
    per-call cost) and one of :data:`CALIBRATION_SWEEPS` sweeps over the geometric schedule
    (so hot and cold sweeps are both counted), stopped at :data:`CALIBRATION_SHARE` of the
    time; the difference over the sweeps done is the seconds per sweep of one group. Their
    states are discarded. The run then uses one lane
    group per thread (``num_reads = lanes * num_threads``) and ``W`` sweeps per read,
    ``W = PLAN_SHARE * time left / seconds per sweep``: :data:`PLAN_FIRST_SHARE` of ``W``
    for the first anneal and the rest in :data:`PLAN_RESTARTS` restart rounds, or one anneal
    of ``W`` sweeps when a round would get fewer than :data:`PLAN_MIN_SWEEPS`. After the
    first anneal the sampler re-sizes the restart rounds from that anneal's measured rate
    (``plan["restart_sweeps"]``, ``plan["first_anneal_seconds_per_sweep"]``); when the time left
    holds fewer than the planned rounds (or a one-anneal plan's none) of :data:`PLAN_MIN_SWEEPS`
    sweeps, it runs as many such rounds as it holds, up to :data:`PLAN_RESTARTS`
    (``plan["num_restarts"]``): dropping them all left up to a third of a 1 s run on G81 unused.
    """
    lanes = 8 if dense else 16
    budget = left()

    def timed(sweeps: int, share: float) -> tuple[int, float]:
        c0 = time.perf_counter()
        _, _, cal = anneal(_beta_schedule(beta_range, sweeps, "geometric"), lanes * num_threads, seed, None,
                           max(1e-6, share * budget), False, None)
        return int(cal["num_sweeps_completed"]), time.perf_counter() - c0

    # a call of no sweeps measures the per-call cost (float model, fields, threads, the 5 ms
    # poll), so only the sweeps of the second call are counted per sweep
    _, overhead = timed(0, CALIBRATION_SHARE)
    done, seconds = timed(CALIBRATION_SWEEPS, CALIBRATION_SHARE)
    per_sweep = max(seconds - overhead, 0.2 * seconds) / done if done else seconds  # noise floor: 20%
    seconds += overhead
    remaining = left()
    cycles = num_cycles or max(1, int(budget // PLAN_CYCLE_SECONDS))
    total = max(1, min(PLAN_MAX_SWEEPS, int(PLAN_SHARE * remaining / cycles / per_sweep)))
    first = int(PLAN_FIRST_SHARE * total)
    per_restart = (total - first) // PLAN_RESTARTS
    if first >= PLAN_MIN_SWEEPS and per_restart >= PLAN_MIN_SWEEPS:
        restarts = PLAN_RESTARTS
    else:
        first, restarts, per_restart = total, 0, max(1, total // 4)
    return {"num_reads": lanes * num_threads, "num_sweeps": first, "num_restarts": restarts,
            "restart_sweeps": per_restart, "num_cycles": cycles, "polish": True, "num_threads": num_threads,
            "calibration": {"num_reads": lanes * num_threads, "num_sweeps": done, "seconds": seconds,
                            "seconds_per_sweep": per_sweep},
            "seconds_planned": PLAN_SHARE * remaining, "seconds_left": remaining}


def _restart_range(beta_range, kind: str, position: float) -> tuple[float, float]:
    """(start, cold) of a restart's anneal: ``position`` (0 hot, 1 cold) along ``beta_range``
    (log scale for a geometric schedule, linear otherwise) to its cold end."""
    hot, cold = float(beta_range[0]), float(beta_range[1])
    if kind == "linear" or hot <= 0.0:
        return hot + position * (cold - hot), cold
    return hot * (cold / hot) ** position, cold


def _elite(states: np.ndarray, energies: np.ndarray, keep: int) -> tuple[np.ndarray, np.ndarray]:
    """The ``keep`` lowest-energy distinct rows of ``states`` (ties: first seen), with their energies.

    Rows are visited in order of energy (stable) and compared by their bytes, stopping at ``keep``
    distinct ones: O(visited rows x n). (``np.unique(states, axis=0)`` sorted every row: 26 ms a
    call on 48 x 10000 spins, a fifth of a 1 s run on G70 spent with the cores idle.)
    """
    seen: set[bytes] = set()
    order = []
    for i in np.argsort(energies, kind="stable"):
        key = states[i].tobytes()
        if key not in seen:
            seen.add(key)
            order.append(i)
            if len(order) == keep:
                break
    rows = np.asarray(order, dtype=np.intp)
    return states[rows], energies[rows]


def restart_states(pool: np.ndarray, reads: int, rng: np.random.Generator, k: int,
                    spin_symmetric: bool) -> np.ndarray:
    """Initial states (int8, ``(reads, n)``) of restart round ``k`` from the elite ``pool``.

    Read ``r`` starts from elite ``r mod P``. The first ``RESTART_CROSSOVER_SHARE`` of the reads
    (when ``P >= 2``) get a uniform crossover of that elite ``A`` and another one ``B``: ``A``'s spins
    where the two agree, random spins where they differ (``B`` first replaced by ``-B`` when that is
    closer to ``A`` and the model has no linear biases, so ``-B`` has ``B``'s energy), as in the
    recombination of memetic Max-Cut heuristics (Wu & Hao, "A memetic approach for the max-cut problem", PPSN 2012). The other reads get
    :data:`RESTART_FLIP_FRACTION` of the elite's spins flipped at random.

    Args:
        pool: int8 ``(P, n)``, the elite states (values +-1), best first.
        reads: rows to return.
        rng: the round's generator (all random choices are drawn from it).
        k: the round's index (1, 2, ...); it varies which elite a read is crossed with.
        spin_symmetric: whether ``-s`` has the energy of ``s`` (no linear biases).

    Returns:
        int8 ``(reads, n)`` initial states.
    """
    P = len(pool)
    a = np.arange(reads) % P
    init = pool[a].copy()
    cross = int(RESTART_CROSSOVER_SHARE * reads) if P >= 2 else 0
    if cross:
        r = np.arange(cross)
        b = (a[:cross] + 1 + (k + r // P) % (P - 1)) % P
        other = pool[b].astype(np.int8)
        if spin_symmetric:
            n = pool.shape[1]
            flip = np.count_nonzero(init[:cross] != other, axis=1) > n // 2
            other[flip] *= -1
        differ = init[:cross] != other
        random_spins = np.where(rng.random(differ.shape) < 0.5, 1, -1).astype(np.int8)
        init[:cross] = np.where(differ, random_spins, init[:cross])
    flips = rng.random(init.shape) < RESTART_FLIP_FRACTION
    flips[:cross] = False
    init[flips] *= -1
    return init


def _restart_rounds(anneal, states, energies, kinfo, *, betas, num_restarts: int, seed: int, polish: bool,
                    left, relay, offset: float, t0: int, extra: int = 0, round_left=None,
                    spin_symmetric: bool = False):
    """Restart rounds seeded from an elite pool (see SimulatedAnnealingSampler.sample).

    Round k (1..num_restarts): every read starts from elite state ``r mod P`` (the pool holds
    the ``P = max(1, ELITE_SHARE * num_reads)`` best distinct states seen so far), crossed with
    another elite or with :data:`RESTART_FLIP_FRACTION` of its spins flipped
    (:func:`restart_states`, numpy's generator seeded by ``(seed, k)``), and is annealed over ``betas`` (from a lower temperature than the first
    anneal) with kernel seed ``seed + k * 0x9E3779B97F4A7C15 mod 2**64``. A round is skipped
    when no time is left; a round the time limit or an interrupt stops is the last. Up to
    ``extra`` more rounds (the same way, k = num_restarts + 1, ...) follow while one, at the mean
    time of the rounds done, fits in :data:`PLAN_SHARE` of ``round_left()`` (default ``left()``).

    Returns:
        ``(states, energies, rounds_done, kinfo)``: the ``num_reads`` lowest-energy states of
        all rounds (duplicates kept), and the first anneal's kernel info with ``stopped_early``,
        ``interrupted`` and ``sigint`` of any round.
    """
    reads = states.shape[0]
    keep = max(1, int(ELITE_SHARE * reads))
    seen_states, seen_energies = [states], [energies]
    pool, pool_e = _elite(states, energies, keep)
    kinfo = dict(kinfo)
    done = 0
    rounds_start = time.perf_counter()
    for k in range(1, num_restarts + extra + 1):
        if left is not None and left() <= 1e-3:
            break
        if k > num_restarts and (left is None or done == 0
                                 or (time.perf_counter() - rounds_start) / done > PLAN_SHARE * (round_left or left)()):
            break
        rng = np.random.default_rng([seed, k])
        init = restart_states(pool, reads, rng, k, spin_symmetric)
        limit = 0.0 if left is None else left()
        progress = None if relay is None else _progress_relay(relay, offset, (time.perf_counter_ns() - t0) * 1e-9)
        st, en, ki = anneal(betas, reads, (seed + k * 0x9E3779B97F4A7C15) % 2**64, np.ascontiguousarray(init),
                            limit, polish, progress)
        done += 1
        seen_states.append(st)
        seen_energies.append(en)
        pool, pool_e = _elite(np.concatenate([pool, st]), np.concatenate([pool_e, en]), keep)
        for flag in ("stopped_early", "interrupted", "sigint"):
            kinfo[flag] = bool(kinfo[flag] or ki[flag])
        if ki["stopped_early"] or ki["sigint"]:
            break
    all_states, all_energies = np.concatenate(seen_states), np.concatenate(seen_energies)
    order = np.argsort(all_energies, kind="stable")[:reads]
    return all_states[order], all_energies[order], done, kinfo


def _improving(on_progress):
    """``on_progress`` called only with events whose energy is below every earlier one."""
    best = math.inf

    def relay(event: dict) -> None:
        nonlocal best
        if event["energy"] < best:
            best = event["energy"]
            on_progress(event)
    return relay

def _progress_relay(on_progress, offset: float, setup: float):
    """The kernel's ``progress(sweep, ising_energy, elapsed)`` as ``on_progress`` events in
    the BQM's units, sent only when the energy improves (``setup``: seconds before the kernel)."""
    best = math.inf

    def progress(sweep: int, ising_energy: float, elapsed: float) -> None:
        nonlocal best
        energy = float(ising_energy) + offset
        if energy < best:
            best = energy
            on_progress({"event": "best", "energy": energy, "branch": "sa", "backend": "sa", "sweep": int(sweep),
                         "elapsed": setup + float(elapsed)})
    return progress


def _beta_schedule(beta_range, num_sweeps: int, kind: str) -> np.ndarray:
    hot, cold = beta_range
    if num_sweeps == 0:
        return np.zeros(0)
    if num_sweeps == 1:  # dwave-samplers: one sweep at the target (cold) beta
        return np.array([float(cold)])
    if kind == "linear":
        return np.linspace(hot, cold, num_sweeps)
    if hot <= 0.0:
        raise ParameterError("beta_range", f"must be > 0 at the hot end for a geometric schedule, was {hot}")
    return np.geomspace(hot, cold, num_sweeps)
