#include "qopt/statevector.hpp"

namespace qopt {}  // namespace qopt
