// Replica exchange (parallel tempering) Monte Carlo of an Ising model, for minimisation.
//
// Model storage contract: qopt::IsingCSR (anneal.hpp), symmetric CSR, each coupling
// stored in both rows, no self-loops; E(s) = sum_i h_i s_i + sum_{i<j} J_ij s_i s_j.
//
// Method (one "ladder" per read; reads are independent):
//   * R replicas at inverse temperatures beta_0 < beta_1 < ... < beta_{R-1} (hot to cold,
//     1/energy), initially geometric over beta_range; each replica keeps its spins (int8)
//     and local fields f_i = h_i + sum_j J_ij s_j (double); one sweep visits every spin
//     in index order with the Metropolis test (accept a flip of energy change
//     dE = -2 s_i f_i iff dE <= 0 or u < exp(-beta dE)).
//     Swendsen & Wang, PRL 57 (1986); Hukushima & Nemoto, J. Phys. Soc. Jpn. 65 (1996).
//   * After every sweep of all replicas, neighbour pairs (k, k+1) with k even on even
//     sweeps and odd on odd sweeps exchange their temperatures with probability
//     min(1, exp((beta_{k+1} - beta_k) (E_{k+1} - E_k))).
//   * Ladder tuning (the first tune_fraction of the sweeps, in rounds of tune_interval
//     sweeps): the acceptance A_k of each pair is measured, and with the ends fixed the
//     gaps d_k = beta_{k+1} - beta_k are moved half-way toward d_k' proportional to
//     d_k / sqrt(max(-ln A_k, 1e-3)) (so -ln A, about quadratic in d, becomes uniform):
//     acceptance rates are driven toward uniform, in the spirit of the feedback
//     optimisation of Katzgraber, Trebst, Huse & Troyer, J. Stat. Mech. (2006) P03018.
//     After tuning the ladder is frozen (detailed balance holds again) and the swap
//     statistics reported are those of the frozen ladder.
//   * Round trips: a replica is labelled "up" when it is at the hottest temperature, and
//     an "up" replica is relabelled "down" when it reaches the coldest; a round trip
//     (hottest -> coldest -> hottest) is counted when a "down" replica reaches the hottest.
//   * Optional descent and perturbation (descent_interval > 0), in the manner of Breakout
//     Local Search (Benlic & Hao, Eng. Appl. AI 26(3), 2013): every descent_interval
//     sweeps the coldest replica's state is copied and brought to a 1-flip local minimum
//     by steepest descent (descent.hpp); the ladder's best state is kept. After
//     perturb_after descents without improvement, the best state is perturbed by L random
//     flips (L from perturb_min to perturb_max, growing by one per non-improving
//     perturbation, reset on improvement) and replaces the coldest replica's state.
//
// Randomness: ladder r draws from its own xoshiro256** stream derived from (seed, r), so
// results depend on the seed only, not on num_threads. A time limit or interrupt stops
// every ladder at its next sweep boundary (results then depend on timing).
// Memory: per ladder R (n bytes + 8 n bytes of fields) plus O(n) scratch.
#pragma once

#include <atomic>
#include <cstdint>
#include <vector>

#include "qopt/anneal.hpp"

namespace qopt {

struct ReplicaExchangeOptions {
  std::int64_t num_reads = 1;       // independent ladders
  int num_replicas = 16;            // R >= 2
  std::int64_t num_sweeps = 1000;   // sweeps of every replica
  double beta_min = 0.1;            // hottest beta (1/energy), > 0
  double beta_max = 10.0;           // coldest beta, > beta_min
  std::uint64_t seed = 0;
  int num_threads = 1;
  double tune_fraction = 0.25;      // share of the sweeps spent tuning the ladder, in [0, 1)
  std::int64_t tune_interval = 50;  // sweeps per tuning round, >= 1
  std::int64_t descent_interval = 0;  // sweeps between descents of the coldest replica; 0: off
  std::int64_t perturb_after = 3;   // non-improving descents before a perturbation, >= 1
  int perturb_min = 0;              // fewest flips of a perturbation (0: n / 100, at least 2)
  int perturb_max = 0;              // most flips (0: n / 10, at least perturb_min)
  double time_limit = 0.0;          // seconds, wall clock; <= 0: none
  const std::atomic<bool>* interrupt = nullptr;  // polled between sweeps
  // Optional: lowered (atomically, never raised) to each ladder's best energy as it
  // improves, so another thread can report the incumbent while the run goes on.
  std::atomic<double>* best_energy = nullptr;
};

struct ReplicaExchangeStats {
  std::int64_t sweeps_done_min = 0;          // fewest sweeps any ladder completed
  std::int64_t num_started = 0;              // ladders started (a prefix); the rest untouched
  bool stopped_early = false;
  bool interrupted = false;
  std::vector<double> betas;                 // final ladder of read 0, length R (hot to cold)
  std::vector<double> swap_acceptance;       // per pair k (R - 1), after tuning, over all ladders
  std::int64_t round_trips = 0;              // over all ladders, whole run
  std::int64_t num_descents = 0;             // descents (all ladders)
  std::int64_t num_perturbations = 0;        // perturbations (all ladders)
};

// Run num_reads independent ladders.
//   states   : int8, shape (num_reads, n), row-major: on exit the best state each ladder saw
//              (lowest energy over all replicas at sweep boundaries and all descents)
//   energies : length num_reads, exact Ising energies (double) of those states
// Throws std::invalid_argument on bad options.
ReplicaExchangeStats replica_exchange(const IsingCSR& model, const ReplicaExchangeOptions& options,
                                      spin_type* states, double* energies);

}  // namespace qopt
