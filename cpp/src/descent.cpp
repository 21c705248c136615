#include "qopt/descent.hpp"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <stdexcept>
#include <thread>
#include <vector>

namespace qopt {

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
  for (;;) {
    // dE_i = -2 s_i f_i; find the most negative (smallest index on ties).
    index_type best = -1;
    double best_dE = -tol;
    for (index_type i = 0; i < n; ++i) {
      const double dE = -2.0 * s[i] * field[i];
      if (dE < best_dE) {
        best_dE = dE;
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
