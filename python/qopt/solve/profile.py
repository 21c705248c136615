"""The routing profile: what each backend delivered, measured, per problem class and deadline.

``backend="auto"`` (:mod:`qopt.solve.routing`) chooses from a profile written by
``benchmarks/bench_routing.py`` (or ``qopt profile --write PATH``, which runs it):
for each problem class (features below) and deadline, each backend's median relative gap to
the best answer any backend found (or the published best-known value), the fraction of runs
that returned a feasible answer within the deadline, the fraction that proved optimality, and
the median wall time used. The file records the machine, date, library versions and command
that produced it. One profile ships with qopt (``qopt/data/routing_profile.json``);
``$QOPT_ROUTING_PROFILE=PATH`` or the ``routing_profile`` option of :func:`qopt.solve`
replaces it.

Problem classes (:func:`problem_features`, :func:`class_key`):
    * ``kind``: ``"bqm"`` (also a constrained model without constraints) or ``"cqm"``;
    * ``constraints``: ``"none"``, ``"one-hot"`` (every constraint is a sum of binaries equal
      to 1), ``"equality"``, ``"inequality"`` (some constraint is an inequality);
    * ``terms`` (constrained models only): ``"linear"`` (a linear objective and linear
      constraints: a MILP, where the exact backends prove optima in well under a second on the
      benchmark sizes) or ``"quadratic"`` (some product of variables: quadratic knapsacks, tours,
      portfolios, where annealing or CP-SAT's circuit win); :data:`TERMS`;
    * ``size``: a bucket of the number of variables (after presolve for BQMs; the model's own
      variables for constrained models): :data:`BQM_SIZE_BUCKETS`, :data:`CQM_SIZE_BUCKETS`;
    * secondary features, used to pick the nearest of several classes with the same key:
      ``template`` (``tsp``, ``knapsack``, ``quadratic_knapsack``, ``assignment``, ...),
      ``vartype``, ``density`` (``"sparse"`` below :data:`DENSE_DENSITY`, else ``"dense"``) and
      ``signs`` of the quadratic biases (``"positive"``, ``"negative"``, ``"mixed"``, ``"none"``).

File format (JSON, ``"format": "qopt-routing-profile/2"``; version 1 had no ``terms``)::

    {"format": ..., "created": ISO date, "machine": {...}, "versions": {...}, "command": str,
     "duration_s": float, "deadlines": [0.1, 1.0, 5.0],
     "classes": [{"key": "cqm/inequality/linear/31-200", "features": {...}, "instances": [names],
                  "results": {"1": {"sa": {"runs": int, "median_gap": float | null,
                                           "success_rate": float, "proven_rate": float,
                                           "median_seconds": float, "racers": [..] (race only)}}}}]}

``median_gap`` is null when more than half the runs gave no feasible answer. Every field is
checked when the file is loaded (:func:`load_profile`): a bad one raises
:class:`qopt.errors.ParameterError` (field ``routing_profile``) naming the file and the field.
"""
from __future__ import annotations

import dataclasses
import json
import math
import os
import pathlib
import sys
import threading
from collections.abc import Mapping, Sequence

import dimod
import numpy as np

from qopt.errors import ParameterError
from qopt.model.problem import expression_arrays

__all__ = ["FORMAT", "PROFILE_ENV", "SHIPPED_PROFILE", "BQM_SIZE_BUCKETS", "CQM_SIZE_BUCKETS", "DENSE_DENSITY",
           "CONSTRAINT_KINDS", "TERMS", "Profile", "Measurement", "ProfileClass", "load_profile", "validate_profile",
           "problem_features", "class_key", "size_bucket", "router_class_keys", "profile_command",
           "add_profile_arguments", "main"]

FORMAT = "qopt-routing-profile/2"
PROFILE_ENV = "QOPT_ROUTING_PROFILE"
SHIPPED_PROFILE = pathlib.Path(__file__).resolve().parent.parent / "data" / "routing_profile.json"

#: Size buckets (inclusive upper ends; None: no end) of BQMs, after presolve.
BQM_SIZE_BUCKETS: tuple[tuple[int, int | None], ...] = ((1, 20), (21, 30), (31, 200), (201, 2000), (2001, None))
#: Size buckets of constrained models, in the model's own variables.
CQM_SIZE_BUCKETS: tuple[tuple[int, int | None], ...] = ((1, 30), (31, 200), (201, None))
#: Density (interactions over n(n-1)/2) at and above which a model is "dense".
DENSE_DENSITY = 0.1
CONSTRAINT_KINDS = ("none", "one-hot", "equality", "inequality")
#: Values of the ``terms`` feature of a constrained model: products of variables anywhere or not.
TERMS = ("linear", "quadratic")
_SECONDARY_WEIGHTS = {"template": 4.0, "vartype": 1.0, "density": 1.0, "signs": 1.0}


def _bucket_name(lo: int, hi: int | None) -> str:
    return f"{lo}+" if hi is None else f"{lo}-{hi}"


def size_bucket(kind: str, num_variables: int) -> str:
    """The size bucket name (``"21-30"``, ``"2001+"``) of ``num_variables`` for ``kind``."""
    buckets = BQM_SIZE_BUCKETS if kind == "bqm" else CQM_SIZE_BUCKETS
    for lo, hi in buckets:
        if hi is None or num_variables <= hi:
            return _bucket_name(lo, hi)
    raise AssertionError("the last bucket has no end")


def class_key(features: Mapping) -> str:
    """The primary key of a problem class: ``kind/constraints/size`` for a BQM (``"bqm/none/21-30"``),
    ``kind/constraints/terms/size`` for a constrained model (``"cqm/one-hot/quadratic/31-200"``)."""
    if features["kind"] == "bqm":
        return f"bqm/{features['constraints']}/{features['size']}"
    return f"{features['kind']}/{features['constraints']}/{features['terms']}/{features['size']}"


def router_class_keys() -> list[str]:
    """Every class key :func:`problem_features` can produce (what a complete profile covers)."""
    keys = [f"bqm/none/{_bucket_name(lo, hi)}" for lo, hi in BQM_SIZE_BUCKETS]
    keys += [f"cqm/{c}/{t}/{_bucket_name(lo, hi)}" for c in CONSTRAINT_KINDS[1:] for t in TERMS
             for lo, hi in CQM_SIZE_BUCKETS]
    return keys


def _signs(biases: np.ndarray) -> str:
    """The sign structure of the quadratic biases (float64 array): vectorised, since routing pays
    it before the solver starts (a Python loop took 75 ms on dantzig42's 70 000 products)."""
    pos, neg = bool((biases > 0).any()), bool((biases < 0).any())
    return "mixed" if pos and neg else "positive" if pos else "negative" if neg else "none"


def _density(n: int, m: int) -> str:
    return "dense" if n >= 2 and 2.0 * m / (n * (n - 1)) >= DENSE_DENSITY else "sparse"


def _constraint_kind(cqm: dimod.ConstrainedQuadraticModel) -> str:
    kinds = set()
    for comp in cqm.constraints.values():
        lhs = comp.lhs
        if comp.sense is not dimod.sym.Sense.Eq:
            kinds.add("inequality")
        elif (lhs.num_interactions == 0 and all(cqm.vartype(v) is dimod.BINARY for v in lhs.variables)
              and all(b == 1 for b in lhs.linear.values()) and comp.rhs - lhs.offset == 1):
            kinds.add("one-hot")
        else:
            kinds.add("equality")
    if not kinds:
        return "none"
    if "inequality" in kinds:
        return "inequality"
    return "equality" if "equality" in kinds else "one-hot"


def _terms(cqm: dimod.ConstrainedQuadraticModel) -> str:
    quadratic = cqm.objective.num_interactions > 0 or any(c.lhs.num_interactions > 0 for c in cqm.constraints.values())
    return "quadratic" if quadratic else "linear"


def _template(problem) -> str | None:
    structure = getattr(problem, "structure", None)
    if isinstance(structure, Mapping) and structure.get("kind"):
        return str(structure["kind"])
    metadata = getattr(problem, "metadata", None)
    if isinstance(metadata, Mapping) and metadata.get("template"):
        return str(metadata["template"])
    return None


def problem_features(bqm: dimod.BinaryQuadraticModel | None = None, *, num_variables: int | None = None,
                     num_interactions: int | None = None, problem=None) -> dict:
    """The routing features of a problem (see the module docstring).

    Args:
        bqm: the BQM sampled (for a constrained model, its compiled BQM; may be None then).
        num_variables, num_interactions: the BQM's size after presolve (default: ``bqm``'s).
        problem: the constrained model (a :class:`qopt.model.Problem`, or anything with a
            ``.cqm``), whose constraints, template (``structure["kind"]`` or
            ``metadata["template"]``) and size decide the class; a model without constraints
            is classed by its BQM.

    Returns:
        dict with ``kind``, ``constraints``, ``size``, ``num_variables``, ``template``,
        ``vartype``, ``density``, ``signs``; ``terms`` for a constrained model.
    """
    cqm = problem if isinstance(problem, dimod.ConstrainedQuadraticModel) else getattr(problem, "cqm", None)
    template = _template(problem) if problem is not None else None
    if isinstance(cqm, dimod.ConstrainedQuadraticModel) and len(cqm.constraints):
        n = len(cqm.variables)
        objective = cqm.objective
        vartypes = {cqm.vartype(v).name for v in cqm.variables}
        return {"kind": "cqm", "constraints": _constraint_kind(cqm), "terms": _terms(cqm), "size": size_bucket("cqm", n),
                "num_variables": n, "template": template,
                "vartype": vartypes.pop() if len(vartypes) == 1 else "mixed",
                "density": _density(n, objective.num_interactions), "signs": _signs(expression_arrays(objective)[4])}
    if bqm is None:
        raise ParameterError("problem", "routing needs a BQM or a constrained model")
    n = bqm.num_variables if num_variables is None else num_variables
    m = bqm.num_interactions if num_interactions is None else num_interactions
    return {"kind": "bqm", "constraints": "none", "size": size_bucket("bqm", max(n, 1)), "num_variables": n,
            "template": template, "vartype": bqm.vartype.name, "density": _density(n, m),
            "signs": _signs(np.asarray(bqm.to_numpy_vectors()[1][2], dtype=float))}


@dataclasses.dataclass(frozen=True)
class Measurement:
    """One backend on one class at one deadline.

    Attributes:
        runs: instances x seeds measured.
        median_gap: median relative gap |answer - best| / max(1, |best|) (None: most runs had
            no feasible answer).
        worst_gap: the largest gap over the runs (None: some run had no feasible answer, or a
            profile written before this field; see ``has_worst_gap``).
        has_worst_gap: whether the profile recorded ``worst_gap``.
        success_rate: fraction of runs with a feasible answer within the deadline (within
            max(5%, 0.1 s)).
        proven_rate: fraction of runs that proved their answer optimal.
        median_seconds: median wall-clock seconds used.
        racers: for ``"race"``, the backends raced.
    """

    runs: int
    median_gap: float | None
    success_rate: float
    proven_rate: float
    median_seconds: float
    racers: tuple[str, ...] = ()
    worst_gap: float | None = None
    has_worst_gap: bool = False


@dataclasses.dataclass(frozen=True)
class ProfileClass:
    """One problem class of a profile: its key, features, instance names and measurements
    (deadline in seconds -> backend -> :class:`Measurement`)."""

    key: str
    features: Mapping
    instances: tuple[str, ...]
    results: Mapping[float, Mapping[str, Measurement]]

    def describe(self) -> str:
        """The instances in words: ``"3 BQM benchmarks (ran_r-22-s3, gka2b, gka6a)"``, or with the
        template's name (``"3 tsp benchmarks (...)"``)."""
        names = ", ".join(self.instances[:3]) + (", ..." if len(self.instances) > 3 else "")
        what = "benchmark" if len(self.instances) == 1 else "benchmarks"
        label = self.features.get("template") or ("BQM" if self.features.get("kind") == "bqm" else "constrained")
        return f"{len(self.instances)} {label} {what} ({names})"


@dataclasses.dataclass(frozen=True)
class Profile:
    """A loaded, validated routing profile.

    Attributes:
        source: where it came from (``"shipped"`` or the file's path).
        created: the date it was written (ISO 8601).
        deadlines: the measured deadlines, seconds, ascending.
        classes: the problem classes.
        raw: the JSON document.
    """

    source: str
    created: str
    deadlines: tuple[float, ...]
    classes: tuple[ProfileClass, ...]
    raw: Mapping

    @property
    def name(self) -> str:
        """``"<source> (<created>)"``: what ``RoutingDecision.profile`` reports."""
        return f"{self.source} ({self.created})"

    def column(self, time_budget: float | None) -> float:
        """The measured deadline that stands for ``time_budget``: the longest one at or below it
        (the shortest when it is below all); without a budget, the longest measured (the router
        passes the default budget instead, :func:`qopt.solve.stages.default_time_budget`)."""
        if time_budget is None:
            return self.deadlines[-1]
        below = [d for d in self.deadlines if d <= time_budget * (1 + 1e-9)]
        return below[-1] if below else self.deadlines[0]

    def nearest(self, features: Mapping) -> ProfileClass:
        """The class nearest ``features``: the same key where there is one (then the best match
        of template, vartype, density and signs), else the same kind, constraints and terms with the
        closest size, else the same kind and constraints, else the same kind."""
        key = class_key(features)

        def distance(c: ProfileClass) -> float:
            d = sum(w for f, w in _SECONDARY_WEIGHTS.items() if c.features.get(f) != features.get(f))
            if c.key == key:
                return d
            same_kind = c.features.get("kind") == features.get("kind")
            same_cons = c.features.get("constraints") == features.get("constraints")
            same_terms = c.features.get("terms") == features.get("terms")
            n, cn = max(1, int(features.get("num_variables") or 1)), max(1, int(c.features.get("num_variables") or 1))
            return d + 100.0 * (not same_kind) + 20.0 * (not same_cons) + 15.0 * (not same_terms) + 10.0 + \
                abs(math.log(n / cn))

        return min(self.classes, key=distance)


# --------------------------------------------------------------------------- loading and validation
def _fail(path: str, field: str, message: str) -> ParameterError:
    return ParameterError("routing_profile", f"{path}: field {field} {message}")


def _number(path: str, field: str, value, *, lo: float = 0.0, hi: float | None = None,
            nullable: bool = False) -> float | None:
    if value is None and nullable:
        return None
    ok = isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value) and value >= lo
    if not ok or (hi is not None and value > hi):
        rng = f">= {lo:g}" + ("" if hi is None else f" and <= {hi:g}")
        raise _fail(path, field, f"must be a number {rng}{' or null' if nullable else ''}, was {value!r}")
    return float(value)


def _measurement(path: str, field: str, m) -> Measurement:
    if not isinstance(m, Mapping):
        raise _fail(path, field, f"must be an object, was {type(m).__name__}")
    runs = m.get("runs")
    if not isinstance(runs, int) or isinstance(runs, bool) or runs < 1:
        raise _fail(path, f"{field}.runs", f"must be an integer >= 1, was {runs!r}")
    racers = m.get("racers", [])
    if not isinstance(racers, list) or not all(isinstance(r, str) and r for r in racers):
        raise _fail(path, f"{field}.racers", f"must be a list of backend names, was {racers!r}")
    return Measurement(
        runs=runs,
        median_gap=_number(path, f"{field}.median_gap", m.get("median_gap"), nullable=True),
        success_rate=_number(path, f"{field}.success_rate", m.get("success_rate"), hi=1.0) or 0.0,
        proven_rate=_number(path, f"{field}.proven_rate", m.get("proven_rate"), hi=1.0) or 0.0,
        median_seconds=_number(path, f"{field}.median_seconds", m.get("median_seconds")) or 0.0,
        racers=tuple(racers),
        worst_gap=_number(path, f"{field}.worst_gap", m.get("worst_gap"), nullable=True),
        has_worst_gap="worst_gap" in m)


def validate_profile(doc, source: str) -> Profile:
    """Check a profile document field by field and return it as a :class:`Profile`.

    Args:
        doc: the parsed JSON.
        source: its name in messages (the file's path, or ``"shipped"``).

    Raises:
        ParameterError: (field ``routing_profile``) a missing or malformed field, named with the file.
    """
    if not isinstance(doc, Mapping):
        raise _fail(source, "(top level)", f"must be a JSON object, was {type(doc).__name__}")
    if doc.get("format") != FORMAT:
        raise _fail(source, "format", f"must be {FORMAT!r}, was {doc.get('format')!r}")
    for name in ("created", "command"):
        if not isinstance(doc.get(name), str) or not doc[name]:
            raise _fail(source, name, f"must be a non-empty string, was {doc.get(name)!r}")
    for name in ("machine", "versions"):
        if not isinstance(doc.get(name), Mapping):
            raise _fail(source, name, f"must be an object, was {doc.get(name)!r}")
    deadlines = doc.get("deadlines")
    if not isinstance(deadlines, list) or not deadlines:
        raise _fail(source, "deadlines", f"must be a non-empty list of seconds, was {deadlines!r}")
    cols = sorted(_number(source, f"deadlines[{i}]", d, lo=1e-9) or 0.0 for i, d in enumerate(deadlines))
    classes = doc.get("classes")
    if not isinstance(classes, list) or not classes:
        raise _fail(source, "classes", f"must be a non-empty list, was {classes!r}")
    out = []
    for i, c in enumerate(classes):
        where = f"classes[{i}]"
        if not isinstance(c, Mapping):
            raise _fail(source, where, f"must be an object, was {type(c).__name__}")
        features = c.get("features")
        needed = ("kind", "constraints", "size") + (() if isinstance(features, Mapping) and
                                                     features.get("kind") == "bqm" else ("terms",))
        if not isinstance(features, Mapping) or not all(k in features for k in needed):
            raise _fail(source, f"{where}.features", f"must be an object with {', '.join(needed)}, "
                                                     f"was {features!r}")
        if features["kind"] != "bqm" and features["terms"] not in TERMS:
            raise _fail(source, f"{where}.features.terms", f"must be one of {TERMS}, was {features['terms']!r}")
        key = class_key(features)
        if c.get("key") != key:
            raise _fail(source, f"{where}.key", f"must be {key!r} (kind/constraints[/terms]/size of its features), "
                                                f"was {c.get('key')!r}")
        instances = c.get("instances")
        if not isinstance(instances, list) or not instances or not all(isinstance(s, str) for s in instances):
            raise _fail(source, f"{where}.instances", f"must be a non-empty list of names, was {instances!r}")
        results = c.get("results")
        if not isinstance(results, Mapping) or not results:
            raise _fail(source, f"{where}.results", f"must be a non-empty object, was {results!r}")
        table: dict[float, dict[str, Measurement]] = {}
        for col, per_backend in results.items():
            try:
                deadline = float(col)
            except (TypeError, ValueError):
                raise _fail(source, f"{where}.results.{col}", "must be keyed by a deadline in seconds") from None
            if not any(math.isclose(deadline, d) for d in cols):
                raise _fail(source, f"{where}.results.{col}", f"is not one of the deadlines {cols}")
            if not isinstance(per_backend, Mapping) or not per_backend:
                raise _fail(source, f"{where}.results.{col}", f"must be a non-empty object, was {per_backend!r}")
            table[deadline] = {b: _measurement(source, f"{where}.results.{col}.{b}", m)
                               for b, m in per_backend.items()}
        out.append(ProfileClass(key, dict(features), tuple(instances), table))
    return Profile(source, doc["created"], tuple(cols), tuple(out), doc)


_CACHE: dict[tuple[str, str, float], Profile] = {}
_CACHE_LOCK = threading.Lock()


def load_profile(path: str | os.PathLike | None = None) -> Profile:
    """Load and validate a routing profile.

    Args:
        path: a profile file; None: ``$QOPT_ROUTING_PROFILE`` when set, else the one shipped
            with qopt. Loaded once per file version (path and modification time).

    Returns:
        :class:`Profile`.

    Raises:
        ParameterError: (field ``routing_profile``) the file is missing, not JSON, or a field
            is malformed; the message names the file and the field.
    """
    if path is None:
        path = os.environ.get(PROFILE_ENV) or None
    file = pathlib.Path(path) if path is not None else SHIPPED_PROFILE
    source = "shipped" if path is None else str(file)
    try:
        mtime = file.stat().st_mtime
    except OSError as exc:
        raise _fail(str(file), "(file)", f"cannot be read: {exc.strerror or exc}") from None
    with _CACHE_LOCK:
        cached = _CACHE.get((source, str(file), mtime))
    if cached is not None:
        return cached
    try:
        doc = json.loads(file.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise _fail(str(file), "(file)", f"cannot be read: {exc}") from None
    except json.JSONDecodeError as exc:
        raise _fail(str(file), "(file)", f"is not JSON: {exc.msg} at line {exc.lineno} column {exc.colno}") from None
    profile = validate_profile(doc, source)
    with _CACHE_LOCK:
        _CACHE[(source, str(file), mtime)] = profile
    return profile


def profile_command(*, write: str | None = None, quick: bool = False, data: str | None = None,
                    out=None) -> int:
    """``qopt profile``: print the profile ``auto`` uses, or measure this machine and write one.

    Args:
        write: a path: run ``benchmarks/bench_routing.py`` of this source checkout (every backend
            measured here, in a child process) and write the profile there; use it with
            ``QOPT_ROUTING_PROFILE=PATH`` or ``qopt.solve(..., routing_profile=PATH)``.
        quick: the benchmark's ``--quick`` mode (about 3 minutes on 2 cores; the full one about
            10 to 30 minutes, by how many backends are installed).
        data: the folder of public instances (default: ``$QOPT_SHARED_DATA`` or ../shared/data).
        out: text stream for the summary (default ``sys.stdout``).

    Returns:
        The exit code: 0, 2 when no benchmark script is beside this installation, or the
        benchmark's own.

    Raises:
        ParameterError: (without ``write``) the profile in use is missing or malformed.
    """
    import subprocess

    out = sys.stdout if out is None else out
    if write:
        bench = pathlib.Path(__file__).resolve().parents[3] / "benchmarks" / "bench_routing.py"
        if not bench.is_file():
            print(f"no benchmarks/bench_routing.py beside this installation ({bench}): run it from a qopt "
                  "source checkout", file=sys.stderr)
            return 2
        cmd = [sys.executable, str(bench), "--write", str(write)] + (["--quick"] if quick else [])
        cmd += ["--data", str(data)] if data else []
        return subprocess.call(cmd)
    profile = load_profile()
    print(f"routing profile: {profile.name}; deadlines {list(profile.deadlines)} s; "
          f"command: {profile.raw['command']}", file=out)
    for c in profile.classes:
        print(f"  {c.key:24s} {c.describe()}", file=out)
    return 0


def add_profile_arguments(parser) -> None:
    """``--write PATH``, ``--quick``, ``--data DIR`` of :func:`profile_command` on an argparse parser."""
    parser.add_argument("--write", metavar="PATH", help="measure the backends here and write a profile to PATH")
    parser.add_argument("--quick", action="store_true", help="the quick measurement (about 3 minutes)")
    parser.add_argument("--data", help="folder of public instances (default: $QOPT_SHARED_DATA or ../shared/data)")


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m qopt.solve.profile``: :func:`profile_command` (``qopt profile`` is the same)."""
    import argparse

    ap = argparse.ArgumentParser(prog="python -m qopt.solve.profile", description=profile_command.__doc__)
    add_profile_arguments(ap)
    args = ap.parse_args(argv)
    return profile_command(write=args.write, quick=args.quick, data=args.data)


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
