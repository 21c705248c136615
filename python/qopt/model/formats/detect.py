"""The one format detector for model and instance files.

Every reader that is not told a file's format asks :func:`detect_format`: the instance
readers (:func:`qopt.io.read_instance`), the model loader (:func:`qopt.model.load_model`)
and the command line. It decides from the file's name first, then from its first bytes.

==========  =======================================  ======================  ==========================================
format      what                                     name                    content
==========  =======================================  ======================  ==========================================
``cqm``     dimod's binary CQM file                  ``*.cqm``               starts with ``DIMODCQM``
``tsplib``  TSPLIB95 TSP / ATSP (Reinelt 1991)       ``*.tsp``, ``*.atsp``   a ``NAME:`` or ``TYPE:`` line and ``DIMENSION:``
``mps``     (free) MPS, QPS                          ``*.mps``, ``*.qps``    starts with ``NAME``, has a ``ROWS`` line
``lp``      CPLEX LP                                 ``*.lp``                first word (after ``\\`` comments)
                                                                             ``Minimize``/``Maximize``/``min``/``max``...
``json``    a :func:`qopt.model.from_spec` dict      ``*.json``              starts with ``{``
``qkp``     QKP (Billionnet & Soutif 2004)           -                       the second line is one integer (``n``)
``bqp``     OR-Library bqp (Beasley 1998)            ``bqp*``                first data line one integer, next ``n nnz``
``sparse``  Biq Mac QUBO (Wiegele 2007)              ``*.sparse``            - (laid out as ``gset``)
``gset``    Gset / rudy / Biq Mac MaxCut graph       -                       first data line ``n m``
==========  =======================================  ======================  ==========================================

Names are compared in lower case after dropping a trailing ``.gz``; a gzip file's content
is decompressed before it is read. Gset and rudy graphs carry no name of their own
(``G1.txt``, ``pm1s_80.0``), so when the caller reads only instance formats a file that no
rule claims is read as a ``gset`` graph, and that reader reports what is wrong with it.
"""
from __future__ import annotations

import gzip
import os
import pathlib
import re
from collections.abc import Callable, Sequence

from qopt.errors import InvalidInput

__all__ = ["detect_format", "FORMATS", "MODEL_FORMATS", "INSTANCE_FORMATS", "HEAD_BYTES"]

#: Formats of constrained models, read by :func:`qopt.model.load_model`.
MODEL_FORMATS = ("lp", "mps", "qkp", "tsplib", "json", "cqm")
#: Formats of benchmark instances (BQMs), read by :func:`qopt.io.read_instance`.
INSTANCE_FORMATS = ("gset", "bqp", "sparse")
#: Every format :func:`detect_format` knows.
FORMATS = MODEL_FORMATS + INSTANCE_FORMATS

#: Bytes of a file read to decide its format from its content.
HEAD_BYTES = 4096

_EXTENSIONS = {".cqm": "cqm", ".tsp": "tsplib", ".atsp": "tsplib", ".mps": "mps", ".qps": "mps", ".lp": "lp",
               ".json": "json", ".sparse": "sparse"}

_LP_RE = re.compile(r"(?i)\s*(\\.*\n\s*)*(minimi[sz]e|maximi[sz]e|minimum|maximum|min|max)\b")
_INT_RE = re.compile(r"\s*[+-]?\d+\s*")


def _data_lines(head: str, count: int) -> list[list[str]]:
    """Tokens of the first ``count`` non-blank lines that are not ``#`` / ``%`` comments."""
    out = []
    for line in head.splitlines():
        tokens = line.split()
        if tokens and tokens[0][0] not in "#%":
            out.append(tokens)
            if len(out) == count:
                break
    return out


def _ints(tokens: list[str], count: int) -> bool:
    return len(tokens) == count and all(_INT_RE.fullmatch(t) for t in tokens)


def _is_tsplib(head: str) -> bool:
    return bool(re.search(r"^\s*(NAME|TYPE)\s*:", head, re.M) and re.search(r"DIMENSION\s*:", head))


def _is_mps(head: str) -> bool:
    return bool(re.match(r"\s*NAME\b", head) and re.search(r"^ROWS\s*$", head, re.M))


def _is_lp(head: str) -> bool:
    return bool(_LP_RE.match(head))


def _is_json(head: str) -> bool:
    return head.startswith("{")


def _is_qkp(head: str) -> bool:
    lines = head.splitlines()
    return len(lines) >= 3 and bool(re.fullmatch(r"\s*\d+\s*", lines[1]))


def _is_bqp(head: str) -> bool:
    lines = _data_lines(head, 2)
    return len(lines) == 2 and _ints(lines[0], 1) and _ints(lines[1], 2)


def _is_gset(head: str) -> bool:
    lines = _data_lines(head, 1)
    return len(lines) == 1 and _ints(lines[0], 2)


# in the order they are tried: the keyword formats first, the numeric layouts last
_CONTENT_RULES: tuple[tuple[str, Callable[[str], bool]], ...] = (
    ("tsplib", _is_tsplib), ("mps", _is_mps), ("lp", _is_lp), ("json", _is_json), ("qkp", _is_qkp),
    ("bqp", _is_bqp), ("gset", _is_gset),
)


def _by_name(path) -> str | None:
    name = pathlib.Path(path).name.lower()
    if name.endswith(".gz") and len(name) > 3:
        name = name[:-3]
    fmt = _EXTENSIONS.get(pathlib.Path(name).suffix)
    if fmt is None and name.startswith("bqp"):
        fmt = "bqp"
    return fmt


def _head_of_file(path) -> bytes | None:
    p = pathlib.Path(path)
    if not p.is_file():
        return None
    with p.open("rb") as f:
        gzipped = f.read(2) == b"\x1f\x8b"
    try:
        with (gzip.open(p, "rb") if gzipped else p.open("rb")) as f:
            return f.read(HEAD_BYTES)
    except (OSError, EOFError):  # a truncated or corrupt gzip file: no content to go by
        return b""


def _by_content(raw: bytes | str) -> list[str]:
    """Every format whose content rule ``raw`` meets, in rule order."""
    if isinstance(raw, bytes):
        if raw.startswith(b"DIMODCQM"):
            return ["cqm"]
        raw = raw.decode("ascii", errors="replace")
    head = raw[:HEAD_BYTES].lstrip()
    return [fmt for fmt, rule in _CONTENT_RULES if rule(head)]


def detect_format(path: str | os.PathLike | None = None, text: str | bytes | None = None, *,
                  among: Sequence[str] = FORMATS, argument: str = "path") -> str:
    """The format of a model or instance file, from its name, then its first bytes.

    Args:
        path: the file's path (``str`` or PathLike), or None when only ``text`` is known.
            The file need not exist; when it does and ``text`` is None, its first
            :data:`HEAD_BYTES` bytes are read (gzip is decompressed).
        text: the file's content, or its beginning (``str`` or ``bytes``).
        among: the formats the caller reads (a subset of :data:`FORMATS`); rules of other
            formats are not tried.
        argument: the caller's name for the file, used as the error's ``field``.

    Returns:
        One of ``among``: ``"lp"``, ``"mps"``, ``"qkp"``, ``"tsplib"``, ``"json"``, ``"cqm"``,
        ``"gset"``, ``"bqp"`` or ``"sparse"``. Only instance formats in ``among``: ``"gset"``
        when no rule claims the file.

    Raises:
        InvalidInput: (``.field`` is ``argument``) no rule of ``among`` claims the file; the
            message names the format it seems to be in, if another rule claims it.
    """
    among = tuple(among)
    unknown = [f for f in among if f not in FORMATS]
    if unknown:
        raise InvalidInput("among", f"must be formats among {list(FORMATS)}, had {unknown}")
    named = _by_name(path) if path is not None else None
    if named in among:
        return named
    raw = text if text is not None else (_head_of_file(path) if path is not None else None)
    claimed = _by_content(raw) if raw is not None else []
    for fmt in claimed:
        if fmt in among:
            return fmt
    if "gset" in among and set(among) <= set(INSTANCE_FORMATS):
        return "gset"
    what = f"{str(path)!r}" if path is not None else "the text"
    seems = named or (claimed[0] if claimed else None)
    if seems:
        raise InvalidInput(argument, f"cannot tell the format of {what}: it reads as {seems}, which is none of "
                                     f"{', '.join(among)} here; name the format")
    raise InvalidInput(argument, f"cannot tell the format of {what}: it is none of {', '.join(among)}; "
                                 f"name the format")
