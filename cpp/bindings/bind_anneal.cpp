#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include <atomic>
#include <chrono>
#include <exception>
#include <functional>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>

#include "bindings.hpp"
#include "gil.hpp"
#include "interruptible.hpp"
#include "qopt/anneal.hpp"

namespace py = pybind11;

namespace qopt::bindings {

IsingCSR make_csr(const f64& h, const i32& row_ptr, const i32& col, const f64& J) {
  if (h.ndim() != 1 || row_ptr.ndim() != 1 || col.ndim() != 1 || J.ndim() != 1)
    throw std::invalid_argument("h, row_ptr, col and J must be one-dimensional");
  const auto n = static_cast<index_type>(h.shape(0));
  if (row_ptr.shape(0) != n + 1) throw std::invalid_argument("row_ptr must have length num_variables + 1");
  if (col.shape(0) != J.shape(0)) throw std::invalid_argument("col and J must have the same length");
  IsingCSR m;
  m.num_variables = n;
  m.h = h.data();
  m.row_ptr = row_ptr.data();
  m.col = col.data();
  m.J = J.data();
  if (n > 0 && row_ptr.data()[n] != static_cast<index_type>(col.shape(0)))
    throw std::invalid_argument("row_ptr[-1] must equal len(col)");
  validate_csr(m);
  return m;
}

// Progress reports from the kernel's workers, handed to Python by the polling thread: the
// kernel's callback only stores the latest report, so no worker ever waits for the GIL.
class ProgressRelay {
 public:
  explicit ProgressRelay(py::object fn) : fn_(std::move(fn)) {}
  bool enabled() const { return !fn_.is_none(); }
  // The kernel's callback (any thread, no GIL).
  void store(const AnnealProgress& p) {
    std::lock_guard<std::mutex> lock(mu_);
    last_ = p;
    pending_ = true;
  }
  // Call fn(sweep, best_energy, elapsed) with the pending report, if any (GIL held). An
  // exception it raises is kept for rethrow() and stops the run through `interrupt`.
  void forward(std::atomic<bool>& interrupt) {
    AnnealProgress p;
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (!pending_ || error_) return;
      pending_ = false;
      p = last_;
    }
    try {
      fn_(p.sweep, p.best_energy, p.elapsed);
    } catch (...) {
      error_ = std::current_exception();
      interrupt.store(true);
    }
  }
  void rethrow() const {
    if (error_) std::rethrow_exception(error_);
  }

 private:
  py::object fn_;
  std::mutex mu_;
  AnnealProgress last_;
  bool pending_ = false;
  std::exception_ptr error_;  // touched with the GIL held only
};

void bind_anneal(py::module_& m) {
  m.def(
      "simulated_annealing",
      [](const f64& h, const i32& row_ptr, const i32& col, const f64& J, const f64& betas, std::int64_t num_reads,
         std::uint64_t seed, int num_threads, py::object initial_states, double time_limit, bool polish,
         const std::string& kernel, double dense_fraction, py::object interrupt_event, py::object progress,
         double progress_interval) {
        IsingCSR model = make_csr(h, row_ptr, col, J);
        const auto n = static_cast<py::ssize_t>(model.num_variables);
        if (num_reads < 0) throw std::invalid_argument("num_reads must be >= 0");
        if (betas.ndim() != 1) throw std::invalid_argument("betas must be one-dimensional");
        py::array_t<std::int8_t> states({static_cast<py::ssize_t>(num_reads), n});
        py::array_t<double> energies(static_cast<py::ssize_t>(num_reads));
        AnnealOptions opt;
        opt.num_reads = num_reads;
        opt.betas = betas.data();
        opt.num_sweeps = betas.shape(0);
        opt.seed = seed;
        opt.num_threads = num_threads;
        opt.time_limit = time_limit;
        opt.polish = polish;
        opt.dense_fraction = dense_fraction;
        if (kernel == "auto") opt.kernel = AnnealKernel::automatic;
        else if (kernel == "sparse") opt.kernel = AnnealKernel::sparse;
        else if (kernel == "dense") opt.kernel = AnnealKernel::dense;
        else throw std::invalid_argument("kernel must be one of auto, sparse, dense, was " + kernel);
        if (!initial_states.is_none()) {
          i8 init = initial_states.cast<i8>();
          if (init.ndim() != 2 || init.shape(0) != num_reads || init.shape(1) != n)
            throw std::invalid_argument("initial_states must have shape (num_reads, num_variables)");
          std::copy(init.data(), init.data() + init.size(), states.mutable_data());
          opt.use_initial_states = true;
        }
        std::atomic<bool> interrupt{false};
        opt.interrupt = &interrupt;
        AnnealStats stats;
        std::int8_t* sp = states.mutable_data();
        double* ep = energies.mutable_data();
        if (!interrupt_event.is_none() && !py::hasattr(interrupt_event, "is_set"))
          throw std::invalid_argument("interrupt must have an is_set() method (e.g. threading.Event)");
        if (!progress.is_none() && !PyCallable_Check(progress.ptr()))
          throw std::invalid_argument("progress must be None or callable");
        ProgressRelay relay(progress);
        std::function<void()> on_poll;
        if (relay.enabled()) {
          opt.progress = [&relay](const AnnealProgress& p) { relay.store(p); };
          opt.progress_interval = progress_interval;
          on_poll = [&relay, &interrupt]() { relay.forward(interrupt); };
        }
        const bool sigint = run_interruptible([&]() { stats = simulated_annealing(model, opt, sp, ep); }, interrupt,
                                              interrupt_event, on_poll);
        if (relay.enabled()) {
          relay.forward(interrupt);  // the final report
          relay.rethrow();
        }
        py::dict info;
        info["kernel"] = stats.dense ? "dense" : "sparse";
        info["snapshot_read"] = stats.snapshot_read;
        return started_rows(states, energies, num_reads, stats, sigint, info);
      },
      py::arg("h"), py::arg("row_ptr"), py::arg("col"), py::arg("J"), py::arg("betas"), py::arg("num_reads"),
      py::arg("seed"), py::arg("num_threads") = 1, py::arg("initial_states") = py::none(),
      py::arg("time_limit") = 0.0, py::arg("polish") = false, py::arg("kernel") = "auto",
      py::arg("dense_fraction") = 0.65, py::arg("interrupt") = py::none(), py::arg("progress") = py::none(),
      py::arg("progress_interval") = AnnealOptions{}.progress_interval,
      R"doc(Anneal an Ising model given in symmetric CSR form (see qopt/anneal.hpp).

Args:
    h: float64, shape (n,), linear biases.
    row_ptr: int32, shape (n + 1,); col: int32, shape (nnz,); J: float64, shape (nnz,).
        Each coupling J_ij is stored twice (rows i and j); no self-loops.
    betas: float64, shape (num_sweeps,), inverse temperature per sweep (1/energy).
    num_reads: number of independent reads.
    seed: 64-bit seed; read r draws from its own stream, so results do not depend on num_threads.
    num_threads: worker threads (the GIL is released).
    initial_states: optional int8 array, shape (num_reads, n), values +-1.
    time_limit: seconds of wall clock; <= 0 for none. Checked between sweeps.
    polish: steepest descent on every read after annealing.
    kernel: "auto", "sparse" (8 reads per SIMD vector) or "dense" (dense float matrix rows).
    dense_fraction: "auto" picks the dense kernel when nnz >= dense_fraction * n * n (n <= 8192).
    interrupt: None or an object with is_set() (threading.Event), polled every 5 ms; once set,
        the run stops between sweeps as with time_limit.
    progress: None or a callable progress(sweep, best_energy, elapsed) called on this thread
        (with the GIL) when the best Ising energy (no offset; exact) of any read's state seen so
        far improves, at most every progress_interval seconds while the run goes on, and once
        after it if the final energies improved on it (see qopt/anneal.hpp); elapsed in seconds.
        A read whose best snapshot state beat its final state returns that state (polished
        when polish is set), so no energy reported is below the returned energies.
        An exception it raises stops the run and is raised from this call.
    progress_interval: seconds between progress calls, at least (finite, > 0).

Returns:
    (states int8 (k, n), energies float64 (k,), info dict) where k <= num_reads is the number
    of reads started before a time limit or Ctrl-C stopped the run (reads start in index
    order); info has num_sweeps_completed (fewest sweeps of a returned read), stopped_early,
    interrupted (by Ctrl-C or the event), sigint (Ctrl-C seen), kernel and snapshot_read (the
    read that returned its snapshot state instead of its final one, or -1).

Raises:
    ValueError: inconsistent arrays, indices out of range, self-loops, non-finite values,
        progress_interval not > 0.
)doc");

  m.def(
      "ising_energies",
      [](const f64& h, const i32& row_ptr, const i32& col, const f64& J, const i8& states) {
        IsingCSR model = make_csr(h, row_ptr, col, J);
        if (states.ndim() != 2 || states.shape(1) != model.num_variables)
          throw std::invalid_argument("states must have shape (num_states, num_variables)");
        py::array_t<double> out(states.shape(0));
        for (py::ssize_t r = 0; r < states.shape(0); ++r)
          out.mutable_data()[r] = ising_energy(model, states.data() + r * model.num_variables);
        return out;
      },
      py::arg("h"), py::arg("row_ptr"), py::arg("col"), py::arg("J"), py::arg("states"),
      "Ising energies (float64, shape (num_states,)) of int8 states of shape (num_states, n).");
}

}  // namespace qopt::bindings
