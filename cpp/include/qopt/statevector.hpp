// qopt C++ core: statevector (to be filled in). Plain arrays in, plain arrays out; no Python.
#pragma once

namespace qopt {}  // namespace qopt
