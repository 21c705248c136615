// Simulated annealing of an Ising model with single-spin-flip Metropolis sweeps.
//
// Model storage contract (CSR, symmetric):
//   E(s) = sum_i h[i] s_i + sum_{i<j} J_ij s_i s_j,     s_i in {-1, +1}
//   h        : length num_variables, linear biases
//   row_ptr  : length num_variables + 1, row_ptr[0] == 0
//   col      : length row_ptr[num_variables], neighbour indices in [0, n)
//   J        : length row_ptr[num_variables], coupling for each (row, col[k])
// Every coupling appears twice (once in each row), no self-loops.
//
// Method: Kirkpatrick, Gelatt, Vecchi, "Optimization by simulated annealing",
// Science 220 (1983); Metropolis acceptance with incremental local fields
// f_i = h_i + sum_j J_ij s_j, flip energy dE_i = -2 s_i f_i.
//
// Kernel ("replica lanes"): 16 reads (sparse) or 8 reads (dense) are annealed
// together, one SIMD lane per read (4 or 8 lanes when num_reads is that small). Spins and local fields are float32[n][lanes]; a visited spin draws one
// uniform per lane, accepts branch-free per lane, and if any lane flips, the
// neighbour fields of all lanes are updated with one vector multiply-add per
// neighbour (lanes that did not flip add 0). Two coupling layouts:
//   * sparse: CSR neighbours with contiguous float32 couplings;
//   * dense (nnz >= dense_fraction * n^2, n <= 8192): a dense float32 n x n
//     matrix, so the update streams one matrix row with no index loads.
// Acceptance compares beta * dE with -ln(u), u a 24-bit uniform from the read's
// own xoshiro128+ stream, using a polynomial log2 (abs. error 2.1e-6), so no exp
// is evaluated. Each read's arithmetic is the same whichever lane or thread runs
// it, so results depend on the seed only, not on num_threads.
// Fields are float32 on the model divided by its largest |bias| and are
// recomputed from the model every 256 sweeps (no drift); the returned energies
// are recomputed exactly in double from the double model.
// Extra memory: float copies of h and J (or the n x n matrix), 128 bytes per
// variable per thread (spins and fields of 16 lanes), and 16 n bytes per thread.
// Reads are handed to threads 16 (or 8) at a time, so num_reads = 100 on two
// threads splits 4 + 3 groups; multiples of 32 balance exactly.
//
// Progress (AnnealOptions::progress): at most every progress_interval seconds a worker
// that reaches a sweep boundary asks every worker for a snapshot; each one, at its next
// sweep boundary, scores its reads' current states (float, O(n) per read), rescores the
// best of them exactly (double, O(nnz)) and merges it into the run's best, as it does
// with every finished read's final energy. The asking worker then calls progress with
// that best when it has improved since the last call; after the workers are joined it is
// called once more if the final energies improved on it. A worker whose snapshot took
// c seconds takes no other for 100 c seconds, so snapshots cost at most 1% of the run.
// Snapshots read the states without changing the anneal. The best snapshot state is kept:
// when it is better than its read's final state (after polish), that read returns it
// (polished) instead, so no energy reported is better than the result's best. That happens
// only on runs longer than progress_interval, and only improves a read; otherwise, and
// always without progress, the results are the seed's alone.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <vector>

namespace qopt {

using bias_type = double;
using index_type = std::int32_t;
using spin_type = std::int8_t;

struct IsingCSR {
  index_type num_variables = 0;
  const bias_type* h = nullptr;
  const index_type* row_ptr = nullptr;
  const index_type* col = nullptr;
  const bias_type* J = nullptr;
};

enum class AnnealKernel { automatic = 0, sparse = 1, dense = 2 };

// One progress report (see the header comment).
struct AnnealProgress {
  std::int64_t sweep = 0;     // sweeps done by the reads of the reporting worker (final: fewest of any read)
  double best_energy = 0.0;   // lowest Ising energy (exact, double) of any read's state seen so far
  double elapsed = 0.0;       // seconds since simulated_annealing() was called
  bool final = false;         // the call made after the run, from the final energies
};

// Called from one worker thread at a time (never concurrently), between sweeps; it must
// return quickly. An exception it throws stops the run and is rethrown by simulated_annealing.
using AnnealProgressFn = std::function<void(const AnnealProgress&)>;

struct AnnealOptions {
  std::int64_t num_reads = 1;
  const double* betas = nullptr;  // beta per sweep (1/energy), length num_sweeps
  std::int64_t num_sweeps = 0;
  std::uint64_t seed = 0;          // read r uses its own stream derived from (seed, r)
  int num_threads = 1;
  bool use_initial_states = false; // states holds the initial states on entry
  double time_limit = 0.0;         // seconds, wall clock; <= 0 means none
  const std::atomic<bool>* interrupt = nullptr;  // polled between sweeps
  bool polish = false;             // steepest descent after annealing (descent.hpp)
  AnnealKernel kernel = AnnealKernel::automatic;
  double dense_fraction = 0.65;    // automatic: dense kernel when mean degree >= this * n
  AnnealProgressFn progress;       // optional; see AnnealProgress
  double progress_interval = 0.25; // seconds between progress calls, at least (> 0)
};

struct AnnealStats {
  std::int64_t sweeps_done_min = 0;  // fewest sweeps completed by any returned read
  std::int64_t num_started = 0;      // reads started (a prefix 0..num_started-1); the rest untouched
  bool stopped_early = false;        // time limit or interruption ended the run
  bool interrupted = false;          // the interrupt flag was seen
  bool dense = false;                // the dense kernel ran
  std::int64_t snapshot_read = -1;   // the read that returned its best snapshot state (see above), or -1
};

// Check the CSR arrays; throws std::invalid_argument naming the fault.
void validate_csr(const IsingCSR& model);

// Ising energy of one state (length num_variables), in double.
double ising_energy(const IsingCSR& model, const spin_type* state);

// Anneal num_reads states in place.
//   states   : int8, shape (num_reads, num_variables), row-major, values +-1;
//              initial states on entry when use_initial_states, final states on exit
//   energies : length num_reads, Ising energies of the final states (double, exact)
// Reads are independent and use one random stream each, so results do not depend
// on num_threads. When the time limit or the interrupt flag stops the run, reads
// are started in index order and only the first stats.num_started rows of states
// and energies are written (each with the state reached when it stopped).
// Throws std::invalid_argument on bad options.
AnnealStats simulated_annealing(const IsingCSR& model, const AnnealOptions& options,
                                spin_type* states, double* energies);

}  // namespace qopt
