"""``qopt serve``: run the gRPC service."""
from __future__ import annotations

import sys

__all__ = ["cmd_serve"]


def cmd_serve(args) -> int:
    """Run the service until it is stopped; 2 for a bad configuration."""
    from qopt.service.limits import load_config
    from qopt.service.observe import configure_logging
    from qopt.service.server import serve

    configure_logging(args.log_level, args.log_format)
    tokens = None
    if args.token_sha256:
        tokens = {}
        for item in args.token_sha256:
            digest, sep, principal = item.partition("=")
            if not sep:
                print("qopt serve: --token-sha256 takes DIGEST=PRINCIPAL", file=sys.stderr)
                return 2
            tokens[digest] = principal
    try:
        config = load_config(args.config, store=args.store, metrics_port=args.metrics_port,
                             metrics_address=args.metrics_address, max_queue_length=args.max_queue_length,
                             job_workers=args.job_workers, grace=args.grace, max_attempts=args.max_attempts,
                             retention_days=args.retention_days, max_message_bytes=args.max_message_bytes)
        if tokens:
            config = config.replace(tokens={**config.tokens, **tokens})
            config.__post_init__()
    except (OSError, ValueError) as exc:
        print(f"qopt serve: configuration: {exc}", file=sys.stderr)
        return 2
    return serve(args.address, config=config, max_workers=args.max_workers, tls_cert=args.tls_cert,
                 tls_key=args.tls_key)
