"""Request validation for every RPC: problem decoding (BQM, constrained model, LP text),
configured limits and sampler parameters.

Invalid input raises :class:`~qopt.service.convert.InvalidRequest` (``INVALID_ARGUMENT``
with one ``google.rpc.BadRequest.FieldViolation`` per problem, each naming its field
path such as ``problem.cqm.variables[3].upper_bound``); input over a configured limit
raises :class:`~qopt.service.limits.LimitExceeded` (``RESOURCE_EXHAUSTED`` with a
``google.rpc.QuotaFailure`` naming the limit). :func:`inspect_problem` collects every
problem instead of stopping at the first (``ValidateProblem``).
"""
from __future__ import annotations

import dataclasses
import math

import dimod
import numpy as np

from qopt._validation import ParameterError, check_choice, check_float, check_int
from qopt.samplers.registry import UnknownBackendError, get_sampler_class
from qopt.service.convert import FieldError, InvalidRequest, bqm_from_proto, parameters_from_struct
from qopt.service.limits import LimitExceeded, ServiceConfig
from qopt.v1 import model_pb2

__all__ = ["DecodedProblem", "decode_problem", "cqm_from_proto", "cqm_to_proto", "check_parameters",
           "check_request", "inspect_problem", "SA_SECONDS_PER_SPIN_UPDATE"]

# Estimated cost of one spin-flip attempt of the C++ annealer, per variable visit plus per
# neighbour: time ~ num_reads * num_sweeps * (n + 2 m) * this constant / threads.
# Measured on the 2-core development machine with Gset G1 (800 variables, 19176 edges,
# 64 reads x 4000 sweeps): ~1.3 s per thread -> ~3e-9 s per update. A coarse estimate.
SA_SECONDS_PER_SPIN_UPDATE = 3e-9
SA_DEFAULT_NUM_SWEEPS = 1000
# ValidateProblem runs presolve (when qopt.presolve exists) only up to this size, to stay a quick dry run.
PRESOLVE_MAX_VARIABLES = 20_000

_CQM_VARTYPE = {model_pb2.VARIABLE_TYPE_BINARY: dimod.BINARY, model_pb2.VARIABLE_TYPE_SPIN: dimod.SPIN,
                model_pb2.VARIABLE_TYPE_INTEGER: dimod.INTEGER}
_CQM_VARTYPE_TO_PROTO = {v: k for k, v in _CQM_VARTYPE.items()}
_SENSE = {model_pb2.CONSTRAINT_SENSE_EQ: "==", model_pb2.CONSTRAINT_SENSE_LE: "<=",
          model_pb2.CONSTRAINT_SENSE_GE: ">="}
_SENSE_TO_PROTO = {dimod.sym.Sense.Eq: model_pb2.CONSTRAINT_SENSE_EQ, dimod.sym.Sense.Le: model_pb2.CONSTRAINT_SENSE_LE,
                   dimod.sym.Sense.Ge: model_pb2.CONSTRAINT_SENSE_GE}
_MAX_INTEGER_BOUND = 2.0 ** 53


@dataclasses.dataclass
class DecodedProblem:
    """A validated problem.

    Attributes:
        model: :class:`dimod.BinaryQuadraticModel` or :class:`dimod.ConstrainedQuadraticModel`
            (a maximisation model is negated into a minimisation: see ``objective_sign``).
        kind: ``"bqm"``, ``"cqm"`` or ``"lp"``.
        num_variables, num_interactions, num_constraints: sizes.
        send_labels: whether the response should carry variable labels.
        objective_sign: -1 when the model was a maximisation (objective negated).
    """

    model: object
    kind: str
    num_variables: int
    num_interactions: int
    num_constraints: int = 0
    send_labels: bool = False
    objective_sign: int = 1


def _raise(problems: list[FieldError]) -> None:
    if problems:
        raise InvalidRequest(problems)


# -- constrained models -----------------------------------------------------------------
def _check_expression(expr: model_pb2.QuadraticExpression, path: str, variables, out: list[FieldError]) -> bool:
    n = len(variables)
    ok = True
    li = np.asarray(expr.linear_index, dtype=np.int64)
    lc = np.asarray(expr.linear_coefficient, dtype=np.float64)
    if lc.shape[0] != li.shape[0]:
        out.append(FieldError(f"{path}.linear_coefficient", f"must have as many entries as linear_index "
                                                            f"({li.shape[0]}), had {lc.shape[0]}"))
        ok = False
    if li.size and np.any(li >= n):
        k = int(np.flatnonzero(li >= n)[0])
        out.append(FieldError(f"{path}.linear_index[{k}]", f"unknown variable: index {li[k]} out of range for {n} "
                                                           f"variables"))
        ok = False
    if lc.size and not np.all(np.isfinite(lc)):
        out.append(FieldError(f"{path}.linear_coefficient[{int(np.flatnonzero(~np.isfinite(lc))[0])}]",
                              "must be finite"))
        ok = False
    qr = np.asarray(expr.quadratic_row, dtype=np.int64)
    qc = np.asarray(expr.quadratic_col, dtype=np.int64)
    qv = np.asarray(expr.quadratic_coefficient, dtype=np.float64)
    if qc.shape[0] != qr.shape[0]:
        out.append(FieldError(f"{path}.quadratic_col", f"must have as many entries as quadratic_row "
                                                       f"({qr.shape[0]}), had {qc.shape[0]}"))
        ok = False
    if qv.shape[0] != qr.shape[0]:
        out.append(FieldError(f"{path}.quadratic_coefficient", f"must have as many entries as quadratic_row "
                                                               f"({qr.shape[0]}), had {qv.shape[0]}"))
        ok = False
    for name, idx in (("quadratic_row", qr), ("quadratic_col", qc)):
        if idx.size and np.any(idx >= n):
            k = int(np.flatnonzero(idx >= n)[0])
            out.append(FieldError(f"{path}.{name}[{k}]", f"unknown variable: index {idx[k]} out of range for {n} "
                                                         f"variables"))
            ok = False
    if ok and qr.size:
        for k in np.flatnonzero(qr == qc):
            if variables[qr[k]] is not None and variables[qr[k]][1] is not dimod.INTEGER:
                out.append(FieldError(f"{path}.quadratic_col[{k}]", "a squared binary/spin variable is not a "
                                                                    "quadratic term; use a linear term"))
                ok = False
                break
    if qv.size and not np.all(np.isfinite(qv)):
        out.append(FieldError(f"{path}.quadratic_coefficient[{int(np.flatnonzero(~np.isfinite(qv))[0])}]",
                              "must be finite"))
        ok = False
    if not math.isfinite(expr.constant):
        out.append(FieldError(f"{path}.constant", "must be finite"))
        ok = False
    return ok


def _expression(expr: model_pb2.QuadraticExpression, labels: list, vartypes: dict, bounds: dict):
    lin = [(labels[i], float(c)) for i, c in zip(expr.linear_index, expr.linear_coefficient)]
    quad = [(labels[i], labels[j], float(c)) for i, j, c in
            zip(expr.quadratic_row, expr.quadratic_col, expr.quadratic_coefficient)]
    used = {v for v, _ in lin} | {u for u, _, _ in quad} | {v for _, v, _ in quad}
    qm = dimod.QuadraticModel()
    for v in sorted(used, key=labels.index):
        lb, ub = bounds.get(v, (None, None))
        if vartypes[v] is dimod.INTEGER:
            qm.add_variable(dimod.INTEGER, v, lower_bound=lb, upper_bound=ub)
        else:
            qm.add_variable(vartypes[v], v)
    qm.add_linear_from(lin)
    qm.add_quadratic_from(quad)
    qm.offset = float(expr.constant)
    return qm


def cqm_from_proto(msg: model_pb2.ConstrainedModel, *, path: str = "problem.cqm") -> tuple[
        dimod.ConstrainedQuadraticModel, int]:
    """Build a :class:`dimod.ConstrainedQuadraticModel` from its protobuf form.

    A maximisation objective is negated (dimod minimises); the returned sign (+1 or -1)
    says so, to report the objective back in the model's own sense.

    Raises:
        InvalidRequest: every problem found, each naming its field path: no variables,
            empty/duplicate labels, unspecified types, non-finite, fractional or
            contradictory integer bounds, indices out of range (unknown variables),
            mismatched array lengths, non-finite coefficients, empty constraints,
            unspecified constraint senses, bad one-hot constraints.
    """
    out: list[FieldError] = []
    if len(msg.variables) == 0:
        out.append(FieldError(f"{path}.variables", "at least one variable is required"))
    seen: dict[str, int] = {}
    info: list = []
    for i, var in enumerate(msg.variables):
        p = f"{path}.variables[{i}]"
        good = True
        if not var.label:
            out.append(FieldError(f"{p}.label", "must be non-empty"))
            good = False
        elif var.label in seen:
            out.append(FieldError(f"{p}.label", f"duplicate of variables[{seen[var.label]}] ({var.label!r})"))
            good = False
        else:
            seen[var.label] = i
        vt = _CQM_VARTYPE.get(var.type)
        if vt is None:
            out.append(FieldError(f"{p}.type", "must be VARIABLE_TYPE_BINARY, _SPIN or _INTEGER"))
            good = False
        elif vt is dimod.INTEGER:
            for name in ("lower_bound", "upper_bound"):
                b = getattr(var, name)
                if not math.isfinite(b) or abs(b) > _MAX_INTEGER_BOUND:
                    out.append(FieldError(f"{p}.{name}", f"must be finite and within +-2^53 (unbounded integers "
                                                         f"cannot be compiled), was {b}"))
                    good = False
                elif b != int(b):
                    out.append(FieldError(f"{p}.{name}", f"must be integral, was {b}"))
                    good = False
            if good and var.lower_bound > var.upper_bound:
                out.append(FieldError(f"{p}.upper_bound", f"contradictory bounds: upper_bound {var.upper_bound} < "
                                                          f"lower_bound {var.lower_bound}"))
                good = False
        info.append((var.label, vt) if good else None)
    if msg.sense not in (model_pb2.OBJECTIVE_SENSE_UNSPECIFIED, model_pb2.OBJECTIVE_SENSE_MINIMIZE,
                         model_pb2.OBJECTIVE_SENSE_MAXIMIZE):
        out.append(FieldError(f"{path}.sense", f"unknown objective sense {msg.sense}"))
    _check_expression(msg.objective, f"{path}.objective", info, out)
    clabels: dict[str, int] = {}
    for k, con in enumerate(msg.constraints):
        p = f"{path}.constraints[{k}]"
        if not con.label:
            out.append(FieldError(f"{p}.label", "must be non-empty"))
        elif con.label in clabels:
            out.append(FieldError(f"{p}.label", f"duplicate of constraints[{clabels[con.label]}] ({con.label!r})"))
        else:
            clabels[con.label] = k
        if con.sense not in _SENSE:
            out.append(FieldError(f"{p}.sense", "must be CONSTRAINT_SENSE_EQ, _LE or _GE"))
        if not math.isfinite(con.rhs):
            out.append(FieldError(f"{p}.rhs", "must be finite"))
        if len(con.lhs.linear_index) == 0 and len(con.lhs.quadratic_row) == 0:
            out.append(FieldError(f"{p}.lhs", "empty constraint: the left-hand side has no terms"))
        ok = _check_expression(con.lhs, f"{p}.lhs", info, out)
        if con.one_hot and ok:
            if (con.sense != model_pb2.CONSTRAINT_SENSE_EQ or con.rhs - con.lhs.constant != 1
                    or len(con.lhs.quadratic_row)
                    or any(c != 1 for c in con.lhs.linear_coefficient)
                    or any(info[i] is None or info[i][1] is not dimod.BINARY for i in con.lhs.linear_index)
                    or len(set(con.lhs.linear_index)) != len(con.lhs.linear_index)):
                out.append(FieldError(f"{p}.one_hot", "a one-hot constraint must be a sum of distinct binary "
                                                      "variables == 1"))
    _raise(out)

    labels = [v.label for v in msg.variables]
    vartypes = {v.label: _CQM_VARTYPE[v.type] for v in msg.variables}
    bounds = {v.label: (v.lower_bound, v.upper_bound) for v in msg.variables if vartypes[v.label] is dimod.INTEGER}
    cqm = dimod.ConstrainedQuadraticModel()
    for v in msg.variables:
        if vartypes[v.label] is dimod.INTEGER:
            cqm.add_variable(dimod.INTEGER, v.label, lower_bound=v.lower_bound, upper_bound=v.upper_bound)
        else:
            cqm.add_variable(vartypes[v.label], v.label)
    sign = -1 if msg.sense == model_pb2.OBJECTIVE_SENSE_MAXIMIZE else 1
    objective = _expression(msg.objective, labels, vartypes, bounds)
    if sign < 0:
        objective = -objective
    cqm.set_objective(objective)
    for k, con in enumerate(msg.constraints):
        try:
            if con.one_hot:
                cqm.add_discrete([labels[i] for i in con.lhs.linear_index], label=con.label)
            else:
                lhs = _expression(con.lhs, labels, vartypes, bounds)
                cqm.add_constraint_from_model(lhs, _SENSE[con.sense], float(con.rhs), label=con.label)
        except (ValueError, TypeError) as exc:
            raise InvalidRequest([FieldError(f"{path}.constraints[{k}]", str(exc))]) from None
    return cqm, sign


def cqm_to_proto(cqm: dimod.ConstrainedQuadraticModel) -> model_pb2.ConstrainedModel:
    """Protobuf form of ``cqm`` (labels sent as strings, constraints in order).

    Raises:
        ValueError: a REAL (continuous) variable, which the protocol cannot carry.
    """
    msg = model_pb2.ConstrainedModel(sense=model_pb2.OBJECTIVE_SENSE_MINIMIZE)
    index = {}
    for i, v in enumerate(cqm.variables):
        vt = cqm.vartype(v)
        if vt not in _CQM_VARTYPE_TO_PROTO:
            raise ValueError(f"variable {v!r}: {vt.name} variables are not supported by the protocol")
        var = msg.variables.add(label=str(v), type=_CQM_VARTYPE_TO_PROTO[vt])
        if vt is dimod.INTEGER:
            var.lower_bound = float(cqm.lower_bound(v))
            var.upper_bound = float(cqm.upper_bound(v))
        index[v] = i

    def fill(expr: model_pb2.QuadraticExpression, qm) -> None:
        for v, bias in qm.iter_linear():
            if bias:
                expr.linear_index.append(index[v])
                expr.linear_coefficient.append(float(bias))
        for u, v, bias in qm.iter_quadratic():
            expr.quadratic_row.append(index[u])
            expr.quadratic_col.append(index[v])
            expr.quadratic_coefficient.append(float(bias))
        expr.constant = float(qm.offset)

    fill(msg.objective, cqm.objective)
    for label, comp in cqm.constraints.items():
        con = msg.constraints.add(label=str(label), sense=_SENSE_TO_PROTO[comp.sense], rhs=float(comp.rhs))
        fill(con.lhs, comp.lhs)
        if not len(con.lhs.linear_index) and not len(con.lhs.quadratic_row):
            # keep every variable of the constraint, even with a zero coefficient
            for v in comp.lhs.variables:
                con.lhs.linear_index.append(index[v])
                con.lhs.linear_coefficient.append(0.0)
        con.one_hot = label in cqm.discrete
    return msg


def _lp_from_text(text: str, path: str = "problem.lp") -> dimod.ConstrainedQuadraticModel:
    if not text.strip():
        raise InvalidRequest([FieldError(path, "empty LP text")])
    try:
        cqm = dimod.lp.loads(text)
    except Exception as exc:  # noqa: BLE001 - the reader raises many types for bad text
        raise InvalidRequest([FieldError(path, f"not a valid LP model: {type(exc).__name__}: {exc}")]) from None
    if len(cqm.variables) == 0:
        raise InvalidRequest([FieldError(path, "the LP model has no variables")])
    for v in cqm.variables:
        if cqm.vartype(v) is dimod.REAL:
            raise InvalidRequest([FieldError(path, f"variable {v!r} is continuous; only binary and integer "
                                                   f"variables are supported")])
        if cqm.vartype(v) is dimod.INTEGER and cqm.upper_bound(v) > _MAX_INTEGER_BOUND:
            raise InvalidRequest([FieldError(path, f"integer variable {v!r} has no finite upper bound")])
    return cqm


# -- limits -------------------------------------------------------------------------------
def _size_of(problem: model_pb2.Problem) -> tuple[int, int, int]:
    """Declared sizes (variables, quadratic terms, constraints) read without decoding."""
    kind = problem.WhichOneof("model")
    if kind == "bqm":
        return problem.bqm.num_variables, len(problem.bqm.quadratic_row), 0
    if kind == "cqm":
        cqm = problem.cqm
        quad = len(cqm.objective.quadratic_row) + sum(len(c.lhs.quadratic_row) for c in cqm.constraints)
        return len(cqm.variables), quad, len(cqm.constraints)
    return 0, 0, 0


def check_limits(num_variables: int, num_interactions: int, num_constraints: int, config: ServiceConfig) -> None:
    """Raises LimitExceeded when a size is over its configured limit."""
    for subject, value, what in (("max_variables", num_variables, "variables"),
                                 ("max_quadratic_terms", num_interactions, "quadratic terms"),
                                 ("max_constraints", num_constraints, "constraints")):
        limit = getattr(config, subject)
        if value > limit:
            raise LimitExceeded(subject, f"the problem has {value} {what}; this server accepts at most {limit} "
                                         f"({subject})")


def decode_problem(problem: model_pb2.Problem, config: ServiceConfig) -> DecodedProblem:
    """Validate and decode ``problem`` (checking the size limits first, before decoding).

    Raises:
        InvalidRequest: the problem is malformed (all violations listed).
        LimitExceeded: it is larger than a configured limit.
    """
    kind = problem.WhichOneof("model")
    if kind is None:
        raise InvalidRequest([FieldError("problem", "a model is required (problem.bqm, problem.cqm or problem.lp)")])
    check_limits(*_size_of(problem), config)
    if kind == "bqm":
        bqm = bqm_from_proto(problem.bqm)
        return DecodedProblem(bqm, "bqm", bqm.num_variables, bqm.num_interactions,
                              send_labels=bool(len(problem.bqm.labels)))
    if kind == "cqm":
        cqm, sign = cqm_from_proto(problem.cqm)
        kind_ = "cqm"
    else:
        from qopt.model.importers import _lp_sense

        # dimod's LP reader negates a Maximize objective; report objectives in the LP's own sense
        cqm, sign = _lp_from_text(problem.lp), (-1 if _lp_sense(problem.lp) == "max" else 1)
        kind_ = "lp"
        check_limits(len(cqm.variables), _cqm_interactions(cqm), len(cqm.constraints), config)
    return DecodedProblem(cqm, kind_, len(cqm.variables), _cqm_interactions(cqm), len(cqm.constraints),
                          send_labels=True, objective_sign=sign)


def _cqm_interactions(cqm: dimod.ConstrainedQuadraticModel) -> int:
    return len(cqm.objective.quadratic) + sum(len(c.lhs.quadratic) for c in cqm.constraints.values())


# -- parameters ---------------------------------------------------------------------------
def _common_checks(config: ServiceConfig):
    """name -> check(value) for parameters whose meaning is the same on every backend."""
    return {
        "num_reads": lambda v: check_int("num_reads", v, minimum=1),
        "num_sweeps": lambda v: check_int("num_sweeps", v, minimum=0),
        "shots": lambda v: check_int("shots", v, minimum=1),
        "reps": lambda v: check_int("reps", v, minimum=1),
        "seed": lambda v: check_int("seed", v, minimum=0, maximum=2**64 - 1) if v is not None else v,
        "num_threads": lambda v: check_int("num_threads", v, minimum=1, maximum=1024),
        "time_limit": lambda v: check_float("time_limit", v, minimum=0.0, strict_minimum=True) if v is not None else v,
        "beta_schedule_type": lambda v: check_choice("beta_schedule_type", v, ("linear", "geometric")),
        # hybrid (qopt.hybrid.sampler.HybridSampler)
        "quantum_backend": _check_quantum_backend,
        "quantum_parameters": _check_mapping("quantum_parameters"),
        "subproblem_size": lambda v: check_int("subproblem_size", v, minimum=1, maximum=64),
        "num_workers": lambda v: check_int("num_workers", v, minimum=1, maximum=64),
        "max_retries": lambda v: check_int("max_retries", v, minimum=0, maximum=10),
        "subproblem_timeout": lambda v: (check_float("subproblem_timeout", v, minimum=0.0, strict_minimum=True)
                                         if v is not None else v),
        "patience": lambda v: check_int("patience", v, minimum=1) if v is not None else v,
        "classical_branch": _check_bool("classical_branch"),
        "strategies": _check_strategies,
    }


def _check_bool(name: str):
    def check(value):
        if not isinstance(value, bool):
            raise ParameterError(name, f"must be true or false, was {value!r}")
        return value
    return check


def _check_mapping(name: str):
    def check(value):
        if value is not None and not isinstance(value, dict):
            raise ParameterError(name, f"must be a mapping (a Struct), was {value!r}")
        return value
    return check


def _check_quantum_backend(value):
    from qopt.samplers.registry import BACKENDS

    choices = tuple(name for name in BACKENDS if name != "hybrid")
    return check_choice("quantum_backend", value, choices)


def _check_strategies(value):
    from qopt.hybrid.decompose import STRATEGIES

    items = [value] if isinstance(value, str) else value
    if not isinstance(items, list) or not items:
        raise ParameterError("strategies", f"must be a strategy name or a non-empty list of them "
                                           f"({', '.join(STRATEGIES)}), was {value!r}")
    for item in items:
        check_choice("strategies", item, tuple(STRATEGIES))
    return value


def _accepted_parameters(name: str) -> set[str]:
    """Parameter names a caller may send for backend ``name`` (``"auto"``: any backend's,
    as the pipeline sets aside those the chosen backend does not take)."""
    from qopt.samplers.registry import parameters_of_all_backends

    if name != "auto":
        return set(get_sampler_class(name).parameters)
    return parameters_of_all_backends()


_CAPS = {"num_reads": "max_num_reads", "num_sweeps": "max_num_sweeps", "shots": "max_shots"}


def check_parameters(backend: str, parameters: dict, config: ServiceConfig, model=None) -> list[FieldError]:
    """Every problem with ``backend`` and ``parameters`` as FieldErrors (``backend``,
    ``parameters.NAME``), checked without running anything.

    Raises:
        LimitExceeded: ``num_reads``, ``num_sweeps`` or ``shots`` over its configured cap.
    """
    from qopt.service.backends import INTERNAL_PARAMETERS, WIRE_EXCLUDED_PARAMETERS

    out: list[FieldError] = []
    name = backend or "auto"
    try:
        accepted = _accepted_parameters(name)
    except UnknownBackendError as exc:
        return [FieldError("backend", str(exc))]
    except ImportError as exc:
        return [FieldError("backend", f"backend {name!r} is not available here: {exc}")]
    if model is not None and not isinstance(model, dimod.BinaryQuadraticModel):
        from qopt.solve.constrained import CONSTRAINED_OPTIONS

        accepted = accepted | CONSTRAINED_OPTIONS  # penalty calibration options of constrained models
    checks = _common_checks(config)
    for key in sorted(parameters):
        if key in WIRE_EXCLUDED_PARAMETERS:
            out.append(FieldError(f"parameters.{key}", f"{key} {WIRE_EXCLUDED_PARAMETERS[key]}"))
            continue
        if key in INTERNAL_PARAMETERS:
            out.append(FieldError(f"parameters.{key}", f"{key} is set by the server (cancellation and WatchJob "
                                                       f"progress), not by the request"))
            continue
        if key not in accepted:
            out.append(FieldError(f"parameters.{key}", f"{key} is not a parameter of backend {name!r} "
                                                       f"(accepted: {', '.join(sorted(accepted))})"))
            continue
        if key in checks:
            try:
                checks[key](parameters[key])
            except (ParameterError, TypeError, ValueError) as exc:
                out.append(FieldError(f"parameters.{key}", str(exc)))
                continue
        if key in _CAPS and isinstance(parameters[key], int):
            cap = getattr(config, _CAPS[key])
            if parameters[key] > cap:
                raise LimitExceeded(_CAPS[key], f"{key}={parameters[key]} is over this server's limit of {cap} "
                                                f"({_CAPS[key]})")
    return out


def check_request(request, config: ServiceConfig) -> tuple[DecodedProblem, dict]:
    """Validate a SolveRequest / SubmitJobRequest: problem, backend, parameters,
    max_candidates. Returns the decoded problem and the parameters.

    Raises:
        InvalidRequest: every violation found (problem first).
        LimitExceeded: a size or parameter over a configured limit.
    """
    decoded = decode_problem(request.problem, config)
    try:
        parameters = parameters_from_struct(request.parameters)
    except Exception as exc:  # noqa: BLE001 - a Struct that does not decode
        raise InvalidRequest([FieldError("parameters", f"cannot decode: {exc}")]) from None
    problems = check_parameters(request.backend, parameters, config, decoded.model)
    if request.max_candidates > 100_000:
        problems.append(FieldError("max_candidates", f"must be <= 100000, was {request.max_candidates}"))
    budget = getattr(request, "time_budget", 0.0)
    if not math.isfinite(budget) or budget < 0:
        problems.append(FieldError("time_budget", f"must be a finite number of seconds >= 0, was {budget}"))
    _raise(problems)
    return decoded, parameters


# -- dry run ------------------------------------------------------------------------------
def inspect_problem(request, config: ServiceConfig) -> dict:
    """Everything ``ValidateProblem`` reports, without running a sampler: sizes, variables
    after presolve (when ``qopt.presolve`` exists), qubits per backend, estimated SA time
    and every violation (FieldErrors; limits reported as violations too)."""
    report: dict = {"violations": [], "qubits": {}, "estimated_seconds": {}, "notes": []}
    problem = request.problem
    n, m, c = _size_of(problem)
    report.update(num_variables=n, num_interactions=m, num_constraints=c)
    model = None
    if problem.WhichOneof("model") is None:
        report["violations"].append(FieldError("problem", "a model is required (problem.bqm, problem.cqm or "
                                                          "problem.lp)"))
    else:
        try:
            check_limits(n, m, c, config)
            decoded = decode_problem(problem, config)
            model = decoded.model
            report.update(num_variables=decoded.num_variables, num_interactions=decoded.num_interactions,
                          num_constraints=decoded.num_constraints)
        except InvalidRequest as exc:
            report["violations"].extend(exc.violations)
        except LimitExceeded as exc:
            report["violations"].append(FieldError("problem", exc.description))
    try:
        parameters = parameters_from_struct(request.parameters)
    except Exception as exc:  # noqa: BLE001
        parameters = {}
        report["violations"].append(FieldError("parameters", f"cannot decode: {exc}"))
    try:
        report["violations"].extend(check_parameters(request.backend, parameters, config, model))
    except LimitExceeded as exc:
        report["violations"].append(FieldError(f"parameters.{_param_of(exc.field)}", exc.description))
    if model is None:
        return report

    bqm = model if isinstance(model, dimod.BinaryQuadraticModel) else None
    if bqm is None:
        report["notes"].append("constrained model: qubit and time estimates use its variable count before "
                               "slack variables are added by compiling")
    n_eff = report["num_variables"]
    # presolve, when the module exists (qopt.presolve.presolve -> PresolveResult.fixed)
    try:
        import importlib

        presolve_mod = importlib.import_module("qopt.presolve")
    except ImportError:
        presolve_mod = None
    fn = getattr(presolve_mod, "presolve", None)
    if callable(fn) and bqm is not None and bqm.num_variables <= PRESOLVE_MAX_VARIABLES:
        try:
            out = fn(bqm)
            fixed = getattr(out, "fixed", None)
            reduced = getattr(out, "bqm", None)
            if fixed is not None:
                report["num_variables_after_presolve"] = bqm.num_variables - len(fixed)
            elif isinstance(reduced, dimod.BinaryQuadraticModel):
                report["num_variables_after_presolve"] = reduced.num_variables
            if "num_variables_after_presolve" in report:
                report["notes"].append("variables after presolve: qopt.presolve.presolve (fixings)")
        except Exception as exc:  # noqa: BLE001 - an estimate must not fail the dry run
            report["notes"].append(f"presolve estimate unavailable: {type(exc).__name__}: {exc}")
    # qubits per backend
    report["qubits"]["qaoa"] = n_eff
    dwave_q = n_eff
    try:
        import importlib

        preflight = importlib.import_module("qopt.preflight")
        for fname in ("estimate_qubits", "embedding_estimate", "estimate_embedding"):
            fn = getattr(preflight, fname, None)
            if callable(fn) and bqm is not None:
                est = fn(bqm)
                dwave_q = int(getattr(est, "num_qubits", est))
                report["notes"].append(f"dwave qubits from qopt.preflight.{fname}")
                break
        else:
            report["notes"].append("dwave qubits: one per variable (a lower bound; chains add more)")
    except Exception:  # noqa: BLE001 - absent or failing preflight: fall back to n
        report["notes"].append("dwave qubits: one per variable (a lower bound; chains add more)")
    report["qubits"]["dwave"] = dwave_q
    # SA run time
    reads = parameters.get("num_reads", 1)
    sweeps = parameters.get("num_sweeps", SA_DEFAULT_NUM_SWEEPS)
    threads = parameters.get("num_threads", 1)
    if all(isinstance(x, int) and x > 0 for x in (reads, threads)) and isinstance(sweeps, int) and sweeps >= 0:
        updates = reads * sweeps * (n_eff + 2 * report["num_interactions"])
        report["estimated_seconds"]["sa"] = updates * SA_SECONDS_PER_SPIN_UPDATE / threads
        report["notes"].append(f"sa time = num_reads x num_sweeps x (variables + 2 x interactions) x "
                               f"{SA_SECONDS_PER_SPIN_UPDATE:g} s / num_threads")
    return report


def _param_of(subject: str) -> str:
    return {v: k for k, v in _CAPS.items()}.get(subject, subject)
