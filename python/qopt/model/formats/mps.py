"""MPS models (fixed or free MPS, QPS): read and written by HiGHS (``highspy``).

:func:`from_mps` translates the HiGHS model (A matrix, bounds, integrality, costs, offset
and the Hessian of a QUADOBJ/QMATRIX section) into a CQM; :func:`to_mps` writes the LP
export of a problem and lets HiGHS write it as MPS. HiGHS prints nothing: ``output_flag``
is off, and the banner its first instance writes to file descriptor 1 (``Running HiGHS
...``, before any option can be set) is sent to ``/dev/null``, so stdout stays the
caller's (``qopt solve model.mps --json`` is one JSON document).
"""
from __future__ import annotations

import os
import pathlib
import sys
import tempfile
import threading

import dimod
import numpy as np

from qopt.errors import InvalidInput
from qopt.model.formats.lp import to_lp
from qopt.model.formats.source import read_source
from qopt.model.problem import ModelError, Problem, validate

__all__ = ["from_mps", "to_mps", "quiet_first_highs"]


_banner_lock = threading.Lock()
_banner_done = False


def quiet_first_highs(highspy):
    """A ``highspy.Highs()``; the first of the process is built with file descriptor 1 on
    ``/dev/null``: its constructor prints the banner (once per process) before
    ``output_flag`` can be set."""
    global _banner_done
    with _banner_lock:
        if _banner_done:
            return highspy.Highs()
        try:
            sys.stdout.flush()
        except (AttributeError, ValueError, OSError):  # pragma: no cover - a closed or odd stdout
            pass
        saved = os.dup(1)
        devnull = os.open(os.devnull, os.O_WRONLY)
        try:
            os.dup2(devnull, 1)
            h = highspy.Highs()
        finally:
            os.dup2(saved, 1)
            os.close(saved)
            os.close(devnull)
        _banner_done = True
        return h


def _highs():
    try:
        import highspy
    except ImportError as exc:  # pragma: no cover
        raise ImportError("MPS import needs highspy: pip install highspy") from exc
    h = quiet_first_highs(highspy)
    h.setOptionValue("output_flag", False)
    return highspy, h


def from_mps(path_or_text, *, name: str = "") -> Problem:
    """Read an MPS (or free MPS / QPS) model with HiGHS and translate it into a CQM.

    Columns: integer with bounds within [0, 1] -> BINARY, other integer -> INTEGER (bounds
    kept), continuous -> REAL (compile rejects REAL; presolve may fix them). Rows: equal
    bounds -> ``==``; a ranged row ``lo <= a.x <= hi`` -> two constraints ``{row}_lo`` and
    ``{row}_hi``; otherwise ``<=`` or ``>=``. The objective ``c.x + 1/2 x^T H x + offset``
    (H from the QUADOBJ/QMATRIX section) keeps its sense.

    Args:
        path_or_text: a path or the MPS text (:func:`~qopt.model.formats.source.read_source`).
        name: the problem's name; default the file's stem (``""`` for text).

    Returns:
        A validated :class:`~qopt.model.Problem`, ``metadata={"source": "mps"}``.

    Raises:
        FileNotFoundError: a path that names no file.
        InvalidInput: HiGHS cannot read the model (``.field`` ``path_or_text``).
        ModelError: invalid model.
    """
    highspy, h = _highs()
    text, path = read_source(path_or_text)
    tmp = None
    if path is None:
        tmp = tempfile.NamedTemporaryFile("w", suffix=".mps", delete=False)
        tmp.write(text)
        tmp.close()
        path = tmp.name
    try:
        status = h.readModel(path)
    finally:
        if tmp is not None:
            os.unlink(tmp.name)
    if status != highspy.HighsStatus.kOk and status != highspy.HighsStatus.kWarning:
        raise InvalidInput("path_or_text", f"HiGHS could not read the MPS model (status {status})")
    model = h.getModel()
    problem = _from_highs_model(model, highspy)
    return Problem(problem.cqm, problem.sense, name or (pathlib.Path(path).stem if tmp is None else ""),
                   {"source": "mps"})


def _from_highs_model(model, highspy) -> Problem:
    lp = model.lp_
    n, m = lp.num_col_, lp.num_row_
    names = list(lp.col_names_) or [f"x{j}" for j in range(n)]
    rnames = list(lp.row_names_) or [f"r{i}" for i in range(m)]
    cost = np.asarray(lp.col_cost_, dtype=float)
    lo = np.asarray(lp.col_lower_, dtype=float)
    hi = np.asarray(lp.col_upper_, dtype=float)
    integ = list(lp.integrality_) if len(lp.integrality_) else [highspy.HighsVarType.kContinuous] * n
    cqm = dimod.ConstrainedQuadraticModel()
    obj = dimod.QuadraticModel()
    for j in range(n):
        if integ[j] == highspy.HighsVarType.kInteger:
            if lo[j] >= 0 and hi[j] <= 1:
                obj.add_variable("BINARY", names[j])
                if lo[j] == 1 or hi[j] == 0:
                    pass  # fixed binaries kept; bounds enforced below
                continue
            obj.add_variable("INTEGER", names[j], lower_bound=lo[j], upper_bound=hi[j])
        else:
            obj.add_variable("REAL", names[j], lower_bound=lo[j], upper_bound=hi[j])
    maximize = lp.sense_ == highspy.ObjSense.kMaximize
    obj.add_linear_from(zip(names, cost, strict=True))
    H = model.hessian_
    if H.dim_:
        start, index, value = list(H.start_), list(H.index_), list(H.value_)
        for col in range(H.dim_):
            for k in range(start[col], start[col + 1]):
                row, val = index[k], value[k]
                if not val:
                    continue
                if row == col:
                    obj.add_quadratic(names[col], names[col], 0.5 * val) if obj.vartype(names[col]) is not dimod.BINARY \
                        else obj.add_linear(names[col], 0.5 * val)
                else:
                    obj.add_quadratic(names[row], names[col], val)
    obj.offset = float(lp.offset_)
    if maximize:
        obj.scale(-1.0)
    cqm.set_objective(obj)
    # fixed binaries
    for j in range(n):
        if integ[j] == highspy.HighsVarType.kInteger and lo[j] >= 0 and hi[j] <= 1 and lo[j] == hi[j]:
            cqm.add_constraint_from_iterable([(names[j], 1.0)], "==", rhs=float(lo[j]), label=f"fix_{names[j]}")
    a = lp.a_matrix_
    import scipy.sparse as sp
    a_start, a_index, a_value = np.asarray(a.start_), np.asarray(a.index_), np.asarray(a.value_, dtype=float)
    if a.format_ == highspy.MatrixFormat.kColwise:
        A = sp.csc_matrix((a_value, a_index, a_start), shape=(m, n)).tocsr()
    else:
        A = sp.csr_matrix((a_value, a_index, a_start), shape=(m, n))
    rlo = np.asarray(lp.row_lower_, dtype=float)
    rhi = np.asarray(lp.row_upper_, dtype=float)
    for i in range(m):
        cols = A.indices[A.indptr[i]:A.indptr[i + 1]]
        vals = A.data[A.indptr[i]:A.indptr[i + 1]]
        terms = [(names[c], float(v)) for c, v in zip(cols, vals, strict=True)]
        if not terms:
            raise ModelError(f"constraints[{rnames[i]!r}]", "constraint has no variables (empty constraint)")
        if rlo[i] == rhi[i]:
            cqm.add_constraint_from_iterable(terms, "==", rhs=float(rlo[i]), label=rnames[i])
        elif np.isfinite(rlo[i]) and np.isfinite(rhi[i]):
            cqm.add_constraint_from_iterable(terms, ">=", rhs=float(rlo[i]), label=f"{rnames[i]}_lo")
            cqm.add_constraint_from_iterable(terms, "<=", rhs=float(rhi[i]), label=f"{rnames[i]}_hi")
        elif np.isfinite(rhi[i]):
            cqm.add_constraint_from_iterable(terms, "<=", rhs=float(rhi[i]), label=rnames[i])
        elif np.isfinite(rlo[i]):
            cqm.add_constraint_from_iterable(terms, ">=", rhs=float(rlo[i]), label=rnames[i])
        # free rows (both infinite) carry no constraint
    problem = Problem(cqm, "max" if maximize else "min", "", {"source": "mps"})
    validate(problem)
    return problem


def to_mps(problem: Problem, path=None) -> str:
    """MPS text of ``problem`` written by HiGHS (via its LP text); also written to ``path`` if given.

    Raises:
        ValueError: HiGHS cannot read the LP export (labels the LP format cannot hold).
    """
    highspy, h = _highs()
    with tempfile.TemporaryDirectory() as d:
        lp_path = os.path.join(d, "model.lp")
        mps_path = os.path.join(d, "model.mps")
        with open(lp_path, "w") as f:
            f.write(to_lp(problem))
        status = h.readModel(lp_path)
        if status != highspy.HighsStatus.kOk:
            raise ValueError(f"HiGHS could not read the LP export (status {status})")
        h.writeModel(mps_path)
        text = pathlib.Path(mps_path).read_text()
    if path is not None:
        pathlib.Path(path).write_text(text)
    return text

