#include "qopt/bnb.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <queue>
#include <stdexcept>
#include <unordered_set>
#include <utility>

#include "run_control.hpp"

namespace qopt {

namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();
constexpr std::int64_t kCheckEvery = 4096;  // nodes between stop checks

void validate(const QuboDense& m, const BnbOptions& opt) {
  const std::int32_t n = m.num_variables;
  if (n < 0 || n > kBnbMaxVariables)
    throw std::invalid_argument("num_variables must be in [0, 64] for branch and bound");
  if (n > 0 && (m.linear == nullptr || m.quadratic == nullptr))
    throw std::invalid_argument("linear and quadratic must not be null");
  if (!std::isfinite(m.offset)) throw std::invalid_argument("offset must be finite");
  const std::size_t un = static_cast<std::size_t>(n);
  for (std::size_t i = 0; i < un; ++i) {
    if (!std::isfinite(m.linear[i])) throw std::invalid_argument("linear biases must be finite");
    if (m.quadratic[i * un + i] != 0.0) throw std::invalid_argument("quadratic must have a zero diagonal");
    for (std::size_t j = i + 1; j < un; ++j) {
      const double a = m.quadratic[i * un + j];
      if (!std::isfinite(a)) throw std::invalid_argument("quadratic biases must be finite");
      if (a != m.quadratic[j * un + i]) throw std::invalid_argument("quadratic must be symmetric");
    }
  }
  if (opt.num_best < 1) throw std::invalid_argument("num_best must be >= 1");
  if (opt.num_initial < 0) throw std::invalid_argument("num_initial must be >= 0");
  if (opt.num_initial > 0 && opt.initial_states == nullptr)
    throw std::invalid_argument("initial_states must not be null when num_initial > 0");
  for (std::int64_t k = 0; k < opt.num_initial * n; ++k)
    if (opt.initial_states[k] != 0 && opt.initial_states[k] != 1)
      throw std::invalid_argument("initial_states must hold only 0 and 1");
}

class Search {
 public:
  Search(const QuboDense& m, const BnbOptions& opt) : n_(m.num_variables), k_(opt.num_best), model_(m) {
    const std::size_t un = static_cast<std::size_t>(n_);
    // influence order: |c_i| + sum_j |Q_ij| descending, smaller index first on ties
    std::vector<double> weight(un, 0.0);
    double mass = 1.0 + std::fabs(m.offset);
    for (std::size_t i = 0; i < un; ++i) {
      weight[i] = std::fabs(m.linear[i]);
      for (std::size_t j = 0; j < un; ++j) weight[i] += std::fabs(m.quadratic[i * un + j]);
      mass += std::fabs(m.linear[i]) + 0.5 * (weight[i] - std::fabs(m.linear[i]));
    }
    tol_ = 1e-12 * mass;
    order_.resize(un);
    std::iota(order_.begin(), order_.end(), 0);
    std::stable_sort(order_.begin(), order_.end(), [&](int a, int b) {
      return weight[static_cast<std::size_t>(a)] > weight[static_cast<std::size_t>(b)];
    });
    q_.assign(un * un, 0.0);
    g_.assign(un, 0.0);
    neg_after_.assign(un, 0.0);
    for (std::size_t p = 0; p < un; ++p) {
      const std::size_t i = static_cast<std::size_t>(order_[p]);
      g_[p] = m.linear[i];
      for (std::size_t q = 0; q < un; ++q) q_[p * un + q] = m.quadratic[i * un + static_cast<std::size_t>(order_[q])];
      for (std::size_t q = p + 1; q < un; ++q) neg_after_[p] += std::min(0.0, q_[p * un + q]);
    }
    // E(x) == E(1 - x) for every x exactly when every Ising field h_i = c_i / 2 + sum_j Q_ij / 4
    // is 0 (a SPIN model without linear biases, e.g. MaxCut): then the first variable is fixed
    // to 0 and each leaf stands for its complement too
    symmetric_ = n_ > 0;
    for (std::size_t i = 0; i < un && symmetric_; ++i) {
      double h = m.linear[i];
      for (std::size_t j = 0; j < un; ++j) h += 0.5 * m.quadratic[i * un + j];
      symmetric_ = std::fabs(h) <= tol_;
    }
    full_ = n_ == 64 ? ~std::uint64_t{0} : (std::uint64_t{1} << n_) - 1;
    efix_ = m.offset;
    stop_.arm(opt.time_limit, opt.interrupt);
    std::vector<std::int8_t> x(un);
    for (std::int64_t r = 0; r < opt.num_initial; ++r) {
      const std::int8_t* s = opt.initial_states + r * n_;
      std::uint64_t mask = 0;
      for (std::size_t p = 0; p < un; ++p)
        if (s[order_[p]]) mask |= std::uint64_t{1} << p;
      offer(qubo_energy(m, s), mask);
    }
  }

  BnbResult run() {
    BnbResult out;
    const auto t0 = detail::StopRule::Clock::now();
    double root = efix_;
    for (std::size_t p = 0; p < static_cast<std::size_t>(n_); ++p) root += std::min(0.0, g_[p] + neg_after_[p]);
    if (root < threshold() - tol_ || heap_.size() < static_cast<std::size_t>(k_)) dfs(0, root);
    out.num_nodes = nodes_;
    out.seconds = std::chrono::duration<double>(detail::StopRule::Clock::now() - t0).count();
    std::vector<std::pair<double, std::uint64_t>> found;
    while (!heap_.empty()) {
      found.push_back(heap_.top());
      heap_.pop();
    }
    std::reverse(found.begin(), found.end());
    const std::size_t un = static_cast<std::size_t>(n_);
    out.states.assign(found.size() * un, 0);
    out.energies.resize(found.size());
    for (std::size_t r = 0; r < found.size(); ++r) {
      std::int8_t* s = out.states.data() + r * un;
      for (std::size_t p = 0; p < un; ++p) s[order_[p]] = static_cast<std::int8_t>((found[r].second >> p) & 1U);
      out.energies[r] = qubo_energy(model_, s);  // exact, not the running sums
    }
    // ascending by the exact energies (running sums may differ in the last bits)
    std::vector<std::size_t> idx(found.size());
    std::iota(idx.begin(), idx.end(), std::size_t{0});
    std::stable_sort(idx.begin(), idx.end(), [&](std::size_t a, std::size_t b) { return out.energies[a] < out.energies[b]; });
    std::vector<std::int8_t> states(out.states.size());
    std::vector<double> energies(found.size());
    for (std::size_t r = 0; r < idx.size(); ++r) {
      std::copy_n(out.states.data() + idx[r] * un, un, states.data() + r * un);
      energies[r] = out.energies[idx[r]];
    }
    out.states = std::move(states);
    out.energies = std::move(energies);
    const double best = out.energies.empty() ? kInf : out.energies.front();
    if (stopped_) {
      out.status = stop_.interrupted.load() ? BnbStatus::interrupted : BnbStatus::time_limit;
      out.dual_bound = std::min(best, open_lb_);
    } else {
      out.status = BnbStatus::optimal;
      out.dual_bound = best;
    }
    return out;
  }

 private:
  using Entry = std::pair<double, std::uint64_t>;  // (energy, state mask in order positions)

  double threshold() const { return heap_.size() < static_cast<std::size_t>(k_) ? kInf : heap_.top().first; }

  void offer(double energy, std::uint64_t mask) {
    if (heap_.size() == static_cast<std::size_t>(k_) && energy >= heap_.top().first) return;
    if (!seen_.insert(mask).second) return;
    heap_.push({energy, mask});
    if (heap_.size() > static_cast<std::size_t>(k_)) {
      seen_.erase(heap_.top().second);
      heap_.pop();
    }
  }

  // Explore the node at depth d (order positions [0, d) fixed) whose lower bound is lb.
  void dfs(int d, double lb) {
    if (stopped_) {
      open_lb_ = std::min(open_lb_, lb);
      return;
    }
    if (++nodes_ % kCheckEvery == 0 && stop_.should_stop()) {
      stopped_ = true;
      open_lb_ = std::min(open_lb_, lb);
      return;
    }
    const std::size_t un = static_cast<std::size_t>(n_);
    const std::size_t p = static_cast<std::size_t>(d);
    if (p == un) {
      offer(efix_, mask_);
      if (symmetric_) offer(efix_, mask_ ^ full_);
      return;
    }
    // both children's bounds (look-ahead): x_p = 0 drops p's term; x_p = 1 adds g_p and
    // shifts every later field by Q_pq
    const double* row = q_.data() + p * un;
    double lb0 = efix_, lb1 = efix_ + g_[p];
    for (std::size_t q = p + 1; q < un; ++q) {
      const double base = g_[q] + neg_after_[q];
      lb0 += std::min(0.0, base);
      lb1 += std::min(0.0, base + row[q]);
    }
    const bool one_first = lb1 < lb0;
    const int children = symmetric_ && p == 0 ? 1 : 2;  // the x_0 = 1 half mirrors the x_0 = 0 half
    for (int c = 0; c < children; ++c) {
      const bool one = children == 2 && (c == 0) == one_first;
      const double child = one ? lb1 : lb0;
      if (child >= threshold() - tol_) continue;  // cannot beat the k-th best state
      if (stopped_) {
        open_lb_ = std::min(open_lb_, child);
        continue;
      }
      if (one) {
        const double gp = g_[p];
        efix_ += gp;
        mask_ |= std::uint64_t{1} << p;
        for (std::size_t q = p + 1; q < un; ++q) g_[q] += row[q];
        dfs(d + 1, child);
        for (std::size_t q = p + 1; q < un; ++q) g_[q] -= row[q];
        mask_ &= ~(std::uint64_t{1} << p);
        efix_ -= gp;
      } else {
        dfs(d + 1, child);
      }
    }
  }

  std::int32_t n_;
  std::int64_t k_;
  const QuboDense& model_;
  double tol_ = 0.0;
  std::vector<int> order_;         // position -> variable
  std::vector<double> q_;          // Q in position order, n x n
  std::vector<double> g_;          // local fields of the free positions
  std::vector<double> neg_after_;  // sum_{q > p} min(0, Q_pq), by position
  double efix_ = 0.0;              // energy of the fixed part (offset included)
  std::uint64_t mask_ = 0;         // positions set to 1
  std::priority_queue<Entry> heap_;  // the k best found, worst on top
  std::unordered_set<std::uint64_t> seen_;
  detail::StopRule stop_;
  bool symmetric_ = false;         // E(x) == E(1 - x): position 0 fixed to 0
  std::uint64_t full_ = 0;         // all n positions set
  bool stopped_ = false;
  double open_lb_ = kInf;
  std::int64_t nodes_ = 0;
};

}  // namespace

double qubo_energy(const QuboDense& m, const std::int8_t* x) {
  const std::size_t un = static_cast<std::size_t>(m.num_variables);
  double e = m.offset;
  for (std::size_t i = 0; i < un; ++i) {
    if (!x[i]) continue;
    e += m.linear[i];
    for (std::size_t j = i + 1; j < un; ++j)
      if (x[j]) e += m.quadratic[i * un + j];
  }
  return e;
}

BnbResult branch_and_bound(const QuboDense& model, const BnbOptions& options) {
  validate(model, options);
  Search search(model, options);
  return search.run();
}

}  // namespace qopt
