#include <pybind11/complex.h>
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include <memory>
#include <stdexcept>
#include <string>

#include "bindings.hpp"
#include "gil.hpp"
#include "qopt/statevector.hpp"

namespace py = pybind11;

namespace qopt::bindings {
namespace {

struct Angles {
  f64 gamma, beta;
  int reps;
};

Angles angles(const f64& gamma, const f64& beta) {
  if (gamma.ndim() != 1 || beta.ndim() != 1) throw std::invalid_argument("gamma and beta must be one-dimensional");
  if (gamma.shape(0) != beta.shape(0))
    throw std::invalid_argument("gamma and beta must have the same length (reps), were " +
                                std::to_string(gamma.shape(0)) + " and " + std::to_string(beta.shape(0)));
  if (gamma.shape(0) < 1) throw std::invalid_argument("reps must be >= 1, was 0");
  return {gamma, beta, static_cast<int>(gamma.shape(0))};
}

void check_model(int n, const f64& lin, const i32& u, const i32& v, const f64& quad) {
  if (lin.ndim() != 1 || u.ndim() != 1 || v.ndim() != 1 || quad.ndim() != 1)
    throw std::invalid_argument("lin, u, v and quad must be one-dimensional");
  if (lin.shape(0) != n) throw std::invalid_argument("lin must have length num_qubits");
  if (u.shape(0) != v.shape(0) || u.shape(0) != quad.shape(0))
    throw std::invalid_argument("u, v and quad must have the same length");
}

}  // namespace

void bind_statevector(py::module_& m) {
  m.def("qaoa_memory_bytes", &qopt::qaoa_memory_bytes, py::arg("num_qubits"), py::arg("gradient") = false,
        py::arg("sampling") = false,
        "Bytes the QAOA statevector engine needs on num_qubits qubits (cost as doubles + state "
        "[+ adjoint state when gradient] [+ cumulative probabilities when sampling]).");
  m.def("available_memory_bytes", &qopt::available_memory_bytes, "MemAvailable from /proc/meminfo in bytes (0 if unknown).");
  m.attr("STATEVECTOR_MAX_QUBITS") = qopt::kMaxStatevectorQubits;

  m.def(
      "qaoa_cost_vector",
      [](int n, const f64& lin, const i32& u, const i32& v, const f64& quad, double offset, int num_threads) {
        check_model(n, lin, u, v, quad);
        if (n < 0 || n > qopt::kMaxStatevectorQubits)
          throw std::invalid_argument("num_qubits must be in [0, 30], was " + std::to_string(n));
        py::array_t<double> out(static_cast<py::ssize_t>(std::size_t{1} << n));
        {
          release_gil release;
          qopt::qaoa_cost_vector(n, lin.data(), u.shape(0), u.data(), v.data(), quad.data(), offset,
                                 out.mutable_data(), num_threads);
        }
        return out;
      },
      py::arg("num_qubits"), py::arg("lin"), py::arg("u"), py::arg("v"), py::arg("quad"), py::arg("offset"),
      py::arg("num_threads") = 0,
      R"doc(Cost of every basis state: float64 array of shape (2**num_qubits,).

C(b) = offset + sum_i lin[i] b_i + sum_e quad[e] b_u[e] b_v[e], with b_i = bit i of the index.
)doc");

  py::class_<qopt::QAOAEvaluator>(m, "QAOAEvaluator", R"doc(Cached QAOA statevector evaluator for one model.

The model is a pseudo-Boolean quadratic function of the bits (see qaoa_cost_vector); its
cost vector is built once and reused by every call. All calls release the GIL.
)doc")
      .def(py::init([](int n, const f64& lin, const i32& u, const i32& v, const f64& quad, double offset,
                       int num_threads, std::size_t max_memory) {
             check_model(n, lin, u, v, quad);
             release_gil release;
             return std::make_unique<qopt::QAOAEvaluator>(n, lin.data(), u.shape(0), u.data(), v.data(), quad.data(),
                                                          offset, num_threads, max_memory);
           }),
           py::arg("num_qubits"), py::arg("lin"), py::arg("u"), py::arg("v"), py::arg("quad"), py::arg("offset"),
           py::arg("num_threads") = 0, py::arg("max_memory") = 0)
      .def_property_readonly("num_qubits", &qopt::QAOAEvaluator::num_qubits)
      .def_property_readonly("compact_costs", &qopt::QAOAEvaluator::compact_costs)
      .def_property_readonly("table_size", &qopt::QAOAEvaluator::table_size)
      .def_property_readonly("allocated_bytes", &qopt::QAOAEvaluator::allocated_bytes)
      .def_property_readonly("last_traffic_bytes", &qopt::QAOAEvaluator::last_traffic_bytes)
      .def(
          "expectation",
          [](qopt::QAOAEvaluator& ev, const f64& gamma, const f64& beta) {
            Angles a = angles(gamma, beta);
            release_gil release;
            return ev.expectation(a.gamma.data(), a.beta.data(), a.reps);
          },
          py::arg("gamma"), py::arg("beta"), "<psi|C|psi> (float, energy units, offset included).")
      .def(
          "probabilities",
          [](qopt::QAOAEvaluator& ev, const f64& gamma, const f64& beta) {
            Angles a = angles(gamma, beta);
            py::array_t<double> out(static_cast<py::ssize_t>(ev.dimension()));
            double* p = out.mutable_data();
            {
              release_gil release;
              ev.probabilities(a.gamma.data(), a.beta.data(), a.reps, p);
            }
            return out;
          },
          py::arg("gamma"), py::arg("beta"), "Probabilities, float64 shape (2**n,), little-endian basis order.")
      .def(
          "statevector",
          [](qopt::QAOAEvaluator& ev, const f64& gamma, const f64& beta) {
            Angles a = angles(gamma, beta);
            py::array_t<std::complex<double>> out(static_cast<py::ssize_t>(ev.dimension()));
            std::complex<double>* p = out.mutable_data();
            {
              release_gil release;
              ev.statevector(a.gamma.data(), a.beta.data(), a.reps, p);
            }
            return out;
          },
          py::arg("gamma"), py::arg("beta"), "Amplitudes, complex128 shape (2**n,), little-endian basis order.")
      .def(
          "gradient",
          [](qopt::QAOAEvaluator& ev, const f64& gamma, const f64& beta) {
            Angles a = angles(gamma, beta);
            py::array_t<double> dg(a.reps), db(a.reps);
            double *pg = dg.mutable_data(), *pb = db.mutable_data();
            double e;
            {
              release_gil release;
              e = ev.gradient(a.gamma.data(), a.beta.data(), a.reps, pg, pb);
            }
            return py::make_tuple(e, dg, db);
          },
          py::arg("gamma"), py::arg("beta"), "(expectation, d/dgamma (reps,), d/dbeta (reps,)) by the adjoint method.")
      .def(
          "sample",
          [](qopt::QAOAEvaluator& ev, const f64& gamma, const f64& beta, std::int64_t shots, std::uint64_t seed) {
            Angles a = angles(gamma, beta);
            if (shots < 0) throw std::invalid_argument("shots must be >= 0, was " + std::to_string(shots));
            py::array_t<std::uint64_t> out(static_cast<py::ssize_t>(shots));
            std::uint64_t* p = out.mutable_data();
            double e;
            {
              release_gil release;
              e = ev.sample(a.gamma.data(), a.beta.data(), a.reps, shots, seed, p);
            }
            return py::make_tuple(out, e);
          },
          py::arg("gamma"), py::arg("beta"), py::arg("shots"), py::arg("seed"),
          "(basis indices uint64 (shots,), expectation): shots drawn from |psi|^2 with the seed.")
      .def(
          "warm_start",
          [](qopt::QAOAEvaluator& ev, const f64& gamma, const f64& beta, const f64& theta, bool amplitudes) {
            Angles a = angles(gamma, beta);
            if (theta.ndim() != 1 || theta.shape(0) != ev.num_qubits())
              throw std::invalid_argument("theta must have length num_qubits (" + std::to_string(ev.num_qubits()) +
                                          "), was " + std::to_string(theta.shape(0)));
            py::array_t<std::complex<double>> out(static_cast<py::ssize_t>(amplitudes ? ev.dimension() : 0));
            std::complex<double>* p = amplitudes ? out.mutable_data() : nullptr;
            double e;
            {
              release_gil release;
              e = ev.warm_start(a.gamma.data(), a.beta.data(), a.reps, theta.data(), p);
            }
            return py::make_tuple(e, out);
          },
          py::arg("gamma"), py::arg("beta"), py::arg("theta"), py::arg("amplitudes") = false,
          R"doc((expectation, amplitudes complex128 (2**n,) or empty): warm-start QAOA (Egger et al. 2021).
Initial state prod_q (cos(theta_q/2)|0> + sin(theta_q/2)|1>); mixer prod_q exp(-i beta (sin theta_q X + cos theta_q Z)).
)doc")
      .def(
          "cost_vector",
          [](const qopt::QAOAEvaluator& ev) {
            py::array_t<double> out(static_cast<py::ssize_t>(ev.dimension()));
            double* p = out.mutable_data();
            {
              release_gil release;
              ev.cost_vector(p);
            }
            return out;
          },
          "Cost vector, float64 shape (2**n,).");
}

}  // namespace qopt::bindings
