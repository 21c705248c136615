"""The constrained-model path of the pipeline: compile -> route -> sample with penalty
calibration -> decode -> rank (feasible first).

:func:`qopt.solve` sends constrained models here (a dimod CQM, a :class:`qopt.model.Problem`,
a qiskit ``QuadraticProgram``, a spec dict, or a path / LP / MPS text). The model is compiled
to a BQM (:func:`qopt.compile.compile`: slack or unbalanced penalties with per-constraint
weights), routed like any BQM, and sampled by :func:`qopt.compile.solve_constrained`,
which with ``penalty="auto"`` raises only the weights of the constraints the best reads
violate and samples again. Candidates come back in the model's own variables, objective
and sense, with ``feasible`` and per-constraint ``violations``.

An exact-only plan (``backend="highs"``, ``"cpsat"`` or ``"scip"``, or ``auto`` routed to one
from the model's own features, :func:`_route_from_model`) solves the model itself: its solver
starts right after validation, and the QUBO is compiled while it runs, for the provenance only.
``provenance["problem_sha256"]`` is the same on every backend: the SHA-256
(:func:`qopt.problem_hash.bqm_sha256`) of the BQM the canonical model (:func:`canonical_problem`)
compiles to with the path's defaults (weights by rule, the ``inequality`` of :func:`_default_inequality`
unless given) and the caller's ``penalty``; it is the fallback cache's key.
"""
from __future__ import annotations

import dataclasses
import math
import threading
import time

import dimod
import numpy as np

from qopt.checks import check_choice
from qopt.errors import Cancelled, ModelError, ParameterError
from qopt.model.problem import expression_arrays, variable_info
from qopt.problem_hash import bqm_sha256
from qopt.provenance import provenance_record
from qopt.results import Candidate, Result, add_objective_bound, confidence_from_candidates
from qopt.samplers.limits import ENUMERATION_MAX_VARIABLES, QAOA_MAX_QUBITS
from qopt.samplers.race import DEFAULT_RACERS, Race, check_racers, hint_wait, share_cores, stop_latency
from qopt.samplers.registry import get_sampler
from qopt.solve.fallback import sample_with_fallback
from qopt.solve.parameters import public_parameters, resolve_parameters, sa_defaults
from qopt.solve.race import (
    EXACT_BACKENDS,
    RELAXATION_MAX_SECONDS,
    RELAXATION_PRODUCTS_PER_SECOND,
    RELAXATION_SHARE,
    box_bound,
    constrained_bound,
    enumerate_feasible,
    exact_candidates,
    merge_candidates,
    num_products,
    racers_too_slow_to_build,
    start_exact,
)
from qopt.solve.routing import route
from qopt.solve.stages import ANSWER_RESERVE_PER_MODEL_TERM, AnyEvent, Stages, default_time_budget

__all__ = ["CONSTRAINED_OPTIONS", "is_constrained", "solve_constrained_model"]

#: ``inequality`` default: unbalanced penalisation (Montanez-Barrera et al. 2024) needs no slack
#: variables and, with per-round calibration, gave better feasible objectives than slack on the
#: QKP and knapsack benchmarks (benchmarks/CQM.md), binary models.
DEFAULT_INEQUALITY = "unbalanced"
#: ``inequality`` default for a model with integer variables: slack. Unbalanced penalties left
#: the links ``y_i <= 3 z_i`` of bench_portfolio's portfolio20lots (20 integer lots, 20
#: binaries) violated by 1-3 lots in every calibration round (no feasible answer at 1 s or 3 s);
#: with slack 78-88% of the reads were feasible at 1 s and the best within 0.13% of CP-SAT's
#: (2026-12-02, seeds 1 and 2).
DEFAULT_INEQUALITY_INTEGER = "slack"
#: ``num_reads`` default on the constrained path when the backend takes it (simulated annealing:
#: :func:`qopt.solve.parameters.sa_defaults`, per calibration round).
DEFAULT_NUM_READS = 64

#: Options of the constrained path, accepted by :func:`qopt.solve` next to sampler parameters.
CONSTRAINED_OPTIONS = frozenset({"penalty", "max_rounds", "target_feasible_fraction", "polish", "inequality"})


#: Backends that work until their time limit (rather than finishing early): the calibration rounds
#: share the time left between them. The others may use all the time left in each round, so a
#: deadline that is not binding changes nothing (the result depends on problem, parameters, seed).
UNTIL_DEADLINE_BACKENDS = frozenset({"hybrid"})


def _label_key(label) -> tuple:
    """A total order over variable and constraint labels of any type (ints by value first)."""
    if isinstance(label, int) and not isinstance(label, bool):
        return (0, label, "")
    return (1, 0, f"{type(label).__name__}:{label!r}")


#: An all-binary expression with at least this many terms is rebuilt from arrays
#: (``BQM.from_numpy_vectors``: a TSP's 65 600 products in milliseconds); a smaller one, or one
#: with another vartype, from its terms (``add_constraint_from_iterable``), whose per-call cost
#: is a tenth of the arrays' (small rows are most of a model's constraints).
_ARRAY_TERMS = 2000


def _sorted_terms(expr, rank: np.ndarray):
    """The terms of ``expr`` (the objective or a constraint's left side) in canonical order:
    its variables by ``rank`` (the CQM index of a variable -> its position in
    :func:`_label_key` order), each product with its lower-ranked variable first, the products
    sorted. Returns ``(idx, lin, (u, v, bias), offset)``: CQM indices int64 (k,) and linear
    biases float64 (k,) of its variables; the products' CQM indices int64 (q,) and biases."""
    idx, lin, qu, qv, qb, offset = expression_arrays(expr)
    order = np.argsort(rank[idx], kind="stable")
    swap = rank[qu] > rank[qv]
    a, b = np.where(swap, qv, qu), np.where(swap, qu, qv)
    pairs = np.lexsort((rank[b], rank[a]))
    return idx[order], lin[order], (a[pairs], b[pairs], qb[pairs]), offset


def _sorted_bqm(labels, idx, lin, quad, offset) -> dimod.BinaryQuadraticModel:
    """An all-binary expression's sorted terms (:func:`_sorted_terms`) as a BQM from arrays."""
    pos = np.empty(len(labels), dtype=np.int64)
    pos[idx] = np.arange(len(idx))
    u, v, bias = quad
    return dimod.BQM.from_numpy_vectors(lin, (pos[u], pos[v], bias), offset, dimod.BINARY,
                                        variable_order=[labels[i] for i in idx.tolist()])


def _term_list(labels, idx, lin, quad, offset) -> list[tuple]:
    """The sorted terms (:func:`_sorted_terms`) as dimod's ``(v, bias)``, ``(u, v, bias)`` and
    ``(offset,)`` tuples (a variable with a zero linear bias keeps its place)."""
    terms: list[tuple] = [(labels[i], w) for i, w in zip(idx.tolist(), lin.tolist(), strict=True)]
    u, v, bias = quad
    terms += [(labels[a], labels[b], w) for a, b, w in zip(u.tolist(), v.tolist(), bias.tolist(), strict=True)]
    terms.append((float(offset),))
    return terms


def _add_variables(out: dimod.ConstrainedQuadraticModel, labels, order: list[int], vt, lb, ub) -> None:
    """Add ``labels`` to ``out`` in ``order`` with their vartypes and bounds (the codes of
    :func:`qopt.model.problem.variable_info`): one ``add_variables`` call per run of
    consecutive variables of one vartype (and, for integers and reals, the same bounds)."""
    kinds = (dimod.SPIN, dimod.BINARY, dimod.INTEGER, dimod.REAL)
    key = [(int(vt[i]), 0.0, 0.0) if vt[i] <= 1 else (int(vt[i]), float(lb[i]), float(ub[i])) for i in order]
    start = 0
    for k in range(1, len(order) + 1):
        if k < len(order) and key[k] == key[start]:
            continue
        code, lo, hi = key[start]
        run = [labels[i] for i in order[start:k]]
        if code <= 1:
            out.add_variables(kinds[code], run)
        else:
            out.add_variables(kinds[code], run, lower_bound=lo, upper_bound=hi)
        start = k


def canonical_problem(prob):
    """``prob`` with its variables, constraints and every expression's terms in one canonical
    order (:func:`_label_key`), so that the same model reaches the sampler identically however
    it was built or sent (a template in-process, LP text through the service): with the same
    seed, the same candidates. Models with soft constraints are returned unchanged.
    Constraints declared one-hot with ``add_discrete`` become plain equalities (the compiler
    treats them alike). Sorted with numpy and rebuilt with bulk dimod calls: dantzig42 (1 681
    variables, 65 600 products, 82 rows) in about 25 ms (65 ms before: a QM per row)."""
    cqm = prob.cqm
    if cqm.num_soft_constraints():
        return prob
    out = dimod.ConstrainedQuadraticModel()
    labels = cqm.variables
    keys = [_label_key(v) for v in labels]
    order = sorted(range(len(keys)), key=keys.__getitem__)
    rank = np.empty(len(order), dtype=np.int64)
    rank[order] = np.arange(len(order))
    vt, lb, ub = variable_info(cqm)
    _add_variables(out, labels, order, vt, lb, ub)
    binary = vt == 1

    def rebuilt(expr):
        idx, lin, quad, offset = _sorted_terms(expr, rank)
        if len(idx) + len(quad[0]) >= _ARRAY_TERMS and bool(np.all(binary[idx])) \
                and not bool(np.any(quad[0] == quad[1])):
            return _sorted_bqm(labels, idx, lin, quad, offset)
        return _term_list(labels, idx, lin, quad, offset)

    out.set_objective(rebuilt(cqm.objective))
    for label in sorted(cqm.constraints, key=_label_key):
        con = cqm.constraints[label]
        lhs = rebuilt(con.lhs)
        if isinstance(lhs, list):
            out.add_constraint_from_iterable(lhs, con.sense, con.rhs, label=label)
        else:
            out.add_constraint_from_model(lhs, con.sense, con.rhs, label=label, copy=False)
    return dataclasses.replace(prob, cqm=out)


def _default_inequality(prob) -> dict:
    """The ``inequality`` default for ``prob`` with its reason (a ``provenance["defaults"]``
    entry): :data:`DEFAULT_INEQUALITY_INTEGER` when it has integer variables, else
    :data:`DEFAULT_INEQUALITY`."""
    if bool(np.any(variable_info(prob.cqm)[0] == 2)):
        return {"value": DEFAULT_INEQUALITY_INTEGER,
                "reason": "the model has integer variables: slack penalties (unbalanced ones left integer "
                          "links violated on the portfolio-with-lots benchmark)"}
    return {"value": DEFAULT_INEQUALITY, "reason": "a binary model: unbalanced penalties (no slack bits; better "
                                                   "feasible objectives on the QKP and knapsack benchmarks)"}


def _found_info(where, produced_by: list[str]) -> dict:
    """A candidate's ``info``: the calibration round that first found it (``round``), the
    backend whose read returned it (``backend``, the round's; ``"polish"`` with
    ``source="polish"`` for one only the classical polish produced) and ``branch="anneal"``."""
    round_, source = where
    info = {} if round_ is None else {"round": str(round_)}
    if round_ is not None and round_ < len(produced_by):
        info["backend"] = produced_by[round_]
    if source == "polish":
        info["source"] = "polish"
        info["backend"] = "polish"
    info["branch"] = "anneal"
    return info


@dataclasses.dataclass(frozen=True)
class _Plan:
    """Which branches a constrained solve runs: ``anneal`` (a BQM backend with penalty
    calibration, or None) and ``exact`` (backends that solve the CQM itself)."""

    anneal: str | None
    exact: tuple[str, ...]

    @classmethod
    def of(cls, name: str, decision, params: dict) -> "_Plan":
        if name == "race":
            racers = check_racers(params.pop("racers", None) or decision.racers or DEFAULT_RACERS)
            params.pop("time_limit", None)  # the race runs under the solve's deadline
            return cls(racers[0], tuple(racers[1:]))
        if name in EXACT_BACKENDS:
            return cls(None, (name,))
        return cls(name, ())

    def anneal_parameters(self, sampler, params: dict) -> dict:
        """The annealing branch's parameters: all of them, or in a race those it accepts."""
        if sampler is None:
            return {}
        if not self.exact:
            return params
        return {k: v for k, v in params.items() if k in sampler.parameters and k not in ("time_limit", "interrupt")}


@dataclasses.dataclass(frozen=True)
class _Size:
    """What routing reads of a BQM it is not given: the sizes of the BQM the model compiles to."""

    num_variables: int
    num_interactions: int


def _route_from_model(given, backend: str | None, time_budget: float | None):
    """The routing decision when it is known from the constrained model itself, else None
    (compile first, then route the BQM). An exact-only plan so decided (an explicit exact
    backend, or ``auto`` routed to one) starts its solver without the QUBO compiled first.

    It is known under a caller's deadline only (without one, the default budget counts the
    compiled BQM): for an explicit backend, at once; for ``auto``, when the model has
    constraints (routing classes it by them), no REAL variable or quadratic constraint (which
    compile refuses: it says so before anything starts), and more compiled variables
    (:func:`qopt.compile.num_encoded_variables`) than the size rules that count them look at
    (enumeration up to ``ENUMERATION_MAX_VARIABLES``, the QAOA budget): then the decision is
    the one :func:`qopt.solve.routing.route` makes on the compiled BQM, made once.
    """
    from qopt.compile import num_encoded_variables

    if time_budget is None:
        return None
    if backend not in (None, "", "auto"):
        return route(None, backend)
    cqm = given.cqm
    if not len(cqm.constraints) or any(c.lhs.num_interactions for c in cqm.constraints.values()) \
            or bool(np.any(variable_info(cqm)[0] == 3)):
        return None
    n = num_encoded_variables(cqm)
    if n <= max(ENUMERATION_MAX_VARIABLES, QAOA_MAX_QUBITS):
        return None
    return route(_Size(n, num_products(cqm)), backend, time_budget=time_budget, problem=given)


def _model_terms(cqm: dimod.ConstrainedQuadraticModel) -> int:
    """Variables, products and constraint terms of ``cqm``: what decoding an exact backend's
    answer (objective and violations of each solution) reads, which sizes the answer's reserve."""
    return len(cqm.variables) + num_products(cqm) + sum(c.lhs.num_variables for c in cqm.constraints.values())


def _bound_before_sampling(prob, plan: _Plan, stages: Stages) -> tuple[dict | None, str | None]:
    """The certified bound known before sampling, in the model's sense, and a note when there
    is none: the optimum itself for small binary models (enumeration of the feasible set),
    else, without an exact racer (whose dual bound serves), an LP-relaxation bound in at most
    ``RELAXATION_SHARE`` of the budget (skipped when its linearisation would not fit)."""
    enumerated = enumerate_feasible(prob)
    if enumerated is not None:
        if not enumerated["feasible"]:
            return None, "the enumeration found no feasible assignment"
        return {"value": float(enumerated["objective"]), "method": "exact enumeration of the feasible set",
                "proven": True}, None
    if plan.exact:
        return None, None
    limit = min(RELAXATION_MAX_SECONDS, RELAXATION_SHARE * (stages.time_budget or 0.0))
    products = num_products(prob.cqm)
    if products / RELAXATION_PRODUCTS_PER_SECOND > limit:
        return None, (f"no LP-relaxation bound: linearising {products} products would take more than its "
                      f"{limit:.3g} s ({RELAXATION_SHARE:.0%} of the budget); an exact backend's race gives one")
    found = constrained_bound(prob, time_limit=max(1e-3, limit), interrupt=stages.cancel)
    if found is None:
        return None, "the LP relaxation gave no finite bound in its time"
    return {"value": prob.sign * found["value"], "method": found["method"]}, None


def _exact_bound(prob, runners) -> dict | None:
    """The best dual bound of the exact racers, in the model's sense (None without a finite one)."""
    best = None
    for runner in runners:
        ss = None if runner.abandoned else runner.sampleset
        if ss is None:
            continue
        value = ss.info.get("dual_bound")
        if value is None or not math.isfinite(float(value)):
            continue
        if best is None or float(value) > best[0]:
            best = (float(value), str(ss.info.get("solver", runner.name)))
    if best is None:
        return None
    return {"value": prob.sign * best[0], "method": f"dual bound of {best[1]}"}


def _unconstrained_bound(prob, round_sampler) -> dict | None:
    """The sampler's own dual bound on the compiled BQM where it bounds the model itself: a model
    without constraints whose variables are all binary or spin compiles to its objective alone
    (no penalties, no encoded integers; energies in minimisation units), so the exact backend's
    branch and bound, routed to for up to 30 variables, proves the model's optimum. None otherwise."""
    cqm = prob.cqm
    if round_sampler is None or len(cqm.constraints) or bool(np.any(variable_info(cqm)[0] >= 2)):  # integer, real
        return None
    value = round_sampler.info.get("dual_bound")
    if value is None or not math.isfinite(float(value)):
        return None
    solver = round_sampler.info.get("solver") or "the backend"
    return {"value": prob.sign * float(value), "proven": round_sampler.info.get("status") == "optimal",
            "method": f"dual bound of {solver} (no constraints: the compiled BQM is the objective)"}


def _better(a: dict | None, b: dict | None, sense: str) -> dict | None:
    """The tighter of two bounds in the model's ``sense`` (the higher lower bound of a
    minimisation, the lower upper bound of a maximisation); a proven optimum wins."""
    if a is None or b is None:
        return a if b is None else b
    if a.get("proven") or b.get("proven"):
        return a if a.get("proven") else b
    sign = 1.0 if sense == "min" else -1.0
    return a if sign * a["value"] >= sign * b["value"] else b


def _join_racers(race: Race, runners: list, stages: Stages) -> None:
    """Wait for the exact racers until the work's end (their time limits end before it, by
    :func:`qopt.samplers.race.stop_latency`), then tell any still running to stop and wait
    at most that latency more; one still running after that is recorded as having overrun,
    credited nothing, and left to stop on its own (it has been told to). This holds for an
    explicit exact backend too: the deadline is the caller's, whoever answers."""
    end = stages.work_end
    for runner in runners:
        runner.join(None if end is None else max(0.0, end - time.monotonic()))
    if end is None:
        return
    race.stop.set()
    grace = time.monotonic() + stop_latency(stages.time_budget or 0.0)
    for runner in runners:
        runner.join(max(0.0, grace - time.monotonic()))
    for runner in runners:
        if not runner.join(0.0):
            runner.abandoned = True
            race.record(runner.name, status="overran the deadline (stopped, not waited for)")


def _message(cres, candidates: list, sense: str, race) -> str:
    """The outcome in words: the annealing path's message, or the exact backends'."""
    if cres is not None and race is None:
        return cres.message
    feasible = [c for c in candidates if c.feasible]
    if feasible:
        text = f"found {len(feasible)} feasible candidate(s); best objective {feasible[0].objective:g} ({sense})"
    else:
        text = "no feasible solution found" if candidates else "no candidate found"
    if race is not None and race.stopped_by:
        text += f"; {race.stopped_by}"
    return text


def is_constrained(problem) -> bool:
    """True for models that go through compilation (anything but a BQM)."""
    if isinstance(problem, dimod.BinaryQuadraticModel):
        return False
    if isinstance(problem, (dimod.ConstrainedQuadraticModel, str, bytes, dict)) or hasattr(problem, "__fspath__"):
        return True
    return type(problem).__name__ in ("Problem", "QuadraticProgram")


class _RoundSampler(dimod.Sampler):
    """Samples each calibration round's BQM on the routed backend, within the time left
    (shared evenly between the rounds left for :data:`UNTIL_DEADLINE_BACKENDS`) and applying
    the quantum fallback tiers. With ``cancel`` set, a round
    raises :class:`qopt.errors.Cancelled` before it starts and after its sampler returns,
    so neither a further round nor the polish runs."""

    parameters = {}
    properties = {}

    def __init__(self, name, sampler, t_end: float | None, fallback, max_rounds, cancel=None,
                 caller_deadline: bool = True, stop=None):
        self.caller_deadline = caller_deadline  # False: t_end is the default budget, a stop only
        self.stop = stop  # a race's stop: interrupts the sampler, without an error
        self.name = name
        self.sampler = sampler
        self.t_end = t_end
        self.fallback = fallback
        self.rounds_left = max_rounds
        self.chain: list[dict] = []
        self.produced_by: list[str] = []
        self.info: dict = {}
        self.cancel = cancel

    def _check_cancel(self, where: str) -> None:
        if self.cancel is not None and self.cancel.is_set():
            raise Cancelled(f"cancelled {where}")

    def sample(self, bqm, **params):
        self._check_cancel("before a calibration round")
        if (self.cancel is not None or self.stop is not None) and "interrupt" in self.sampler.parameters:
            params["interrupt"] = AnyEvent(self.cancel, self.stop)
        budget = None
        problem_sha256 = bqm_sha256(bqm)  # before the time left is read: it takes 0.05-0.1 s on 65 600 products
        if self.t_end is not None:
            left = max(1e-3, self.t_end - time.monotonic())
            budget = left / max(1, self.rounds_left) if self.name in UNTIL_DEADLINE_BACKENDS else left
            if "time_limit" in self.sampler.parameters:
                params["time_limit"] = min(float(params.get("time_limit") or budget), 0.9 * budget)
        self.rounds_left -= 1
        ss, produced, chain = sample_with_fallback(bqm, self.name, self.sampler, params,
                                                   time_budget=budget if self.caller_deadline else None,
                                                   problem_sha256=problem_sha256, enabled=self.fallback,
                                                   cancel=self.cancel)
        self._check_cancel("during a calibration round")
        self.chain.extend(chain)
        self.produced_by.append(produced)
        self.info = dict(ss.info)
        return ss


def solve_constrained_model(problem, backend: str | None, *, stages: Stages, max_candidates: int,
                            time_budget: float | None, fallback: bool | str, parameters: dict) -> Result:
    """Run the constrained path; see :func:`qopt.solve` for the arguments.

    Options taken from ``parameters`` (the rest go to the sampler): ``penalty`` ("auto",
    a number, or {constraint label: weight}), ``max_rounds`` (default 5),
    ``target_feasible_fraction`` (default 0.5), ``polish`` (default True: a classical
    repair-and-descent in the original variables; its candidates have ``num_occurrences``
    0 and ``info["source"] == "polish"``), ``inequality`` ("unbalanced", the default for binary
    models, or "slack", the default with integer variables). With simulated annealing ``num_reads`` and ``num_sweeps`` default to
    :func:`qopt.solve.parameters.sa_defaults` (each round's share of the deadline); other
    backends that take ``num_reads`` get ``DEFAULT_NUM_READS``. ``provenance["defaults"]``
    says which values were chosen and why.

    Returns:
        :class:`qopt.results.Result` in the model's own variables, objective and sense;
        ``provenance`` adds ``model`` and ``penalty_calibration`` to the common record.

    Raises:
        qopt.errors.ModelError: the model is invalid (``.field`` names the part).
        ParameterError: an option or sampler parameter is invalid (named).
        qopt.errors.Cancelled: ``stages.cancel`` was set.
    """
    from qopt.compile import compile as compile_model
    from qopt.compile import solve_constrained
    from qopt.model import as_problem

    with stages.stage("validate"):
        given = as_problem(problem)
        if len(given.cqm.variables) == 0:
            raise ModelError("variables", "the model has no variables")
        prob = canonical_problem(given)
        params = dict(parameters)
        options = {k: params.pop(k) for k in list(params) if k in CONSTRAINED_OPTIONS}
        penalty = options.get("penalty", "auto")
        inequality_default = _default_inequality(prob)
        inequality = check_choice("inequality", options.get("inequality", inequality_default["value"]),
                                  ("slack", "unbalanced"))

    def compiled() -> dimod.BinaryQuadraticModel:
        try:
            return compile_model(prob, penalty=None if penalty == "auto" else penalty, inequality=inequality)[0]
        except (TypeError, KeyError) as exc:
            raise ParameterError("penalty", f"could not be applied: {exc}") from None

    with stages.stage("preprocess"):
        # an exact-only plan known from the model itself starts its solver before the QUBO is compiled
        decision = _route_from_model(given, backend, time_budget)
        exact_first = decision is not None and decision.backend in EXACT_BACKENDS
        bqm0 = None if exact_first else compiled()
        if decision is None:
            decision = route(bqm0, backend, time_budget=time_budget, problem=given)  # the caller's deadline
        name = decision.backend
        budget_default = None
        problem_sha256 = ""
        if bqm0 is None:  # the exact backend's answer is decoded from the model: its size sizes the reserve
            stages.set_budget(float(time_budget), _model_terms(prob.cqm),  # type: ignore[arg-type]
                              per_term=ANSWER_RESERVE_PER_MODEL_TERM)
        elif time_budget is None:  # a wall-clock stop that grows with the model's size
            budget_default = default_time_budget(bqm0.num_variables, bqm0.num_interactions)
            stages.set_budget(budget_default["value"], bqm0.num_variables + bqm0.num_interactions)
        else:
            stages.set_budget(time_budget, bqm0.num_variables + bqm0.num_interactions)
        if bqm0 is not None:
            problem_sha256 = bqm_sha256(bqm0)  # here, not after the work (65 600 products: 0.05-0.1 s)
        sampler = get_sampler(name)
        params, ignored = resolve_parameters(sampler, decision, backend, params)
        plan = _Plan.of(name, decision, params)
        anneal_sampler = None if plan.anneal is None else get_sampler(plan.anneal)
        anneal_params = plan.anneal_parameters(anneal_sampler, params)
        set_aside: dict[str, str] = {}
        if plan.exact and plan.anneal is not None:  # racers whose model build would starve annealing
            set_aside = racers_too_slow_to_build(prob, plan.exact, stages.time_budget)
            plan = dataclasses.replace(plan, exact=tuple(n for n in plan.exact if n not in set_aside))
        exact_threads = params.get("num_threads")
        if plan.exact and plan.anneal is not None and exact_threads is None:  # a race shares the cores
            anneal_threads, exact_threads = share_cores(len(plan.exact))
            if anneal_sampler is not None and "num_threads" in anneal_sampler.parameters:
                anneal_params["num_threads"] = anneal_threads
        max_rounds = options.get("max_rounds", 5)
        defaults: dict = {}
        if plan.anneal == "sa":  # per round: the rounds share the deadline
            assert bqm0 is not None  # an annealing plan compiles first
            per_round = None if time_budget is None else time_budget / max(1, max_rounds if penalty == "auto" else 1)
            defaults = sa_defaults(anneal_params, bqm0.num_variables, bqm0.num_interactions, per_round)
        elif anneal_sampler is not None and "num_reads" in anneal_sampler.parameters \
                and anneal_params.get("num_reads") is None:
            defaults = {"num_reads": {"value": DEFAULT_NUM_READS,
                                      "reason": "penalty calibration needs a population of reads"}}
        anneal_params.update({k: d["value"] for k, d in defaults.items()})
        params.update({k: d["value"] for k, d in defaults.items() if k in sampler.parameters})
        if budget_default is not None:
            defaults["time_budget"] = budget_default
        if "inequality" not in options:
            defaults["inequality"] = inequality_default
        bound, bound_note = _bound_before_sampling(prob, plan, stages)

    with stages.stage("sample"):
        race = Race(stages.cancel) if plan.exact or set_aside else None
        found: list = []
        lock = threading.Lock()
        runners = []
        if race is not None and plan.anneal is not None:  # the racers in their order: annealing first
            race.record(plan.anneal, branch="anneal", status="running", seconds=0.0, num_solutions=0)
        for racer, why in set_aside.items():
            assert race is not None  # set_aside implies a race
            race.record(racer, branch="exact", status=f"not started: {why}", seconds=0.0, num_solutions=0)
        if race is not None:
            wait = 0.0 if plan.anneal is None else hint_wait(stages.work_left())
            given_limit = float(params.get("time_limit") or math.inf)  # an explicit exact backend's own limit

            def time_left() -> float:
                left = stages.work_left() or 0.0
                return max(1e-3, min(given_limit, left - stop_latency(left)))
            runners = [start_exact(race, prob, n, get_sampler(n), time_limit=time_left,
                                   seed=params.get("seed"), num_threads=exact_threads, wait=wait,
                                   found=found, lock=lock, extra=params if plan.anneal is None else None)
                       for n in plan.exact]
        round_sampler = None
        cres = None
        try:
            if bqm0 is None:  # while the exact backend runs: the same cache key whatever the backend
                try:
                    bqm0 = compiled()
                except BaseException:
                    if race is not None:
                        race.stop.set()
                    raise
                problem_sha256 = bqm_sha256(bqm0)
            if plan.anneal is not None:
                round_sampler = _RoundSampler(plan.anneal, anneal_sampler, stages.work_end, fallback,
                                              max_rounds if penalty == "auto" else 1, cancel=stages.cancel,
                                              caller_deadline=time_budget is not None,
                                              stop=None if race is None else race.stopping)
                kwargs = {"penalty": penalty, "max_rounds": max_rounds, "max_candidates": max_candidates,
                          "polish": bool(options.get("polish", True)),
                          "compile_options": {"inequality": inequality},
                          "deadline": stages.work_end, "cancel": stages.cancel}
                if race is not None:
                    sign = prob.sign
                    kwargs.update(stop=race.stopping,
                                  on_incumbent=lambda sample, objective: race.offer(sample, sign * objective))
                if "target_feasible_fraction" in options:
                    kwargs["target_feasible_fraction"] = options["target_feasible_fraction"]
                t_anneal = time.perf_counter()
                cres = solve_constrained(prob, round_sampler, **kwargs, **anneal_params)
                if race is not None:
                    race.record(plan.anneal, status=f"stopped ({cres.stopped_by})" if cres.stopped_by else "finished",
                                seconds=time.perf_counter() - t_anneal, num_solutions=len(cres.candidates))
        finally:
            if race is not None:
                race.annealing_ended()
                _join_racers(race, runners, stages)
        stages.check_cancel("cancelled while sampling")
        if plan.anneal is None and runners and runners[0].error is not None:
            raise runners[0].error  # an explicit exact backend that failed says why

    with stages.stage("postprocess"):
        variables = list(given.cqm.variables)
        candidates: list[Candidate] = []
        if cres is not None and round_sampler is not None:
            found_in = cres.found_in or [(None, "read")] * len(cres.candidates)
            candidates = [Candidate(sample=dict(c.sample), energy=float(c.energy),
                                    num_occurrences=int(c.num_occurrences), objective=float(c.objective),
                                    feasible=bool(c.feasible),
                                    violations={str(k): float(v) for k, v in c.violations.items()},
                                    info=_found_info(where, round_sampler.produced_by))
                          for c, where in zip(cres.candidates, found_in, strict=True)]
        if runners:
            candidates = merge_candidates(candidates, exact_candidates(prob, runners, found), variables,
                                          sense=prob.sense, max_candidates=max_candidates)
        if candidates:
            stages.emit({"event": "best", "energy": candidates[0].energy, "objective": candidates[0].objective,
                         "feasible": candidates[0].feasible, "source": (candidates[0].info or {}).get("backend", name)})
        vartypes = {prob.cqm.vartype(v) for v in variables}
        vartype = next(iter(vartypes)) if len(vartypes) == 1 else dimod.INTEGER
        last = None if cres is None or not cres.rounds else cres.rounds[-1]
        # the reads of the last round, which the candidates' occurrences count (not the candidates
        # kept: max_candidates may leave some reads out)
        figures = confidence_from_candidates(candidates, sense=prob.sense,
                                             num_reads=None if last is None else last.num_reads)
        feasible_found = bool(candidates and candidates[0].feasible)
        confidence = {
            "feasible_found": feasible_found,
            "message": _message(cres, candidates, prob.sense, race),
            "feasible_fraction": None if last is None else last.feasible_fraction,
            "num_reads": figures["num_reads"],
            "best_fraction": figures["best_fraction"],
            "best_objective": figures["best_objective"],
            "second_best_gap": figures["second_best_gap"],
            "objective_gap": figures["objective_gap"],
        }
        bound = _better(bound, _exact_bound(prob, runners), prob.sense)
        bound = _better(bound, _unconstrained_bound(prob, round_sampler), prob.sense)
        weak_note = None
        if bound is None:  # neither an exact backend nor the relaxation in time: the weak bound of last resort
            boxed = box_bound(prob)
            if boxed is not None:
                bound = {"value": prob.sign * boxed["value"], "method": boxed["method"]}
                weak_note = bound_note  # why there is no tighter one
        add_objective_bound(confidence, bound, sense=prob.sense, best=figures["best_objective"])
        if bound is None:
            confidence["bound_method"] = None
            confidence["bound_note"] = bound_note or "no certified bound could be computed"
        elif weak_note:
            confidence["bound_note"] = weak_note
        produced = sorted(set(round_sampler.produced_by)) if round_sampler is not None else []
        produced = produced or [name]
        assert bqm0 is not None  # compiled before sampling, or while the exact backend ran
        extra: dict = {
            "model": {"kind": "constrained", "sense": prob.sense, "name": prob.name,
                      "num_variables": len(variables), "num_constraints": len(prob.cqm.constraints),
                      "num_bqm_variables": bqm0.num_variables if cres is None else cres.num_bqm_variables},
            "penalty_calibration": {
                "penalty": penalty,
                "inequality": inequality,
                "rounds": [] if cres is None else [
                    {"round": r.round, "weights": {str(k): float(v) for k, v in r.weights.items()},
                     "feasible_fraction": r.feasible_fraction, "num_reads": r.num_reads,
                     "best_feasible_objective": r.best_feasible_objective,
                     "raised": [str(x) for x in r.raised], "seconds": r.seconds} for r in cres.rounds],
            },
        }
        if bound is not None:
            extra["objective_bound"] = bound
        if race is not None:
            extra["race"] = race.summary()
        backend_info = {} if round_sampler is None else {k: v for k, v in round_sampler.info.items() if k != "timing"}
        if plan.anneal is None and runners and runners[0].sampleset is not None and not runners[0].abandoned:
            backend_info = {k: v for k, v in runners[0].sampleset.info.items() if k != "timing"}
        provenance = provenance_record(
            backend=name if plan.anneal is None or race is not None else
            (produced[0] if len(produced) == 1 else "+".join(produced)), routed_backend=name,
            requested_backend=backend or "auto",
            routing_reason=decision.reason, fallback_chain=[] if round_sampler is None else round_sampler.chain,
            ignored_parameters=ignored, parameters=public_parameters(params), problem_sha256=problem_sha256,
            backend_info=backend_info, extra=extra, defaults=defaults)
    return Result(candidates=candidates, variables=variables, vartype=vartype, confidence=confidence,
                  provenance=provenance, timing=stages.finish())
