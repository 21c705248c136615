#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include <stdexcept>

#include "bindings.hpp"
#include "gil.hpp"
#include "qopt/descent.hpp"

namespace py = pybind11;

namespace qopt::bindings {

void bind_descent(py::module_& m) {
  m.def(
      "steepest_descent",
      [](const f64& h, const i32& row_ptr, const i32& col, const f64& J, const i8& states, int num_threads) {
        IsingCSR model = make_csr(h, row_ptr, col, J);
        if (states.ndim() != 2 || states.shape(1) != model.num_variables)
          throw std::invalid_argument("states must have shape (num_states, num_variables)");
        const py::ssize_t k = states.shape(0);
        py::array_t<std::int8_t> out({k, static_cast<py::ssize_t>(model.num_variables)});
        std::copy(states.data(), states.data() + states.size(), out.mutable_data());
        py::array_t<double> energies(k);
        py::array_t<std::int64_t> flips(k);
        std::int8_t* sp = out.mutable_data();
        double* ep = energies.mutable_data();
        std::int64_t* fp = flips.mutable_data();
        {
          release_gil release;
          steepest_descent(model, sp, k, ep, fp, num_threads);
        }
        return py::make_tuple(out, energies, flips);
      },
      py::arg("h"), py::arg("row_ptr"), py::arg("col"), py::arg("J"), py::arg("states"), py::arg("num_threads") = 1,
      R"doc(Steepest descent from each state to a 1-flip local minimum (see qopt/descent.hpp).

Args:
    h, row_ptr, col, J: the Ising model in symmetric CSR form (as simulated_annealing).
    states: int8, shape (num_states, n), values +-1; not modified.
    num_threads: worker threads (the GIL is released).

Returns:
    (states int8 (num_states, n), energies float64 (num_states,), flips int64 (num_states,)).

Raises:
    ValueError: inconsistent arrays or states not in {-1, +1}.
)doc");
}

}  // namespace qopt::bindings
