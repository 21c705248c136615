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
// Science 220 (1983); Metropolis acceptance with incremental local fields.
#pragma once

#include <cstdint>
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

struct AnnealOptions {
  std::int64_t num_reads = 1;
  const double* betas = nullptr;  // beta per sweep (1/energy), length num_sweeps
  std::int64_t num_sweeps = 0;
  std::uint64_t seed = 0;          // read r uses its own stream derived from (seed, r)
  int num_threads = 1;
  bool use_initial_states = false; // states holds the initial states on entry
  double time_limit = 0.0;         // seconds, wall clock; <= 0 means none
  const volatile bool* interrupt = nullptr;  // polled between sweeps
};

struct AnnealStats {
  std::int64_t sweeps_done_min = 0;  // fewest sweeps completed by any read
  bool stopped_early = false;        // time limit or interruption ended some read
};

// Check the CSR arrays; throws std::invalid_argument naming the fault.
void validate_csr(const IsingCSR& model);

// Ising energy of one state (length num_variables).
double ising_energy(const IsingCSR& model, const spin_type* state);

// Anneal num_reads states in place.
//   states   : int8, shape (num_reads, num_variables), row-major, values +-1;
//              initial states on entry when use_initial_states, final states on exit
//   energies : length num_reads, Ising energies of the final states
// Reads are independent and use one random stream each, so results do not depend
// on num_threads. Throws std::invalid_argument on bad options.
AnnealStats simulated_annealing(const IsingCSR& model, const AnnealOptions& options,
                                spin_type* states, double* energies);

}  // namespace qopt
