"""The LP parse worker: a separate process that reads CPLEX LP text with
:func:`dimod.lp.loads` and sends back the model's sizes, so that an input on which dimod's reader
never returns (it holds the GIL, so no thread can stop it) costs a killed process, not a
hung server. Started by :class:`qopt.model.formats.lp.LPParser` as
``python -I lp_worker.py``; it imports dimod only, never qopt.

Protocol on stdin/stdout, repeated until stdin closes: the parent writes an 8-byte
big-endian length and that many bytes of UTF-8 text; the worker answers one status byte
(``b"o"``: the payload is ``"VARIABLES CONSTRAINTS QUADRATIC_TERMS"`` in ASCII, the
model having been read; ``b"e"``: the payload is ``"TypeName: message"`` in UTF-8), an 8-byte length and
the payload.
"""
from __future__ import annotations

import struct
import sys


def _read_exact(stream, n: int) -> bytes | None:
    chunks = []
    while n:
        chunk = stream.read(n)
        if not chunk:
            return None
        chunks.append(chunk)
        n -= len(chunk)
    return b"".join(chunks)


def main() -> int:
    """Serve parse requests until stdin closes; returns the exit status (0)."""
    import dimod

    inp, out = sys.stdin.buffer, sys.stdout.buffer
    while True:
        head = _read_exact(inp, 8)
        if head is None:
            return 0
        data = _read_exact(inp, struct.unpack(">Q", head)[0])
        if data is None:
            return 0
        try:
            cqm = dimod.lp.loads(data.decode("utf-8"))
            quadratic = len(cqm.objective.quadratic) + sum(len(c.lhs.quadratic) for c in cqm.constraints.values())
            status, payload = b"o", f"{len(cqm.variables)} {len(cqm.constraints)} {quadratic}".encode()
        except Exception as exc:  # noqa: BLE001 - the reader raises many types for bad text
            status, payload = b"e", f"{type(exc).__name__}: {exc}"[:4000].encode("utf-8", "replace")
        out.write(status + struct.pack(">Q", len(payload)) + payload)
        out.flush()


if __name__ == "__main__":
    sys.exit(main())
