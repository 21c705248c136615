// Simulated annealing kernel (qopt/anneal.hpp) against brute force on small random models.
#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdint>
#include <stdexcept>
#include <vector>

#include "check.hpp"
#include "models.hpp"
#include "qopt/anneal.hpp"

using qopt_test::Model;

namespace {

struct Run {
  std::vector<std::int8_t> states;
  std::vector<double> energies;
  qopt::AnnealStats stats;
};

qopt::IsingCSR view(const Model& m, const qopt_test::CSR<std::int32_t>& c) {
  qopt::IsingCSR v;
  v.num_variables = m.n;
  v.h = m.h.data();
  v.row_ptr = c.ptr.data();
  v.col = c.col.data();
  v.J = c.val.data();
  return v;
}

// Geometric schedule from beta0 to beta1 over num_sweeps sweeps.
std::vector<double> geometric(double beta0, double beta1, int num_sweeps) {
  std::vector<double> b(static_cast<std::size_t>(num_sweeps));
  for (int k = 0; k < num_sweeps; ++k)
    b[static_cast<std::size_t>(k)] = beta0 * std::pow(beta1 / beta0, num_sweeps > 1 ? double(k) / (num_sweeps - 1) : 0.0);
  return b;
}

Run anneal(const Model& m, std::int64_t num_reads, std::uint64_t seed, qopt::AnnealKernel kernel,
           int num_threads = 1, int num_sweeps = 1000, bool polish = false) {
  const auto csr = qopt_test::to_csr<std::int32_t>(m);
  const auto betas = geometric(0.1, 20.0, num_sweeps);
  qopt::AnnealOptions opt;
  opt.num_reads = num_reads;
  opt.betas = betas.data();
  opt.num_sweeps = num_sweeps;
  opt.seed = seed;
  opt.num_threads = num_threads;
  opt.kernel = kernel;
  opt.polish = polish;
  Run r;
  r.states.assign(static_cast<std::size_t>(num_reads * m.n), 0);
  r.energies.assign(static_cast<std::size_t>(num_reads), 0.0);
  r.stats = qopt::simulated_annealing(view(m, csr), opt, r.states.data(), r.energies.data());
  return r;
}

const qopt::AnnealKernel kKernels[] = {qopt::AnnealKernel::sparse, qopt::AnnealKernel::dense};

}  // namespace

QOPT_TEST("ising_energy equals the brute-force energy") {
  const Model m = qopt_test::random_model(9, 0.5, 11);
  const auto csr = qopt_test::to_csr<std::int32_t>(m);
  for (std::uint64_t k = 0; k < (1u << m.n); ++k) {
    const auto s = qopt_test::state_of(m.n, k);
    CHECK_NEAR(qopt::ising_energy(view(m, csr), s.data()), m.energy(s), 1e-12 * m.scale());
  }
}

QOPT_TEST("anneal finds the brute-force ground state (sparse and dense kernels)") {
  for (std::uint64_t seed = 1; seed <= 6; ++seed) {
    const int n = 6 + static_cast<int>(seed);  // 7 .. 12 spins
    const Model m = qopt_test::random_model(n, 0.6, 100 + seed);
    const double ground = qopt_test::brute_force(m).min_energy;
    for (auto kernel : kKernels) {
      const Run r = anneal(m, 32, seed, kernel);
      double best = r.energies[0];
      for (double e : r.energies) best = std::min(best, e);
      CHECK_NEAR(best, ground, 1e-9 * m.scale());
      CHECK_EQ(r.stats.num_started, 32);
      CHECK(!r.stats.stopped_early);
      CHECK_EQ(r.stats.sweeps_done_min, 1000);
      CHECK_EQ(r.stats.dense, kernel == qopt::AnnealKernel::dense);
    }
  }
}

QOPT_TEST("anneal reports the energies of the states it returns") {
  const Model m = qopt_test::random_model(10, 0.5, 7);
  for (auto kernel : kKernels)
    for (std::int64_t reads : {1, 3, 4, 8, 16, 37}) {  // every lane width, partial groups
      const Run r = anneal(m, reads, 5, kernel, 1, 50);
      for (std::int64_t k = 0; k < reads; ++k) {
        const std::int8_t* s = &r.states[static_cast<std::size_t>(k * m.n)];
        for (int i = 0; i < m.n; ++i) CHECK(s[i] == 1 || s[i] == -1);
        CHECK_NEAR(r.energies[static_cast<std::size_t>(k)], m.energy(s), 1e-12 * m.scale());
      }
    }
}

QOPT_TEST("anneal: same seed same result, whatever the number of threads") {
  const Model m = qopt_test::random_model(12, 0.4, 21);
  for (auto kernel : kKernels) {
    const Run a = anneal(m, 40, 99, kernel, 1, 200);
    const Run b = anneal(m, 40, 99, kernel, 1, 200);
    const Run c = anneal(m, 40, 99, kernel, 2, 200);
    CHECK(a.states == b.states);
    CHECK(a.energies == b.energies);
    CHECK(a.states == c.states);
    CHECK(a.energies == c.energies);
    const Run d = anneal(m, 40, 100, kernel, 1, 200);
    CHECK(a.states != d.states);  // another seed, other random streams
  }
}

QOPT_TEST("anneal with polish ends in 1-flip local minima") {
  const Model m = qopt_test::random_model(11, 0.5, 33);
  for (auto kernel : kKernels) {
    const Run r = anneal(m, 16, 3, kernel, 1, 5, /*polish=*/true);  // few sweeps: polish matters
    for (std::int64_t k = 0; k < 16; ++k) {
      std::vector<std::int8_t> s(r.states.begin() + k * m.n, r.states.begin() + (k + 1) * m.n);
      const double e = m.energy(s);
      CHECK_NEAR(r.energies[static_cast<std::size_t>(k)], e, 1e-12 * m.scale());
      for (int i = 0; i < m.n; ++i) {
        s[static_cast<std::size_t>(i)] = static_cast<std::int8_t>(-s[static_cast<std::size_t>(i)]);
        CHECK_LE(e, m.energy(s), 1e-12 * m.scale());
        s[static_cast<std::size_t>(i)] = static_cast<std::int8_t>(-s[static_cast<std::size_t>(i)]);
      }
    }
  }
}

QOPT_TEST("anneal with zero sweeps keeps the initial states") {
  const Model m = qopt_test::random_model(8, 0.5, 4);
  const auto csr = qopt_test::to_csr<std::int32_t>(m);
  std::vector<std::int8_t> states;
  for (std::uint64_t k = 0; k < 5; ++k) {
    const auto s = qopt_test::state_of(m.n, 37 * k + 1);
    states.insert(states.end(), s.begin(), s.end());
  }
  const auto initial = states;
  std::vector<double> energies(5);
  qopt::AnnealOptions opt;
  opt.num_reads = 5;
  opt.use_initial_states = true;
  qopt::simulated_annealing(view(m, csr), opt, states.data(), energies.data());
  CHECK(states == initial);
  for (std::size_t k = 0; k < 5; ++k) CHECK_NEAR(energies[k], m.energy(&states[k * 8]), 1e-12 * m.scale());
}

QOPT_TEST("anneal stops at once when the interrupt flag is already set") {
  const Model m = qopt_test::random_model(10, 0.5, 8);
  const auto csr = qopt_test::to_csr<std::int32_t>(m);
  const auto betas = geometric(0.1, 10.0, 100000);
  std::atomic<bool> interrupt{true};
  qopt::AnnealOptions opt;
  opt.num_reads = 64;
  opt.betas = betas.data();
  opt.num_sweeps = static_cast<std::int64_t>(betas.size());
  opt.interrupt = &interrupt;
  std::vector<std::int8_t> states(64 * 10);
  std::vector<double> energies(64);
  const auto stats = qopt::simulated_annealing(view(m, csr), opt, states.data(), energies.data());
  CHECK(stats.stopped_early);
  CHECK(stats.interrupted);
  CHECK(stats.num_started < 64);
  for (std::int64_t k = 0; k < stats.num_started; ++k)
    CHECK_NEAR(energies[static_cast<std::size_t>(k)], m.energy(&states[static_cast<std::size_t>(k * 10)]), 1e-12 * m.scale());
}

QOPT_TEST("anneal and validate_csr reject bad input") {
  const Model m = qopt_test::random_model(5, 0.5, 2);
  auto csr = qopt_test::to_csr<std::int32_t>(m);
  std::vector<std::int8_t> states(5);
  std::vector<double> energies(1);
  const std::vector<double> betas = {1.0, -1.0};
  qopt::AnnealOptions opt;
  opt.num_reads = -1;
  CHECK_THROWS(qopt::simulated_annealing(view(m, csr), opt, states.data(), energies.data()), std::invalid_argument);
  opt.num_reads = 1;
  opt.num_sweeps = 2;  // betas missing
  CHECK_THROWS(qopt::simulated_annealing(view(m, csr), opt, states.data(), energies.data()), std::invalid_argument);
  opt.betas = betas.data();  // a negative beta
  CHECK_THROWS(qopt::simulated_annealing(view(m, csr), opt, states.data(), energies.data()), std::invalid_argument);
  opt.num_sweeps = 0;
  opt.use_initial_states = true;  // states hold 0, not +-1
  std::fill(states.begin(), states.end(), std::int8_t(0));
  CHECK_THROWS(qopt::simulated_annealing(view(m, csr), opt, states.data(), energies.data()), std::invalid_argument);

  qopt::validate_csr(view(m, csr));
  int row = 0;
  while (row < m.n && csr.ptr[static_cast<std::size_t>(row) + 1] == csr.ptr[static_cast<std::size_t>(row)]) ++row;
  REQUIRE(row < m.n);
  const auto k = static_cast<std::size_t>(csr.ptr[static_cast<std::size_t>(row)]);
  csr.col[k] = 99;  // out of range
  CHECK_THROWS(qopt::validate_csr(view(m, csr)), std::invalid_argument);
  csr.col[k] = row;  // a self-loop
  CHECK_THROWS(qopt::validate_csr(view(m, csr)), std::invalid_argument);
}

QOPT_TEST_MAIN()

QOPT_TEST("anneal progress: calls while running, non-increasing energies of real states, ending at the best") {
  const Model m = qopt_test::random_model(14, 0.5, 41);
  const auto csr = qopt_test::to_csr<std::int32_t>(m);
  std::vector<double> table(std::size_t(1) << m.n);  // every state's energy, recomputed here
  for (std::uint64_t k = 0; k < table.size(); ++k) table[k] = m.energy(qopt_test::state_of(m.n, k));
  std::sort(table.begin(), table.end());
  const auto betas = geometric(0.05, 5.0, 40000);
  for (auto kernel : kKernels)
    for (int threads : {1, 2}) {
      qopt::AnnealOptions opt;
      opt.num_reads = 64;
      opt.betas = betas.data();
      opt.num_sweeps = static_cast<std::int64_t>(betas.size());
      opt.seed = 17;
      opt.num_threads = threads;
      opt.kernel = kernel;
      opt.progress_interval = 1e-3;
      std::vector<qopt::AnnealProgress> calls;
      std::atomic<int> inside{0};
      bool overlapped = false;
      opt.progress = [&](const qopt::AnnealProgress& p) {
        overlapped = overlapped || inside.fetch_add(1) != 0;
        calls.push_back(p);
        inside.fetch_sub(1);
      };
      std::vector<std::int8_t> states(static_cast<std::size_t>(64 * m.n));
      std::vector<double> energies(64);
      const auto stats = qopt::simulated_annealing(view(m, csr), opt, states.data(), energies.data());
      REQUIRE(!calls.empty());
      CHECK(!overlapped);
      CHECK(!calls.front().final);  // the first call came while the reads were running
      double returned_best = energies[0];
      for (double e : energies) returned_best = std::min(returned_best, e);
      for (std::size_t k = 0; k < calls.size(); ++k) {
        const double e = calls[k].best_energy;
        const auto it = std::lower_bound(table.begin(), table.end(), e - 1e-9 * m.scale());
        CHECK(it != table.end() && std::fabs(*it - e) <= 1e-9 * m.scale());  // the energy of a state
        if (k > 0) {
          CHECK(e < calls[k - 1].best_energy);  // only improvements are reported
          CHECK(calls[k].elapsed >= calls[k - 1].elapsed);
        }
        CHECK(calls[k].sweep >= 0 && calls[k].sweep <= opt.num_sweeps);
        if (calls[k].final) CHECK(k + 1 == calls.size() && calls[k].sweep == stats.sweeps_done_min);
      }
      CHECK_NEAR(calls.back().best_energy, returned_best, 1e-12 * m.scale());
      CHECK_NEAR(returned_best, table.front(), 1e-9 * m.scale());  // the ground state was found
    }
}

QOPT_TEST("anneal progress: a throwing callback stops the run and is rethrown") {
  const Model m = qopt_test::random_model(12, 0.5, 5);
  const auto csr = qopt_test::to_csr<std::int32_t>(m);
  const auto betas = geometric(0.1, 10.0, 2000000);  // seconds unless stopped
  qopt::AnnealOptions opt;
  opt.num_reads = 16;
  opt.betas = betas.data();
  opt.num_sweeps = static_cast<std::int64_t>(betas.size());
  opt.progress_interval = 1e-3;
  int calls = 0;
  opt.progress = [&](const qopt::AnnealProgress&) {
    ++calls;
    throw std::runtime_error("stop");
  };
  std::vector<std::int8_t> states(static_cast<std::size_t>(16 * m.n));
  std::vector<double> energies(16);
  CHECK_THROWS(qopt::simulated_annealing(view(m, csr), opt, states.data(), energies.data()), std::runtime_error);
  CHECK_EQ(calls, 1);
  opt.progress_interval = 0.0;
  CHECK_THROWS(qopt::simulated_annealing(view(m, csr), opt, states.data(), energies.data()), std::invalid_argument);
}
