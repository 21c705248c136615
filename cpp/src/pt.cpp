#include "qopt/pt.hpp"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstring>
#include <limits>
#include <stdexcept>
#include <thread>

#include "qopt/descent.hpp"
#include "run_control.hpp"

namespace qopt {
namespace {

constexpr std::int64_t kRefresh = 256;  // sweeps between exact recomputations of fields and energies

inline std::uint64_t rotl(std::uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

// xoshiro256** (Blackman & Vigna 2018), seeded by splitmix64 from (seed, read).
struct Rng {
  std::uint64_t s[4];
  Rng(std::uint64_t seed, std::uint64_t read) {
    std::uint64_t x = seed ^ (0xA0761D6478BD642FULL * (read + 1)) ^ 0x2545F4914F6CDD1DULL;
    for (auto& w : s) {
      std::uint64_t z = (x += 0x9E3779B97F4A7C15ULL);
      z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
      z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
      w = z ^ (z >> 31);
    }
  }
  std::uint64_t next() {
    const std::uint64_t r = rotl(s[1] * 5, 7) * 9;
    const std::uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return r;
  }
  double uniform() { return static_cast<double>(next() >> 11) * 0x1p-53; }  // [0, 1)
  index_type below(index_type n) { return static_cast<index_type>(next() % static_cast<std::uint64_t>(n)); }
};

struct Run : detail::StopRule {
  const IsingCSR* m = nullptr;
  const ReplicaExchangeOptions* opt = nullptr;
};

// What one ladder reports.
struct LadderResult {
  std::int64_t sweeps = -1;  // -1: not started
  std::vector<double> betas;
  std::vector<std::int64_t> accepts, attempts;  // per pair, after tuning
  std::int64_t round_trips = 0, descents = 0, perturbations = 0;
};

// Fields of one state (length n) and its energy.
double fields_of(const IsingCSR& m, const spin_type* s, double* f) {
  double e = 0.0;
  for (index_type i = 0; i < m.num_variables; ++i) {
    double acc = 0.0;
    for (index_type k = m.row_ptr[i]; k < m.row_ptr[i + 1]; ++k) acc += m.J[k] * s[m.col[k]];
    f[i] = m.h[i] + acc;
    e += s[i] * (m.h[i] + 0.5 * acc);
  }
  return e;
}

// One Metropolis sweep of one replica at inverse temperature beta; returns the energy change.
double sweep_once(const IsingCSR& m, spin_type* __restrict s, double* __restrict f, double beta, Rng& rng) {
  const index_type n = m.num_variables;
  double delta = 0.0;
  for (index_type i = 0; i < n; ++i) {
    const double dE = -2.0 * s[i] * f[i];
    bool flip = dE <= 0.0;
    if (!flip) {
      const double x = beta * dE;
      flip = x < 40.0 && rng.uniform() < std::exp(-x);
    }
    if (flip) {
      const double d = -2.0 * s[i];
      s[i] = static_cast<spin_type>(-s[i]);
      delta += dE;
      for (index_type k = m.row_ptr[i]; k < m.row_ptr[i + 1]; ++k) f[m.col[k]] += m.J[k] * d;
    }
  }
  return delta;
}

// Move the gaps of the ladder half-way toward uniform -ln(acceptance) (see pt.hpp).
void tune_ladder(std::vector<double>& beta, const std::vector<std::int64_t>& acc,
                 const std::vector<std::int64_t>& att) {
  const std::size_t pairs = beta.size() - 1;
  std::vector<double> gap(pairs), want(pairs);
  double span = beta.back() - beta.front(), total = 0.0;
  for (std::size_t k = 0; k < pairs; ++k) {
    gap[k] = beta[k + 1] - beta[k];
    double w = gap[k];
    if (att[k] > 0) {
      const double a = std::max(static_cast<double>(acc[k]) / static_cast<double>(att[k]), 1e-6);
      w = gap[k] / std::sqrt(std::max(-std::log(a), 1e-3));
    }
    want[k] = w;
    total += w;
  }
  if (!(total > 0.0)) return;
  for (std::size_t k = 0; k < pairs; ++k) beta[k + 1] = beta[k] + 0.5 * gap[k] + 0.5 * want[k] * span / total;
  beta.back() = beta.front() + span;  // ends fixed (rounding)
}

void run_ladder(Run& run, std::int64_t r, spin_type* best_out, double* best_energy, LadderResult& res) {
  const IsingCSR& m = *run.m;
  const ReplicaExchangeOptions& opt = *run.opt;
  const index_type n = m.num_variables;
  const int R = opt.num_replicas;
  const auto N = static_cast<std::size_t>(n);
  Rng rng(opt.seed, static_cast<std::uint64_t>(r));

  std::vector<spin_type> spins(static_cast<std::size_t>(R) * N);
  std::vector<double> fields(static_cast<std::size_t>(R) * N), energy(static_cast<std::size_t>(R));
  for (auto& x : spins) x = (rng.next() >> 63) ? spin_type(1) : spin_type(-1);
  for (int k = 0; k < R; ++k) energy[static_cast<std::size_t>(k)] = fields_of(m, &spins[k * N], &fields[k * N]);
  std::vector<int> at(static_cast<std::size_t>(R));     // at[t]: replica at temperature slot t
  std::vector<signed char> label(static_cast<std::size_t>(R), 0);  // per replica: 0 none, +1 up, -1 down
  for (int t = 0; t < R; ++t) at[static_cast<std::size_t>(t)] = t;
  std::vector<double>& beta = res.betas;
  beta.resize(static_cast<std::size_t>(R));
  for (int t = 0; t < R; ++t)
    beta[static_cast<std::size_t>(t)] = opt.beta_min * std::pow(opt.beta_max / opt.beta_min, double(t) / (R - 1));
  res.accepts.assign(static_cast<std::size_t>(R - 1), 0);
  res.attempts.assign(static_cast<std::size_t>(R - 1), 0);
  std::vector<std::int64_t> tacc(static_cast<std::size_t>(R - 1), 0), tatt(static_cast<std::size_t>(R - 1), 0);
  const auto tune_sweeps = static_cast<std::int64_t>(opt.tune_fraction * static_cast<double>(opt.num_sweeps));

  // best state of the ladder
  double best = std::numeric_limits<double>::infinity();
  auto offer = [&](const spin_type* s, double e) {
    if (e < best) {
      best = e;
      std::memcpy(best_out, s, N);
      if (opt.best_energy) {
        double seen = opt.best_energy->load(std::memory_order_relaxed);
        while (e < seen && !opt.best_energy->compare_exchange_weak(seen, e, std::memory_order_relaxed)) {
        }
      }
    }
  };
  for (int k = 0; k < R; ++k) offer(&spins[k * N], energy[static_cast<std::size_t>(k)]);

  // descent and perturbation (Breakout Local Search style)
  const int pmin = opt.perturb_min > 0 ? opt.perturb_min : std::max(2, static_cast<int>(n / 100));
  const int pmax = std::max(pmin, opt.perturb_max > 0 ? opt.perturb_max : static_cast<int>(n / 10));
  int strength = pmin;
  std::int64_t stall = 0;
  std::vector<spin_type> scratch(opt.descent_interval > 0 ? N : 0);
  std::vector<double> dfield(opt.descent_interval > 0 ? N : 0);

  std::int64_t sweep = 0;
  for (; sweep < opt.num_sweeps; ++sweep) {
    if (run.should_stop()) break;
    if (sweep % kRefresh == 0 && sweep > 0)
      for (int k = 0; k < R; ++k) energy[static_cast<std::size_t>(k)] = fields_of(m, &spins[k * N], &fields[k * N]);
    for (int t = 0; t < R; ++t) {
      const int k = at[static_cast<std::size_t>(t)];
      energy[static_cast<std::size_t>(k)] +=
          sweep_once(m, &spins[k * N], &fields[k * N], beta[static_cast<std::size_t>(t)], rng);
    }
    // exchanges between neighbours, even pairs on even sweeps, odd pairs on odd ones
    const bool tuning = sweep < tune_sweeps;
    std::vector<std::int64_t>& acc = tuning ? tacc : res.accepts;
    std::vector<std::int64_t>& att = tuning ? tatt : res.attempts;
    for (int t = static_cast<int>(sweep & 1); t + 1 < R; t += 2) {
      const auto ut = static_cast<std::size_t>(t);
      const int a = at[ut], b = at[ut + 1];
      const double x = (beta[ut] - beta[ut + 1]) *
                       (energy[static_cast<std::size_t>(a)] - energy[static_cast<std::size_t>(b)]);
      ++att[ut];
      if (x >= 0.0 || rng.uniform() < std::exp(x)) {
        ++acc[ut];
        at[ut] = b;
        at[ut + 1] = a;
      }
    }
    // round trips
    signed char& hot = label[static_cast<std::size_t>(at.front())];
    if (hot == -1) ++res.round_trips;
    hot = 1;
    signed char& cold = label[static_cast<std::size_t>(at.back())];
    if (cold == 1) cold = -1;
    for (int k = 0; k < R; ++k) offer(&spins[k * N], energy[static_cast<std::size_t>(k)]);
    if (tuning && (sweep + 1) % opt.tune_interval == 0) {
      tune_ladder(beta, tacc, tatt);
      std::fill(tacc.begin(), tacc.end(), 0);
      std::fill(tatt.begin(), tatt.end(), 0);
    }
    if (opt.descent_interval > 0 && (sweep + 1) % opt.descent_interval == 0) {
      const int c = at.back();
      std::memcpy(scratch.data(), &spins[c * N], N);
      steepest_descent_one(m, scratch.data(), dfield.data());
      ++res.descents;
      const double e = ising_energy(m, scratch.data());
      if (e < best - 1e-9 * (1.0 + std::fabs(best))) {
        offer(scratch.data(), e);
        stall = 0;
        strength = pmin;
      } else if (++stall >= opt.perturb_after) {
        // perturb the best local minimum and continue the coldest replica from it
        std::memcpy(&spins[c * N], best_out, N);
        for (int q = 0; q < strength; ++q) {
          const index_type i = rng.below(n);
          spins[c * N + static_cast<std::size_t>(i)] = static_cast<spin_type>(-spins[c * N + static_cast<std::size_t>(i)]);
        }
        energy[static_cast<std::size_t>(c)] = fields_of(m, &spins[c * N], &fields[c * N]);
        ++res.perturbations;
        strength = std::min(pmax, strength + 1);
        stall = 0;
      }
    }
  }
  res.sweeps = sweep;
  *best_energy = ising_energy(m, best_out);
}

}  // namespace

ReplicaExchangeStats replica_exchange(const IsingCSR& m, const ReplicaExchangeOptions& opt, spin_type* states,
                                      double* energies) {
  if (opt.num_reads < 0) throw std::invalid_argument("num_reads must be >= 0");
  if (opt.num_replicas < 2) throw std::invalid_argument("num_replicas must be >= 2");
  if (opt.num_sweeps < 0) throw std::invalid_argument("num_sweeps must be >= 0");
  if (!(std::isfinite(opt.beta_min) && opt.beta_min > 0.0))
    throw std::invalid_argument("beta_min must be finite and > 0");
  if (!(std::isfinite(opt.beta_max) && opt.beta_max > opt.beta_min))
    throw std::invalid_argument("beta_max must be finite and > beta_min");
  if (!(opt.tune_fraction >= 0.0 && opt.tune_fraction < 1.0))
    throw std::invalid_argument("tune_fraction must be in [0, 1)");
  if (opt.tune_interval < 1) throw std::invalid_argument("tune_interval must be >= 1");
  if (opt.descent_interval < 0) throw std::invalid_argument("descent_interval must be >= 0");
  if (opt.perturb_after < 1) throw std::invalid_argument("perturb_after must be >= 1");
  if (opt.perturb_min < 0 || opt.perturb_max < 0) throw std::invalid_argument("perturb_min and perturb_max must be >= 0");

  ReplicaExchangeStats stats;
  const int R = opt.num_replicas;
  stats.swap_acceptance.assign(static_cast<std::size_t>(R - 1), 0.0);
  if (opt.num_reads == 0 || m.num_variables == 0) {
    for (std::int64_t r = 0; r < opt.num_reads; ++r) energies[r] = 0.0;
    stats.num_started = opt.num_reads;
    stats.sweeps_done_min = opt.num_sweeps;
    return stats;
  }
  Run run;
  run.m = &m;
  run.opt = &opt;
  run.arm(opt.time_limit, opt.interrupt);

  const auto N = static_cast<std::int64_t>(m.num_variables);
  std::vector<LadderResult> results(static_cast<std::size_t>(opt.num_reads));
  std::atomic<std::int64_t> next{0};
  auto worker = [&]() {
    for (;;) {
      const std::int64_t r = next.fetch_add(1);
      if (r >= opt.num_reads) break;
      if (r > 0 && run.should_stop()) break;  // the first ladder always starts
      run_ladder(run, r, states + r * N, energies + r, results[static_cast<std::size_t>(r)]);
    }
  };
  detail::run_on_threads(opt.num_threads, opt.num_reads, worker);
  std::vector<std::int64_t> acc(static_cast<std::size_t>(R - 1), 0), att(static_cast<std::size_t>(R - 1), 0);
  stats.sweeps_done_min = opt.num_sweeps;
  while (stats.num_started < opt.num_reads && results[static_cast<std::size_t>(stats.num_started)].sweeps >= 0) {
    const LadderResult& lr = results[static_cast<std::size_t>(stats.num_started)];
    stats.sweeps_done_min = std::min(stats.sweeps_done_min, lr.sweeps);
    for (std::size_t k = 0; k + 1 < static_cast<std::size_t>(R); ++k) {
      acc[k] += lr.accepts[k];
      att[k] += lr.attempts[k];
    }
    stats.round_trips += lr.round_trips;
    stats.num_descents += lr.descents;
    stats.num_perturbations += lr.perturbations;
    ++stats.num_started;
  }
  for (std::size_t k = 0; k + 1 < static_cast<std::size_t>(R); ++k)
    stats.swap_acceptance[k] = att[k] > 0 ? static_cast<double>(acc[k]) / static_cast<double>(att[k]) : 0.0;
  stats.betas = results.front().betas;
  stats.stopped_early = run.stopped.load();
  stats.interrupted = run.interrupted.load();
  return stats;
}

}  // namespace qopt
