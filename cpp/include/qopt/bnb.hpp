// Exact minimisation of a small BQM in binary form by depth-first branch and bound.
//
//   E(x) = offset + sum_i c_i x_i + sum_{i<j} Q_ij x_i x_j,      x_i in {0, 1}
//
// Model storage contract (qopt::QuboDense):
//   linear    : length n, c_i (energy units)
//   quadratic : length n * n, row-major and symmetric: quadratic[i*n + j] ==
//               quadratic[j*n + i] == Q_ij, zero diagonal (a linear term goes in c_i)
//   offset    : constant energy
// n <= kBnbMaxVariables (states are kept as 64-bit masks).
//
// Method: Pardalos & Rodgers, "Computational aspects of a branch and bound algorithm
// for quadratic zero-one programming", Computing 45 (1990): depth-first search over a
// fixed variable order, incremental local fields and a bound from the signs of the
// coefficients. Here:
//   * order: decreasing influence |c_i| + sum_j |Q_ij| (ties: smaller index first), so
//     the variables that move the energy most are fixed first;
//   * at depth d the variables order[0..d) are fixed; each free variable p carries its
//     local field g_p = c_p + sum_{fixed q, x_q = 1} Q_pq, updated in O(n) when a
//     variable is set to 1 and restored on backtracking;
//   * lower bound of a node (each negative coupling assigned to its earlier endpoint):
//       LB = E_fixed + sum_{free p} min(0, g_p + sum_{free q after p} min(0, Q_pq)),
//     valid because x_p (g_p + sum_{q after p} Q_pq x_q) >= min(0, g_p + sum min(0, Q_pq));
//     the inner sums do not depend on the depth, so they are computed once;
//   * both children's bounds are computed before descending (one-step look-ahead); the
//     child with the lower bound is explored first and a child whose bound cannot beat
//     the k-th best state found is pruned;
//   * a model with E(x) == E(1 - x) (every Ising field c_i / 2 + sum_j Q_ij / 4 within tol of
//     0: a SPIN model without linear biases, e.g. MaxCut) has its first variable fixed to 0,
//     each leaf found standing for its complement too: half the tree;
//   * the caller's initial states (e.g. from steepest descent or a short anneal) seed the
//     incumbents, so pruning starts at once.
// The num_best lowest-energy distinct states are kept (k best; 1 for a plain minimum).
// Pruning uses LB >= E_k - tol with tol = 1e-12 * (1 + sum of |biases|), so each returned
// energy is within tol of the true i-th lowest energy.
//
// Stopping: the interrupt flag and time_limit (seconds, wall clock) are checked every
// 4096 nodes. A stopped run returns the best states found and the global dual bound:
// the minimum of the best energy found and the lower bounds of the open nodes (the
// subtree being explored and every unexplored sibling on the path), a proven lower
// bound on the minimum energy. A finished run proves optimality: dual_bound equals the
// best energy.
#pragma once

#include <atomic>
#include <cstdint>
#include <vector>

namespace qopt {

//! Most variables the branch and bound takes (states are 64-bit masks).
constexpr std::int32_t kBnbMaxVariables = 64;

struct QuboDense {
  std::int32_t num_variables = 0;
  const double* linear = nullptr;     // length n
  const double* quadratic = nullptr;  // length n * n, symmetric, zero diagonal
  double offset = 0.0;
};

enum class BnbStatus { optimal = 0, time_limit = 1, interrupted = 2 };

struct BnbOptions {
  std::int64_t num_best = 1;                    // states wanted (>= 1)
  double time_limit = 0.0;                      // seconds; <= 0: none
  const std::atomic<bool>* interrupt = nullptr;  // stop when set (may be null)
  const std::int8_t* initial_states = nullptr;  // num_initial x n, values in {0, 1} (may be null)
  std::int64_t num_initial = 0;
};

struct BnbResult {
  BnbStatus status = BnbStatus::optimal;
  std::vector<std::int8_t> states;  // num_found x n, values in {0, 1}, lowest energy first
  std::vector<double> energies;     // num_found energies, offset included, ascending
  double dual_bound = 0.0;          // proven lower bound on the minimum energy (offset included)
  std::int64_t num_nodes = 0;       // search nodes visited
  double seconds = 0.0;             // wall clock of the search
};

// Energy of a binary state x (int8, length n, values 0/1) of model.
double qubo_energy(const QuboDense& model, const std::int8_t* x);

// Minimise model (see the header comment). Throws std::invalid_argument on bad input
// (n < 0 or > kBnbMaxVariables, a non-symmetric or non-finite matrix, a non-zero diagonal,
// num_best < 1, initial states not in {0, 1}).
BnbResult branch_and_bound(const QuboDense& model, const BnbOptions& options);

}  // namespace qopt
