// QAOA statevector engine: cost vector, QAOA state, expectation, probabilities,
// seeded sampling and the adjoint-method gradient.
//
// Method: Farhi, Goldstone, Gutmann, "A Quantum Approximate Optimization Algorithm",
// arXiv:1411.4028 (2014). The gradient uses the adjoint (reverse-mode) method
// (Jones & Gacon, "Efficient calculation of gradients in classical simulations of
// variational quantum algorithms", arXiv:2009.02823, 2020).
//
// Bit order (little-endian, as in Qiskit): basis index k = sum_i b_i 2^i, where b_i in
// {0, 1} is the value of qubit i, and qubit i is variable i of the model.
//
// Model storage contract (a pseudo-Boolean quadratic function of the bits b_i):
//   C(b) = offset + sum_i lin[i] b_i + sum_e quad[e] b_{u[e]} b_{v[e]}
//   lin  : length num_qubits
//   u, v : length num_terms, indices in [0, num_qubits), u[e] != v[e]; repeats are summed
//   quad : length num_terms
// (An Ising model with spins s_i = 1 - 2 b_i, i.e. |0> -> +1, |1> -> -1, the Z
// eigenvalues, is converted to this form by the caller.)
//
// QAOA state with reps = p layers, angles gamma[0..p), beta[0..p):
//   |psi> = prod_{l = p-1 .. 0} e^{-i beta_l sum_q X_q} e^{-i gamma_l C} |+>^n
// i.e. layer 0 acts first. Expectation <psi|C|psi> in the model's energy units,
// offset included.
//
// Storage: the state is kept as two double arrays (real and imaginary parts) of
// length 2^n (2 MiB-aligned, transparent huge pages advised). The cost vector is kept
// compactly as uint8/uint16 indices into a table of values when all coefficients are
// integer multiples of one step (MaxCut, integer QUBOs; the phases e^{-i gamma c} are
// then one table lookup), else as doubles (phases by a vectorised sincos).
//
// Passes are cache-blocked: the low B = 16 bits of the index are processed in contiguous
// blocks of 2^16 amplitudes (1 MiB, L2; 2^10-amplitude sub-blocks in L1 for bits 0-9),
// the high n - B bits in gathered buffers of strided rows. Mixer rotations on all bits
// commute, so layer l's mixer is split into a low half and a high half and each pass
// applies [previous layer's half, phase separator, this layer's half]: reps + 1 passes
// over memory in all, the last one fused with the expectation (no write-back). The mixer
// uses the one-FMA forms (I - i tan(beta) X) or (cot(beta) I - i X) and the dropped real
// factors are applied once at the end. Threads split blocks/chunks (std::thread).
#pragma once

#include <complex>
#include <cstddef>
#include <cstdint>
#include <vector>

namespace qopt {

using bias_type = double;
using index_type = std::int32_t;

// Largest number of qubits the engine accepts (2^30 amplitudes = 16 GiB per state).
constexpr int kMaxStatevectorQubits = 30;

// Allocator for large state arrays: 2 MiB-aligned and advised for transparent huge pages
// (strided passes touch a new 4 KiB page per row otherwise, and miss the TLB).
template <class T>
struct HugePageAllocator {
  using value_type = T;
  HugePageAllocator() = default;
  template <class U>
  HugePageAllocator(const HugePageAllocator<U>&) {}
  T* allocate(std::size_t n);
  void deallocate(T* p, std::size_t n) noexcept;
  template <class U>
  bool operator==(const HugePageAllocator<U>&) const { return true; }
  template <class U>
  bool operator!=(const HugePageAllocator<U>&) const { return false; }
};
using huge_vector = std::vector<double, HugePageAllocator<double>>;

// Memory (bytes) the engine needs for a model on num_qubits qubits:
// the cost vector as doubles (built first), one state (16 bytes per amplitude),
// plus a second state when `gradient`, plus a cumulative-probability array when
// `sampling`. Callers compare it with the budget before constructing anything.
std::size_t qaoa_memory_bytes(int num_qubits, bool gradient, bool sampling);

// Available memory in bytes from /proc/meminfo (MemAvailable); 0 if unknown.
std::size_t available_memory_bytes();

// Fill cost[0 .. 2^num_qubits) with C(b) for every basis index (see contract above).
// Throws std::invalid_argument on bad indices or num_qubits out of [0, 30].
void qaoa_cost_vector(int num_qubits, const double* lin, std::int64_t num_terms, const index_type* u,
                      const index_type* v, const double* quad, double offset, double* cost, int num_threads);

class QAOAEvaluator {
 public:
  // Builds and caches the cost vector of the model. max_memory: byte budget (0 = use
  // MemAvailable); the constructor throws std::invalid_argument naming the bytes
  // needed, before allocating, if qaoa_memory_bytes(n, false, false) exceeds it.
  // num_threads <= 0 means std::thread::hardware_concurrency().
  QAOAEvaluator(int num_qubits, const double* lin, std::int64_t num_terms, const index_type* u,
                const index_type* v, const double* quad, double offset, int num_threads,
                std::size_t max_memory);

  int num_qubits() const { return n_; }
  std::size_t dimension() const { return std::size_t{1} << n_; }
  // True when costs are stored as small integer indices into a value table.
  bool compact_costs() const { return compact_ != 0; }
  // Number of distinct cost-table entries (0 when costs are stored as doubles).
  std::size_t table_size() const { return table_.size(); }
  // Bytes held by the evaluator now.
  std::size_t allocated_bytes() const;
  // Bytes read+written from main memory by the last expectation() call, by the model
  // (state and cost traffic, not counting caches); for bandwidth reports.
  double last_traffic_bytes() const { return last_traffic_; }

  // <psi|C|psi> for angles gamma[0..reps), beta[0..reps).
  double expectation(const double* gamma, const double* beta, int reps);
  // Probabilities |<k|psi>|^2 into out[0 .. 2^n); returns the expectation.
  double probabilities(const double* gamma, const double* beta, int reps, double* out);
  // Amplitudes into out[0 .. 2^n); returns the expectation. They are the state up to a
  // global sign: the factors the unnormalised mixers drop are restored by magnitude.
  double statevector(const double* gamma, const double* beta, int reps, std::complex<double>* out);
  // Expectation and its gradient dgamma[0..reps), dbeta[0..reps) (adjoint method).
  // When the checkpoints fit the memory budget, the forward sweep stores the state after each
  // phase separator and the backward sweep moves the adjoint state alone
  // (dE/dbeta_l = 2 Im <lam|B|psi>, B = sum_q X_q, at any point between phases l and l + 1;
  // dE/dgamma_l = 2 Im <lam|C|psi> after phase l). With high bits (n > B) this is fused
  // (gradient_fused): reps - 1 stored states (layer 0's is recomputed), the adjoint state takes
  // the state's arrays, the last forward pass starts it (lam = C psi), and each backward pass
  // handles the X_q terms of the bits it holds for two layers: reps + 1 forward and reps backward
  // passes in all. Without high bits: reps stored states plus the adjoint state. Else both states
  // are rotated back (2 vectors). Throws std::invalid_argument if that does not fit the budget.
  double gradient(const double* gamma, const double* beta, int reps, double* dgamma, double* dbeta);
  // shots basis indices drawn from |psi|^2 with a 64-bit seed (std::mt19937_64,
  // inverse-CDF by binary search); independent of num_threads. Returns the expectation.
  double sample(const double* gamma, const double* beta, int reps, std::int64_t shots, std::uint64_t seed,
                std::uint64_t* out);
  // Cost vector as doubles into out[0 .. 2^n).
  void cost_vector(double* out) const;
  // Warm-start QAOA (Egger, Marecek, Woerner, "Warm-starting quantum optimization",
  // Quantum 5, 479, 2021): the initial state is the product state
  //   prod_q (cos(theta_q/2) |0> + sin(theta_q/2) |1>),  theta[0..n)
  // and layer l's mixer is prod_q exp(-i beta_l (sin(theta_q) X_q + cos(theta_q) Z_q)),
  // whose +1 eigenstate that product state is; theta_q = pi/2 for every q is standard QAOA.
  // Returns <psi|C|psi>; writes the amplitudes (exact, no dropped factors) into out[0 .. 2^n)
  // when out is not null. Needs the state plus a cost vector of doubles (24 bytes per
  // amplitude); one thread. Throws std::invalid_argument on non-finite angles.
  double warm_start(const double* gamma, const double* beta, int reps, const double* theta,
                    std::complex<double>* out);

 private:
  void check_angles(const double* gamma, const double* beta, int reps) const;
  std::size_t ck_bytes() const;  // bytes held by the gradient checkpoints
  void ensure_state();
  void ensure_adjoint();
  // Forward sweep; leaves the state in re_/im_ when store_final; returns <C>. With checkpoints,
  // also stores the state after each phase separator in ck_ and leaves the stored states
  // unscaled (gradient_checkpointed keeps their real factors).
  // With tail_x (gradient_fused): no checkpoint of layer 0, and the last pass turns the final state
  // into lam = C psi, undoes its share of the last mixer on lam and writes
  // sum_q Im <C psi|X_q|psi> over that share's bits into *tail_x (stored-state units).
  double forward(const double* gamma, const double* beta, int reps, bool store_final, bool checkpoints = false,
                 double* tail_x = nullptr);
  // The gradient with per-layer checkpoints (reps + 2 states) or with two states, rotating both back.
  double gradient_checkpointed(const double* gamma, const double* beta, int reps, double* dgamma, double* dbeta);
  double gradient_fused(const double* gamma, const double* beta, int reps, double* dgamma, double* dbeta);
  double gradient_sweep(const double* gamma, const double* beta, int reps, double* dgamma, double* dbeta);
  void phase_table(double gamma, std::vector<double>& pc, std::vector<double>& ps) const;

  int n_ = 0;
  int low_bits_ = 0;    // B: bits handled inside contiguous blocks
  int high_bits_ = 0;   // n - B: bits handled by strided gathers
  int chunk_bits_ = 0;  // log2 of the contiguous chunk width in strided passes
  int num_threads_ = 1;
  std::size_t max_memory_ = 0;
  int compact_ = 0;                    // 0: double costs, 1: uint8, 2: uint16
  std::vector<double> cost_;           // double costs (compact_ == 0)
  std::vector<std::uint8_t> idx8_;     // compact costs, natural order
  std::vector<std::uint16_t> idx16_;
  std::vector<std::uint8_t> pidx8_;    // compact costs in strided-gather order
  std::vector<std::uint16_t> pidx16_;
  std::vector<double> table_;          // cost value of each compact index
  double step_ = 0.0;                  // table_[t + 1] - table_[t] (compact costs)
  huge_vector re_, im_;                // state
  huge_vector lre_, lim_;              // adjoint state (gradient)
  std::vector<huge_vector> ck_;        // per-layer checkpoints (re, im) for the gradient
  std::vector<double> cdf_;            // sampling
  std::vector<std::vector<double>> scratch_;  // per-thread work buffers
  double max_abs_cost_ = 0.0;          // largest |cost| (double costs), for the fast sincos range
  double last_traffic_ = 0.0;
};

}  // namespace qopt
