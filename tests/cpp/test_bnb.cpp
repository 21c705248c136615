// Branch and bound (qopt/bnb.hpp) against brute force: the minimum and the k lowest
// energies of random models, valid dual bounds when stopped early, incumbents, bad input.
#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdint>
#include <random>
#include <stdexcept>
#include <vector>

#include "check.hpp"
#include "models.hpp"
#include "qopt/bnb.hpp"

namespace {

struct Qubo {
  int n = 0;
  std::vector<double> c, Q;  // Q: n x n symmetric, zero diagonal
  double offset = 0.0;
  qopt::QuboDense view() const {
    qopt::QuboDense m;
    m.num_variables = n;
    m.linear = c.data();
    m.quadratic = Q.data();
    m.offset = offset;
    return m;
  }
  // energy from the upper triangle, written independently of qopt::qubo_energy
  double energy(std::uint64_t bits) const {
    double e = offset;
    for (int i = 0; i < n; ++i) {
      if (!((bits >> i) & 1U)) continue;
      e += c[static_cast<std::size_t>(i)];
      for (int j = i + 1; j < n; ++j)
        if ((bits >> j) & 1U) e += Q[static_cast<std::size_t>(i * n + j)];
    }
    return e;
  }
};

// The binary form (s = 2x - 1) of qopt_test::random_model: c_i = 2 h_i - 2 sum_j J_ij,
// Q_ij = 4 J_ij, offset - sum h + sum J. Biases integral in [-3, 3] when asked (many ties).
Qubo random_qubo(int n, double density, std::uint64_t seed, bool integral = false, double hscale = 1.0) {
  const qopt_test::Model m = qopt_test::random_model(n, density, seed, hscale, integral);
  Qubo q;
  q.n = n;
  q.offset = m.offset;
  q.c.resize(static_cast<std::size_t>(n));
  q.Q.assign(static_cast<std::size_t>(n * n), 0.0);
  for (int i = 0; i < n; ++i) {
    q.c[static_cast<std::size_t>(i)] = 2.0 * m.h[static_cast<std::size_t>(i)];
    q.offset -= m.h[static_cast<std::size_t>(i)];
  }
  for (const qopt_test::Edge& e : m.edges) {
    q.Q[static_cast<std::size_t>(e.i * n + e.j)] = q.Q[static_cast<std::size_t>(e.j * n + e.i)] = 4.0 * e.J;
    q.c[static_cast<std::size_t>(e.i)] -= 2.0 * e.J;
    q.c[static_cast<std::size_t>(e.j)] -= 2.0 * e.J;
    q.offset += e.J;
  }
  return q;
}

std::vector<double> sorted_energies(const Qubo& q) {
  std::vector<double> e(std::size_t{1} << q.n);
  for (std::uint64_t b = 0; b < e.size(); ++b) e[b] = q.energy(b);
  std::sort(e.begin(), e.end());
  return e;
}

std::uint64_t bits_of(const std::int8_t* s, int n) {
  std::uint64_t b = 0;
  for (int i = 0; i < n; ++i)
    if (s[i]) b |= std::uint64_t{1} << i;
  return b;
}

}  // namespace

QOPT_TEST("minimum matches brute force on random models, dense and sparse, ties") {
  for (int n : {1, 2, 5, 9, 13, 16}) {
    for (double density : {0.2, 1.0}) {
      for (bool integral : {false, true}) {
        for (std::uint64_t seed = 1; seed <= 4; ++seed) {
          const Qubo q = random_qubo(n, density, seed * 31 + static_cast<std::uint64_t>(n), integral);
          const auto ref = sorted_energies(q);
          const double spin_min = qopt_test::brute_force(
              qopt_test::random_model(n, density, seed * 31 + static_cast<std::uint64_t>(n), 1.0, integral)).min_energy;
          CHECK_NEAR(ref[0], spin_min, 1e-9);  // the binary form is the same model
          const qopt::BnbResult r = qopt::branch_and_bound(q.view(), {});
          REQUIRE(r.energies.size() == 1);
          CHECK(r.status == qopt::BnbStatus::optimal);
          CHECK_NEAR(r.energies[0], ref[0], 1e-9);
          CHECK_NEAR(q.energy(bits_of(r.states.data(), n)), r.energies[0], 1e-9);
          CHECK_NEAR(r.dual_bound, r.energies[0], 0.0);
        }
      }
    }
  }
}

QOPT_TEST("the k lowest energies match brute force, distinct states") {
  for (int n : {4, 10, 14}) {
    for (std::uint64_t seed = 1; seed <= 3; ++seed) {
      const Qubo q = random_qubo(n, 0.6, seed + 100, seed == 2);
      const auto ref = sorted_energies(q);
      qopt::BnbOptions opt;
      opt.num_best = 7;
      const qopt::BnbResult r = qopt::branch_and_bound(q.view(), opt);
      REQUIRE(r.energies.size() == 7);
      std::vector<std::uint64_t> seen;
      for (std::size_t i = 0; i < 7; ++i) {
        CHECK_NEAR(r.energies[i], ref[i], 1e-9);
        const std::uint64_t b = bits_of(r.states.data() + i * static_cast<std::size_t>(n), n);
        CHECK_NEAR(q.energy(b), r.energies[i], 1e-9);
        CHECK(std::find(seen.begin(), seen.end(), b) == seen.end());
        seen.push_back(b);
      }
    }
  }
}

QOPT_TEST("models without Ising fields (E(x) == E(1 - x)): minimum and k best match brute force") {
  for (int n : {2, 7, 12, 15}) {
    for (std::uint64_t seed = 1; seed <= 3; ++seed) {
      const Qubo q = random_qubo(n, 0.7, seed + 500, seed == 3, 0.0);
      const auto ref = sorted_energies(q);
      qopt::BnbOptions opt;
      opt.num_best = std::min<std::int64_t>(5, std::int64_t{1} << n);
      const qopt::BnbResult r = qopt::branch_and_bound(q.view(), opt);
      REQUIRE(static_cast<std::int64_t>(r.energies.size()) == opt.num_best);
      for (std::size_t i = 0; i < r.energies.size(); ++i) {
        CHECK_NEAR(r.energies[i], ref[i], 1e-9);
        CHECK_NEAR(q.energy(bits_of(r.states.data() + i * static_cast<std::size_t>(n), n)), r.energies[i], 1e-9);
      }
    }
  }
}

QOPT_TEST("more states asked than exist: all 2^n, sorted") {
  const Qubo q = random_qubo(3, 1.0, 5);
  qopt::BnbOptions opt;
  opt.num_best = 100;
  const qopt::BnbResult r = qopt::branch_and_bound(q.view(), opt);
  REQUIRE(r.energies.size() == 8);
  const auto ref = sorted_energies(q);
  for (std::size_t i = 0; i < 8; ++i) CHECK_NEAR(r.energies[i], ref[i], 1e-12);
}

QOPT_TEST("an optimal initial state still gives the optimum; a bad one does no harm") {
  const Qubo q = random_qubo(15, 0.8, 77);
  const auto ref = sorted_energies(q);
  const qopt::BnbResult plain = qopt::branch_and_bound(q.view(), {});
  std::vector<std::int8_t> init(plain.states);
  init.resize(init.size() * 2, 0);  // the optimum, then all zeros
  qopt::BnbOptions opt;
  opt.initial_states = init.data();
  opt.num_initial = 2;
  const qopt::BnbResult r = qopt::branch_and_bound(q.view(), opt);
  CHECK_NEAR(r.energies[0], ref[0], 1e-9);
  CHECK(r.num_nodes <= plain.num_nodes);
}

QOPT_TEST("a run stopped early returns a dual bound at or below the optimum") {
  // 40 dense variables: far more than 4096 nodes, so a 1 ms limit stops it (22 may finish)
  const Qubo q = random_qubo(40, 1.0, 9);
  const Qubo small = random_qubo(22, 1.0, 9);
  const auto ref = sorted_energies(small);
  for (const Qubo* m : {&q, &small}) {
    qopt::BnbOptions opt;
    opt.time_limit = 1e-3;
    const qopt::BnbResult r = qopt::branch_and_bound(m->view(), opt);
    if (m == &q) CHECK(r.status == qopt::BnbStatus::time_limit);
    REQUIRE(!r.energies.empty());
    CHECK_LE(r.dual_bound, r.energies[0], 0.0);
    if (m == &small) CHECK_LE(r.dual_bound, ref[0], 1e-9);
  }
  const qopt::BnbResult full = qopt::branch_and_bound(small.view(), {});
  CHECK_NEAR(full.energies[0], ref[0], 1e-9);
}

QOPT_TEST("the interrupt flag stops the search") {
  const Qubo q = random_qubo(48, 1.0, 3);
  std::atomic<bool> flag{true};
  qopt::BnbOptions opt;
  opt.interrupt = &flag;
  const qopt::BnbResult r = qopt::branch_and_bound(q.view(), opt);
  CHECK(r.status == qopt::BnbStatus::interrupted);
  CHECK(r.num_nodes <= 4096);
  CHECK(std::isfinite(r.dual_bound));
}

QOPT_TEST("an empty model has the offset as its energy") {
  Qubo q;
  q.offset = 2.5;
  const qopt::BnbResult r = qopt::branch_and_bound(q.view(), {});
  REQUIRE(r.energies.size() == 1);
  CHECK_NEAR(r.energies[0], 2.5, 0.0);
  CHECK(r.status == qopt::BnbStatus::optimal);
}

QOPT_TEST("bad input throws invalid_argument") {
  Qubo q = random_qubo(4, 1.0, 1);
  q.Q[1] += 1.0;  // not symmetric
  CHECK_THROWS(qopt::branch_and_bound(q.view(), {}), std::invalid_argument);
  q = random_qubo(4, 1.0, 1);
  q.Q[0] = 1.0;  // diagonal
  CHECK_THROWS(qopt::branch_and_bound(q.view(), {}), std::invalid_argument);
  q = random_qubo(4, 1.0, 1);
  qopt::BnbOptions opt;
  opt.num_best = 0;
  CHECK_THROWS(qopt::branch_and_bound(q.view(), opt), std::invalid_argument);
  std::vector<std::int8_t> init(4, 2);
  opt.num_best = 1;
  opt.initial_states = init.data();
  opt.num_initial = 1;
  CHECK_THROWS(qopt::branch_and_bound(q.view(), opt), std::invalid_argument);
  q = random_qubo(65, 0.1, 1);
  CHECK_THROWS(qopt::branch_and_bound(q.view(), {}), std::invalid_argument);
}

QOPT_TEST_MAIN()
