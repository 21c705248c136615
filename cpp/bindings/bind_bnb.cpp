#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include <atomic>
#include <stdexcept>

#include "bindings.hpp"
#include "interruptible.hpp"
#include "qopt/bnb.hpp"

namespace py = pybind11;

namespace qopt::bindings {

void bind_bnb(py::module_& m) {
  m.def(
      "branch_and_bound",
      [](const f64& linear, const f64& quadratic, double offset, std::int64_t num_best, double time_limit,
         py::object initial_states, py::object interrupt_event) {
        if (linear.ndim() != 1) throw std::invalid_argument("linear must be one-dimensional");
        const py::ssize_t n = linear.shape(0);
        if (quadratic.ndim() != 2 || quadratic.shape(0) != n || quadratic.shape(1) != n)
          throw std::invalid_argument("quadratic must have shape (num_variables, num_variables)");
        if (n > kBnbMaxVariables) throw std::invalid_argument("num_variables must be in [0, 64] for branch and bound");
        if (!interrupt_event.is_none() && !py::hasattr(interrupt_event, "is_set"))
          throw std::invalid_argument("interrupt must have an is_set() method (e.g. threading.Event)");
        QuboDense model;
        model.num_variables = static_cast<std::int32_t>(n);
        model.linear = linear.data();
        model.quadratic = quadratic.data();
        model.offset = offset;
        BnbOptions opt;
        opt.num_best = num_best;
        opt.time_limit = time_limit;
        i8 init;
        if (!initial_states.is_none()) {
          init = initial_states.cast<i8>();
          if (init.ndim() != 2 || init.shape(1) != n)
            throw std::invalid_argument("initial_states must have shape (num_initial, num_variables)");
          opt.initial_states = init.data();
          opt.num_initial = init.shape(0);
        }
        std::atomic<bool> interrupt{false};
        opt.interrupt = &interrupt;
        BnbResult res;
        const bool sigint =
            run_interruptible([&]() { res = branch_and_bound(model, opt); }, interrupt, interrupt_event);
        const auto k = static_cast<py::ssize_t>(res.energies.size());
        py::array_t<std::int8_t> states({k, n});
        std::copy(res.states.begin(), res.states.end(), states.mutable_data());
        py::array_t<double> energies(k);
        std::copy(res.energies.begin(), res.energies.end(), energies.mutable_data());
        py::dict info;
        info["status"] = res.status == BnbStatus::optimal      ? "optimal"
                         : res.status == BnbStatus::time_limit ? "time_limit"
                                                               : "interrupted";
        info["dual_bound"] = res.dual_bound;
        info["num_nodes"] = res.num_nodes;
        info["seconds"] = res.seconds;
        info["sigint"] = sigint;
        return py::make_tuple(states, energies, info);
      },
      py::arg("linear"), py::arg("quadratic"), py::arg("offset") = 0.0, py::arg("num_best") = 1,
      py::arg("time_limit") = 0.0, py::arg("initial_states") = py::none(), py::arg("interrupt") = py::none(),
      R"doc(Minimise a BQM in binary form by depth-first branch and bound (see qopt/bnb.hpp;
Pardalos & Rodgers 1990).

Args:
    linear: float64, shape (n,), linear biases c_i; n <= 64.
    quadratic: float64, shape (n, n), symmetric with zero diagonal: Q_ij = Q_ji is the bias
        of x_i x_j (each coupling once per triangle).
    offset: constant energy.
    num_best: how many distinct lowest-energy states to return (>= 1).
    time_limit: seconds of wall clock; <= 0 for none. Checked every 4096 nodes.
    initial_states: optional int8 array, shape (m, n), values 0/1: incumbents to start from.
    interrupt: None or an object with is_set() (threading.Event), polled every 5 ms; once
        set, the search stops at its next check (status "interrupted").

Returns:
    (states int8 (k, n) values 0/1, energies float64 (k,), info dict) lowest energy first,
    k <= num_best; info: status ("optimal", "time_limit" or "interrupted"), dual_bound (a
    proven lower bound on the minimum energy, offset included; equals energies[0] when
    optimal), num_nodes, seconds (the search's wall clock), sigint (Ctrl-C seen).

Raises:
    ValueError: bad shapes, n > 64, a non-symmetric or non-finite matrix, a non-zero
        diagonal, num_best < 1, initial states not in {0, 1}.
)doc");
}

}  // namespace qopt::bindings
