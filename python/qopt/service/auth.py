"""Authentication, isolation and per-call accounting: one gRPC server interceptor.

Clients send ``authorization: Bearer <token>`` metadata. The server's configuration
holds only SHA-256 hex digests of tokens, each mapped to a principal name
(:attr:`ServiceConfig.tokens`); a token is accepted when its digest is there (compared
in constant time). With no tokens configured, authentication is off and every caller is
the principal ``anonymous`` (the default, for ``make run`` on loopback). A call that
carries a token while authentication is off is served as ``anonymous`` and the token's
digest is logged once (never the token); with ``reject_tokens_when_auth_off`` it is
``UNAUTHENTICATED``.

Tokens reach the server from the configuration file (``[tokens]``), a tokens file
(:func:`read_tokens_file`: ``qopt serve --tokens-file PATH``), the environment
(:func:`tokens_from_env`: ``QOPT_TOKENS_SHA256``) or ``--token-sha256`` (visible in
``ps``; the server warns).

The interceptor also gives every call a :class:`CallContext` (a proxy of the gRPC
context with ``.principal`` and ``.method``), times it, and records its status code in
the metrics and the JSON log. Health checking is never authenticated; reflection is
when authentication is on. It bounds the RPC threads long calls hold (see
:attr:`qopt.service.limits.ServiceConfig.rpc_threads`): ``Solve`` and ``WatchJob``
together at most ``max_concurrent_solves + max_waiting_solves + max_watch_streams``, health ``Watch`` and
reflection streams at most ``max_public_streams``; beyond, ``RESOURCE_EXHAUSTED``.

Make a token and its digest::

    python -c "import secrets; print(secrets.token_urlsafe(32))"        # give to the client
    python -c "import hashlib,sys; print(hashlib.sha256(sys.argv[1].encode()).hexdigest())" TOKEN
"""
from __future__ import annotations

import hashlib
import hmac
import logging
import os
import re
import threading
import time

import grpc

from qopt.errors import InvalidInput
from qopt.service.observe import Metrics

__all__ = ["ANONYMOUS", "TOKENS_ENV", "AuthInterceptor", "CallContext", "hash_token", "principal_for",
           "principal_for_header", "parse_token_entry", "read_tokens_file", "tokens_from_env"]

ANONYMOUS = "anonymous"
#: environment variable holding ``DIGEST=PRINCIPAL`` entries (separated by commas or whitespace)
TOKENS_ENV = "QOPT_TOKENS_SHA256"
_HEALTH_PREFIX = "/grpc.health."
_REFLECTION_PREFIX = "/grpc.reflection."
_LONG_METHODS = {"Solve": "max_concurrent_solves", "SolveBatch": "max_concurrent_solves",
                 "WatchJob": "max_watch_streams"}
#: distinct digests remembered for the "token sent while auth is off" log line (bounded memory)
_MAX_LOGGED_DIGESTS = 1024
_ENTRY = re.compile(r"\s*([0-9a-fA-F]{64})(?:\s*=\s*|\s+)(\S+)\s*")

log = logging.getLogger("qopt.service.access")


def hash_token(token: str) -> str:
    """SHA-256 hex digest of a token, as stored in the configuration."""
    return hashlib.sha256(token.encode()).hexdigest()


def parse_token_entry(entry: str, source: str) -> tuple[str, str]:
    """One ``DIGEST PRINCIPAL`` (or ``DIGEST=PRINCIPAL``) entry as ``(digest, principal)``.

    Args:
        entry: the entry's text; the digest is 64 hex characters (SHA-256 of the token).
        source: where it came from, for the error (``--tokens-file qopt.tokens:3``).

    Raises:
        InvalidInput: the entry is not a digest and a principal (``.field`` = ``source``).
    """
    match = _ENTRY.fullmatch(entry)
    if match is None:
        raise InvalidInput(source, "expected 'SHA256-HEX PRINCIPAL' (64 hex digits, then a name without spaces)")
    return match[1].lower(), match[2]


def read_tokens_file(path: str | os.PathLike) -> dict[str, str]:
    """Tokens from a file: one ``sha256-hex principal`` per line; blank lines and lines
    starting with ``#`` are skipped.

    Returns:
        sha256 hex digest -> principal.

    Raises:
        OSError: the file cannot be read.
        InvalidInput: a line is malformed (``.field`` names the file and line).
    """
    with open(path, encoding="utf-8") as f:
        lines = f.read().splitlines()
    tokens = {}
    for number, line in enumerate(lines, 1):
        if line.strip() and not line.lstrip().startswith("#"):
            digest, principal = parse_token_entry(line, f"--tokens-file {path}:{number}")
            tokens[digest] = principal
    return tokens


def tokens_from_env(environ=None) -> dict[str, str]:
    """Tokens from ``$QOPT_TOKENS_SHA256``: ``DIGEST=PRINCIPAL`` entries separated by commas
    or whitespace (empty or unset: none).

    Raises:
        InvalidInput: an entry is malformed (``.field`` = ``QOPT_TOKENS_SHA256``).
    """
    text = (os.environ if environ is None else environ).get(TOKENS_ENV, "")
    tokens = {}
    for entry in re.split(r"[,\s]+", text.strip()):
        if entry:
            if "=" not in entry:
                raise InvalidInput(TOKENS_ENV, "entries are DIGEST=PRINCIPAL, separated by commas")
            digest, principal = parse_token_entry(entry, TOKENS_ENV)
            tokens[digest] = principal
    return tokens


def _authorization(metadata) -> str | None:
    for key, value in metadata or ():
        if key.lower() == "authorization":
            return value if isinstance(value, str) else value.decode("latin-1")
    return None


def principal_for_header(header: str | None, tokens: dict[str, str]) -> str | None:
    """The principal for an ``Authorization`` header value (``Bearer <token>``), or None
    when it is missing or unknown; :data:`ANONYMOUS` when ``tokens`` is empty (auth off).
    Digests are compared in constant time."""
    if not tokens:
        return ANONYMOUS
    if header is None or not header.startswith("Bearer "):
        return None
    digest = hash_token(header[len("Bearer "):].strip())
    found = None
    for known, principal in tokens.items():
        if hmac.compare_digest(known, digest):
            found = principal
    return found


def principal_for(metadata, tokens: dict[str, str]) -> str | None:
    """The principal for a call's metadata, or None when the token is missing or unknown.

    Args:
        metadata: the call's invocation metadata (key, value) pairs.
        tokens: sha256 hex digest -> principal; empty means authentication is off.
    """
    return principal_for_header(_authorization(metadata), tokens)


class CallContext:
    """The gRPC servicer context with the caller's ``principal`` and the ``method``; it
    remembers the status code the handler ends with."""

    def __init__(self, context: grpc.ServicerContext, principal: str, method: str):
        self._context = context
        self.principal = principal
        self.method = method
        self.code = grpc.StatusCode.OK
        self.request_id = ""
        self.job_id = ""

    def __getattr__(self, name):
        return getattr(self._context, name)

    def abort(self, code, details):
        self.code = code
        return self._context.abort(code, details)

    def abort_with_status(self, status):
        self.code = status.code
        return self._context.abort_with_status(status)

    def set_code(self, code):
        self.code = code
        return self._context.set_code(code)


class _Undecodable:
    """Stands in for a request that did not parse, so the call can answer
    INVALID_ARGUMENT naming the field (gRPC itself would answer INTERNAL)."""

    def __init__(self, data: bytes, message_class, exc: BaseException):
        self.data = data
        self.message_class = message_class
        self.exc = exc

    def abort(self, ctx: "CallContext"):
        from qopt.service import errors
        from qopt.service.convert import locate_decode_error

        field, description = ("request", "malformed protobuf message")
        if self.message_class is not None:
            field, description = locate_decode_error(self.data, self.message_class.DESCRIPTOR)
            field = field or "request"
        ctx.abort_with_status(errors.invalid_argument(field, f"cannot decode the request: {description}"))


def _lenient(deserializer):
    if deserializer is None:
        return None
    message_class = getattr(deserializer, "__self__", None)

    def deserialize(data: bytes):
        try:
            return deserializer(data)
        except Exception as exc:  # noqa: BLE001 - DecodeError and friends
            return _Undecodable(data, message_class, exc)

    return deserialize


class _Slots:
    """A counter of RPC threads held by one kind of long call, with a limit."""

    def __init__(self, limit: int, what: str):
        self.limit = limit
        self.what = what
        self.held = 0
        self._lock = threading.Lock()

    def acquire(self) -> bool:
        with self._lock:
            if self.held >= self.limit:
                return False
            self.held += 1
            return True

    def release(self) -> None:
        with self._lock:
            self.held -= 1

    def refusal(self, subject: str) -> grpc.Status:
        from qopt.service import errors

        return errors.resource_exhausted(subject, f"{self.held} {self.what} hold RPC threads (limit {self.limit}); "
                                                  f"retry later")


def _guard_stream(handler, slots: _Slots, subject: str):
    """``handler`` (a streaming one) holding a slot of ``slots`` while it runs."""
    def guarded(inner):
        def run(request, context):
            if not slots.acquire():
                context.abort_with_status(slots.refusal(subject))
            try:
                yield from inner(request, context)
            finally:
                slots.release()
        return run

    if handler.unary_stream:
        return grpc.unary_stream_rpc_method_handler(guarded(handler.unary_stream), handler.request_deserializer,
                                                    handler.response_serializer)
    if handler.stream_stream:
        return grpc.stream_stream_rpc_method_handler(guarded(handler.stream_stream), handler.request_deserializer,
                                                     handler.response_serializer)
    return handler


class AuthInterceptor(grpc.ServerInterceptor):
    """Authenticates calls (UNAUTHENTICATED for a missing or unknown token), wraps the
    context in a :class:`CallContext`, records each call's code and latency, and bounds
    the RPC threads held by long calls.

    Args:
        tokens: sha256 hex digest -> principal; empty: authentication off.
        metrics: where calls are counted (None: nowhere).
        config: the service settings (a :class:`qopt.service.limits.ServiceConfig`) for
            the long-call limits and ``reject_tokens_when_auth_off``; None: no limits,
            tokens accepted while authentication is off.
    """

    def __init__(self, tokens: dict[str, str], metrics: Metrics | None = None, *, config=None):
        self.tokens = dict(tokens)
        self.metrics = metrics
        self.reject_tokens_when_auth_off = bool(config is not None and config.reject_tokens_when_auth_off)
        self._long = self._public = None
        if config is not None:
            self._long = _Slots(config.max_concurrent_solves + config.max_waiting_solves + config.max_watch_streams,
                                "Solve and WatchJob calls")
            self._public = _Slots(config.max_public_streams, "health Watch and reflection streams")
        self._logged_digests: set[str] = set()
        self._logged_lock = threading.Lock()

    def _auth_off_token(self, header: str) -> bool:
        """A call carries a token while authentication is off: log its digest once; True
        when it is to be refused."""
        token = header[len("Bearer "):].strip() if header.startswith("Bearer ") else header
        digest = hash_token(token)
        with self._logged_lock:
            first = digest not in self._logged_digests and len(self._logged_digests) < _MAX_LOGGED_DIGESTS
            if first:
                self._logged_digests.add(digest)
        if first:
            log.warning("a call carried a token (sha256 %s...) but authentication is off: %s", digest[:12],
                        "refused (reject_tokens_when_auth_off)" if self.reject_tokens_when_auth_off
                        else "served as anonymous; configure tokens to turn authentication on")
        return self.reject_tokens_when_auth_off

    def intercept_service(self, continuation, handler_call_details):
        handler = continuation(handler_call_details)
        method = handler_call_details.method
        if handler is None:
            return handler
        public_stream = method.startswith((_HEALTH_PREFIX, _REFLECTION_PREFIX)) and (
            handler.unary_stream or handler.stream_stream)
        if method.startswith(_HEALTH_PREFIX) or (method.startswith(_REFLECTION_PREFIX) and not self.tokens):
            if public_stream and self._public is not None:
                return _guard_stream(handler, self._public, "max_public_streams")
            return handler
        short = method.rsplit("/", 1)[-1]
        header = _authorization(handler_call_details.invocation_metadata)
        principal = principal_for_header(header, self.tokens)
        denial = "missing or invalid token: send metadata 'authorization: Bearer <token>'"
        if not self.tokens and header is not None and self._auth_off_token(header):
            principal = None
            denial = ("authentication is off on this server and it refuses calls that carry a token "
                      "(reject_tokens_when_auth_off): send no authorization metadata")
        metrics = self.metrics

        def record(ctx: CallContext, t0: float, exc: BaseException | None = None):
            code = ctx.code
            if exc is not None and code == grpc.StatusCode.OK:
                code = grpc.StatusCode.CANCELLED if isinstance(exc, GeneratorExit) else grpc.StatusCode.UNKNOWN
            name = code.name if isinstance(code, grpc.StatusCode) else str(code)
            seconds = time.perf_counter() - t0
            if metrics is not None:
                metrics.observe_request(short, name, seconds)
            log.log(logging.INFO if name == "OK" else logging.WARNING, "%s %s", short, name,
                    extra={"method": short, "code": name, "principal": ctx.principal, "request_id": ctx.request_id,
                           "job_id": ctx.job_id, "duration_s": round(seconds, 6)})

        if principal is None:
            def deny(request, context):
                ctx = CallContext(context, "", short)
                t0 = time.perf_counter()
                try:
                    ctx.abort(grpc.StatusCode.UNAUTHENTICATED, denial)
                finally:
                    record(ctx, t0)

            def deny_stream(request, context):
                deny(request, context)
                yield  # pragma: no cover

            if handler.unary_unary:
                return grpc.unary_unary_rpc_method_handler(deny, handler.request_deserializer,
                                                           handler.response_serializer)
            if handler.unary_stream:
                return grpc.unary_stream_rpc_method_handler(deny_stream, handler.request_deserializer,
                                                            handler.response_serializer)
            if handler.stream_stream:
                return grpc.stream_stream_rpc_method_handler(deny_stream, handler.request_deserializer,
                                                             handler.response_serializer)
            if handler.stream_unary:
                return grpc.stream_unary_rpc_method_handler(deny, handler.request_deserializer,
                                                            handler.response_serializer)
            return handler

        if method.startswith(_REFLECTION_PREFIX):  # authenticated: reflection has no CallContext
            if public_stream and self._public is not None:
                return _guard_stream(handler, self._public, "max_public_streams")
            return handler

        deserializer = _lenient(handler.request_deserializer)
        slots = self._long if short in _LONG_METHODS and method.startswith("/qopt.") else None
        subject = _LONG_METHODS.get(short, "")

        if handler.unary_unary:
            inner = handler.unary_unary

            def unary(request, context):
                ctx = CallContext(context, principal, short)
                t0 = time.perf_counter()
                exc = None
                held = False
                try:
                    if isinstance(request, _Undecodable):
                        request.abort(ctx)
                    if slots is not None:
                        held = slots.acquire()
                        if not held:
                            ctx.abort_with_status(slots.refusal(subject))
                    return inner(request, ctx)
                except BaseException as e:
                    exc = e
                    raise
                finally:
                    if held and slots is not None:
                        slots.release()
                    record(ctx, t0, exc)

            return grpc.unary_unary_rpc_method_handler(unary, deserializer,
                                                       handler.response_serializer)
        if handler.unary_stream:
            inner_stream = handler.unary_stream

            def stream(request, context):
                ctx = CallContext(context, principal, short)
                t0 = time.perf_counter()
                exc = None
                held = False
                try:
                    if isinstance(request, _Undecodable):
                        request.abort(ctx)
                    if slots is not None:
                        held = slots.acquire()
                        if not held:
                            ctx.abort_with_status(slots.refusal(subject))
                    yield from inner_stream(request, ctx)
                except BaseException as e:
                    exc = e
                    raise
                finally:
                    if held and slots is not None:
                        slots.release()
                    record(ctx, t0, exc)

            return grpc.unary_stream_rpc_method_handler(stream, deserializer,
                                                        handler.response_serializer)
        return handler
