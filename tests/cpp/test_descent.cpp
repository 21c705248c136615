// Steepest descent kernel (qopt/descent.hpp): ends in a 1-flip local minimum, reports the
// energy of the state it returns, and takes the same steps as a plain reference descent.
#include <cmath>
#include <cstdint>
#include <random>
#include <stdexcept>
#include <vector>

#include "check.hpp"
#include "models.hpp"
#include "qopt/descent.hpp"

using qopt_test::Model;

namespace {

qopt::IsingCSR view(const Model& m, const qopt_test::CSR<std::int32_t>& c) {
  qopt::IsingCSR v;
  v.num_variables = m.n;
  v.h = m.h.data();
  v.row_ptr = c.ptr.data();
  v.col = c.col.data();
  v.J = c.val.data();
  return v;
}

std::vector<std::int8_t> random_states(int n, std::int64_t count, std::uint64_t seed) {
  std::mt19937_64 gen(seed);
  std::vector<std::int8_t> s(static_cast<std::size_t>(n * count));
  for (auto& x : s) x = (gen() & 1) ? std::int8_t(1) : std::int8_t(-1);
  return s;
}

// Reference: recompute every flip energy from the edge list, flip the most negative one
// (smallest index on ties) while it is below -tol; returns the number of flips.
std::int64_t reference_descent(const Model& m, std::int8_t* s) {
  double tol_scale = 0.0;
  std::vector<double> row_mass(static_cast<std::size_t>(m.n), 0.0);
  for (const auto& e : m.edges) {
    row_mass[static_cast<std::size_t>(e.i)] += std::fabs(e.J);
    row_mass[static_cast<std::size_t>(e.j)] += std::fabs(e.J);
  }
  for (int i = 0; i < m.n; ++i)
    tol_scale = std::max(tol_scale, std::fabs(m.h[static_cast<std::size_t>(i)]) + row_mass[static_cast<std::size_t>(i)]);
  const double tol = 1e-12 * (1.0 + tol_scale);
  std::int64_t flips = 0;
  for (;;) {
    std::vector<double> field(m.h);
    for (const auto& e : m.edges) {
      field[static_cast<std::size_t>(e.i)] += e.J * s[e.j];
      field[static_cast<std::size_t>(e.j)] += e.J * s[e.i];
    }
    int best = -1;
    double best_de = -tol;
    for (int i = 0; i < m.n; ++i) {
      const double de = -2.0 * s[i] * field[static_cast<std::size_t>(i)];
      if (de < best_de) {
        best_de = de;
        best = i;
      }
    }
    if (best < 0) return flips;
    s[best] = static_cast<std::int8_t>(-s[best]);
    ++flips;
  }
}

void check_local_minimum(const Model& m, const std::int8_t* state, double energy) {
  std::vector<std::int8_t> s(state, state + m.n);
  const double e = m.energy(s);
  CHECK_NEAR(energy, e, 1e-12 * m.scale());
  for (int i = 0; i < m.n; ++i) {
    s[static_cast<std::size_t>(i)] = static_cast<std::int8_t>(-s[static_cast<std::size_t>(i)]);
    CHECK_LE(e, m.energy(s), 1e-11 * m.scale());
    s[static_cast<std::size_t>(i)] = static_cast<std::int8_t>(-s[static_cast<std::size_t>(i)]);
  }
}

// Dense small models use the scan; n >= 64 with nnz < n^2 / 16 uses the heap.
struct Case {
  int n;
  double density;
};
const Case kCases[] = {{10, 0.6}, {40, 0.3}, {200, 0.02}, {300, 0.01}};

}  // namespace

QOPT_TEST("descent ends in a local minimum, with the energy it reports") {
  std::uint64_t seed = 1;
  for (const Case& c : kCases) {
    const Model m = qopt_test::random_model(c.n, c.density, seed++);
    const auto csr = qopt_test::to_csr<std::int32_t>(m);
    const std::int64_t count = 20;
    auto states = random_states(m.n, count, seed++);
    const auto initial = states;
    std::vector<double> energies(count);
    std::vector<std::int64_t> flips(count);
    qopt::steepest_descent(view(m, csr), states.data(), count, energies.data(), flips.data(), 1);
    for (std::int64_t k = 0; k < count; ++k) {
      const std::size_t o = static_cast<std::size_t>(k * m.n);
      check_local_minimum(m, &states[o], energies[static_cast<std::size_t>(k)]);
      CHECK_LE(energies[static_cast<std::size_t>(k)], m.energy(&initial[o]), 1e-12 * m.scale());
      std::int64_t changed = 0;
      for (int i = 0; i < m.n; ++i) changed += states[o + static_cast<std::size_t>(i)] != initial[o + static_cast<std::size_t>(i)];
      CHECK(flips[static_cast<std::size_t>(k)] >= changed);
    }
  }
}

QOPT_TEST("descent takes the steps of the reference steepest descent (scan and heap)") {
  std::uint64_t seed = 50;
  for (const Case& c : kCases) {
    const Model m = qopt_test::random_model(c.n, c.density, seed++);
    const auto csr = qopt_test::to_csr<std::int32_t>(m);
    const std::int64_t count = 10;
    auto states = random_states(m.n, count, seed++);
    auto expected = states;
    std::vector<double> energies(count);
    std::vector<std::int64_t> flips(count);
    qopt::steepest_descent(view(m, csr), states.data(), count, energies.data(), flips.data(), 1);
    for (std::int64_t k = 0; k < count; ++k) {
      const std::size_t o = static_cast<std::size_t>(k * m.n);
      const std::int64_t ref_flips = reference_descent(m, &expected[o]);
      CHECK_EQ(flips[static_cast<std::size_t>(k)], ref_flips);
    }
    CHECK(states == expected);
  }
}

QOPT_TEST("steepest_descent_one, and threads give the same result") {
  const Model m = qopt_test::random_model(120, 0.03, 77);
  const auto csr = qopt_test::to_csr<std::int32_t>(m);
  const std::int64_t count = 33;
  const auto initial = random_states(m.n, count, 78);
  auto one = initial, threaded = initial;
  std::vector<double> field(static_cast<std::size_t>(m.n)), energies(count);
  std::vector<std::int64_t> flips(count);
  qopt::steepest_descent(view(m, csr), threaded.data(), count, energies.data(), flips.data(), 2);
  for (std::int64_t k = 0; k < count; ++k) {
    const std::size_t o = static_cast<std::size_t>(k * m.n);
    CHECK_EQ(qopt::steepest_descent_one(view(m, csr), &one[o], field.data()), flips[static_cast<std::size_t>(k)]);
  }
  CHECK(one == threaded);
  // A local minimum is a fixed point.
  auto again = threaded;
  qopt::steepest_descent(view(m, csr), again.data(), count, energies.data(), flips.data(), 1);
  CHECK(again == threaded);
  for (auto f : flips) CHECK_EQ(f, std::int64_t{0});
}

QOPT_TEST("descent without a flip counter, and bad input") {
  const Model m = qopt_test::random_model(8, 0.5, 5);
  const auto csr = qopt_test::to_csr<std::int32_t>(m);
  auto states = random_states(m.n, 3, 6);
  std::vector<double> energies(3);
  qopt::steepest_descent(view(m, csr), states.data(), 3, energies.data(), nullptr, 1);
  for (std::size_t k = 0; k < 3; ++k) check_local_minimum(m, &states[k * 8], energies[k]);
  CHECK_THROWS(qopt::steepest_descent(view(m, csr), states.data(), -1, energies.data(), nullptr, 1),
               std::invalid_argument);
  states[3] = 0;
  CHECK_THROWS(qopt::steepest_descent(view(m, csr), states.data(), 3, energies.data(), nullptr, 1),
               std::invalid_argument);
}

QOPT_TEST_MAIN()
