// Releasing the GIL around kernels, safely at interpreter shutdown.
//
// pybind11's gil_scoped_release re-takes the GIL in its destructor. When a daemon thread
// returns from a kernel after the interpreter has started finalising, taking the GIL ends
// the thread with a forced unwind; from a destructor that is std::terminate, and the whole
// process aborts at exit. release_gil instead parks such a thread for good (the process
// is exiting and will end it), so it never touches the finalising interpreter.
#pragma once

#include <Python.h>

#include <chrono>
#include <thread>

namespace qopt::bindings {

inline bool interpreter_finalizing() {
#if PY_VERSION_HEX >= 0x030D0000
  return Py_IsFinalizing() != 0;
#else
  return _Py_IsFinalizing() != 0;
#endif
}

[[noreturn]] inline void park_forever() {
  for (;;) std::this_thread::sleep_for(std::chrono::hours(1));
}

class release_gil {
 public:
  release_gil() : state_(PyEval_SaveThread()) {}
  release_gil(const release_gil&) = delete;
  release_gil& operator=(const release_gil&) = delete;
  ~release_gil() {
    if (interpreter_finalizing()) park_forever();
    PyEval_RestoreThread(state_);
  }

 private:
  PyThreadState* state_;
};

}  // namespace qopt::bindings
