// Norms; exact W1 by network simplex, 1-D and sliced Wasserstein, unbiased MMD, Fréchet distance.
#include "kant/distances.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
// LEMON's graphs push default-constructed node and arc records whose padding GCC 12 (with
// -O3 and the sanitizers) reports as maybe-uninitialized inside the standard library; the
// warning is about LEMON's code, so it is silenced for its headers only.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <lemon/network_simplex.h>
#include <lemon/smart_graph.h>
#pragma GCC diagnostic pop

#include "kant/error.hpp"

namespace kant {
namespace {

int64_t dims(const Tensor& a) { return a.numel() / a.size(0); }

double squared_distance(const float* x, const float* y, int64_t d) {
  double s = 0;
  for (int64_t j = 0; j < d; ++j) s += (double(x[j]) - y[j]) * (double(x[j]) - y[j]);
  return s;
}

void require_points(const Tensor& a, const Tensor& b, const char* who) {
  if (a.dim() < 2 || b.dim() < 2 || a.size(0) == 0 || b.size(0) == 0 || dims(a) != dims(b))
    throw Error(fmt::format("{}: expected two non-empty point sets of the same dimension", who));
}

}  // namespace

double squared_norm(const Tensor& t) {
  double s = 0;
  for (int64_t i = 0; i < t.numel(); ++i) s += double(t.data()[i]) * t.data()[i];
  return s;
}

std::vector<double> row_norms(const Tensor& t, int64_t rows) {
  const int64_t per = t.numel() / rows;
  std::vector<double> out(static_cast<size_t>(rows));
  for (int64_t i = 0; i < rows; ++i) {
    double s = 0;
    for (int64_t j = 0; j < per; ++j) s += double(t.data()[i * per + j]) * t.data()[i * per + j];
    out[static_cast<size_t>(i)] = std::sqrt(s);
  }
  return out;
}

TransportPlan optimal_transport(const Tensor& a, const Tensor& b, double p) {
  require_points(a, b, "optimal_transport");
  if (!(p >= 1)) throw Error(fmt::format("optimal_transport: p must be ≥ 1, got {}", p));
  const int64_t n = a.size(0), m = b.size(0), d = dims(a);
  lemon::SmartDigraph g;
  g.reserveNode(static_cast<int>(n + m));
  g.reserveArc(static_cast<int>(n * m));
  std::vector<lemon::SmartDigraph::Node> nodes;
  for (int64_t i = 0; i < n + m; ++i) nodes.push_back(g.addNode());
  lemon::SmartDigraph::ArcMap<double> cost(g);
  lemon::SmartDigraph::NodeMap<int64_t> supply(g);
  std::vector<lemon::SmartDigraph::Arc> arcs;
  for (int64_t i = 0; i < n; ++i) {
    supply[nodes[static_cast<size_t>(i)]] = m;
    for (int64_t j = 0; j < m; ++j) {
      auto arc = g.addArc(nodes[static_cast<size_t>(i)], nodes[static_cast<size_t>(n + j)]);
      const double squared = squared_distance(a.data() + i * d, b.data() + j * d, d);
      cost[arc] = p == 1 ? std::sqrt(squared) : p == 2 ? squared : std::pow(squared, p / 2);
      arcs.push_back(arc);
    }
  }
  for (int64_t j = 0; j < m; ++j) supply[nodes[static_cast<size_t>(n + j)]] = -n;
  lemon::NetworkSimplex<lemon::SmartDigraph, int64_t, double> simplex(g);
  simplex.costMap(cost).supplyMap(supply);
  if (simplex.run() != decltype(simplex)::OPTIMAL)
    throw Error("optimal_transport: the network simplex found no optimal transport");
  const double total = static_cast<double>(n) * static_cast<double>(m);
  TransportPlan plan;
  plan.cost = simplex.totalCost() / total;
  for (size_t k = 0; k < arcs.size(); ++k)
    if (const int64_t f = simplex.flow(arcs[k]); f > 0)
      plan.moves.push_back({static_cast<int64_t>(k) / m, static_cast<int64_t>(k) % m,
                            static_cast<double>(f) / total});
  return plan;
}

double wasserstein1_exact(const Tensor& a, const Tensor& b) {
  return optimal_transport(a, b, 1).cost;
}

double wasserstein_1d(std::vector<double> a, std::vector<double> b, double p) {
  if (a.empty() || b.empty()) throw Error("wasserstein_1d: empty sample");
  std::sort(a.begin(), a.end());
  std::sort(b.begin(), b.end());
  // Walk the merged breakpoints k/n and l/m of both quantile functions.
  const double n = static_cast<double>(a.size()), m = static_cast<double>(b.size());
  size_t i = 0, j = 0;
  double t = 0, total = 0;
  while (i < a.size() && j < b.size()) {
    const double next = std::min(static_cast<double>(i + 1) / n, static_cast<double>(j + 1) / m);
    total += (next - t) * std::pow(std::abs(a[i] - b[j]), p);
    t = next;
    if (static_cast<double>(i + 1) / n <= next) ++i;
    if (static_cast<double>(j + 1) / m <= next) ++j;
  }
  return std::pow(total, 1.0 / p);
}

double sliced_wasserstein(const Tensor& a, const Tensor& b, int64_t projections, double p,
                          Rng& rng) {
  require_points(a, b, "sliced_wasserstein");
  const int64_t d = dims(a);
  double total = 0;
  std::vector<double> theta(static_cast<size_t>(d)), pa, pb;
  for (int64_t k = 0; k < projections; ++k) {
    double norm = 0;
    for (double& v : theta) {
      v = rng.normal();
      norm += v * v;
    }
    norm = std::sqrt(norm);
    auto project = [&](const Tensor& x, std::vector<double>& out) {
      out.assign(static_cast<size_t>(x.size(0)), 0.0);
      for (int64_t i = 0; i < x.size(0); ++i)
        for (int64_t j = 0; j < d; ++j)
          out[static_cast<size_t>(i)] += theta[static_cast<size_t>(j)] / norm * x.data()[i * d + j];
    };
    project(a, pa);
    project(b, pb);
    total += std::pow(wasserstein_1d(pa, pb, p), p);
  }
  return std::pow(total / static_cast<double>(projections), 1.0 / p);
}

double mmd2_unbiased(const Tensor& a, const Tensor& b, const std::vector<double>& bandwidths) {
  require_points(a, b, "mmd2_unbiased");
  if (a.size(0) < 2 || b.size(0) < 2)
    throw Error("mmd2_unbiased: needs at least 2 points per side");
  if (bandwidths.empty()) throw Error("mmd2_unbiased: no bandwidths");
  const int64_t d = dims(a);
  auto kernel = [&](const float* x, const float* y) {
    const double r2 = squared_distance(x, y, d);
    double k = 0;
    for (double s : bandwidths) k += std::exp(-r2 / (2 * s * s));
    return k;
  };
  // mean of k over distinct pairs within x, or over all pairs across x and y
  auto mean_within = [&](const Tensor& x) {
    const int64_t n = x.size(0);
    double s = 0;
    for (int64_t i = 0; i < n; ++i)
      for (int64_t j = i + 1; j < n; ++j) s += kernel(x.data() + i * d, x.data() + j * d);
    return 2 * s / (static_cast<double>(n) * static_cast<double>(n - 1));
  };
  double cross = 0;
  for (int64_t i = 0; i < a.size(0); ++i)
    for (int64_t j = 0; j < b.size(0); ++j) cross += kernel(a.data() + i * d, b.data() + j * d);
  cross /= static_cast<double>(a.size(0)) * static_cast<double>(b.size(0));
  return mean_within(a) + mean_within(b) - 2 * cross;
}

Gaussian fit_gaussian(const Tensor& a) {
  const int64_t n = a.size(0), d = dims(a);
  if (n < 2) throw Error("fit_gaussian: needs at least 2 points");
  Gaussian g{std::vector<double>(static_cast<size_t>(d)),
             std::vector<double>(static_cast<size_t>(d * d))};
  for (int64_t i = 0; i < n; ++i)
    for (int64_t j = 0; j < d; ++j) g.mean[static_cast<size_t>(j)] += a.data()[i * d + j];
  for (double& v : g.mean) v /= static_cast<double>(n);
  std::vector<double> centred(static_cast<size_t>(d));
  for (int64_t i = 0; i < n; ++i) {
    for (int64_t j = 0; j < d; ++j)
      centred[static_cast<size_t>(j)] = a.data()[i * d + j] - g.mean[static_cast<size_t>(j)];
    for (int64_t j = 0; j < d; ++j)
      for (int64_t k = j; k < d; ++k)
        g.cov[static_cast<size_t>(j * d + k)] +=
            centred[static_cast<size_t>(j)] * centred[static_cast<size_t>(k)];
  }
  for (int64_t j = 0; j < d; ++j)
    for (int64_t k = j; k < d; ++k) {
      g.cov[static_cast<size_t>(j * d + k)] /= static_cast<double>(n - 1);
      g.cov[static_cast<size_t>(k * d + j)] = g.cov[static_cast<size_t>(j * d + k)];
    }
  return g;
}

void symmetric_eigen(std::vector<double> a, int64_t d, std::vector<double>& values,
                     std::vector<double>& vectors) {
  const auto at = [d](int64_t i, int64_t j) { return static_cast<size_t>(i * d + j); };
  vectors.assign(static_cast<size_t>(d * d), 0.0);
  for (int64_t i = 0; i < d; ++i) vectors[at(i, i)] = 1;
  for (int sweep = 0; sweep < 100; ++sweep) {
    double off = 0, scale = 0;
    for (int64_t i = 0; i < d; ++i)
      for (int64_t j = 0; j < d; ++j) (i == j ? scale : off) += a[at(i, j)] * a[at(i, j)];
    if (off <= 1e-30 * std::max(scale, 1e-300)) break;
    for (int64_t p = 0; p < d; ++p)
      for (int64_t q = p + 1; q < d; ++q) {
        if (a[at(p, q)] == 0) continue;
        // rotation zeroing a_pq (Golub & Van Loan, Algorithm 8.4.2)
        const double tau = (a[at(q, q)] - a[at(p, p)]) / (2 * a[at(p, q)]);
        const double t = (tau >= 0 ? 1.0 : -1.0) / (std::abs(tau) + std::sqrt(1 + tau * tau));
        const double c = 1 / std::sqrt(1 + t * t), s = t * c;
        for (int64_t k = 0; k < d; ++k) {  // A ← A J
          const double akp = a[at(k, p)], akq = a[at(k, q)];
          a[at(k, p)] = c * akp - s * akq;
          a[at(k, q)] = s * akp + c * akq;
        }
        for (int64_t k = 0; k < d; ++k) {  // A ← Jᵀ A
          const double apk = a[at(p, k)], aqk = a[at(q, k)];
          a[at(p, k)] = c * apk - s * aqk;
          a[at(q, k)] = s * apk + c * aqk;
        }
        for (int64_t k = 0; k < d; ++k) {  // V ← V J
          const double vkp = vectors[at(k, p)], vkq = vectors[at(k, q)];
          vectors[at(k, p)] = c * vkp - s * vkq;
          vectors[at(k, q)] = s * vkp + c * vkq;
        }
      }
  }
  values.resize(static_cast<size_t>(d));
  for (int64_t i = 0; i < d; ++i) values[static_cast<size_t>(i)] = a[at(i, i)];
}

double frechet_distance(const Gaussian& p, const Gaussian& q) {
  const auto d = static_cast<int64_t>(p.mean.size());
  if (q.mean.size() != p.mean.size()) throw Error("frechet_distance: dimensions differ");
  const auto at = [d](int64_t i, int64_t j) { return static_cast<size_t>(i * d + j); };
  double result = 0;
  for (int64_t j = 0; j < d; ++j) {
    const double diff = p.mean[static_cast<size_t>(j)] - q.mean[static_cast<size_t>(j)];
    result += diff * diff + p.cov[at(j, j)] + q.cov[at(j, j)];
  }
  // Σ1^{½} = V diag(√λ) Vᵀ; tr (Σ1^{½} Σ2 Σ1^{½})^{½} = Σ √eig(Σ1^{½} Σ2 Σ1^{½}) (PSD, so
  // tiny negative eigenvalues from rounding are clamped to 0).
  std::vector<double> lambda, v;
  symmetric_eigen(p.cov, d, lambda, v);
  std::vector<double> root(static_cast<size_t>(d * d), 0.0), tmp(static_cast<size_t>(d * d), 0.0),
      m(static_cast<size_t>(d * d), 0.0);
  for (int64_t i = 0; i < d; ++i)
    for (int64_t j = 0; j < d; ++j)
      for (int64_t k = 0; k < d; ++k)
        root[at(i, j)] +=
            v[at(i, k)] * std::sqrt(std::max(0.0, lambda[static_cast<size_t>(k)])) * v[at(j, k)];
  for (int64_t i = 0; i < d; ++i)
    for (int64_t k = 0; k < d; ++k)
      for (int64_t j = 0; j < d; ++j) tmp[at(i, j)] += root[at(i, k)] * q.cov[at(k, j)];
  for (int64_t i = 0; i < d; ++i)
    for (int64_t k = 0; k < d; ++k)
      for (int64_t j = 0; j < d; ++j) m[at(i, j)] += tmp[at(i, k)] * root[at(k, j)];
  for (int64_t i = 0; i < d; ++i)
    for (int64_t j = i + 1; j < d; ++j)
      m[at(i, j)] = m[at(j, i)] = 0.5 * (m[at(i, j)] + m[at(j, i)]);
  symmetric_eigen(m, d, lambda, v);
  for (double l : lambda) result -= 2 * std::sqrt(std::max(0.0, l));
  return result;
}

double max_weight_assignment(const std::vector<double>& w, int64_t rows, int64_t cols) {
  if (static_cast<int64_t>(w.size()) != rows * cols || rows < 1 || cols < 1)
    throw Error(fmt::format("max_weight_assignment: {} weights for a {} × {} matrix", w.size(),
                            rows, cols));
  // source → each row (capacity 1) → each column (capacity 1, cost −w) → sink; flow min(rows, cols)
  lemon::SmartDigraph g;
  std::vector<lemon::SmartDigraph::Node> row_nodes, col_nodes;
  for (int64_t i = 0; i < rows; ++i) row_nodes.push_back(g.addNode());
  for (int64_t j = 0; j < cols; ++j) col_nodes.push_back(g.addNode());
  const auto source = g.addNode(), sink = g.addNode();
  std::vector<std::pair<lemon::SmartDigraph::Arc, double>> weighted;
  for (int64_t i = 0; i < rows; ++i) {
    g.addArc(source, row_nodes[static_cast<size_t>(i)]);
    for (int64_t j = 0; j < cols; ++j)
      weighted.emplace_back(
          g.addArc(row_nodes[static_cast<size_t>(i)], col_nodes[static_cast<size_t>(j)]),
          w[static_cast<size_t>(i * cols + j)]);
  }
  for (int64_t j = 0; j < cols; ++j) g.addArc(col_nodes[static_cast<size_t>(j)], sink);
  // maps made after the arcs (arcs added later would get default values)
  lemon::SmartDigraph::ArcMap<double> cost(g, 0.0);
  lemon::SmartDigraph::ArcMap<int64_t> capacity(g, 1);
  for (const auto& [arc, weight] : weighted) cost[arc] = -weight;
  lemon::NetworkSimplex<lemon::SmartDigraph, int64_t, double> simplex(g);
  simplex.costMap(cost).upperMap(capacity).stSupply(source, sink, std::min(rows, cols));
  if (simplex.run() != decltype(simplex)::OPTIMAL)
    throw Error("max_weight_assignment: the network simplex found no optimal matching");
  return -simplex.totalCost();
}

}  // namespace kant
