// Metric `gaussian_wasserstein`: the Wasserstein distance between two normals in the plane —
// the data N(μ₁, Σ₁) (a 2-D data set with a closed-form density, e.g. `normal`) and an affine
// generator's N(μ₂, Σ₂), G(z) = μ₂ + A z, Σ₂ = AAᵀ under normal noise:
//   w2         the closed form (Dowson & Landau 1982; Givens & Shortt 1984; the Bures metric)
//                W₂² = ‖μ₁ − μ₂‖² + tr Σ₁ + tr Σ₂ − 2 tr (Σ₂^½ Σ₁ Σ₂^½)^½,
//              where for 2 × 2 matrices tr M^½ = √(tr M + 2√det M), so
//                tr (Σ₂^½ Σ₁ Σ₂^½)^½ = √(tr(Σ₁Σ₂) + 2√(det Σ₁ det Σ₂));
//              μ₁, Σ₁ by quadrature of the data's density (401 × 401 trapezoid points over its
//              samples' range widened by half its size on each side), μ₂ = G(0), A = ∂G/∂z;
//   w2_sample  the exact W₂ between `samples` generated and data points (network simplex on
//              the squared Euclidean cost): an estimate of w2, biased upwards at finite n;
//   w1_sample  the exact W₁ between the same points (Euclidean cost).
// At the end, the exact W₁ plan γ between `plan_samples` points of each side (a permutation
// for equal sizes): arrays plan_from [k, 2] (data points) and plan_to [k, 2] (where their mass
// goes), drawn by the report as segments.
#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <bit>
#include <cmath>

#include "kant/autodiff.hpp"
#include "kant/distances.hpp"
#include "kant/error.hpp"
#include "kant/metric_rules.hpp"
#include "kant/ops.hpp"
#include "kant/plugin.hpp"

namespace {
using namespace kant;

constexpr int64_t kQuadraturePoints = 401;  // per axis
constexpr int64_t kRangeSamples = 4000;     // data samples that fix the quadrature's box
constexpr double kAffineTolerance = 1e-3;   // relative, float arithmetic of one layer
constexpr int64_t kMaxSamples = 2000;       // the exact solver's limit (n × n costs)

struct Gaussian2 {
  std::array<double, 2> mu{};
  std::array<double, 4> cov{};  // row by row
};

double trace(const std::array<double, 4>& m) { return m[0] + m[3]; }
double det(const std::array<double, 4>& m) { return m[0] * m[3] - m[1] * m[2]; }

/// W₂ between two Gaussians in the plane, in closed form.
double bures_w2(const Gaussian2& p, const Gaussian2& q) {
  const auto& a = p.cov;
  const auto& b = q.cov;
  const double tr_ab = a[0] * b[0] + a[1] * b[2] + a[2] * b[1] + a[3] * b[3];
  const double cross =
      std::sqrt(std::max(0.0, tr_ab + 2 * std::sqrt(std::max(0.0, det(a) * det(b)))));
  const double dm = std::pow(p.mu[0] - q.mu[0], 2) + std::pow(p.mu[1] - q.mu[1], 2);
  return std::sqrt(std::max(0.0, dm + trace(a) + trace(b) - 2 * cross));
}

class GaussianWasserstein : public Metric {
 public:
  struct Options {
    int64_t samples, plan_samples;
    static void declare(Declare<Options>& d) {
      d(&Options::samples,
        param::integer("samples", 1000, "points per side of w2_sample and w1_sample")
            .range(1, double(kMaxSamples)));
      d(&Options::plan_samples,
        param::integer("plan_samples", 60, "points per side of the stored W₁ plan")
            .range(1, double(kMaxSamples)));
    }
  };
  static std::vector<StoredValue> stored() {
    return {stored::value("w2", "closed-form W₂ between the data's and the generator's Gaussians"),
            stored::value("w2_sample", "exact W₂ between generated and data samples"),
            stored::value("w1_sample", "exact W₁ between the same samples"),
            stored::array("plan_from", "[k, 2] data points of the exact W₁ plan γ's moves"),
            stored::array("plan_to", "[k, 2] the generated points their mass moves to")};
  }
  static MetricRequirements requirements() {
    return {{rules::data_shape({2}, "points in the plane"), rules::closed_form_density(),
             rules::normal_noise()}};
  }

  explicit GaussianWasserstein(const Options& o)
      : samples_(o.samples), plan_samples_(o.plan_samples) {}
  std::vector<std::string> value_names() const override { return {"w2", "w2_sample", "w1_sample"}; }

  std::map<std::string, double> compute(MetricContext& ctx) override {
    if (!data_) data_ = data_gaussian(ctx);  // the data do not change
    const Tensor fake = ctx.generate(samples_), real = ctx.dataset.sample(samples_, ctx.rng);
    return {{"w2", bures_w2(*data_, generator_gaussian(ctx))},
            {"w2_sample", std::sqrt(optimal_transport(fake, real, 2).cost)},
            {"w1_sample", optimal_transport(fake, real, 1).cost}};
  }

  std::map<std::string, Tensor> final_arrays(MetricContext& ctx) override {
    const Tensor real = ctx.dataset.sample(plan_samples_, ctx.rng),
                 fake = ctx.generate(plan_samples_);
    const TransportPlan plan = optimal_transport(real, fake, 1);
    const int64_t k = int64_t(plan.moves.size());
    Tensor from = Tensor::empty({k, 2}), to = Tensor::empty({k, 2});
    for (int64_t i = 0; i < k; ++i) {
      const auto& m = plan.moves[size_t(i)];
      for (int64_t c = 0; c < 2; ++c) {
        from.data()[2 * i + c] = real.data()[2 * m.from + c];
        to.data()[2 * i + c] = fake.data()[2 * m.to + c];
      }
    }
    return {{"plan_from", from}, {"plan_to", to}};
  }

  // the data's moments, computed at the first evaluation, bit for bit for a resumed run
  ComponentState state() const override {
    ComponentState s;
    if (data_)
      for (double v :
           {data_->mu[0], data_->mu[1], data_->cov[0], data_->cov[1], data_->cov[2], data_->cov[3]})
        s.words["data_gaussian"].push_back(std::bit_cast<uint64_t>(v));
    return s;
  }
  void load_state(const ComponentState& s) override {
    data_.reset();
    auto it = s.words.find("data_gaussian");
    if (it == s.words.end() || it->second.size() != 6) return;
    std::array<double, 6> v{};
    for (size_t i = 0; i < 6; ++i) v[i] = std::bit_cast<double>(it->second[i]);
    data_ = Gaussian2{{v[0], v[1]}, {v[2], v[3], v[4], v[5]}};
  }

 private:
  // μ₁ and Σ₁ of the data by trapezoid quadrature of its density
  static Gaussian2 data_gaussian(MetricContext& ctx) {
    if (ctx.dataset.sample_shape() != Shape{2})
      throw Error("gaussian_wasserstein needs points in the plane");
    const Tensor x = ctx.dataset.sample(kRangeSamples, ctx.rng);
    std::array<double, 4> box{1e300, -1e300, 1e300, -1e300};
    for (int64_t i = 0; i < x.size(0); ++i)
      for (int c = 0; c < 2; ++c) {
        box[size_t(2 * c)] = std::min<double>(box[size_t(2 * c)], x.data()[2 * i + c]);
        box[size_t(2 * c + 1)] = std::max<double>(box[size_t(2 * c + 1)], x.data()[2 * i + c]);
      }
    for (int c = 0; c < 2; ++c) {
      const double pad = 0.5 * (box[size_t(2 * c + 1)] - box[size_t(2 * c)]) + 1e-6;
      box[size_t(2 * c)] -= pad, box[size_t(2 * c + 1)] += pad;
    }
    const int64_t n = kQuadraturePoints;
    const double hx = (box[1] - box[0]) / double(n - 1), hy = (box[3] - box[2]) / double(n - 1);
    double m0 = 0, m1[2] = {0, 0}, m2[3] = {0, 0, 0};
    for (int64_t i = 0; i < n; ++i)
      for (int64_t j = 0; j < n; ++j) {
        const double p[2] = {box[0] + hx * double(i), box[2] + hy * double(j)};
        const std::optional<double> lp = ctx.dataset.log_density(p);
        if (!lp) throw Error("gaussian_wasserstein needs a data set with a closed-form density");
        const double w =
            (i == 0 || i == n - 1 ? 0.5 : 1) * (j == 0 || j == n - 1 ? 0.5 : 1) * std::exp(*lp);
        m0 += w, m1[0] += w * p[0], m1[1] += w * p[1];
        m2[0] += w * p[0] * p[0], m2[1] += w * p[0] * p[1], m2[2] += w * p[1] * p[1];
      }
    Gaussian2 g;
    g.mu = {m1[0] / m0, m1[1] / m0};
    const double c01 = m2[1] / m0 - g.mu[0] * g.mu[1];
    g.cov = {m2[0] / m0 - g.mu[0] * g.mu[0], c01, c01, m2[2] / m0 - g.mu[1] * g.mu[1]};
    return g;
  }

  // μ₂ = G(0), A = ∂G/∂z (rows by output), checked affine at random z; Σ₂ = AAᵀ
  static Gaussian2 generator_gaussian(MetricContext& ctx) {
    if (!ctx.noise || ctx.noise_kind != "normal")
      throw Error("gaussian_wasserstein needs Gaussian generator noise (noise: normal)");
    const Tensor z = ctx.noise(64);
    const int64_t k = z.size(1);
    Tensor zero = Tensor::zeros({1, k}).set_requires_grad();
    const Tensor g0 = ctx.generator.forward(zero);
    if (g0.numel() != 2) throw Error("gaussian_wasserstein needs a generator of 2-D points");
    std::vector<double> a(size_t(2 * k));
    for (int64_t r = 0; r < 2; ++r) {
      const Tensor row = grad({sum(slice(g0, 1, r, r + 1))}, {zero}, {}, false)[0];
      for (int64_t c = 0; c < k; ++c) a[size_t(r * k + c)] = row.data()[c];
    }
    Gaussian2 g;
    g.mu = {g0.data()[0], g0.data()[1]};
    NoGradGuard no_grad;
    const Tensor x = ctx.generator.forward(z);
    for (int64_t i = 0; i < z.size(0); ++i)
      for (int64_t r = 0; r < 2; ++r) {
        double affine = g.mu[size_t(r)];
        for (int64_t c = 0; c < k; ++c) affine += a[size_t(r * k + c)] * z.data()[i * k + c];
        if (std::abs(x.data()[2 * i + r] - affine) > kAffineTolerance * (1 + std::abs(affine)))
          throw Error(
              fmt::format("gaussian_wasserstein needs an affine generator G(z) = μ + A z; "
                          "G(z) = {} where μ + A z = {} (use normal or mlp with "
                          "hidden: [])",
                          x.data()[2 * i + r], affine));
      }
    for (int64_t r = 0; r < 2; ++r)
      for (int64_t s = 0; s < 2; ++s) {
        double v = 0;
        for (int64_t c = 0; c < k; ++c) v += a[size_t(r * k + c)] * a[size_t(s * k + c)];
        g.cov[size_t(2 * r + s)] = v;
      }
    return g;
  }

  int64_t samples_, plan_samples_;
  std::optional<Gaussian2> data_;
};

}  // namespace

KANT_COMPONENT(GaussianWasserstein, "gaussian_wasserstein", "1.0.0",
               "W₂ between two normals in the plane in closed form (Bures), beside the exact "
               "sample W₂ and W₁ and the W₁ transport plan")
