#include "qopt/descent.hpp"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <stdexcept>
#include <thread>
#include <vector>

namespace qopt {

namespace {

// Indexed binary min-heap over (dE_i, i): the top is the most negative flip energy,
// smallest index on ties (the same choice as a left-to-right scan).
struct FlipHeap {
  std::vector<index_type> heap, pos;
  const double* key = nullptr;
  bool less(index_type a, index_type b) const { return key[a] < key[b] || (key[a] == key[b] && a < b); }
  void place(std::size_t k, index_type v) {
    heap[k] = v;
    pos[static_cast<std::size_t>(v)] = static_cast<index_type>(k);
  }
  void sift_up(std::size_t k) {
    const index_type v = heap[k];
    while (k > 0) {
      const std::size_t p = (k - 1) / 2;
      if (!less(v, heap[p])) break;
      place(k, heap[p]);
      k = p;
    }
    place(k, v);
  }
  void sift_down(std::size_t k) {
    const std::size_t n = heap.size();
    const index_type v = heap[k];
    for (;;) {
      std::size_t c = 2 * k + 1;
      if (c >= n) break;
      if (c + 1 < n && less(heap[c + 1], heap[c])) ++c;
      if (!less(heap[c], v)) break;
      place(k, heap[c]);
      k = c;
    }
    place(k, v);
  }
  void build(index_type n, const double* keys) {
    key = keys;
    heap.resize(static_cast<std::size_t>(n));
    pos.resize(static_cast<std::size_t>(n));
    for (index_type i = 0; i < n; ++i) place(static_cast<std::size_t>(i), i);
    for (std::size_t k = heap.size() / 2; k-- > 0;) sift_down(k);
  }
  void changed(index_type v) {  // key[v] changed
    const std::size_t k = static_cast<std::size_t>(pos[static_cast<std::size_t>(v)]);
    sift_up(k);
    sift_down(static_cast<std::size_t>(pos[static_cast<std::size_t>(v)]));
  }
};

}  // namespace

std::int64_t steepest_descent_one(const IsingCSR& m, spin_type* s, double* field) {
  const index_type n = m.num_variables;
  double scale = 0.0;
  for (index_type i = 0; i < n; ++i) {
    double f = m.h[i];
    double a = std::fabs(m.h[i]);
    for (index_type k = m.row_ptr[i]; k < m.row_ptr[i + 1]; ++k) {
      f += m.J[k] * s[m.col[k]];
      a += std::fabs(m.J[k]);
    }
    field[i] = f;
    scale = std::max(scale, a);
  }
  const double tol = 1e-12 * (1.0 + scale);
  std::int64_t flips = 0;
  const std::int64_t nnz = n > 0 ? m.row_ptr[n] : 0;
  if (n >= 64 && nnz * 16 < static_cast<std::int64_t>(n) * n) {
    // Sparse: flip energies in an indexed heap, O(degree log n) per step.
    std::vector<double> dE(static_cast<std::size_t>(n));
    for (index_type i = 0; i < n; ++i) dE[static_cast<std::size_t>(i)] = -2.0 * s[i] * field[i];
    FlipHeap heap;
    heap.build(n, dE.data());
    for (;;) {
      const index_type best = heap.heap[0];
      if (!(dE[static_cast<std::size_t>(best)] < -tol)) break;
      const double delta = -2.0 * s[best];
      s[best] = static_cast<spin_type>(-s[best]);
      dE[static_cast<std::size_t>(best)] = -dE[static_cast<std::size_t>(best)];
      heap.changed(best);
      for (index_type k = m.row_ptr[best]; k < m.row_ptr[best + 1]; ++k) {
        const index_type j = m.col[k];
        field[j] += m.J[k] * delta;
        dE[static_cast<std::size_t>(j)] = -2.0 * s[j] * field[j];
        heap.changed(j);
      }
      ++flips;
    }
    return flips;
  }
  for (;;) {
    // Dense: scan for the most negative dE_i = -2 s_i f_i (smallest index on ties).
    index_type best = -1;
    double best_dE = -tol;
    for (index_type i = 0; i < n; ++i) {
      const double d = -2.0 * s[i] * field[i];
      if (d < best_dE) {
        best_dE = d;
        best = i;
      }
    }
    if (best < 0) break;
    const double delta = -2.0 * s[best];
    s[best] = static_cast<spin_type>(-s[best]);
    for (index_type k = m.row_ptr[best]; k < m.row_ptr[best + 1]; ++k) field[m.col[k]] += m.J[k] * delta;
    ++flips;
  }
  return flips;
}

void steepest_descent(const IsingCSR& m, spin_type* states, std::int64_t num_states, double* energies,
                      std::int64_t* num_flips, int num_threads) {
  validate_csr(m);
  if (num_states < 0) throw std::invalid_argument("num_states must be >= 0");
  const index_type n = m.num_variables;
  for (std::int64_t k = 0; k < num_states * static_cast<std::int64_t>(n); ++k)
    if (states[k] != 1 && states[k] != -1) throw std::invalid_argument("states must hold only -1 and +1");
  std::atomic<std::int64_t> next{0};
  auto worker = [&]() {
    std::vector<double> field(static_cast<std::size_t>(n));
    for (;;) {
      const std::int64_t r = next.fetch_add(1);
      if (r >= num_states) break;
      spin_type* s = states + r * static_cast<std::int64_t>(n);
      const std::int64_t f = steepest_descent_one(m, s, field.data());
      if (num_flips) num_flips[r] = f;
      if (energies) energies[r] = ising_energy(m, s);
    }
  };
  const int t = static_cast<int>(std::max<std::int64_t>(1, std::min<std::int64_t>(num_threads, num_states)));
  if (t == 1) {
    worker();
  } else {
    std::vector<std::thread> pool;
    for (int i = 0; i < t; ++i) pool.emplace_back(worker);
    for (auto& th : pool) th.join();
  }
}

}  // namespace qopt
