"""Options that several commands share: sampler parameters, the server, the file's format."""
from __future__ import annotations

import json
import pathlib

from qopt.model.formats.detect import detect_format

__all__ = ["add_remote", "add_sampler_options", "sampler_parameters", "file_format"]


def add_remote(p) -> None:
    """``--server``, ``--token`` and ``--ca-cert`` on the subparser ``p``."""
    p.add_argument("--server", help="HOST:PORT of the qopt server (default $QOPT_SERVER or 127.0.0.1:50051)")
    p.add_argument("--token", help="API token (default $QOPT_TOKEN)")
    p.add_argument("--ca-cert", help="PEM file of the CA for a TLS server")


def add_sampler_options(p) -> None:
    """``--backend``, ``--num-reads``, ``--num-sweeps``, ``--num-threads``, ``--seed``, ``--param``."""
    p.add_argument("--backend", default="auto", help="backend name (default: auto)")
    p.add_argument("--num-reads", type=int)
    p.add_argument("--num-sweeps", type=int)
    p.add_argument("--num-threads", type=int)
    p.add_argument("--seed", type=int)
    p.add_argument("--param", action="append", metavar="NAME=VALUE",
                   help="any other sampler parameter (value parsed as JSON when possible)")


def sampler_parameters(args) -> dict:
    """The sampler parameters given on the command line (``--param`` values parsed as JSON
    when they parse, else kept as strings)."""
    params = {}
    if args.num_reads is not None:
        params["num_reads"] = args.num_reads
    if args.num_sweeps is not None:
        params["num_sweeps"] = args.num_sweeps
    if args.seed is not None:
        params["seed"] = args.seed
    if args.num_threads is not None:
        params["num_threads"] = args.num_threads
    for item in args.param or ():
        key, _, value = item.partition("=")
        try:
            params[key] = json.loads(value)
        except json.JSONDecodeError:
            params[key] = value
    return params


def file_format(path: str, given: str | None) -> str | None:
    """The format of the command's FILE: ``--format`` when given, else the detector's answer.

    Args:
        path: the FILE argument.
        given: the ``--format`` value or None.

    Returns:
        A format name (:data:`qopt.model.formats.detect.FORMATS`), or None when ``path`` is
        not a file (a shipped instance's name, or a missing file that
        :func:`qopt.io.read_instance` reports).

    Raises:
        InvalidInput: (``.field`` ``file``) an existing file whose format cannot be told.
    """
    if given:
        return given
    if not pathlib.Path(path).is_file():
        return None
    return detect_format(path, argument="file")
