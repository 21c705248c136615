"""Parameter specs: each backend declares its parameters once, and everything reads them.

A sampler class states its keyword arguments as a :class:`ParameterSpec` (class attribute
``parameter_spec``): for each one a :class:`Param` with its type, default, range or
choices, unit and a one-line doc, plus the backend's problem-size rule
(:class:`SizeRule`). From that one declaration

* the sampler's ``sample()`` checks its arguments (:meth:`ParameterSpec.check`);
* its dimod ``parameters`` mapping is derived (:meth:`ParameterSpec.dimod_parameters`,
  name -> list of related property names, as :class:`dimod.Sampler` expects);
* the service's request validation and ``ValidateProblem`` check requests
  (:mod:`qopt.service.validation`), so a dry run and a solve agree;
* ``ListBackends`` publishes names, types, ranges, defaults, units and docs
  (:meth:`ParameterSpec.to_dicts`).

Every check raises :class:`qopt.errors.ParameterError` whose ``.field`` is the parameter's
name and whose message reads ``num_reads must be >= 1, was 0``.
"""
from __future__ import annotations

import dataclasses
import math
import numbers
import secrets
from collections.abc import Callable, Iterator, Mapping
from typing import Any

import numpy as np

from qopt.checks import check_choice, check_float, check_int
from qopt.errors import InvalidInput, ParameterError

__all__ = ["Param", "ParameterSpec", "SizeRule", "TYPES", "WIRE_TYPES", "event_validator", "callable_validator",
           "has_method_validator"]

#: Parameter types a :class:`Param` may declare, with what each accepts.
TYPES = {
    "int": "an integer (integral floats accepted: protobuf Struct numbers are doubles)",
    "float": "a finite real number",
    "bool": "true or false",
    "str": "a string (one of ``choices`` when given)",
    "str_list": "one of ``choices``, or a non-empty list of them",
    "mapping": "a mapping of names to values (a Struct on the wire)",
    "pair": "two finite numbers, each within the range",
    "array": "a 1-D array of finite numbers, each within the range",
    "object": "a Python object (checked by the parameter's own validator)",
}

#: The types whose values can travel in a ``google.protobuf.Struct``.
WIRE_TYPES = frozenset(TYPES) - {"object"}


def has_method_validator(name: str, method: str, what: str) -> Callable[[Any], Any]:
    """A :attr:`Param.validator` accepting objects with a callable ``method`` (``what`` says
    what is expected, for the message)."""
    def check(value):
        if not callable(getattr(value, method, None)):
            raise ParameterError(name, f"must be None or {what} (with a {method}() method), was {value!r}")
        return value
    return check


def event_validator(name: str) -> Callable[[Any], Any]:
    """A :attr:`Param.validator` for an event-like object (``is_set()``, e.g. :class:`threading.Event`)."""
    def check(value):
        if not callable(getattr(value, "is_set", None)):
            raise ParameterError(name, f"must be None or have an is_set() method, was {value!r}")
        return value
    return check


def callable_validator(name: str) -> Callable[[Any], Any]:
    """A :attr:`Param.validator` for a callable (a callback)."""
    def check(value):
        if not callable(value):
            raise ParameterError(name, f"must be None or callable, was {value!r}")
        return value
    return check


@dataclasses.dataclass(frozen=True)
class Param:
    """One keyword argument of a backend's ``sample()``.

    Attributes:
        name: the keyword.
        type: one of :data:`TYPES`.
        default: the value ``sample()`` uses when the argument is not given (None: the
            backend derives it, as ``doc`` says).
        minimum, maximum: inclusive bounds for ``int``, ``float``, ``pair`` and ``array``
            (each element); None: unbounded.
        exclusive_minimum: ``minimum`` itself is not allowed (``time_limit > 0``).
        choices: the allowed values of a ``str`` / ``str_list`` parameter.
        unit: the unit of a number (``"s"``, ``"us"``, ``"1/energy"``, ``"rad"``); "" when
            it is a count or has none.
        doc: one line.
        nullable: None is accepted (default: whether ``default`` is None).
        wire: the value can be sent in a request's ``parameters`` Struct (False for Python
            objects such as a sampler instance or an event).
        properties: names of the sampler's ``properties`` entries that describe the
            parameter (dimod's convention for ``Sampler.parameters`` values).
        validator: a callable ``value -> value`` that raises
            :class:`~qopt.errors.ParameterError`, called after the type check (for ``object``
            parameters, after the None check) with the checked value.
    """

    name: str
    type: str
    default: Any = None
    minimum: float | None = None
    maximum: float | None = None
    exclusive_minimum: bool = False
    choices: tuple | None = None
    unit: str = ""
    doc: str = ""
    nullable: bool | None = None
    wire: bool | None = None
    properties: tuple[str, ...] = ()
    validator: Callable[[Any], Any] | None = dataclasses.field(default=None, compare=False, repr=False)

    def __post_init__(self):
        if self.type not in TYPES:
            raise ValueError(f"Param {self.name!r}: type must be one of {sorted(TYPES)}, was {self.type!r}")
        if self.nullable is None:
            object.__setattr__(self, "nullable", self.default is None)
        if self.wire is None:
            object.__setattr__(self, "wire", self.type in WIRE_TYPES)
        if self.choices is not None:
            object.__setattr__(self, "choices", tuple(self.choices))

    def check(self, value):
        """Return ``value`` checked (and normalised: an integral float becomes an int), then
        passed through ``validator`` if the parameter has one (not for None).

        Raises:
            ParameterError: ``value`` has the wrong type or is out of range; the message
                names the parameter (``num_reads must be >= 1, was 0``).
        """
        checked = self._check_type(value)
        if checked is None or self.validator is None or self.type == "object":
            return checked
        return self.validator(checked)

    def _check_type(self, value):
        if value is None:
            if self.nullable:
                return None
            raise ParameterError(self.name, f"must be given ({TYPES[self.type]}), was None")
        kind = self.type
        if kind == "int":
            return check_int(self.name, value, minimum=self._int_minimum(), maximum=self.maximum)
        if kind == "float":
            return check_float(self.name, value, minimum=self.minimum, maximum=self.maximum,
                               strict_minimum=self.exclusive_minimum)
        if kind == "bool":
            if not isinstance(value, (bool, np.bool_)):
                raise ParameterError(self.name, f"must be true or false, was {value!r}")
            return bool(value)
        if kind == "str":
            if self.choices is not None:
                return check_choice(self.name, value, self.choices)
            if not isinstance(value, str):
                raise ParameterError(self.name, f"must be a string, was {value!r}")
            return value
        if kind == "str_list":
            items = [value] if isinstance(value, str) else value
            if not isinstance(items, (list, tuple)) or not items:
                raise ParameterError(self.name, f"must be one of {sorted(self.choices or ())} or a non-empty "
                                                f"list of them, was {value!r}")
            for item in items:
                check_choice(self.name, item, self.choices or ())
            return value
        if kind == "mapping":
            if not isinstance(value, Mapping):
                raise ParameterError(self.name, f"must be a mapping, was {value!r}")
            return value
        if kind == "pair":
            try:
                first, second = value
            except (TypeError, ValueError):
                raise ParameterError(self.name, f"must be a pair of numbers, was {value!r}") from None
            return (self._number(first), self._number(second))
        if kind == "array":
            return self._array(value)
        return value if self.validator is None else self.validator(value)

    def _int_minimum(self):
        if self.minimum is None or not self.exclusive_minimum:
            return self.minimum
        return int(math.floor(self.minimum)) + 1

    def _number(self, value) -> float:
        return check_float(self.name, value, minimum=self.minimum, maximum=self.maximum,
                           strict_minimum=self.exclusive_minimum)

    def _array(self, value) -> np.ndarray:
        if isinstance(value, (str, bytes, Mapping)):
            raise ParameterError(self.name, f"must be a 1-D array of numbers, was {value!r}")
        try:
            arr = np.asarray(value, dtype=np.float64)
        except (TypeError, ValueError):
            raise ParameterError(self.name, f"must be a 1-D array of numbers, was {value!r}") from None
        if arr.ndim != 1 or not np.all(np.isfinite(arr)):
            raise ParameterError(self.name, "must be a 1-D array of finite numbers")
        bad = np.zeros(arr.shape, dtype=bool)
        if self.minimum is not None:
            bad |= (arr <= self.minimum) if self.exclusive_minimum else (arr < self.minimum)
        if self.maximum is not None:
            bad |= arr > self.maximum
        if bad.any():
            k = int(np.flatnonzero(bad)[0])
            raise ParameterError(self.name, f"must have every entry {self._range_text()}, was {float(arr[k])!r} "
                                            f"at index {k}")
        return arr

    def _range_text(self) -> str:
        parts = []
        if self.minimum is not None:
            parts.append(f"{'>' if self.exclusive_minimum else '>='} {self.minimum}")
        if self.maximum is not None:
            parts.append(f"<= {self.maximum}")
        return " and ".join(parts)

    def to_dict(self) -> dict:
        """The published (JSON-able) form: ``name``, ``type``, ``default``, ``minimum``,
        ``maximum``, ``exclusive_minimum``, ``choices``, ``unit``, ``doc``, ``nullable``."""
        return {"name": self.name, "type": self.type, "default": _jsonable(self.default),
                "minimum": self.minimum, "maximum": self.maximum, "exclusive_minimum": self.exclusive_minimum,
                "choices": list(self.choices) if self.choices is not None else None, "unit": self.unit,
                "doc": self.doc, "nullable": bool(self.nullable)}


def _jsonable(value):
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, numbers.Integral):
        return int(value)
    if isinstance(value, numbers.Real):
        return float(value)
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    return None  # an object default cannot be published


@dataclasses.dataclass(frozen=True)
class SizeRule:
    """The largest problem a backend takes in one call.

    Attributes:
        maximum: most variables (qubits for QAOA); a hard limit of the backend.
        parameter: a parameter that may lower the limit per call (QAOA's ``max_qubits``,
            whose own maximum is ``maximum``), or None.
        error: ``(num_variables, limit) -> InvalidInput`` raised when the problem is over.
    """

    maximum: int
    error: Callable[[int, int], InvalidInput] = dataclasses.field(compare=False, repr=False)
    parameter: str | None = None

    def limit(self, params: Mapping | None = None) -> int:
        """The limit for a call with ``params`` (the parameter, when given, else ``maximum``)."""
        if self.parameter is not None and params and params.get(self.parameter) is not None:
            return min(int(params[self.parameter]), self.maximum)
        return self.maximum

    def check(self, num_variables: int, params: Mapping | None = None) -> None:
        """Raises the rule's error when ``num_variables`` is over :meth:`limit`."""
        limit = self.limit(params)
        if num_variables > limit:
            raise self.error(num_variables, limit)


class ParameterSpec(Mapping):
    """A backend's parameters: a read-only mapping name -> :class:`Param`, with its size rule.

    Args:
        params: the parameters, in the order ``sample()`` documents them.
        size: the backend's :class:`SizeRule`, or None when it takes any size.

    Examples:
        >>> spec = ParameterSpec([Param("num_reads", "int", 1, minimum=1, doc="reads")])
        >>> spec.check("num_reads", 3.0)
        3
        >>> spec.check("num_reads", 0)
        Traceback (most recent call last):
        ...
        qopt.errors.ParameterError: num_reads must be >= 1, was 0
    """

    def __init__(self, params, *, size: SizeRule | None = None):
        self._params: dict[str, Param] = {}
        for p in params:
            if p.name in self._params:
                raise ValueError(f"parameter {p.name!r} declared twice")
            self._params[p.name] = p
        self.size = size

    @classmethod
    def from_dimod(cls, parameters: Mapping) -> ParameterSpec:
        """A spec for a :class:`dimod.Sampler` that declares none: every name of its dimod
        ``parameters`` mapping is accepted (as an unchecked ``object`` that may travel in a
        request), the sampler checking its own values."""
        return cls([Param(name, "object", None, wire=True, properties=tuple(props or ()),
                          doc="declared by the sampler's dimod parameters; checked by the sampler")
                    for name, props in parameters.items()])

    def __getitem__(self, name: str) -> Param:
        return self._params[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._params)

    def __len__(self) -> int:
        return len(self._params)

    def __repr__(self) -> str:
        return f"ParameterSpec({list(self._params)})"

    @property
    def max_variables(self) -> int:
        """Most variables one call accepts; 0 when there is no fixed limit."""
        return 0 if self.size is None else int(self.size.maximum)

    def check(self, name: str, value):
        """``value`` checked against parameter ``name``.

        Raises:
            ParameterError: ``name`` is not a parameter of this backend, or ``value`` is invalid.
        """
        try:
            param = self._params[name]
        except KeyError:
            raise ParameterError(name, f"is not a parameter of this backend (accepted: "
                                       f"{', '.join(self._params)})") from None
        return param.check(value)

    def check_all(self, params: Mapping) -> dict:
        """Every entry of ``params`` checked; returns a new dict of the checked values.

        Raises:
            ParameterError: the first unknown name or invalid value (in ``params`` order).
        """
        return {name: self.check(name, value) for name, value in params.items()}

    def check_size(self, num_variables: int, params: Mapping | None = None) -> None:
        """Raises the size rule's error (an :class:`~qopt.errors.InvalidInput`) when a
        problem of ``num_variables`` is over this backend's limit for ``params``."""
        if self.size is not None:
            self.size.check(num_variables, params)

    def random_seed(self, bits: int = 52) -> int:
        """A random value of this backend's ``seed`` parameter, below ``2**bits`` (52: exact as
        a double, so it survives a protobuf Struct) and within the parameter's range.

        Raises:
            KeyError: the backend takes no ``seed``.
        """
        param = self._params["seed"]
        low = int(param.minimum or 0)
        high = 2**bits if param.maximum is None else min(2**bits, int(param.maximum) + 1)
        return low + secrets.randbelow(high - low)

    def dimod_parameters(self) -> dict[str, list[str]]:
        """The :attr:`dimod.Sampler.parameters` mapping: name -> list of property names."""
        return {name: list(p.properties) for name, p in self._params.items()}

    def wire_names(self) -> tuple[str, ...]:
        """Names of the parameters a request can carry (``Param.wire``), in declaration order."""
        return tuple(name for name, p in self._params.items() if p.wire)

    def to_dicts(self, names=None) -> list[dict]:
        """The published form of the parameters ``names`` (default: all), sorted by name."""
        chosen = self._params if names is None else [n for n in names if n in self._params]
        return [self._params[n].to_dict() for n in sorted(chosen)]
