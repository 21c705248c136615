"""``qopt serve``: run the gRPC service.

Tokens (``sha256 hex digest -> principal``) are merged from, in this order (a later one
wins for the same digest): the ``--config`` file's ``[tokens]``, ``--tokens-file PATH``,
``$QOPT_TOKENS_SHA256`` and ``--token-sha256`` (which shows in ``ps``; a warning is
logged when it is used).
"""
from __future__ import annotations

import logging
import sys

__all__ = ["cmd_serve"]

log = logging.getLogger("qopt.service")


def cmd_serve(args) -> int:
    """Run the service until it is stopped; 2 for a bad configuration (or a non-loopback
    address without tokens and without ``--insecure``)."""
    from qopt.service.auth import parse_token_entry, read_tokens_file, tokens_from_env
    from qopt.service.limits import load_config
    from qopt.service.observe import configure_logging
    from qopt.service.server import serve

    configure_logging(args.log_level, args.log_format)
    try:
        tokens: dict[str, str] = {}
        if getattr(args, "tokens_file", None):
            tokens.update(read_tokens_file(args.tokens_file))
        tokens.update(tokens_from_env())
        if args.token_sha256:
            log.warning("--token-sha256 puts token digests on the command line, where ps shows them to every "
                        "local user: prefer --tokens-file PATH or $QOPT_TOKENS_SHA256")
            for item in args.token_sha256:
                if "=" not in item:
                    print("qopt serve: --token-sha256 takes DIGEST=PRINCIPAL", file=sys.stderr)
                    return 2
                digest, principal = parse_token_entry(item, "--token-sha256")
                tokens[digest] = principal
        config = load_config(args.config, store=args.store, metrics_port=args.metrics_port,
                             metrics_address=args.metrics_address, max_queue_length=args.max_queue_length,
                             job_workers=args.job_workers, grace=args.grace, max_attempts=args.max_attempts,
                             retention_days=args.retention_days, max_message_bytes=args.max_message_bytes,
                             insecure=getattr(args, "insecure", None), executor=getattr(args, "executor", None),
                             ray_address=getattr(args, "ray_address", None))
        if tokens:
            config = config.replace(tokens={**config.tokens, **tokens})
            config.__post_init__()
    except (OSError, ValueError) as exc:
        print(f"qopt serve: configuration: {exc}", file=sys.stderr)
        return 2
    return serve(args.address, config=config, max_workers=args.max_workers, tls_cert=args.tls_cert,
                 tls_key=args.tls_key)
