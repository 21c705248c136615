#include "bindings.hpp"
#include "qopt/statevector.hpp"

namespace qopt::bindings {
void bind_statevector(pybind11::module_& /*m*/) {}
}  // namespace qopt::bindings
