#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <atomic>
#include <cstdint>
#include <exception>
#include <functional>
#include <limits>
#include <stdexcept>

#include "bindings.hpp"
#include "interruptible.hpp"
#include "qopt/pt.hpp"

namespace py = pybind11;

namespace qopt::bindings {

void bind_pt(py::module_& m) {
  m.def(
      "replica_exchange",
      [](const f64& h, const i32& row_ptr, const i32& col, const f64& J, std::int64_t num_reads, int num_replicas,
         std::int64_t num_sweeps, double beta_min, double beta_max, std::uint64_t seed, int num_threads,
         double tune_fraction, std::int64_t tune_interval, std::int64_t descent_interval, std::int64_t perturb_after,
         int perturb_min, int perturb_max, double time_limit, py::object interrupt_event, py::object progress) {
        IsingCSR model = make_csr(h, row_ptr, col, J);
        if (num_reads < 0) throw std::invalid_argument("num_reads must be >= 0");
        const auto n = static_cast<py::ssize_t>(model.num_variables);
        py::array_t<std::int8_t> states({static_cast<py::ssize_t>(num_reads), n});
        py::array_t<double> energies(static_cast<py::ssize_t>(num_reads));
        ReplicaExchangeOptions opt;
        opt.num_reads = num_reads;
        opt.num_replicas = num_replicas;
        opt.num_sweeps = num_sweeps;
        opt.beta_min = beta_min;
        opt.beta_max = beta_max;
        opt.seed = seed;
        opt.num_threads = num_threads;
        opt.tune_fraction = tune_fraction;
        opt.tune_interval = tune_interval;
        opt.descent_interval = descent_interval;
        opt.perturb_after = perturb_after;
        opt.perturb_min = perturb_min;
        opt.perturb_max = perturb_max;
        opt.time_limit = time_limit;
        if (!interrupt_event.is_none() && !py::hasattr(interrupt_event, "is_set"))
          throw std::invalid_argument("interrupt must have an is_set() method (e.g. threading.Event)");
        std::atomic<bool> interrupt{false};
        opt.interrupt = &interrupt;
        ReplicaExchangeStats stats;
        std::int8_t* sp = states.mutable_data();
        double* ep = energies.mutable_data();
        if (!progress.is_none() && !PyCallable_Check(progress.ptr()))
          throw std::invalid_argument("progress must be None or callable");
        std::atomic<double> best_seen{std::numeric_limits<double>::infinity()};
        double reported = best_seen.load();
        std::exception_ptr progress_error;
        std::function<void()> on_poll;
        if (!progress.is_none()) {
          opt.best_energy = &best_seen;
          on_poll = [&]() {  // GIL held: report an improved incumbent
            const double e = best_seen.load();
            if (progress_error || !(e < reported)) return;
            reported = e;
            try {
              progress(e);
            } catch (...) {
              progress_error = std::current_exception();
              interrupt.store(true);
            }
          };
        }
        const bool sigint = run_interruptible([&]() { stats = replica_exchange(model, opt, sp, ep); }, interrupt,
                                              interrupt_event, on_poll);
        if (progress_error) std::rethrow_exception(progress_error);
        py::dict info;
        info["betas"] = stats.betas;
        info["swap_acceptance"] = stats.swap_acceptance;
        info["round_trips"] = stats.round_trips;
        info["num_descents"] = stats.num_descents;
        info["num_perturbations"] = stats.num_perturbations;
        return started_rows(states, energies, num_reads, stats, sigint, info);
      },
      py::arg("h"), py::arg("row_ptr"), py::arg("col"), py::arg("J"), py::arg("num_reads"), py::arg("num_replicas"),
      py::arg("num_sweeps"), py::arg("beta_min"), py::arg("beta_max"), py::arg("seed"), py::arg("num_threads") = 1,
      py::arg("tune_fraction") = 0.25, py::arg("tune_interval") = 50, py::arg("descent_interval") = 0,
      py::arg("perturb_after") = 3, py::arg("perturb_min") = 0, py::arg("perturb_max") = 0,
      py::arg("time_limit") = 0.0, py::arg("interrupt") = py::none(), py::arg("progress") = py::none(),
      R"doc(Replica exchange (parallel tempering) on an Ising model in symmetric CSR form (see qopt/pt.hpp).

Args:
    h: float64 (n,); row_ptr: int32 (n + 1,); col: int32 (nnz,); J: float64 (nnz,), each coupling twice.
    num_reads: independent ladders; num_replicas: temperatures per ladder (>= 2).
    num_sweeps: Metropolis sweeps of every replica.
    beta_min, beta_max: hottest and coldest inverse temperatures (1/energy), 0 < beta_min < beta_max.
    seed: 64-bit seed; ladder r draws from its own stream, so results do not depend on num_threads.
    num_threads: worker threads (the GIL is released).
    tune_fraction, tune_interval: share of the sweeps spent tuning the ladder toward uniform swap
        acceptance, in rounds of tune_interval sweeps.
    descent_interval: sweeps between steepest descents of the coldest replica (0: none);
        perturb_after, perturb_min, perturb_max: the Breakout-Local-Search-style perturbation.
    time_limit: seconds of wall clock (<= 0: none); interrupt: None or an object with is_set().
    progress: None or a callable progress(best_energy) called on this thread (GIL held), polled
        every 5 ms, when the lowest Ising energy (no offset) any ladder has seen improves; an
        exception it raises stops the run and is raised from this call.

Returns:
    (states int8 (k, n): best state of each started ladder, energies float64 (k,), info dict with
    num_sweeps_completed, stopped_early, interrupted, sigint, betas (final ladder of read 0),
    swap_acceptance (per neighbour pair, after tuning), round_trips, num_descents, num_perturbations).

Raises:
    ValueError: inconsistent arrays or options out of range.
)doc");
}

}  // namespace qopt::bindings
