#include "qopt/presolve.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <random>
#include <stdexcept>
#include <string>

namespace qopt::presolve {
namespace {

void check_csr(index_type n, const index_type* indptr, const index_type* indices) {
  if (n < 0) throw std::invalid_argument("n must be >= 0, was " + std::to_string(n));
  if (n > 0 && indptr[0] != 0) throw std::invalid_argument("indptr[0] must be 0");
  for (index_type i = 0; i < n; ++i) {
    if (indptr[i + 1] < indptr[i]) {
      throw std::invalid_argument("indptr must be non-decreasing (row " + std::to_string(i) + ")");
    }
  }
  const index_type nnz = n > 0 ? indptr[n] : 0;
  for (index_type k = 0; k < nnz; ++k) {
    if (indices[k] < 0 || indices[k] >= n) {
      throw std::out_of_range("indices[" + std::to_string(k) + "] = " + std::to_string(indices[k]) +
                              " is out of range for n = " + std::to_string(n));
    }
  }
}

}  // namespace

ForcedFixResult forced_sign_fixing(index_type n, const bias_type* h, const index_type* indptr,
                                   const index_type* indices, const bias_type* data,
                                   bool strict) {
  check_csr(n, indptr, indices);
  const index_type nnz = n > 0 ? indptr[n] : 0;
  for (index_type i = 0; i < n; ++i) {
    if (!std::isfinite(h[i])) throw std::invalid_argument("h must be finite (index " + std::to_string(i) + ")");
  }
  for (index_type k = 0; k < nnz; ++k) {
    if (!std::isfinite(data[k])) throw std::invalid_argument("data must be finite (entry " + std::to_string(k) + ")");
  }

  ForcedFixResult res;
  res.fixed.assign(static_cast<std::size_t>(n), 0);
  // Incremental field and free-coupling mass; only used to find candidates. A candidate is
  // confirmed with an exact recomputation, so rounding drift can miss a fixing but never
  // makes a wrong one.
  std::vector<bias_type> heff(h, h + n);
  std::vector<bias_type> mass(static_cast<std::size_t>(n), 0.0);
  for (index_type i = 0; i < n; ++i) {
    bias_type m = 0.0;
    for (index_type k = indptr[i]; k < indptr[i + 1]; ++k) m += std::fabs(data[k]);
    mass[i] = m;
  }
  auto dominates = [strict](bias_type field, bias_type m) {
    return strict ? std::fabs(field) > m : std::fabs(field) >= m;
  };

  std::vector<index_type> stack;
  std::vector<char> queued(static_cast<std::size_t>(n), 1);
  stack.reserve(static_cast<std::size_t>(n));
  for (index_type i = n - 1; i >= 0; --i) stack.push_back(i);

  while (!stack.empty()) {
    ++res.rounds;
    const index_type i = stack.back();
    stack.pop_back();
    queued[i] = 0;
    if (res.fixed[i] != 0 || !dominates(heff[i], mass[i])) continue;
    // Exact confirmation.
    bias_type field = h[i];
    bias_type m = 0.0;
    for (index_type k = indptr[i]; k < indptr[i + 1]; ++k) {
      const index_type j = indices[k];
      if (res.fixed[j] != 0) {
        field += data[k] * res.fixed[j];
      } else {
        m += std::fabs(data[k]);
      }
    }
    heff[i] = field;
    mass[i] = m;
    if (!dominates(field, m)) continue;
    const std::int8_t value = field > 0 ? std::int8_t(-1) : std::int8_t(1);
    res.fixed[i] = value;
    res.order.push_back(i);
    res.offset_delta += field * value;
    for (index_type k = indptr[i]; k < indptr[i + 1]; ++k) {
      const index_type j = indices[k];
      if (res.fixed[j] != 0) continue;
      heff[j] += data[k] * value;
      mass[j] -= std::fabs(data[k]);
      if (!queued[j]) {
        queued[j] = 1;
        stack.push_back(j);
      }
    }
  }

  // Exact fields of the free spins.
  res.h.assign(static_cast<std::size_t>(n), 0.0);
  for (index_type i = 0; i < n; ++i) {
    if (res.fixed[i] != 0) continue;
    bias_type field = h[i];
    for (index_type k = indptr[i]; k < indptr[i + 1]; ++k) {
      const index_type j = indices[k];
      if (res.fixed[j] != 0) field += data[k] * res.fixed[j];
    }
    res.h[i] = field;
  }
  return res;
}

MixingResult sdp_mixing(index_type n, const index_type* indptr, const index_type* indices,
                        const bias_type* data, index_type rank, index_type max_sweeps,
                        double tol, double time_limit, std::uint64_t seed) {
  check_csr(n, indptr, indices);
  if (rank < 1) throw std::invalid_argument("rank must be >= 1, was " + std::to_string(rank));
  if (max_sweeps < 0) throw std::invalid_argument("max_sweeps must be >= 0, was " + std::to_string(max_sweeps));
  if (!(tol >= 0.0)) throw std::invalid_argument("tol must be >= 0");

  const auto start = std::chrono::steady_clock::now();
  const std::size_t r = static_cast<std::size_t>(rank);
  std::vector<double> V(static_cast<std::size_t>(n) * r);
  std::mt19937_64 gen(seed);
  std::normal_distribution<double> normal(0.0, 1.0);
  for (index_type i = 0; i < n; ++i) {
    double* v = &V[static_cast<std::size_t>(i) * r];
    double norm = 0.0;
    for (std::size_t a = 0; a < r; ++a) {
      v[a] = normal(gen);
      norm += v[a] * v[a];
    }
    norm = std::sqrt(norm);
    for (std::size_t a = 0; a < r; ++a) v[a] /= norm;
  }

  std::vector<double> g(r);
  auto field = [&](index_type i) {
    std::fill(g.begin(), g.end(), 0.0);
    for (index_type k = indptr[i]; k < indptr[i + 1]; ++k) {
      const double w = data[k];
      const double* vj = &V[static_cast<std::size_t>(indices[k]) * r];
      for (std::size_t a = 0; a < r; ++a) g[a] += w * vj[a];
    }
  };
  auto objective = [&]() {
    double f = 0.0;
    for (index_type i = 0; i < n; ++i) {
      field(i);
      const double* vi = &V[static_cast<std::size_t>(i) * r];
      for (std::size_t a = 0; a < r; ++a) f += vi[a] * g[a];
    }
    return f;
  };

  MixingResult res;
  double f = objective();
  for (index_type sweep = 0; sweep < max_sweeps; ++sweep) {
    double decrease = 0.0;
    for (index_type i = 0; i < n; ++i) {
      field(i);
      double norm = 0.0;
      for (std::size_t a = 0; a < r; ++a) norm += g[a] * g[a];
      norm = std::sqrt(norm);
      if (norm <= 0.0) continue;
      double* vi = &V[static_cast<std::size_t>(i) * r];
      double old_dot = 0.0;
      for (std::size_t a = 0; a < r; ++a) old_dot += vi[a] * g[a];
      for (std::size_t a = 0; a < r; ++a) vi[a] = -g[a] / norm;
      // <A, VV^T> changes by 2 (v_new - v_old) . g_i = 2 (-||g|| - old_dot) <= 0.
      decrease += 2.0 * (old_dot + norm);
    }
    f -= decrease;
    res.iterations = sweep + 1;
    if (decrease <= tol * std::max(1.0, std::fabs(f))) break;
    if (time_limit > 0.0) {
      const double elapsed =
          std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
      if (elapsed >= time_limit) break;
    }
  }

  res.y.assign(static_cast<std::size_t>(n), 0.0);
  double primal = 0.0;
  for (index_type i = 0; i < n; ++i) {
    field(i);
    const double* vi = &V[static_cast<std::size_t>(i) * r];
    double dot = 0.0;
    for (std::size_t a = 0; a < r; ++a) dot += vi[a] * g[a];
    res.y[i] = dot;
    primal += dot;
  }
  res.primal = primal;
  return res;
}

}  // namespace qopt::presolve
