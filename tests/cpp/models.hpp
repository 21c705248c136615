// Small Ising models for the kernel tests, their CSR form and brute-force energies.
//
//   E(s) = offset + sum_i h[i] s_i + sum_{(i, j, J) in edges} J s_i s_j,   s in {-1, +1}^n
//
// computed here from the edge list, independently of the kernels' own energy code.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <random>
#include <tuple>
#include <vector>

namespace qopt_test {

struct Edge {
  int i, j;
  double J;
};

struct Model {
  int n = 0;
  std::vector<double> h;
  std::vector<Edge> edges;  // i < j, each pair at most once
  double offset = 0.0;

  double energy(const std::int8_t* s) const {
    double e = offset;
    for (int i = 0; i < n; ++i) e += h[static_cast<std::size_t>(i)] * s[i];
    for (const Edge& ed : edges) e += ed.J * s[ed.i] * s[ed.j];
    return e;
  }
  double energy(const std::vector<std::int8_t>& s) const { return energy(s.data()); }
  // Sum of |biases|: the scale for rounding tolerances.
  double scale() const {
    double m = 1.0 + std::fabs(offset);
    for (double x : h) m += std::fabs(x);
    for (const Edge& ed : edges) m += std::fabs(ed.J);
    return m;
  }
};

// Symmetric CSR (each coupling in both rows, columns sorted), with index type I.
template <class I>
struct CSR {
  std::vector<I> ptr, col;
  std::vector<double> val;
};

template <class I>
CSR<I> to_csr(const Model& m) {
  std::vector<std::vector<std::pair<int, double>>> rows(static_cast<std::size_t>(m.n));
  for (const Edge& e : m.edges) {
    rows[static_cast<std::size_t>(e.i)].push_back({e.j, e.J});
    rows[static_cast<std::size_t>(e.j)].push_back({e.i, e.J});
  }
  CSR<I> c;
  c.ptr.push_back(0);
  for (auto& r : rows) {
    std::sort(r.begin(), r.end());
    for (const auto& kv : r) {
      c.col.push_back(static_cast<I>(kv.first));
      c.val.push_back(kv.second);
    }
    c.ptr.push_back(static_cast<I>(c.col.size()));
  }
  return c;
}

// n spins, each pair coupled with probability density; h ~ U(-hscale, hscale),
// J ~ U(-1, 1). With integral = true the biases are integers in [-3, 3] (ties likely).
inline Model random_model(int n, double density, std::uint64_t seed, double hscale = 1.0,
                          bool integral = false) {
  std::mt19937_64 gen(seed);
  std::uniform_real_distribution<double> u(-1.0, 1.0);
  std::uniform_int_distribution<int> k(-3, 3);
  std::bernoulli_distribution coin(density);
  Model m;
  m.n = n;
  for (int i = 0; i < n; ++i) m.h.push_back(integral ? k(gen) : hscale * u(gen));
  for (int i = 0; i < n; ++i)
    for (int j = i + 1; j < n; ++j)
      if (coin(gen)) {
        const double J = integral ? k(gen) : u(gen);
        if (J != 0.0) m.edges.push_back({i, j, J});
      }
  return m;
}

// Spin state number k (bit i of k set: s_i = -1).
inline std::vector<std::int8_t> state_of(int n, std::uint64_t k) {
  std::vector<std::int8_t> s(static_cast<std::size_t>(n));
  for (int i = 0; i < n; ++i) s[static_cast<std::size_t>(i)] = (k >> i) & 1 ? std::int8_t(-1) : std::int8_t(1);
  return s;
}

struct BruteForce {
  double min_energy = std::numeric_limits<double>::infinity();
  std::vector<std::vector<std::int8_t>> optima;  // every state within tol of the minimum
};

inline BruteForce brute_force(const Model& m, double tol = 1e-9) {
  BruteForce bf;
  const std::uint64_t N = std::uint64_t{1} << m.n;
  std::vector<double> e(N);
  for (std::uint64_t k = 0; k < N; ++k) {
    e[k] = m.energy(state_of(m.n, k));
    bf.min_energy = std::min(bf.min_energy, e[k]);
  }
  for (std::uint64_t k = 0; k < N; ++k)
    if (e[k] <= bf.min_energy + tol * m.scale()) bf.optima.push_back(state_of(m.n, k));
  return bf;
}

}  // namespace qopt_test
