"""Uniform argument validation: one message shape, ``name must be ..., was ...``.

Every check raises :class:`qopt.errors.ParameterError` (an :class:`~qopt.errors.InvalidInput`,
so also a :class:`ValueError`) whose ``.field`` is the argument's name.
"""
from __future__ import annotations

import math
import numbers
import operator

from qopt.errors import ParameterError

__all__ = ["ParameterError", "check_int", "check_float", "check_choice"]


def check_int(name: str, value, *, minimum: int | None = None, maximum: int | None = None) -> int:
    """Return ``value`` as an int, accepting integral floats (protobuf Struct numbers are doubles).

    Raises:
        ParameterError: not an integer, or outside ``[minimum, maximum]``.
    """
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise ParameterError(name, f"must be an integer, was {value!r}")
    if isinstance(value, numbers.Integral):
        ivalue = operator.index(value)
    else:
        fvalue = float(value)
        if not math.isfinite(fvalue) or fvalue != int(fvalue):
            raise ParameterError(name, f"must be an integer, was {value!r}")
        ivalue = int(fvalue)
    if minimum is not None and ivalue < minimum:
        raise ParameterError(name, f"must be >= {minimum}, was {ivalue}")
    if maximum is not None and ivalue > maximum:
        raise ParameterError(name, f"must be <= {maximum}, was {ivalue}")
    return ivalue


def check_float(name: str, value, *, minimum: float | None = None, maximum: float | None = None,
                strict_minimum: bool = False) -> float:
    """Return ``value`` as a finite float.

    Raises:
        ParameterError: not a finite real number, or out of range.
    """
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not math.isfinite(value):
        raise ParameterError(name, f"must be a finite number, was {value!r}")
    fvalue = float(value)
    if minimum is not None:
        if strict_minimum and fvalue <= minimum:
            raise ParameterError(name, f"must be > {minimum}, was {fvalue}")
        if not strict_minimum and fvalue < minimum:
            raise ParameterError(name, f"must be >= {minimum}, was {fvalue}")
    if maximum is not None and fvalue > maximum:
        raise ParameterError(name, f"must be <= {maximum}, was {fvalue}")
    return fvalue


def check_choice(name: str, value, choices) -> str:
    """Return ``value`` if it is one of ``choices``.

    Raises:
        ParameterError: not one of the choices.
    """
    if value not in choices:
        raise ParameterError(name, f"must be one of {sorted(choices)}, was {value!r}")
    return value
