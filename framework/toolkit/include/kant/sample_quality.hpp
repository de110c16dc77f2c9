// The sample-quality scores GAN papers print, on feature (or probability) rows of generated and
// real samples: Inception Score, KID, improved precision and recall, density and coverage, the
// class histogram's coverage and reverse KL, and nearest-neighbour distances for memorisation.
// Feature sets are [n, d] tensors (any per-sample shape is flattened); distances are Euclidean.
// The Fréchet distance is in distances.hpp.
#pragma once
#include <cstdint>
#include <vector>

#include "kant/rng.hpp"
#include "kant/tensor.hpp"

namespace kant {

/// A mean and a standard deviation over repetitions (splits, subsets).
struct MeanStd {
  double mean = 0, std = 0;
};

/// Inception Score (Salimans et al. 2016) of class probabilities p(y|x) [n, K] (rows sum to 1):
/// IS = exp(E_x KL(p(y|x) ‖ p(y))), p(y) = E_x p(y|x), with 0·log 0 = 0; computed on each of
/// `splits` consecutive equal parts (the last n mod splits rows dropped, as the reference code)
/// and reported as the mean and the population standard deviation over the parts. Uniform rows
/// give 1; one-hot rows spread equally over k classes give k.
MeanStd inception_score(const Tensor& probs, int64_t splits);

/// KID (Bińkowski et al. 2018, "Demystifying MMD GANs"): the unbiased MMD² (Gretton et al. 2012,
/// eq. 3) with the cubic polynomial kernel k(x, y) = (xᵀy/d + 1)³,
///   MMD²_u = Σ_{i≠j} k(x_i, x_j)/(m(m−1)) + Σ_{i≠j} k(y_i, y_j)/(m(m−1)) − 2 Σ_{i,j} k(x_i,
///   y_j)/m²,
/// on `subsets` pairs of subsets of m = min(subset_size, n_a, n_b) rows, each drawn without
/// replacement; mean and standard deviation over the subsets. Unbiased: its expectation is 0
/// when a and b come from one distribution, and it may be negative.
MeanStd kernel_inception_distance(const Tensor& a, const Tensor& b, int64_t subsets,
                                  int64_t subset_size, Rng& rng);

/// Distance from each row of x to its k-th nearest other row of x (the row itself excluded;
/// k < rows): the radius of the k-NN ball of Kynkäänniemi et al. 2019 and Naeem et al. 2020.
std::vector<double> knn_radii(const Tensor& x, int64_t k);

/// Improved precision and recall (Kynkäänniemi et al. 2019) with k-NN balls: the real manifold
/// is the union of balls B(r_i, NND_k(r_i)) over real rows, the generated one likewise;
///   precision = share of generated rows inside the real manifold,
///   recall    = share of real rows inside the generated manifold.
struct PrecisionRecall {
  double precision = 0, recall = 0;
};
PrecisionRecall precision_recall(const Tensor& real, const Tensor& fake, int64_t k);

/// Density and coverage (Naeem et al. 2020, eqs. 3–4) with the real rows' k-NN balls:
///   density  = 1/(kM) Σ_j Σ_i 1[f_j ∈ B(r_i, NND_k(r_i))]   (M generated rows; ≈ 1 when both
///              sets are drawn from one distribution, (k+1)/k when they are the same set),
///   coverage = 1/N Σ_i 1[∃ j: f_j ∈ B(r_i, NND_k(r_i))]     (N real rows).
struct DensityCoverage {
  double density = 0, coverage = 0;
};
DensityCoverage density_coverage(const Tensor& real, const Tensor& fake, int64_t k);

/// Distance from each row of `queries` to its nearest row of `reference`, and that row's index.
struct Nearest {
  std::vector<double> distance;
  std::vector<int64_t> index;
};
Nearest nearest_rows(const Tensor& queries, const Tensor& reference);

/// Classes whose share of `counts` is at least `min_fraction` (and above 0).
int64_t classes_covered(const std::vector<int64_t>& counts, double min_fraction);

/// Reverse KL of class histograms, KL(p_gen ‖ p_data) = Σ_c p_gen(c) log(p_gen(c)/p_data(c))
/// with 0·log 0 = 0 (+∞ when generated samples fall in a class the data lack); p from counts.
double class_kl(const std::vector<int64_t>& generated, const std::vector<int64_t>& data);

/// The memorisation check's "authenticity": the share of generated rows whose distance to the
/// nearest training row is at least the `quantile`-quantile of the same distance for unseen
/// (held-out) real rows. Unseen real images score 1 − quantile; copies of training images 0.
double authenticity(const std::vector<double>& generated_to_train,
                    const std::vector<double>& unseen_to_train, double quantile);

/// The q-quantile of values (linear interpolation between order statistics, as numpy's
/// default); values must not be empty.
double quantile(std::vector<double> values, double q);

}  // namespace kant
