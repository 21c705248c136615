from google.protobuf import struct_pb2 as _struct_pb2
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

class VariableType(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    VARIABLE_TYPE_UNSPECIFIED: _ClassVar[VariableType]
    VARIABLE_TYPE_BINARY: _ClassVar[VariableType]
    VARIABLE_TYPE_SPIN: _ClassVar[VariableType]
    VARIABLE_TYPE_INTEGER: _ClassVar[VariableType]

class ObjectiveSense(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    OBJECTIVE_SENSE_UNSPECIFIED: _ClassVar[ObjectiveSense]
    OBJECTIVE_SENSE_MINIMIZE: _ClassVar[ObjectiveSense]
    OBJECTIVE_SENSE_MAXIMIZE: _ClassVar[ObjectiveSense]

class ConstraintSense(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    CONSTRAINT_SENSE_UNSPECIFIED: _ClassVar[ConstraintSense]
    CONSTRAINT_SENSE_EQ: _ClassVar[ConstraintSense]
    CONSTRAINT_SENSE_LE: _ClassVar[ConstraintSense]
    CONSTRAINT_SENSE_GE: _ClassVar[ConstraintSense]
VARTYPE_UNSPECIFIED: Vartype
VARTYPE_SPIN: Vartype
VARTYPE_BINARY: Vartype
VARIABLE_TYPE_UNSPECIFIED: VariableType
VARIABLE_TYPE_BINARY: VariableType
VARIABLE_TYPE_SPIN: VariableType
VARIABLE_TYPE_INTEGER: VariableType
OBJECTIVE_SENSE_UNSPECIFIED: ObjectiveSense
OBJECTIVE_SENSE_MINIMIZE: ObjectiveSense
OBJECTIVE_SENSE_MAXIMIZE: ObjectiveSense
CONSTRAINT_SENSE_UNSPECIFIED: ConstraintSense
CONSTRAINT_SENSE_EQ: ConstraintSense
CONSTRAINT_SENSE_LE: ConstraintSense
CONSTRAINT_SENSE_GE: ConstraintSense

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

class Variable(_message.Message):
    __slots__ = ("label", "type", "lower_bound", "upper_bound")
    LABEL_FIELD_NUMBER: _ClassVar[int]
    TYPE_FIELD_NUMBER: _ClassVar[int]
    LOWER_BOUND_FIELD_NUMBER: _ClassVar[int]
    UPPER_BOUND_FIELD_NUMBER: _ClassVar[int]
    label: str
    type: VariableType
    lower_bound: float
    upper_bound: float
    def __init__(self, label: _Optional[str] = ..., type: _Optional[_Union[VariableType, str]] = ..., lower_bound: _Optional[float] = ..., upper_bound: _Optional[float] = ...) -> None: ...

class QuadraticExpression(_message.Message):
    __slots__ = ("linear_index", "linear_coefficient", "quadratic_row", "quadratic_col", "quadratic_coefficient", "constant")
    LINEAR_INDEX_FIELD_NUMBER: _ClassVar[int]
    LINEAR_COEFFICIENT_FIELD_NUMBER: _ClassVar[int]
    QUADRATIC_ROW_FIELD_NUMBER: _ClassVar[int]
    QUADRATIC_COL_FIELD_NUMBER: _ClassVar[int]
    QUADRATIC_COEFFICIENT_FIELD_NUMBER: _ClassVar[int]
    CONSTANT_FIELD_NUMBER: _ClassVar[int]
    linear_index: _containers.RepeatedScalarFieldContainer[int]
    linear_coefficient: _containers.RepeatedScalarFieldContainer[float]
    quadratic_row: _containers.RepeatedScalarFieldContainer[int]
    quadratic_col: _containers.RepeatedScalarFieldContainer[int]
    quadratic_coefficient: _containers.RepeatedScalarFieldContainer[float]
    constant: float
    def __init__(self, linear_index: _Optional[_Iterable[int]] = ..., linear_coefficient: _Optional[_Iterable[float]] = ..., quadratic_row: _Optional[_Iterable[int]] = ..., quadratic_col: _Optional[_Iterable[int]] = ..., quadratic_coefficient: _Optional[_Iterable[float]] = ..., constant: _Optional[float] = ...) -> None: ...

class Constraint(_message.Message):
    __slots__ = ("label", "lhs", "sense", "rhs", "one_hot")
    LABEL_FIELD_NUMBER: _ClassVar[int]
    LHS_FIELD_NUMBER: _ClassVar[int]
    SENSE_FIELD_NUMBER: _ClassVar[int]
    RHS_FIELD_NUMBER: _ClassVar[int]
    ONE_HOT_FIELD_NUMBER: _ClassVar[int]
    label: str
    lhs: QuadraticExpression
    sense: ConstraintSense
    rhs: float
    one_hot: bool
    def __init__(self, label: _Optional[str] = ..., lhs: _Optional[_Union[QuadraticExpression, _Mapping]] = ..., sense: _Optional[_Union[ConstraintSense, str]] = ..., rhs: _Optional[float] = ..., one_hot: _Optional[bool] = ...) -> None: ...

class ConstrainedModel(_message.Message):
    __slots__ = ("variables", "objective", "sense", "constraints")
    VARIABLES_FIELD_NUMBER: _ClassVar[int]
    OBJECTIVE_FIELD_NUMBER: _ClassVar[int]
    SENSE_FIELD_NUMBER: _ClassVar[int]
    CONSTRAINTS_FIELD_NUMBER: _ClassVar[int]
    variables: _containers.RepeatedCompositeFieldContainer[Variable]
    objective: QuadraticExpression
    sense: ObjectiveSense
    constraints: _containers.RepeatedCompositeFieldContainer[Constraint]
    def __init__(self, variables: _Optional[_Iterable[_Union[Variable, _Mapping]]] = ..., objective: _Optional[_Union[QuadraticExpression, _Mapping]] = ..., sense: _Optional[_Union[ObjectiveSense, str]] = ..., constraints: _Optional[_Iterable[_Union[Constraint, _Mapping]]] = ...) -> None: ...

class Problem(_message.Message):
    __slots__ = ("bqm", "cqm", "lp", "name", "structure")
    BQM_FIELD_NUMBER: _ClassVar[int]
    CQM_FIELD_NUMBER: _ClassVar[int]
    LP_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    STRUCTURE_FIELD_NUMBER: _ClassVar[int]
    bqm: BinaryQuadraticModel
    cqm: ConstrainedModel
    lp: str
    name: str
    structure: _struct_pb2.Struct
    def __init__(self, bqm: _Optional[_Union[BinaryQuadraticModel, _Mapping]] = ..., cqm: _Optional[_Union[ConstrainedModel, _Mapping]] = ..., lp: _Optional[str] = ..., name: _Optional[str] = ..., structure: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ...) -> None: ...
