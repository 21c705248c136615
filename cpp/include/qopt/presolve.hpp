// qopt C++ core: presolve kernels. Plain arrays in, plain arrays out; no Python.
//
// Storage contract (shared by every function here): an Ising model on n spins
//
//     E(s) = sum_i h[i] s_i + sum_{k} J[k] s_{row[k]} s_{col[k]}   (+ offset),  s in {-1,+1}^n
//
// given as a symmetric CSR adjacency: for spin i, its neighbours are
// indices[indptr[i] .. indptr[i+1]) with coupling values data[...] (each undirected
// interaction J_ij appears twice, once in row i and once in row j, with the same value;
// no diagonal entries). indptr has n+1 entries, indices/data have indptr[n] entries.
#pragma once

#include <cstdint>
#include <vector>

namespace qopt::presolve {

// Own aliases (nested namespace, so they cannot clash with other kernels' index widths).
using bias_type = double;
using index_type = std::int64_t;

/// Result of forced-sign fixing.
struct ForcedFixResult {
  std::vector<std::int8_t> fixed;   ///< length n: 0 = free, +1 / -1 = value the spin is fixed to
  std::vector<bias_type> h;         ///< length n: linear biases of the free spins after folding in
                                    ///< the fixed neighbours (entries of fixed spins: 0)
  bias_type offset_delta = 0.0;     ///< energy contributed by the fixed spins (add to the offset)
  index_type rounds = 0;            ///< number of passes until the fixed point
  std::vector<index_type> order;    ///< spins in the order they were fixed
};

/// Forced-sign fixing to a fixed point.
///
/// A spin whose field dominates all its couplings, |h_i| > sum_{j free} |J_ij|, takes the
/// value s_i = -sign(h_i) in every minimiser (strict inequality; with ``strict == false``
/// equality is also fixed, which preserves at least one minimiser but not all). Fixing it
/// adds J_ij s_i to every free neighbour's field; the rule is re-applied until nothing
/// changes (a work-list, so each spin is re-examined only when a neighbour was fixed).
///
/// @throws std::invalid_argument on a bad indptr (n < 0, indptr[0] != 0, decreasing) or
///         non-finite biases; std::out_of_range on indices out of range.
ForcedFixResult forced_sign_fixing(index_type n, const bias_type* h, const index_type* indptr,
                                   const index_type* indices, const bias_type* data,
                                   bool strict);

/// Result of the low-rank SDP (mixing method) solve.
struct MixingResult {
  std::vector<bias_type> y;   ///< length n: dual estimate y_i = v_i . (A V)_i (see below)
  bias_type primal = 0.0;     ///< <A, V V^T> at the last iterate (an SDP upper estimate, NOT a bound)
  index_type iterations = 0;  ///< sweeps performed
};

/// Low-rank coordinate ascent ("mixing method") for the max-cut type SDP
///
///     min <A, X>  s.t.  diag(X) = 1,  X = V V^T,  V in R^{n x rank}
///
/// where A is the symmetric matrix given by the CSR arrays (A_ij = data, zero diagonal).
/// Each sweep sets v_i = -g_i / ||g_i|| with g_i = sum_j A_ij v_j, which never increases
/// the objective (Wang, Chang & Kolter 2017, "The mixing method"; Burer & Monteiro 2003).
/// Stops after ``max_sweeps`` or when the relative objective decrease of a sweep falls below
/// ``tol``, or after ``time_limit`` seconds (<= 0: no limit).
/// The returned y_i = v_i . g_i are the KKT multipliers: at an SDP optimum A - diag(y) is
/// positive semidefinite and sum(y) is the optimal value. They are only an estimate: the
/// caller certifies a bound from them with an eigenvalue check.
///
/// @throws std::invalid_argument on bad sizes (rank < 1, n < 0, max_sweeps < 0, tol < 0);
///         std::out_of_range on indices out of range.
MixingResult sdp_mixing(index_type n, const index_type* indptr, const index_type* indices,
                        const bias_type* data, index_type rank, index_type max_sweeps,
                        double tol, double time_limit, std::uint64_t seed);

}  // namespace qopt::presolve
