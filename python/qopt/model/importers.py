"""Importers and exporters: LP, MPS, QuadraticProgram, dimod models, QKP and TSPLIB files.

Every importer returns a validated :class:`~qopt.model.Problem` (objective sense kept).

* LP (CPLEX LP): :func:`dimod.lp.load` reads it (it negates a ``Maximize`` objective; we
  detect the keyword and record ``sense="max"``). Export with :func:`dimod.lp.dumps`.
* MPS: read with HiGHS (``highspy``: ``Highs.readModel``), the model's A matrix, bounds,
  integrality, costs, offset and Hessian translated to a CQM. Export by writing LP text and
  letting HiGHS write MPS.
* ``qiskit_optimization.QuadraticProgram``: direct translation both ways.
* QKP (Billionnet & Soutif 2004 format) and TSPLIB95 (Reinelt 1991) text files. The
  ``tsplib95`` PyPI package pins ``networkx~=2.x`` (it would downgrade the networkx 3.x that
  the Ocean SDK uses), so a small parser following the TSPLIB95 document is used instead.
"""
from __future__ import annotations

import io
import math
import os
import pathlib
import re
import tempfile

import dimod
import numpy as np

from qopt.model.problem import ModelError, Problem, validate

__all__ = ["load_model", "from_lp", "to_lp", "from_mps", "to_mps", "from_quadratic_program",
           "to_quadratic_program", "read_qkp", "write_qkp", "parse_qkp", "read_tsplib", "parse_tsplib",
           "write_tsplib", "tsplib_distances"]


def _read_text(path_or_text) -> tuple[str, str | None]:
    """(text, path or None)."""
    if isinstance(path_or_text, bytes):
        path_or_text = path_or_text.decode()
    if isinstance(path_or_text, os.PathLike):
        p = pathlib.Path(path_or_text)
        return p.read_text(), str(p)
    if isinstance(path_or_text, str) and "\n" not in path_or_text and len(path_or_text) < 4096:
        p = pathlib.Path(path_or_text)
        if p.is_file():
            return p.read_text(), str(p)
        raise FileNotFoundError(f"no such file: {path_or_text!r}")
    return path_or_text, None


# ---------------------------------------------------------------------------------------
# dispatcher
# ---------------------------------------------------------------------------------------

def _guess_format(text: str, path: str | None) -> str:
    if path is not None:
        ext = pathlib.Path(path).suffix.lower()
        if ext in (".lp",):
            return "lp"
        if ext in (".mps", ".qps"):
            return "mps"
        if ext in (".tsp", ".atsp"):
            return "tsplib"
        if ext == ".json":
            return "json"
    head = text.lstrip()[:2000]
    if re.search(r"^\s*(NAME|TYPE)\s*:", head, re.M) and re.search(r"DIMENSION\s*:", head):
        return "tsplib"
    if re.match(r"\s*NAME\b", head) and re.search(r"^ROWS\s*$", head, re.M):
        return "mps"
    if re.match(r"(?i)\s*(\\.*\n\s*)*(minimi[sz]e|maximi[sz]e|minimum|maximum|min|max)\b", head):
        return "lp"
    if head.startswith("{"):
        return "json"
    lines = head.splitlines()
    if len(lines) >= 3 and re.fullmatch(r"\s*\d+\s*", lines[1]):
        return "qkp"
    raise ValueError("cannot tell the model format; pass format='lp'|'mps'|'qkp'|'tsplib'|'json'")


def load_model(path_or_text, format: str | None = None) -> Problem:
    """Load a model from a path or text, guessing the format when ``format`` is None.

    Args:
        path_or_text: a file path (str or PathLike) or the file's text.
        format: ``"lp"``, ``"mps"``, ``"qkp"``, ``"tsplib"`` (builds the TSP template),
            ``"json"`` (a :func:`qopt.model.from_spec` dict) or ``"cqm"`` (dimod's binary
            file, path only). Guessed from the extension, then the content.

    Returns:
        A validated :class:`~qopt.model.Problem`.

    Raises:
        FileNotFoundError: a path-like string that names no file.
        ValueError: unknown or unguessable format; ModelError for invalid models.
    """
    if format == "cqm" or (isinstance(path_or_text, (str, os.PathLike)) and str(path_or_text).endswith(".cqm")):
        with open(path_or_text, "rb") as f:
            return Problem.from_cqm(dimod.ConstrainedQuadraticModel.from_file(f))
    text, path = _read_text(path_or_text)
    fmt = format or _guess_format(text, path)
    name = pathlib.Path(path).stem if path else ""
    if fmt == "lp":
        return from_lp(text, name=name)
    if fmt == "mps":
        return from_mps(text, name=name)
    if fmt == "qkp":
        from qopt.model.templates import quadratic_knapsack
        inst = parse_qkp(text)
        problem, _ = quadratic_knapsack(inst["profits"], inst["quadratic"], inst["weights"], inst["capacity"])
        return Problem(problem.cqm, problem.sense, inst["name"] or name, problem.metadata)
    if fmt == "tsplib":
        from qopt.model.templates import tsp
        inst = parse_tsplib(text)
        problem, _ = tsp(inst["distances"])
        return Problem(problem.cqm, problem.sense, inst["name"] or name, problem.metadata)
    if fmt == "json":
        import json
        from qopt.model.problem import from_spec
        return from_spec(json.loads(text))
    raise ValueError(f"format must be one of 'lp', 'mps', 'qkp', 'tsplib', 'json', 'cqm', was {fmt!r}")


# ---------------------------------------------------------------------------------------
# LP
# ---------------------------------------------------------------------------------------

_MAX_RE = re.compile(r"(?i)^\s*(maximi[sz]e|maximum|max)\b")


def _lp_sense(text: str) -> str:
    for line in text.splitlines():
        s = line.strip()
        if not s or s.startswith("\\"):
            continue
        return "max" if _MAX_RE.match(s) else "min"
    return "min"


def from_lp(path_or_text, *, name: str = "") -> Problem:
    """Read a CPLEX LP model (path or text) with :func:`dimod.lp.load`, keeping its sense.

    Raises:
        ValueError: unreadable LP (dimod's message); ModelError: invalid model.
    """
    text, path = _read_text(path_or_text)
    cqm = dimod.lp.loads(text)  # minimisation form (dimod negates a Maximize objective)
    sense = _lp_sense(text)
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


# ---------------------------------------------------------------------------------------
# MPS (HiGHS)
# ---------------------------------------------------------------------------------------

def _highs():
    try:
        import highspy
    except ImportError as exc:  # pragma: no cover
        raise ImportError("MPS import needs highspy: pip install highspy") from exc
    h = highspy.Highs()
    h.setOptionValue("output_flag", False)
    return highspy, h


def from_mps(path_or_text, *, name: str = "") -> Problem:
    """Read an MPS (or free MPS / QPS) model with HiGHS and translate it into a CQM.

    Columns: integer with bounds within [0, 1] -> BINARY, other integer -> INTEGER (bounds
    kept), continuous -> REAL (compile rejects REAL; presolve may fix them). Rows: equal
    bounds -> ``==``; a ranged row ``lo <= a.x <= hi`` -> two constraints ``{row}_lo`` and
    ``{row}_hi``; otherwise ``<=`` or ``>=``. The objective ``c.x + 1/2 x^T H x + offset``
    (H from the QUADOBJ/QMATRIX section) keeps its sense.

    Raises:
        ValueError: HiGHS cannot read the file; ModelError: invalid model.
    """
    highspy, h = _highs()
    text, path = _read_text(path_or_text)
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
        raise ValueError(f"HiGHS could not read the MPS model (status {status})")
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
    obj.add_linear_from(zip(names, cost))
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
    start, index, value = np.asarray(a.start_), np.asarray(a.index_), np.asarray(a.value_, dtype=float)
    if a.format_ == highspy.MatrixFormat.kColwise:
        A = sp.csc_matrix((value, index, start), shape=(m, n)).tocsr()
    else:
        A = sp.csr_matrix((value, index, start), shape=(m, n))
    rlo = np.asarray(lp.row_lower_, dtype=float)
    rhi = np.asarray(lp.row_upper_, dtype=float)
    for i in range(m):
        cols = A.indices[A.indptr[i]:A.indptr[i + 1]]
        vals = A.data[A.indptr[i]:A.indptr[i + 1]]
        terms = [(names[c], float(v)) for c, v in zip(cols, vals)]
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
    """MPS text of ``problem`` written by HiGHS (via LP text); also written to ``path`` if given."""
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


# ---------------------------------------------------------------------------------------
# qiskit_optimization.QuadraticProgram
# ---------------------------------------------------------------------------------------

def from_quadratic_program(qp) -> Problem:
    """Translate a ``qiskit_optimization.QuadraticProgram`` (binary, integer, continuous
    variables; linear and quadratic constraints; min or max) into a Problem.

    Raises:
        ModelError: invalid model (e.g. an integer variable without a finite upper bound).
    """
    from qiskit_optimization.problems import Constraint, QuadraticObjective, VarType

    cqm = dimod.ConstrainedQuadraticModel()
    obj = dimod.QuadraticModel()
    for var in qp.variables:
        if var.vartype == VarType.BINARY:
            obj.add_variable("BINARY", var.name)
        elif var.vartype == VarType.INTEGER:
            if not math.isfinite(var.upperbound) or var.upperbound >= 1e20:
                raise ModelError(f"variables[{var.name!r}]", "integer variable is unbounded (no finite upper bound)")
            obj.add_variable("INTEGER", var.name, lower_bound=var.lowerbound, upper_bound=var.upperbound)
        else:
            obj.add_variable("REAL", var.name, lower_bound=var.lowerbound, upper_bound=min(var.upperbound, 1e30))
    o = qp.objective
    obj.add_linear_from(o.linear.to_dict(use_name=True).items())
    for (u, v), b in o.quadratic.to_dict(use_name=True).items():
        obj.add_quadratic(u, v, b)
    obj.offset = float(o.constant)
    maximize = o.sense == QuadraticObjective.Sense.MAXIMIZE
    if maximize:
        obj.scale(-1.0)
    cqm.set_objective(obj)
    senses = {Constraint.Sense.LE: "<=", Constraint.Sense.GE: ">=", Constraint.Sense.EQ: "=="}
    for c in qp.linear_constraints:
        terms = list(c.linear.to_dict(use_name=True).items())
        if not terms:
            raise ModelError(f"constraints[{c.name!r}]", "constraint has no variables (empty constraint)")
        cqm.add_constraint_from_iterable(terms, senses[c.sense], rhs=float(c.rhs), label=c.name)
    for c in qp.quadratic_constraints:
        lhs = dimod.QuadraticModel()
        lin = c.linear.to_dict(use_name=True)
        quad = c.quadratic.to_dict(use_name=True)
        used = set(lin) | {u for u, _ in quad} | {v for _, v in quad}
        if not used:
            raise ModelError(f"constraints[{c.name!r}]", "constraint has no variables (empty constraint)")
        for v in used:
            lhs.add_variable(cqm.vartype(v), v, lower_bound=cqm.lower_bound(v), upper_bound=cqm.upper_bound(v))
        lhs.add_linear_from(lin.items())
        for (u, v), b in quad.items():
            lhs.add_quadratic(u, v, b)
        cqm.add_constraint_from_model(lhs, senses[c.sense], float(c.rhs), label=c.name)
    problem = Problem(cqm, "max" if maximize else "min", qp.name or "", {"source": "quadratic_program"})
    validate(problem)
    return problem


def to_quadratic_program(problem: Problem):
    """Translate a Problem into a ``qiskit_optimization.QuadraticProgram`` (spin variables
    become binary through s = 2b - 1). Variable and constraint labels become ``str``."""
    from qiskit_optimization import QuadraticProgram

    cqm = problem.user_cqm()
    if any(cqm.vartype(v) is dimod.SPIN for v in cqm.variables):
        cqm = cqm.spin_to_binary()
    qp = QuadraticProgram(problem.name or "qopt")
    for v in cqm.variables:
        vt = cqm.vartype(v)
        if vt is dimod.BINARY:
            qp.binary_var(str(v))
        elif vt is dimod.INTEGER:
            qp.integer_var(int(cqm.lower_bound(v)), int(cqm.upper_bound(v)), str(v))
        else:
            qp.continuous_var(float(cqm.lower_bound(v)), float(cqm.upper_bound(v)), str(v))
    o = cqm.objective
    lin = {str(v): float(b) for v, b in o.iter_linear() if b}
    quad = {(str(u), str(v)): float(b) for u, v, b in o.iter_quadratic()}
    if problem.sense == "max":
        qp.maximize(constant=float(o.offset), linear=lin, quadratic=quad)
    else:
        qp.minimize(constant=float(o.offset), linear=lin, quadratic=quad)
    for label, comp in cqm.constraints.items():
        lhs = comp.lhs
        lin = {str(v): float(b) for v, b in lhs.iter_linear() if b}
        quad = {(str(u), str(v)): float(b) for u, v, b in lhs.iter_quadratic()}
        rhs = float(comp.rhs) - float(lhs.offset)
        if quad:
            qp.quadratic_constraint(lin, quad, comp.sense.value, rhs, str(label))
        else:
            qp.linear_constraint(lin, comp.sense.value, rhs, str(label))
    return qp


# ---------------------------------------------------------------------------------------
# QKP (Billionnet & Soutif)
# ---------------------------------------------------------------------------------------

def parse_qkp(text: str) -> dict:
    """Parse a QKP instance (Billionnet & Soutif, EJOR 157(3), 2004 format).

    Layout: name line, n, n linear profits, n-1 rows of upper-triangular pair profits
    p_ij (i < j), a blank line, the constraint type (0 means <=), the capacity, n weights,
    then free comments.

    Returns:
        ``{"name", "profits" float (n,), "quadratic" float (n, n) upper triangle,
        "weights" float (n,), "capacity" float}``.

    Raises:
        ValueError: truncated or malformed file, or a constraint type other than 0.
    """
    lines = text.splitlines()
    name = lines[0].strip() if lines else ""
    body = "\n".join(lines[1:])
    cut = re.search(r"(?im)^\s*comment", body)
    if cut:
        body = body[:cut.start()]
    try:
        tok = np.array(body.split(), dtype=float)
    except ValueError as exc:
        raise ValueError(f"QKP file has a non-numeric token: {exc}") from None
    if tok.size < 1:
        raise ValueError("QKP file is empty")
    n = int(tok[0])
    need = 1 + n + n * (n - 1) // 2 + 2 + n
    if tok.size < need:
        raise ValueError(f"QKP file truncated: expected {need} numbers for n={n}, found {tok.size}")
    pos = 1
    profits = tok[pos:pos + n]
    pos += n
    P = np.zeros((n, n))
    iu, ju = np.triu_indices(n, 1)
    P[iu, ju] = tok[pos:pos + n * (n - 1) // 2]
    pos += n * (n - 1) // 2
    ctype = int(tok[pos])
    if ctype != 0:
        raise ValueError(f"QKP constraint type must be 0 (<=), was {ctype}")
    capacity = float(tok[pos + 1])
    weights = tok[pos + 2:pos + 2 + n]
    return {"name": name, "profits": profits, "quadratic": P, "weights": weights, "capacity": capacity}


def read_qkp(path) -> tuple[Problem, object]:
    """Read a QKP file into the :func:`~qopt.model.quadratic_knapsack` template: ``(problem, interpret)``."""
    from qopt.model.templates import quadratic_knapsack
    text, p = _read_text(path)
    inst = parse_qkp(text)
    problem, interpret = quadratic_knapsack(inst["profits"], inst["quadratic"], inst["weights"], inst["capacity"])
    return Problem(problem.cqm, problem.sense, inst["name"], problem.metadata), interpret


def write_qkp(instance: dict) -> str:
    """QKP text (Billionnet & Soutif format) of a :func:`parse_qkp`-style dict."""
    p = np.asarray(instance["profits"])
    P = np.asarray(instance["quadratic"])
    n = p.size
    out = io.StringIO()
    out.write(f"{instance.get('name', 'qkp')}\n{n}\n")
    out.write(" ".join(f"{int(v)}" for v in p) + "\n")
    for i in range(n - 1):
        out.write(" ".join(f"{int(v)}" for v in P[i, i + 1:]) + "\n")
    out.write("\n0\n")
    out.write(f"{int(instance['capacity'])}\n")
    out.write(" ".join(f"{int(v)}" for v in instance["weights"]) + "\n")
    return out.getvalue()


# ---------------------------------------------------------------------------------------
# TSPLIB95 (Reinelt 1991)
# ---------------------------------------------------------------------------------------

def _nint(x):
    return np.floor(np.asarray(x, dtype=float) + 0.5)


def tsplib_distances(coords: np.ndarray, kind: str) -> np.ndarray:
    """Distance matrix (float64, integral values) for TSPLIB ``EDGE_WEIGHT_TYPE`` ``kind``
    (EUC_2D, CEIL_2D, GEO, ATT, MAN_2D, MAX_2D) following the TSPLIB95 document."""
    c = np.asarray(coords, dtype=float)
    kind = kind.upper()
    if kind in ("EUC_2D", "EUC_3D", "CEIL_2D", "MAN_2D", "MAX_2D", "MAN_3D", "MAX_3D"):
        d = c[:, None, :] - c[None, :, :]
        if kind.startswith("MAN"):
            return _nint(np.abs(d).sum(-1))
        if kind.startswith("MAX"):
            return _nint(np.abs(d).max(-1))
        e = np.sqrt((d ** 2).sum(-1))
        return np.ceil(e) if kind == "CEIL_2D" else _nint(e)
    if kind == "ATT":
        d = c[:, None, :] - c[None, :, :]
        r = np.sqrt((d ** 2).sum(-1) / 10.0)
        t = _nint(r)
        return np.where(t < r, t + 1, t)
    if kind == "GEO":
        pi = 3.141592
        deg = np.trunc(c)
        mins = c - deg
        rad = pi * (deg + 5.0 * mins / 3.0) / 180.0
        lat, lon = rad[:, 0], rad[:, 1]
        rrr = 6378.388
        q1 = np.cos(lon[:, None] - lon[None, :])
        q2 = np.cos(lat[:, None] - lat[None, :])
        q3 = np.cos(lat[:, None] + lat[None, :])
        arg = np.clip(0.5 * ((1.0 + q1) * q2 - (1.0 - q1) * q3), -1.0, 1.0)
        d = np.trunc(rrr * np.arccos(arg) + 1.0)
        np.fill_diagonal(d, 0.0)
        return d
    raise ValueError(f"EDGE_WEIGHT_TYPE {kind!r} is not supported")


def _explicit(values: np.ndarray, n: int, fmt: str) -> np.ndarray:
    fmt = fmt.upper()
    D = np.zeros((n, n))
    if fmt == "FULL_MATRIX":
        return values[:n * n].reshape(n, n).copy()
    # row-wise triangle orders; *_COL of one triangle equals *_ROW of the other
    alias = {"UPPER_COL": "LOWER_ROW", "LOWER_COL": "UPPER_ROW",
             "UPPER_DIAG_COL": "LOWER_DIAG_ROW", "LOWER_DIAG_COL": "UPPER_DIAG_ROW"}
    fmt = alias.get(fmt, fmt)
    if fmt == "UPPER_ROW":
        i, j = np.triu_indices(n, 1)
    elif fmt == "LOWER_ROW":
        i, j = np.tril_indices(n, -1)
    elif fmt == "UPPER_DIAG_ROW":
        i, j = np.triu_indices(n, 0)
    elif fmt == "LOWER_DIAG_ROW":
        i, j = np.tril_indices(n, 0)
    else:
        raise ValueError(f"EDGE_WEIGHT_FORMAT {fmt!r} is not supported")
    if values.size < i.size:
        raise ValueError(f"EDGE_WEIGHT_SECTION has {values.size} numbers, {fmt} needs {i.size}")
    D[i, j] = values[:i.size]
    D[j, i] = values[:i.size]
    return D


def parse_tsplib(text: str) -> dict:
    """Parse a TSPLIB95 TSP/ATSP file.

    Supports EDGE_WEIGHT_TYPE EUC_2D, CEIL_2D, GEO, ATT, MAN_2D, MAX_2D and EXPLICIT with
    EDGE_WEIGHT_FORMAT FULL_MATRIX, UPPER_ROW, LOWER_ROW, UPPER_DIAG_ROW, LOWER_DIAG_ROW
    and their *_COL counterparts.

    Returns:
        ``{"name", "type", "dimension", "edge_weight_type", "distances" float64 (n, n),
        "coords" float64 (n, 2) or None}``.

    Raises:
        ValueError: missing DIMENSION, unsupported type/format, truncated sections.
    """
    spec: dict = {}
    sections: dict = {}
    current = None
    for raw in text.splitlines():
        line = raw.strip()
        if not line:
            continue
        if line == "EOF":
            break
        m = re.match(r"^([A-Z_]+)\s*:\s*(.*)$", line)
        if m and not line.endswith("SECTION"):
            spec[m.group(1)] = m.group(2).strip()
            current = None
            continue
        if re.match(r"^[A-Z_]+_SECTION\s*:?$", line):
            current = line.rstrip(":").strip()
            sections[current] = []
            continue
        if current is not None:
            sections[current].extend(line.split())
    if "DIMENSION" not in spec:
        raise ValueError("TSPLIB file lacks DIMENSION")
    n = int(spec["DIMENSION"])
    kind = spec.get("EDGE_WEIGHT_TYPE", "EXPLICIT").upper()
    coords = None
    if "NODE_COORD_SECTION" in sections:
        vals = np.array(sections["NODE_COORD_SECTION"], dtype=float)
        width = vals.size // n
        if width < 3:
            raise ValueError("NODE_COORD_SECTION is truncated")
        coords = vals[:n * width].reshape(n, width)[:, 1:]
    if kind == "EXPLICIT":
        if "EDGE_WEIGHT_SECTION" not in sections:
            raise ValueError("EXPLICIT instance lacks EDGE_WEIGHT_SECTION")
        D = _explicit(np.array(sections["EDGE_WEIGHT_SECTION"], dtype=float), n,
                      spec.get("EDGE_WEIGHT_FORMAT", "FULL_MATRIX"))
    else:
        if coords is None:
            raise ValueError(f"{kind} instance lacks NODE_COORD_SECTION")
        D = tsplib_distances(coords, kind)
    return {"name": spec.get("NAME", ""), "type": spec.get("TYPE", "TSP"), "dimension": n,
            "edge_weight_type": kind, "distances": D, "coords": coords}


def read_tsplib(path) -> tuple[Problem, object]:
    """Read a TSPLIB file into the :func:`~qopt.model.tsp` template: ``(problem, interpret)``."""
    from qopt.model.templates import tsp
    text, _ = _read_text(path)
    inst = parse_tsplib(text)
    problem, interpret = tsp(inst["distances"])
    return Problem(problem.cqm, problem.sense, inst["name"], {**problem.metadata, "source": "tsplib"}), interpret


def write_tsplib(distances, name: str = "qopt") -> str:
    """TSPLIB text (EXPLICIT, FULL_MATRIX) of a distance matrix."""
    D = np.asarray(distances, dtype=float)
    n = D.shape[0]
    typ = "TSP" if np.allclose(D, D.T) else "ATSP"
    rows = "\n".join(" ".join(f"{int(v)}" if float(v).is_integer() else repr(float(v)) for v in r) for r in D)
    return (f"NAME: {name}\nTYPE: {typ}\nDIMENSION: {n}\nEDGE_WEIGHT_TYPE: EXPLICIT\n"
            f"EDGE_WEIGHT_FORMAT: FULL_MATRIX\nEDGE_WEIGHT_SECTION\n{rows}\nEOF\n")
