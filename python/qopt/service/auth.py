"""Authentication, isolation and per-call accounting: one gRPC server interceptor.

Clients send ``authorization: Bearer <token>`` metadata. The server's configuration
holds only SHA-256 hex digests of tokens, each mapped to a principal name
(:attr:`ServiceConfig.tokens`); a token is accepted when its digest is there (compared
in constant time). With no tokens configured, authentication is off and every caller is
the principal ``anonymous`` (the default, for ``make run`` on loopback).

The interceptor also gives every call a :class:`CallContext` (a proxy of the gRPC
context with ``.principal`` and ``.method``), times it, and records its status code in
the metrics and the JSON log. Health checking and reflection are never authenticated.

Make a token and its digest::

    python -c "import secrets; print(secrets.token_urlsafe(32))"        # give to the client
    python -c "import hashlib,sys; print(hashlib.sha256(sys.argv[1].encode()).hexdigest())" TOKEN
"""
from __future__ import annotations

import hashlib
import hmac
import logging
import time

import grpc

from qopt.service.observe import Metrics

__all__ = ["ANONYMOUS", "AuthInterceptor", "CallContext", "hash_token", "principal_for"]

ANONYMOUS = "anonymous"
_PUBLIC_PREFIXES = ("/grpc.health.", "/grpc.reflection.")

log = logging.getLogger("qopt.service.access")


def hash_token(token: str) -> str:
    """SHA-256 hex digest of a token, as stored in the configuration."""
    return hashlib.sha256(token.encode()).hexdigest()


def principal_for(metadata, tokens: dict[str, str]) -> str | None:
    """The principal for a call's metadata, or None when the token is missing or unknown.

    Args:
        metadata: the call's invocation metadata (key, value) pairs.
        tokens: sha256 hex digest -> principal; empty means authentication is off.
    """
    if not tokens:
        return ANONYMOUS
    header = None
    for key, value in metadata or ():
        if key.lower() == "authorization":
            header = value if isinstance(value, str) else value.decode("latin-1")
            break
    if header is None or not header.startswith("Bearer "):
        return None
    digest = hash_token(header[len("Bearer "):].strip())
    found = None
    for known, principal in tokens.items():
        if hmac.compare_digest(known, digest):
            found = principal
    return found


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


class AuthInterceptor(grpc.ServerInterceptor):
    """Authenticates calls (UNAUTHENTICATED for a missing or unknown token), wraps the
    context in a :class:`CallContext`, and records each call's code and latency."""

    def __init__(self, tokens: dict[str, str], metrics: Metrics | None = None):
        self.tokens = dict(tokens)
        self.metrics = metrics

    def intercept_service(self, continuation, handler_call_details):
        handler = continuation(handler_call_details)
        method = handler_call_details.method
        if handler is None or method.startswith(_PUBLIC_PREFIXES):
            return handler
        short = method.rsplit("/", 1)[-1]
        principal = principal_for(handler_call_details.invocation_metadata, self.tokens)
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
                    ctx.abort(grpc.StatusCode.UNAUTHENTICATED,
                              "missing or invalid token: send metadata 'authorization: Bearer <token>'")
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
            return handler

        deserializer = _lenient(handler.request_deserializer)

        if handler.unary_unary:
            inner = handler.unary_unary

            def unary(request, context):
                ctx = CallContext(context, principal, short)
                t0 = time.perf_counter()
                exc = None
                try:
                    if isinstance(request, _Undecodable):
                        request.abort(ctx)
                    return inner(request, ctx)
                except BaseException as e:
                    exc = e
                    raise
                finally:
                    record(ctx, t0, exc)

            return grpc.unary_unary_rpc_method_handler(unary, deserializer,
                                                       handler.response_serializer)
        if handler.unary_stream:
            inner_stream = handler.unary_stream

            def stream(request, context):
                ctx = CallContext(context, principal, short)
                t0 = time.perf_counter()
                exc = None
                try:
                    if isinstance(request, _Undecodable):
                        request.abort(ctx)
                    yield from inner_stream(request, ctx)
                except BaseException as e:
                    exc = e
                    raise
                finally:
                    record(ctx, t0, exc)

            return grpc.unary_stream_rpc_method_handler(stream, deserializer,
                                                        handler.response_serializer)
        return handler
