"""The ``qopt`` command line's exit codes: one table, chosen by the exception's class.

Every command returns :func:`exit_code` of what stopped it (0 when nothing did); the
table is listed in ``qopt --help`` (:func:`epilog`) and in the README.

====  ===========  ===========================================================================
code  name         when
====  ===========  ===========================================================================
0     ok           success
1     internal     an unexpected error (a defect): gRPC ``INTERNAL`` / ``UNKNOWN`` / ``DATA_LOSS``,
                   any exception qopt does not raise on purpose
2     usage        bad command line or input: unreadable file, unknown format, backend or
                   parameter (:class:`qopt.errors.InvalidInput`, ``INVALID_ARGUMENT``),
                   unknown job (``NOT_FOUND``), request_id reused (``ALREADY_EXISTS``),
                   model kind not supported (``UNIMPLEMENTED``)
3     limit        over a resource limit (:class:`qopt.errors.ResourceLimitError`,
                   ``RESOURCE_EXHAUSTED``)
4     backend      a backend is unavailable or not configured (:class:`qopt.errors.BackendError`,
                   ``FAILED_PRECONDITION``, a job that FAILED ``UNAVAILABLE``), or the job's
                   state does not allow the action (cancelling a finished job)
5     deadline     no result in time (:class:`qopt.errors.NoResultInTime`, ``DEADLINE_EXCEEDED``,
                   ``qopt result --timeout`` passed)
6     cancelled    the work was cancelled (:class:`qopt.errors.Cancelled`, ``CANCELLED``, a
                   CANCELLED job, Ctrl-C)
7     server       the server is unreachable, or refused the token (``UNAUTHENTICATED``,
                   ``PERMISSION_DENIED``, ``UNAVAILABLE`` from the connection)
====  ===========  ===========================================================================
"""
from __future__ import annotations

import sys

from qopt.errors import BackendError, Cancelled, InvalidInput, NoResultInTime, ResourceLimitError

__all__ = ["OK", "INTERNAL", "USAGE", "LIMIT", "BACKEND", "DEADLINE", "CANCELLED", "SERVER", "EXIT_CODES",
           "exit_code", "epilog"]

OK = 0
INTERNAL = 1
USAGE = 2
LIMIT = 3
BACKEND = 4
DEADLINE = 5
CANCELLED = 6
SERVER = 7

#: ``(code, name, when)`` in code order: the one table (``qopt --help`` and the docs list it).
EXIT_CODES: tuple[tuple[int, str, str], ...] = (
    (OK, "ok", "success"),
    (INTERNAL, "internal", "an unexpected error (a defect in qopt; INTERNAL from the server)"),
    (USAGE, "usage", "bad command line or input: unreadable file, unknown format, backend or parameter, "
                     "unknown job, request_id reused"),
    (LIMIT, "limit", "over a resource limit (RESOURCE_EXHAUSTED)"),
    (BACKEND, "backend", "a backend unavailable or not configured (FAILED_PRECONDITION), or an action the "
                         "job's state does not allow"),
    (DEADLINE, "deadline", "no result in time (DEADLINE_EXCEEDED, --timeout passed)"),
    (CANCELLED, "cancelled", "the work or the job was cancelled"),
    (SERVER, "server", "the server is unreachable or refused the token (UNAVAILABLE, UNAUTHENTICATED)"),
)

# gRPC status code name -> exit code (for qopt.client.SolveError.code)
_GRPC: dict[str, int] = {
    "OK": OK,
    "INVALID_ARGUMENT": USAGE, "NOT_FOUND": USAGE, "ALREADY_EXISTS": USAGE, "OUT_OF_RANGE": USAGE,
    "UNIMPLEMENTED": USAGE,
    "RESOURCE_EXHAUSTED": LIMIT,
    "FAILED_PRECONDITION": BACKEND, "ABORTED": BACKEND,
    "DEADLINE_EXCEEDED": DEADLINE,
    "CANCELLED": CANCELLED,
    "UNAUTHENTICATED": SERVER, "PERMISSION_DENIED": SERVER, "UNAVAILABLE": SERVER,
}


def exit_code(exc: BaseException | None, *, server_reachable: bool | None = None) -> int:
    """The exit code for what stopped a command (:data:`EXIT_CODES`).

    Args:
        exc: the exception, or None (success: 0).
        server_reachable: for a ``qopt.client.SolveError`` with code ``UNAVAILABLE``: True
            when the server answered (the backend behind it is unavailable: 4), False or
            None when it could not be reached (7). A job that FAILED ``UNAVAILABLE``
            (``qopt.client.JobFailed``) ran on a reachable server: 4.

    Returns:
        An exit code of :data:`EXIT_CODES`.
    """
    if exc is None:
        return OK
    client = sys.modules.get("qopt.client")  # never imported: no SolveError can exist
    if client is not None and isinstance(exc, client.SolveError):
        name = exc.code.name
        if name == "UNAVAILABLE" and (server_reachable or isinstance(exc, client.JobFailed)):
            return BACKEND
        return _GRPC.get(name, INTERNAL)
    if isinstance(exc, ResourceLimitError):  # before InvalidInput: MemoryLimitError is a ValueError too
        return LIMIT
    if isinstance(exc, InvalidInput):
        return USAGE
    if isinstance(exc, (BackendError, ConnectionError)):
        return BACKEND
    if isinstance(exc, (NoResultInTime, TimeoutError)):
        return DEADLINE
    if isinstance(exc, (Cancelled, KeyboardInterrupt)):
        return CANCELLED
    if isinstance(exc, OSError):  # an unreadable file (TimeoutError and ConnectionError are handled above)
        return USAGE
    return INTERNAL


def epilog() -> str:
    """The exit-code table as ``qopt --help`` shows it."""
    width = max(len(name) for _, name, _ in EXIT_CODES)
    return "exit codes:\n" + "\n".join(f"  {code}  {name:<{width}}  {when}" for code, name, when in EXIT_CODES)
