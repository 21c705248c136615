// Running a kernel with the GIL released while the calling thread polls for Ctrl-C and a
// cancel event: shared by the bindings of the annealing and replica-exchange kernels.
#pragma once
#include <pybind11/pybind11.h>

#include <pybind11/numpy.h>

#include <atomic>
#include <cstdint>
#include <chrono>
#include <exception>
#include <functional>
#include <thread>

#include "gil.hpp"

namespace qopt::bindings {

namespace py = pybind11;

// Run fn() on a worker thread with the GIL released, polling every 5 ms from the
// calling thread for Python signals (Ctrl-C) and for `event.is_set()` (any object
// with an is_set() method, e.g. threading.Event; None for none). Either sets
// `interrupt`, which the kernel honours between sweeps. A pending KeyboardInterrupt
// is cleared; the return value says whether a signal was seen. on_poll (may be empty)
// runs at each poll with the GIL held; it may set `interrupt`.
template <class Fn>
bool run_interruptible(Fn&& fn, std::atomic<bool>& interrupt, const py::object& event,
                       const std::function<void()>& on_poll = {}) {
  std::atomic<bool> done{false};
  std::exception_ptr error;
  bool signalled = false;
  {
    release_gil release;
    std::thread th([&]() {
      try {
        fn();
      } catch (...) {
        error = std::current_exception();
      }
      done.store(true);
    });
    // Joins the worker however this scope is left. At interpreter shutdown a daemon thread
    // that asks for the GIL is ended by a forced unwind; destroying a joinable std::thread
    // there would call std::terminate, so stop the kernel and join instead.
    struct Joiner {
      std::thread& t;
      std::atomic<bool>& stop;
      std::atomic<bool>& finished;
      ~Joiner() {
        if (!t.joinable()) return;
        if (!finished.load()) stop.store(true);
        t.join();
      }
    } joiner{th, interrupt, done};
    while (!done.load()) {
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
      if (done.load() || interrupt.load()) continue;
      if (interpreter_finalizing()) {  // never ask a finalising interpreter for the GIL
        interrupt.store(true);
        th.join();
        park_forever();
      }
      py::gil_scoped_acquire acquire;
      if (PyErr_CheckSignals() != 0) {
        PyErr_Clear();
        signalled = true;
        interrupt.store(true);
      } else if (!event.is_none()) {
        bool set = false;
        try {
          set = event.attr("is_set")().cast<bool>();
        } catch (py::error_already_set&) {
          set = true;  // a broken event stops the run rather than hanging it
        }
        if (set) interrupt.store(true);
      }
      if (on_poll) on_poll();
    }
  }
  if (error) std::rethrow_exception(error);
  return signalled;
}

// The rows of the first stats.num_started reads (a run stopped early starts reads in index
// order) and the info entries every kernel reports: num_sweeps_completed, stopped_early,
// interrupted, sigint. Returns (states, energies, info) for the caller to add to info.
template <class Stats>
py::tuple started_rows(const py::array_t<std::int8_t>& states, const py::array_t<double>& energies,
                       std::int64_t num_reads, const Stats& stats, bool sigint, py::dict& info) {
  py::object st = states, en = energies;
  if (stats.num_started < num_reads) {
    py::slice keep(0, static_cast<py::ssize_t>(stats.num_started), 1);
    st = states[keep];
    en = energies[keep];
  }
  info["num_sweeps_completed"] = stats.sweeps_done_min;
  info["stopped_early"] = stats.stopped_early;
  info["interrupted"] = stats.interrupted;
  info["sigint"] = sigint;
  return py::make_tuple(st, en, info);
}

}  // namespace qopt::bindings
