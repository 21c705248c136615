#include "qopt/anneal.hpp"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstring>
#include <exception>
#include <limits>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>

#include "qopt/descent.hpp"
#include "run_control.hpp"

#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wpsabi"
#endif

// Hot kernels are compiled for several instruction sets and picked at load time
// (GCC function multiversioning), so the wheel stays portable (no -march=native).
#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && defined(__linux__)
#define QOPT_CLONES __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define QOPT_CLONES
#endif

namespace qopt {
namespace {

constexpr int kLanesSparse = 16;      // reads annealed together by the sparse kernel
constexpr int kLanesDense = 8;        // ... by the dense kernel (fields of 8 lanes stay in L1)
constexpr int kLanesMax = 16;
constexpr std::int64_t kRefresh = 256; // sweeps between exact recomputations of the fields
constexpr index_type kDenseMaxN = 8192;  // the dense kernel stores an n x n float matrix
constexpr index_type kClockSpins = 4096; // progress: read the clock once per this many spins visited, about
constexpr double kSnapshotQuiet = 100.0; // a worker's snapshot of c seconds is followed by 100 c quiet seconds

// GCC vector extensions: lowered to AVX-512, AVX2 or SSE2 by each clone.
template <int L>
struct Vec {
  typedef float f __attribute__((vector_size(L * 4)));
  typedef std::int32_t i __attribute__((vector_size(L * 4)));
  typedef std::uint32_t u __attribute__((vector_size(L * 4)));
};

inline std::uint64_t splitmix64(std::uint64_t& x) {
  std::uint64_t z = (x += 0x9E3779B97F4A7C15ULL);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
  return z ^ (z >> 31);
}

// State of read r's generator: xoshiro128+ (Blackman & Vigna 2018) seeded by splitmix64.
inline void seed_read(std::uint64_t seed, std::uint64_t read, std::uint32_t out[4]) {
  std::uint64_t x = seed ^ (0xD1B54A32D192ED03ULL * (read + 1));
  const std::uint64_t a = splitmix64(x), b = splitmix64(x);
  out[0] = static_cast<std::uint32_t>(a);
  out[1] = static_cast<std::uint32_t>(a >> 32);
  out[2] = static_cast<std::uint32_t>(b);
  out[3] = static_cast<std::uint32_t>(b >> 32);
  if ((out[0] | out[1] | out[2] | out[3]) == 0) out[0] = 1;
}

// Random initial spins of read r (a separate splitmix64 stream).
inline void random_spins(std::uint64_t seed, std::uint64_t read, index_type n, spin_type* s) {
  std::uint64_t x = seed ^ (0x9E6C63D0676A9A99ULL * (read + 1)) ^ 0x5851F42D4C957F2DULL;
  std::uint64_t bits = 0;
  for (index_type i = 0; i < n; ++i) {
    if ((i & 63) == 0) bits = splitmix64(x);
    s[i] = (bits >> (i & 63)) & 1 ? spin_type(1) : spin_type(-1);
  }
}

// log2(1 + t) on [0, 1): degree-6 least-squares fit, abs. error 2.1e-6.
#define QOPT_LOG2_POLY(t)                                                                             \
  (2.117247699e-06f +                                                                                 \
   (t) * (1.442475475e+00f +                                                                          \
          (t) * (-7.175589763e-01f +                                                                  \
                 (t) * (4.555302717e-01f +                                                            \
                        (t) * (-2.746275619e-01f + (t) * (1.193008798e-01f + (t) * -2.512376965e-02f))))))

using Clock = std::chrono::steady_clock;

// Shared, read-only view of the model prepared for the kernels.
struct Prepared {
  const IsingCSR* m = nullptr;
  double scale = 1.0;            // largest |bias|; float biases are divided by it
  std::vector<float> J;          // J / scale, CSR order (sparse kernel)
  std::vector<float> h;          // h / scale
  std::vector<float> W;          // dense kernel: n x n, row i holds J_ij / scale
  std::vector<float> beta2;      // per sweep: beta * scale * log2(e)
};

// Run control shared by the workers (the stop rule: deadline and interrupt).
struct Control : detail::StopRule {
  const AnnealOptions* opt = nullptr;

  // Progress (see anneal.hpp): report is true when opt->progress is set.
  bool report = false;
  Clock::time_point start;
  std::int64_t interval_ns = 0;
  std::atomic<std::int64_t> next_due_ns{0};  // next report due, ns since start
  std::atomic<std::int64_t> epoch{0};        // snapshot rounds asked for so far
  std::mutex mu;                             // guards best, reported, error; serialises progress calls
  double best = std::numeric_limits<double>::infinity();
  double reported = std::numeric_limits<double>::infinity();
  std::exception_ptr error;
  // The best snapshot state so far (guarded by mu): its read, exact energy and spins.
  std::int64_t seen_read = -1;
  double seen_energy = std::numeric_limits<double>::infinity();
  std::vector<spin_type> seen_state;

  // Whether the caller, at time now, is the one to start the next snapshot round.
  bool claim_report(Clock::time_point now) {
    const std::int64_t ns = std::chrono::duration_cast<std::chrono::nanoseconds>(now - start).count();
    std::int64_t due = next_due_ns.load(std::memory_order_relaxed);
    if (ns < due || !next_due_ns.compare_exchange_strong(due, ns + interval_ns)) return false;
    epoch.fetch_add(1, std::memory_order_relaxed);
    return true;
  }
  void merge(double energy) {
    std::lock_guard<std::mutex> lock(mu);
    best = std::min(best, energy);
  }
  // Merge a snapshot of read `read` (n spins, exact energy), keeping its state when it is the best seen.
  void offer(double energy, const spin_type* spins, index_type n, std::int64_t read) {
    std::lock_guard<std::mutex> lock(mu);
    best = std::min(best, energy);
    if (!(energy < seen_energy)) return;
    seen_energy = energy;
    seen_read = read;
    seen_state.assign(spins, spins + n);
  }
  // Call opt->progress when the best has improved since the last call.
  void call(std::int64_t sweep, bool final) {
    std::lock_guard<std::mutex> lock(mu);
    if (error || !(best < reported)) return;
    reported = best;
    AnnealProgress p;
    p.sweep = sweep;
    p.best_energy = best;
    p.elapsed = std::chrono::duration<double>(Clock::now() - start).count();
    p.final = final;
    try {
      opt->progress(p);
    } catch (...) {
      error = std::current_exception();
      stopped.store(true);
    }
  }
};

// First 64-byte aligned position in a float buffer with 16 spare floats
// (alignof of a 32-byte vector type is only 16 when compiled without AVX).
inline float* align64(float* p) {
  const auto a = reinterpret_cast<std::uintptr_t>(p);
  return reinterpret_cast<float*>((a + 63) / 64 * 64);
}

// One lane group's progress state, kept out of the kernel's registers.
struct LaneProgress {
  std::int64_t clock_mask = 0;   // the clock is read every clock_mask + 1 sweeps (about kClockSpins spins)
  std::int64_t seen_epoch = 0;   // the last snapshot round this group took part in
  std::int64_t valid = 0;        // lanes holding real reads (the rest are dummies)
  std::int64_t r0 = 0;           // the group's first read
  Clock::time_point quiet_until; // no snapshot before this (its cost, kSnapshotQuiet times)
};

LaneProgress lane_progress(const Control& ctl, index_type n, std::int64_t lanes, std::int64_t r0) {
  LaneProgress lp;
  while ((lp.clock_mask + 1) * static_cast<std::int64_t>(n) < kClockSpins && lp.clock_mask < 1023)
    lp.clock_mask = lp.clock_mask * 2 + 1;
  lp.seen_epoch = ctl.epoch.load(std::memory_order_relaxed);
  lp.valid = std::min<std::int64_t>(lanes, ctl.opt->num_reads - r0);
  lp.r0 = r0;
  return lp;
}

// Progress snapshot of one lane group (S, F: n x lanes floats, fields valid): the float
// energy 0.5 sum_i s_i (f_i + h_i) of each valid lane picks the best state, whose exact
// energy is merged into ctl.best (and the state kept when it is the best seen). scratch: n int8.
void snapshot(const Prepared& P, Control& ctl, int lanes, LaneProgress& lp, const float* S, const float* F,
              spin_type* scratch, Clock::time_point now) {
  const std::int64_t valid = lp.valid;
  if (now < lp.quiet_until || valid <= 0) return;
  const index_type n = P.m->num_variables;
  double e[kLanesMax] = {};
  for (index_type i = 0; i < n; ++i) {
    const float* s = S + static_cast<std::int64_t>(i) * lanes;
    const float* f = F + static_cast<std::int64_t>(i) * lanes;
    const double h = P.h[static_cast<std::size_t>(i)];
    for (int l = 0; l < valid; ++l) e[l] += static_cast<double>(s[l]) * (static_cast<double>(f[l]) + h);
  }
  int best = 0;
  for (int l = 1; l < valid; ++l)
    if (e[l] < e[best]) best = l;
  for (index_type i = 0; i < n; ++i)
    scratch[i] = S[static_cast<std::int64_t>(i) * lanes + best] > 0.0f ? spin_type(1) : spin_type(-1);
  ctl.offer(ising_energy(*P.m, scratch), scratch, n, lp.r0 + best);
  const Clock::time_point end = Clock::now();
  lp.quiet_until = end + std::chrono::duration_cast<Clock::duration>((end - now) * kSnapshotQuiet);
}

// At a sweep boundary with valid fields (every lp.clock_mask + 1 sweeps): take part in a snapshot round, start one when due,
// and report (see anneal.hpp). Out of line, so the kernel loop keeps its registers.
__attribute__((noinline)) void progress_tick(const Prepared& P, Control& ctl, LaneProgress& lp, int lanes,
                                             std::int64_t sweep, const float* S, const float* F,
                                             spin_type* scratch) {
  const Clock::time_point now = Clock::now();
  const bool asked = ctl.claim_report(now);
  const std::int64_t ep = ctl.epoch.load(std::memory_order_relaxed);
  if (ep != lp.seen_epoch) {
    lp.seen_epoch = ep;
    snapshot(P, ctl, lanes, lp, S, F, scratch, now);
  }
  if (asked) ctl.call(sweep, false);
}

// The replica-lane kernel body: anneal reads r0 .. r0 + kLanes - 1 together, one SIMD
// lane per read (lanes beyond num_reads are dummies whose results are dropped).
// kDense: couplings from the dense float matrix P.W (n x n) instead of CSR.
// S and F are scratch of n vectors (spins and local fields / scale, one lane per read);
// out_spins (kLanes x n int8) receives the initial spins and, on return, the final ones.
// Returns the number of sweeps done.
template <int kLanes, bool kDense>
inline __attribute__((always_inline)) std::int64_t lanes_body(const Prepared& P, Control& ctl, std::int64_t r0,
                                                              const spin_type* init, float* Sbuf, float* Fbuf,
                                                              spin_type* out_spins) {
  using vf = typename Vec<kLanes>::f;
  using vi = typename Vec<kLanes>::i;
  using vu = typename Vec<kLanes>::u;
  vf* __restrict S = reinterpret_cast<vf*>(Sbuf);
  vf* __restrict F = reinterpret_cast<vf*>(Fbuf);
  const IsingCSR& m = *P.m;
  const AnnealOptions& opt = *ctl.opt;
  const index_type n = m.num_variables;
  std::uint32_t st[kLanes][4];
  for (int l = 0; l < kLanes; ++l) seed_read(opt.seed, static_cast<std::uint64_t>(r0 + l), st[l]);
  vu s0, s1, s2, s3;
  for (int l = 0; l < kLanes; ++l) {
    s0[l] = st[l][0];
    s1[l] = st[l][1];
    s2[l] = st[l][2];
    s3[l] = st[l][3];
  }
  for (int l = 0; l < kLanes; ++l) {
    spin_type* row = out_spins + static_cast<std::int64_t>(l) * n;
    const std::int64_t r = r0 + l;
    if (init && r < opt.num_reads)
      std::memcpy(row, init + r * static_cast<std::int64_t>(n), static_cast<std::size_t>(n));
    else
      random_spins(opt.seed, static_cast<std::uint64_t>(r), n, row);
  }
  for (index_type i = 0; i < n; ++i) {
    vf s;
    for (int l = 0; l < kLanes; ++l) s[l] = static_cast<float>(out_spins[static_cast<std::int64_t>(l) * n + i]);
    S[i] = s;
  }
  const index_type* __restrict row_ptr = m.row_ptr;
  const index_type* __restrict col = m.col;
  const float* __restrict J = P.J.data();
  const float* __restrict W = P.W.data();
  const float* __restrict hs = P.h.data();
  LaneProgress progress;
  if (ctl.report) progress = lane_progress(ctl, n, kLanes, r0);
  std::int64_t sweep = 0;
  for (; sweep < opt.num_sweeps; ++sweep) {
    if (ctl.should_stop()) break;
    if (sweep % kRefresh == 0) {
      // Recompute the fields from scratch so float rounding cannot drift.
      for (index_type i = 0; i < n; ++i) {
        vf acc = hs[i] + vf{};
        if constexpr (kDense) {
          const float* __restrict w = W + static_cast<std::int64_t>(i) * n;
          for (index_type j = 0; j < n; ++j) acc += w[j] * S[j];
        } else {
          for (index_type k = row_ptr[i]; k < row_ptr[i + 1]; ++k) acc += J[k] * S[col[k]];
        }
        F[i] = acc;
      }
    }
    // fields are valid here; out_spins is free until the final spins are written back below
    if (ctl.report && (sweep & progress.clock_mask) == 0)
      progress_tick(P, ctl, progress, kLanes, sweep, Sbuf, Fbuf, out_spins);
    const float b = P.beta2[static_cast<std::size_t>(sweep)];
    for (index_type i = 0; i < n; ++i) {
      const vf s = S[i];
      const vf x = (-2.0f * s * F[i]) * b;  // beta * dE / ln 2
      // xoshiro128+ step in every lane
      const vu res = s0 + s3;
      const vu t = s1 << 9;
      s2 ^= s0;
      s3 ^= s1;
      s1 ^= s2;
      s0 ^= s3;
      s2 ^= t;
      s3 = (s3 << 11) | (s3 >> 21);
      // -log2(u), u in (0, 1]
      const vf u = __builtin_convertvector((vi)((res >> 8) + 1u), vf) * 0x1p-24f;
      const vi ub = (vi)u;
      const vf e = __builtin_convertvector(((ub >> 23) & 255) - 127, vf);
      const vf mt = (vf)((ub & 0x7fffff) | 0x3f800000) - 1.0f;
      const vf nl = -(e + QOPT_LOG2_POLY(mt));
      const vi accept = x <= nl;  // Metropolis: accept iff beta dE <= -ln u
      std::uint64_t bits[kLanes / 2];  // any lane accepted?
      std::memcpy(bits, &accept, sizeof accept);
      std::uint64_t any = 0;
      for (int k = 0; k < kLanes / 2; ++k) any |= bits[k];
      if (any) {
        const vf d = (vf)((vi)(-2.0f * s) & accept);  // change of s_i in accepting lanes, else 0
        S[i] = s + d;
        if constexpr (kDense) {
          const float* __restrict w = W + static_cast<std::int64_t>(i) * n;
          for (index_type j = 0; j < n; ++j) F[j] += w[j] * d;
        } else {
          const index_type kend = row_ptr[i + 1];
          for (index_type k = row_ptr[i]; k < kend; ++k) F[col[k]] += J[k] * d;
        }
      }
    }
  }
  for (index_type i = 0; i < n; ++i)
    for (int l = 0; l < kLanes; ++l)
      out_spins[static_cast<std::int64_t>(l) * n + i] = S[i][l] > 0.0f ? spin_type(1) : spin_type(-1);
  return sweep;
}

using LanesFn = std::int64_t (*)(const Prepared&, Control&, std::int64_t, const spin_type*, float*, float*,
                                 spin_type*);

#define QOPT_LANES_FN(NAME, LANES, DENSE)                                                                    \
  QOPT_CLONES std::int64_t NAME(const Prepared& P, Control& ctl, std::int64_t r0, const spin_type* init, float* S, \
                                float* F, spin_type* out_spins) {                                            \
    return lanes_body<LANES, DENSE>(P, ctl, r0, init, S, F, out_spins);                                      \
  }
QOPT_LANES_FN(anneal_sparse16, 16, false)
QOPT_LANES_FN(anneal_sparse8, 8, false)
QOPT_LANES_FN(anneal_sparse4, 4, false)
QOPT_LANES_FN(anneal_dense8, 8, true)
QOPT_LANES_FN(anneal_dense4, 4, true)
#undef QOPT_LANES_FN

// Lanes per group: the widest kernel the model allows (16 sparse, 8 dense), narrowed
// to 8 or 4 when there are only that many reads (no work is spent on dummy lanes).
// A read's arithmetic does not depend on the lane count, so neither do the results.
int lanes_for(bool dense, std::int64_t num_reads) {
  const int widest = dense ? kLanesDense : kLanesSparse;
  if (num_reads <= 4) return 4;
  if (num_reads <= 8) return std::min(8, widest);
  return widest;
}

LanesFn lanes_kernel(bool dense, int lanes) {
  if (dense) return lanes == 4 ? anneal_dense4 : anneal_dense8;
  return lanes == 4 ? anneal_sparse4 : lanes == 8 ? anneal_sparse8 : anneal_sparse16;
}

}  // namespace

void validate_csr(const IsingCSR& m) {
  if (m.num_variables < 0) throw std::invalid_argument("num_variables must be >= 0");
  if (m.num_variables == 0) return;
  if (!m.h || !m.row_ptr) throw std::invalid_argument("h and row_ptr must be given");
  if (m.row_ptr[0] != 0) throw std::invalid_argument("row_ptr[0] must be 0");
  for (index_type i = 0; i < m.num_variables; ++i) {
    if (m.row_ptr[i + 1] < m.row_ptr[i])
      throw std::invalid_argument("row_ptr must be non-decreasing (row " + std::to_string(i) + ")");
    if (!std::isfinite(m.h[i])) throw std::invalid_argument("h must be finite (variable " + std::to_string(i) + ")");
    for (index_type k = m.row_ptr[i]; k < m.row_ptr[i + 1]; ++k) {
      const index_type j = m.col[k];
      if (j < 0 || j >= m.num_variables)
        throw std::invalid_argument("col index out of range in row " + std::to_string(i));
      if (j == i) throw std::invalid_argument("self-loop on variable " + std::to_string(i));
      if (!std::isfinite(m.J[k])) throw std::invalid_argument("J must be finite (row " + std::to_string(i) + ")");
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
  for (std::int64_t k = 0; k < opt.num_sweeps; ++k)
    if (!std::isfinite(opt.betas[k]) || opt.betas[k] < 0.0)
      throw std::invalid_argument("betas must be finite and >= 0");
  if (opt.progress && !(std::isfinite(opt.progress_interval) && opt.progress_interval > 0.0))
    throw std::invalid_argument("progress_interval must be finite and > 0");
  if (opt.use_initial_states)
    for (std::int64_t k = 0; k < opt.num_reads * static_cast<std::int64_t>(m.num_variables); ++k)
      if (states[k] != 1 && states[k] != -1) throw std::invalid_argument("initial states must hold only -1 and +1");

  const Clock::time_point start = Clock::now();
  const index_type n = m.num_variables;
  AnnealStats stats;
  if (opt.num_reads == 0) return stats;

  // Prepare the float model.
  Prepared P;
  P.m = &m;
  const std::int64_t nnz = n > 0 ? m.row_ptr[n] : 0;
  double scale = 0.0;
  for (index_type i = 0; i < n; ++i) scale = std::max(scale, std::fabs(m.h[i]));
  for (std::int64_t k = 0; k < nnz; ++k) scale = std::max(scale, std::fabs(m.J[k]));
  if (!(scale > 0.0)) scale = 1.0;
  P.scale = scale;
  P.beta2.resize(static_cast<std::size_t>(opt.num_sweeps));
  for (std::int64_t k = 0; k < opt.num_sweeps; ++k)
    P.beta2[static_cast<std::size_t>(k)] = static_cast<float>(opt.betas[k] * scale * 1.4426950408889634);

  P.h.resize(static_cast<std::size_t>(n));
  for (index_type i = 0; i < n; ++i) P.h[static_cast<std::size_t>(i)] = static_cast<float>(m.h[i] / scale);
  bool dense = false;
  if (opt.kernel == AnnealKernel::dense) dense = n > 0;
  else if (opt.kernel == AnnealKernel::automatic)
    dense = n > 0 && n <= kDenseMaxN && static_cast<double>(nnz) >= opt.dense_fraction * n * static_cast<double>(n);
  if (dense) {
    P.W.assign(static_cast<std::size_t>(n) * static_cast<std::size_t>(n), 0.0f);
    for (index_type i = 0; i < n; ++i)
      for (index_type k = m.row_ptr[i]; k < m.row_ptr[i + 1]; ++k)
        P.W[static_cast<std::size_t>(i) * n + m.col[k]] += static_cast<float>(m.J[k] / scale);
  } else {
    P.J.resize(static_cast<std::size_t>(nnz));
    for (std::int64_t k = 0; k < nnz; ++k) P.J[static_cast<std::size_t>(k)] = static_cast<float>(m.J[k] / scale);
  }

  Control ctl;
  ctl.opt = &opt;
  ctl.arm(opt.time_limit, opt.interrupt);
  ctl.report = static_cast<bool>(opt.progress);
  ctl.start = start;
  ctl.interval_ns = static_cast<std::int64_t>(std::min(opt.progress_interval, 1e9) * 1e9);
  ctl.next_due_ns.store(ctl.interval_ns);

  const int lanes = lanes_for(dense, opt.num_reads);
  const LanesFn kernel = lanes_kernel(dense, lanes);
  const std::int64_t kLanes = lanes;
  const std::int64_t num_units = (opt.num_reads + kLanes - 1) / kLanes;
  std::vector<std::int64_t> unit_sweeps(static_cast<std::size_t>(num_units), -1);  // -1: not started
  std::atomic<std::int64_t> next_unit{0};
  const spin_type* init = opt.use_initial_states ? states : nullptr;

  auto worker = [&]() {
    std::vector<float> Sraw(static_cast<std::size_t>(n + 1) * kLanesMax), Fraw(static_cast<std::size_t>(n + 1) * kLanesMax);
    float* S = align64(Sraw.data());
    float* F = align64(Fraw.data());
    std::vector<spin_type> lane_spins(static_cast<std::size_t>(kLanesMax) * static_cast<std::size_t>(n));
    std::vector<double> field(static_cast<std::size_t>(n));
    for (;;) {
      const std::int64_t u = next_unit.fetch_add(1);
      if (u >= num_units) break;
      if (u > 0 && ctl.should_stop()) break;  // the first unit always starts
      const std::int64_t r0 = u * kLanes;
      const std::int64_t r1 = std::min(opt.num_reads, r0 + kLanes);
      const std::int64_t done = kernel(P, ctl, r0, init, S, F, lane_spins.data());
      for (std::int64_t r = r0; r < r1; ++r)
        std::memcpy(states + r * static_cast<std::int64_t>(n),
                    lane_spins.data() + (r - r0) * static_cast<std::int64_t>(n), static_cast<std::size_t>(n));
      double unit_best = std::numeric_limits<double>::infinity();
      for (std::int64_t r = r0; r < r1; ++r) {
        spin_type* s = states + r * static_cast<std::int64_t>(n);
        if (opt.polish) steepest_descent_one(m, s, field.data());
        energies[r] = ising_energy(m, s);
        unit_best = std::min(unit_best, energies[r]);
      }
      if (ctl.report) ctl.merge(unit_best);
      unit_sweeps[static_cast<std::size_t>(u)] = done;
    }
  };

  detail::run_on_threads(opt.num_threads, num_units, worker);
  std::int64_t started_units = 0;
  std::int64_t min_sweeps = opt.num_sweeps;
  while (started_units < num_units && unit_sweeps[static_cast<std::size_t>(started_units)] >= 0) {
    min_sweeps = std::min(min_sweeps, unit_sweeps[static_cast<std::size_t>(started_units)]);
    ++started_units;
  }
  stats.num_started = std::min(opt.num_reads, started_units * kLanes);
  stats.sweeps_done_min = min_sweeps;
  if (ctl.report && ctl.seen_read >= 0 && ctl.seen_read < stats.num_started &&
      ctl.seen_energy < energies[ctl.seen_read]) {
    // The read's snapshot beat its final state: it returns that state, so no energy reported is
    // better than the result's best.
    spin_type* s = states + ctl.seen_read * static_cast<std::int64_t>(n);
    std::memcpy(s, ctl.seen_state.data(), static_cast<std::size_t>(n));
    std::vector<double> field(static_cast<std::size_t>(n));
    if (opt.polish) steepest_descent_one(m, s, field.data());
    energies[ctl.seen_read] = ising_energy(m, s);
    stats.snapshot_read = ctl.seen_read;
  }
  if (ctl.report) {
    double returned_best = std::numeric_limits<double>::infinity();  // of the returned reads
    for (std::int64_t r = 0; r < stats.num_started; ++r) returned_best = std::min(returned_best, energies[r]);
    ctl.merge(returned_best);
    ctl.call(min_sweeps, true);
    if (ctl.error) std::rethrow_exception(ctl.error);
  }
  stats.stopped_early = ctl.stopped.load();
  stats.interrupted = ctl.interrupted.load();
  stats.dense = dense;
  return stats;
}

}  // namespace qopt
