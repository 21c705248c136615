#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include <stdexcept>
#include <string>

#include "bindings.hpp"
#include "qopt/anneal.hpp"

namespace py = pybind11;

namespace qopt::bindings {
namespace {

using f64 = py::array_t<double, py::array::c_style | py::array::forcecast>;
using i32 = py::array_t<std::int32_t, py::array::c_style | py::array::forcecast>;
using i8 = py::array_t<std::int8_t, py::array::c_style | py::array::forcecast>;

IsingCSR make_csr(const f64& h, const i32& row_ptr, const i32& col, const f64& J) {
  if (h.ndim() != 1 || row_ptr.ndim() != 1 || col.ndim() != 1 || J.ndim() != 1)
    throw std::invalid_argument("h, row_ptr, col and J must be one-dimensional");
  const auto n = static_cast<index_type>(h.shape(0));
  if (row_ptr.shape(0) != n + 1) throw std::invalid_argument("row_ptr must have length num_variables + 1");
  if (col.shape(0) != J.shape(0)) throw std::invalid_argument("col and J must have the same length");
  IsingCSR m;
  m.num_variables = n;
  m.h = h.data();
  m.row_ptr = row_ptr.data();
  m.col = col.data();
  m.J = J.data();
  if (n > 0 && row_ptr.data()[n] != static_cast<index_type>(col.shape(0)))
    throw std::invalid_argument("row_ptr[-1] must equal len(col)");
  validate_csr(m);
  return m;
}

}  // namespace

void bind_anneal(py::module_& m) {
  m.def(
      "simulated_annealing",
      [](const f64& h, const i32& row_ptr, const i32& col, const f64& J, const f64& betas, std::int64_t num_reads,
         std::uint64_t seed, int num_threads, py::object initial_states, double time_limit) {
        IsingCSR model = make_csr(h, row_ptr, col, J);
        const auto n = static_cast<py::ssize_t>(model.num_variables);
        if (num_reads < 0) throw std::invalid_argument("num_reads must be >= 0");
        py::array_t<std::int8_t> states({static_cast<py::ssize_t>(num_reads), n});
        py::array_t<double> energies(static_cast<py::ssize_t>(num_reads));
        AnnealOptions opt;
        opt.num_reads = num_reads;
        opt.betas = betas.data();
        opt.num_sweeps = betas.shape(0);
        opt.seed = seed;
        opt.num_threads = num_threads;
        opt.time_limit = time_limit;
        if (!initial_states.is_none()) {
          i8 init = initial_states.cast<i8>();
          if (init.ndim() != 2 || init.shape(0) != num_reads || init.shape(1) != n)
            throw std::invalid_argument("initial_states must have shape (num_reads, num_variables)");
          std::copy(init.data(), init.data() + init.size(), states.mutable_data());
          opt.use_initial_states = true;
        }
        AnnealStats stats;
        {
          py::gil_scoped_release release;
          stats = simulated_annealing(model, opt, states.mutable_data(), energies.mutable_data());
        }
        return py::make_tuple(states, energies, stats.sweeps_done_min, stats.stopped_early);
      },
      py::arg("h"), py::arg("row_ptr"), py::arg("col"), py::arg("J"), py::arg("betas"), py::arg("num_reads"),
      py::arg("seed"), py::arg("num_threads") = 1, py::arg("initial_states") = py::none(),
      py::arg("time_limit") = 0.0,
      R"doc(Anneal an Ising model given in symmetric CSR form.

Args:
    h: float64, shape (n,), linear biases.
    row_ptr: int32, shape (n + 1,); col: int32, shape (nnz,); J: float64, shape (nnz,).
        Each coupling J_ij is stored twice (rows i and j); no self-loops.
    betas: float64, shape (num_sweeps,), inverse temperature per sweep (1/energy).
    num_reads: number of independent reads.
    seed: 64-bit seed; read r draws from its own stream, so results do not depend on num_threads.
    num_threads: worker threads (the GIL is released).
    initial_states: optional int8 array, shape (num_reads, n), values +-1.
    time_limit: seconds of wall clock; <= 0 for none. Checked between sweeps.

Returns:
    (states int8 (num_reads, n), energies float64 (num_reads,), min sweeps done, stopped early)

Raises:
    ValueError: inconsistent arrays, indices out of range or self-loops.
)doc");

  m.def(
      "ising_energies",
      [](const f64& h, const i32& row_ptr, const i32& col, const f64& J, const i8& states) {
        IsingCSR model = make_csr(h, row_ptr, col, J);
        if (states.ndim() != 2 || states.shape(1) != model.num_variables)
          throw std::invalid_argument("states must have shape (num_states, num_variables)");
        py::array_t<double> out(states.shape(0));
        for (py::ssize_t r = 0; r < states.shape(0); ++r)
          out.mutable_data()[r] = ising_energy(model, states.data() + r * model.num_variables);
        return out;
      },
      py::arg("h"), py::arg("row_ptr"), py::arg("col"), py::arg("J"), py::arg("states"),
      "Ising energies (float64, shape (num_states,)) of int8 states of shape (num_states, n).");
}

}  // namespace qopt::bindings
