// Distances between samples and between Gaussians, for metrics and their tests. Point sets
// are [n, d] tensors (any per-sample shape is flattened).
#pragma once
#include <vector>

#include "kant/rng.hpp"
#include "kant/tensor.hpp"

namespace kant {

/// Σ x² over every element of t (in double).
double squared_norm(const Tensor& t);
/// ‖row i‖₂ of t viewed as [rows, numel/rows] (per-sample gradient norms).
std::vector<double> row_norms(const Tensor& t, int64_t rows);

/// W1 between the empirical distributions of a [n, d] and b [m, d] under the Euclidean
/// cost, by exact optimal transport (LEMON's network simplex on the complete bipartite
/// graph; supplies m per point of a and demands n per point of b, so any n, m work).
double wasserstein1_exact(const Tensor& a, const Tensor& b);

/// An optimal transport plan between the empirical distributions of a [n, d] and b [m, d]
/// under the cost ‖a_i − b_j‖^p: cost = min over couplings of Σ π_ij ‖a_i − b_j‖^p (so W_p =
/// cost^(1/p)), and the couplings' nonzero entries, each a move of mass π_ij from a_i to b_j.
struct TransportPlan {
  double cost = 0;
  struct Move {
    int64_t from, to;
    double mass;
  };
  std::vector<Move> moves;
};
/// The plan by the same network simplex as wasserstein1_exact (whose value is
/// optimal_transport(a, b, 1).cost, bit for bit).
TransportPlan optimal_transport(const Tensor& a, const Tensor& b, double p);

/// W_p between two 1-D empirical distributions (any sizes): (∫₀¹ |F⁻¹(t) − G⁻¹(t)|ᵖ dt)^{1/p}.
double wasserstein_1d(std::vector<double> a, std::vector<double> b, double p);

/// Sliced W_p (Rabin et al. 2011; Deshpande et al. 2018): (mean over `projections` directions
/// θ uniform on the sphere of W_p(θ·a, θ·b)ᵖ)^{1/p}.
double sliced_wasserstein(const Tensor& a, const Tensor& b, int64_t projections, double p,
                          Rng& rng);

/// Unbiased MMD² (Gretton et al. 2012, eq. 3) with the kernel k(x, y) = Σ_σ exp(−‖x−y‖²/(2σ²))
/// over the bandwidths σ. Needs n, m ≥ 2.
double mmd2_unbiased(const Tensor& a, const Tensor& b, const std::vector<double>& bandwidths);

/// Mean and covariance (1/(n−1)) of the rows of a [n, d].
struct Gaussian {
  std::vector<double> mean;
  std::vector<double> cov;  ///< d × d, row-major
};
Gaussian fit_gaussian(const Tensor& a);

/// Fréchet distance between N(μ1, Σ1) and N(μ2, Σ2) (Dowson & Landau 1982; FID, Heusel et al.
/// 2017): ‖μ1 − μ2‖² + tr(Σ1 + Σ2 − 2(Σ1^{½} Σ2 Σ1^{½})^{½}).
double frechet_distance(const Gaussian& p, const Gaussian& q);

/// Eigen-decomposition of a symmetric d × d matrix (cyclic Jacobi): eigenvalues, and
/// eigenvectors as the columns of `vectors` (row-major).
void symmetric_eigen(std::vector<double> a, int64_t d, std::vector<double>& values,
                     std::vector<double>& vectors);

/// The largest total weight of a one-to-one matching of rows to columns of a weight matrix w
/// [rows, cols] (row-major, weights ≥ 0; every row matched when rows ≤ cols), by min-cost flow
/// (LEMON's network simplex). E.g. InfoGAN's codes to digit classes by sample counts.
double max_weight_assignment(const std::vector<double>& w, int64_t rows, int64_t cols);

}  // namespace kant
