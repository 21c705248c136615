#include "bindings.hpp"

PYBIND11_MODULE(_core, m) {
  m.doc() = "qopt C++ core: simulated annealing, replica exchange, presolve and QAOA statevector kernels.";
  qopt::bindings::bind_anneal(m);
  qopt::bindings::bind_bnb(m);
  qopt::bindings::bind_descent(m);
  qopt::bindings::bind_presolve(m);
  qopt::bindings::bind_pt(m);
  qopt::bindings::bind_statevector(m);
}
