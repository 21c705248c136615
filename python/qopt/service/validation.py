"""Request checks for every RPC: configured size limits, problem decoding (through
:mod:`qopt.service.convert`, which owns the protobuf <-> model conversion), backend and
sampler parameters, and the ``ValidateProblem`` dry run.

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

from qopt.errors import InvalidInput, ModelError, ParameterError, PreflightError, UnknownBackendError
from qopt.model.formats import lp as lp_format
from qopt.preflight import preflight
from qopt.presolve import presolve
from qopt.samplers.registry import parameter_spec, parameter_specs
from qopt.samplers.spec import ParameterSpec
from qopt.service import convert, cost
from qopt.service.admission import check_estimate
from qopt.service.backends import WIRE_EXCLUDED_PARAMETERS
from qopt.service.convert import FieldError, InvalidRequest, parameters_from_struct
from qopt.service.limits import LimitExceeded, ServiceConfig
from qopt.solve.constrained import CONSTRAINED_OPTIONS
from qopt.solve.fallback import fallback_mode
from qopt.solve.parameters import INTERNAL_PARAMETERS
from qopt.solve.routing import ROUTING_OPTIONS, check_quantum
from qopt.v1 import model_pb2

__all__ = ["DecodedProblem", "decode_problem", "check_limits", "check_parameters", "check_request",
           "inspect_problem", "request_estimate", "time_budget_of", "check_envelope", "check_identifier",
           "check_identifiers", "check_struct", "check_lp_text"]

# ValidateProblem runs presolve only up to this size, to stay a quick dry run.
PRESOLVE_MAX_VARIABLES = 20_000


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
        structure: the structure the constrained model declares (``problem.structure``,
            :attr:`qopt.model.Problem.structure`), or None.
    """

    model: dimod.BinaryQuadraticModel | dimod.ConstrainedQuadraticModel
    kind: str
    num_variables: int
    num_interactions: int
    num_constraints: int = 0
    send_labels: bool = False
    objective_sign: int = 1
    structure: dict | None = None


def _raise(problems: list[FieldError]) -> None:
    if problems:
        raise InvalidRequest(problems)


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


# -- bounded input: checked before anything is decoded -------------------------------------
def check_identifier(field: str, value: str, limit_name: str, config: ServiceConfig) -> None:
    """Refuse an identifier (``request_id``, ``backend``, ``job_id``, ``page_token``) longer
    than the configured ``limit_name`` characters, before it is used or quoted anywhere.

    Raises:
        InvalidRequest: ``field`` is too long (the description names the limit, not the value).
    """
    limit = getattr(config, limit_name)
    if len(value) > limit:
        raise InvalidRequest([FieldError(field, f"is {len(value)} characters long; at most {limit} are accepted "
                                                f"({limit_name})")])


def check_struct(struct, config: ServiceConfig, field: str = "parameters") -> None:
    """Bound a ``google.protobuf.Struct`` before it is converted: its top-level keys, its
    nesting depth and its values counted through every nested Struct and list. The walk
    stops at the first limit passed, so its cost is bounded by the limits, not the input.

    Raises:
        InvalidRequest: more than ``max_parameter_keys`` keys, or nesting deeper than
            ``max_struct_depth`` (``.field`` is ``field``).
        LimitExceeded: more than ``max_struct_values`` values (``max_struct_values``).
    """
    keys = len(struct.fields)
    if keys > config.max_parameter_keys:
        raise InvalidRequest([FieldError(field, f"has {keys} keys; at most {config.max_parameter_keys} are accepted "
                                                f"(max_parameter_keys)")])
    values = 0
    stack = [(v, 1) for v in struct.fields.values()]  # (value, depth of the container holding it)
    while stack:
        value, depth = stack.pop()
        values += 1
        if values > config.max_struct_values:
            raise LimitExceeded("max_struct_values", f"{field} has more than {config.max_struct_values} values "
                                                     f"(max_struct_values)")
        kind = value.WhichOneof("kind")
        if kind == "struct_value":
            inner = value.struct_value.fields.values()
        elif kind == "list_value":
            inner = value.list_value.values
        else:
            continue
        if depth + 1 > config.max_struct_depth:
            raise InvalidRequest([FieldError(field, f"is nested deeper than {config.max_struct_depth} levels "
                                                    f"(max_struct_depth)")])
        stack.extend((v, depth + 1) for v in inner)


def check_lp_text(text: str, config: ServiceConfig, field: str = "problem.lp") -> None:
    """Bound LP text before it is read: its size in bytes and lines, its constraints as
    counted from the text (:func:`qopt.model.formats.lp.count_constraints`), and no control
    characters.

    Raises:
        LimitExceeded: over ``max_lp_bytes``, ``max_lp_lines`` or ``max_constraints``.
        InvalidRequest: a control character (``problem.lp: contains control character
            U+0000 at offset 0``).
    """
    size = len(text) if len(text) * 4 <= config.max_lp_bytes else len(text.encode("utf-8", "surrogatepass"))
    if size > config.max_lp_bytes:
        raise LimitExceeded("max_lp_bytes", f"{field} has {size} bytes; this server accepts at most "
                                            f"{config.max_lp_bytes} (max_lp_bytes)")
    lines = text.count("\n") + 1
    if lines > config.max_lp_lines:
        raise LimitExceeded("max_lp_lines", f"{field} has {lines} lines; this server accepts at most "
                                            f"{config.max_lp_lines} (max_lp_lines)")
    bad = lp_format.find_control_character(text)
    if bad is not None:
        raise InvalidRequest([FieldError(field, f"contains control character {bad[1]} at offset {bad[0]}")])
    constraints = lp_format.count_constraints(text)
    if constraints > config.max_constraints:
        raise LimitExceeded("max_constraints", f"{field} has about {constraints} constraints (counted from the text); "
                                               f"this server accepts at most {config.max_constraints} "
                                               f"(max_constraints)")


def check_envelope(request, config: ServiceConfig) -> None:
    """The checks made before anything of a ``Solve`` / ``SubmitJob`` / ``ValidateProblem``
    request is decoded: ``request_id``, ``backend`` and ``problem.name`` lengths and the
    ``parameters`` Struct's size (:func:`check_struct`). LP text is bounded by
    :func:`decode_problem` before it is read (:func:`check_lp_text`).

    Raises:
        InvalidRequest: an identifier too long, parameters too many or too deep.
        LimitExceeded: ``parameters`` over ``max_struct_values``.
    """
    check_identifiers(request, config)
    check_struct(request.parameters, config)


def check_identifiers(request, config: ServiceConfig) -> None:
    """The length checks of :func:`check_envelope` alone (``request_id``, ``backend``,
    ``problem.name``): what ``Solve`` and ``SubmitJob`` check before they hash the request
    and look its request_id up (the rest follows in :func:`check_request`).

    Raises:
        InvalidRequest: an identifier too long.
    """
    if hasattr(request, "request_id"):
        check_identifier("request_id", request.request_id, "max_request_id_length", config)
    check_identifier("backend", request.backend, "max_backend_name_length", config)
    check_identifier("problem.name", request.problem.name, "max_problem_name_length", config)


def decode_problem(problem: model_pb2.Problem, config: ServiceConfig) -> DecodedProblem:
    """Validate and decode ``problem`` (checking the size limits first, before decoding).

    LP text is bounded (:func:`check_lp_text`), then read in a worker process stopped after
    ``config.lp_parse_seconds`` (:func:`qopt.model.formats.lp.probe`), its sizes checked
    against the limits, and only then read here.

    Raises:
        InvalidRequest: the problem is malformed (all violations listed); LP text that
            cannot be read in time; a ``problem.structure`` on a BQM, without a ``kind``
            string, or nested deeper than ``max_struct_depth``.
        LimitExceeded: it is larger than a configured limit (``problem.structure`` over
            ``max_struct_values`` included).
    """
    kind = problem.WhichOneof("model")
    if kind is None:
        raise InvalidRequest([FieldError("problem", "a model is required (problem.bqm, problem.cqm or problem.lp)")])
    structure = _structure(problem, kind, config)
    check_limits(*_size_of(problem), config)
    if kind == "bqm":
        bqm = convert.bqm_from_proto(problem.bqm)
        return DecodedProblem(bqm, "bqm", bqm.num_variables, bqm.num_interactions,
                              send_labels=bool(len(problem.bqm.labels)))
    if kind == "cqm":
        cqm, sign = convert.cqm_from_proto(problem.cqm)
        kind_ = "cqm"
    else:
        check_lp_text(problem.lp, config)
        if not problem.lp.strip():
            raise InvalidRequest([FieldError("problem.lp", "empty LP text")])
        try:
            variables, constraints, quadratic = lp_format.probe(problem.lp, config.lp_parse_seconds,
                                                                field="problem.lp")
        except ModelError as exc:
            raise InvalidRequest([FieldError("problem.lp", exc.description)]) from None
        check_limits(variables, quadratic, constraints, config)
        cqm, sign = convert.cqm_from_lp(problem.lp)
        kind_ = "lp"
    return DecodedProblem(cqm, kind_, len(cqm.variables), _cqm_interactions(cqm), len(cqm.constraints),
                          send_labels=True, objective_sign=sign, structure=structure)


def _structure(problem: model_pb2.Problem, kind: str, config: ServiceConfig) -> dict | None:
    """``problem.structure`` as a dict (None when absent), bounded before it is read."""
    if not problem.HasField("structure"):
        return None
    field = "problem.structure"
    check_struct(problem.structure, config, field=field)
    if kind == "bqm":
        raise InvalidRequest([FieldError(field, "applies to a constrained model (problem.cqm or problem.lp), "
                                                "not to problem.bqm")])
    structure = convert.parameters_from_struct(problem.structure)
    if not isinstance(structure.get("kind"), str) or not structure["kind"]:
        raise InvalidRequest([FieldError(field, "must have a 'kind' string (e.g. {'kind': 'tsp', ...} from "
                                                "qopt.model.templates.tsp)")])
    return structure


def _cqm_interactions(cqm: dimod.ConstrainedQuadraticModel) -> int:
    return len(cqm.objective.quadratic) + sum(len(c.lhs.quadratic) for c in cqm.constraints.values())


# -- parameters ---------------------------------------------------------------------------
#: Parameters capped by this server's configuration (ServiceConfig attribute), over which a
#: request is RESOURCE_EXHAUSTED rather than invalid.
_CAPS = {"num_reads": "max_num_reads", "num_sweeps": "max_num_sweeps", "shots": "max_shots"}


def _backend_specs(name: str) -> dict[str, ParameterSpec]:
    """The specs a request for backend ``name`` is checked against: that backend's, or
    (``"auto"``) every installed backend's, as the pipeline sets aside the parameters the
    chosen backend does not take.

    Raises:
        UnknownBackendError: ``name`` is not a backend.
        ImportError: its module cannot be imported here.
    """
    if name == "auto":
        return parameter_specs()
    return {name: parameter_spec(name)}


def _check_value(key: str, value, specs: dict[str, ParameterSpec]) -> str | None:
    """None when some backend in ``specs`` accepts ``value`` for ``key``, else why not (the
    first backend's message)."""
    first = None
    for spec in specs.values():
        if key not in spec:
            continue
        param = spec[key]
        if not param.wire:
            message = f"{key} takes a Python object, which cannot be sent over the wire"
        else:
            try:
                param.check(value)
                return None
            except ParameterError as exc:
                message = str(exc)
        first = first or message
    return first


def _check_routing_option(key: str, value) -> str | None:
    """What is wrong with routing option ``key`` sent over the wire (None: fine)."""
    if key == "routing_profile":
        return ("routing_profile names a file on the server and is not accepted in a request; the server "
                "uses its own profile ($QOPT_ROUTING_PROFILE or the shipped one)")
    try:
        check_quantum(value)
    except InvalidInput as exc:
        return exc.description
    return None


def check_parameters(backend: str, parameters: dict, config: ServiceConfig, model=None) -> list[FieldError]:
    """Every problem with ``backend``, ``parameters`` and the model's size as FieldErrors
    (``backend``, ``parameters.NAME``, ``problem``), checked against the backends' parameter
    specs (:mod:`qopt.samplers.spec`) without running anything: what ``Solve`` refuses,
    ``ValidateProblem`` reports.

    Args:
        backend: the request's backend ("" or ``"auto"``: a parameter is valid when some
            installed backend accepts it with that value).
        parameters: the decoded ``parameters`` Struct.
        config: the server's configuration (its caps on ``num_reads``, ``num_sweeps``, ``shots``).
        model: the decoded model, when it decoded: its variable count is checked against the
            backend's size rule (exact enumeration, the QAOA qubit budget or ``max_qubits``),
            and a constrained model also accepts the penalty options of
            :data:`qopt.solve.constrained.CONSTRAINED_OPTIONS`. The routing option ``quantum``
            (``"avoid"``, ``"auto"``, ``"prefer"``; :func:`qopt.solve.routing.check_quantum`)
            is accepted with any backend; ``routing_profile`` (a server-side file) is not.

    ``fallback`` (the pipeline's fallback mode, :func:`qopt.solve.fallback.fallback_mode`) is
    accepted with every backend.

    Raises:
        LimitExceeded: ``num_reads``, ``num_sweeps`` or ``shots`` over its configured cap.
    """
    out: list[FieldError] = []
    name = backend or "auto"
    try:
        specs = _backend_specs(name)
    except UnknownBackendError as exc:
        return [FieldError("backend", str(exc))]
    except ImportError as exc:
        return [FieldError("backend", f"backend {name!r} is not available here: {exc}")]
    accepted = set().union(*specs.values()) if specs else set()
    constrained = model is not None and not isinstance(model, dimod.BinaryQuadraticModel)
    if constrained:
        accepted = accepted | CONSTRAINED_OPTIONS  # penalty calibration options of constrained models
    valid: dict = {}
    for key in sorted(parameters):
        value = parameters[key]
        if key in WIRE_EXCLUDED_PARAMETERS:
            out.append(FieldError(f"parameters.{key}", f"{key} {WIRE_EXCLUDED_PARAMETERS[key]}"))
            continue
        if key in INTERNAL_PARAMETERS:
            out.append(FieldError(f"parameters.{key}", f"{key} is set by the server (cancellation and WatchJob "
                                                       f"progress), not by the request"))
            continue
        if key == "fallback":  # the pipeline's own option (qopt.solve's ``fallback``), for every backend
            try:
                fallback_mode(value)
            except ParameterError as exc:
                out.append(FieldError("parameters.fallback", str(exc)))
            continue
        if key in ROUTING_OPTIONS:  # options of backend="auto" (qopt.solve.routing), not sampler parameters
            problem = _check_routing_option(key, value)
            if problem is not None:
                out.append(FieldError(f"parameters.{key}", problem))
            continue
        if key not in accepted:
            out.append(FieldError(f"parameters.{key}", f"{key} is not a parameter of backend {name!r} "
                                                       f"(accepted: {', '.join(sorted(accepted))})"))
            continue
        if not (constrained and key in CONSTRAINED_OPTIONS):
            problem = _check_value(key, value, specs)
            if problem is not None:
                out.append(FieldError(f"parameters.{key}", problem))
                continue
        if key == "quantum_parameters" and isinstance(value, dict):
            nested = _check_quantum_parameters(value, parameters, specs, config)
            if nested:
                out.extend(nested)
                continue
        valid[key] = value
        if key in _CAPS and isinstance(value, int) and not isinstance(value, bool):
            cap = getattr(config, _CAPS[key])
            if value > cap:
                raise LimitExceeded(_CAPS[key], f"{key}={value} is over this server's limit of {cap} "
                                                f"({_CAPS[key]})")
    if model is not None and name != "auto":
        # a constrained model only grows when compiled (slack variables): its count is a lower bound
        try:
            specs[name].check_size(len(model.variables), valid)
        except InvalidInput as exc:
            out.append(FieldError("problem", str(exc)))
    return out


def _check_quantum_parameters(qparams: dict, parameters: dict, specs: dict[str, ParameterSpec],
                              config: ServiceConfig) -> list[FieldError]:
    """Every problem with the hybrid's ``quantum_parameters``, checked against the parameter
    spec of its quantum backend (``parameters.quantum_backend``, else the hybrid's default),
    each naming ``parameters.quantum_parameters.KEY``. Empty when the request has no hybrid
    spec or its quantum backend is itself invalid (reported on ``parameters.quantum_backend``).

    Raises:
        LimitExceeded: a nested ``num_reads``, ``num_sweeps`` or ``shots`` over its cap.
    """
    hybrid = specs.get("hybrid")
    if hybrid is None or "quantum_backend" not in hybrid:
        return []
    name = parameters.get("quantum_backend", hybrid["quantum_backend"].default)
    if not isinstance(name, str):
        return []
    try:
        qspec = parameter_spec(name)
    except (UnknownBackendError, ImportError):
        return []
    out: list[FieldError] = []
    accepted = sorted(k for k in qspec if qspec[k].wire and k not in INTERNAL_PARAMETERS)
    for key in sorted(qparams):
        field = f"parameters.quantum_parameters.{key}"
        value = qparams[key]
        if key in INTERNAL_PARAMETERS:
            out.append(FieldError(field, f"{key} is set by the hybrid sampler for each subproblem, not by the request"))
        elif key in WIRE_EXCLUDED_PARAMETERS or (key in qspec and not qspec[key].wire):
            out.append(FieldError(field, f"{key} takes a Python object, which cannot be sent over the wire"))
        elif key not in qspec:
            out.append(FieldError(field, f"{key} is not a parameter of quantum backend {name!r} "
                                         f"(accepted: {', '.join(accepted)})"))
        else:
            try:
                qspec[key].check(value)
            except ParameterError as exc:
                out.append(FieldError(field, str(exc)))
                continue
            if key in _CAPS and isinstance(value, int) and not isinstance(value, bool):
                cap = getattr(config, _CAPS[key])
                if value > cap:
                    raise LimitExceeded(_CAPS[key], f"quantum_parameters.{key}={value} is over this server's limit "
                                                    f"of {cap} ({_CAPS[key]})")
    return out


def check_request(request, config: ServiceConfig) -> tuple[DecodedProblem, dict]:
    """Validate a SolveRequest / SubmitJobRequest: problem, backend, parameters,
    max_candidates. Returns the decoded problem and the parameters.

    Raises:
        InvalidRequest: every violation found (problem first).
        LimitExceeded: a size or parameter over a configured limit.
    """
    check_envelope(request, config)
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
    if budget > config.max_time_budget:
        raise LimitExceeded("max_time_budget", f"time_budget={budget:g} s is over this server's limit of "
                                               f"{config.max_time_budget:g} s (max_time_budget)")
    return decoded, parameters


def time_budget_of(request, config: ServiceConfig) -> float:
    """Seconds a job may run: its ``time_budget``, or ``config.max_time_budget`` when 0 (never
    unlimited)."""
    budget = getattr(request, "time_budget", 0.0)
    return min(budget, config.max_time_budget) if budget > 0 else config.max_time_budget


def request_estimate(request, parameters: dict, *, decoded: DecodedProblem | None = None,
                     time_budget: float | None = None) -> cost.Estimate:
    """The cost of ``request`` (:func:`qopt.service.cost.estimate`) from the decoded sizes,
    or, without ``decoded``, from the sizes the request declares (an LP declares none: its
    estimate then counts no variables).

    Args:
        request: a SolveRequest, SubmitJobRequest or ValidateProblemRequest.
        parameters: its decoded parameters.
        decoded: the decoded problem, when at hand.
        time_budget: the request's deadline (seconds), which routes ``"auto"``.
    """
    if decoded is not None:
        n, m = decoded.num_variables, decoded.num_interactions
    else:
        n, m, _ = _size_of(request.problem)
    return cost.estimate(request.backend, n, m, parameters, time_budget=time_budget)


# -- dry run ------------------------------------------------------------------------------
def inspect_problem(request, config: ServiceConfig) -> dict:
    """Everything ``ValidateProblem`` reports, without running a sampler.

    Returns:
        dict with ``num_variables``, ``num_interactions``, ``num_constraints``,
        ``violations`` (FieldErrors: every problem :func:`check_request` would refuse, the
        size limits and parameter caps included), ``qubits`` (backend -> qubits: one per
        variable for ``qaoa``; for ``dwave`` one per variable, a lower bound as chains add
        more), ``estimated_seconds``, ``estimated_cpu_seconds`` and ``estimated_bytes``
        (backend -> wall seconds, CPU-seconds, bytes: the cost model of
        :mod:`qopt.service.cost` that admission uses, for ``sa`` and for the requested
        backend, or the one ``auto`` routes to; a request over ``max_request_cpu_seconds``
        or ``max_memory_bytes`` is a violation on ``parameters``), ``notes`` (how each
        estimate was made) and, for a BQM of at most
        ``PRESOLVE_MAX_VARIABLES``, ``num_variables_after_presolve``.
    """
    report: dict = {"violations": [], "qubits": {}, "estimated_seconds": {}, "estimated_cpu_seconds": {},
                    "estimated_bytes": {}, "notes": []}
    problem = request.problem
    n, m, c = _size_of(problem)
    report.update(num_variables=n, num_interactions=m, num_constraints=c)
    try:
        check_envelope(request, config)
    except InvalidRequest as exc:
        report["violations"].extend(exc.violations)
        return report
    except LimitExceeded as exc:
        report["violations"].append(FieldError("parameters", exc.description))
        return report
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
    except Exception as exc:  # noqa: BLE001 - a Struct that does not decode
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
    if bqm is not None and bqm.num_variables <= PRESOLVE_MAX_VARIABLES:
        try:
            report["num_variables_after_presolve"] = presolve(bqm).num_free
            report["notes"].append("variables after presolve: qopt.presolve.presolve (fixings)")
        except InvalidInput as exc:  # an estimate must not fail the dry run
            report["notes"].append(f"presolve estimate unavailable: {exc}")
    report["qubits"]["qaoa"] = n_eff
    report["qubits"]["dwave"] = n_eff
    report["notes"].append("dwave qubits: one per variable (a lower bound; chains add more)")
    if bqm is not None and (request.backend or "auto") in ("qaoa", "auto"):
        try:
            pre = preflight(bqm, "qaoa", transpile=False, **_qaoa_parameters(parameters))
            report["estimated_seconds"]["qaoa"] = pre["estimated_seconds"]
            report["notes"].append(f"qaoa time: {pre['estimate_model']}")
        except (PreflightError, ParameterError) as exc:
            report["notes"].append(f"qaoa estimate unavailable: {exc}")
    # the cost model admission uses (qopt.service.cost): sa always, and the requested backend
    n_int = report["num_interactions"]
    names = ["sa"] + [b for b in (request.backend or "auto",) if b != "sa"]
    for name in names:
        try:
            # a dry run has no deadline: it gets what a request without one gets, max_time_budget
            est = cost.estimate(name, n_eff, n_int, parameters, time_budget=config.max_time_budget)
        except Exception as exc:  # noqa: BLE001 - an estimate must not fail the dry run
            report["notes"].append(f"{name} estimate unavailable: {exc}")
            continue
        key = est.backend
        report["estimated_seconds"][key] = est.wall_seconds
        report["estimated_cpu_seconds"][key] = est.cpu_seconds
        report["estimated_bytes"][key] = est.memory_bytes
        routed = f" (auto routes these sizes to {key})" if name == "auto" else ""
        report["notes"].append(f"sa time = {est.model}" if name == "sa" else f"{key} cost: {est.describe()}{routed}")
        if name == (request.backend or "auto") and not report["violations"]:
            try:
                check_estimate(est, config)  # what Solve and SubmitJob refuse by
            except LimitExceeded as exc:
                report["violations"].append(FieldError("parameters", exc.description))
    return report


def _qaoa_parameters(parameters: dict) -> dict:
    """The request's parameters that the QAOA preflight reads (names of the qaoa spec)."""
    names = ("reps", "shots", "maxiter", "optimizer", "max_qubits", "optimization_level", "evaluator")
    return {k: parameters[k] for k in names if k in parameters}


def _param_of(subject: str) -> str:
    return {v: k for k, v in _CAPS.items()}.get(subject, subject)
