// QAOA statevector engine (qopt/statevector.hpp) against a plain dense statevector
// simulation written here: cost vector, amplitudes, probabilities, expectation, gradient
// (vs finite differences) and seeded sampling.
#include <cmath>
#include <complex>
#include <cstdint>
#include <random>
#include <stdexcept>
#include <vector>

#include "check.hpp"
#include "qopt/statevector.hpp"

namespace {

using cplx = std::complex<double>;

// C(b) = offset + sum_i lin[i] b_i + sum_e quad[e] b_u[e] b_v[e]
struct Pubo {
  int n = 0;
  std::vector<double> lin;
  std::vector<std::int32_t> u, v;
  std::vector<double> quad;
  double offset = 0.0;

  double cost(std::uint64_t k) const {
    double c = offset;
    for (int i = 0; i < n; ++i)
      if ((k >> i) & 1) c += lin[static_cast<std::size_t>(i)];
    for (std::size_t e = 0; e < quad.size(); ++e)
      if (((k >> u[e]) & 1) && ((k >> v[e]) & 1)) c += quad[e];
    return c;
  }
  std::size_t dim() const { return std::size_t{1} << n; }
  qopt::QAOAEvaluator evaluator(int num_threads = 1) const {
    return qopt::QAOAEvaluator(n, lin.data(), static_cast<std::int64_t>(quad.size()), u.data(), v.data(), quad.data(),
                               offset, num_threads, std::size_t{1} << 33);
  }
};

// Coefficients: real in (-1, 1), or integers in [-imax, imax] when imax > 0. Adds a repeated
// pair and a pair given as (larger, smaller), which the engine must sum like any other.
Pubo random_pubo(int n, std::uint64_t seed, int imax = 0, double density = 0.6) {
  std::mt19937_64 gen(seed);
  std::uniform_real_distribution<double> ur(-1.0, 1.0);
  std::uniform_int_distribution<int> ui(-imax, imax);
  std::bernoulli_distribution coin(density);
  auto draw = [&]() { return imax > 0 ? double(ui(gen)) : ur(gen); };
  Pubo p;
  p.n = n;
  p.offset = imax > 0 ? 3.0 : 0.25;
  for (int i = 0; i < n; ++i) p.lin.push_back(draw());
  for (int i = 0; i < n; ++i)
    for (int j = i + 1; j < n; ++j)
      if (coin(gen)) {
        p.u.push_back(i);
        p.v.push_back(j);
        p.quad.push_back(draw());
      }
  if (n >= 2) {
    p.u.push_back(1);
    p.v.push_back(0);
    p.quad.push_back(draw());
    p.u.push_back(0);
    p.v.push_back(1);
    p.quad.push_back(draw());
  }
  return p;
}

// Reference QAOA state: |+>^n, then per layer e^{-i gamma C} and e^{-i beta X} on every qubit.
std::vector<cplx> reference_state(const Pubo& p, const std::vector<double>& gamma, const std::vector<double>& beta) {
  const std::size_t N = p.dim();
  std::vector<double> cost(N);
  for (std::size_t k = 0; k < N; ++k) cost[k] = p.cost(k);
  std::vector<cplx> a(N, cplx(1.0 / std::sqrt(double(N)), 0.0));
  for (std::size_t l = 0; l < gamma.size(); ++l) {
    for (std::size_t k = 0; k < N; ++k) a[k] *= std::polar(1.0, -gamma[l] * cost[k]);
    const double c = std::cos(beta[l]), s = std::sin(beta[l]);
    for (int q = 0; q < p.n; ++q) {
      const std::size_t bit = std::size_t{1} << q;
      for (std::size_t k = 0; k < N; ++k) {
        if (k & bit) continue;
        const cplx a0 = a[k], a1 = a[k | bit];
        a[k] = c * a0 + cplx(0.0, -s) * a1;
        a[k | bit] = cplx(0.0, -s) * a0 + c * a1;
      }
    }
  }
  return a;
}

double reference_expectation(const Pubo& p, const std::vector<double>& gamma, const std::vector<double>& beta) {
  const auto a = reference_state(p, gamma, beta);
  double e = 0.0;
  for (std::size_t k = 0; k < a.size(); ++k) e += std::norm(a[k]) * p.cost(k);
  return e;
}

double scale_of(const Pubo& p) {
  double s = 1.0 + std::fabs(p.offset);
  for (double x : p.lin) s += std::fabs(x);
  for (double x : p.quad) s += std::fabs(x);
  return s;
}

struct Angles {
  std::vector<double> gamma, beta;
};

Angles random_angles(int reps, std::uint64_t seed, double gmax = 1.0) {
  std::mt19937_64 gen(seed);
  std::uniform_real_distribution<double> g(-gmax, gmax), b(-1.5, 1.5);
  Angles a;
  for (int l = 0; l < reps; ++l) {
    a.gamma.push_back(g(gen));
    a.beta.push_back(b(gen));
  }
  return a;
}

enum class Costs { real, int8, int16 };
struct Case {
  int n;
  Costs costs;
};
// n <= 6: the low-bit block path only; n = 18: strided passes over the 2 high bits too.
const Case kCases[] = {{1, Costs::real},  {3, Costs::int8},   {5, Costs::real},  {6, Costs::int8},
                       {6, Costs::int16}, {6, Costs::real},   {18, Costs::real}, {18, Costs::int8}};

Pubo make(const Case& c, std::uint64_t seed) {
  const int imax = c.costs == Costs::real ? 0 : (c.costs == Costs::int8 ? 2 : 60);
  return random_pubo(c.n, seed, imax, c.n > 10 ? 0.15 : 0.6);
}

}  // namespace

QOPT_TEST("cost vector equals C(b) for every basis index") {
  std::uint64_t seed = 1;
  for (const Case& c : kCases) {
    const Pubo p = make(c, seed++);
    std::vector<double> free_fn(p.dim()), cached(p.dim());
    qopt::qaoa_cost_vector(p.n, p.lin.data(), static_cast<std::int64_t>(p.quad.size()), p.u.data(), p.v.data(),
                           p.quad.data(), p.offset, free_fn.data(), 2);
    auto ev = p.evaluator(2);
    ev.cost_vector(cached.data());
    CHECK_EQ(ev.num_qubits(), p.n);
    CHECK_EQ(ev.dimension(), p.dim());
    // Compact when every coefficient is an integer multiple of one step (n = 1: trivially).
    if (c.n > 1) CHECK_EQ(ev.compact_costs(), c.costs != Costs::real);
    if (c.costs == Costs::int16) CHECK(ev.table_size() > 256);
    if (c.costs == Costs::int8) CHECK(ev.table_size() <= 256);
    for (std::size_t k = 0; k < p.dim(); ++k) {
      CHECK_NEAR(free_fn[k], p.cost(k), 1e-12 * scale_of(p));
      CHECK_NEAR(cached[k], p.cost(k), 1e-12 * scale_of(p));
    }
  }
}

QOPT_TEST("amplitudes, probabilities and expectation agree with the dense reference") {
  std::uint64_t seed = 10;
  for (const Case& c : kCases) {
    const Pubo p = make(c, seed++);
    const double tol = 1e-10 * scale_of(p);
    for (int reps : {1, 2, 3}) {
      const Angles ang = random_angles(reps, seed++);
      const auto ref = reference_state(p, ang.gamma, ang.beta);
      auto ev = p.evaluator(2);
      std::vector<cplx> amp(p.dim());
      std::vector<double> prob(p.dim());
      const double e_sv = ev.statevector(ang.gamma.data(), ang.beta.data(), reps, amp.data());
      const double e_pr = ev.probabilities(ang.gamma.data(), ang.beta.data(), reps, prob.data());
      const double e = ev.expectation(ang.gamma.data(), ang.beta.data(), reps);
      // The engine's amplitudes are the state up to a global sign (statevector.hpp).
      cplx overlap = 0.0;
      for (std::size_t k = 0; k < p.dim(); ++k) overlap += std::conj(ref[k]) * amp[k];
      const double sign = overlap.real() < 0 ? -1.0 : 1.0;
      CHECK_NEAR(overlap.real(), sign, 1e-10);
      CHECK_NEAR(overlap.imag(), 0.0, 1e-10);
      double norm = 0.0, psum = 0.0, e_ref = 0.0, amp_err = 0.0;
      for (std::size_t k = 0; k < p.dim(); ++k) {
        amp_err = std::max(amp_err, std::abs(amp[k] - sign * ref[k]));
        norm += std::norm(amp[k]);
        psum += prob[k];
        CHECK_NEAR(prob[k], std::norm(amp[k]), 1e-12);
        e_ref += std::norm(ref[k]) * p.cost(k);
      }
      CHECK_LE(amp_err, 0.0, 1e-10);
      CHECK_NEAR(norm, 1.0, 1e-10);
      CHECK_NEAR(psum, 1.0, 1e-10);
      double e_from_p = 0.0;
      for (std::size_t k = 0; k < p.dim(); ++k) e_from_p += prob[k] * p.cost(k);
      CHECK_NEAR(e, e_ref, tol);
      CHECK_NEAR(e, e_from_p, tol);
      CHECK_NEAR(e_sv, e, tol);
      CHECK_NEAR(e_pr, e, tol);
    }
  }
}

QOPT_TEST("gradient agrees with central finite differences") {
  std::uint64_t seed = 40;
  for (const Case& c : kCases) {
    const Pubo p = make(c, seed++);
    const int reps = 3;
    const Angles ang = random_angles(reps, seed++, 0.5);
    auto ev = p.evaluator(2);
    std::vector<double> dg(reps), db(reps);
    const double e = ev.gradient(ang.gamma.data(), ang.beta.data(), reps, dg.data(), db.data());
    CHECK_NEAR(e, ev.expectation(ang.gamma.data(), ang.beta.data(), reps), 1e-10 * scale_of(p));
    const double step = 1e-5;
    auto f = [&](Angles a) {
      return c.n <= 6 ? reference_expectation(p, a.gamma, a.beta) : ev.expectation(a.gamma.data(), a.beta.data(), reps);
    };
    for (int l = 0; l < reps; ++l) {
      Angles plus = ang, minus = ang;
      plus.gamma[static_cast<std::size_t>(l)] += step;
      minus.gamma[static_cast<std::size_t>(l)] -= step;
      const double fd_g = (f(plus) - f(minus)) / (2 * step);
      plus = ang;
      minus = ang;
      plus.beta[static_cast<std::size_t>(l)] += step;
      minus.beta[static_cast<std::size_t>(l)] -= step;
      const double fd_b = (f(plus) - f(minus)) / (2 * step);
      const double tol = 1e-6 * scale_of(p) * scale_of(p);
      CHECK_NEAR(dg[static_cast<std::size_t>(l)], fd_g, tol);
      CHECK_NEAR(db[static_cast<std::size_t>(l)], fd_b, tol);
    }
  }
}

QOPT_TEST("checkpointed gradient equals the two-state sweep (budget for two states only)") {
  std::uint64_t seed = 70;
  std::vector<Case> cases(std::begin(kCases), std::end(kCases));
  cases.push_back({17, Costs::int8});  // odd n: negative dropped factors change the sign
  cases.push_back({17, Costs::int16});
  for (const Case& c : cases) {
    const Pubo p = make(c, seed++);
    // With high bits (n > 16) the last pass is strided for odd reps and a block pass for even reps.
    const int reps = c.n > 16 && c.costs != Costs::real ? 4 : 3;
    Angles ang = random_angles(reps, seed++, 2.0);
    ang.beta[0] = 2.8;  // cos < 0 with |cos| > |sin|
    ang.beta[2] = -2.0;  // sin < 0 with |sin| > |cos|
    auto ck = p.evaluator(2);
    // Budget: the cost storage (as the evaluator holds it) plus the state and the adjoint state.
    const std::size_t budget = ck.allocated_bytes() + 32 * p.dim() + 64;
    qopt::QAOAEvaluator two(p.n, p.lin.data(), static_cast<std::int64_t>(p.quad.size()), p.u.data(), p.v.data(),
                            p.quad.data(), p.offset, 2, budget);
    std::vector<double> dg(reps), db(reps), dg2(reps), db2(reps);
    const double e = ck.gradient(ang.gamma.data(), ang.beta.data(), reps, dg.data(), db.data());
    const double e2 = two.gradient(ang.gamma.data(), ang.beta.data(), reps, dg2.data(), db2.data());
    CHECK(ck.allocated_bytes() > two.allocated_bytes());
    const double tol = 1e-12 * scale_of(p) * scale_of(p);
    CHECK_NEAR(e, e2, 1e-12 * scale_of(p));
    for (std::size_t l = 0; l < static_cast<std::size_t>(reps); ++l) {
      CHECK_NEAR(dg[l], dg2[l], tol);
      CHECK_NEAR(db[l], db2[l], tol);
    }
  }
}

QOPT_TEST("sampling: seeded, in range, and distributed as |psi|^2") {
  std::uint64_t seed = 70;
  for (const Case& c : kCases) {
    if (c.n > 6) continue;
    const Pubo p = make(c, seed++);
    const Angles ang = random_angles(2, seed++);
    auto ev = p.evaluator(1);
    const std::int64_t shots = 20000;
    std::vector<std::uint64_t> a(shots), b(shots), other(shots);
    const double e = ev.sample(ang.gamma.data(), ang.beta.data(), 2, shots, 123, a.data());
    ev.sample(ang.gamma.data(), ang.beta.data(), 2, shots, 123, b.data());
    ev.sample(ang.gamma.data(), ang.beta.data(), 2, shots, 124, other.data());
    CHECK(a == b);
    if (c.n > 1) CHECK(a != other);
    std::vector<double> prob(p.dim());
    ev.probabilities(ang.gamma.data(), ang.beta.data(), 2, prob.data());
    CHECK_NEAR(e, reference_expectation(p, ang.gamma, ang.beta), 1e-10 * scale_of(p));
    // Empirical mean of C and frequency of each basis state within 6 standard errors.
    std::vector<double> count(p.dim(), 0.0);
    double mean = 0.0;
    for (auto k : a) {
      REQUIRE(k < p.dim());
      count[k] += 1.0;
      mean += p.cost(k) / double(shots);
    }
    double var = 0.0;
    for (std::size_t k = 0; k < p.dim(); ++k) var += prob[k] * (p.cost(k) - e) * (p.cost(k) - e);
    CHECK_NEAR(mean, e, 6.0 * std::sqrt(var / double(shots)) + 1e-12);
    for (std::size_t k = 0; k < p.dim(); ++k)
      CHECK_NEAR(count[k] / double(shots), prob[k], 6.0 * std::sqrt(prob[k] * (1 - prob[k]) / double(shots)) + 1e-9);
  }
}

QOPT_TEST("threads do not change the results (n = 18)") {
  const Pubo p = random_pubo(18, 99, 0, 0.15);
  const Angles ang = random_angles(2, 100);
  auto one = p.evaluator(1), two = p.evaluator(2);
  CHECK_NEAR(one.expectation(ang.gamma.data(), ang.beta.data(), 2), two.expectation(ang.gamma.data(), ang.beta.data(), 2),
             1e-10 * scale_of(p));
  std::vector<std::uint64_t> a(1000), b(1000);
  one.sample(ang.gamma.data(), ang.beta.data(), 2, 1000, 5, a.data());
  two.sample(ang.gamma.data(), ang.beta.data(), 2, 1000, 5, b.data());
  CHECK(a == b);
}

QOPT_TEST("memory budget and bad input are refused") {
  const Pubo p = random_pubo(6, 3);
  const std::size_t need = qopt::qaoa_memory_bytes(6, false, false);
  CHECK(qopt::qaoa_memory_bytes(6, true, false) > need);
  CHECK(qopt::qaoa_memory_bytes(6, false, true) > need);
  CHECK(qopt::qaoa_memory_bytes(7, false, false) > need);
  const auto m = static_cast<std::int64_t>(p.quad.size());
  CHECK_THROWS(qopt::QAOAEvaluator(6, p.lin.data(), m, p.u.data(), p.v.data(), p.quad.data(), 0.0, 1, need - 1),
               std::invalid_argument);
  qopt::QAOAEvaluator ev(6, p.lin.data(), m, p.u.data(), p.v.data(), p.quad.data(), 0.0, 1, need);
  CHECK_THROWS(qopt::QAOAEvaluator(qopt::kMaxStatevectorQubits + 1, p.lin.data(), 0, p.u.data(), p.v.data(),
                                   p.quad.data(), 0.0, 1, std::size_t{1} << 20),
               std::invalid_argument);
  std::vector<std::int32_t> bad_u = p.u;
  bad_u[0] = 6;  // qubit out of range
  std::vector<double> cost(64);
  CHECK_THROWS(qopt::qaoa_cost_vector(6, p.lin.data(), m, bad_u.data(), p.v.data(), p.quad.data(), 0.0, cost.data(), 1),
               std::invalid_argument);
  const double g[] = {0.1}, b[] = {std::nan("")};
  CHECK_THROWS(ev.expectation(g, g, 0), std::invalid_argument);
  CHECK_THROWS(ev.expectation(g, b, 1), std::invalid_argument);
}

QOPT_TEST_MAIN()
