#include "bindings.hpp"

PYBIND11_MODULE(_core, m) {
  m.doc() = "qopt C++ core: simulated annealing, presolve and QAOA statevector kernels.";
  qopt::bindings::bind_anneal(m);
}
