#include "qopt/presolve.hpp"

namespace qopt {}  // namespace qopt
