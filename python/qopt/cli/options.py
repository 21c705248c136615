"""Options that several commands share: the server and its credentials, sampler
parameters, the input file and its format.

* :func:`add_remote` / :func:`client_for`: ``--server``, ``--token`` (default
  ``$QOPT_TOKEN``) and ``--ca-cert`` on every command that talks to a server, and the
  :class:`qopt.Client` they describe.
* :func:`add_input` / :func:`load_input`: FILE and ``--format`` (every format of
  :data:`qopt.model.formats.detect.FORMATS`, detected from the name, then the content,
  when ``--format`` is absent), read into an :class:`Input`.
"""
from __future__ import annotations

import dataclasses
import json
import os
import pathlib
from typing import Any

from qopt.errors import InvalidInput, ResourceLimitError
from qopt.model.formats.detect import FORMATS, MODEL_FORMATS, detect_format

__all__ = ["add_remote", "client_for", "server_address", "add_sampler_options", "sampler_parameters",
           "add_input", "file_format", "load_input", "Input", "DEFAULT_SERVER"]

#: Where the commands that need a server look when neither ``--server`` nor ``$QOPT_SERVER`` says.
DEFAULT_SERVER = "127.0.0.1:50051"

_FORMAT_HELP = ("file format: " + ", ".join(FORMATS) + " (detected from the name, then the content, when "
                "omitted); lp, mps, qkp, tsplib, json and cqm are constrained models, compiled with tuned "
                "penalties; gset, bqp and sparse are MaxCut graphs and QUBOs")


def add_remote(p, *, in_process: bool = False) -> None:
    """``--server``, ``--token`` and ``--ca-cert`` on the subparser ``p``.

    Args:
        p: an argparse (sub)parser.
        in_process: the command runs in this process unless ``--server`` is given
            (``qopt solve``): ``$QOPT_SERVER`` is not consulted.
    """
    p.add_argument("--server", help="HOST:PORT of a qopt server (in-process when omitted)" if in_process else
                   f"HOST:PORT of the qopt server (default $QOPT_SERVER or {DEFAULT_SERVER})")
    p.add_argument("--token", help="API token sent as a bearer token (default $QOPT_TOKEN)")
    p.add_argument("--ca-cert", metavar="PEM", help="CA certificate (PEM file) of a TLS server: connect with TLS")


def server_address(args) -> str:
    """The command's server: ``--server``, else ``$QOPT_SERVER``, else :data:`DEFAULT_SERVER`."""
    return args.server or os.environ.get("QOPT_SERVER") or DEFAULT_SERVER


def client_for(args):
    """A :class:`qopt.Client` for the command's ``--server``, ``--token`` (default
    ``$QOPT_TOKEN``) and ``--ca-cert``.

    Raises:
        OSError: the ``--ca-cert`` file cannot be read.
    """
    from qopt.client import Client

    token = args.token if args.token is not None else os.environ.get("QOPT_TOKEN")
    ca = None
    if args.ca_cert:
        ca = pathlib.Path(args.ca_cert).read_bytes()
    return Client(server_address(args), token=token or None, root_certificates=ca)


def add_sampler_options(p) -> None:
    """``--backend``, ``--quantum``, ``--num-reads``, ``--num-sweeps``, ``--num-threads``, ``--seed``, ``--param``."""
    from qopt.solve.routing import QUANTUM_CHOICES

    p.add_argument("--backend", default="auto", help="backend name (default: auto)")
    p.add_argument("--quantum", choices=QUANTUM_CHOICES, default=None,
                   help="how --backend auto treats QAOA, D-Wave and the quantum hybrid: auto (default: only where "
                        "the routing profile measured them competitive), avoid (never), prefer (whenever the "
                        "model fits one)")
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
    if getattr(args, "quantum", None) is not None:
        params["quantum"] = args.quantum
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


def add_input(p, *, required: bool = True) -> None:
    """FILE (a positional ``file``, or ``--file`` when not ``required``), ``--format`` and
    ``--problem`` on the subparser ``p``."""
    what = ("model or instance file: LP, MPS, QKP, TSPLIB, JSON spec, dimod CQM, Gset/rudy graph, "
            "OR-Library bqp, Biq Mac .sparse")
    if required:
        p.add_argument("file", help=what)
    else:
        p.add_argument("--file", help=what + ": the job's input, to show results in its own terms")
    p.add_argument("--format", choices=FORMATS, help=_FORMAT_HELP)
    p.add_argument("--problem", type=int, help="problem number in a multi-problem bqp file (1-based)")


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
        InvalidInput: (``.field`` ``file``) an existing file whose format cannot be told;
            the message ends with a hint naming ``--format``.
    """
    if given:
        return given
    if not pathlib.Path(path).is_file():
        return None
    try:
        return detect_format(path, argument="file")
    except InvalidInput as exc:
        raise InvalidInput("file", f"{exc.description} with --format ({', '.join(FORMATS)})") from None


@dataclasses.dataclass
class Input:
    """A command's FILE, read.

    Attributes:
        format: the format it was read as.
        name: the problem's name (the file's own, else its stem).
        model: what is solved: a :class:`qopt.model.Problem` (model formats) or a
            :class:`dimod.BinaryQuadraticModel` (instance formats).
        instance: the :class:`qopt.io.Instance` of an instance file (objective in the
            file's terms), else None.
        interpret: the template's ``interpret(sample)`` (TSPLIB: the tour; QKP: the items
            selected), else None.
    """

    format: str
    name: str
    model: Any
    instance: Any = None
    interpret: Any = None

    @property
    def constrained(self) -> bool:
        """Whether the model is a constrained one (a model format)."""
        return self.format in MODEL_FORMATS

    @property
    def variables(self) -> list:
        """The model's variable labels."""
        return list(self.model.cqm.variables if self.constrained else self.model.variables)

    def describe(self) -> str:
        """``NAME (N variables[, M constraints])``."""
        size = f"{len(self.variables)} variables"
        if self.constrained:
            size += f", {len(self.model.cqm.constraints)} constraints"
        return f"{self.name} ({size})"


def load_input(args) -> Input:
    """Read ``args.file`` in ``args.format`` (detected when None), the one reader every
    command uses.

    TSPLIB and QKP files are read by their readers (:func:`~qopt.model.formats.tsplib.read_tsplib`,
    :func:`~qopt.model.formats.qkp.read_qkp`), which build the template and its
    ``interpret``; other models by :func:`qopt.model.load_model`; instance files by
    :func:`qopt.io.read_instance`.

    Raises:
        InvalidInput: (``.field`` ``file``) the format cannot be told or the file does not
            read in it (the reader's message, and a hint naming ``--format`` when the format
            was detected).
        OSError: the file cannot be read.
    """
    fmt = file_format(args.file, args.format)
    detected = args.format is None
    try:
        if fmt in MODEL_FORMATS:
            stem = pathlib.Path(args.file).stem
            interpret = None
            if fmt == "tsplib":
                from qopt.model.formats.tsplib import read_tsplib

                problem, interpret = read_tsplib(pathlib.Path(args.file))
            elif fmt == "qkp":
                from qopt.model.formats.qkp import read_qkp

                problem, interpret = read_qkp(pathlib.Path(args.file))
            else:
                from qopt.model import load_model

                problem = load_model(pathlib.Path(args.file), format=fmt)
            if not len(problem.cqm.variables):  # e.g. text that is no LP at all, read by the LP reader
                how = "detected from the file; if it is in another format, name it with --format" if detected \
                    else "as --format says"
                raise InvalidInput("file", f"{args.file}: read as {fmt} ({how}), it has no variables")
            return Input(fmt, problem.name or stem, problem, None, interpret)
        from qopt.io import read_instance

        instance = read_instance(args.file, format=fmt, problem=args.problem)
        return Input(instance.format, instance.name, instance.bqm, instance, None)
    except (FileNotFoundError, IsADirectoryError, PermissionError, ResourceLimitError):
        raise
    except (ValueError, KeyError, IndexError) as exc:  # a reader's complaint about the content
        if isinstance(exc, InvalidInput) and exc.field == "file":  # already names the file
            raise
        hint = f" (read as {fmt}, detected from the file; name another with --format)" if detected and fmt else ""
        raise InvalidInput("file", f"{args.file}: {exc}{hint}") from None
