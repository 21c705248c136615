"""Protobuf <-> domain conversion for qopt.v1: models (BQM, constrained model, LP text),
parameters, results and the ``ValidateProblem`` / ``ListBackends`` responses.

Decoding checks what the conversion itself needs (array lengths, indices, finite numbers,
labels, bounds); a model it cannot build raises :class:`InvalidRequest`, one
:class:`FieldError` per problem, each carrying the request field path
(``problem.bqm.linear[3]``), which the servicer turns into ``INVALID_ARGUMENT`` with a
``google.rpc.BadRequest`` field violation. Request checks (limits, backends, parameters)
are :mod:`qopt.service.validation`'s.
"""
from __future__ import annotations

import math

import dimod
import numpy as np
from google.protobuf import json_format, struct_pb2

from qopt.errors import InvalidInput, ModelError
from qopt.results import Candidate, Result
from qopt.service.limits import ServiceConfig
from qopt.v1 import model_pb2, solver_service_pb2

__all__ = ["FieldError", "InvalidRequest", "check_bqm", "bqm_from_proto", "bqm_to_proto", "cqm_from_proto",
           "cqm_to_proto", "cqm_from_lp", "parameters_from_struct", "response_from_result", "result_from_response",
           "validate_response_from_report", "list_backends_response", "backend_to_proto", "locate_decode_error",
           "VARTYPE_TO_PROTO"]

VARTYPE_TO_PROTO = {dimod.SPIN: model_pb2.VARTYPE_SPIN, dimod.BINARY: model_pb2.VARTYPE_BINARY}
PROTO_TO_VARTYPE = {v: k for k, v in VARTYPE_TO_PROTO.items()}
_CQM_VARTYPE = {model_pb2.VARIABLE_TYPE_BINARY: dimod.BINARY, model_pb2.VARIABLE_TYPE_SPIN: dimod.SPIN,
                model_pb2.VARIABLE_TYPE_INTEGER: dimod.INTEGER}
_CQM_VARTYPE_TO_PROTO = {v: k for k, v in _CQM_VARTYPE.items()}
_SENSE = {model_pb2.CONSTRAINT_SENSE_EQ: "==", model_pb2.CONSTRAINT_SENSE_LE: "<=",
          model_pb2.CONSTRAINT_SENSE_GE: ">="}
_SENSE_TO_PROTO = {dimod.sym.Sense.Eq: model_pb2.CONSTRAINT_SENSE_EQ, dimod.sym.Sense.Le: model_pb2.CONSTRAINT_SENSE_LE,
                   dimod.sym.Sense.Ge: model_pb2.CONSTRAINT_SENSE_GE}
_MAX_INTEGER_BOUND = 2.0 ** 53
#: Largest sum of absolute coefficients (biases and offset) of one model or expression.
#: Energies, energy changes and penalty terms multiply and add coefficients: with the sum
#: below 1e150 every product of two of them stays finite in a double, while 1e308 biases
#: overflow at the first sum (an INTERNAL error deep in the pipeline instead of the field).
MAX_ABS_COEFFICIENT_SUM = 1e150


class FieldError(InvalidInput):
    """A request field is invalid. ``.field`` is its path in the request
    (``problem.bqm.linear[3]``), ``.description`` what is wrong."""


def _first_bad(mask: np.ndarray) -> int:
    return int(np.flatnonzero(mask)[0])


class InvalidRequest(FieldError):
    """One or more request fields are invalid. ``.violations`` lists every
    :class:`FieldError` found (the first is also ``.field`` / ``.description``)."""

    def __init__(self, violations: list[FieldError]):
        first = violations[0]
        super().__init__(first.field, first.description)
        self.request_prefix = ""
        self.violations = list(violations)
        if len(violations) > 1:
            self.args = (f"{first.field}: {first.description} (and {len(violations) - 1} more)",)


def check_bqm(msg: model_pb2.BinaryQuadraticModel, path: str = "problem.bqm") -> list[FieldError]:
    """Every problem with a protobuf BQM, as :class:`FieldError` s naming the field
    (empty when it is valid). Checks are independent where they can be, so one bad array
    does not hide another."""
    out: list[FieldError] = []
    if msg.vartype not in PROTO_TO_VARTYPE:
        out.append(FieldError(f"{path}.vartype", "must be VARTYPE_SPIN or VARTYPE_BINARY"))
    n = msg.num_variables
    if n == 0:
        out.append(FieldError(f"{path}.num_variables", "must be >= 1"))
    linear = np.asarray(msg.linear, dtype=np.float64)
    if linear.shape[0] != n:
        out.append(FieldError(f"{path}.linear", f"must have num_variables={n} entries, had {linear.shape[0]}"))
    if not np.all(np.isfinite(linear)):
        out.append(FieldError(f"{path}.linear[{_first_bad(~np.isfinite(linear))}]", "must be finite"))
    row = np.asarray(msg.quadratic_row, dtype=np.int64)
    col = np.asarray(msg.quadratic_col, dtype=np.int64)
    bias = np.asarray(msg.quadratic_bias, dtype=np.float64)
    lengths_ok = True
    if col.shape[0] != row.shape[0]:
        lengths_ok = False
        out.append(FieldError(f"{path}.quadratic_col", f"must have as many entries as quadratic_row "
                                                       f"({row.shape[0]}), had {col.shape[0]}"))
    if bias.shape[0] != row.shape[0]:
        out.append(FieldError(f"{path}.quadratic_bias", f"must have as many entries as quadratic_row "
                                                        f"({row.shape[0]}), had {bias.shape[0]}"))
    if row.size and np.any(row >= n):
        k = _first_bad(row >= n)
        out.append(FieldError(f"{path}.quadratic_row[{k}]", f"index {row[k]} out of range for {n} variables"))
    if col.size and np.any(col >= n):
        k = _first_bad(col >= n)
        out.append(FieldError(f"{path}.quadratic_col[{k}]", f"index {col[k]} out of range for {n} variables"))
    if lengths_ok and row.size and np.any(row == col):
        k = _first_bad(row == col)
        out.append(FieldError(f"{path}.quadratic_col[{k}]", f"self-loop on variable {row[k]}"))
    if bias.size and not np.all(np.isfinite(bias)):
        out.append(FieldError(f"{path}.quadratic_bias[{_first_bad(~np.isfinite(bias))}]", "must be finite"))
    if not math.isfinite(msg.offset):
        out.append(FieldError(f"{path}.offset", "must be finite"))
    elif not out:
        out.extend(_check_magnitude(path, {"linear": linear, "quadratic_bias": bias}, msg.offset))
    if len(msg.labels):
        if len(msg.labels) != n:
            out.append(FieldError(f"{path}.labels", f"must be empty or have num_variables={n} entries, "
                                                    f"had {len(msg.labels)}"))
        elif len(set(msg.labels)) != n:
            out.append(FieldError(f"{path}.labels", "must be unique"))
    return out


def _check_magnitude(path: str, arrays: dict[str, np.ndarray], offset: float) -> list[FieldError]:
    """A FieldError on the largest coefficient when the absolute coefficients of ``arrays``
    (finite ones) and ``offset`` sum to more than :data:`MAX_ABS_COEFFICIENT_SUM`."""
    with np.errstate(over="ignore"):
        total = abs(float(offset)) + sum(float(np.sum(np.abs(a))) for a in arrays.values() if a.size)
    if total <= MAX_ABS_COEFFICIENT_SUM:
        return []
    name, k, value = "offset", -1, float(offset)
    for key, a in arrays.items():
        if a.size:
            i = int(np.argmax(np.abs(a)))
            if abs(a[i]) > abs(value):
                name, k, value = key, i, float(a[i])
    where = f"{path}.{name}" + (f"[{k}]" if k >= 0 else "")
    return [FieldError(where, f"{value:g} is too large: the model's coefficients sum (in absolute value) to "
                              f"{total:g}, over {MAX_ABS_COEFFICIENT_SUM:g}, so its energies would overflow a double")]


def bqm_from_proto(msg: model_pb2.BinaryQuadraticModel, *, path: str = "problem.bqm",
                   max_variables: int | None = None) -> dimod.BinaryQuadraticModel:
    """Build a :class:`dimod.BinaryQuadraticModel` from its protobuf form, validating it.

    Args:
        msg: the protobuf model.
        path: field path of ``msg`` in the request (for error messages).
        max_variables: when given, a larger model is refused (FieldError on num_variables;
            the service checks its configured limits before calling this).

    Raises:
        InvalidRequest (a FieldError): unspecified vartype, no variables, array lengths
            that disagree, non-finite biases, indices out of range, self-loops, bad
            labels; ``.violations`` lists them all.
    """
    if max_variables is not None and msg.num_variables > max_variables:
        raise FieldError(f"{path}.num_variables", f"must be <= {max_variables}, was {msg.num_variables}")
    problems = check_bqm(msg, path)
    if problems:
        raise InvalidRequest(problems)
    labels = list(msg.labels) if len(msg.labels) else None
    row = np.asarray(msg.quadratic_row, dtype=np.int64)
    col = np.asarray(msg.quadratic_col, dtype=np.int64)
    bias = np.asarray(msg.quadratic_bias, dtype=np.float64)
    return dimod.BinaryQuadraticModel.from_numpy_vectors(
        np.asarray(msg.linear, dtype=np.float64), (row, col, bias), float(msg.offset),
        PROTO_TO_VARTYPE[msg.vartype],
        variable_order=labels)  # type: ignore[arg-type]  # dimod annotates it Iterable, though None (0..n-1) is its default


def bqm_to_proto(bqm: dimod.BinaryQuadraticModel) -> model_pb2.BinaryQuadraticModel:
    """Protobuf form of ``bqm``: variables in ``bqm.variables`` order; labels are sent
    (as strings) unless they are exactly 0..n-1."""
    variables = list(bqm.variables)
    linear, (irow, icol, quad), offset = bqm.to_numpy_vectors(variables)  # type: ignore[misc]  # dimod types it as a 3- or 4-tuple
    msg = model_pb2.BinaryQuadraticModel(vartype=VARTYPE_TO_PROTO[bqm.vartype], num_variables=len(variables),
                                         offset=float(offset))
    msg.linear.extend(np.asarray(linear, dtype=float).tolist())
    msg.quadratic_row.extend(np.asarray(irow).tolist())
    msg.quadratic_col.extend(np.asarray(icol).tolist())
    msg.quadratic_bias.extend(np.asarray(quad, dtype=float).tolist())
    if variables != list(range(len(variables))):
        msg.labels.extend(str(v) for v in variables)
    return msg


# -- constrained models and LP text ------------------------------------------------------
def _check_expression(expr: model_pb2.QuadraticExpression, path: str, variables, out: list[FieldError]) -> bool:
    """Append to ``out`` every problem with ``expr`` (field paths under ``path``); True when
    it has none. ``variables[i]`` is ``(label, vartype)``, or None for a bad variable."""
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
        for j in np.flatnonzero(qr == qc):
            if variables[qr[j]] is not None and variables[qr[j]][1] is not dimod.INTEGER:
                out.append(FieldError(f"{path}.quadratic_col[{j}]", "a squared binary/spin variable is not a "
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
    if ok:
        big = _check_magnitude(path, {"linear_coefficient": lc, "quadratic_coefficient": qv}, expr.constant)
        out.extend(big)
        ok = not big
    return ok


def _expression(expr: model_pb2.QuadraticExpression, labels: list, vartypes: dict, bounds: dict):
    """The :class:`dimod.QuadraticModel` of a checked ``expr`` (only the variables it uses)."""
    lin = [(labels[i], float(c)) for i, c in zip(expr.linear_index, expr.linear_coefficient, strict=True)]
    quad = [(labels[i], labels[j], float(c)) for i, j, c in
            zip(expr.quadratic_row, expr.quadratic_col, expr.quadratic_coefficient, strict=True)]
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

    Args:
        msg: the protobuf model (variables indexed 0..n-1 by the expressions).
        path: field path of ``msg`` in the request (for error messages).

    Returns:
        tuple: ``(cqm, sign)``: the model in minimisation form, variables labelled by their
        ``label`` strings in message order, constraints by theirs; ``sign`` is -1 for
        ``OBJECTIVE_SENSE_MAXIMIZE``, else +1.

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
        elif abs(con.rhs) > MAX_ABS_COEFFICIENT_SUM:
            out.append(FieldError(f"{p}.rhs", f"{con.rhs:g} is too large (over {MAX_ABS_COEFFICIENT_SUM:g} in "
                                              f"absolute value): penalties would overflow a double"))
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
    if out:
        raise InvalidRequest(out)

    labels = [v.label for v in msg.variables]
    vartypes = {v.label: _CQM_VARTYPE[v.type] for v in msg.variables}
    bounds = {v.label: (v.lower_bound, v.upper_bound) for v in msg.variables if vartypes[v.label] is dimod.INTEGER}
    cqm = dimod.ConstrainedQuadraticModel()
    for v in msg.variables:
        if vartypes[v.label] is dimod.INTEGER:
            cqm.add_variable(dimod.Vartype.INTEGER, v.label, lower_bound=v.lower_bound, upper_bound=v.upper_bound)
        else:
            cqm.add_variable(vartypes[v.label], v.label)  # type: ignore[arg-type]  # dimod's VartypeLike omits Vartype
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


def cqm_to_proto(cqm: dimod.ConstrainedQuadraticModel, *, sense: str = "min") -> model_pb2.ConstrainedModel:
    """Protobuf form of ``cqm`` (labels sent as strings, constraints in order; a one-hot
    constraint of ``cqm.discrete`` is marked ``one_hot``).

    Args:
        cqm: the model; its binary, spin and integer variables (with their bounds) are sent.
        sense: ``"min"`` (default) or ``"max"``: whether the objective is to be minimised
            or maximised; it is sent as given, with the matching ``sense`` field
            (:func:`cqm_from_proto` then negates a maximisation and returns sign -1).

    Raises:
        ModelError: a REAL (continuous) variable, which the protocol cannot carry
            (``.field`` is ``variables[<label>]``).
        InvalidInput: ``sense`` is neither ``"min"`` nor ``"max"`` (``.field`` is ``sense``).
    """
    if sense not in ("min", "max"):
        raise InvalidInput("sense", f"must be 'min' or 'max', was {sense!r}")
    msg = model_pb2.ConstrainedModel(sense=model_pb2.OBJECTIVE_SENSE_MAXIMIZE if sense == "max"
                                     else model_pb2.OBJECTIVE_SENSE_MINIMIZE)
    index = {}
    for i, v in enumerate(cqm.variables):
        vt = cqm.vartype(v)
        if vt not in _CQM_VARTYPE_TO_PROTO:
            raise ModelError(f"variables[{v!r}]", f"{vt.name} variables are not supported by the protocol")
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


def cqm_from_lp(text: str, *, path: str = "problem.lp",
                timeout: float | None = None) -> tuple[dimod.ConstrainedQuadraticModel, int]:
    """Build a :class:`dimod.ConstrainedQuadraticModel` from CPLEX LP text (``problem.lp``).

    Args:
        text: the LP model (refused when it has a control character: dimod's reader hangs
            on NUL).
        path: field path of ``text`` in the request (for error messages).
        timeout: when given, the text is first read in a worker process stopped after
            this many seconds (:func:`qopt.model.formats.lp.probe`); the service reads it
            that way first, so it passes None here.

    Returns:
        tuple: ``(cqm, sign)``: the model in minimisation form (dimod's LP reader negates a
        ``Maximize`` objective) and -1 when the LP maximises, else +1, so objectives are
        reported back in the LP's own sense.

    Raises:
        InvalidRequest: empty or unreadable text, a control character, a read that took
            longer than ``timeout``, no variables, a continuous variable, an integer
            variable without a finite upper bound (``.field`` is ``path``).
    """
    from qopt.model.formats.lp import loads, objective_sense

    if not text.strip():
        raise InvalidRequest([FieldError(path, "empty LP text")])
    try:
        cqm = loads(text, timeout=timeout, field=path)
    except ModelError as exc:
        raise InvalidRequest([FieldError(path, exc.description)]) from None
    if len(cqm.variables) == 0:
        raise InvalidRequest([FieldError(path, "the LP model has no variables")])
    for label, qm in [("objective", cqm.objective)] + [(f"constraint {c!r}", comp.lhs)
                                                       for c, comp in cqm.constraints.items()]:
        big = _check_magnitude(path, {"linear": np.asarray([b for _, b in qm.iter_linear()], dtype=float),
                                      "quadratic": np.asarray([b for _, _, b in qm.iter_quadratic()], dtype=float)},
                               qm.offset)
        if big:
            raise InvalidRequest([FieldError(path, f"{label}: {big[0].description}")])
    for v in cqm.variables:
        if cqm.vartype(v) is dimod.REAL:
            raise InvalidRequest([FieldError(path, f"variable {v!r} is continuous; only binary and integer "
                                                   f"variables are supported")])
        if cqm.vartype(v) is dimod.INTEGER and cqm.upper_bound(v) > _MAX_INTEGER_BOUND:
            raise InvalidRequest([FieldError(path, f"integer variable {v!r} has no finite upper bound")])
    return cqm, (-1 if objective_sense(text) == "max" else 1)


# -- parameters and results ------------------------------------------------------------
def _integral(value):
    if isinstance(value, float) and math.isfinite(value) and value == int(value) and abs(value) < 2**63:
        return int(value)
    if isinstance(value, list):
        return [_integral(v) for v in value]
    if isinstance(value, dict):
        return {k: _integral(v) for k, v in value.items()}
    return value


def parameters_from_struct(struct: struct_pb2.Struct) -> dict:
    """Sampler parameters from a ``google.protobuf.Struct``; integral doubles become ints
    (Struct numbers are doubles, so ``num_reads: 10`` arrives as 10.0)."""
    return {k: _integral(_value(v)) for k, v in struct.fields.items()}


def _value(v: struct_pb2.Value):
    """A ``google.protobuf.Value`` as plain Python (NaN and infinities kept as floats, so
    the parameter check names the parameter)."""
    kind = v.WhichOneof("kind")
    if kind == "number_value":
        return v.number_value
    if kind == "string_value":
        return v.string_value
    if kind == "bool_value":
        return v.bool_value
    if kind == "struct_value":
        return {k: _value(x) for k, x in v.struct_value.fields.items()}
    if kind == "list_value":
        return [_value(x) for x in v.list_value.values]
    return None


def _struct(mapping: dict) -> struct_pb2.Struct:
    s = struct_pb2.Struct()
    s.update(_plain(mapping))
    return s


def _plain(value):
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    return str(value)


def response_from_result(result: Result, *, send_labels: bool, request_id: str = "",
                         objective_sign: int = 1) -> solver_service_pb2.SolveResponse:
    """The protobuf response for a :class:`Result` (samples in ``result.variables`` order).

    Candidates' ``objective``, ``feasible`` and ``violations`` are copied when the result
    has them (constrained models), and ``info`` (where each sample came from, e.g. the
    hybrid's ``branch`` and ``backend``) as strings. ``objective_sign=-1`` flips the objective back for a
    maximisation model that the service negated into a minimisation. A vartype with no
    protobuf value (a constrained model with integer variables) is sent UNSPECIFIED."""
    resp = solver_service_pb2.SolveResponse(vartype=VARTYPE_TO_PROTO.get(result.vartype, model_pb2.VARTYPE_UNSPECIFIED),
                                            request_id=request_id)
    variables = result.variables
    for c in result.candidates:
        pc = resp.candidates.add(energy=float(c.energy), num_occurrences=int(c.num_occurrences))
        pc.sample.extend(int(c.sample[v]) for v in variables)
        objective = getattr(c, "objective", None)
        if objective is not None:
            pc.objective = float(-objective if objective_sign < 0 else objective)
        if getattr(c, "feasible", None) is not None:
            pc.feasible = bool(c.feasible)
        for label, amount in (getattr(c, "violations", None) or {}).items():
            pc.violations[str(label)] = float(amount)
        for key, value in (getattr(c, "info", None) or {}).items():
            pc.info[str(key)] = str(value)
    if send_labels:
        resp.variables.extend(str(v) for v in variables)
    resp.confidence.CopyFrom(_struct(result.confidence))
    resp.provenance.CopyFrom(_struct(result.provenance))
    timing = dict(result.timing)
    resp.timing.total = float(timing.pop("total", 0.0))
    for k, v in timing.items():
        resp.timing.stages[k] = float(v)
    return resp


def result_from_response(resp: solver_service_pb2.SolveResponse, variables: list) -> Result:
    """A :class:`Result` from a response; ``variables`` are the caller's own labels, in the
    order the request sent them (the response's samples use that order)."""
    variables = list(variables)
    if len(resp.variables) and len(resp.variables) == len(variables):
        by_name = {str(v): v for v in variables}
        if all(name in by_name for name in resp.variables):
            variables = [by_name[name] for name in resp.variables]
    candidates = []
    for c in resp.candidates:
        candidates.append(Candidate(
            sample=dict(zip(variables, c.sample, strict=False)), energy=c.energy, num_occurrences=c.num_occurrences,
            objective=c.objective if c.HasField("objective") else None,
            feasible=c.feasible if c.HasField("feasible") else None,
            violations=dict(c.violations) if (len(c.violations) or c.HasField("feasible")) else None,
            info=dict(c.info) if len(c.info) else None))
    timing = dict(resp.timing.stages)
    timing["total"] = resp.timing.total
    return Result(candidates=candidates, variables=variables,
                  vartype=PROTO_TO_VARTYPE.get(resp.vartype, dimod.INTEGER),
                  confidence=_integral(json_format.MessageToDict(resp.confidence)),
                  provenance=_integral(json_format.MessageToDict(resp.provenance)), timing=timing)


def validate_response_from_report(report: dict) -> solver_service_pb2.ValidateProblemResponse:
    """The ``ValidateProblem`` response for a dry-run report.

    Args:
        report: as :func:`qopt.service.validation.inspect_problem` returns it: ``violations``
            (FieldErrors), ``num_variables``, ``num_interactions``, ``num_constraints``,
            ``notes`` (strings), ``qubits`` (backend -> count), ``estimated_seconds``
            (backend -> seconds) and, when known, ``num_variables_after_presolve``.

    Returns:
        ValidateProblemResponse: ``valid`` exactly when there is no violation; one
        ``violations`` entry (field path, description) per FieldError.
    """
    resp = solver_service_pb2.ValidateProblemResponse(
        valid=not report["violations"], num_variables=report["num_variables"],
        num_interactions=report["num_interactions"], num_constraints=report["num_constraints"],
        notes=report["notes"])
    for v in report["violations"]:
        resp.violations.add(field=v.field, description=v.description)
    if "num_variables_after_presolve" in report:
        resp.num_variables_after_presolve = report["num_variables_after_presolve"]
    for k, v in report["qubits"].items():
        resp.qubits[k] = int(v)
    for k, v in report["estimated_seconds"].items():
        resp.estimated_seconds[k] = float(v)
    for k, v in report.get("estimated_cpu_seconds", {}).items():
        resp.estimated_cpu_seconds[k] = float(v)
    for k, v in report.get("estimated_bytes", {}).items():
        resp.estimated_bytes[k] = int(v)
    return resp


def list_backends_response(backends, config=None) -> solver_service_pb2.ListBackendsResponse:
    """The ``ListBackends`` response for ``backends``, an iterable of
    :class:`qopt.service.backends.BackendInfo` (one entry each, in order), with the server's
    cost limits from ``config`` (a :class:`qopt.service.limits.ServiceConfig`; its defaults when None)."""
    config = config or ServiceConfig()
    return solver_service_pb2.ListBackendsResponse(
        backends=[backend_to_proto(b) for b in backends], max_time_budget=config.max_time_budget,
        max_request_cpu_seconds=config.max_request_cpu_seconds, max_memory_bytes=config.max_memory_bytes)


def _bound(value) -> str:
    return "" if value is None else repr(value)


def backend_to_proto(info) -> solver_service_pb2.Backend:
    """The ``qopt.v1.Backend`` message of ``info`` (a :class:`qopt.service.backends.BackendInfo`), its parameter specs included (bounds as
    exact decimals, defaults as ``google.protobuf.Value``)."""
    msg = solver_service_pb2.Backend(name=info.name, description=info.description, available=info.available,
                     unavailable_reason=info.unavailable_reason, parameters=list(info.parameters),
                     max_variables=info.max_variables, quantum=info.quantum, simulator=info.simulator,
                     hybrid=info.hybrid)
    for d in info.parameter_specs:
        default = struct_pb2.Value()
        if d["default"] is None:
            default.null_value = struct_pb2.NULL_VALUE
        elif isinstance(d["default"], list):
            default.list_value.extend(d["default"])
        elif isinstance(d["default"], bool):
            default.bool_value = d["default"]
        elif isinstance(d["default"], str):
            default.string_value = d["default"]
        else:
            default.number_value = float(d["default"])
        msg.parameter_specs.add(name=d["name"], type=d["type"], default=default, minimum=_bound(d["minimum"]),
                                maximum=_bound(d["maximum"]), exclusive_minimum=d["exclusive_minimum"],
                                choices=[str(c) for c in d["choices"] or ()], unit=d["unit"], doc=d["doc"],
                                nullable=d["nullable"])
    return msg


def locate_decode_error(data: bytes, descriptor, path: str = "") -> tuple[str, str]:
    """Find why ``data`` does not parse as the message ``descriptor`` describes.

    Walks the protobuf wire format guided by the descriptor and returns ``(field path,
    description)`` of the first string field that is not valid UTF-8 (the usual cause:
    proto3 ``string`` fields must be UTF-8), or of the first malformed field; ``("",
    "malformed protobuf message")`` when it cannot tell.
    """
    from google.protobuf.descriptor import FieldDescriptor as F

    counts: dict[int, int] = {}
    pos, end = 0, len(data)

    def varint(p):
        result = shift = 0
        while True:
            if p >= end:
                raise IndexError
            b = data[p]
            result |= (b & 0x7F) << shift
            p += 1
            if not b & 0x80:
                return result, p
            shift += 7
            if shift > 70:
                raise IndexError

    try:
        while pos < end:
            key, pos = varint(pos)
            number, wire = key >> 3, key & 7
            field = descriptor.fields_by_number.get(number)
            name = f"{path}{'.' if path else ''}{field.name if field else number}"
            if wire == 0:
                _, pos = varint(pos)
                continue
            if wire == 1:
                pos += 8
                continue
            if wire == 5:
                pos += 4
                continue
            if wire != 2:
                return name, f"unsupported wire type {wire}"
            length, pos = varint(pos)
            chunk = data[pos:pos + length]
            if len(chunk) != length:
                return name, "truncated field"
            pos += length
            if field is None:
                continue
            index = ""
            if _is_repeated(field) and not (field.message_type and field.message_type.GetOptions().map_entry):
                k = counts.get(number, 0)
                counts[number] = k + 1
                index = f"[{k}]"
            if field.type == F.TYPE_STRING:
                try:
                    chunk.decode("utf-8")
                except UnicodeDecodeError as exc:
                    return f"{name}{index}", f"not valid UTF-8 ({exc.reason} at byte {exc.start})"
            elif field.type == F.TYPE_MESSAGE:
                inner = locate_decode_error(chunk, field.message_type, f"{name}{index}")
                if inner[0]:
                    return inner
    except IndexError:
        return path or "request", "truncated or malformed protobuf message"
    return "", "malformed protobuf message"


def _is_repeated(field) -> bool:
    flag = getattr(field, "is_repeated", None)
    if flag is not None:
        return bool(flag)
    return field.label == field.LABEL_REPEATED
