"""CPLEX LP models: read with :func:`dimod.lp.loads`, written with :func:`dimod.lp.dumps`.

dimod reads a ``Maximize`` objective into minimisation form (it negates it);
:func:`objective_sense` finds the keyword so that the problem keeps ``sense="max"``.

dimod's reader never returns on some inputs (NUL characters, for one) and holds the GIL
while it loops, so no thread can interrupt it. Text with control characters is refused
before reading (:func:`find_control_character`), and :func:`probe` reads in a worker
process (:class:`LPParser`) that is killed when the read takes longer than its time limit.
"""
from __future__ import annotations

import os
import pathlib
import re
import select
import struct
import subprocess
import sys
import threading
import time

import dimod

from qopt.errors import ModelError
from qopt.model.formats.source import read_source
from qopt.model.problem import Problem, validate

__all__ = ["from_lp", "to_lp", "objective_sense", "loads", "probe", "find_control_character", "count_constraints",
           "LPParser", "LP_IDLE_WORKERS"]

#: Worker processes kept idle between parses (more start on demand, and exit when done).
LP_IDLE_WORKERS = 2
# C0 control characters other than tab, line feed and carriage return, and DEL.
_CONTROL_RE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_SECTION_RE = re.compile(r"(?i)^\s*(subject\s+to|such\s+that|s\.?t\.?|bounds?|binar(?:y|ies)|bin|generals?|gen|"
                         r"integers?|semi-continuous|semis?|sos|end)(?=\s|$)")
_RELATION_RE = re.compile(r"<=|>=|=<|=>|<|>|=")


def find_control_character(text: str) -> tuple[int, str] | None:
    """The first control character of ``text`` (C0 other than tab, LF, CR; and DEL) as
    ``(offset, "U+0000")``, or None: LP text has none, and dimod's reader hangs on NUL."""
    m = _CONTROL_RE.search(text)
    return None if m is None else (m.start(), f"U+{ord(m.group()):04X}")


def count_constraints(text: str) -> int:
    """Constraints in LP text, counted without parsing: the relational operators in the
    ``Subject To`` section (an upper estimate: a ranged constraint counts twice). Linear in
    the text's length; used to refuse a model over a constraint limit before reading it."""
    count = 0
    in_constraints = False
    for line in text.splitlines():
        head = line.split("\\", 1)[0]  # a backslash starts a comment
        m = _SECTION_RE.match(head)
        if m:
            word = m.group(1).lower()
            in_constraints = word.startswith(("subject", "such")) or word.replace(".", "") == "st"
            head = head[m.end():]
        if in_constraints:
            count += len(_RELATION_RE.findall(head))
    return count


class LPParser:
    """Reads LP text in worker processes under a time limit.

    Each worker is ``python -I lp_worker.py`` (dimod only; :mod:`qopt.model.formats.lp_worker`),
    started on first use (about a second) and reused; up to :data:`LP_IDLE_WORKERS` stay
    idle between parses. A parse past its time limit kills its worker.
    """

    def __init__(self, idle_workers: int = LP_IDLE_WORKERS):
        self._idle: list[subprocess.Popen] = []
        self._lock = threading.Lock()
        self._max_idle = idle_workers

    @staticmethod
    def _start() -> subprocess.Popen:
        script = pathlib.Path(__file__).with_name("lp_worker.py")
        return subprocess.Popen([sys.executable, "-I", str(script)], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                stderr=subprocess.DEVNULL, close_fds=True)

    def _take(self) -> subprocess.Popen:
        with self._lock:
            while self._idle:
                proc = self._idle.pop()
                if proc.poll() is None:
                    return proc
        return self._start()

    def _give(self, proc: subprocess.Popen) -> None:
        with self._lock:
            if len(self._idle) < self._max_idle:
                self._idle.append(proc)
                return
        self._close(proc)

    @staticmethod
    def _close(proc: subprocess.Popen, kill: bool = False) -> None:
        if kill:
            proc.kill()
        else:
            try:
                assert proc.stdin is not None
                proc.stdin.close()
            except OSError:
                proc.kill()
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        if proc.stdout is not None:
            proc.stdout.close()

    def probe(self, text: str, timeout: float, *, field: str = "text") -> tuple[int, int, int]:
        """Read ``text`` with :func:`dimod.lp.loads` in a worker process and return the
        model's sizes. Sending the model itself back would cost more than reading it
        (serialising a 2000-constraint model takes ~0.5 s, reading it ~0.02 s), so the
        caller reads the text again in its own process once it knows the read ends and the
        sizes are within its limits.

        Args:
            text: CPLEX LP text.
            timeout: wall-clock seconds the read may take, the worker's start included.
            field: the name errors carry in ``.field``.

        Returns:
            ``(variables, constraints, quadratic terms)`` of the model.

        Raises:
            ModelError: dimod cannot read the text (its message), the read took longer
                than ``timeout`` (the worker is killed), or the worker died.
        """
        deadline = time.monotonic() + timeout
        proc = self._take()
        assert proc.stdin is not None and proc.stdout is not None
        data = text.encode("utf-8")
        try:
            proc.stdin.write(struct.pack(">Q", len(data)) + data)
            proc.stdin.flush()
            status = self._read(proc, 1, deadline)
            size = struct.unpack(">Q", self._read(proc, 8, deadline))[0]
            payload = self._read(proc, size, deadline)
        except TimeoutError:
            self._close(proc, kill=True)
            raise ModelError(field, f"reading the LP text took longer than {timeout:g} s; it was stopped") from None
        except (OSError, EOFError, struct.error):
            self._close(proc, kill=True)
            raise ModelError(field, "the LP reader failed on this text (its worker process died)") from None
        self._give(proc)
        if status != b"o":
            raise ModelError(field, f"not a valid LP model: {payload.decode('utf-8', 'replace')}")
        variables, constraints, quadratic = (int(x) for x in payload.split())
        return variables, constraints, quadratic

    @staticmethod
    def _read(proc: subprocess.Popen, n: int, deadline: float) -> bytes:
        assert proc.stdout is not None
        fd = proc.stdout.fileno()
        chunks = []
        while n:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([fd], [], [], left)[0]:
                raise TimeoutError
            chunk = os.read(fd, min(n, 1 << 20))
            if not chunk:
                raise EOFError
            chunks.append(chunk)
            n -= len(chunk)
        return b"".join(chunks)

    def close(self) -> None:
        """Stop the idle workers."""
        with self._lock:
            idle, self._idle = self._idle, []
        for proc in idle:
            self._close(proc)


_PARSER = LPParser()


def probe(text: str, timeout: float, *, field: str = "text") -> tuple[int, int, int]:
    """Check that ``text`` reads as an LP model within ``timeout`` seconds, in a worker
    process (:meth:`LPParser.probe`), refusing control characters first.

    Returns:
        ``(variables, constraints, quadratic terms)`` of the model.

    Raises:
        ModelError: a control character (``contains control character U+0000 at offset
            0``), text dimod cannot read, or a read past ``timeout`` (stopped).
    """
    _refuse_control_characters(text, field)
    return _PARSER.probe(text, timeout, field=field)


def loads(text: str, *, timeout: float | None = None, field: str = "text") -> dimod.ConstrainedQuadraticModel:
    """Read CPLEX LP text (:func:`dimod.lp.loads`), refusing control characters first.

    Args:
        text: the LP model.
        timeout: when given, the text is first read in a worker process stopped after
            this many seconds (:func:`probe`), then here; None reads it here only.
        field: the name errors carry in ``.field``.

    Raises:
        ModelError: a control character (``contains control character U+0000 at offset
            0``), text dimod cannot read, or a read past ``timeout``.
    """
    _refuse_control_characters(text, field)
    if timeout is not None:
        _PARSER.probe(text, timeout, field=field)
    try:
        return dimod.lp.loads(text)
    except Exception as exc:  # noqa: BLE001 - the reader raises many types for bad text
        raise ModelError(field, f"not a valid LP model: {type(exc).__name__}: {exc}") from None


def _refuse_control_characters(text: str, field: str) -> None:
    bad = find_control_character(text)
    if bad is not None:
        raise ModelError(field, f"contains control character {bad[1]} at offset {bad[0]}")

_MAX_RE = re.compile(r"(?i)^\s*(maximi[sz]e|maximum|max)\b")


def objective_sense(text: str) -> str:
    """The sense of an LP text's objective: ``"max"`` when its first word (after ``\\``
    comment lines) is ``Maximize``, ``Maximise``, ``Maximum`` or ``max`` (any case), else ``"min"``."""
    for line in text.splitlines():
        s = line.strip()
        if not s or s.startswith("\\"):
            continue
        return "max" if _MAX_RE.match(s) else "min"
    return "min"


def from_lp(path_or_text, *, name: str = "") -> Problem:
    """Read a CPLEX LP model with :func:`dimod.lp.loads`, keeping its objective sense.

    Args:
        path_or_text: a path or the LP text (:func:`~qopt.model.formats.source.read_source`).
        name: the problem's name; default the file's stem (``""`` for text).

    Returns:
        A validated :class:`~qopt.model.Problem`, ``metadata={"source": "lp"}``.

    Raises:
        FileNotFoundError: a path that names no file.
        ModelError (a ValueError): unreadable LP (dimod's message), control characters in
            the text, or an invalid model.
    """
    text, path = read_source(path_or_text)
    cqm = loads(text, field="path_or_text")  # minimisation form (dimod negates a Maximize objective)
    sense = objective_sense(text)
    problem = Problem(cqm, sense, name or (pathlib.Path(path).stem if path else ""), {"source": "lp"})
    validate(problem)
    return problem


def to_lp(problem: Problem) -> str:
    """LP text of ``problem`` (objective in its own sense; spin variables become binary).

    Raises:
        ValueError: labels that the LP format cannot hold (dimod's message).
    """
    cqm = problem.user_cqm()
    if any(cqm.vartype(v) is dimod.SPIN for v in cqm.variables):
        cqm = cqm.spin_to_binary()
    text = dimod.lp.dumps(cqm)
    if problem.sense == "max":
        text = re.sub(r"^Minimize", "Maximize", text, count=1)
    return text

