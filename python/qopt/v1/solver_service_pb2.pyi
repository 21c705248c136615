import datetime

from google.protobuf import struct_pb2 as _struct_pb2
from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.rpc import error_details_pb2 as _error_details_pb2
from google.rpc import status_pb2 as _status_pb2
from qopt.v1 import model_pb2 as _model_pb2
from qopt.v1 import results_pb2 as _results_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class JobState(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    JOB_STATE_UNSPECIFIED: _ClassVar[JobState]
    JOB_STATE_QUEUED: _ClassVar[JobState]
    JOB_STATE_RUNNING: _ClassVar[JobState]
    JOB_STATE_SUCCEEDED: _ClassVar[JobState]
    JOB_STATE_FAILED: _ClassVar[JobState]
    JOB_STATE_CANCELLED: _ClassVar[JobState]
JOB_STATE_UNSPECIFIED: JobState
JOB_STATE_QUEUED: JobState
JOB_STATE_RUNNING: JobState
JOB_STATE_SUCCEEDED: JobState
JOB_STATE_FAILED: JobState
JOB_STATE_CANCELLED: JobState

class SolveBatchRequest(_message.Message):
    __slots__ = ("problems", "request_id")
    PROBLEMS_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    problems: _containers.RepeatedCompositeFieldContainer[SolveRequest]
    request_id: str
    def __init__(self, problems: _Optional[_Iterable[_Union[SolveRequest, _Mapping]]] = ..., request_id: _Optional[str] = ...) -> None: ...

class SolveBatchResponse(_message.Message):
    __slots__ = ("index", "response", "error", "attempts")
    INDEX_FIELD_NUMBER: _ClassVar[int]
    RESPONSE_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    ATTEMPTS_FIELD_NUMBER: _ClassVar[int]
    index: int
    response: SolveResponse
    error: _status_pb2.Status
    attempts: int
    def __init__(self, index: _Optional[int] = ..., response: _Optional[_Union[SolveResponse, _Mapping]] = ..., error: _Optional[_Union[_status_pb2.Status, _Mapping]] = ..., attempts: _Optional[int] = ...) -> None: ...

class SolveRequest(_message.Message):
    __slots__ = ("problem", "backend", "parameters", "request_id", "max_candidates")
    PROBLEM_FIELD_NUMBER: _ClassVar[int]
    BACKEND_FIELD_NUMBER: _ClassVar[int]
    PARAMETERS_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    MAX_CANDIDATES_FIELD_NUMBER: _ClassVar[int]
    problem: _model_pb2.Problem
    backend: str
    parameters: _struct_pb2.Struct
    request_id: str
    max_candidates: int
    def __init__(self, problem: _Optional[_Union[_model_pb2.Problem, _Mapping]] = ..., backend: _Optional[str] = ..., parameters: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ..., request_id: _Optional[str] = ..., max_candidates: _Optional[int] = ...) -> None: ...

class SolveResponse(_message.Message):
    __slots__ = ("candidates", "variables", "vartype", "confidence", "provenance", "timing", "request_id")
    CANDIDATES_FIELD_NUMBER: _ClassVar[int]
    VARIABLES_FIELD_NUMBER: _ClassVar[int]
    VARTYPE_FIELD_NUMBER: _ClassVar[int]
    CONFIDENCE_FIELD_NUMBER: _ClassVar[int]
    PROVENANCE_FIELD_NUMBER: _ClassVar[int]
    TIMING_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    candidates: _containers.RepeatedCompositeFieldContainer[_results_pb2.Candidate]
    variables: _containers.RepeatedScalarFieldContainer[str]
    vartype: _model_pb2.Vartype
    confidence: _struct_pb2.Struct
    provenance: _struct_pb2.Struct
    timing: _results_pb2.Timing
    request_id: str
    def __init__(self, candidates: _Optional[_Iterable[_Union[_results_pb2.Candidate, _Mapping]]] = ..., variables: _Optional[_Iterable[str]] = ..., vartype: _Optional[_Union[_model_pb2.Vartype, str]] = ..., confidence: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ..., provenance: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ..., timing: _Optional[_Union[_results_pb2.Timing, _Mapping]] = ..., request_id: _Optional[str] = ...) -> None: ...

class Job(_message.Message):
    __slots__ = ("job_id", "state", "result", "error", "create_time", "start_time", "end_time", "attempt", "request_id", "backend", "cancel_requested", "update_time", "problem_name")
    JOB_ID_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    RESULT_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    CREATE_TIME_FIELD_NUMBER: _ClassVar[int]
    START_TIME_FIELD_NUMBER: _ClassVar[int]
    END_TIME_FIELD_NUMBER: _ClassVar[int]
    ATTEMPT_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    BACKEND_FIELD_NUMBER: _ClassVar[int]
    CANCEL_REQUESTED_FIELD_NUMBER: _ClassVar[int]
    UPDATE_TIME_FIELD_NUMBER: _ClassVar[int]
    PROBLEM_NAME_FIELD_NUMBER: _ClassVar[int]
    job_id: str
    state: JobState
    result: SolveResponse
    error: _status_pb2.Status
    create_time: _timestamp_pb2.Timestamp
    start_time: _timestamp_pb2.Timestamp
    end_time: _timestamp_pb2.Timestamp
    attempt: int
    request_id: str
    backend: str
    cancel_requested: bool
    update_time: _timestamp_pb2.Timestamp
    problem_name: str
    def __init__(self, job_id: _Optional[str] = ..., state: _Optional[_Union[JobState, str]] = ..., result: _Optional[_Union[SolveResponse, _Mapping]] = ..., error: _Optional[_Union[_status_pb2.Status, _Mapping]] = ..., create_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., start_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., end_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., attempt: _Optional[int] = ..., request_id: _Optional[str] = ..., backend: _Optional[str] = ..., cancel_requested: _Optional[bool] = ..., update_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., problem_name: _Optional[str] = ...) -> None: ...

class SubmitJobRequest(_message.Message):
    __slots__ = ("problem", "backend", "parameters", "request_id", "max_candidates", "time_budget")
    PROBLEM_FIELD_NUMBER: _ClassVar[int]
    BACKEND_FIELD_NUMBER: _ClassVar[int]
    PARAMETERS_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    MAX_CANDIDATES_FIELD_NUMBER: _ClassVar[int]
    TIME_BUDGET_FIELD_NUMBER: _ClassVar[int]
    problem: _model_pb2.Problem
    backend: str
    parameters: _struct_pb2.Struct
    request_id: str
    max_candidates: int
    time_budget: float
    def __init__(self, problem: _Optional[_Union[_model_pb2.Problem, _Mapping]] = ..., backend: _Optional[str] = ..., parameters: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ..., request_id: _Optional[str] = ..., max_candidates: _Optional[int] = ..., time_budget: _Optional[float] = ...) -> None: ...

class SubmitJobResponse(_message.Message):
    __slots__ = ("job", "existing")
    JOB_FIELD_NUMBER: _ClassVar[int]
    EXISTING_FIELD_NUMBER: _ClassVar[int]
    job: Job
    existing: bool
    def __init__(self, job: _Optional[_Union[Job, _Mapping]] = ..., existing: _Optional[bool] = ...) -> None: ...

class GetJobRequest(_message.Message):
    __slots__ = ("job_id",)
    JOB_ID_FIELD_NUMBER: _ClassVar[int]
    job_id: str
    def __init__(self, job_id: _Optional[str] = ...) -> None: ...

class GetJobResponse(_message.Message):
    __slots__ = ("job",)
    JOB_FIELD_NUMBER: _ClassVar[int]
    job: Job
    def __init__(self, job: _Optional[_Union[Job, _Mapping]] = ...) -> None: ...

class ListJobsRequest(_message.Message):
    __slots__ = ("page_size", "page_token", "state")
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    page_size: int
    page_token: str
    state: JobState
    def __init__(self, page_size: _Optional[int] = ..., page_token: _Optional[str] = ..., state: _Optional[_Union[JobState, str]] = ...) -> None: ...

class ListJobsResponse(_message.Message):
    __slots__ = ("jobs", "next_page_token")
    JOBS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    jobs: _containers.RepeatedCompositeFieldContainer[Job]
    next_page_token: str
    def __init__(self, jobs: _Optional[_Iterable[_Union[Job, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class CancelJobRequest(_message.Message):
    __slots__ = ("job_id",)
    JOB_ID_FIELD_NUMBER: _ClassVar[int]
    job_id: str
    def __init__(self, job_id: _Optional[str] = ...) -> None: ...

class CancelJobResponse(_message.Message):
    __slots__ = ("job",)
    JOB_FIELD_NUMBER: _ClassVar[int]
    job: Job
    def __init__(self, job: _Optional[_Union[Job, _Mapping]] = ...) -> None: ...

class WatchJobRequest(_message.Message):
    __slots__ = ("job_id",)
    JOB_ID_FIELD_NUMBER: _ClassVar[int]
    job_id: str
    def __init__(self, job_id: _Optional[str] = ...) -> None: ...

class JobEvent(_message.Message):
    __slots__ = ("kind", "job", "best_energy", "stage", "time", "source", "branch", "backend")
    class Kind(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
        __slots__ = ()
        KIND_UNSPECIFIED: _ClassVar[JobEvent.Kind]
        KIND_SNAPSHOT: _ClassVar[JobEvent.Kind]
        KIND_STATE: _ClassVar[JobEvent.Kind]
        KIND_BEST: _ClassVar[JobEvent.Kind]
        KIND_STAGE: _ClassVar[JobEvent.Kind]
    KIND_UNSPECIFIED: JobEvent.Kind
    KIND_SNAPSHOT: JobEvent.Kind
    KIND_STATE: JobEvent.Kind
    KIND_BEST: JobEvent.Kind
    KIND_STAGE: JobEvent.Kind
    KIND_FIELD_NUMBER: _ClassVar[int]
    JOB_FIELD_NUMBER: _ClassVar[int]
    BEST_ENERGY_FIELD_NUMBER: _ClassVar[int]
    STAGE_FIELD_NUMBER: _ClassVar[int]
    TIME_FIELD_NUMBER: _ClassVar[int]
    SOURCE_FIELD_NUMBER: _ClassVar[int]
    BRANCH_FIELD_NUMBER: _ClassVar[int]
    BACKEND_FIELD_NUMBER: _ClassVar[int]
    kind: JobEvent.Kind
    job: Job
    best_energy: float
    stage: str
    time: _timestamp_pb2.Timestamp
    source: str
    branch: str
    backend: str
    def __init__(self, kind: _Optional[_Union[JobEvent.Kind, str]] = ..., job: _Optional[_Union[Job, _Mapping]] = ..., best_energy: _Optional[float] = ..., stage: _Optional[str] = ..., time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., source: _Optional[str] = ..., branch: _Optional[str] = ..., backend: _Optional[str] = ...) -> None: ...

class GetJobResultRequest(_message.Message):
    __slots__ = ("job_id",)
    JOB_ID_FIELD_NUMBER: _ClassVar[int]
    job_id: str
    def __init__(self, job_id: _Optional[str] = ...) -> None: ...

class ValidateProblemRequest(_message.Message):
    __slots__ = ("problem", "backend", "parameters")
    PROBLEM_FIELD_NUMBER: _ClassVar[int]
    BACKEND_FIELD_NUMBER: _ClassVar[int]
    PARAMETERS_FIELD_NUMBER: _ClassVar[int]
    problem: _model_pb2.Problem
    backend: str
    parameters: _struct_pb2.Struct
    def __init__(self, problem: _Optional[_Union[_model_pb2.Problem, _Mapping]] = ..., backend: _Optional[str] = ..., parameters: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ...) -> None: ...

class ValidateProblemResponse(_message.Message):
    __slots__ = ("valid", "violations", "num_variables", "num_interactions", "num_constraints", "num_variables_after_presolve", "qubits", "estimated_seconds", "notes", "estimated_cpu_seconds", "estimated_bytes")
    class QubitsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: int
        def __init__(self, key: _Optional[str] = ..., value: _Optional[int] = ...) -> None: ...
    class EstimatedSecondsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: float
        def __init__(self, key: _Optional[str] = ..., value: _Optional[float] = ...) -> None: ...
    class EstimatedCpuSecondsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: float
        def __init__(self, key: _Optional[str] = ..., value: _Optional[float] = ...) -> None: ...
    class EstimatedBytesEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: int
        def __init__(self, key: _Optional[str] = ..., value: _Optional[int] = ...) -> None: ...
    VALID_FIELD_NUMBER: _ClassVar[int]
    VIOLATIONS_FIELD_NUMBER: _ClassVar[int]
    NUM_VARIABLES_FIELD_NUMBER: _ClassVar[int]
    NUM_INTERACTIONS_FIELD_NUMBER: _ClassVar[int]
    NUM_CONSTRAINTS_FIELD_NUMBER: _ClassVar[int]
    NUM_VARIABLES_AFTER_PRESOLVE_FIELD_NUMBER: _ClassVar[int]
    QUBITS_FIELD_NUMBER: _ClassVar[int]
    ESTIMATED_SECONDS_FIELD_NUMBER: _ClassVar[int]
    NOTES_FIELD_NUMBER: _ClassVar[int]
    ESTIMATED_CPU_SECONDS_FIELD_NUMBER: _ClassVar[int]
    ESTIMATED_BYTES_FIELD_NUMBER: _ClassVar[int]
    valid: bool
    violations: _containers.RepeatedCompositeFieldContainer[_error_details_pb2.BadRequest.FieldViolation]
    num_variables: int
    num_interactions: int
    num_constraints: int
    num_variables_after_presolve: int
    qubits: _containers.ScalarMap[str, int]
    estimated_seconds: _containers.ScalarMap[str, float]
    notes: _containers.RepeatedScalarFieldContainer[str]
    estimated_cpu_seconds: _containers.ScalarMap[str, float]
    estimated_bytes: _containers.ScalarMap[str, int]
    def __init__(self, valid: _Optional[bool] = ..., violations: _Optional[_Iterable[_Union[_error_details_pb2.BadRequest.FieldViolation, _Mapping]]] = ..., num_variables: _Optional[int] = ..., num_interactions: _Optional[int] = ..., num_constraints: _Optional[int] = ..., num_variables_after_presolve: _Optional[int] = ..., qubits: _Optional[_Mapping[str, int]] = ..., estimated_seconds: _Optional[_Mapping[str, float]] = ..., notes: _Optional[_Iterable[str]] = ..., estimated_cpu_seconds: _Optional[_Mapping[str, float]] = ..., estimated_bytes: _Optional[_Mapping[str, int]] = ...) -> None: ...

class ListBackendsRequest(_message.Message):
    __slots__ = ("available_only",)
    AVAILABLE_ONLY_FIELD_NUMBER: _ClassVar[int]
    available_only: bool
    def __init__(self, available_only: _Optional[bool] = ...) -> None: ...

class Backend(_message.Message):
    __slots__ = ("name", "description", "available", "unavailable_reason", "parameters", "max_variables", "quantum", "simulator", "hybrid", "parameter_specs")
    NAME_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    AVAILABLE_FIELD_NUMBER: _ClassVar[int]
    UNAVAILABLE_REASON_FIELD_NUMBER: _ClassVar[int]
    PARAMETERS_FIELD_NUMBER: _ClassVar[int]
    MAX_VARIABLES_FIELD_NUMBER: _ClassVar[int]
    QUANTUM_FIELD_NUMBER: _ClassVar[int]
    SIMULATOR_FIELD_NUMBER: _ClassVar[int]
    HYBRID_FIELD_NUMBER: _ClassVar[int]
    PARAMETER_SPECS_FIELD_NUMBER: _ClassVar[int]
    name: str
    description: str
    available: bool
    unavailable_reason: str
    parameters: _containers.RepeatedScalarFieldContainer[str]
    max_variables: int
    quantum: bool
    simulator: bool
    hybrid: bool
    parameter_specs: _containers.RepeatedCompositeFieldContainer[ParameterSpec]
    def __init__(self, name: _Optional[str] = ..., description: _Optional[str] = ..., available: _Optional[bool] = ..., unavailable_reason: _Optional[str] = ..., parameters: _Optional[_Iterable[str]] = ..., max_variables: _Optional[int] = ..., quantum: _Optional[bool] = ..., simulator: _Optional[bool] = ..., hybrid: _Optional[bool] = ..., parameter_specs: _Optional[_Iterable[_Union[ParameterSpec, _Mapping]]] = ...) -> None: ...

class ParameterSpec(_message.Message):
    __slots__ = ("name", "type", "default", "minimum", "maximum", "exclusive_minimum", "choices", "unit", "doc", "nullable")
    NAME_FIELD_NUMBER: _ClassVar[int]
    TYPE_FIELD_NUMBER: _ClassVar[int]
    DEFAULT_FIELD_NUMBER: _ClassVar[int]
    MINIMUM_FIELD_NUMBER: _ClassVar[int]
    MAXIMUM_FIELD_NUMBER: _ClassVar[int]
    EXCLUSIVE_MINIMUM_FIELD_NUMBER: _ClassVar[int]
    CHOICES_FIELD_NUMBER: _ClassVar[int]
    UNIT_FIELD_NUMBER: _ClassVar[int]
    DOC_FIELD_NUMBER: _ClassVar[int]
    NULLABLE_FIELD_NUMBER: _ClassVar[int]
    name: str
    type: str
    default: _struct_pb2.Value
    minimum: str
    maximum: str
    exclusive_minimum: bool
    choices: _containers.RepeatedScalarFieldContainer[str]
    unit: str
    doc: str
    nullable: bool
    def __init__(self, name: _Optional[str] = ..., type: _Optional[str] = ..., default: _Optional[_Union[_struct_pb2.Value, _Mapping]] = ..., minimum: _Optional[str] = ..., maximum: _Optional[str] = ..., exclusive_minimum: _Optional[bool] = ..., choices: _Optional[_Iterable[str]] = ..., unit: _Optional[str] = ..., doc: _Optional[str] = ..., nullable: _Optional[bool] = ...) -> None: ...

class ListBackendsResponse(_message.Message):
    __slots__ = ("backends", "max_time_budget", "max_request_cpu_seconds", "max_memory_bytes")
    BACKENDS_FIELD_NUMBER: _ClassVar[int]
    MAX_TIME_BUDGET_FIELD_NUMBER: _ClassVar[int]
    MAX_REQUEST_CPU_SECONDS_FIELD_NUMBER: _ClassVar[int]
    MAX_MEMORY_BYTES_FIELD_NUMBER: _ClassVar[int]
    backends: _containers.RepeatedCompositeFieldContainer[Backend]
    max_time_budget: float
    max_request_cpu_seconds: float
    max_memory_bytes: int
    def __init__(self, backends: _Optional[_Iterable[_Union[Backend, _Mapping]]] = ..., max_time_budget: _Optional[float] = ..., max_request_cpu_seconds: _Optional[float] = ..., max_memory_bytes: _Optional[int] = ...) -> None: ...
