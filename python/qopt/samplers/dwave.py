"""D-Wave quantum annealing as a :class:`dimod.Sampler`, with cached minor embeddings.

Method: quantum annealing (Kadowaki & Nishimori, PRE 58, 5355, 1998; Johnson et al., Nature
473, 194, 2011) on a structured QPU, with minor embedding by minorminer (Cai, Macready & Roy,
"A practical heuristic for finding graph minors", arXiv:1406.2741, 2014) and chain strength
by uniform torque compensation (dwave.embedding.chain_strength).

:class:`DWaveSampler` behaves like ``EmbeddingComposite(dwave.system.DWaveSampler())`` but
keeps the embeddings it finds, keyed by a SHA-256 of the problem's graph (variables and edges)
and of the target graph, and reuses them through ``FixedEmbeddingComposite``: a repeated
structure is not re-embedded (``EmbeddingComposite`` spends 0.1-0.9 s per call on that).

Offline use and tests pass a structured child sampler, e.g.::

    from dwave.system.testing import MockDWaveSampler
    from dwave.samplers import SimulatedAnnealingSampler
    child = MockDWaveSampler(topology_type="pegasus", topology_shape=[6],
                             substitute_sampler=SimulatedAnnealingSampler())
    sampler = DWaveSampler(child_sampler=child)

Without a child sampler the real QPU is used; credentials come from the standard D-Wave
configuration (``dwave config create`` writes ``dwave.conf``) or the ``DWAVE_API_TOKEN``
environment variable. They are resolved locally before any network call, so a missing token
fails at once with :class:`DWaveConfigurationError`.
"""
from __future__ import annotations

import hashlib
import threading
import time
from collections import OrderedDict
from importlib import metadata

import dimod
import numpy as np

from qopt.checks import check_float
from qopt.errors import BackendConfigurationError, EmbeddingError, ParameterError
from qopt.samplers.spec import Param, ParameterSpec

__all__ = ["DWaveSampler", "DWaveConfigurationError", "EmbeddingError", "find_embedding_cached",
           "embedding_stats", "graph_key"]


class DWaveConfigurationError(BackendConfigurationError):
    """No D-Wave credentials (token) could be found in the configuration or the environment."""


_HINT = ("no D-Wave API token found: run `dwave config create` (writes dwave.conf with your Leap token) "
         "or set the DWAVE_API_TOKEN environment variable; or pass child_sampler=... (e.g. "
         "dwave.system.testing.MockDWaveSampler) to run offline")


def _versions() -> dict[str, str]:
    out = {}
    for pkg in ("dwave-system", "minorminer", "dimod", "dwave-cloud-client"):
        try:
            out[pkg] = metadata.version(pkg)
        except metadata.PackageNotFoundError:  # pragma: no cover
            pass
    return out


def resolve_token(**config) -> str | None:
    """The D-Wave API token from ``config``, the environment or the configuration file (no network)."""
    if config.get("token"):
        return config["token"]
    from dwave.cloud.config import load_config

    try:
        cfg = load_config(**{k: v for k, v in config.items() if k in ("config_file", "profile")})
    except Exception as exc:  # malformed file, missing profile: a configuration problem too
        raise DWaveConfigurationError(f"D-Wave configuration could not be read ({exc}); {_HINT}") from exc
    return cfg.get("token") or None


def graph_key(nodes, edges) -> str:
    """SHA-256 of a graph given as node and edge lists (order-independent)."""
    h = hashlib.sha256()
    h.update(repr(sorted(map(repr, nodes))).encode())
    h.update(b"|")
    h.update(repr(sorted(repr(tuple(sorted(map(repr, e)))) for e in edges)).encode())
    return h.hexdigest()


_CACHE_LOCK = threading.Lock()
_CACHE: OrderedDict[str, dict] = OrderedDict()
_CACHE_SIZE = 256


def find_embedding_cached(source_nodes, source_edges, target_nodes, target_edges, *, seed: int | None = None,
                          timeout: float = 60.0, target_key: str | None = None) -> tuple[dict, bool]:
    """A minor embedding of the source graph in the target graph, cached by graph hashes.

    Args:
        source_nodes, source_edges: problem variables and interactions.
        target_nodes, target_edges: hardware qubits and couplers.
        seed: minorminer's ``random_seed`` (only used on a cache miss).
        timeout: minorminer's time limit in seconds.
        target_key: precomputed :func:`graph_key` of the target (saves hashing it again).

    Returns:
        ``(embedding, cache_hit)``: ``embedding`` maps each source node to a list of target nodes.

    Raises:
        EmbeddingError: minorminer found no embedding.
    """
    import minorminer

    source_nodes = list(source_nodes)
    source_edges = [tuple(e) for e in source_edges]
    tkey = target_key or graph_key(target_nodes, target_edges)
    key = graph_key(source_nodes, source_edges) + ":" + tkey
    with _CACHE_LOCK:
        if key in _CACHE:
            _CACHE.move_to_end(key)
            return dict(_CACHE[key]), True
    kwargs = {"timeout": timeout}
    if seed is not None:
        kwargs["random_seed"] = int(seed) % (2**31)
    emb = minorminer.find_embedding(source_edges, list(target_edges), **kwargs) if source_edges else {}
    emb = {v: list(chain) for v, chain in emb.items()}
    connected = {v for e in source_edges for v in e}
    missing = [v for v in connected if not emb.get(v)]
    if missing:
        raise EmbeddingError(
            f"minorminer found no embedding of {len(source_nodes)} variables / {len(source_edges)} "
            f"interactions in the target graph ({len(target_nodes)} qubits, {len(target_edges)} couplers)")
    # minorminer only embeds nodes that have edges: give isolated variables free qubits.
    used = {q for chain in emb.values() for q in chain}
    free = (q for q in target_nodes if q not in used)
    for v in source_nodes:
        if v not in emb:
            q = next(free, None)
            if q is None:
                raise EmbeddingError(f"no free qubit left for isolated variable {v!r}")
            emb[v] = [q]
    with _CACHE_LOCK:
        _CACHE[key] = emb
        while len(_CACHE) > _CACHE_SIZE:
            _CACHE.popitem(last=False)
    return dict(emb), False


def embedding_stats(embedding: dict) -> dict:
    """``{"physical_qubits", "max_chain_length", "mean_chain_length"}`` of an embedding."""
    lengths = [len(c) for c in embedding.values()]
    return {"physical_qubits": int(sum(lengths)), "max_chain_length": int(max(lengths, default=0)),
            "mean_chain_length": float(np.mean(lengths)) if lengths else 0.0}


_PROPERTY_SUBSET = ("chip_id", "topology", "num_qubits", "h_range", "j_range", "annealing_time_range",
                    "default_annealing_time", "problem_run_duration_range", "category")


def _check_chain_strength(value):
    if callable(value):
        return value
    return check_float("chain_strength", value, minimum=0.0, strict_minimum=True)


class DWaveSampler(dimod.Sampler):
    """D-Wave annealer with embedding cache (a qopt backend, ``"dwave"``).

    Args:
        child_sampler: a structured dimod sampler (``nodelist``/``edgelist``), e.g.
            ``dwave.system.DWaveSampler(...)`` or ``dwave.system.testing.MockDWaveSampler``.
            None: a ``dwave.system.DWaveSampler(**config)`` built on first use, after checking
            that a token is configured.
        **config: passed to ``dwave.system.DWaveSampler`` (``solver``, ``profile``,
            ``config_file``, ``token``, ``request_timeout``, ...).

    Raises:
        DWaveConfigurationError: (on first use, without child_sampler) no token configured;
            raised before any network access.
    """

    #: The backend's parameters (the QPU's own size is checked by embedding).
    parameter_spec = ParameterSpec([
        Param("num_reads", "int", 100, minimum=1, doc="anneals (reads)"),
        Param("annealing_time", "float", None, minimum=0.0, exclusive_minimum=True, unit="us",
              doc="per anneal (None: the solver's default)"),
        Param("chain_strength", "object", None, wire=True, validator=_check_chain_strength, unit="energy",
              doc="a number > 0 or a callable f(bqm, embedding) (None: uniform torque compensation)"),
        Param("seed", "int", None, minimum=0, doc="minorminer's random seed when a new embedding is needed"),
        Param("embedding_timeout", "float", 60.0, minimum=0.0, exclusive_minimum=True, unit="s",
              doc="minorminer's time limit"),
        Param("label", "str", None, doc="problem label shown in the Leap dashboard"),
    ])
    parameters = parameter_spec.dimod_parameters()

    def __init__(self, child_sampler=None, **config):
        self._child = child_sampler
        self._config = dict(config)
        self._target_key = None
        self._lock = threading.Lock()

    @property
    def child(self):
        """The structured child sampler (built on first use for the real QPU)."""
        with self._lock:
            if self._child is None:
                if not resolve_token(**self._config):
                    raise DWaveConfigurationError(_HINT)
                from dwave.system import DWaveSampler as _QPU

                config = dict(self._config)
                config.setdefault("request_timeout", 30)
                self._child = _QPU(**config)
            return self._child

    @property
    def properties(self) -> dict:
        child = self.child
        props = {k: child.properties[k] for k in _PROPERTY_SUBSET if k in child.properties}
        props["description"] = ("D-Wave quantum annealer (dwave-system) with cached minorminer embeddings "
                                "and uniform-torque-compensation chain strength")
        return props

    def warm_up(self) -> dict:
        """Resolve the credentials and connect to the solver, using no QPU time (what the
        hybrid does before its first subproblem, outside the subproblem timeout).

        Returns:
            ``{"solver": name}``.

        Raises:
            DWaveConfigurationError: no child sampler and no token configured (no network access).
        """
        child = self.child
        if self._target_key is None:
            self._target_key = graph_key(child.nodelist, child.edgelist)
        return {"solver": self._solver_name(child)}

    def _solver_name(self, child) -> str:
        solver = getattr(child, "solver", None)
        name = getattr(solver, "name", None)
        return str(name or child.properties.get("chip_id", type(child).__name__))

    def embedding_for(self, bqm: dimod.BinaryQuadraticModel, *, seed: int | None = None,
                      timeout: float = 60.0) -> tuple[dict, bool]:
        """The (cached) embedding of ``bqm``'s graph in the child's graph: ``(embedding, cache_hit)``."""
        child = self.child
        if self._target_key is None:
            self._target_key = graph_key(child.nodelist, child.edgelist)
        return find_embedding_cached(list(bqm.variables), list(bqm.quadratic), child.nodelist, child.edgelist,
                                     seed=seed, timeout=timeout, target_key=self._target_key)

    def sample(self, bqm: dimod.BinaryQuadraticModel, *, num_reads: int = 100, annealing_time: float | None = None,
               chain_strength=None, seed: int | None = None, embedding_timeout: float = 60.0,
               label: str | None = None, **kwargs) -> dimod.SampleSet:
        """Embed (or reuse the cached embedding), anneal and unembed.

        Args:
            bqm: the model, SPIN or BINARY.
            num_reads: anneals (reads), default 100.
            annealing_time: microseconds per anneal (None: the solver's default).
            chain_strength: number, or callable ``f(bqm, embedding)``; default
                ``uniform_torque_compensation`` (prefactor 1.414). Its value is in ``info``.
            seed: minorminer's random seed when a new embedding is needed.
            embedding_timeout: minorminer's time limit in seconds.
            label: problem label shown in the Leap dashboard.

        Returns:
            dimod.SampleSet in the BQM's vartype; energies equal ``bqm.energies``; the
            ``chain_break_fraction`` field per sample; ``info``: ``chain_break_fraction``
            (mean over reads), ``chain_strength``, ``embedding`` stats (``physical_qubits``,
            ``max_chain_length``, ``mean_chain_length``, ``cache_hit``), ``solver`` (name and a
            subset of properties), ``versions``; ``timing``: the solver's own timings under
            Ocean's names, in microseconds (``qpu_access_time``, ``qpu_sampling_time``,
            ``qpu_programming_time``, ``qpu_anneal_time_per_sample``, ... as
            ``dwave.system.DWaveSampler`` returns them), and qopt's ``embedding_ns``,
            ``sampling_ns``, ``postprocessing_ns`` (nanoseconds); ``embedding_context`` as
            ``EmbeddingComposite(...).sample(..., return_embedding=True)`` returns it
            (``embedding``: variable -> tuple of qubits, ``chain_break_method``,
            ``embedding_parameters``, ``chain_strength``, ``timing`` with ``embedding`` and
            ``unembedding`` in seconds).

        Raises:
            ParameterError (a ValueError): a parameter out of range.
            DWaveConfigurationError: no child sampler and no token configured.
            EmbeddingError: the problem does not embed.
        """
        from dwave.embedding.chain_strength import uniform_torque_compensation
        from dwave.system import FixedEmbeddingComposite

        t0 = time.perf_counter_ns()
        self.remove_unknown_kwargs(**kwargs)
        spec = self.parameter_spec
        num_reads = spec.check("num_reads", num_reads)
        annealing_time = spec.check("annealing_time", annealing_time)
        embedding_timeout = spec.check("embedding_timeout", embedding_timeout)
        seed = spec.check("seed", seed)
        chain_strength = spec.check("chain_strength", chain_strength)
        label = spec.check("label", label)
        child = self.child
        if bqm.num_variables == 0:
            return dimod.SampleSet.from_samples_bqm(([[]], []), bqm)
        embedding, hit = self.embedding_for(bqm, seed=seed, timeout=embedding_timeout)
        t1 = time.perf_counter_ns()
        if chain_strength is None:
            cs = float(uniform_torque_compensation(bqm, embedding=embedding))
        elif callable(chain_strength):
            cs = float(chain_strength(bqm, embedding))
        else:
            cs = chain_strength
        composite = FixedEmbeddingComposite(child, embedding)
        child_kwargs: dict[str, object] = {"num_reads": num_reads}
        if annealing_time is not None:
            if "annealing_time" not in child.parameters:
                raise ParameterError("annealing_time", "is not supported by the child sampler, was "
                                     f"{annealing_time}")
            child_kwargs["annealing_time"] = annealing_time
        if label is not None and "label" in child.parameters:
            child_kwargs["label"] = label
        ss = composite.sample(bqm, chain_strength=cs, return_embedding=True, **child_kwargs)
        ss.resolve()
        t2 = time.perf_counter_ns()
        rec = ss.record
        occ = rec.num_occurrences.astype(float)
        cbf = float(np.average(rec.chain_break_fraction, weights=occ)) if "chain_break_fraction" in rec.dtype.names \
            else 0.0
        child_info = dict(ss.info)
        qpu_timing = dict(child_info.get("timing") or {})
        context = dict(child_info.get("embedding_context") or {})
        context["embedding"] = {v: tuple(chain) for v, chain in embedding.items()}
        context.setdefault("chain_break_method", "majority_vote")
        context.setdefault("embedding_parameters", {})
        context["chain_strength"] = cs
        unembed_s = float((context.get("timing") or {}).get("unembedding", 0.0))
        context["timing"] = {"embedding": (t1 - t0) * 1e-9, "unembedding": unembed_s}
        stats = embedding_stats(embedding)
        stats["cache_hit"] = hit
        stats["num_variables"] = bqm.num_variables
        out = dimod.SampleSet(rec, ss.variables, {}, ss.vartype)
        out.info.update({
            "chain_break_fraction": cbf,
            "chain_strength": cs,
            "embedding": stats,
            "num_reads": num_reads,
            "annealing_time": annealing_time,
            "solver": {"name": self._solver_name(child),
                       "properties": {k: child.properties[k] for k in _PROPERTY_SUBSET if k in child.properties}},
            "problem_id": child_info.get("problem_id"),
            "embedding_context": context,
            "versions": _versions(),
        })
        t3 = time.perf_counter_ns()
        out.info["timing"] = {**qpu_timing, "embedding_ns": t1 - t0, "sampling_ns": t2 - t1,
                              "postprocessing_ns": t3 - t2}
        return out
