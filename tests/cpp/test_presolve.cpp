// Presolve kernels (qopt/presolve.hpp) against brute force: forced-sign fixings agree with
// every optimum, and the SDP (mixing method) multipliers give a bound below the optimum.
#include <cmath>
#include <cstdint>
#include <stdexcept>
#include <vector>

#include "check.hpp"
#include "models.hpp"
#include "qopt/presolve.hpp"

using qopt_test::Model;
namespace ps = qopt::presolve;

namespace {

ps::ForcedFixResult fix(const Model& m, bool strict) {
  const auto c = qopt_test::to_csr<std::int64_t>(m);
  return ps::forced_sign_fixing(m.n, m.h.data(), c.ptr.data(), c.col.data(), c.val.data(), strict);
}

// Random models where some fields dominate their couplings (hscale 3), so spins get fixed.
Model fixable(int n, std::uint64_t seed, bool integral = false) {
  Model m = qopt_test::random_model(n, 0.4, seed, 3.0, integral);
  if (integral)
    for (std::size_t i = 0; i < m.h.size(); i += 3) m.h[i] *= 3;
  return m;
}

// Smallest eigenvalue of a symmetric matrix (cyclic Jacobi; n is small here).
double lambda_min(std::vector<double> a, int n) {
  auto at = [&](int i, int j) -> double& { return a[static_cast<std::size_t>(i * n + j)]; };
  for (int sweep = 0; sweep < 100; ++sweep) {
    double off = 0.0;
    for (int i = 0; i < n; ++i)
      for (int j = i + 1; j < n; ++j) off += at(i, j) * at(i, j);
    if (off < 1e-30) break;
    for (int p = 0; p < n; ++p)
      for (int q = p + 1; q < n; ++q) {
        if (std::fabs(at(p, q)) < 1e-300) continue;
        const double theta = (at(q, q) - at(p, p)) / (2.0 * at(p, q));
        const double t = (theta >= 0 ? 1.0 : -1.0) / (std::fabs(theta) + std::sqrt(theta * theta + 1.0));
        const double c = 1.0 / std::sqrt(t * t + 1.0), s = t * c;
        for (int k = 0; k < n; ++k) {  // columns p, q
          const double akp = at(k, p), akq = at(k, q);
          at(k, p) = c * akp - s * akq;
          at(k, q) = s * akp + c * akq;
        }
        for (int k = 0; k < n; ++k) {  // rows p, q
          const double apk = at(p, k), aqk = at(q, k);
          at(p, k) = c * apk - s * aqk;
          at(q, k) = s * apk + c * aqk;
        }
      }
  }
  double lo = at(0, 0);
  for (int i = 1; i < n; ++i) lo = std::min(lo, at(i, i));
  return lo;
}

// The model with h folded in through an extra spin s_n (E unchanged under a global flip).
Model homogenise(const Model& m) {
  Model a;
  a.n = m.n + 1;
  a.h.assign(static_cast<std::size_t>(a.n), 0.0);
  a.edges = m.edges;
  a.offset = m.offset;
  for (int i = 0; i < m.n; ++i)
    if (m.h[static_cast<std::size_t>(i)] != 0.0) a.edges.push_back({i, m.n, m.h[static_cast<std::size_t>(i)]});
  return a;
}

struct Bound {
  double value;       // offset + (sum(y) + N lambda_min(A - diag y)) / 2: valid for any y
  double estimate;    // offset + primal / 2
  double lambda;      // lambda_min(A - diag y)
  double sum_y;
  ps::MixingResult mix;
};

Bound sdp_bound(const Model& m, std::uint64_t seed) {
  const Model a = homogenise(m);
  const auto c = qopt_test::to_csr<std::int64_t>(a);
  const int N = a.n;
  const auto rank = static_cast<ps::index_type>(std::ceil(std::sqrt(2.0 * N)) + 1);
  Bound b;
  b.mix = ps::sdp_mixing(N, c.ptr.data(), c.col.data(), c.val.data(), rank, 5000, 1e-12, 0.0, seed);
  std::vector<double> M(static_cast<std::size_t>(N * N), 0.0);
  for (const auto& e : a.edges) {
    M[static_cast<std::size_t>(e.i * N + e.j)] = e.J;
    M[static_cast<std::size_t>(e.j * N + e.i)] = e.J;
  }
  b.sum_y = 0.0;
  for (int i = 0; i < N; ++i) {
    M[static_cast<std::size_t>(i * N + i)] = -b.mix.y[static_cast<std::size_t>(i)];
    b.sum_y += b.mix.y[static_cast<std::size_t>(i)];
  }
  b.lambda = lambda_min(M, N);
  b.value = m.offset + 0.5 * (b.sum_y + N * b.lambda);
  b.estimate = m.offset + 0.5 * b.mix.primal;
  return b;
}

}  // namespace

QOPT_TEST("forced-sign fixings agree with every brute-force optimum (strict)") {
  int total_fixed = 0;
  for (std::uint64_t seed = 1; seed <= 12; ++seed) {
    const Model m = fixable(10, seed, seed % 2 == 0);
    const auto r = fix(m, true);
    const auto bf = qopt_test::brute_force(m);
    for (int i = 0; i < m.n; ++i) {
      const std::int8_t v = r.fixed[static_cast<std::size_t>(i)];
      if (v == 0) continue;
      ++total_fixed;
      for (const auto& opt : bf.optima) CHECK_EQ(int(opt[static_cast<std::size_t>(i)]), int(v));
    }
  }
  CHECK(total_fixed > 10);  // the models do exercise the rule
}

QOPT_TEST("non-strict fixings keep at least one optimum") {
  for (std::uint64_t seed = 20; seed <= 31; ++seed) {
    const Model m = fixable(9, seed, /*integral=*/true);  // integer biases: ties |h_i| == mass
    const auto r = fix(m, false);
    const auto bf = qopt_test::brute_force(m);
    bool kept = false;
    for (const auto& opt : bf.optima) {
      bool agrees = true;
      for (int i = 0; i < m.n; ++i) {
        const std::int8_t v = r.fixed[static_cast<std::size_t>(i)];
        agrees = agrees && (v == 0 || v == opt[static_cast<std::size_t>(i)]);
      }
      kept = kept || agrees;
    }
    CHECK(kept);
  }
}

QOPT_TEST("the reduced model plus offset_delta is the energy with the fixings applied") {
  for (std::uint64_t seed = 40; seed <= 47; ++seed) {
    const Model m = fixable(10, seed);
    const auto r = fix(m, true);
    REQUIRE(r.fixed.size() == 10u && r.h.size() == 10u);
    // order lists each fixed spin once.
    std::vector<int> seen(10, 0);
    for (auto i : r.order) ++seen[static_cast<std::size_t>(i)];
    for (int i = 0; i < m.n; ++i) CHECK_EQ(seen[static_cast<std::size_t>(i)], r.fixed[static_cast<std::size_t>(i)] != 0 ? 1 : 0);
    // Reduced model: h' on the free spins, the couplings among free spins.
    Model red;
    red.n = m.n;
    red.h = r.h;
    red.offset = m.offset + r.offset_delta;
    for (const auto& e : m.edges)
      if (r.fixed[static_cast<std::size_t>(e.i)] == 0 && r.fixed[static_cast<std::size_t>(e.j)] == 0) red.edges.push_back(e);
    for (std::uint64_t k = 0; k < (1u << m.n); ++k) {
      auto s = qopt_test::state_of(m.n, k);
      for (int i = 0; i < m.n; ++i)
        if (r.fixed[static_cast<std::size_t>(i)] != 0) s[static_cast<std::size_t>(i)] = r.fixed[static_cast<std::size_t>(i)];
      CHECK_NEAR(red.energy(s), m.energy(s), 1e-12 * m.scale());
    }
  }
}

QOPT_TEST("strict and non-strict differ exactly on a tie") {
  // E = s0 + s0 s1 (minimum -2 at s = (-1, +1)): |h0| = |J01| ties, so only the
  // non-strict rule fixes s0 (to -sign(h0) = -1).
  Model m;
  m.n = 2;
  m.h = {1.0, 0.0};
  m.edges = {{0, 1, 1.0}};
  const auto strict = fix(m, true);
  CHECK_EQ(int(strict.fixed[0]), 0);
  CHECK_EQ(int(strict.fixed[1]), 0);
  const auto loose = fix(m, false);
  CHECK_EQ(int(loose.fixed[0]), -1);
  const auto bf = qopt_test::brute_force(m);
  CHECK_NEAR(bf.min_energy, -2.0, 1e-15);
}

QOPT_TEST("forced_sign_fixing rejects bad input") {
  const Model m = fixable(4, 3);
  auto c = qopt_test::to_csr<std::int64_t>(m);
  std::vector<double> h = m.h;
  h[1] = std::nan("");
  CHECK_THROWS(ps::forced_sign_fixing(4, h.data(), c.ptr.data(), c.col.data(), c.val.data(), true), std::invalid_argument);
  CHECK_THROWS(ps::forced_sign_fixing(-1, m.h.data(), c.ptr.data(), c.col.data(), c.val.data(), true), std::invalid_argument);
  REQUIRE(!c.col.empty());
  c.col[0] = 7;
  CHECK_THROWS(ps::forced_sign_fixing(4, m.h.data(), c.ptr.data(), c.col.data(), c.val.data(), true), std::out_of_range);
}

QOPT_TEST("SDP mixing: the certified bound is <= the brute-force optimum, and tight enough") {
  for (std::uint64_t seed = 1; seed <= 8; ++seed) {
    const Model m = qopt_test::random_model(10, 0.6, 300 + seed);
    const double opt = qopt_test::brute_force(m).min_energy;
    const Bound b = sdp_bound(m, seed);
    CHECK_NEAR(b.mix.primal, b.sum_y, 1e-9 * m.scale());  // primal = <A, VV^T> = sum_i v_i . g_i
    CHECK(b.mix.iterations > 0);
    CHECK_LE(b.value, opt, 1e-9 * m.scale());
    // Converged: A - diag(y) is PSD up to a small residual, so the estimate is a near-bound.
    CHECK(b.lambda > -1e-4 * m.scale());
    CHECK_LE(b.estimate, opt, 1e-3 * m.scale());
    CHECK_NEAR(b.value, b.estimate, 1e-3 * m.scale());
  }
}

QOPT_TEST("SDP mixing is exact on an unfrustrated model, and seeded") {
  // Ferromagnetic chain with a field: no frustration, the SDP optimum is the ground state.
  Model m;
  m.n = 9;
  m.h.assign(9, -0.5);
  for (int i = 0; i + 1 < m.n; ++i) m.edges.push_back({i, i + 1, -1.0 - 0.1 * i});
  const double opt = qopt_test::brute_force(m).min_energy;
  const Bound b = sdp_bound(m, 5);
  CHECK_NEAR(b.value, opt, 1e-5 * m.scale());
  CHECK_LE(b.value, opt, 1e-9 * m.scale());
  const Bound again = sdp_bound(m, 5);
  CHECK(again.mix.y == b.mix.y);
  CHECK_EQ(again.mix.iterations, b.mix.iterations);
}

QOPT_TEST("sdp_mixing rejects bad options") {
  const Model m = qopt_test::random_model(5, 0.5, 1);
  const auto c = qopt_test::to_csr<std::int64_t>(m);
  CHECK_THROWS(ps::sdp_mixing(5, c.ptr.data(), c.col.data(), c.val.data(), 0, 10, 1e-6, 0.0, 1), std::invalid_argument);
  CHECK_THROWS(ps::sdp_mixing(5, c.ptr.data(), c.col.data(), c.val.data(), 2, -1, 1e-6, 0.0, 1), std::invalid_argument);
  CHECK_THROWS(ps::sdp_mixing(5, c.ptr.data(), c.col.data(), c.val.data(), 2, 10, -1.0, 0.0, 1), std::invalid_argument);
}

QOPT_TEST_MAIN()
