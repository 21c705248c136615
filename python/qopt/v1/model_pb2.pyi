from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class Vartype(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    VARTYPE_UNSPECIFIED: _ClassVar[Vartype]
    VARTYPE_SPIN: _ClassVar[Vartype]
    VARTYPE_BINARY: _ClassVar[Vartype]
VARTYPE_UNSPECIFIED: Vartype
VARTYPE_SPIN: Vartype
VARTYPE_BINARY: Vartype

class BinaryQuadraticModel(_message.Message):
    __slots__ = ("vartype", "num_variables", "linear", "quadratic_row", "quadratic_col", "quadratic_bias", "offset", "labels")
    VARTYPE_FIELD_NUMBER: _ClassVar[int]
    NUM_VARIABLES_FIELD_NUMBER: _ClassVar[int]
    LINEAR_FIELD_NUMBER: _ClassVar[int]
    QUADRATIC_ROW_FIELD_NUMBER: _ClassVar[int]
    QUADRATIC_COL_FIELD_NUMBER: _ClassVar[int]
    QUADRATIC_BIAS_FIELD_NUMBER: _ClassVar[int]
    OFFSET_FIELD_NUMBER: _ClassVar[int]
    LABELS_FIELD_NUMBER: _ClassVar[int]
    vartype: Vartype
    num_variables: int
    linear: _containers.RepeatedScalarFieldContainer[float]
    quadratic_row: _containers.RepeatedScalarFieldContainer[int]
    quadratic_col: _containers.RepeatedScalarFieldContainer[int]
    quadratic_bias: _containers.RepeatedScalarFieldContainer[float]
    offset: float
    labels: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, vartype: _Optional[_Union[Vartype, str]] = ..., num_variables: _Optional[int] = ..., linear: _Optional[_Iterable[float]] = ..., quadratic_row: _Optional[_Iterable[int]] = ..., quadratic_col: _Optional[_Iterable[int]] = ..., quadratic_bias: _Optional[_Iterable[float]] = ..., offset: _Optional[float] = ..., labels: _Optional[_Iterable[str]] = ...) -> None: ...

class Problem(_message.Message):
    __slots__ = ("bqm", "name")
    BQM_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    bqm: BinaryQuadraticModel
    name: str
    def __init__(self, bqm: _Optional[_Union[BinaryQuadraticModel, _Mapping]] = ..., name: _Optional[str] = ...) -> None: ...
