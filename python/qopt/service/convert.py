"""Protobuf <-> domain conversion for qopt.v1, with request validation.

Every validation failure raises :class:`FieldError` carrying the request field path
(``problem.bqm.linear[3]``), which the servicer turns into ``INVALID_ARGUMENT`` with a
``google.rpc.BadRequest`` field violation.
"""
from __future__ import annotations

import math

import dimod
import numpy as np
from google.protobuf import json_format, struct_pb2

from qopt.errors import InvalidInput
from qopt.results import Candidate, Result
from qopt.v1 import model_pb2, results_pb2, solver_service_pb2

__all__ = ["FieldError", "InvalidRequest", "check_bqm", "bqm_from_proto", "bqm_to_proto", "parameters_from_struct",
           "response_from_result", "result_from_response", "VARTYPE_TO_PROTO"]

VARTYPE_TO_PROTO = {dimod.SPIN: model_pb2.VARTYPE_SPIN, dimod.BINARY: model_pb2.VARTYPE_BINARY}
PROTO_TO_VARTYPE = {v: k for k, v in VARTYPE_TO_PROTO.items()}


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
    if len(msg.labels):
        if len(msg.labels) != n:
            out.append(FieldError(f"{path}.labels", f"must be empty or have num_variables={n} entries, "
                                                    f"had {len(msg.labels)}"))
        elif len(set(msg.labels)) != n:
            out.append(FieldError(f"{path}.labels", "must be unique"))
    return out


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
        PROTO_TO_VARTYPE[msg.vartype], variable_order=labels)


def bqm_to_proto(bqm: dimod.BinaryQuadraticModel) -> model_pb2.BinaryQuadraticModel:
    """Protobuf form of ``bqm``: variables in ``bqm.variables`` order; labels are sent
    (as strings) unless they are exactly 0..n-1."""
    variables = list(bqm.variables)
    linear, (irow, icol, quad), offset = bqm.to_numpy_vectors(variables)
    msg = model_pb2.BinaryQuadraticModel(vartype=VARTYPE_TO_PROTO[bqm.vartype], num_variables=len(variables),
                                         offset=float(offset))
    msg.linear.extend(np.asarray(linear, dtype=float).tolist())
    msg.quadratic_row.extend(np.asarray(irow).tolist())
    msg.quadratic_col.extend(np.asarray(icol).tolist())
    msg.quadratic_bias.extend(np.asarray(quad, dtype=float).tolist())
    if variables != list(range(len(variables))):
        msg.labels.extend(str(v) for v in variables)
    return msg


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
        if getattr(c, "objective", None) is not None:
            pc.objective = float(-c.objective if objective_sign < 0 else c.objective)
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
            sample=dict(zip(variables, c.sample)), energy=c.energy, num_occurrences=c.num_occurrences,
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
