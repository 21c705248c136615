#include "qopt/anneal.hpp"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <stdexcept>
#include <string>
#include <thread>

namespace qopt {
namespace {

inline std::uint64_t splitmix64(std::uint64_t& x) {
  std::uint64_t z = (x += 0x9E3779B97F4A7C15ULL);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
  return z ^ (z >> 31);
}

// xoshiro256+ (Blackman & Vigna 2018): fast, good enough for Metropolis tests.
struct Rng {
  std::uint64_t s[4];
  explicit Rng(std::uint64_t seed, std::uint64_t stream) {
    std::uint64_t x = seed ^ (0xD1B54A32D192ED03ULL * (stream + 1));
    for (auto& v : s) v = splitmix64(x);
  }
  static inline std::uint64_t rotl(std::uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }
  inline std::uint64_t next() {
    const std::uint64_t result = s[0] + s[3];
    const std::uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return result;
  }
  inline double uniform() { return static_cast<double>(next() >> 11) * 0x1.0p-53; }
};

using Clock = std::chrono::steady_clock;

}  // namespace

void validate_csr(const IsingCSR& m) {
  if (m.num_variables < 0) throw std::invalid_argument("num_variables must be >= 0");
  if (m.num_variables == 0) return;
  if (!m.h || !m.row_ptr) throw std::invalid_argument("h and row_ptr must be given");
  if (m.row_ptr[0] != 0) throw std::invalid_argument("row_ptr[0] must be 0");
  for (index_type i = 0; i < m.num_variables; ++i) {
    if (m.row_ptr[i + 1] < m.row_ptr[i])
      throw std::invalid_argument("row_ptr must be non-decreasing (row " + std::to_string(i) + ")");
    for (index_type k = m.row_ptr[i]; k < m.row_ptr[i + 1]; ++k) {
      const index_type j = m.col[k];
      if (j < 0 || j >= m.num_variables)
        throw std::invalid_argument("col index out of range in row " + std::to_string(i));
      if (j == i) throw std::invalid_argument("self-loop on variable " + std::to_string(i));
    }
  }
}

double ising_energy(const IsingCSR& m, const spin_type* s) {
  double e = 0.0;
  for (index_type i = 0; i < m.num_variables; ++i) {
    double f = 0.0;
    for (index_type k = m.row_ptr[i]; k < m.row_ptr[i + 1]; ++k) f += m.J[k] * s[m.col[k]];
    e += s[i] * (m.h[i] + 0.5 * f);
  }
  return e;
}

AnnealStats simulated_annealing(const IsingCSR& m, const AnnealOptions& opt, spin_type* states,
                                double* energies) {
  if (opt.num_reads < 0) throw std::invalid_argument("num_reads must be >= 0");
  if (opt.num_sweeps < 0) throw std::invalid_argument("num_sweeps must be >= 0");
  if (opt.num_sweeps > 0 && !opt.betas) throw std::invalid_argument("betas must be given");
  const index_type n = m.num_variables;
  const int threads = opt.num_threads < 1 ? 1 : opt.num_threads;
  const bool timed = opt.time_limit > 0.0;
  const auto deadline =
      Clock::now() + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(opt.time_limit));

  std::atomic<std::int64_t> next_read{0};
  std::atomic<std::int64_t> min_sweeps{opt.num_sweeps};
  std::atomic<bool> stopped{false};

  auto worker = [&]() {
    std::vector<double> field(static_cast<std::size_t>(n));
    for (;;) {
      const std::int64_t r = next_read.fetch_add(1);
      if (r >= opt.num_reads) break;
      spin_type* s = states + r * static_cast<std::int64_t>(n);
      Rng rng(opt.seed, static_cast<std::uint64_t>(r));
      if (!opt.use_initial_states)
        for (index_type i = 0; i < n; ++i) s[i] = (rng.next() >> 63) ? spin_type(1) : spin_type(-1);
      for (index_type i = 0; i < n; ++i) {
        double f = m.h[i];
        for (index_type k = m.row_ptr[i]; k < m.row_ptr[i + 1]; ++k) f += m.J[k] * s[m.col[k]];
        field[static_cast<std::size_t>(i)] = f;
      }
      std::int64_t sweep = 0;
      for (; sweep < opt.num_sweeps; ++sweep) {
        if ((timed && Clock::now() >= deadline) || (opt.interrupt && *opt.interrupt) || stopped.load(std::memory_order_relaxed)) {
          stopped.store(true);
          break;
        }
        const double beta = opt.betas[sweep];
        for (index_type i = 0; i < n; ++i) {
          // Energy change of flipping s_i: dE = -2 s_i field_i.
          const double dE = -2.0 * s[i] * field[static_cast<std::size_t>(i)];
          bool accept = dE <= 0.0;
          if (!accept) {
            const double x = beta * dE;
            accept = x < 40.0 && rng.uniform() < std::exp(-x);
          }
          if (accept) {
            const double delta = -2.0 * s[i];  // change in s_i
            s[i] = static_cast<spin_type>(-s[i]);
            for (index_type k = m.row_ptr[i]; k < m.row_ptr[i + 1]; ++k)
              field[static_cast<std::size_t>(m.col[k])] += m.J[k] * delta;
          }
        }
      }
      std::int64_t cur = min_sweeps.load();
      while (sweep < cur && !min_sweeps.compare_exchange_weak(cur, sweep)) {}
      energies[r] = ising_energy(m, s);
    }
  };

  if (threads == 1 || opt.num_reads <= 1) {
    worker();
  } else {
    std::vector<std::thread> pool;
    const int t = static_cast<int>(std::min<std::int64_t>(threads, opt.num_reads));
    for (int i = 0; i < t; ++i) pool.emplace_back(worker);
    for (auto& th : pool) th.join();
  }
  AnnealStats stats;
  stats.sweeps_done_min = min_sweeps.load();
  stats.stopped_early = stopped.load();
  return stats;
}

}  // namespace qopt
