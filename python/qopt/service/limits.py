"""Service configuration: limits, backpressure, job store, retries, auth and metrics.

:class:`ServiceConfig` holds every setting with an embedded default, so ``qopt serve``
runs with no file at all. A TOML or JSON file (``qopt serve --config FILE``) overrides the
defaults; command-line flags override the file.

Example ``qopt.toml``::

    max_variables = 100000
    max_queue_length = 500
    max_jobs_per_principal = 16
    retention_days = 7

    [tokens]
    # sha256(token) in hex -> principal name; make one with
    #   python -c "import hashlib,sys; print(hashlib.sha256(sys.argv[1].encode()).hexdigest())" TOKEN
    "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08" = "alice"
"""
from __future__ import annotations

import dataclasses
import json
import os
import pathlib

from qopt.errors import InvalidInput, ParameterError, ResourceLimitError
from qopt.service.executor import EXECUTORS

__all__ = ["ServiceConfig", "LimitExceeded", "default_store_path", "load_config"]


class LimitExceeded(ResourceLimitError):
    """A configured limit of the service refused the request (``RESOURCE_EXHAUSTED``).

    Attributes:
        field: the limit's name (``max_variables``, ``max_queue_length``, ...), used as
            the ``google.rpc.QuotaFailure`` violation subject.
        description: what was asked and what the limit is.
    """


@dataclasses.dataclass
class ServiceConfig:
    """Every setting of the service, with defaults.

    Attributes:
        max_message_bytes: largest gRPC message received or sent (bytes).
        max_variables: most variables in a problem (BQM after compiling; CQM variables).
        max_quadratic_terms: most quadratic terms (interactions) in a problem.
        max_constraints: most constraints in a constrained model.
        max_num_reads: largest ``num_reads`` parameter.
        max_num_sweeps: largest ``num_sweeps`` parameter.
        max_shots: largest ``shots`` parameter (gate-model backends).
        max_jobs_per_principal: most QUEUED + RUNNING jobs one principal may have.
        max_queue_length: most QUEUED jobs in the whole server; beyond it ``SubmitJob``
            is refused at once with ``RESOURCE_EXHAUSTED`` (backpressure, not slowdown).
        max_concurrent_solves: most ``Solve`` calls solving at once; beyond it ``Solve`` is
            refused with ``RESOURCE_EXHAUSTED`` (each holds an RPC thread; the pool is sized
            for it, see :attr:`rpc_threads`).
        max_watch_streams: most ``WatchJob`` streams open at once (each holds an RPC
            thread while it waits); beyond it ``RESOURCE_EXHAUSTED`` (clients fall back to
            polling ``GetJob``).
        job_workers: threads running jobs (the bounded worker pool).
        rpc_workers: RPC threads reserved for short calls (health ``Check``, ``GetJob``,
            ``ListJobs``, ``CancelJob``, ``SubmitJob``, ``ValidateProblem``, refusals), on top
            of one thread per Solve slot, watch stream and public stream: the pool has
            :attr:`rpc_threads` threads, so short calls find a thread when every slot is busy.
        max_attempts: times a job is started (transient failures and restarts included)
            before it is FAILED.
        retry_base_delay: seconds before the first retry of a transient failure; doubles
            at each retry.
        retry_max_delay: largest delay between retries (seconds).
        retention_days: finished jobs (and stored Solve results) older than this are
            deleted; 0 keeps them for ever.
        cleanup_interval: seconds between retention sweeps.
        tokens: ``sha256(token)`` hex digest -> principal name. Empty: authentication off
            (every caller is the principal ``anonymous``).
        metrics_port: Prometheus HTTP port; 0 turns the endpoint off (the default), -1 not
            allowed.
        metrics_address: address the metrics endpoint binds.
        store: path of the SQLite job store; empty for the per-user default
            (:func:`default_store_path`).
        grace: seconds in-flight calls get at shutdown.
        pending_jobs: the last fallback tier of ``Solve``: when the deadline passes with no
            result (or is too short to start), the request continues as a job and the
            ``DEADLINE_EXCEEDED`` answer names it (default True).
        pending_job_time_budget: seconds of wall clock such a job may solve once started
            (0: ``max_time_budget``).
        min_solve_seconds: a ``Solve`` whose deadline leaves no more than this many seconds
            for solving (after the transport margin) is not started; it becomes a pending
            job at once (default 0: only when no time is left at all).

        Threads and auth defaults:

        max_waiting_solves: most ``Solve`` calls waiting for a slot (``max_solve_wait``) at once,
            besides the ``max_concurrent_solves`` solving; each holds an RPC thread while it
            waits, so the pool has a thread for it. Beyond, ``RESOURCE_EXHAUSTED``.
        max_public_streams: most health ``Watch`` and reflection streams open at once
            (each holds an RPC thread); beyond it ``RESOURCE_EXHAUSTED``. Health ``Check``
            is not a stream and is not counted.
        insecure: allow serving a non-loopback address with authentication off (no
            tokens); without it the server refuses to start there.
        reject_tokens_when_auth_off: with authentication off, refuse a call that carries
            an ``authorization`` token with ``UNAUTHENTICATED`` (default False: the call
            is served as ``anonymous`` and the token's digest is logged once).

        Bounded input (checked before anything in the request is decoded; identifiers
        too long and malformed parameters are ``INVALID_ARGUMENT`` naming the field, sizes
        ``RESOURCE_EXHAUSTED`` naming the limit):

        max_request_id_length: longest ``request_id`` (characters).
        max_backend_name_length: longest ``backend`` name (characters).
        max_job_id_length: longest ``job_id`` in GetJob, CancelJob, WatchJob, GetJobResult
            (characters; the server's own ids have 32).
        max_page_token_length: longest ``ListJobs`` ``page_token`` (characters).
        max_problem_name_length: longest ``problem.name`` (characters; it is stored with
            the job and listed by ``ListJobs``).
        max_parameter_keys: most top-level keys in ``parameters``.
        max_struct_depth: deepest nesting of ``parameters`` (a Struct in a list in a Struct
            is depth 3; the top-level Struct is depth 1).
        max_struct_values: most values in ``parameters``, counted through every nested
            Struct and list.
        max_lp_bytes: largest ``problem.lp`` text (bytes, UTF-8).
        max_lp_lines: most lines in ``problem.lp``.
        lp_parse_seconds: wall-clock seconds an LP parse may take (it runs in a worker
            process, which is killed past this; the request is then ``INVALID_ARGUMENT``
            on ``problem.lp``).

        Cost admission and fair sharing (:mod:`qopt.service.cost`, :mod:`qopt.service.admission`):

        max_request_cpu_seconds: most estimated CPU-seconds of work one request may ask for
            (the cost model of its backend, as ``ValidateProblem`` reports it: reads x sweeps
            for the annealer, whatever the deadline); beyond it ``RESOURCE_EXHAUSTED`` naming
            this limit and the estimate. 0: no limit.
        max_principal_cpu_seconds: most CPU-seconds of one principal's queued and running work
            together, each request counted at what it can use within its time budget (jobs
            from ``SubmitJob`` until they end, ``Solve`` calls while they run). 0: no limit.
        max_time_budget: most seconds of wall clock one request may run: a job's
            ``time_budget`` of 0 and a ``Solve`` without a deadline mean this, never
            unlimited; a larger ``time_budget`` is refused and a longer deadline is cut to it.
            Published in ``ListBackends``. Must be > 0.
        max_memory_bytes: most estimated bytes of every running request together
            (statevectors and dense enumerations included); a request over it alone is refused,
            otherwise ``Solve`` waits for room (below) and a job waits in the queue. 0: no limit.
        max_concurrent_solves_per_principal: most ``Solve`` calls of one principal solving at
            once (besides the global ``max_concurrent_solves``). 0: only the global limit.
        max_solve_wait: most seconds a ``Solve`` waits for a slot or memory before
            ``RESOURCE_EXHAUSTED``; it never waits more than a quarter of its remaining deadline.
        executor: where jobs and batches run: ``"thread"`` (in-process, the default) or
            ``"ray"`` (Ray tasks; :mod:`qopt.service.executor_ray`).
        ray_address: the Ray cluster for ``executor = "ray"``: ``"local"`` or empty starts
            a local instance; ``"auto"``, ``HOST:PORT`` or ``ray://HOST:PORT`` connects.
        max_batch_size: most problems in one ``SolveBatch`` request (and one
            ``Client.solve_many`` call).
        max_batch_parallel: most problems of one ``SolveBatch`` solving at once (each is
            admitted by cost like a ``Solve``).

        Job dashboard (``qopt serve --dashboard``, :mod:`qopt.service.dashboard`):

        dashboard_trace_points: most best-so-far plot points kept per job (later improvements
            replace the oldest but the first).
        dashboard_traced_jobs: jobs whose plot points (and finished summaries) are kept in
            memory, most recent first.
        dashboard_listed_jobs: jobs on ``/jobs``, newest first.
        dashboard_candidates_shown: ranked candidates on ``/jobs/<id>``.
    """

    max_message_bytes: int = 64 * 1024 * 1024
    max_variables: int = 1_000_000
    max_quadratic_terms: int = 20_000_000
    max_constraints: int = 100_000
    max_num_reads: int = 100_000
    max_num_sweeps: int = 10_000_000
    max_shots: int = 1_000_000
    max_jobs_per_principal: int = 64
    max_queue_length: int = 1000
    max_concurrent_solves: int = 12
    max_watch_streams: int = 8
    job_workers: int = 2
    rpc_workers: int = 16
    max_attempts: int = 3
    retry_base_delay: float = 0.2
    retry_max_delay: float = 5.0
    retention_days: float = 30.0
    cleanup_interval: float = 3600.0
    tokens: dict = dataclasses.field(default_factory=dict)
    metrics_port: int = 0
    metrics_address: str = "127.0.0.1"
    store: str = ""
    grace: float = 5.0
    pending_jobs: bool = True
    pending_job_time_budget: float = 60.0
    min_solve_seconds: float = 0.0
    # -- threads and auth defaults --
    max_public_streams: int = 4
    max_waiting_solves: int = 32
    insecure: bool = False
    reject_tokens_when_auth_off: bool = False

    # -- bounded input: checked before anything is decoded --
    max_request_id_length: int = 128
    max_backend_name_length: int = 64
    max_job_id_length: int = 64
    max_page_token_length: int = 256
    max_problem_name_length: int = 256
    max_parameter_keys: int = 64
    max_struct_depth: int = 8
    max_struct_values: int = 100_000
    max_lp_bytes: int = 8 * 1024 * 1024
    max_lp_lines: int = 500_000
    lp_parse_seconds: float = 10.0

    # -- cost admission and fair sharing --
    max_request_cpu_seconds: float = 86400.0
    max_principal_cpu_seconds: float = 28800.0
    max_time_budget: float = 3600.0
    max_memory_bytes: int = 8 * 1024 ** 3
    max_concurrent_solves_per_principal: int = 8
    max_solve_wait: float = 5.0

    # -- execution plane and batches --
    executor: str = "thread"
    ray_address: str = ""
    max_batch_size: int = 256
    max_batch_parallel: int = 8

    # -- job dashboard --
    dashboard_trace_points: int = 2000
    dashboard_traced_jobs: int = 256
    dashboard_listed_jobs: int = 100
    dashboard_candidates_shown: int = 20

    def __post_init__(self):
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            if f.type in ("int", "float") and (isinstance(value, bool) or not isinstance(value, (int, float))):
                raise ParameterError(f.name, f"must be a number, was {value!r}")
            if f.type in ("int", "float") and value < 0:
                raise ParameterError(f.name, f"must be >= 0, was {value!r}")
        if not self.max_time_budget > 0:
            raise ParameterError("max_time_budget", f"must be > 0 seconds, was {self.max_time_budget!r}")
        if self.executor not in EXECUTORS:
            raise ParameterError("executor", f"must be one of {', '.join(EXECUTORS)}, was {self.executor!r}")
        for name in ("job_workers", "rpc_workers", "max_attempts", "max_struct_depth", "max_batch_size",
                     "max_batch_parallel", "dashboard_trace_points", "dashboard_traced_jobs",
                     "dashboard_listed_jobs", "dashboard_candidates_shown"):
            if getattr(self, name) < 1:
                raise ParameterError(name, f"must be >= 1, was {getattr(self, name)}")
        if self.lp_parse_seconds <= 0:
            raise ParameterError("lp_parse_seconds", f"must be > 0, was {self.lp_parse_seconds!r}")
        if not isinstance(self.tokens, dict) or not all(
                isinstance(k, str) and len(k) == 64 and isinstance(v, str) and v for k, v in self.tokens.items()):
            raise ParameterError("tokens", "must map sha256 hex digests (64 characters) to principal names")
        self.tokens = {k.lower(): v for k, v in self.tokens.items()}
        for name in ("insecure", "reject_tokens_when_auth_off"):
            if not isinstance(getattr(self, name), bool):
                raise ParameterError(name, f"must be true or false, was {getattr(self, name)!r}")

    @property
    def auth_enabled(self) -> bool:
        return bool(self.tokens)

    @property
    def long_call_threads(self) -> int:
        """RPC threads that long calls may hold at once: one per Solve slot, Solve waiting
        for a slot, watch stream and public (health ``Watch``, reflection) stream."""
        return (self.max_concurrent_solves + self.max_waiting_solves + self.max_watch_streams
                + self.max_public_streams)

    @property
    def rpc_threads(self) -> int:
        """Size of the RPC thread pool: :attr:`long_call_threads` plus the
        :attr:`rpc_workers` reserved for short calls."""
        return self.long_call_threads + self.rpc_workers

    def replace(self, **changes) -> "ServiceConfig":
        """A copy with ``changes`` applied (None values are ignored)."""
        return dataclasses.replace(self, **{k: v for k, v in changes.items() if v is not None})


def load_config(path: str | os.PathLike | None = None, **overrides) -> ServiceConfig:
    """The configuration: embedded defaults, then the file at ``path`` (TOML when it ends
    in ``.toml``, else JSON), then ``overrides`` (None values ignored).

    Raises:
        ValueError: an unknown setting or a value of the wrong type, naming it.
        OSError: the file cannot be read.
    """
    values: dict = {}
    if path:
        p = pathlib.Path(path)
        text = p.read_bytes()
        if p.suffix.lower() == ".toml":
            import tomllib

            values = tomllib.loads(text.decode())
        else:
            values = json.loads(text)
        if not isinstance(values, dict):
            raise InvalidInput(str(p), "the configuration must be a table/object")
    known = {f.name for f in dataclasses.fields(ServiceConfig)}
    unknown = sorted(set(values) - known)
    if unknown:
        raise InvalidInput(unknown[0], f"unknown setting (known: {', '.join(sorted(known))})")
    values.update({k: v for k, v in overrides.items() if v is not None})
    return ServiceConfig(**values)


def default_store_path() -> pathlib.Path:
    """``$XDG_STATE_HOME/qopt/jobs.sqlite``, or ``~/.local/state/qopt/jobs.sqlite``."""
    base = os.environ.get("XDG_STATE_HOME") or os.path.join(os.path.expanduser("~"), ".local", "state")
    return pathlib.Path(base) / "qopt" / "jobs.sqlite"
