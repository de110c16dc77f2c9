// The sample-quality scores of kant/sample_quality.hpp. Pairwise distances go through blocks of
// a matrix product, ‖a‖² + ‖b‖² − 2 aᵀb, so that 10,000 × 60,000 pairs never sit in memory.
#include "kant/sample_quality.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <functional>
#include <limits>
#include <numeric>

#include "kant/autodiff.hpp"
#include "kant/error.hpp"
#include "kant/ops.hpp"

namespace kant {
namespace {

constexpr int64_t kBlockRows = 1024;

Tensor rows_2d(const Tensor& x) { return reshape(x, {x.size(0), -1}); }

std::vector<double> squared_row_norms(const Tensor& x) {
  const int64_t n = x.size(0), d = x.numel() / n;
  std::vector<double> out(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) {
    double s = 0;
    for (int64_t j = 0; j < d; ++j) s += double{x.data()[i * d + j]} * x.data()[i * d + j];
    out[static_cast<size_t>(i)] = s;
  }
  return out;
}

// Calls visit(first_row, d2) for blocks of rows of a, d2 [rows × b.rows] row-major holding the
// squared distances max(0, ‖a_i‖² + ‖b_j‖² − 2 a_iᵀb_j).
void distance_blocks(
    const Tensor& a_in, const Tensor& b_in,
    const std::function<void(int64_t, int64_t, const std::vector<double>&)>& visit) {
  NoGradGuard no_grad;
  const Tensor a = rows_2d(a_in), b = rows_2d(b_in);
  if (a.size(1) != b.size(1))
    throw Error(fmt::format("sample distances: rows of {} and {} values", a.size(1), b.size(1)));
  const std::vector<double> na = squared_row_norms(a), nb = squared_row_norms(b);
  const int64_t m = b.size(0);
  std::vector<double> d2;
  for (int64_t from = 0; from < a.size(0); from += kBlockRows) {
    const int64_t rows = std::min(kBlockRows, a.size(0) - from);
    const Tensor g = matmul(slice(a, 0, from, from + rows), b, false, true);
    d2.resize(static_cast<size_t>(rows * m));
    for (int64_t i = 0; i < rows; ++i)
      for (int64_t j = 0; j < m; ++j)
        d2[static_cast<size_t>(i * m + j)] =
            std::max(0.0, na[static_cast<size_t>(from + i)] + nb[static_cast<size_t>(j)] -
                              2.0 * g.data()[i * m + j]);
    visit(from, rows, d2);
  }
}

// ‖a_i − b_j‖² summed in double, symmetric in its arguments bit for bit.
double exact_d2(const Tensor& a, int64_t i, const Tensor& b, int64_t j) {
  const int64_t d = a.numel() / a.size(0);
  const float *x = a.data() + i * d, *y = b.data() + j * d;
  double s = 0;
  for (int64_t t = 0; t < d; ++t) s += (double{x[t]} - y[t]) * (double{x[t]} - y[t]);
  return s;
}

// Whether ‖a_i − b_j‖² ≤ r2, from the product-form distance d2 where it is clearly on one side
// and exactly otherwise (so that a point on a ball's boundary, such as the k-th neighbour that
// defines it, counts the same whichever way round its distance was computed).
bool within(const Tensor& a, int64_t i, const Tensor& b, int64_t j, double d2, double r2,
            double scale) {
  constexpr double kTolerance = 1e-5;  // relative to ‖a_i‖² + ‖b_j‖², well above float rounding
  if (d2 < r2 - kTolerance * scale) return true;
  if (d2 > r2 + kTolerance * scale) return false;
  return exact_d2(a, i, b, j) <= r2;
}

MeanStd mean_std(const std::vector<double>& v) {
  MeanStd r;
  for (double x : v) r.mean += x;
  r.mean /= static_cast<double>(v.size());
  for (double x : v) r.std += (x - r.mean) * (x - r.mean);
  r.std = std::sqrt(r.std / static_cast<double>(v.size()));
  return r;
}

// m distinct row indices of [0, n), uniformly (a partial Fisher–Yates shuffle).
std::vector<int64_t> choose(int64_t n, int64_t m, Rng& rng) {
  std::vector<int64_t> idx(static_cast<size_t>(n));
  std::iota(idx.begin(), idx.end(), int64_t{0});
  for (int64_t i = 0; i < m; ++i)
    std::swap(idx[static_cast<size_t>(i)],
              idx[static_cast<size_t>(i) + rng.below(static_cast<uint64_t>(n - i))]);
  idx.resize(static_cast<size_t>(m));
  return idx;
}

Tensor gather_rows(const Tensor& x, const std::vector<int64_t>& idx) {
  const int64_t d = x.numel() / x.size(0);
  Tensor out = Tensor::empty({static_cast<int64_t>(idx.size()), d});
  for (size_t r = 0; r < idx.size(); ++r)
    std::copy_n(x.data() + idx[r] * d, d, out.data() + static_cast<int64_t>(r) * d);
  return out;
}

// Σ of the cubic kernel (xᵀy/d + 1)³ over all pairs of rows of a and b, and over the diagonal.
struct KernelSums {
  double all = 0, diagonal = 0;
};
KernelSums cubic_kernel_sums(const Tensor& a, const Tensor& b) {
  NoGradGuard no_grad;
  const int64_t m = a.size(0), n = b.size(0), d = a.size(1);
  const Tensor g = matmul(a, b, false, true);
  const float* gram = g.data();
  KernelSums s;
  for (int64_t i = 0; i < m; ++i)
    for (int64_t j = 0; j < n; ++j) {
      const double t = gram[i * n + j] / static_cast<double>(d) + 1.0;
      const double k = t * t * t;  // not std::pow: a quarter of a 1,000-sample score's time
      s.all += k;
      if (i == j) s.diagonal += k;
    }
  return s;
}

}  // namespace

MeanStd inception_score(const Tensor& probs, int64_t splits) {
  const int64_t n = probs.size(0), k = probs.size(1), part = n / splits;
  if (splits < 1 || part < 1)
    throw Error(fmt::format("inception score: {} rows cannot make {} splits", n, splits));
  std::vector<double> scores;
  for (int64_t s = 0; s < splits; ++s) {
    std::vector<double> marginal(static_cast<size_t>(k), 0.0);
    for (int64_t i = s * part; i < (s + 1) * part; ++i)
      for (int64_t c = 0; c < k; ++c) marginal[static_cast<size_t>(c)] += probs.data()[i * k + c];
    for (double& p : marginal) p /= static_cast<double>(part);
    double kl = 0;
    for (int64_t i = s * part; i < (s + 1) * part; ++i)
      for (int64_t c = 0; c < k; ++c) {
        const double p = probs.data()[i * k + c];
        if (p > 0) kl += p * std::log(p / marginal[static_cast<size_t>(c)]);
      }
    scores.push_back(std::exp(kl / static_cast<double>(part)));
  }
  return mean_std(scores);
}

MeanStd kernel_inception_distance(const Tensor& a_in, const Tensor& b_in, int64_t subsets,
                                  int64_t subset_size, Rng& rng) {
  const Tensor a = rows_2d(a_in), b = rows_2d(b_in);
  const int64_t m = std::min({subset_size, a.size(0), b.size(0)});
  if (m < 2) throw Error("KID needs at least 2 rows per subset");
  const double mm1 = static_cast<double>(m) * static_cast<double>(m - 1),
               m2 = static_cast<double>(m) * static_cast<double>(m);
  std::vector<double> values;
  for (int64_t s = 0; s < subsets; ++s) {
    const Tensor x = gather_rows(a, choose(a.size(0), m, rng)),
                 y = gather_rows(b, choose(b.size(0), m, rng));
    const KernelSums xx = cubic_kernel_sums(x, x), yy = cubic_kernel_sums(y, y),
                     xy = cubic_kernel_sums(x, y);
    values.push_back((xx.all - xx.diagonal) / mm1 + (yy.all - yy.diagonal) / mm1 -
                     2.0 * xy.all / m2);
  }
  return mean_std(values);
}

namespace {
// Squared k-NN radii, each the exact squared distance to the k-th nearest other row (kept
// squared: √ then ² would not give back the same double, and the ball's own boundary point
// must stay inside it).
std::vector<double> knn_squared_radii(const Tensor& x_in, int64_t k) {
  const Tensor x = rows_2d(x_in);
  const int64_t n = x.size(0);
  if (k < 1 || k >= n) throw Error(fmt::format("k-NN radii: k = {} needs 1 ≤ k < {} rows", k, n));
  std::vector<double> radii(static_cast<size_t>(n));
  distance_blocks(x, x, [&](int64_t from, int64_t rows, const std::vector<double>& d2) {
    std::vector<int64_t> order(static_cast<size_t>(n));
    for (int64_t i = 0; i < rows; ++i) {
      const int64_t self = from + i;
      const double* row = d2.data() + i * n;
      std::iota(order.begin(), order.end(), int64_t{0});
      // the (k+1)-th nearest counting the row itself (at distance 0) is the k-th other one
      std::nth_element(order.begin(), order.begin() + k, order.end(), [&](int64_t a, int64_t b) {
        const double da = a == self ? -1.0 : row[a], db = b == self ? -1.0 : row[b];
        return da < db || (da == db && a < b);
      });
      radii[static_cast<size_t>(self)] = exact_d2(x, self, x, order[size_t(k)]);
    }
  });
  return radii;
}

}  // namespace

std::vector<double> knn_radii(const Tensor& x, int64_t k) {
  std::vector<double> r = knn_squared_radii(x, k);
  for (double& v : r) v = std::sqrt(v);
  return r;
}

namespace {
// For each row j of `points`, how many balls B(centres_i, √r2_i) hold it (stopping at the first
// when `first_only`), and which balls hold at least one point.
struct BallCounts {
  std::vector<int64_t> per_point;
  std::vector<char> ball_used;
};
BallCounts count_in_balls(const Tensor& points_in, const Tensor& centres_in,
                          const std::vector<double>& r2, bool first_only) {
  const Tensor points = rows_2d(points_in), centres = rows_2d(centres_in);
  const std::vector<double> np = squared_row_norms(points), nc = squared_row_norms(centres);
  const size_t n = r2.size();
  BallCounts out{std::vector<int64_t>(static_cast<size_t>(points.size(0)), 0),
                 std::vector<char>(n, 0)};
  distance_blocks(points, centres, [&](int64_t from, int64_t rows, const std::vector<double>& d2) {
    for (int64_t j = 0; j < rows; ++j) {
      const int64_t p = from + j;
      for (size_t i = 0; i < n; ++i) {
        if (!within(points, p, centres, int64_t(i), d2[static_cast<size_t>(j) * n + i], r2[i],
                    np[size_t(p)] + nc[i]))
          continue;
        ++out.per_point[static_cast<size_t>(p)];
        out.ball_used[i] = 1;
        if (first_only) break;
      }
    }
  });
  return out;
}

double share_nonzero(const std::vector<int64_t>& v) {
  return static_cast<double>(std::count_if(v.begin(), v.end(), [](int64_t c) { return c > 0; })) /
         static_cast<double>(v.size());
}
}  // namespace

PrecisionRecall precision_recall(const Tensor& real, const Tensor& fake, int64_t k) {
  // precision: generated rows inside some real ball; recall: real rows inside some generated one
  return {share_nonzero(count_in_balls(fake, real, knn_squared_radii(real, k), true).per_point),
          share_nonzero(count_in_balls(real, fake, knn_squared_radii(fake, k), true).per_point)};
}

DensityCoverage density_coverage(const Tensor& real, const Tensor& fake, int64_t k) {
  const BallCounts c = count_in_balls(fake, real, knn_squared_radii(real, k), false);
  const int64_t memberships = std::accumulate(c.per_point.begin(), c.per_point.end(), int64_t{0});
  const double covered = static_cast<double>(std::count(c.ball_used.begin(), c.ball_used.end(), 1));
  return {static_cast<double>(memberships) /
              (static_cast<double>(k) * static_cast<double>(fake.size(0))),
          covered / static_cast<double>(c.ball_used.size())};
}

Nearest nearest_rows(const Tensor& queries, const Tensor& reference) {
  Nearest out;
  out.distance.resize(static_cast<size_t>(queries.size(0)));
  out.index.resize(static_cast<size_t>(queries.size(0)));
  const int64_t m = reference.size(0);
  distance_blocks(queries, reference,
                  [&](int64_t from, int64_t rows, const std::vector<double>& d2) {
                    for (int64_t i = 0; i < rows; ++i) {
                      const auto row = d2.begin() + i * m;
                      const auto best = std::min_element(row, row + m);
                      out.distance[static_cast<size_t>(from + i)] = std::sqrt(*best);
                      out.index[static_cast<size_t>(from + i)] = best - row;
                    }
                  });
  return out;
}

int64_t classes_covered(const std::vector<int64_t>& counts, double min_fraction) {
  const double total =
      static_cast<double>(std::accumulate(counts.begin(), counts.end(), int64_t{0}));
  int64_t covered = 0;
  for (int64_t c : counts) covered += c > 0 && static_cast<double>(c) >= min_fraction * total;
  return covered;
}

double class_kl(const std::vector<int64_t>& generated, const std::vector<int64_t>& data) {
  if (generated.size() != data.size())
    throw Error("class_kl: histograms over different numbers of classes");
  const double ng = static_cast<double>(
                   std::accumulate(generated.begin(), generated.end(), int64_t{0})),
               nd = static_cast<double>(std::accumulate(data.begin(), data.end(), int64_t{0}));
  double kl = 0;
  for (size_t c = 0; c < generated.size(); ++c) {
    if (generated[c] == 0) continue;
    if (data[c] == 0) return std::numeric_limits<double>::infinity();
    const double p = static_cast<double>(generated[c]) / ng, q = static_cast<double>(data[c]) / nd;
    kl += p * std::log(p / q);
  }
  return kl;
}

double quantile(std::vector<double> values, double q) {
  if (values.empty()) throw Error("quantile of no values");
  std::sort(values.begin(), values.end());
  const double at = q * static_cast<double>(values.size() - 1);
  const auto lo = static_cast<size_t>(std::floor(at));
  const size_t hi = std::min(lo + 1, values.size() - 1);
  return values[lo] + (at - static_cast<double>(lo)) * (values[hi] - values[lo]);
}

double authenticity(const std::vector<double>& generated_to_train,
                    const std::vector<double>& unseen_to_train, double q) {
  const double threshold = quantile(unseen_to_train, q);
  double authentic = 0;
  for (double d : generated_to_train) authentic += d >= threshold;
  return authentic / static_cast<double>(generated_to_train.size());
}

}  // namespace kant
