"""SHA-256 of a canonical form of a binary quadratic model.

Two BQMs that describe the same function over the same labelled variables hash the
same, whatever order their interactions were added in: variables in the model's order,
each interaction stored once as (i, j) with i < j, sorted, biases as IEEE-754 doubles.
"""
from __future__ import annotations

import hashlib
import json

import dimod
import numpy as np

__all__ = ["bqm_sha256"]


def bqm_sha256(bqm: dimod.BinaryQuadraticModel) -> str:
    """Hex SHA-256 (64 characters) of the canonical form of ``bqm``."""
    variables = list(bqm.variables)
    linear, (irow, icol, quad), offset = bqm.to_numpy_vectors(variables, sort_indices=True)  # type: ignore[misc]  # dimod types it as a 3- or 4-tuple
    lo = np.minimum(irow, icol).astype(np.int64)
    hi = np.maximum(irow, icol).astype(np.int64)
    order = np.lexsort((hi, lo))
    h = hashlib.sha256()
    h.update(b"qopt-bqm-v1\0")
    h.update(bqm.vartype.name.encode())
    h.update(json.dumps([v if isinstance(v, (int, str)) else repr(v) for v in variables]).encode())
    h.update(np.ascontiguousarray(linear, dtype="<f8").tobytes())
    h.update(np.ascontiguousarray(lo[order], dtype="<i8").tobytes())
    h.update(np.ascontiguousarray(hi[order], dtype="<i8").tobytes())
    h.update(np.ascontiguousarray(np.asarray(quad)[order], dtype="<f8").tobytes())
    h.update(np.float64(offset).astype("<f8").tobytes())
    return h.hexdigest()
