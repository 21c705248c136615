"""Presolve: variable fixings, connected components, and recombination of samples.

Pipeline (each step logged in :attr:`PresolveResult.log`):

1. **Forced-sign fixing** (C++ core, :func:`forced_sign_fixing`): in spin form, a spin
   whose field dominates its couplings, ``|h_i| > sum_j |J_ij|``, equals ``-sign(h_i)`` in every
   minimiser; fixing it updates its neighbours' fields; repeated to a fixed point.
2. **Roof duality** (Boros & Hammer 2002, via ``dwave.preprocessing.roof_duality`` with
   ``strict=True``): strong persistencies, values every minimiser shares. Its lower bound is
   recorded. Steps 1 and 2 alternate until neither fixes anything.
3. **Isolated variables** left with no bias and no interaction take either value: fixed to
   the vartype's upper value (``+1`` / ``1``); this keeps at least one minimiser.
4. **Connected components** of the remaining interaction graph
   (``scipy.sparse.csgraph.connected_components``), each its own model, solved separately.

Rules 1, 2 keep *every* minimiser; rule 3 keeps at least one. So the minimum energy of the
presolved problem equals that of the original, and :meth:`PresolveResult.expand` maps any
samples of the components back to samples of the original model.
"""
from __future__ import annotations

import dataclasses
import time
from collections.abc import Mapping

import dimod
import numpy as np
import scipy.sparse as sp
from scipy.sparse.csgraph import connected_components

from qopt.checks import check_choice
from qopt.presolve.bound import certified_value, ising_arrays
from qopt.presolve.bound import lower_bound as _lower_bound
from qopt.presolve.bound import roof_duality as _roof_duality

__all__ = ["PresolveResult", "presolve", "solve_presolved", "forced_sign_fixing"]


def _json_label(v):
    return v if isinstance(v, (str, int, float, bool)) or v is None else repr(v)


def forced_sign_fixing(bqm: dimod.BinaryQuadraticModel, *, strict: bool = True) -> dict:
    """Variables whose value is forced by a dominating linear bias, to a fixed point.

    Uses the C++ core (``qopt._core.forced_sign_fixing``) on the spin form of ``bqm``
    (BINARY models are converted; ``x = (s + 1) / 2``).

    Args:
        bqm: any binary quadratic model.
        strict: fix only when ``|h_i| > sum_j |J_ij|`` (every minimiser has that value);
            ``False`` also fixes ties ``|h_i| == sum_j |J_ij|`` (some minimiser keeps it).

    Returns:
        dict ``label -> value`` in the vartype of ``bqm``, in the order the variables were fixed.
    """
    from qopt import _core

    variables = list(bqm.variables)
    if not variables:
        return {}
    h, A, _ = ising_arrays(bqm, variables)
    fixed, _, _, order, _ = _core.forced_sign_fixing(h, A.indptr.astype(np.int64), A.indices.astype(np.int64),
                                                     A.data, bool(strict))
    binary = bqm.vartype is dimod.BINARY
    return {variables[i]: (int(fixed[i] + 1) // 2 if binary else int(fixed[i])) for i in order}


@dataclasses.dataclass
class PresolveResult:
    """Outcome of :func:`presolve`.

    Attributes:
        bqm: the original model (not copied; do not mutate it while the result is in use).
        fixed: ``label -> value`` (in ``bqm.vartype``) for every fixed variable.
        components: one model per connected component of the free variables, over the
            original labels, each with offset 0.
        offset: energy of the fixed part: for any assignment ``x`` of the free variables,
            ``bqm.energy(x + fixed) == offset + sum_c components[c].energy(x restricted to c)``.
        log: JSON-serialisable list of dicts, one per rule applied (``rule``, ``num_fixed``,
            ``variables``, ...), the last one describing the components.
        lower_bound: None, or the roof-duality bound (dict as from
            :func:`qopt.presolve.lower_bound`) when roof duality ran, or the bound requested with
            ``bound=`` (computed on the components and added up).
        timing: seconds per step.
    """

    bqm: dimod.BinaryQuadraticModel
    fixed: dict
    components: list
    offset: float
    log: list
    lower_bound: dict | None = None
    timing: dict = dataclasses.field(default_factory=dict)

    @property
    def reduced(self) -> dimod.BinaryQuadraticModel:
        """All components in one model, with :attr:`offset` as its offset."""
        out = dimod.BinaryQuadraticModel(self.bqm.vartype)
        for c in self.components:
            out.update(c)
        out.offset = self.offset
        return out

    @property
    def num_free(self) -> int:
        return sum(len(c) for c in self.components)

    def expand(self, samplesets) -> dimod.SampleSet:
        """Samples of the original model from samples of the presolved problem.

        Args:
            samplesets: either a list with one ``dimod.SampleSet`` per component (in the order
                of :attr:`components`), combined by index (read ``r`` of the result takes read
                ``r`` of every component; a component with fewer reads contributes read
                ``r mod len``; one with a single read is broadcast), or a single SampleSet
                over all free variables (:attr:`reduced`), whose ``num_occurrences`` are kept.
                Sample values may be in either vartype; they are converted.

        Returns:
            dimod.SampleSet over ``bqm.variables`` (in that order) in ``bqm.vartype``, with
            ``energy`` computed by ``bqm.energies`` (so it equals the original model's energy).

        Raises:
            ValueError: the samplesets do not match the components (count or variables),
                or a component sample set is empty.
        """
        variables = list(self.bqm.variables)
        index = {v: i for i, v in enumerate(variables)}
        vartype = self.bqm.vartype
        occurrences = None
        if isinstance(samplesets, (dimod.SampleSet,)):
            parts = [samplesets]
            groups = [list(self.reduced.variables)]
            if "num_occurrences" in samplesets.record.dtype.names:
                occurrences = samplesets.record.num_occurrences
        else:
            parts = list(samplesets)
            groups = [list(c.variables) for c in self.components]
            if len(parts) != len(groups):
                raise ValueError(f"samplesets must have one SampleSet per component ({len(groups)}), "
                                 f"was {len(parts)}")
        lengths = [len(s) for s in parts]
        if any(n == 0 for n in lengths):
            raise ValueError("samplesets must not contain an empty SampleSet")
        num_reads = max(lengths) if lengths else 1
        fill = 1 if vartype is dimod.SPIN else 0
        samples = np.full((num_reads, len(variables)), fill, dtype=np.int8)
        if self.fixed:
            cols = np.fromiter((index[v] for v in self.fixed), dtype=np.int64, count=len(self.fixed))
            samples[:, cols] = np.fromiter(self.fixed.values(), dtype=np.int8, count=len(self.fixed))
        for part, group in zip(parts, groups, strict=True):
            if part.vartype is not vartype:
                part = part.change_vartype(vartype, inplace=False)
            if set(part.variables) != set(group):
                raise ValueError("samplesets must cover exactly the variables of their component")
            arr = np.asarray(part.record.sample)
            where = {v: i for i, v in enumerate(part.variables)}
            pos = np.array([where[v] for v in group], dtype=np.int64)
            rows = np.arange(num_reads) % len(part)
            samples[:, [index[v] for v in group]] = arr[np.ix_(rows, pos)]
        energies = self.bqm.energies((samples, variables))
        vectors = {}
        if occurrences is not None and len(occurrences) == num_reads:
            vectors["num_occurrences"] = occurrences
        return dimod.SampleSet.from_samples((samples, variables), vartype, energies, **vectors,
                                            info={"presolve": {"log": self.log, "lower_bound": self.lower_bound}})


def _fix(bqm: dimod.BinaryQuadraticModel, fixed: Mapping) -> dimod.BinaryQuadraticModel:
    """A new model with ``fixed`` substituted (vectorised; ``BQM.fix_variables`` is O(n) per
    variable in dimod 0.12, minutes for thousands of fixings)."""
    if not fixed:
        return bqm
    variables = list(bqm.variables)
    n = len(variables)
    index = {v: i for i, v in enumerate(variables)}
    lin, (ir, ic, q), offset = bqm.to_numpy_vectors(variable_order=variables)  # type: ignore[misc]  # dimod types it as a 3- or 4-tuple
    lin = np.array(lin, dtype=float)
    ir = np.asarray(ir, dtype=np.int64)
    ic = np.asarray(ic, dtype=np.int64)
    q = np.asarray(q, dtype=float)
    is_fixed = np.zeros(n, dtype=bool)
    value = np.zeros(n)
    for v, x in fixed.items():
        i = index[v]
        is_fixed[i] = True
        value[i] = x
    fi, fj = is_fixed[ir], is_fixed[ic]
    both = fi & fj
    offset = float(offset) + float(np.dot(lin[is_fixed], value[is_fixed])) \
        + float(np.dot(q[both], value[ir[both]] * value[ic[both]]))
    only_i = fi & ~fj
    only_j = fj & ~fi
    np.add.at(lin, ic[only_i], q[only_i] * value[ir[only_i]])
    np.add.at(lin, ir[only_j], q[only_j] * value[ic[only_j]])
    keep = ~(fi | fj)
    free = np.flatnonzero(~is_fixed)
    new_index = np.full(n, -1, dtype=np.int64)
    new_index[free] = np.arange(len(free))
    return dimod.BinaryQuadraticModel.from_numpy_vectors(
        lin[free], (new_index[ir[keep]], new_index[ic[keep]], q[keep]), offset, bqm.vartype,
        variable_order=[variables[i] for i in free])


def presolve(bqm: dimod.BinaryQuadraticModel, *, forced_sign: bool = True, roof_duality: bool = True,
             components: bool = True, bound: str | None = None, time_limit: float = 10.0) -> PresolveResult:
    """Fix variables, split into connected components, and (optionally) bound the minimum.

    Args:
        bqm: SPIN or BINARY model with any hashable labels; not modified.
        forced_sign: apply forced-sign fixing (C++ core).
        roof_duality: apply roof-duality strong persistencies (dwave-preprocessing); also
            records its lower bound.
        components: split the free variables into connected components (else one component).
        bound: None (only the roof-duality bound, when it ran), or ``"best"`` /
            ``"spectral"`` / ``"roof_duality"``: :func:`qopt.presolve.lower_bound` on each
            component, summed with :attr:`PresolveResult.offset` (valid because the
            components are independent and the fixings keep the minimum).
        time_limit: seconds, for the spectral bound (shared across components).

    Returns:
        PresolveResult.

    Raises:
        ParameterError: ``bound`` unknown.

    Examples:
        >>> import dimod
        >>> from qopt.presolve import presolve
        >>> triangle = {('c', 'd'): 1, ('d', 'e'): 1, ('c', 'e'): 1}   # frustrated: nothing forced
        >>> bqm = dimod.BinaryQuadraticModel.from_ising({'a': 5}, {('a', 'b'): 1, **triangle})
        >>> r = presolve(bqm)
        >>> r.fixed, [sorted(c.variables) for c in r.components]
        ({'a': -1, 'b': 1}, [['c', 'd', 'e']])
    """
    if bound is not None:
        check_choice("bound", bound, ("best", "spectral", "roof_duality"))
    timing: dict[str, float] = {}
    log: list[dict] = []
    work = bqm.copy()
    fixed: dict = {}
    rd_bound: dict | None = None
    start = time.perf_counter()
    for round_ in range(50):
        changed = False
        if forced_sign and len(work):
            t0 = time.perf_counter()
            f = forced_sign_fixing(work, strict=True)
            timing["forced_sign"] = timing.get("forced_sign", 0.0) + time.perf_counter() - t0
            if f:
                work = _fix(work, f)
                fixed.update(f)
                changed = True
                log.append({"rule": "forced_sign", "round": round_, "num_fixed": len(f),
                            "variables": [_json_label(v) for v in f],
                            "values": list(f.values())})
        if roof_duality and len(work):
            t0 = time.perf_counter()
            lb, f = _roof_duality(work, strict=True)
            timing["roof_duality"] = timing.get("roof_duality", 0.0) + time.perf_counter() - t0
            if rd_bound is None:
                # First roof-duality pass: the bound for the model after forced fixing, which
                # has the same minimum as the original. Slack as in lower_bound().
                rd_bound = {"value": certified_value(float(lb), bqm),
                            "method": "roof_duality"}
            if f:
                work = _fix(work, f)
                fixed.update(f)
                changed = True
                log.append({"rule": "roof_duality", "round": round_, "num_fixed": len(f),
                            "variables": [_json_label(v) for v in f],
                            "values": list(f.values()), "lower_bound": float(lb)})
        if not changed or not (forced_sign and roof_duality):
            break
    # Isolated free variables with zero bias: either value is optimal.
    degree = work.degree
    isolated = {v: 1 for v in work.variables
                if degree(v) == 0 and work.get_linear(v) == 0}
    if isolated:
        work = _fix(work, isolated)
        fixed.update(isolated)
        log.append({"rule": "isolated_zero_bias", "num_fixed": len(isolated),
                    "variables": [_json_label(v) for v in isolated], "values": list(isolated.values())})
    # Isolated variables with a nonzero bias: forced-sign would fix them; without it, they stay.
    offset = float(work.offset)
    work.offset = 0.0

    t0 = time.perf_counter()
    comps: list[dimod.BinaryQuadraticModel] = []
    variables = list(work.variables)
    if variables and components:
        lin, (ir, ic, q), _ = work.to_numpy_vectors(variable_order=variables)
        ir = np.asarray(ir, dtype=np.int64)
        ic = np.asarray(ic, dtype=np.int64)
        n = len(variables)
        graph = sp.coo_matrix((np.ones(len(ir)), (ir, ic)), shape=(n, n)).tocsr()
        ncomp, labels = connected_components(graph, directed=False)
        if ncomp == 1:
            comps.append(work)
        else:
            # Group variables and interactions by component with one stable sort each.
            var_order = np.argsort(labels, kind="stable")
            var_bounds = np.searchsorted(labels[var_order], np.arange(ncomp + 1))
            local = np.empty(n, dtype=np.int64)
            for c in range(ncomp):
                members = var_order[var_bounds[c]:var_bounds[c + 1]]
                local[members] = np.arange(len(members))
            edge_label = labels[ir]
            edge_order = np.argsort(edge_label, kind="stable")
            edge_bounds = np.searchsorted(edge_label[edge_order], np.arange(ncomp + 1))
            for c in range(ncomp):
                members = var_order[var_bounds[c]:var_bounds[c + 1]]
                edges = edge_order[edge_bounds[c]:edge_bounds[c + 1]]
                comps.append(dimod.BinaryQuadraticModel.from_numpy_vectors(
                    np.asarray(lin)[members], (local[ir[edges]], local[ic[edges]], np.asarray(q)[edges]),
                    0.0, work.vartype, variable_order=[variables[i] for i in members]))
            comps.sort(key=len, reverse=True)
    elif variables:
        comps.append(work)
    timing["components"] = time.perf_counter() - t0
    sizes = [len(c) for c in comps]
    log.append({"rule": "components", "num_components": len(comps), "sizes": sizes[:20],
                "num_singletons": sum(1 for s in sizes if s == 1), "num_free": sum(sizes),
                "num_fixed": len(fixed), "num_variables": len(bqm)})

    result_bound: dict | None = None
    if rd_bound is not None:
        result_bound = dict(rd_bound)
        # Fixings by roof duality leave the bound's value unchanged; report it as is.
    if bound is not None:
        t0 = time.perf_counter()
        total = offset
        parts = []
        remaining = float(time_limit)
        for comp in comps:
            t1 = time.perf_counter()
            b = _lower_bound(comp, time_limit=max(1e-3, remaining), method=bound)
            remaining -= time.perf_counter() - t1
            total += b["value"]
            parts.append({"size": len(comp), "value": b["value"], "method": b["method"]})
        # Rounding in the fixings' offset: same slack (and integer rounding) as lower_bound().
        value = certified_value(float(total), bqm)
        if result_bound is None or value >= result_bound["value"]:
            methods = sorted({p["method"] for p in parts}) or ["exact"]
            result_bound = {"value": value, "method": "+".join(methods), "components": parts[:20],
                            "roof_duality_root": rd_bound}
        timing["bound"] = time.perf_counter() - t0
    timing["total"] = time.perf_counter() - start
    return PresolveResult(bqm=bqm, fixed=fixed, components=comps, offset=offset, log=log,
                          lower_bound=result_bound, timing=timing)


def solve_presolved(bqm: dimod.BinaryQuadraticModel, sampler: dimod.Sampler, *,
                    presolve_options: Mapping | None = None, **parameters) -> dimod.SampleSet:
    """Presolve, sample every component with ``sampler``, and expand to the original model.

    Args:
        bqm: the model.
        sampler: any ``dimod.Sampler``; called once per component with ``**parameters``.
        presolve_options: keyword arguments for :func:`presolve`.
        **parameters: sampler parameters (e.g. ``num_reads``, ``seed``).

    Returns:
        dimod.SampleSet over the original variables (energies from ``bqm.energies``), reads
        combined by index across components (see :meth:`PresolveResult.expand`);
        ``info["presolve"]`` holds the log, the lower bound and the timing.
    """
    result = presolve(bqm, **dict(presolve_options or {}))
    t0 = time.perf_counter()
    samplesets = [sampler.sample(c, **parameters) for c in result.components]
    sampling = time.perf_counter() - t0
    out = result.expand(samplesets)
    out.info["presolve"]["timing"] = dict(result.timing, sampling=sampling)
    return out
