"""The one exception tree of qopt (after dimod's ``exceptions.py``).

Every error qopt raises on purpose is a :class:`QoptError`. Callers catch by class, and
the service maps classes (never message texts) to gRPC codes
(:mod:`qopt.service.errors`):

=============================  ==========================================  =====================
class                          meaning                                     gRPC code
=============================  ==========================================  =====================
:class:`InvalidInput`          the caller's input is wrong; ``.field``     ``INVALID_ARGUMENT``
                               names it (``num_reads``, ``linear[3]``)
:class:`ResourceLimitError`    over a configured or physical limit;        ``RESOURCE_EXHAUSTED``
                               ``.field`` names the limit
:class:`BackendUnavailable`    transient backend failure: worth retrying   ``UNAVAILABLE``
:class:`BackendConfigurationError`  structural: the backend cannot run      ``FAILED_PRECONDITION``
                               here as configured (no credentials, no
                               embedding); retrying does not help
:class:`NoResultInTime`        no answer before the deadline               ``DEADLINE_EXCEEDED``
:class:`Cancelled`             the caller cancelled                        ``CANCELLED``
=============================  ==========================================  =====================

Anything else that escapes is a defect in qopt: the service answers ``INTERNAL`` with a
correlation id that is also in its log.

:func:`classify_error` is the one retry classifier: the hybrid's subproblem dispatch, the
fallback tiers and the job runner all ask it.
"""
from __future__ import annotations

import sys

__all__ = [
    "QoptError", "InvalidInput", "ParameterError", "ProblemError", "ModelError", "UnknownBackendError",
    "PreflightError", "UnsupportedProblem", "ResourceLimitError", "MemoryLimitError", "BackendError", "BackendUnavailable",
    "BackendConfigurationError", "EmbeddingError", "NoResultInTime", "Cancelled", "classify_error",
    "is_transient", "TRANSIENT", "STRUCTURAL",
]

TRANSIENT = "transient"
STRUCTURAL = "structural"


class QoptError(Exception):
    """Base class of every error qopt raises on purpose."""


class InvalidInput(QoptError, ValueError):
    """The caller's input is invalid.

    Attributes:
        field: the path of the offending input, relative to what the caller passed:
            a parameter name (``num_reads``), a part of a model (``linear[3]``,
            ``constraints['cap']``), or a request field (``problem.bqm.linear[3]``).
        description: what is wrong, without the field.
    """

    #: where :attr:`field` lives in a gRPC request (``"parameters"`` -> ``parameters.num_reads``);
    #: empty: ``field`` is already a request path.
    request_prefix = ""

    def __init__(self, field: str, description: str):
        super().__init__(f"{field}: {description}" if field else description)
        self.field = field
        self.description = description

    @property
    def request_field(self) -> str:
        """:attr:`field` as a gRPC request field path (``parameters.num_reads``)."""
        if not self.request_prefix:
            return self.field
        return f"{self.request_prefix}.{self.field}" if self.field else self.request_prefix


class ParameterError(InvalidInput):
    """A sampler or solve parameter is invalid; ``.field`` is the parameter's name.

    The message has the shape ``num_reads must be >= 1, was 0`` (the name, then the rule).
    """

    request_prefix = "parameters"

    def __init__(self, field: str, description: str):
        super().__init__(field, description)
        self.args = (f"{field} {description}",)

    @property
    def request_field(self) -> str:
        # max_candidates and time_budget are request fields, not entries of parameters
        if self.field in ("max_candidates", "time_budget", "backend"):
            return self.field
        return f"parameters.{self.field}"


class ProblemError(InvalidInput):
    """A BQM is invalid (empty, a non-finite bias); ``.field`` names the part (``linear[3]``)."""

    request_prefix = "problem.bqm"


class ModelError(InvalidInput):
    """A constrained model is invalid; ``.field`` names the part (``constraints['cap']``)."""

    request_prefix = "problem"


class UnsupportedProblem(InvalidInput, TypeError):
    """The problem is of a kind qopt cannot solve (not a BQM nor a constrained model it
    reads); ``.field`` is ``problem``."""

    def __init__(self, description: str, field: str = "problem"):
        super().__init__(field, description)
        self.args = (description,)


class UnknownBackendError(InvalidInput):
    """The backend name is not registered (or its module is not installed here)."""

    def __init__(self, description: str, field: str = "backend"):
        super().__init__(field, description)
        self.args = (description,)


class PreflightError(InvalidInput):
    """The problem does not fit the backend (too many qubits, too deep a circuit); the
    message gives the numbers. ``.field`` names what is over (``num_variables``, ``reps``)."""

    def __init__(self, description: str, field: str = "problem"):
        super().__init__(field, description)
        self.args = (description,)


class ResourceLimitError(QoptError):
    """A configured or physical limit refused the work.

    Attributes:
        field: the limit's name (``max_variables``, ``max_memory``, ``max_queue_length``).
        description: what was asked and what the limit is.
    """

    def __init__(self, field: str, description: str):
        super().__init__(f"{field}: {description}")
        self.field = field
        self.description = description


class MemoryLimitError(ResourceLimitError, ValueError):
    """A statevector does not fit the memory budget (or the engine's qubit limit).

    Attributes:
        needed: bytes the request needs.
        limit: bytes available (the ``max_memory`` argument or MemAvailable).
    """

    def __init__(self, message: str, needed: int, limit: int):
        super().__init__("max_memory", message)
        self.args = (message,)
        self.needed = int(needed)
        self.limit = int(limit)


class BackendError(QoptError):
    """A backend failed. ``.backend`` names it when known."""

    def __init__(self, message: str, backend: str | None = None):
        super().__init__(message)
        self.backend = backend


class BackendUnavailable(BackendError):
    """A transient backend failure worth retrying (service unavailable, rate limit, lost
    connection, a remote timeout)."""

    transient = True


class BackendConfigurationError(BackendError):
    """A structural backend failure: it cannot run here as configured (no credentials,
    no embedding, a device that does not exist). Retrying does not help."""

    transient = False


class EmbeddingError(BackendConfigurationError, ValueError):
    """minorminer found no embedding of the problem graph in the target graph."""


class NoResultInTime(QoptError):
    """No tier produced an answer before the deadline. ``.fallback_chain`` says what was tried."""

    def __init__(self, message: str, chain: list[dict] | None = None):
        super().__init__(message)
        self.fallback_chain = list(chain or [])


class Cancelled(QoptError):
    """The caller cancelled the solve (its cancel token was set) before it finished."""


# dwave-cloud-client's exceptions that mean "try again later" (dwave.cloud.exceptions)
_DWAVE_TRANSIENT = ("RequestTimeout", "PollingTimeout", "ServiceUnavailable", "RequestError")
# ... and the ones that never get better by retrying
_DWAVE_STRUCTURAL = ("SolverAuthenticationError", "SolverNotFoundError", "ConfigFileError", "InvalidAPIResponseError",
                     "ProblemStructureError", "SolverPropertyMissingError", "UseAfterCloseError")


def _dwave_classification(exc: BaseException) -> str | None:
    module = sys.modules.get("dwave.cloud.exceptions")
    if module is None:
        return None
    for name in _DWAVE_STRUCTURAL:
        cls = getattr(module, name, None)
        if isinstance(cls, type) and isinstance(exc, cls):
            return STRUCTURAL
    for name in _DWAVE_TRANSIENT:
        cls = getattr(module, name, None)
        if isinstance(cls, type) and isinstance(exc, cls):
            return TRANSIENT
    return None


def classify_error(exc: BaseException) -> str:
    """Whether a failure is worth retrying: ``"transient"`` or ``"structural"``.

    Transient: :class:`BackendUnavailable`, :class:`ConnectionError`, :class:`TimeoutError`,
    dwave-cloud-client's request, polling and availability errors, and any exception with
    a true ``transient`` attribute. Structural: everything else, in particular every
    :class:`InvalidInput`, :class:`ResourceLimitError`, :class:`BackendConfigurationError`,
    D-Wave authentication and solver-not-found errors, and a bug (``TypeError``,
    ``KeyError``, ...).
    """
    if isinstance(exc, (InvalidInput, ResourceLimitError, BackendConfigurationError, Cancelled)):
        return STRUCTURAL
    dwave = _dwave_classification(exc)
    if dwave is not None:
        return dwave
    if isinstance(exc, (BackendUnavailable, ConnectionError, TimeoutError)):
        return TRANSIENT
    return TRANSIENT if getattr(exc, "transient", False) is True else STRUCTURAL


def is_transient(exc: BaseException) -> bool:
    """``classify_error(exc) == "transient"``."""
    return classify_error(exc) == TRANSIENT
