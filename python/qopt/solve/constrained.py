"""The constrained-model path of the pipeline: compile -> route -> sample with penalty
calibration -> decode -> rank (feasible first).

:func:`qopt.solve` sends constrained models here (a dimod CQM, a :class:`qopt.model.Problem`,
a qiskit ``QuadraticProgram``, a spec dict, or a path / LP / MPS text). The model is compiled
to a BQM (:func:`qopt.compile.compile`: slack or unbalanced penalties with per-constraint
weights), routed like any BQM, and sampled by :func:`qopt.compile.solve_constrained`,
which with ``penalty="auto"`` raises only the weights of the constraints the best reads
violate and samples again. Candidates come back in the model's own variables, objective
and sense, with ``feasible`` and per-constraint ``violations``.
"""
from __future__ import annotations

import dataclasses
import time

import dimod

from qopt.checks import check_choice
from qopt.errors import Cancelled, ModelError, ParameterError
from qopt.problem_hash import bqm_sha256
from qopt.provenance import provenance_record
from qopt.results import Candidate, Result, confidence_from_candidates
from qopt.samplers.registry import get_sampler
from qopt.solve.fallback import sample_with_fallback
from qopt.solve.parameters import public_parameters, resolve_parameters, sa_defaults
from qopt.solve.routing import route
from qopt.solve.stages import Stages

__all__ = ["CONSTRAINED_OPTIONS", "is_constrained", "solve_constrained_model"]

#: ``inequality`` default: unbalanced penalisation (Montanez-Barrera et al. 2024) needs no slack
#: variables and, with per-round calibration, gave better feasible objectives than slack on the
#: QKP and knapsack benchmarks (benchmarks/CQM.md).
DEFAULT_INEQUALITY = "unbalanced"
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


def _copy_variable(cqm: dimod.ConstrainedQuadraticModel, v, out) -> None:
    """Add variable ``v`` of ``cqm`` to ``out`` (a QM or CQM) with its vartype and, for
    integers, its bounds."""
    vt = cqm.vartype(v)
    if vt in (dimod.BINARY, dimod.SPIN):
        out.add_variable(vt, v)
    else:
        out.add_variable(vt, v, lower_bound=cqm.lower_bound(v), upper_bound=cqm.upper_bound(v))


def _sorted_expression(cqm: dimod.ConstrainedQuadraticModel, expr) -> dimod.QuadraticModel:
    """``expr`` (the objective or a constraint's left side) rebuilt with its variables, and
    its interactions, in :func:`_label_key` order."""
    out = dimod.QuadraticModel()
    for v in sorted(expr.variables, key=_label_key):
        _copy_variable(cqm, v, out)
        out.set_linear(v, expr.get_linear(v))
    pairs = []
    for u, v, bias in expr.iter_quadratic():
        a, b = sorted((u, v), key=_label_key)
        pairs.append(((_label_key(a), _label_key(b)), a, b, bias))
    for _, a, b, bias in sorted(pairs, key=lambda t: t[0]):
        out.add_quadratic(a, b, bias)
    out.offset = expr.offset
    return out


def canonical_problem(prob):
    """``prob`` with its variables, constraints and every expression's terms in one canonical
    order (:func:`_label_key`), so that the same model reaches the sampler identically however
    it was built or sent (a template in-process, LP text through the service): with the same
    seed, the same candidates. Models with soft constraints are returned unchanged.
    Constraints declared one-hot with ``add_discrete`` become plain equalities (the compiler
    treats them alike)."""
    cqm = prob.cqm
    if cqm.num_soft_constraints():
        return prob
    out = dimod.ConstrainedQuadraticModel()
    for v in sorted(cqm.variables, key=_label_key):
        _copy_variable(cqm, v, out)
    out.set_objective(_sorted_expression(cqm, cqm.objective))
    for label in sorted(cqm.constraints, key=_label_key):
        con = cqm.constraints[label]
        out.add_constraint_from_model(_sorted_expression(cqm, con.lhs), con.sense, con.rhs, label=label, copy=False)
    return dataclasses.replace(prob, cqm=out)


def _found_info(where) -> dict:
    """A candidate's ``info``: the calibration round that first found it (``round``) and, for
    one only the classical polish produced, ``source="polish"``."""
    round_, source = where
    info = {} if round_ is None else {"round": str(round_)}
    if source == "polish":
        info["source"] = "polish"
    return info


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

    def __init__(self, name, sampler, t_end, fallback, max_rounds, cancel=None):
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
        if self.cancel is not None and "interrupt" in self.sampler.parameters:
            params["interrupt"] = self.cancel
        budget = None
        if self.t_end is not None:
            left = max(1e-3, self.t_end - time.monotonic())
            budget = left / max(1, self.rounds_left) if self.name in UNTIL_DEADLINE_BACKENDS else left
            if "time_limit" in self.sampler.parameters:
                params["time_limit"] = min(float(params.get("time_limit") or budget), 0.9 * budget)
        self.rounds_left -= 1
        ss, produced, chain = sample_with_fallback(bqm, self.name, self.sampler, params, time_budget=budget,
                                                   problem_sha256=bqm_sha256(bqm), enabled=self.fallback,
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
    0 and ``info["source"] == "polish"``), ``inequality`` ("unbalanced", the default, or
    "slack"). With simulated annealing ``num_reads`` and ``num_sweeps`` default to
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

    t_end = None if time_budget is None else time.monotonic() + time_budget
    with stages.stage("validate"):
        given = as_problem(problem)
        if len(given.cqm.variables) == 0:
            raise ModelError("variables", "the model has no variables")
        prob = canonical_problem(given)
        params = dict(parameters)
        options = {k: params.pop(k) for k in list(params) if k in CONSTRAINED_OPTIONS}
        penalty = options.get("penalty", "auto")
        inequality = check_choice("inequality", options.get("inequality", DEFAULT_INEQUALITY),
                                  ("slack", "unbalanced"))

    with stages.stage("preprocess"):
        try:
            bqm0, _ = compile_model(prob, penalty=None if penalty == "auto" else penalty, inequality=inequality)
        except (TypeError, KeyError) as exc:
            raise ParameterError("penalty", f"could not be applied: {exc}") from None
        decision = route(bqm0, backend, time_budget=time_budget)
        name = decision.backend
        sampler = get_sampler(name)
        params, ignored = resolve_parameters(sampler, decision, backend, params)
        max_rounds = options.get("max_rounds", 5)
        defaults: dict = {}
        if name == "sa":  # per round: the rounds share the deadline
            per_round = None if time_budget is None else time_budget / max(1, max_rounds if penalty == "auto" else 1)
            defaults = sa_defaults(params, bqm0.num_variables, bqm0.num_interactions, per_round)
        elif "num_reads" in sampler.parameters and params.get("num_reads") is None:
            defaults = {"num_reads": {"value": DEFAULT_NUM_READS,
                                      "reason": "penalty calibration needs a population of reads"}}
        params.update({k: d["value"] for k, d in defaults.items()})

    with stages.stage("sample"):
        round_sampler = _RoundSampler(name, sampler, t_end, fallback, max_rounds if penalty == "auto" else 1,
                                      cancel=stages.cancel)
        kwargs = {"penalty": penalty, "max_rounds": max_rounds, "max_candidates": max_candidates,
                  "polish": bool(options.get("polish", True)), "compile_options": {"inequality": inequality}}
        if "target_feasible_fraction" in options:
            kwargs["target_feasible_fraction"] = options["target_feasible_fraction"]
        cres = solve_constrained(prob, round_sampler, **kwargs, **params)

    with stages.stage("postprocess"):
        found_in = cres.found_in or [(None, "read")] * len(cres.candidates)
        candidates = [Candidate(sample=dict(c.sample), energy=float(c.energy),
                                num_occurrences=int(c.num_occurrences), objective=float(c.objective),
                                feasible=bool(c.feasible),
                                violations={str(k): float(v) for k, v in c.violations.items()},
                                info=_found_info(where))
                      for c, where in zip(cres.candidates, found_in, strict=True)]
        if candidates:
            stages.emit({"event": "best", "energy": candidates[0].energy, "objective": candidates[0].objective,
                         "feasible": candidates[0].feasible, "source": name})
        variables = list(given.cqm.variables)
        vartypes = {prob.cqm.vartype(v) for v in variables}
        vartype = next(iter(vartypes)) if len(vartypes) == 1 else dimod.INTEGER
        last = cres.rounds[-1] if cres.rounds else None
        # the reads of the last round, which the candidates' occurrences count (not the candidates
        # kept: max_candidates may leave some reads out)
        figures = confidence_from_candidates(candidates, sense=prob.sense,
                                             num_reads=None if last is None else last.num_reads)
        confidence = {
            "feasible_found": cres.feasible_found,
            "message": cres.message,
            "feasible_fraction": None if last is None else last.feasible_fraction,
            "num_reads": figures["num_reads"],
            "best_fraction": figures["best_fraction"],
            "best_objective": figures["best_objective"],
            "objective_gap": figures["objective_gap"],
        }
        produced = sorted(set(round_sampler.produced_by)) or [name]
        extra = {
            "model": {"kind": "constrained", "sense": prob.sense, "name": prob.name,
                      "num_variables": len(variables), "num_constraints": len(prob.cqm.constraints),
                      "num_bqm_variables": cres.num_bqm_variables},
            "penalty_calibration": {
                "penalty": penalty,
                "inequality": inequality,
                "rounds": [{"round": r.round, "weights": {str(k): float(v) for k, v in r.weights.items()},
                            "feasible_fraction": r.feasible_fraction, "num_reads": r.num_reads,
                            "best_feasible_objective": r.best_feasible_objective,
                            "raised": [str(x) for x in r.raised], "seconds": r.seconds} for r in cres.rounds],
            },
        }
        provenance = provenance_record(
            backend=produced[0] if len(produced) == 1 else "+".join(produced), routed_backend=name,
            requested_backend=backend or "auto",
            routing_reason=decision.reason, fallback_chain=round_sampler.chain, ignored_parameters=ignored,
            parameters=public_parameters(params), problem_sha256=bqm_sha256(bqm0),
            backend_info={k: v for k, v in round_sampler.info.items() if k != "timing"}, extra=extra,
            defaults=defaults)
    return Result(candidates=candidates, variables=variables, vartype=vartype, confidence=confidence,
                  provenance=provenance, timing=stages.finish())
