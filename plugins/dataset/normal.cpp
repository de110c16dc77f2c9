// Dataset `normal`: one Gaussian N(μ, Σ) in d dimensions (d = the length of `mean`), with its
// density in closed form — for the Wasserstein distance between two normals, whose W₂ has a
// closed form (metric gaussian_wasserstein). Samples x = μ + Lε, ε ~ N(0, I), Σ = LLᵀ
// (Cholesky).
#include <fmt/format.h>

#include <cmath>

#include "kant/error.hpp"
#include "kant/plugin.hpp"

namespace {
using namespace kant;

class Normal : public Dataset {
 public:
  struct Options {
    std::vector<double> mean, cov;
    static void declare(Declare<Options>& d) {
      d(&Options::mean, param::reals("mean", {0.0, 0.0}, "μ: its length is the dimension d"));
      d(&Options::cov,
        param::reals("cov", {}, "Σ, d × d row by row, symmetric positive definite (empty: I)"));
    }
  };
  Normal(const Options& o, uint64_t) : mean_(o.mean), d_(int64_t(o.mean.size())) {
    if (d_ < 1) throw Error("normal: `mean` must have at least one value");
    std::vector<double> cov = o.cov;
    if (cov.empty())
      for (int64_t i = 0; i < d_ * d_; ++i) cov.push_back(i % (d_ + 1) == 0 ? 1.0 : 0.0);
    if (int64_t(cov.size()) != d_ * d_)
      throw Error(
          fmt::format("normal: `cov` must have d × d = {} values, got {}", d_ * d_, cov.size()));
    // Cholesky Σ = LLᵀ (L lower triangular), refusing a Σ that is not symmetric positive definite
    chol_.assign(size_t(d_ * d_), 0.0);
    for (int64_t i = 0; i < d_; ++i)
      for (int64_t j = 0; j <= i; ++j) {
        if (cov[size_t(i * d_ + j)] != cov[size_t(j * d_ + i)])
          throw Error("normal: `cov` must be symmetric");
        double s = cov[size_t(i * d_ + j)];
        for (int64_t k = 0; k < j; ++k) s -= L(i, k) * L(j, k);
        if (i == j) {
          if (s <= 0) throw Error("normal: `cov` must be positive definite");
          L(i, i) = std::sqrt(s);
        } else {
          L(i, j) = s / L(j, j);
        }
      }
    for (int64_t i = 0; i < d_; ++i) log_det_ += 2 * std::log(L(i, i));
  }
  Shape sample_shape() const override { return {d_}; }
  Tensor sample(int64_t n, Rng& rng) override {
    Tensor out = Tensor::empty({n, d_});
    std::vector<double> eps(static_cast<size_t>(d_));
    for (int64_t r = 0; r < n; ++r) {
      for (double& e : eps) e = rng.normal();
      for (int64_t i = 0; i < d_; ++i) {
        double x = mean_[size_t(i)];
        for (int64_t k = 0; k <= i; ++k) x += L(i, k) * eps[size_t(k)];
        out.data()[r * d_ + i] = float(x);
      }
    }
    return out;
  }
  /// −½ (x − μ)ᵀ Σ⁻¹ (x − μ) − ½ log det(2πΣ), with Σ⁻¹ through L (forward substitution)
  std::optional<double> log_density(const double* x) const override {
    std::vector<double> y(static_cast<size_t>(d_));
    double q = 0;
    for (int64_t i = 0; i < d_; ++i) {
      double s = x[i] - mean_[size_t(i)];
      for (int64_t k = 0; k < i; ++k) s -= L(i, k) * y[size_t(k)];
      y[size_t(i)] = s / L(i, i);
      q += y[size_t(i)] * y[size_t(i)];
    }
    return -0.5 * q - 0.5 * (double(d_) * std::log(2 * M_PI) + log_det_);
  }

 private:
  double& L(int64_t i, int64_t j) { return chol_[size_t(i * d_ + j)]; }
  double L(int64_t i, int64_t j) const { return chol_[size_t(i * d_ + j)]; }
  std::vector<double> mean_, chol_;
  int64_t d_;
  double log_det_ = 0;
};

}  // namespace

KANT_COMPONENT(Normal, "normal", "1.0.0",
               "one Gaussian N(μ, Σ) in d dimensions with a closed-form density")
