#include "bindings.hpp"
#include "qopt/descent.hpp"

namespace qopt::bindings {
void bind_descent(pybind11::module_& /*m*/) {}
}  // namespace qopt::bindings
