"""CQM -> BQM compilation with slacks and penalties, decoding, and penalty calibration.

Public API:
    * :func:`compile` ``(model, *, penalty, integer_encoding, slack, inequality, unbalanced, margin)
      -> (bqm, decoder)``: pure; the decoder is immutable.
    * :class:`Decoder`, :class:`Candidate`: decoded answers (original labels, objective in the
      model's sense, feasibility, violations), ranked feasible first.
    * :func:`solve_constrained` ``(model, sampler, *, penalty="auto", max_rounds, ...)
      -> ConstrainedResult``: compile, sample, decode, raise only the violated constraints'
      weights, repeat.
"""
import sys
import types

from qopt.compile.calibrate import ConstrainedResult, RoundRecord, solve_constrained
from qopt.compile.compiler import DEFAULT_UNBALANCED, compile, integer_encoding_coefficients, num_encoded_variables
from qopt.compile.decoder import Candidate, DecodedArrays, Decoder

__all__ = ["compile", "Decoder", "Candidate", "DecodedArrays", "solve_constrained", "ConstrainedResult",
           "RoundRecord", "integer_encoding_coefficients", "num_encoded_variables", "DEFAULT_UNBALANCED"]


class _CallableModule(types.ModuleType):
    """``qopt.compile`` is both this package and the function
    ``qopt.compile(model, ...) -> (bqm, decoder)``: calling the package calls :func:`compile`."""

    def __call__(self, model, **options):
        return compile(model, **options)


sys.modules[__name__].__class__ = _CallableModule
