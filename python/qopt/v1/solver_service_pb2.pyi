from google.protobuf import struct_pb2 as _struct_pb2
from qopt.v1 import model_pb2 as _model_pb2
from qopt.v1 import results_pb2 as _results_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

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
