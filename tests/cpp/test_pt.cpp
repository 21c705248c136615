// Replica exchange kernel (qopt/pt.hpp) against brute force on small random models.
#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdint>
#include <stdexcept>
#include <vector>

#include "check.hpp"
#include "models.hpp"
#include "qopt/anneal.hpp"
#include "qopt/pt.hpp"

using qopt_test::Model;

namespace {

struct Run {
  std::vector<std::int8_t> states;
  std::vector<double> energies;
  qopt::ReplicaExchangeStats stats;
};

Run exchange(const Model& m, const qopt::ReplicaExchangeOptions& opt) {
  const auto csr = qopt_test::to_csr<std::int32_t>(m);
  qopt::IsingCSR v;
  v.num_variables = m.n;
  v.h = m.h.data();
  v.row_ptr = csr.ptr.data();
  v.col = csr.col.data();
  v.J = csr.val.data();
  Run r;
  r.states.assign(static_cast<std::size_t>(opt.num_reads * m.n), 0);
  r.energies.assign(static_cast<std::size_t>(opt.num_reads), 0.0);
  r.stats = qopt::replica_exchange(v, opt, r.states.data(), r.energies.data());
  return r;
}

qopt::ReplicaExchangeOptions options(std::int64_t num_reads, std::uint64_t seed) {
  qopt::ReplicaExchangeOptions opt;
  opt.num_reads = num_reads;
  opt.num_replicas = 8;
  opt.num_sweeps = 400;
  opt.beta_min = 0.1;
  opt.beta_max = 10.0;
  opt.seed = seed;
  return opt;
}

}  // namespace

QOPT_TEST("replica exchange reaches the brute-force ground state; energies are exact") {
  for (std::uint64_t seed = 1; seed <= 6; ++seed) {
    const Model m = qopt_test::random_model(14, 0.4, seed, 1.0, seed % 2 == 0);
    const auto bf = qopt_test::brute_force(m);
    const Run r = exchange(m, options(3, seed));
    REQUIRE(r.stats.num_started == 3);
    for (std::int64_t k = 0; k < 3; ++k) {
      const std::int8_t* s = r.states.data() + k * m.n;
      CHECK_NEAR(r.energies[static_cast<std::size_t>(k)], m.energy(s), 1e-9 * m.scale());
      CHECK_NEAR(r.energies[static_cast<std::size_t>(k)], bf.min_energy, 1e-9 * m.scale());
    }
  }
}

QOPT_TEST("replica exchange with descent and perturbation reaches the ground state") {
  const Model m = qopt_test::random_model(18, 0.3, 11, 0.5);
  const auto bf = qopt_test::brute_force(m);
  auto opt = options(2, 3);
  opt.descent_interval = 10;
  opt.perturb_after = 2;
  const Run r = exchange(m, opt);
  CHECK(r.stats.num_descents == 2 * (opt.num_sweeps / 10));
  CHECK(r.stats.num_perturbations > 0);
  for (std::int64_t k = 0; k < 2; ++k) CHECK_NEAR(r.energies[static_cast<std::size_t>(k)], bf.min_energy, 1e-9 * m.scale());
}

QOPT_TEST("replica exchange: same seed same answer whatever num_threads") {
  const Model m = qopt_test::random_model(40, 0.2, 7);
  auto opt = options(5, 42);
  opt.descent_interval = 25;
  const Run a = exchange(m, opt);
  opt.num_threads = 3;
  const Run b = exchange(m, opt);
  CHECK(a.states == b.states);
  CHECK(a.energies == b.energies);
  CHECK(a.stats.swap_acceptance == b.stats.swap_acceptance);
  CHECK_EQ(a.stats.round_trips, b.stats.round_trips);
  opt.seed = 43;
  const Run c = exchange(m, opt);
  CHECK(!(a.stats.swap_acceptance == c.stats.swap_acceptance));
}

QOPT_TEST("replica exchange: swap statistics and a tuned ladder with fixed ends") {
  const Model m = qopt_test::random_model(60, 0.15, 9);
  auto opt = options(4, 5);
  opt.num_replicas = 12;
  opt.num_sweeps = 2000;
  opt.beta_min = 0.05;
  opt.beta_max = 5.0;
  opt.tune_fraction = 0.5;
  const Run r = exchange(m, opt);
  REQUIRE(r.stats.betas.size() == 12);
  REQUIRE(r.stats.swap_acceptance.size() == 11);
  CHECK_NEAR(r.stats.betas.front(), 0.05, 1e-12);
  CHECK_NEAR(r.stats.betas.back(), 5.0, 1e-9);
  for (std::size_t k = 0; k + 1 < r.stats.betas.size(); ++k) CHECK(r.stats.betas[k] < r.stats.betas[k + 1]);
  double lo = 1.0, hi = 0.0;
  for (double a : r.stats.swap_acceptance) {
    CHECK(a > 0.0 && a <= 1.0);
    lo = std::min(lo, a);
    hi = std::max(hi, a);
  }
  CHECK(hi - lo < 0.6);  // the tuning spreads acceptance over every pair
  CHECK(r.stats.round_trips > 0);
  // the untuned geometric ladder, for comparison, keeps its ends and its gaps
  opt.tune_fraction = 0.0;
  const Run g = exchange(m, opt);
  CHECK_NEAR(g.stats.betas[1], 0.05 * std::pow(100.0, 1.0 / 11.0), 1e-12);
}

QOPT_TEST("replica exchange: time limit and interrupt stop the run at a sweep boundary") {
  const Model m = qopt_test::random_model(30, 0.3, 2);
  auto opt = options(4, 1);
  opt.num_sweeps = 1000000000;
  opt.time_limit = 0.05;
  const Run r = exchange(m, opt);
  CHECK(r.stats.stopped_early);
  CHECK(r.stats.num_started >= 1);
  for (std::int64_t k = 0; k < r.stats.num_started; ++k)
    CHECK_NEAR(r.energies[static_cast<std::size_t>(k)], m.energy(r.states.data() + k * m.n), 1e-9 * m.scale());
  std::atomic<bool> stop{true};
  opt.time_limit = 0.0;
  opt.interrupt = &stop;
  const Run s = exchange(m, opt);
  CHECK(s.stats.interrupted && s.stats.num_started == 1 && s.stats.sweeps_done_min == 0);
}

QOPT_TEST("replica exchange: bad options throw") {
  const Model m = qopt_test::random_model(5, 0.5, 1);
  auto opt = options(1, 1);
  opt.num_replicas = 1;
  CHECK_THROWS(exchange(m, opt), std::invalid_argument);
  opt = options(1, 1);
  opt.beta_max = opt.beta_min;
  CHECK_THROWS(exchange(m, opt), std::invalid_argument);
  opt = options(1, 1);
  opt.tune_fraction = 1.0;
  CHECK_THROWS(exchange(m, opt), std::invalid_argument);
  opt = options(1, 1);
  opt.perturb_after = 0;
  CHECK_THROWS(exchange(m, opt), std::invalid_argument);
}

QOPT_TEST_MAIN()
