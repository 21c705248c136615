#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include <cstdint>
#include <stdexcept>

#include "bindings.hpp"
#include "gil.hpp"
#include "qopt/presolve.hpp"

namespace py = pybind11;

namespace qopt::bindings {
namespace {

std::int64_t check_csr_shapes(const i64& indptr, const i64& indices, const f64& data) {
  if (indptr.ndim() != 1 || indices.ndim() != 1 || data.ndim() != 1)
    throw std::invalid_argument("indptr, indices and data must be one-dimensional");
  if (indptr.shape(0) < 1) throw std::invalid_argument("indptr must have length num_variables + 1 >= 1");
  const std::int64_t n = static_cast<std::int64_t>(indptr.shape(0)) - 1;
  if (indices.shape(0) != data.shape(0)) throw std::invalid_argument("indices and data must have the same length");
  if (indptr.data()[n] != static_cast<std::int64_t>(indices.shape(0)))
    throw std::invalid_argument("indptr[-1] must equal len(indices)");
  return n;
}

template <class T>
py::array_t<T> to_array(const std::vector<T>& v) {
  py::array_t<T> out(static_cast<py::ssize_t>(v.size()));
  std::copy(v.begin(), v.end(), out.mutable_data());
  return out;
}

}  // namespace

void bind_presolve(py::module_& m) {
  m.def(
      "forced_sign_fixing",
      [](const f64& h, const i64& indptr, const i64& indices, const f64& data, bool strict) {
        const std::int64_t n = check_csr_shapes(indptr, indices, data);
        if (h.ndim() != 1 || h.shape(0) != n) throw std::invalid_argument("h must have shape (num_variables,)");
        presolve::ForcedFixResult res;
        {
          release_gil release;
          res = presolve::forced_sign_fixing(n, h.data(), indptr.data(), indices.data(), data.data(), strict);
        }
        return py::make_tuple(to_array(res.fixed), to_array(res.h), res.offset_delta, to_array(res.order),
                              res.rounds);
      },
      py::arg("h"), py::arg("indptr"), py::arg("indices"), py::arg("data"), py::arg("strict") = true,
      R"doc(Forced-sign fixing of an Ising model to a fixed point.

Args:
    h: float64, shape (n,), linear biases.
    indptr: int64, shape (n + 1,); indices: int64, shape (nnz,); data: float64, shape (nnz,).
        Symmetric CSR adjacency: each coupling J_ij stored in rows i and j; no diagonal.
    strict: fix only when |h_i| > sum_j |J_ij| over free neighbours (every minimiser agrees);
        False also fixes ties (at least one minimiser is kept).

Returns:
    (fixed, h_reduced, offset_delta, order, rounds): fixed int8 (n,) in {-1, 0, +1} (0 = free);
    h_reduced float64 (n,) fields of free spins with fixed neighbours folded in; offset_delta
    float, energy of the fixed part; order int64 (k,) spins in fixing order; rounds int.

Raises:
    ValueError: inconsistent lengths or non-finite biases. IndexError: index out of range.
)doc");

  m.def(
      "sdp_mixing",
      [](const i64& indptr, const i64& indices, const f64& data, std::int64_t rank, std::int64_t max_sweeps,
         double tol, double time_limit, std::uint64_t seed) {
        const std::int64_t n = check_csr_shapes(indptr, indices, data);
        presolve::MixingResult res;
        {
          release_gil release;
          res = presolve::sdp_mixing(n, indptr.data(), indices.data(), data.data(), rank, max_sweeps, tol,
                                     time_limit, seed);
        }
        return py::make_tuple(to_array(res.y), res.primal, res.iterations);
      },
      py::arg("indptr"), py::arg("indices"), py::arg("data"), py::arg("rank"), py::arg("max_sweeps") = 1000,
      py::arg("tol") = 1e-7, py::arg("time_limit") = 0.0, py::arg("seed") = 0,
      R"doc(Low-rank coordinate descent (mixing method) for min <A, X> s.t. diag(X) = 1, X PSD.

Args:
    indptr, indices, data: symmetric CSR of A (zero diagonal), int64 / int64 / float64.
    rank: columns of the factor V (n x rank); sqrt(2 n) + 1 suffices (Barvinok-Pataki).
    max_sweeps: maximum number of passes over the rows.
    tol: stop when a sweep decreases <A, VV^T> by less than tol * max(1, |<A, VV^T>|).
    time_limit: seconds, wall clock; <= 0 for none.
    seed: seed of the random initial factor.

Returns:
    (y, primal, sweeps): y float64 (n,), dual estimates y_i = v_i . (A V)_i (A - diag(y) is
    PSD at an SDP optimum); primal = <A, V V^T>; sweeps done. y is NOT certified.

Raises:
    ValueError: bad sizes or parameters. IndexError: index out of range.
)doc");
}

}  // namespace qopt::bindings
