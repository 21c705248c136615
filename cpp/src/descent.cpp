#include "qopt/descent.hpp"

namespace qopt {}  // namespace qopt
