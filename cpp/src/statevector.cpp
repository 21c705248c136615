// QAOA statevector engine (see qopt/statevector.hpp for the maths and storage contract).
#include "qopt/statevector.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <fstream>
#include <map>
#include <random>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <cstdlib>
#include <new>
#include <type_traits>
#if defined(__linux__)
#include <sys/mman.h>
#endif
#include <utility>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && defined(__linux__)
// Compile the hot kernels for AVX-512, AVX2+FMA and baseline x86-64; the loader picks one.
#define QOPT_SIMD __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define QOPT_SIMD
#endif
#if defined(__GNUC__) && !defined(__clang__)
#define QOPT_IVDEP _Pragma("GCC ivdep")
#else
#define QOPT_IVDEP
#endif
#if defined(__GNUC__)
#define QOPT_INLINE inline __attribute__((always_inline))
#else
#define QOPT_INLINE inline
#endif

namespace qopt {
namespace {

#ifndef QOPT_G
#define QOPT_G 2  // bits per sweep at L1-conflicting power-of-two strides (3 thrashes L1)
#endif
#ifndef QOPT_BLOCK_BITS
#define QOPT_BLOCK_BITS 16
#endif
#ifndef QOPT_GATHER_BITS
#define QOPT_GATHER_BITS 16
#endif
constexpr int kBlockBits = QOPT_BLOCK_BITS;    // 2^16 amplitudes * 16 bytes = 1 MiB per block (L2)
constexpr int kGatherBits = QOPT_GATHER_BITS;  // target size of a strided gather buffer (amplitudes)
constexpr int kMinChunkBits = 5;        // >= 32 contiguous doubles (4 cache lines) per gathered row
constexpr std::size_t kStreamMin = std::size_t{1} << 24;  // states this large are written with NT stores
constexpr std::size_t kParallelMin = std::size_t{1} << 15;  // smaller states run on one thread

template <class F>
void parallel_for(std::size_t count, int threads, F&& f) {
  const std::size_t t = std::min<std::size_t>(static_cast<std::size_t>(std::max(threads, 1)), count);
  if (t <= 1) {
    if (count) f(std::size_t{0}, count, 0);
    return;
  }
  std::vector<std::thread> pool;
  pool.reserve(t - 1);
  for (std::size_t i = 1; i < t; ++i)
    pool.emplace_back([&f, count, t, i] { f(count * i / t, count * (i + 1) / t, static_cast<int>(i)); });
  f(std::size_t{0}, count / t, 0);
  for (auto& th : pool) th.join();
}

// ---------------------------------------------------------------- kernels
// e^{-i beta X} on a pair (a, b): a' = c a - i s b, b' = c b - i s a, with c = cos beta, s = sin beta.
#define QOPT_ROT(ar, ai, br, bi)            \
  do {                                      \
    const double t_ar = ar, t_ai = ai;      \
    ar = c * t_ar + s * bi;                 \
    ai = c * t_ai - s * br;                 \
    const double t_br = br;                 \
    br = c * t_br + s * t_ai;               \
    bi = c * bi - s * t_ar;                 \
  } while (0)

// Rotation policies for a pair (a, b) of amplitudes.
// Exact e^{-i beta X}: a' = c a - i s b, b' = c b - i s a.
struct RotStd {
  double c, s;
  QOPT_INLINE void operator()(double& ar, double& ai, double& br, double& bi) const {
    const double xr = ar, xi = ai, yr = br, yi = bi;
    ar = c * xr + s * yi;
    ai = c * xi - s * yr;
    br = c * yr + s * xi;
    bi = c * yi - s * xr;
  }
};
// Unnormalised forms with one FMA per output (Kform = false: (I - i t X), t = tan beta, factor
// cos beta dropped; Kform = true: (k I - i X), k = cot beta, factor sin beta dropped). The
// caller keeps the dropped factors (one real number per layer).
template <bool Kform>
struct RotScaled {
  double x;
  QOPT_INLINE void operator()(double& ar, double& ai, double& br, double& bi) const {
    const double xr = ar, xi = ai, yr = br, yi = bi;
    if constexpr (!Kform) {
      ar = xr + x * yi;
      ai = xi - x * yr;
      br = yr + x * xi;
      bi = yi - x * xr;
    } else {
      ar = x * xr + yi;
      ai = x * xi - yr;
      br = x * yr + xi;
      bi = x * yi - xr;
    }
  }
};

template <class Rot>
QOPT_INLINE void rx1p(double* __restrict re, double* __restrict im, std::size_t L, int q, const Rot& rot) {
  const std::size_t st = std::size_t{1} << q;
  for (std::size_t base = 0; base < L; base += 2 * st) {
    double* __restrict r0 = re + base;
    double* __restrict i0 = im + base;
    QOPT_IVDEP
    for (std::size_t j = 0; j < st; ++j) {
      double ar = r0[j], ai = i0[j], br = r0[j + st], bi = i0[j + st];
      rot(ar, ai, br, bi);
      r0[j] = ar; i0[j] = ai; r0[j + st] = br; i0[j + st] = bi;
    }
  }
}

template <class Rot>
QOPT_INLINE void rx2p(double* __restrict re, double* __restrict im, std::size_t L, int q, const Rot& rot) {
  const std::size_t st = std::size_t{1} << q;
  for (std::size_t base = 0; base < L; base += 4 * st) {
    double* __restrict r0 = re + base;
    double* __restrict i0 = im + base;
    QOPT_IVDEP
    for (std::size_t j = 0; j < st; ++j) {
      double ar[4], ai[4];
      for (int m = 0; m < 4; ++m) { ar[m] = r0[j + m * st]; ai[m] = i0[j + m * st]; }
      rot(ar[0], ai[0], ar[1], ai[1]);
      rot(ar[2], ai[2], ar[3], ai[3]);
      rot(ar[0], ai[0], ar[2], ai[2]);
      rot(ar[1], ai[1], ar[3], ai[3]);
      for (int m = 0; m < 4; ++m) { r0[j + m * st] = ar[m]; i0[j + m * st] = ai[m]; }
    }
  }
}

template <class Rot>
QOPT_INLINE void rx3p(double* __restrict re, double* __restrict im, std::size_t L, int q, const Rot& rot) {
  const std::size_t st = std::size_t{1} << q;
  for (std::size_t base = 0; base < L; base += 8 * st) {
    double* __restrict r0 = re + base;
    double* __restrict i0 = im + base;
    QOPT_IVDEP
    for (std::size_t j = 0; j < st; ++j) {
      double ar[8], ai[8];
      for (int m = 0; m < 8; ++m) { ar[m] = r0[j + m * st]; ai[m] = i0[j + m * st]; }
      rot(ar[0], ai[0], ar[1], ai[1]);
      rot(ar[2], ai[2], ar[3], ai[3]);
      rot(ar[4], ai[4], ar[5], ai[5]);
      rot(ar[6], ai[6], ar[7], ai[7]);
      rot(ar[0], ai[0], ar[2], ai[2]);
      rot(ar[1], ai[1], ar[3], ai[3]);
      rot(ar[4], ai[4], ar[6], ai[6]);
      rot(ar[5], ai[5], ar[7], ai[7]);
      rot(ar[0], ai[0], ar[4], ai[4]);
      rot(ar[1], ai[1], ar[5], ai[5]);
      rot(ar[2], ai[2], ar[6], ai[6]);
      rot(ar[3], ai[3], ar[7], ai[7]);
      for (int m = 0; m < 8; ++m) { r0[j + m * st] = ar[m]; i0[j + m * st] = ai[m]; }
    }
  }
}


QOPT_INLINE void rx1(double* re, double* im, std::size_t L, int q, double c, double s) { rx1p(re, im, L, q, RotStd{c, s}); }
QOPT_INLINE void rx2(double* re, double* im, std::size_t L, int q, double c, double s) { rx2p(re, im, L, q, RotStd{c, s}); }
QOPT_INLINE void rx3(double* re, double* im, std::size_t L, int q, double c, double s) { rx3p(re, im, L, q, RotStd{c, s}); }

template <bool K, int G = 3>
QOPT_INLINE void rxu_range(double* re, double* im, std::size_t L, int lo, int hi, double x) {
  const RotScaled<K> rot{x};
  int q = lo;
  while (q < hi) {
    const int r = std::min(G, hi - q);
    if (r == 3) rx3p(re, im, L, q, rot);
    else if (r == 2) rx2p(re, im, L, q, rot);
    else rx1p(re, im, L, q, rot);
    q += r;
  }
}

// e^{-i beta X} on every bit in [lo, hi) of a local buffer of length L (three bits per sweep).
QOPT_INLINE void rx_range(double* re, double* im, std::size_t L, int lo, int hi, double c, double s) {
  int q = lo;
  while (q < hi) {
    const int r = std::min(3, hi - q);
    if (r == 3) rx3(re, im, L, q, c, s);
    else if (r == 2) rx2(re, im, L, q, c, s);
    else rx1(re, im, L, q, c, s);
    q += r;
  }
}

// e^{-i beta X} on bits 0, 1, 2 of a buffer (L a multiple of 8): eight contiguous amplitudes
// form one vector; partners are found by lane permutations.
typedef double v8d __attribute__((vector_size(64)));
typedef long long v8i __attribute__((vector_size(64)));
#if defined(__clang__)
#define QOPT_SHUF(v, a, b, c, d, e, f, g, h) __builtin_shufflevector(v, v, a, b, c, d, e, f, g, h)
#else
#define QOPT_SHUF(v, a, b, c, d, e, f, g, h) __builtin_shuffle(v, v8i{a, b, c, d, e, f, g, h})
#endif
QOPT_INLINE void rx_low3(double* __restrict re, double* __restrict im, std::size_t L, double c, double s) {
  const v8d vc = {c, c, c, c, c, c, c, c};
  const v8d vs = {s, s, s, s, s, s, s, s};
  for (std::size_t j = 0; j < L; j += 8) {
    v8d r, i;
    std::memcpy(&r, re + j, sizeof r);
    std::memcpy(&i, im + j, sizeof i);
    v8d rs = QOPT_SHUF(r, 1, 0, 3, 2, 5, 4, 7, 6), is = QOPT_SHUF(i, 1, 0, 3, 2, 5, 4, 7, 6);
    v8d nr = vc * r + vs * is, ni = vc * i - vs * rs;
    rs = QOPT_SHUF(nr, 2, 3, 0, 1, 6, 7, 4, 5);
    is = QOPT_SHUF(ni, 2, 3, 0, 1, 6, 7, 4, 5);
    r = vc * nr + vs * is;
    i = vc * ni - vs * rs;
    rs = QOPT_SHUF(r, 4, 5, 6, 7, 0, 1, 2, 3);
    is = QOPT_SHUF(i, 4, 5, 6, 7, 0, 1, 2, 3);
    nr = vc * r + vs * is;
    ni = vc * i - vs * rs;
    std::memcpy(re + j, &nr, sizeof nr);
    std::memcpy(im + j, &ni, sizeof ni);
  }
}

// e^{-i beta X} on every bit in [lo, hi) of a buffer of length L = 2^bits (bits >= hi).
QOPT_INLINE void rx_all(double* re, double* im, std::size_t L, int lo, int hi, double c, double s) {
  if (lo == 0 && hi >= 3 && L >= 8) {
    rx_low3(re, im, L, c, s);
    rx_range(re, im, L, 3, hi, c, s);
  } else {
    rx_range(re, im, L, lo, hi, c, s);
  }
}

template <bool K>
QOPT_INLINE void rxu_low3(double* __restrict re, double* __restrict im, std::size_t L, double x) {
  const v8d vx = {x, x, x, x, x, x, x, x};
  for (std::size_t j = 0; j < L; j += 8) {
    v8d r, i;
    std::memcpy(&r, re + j, sizeof r);
    std::memcpy(&i, im + j, sizeof i);
    v8d rs = QOPT_SHUF(r, 1, 0, 3, 2, 5, 4, 7, 6), is = QOPT_SHUF(i, 1, 0, 3, 2, 5, 4, 7, 6);
    if constexpr (!K) { r = r + vx * is; i = i - vx * rs; } else { r = vx * r + is; i = vx * i - rs; }
    rs = QOPT_SHUF(r, 2, 3, 0, 1, 6, 7, 4, 5);
    is = QOPT_SHUF(i, 2, 3, 0, 1, 6, 7, 4, 5);
    if constexpr (!K) { r = r + vx * is; i = i - vx * rs; } else { r = vx * r + is; i = vx * i - rs; }
    rs = QOPT_SHUF(r, 4, 5, 6, 7, 0, 1, 2, 3);
    is = QOPT_SHUF(i, 4, 5, 6, 7, 0, 1, 2, 3);
    if constexpr (!K) { r = r + vx * is; i = i - vx * rs; } else { r = vx * r + is; i = vx * i - rs; }
    std::memcpy(re + j, &r, sizeof r);
    std::memcpy(im + j, &i, sizeof i);
  }
}

// Unnormalised mixer on bits [lo, hi) (see RotScaled); L1-sized sub-blocks first when lo == 0.
struct MixArgs {
  double x;
  bool kform;
};
template <bool K>
QOPT_INLINE void rxu_all_k(double* re, double* im, std::size_t L, int lo, int hi, double x) {
  constexpr int kL1Bits = 10;  // 2^10 amplitudes = 16 KiB (re + im): L1-resident sub-block
  if (lo == 0 && hi >= 3 && L >= 8) {
    const int sub = std::min(hi, kL1Bits);
    const std::size_t SL = std::size_t{1} << sub;
    for (std::size_t o = 0; o < L; o += SL) {
      rxu_low3<K>(re + o, im + o, SL, x);
      rxu_range<K>(re + o, im + o, SL, 3, sub, x);
    }
    rxu_range<K, QOPT_G>(re, im, L, sub, hi, x);
  } else {
    rxu_range<K, QOPT_G>(re, im, L, lo, hi, x);
  }
}
QOPT_INLINE void rxu_all(double* re, double* im, std::size_t L, int lo, int hi, const MixArgs& m) {
  if (m.kform) rxu_all_k<true>(re, im, L, lo, hi, m.x);
  else rxu_all_k<false>(re, im, L, lo, hi, m.x);
}

// Copy with non-temporal stores (the destination is not read again soon).
QOPT_INLINE void stream_copy(double* __restrict dst, const double* __restrict src, std::size_t L) {
#if defined(__SSE2__)
  if ((reinterpret_cast<std::uintptr_t>(dst) & 15U) == 0 && (L & 1U) == 0) {
    for (std::size_t j = 0; j < L; j += 2) _mm_stream_pd(dst + j, _mm_loadu_pd(src + j));
    return;
  }
#endif
  std::memcpy(dst, src, L * sizeof(double));
}

// sin and cos of x for |x| < 2^20 * pi/2 (fdlibm kernels, Cody-Waite reduction); branch-free.
QOPT_INLINE void fast_sincos(double x, double& sn, double& cs) {
  constexpr double kTwoOverPi = 6.36619772367581382433e-01;
  constexpr double kPio2Hi = 1.57079632673412561417e+00;  // first 33 bits of pi/2
  constexpr double kPio2Lo = 6.07710050650619224932e-11;  // pi/2 - kPio2Hi
  constexpr double kRound = 6755399441055744.0;            // 1.5 * 2^52
  const double k = (x * kTwoOverPi + kRound) - kRound;     // nearest integer
  const double r = (x - k * kPio2Hi) - k * kPio2Lo;        // |r| <= pi/4 (+ tiny)
  const double z = r * r;
  const double sp = r + r * z * (-1.66666666666666324348e-01 +
                                 z * (8.33333333332248946124e-03 +
                                      z * (-1.98412698298579493134e-04 +
                                           z * (2.75573137070700676789e-06 +
                                                z * (-2.50507602534068634195e-08 + z * 1.58969099521155010221e-10)))));
  const double cp = 1.0 - 0.5 * z + z * z * (4.16666666666666019037e-02 +
                                             z * (-1.38888888888741095749e-03 +
                                                  z * (2.48015872894767294178e-05 +
                                                       z * (-2.75573143513906633035e-07 +
                                                            z * (2.08757232129817482790e-09 +
                                                                 z * -1.13596475577881948265e-11)))));
  const double q = k - 4.0 * std::floor(k * 0.25);  // quadrant in {0, 1, 2, 3}
  const bool odd = (q == 1.0) || (q == 3.0);
  const double s0 = odd ? cp : sp;
  const double c0 = odd ? sp : cp;
  sn = (q >= 2.0) ? -s0 : s0;
  cs = (q == 1.0 || q == 2.0) ? -c0 : c0;
}

// ---- kernels compiled per instruction set (QOPT_SIMD); everything hot is inlined into them.

// Phases (cos, sin of gamma * cost) and costs for L entries of double costs.
QOPT_SIMD void k_fill_double(const double* __restrict cost, std::size_t L, double gamma, double* __restrict pc,
                             double* __restrict ps, double* __restrict cv) {
  double amax = 0.0;
  for (std::size_t j = 0; j < L; ++j) amax = std::max(amax, std::fabs(gamma * cost[j]));
  if (pc) {
    if (amax < 1.0e6) {
      for (std::size_t j = 0; j < L; ++j) fast_sincos(gamma * cost[j], ps[j], pc[j]);
    } else {
      for (std::size_t j = 0; j < L; ++j) {
        ps[j] = std::sin(gamma * cost[j]);
        pc[j] = std::cos(gamma * cost[j]);
      }
    }
  }
  if (cv) std::memcpy(cv, cost, L * sizeof(double));
}

template <class I>
QOPT_INLINE void fill_compact(const I* __restrict idx, std::size_t L, const double* __restrict tc,
                         const double* __restrict ts, const double* __restrict tv, double* __restrict pc,
                         double* __restrict ps, double* __restrict cv) {
  if (pc)
    for (std::size_t j = 0; j < L; ++j) { pc[j] = tc[idx[j]]; ps[j] = ts[idx[j]]; }
  if (cv)
    for (std::size_t j = 0; j < L; ++j) cv[j] = tv[idx[j]];
}
QOPT_SIMD void k_fill_u8(const std::uint8_t* idx, std::size_t L, const double* tc, const double* ts, const double* tv,
                         double* pc, double* ps, double* cv) {
  fill_compact(idx, L, tc, ts, tv, pc, ps, cv);
}
QOPT_SIMD void k_fill_u16(const std::uint16_t* idx, std::size_t L, const double* tc, const double* ts,
                          const double* tv, double* pc, double* ps, double* cv) {
  fill_compact(idx, L, tc, ts, tv, pc, ps, cv);
}

// Forward block, templated on the cost storage (uint8/uint16 table indices or doubles):
// (init |+> or take the state) * e^{-i gamma c}, mix bits [0, bits); returns sum |psi|^2 c when want_e.
struct PhaseArgs {
  const double* tc;  // cos(gamma * table value), compact costs
  const double* ts;  // sin(gamma * table value)
  const double* tv;  // table values
  double gamma;      // double costs
  bool fast;         // |gamma c| small enough for fast_sincos
};
template <class T>
QOPT_INLINE void phase_apply_t(double* __restrict re, double* __restrict im, std::size_t L,
                               const T* __restrict cost, const PhaseArgs& ph, double init_norm) {
  const double* __restrict tc = ph.tc;
  const double* __restrict ts = ph.ts;
  const double g = ph.gamma;
  if constexpr (std::is_same_v<T, double>) {
    if (!ph.fast) {
      for (std::size_t j = 0; j < L; ++j) {
        const double pc = std::cos(g * cost[j]), ps = std::sin(g * cost[j]);
        const double a = init_norm > 0.0 ? init_norm : re[j], b = init_norm > 0.0 ? 0.0 : im[j];
        re[j] = a * pc + b * ps;
        im[j] = b * pc - a * ps;
      }
    } else if (init_norm > 0.0) {
      for (std::size_t j = 0; j < L; ++j) {
        double pc, ps;
        fast_sincos(g * cost[j], ps, pc);
        re[j] = init_norm * pc;
        im[j] = -init_norm * ps;
      }
    } else {
      for (std::size_t j = 0; j < L; ++j) {
        double pc, ps;
        fast_sincos(g * cost[j], ps, pc);
        const double a = re[j], b = im[j];
        re[j] = a * pc + b * ps;
        im[j] = b * pc - a * ps;
      }
    }
  } else {
    if (init_norm > 0.0) {
      for (std::size_t j = 0; j < L; ++j) {
        re[j] = init_norm * tc[cost[j]];
        im[j] = -init_norm * ts[cost[j]];
      }
    } else {
      for (std::size_t j = 0; j < L; ++j) {
        const double pc = tc[cost[j]], ps = ts[cost[j]];
        const double a = re[j], b = im[j];
        re[j] = a * pc + b * ps;
        im[j] = b * pc - a * ps;
      }
    }
  }
}

QOPT_SIMD void k_stream_out(double* dst_re, double* dst_im, const double* re, const double* im, std::size_t L) {
  stream_copy(dst_re, re, L);
  stream_copy(dst_im, im, L);
}
// Gather rows t * row_stride + [0, W) of src into dst[t * W + ...] for t < H (and back).
QOPT_SIMD void k_gather(double* __restrict dst, const double* __restrict src, std::size_t H, std::size_t W,
                        std::size_t row_stride) {
  for (std::size_t t = 0; t < H; ++t) {
    const double* __restrict a = src + t * row_stride;
    double* __restrict b = dst + t * W;
    for (std::size_t j = 0; j < W; ++j) b[j] = a[j];
  }
}
QOPT_SIMD void k_scatter(double* __restrict dst, const double* __restrict src, std::size_t H, std::size_t W,
                         std::size_t row_stride) {
  for (std::size_t t = 0; t < H; ++t) {
    const double* __restrict a = src + t * W;
    double* __restrict b = dst + t * row_stride;
    for (std::size_t j = 0; j < W; ++j) b[j] = a[j];
  }
}

// sum_j (re_j^2 + im_j^2) v(j) with eight partial sums (vectorisable without -ffast-math).
template <class V>
QOPT_INLINE double energy_sum(const double* __restrict re, const double* __restrict im, std::size_t L, V&& v) {
  double a[8] = {0, 0, 0, 0, 0, 0, 0, 0};
  std::size_t j = 0;
  for (; j + 8 <= L; j += 8)
    for (int u = 0; u < 8; ++u) a[u] += (re[j + u] * re[j + u] + im[j + u] * im[j + u]) * v(j + u);
  double acc = ((a[0] + a[1]) + (a[2] + a[3])) + ((a[4] + a[5]) + (a[6] + a[7]));
  for (; j < L; ++j) acc += (re[j] * re[j] + im[j] * im[j]) * v(j);
  return acc;
}

// Fused passes. Block: [pre-mixer low bits] [phase (init |+> when init_norm > 0)] [post-mixer low
// bits] [energy]; chunk (gathered strided rows): [pre-mixer high bits] [phase] [post-mixer high bits]
// [energy]. Null pointers skip a stage. Returns sum |psi|^2 c when want_e.
template <class T>
QOPT_INLINE double block_fused_t(double* __restrict re, double* __restrict im, std::size_t L, int bits,
                                 const T* __restrict cost, const PhaseArgs* ph, double init_norm,
                                 const MixArgs* pre, const MixArgs* post, const double* __restrict tv,
                                 double* __restrict ckr, double* __restrict cki) {
  constexpr int kL1Bits = 10;
  const int sub = std::min(bits, kL1Bits);
  const std::size_t SL = std::size_t{1} << sub;
  if (pre) {
    for (std::size_t o = 0; o < L; o += SL) rxu_all(re + o, im + o, SL, 0, sub, *pre);
    rxu_all(re, im, L, sub, bits, *pre);
  }
  if (ph) {
    for (std::size_t o = 0; o < L; o += SL) {
      phase_apply_t(re + o, im + o, SL, cost + o, *ph, init_norm);
      if (ckr) {  // checkpoint: the state after the phase separator (gradient)
        std::memcpy(ckr + o, re + o, SL * sizeof(double));
        std::memcpy(cki + o, im + o, SL * sizeof(double));
      }
      if (post) rxu_all(re + o, im + o, SL, 0, sub, *post);
    }
    if (post) rxu_all(re, im, L, sub, bits, *post);
  }
  double acc = 0.0;
  if (tv) {  // energy (tv: cost table; any non-null pointer for double costs)
    if constexpr (std::is_same_v<T, double>) {
      acc = energy_sum(re, im, L, [&](std::size_t j) { return cost[j]; });
    } else {
      acc = energy_sum(re, im, L, [&](std::size_t j) { return tv[cost[j]]; });
    }
  }
  return acc;
}
template <class T>
QOPT_INLINE double chunk_fused_t(double* __restrict re, double* __restrict im, std::size_t L, int lo, int hi,
                                 const T* __restrict cost, const PhaseArgs* ph, const MixArgs* pre,
                                 const MixArgs* post, const double* __restrict tv, double* __restrict ckr,
                                 double* __restrict cki) {
  if (pre) rxu_all(re, im, L, lo, hi, *pre);
  if (ph) {
    phase_apply_t(re, im, L, cost, *ph, 0.0);
    if (ckr) {
      std::memcpy(ckr, re, L * sizeof(double));
      std::memcpy(cki, im, L * sizeof(double));
    }
    if (post) rxu_all(re, im, L, lo, hi, *post);
  }
  double acc = 0.0;
  if (tv) {  // energy (tv: cost table; any non-null pointer for double costs)
    if constexpr (std::is_same_v<T, double>) {
      acc = energy_sum(re, im, L, [&](std::size_t j) { return cost[j]; });
    } else {
      acc = energy_sum(re, im, L, [&](std::size_t j) { return tv[cost[j]]; });
    }
  }
  return acc;
}
#define QOPT_FUSED_KERNELS(SUFFIX, T)                                                                        \
  QOPT_SIMD double k_blockf_##SUFFIX(double* re, double* im, std::size_t L, int bits, const T* cost,          \
                                     const PhaseArgs* ph, double init_norm, const MixArgs* pre,             \
                                     const MixArgs* post, const double* tv, double* ckr = nullptr,           \
                                     double* cki = nullptr) {                                                \
    return block_fused_t(re, im, L, bits, cost, ph, init_norm, pre, post, tv, ckr, cki);                    \
  }                                                                                                          \
  QOPT_SIMD double k_chunkf_##SUFFIX(double* re, double* im, std::size_t L, int lo, int hi, const T* cost,   \
                                     const PhaseArgs* ph, const MixArgs* pre, const MixArgs* post,          \
                                     const double* tv, double* ckr = nullptr, double* cki = nullptr) {       \
    return chunk_fused_t(re, im, L, lo, hi, cost, ph, pre, post, tv, ckr, cki);                             \
  }
QOPT_FUSED_KERNELS(u8, std::uint8_t)
QOPT_FUSED_KERNELS(u16, std::uint16_t)
QOPT_FUSED_KERNELS(f64, double)

// Gradient helper: for every bit in [lo, hi), accumulate Im <lam|X_q|psi>, then rotate both
// states by e^{-i beta X_q} (c, s given for -beta by the caller).
// One sweep over bit q of both states: accumulate Im <lam|X_q|psi> and rotate both by the
// exact e^{-i beta X} (c, s). Eight partial sums when the contiguous run allows it.
QOPT_INLINE double xrot_bit(double* __restrict pr, double* __restrict pi, double* __restrict lr,
                            double* __restrict li, std::size_t L, int q, double c, double s) {
  const std::size_t st = std::size_t{1} << q;
  const RotStd rot{c, s};
  double a[8] = {0, 0, 0, 0, 0, 0, 0, 0};
  for (std::size_t base = 0; base < L; base += 2 * st) {
    if (st >= 8) {
      for (std::size_t j0 = base; j0 < base + st; j0 += 8) {
        QOPT_IVDEP
        for (int u = 0; u < 8; ++u) {
          const std::size_t j = j0 + static_cast<std::size_t>(u), k = j + st;
          double par = pr[j], pai = pi[j], pbr = pr[k], pbi = pi[k];
          double lar = lr[j], lai = li[j], lbr = lr[k], lbi = li[k];
          a[u] += lar * pbi - lai * pbr + lbr * pai - lbi * par;
          rot(par, pai, pbr, pbi);
          rot(lar, lai, lbr, lbi);
          pr[j] = par; pi[j] = pai; pr[k] = pbr; pi[k] = pbi;
          lr[j] = lar; li[j] = lai; lr[k] = lbr; li[k] = lbi;
        }
      }
    } else {
      for (std::size_t j = base; j < base + st; ++j) {
        const std::size_t k = j + st;
        double par = pr[j], pai = pi[j], pbr = pr[k], pbi = pi[k];
        double lar = lr[j], lai = li[j], lbr = lr[k], lbi = li[k];
        a[0] += lar * pbi - lai * pbr + lbr * pai - lbi * par;
        rot(par, pai, pbr, pbi);
        rot(lar, lai, lbr, lbi);
        pr[j] = par; pi[j] = pai; pr[k] = pbr; pi[k] = pbi;
        lr[j] = lar; li[j] = lai; lr[k] = lbr; li[k] = lbi;
      }
    }
  }
  return ((a[0] + a[1]) + (a[2] + a[3])) + ((a[4] + a[5]) + (a[6] + a[7]));
}

// Gradient helper: for every bit in [lo, hi), accumulate Im <lam|X_q|psi> and rotate both states
// by e^{-i beta X_q} (c, s given for -beta by the caller); bits below 10 in L1-sized sub-blocks.
QOPT_SIMD double k_xrot(double* __restrict pr, double* __restrict pi, double* __restrict lr, double* __restrict li,
                        std::size_t L, int lo, int hi, double c, double s) {
  constexpr int kL1Bits = 10;
  double acc = 0.0;
  int q0 = lo;
  if (lo == 0 && hi > 0) {
    const int sub = std::min(hi, kL1Bits);
    const std::size_t SL = std::size_t{1} << sub;
    for (std::size_t o = 0; o < L; o += SL)
      for (int q = 0; q < sub; ++q) acc += xrot_bit(pr + o, pi + o, lr + o, li + o, SL, q, c, s);
    q0 = sub;
  }
  for (int q = q0; q < hi; ++q) acc += xrot_bit(pr, pi, lr, li, L, q, c, s);
  return acc;
}

// sum_j c_j Im(conj(lam_j) psi_j) with eight partial sums (a single running sum would serialise
// on the add latency: no reassociation without -ffast-math).
QOPT_INLINE double cdot_sum(const double* __restrict cv, const double* __restrict lr, const double* __restrict li,
                            const double* __restrict pr, const double* __restrict pi, std::size_t L) {
  double a[8] = {0, 0, 0, 0, 0, 0, 0, 0};
  std::size_t j = 0;
  for (; j + 8 <= L; j += 8)
    for (int u = 0; u < 8; ++u) a[u] += cv[j + u] * (lr[j + u] * pi[j + u] - li[j + u] * pr[j + u]);
  double acc = ((a[0] + a[1]) + (a[2] + a[3])) + ((a[4] + a[5]) + (a[6] + a[7]));
  for (; j < L; ++j) acc += cv[j] * (lr[j] * pi[j] - li[j] * pr[j]);
  return acc;
}

// Gradient helper: returns sum_k c_k Im(conj(lam_k) psi_k); then, when pc is given, multiplies
// lam, and psi too when psi_too (else psi is a stored checkpoint), by e^{+i gamma c} (undoing
// the phase separator).
QOPT_SIMD double k_gphase(double* __restrict pr, double* __restrict pi, double* __restrict lr, double* __restrict li,
                          std::size_t L, const double* __restrict cv, const double* __restrict pc,
                          const double* __restrict ps, bool psi_too) {
  const double acc = cdot_sum(cv, lr, li, pr, pi, L);
  if (pc) {
    for (std::size_t j = 0; j < L; ++j) {
      if (psi_too) {
        const double a = pr[j], b = pi[j];
        pr[j] = a * pc[j] - b * ps[j];
        pi[j] = b * pc[j] + a * ps[j];
      }
      const double x = lr[j], y = li[j];
      lr[j] = x * pc[j] - y * ps[j];
      li[j] = y * pc[j] + x * ps[j];
    }
  }
  return acc;
}

// Gradient helper: sum over bits q in [lo, hi) of Im <lam|X_q|psi> (read-only; bits below 10
// in L1-sized sub-blocks when lo == 0). Eight partial sums when the contiguous run allows it.
QOPT_INLINE double xdot_bit(const double* __restrict pr, const double* __restrict pi, const double* __restrict lr,
                            const double* __restrict li, std::size_t L, int q) {
  const std::size_t st = std::size_t{1} << q;
  double a[8] = {0, 0, 0, 0, 0, 0, 0, 0};
  for (std::size_t base = 0; base < L; base += 2 * st) {
    if (st >= 8) {
      for (std::size_t j0 = base; j0 < base + st; j0 += 8)
        for (int u = 0; u < 8; ++u) {
          const std::size_t j = j0 + static_cast<std::size_t>(u), k = j + st;
          a[u] += lr[j] * pi[k] - li[j] * pr[k] + lr[k] * pi[j] - li[k] * pr[j];
        }
    } else {
      for (std::size_t j = base; j < base + st; ++j) {
        const std::size_t k = j + st;
        a[0] += lr[j] * pi[k] - li[j] * pr[k] + lr[k] * pi[j] - li[k] * pr[j];
      }
    }
  }
  return ((a[0] + a[1]) + (a[2] + a[3])) + ((a[4] + a[5]) + (a[6] + a[7]));
}
// sum_j lr_j pi_{j^q} - li_j pr_{j^q} over bits q = 0, 1, 2 of eight contiguous amplitudes at a
// time (partners by lane permutations), and over bits [lo, hi), lo >= 3, two bits per sweep.
#define QOPT_LD8(v, p) std::memcpy(&(v), (p), sizeof(v8d))
QOPT_INLINE double hsum8(const v8d& a) {
  return ((a[0] + a[1]) + (a[2] + a[3])) + ((a[4] + a[5]) + (a[6] + a[7]));
}
QOPT_INLINE double xdot_low3(const double* pr, const double* pi, const double* lr, const double* li, std::size_t L) {
  v8d acc = {0, 0, 0, 0, 0, 0, 0, 0};
  for (std::size_t j = 0; j < L; j += 8) {
    v8d r, i, a, b;
    QOPT_LD8(r, pr + j); QOPT_LD8(i, pi + j); QOPT_LD8(a, lr + j); QOPT_LD8(b, li + j);
    // Independent terms, one add into the accumulator (its latency, not the FMAs, would bound the loop).
    const v8d t1 = a * QOPT_SHUF(i, 1, 0, 3, 2, 5, 4, 7, 6) - b * QOPT_SHUF(r, 1, 0, 3, 2, 5, 4, 7, 6);
    const v8d t2 = a * QOPT_SHUF(i, 2, 3, 0, 1, 6, 7, 4, 5) - b * QOPT_SHUF(r, 2, 3, 0, 1, 6, 7, 4, 5);
    const v8d t3 = a * QOPT_SHUF(i, 4, 5, 6, 7, 0, 1, 2, 3) - b * QOPT_SHUF(r, 4, 5, 6, 7, 0, 1, 2, 3);
    acc += (t1 + t2) + t3;
  }
  return hsum8(acc);
}
// Bits q .. q + R - 1 in one sweep (R = 1 or 2; 2^R vectors of each array in registers).
template <int R>
QOPT_INLINE void xdot_sweep(const double* pr, const double* pi, const double* lr, const double* li, std::size_t L,
                            int q, v8d& acc) {
  constexpr int M = 1 << R;
  const std::size_t st = std::size_t{1} << q;
  for (std::size_t base = 0; base < L; base += M * st)
    for (std::size_t j = base; j < base + st; j += 8) {
      v8d P[M], I[M], A[M], B[M];
      for (int m = 0; m < M; ++m) {
        const std::size_t o = j + static_cast<std::size_t>(m) * st;
        QOPT_LD8(P[m], pr + o); QOPT_LD8(I[m], pi + o); QOPT_LD8(A[m], lr + o); QOPT_LD8(B[m], li + o);
      }
      v8d t[R * M / 2];  // independent pair terms, summed as a tree into the accumulator
      int nt = 0;
      for (int r = 0; r < R; ++r)
        for (int m = 0; m < M; ++m)
          if (!((m >> r) & 1)) {
            const int k = m | (1 << r);
            t[nt++] = (A[m] * I[k] - B[m] * P[k]) + (A[k] * I[m] - B[k] * P[m]);
          }
      if constexpr (R == 2) acc += (t[0] + t[1]) + (t[2] + t[3]);
      else acc += t[0];
    }
}
QOPT_INLINE double xdot_range(const double* pr, const double* pi, const double* lr, const double* li, std::size_t L,
                              int lo, int hi) {
  v8d acc = {0, 0, 0, 0, 0, 0, 0, 0};
  for (int q = lo; q < hi; q += 2) {
    if (q + 1 < hi) xdot_sweep<2>(pr, pi, lr, li, L, q, acc);
    else xdot_sweep<1>(pr, pi, lr, li, L, q, acc);
  }
  return hsum8(acc);
}
QOPT_INLINE double xdot_all(const double* pr, const double* pi, const double* lr, const double* li, std::size_t L,
                            int lo, int hi) {
  constexpr int kL1Bits = 10;
  if (L < 8 || (lo < 3 && (lo != 0 || hi < 3))) {  // tiny states: one bit per sweep
    double acc = 0.0;
    for (int q = lo; q < hi; ++q) acc += xdot_bit(pr, pi, lr, li, L, q);
    return acc;
  }
  double acc = 0.0;
  int q0 = lo;
  if (lo == 0) {
    const int sub = std::min(hi, kL1Bits);
    const std::size_t SL = std::size_t{1} << sub;
    for (std::size_t o = 0; o < L; o += SL)
      acc += xdot_low3(pr + o, pi + o, lr + o, li + o, SL) + xdot_range(pr + o, pi + o, lr + o, li + o, SL, 3, sub);
    q0 = sub;
  }
  return acc + xdot_range(pr, pi, lr, li, L, q0, hi);
}
QOPT_SIMD double k_xdot(const double* pr, const double* pi, const double* lr, const double* li, std::size_t L, int lo,
                        int hi) {
  return xdot_all(pr, pi, lr, li, L, lo, hi);
}

// ---- the fused adjoint gradient (high bits present): kernels on one buffer (a block or gathered rows).

// Eight costs (raw compact indices or doubles) as doubles.
template <class T>
QOPT_INLINE void load_cost8(const T* __restrict p, v8d& v) {
  double t[8];
  for (int u = 0; u < 8; ++u) t[u] = static_cast<double>(p[u]);
  std::memcpy(&v, t, sizeof v);
}
// sum_j c_j Im(conj(psi_j) psi_{j^q}) over the bits q in [lo, hi), i.e. Im <C psi|X_q|psi>, from psi and
// the costs alone (c raw: compact indices, the caller multiplies by the step; a constant shift of c adds
// nothing). Bits 0-2 by lane permutations, the others as pairs: (c_j - c_k) Im(conj(psi_j) psi_k).
template <class T>
QOPT_INLINE double xdotc_all(const double* __restrict re, const double* __restrict im, const T* __restrict cost,
                             std::size_t L, int lo, int hi) {
  v8d acc = {0, 0, 0, 0, 0, 0, 0, 0};
  double tail = 0.0;
  int q0 = lo;
  if (lo == 0 && hi >= 3 && L >= 8) {
    for (std::size_t j = 0; j < L; j += 8) {
      v8d r, i;
      QOPT_LD8(r, re + j);
      QOPT_LD8(i, im + j);
      v8d c;
      load_cost8(cost + j, c);
      const v8d a = c * r, b = c * i;
      const v8d t1 = a * QOPT_SHUF(i, 1, 0, 3, 2, 5, 4, 7, 6) - b * QOPT_SHUF(r, 1, 0, 3, 2, 5, 4, 7, 6);
      const v8d t2 = a * QOPT_SHUF(i, 2, 3, 0, 1, 6, 7, 4, 5) - b * QOPT_SHUF(r, 2, 3, 0, 1, 6, 7, 4, 5);
      const v8d t3 = a * QOPT_SHUF(i, 4, 5, 6, 7, 0, 1, 2, 3) - b * QOPT_SHUF(r, 4, 5, 6, 7, 0, 1, 2, 3);
      acc += (t1 + t2) + t3;
    }
    q0 = 3;
  }
  for (int q = q0; q < hi; ++q) {
    const std::size_t st = std::size_t{1} << q;
    for (std::size_t base = 0; base < L; base += 2 * st) {
      if (st >= 8) {
        for (std::size_t j = base; j < base + st; j += 8) {
          v8d rj, ij, rk, ik, cj, ck;
          QOPT_LD8(rj, re + j); QOPT_LD8(ij, im + j); QOPT_LD8(rk, re + j + st); QOPT_LD8(ik, im + j + st);
          load_cost8(cost + j, cj);
          load_cost8(cost + j + st, ck);
          acc += (cj - ck) * (rj * ik - ij * rk);
        }
      } else {
        for (std::size_t j = base; j < base + st; ++j) {
          const std::size_t k = j + st;
          tail += (static_cast<double>(cost[j]) - static_cast<double>(cost[k])) * (re[j] * im[k] - im[j] * re[k]);
        }
      }
    }
  }
  return hsum8(acc) + tail;
}

// Phases e^{-i gamma c} (cos, sin) and cost values c for S entries (compact: table lookups).
template <class T>
QOPT_INLINE void fill_seg(const T* __restrict cost, std::size_t S, const PhaseArgs& ph, const double* __restrict tv,
                          double* __restrict pc, double* __restrict ps, double* __restrict cv) {
  if constexpr (std::is_same_v<T, double>) {
    for (std::size_t j = 0; j < S; ++j) cv[j] = cost[j];
    if (ph.fast) {
      for (std::size_t j = 0; j < S; ++j) fast_sincos(ph.gamma * cost[j], ps[j], pc[j]);
    } else {
      for (std::size_t j = 0; j < S; ++j) {
        ps[j] = std::sin(ph.gamma * cost[j]);
        pc[j] = std::cos(ph.gamma * cost[j]);
      }
    }
  } else {
    for (std::size_t j = 0; j < S; ++j) {
      pc[j] = ph.tc[cost[j]];
      ps[j] = ph.ts[cost[j]];
      cv[j] = tv[cost[j]];
    }
  }
}

// End of the last forward pass, on the buffer holding the final state psi (the pass's mixer bits
// [lo, hi)): returns sum_{q in [lo, hi)} Im <C psi|X_q|psi> (raw units, see xdotc_all), then turns the
// buffer into lam = C psi and undoes the last layer's mixer on those bits (unmix).
template <class T>
QOPT_INLINE double tail_t(double* __restrict re, double* __restrict im, std::size_t L, int lo, int hi,
                          const T* __restrict cost, const double* __restrict tv, const MixArgs& unmix) {
  const double x = xdotc_all(re, im, cost, L, lo, hi);
  for (std::size_t j = 0; j < L; ++j) {
    double c;
    if constexpr (std::is_same_v<T, double>) c = cost[j];
    else c = tv[cost[j]];
    re[j] *= c;
    im[j] *= c;
  }
  rxu_all(re, im, L, lo, hi, unmix);
  return x;
}

// One backward pass k on a buffer (bits [lo, hi)): lam (in place, at the end of forward pass k) and the
// checkpoint psi'_k (the state after phase separator k; null for k == 0, where it is
// init_norm e^{-i gamma_0 c} and is formed in sr/si). Steps: undo mixer k's bits on lam; xk = Im
// <lam|X_q|psi'_k> over the bits, gk = sum c Im(conj(lam) psi'_k); then (k > 0) undo phase k on lam,
// psi_pre = e^{+i gamma_k c} psi'_k into sr/si, xprev = Im <lam|X_q|psi_pre> over the bits (mixer k - 1's
// share, B commutes with it), and undo mixer k - 1's bits on lam.
struct BackArgs {
  const MixArgs* un_k;
  const MixArgs* un_prev;  // null for k == 0
  const PhaseArgs* ph;
  const double* tv;
  double init_norm;        // k == 0: norm of |+>^n
};
struct BackSums {
  double xk = 0.0, gk = 0.0, xprev = 0.0;
};
constexpr std::size_t kSegment = 1024;  // elementwise steps run in L1-sized segments
template <class T>
QOPT_INLINE void back_t(double* __restrict lr, double* __restrict li, const double* kr, const double* ki,
                        std::size_t L, int lo, int hi, const T* __restrict cost, const BackArgs& a, double* sr,
                        double* si, double* __restrict pc,
                        double* __restrict ps, double* __restrict cv, BackSums& out) {
  rxu_all(lr, li, L, lo, hi, *a.un_k);
  const std::size_t S = std::min(L, kSegment);
  const bool first = kr == nullptr;
  if (first) {  // psi'_0 = init_norm e^{-i gamma_0 c}
    for (std::size_t o = 0; o < L; o += S) {
      fill_seg(cost + o, S, *a.ph, a.tv, pc, ps, cv);
      for (std::size_t j = 0; j < S; ++j) {
        sr[o + j] = a.init_norm * pc[j];
        si[o + j] = -a.init_norm * ps[j];
      }
    }
    kr = sr;
    ki = si;
  }
  out.xk += xdot_all(kr, ki, lr, li, L, lo, hi);
  double g = 0.0;
  for (std::size_t o = 0; o < L; o += S) {
    fill_seg(cost + o, S, *a.ph, a.tv, pc, ps, cv);
    double* __restrict r = lr + o;
    double* __restrict i = li + o;
    const double* __restrict pr = kr + o;
    const double* __restrict pi = ki + o;
    g += cdot_sum(cv, r, i, pr, pi, S);
    if (!first) {
      for (std::size_t j = 0; j < S; ++j) {
        const double x = r[j], y = i[j], u = pr[j], w = pi[j];
        r[j] = x * pc[j] - y * ps[j];
        i[j] = y * pc[j] + x * ps[j];
        sr[o + j] = u * pc[j] - w * ps[j];
        si[o + j] = w * pc[j] + u * ps[j];
      }
    }
  }
  out.gk += g;
  if (!first) {
    out.xprev += xdot_all(sr, si, lr, li, L, lo, hi);
    rxu_all(lr, li, L, lo, hi, *a.un_prev);
  }
}
#define QOPT_GRAD_KERNELS(SUFFIX, T)                                                                         \
  QOPT_SIMD double k_tail_##SUFFIX(double* re, double* im, std::size_t L, int lo, int hi, const T* cost,    \
                                   const double* tv, const MixArgs& unmix) {                                \
    return tail_t(re, im, L, lo, hi, cost, tv, unmix);                                                       \
  }                                                                                                          \
  QOPT_SIMD void k_back_##SUFFIX(double* lr, double* li, const double* kr, const double* ki, std::size_t L,  \
                                 int lo, int hi, const T* cost, const BackArgs& a, double* sr, double* si,   \
                                 double* pc, double* ps, double* cv, BackSums& out) {                        \
    back_t(lr, li, kr, ki, L, lo, hi, cost, a, sr, si, pc, ps, cv, out);                                     \
  }
QOPT_GRAD_KERNELS(u8, std::uint8_t)
QOPT_GRAD_KERNELS(u16, std::uint16_t)
QOPT_GRAD_KERNELS(f64, double)

QOPT_SIMD void k_scale(const double* __restrict pr, const double* __restrict pi, double* __restrict lr,
                       double* __restrict li, std::size_t L, const double* __restrict cv) {
  for (std::size_t j = 0; j < L; ++j) { lr[j] = cv[j] * pr[j]; li[j] = cv[j] * pi[j]; }
}

QOPT_SIMD void k_scale2(double* __restrict re, double* __restrict im, std::size_t L, double f) {
  for (std::size_t j = 0; j < L; ++j) { re[j] *= f; im[j] *= f; }
}

QOPT_SIMD void k_prob(const double* __restrict re, const double* __restrict im, std::size_t L, double* __restrict out) {
  for (std::size_t j = 0; j < L; ++j) out[j] = re[j] * re[j] + im[j] * im[j];
}

std::size_t pow2(int b) { return std::size_t{1} << b; }

// Per-thread scratch arrays of L doubles each: views into the evaluator's persistent per-thread
// buffers (allocating and faulting in fresh pages on every call costs as much as a pass).
struct Scratch {
  double *br, *bi, *blr, *bli, *pc, *ps, *cv;
  double *seg_pc, *seg_ps, *seg_cv;  // kSegment entries each
};
std::vector<Scratch> scratch_views(std::vector<std::vector<double>>& store, std::size_t L) {
  std::vector<Scratch> out;
  for (auto& v : store) {
    if (v.size() < 7 * L + 3 * kSegment) v.resize(7 * L + 3 * kSegment);
    double* b = v.data();
    double* g = b + 7 * L;
    out.push_back(Scratch{b, b + L, b + 2 * L, b + 3 * L, b + 4 * L, b + 5 * L, b + 6 * L, g, g + kSegment,
                          g + 2 * kSegment});
  }
  return out;
}

// Mixer e^{-i beta X} per bit in the one-FMA scaled form (see RotScaled) and its inverse e^{+i beta X};
// `dropped` is the real factor per bit the form leaves out.
struct MixForm {
  MixArgs args;
  double dropped;
};
MixForm mix_form(double beta) {
  const double c = std::cos(beta), s = std::sin(beta);
  const bool kform = std::fabs(s) > std::fabs(c);
  return {MixArgs{kform ? c / s : s / c, kform}, kform ? s : c};
}
MixForm unmix_form(double beta) {  // e^{+i beta X} = cos(-beta) (I - i tan(-beta) X) = sin(-beta) (cot(-beta) I - i X)
  const double c = std::cos(beta), s = std::sin(beta);
  const bool kform = std::fabs(s) > std::fabs(c);  // as in mix_form
  return {MixArgs{kform ? -c / s : -s / c, kform}, kform ? -s : c};
}

// Real factors of the checkpointed gradients: stored = true / sigma. sig_log/sig_sign[l]: the factor
// of the state after l whole mixers; un_log/un_sign[l]: what undoing mixer l in scaled form drops.
struct GradFactors {
  std::vector<double> sig_log, sig_sign, un_log, un_sign;
  std::vector<MixArgs> unmix;
};
GradFactors grad_factors(const double* beta, int reps, int n) {
  GradFactors f;
  const std::size_t R = static_cast<std::size_t>(reps);
  f.sig_log.assign(R + 1, 0.0);
  f.sig_sign.assign(R + 1, 1.0);
  f.un_log.resize(R);
  f.un_sign.resize(R);
  f.unmix.resize(R);
  const bool odd_n = (n % 2) != 0;
  for (std::size_t l = 0; l < R; ++l) {
    const double d = mix_form(beta[l]).dropped;
    f.sig_log[l + 1] = f.sig_log[l] + static_cast<double>(n) * std::log(std::fabs(d));
    f.sig_sign[l + 1] = f.sig_sign[l] * ((d < 0 && odd_n) ? -1.0 : 1.0);
    const MixForm u = unmix_form(beta[l]);
    f.unmix[l] = u.args;
    f.un_log[l] = static_cast<double>(n) * std::log(std::fabs(u.dropped));
    f.un_sign[l] = (u.dropped < 0 && odd_n) ? -1.0 : 1.0;
  }
  return f;
}

struct Model {
  std::vector<double> lin;
  std::vector<std::vector<std::pair<int, double>>> lower;  // lower[j]: (i < j, b_ij)
  double offset = 0.0;
};

Model make_model(int n, const double* lin, std::int64_t num_terms, const index_type* u, const index_type* v,
                 const double* quad, double offset) {
  if (n < 0 || n > kMaxStatevectorQubits)
    throw std::invalid_argument("num_qubits must be in [0, " + std::to_string(kMaxStatevectorQubits) + "], was " +
                                std::to_string(n));
  if (num_terms < 0) throw std::invalid_argument("num_terms must be >= 0");
  Model m;
  m.offset = offset;
  m.lin.assign(lin, lin + n);
  std::vector<std::map<int, double>> lower(static_cast<std::size_t>(n));
  for (std::int64_t e = 0; e < num_terms; ++e) {
    int a = u[e], b = v[e];
    if (a < 0 || a >= n || b < 0 || b >= n)
      throw std::invalid_argument("quadratic term " + std::to_string(e) + " has a variable index out of range");
    if (a == b) throw std::invalid_argument("quadratic term " + std::to_string(e) + " is a self-loop");
    if (a > b) std::swap(a, b);
    lower[static_cast<std::size_t>(b)][a] += quad[e];
  }
  m.lower.resize(static_cast<std::size_t>(n));
  for (int j = 0; j < n; ++j)
    for (const auto& kv : lower[static_cast<std::size_t>(j)])
      if (kv.second != 0.0) m.lower[static_cast<std::size_t>(j)].emplace_back(kv.first, kv.second);
  for (double x : m.lin)
    if (!std::isfinite(x)) throw std::invalid_argument("linear biases must be finite");
  for (const auto& row : m.lower)
    for (const auto& kv : row)
      if (!std::isfinite(kv.second)) throw std::invalid_argument("quadratic biases must be finite");
  if (!std::isfinite(offset)) throw std::invalid_argument("offset must be finite");
  return m;
}

// Doubling construction: C[2^j + k] = C[k] + lin_j + sum_{i<j} b_ij bit_i(k), k < 2^j.
template <class T, class Coef>
void build_costs(const Model& m, T start, const std::vector<Coef>& lin, const std::vector<std::vector<std::pair<int, Coef>>>& lower,
                 T* out, int threads) {
  const int n = static_cast<int>(m.lin.size());
  out[0] = start;
  for (int j = 0; j < n; ++j) {
    const std::size_t half = pow2(j);
    const Coef a = lin[static_cast<std::size_t>(j)];
    const auto& nb = lower[static_cast<std::size_t>(j)];
    auto body = [&](std::size_t b, std::size_t e, int) {
      for (std::size_t k = b; k < e; ++k) {
        Coef acc = a;
        for (const auto& kv : nb)
          if ((k >> kv.first) & 1U) acc += kv.second;
        out[half + k] = static_cast<T>(out[k] + acc);
      }
    };
    if (half >= kParallelMin) parallel_for(half, threads, body);
    else body(0, half, 0);
  }
}

std::string gib(std::size_t bytes) {
  std::ostringstream os;
  os.precision(3);
  os << static_cast<double>(bytes) / (1024.0 * 1024.0 * 1024.0) << " GiB";
  return os.str();
}

void check_budget(std::size_t need, std::size_t max_memory, int n, const char* what) {
  std::size_t limit = max_memory;
  const char* source = "max_memory";
  if (limit == 0) {
    limit = available_memory_bytes();
    source = "MemAvailable";
  }
  if (limit != 0 && need > limit)
    throw std::invalid_argument(std::string("statevector ") + what + " on " + std::to_string(n) + " qubits needs " +
                                std::to_string(need) + " bytes (" + gib(need) + "), more than the limit of " +
                                std::to_string(limit) + " bytes (" + gib(limit) + ", " + source + ")");
}

}  // namespace

template <class T>
T* HugePageAllocator<T>::allocate(std::size_t n) {
  const std::size_t bytes = n * sizeof(T);
  constexpr std::size_t kHuge = std::size_t{1} << 21;
  if (bytes < 2 * kHuge) {
    if (void* p = std::malloc(bytes ? bytes : 1)) return static_cast<T*>(p);
    throw std::bad_alloc();
  }
  const std::size_t rounded = (bytes + kHuge - 1) / kHuge * kHuge;
  void* p = std::aligned_alloc(kHuge, rounded);
  if (!p) throw std::bad_alloc();
#if defined(__linux__) && defined(MADV_HUGEPAGE)
  madvise(p, rounded, MADV_HUGEPAGE);
#endif
  return static_cast<T*>(p);
}
template <class T>
void HugePageAllocator<T>::deallocate(T* p, std::size_t) noexcept {
  std::free(p);
}
template struct HugePageAllocator<double>;

std::size_t qaoa_memory_bytes(int num_qubits, bool gradient, bool sampling) {
  if (num_qubits < 0 || num_qubits > 62) return ~std::size_t{0};
  const std::size_t N = pow2(num_qubits);
  std::size_t per = 8 + 16;  // cost (as doubles, upper bound) + state
  if (gradient) per += 16;
  if (sampling) per += 8;
  return N * per;
}

std::size_t available_memory_bytes() {
  std::ifstream f("/proc/meminfo");
  std::string key;
  std::size_t value = 0;
  std::string unit;
  while (f >> key >> value) {
    std::getline(f, unit);
    if (key == "MemAvailable:") return value * 1024;
  }
  return 0;
}

void qaoa_cost_vector(int num_qubits, const double* lin, std::int64_t num_terms, const index_type* u,
                      const index_type* v, const double* quad, double offset, double* cost, int num_threads) {
  Model m = make_model(num_qubits, lin, num_terms, u, v, quad, offset);
  if (num_threads <= 0) num_threads = static_cast<int>(std::max(1U, std::thread::hardware_concurrency()));
  build_costs<double, double>(m, m.offset, m.lin, m.lower, cost, num_threads);
}

QAOAEvaluator::QAOAEvaluator(int num_qubits, const double* lin, std::int64_t num_terms, const index_type* u,
                             const index_type* v, const double* quad, double offset, int num_threads,
                             std::size_t max_memory)
    : n_(num_qubits), max_memory_(max_memory) {
  Model m = make_model(num_qubits, lin, num_terms, u, v, quad, offset);
  check_budget(qaoa_memory_bytes(n_, false, false), max_memory_, n_, "evaluation");
  num_threads_ = num_threads > 0 ? num_threads : static_cast<int>(std::max(1U, std::thread::hardware_concurrency()));
  if (dimension() < kParallelMin) num_threads_ = 1;
  low_bits_ = std::min(n_, kBlockBits);
  high_bits_ = n_ - low_bits_;
  chunk_bits_ = high_bits_ > 0 ? std::min(low_bits_, std::max(kMinChunkBits, kGatherBits - high_bits_)) : low_bits_;

  // Compact costs when every coefficient is an integer multiple of the smallest one.
  double step = 0.0;
  for (double x : m.lin)
    if (x != 0.0) step = step == 0.0 ? std::fabs(x) : std::min(step, std::fabs(x));
  for (const auto& row : m.lower)
    for (const auto& kv : row) step = step == 0.0 ? std::fabs(kv.second) : std::min(step, std::fabs(kv.second));
  if (step == 0.0) step = 1.0;
  // Greatest common step of all coefficients (Euclid on doubles, with a relative tolerance).
  {
    const double tol = 1e-9 * step;
    auto fgcd = [tol](double a, double b) {
      a = std::fabs(a);
      b = std::fabs(b);
      for (int it = 0; it < 64 && b > tol; ++it) {
        const double r = std::fmod(a, b);
        a = b;
        b = (r > b - tol) ? 0.0 : r;
      }
      return a;
    };
    for (double x : m.lin)
      if (x != 0.0) step = fgcd(step, x);
    for (const auto& row : m.lower)
      for (const auto& kv : row) step = fgcd(step, kv.second);
    if (!(step > tol)) step = 1.0;
  }
  bool integral = true;
  long long neg = 0, pos = 0;
  std::vector<long long> ilin(m.lin.size());
  std::vector<std::vector<std::pair<int, long long>>> ilower(m.lower.size());
  auto to_int = [&](double x, long long& out) {
    const double r = x / step;
    const double k = std::nearbyint(r);
    if (std::fabs(r - k) > 1e-9 * std::max(1.0, std::fabs(r)) || std::fabs(k) > 1e6) return false;
    out = static_cast<long long>(k);
    (out < 0 ? neg : pos) += out;
    return true;
  };
  for (std::size_t i = 0; i < m.lin.size() && integral; ++i) integral = to_int(m.lin[i], ilin[i]);
  for (std::size_t j = 0; j < m.lower.size() && integral; ++j)
    for (const auto& kv : m.lower[j]) {
      long long k = 0;
      if (!(integral = to_int(kv.second, k))) break;
      ilower[j].emplace_back(kv.first, k);
    }
  const long long span = pos - neg;
  if (integral && span <= 65535) {
    compact_ = span <= 255 ? 1 : 2;
    step_ = step;
    table_.resize(static_cast<std::size_t>(span) + 1);
    for (long long t = 0; t <= span; ++t)
      table_[static_cast<std::size_t>(t)] = m.offset + step * static_cast<double>(t + neg);
    const std::size_t N = dimension();
    std::vector<int> tmp(N);
    build_costs<int, long long>(m, static_cast<int>(-neg), ilin, ilower, tmp.data(), num_threads_);
    const std::size_t H = pow2(high_bits_), W = pow2(chunk_bits_), BL = pow2(low_bits_);
    auto fill = [&](auto& nat, auto& perm) {
      using T = typename std::decay_t<decltype(nat)>::value_type;
      nat.resize(N);
      for (std::size_t k = 0; k < N; ++k) nat[k] = static_cast<T>(tmp[k]);
      if (high_bits_ > 0) {
        perm.resize(N);
        std::size_t p = 0;
        for (std::size_t ci = 0; ci < BL / W; ++ci)
          for (std::size_t t = 0; t < H; ++t)
            for (std::size_t j = 0; j < W; ++j) perm[p++] = static_cast<T>(tmp[t * BL + ci * W + j]);
      }
    };
    if (compact_ == 1) fill(idx8_, pidx8_);
    else fill(idx16_, pidx16_);
  } else {
    compact_ = 0;
    cost_.resize(dimension());
    build_costs<double, double>(m, m.offset, m.lin, m.lower, cost_.data(), num_threads_);
    for (double x : cost_) max_abs_cost_ = std::max(max_abs_cost_, std::fabs(x));
  }
}

std::size_t QAOAEvaluator::allocated_bytes() const {
  return cost_.size() * 8 + idx8_.size() + pidx8_.size() + 2 * (idx16_.size() + pidx16_.size()) +
         table_.size() * 8 + 8 * (re_.size() + im_.size() + lre_.size() + lim_.size() + cdf_.size()) + ck_bytes();
}

std::size_t QAOAEvaluator::ck_bytes() const {
  std::size_t b = 0;
  for (const auto& v : ck_) b += 8 * v.size();
  return b;
}

void QAOAEvaluator::check_angles(const double* gamma, const double* beta, int reps) const {
  if (reps < 1) throw std::invalid_argument("reps must be >= 1, was " + std::to_string(reps));
  for (int l = 0; l < reps; ++l)
    if (!std::isfinite(gamma[l]) || !std::isfinite(beta[l]))
      throw std::invalid_argument("gamma and beta must be finite");
}

void QAOAEvaluator::ensure_state() {
  if (re_.size() != dimension()) {
    re_.assign(dimension(), 0.0);
    im_.assign(dimension(), 0.0);
  }
}

void QAOAEvaluator::ensure_adjoint() {
  if (lre_.size() != dimension()) {
    check_budget(allocated_bytes() + (re_.empty() ? 16 : 0) * dimension() + 16 * dimension(), max_memory_ ? max_memory_ : 0,
                 n_, "gradient");
    lre_.assign(dimension(), 0.0);
    lim_.assign(dimension(), 0.0);
  }
}

void QAOAEvaluator::phase_table(double gamma, std::vector<double>& pc, std::vector<double>& ps) const {
  pc.resize(table_.size());
  ps.resize(table_.size());
  for (std::size_t t = 0; t < table_.size(); ++t) {
    pc[t] = std::cos(gamma * table_[t]);
    ps[t] = std::sin(gamma * table_[t]);
  }
}

namespace {
// Fill phases/costs for `L` entries starting at natural index `start` (block) or at position
// `start` of the gather-ordered compact array (chunk, compact only).
struct CostSource {
  int compact;
  const double* cost;
  const std::uint8_t* i8;
  const std::uint16_t* i16;
  const double *tc, *ts, *tv;
  double gamma;
  void fill(std::size_t start, std::size_t L, double* pc, double* ps, double* cv) const {
    if (compact == 1) k_fill_u8(i8 + start, L, tc, ts, tv, pc, ps, cv);
    else if (compact == 2) k_fill_u16(i16 + start, L, tc, ts, tv, pc, ps, cv);
    else k_fill_double(cost + start, L, gamma, pc, ps, cv);
  }
};
}  // namespace

double QAOAEvaluator::forward(const double* gamma, const double* beta, int reps, bool store_final, bool checkpoints,
                              double* tail_x) {
  // Passes alternate block (low bits) and strided (high bits); layer k's phase separator sits
  // between the two halves of a pass: block k even: [M_{k-1} low, P_k, M_k low], strided k odd:
  // [M_{k-1} high, P_k, M_k high]; reps + 1 passes in all (all mixer bits commute). Without
  // high bits every layer is one block pass.
  ensure_state();
  const std::size_t N = dimension(), BL = pow2(low_bits_), H = pow2(high_bits_), W = pow2(chunk_bits_);
  const std::size_t nblocks = N / BL, nchunks = BL / W;
  const std::size_t scratch = std::max(BL, H * W);
  const bool stream = N >= kStreamMin;
  scratch_.resize(static_cast<std::size_t>(num_threads_));
  for (auto& v : scratch_)
    if (v.size() < (checkpoints ? 5 : 3) * scratch) v.resize((checkpoints ? 5 : 3) * scratch);
  const double norm = 1.0 / std::sqrt(static_cast<double>(N));
  const double cbytes = compact_ == 0 ? 8.0 : static_cast<double>(compact_);
  double traffic = 0.0, energy = 0.0;
  double log_scale = 0.0;  // log of the factors the unnormalised mixers dropped
  double* re = re_.data();
  double* im = im_.data();
  std::vector<double> partial(static_cast<std::size_t>(num_threads_));
  const double* tv_e = compact_ ? table_.data() : cost_.data();  // non-null: "compute the energy"

  std::vector<MixArgs> mix(static_cast<std::size_t>(reps));
  for (int l = 0; l < reps; ++l) {
    const MixForm f = mix_form(beta[l]);
    mix[static_cast<std::size_t>(l)] = f.args;
    log_scale += static_cast<double>(n_) * std::log(std::fabs(f.dropped));
  }
  // Fused gradient (tail_x): the last pass also forms lam = C psi in place and undoes its mixer bits.
  const MixArgs tail_unmix = tail_x ? unmix_form(beta[reps - 1]).args : MixArgs{0.0, false};
  std::vector<double> tpart(static_cast<std::size_t>(num_threads_), 0.0);
  std::vector<double> tc, ts;
  auto phase_args = [&](int l) {
    if (compact_) phase_table(gamma[l], tc, ts);
    return PhaseArgs{tc.data(), ts.data(), table_.data(), gamma[l], std::fabs(gamma[l]) * max_abs_cost_ < 1.0e6};
  };
  auto sum_partial = [&] {
    double t = 0.0;
    for (double p : partial) t += p;
    return t;
  };

  // Checkpoint of layer l (the state after its phase separator) when `checkpoints`.
  auto ck_of = [&](int l, int part) -> double* {
    return checkpoints && l < reps && !(tail_x && l == 0) ? ck_[static_cast<std::size_t>(2 * l + part)].data()
                                                            : nullptr;
  };
  auto block_pass = [&](const PhaseArgs* ph, bool init, const MixArgs* pre, const MixArgs* post, bool want_e, int l) {
    const bool init_scratch = init && stream;  // compute in scratch, stream out with NT stores
    const double* tv = want_e ? tv_e : nullptr;
    double* ckr = ph ? ck_of(l, 0) : nullptr;
    double* cki = ph ? ck_of(l, 1) : nullptr;
    std::fill(partial.begin(), partial.end(), 0.0);
    parallel_for(nblocks, num_threads_, [&](std::size_t b0, std::size_t b1, int tid) {
      double* sbuf = scratch_[static_cast<std::size_t>(tid)].data();
      double acc = 0.0, tacc = 0.0;
      for (std::size_t b = b0; b < b1; ++b) {
        const std::size_t o = b * BL;
        double* r = init_scratch ? sbuf : re + o;
        double* i = init_scratch ? sbuf + scratch : im + o;
        const double nrm = init ? norm : 0.0;
        double* cr = ckr ? ckr + o : nullptr;
        double* cim = cki ? cki + o : nullptr;
        if (compact_ == 1) acc += k_blockf_u8(r, i, BL, low_bits_, idx8_.data() + o, ph, nrm, pre, post, tv, cr, cim);
        else if (compact_ == 2)
          acc += k_blockf_u16(r, i, BL, low_bits_, idx16_.data() + o, ph, nrm, pre, post, tv, cr, cim);
        else acc += k_blockf_f64(r, i, BL, low_bits_, cost_.data() + o, ph, nrm, pre, post, tv, cr, cim);
        if (init_scratch) k_stream_out(re + o, im + o, r, i, BL);
        if (tail_x && want_e) {
          if (compact_ == 1) tacc += k_tail_u8(r, i, BL, 0, low_bits_, idx8_.data() + o, table_.data(), tail_unmix);
          else if (compact_ == 2)
            tacc += k_tail_u16(r, i, BL, 0, low_bits_, idx16_.data() + o, table_.data(), tail_unmix);
          else tacc += k_tail_f64(r, i, BL, 0, low_bits_, cost_.data() + o, nullptr, tail_unmix);
        }
      }
      tpart[static_cast<std::size_t>(tid)] = tacc;
#if defined(__SSE2__)
      if (init_scratch) _mm_sfence();
#endif
      partial[static_cast<std::size_t>(tid)] = acc;
    });
    traffic += static_cast<double>(N) * ((init ? 16.0 : 32.0) + ((ph || want_e) ? cbytes : 0.0) + (ckr ? 16.0 : 0.0));
    return sum_partial();
  };

  auto strided_pass = [&](const PhaseArgs* ph, const MixArgs* pre, const MixArgs* post, bool want_e, bool scatter,
                          int l) {
    const double* tv = want_e ? tv_e : nullptr;
    double* ckr = ph ? ck_of(l, 0) : nullptr;
    double* cki = ph ? ck_of(l, 1) : nullptr;
    const bool need_cost = ph || want_e;
    std::fill(partial.begin(), partial.end(), 0.0);
    parallel_for(nchunks, num_threads_, [&](std::size_t c0, std::size_t c1, int tid) {
      double* br = scratch_[static_cast<std::size_t>(tid)].data();
      double* bi = br + scratch;
      double* cv = bi + scratch;
      double* kr = ckr ? cv + scratch : nullptr;  // gathered checkpoint rows
      double* ki = ckr ? kr + scratch : nullptr;
      double acc = 0.0, tacc = 0.0;
      for (std::size_t ci = c0; ci < c1; ++ci) {
        const std::size_t off = ci * W;
        k_gather(br, re + off, H, W, BL);
        k_gather(bi, im + off, H, W, BL);
        if (compact_ == 1) {
          acc += k_chunkf_u8(br, bi, H * W, chunk_bits_, chunk_bits_ + high_bits_, pidx8_.data() + ci * H * W, ph, pre,
                             post, tv, kr, ki);
        } else if (compact_ == 2) {
          acc += k_chunkf_u16(br, bi, H * W, chunk_bits_, chunk_bits_ + high_bits_, pidx16_.data() + ci * H * W, ph,
                              pre, post, tv, kr, ki);
        } else {
          if (need_cost) k_gather(cv, cost_.data() + off, H, W, BL);
          acc += k_chunkf_f64(br, bi, H * W, chunk_bits_, chunk_bits_ + high_bits_, cv, ph, pre, post, tv, kr, ki);
        }
        if (tail_x && want_e) {
          const int lo = chunk_bits_, hi = chunk_bits_ + high_bits_;
          if (compact_ == 1) tacc += k_tail_u8(br, bi, H * W, lo, hi, pidx8_.data() + ci * H * W, table_.data(), tail_unmix);
          else if (compact_ == 2)
            tacc += k_tail_u16(br, bi, H * W, lo, hi, pidx16_.data() + ci * H * W, table_.data(), tail_unmix);
          else tacc += k_tail_f64(br, bi, H * W, lo, hi, cv, nullptr, tail_unmix);
        }
        if (kr) {
          k_scatter(ckr + off, kr, H, W, BL);
          k_scatter(cki + off, ki, H, W, BL);
        }
        if (scatter) {
          k_scatter(re + off, br, H, W, BL);
          k_scatter(im + off, bi, H, W, BL);
        }
      }
      partial[static_cast<std::size_t>(tid)] = acc;
      tpart[static_cast<std::size_t>(tid)] = tacc;
    });
    traffic += static_cast<double>(N) * ((scatter ? 32.0 : 16.0) + (need_cost ? cbytes : 0.0) + (ckr ? 16.0 : 0.0));
    return sum_partial();
  };

  if (high_bits_ == 0) {
    for (int l = 0; l < reps; ++l) {
      const PhaseArgs ph = phase_args(l);
      const double e = block_pass(&ph, l == 0, nullptr, &mix[static_cast<std::size_t>(l)], l == reps - 1, l);
      if (l == reps - 1) energy = e;
    }
  } else {
    for (int k = 0; k <= reps; ++k) {
      const bool last = k == reps;
      PhaseArgs ph{};
      if (!last) ph = phase_args(k);
      const MixArgs* pre = k > 0 ? &mix[static_cast<std::size_t>(k - 1)] : nullptr;
      const MixArgs* post = last ? nullptr : &mix[static_cast<std::size_t>(k)];
      const PhaseArgs* php = last ? nullptr : &ph;
      const double e = (k % 2 == 0) ? block_pass(php, k == 0, pre, post, last, k)
                                    : strided_pass(php, pre, post, last, !last || store_final, k);
      if (last) energy = e;
    }
  }

  if (tail_x) {
    double t = 0.0;
    for (double p : tpart) t += p;
    *tail_x = compact_ ? t * step_ : t;
  }
  const double scale = std::exp(log_scale);  // true amplitude = scale * stored amplitude
  if (store_final && scale != 1.0 && !checkpoints) {  // (the checkpointed gradient keeps its own scale)
    parallel_for(nblocks, num_threads_, [&](std::size_t b0, std::size_t b1, int) {
      for (std::size_t b = b0; b < b1; ++b) k_scale2(re + b * BL, im + b * BL, BL, scale);
    });
    traffic += static_cast<double>(N) * 32.0;
  }
  last_traffic_ = traffic;
  return energy * scale * scale;
}

double QAOAEvaluator::expectation(const double* gamma, const double* beta, int reps) {
  check_angles(gamma, beta, reps);
  return forward(gamma, beta, reps, false);
}

double QAOAEvaluator::probabilities(const double* gamma, const double* beta, int reps, double* out) {
  check_angles(gamma, beta, reps);
  const double e = forward(gamma, beta, reps, true);
  const std::size_t N = dimension(), BL = pow2(low_bits_);
  parallel_for(N / BL, num_threads_, [&](std::size_t b0, std::size_t b1, int) {
    for (std::size_t b = b0; b < b1; ++b) k_prob(re_.data() + b * BL, im_.data() + b * BL, BL, out + b * BL);
  });
  return e;
}

double QAOAEvaluator::statevector(const double* gamma, const double* beta, int reps, std::complex<double>* out) {
  check_angles(gamma, beta, reps);
  const double e = forward(gamma, beta, reps, true);
  for (std::size_t k = 0; k < dimension(); ++k) out[k] = {re_[k], im_[k]};
  return e;
}

void QAOAEvaluator::cost_vector(double* out) const {
  const std::size_t N = dimension();
  if (compact_ == 1)
    for (std::size_t k = 0; k < N; ++k) out[k] = table_[idx8_[k]];
  else if (compact_ == 2)
    for (std::size_t k = 0; k < N; ++k) out[k] = table_[idx16_[k]];
  else
    std::memcpy(out, cost_.data(), N * sizeof(double));
}

double QAOAEvaluator::warm_start(const double* gamma, const double* beta, int reps, const double* theta,
                                 std::complex<double>* out) {
  check_angles(gamma, beta, reps);
  for (int q = 0; q < n_; ++q)
    if (!std::isfinite(theta[q])) throw std::invalid_argument("theta must be finite");
  ensure_state();
  const std::size_t N = dimension();
  std::vector<double> cost(N);
  cost_vector(cost.data());
  double *pr = re_.data(), *pi = im_.data();
  // The product state, one qubit at a time: amplitudes of the first 2^q indices are final for q qubits.
  pr[0] = 1.0;
  pi[0] = 0.0;
  for (int q = 0; q < n_; ++q) {
    const std::size_t half = std::size_t{1} << q;
    const double c = std::cos(0.5 * theta[q]), s = std::sin(0.5 * theta[q]);
    for (std::size_t k = 0; k < half; ++k) {
      pr[k + half] = pr[k] * s;
      pi[k + half] = 0.0;
      pr[k] *= c;
    }
  }
  for (int l = 0; l < reps; ++l) {
    for (std::size_t k = 0; k < N; ++k) {  // exp(-i gamma C)
      const double c = std::cos(gamma[l] * cost[k]), s = std::sin(gamma[l] * cost[k]);
      const double r = pr[k], i = pi[k];
      pr[k] = r * c + i * s;
      pi[k] = i * c - r * s;
    }
    const double cb = std::cos(beta[l]), sb = std::sin(beta[l]);
    for (int q = 0; q < n_; ++q) {  // exp(-i beta (sin t X + cos t Z)) on qubit q
      const double a = sb * std::cos(theta[q]), b = sb * std::sin(theta[q]);
      const std::size_t bit = std::size_t{1} << q;
      for (std::size_t base = 0; base < N; base += 2 * bit) {
        for (std::size_t k = base; k < base + bit; ++k) {
          const double r0 = pr[k], i0 = pi[k], r1 = pr[k + bit], i1 = pi[k + bit];
          pr[k] = cb * r0 + a * i0 + b * i1;
          pi[k] = cb * i0 - a * r0 - b * r1;
          pr[k + bit] = cb * r1 - a * i1 + b * i0;
          pi[k + bit] = cb * i1 + a * r1 - b * r0;
        }
      }
    }
  }
  double energy = 0.0;
  for (std::size_t k = 0; k < N; ++k) energy += (pr[k] * pr[k] + pi[k] * pi[k]) * cost[k];
  if (out != nullptr)
    for (std::size_t k = 0; k < N; ++k) out[k] = std::complex<double>(pr[k], pi[k]);
  return energy;
}

double QAOAEvaluator::gradient(const double* gamma, const double* beta, int reps, double* dgamma, double* dbeta) {
  check_angles(gamma, beta, reps);
  ensure_state();
  // Checkpoints (one state per layer after the first with high bits, else one per layer plus the
  // adjoint state) when they fit the budget, else the two-state sweep.
  const bool fused = high_bits_ > 0;
  const std::size_t R = static_cast<std::size_t>(reps);
  const std::size_t have = ck_bytes() / 8;
  const std::size_t need = 2 * (fused ? R - 1 : R) * dimension();
  const std::size_t adjoint = (!fused && lre_.size() != dimension()) ? 16 * dimension() : 0;
  std::size_t limit = max_memory_ ? max_memory_ : available_memory_bytes();
  if (limit == 0 || allocated_bytes() + 8 * (need > have ? need - have : 0) + adjoint <= limit) {
    if (ck_.size() < 2 * R) ck_.resize(2 * R);
    for (std::size_t a = 0; a < 2 * R; ++a) {
      const bool used = !(fused && a < 2);
      if (used && ck_[a].size() != dimension()) ck_[a].resize(dimension());
      if (!used) huge_vector().swap(ck_[a]);
    }
    if (fused) return gradient_fused(gamma, beta, reps, dgamma, dbeta);
    ensure_adjoint();
    return gradient_checkpointed(gamma, beta, reps, dgamma, dbeta);
  }
  ck_.clear();
  ensure_adjoint();
  return gradient_sweep(gamma, beta, reps, dgamma, dbeta);
}

double QAOAEvaluator::gradient_fused(const double* gamma, const double* beta, int reps, double* dgamma,
                                     double* dbeta) {
  // Forward passes k = 0 .. reps (block passes even k, strided odd k; pass k holds
  // [mixer k-1's share, phase k, mixer k's share] of its bits) storing psi'_k, the state after phase k,
  // for k >= 1. The last pass turns psi into lam = C psi in place and undoes its share of the last
  // mixer. Then one backward pass per k = reps-1 .. 0 on the adjoint state alone (back_t): with
  // B = sum_q X_q commuting with every mixer, dE/dbeta_l = 2 Im <lam|B|psi> at any point between
  // phases l and l + 1, each bit's term taken in the pass that holds the bit, and
  // dE/dgamma_l = 2 Im <lam|C|psi'_l> (Jones & Gacon, arXiv:2009.02823).
  double x_last = 0.0;
  const double energy = forward(gamma, beta, reps, true, true, &x_last);
  const std::size_t N = dimension(), BL = pow2(low_bits_), H = pow2(high_bits_), W = pow2(chunk_bits_);
  const std::size_t nblocks = N / BL, nchunks = BL / W, scratch = std::max(BL, H * W);
  const std::size_t R = static_cast<std::size_t>(reps);
  const GradFactors fac = grad_factors(beta, reps, n_);
  std::vector<double> xs(R, 0.0), gs(R, 0.0);
  xs[R - 1] = std::exp(2.0 * fac.sig_log[R]) * x_last;  // psi and lam = C psi share the factor
  double lam_log = fac.sig_log[R], lam_sign = fac.sig_sign[R];
  double *lr = re_.data(), *li = im_.data();
  std::vector<Scratch> sc = scratch_views(scratch_, scratch);
  std::vector<BackSums> part(static_cast<std::size_t>(num_threads_));
  std::vector<double> tc, ts;
  const double norm = 1.0 / std::sqrt(static_cast<double>(N));
  for (int k = reps - 1; k >= 0; --k) {
    const std::size_t K = static_cast<std::size_t>(k);
    lam_log += fac.un_log[K];
    lam_sign *= fac.un_sign[K];
    if (compact_) phase_table(gamma[k], tc, ts);
    const PhaseArgs ph{tc.data(), ts.data(), table_.data(), gamma[k], std::fabs(gamma[k]) * max_abs_cost_ < 1.0e6};
    const BackArgs a{&fac.unmix[K], k > 0 ? &fac.unmix[K - 1] : nullptr, &ph, table_.data(), norm};
    const double* kr = k > 0 ? ck_[2 * K].data() : nullptr;
    const double* ki = k > 0 ? ck_[2 * K + 1].data() : nullptr;
    std::fill(part.begin(), part.end(), BackSums{});
    if (k % 2 == 0) {
      parallel_for(nblocks, num_threads_, [&](std::size_t b0, std::size_t b1, int tid) {
        Scratch& S = sc[static_cast<std::size_t>(tid)];
        BackSums& out = part[static_cast<std::size_t>(tid)];
        for (std::size_t b = b0; b < b1; ++b) {
          const std::size_t o = b * BL;
          const double* r = kr ? kr + o : nullptr;
          const double* i = ki ? ki + o : nullptr;
          if (compact_ == 1)
            k_back_u8(lr + o, li + o, r, i, BL, 0, low_bits_, idx8_.data() + o, a, S.br, S.bi, S.seg_pc, S.seg_ps,
                      S.seg_cv, out);
          else if (compact_ == 2)
            k_back_u16(lr + o, li + o, r, i, BL, 0, low_bits_, idx16_.data() + o, a, S.br, S.bi, S.seg_pc,
                       S.seg_ps, S.seg_cv, out);
          else
            k_back_f64(lr + o, li + o, r, i, BL, 0, low_bits_, cost_.data() + o, a, S.br, S.bi, S.seg_pc,
                       S.seg_ps, S.seg_cv, out);
        }
      });
    } else {
      parallel_for(nchunks, num_threads_, [&](std::size_t c0, std::size_t c1, int tid) {
        Scratch& S = sc[static_cast<std::size_t>(tid)];
        BackSums& out = part[static_cast<std::size_t>(tid)];
        const int lo = chunk_bits_, hi = chunk_bits_ + high_bits_;
        for (std::size_t ci = c0; ci < c1; ++ci) {
          const std::size_t off = ci * W;
          k_gather(S.blr, lr + off, H, W, BL);
          k_gather(S.bli, li + off, H, W, BL);
          k_gather(S.br, kr + off, H, W, BL);
          k_gather(S.bi, ki + off, H, W, BL);
          if (compact_ == 1)
            k_back_u8(S.blr, S.bli, S.br, S.bi, H * W, lo, hi, pidx8_.data() + ci * H * W, a, S.pc, S.ps, S.seg_pc,
                      S.seg_ps, S.seg_cv, out);
          else if (compact_ == 2)
            k_back_u16(S.blr, S.bli, S.br, S.bi, H * W, lo, hi, pidx16_.data() + ci * H * W, a, S.pc, S.ps,
                       S.seg_pc, S.seg_ps, S.seg_cv, out);
          else {
            k_gather(S.cv, cost_.data() + off, H, W, BL);
            k_back_f64(S.blr, S.bli, S.br, S.bi, H * W, lo, hi, S.cv, a, S.pc, S.ps, S.seg_pc, S.seg_ps, S.seg_cv,
                       out);
          }
          k_scatter(lr + off, S.blr, H, W, BL);
          k_scatter(li + off, S.bli, H, W, BL);
        }
      });
    }
    BackSums t;
    for (const BackSums& p : part) {
      t.xk += p.xk;
      t.gk += p.gk;
      t.xprev += p.xprev;
    }
    // lam (undone through mixer k) and psi'_k or psi_pre carry the factors lam_* and sig_*[k].
    const double f = lam_sign * fac.sig_sign[K] * std::exp(lam_log + fac.sig_log[K]);
    xs[K] += f * t.xk;
    gs[K] = f * t.gk;
    if (k > 0) xs[K - 1] += f * t.xprev;
  }
  for (std::size_t l = 0; l < R; ++l) {
    dbeta[l] = 2.0 * xs[l];
    dgamma[l] = 2.0 * gs[l];
  }
  return energy;
}

double QAOAEvaluator::gradient_checkpointed(const double* gamma, const double* beta, int reps, double* dgamma,
                                            double* dbeta) {
  // Forward with the state after each phase separator stored (psi'_l, up to a known real factor),
  // then one backward pass pair per layer on the adjoint state alone: at the point after phase l,
  //   dE/dbeta_l = 2 Im <lam'|B|psi'_l>,  dE/dgamma_l = 2 Im <lam'|C|psi'_l>,  B = sum_q X_q
  // (both commute with the operator they differentiate), lam = C psi at the end, lam' = U^dag lam.
  // Used without high bits (n <= B; gradient_fused otherwise): every mixer bit is in the block pass.
  const double energy = forward(gamma, beta, reps, true, true);
  const std::size_t N = dimension(), BL = pow2(low_bits_);
  const std::size_t nblocks = N / BL, scratch = BL;
  // Stored = true / sigma, sigma real: the scaled mixers drop f^n per layer (see grad_factors).
  const GradFactors fac = grad_factors(beta, reps, n_);
  const std::vector<double>&sig_log = fac.sig_log, &sig_sign = fac.sig_sign, &un_log = fac.un_log,
                           &un_sign = fac.un_sign;
  const std::vector<MixArgs>& unmix = fac.unmix;
  double lam_log = sig_log[static_cast<std::size_t>(reps)], lam_sign = sig_sign[static_cast<std::size_t>(reps)];
  double *pr = re_.data(), *pi = im_.data(), *lr = lre_.data(), *li = lim_.data();
  std::vector<Scratch> sc = scratch_views(scratch_, scratch);
  std::vector<double> xpart(static_cast<std::size_t>(num_threads_)), gpart(static_cast<std::size_t>(num_threads_));
  std::vector<double> tc, ts;
  auto total = [](const std::vector<double>& v) {
    double t = 0.0;
    for (double x : v) t += x;
    return t;
  };
  // Unnormalised mixer `m` on the low bits of block o of lam (the block kernels with only `pre`).
  auto unmix_low = [&](std::size_t o, const MixArgs* m) {
    if (compact_ == 1) k_blockf_u8(lr + o, li + o, BL, low_bits_, idx8_.data(), nullptr, 0.0, m, nullptr, nullptr);
    else if (compact_ == 2) k_blockf_u16(lr + o, li + o, BL, low_bits_, idx16_.data(), nullptr, 0.0, m, nullptr, nullptr);
    else k_blockf_f64(lr + o, li + o, BL, low_bits_, cost_.data(), nullptr, 0.0, m, nullptr, nullptr);
  };
  const CostSource nat0{compact_, cost_.data(), idx8_.data(), idx16_.data(), nullptr, nullptr, table_.data(), 0.0};
  // lam = C psi_final, then the low bits of the last mixer undone.
  const MixArgs* last_un = &unmix[static_cast<std::size_t>(reps - 1)];
  parallel_for(nblocks, num_threads_, [&](std::size_t b0, std::size_t b1, int tid) {
    Scratch& S = sc[static_cast<std::size_t>(tid)];
    for (std::size_t b = b0; b < b1; ++b) {
      nat0.fill(b * BL, BL, nullptr, nullptr, S.cv);
      k_scale(pr + b * BL, pi + b * BL, lr + b * BL, li + b * BL, BL, S.cv);
      unmix_low(b * BL, last_un);
    }
  });
  for (int l = reps - 1; l >= 0; --l) {
    lam_log += un_log[static_cast<std::size_t>(l)];
    lam_sign *= un_sign[static_cast<std::size_t>(l)];
    double* kr = ck_[static_cast<std::size_t>(2 * l)].data();
    double* ki = ck_[static_cast<std::size_t>(2 * l + 1)].data();
    double xsum = 0.0;
    // <lam'|B|psi'_l>, <lam'|C|psi'_l> (all bits are low bits here); then lam undone by phase l and mixer l - 1.
    if (compact_) phase_table(gamma[l], tc, ts);
    const CostSource nat{compact_, cost_.data(), idx8_.data(), idx16_.data(), tc.data(), ts.data(), table_.data(), gamma[l]};
    const bool more = l > 0;
    const MixArgs* m = more ? &unmix[static_cast<std::size_t>(l - 1)] : nullptr;
    std::fill(xpart.begin(), xpart.end(), 0.0);
    std::fill(gpart.begin(), gpart.end(), 0.0);
    parallel_for(nblocks, num_threads_, [&](std::size_t b0, std::size_t b1, int tid) {
      Scratch& S = sc[static_cast<std::size_t>(tid)];
      double xacc = 0.0, gacc = 0.0;
      for (std::size_t b = b0; b < b1; ++b) {
        const std::size_t o = b * BL;
        xacc += k_xdot(kr + o, ki + o, lr + o, li + o, BL, 0, low_bits_);
        nat.fill(o, BL, more ? S.pc : nullptr, more ? S.ps : nullptr, S.cv);
        gacc += k_gphase(kr + o, ki + o, lr + o, li + o, BL, S.cv, more ? S.pc : nullptr,
                         more ? S.ps : nullptr, false);
        if (more) unmix_low(o, m);
      }
      xpart[static_cast<std::size_t>(tid)] = xacc;
      gpart[static_cast<std::size_t>(tid)] = gacc;
    });
    xsum += total(xpart);
    const double f = lam_sign * sig_sign[static_cast<std::size_t>(l)] *
                     std::exp(lam_log + sig_log[static_cast<std::size_t>(l)]);
    dbeta[l] = 2.0 * f * xsum;
    dgamma[l] = 2.0 * f * total(gpart);
  }
  return energy;
}

double QAOAEvaluator::gradient_sweep(const double* gamma, const double* beta, int reps, double* dgamma,
                                     double* dbeta) {
  const double energy = forward(gamma, beta, reps, true);
  // The backward strided pass gathers four arrays (psi and lambda): half the forward rows'
  // width keeps the gathered buffers (4 x 2^15 doubles = 1 MiB) in L2.
  const int gbits = high_bits_ > 0 ? std::min(low_bits_, std::max(kMinChunkBits, kGatherBits - 1 - high_bits_))
                                   : low_bits_;
  const std::size_t N = dimension(), BL = pow2(low_bits_), H = pow2(high_bits_), W = pow2(gbits);
  const std::size_t nblocks = N / BL, nchunks = BL / W;
  const std::size_t scratch = std::max(BL, H * W);
  std::vector<Scratch> sc = scratch_views(scratch_, scratch);
  std::vector<double> tc, ts;
  double *pr = re_.data(), *pi = im_.data(), *lr = lre_.data(), *li = lim_.data();
  std::vector<double> partial(static_cast<std::size_t>(num_threads_));
  const CostSource nat0{compact_, cost_.data(), idx8_.data(), idx16_.data(), nullptr, nullptr, table_.data(), 0.0};

  // lam = C psi
  parallel_for(nblocks, num_threads_, [&](std::size_t b0, std::size_t b1, int tid) {
    Scratch& S = sc[static_cast<std::size_t>(tid)];
    for (std::size_t b = b0; b < b1; ++b) {
      nat0.fill(b * BL, BL, nullptr, nullptr, S.cv);
      k_scale(pr + b * BL, pi + b * BL, lr + b * BL, li + b * BL, BL, S.cv);
    }
  });

  auto sum = [&] {
    double t = 0.0;
    for (double p : partial) t += p;
    return t;
  };
  for (int l = reps - 1; l >= 0; --l) {
    const double c = std::cos(beta[l]), s = -std::sin(beta[l]);  // rotation by -beta
    double xsum = 0.0;
    if (high_bits_ > 0) {
      std::fill(partial.begin(), partial.end(), 0.0);
      parallel_for(nchunks, num_threads_, [&](std::size_t c0, std::size_t c1, int tid) {
        Scratch& S = sc[static_cast<std::size_t>(tid)];
        double acc = 0.0;
        for (std::size_t ci = c0; ci < c1; ++ci) {
          const std::size_t off = ci * W;
          double* src[4] = {pr, pi, lr, li};
          double* dst[4] = {S.br, S.bi, S.blr, S.bli};
          for (int a = 0; a < 4; ++a)
            for (std::size_t t = 0; t < H; ++t) std::memcpy(dst[a] + t * W, src[a] + t * BL + off, W * sizeof(double));
          acc += k_xrot(dst[0], dst[1], dst[2], dst[3], H * W, gbits, gbits + high_bits_, c, s);
          for (int a = 0; a < 4; ++a)
            for (std::size_t t = 0; t < H; ++t) std::memcpy(src[a] + t * BL + off, dst[a] + t * W, W * sizeof(double));
        }
        partial[static_cast<std::size_t>(tid)] = acc;
      });
      xsum += sum();
    }
    if (compact_) phase_table(gamma[l], tc, ts);
    const CostSource nat{compact_, cost_.data(), idx8_.data(), idx16_.data(), tc.data(), ts.data(), table_.data(), gamma[l]};
    std::vector<double> gpart(static_cast<std::size_t>(num_threads_), 0.0);
    std::fill(partial.begin(), partial.end(), 0.0);
    const bool unphase = l > 0;
    parallel_for(nblocks, num_threads_, [&](std::size_t b0, std::size_t b1, int tid) {
      Scratch& S = sc[static_cast<std::size_t>(tid)];
      double xacc = 0.0, gacc = 0.0;
      for (std::size_t b = b0; b < b1; ++b) {
        const std::size_t o = b * BL;
        xacc += k_xrot(pr + o, pi + o, lr + o, li + o, BL, 0, low_bits_, c, s);
        nat.fill(o, BL, unphase ? S.pc : nullptr, unphase ? S.ps : nullptr, S.cv);
        gacc += k_gphase(pr + o, pi + o, lr + o, li + o, BL, S.cv, unphase ? S.pc : nullptr,
                         unphase ? S.ps : nullptr, true);
      }
      partial[static_cast<std::size_t>(tid)] = xacc;
      gpart[static_cast<std::size_t>(tid)] = gacc;
    });
    xsum += sum();
    double gsum = 0.0;
    for (double g : gpart) gsum += g;
    dbeta[l] = 2.0 * xsum;
    dgamma[l] = 2.0 * gsum;
  }
  return energy;
}

double QAOAEvaluator::sample(const double* gamma, const double* beta, int reps, std::int64_t shots, std::uint64_t seed,
                             std::uint64_t* out) {
  if (shots < 0) throw std::invalid_argument("shots must be >= 0, was " + std::to_string(shots));
  check_angles(gamma, beta, reps);
  if (cdf_.size() != dimension()) {
    std::vector<huge_vector>().swap(ck_);  // gradient checkpoints give way to the sampling array
    check_budget(allocated_bytes() + (re_.empty() ? 16 : 0) * dimension() + 8 * dimension(),
                 max_memory_, n_, "sampling");
    cdf_.assign(dimension(), 0.0);
  }
  const double e = probabilities(gamma, beta, reps, cdf_.data());
  double acc = 0.0;
  for (double& p : cdf_) {
    acc += p;
    p = acc;
  }
  std::mt19937_64 gen(seed);
  const std::size_t N = dimension();
  for (std::int64_t i = 0; i < shots; ++i) {
    const double u = static_cast<double>(gen() >> 11) * 0x1.0p-53 * acc;
    std::size_t k = static_cast<std::size_t>(std::upper_bound(cdf_.begin(), cdf_.end(), u) - cdf_.begin());
    if (k >= N) k = N - 1;
    out[i] = k;
  }
  return e;
}

}  // namespace qopt
