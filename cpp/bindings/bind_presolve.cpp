#include "bindings.hpp"
#include "qopt/presolve.hpp"

namespace qopt::bindings {
void bind_presolve(pybind11::module_& /*m*/) {}
}  // namespace qopt::bindings
