"""Replica exchange (parallel tempering) on the qopt C++ core, as a :class:`dimod.Sampler`.

Method: Swendsen & Wang, PRL 57 (1986); Hukushima & Nemoto, J. Phys. Soc. Jpn. 65 (1996):
``num_replicas`` copies of the model at a ladder of inverse temperatures, single-spin-flip
Metropolis sweeps, and exchanges of neighbouring temperatures. The ladder starts geometric
over ``beta_range`` and is tuned during the first ``tune_fraction`` of the sweeps toward
uniform swap acceptance (after Katzgraber, Trebst, Huse & Troyer, J. Stat. Mech. (2006)
P03018), then frozen. With ``descent_interval`` the coldest replica is periodically brought
to a local minimum by steepest descent and, when that stops improving, restarted from a
perturbed best state, in the manner of Breakout Local Search (Benlic & Hao, Eng. Appl. AI
26(3), 2013). The kernel is ``cpp/src/pt.cpp`` (see ``cpp/include/qopt/pt.hpp``).
"""
from __future__ import annotations

import math
import time

import dimod

from qopt import _core
from qopt.errors import ParameterError
from qopt.samplers.sa import (
    SimulatedAnnealingSampler,
    available_cores,
    default_beta_range,
    ising_csr,
    states_in_vartype,
)
from qopt.samplers.spec import Param, ParameterSpec, callable_validator

__all__ = ["ReplicaExchangeSampler", "CALIBRATION_SWEEPS", "PLAN_SHARE", "TUNE_ROUNDS"]

#: sweeps of the calibration run that sizes a deadline-only run (counted, then discarded).
CALIBRATION_SWEEPS = 20
#: share of the time limit the planned sweeps aim at (the limit itself stops the run).
PLAN_SHARE = 0.9
#: ladder-tuning rounds when tune_interval is None.
TUNE_ROUNDS = 10


class ReplicaExchangeSampler(dimod.Sampler):
    """Replica-exchange Monte Carlo sampler on the qopt C++ core.

    Examples:
        >>> import dimod
        >>> from qopt.samplers.pt import ReplicaExchangeSampler
        >>> bqm = dimod.generators.ran_r(1, 12, seed=1)
        >>> ss = ReplicaExchangeSampler().sample(bqm, num_sweeps=200, seed=2)
        >>> bool(abs(ss.first.energy - dimod.ExactSolver().sample(bqm).first.energy) < 1e-9)
        True
    """

    parameter_spec = ParameterSpec([
        Param("num_reads", "int", 1, minimum=1, doc="independent ladders; one best state returned per ladder"),
        Param("num_replicas", "int", 16, minimum=2, maximum=1024, doc="temperatures per ladder"),
        Param("num_sweeps", "int", None, minimum=0,
              doc="Metropolis sweeps of every replica (None: 1000, or planned to fill time_limit)"),
        Param("beta_range", "pair", None, minimum=0.0, exclusive_minimum=True, unit="1/energy",
              doc="(hottest, coldest) inverse temperatures of the ladder (None: from the biases)"),
        Param("tune_fraction", "float", 0.25, minimum=0.0, maximum=0.99,
              doc="share of the sweeps spent tuning the ladder toward uniform swap acceptance (at most 0.99)"),
        Param("tune_interval", "int", None, minimum=1,
              doc="sweeps per ladder-tuning round (None: the tuning sweeps / 10, at least 1)"),
        Param("descent_interval", "int", 0, minimum=0,
              doc="sweeps between steepest descents of the coldest replica (0: no descent/perturbation)"),
        Param("perturb_after", "int", 3, minimum=1, doc="non-improving descents before a perturbation"),
        # the same meaning as simulated annealing's (declared there once)
        SimulatedAnnealingSampler.parameter_spec["seed"],
        SimulatedAnnealingSampler.parameter_spec["num_threads"],
        Param("time_limit", "float", None, minimum=0.0, exclusive_minimum=True, maximum=1e9, unit="s",
              doc="wall-clock limit; ladders stop at the next sweep boundary (None: no limit)"),
        SimulatedAnnealingSampler.parameter_spec["interrupt"],
        Param("on_progress", "object", None, wire=False, validator=callable_validator("on_progress"),
              doc="callback receiving a 'best' event each time the best energy improves (polled every 5 ms)"),
    ])
    parameters = parameter_spec.dimod_parameters()
    properties = {
        "description": "replica exchange Monte Carlo (parallel tempering) with a tuned ladder, qopt C++ core",
    }

    def sample(self, bqm: dimod.BinaryQuadraticModel, *, num_reads: int = 1, num_replicas: int = 16,
               num_sweeps: int | None = None, beta_range: tuple[float, float] | None = None,
               tune_fraction: float = 0.25, tune_interval: int | None = None, descent_interval: int = 0,
               perturb_after: int = 3, seed: int | None = None, num_threads: int | None = None,
               time_limit: float | None = None, interrupt=None, on_progress=None, **kwargs) -> dimod.SampleSet:
        """Sample from ``bqm`` by replica exchange.

        Args:
            bqm: the model; SPIN or BINARY.
            num_reads: independent ladders (default 1); each returns the lowest-energy state
                any of its replicas (or descents) reached.
            num_replicas: temperatures per ladder (default 16); one sweep of a ladder costs
                ``num_replicas`` sweeps of the model.
            num_sweeps: sweeps of every replica. None: 1000, or with ``time_limit`` the count a
                short calibration (20 sweeps of one ladder, discarded) says fills 90% of it;
                the count used is ``info["num_sweeps"]``, and passing it back (with the same
                seed) reproduces the run when the limit does not bind.
            beta_range: (hottest, coldest) inverse temperatures, 1/energy, both > 0; default
                the simulated-annealing rule of :func:`qopt.samplers.sa.default_beta_range`.
            tune_fraction: share of the sweeps (0 to 0.99) spent tuning the ladder; the swap
                statistics in ``info`` come from the sweeps after it.
            tune_interval: sweeps per tuning round (default None: a tenth of the tuning
                sweeps, at least 1, so the ladder is adjusted 10 times).
            descent_interval: every this many sweeps the coldest replica is copied and
                descended to a 1-flip local minimum; 0 (default) turns descent and the
                Breakout-Local-Search-style perturbation off.
            perturb_after: descents without improvement before the best state, perturbed by
                n/100 .. n/10 random flips, replaces the coldest replica.
            seed: 64-bit seed (drawn when None, reported in ``info["seed"]``); the same seed
                gives the same samples whatever ``num_threads``.
            num_threads: worker threads (None: the cores available); ladders are spread over them.
            time_limit: seconds of wall clock; every ladder stops at its next sweep boundary
                when it passes, ladders not yet started are dropped (the first always runs).
            interrupt: None or an object with ``is_set()``, polled every 5 ms; stops the run
                like ``time_limit`` and sets ``info["interrupted"]``.
            on_progress: None or a callable receiving ``{"event": "best", "energy": e,
                "branch": "pt", "backend": "pt", "elapsed": t}`` (energy in the BQM's units,
                offset included; seconds since this call) whenever the lowest energy seen
                improves, polled every 5 ms, and once at the end with the sample set's lowest.

        Returns:
            dimod.SampleSet, one row per started ladder, in the BQM's vartype, energies equal
            to ``bqm.energies``. ``info``: ``seed``, ``num_sweeps``, ``num_replicas``,
            ``beta_range``, ``betas`` (read 0's final ladder, hot to cold),
            ``swap_acceptance`` (per neighbour pair, after tuning, over all ladders),
            ``round_trips`` (hottest -> coldest -> hottest, all ladders), ``num_descents``,
            ``num_perturbations``, ``num_sweeps_completed``, ``stopped_early``,
            ``interrupted``, ``calibration`` (with a planned ``num_sweeps``) and ``timing``
            (``*_ns``).

        Raises:
            ParameterError (a ValueError): a parameter out of range, naming it.
        """
        t0 = time.perf_counter_ns()
        self.remove_unknown_kwargs(**kwargs)
        spec = self.parameter_spec
        p = spec.check_all({
            "num_reads": num_reads, "num_replicas": num_replicas, "num_sweeps": num_sweeps, "beta_range": beta_range,
            "tune_fraction": tune_fraction, "tune_interval": tune_interval, "descent_interval": descent_interval,
            "perturb_after": perturb_after, "seed": seed, "num_threads": num_threads, "time_limit": time_limit,
            "interrupt": interrupt, "on_progress": on_progress})
        num_reads, num_replicas, num_sweeps = p["num_reads"], p["num_replicas"], p["num_sweeps"]
        time_limit, interrupt, on_progress = p["time_limit"], p["interrupt"], p["on_progress"]
        seed = spec.random_seed() if p["seed"] is None else p["seed"]
        threads = available_cores() if p["num_threads"] is None else p["num_threads"]
        beta_range = p["beta_range"]

        variables = list(bqm.variables)
        h, row_ptr, col, J, offset = ising_csr(bqm)
        if beta_range is None:
            beta_range = default_beta_range(h, row_ptr, J)
        hot, cold = float(beta_range[0]), float(beta_range[1])
        if not cold > hot:
            raise ParameterError("beta_range", f"must have hottest < coldest, was {tuple(beta_range)}")

        def run(reads, sweeps, limit, progress=None):
            interval = p["tune_interval"] or max(1, int(p["tune_fraction"] * sweeps) // TUNE_ROUNDS)
            return _core.replica_exchange(
                h, row_ptr, col, J, reads, num_replicas, sweeps, hot, cold, seed, threads, p["tune_fraction"],
                interval, p["descent_interval"], p["perturb_after"], 0, 0, limit, interrupt, progress)

        calibration = None
        if num_sweeps is None and time_limit is not None:
            c0 = time.perf_counter()
            run(1, CALIBRATION_SWEEPS, time_limit)
            seconds = time.perf_counter() - c0
            left = time_limit - (time.perf_counter_ns() - t0) * 1e-9
            ladders_per_thread = math.ceil(num_reads / max(1, min(threads, num_reads)))
            per_sweep = seconds / CALIBRATION_SWEEPS * ladders_per_thread
            num_sweeps = max(1, int(PLAN_SHARE * left / per_sweep)) if per_sweep > 0 else 1000
            calibration = {"sweeps": CALIBRATION_SWEEPS, "seconds": seconds,
                           "seconds_per_sweep": seconds / CALIBRATION_SWEEPS}
        elif num_sweeps is None:
            num_sweeps = 1000
        t1 = time.perf_counter_ns()
        kernel_limit = 0.0 if time_limit is None else max(1e-6, time_limit - (t1 - t0) * 1e-9)
        progress = None
        best = math.inf
        if on_progress is not None:
            def progress(ising_energy: float) -> None:
                nonlocal best
                best = float(ising_energy) + offset
                on_progress({"event": "best", "energy": best, "branch": "pt", "backend": "pt",
                             "elapsed": (time.perf_counter_ns() - t0) * 1e-9})
        states, energies, kinfo = run(num_reads, num_sweeps, kernel_limit, progress)
        t2 = time.perf_counter_ns()
        energies = energies + offset
        if on_progress is not None and len(energies) and float(energies.min()) < best:
            progress(float(energies.min()) - offset)
        states = states_in_vartype(states, bqm.vartype, sigint=kinfo["sigint"], method="replica exchange")
        info = {
            "seed": seed,
            "num_sweeps": int(num_sweeps),
            "num_replicas": num_replicas,
            "beta_range": [hot, cold],
            "betas": [float(b) for b in kinfo["betas"]],
            "swap_acceptance": [float(a) for a in kinfo["swap_acceptance"]],
            "round_trips": int(kinfo["round_trips"]),
            "num_descents": int(kinfo["num_descents"]),
            "num_perturbations": int(kinfo["num_perturbations"]),
            "num_sweeps_completed": int(kinfo["num_sweeps_completed"]),
            "stopped_early": bool(kinfo["stopped_early"]),
            "interrupted": bool(kinfo["interrupted"]),
            "calibration": calibration,
        }
        ss = dimod.SampleSet.from_samples((states, variables), vartype=bqm.vartype, energy=energies, info=info,
                                          sort_labels=False)
        t3 = time.perf_counter_ns()
        ss.info["timing"] = {"preprocessing_ns": t1 - t0, "sampling_ns": t2 - t1, "postprocessing_ns": t3 - t2}
        return ss
