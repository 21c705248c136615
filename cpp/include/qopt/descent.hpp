// Steepest descent on an Ising model: repeatedly flip the spin whose flip lowers
// the energy most, until no single flip lowers it (a 1-flip local minimum).
//
// Model storage contract: qopt::IsingCSR (anneal.hpp), symmetric CSR, each
// coupling stored in both rows, no self-loops. Local fields
// f_i = h_i + sum_j J_ij s_j are kept in double; the flip energy is
// dE_i = -2 s_i f_i. A flip is taken only if dE_i < -tol, with
// tol = 1e-12 * (1 + max_i (|h_i| + sum_j |J_ij|)), so every step lowers the
// energy by more than rounding and the loop ends. Sparse models (nnz < n^2/16,
// n >= 64) keep the flip energies in an indexed binary heap (O(degree log n) per
// step); dense ones scan the n flip energies (O(n) per step). Both pick the most
// negative flip energy, smallest index on ties.
//
// Method: greedy steepest-descent local search, as in dwave-samplers'
// SteepestDescentSolver (the classical polish for annealing results).
#pragma once

#include <cstdint>

#include "qopt/anneal.hpp"

namespace qopt {

// Descend one state in place (int8, length n, values +-1). field is scratch of
// length n. Returns the number of flips taken.
std::int64_t steepest_descent_one(const IsingCSR& model, spin_type* state, double* field);

// Descend num_states states in place (int8, shape (num_states, n), row-major) with
// num_threads threads; writes the final Ising energies (double) and the number of
// flips per state (may be null). Throws std::invalid_argument on bad input.
void steepest_descent(const IsingCSR& model, spin_type* states, std::int64_t num_states,
                      double* energies, std::int64_t* num_flips, int num_threads);

}  // namespace qopt
