// Metric `critic_curve`: a 1-D critic's curve and its slope (WGAN Fig. 2, Arjovsky et al. 2017:
// the GAN discriminator saturates where the data are, the WGAN critic stays close to linear).
// The curve is f(x) = v(x) (output: raw) or D(x) = σ(v(x)) (output: sigmoid) of the critic's raw
// output v, on `resolution` points spanning the data's and the generator's samples (2,000 each,
// their range widened by `margin` of its size on each side), or `range`.
//   data_gradient  mean |f'(x)| over data samples      fake_gradient  the same over generated ones
//   slope, linearity  the least-squares line through the curve: its slope and R² (1: a line)
// With `optimal: true` (1-D data with a closed-form density p_r, an affine generator whose
// Gaussian p_g is known), the optimal discriminator D*(x) = p_r(x) / (p_r(x) + p_g(x))
// (Goodfellow et al. 2014, Prop. 1) against D = σ(v) on the grid points where the mixture
// (p_r + p_g)/2 is at least `density_floor` times its largest value there:
//   optimal_max_error = max |D − D*|,  optimal_mean_error = mean |D − D*|.
// Arrays at the end: x, values (f), gradient (f'), and optimal (D*) with `optimal`.
#include <fmt/format.h>

#include <algorithm>
#include <bit>
#include <cmath>

#include "kant/affine_generator.hpp"
#include "kant/autodiff.hpp"
#include "kant/error.hpp"
#include "kant/input_gradient.hpp"
#include "kant/metric_rules.hpp"
#include "kant/ops.hpp"
#include "kant/plugin.hpp"

namespace {
using namespace kant;

constexpr int64_t kRangeSamples = 2000;  // samples per side that fix the grid's span

class CriticCurve : public Metric {
 public:
  struct Options {
    int64_t resolution, samples;
    double margin, density_floor;
    std::vector<double> range;
    std::string output;
    bool optimal;
    static void declare(Declare<Options>& d) {
      d(&Options::resolution, param::integer("resolution", 201, "grid points").range(2, 100000));
      d(&Options::samples,
        param::integer("samples", 1000, "samples per side for data_gradient and fake_gradient")
            .at_least(1));
      d(&Options::margin, param::real("margin", 0.25,
                                      "the grid extends the samples' range by this fraction of "
                                      "its size on each side")
                              .at_least(0));
      d(&Options::density_floor,
        param::real("density_floor", 0.01,
                    "optimal: grid points where (p_r + p_g)/2 is below this fraction of its "
                    "largest value are left out of the errors")
            .range(0.0, 1.0));
      d(&Options::range, param::reals("range", {}, "[x_min, x_max] instead of the samples'"));
      d(&Options::output, param::choice("output", "raw", {"raw", "sigmoid"},
                                        "the curve: the critic's raw output v, or D = σ(v) (a "
                                        "GAN discriminator's probability)"));
      d(&Options::optimal,
        param::boolean("optimal", false,
                       "compare D = σ(v) with the optimal discriminator p_r/(p_r + p_g)"));
    }
  };
  static std::vector<StoredValue> stored() {
    return {stored::value("data_gradient", "mean |f'(x)| over data samples (f: the curve)"),
            stored::value("fake_gradient", "mean |f'(x)| over generated samples"),
            stored::value("slope", "slope of the least-squares line through the curve"),
            stored::value("linearity", "R² of that line (1: the curve is a line)"),
            stored::value("optimal_max_error",
                          "with optimal: max |σ(v) − D*| over the grid, D* = p_r/(p_r + p_g)"),
            stored::value("optimal_mean_error", "with optimal: mean |σ(v) − D*| over the grid"),
            stored::array("x", "[G] grid points"),
            stored::array("values", "[G] the curve f(x)"),
            stored::array("gradient", "[G] f'(x)"),
            stored::array("optimal", "[G] with optimal: D*(x) = p_r/(p_r + p_g)")};
  }
  static MetricRequirements requirements() {
    MetricRequirements r{{rules::needs_critic(),
                          rules::data_shape({1}, "1-D data"),
                          {"`range` empty or [x_min, x_max] with x_min < x_max",
                           [](const Params& p, CellView&) -> std::string {
                             const std::vector<double> r = options_from<Options>(p).range;
                             if (r.empty() || (r.size() == 2 && r[0] < r[1])) return "";
                             return fmt::format("range is [{}]", fmt::join(r, ", "));
                           }}}};
    const MetricRule density = rules::closed_form_density(), noise = rules::normal_noise();
    auto only_if_optimal = [](const MetricRule& rule) {
      return MetricRule{"with optimal: " + rule.rule,
                        [check = rule.check](const Params& p, CellView& cell) -> std::string {
                          return options_from<Options>(p).optimal ? check(p, cell) : "";
                        }};
    };
    r.rules.push_back(only_if_optimal(density));
    r.rules.push_back(only_if_optimal(noise));
    r.rules.push_back(only_if_optimal(
        {"an affine generator G(z) = μ + w·z (checked on the initialised generator)",
         [](const Params&, CellView& cell) -> std::string {
           Rng rng(0, 0);
           const affine_fit::Fit f = affine_fit::at_zero(cell.generator(), cell.noise_dim());
           const std::string m = affine_fit::mismatch(
               cell.generator(), f, rng.normal_tensor({affine_fit::kProbes, cell.noise_dim()}));
           return m.empty() ? "" : "the initialised generator gives " + m;
         }}));
    return r;
  }

  explicit CriticCurve(const Options& o)
      : resolution_(o.resolution),
        samples_(o.samples),
        margin_(o.margin),
        floor_(o.density_floor),
        range_(o.range),
        sigmoid_(o.output == "sigmoid"),
        optimal_(o.optimal) {
    if (!range_.empty() && (range_.size() != 2 || range_[0] >= range_[1]))
      throw Error("critic_curve: range must be [x_min, x_max] with x_min < x_max");
  }
  std::vector<std::string> value_names() const override {
    std::vector<std::string> names{"data_gradient", "fake_gradient", "slope", "linearity"};
    if (optimal_) names.insert(names.end(), {"optimal_max_error", "optimal_mean_error"});
    return names;
  }

  std::map<std::string, double> compute(MetricContext& ctx) override {
    Curve c = curve(ctx);
    std::map<std::string, double> out{
        {"data_gradient", mean_abs_gradient(ctx, ctx.dataset.sample(samples_, ctx.rng))},
        {"fake_gradient", mean_abs_gradient(ctx, ctx.generate(samples_))}};
    // least squares f ≈ α + βx over the grid: β = cov(x, f)/var(x), R² = cov²/(var x · var f)
    const auto& x = c.x;
    const auto& f = c.values;
    double mx = 0, mf = 0;
    const double n = double(x.size());
    for (size_t i = 0; i < x.size(); ++i) mx += x[i] / n, mf += f[i] / n;
    double sxf = 0, sxx = 0, sff = 0;
    for (size_t i = 0; i < x.size(); ++i) {
      sxf += (x[i] - mx) * (f[i] - mf);
      sxx += (x[i] - mx) * (x[i] - mx);
      sff += (f[i] - mf) * (f[i] - mf);
    }
    out["slope"] = sxf / sxx;
    out["linearity"] = sff > 0 ? sxf * sxf / (sxx * sff) : 1.0;  // a constant is a line
    if (optimal_) {
      double max_error = 0, total = 0, largest = 0;
      int64_t counted = 0;
      for (double m : c.mixture) largest = std::max(largest, m);
      for (size_t i = 0; i < x.size(); ++i) {
        if (c.mixture[i] < floor_ * largest) continue;
        const double e = std::abs(c.probability[i] - c.optimal[i]);
        max_error = std::max(max_error, e);
        total += e;
        ++counted;
      }
      out["optimal_max_error"] = max_error;
      out["optimal_mean_error"] = total / double(counted);
    }
    return out;
  }

  std::map<std::string, Tensor> final_arrays(MetricContext& ctx) override {
    Curve c = curve(ctx);
    auto tensor = [](const std::vector<double>& v) {
      std::vector<float> f(v.begin(), v.end());
      return Tensor::from({int64_t(v.size())}, f);
    };
    std::map<std::string, Tensor> out{
        {"x", tensor(c.x)}, {"values", tensor(c.values)}, {"gradient", tensor(c.gradient)}};
    if (optimal_) out["optimal"] = tensor(c.optimal);
    return out;
  }

  // the grid, fixed at the first evaluation, bit for bit for a resumed run
  ComponentState state() const override {
    ComponentState s;
    if (!axis_.empty())
      for (double v : axis_) s.words["axis"].push_back(std::bit_cast<uint64_t>(v));
    return s;
  }
  void load_state(const ComponentState& s) override {
    axis_.clear();
    if (auto it = s.words.find("axis"); it != s.words.end())
      for (uint64_t w : it->second) axis_.push_back(std::bit_cast<double>(w));
  }

 private:
  struct Curve {
    std::vector<double> x, values, gradient, probability, optimal, mixture;
  };

  // f and f' at `points` [n, 1]: v or σ(v), differentiated with respect to x
  std::pair<Tensor, Tensor> evaluate(Network& critic, const Tensor& points) const {
    Tensor x = points.detach().set_requires_grad();
    Tensor v = critic.forward(x);
    Tensor f = sigmoid_ ? sigmoid(v) : v;
    Tensor g = grad({sum(f)}, {x})[0];
    return {f.detach(), g};
  }

  double mean_abs_gradient(MetricContext& ctx, const Tensor& points) const {
    const Tensor g = evaluate(critic_of(ctx, "critic_curve"), points).second;
    double total = 0;
    for (int64_t i = 0; i < g.numel(); ++i) total += std::abs(g.data()[i]);
    return total / double(g.numel());
  }

  Curve curve(MetricContext& ctx) {
    if (ctx.dataset.sample_shape() != Shape{1})
      throw Error(fmt::format("critic_curve needs 1-D data, the data set's samples have shape {}",
                              shape_str(ctx.dataset.sample_shape())));
    if (axis_.empty()) set_axis(ctx);
    Curve c;
    c.x = axis_;
    const int64_t g = int64_t(axis_.size());
    std::vector<float> points(axis_.begin(), axis_.end());
    Network& critic = critic_of(ctx, "critic_curve");
    auto [f, grad_f] = evaluate(critic, Tensor::from({g, 1}, points));
    c.values.assign(f.data(), f.data() + g);
    c.gradient.assign(grad_f.data(), grad_f.data() + g);
    if (optimal_) {
      if (!ctx.noise || ctx.noise_kind != "normal")
        throw Error("critic_curve: optimal needs Gaussian generator noise (noise: normal)");
      const auto [mu, sigma] = affine_fit::gaussian(ctx.generator, ctx.noise(64), "critic_curve");
      NoGradGuard no_grad;
      const Tensor v = critic.forward(Tensor::from({g, 1}, points));
      for (int64_t i = 0; i < g; ++i) {
        const double x = axis_[size_t(i)];
        const std::optional<double> log_p = ctx.dataset.log_density(&x);
        if (!log_p)
          throw Error("critic_curve: optimal needs a data set with a closed-form density");
        const double z = (x - mu) / sigma;
        const double log_q = -0.5 * z * z - std::log(sigma * std::sqrt(2 * M_PI));
        c.optimal.push_back(1.0 / (1.0 + std::exp(log_q - *log_p)));  // p/(p + q)
        c.mixture.push_back(0.5 * (std::exp(*log_p) + std::exp(log_q)));
        c.probability.push_back(1.0 / (1.0 + std::exp(-double(v.data()[i]))));
      }
    }
    return c;
  }

  void set_axis(MetricContext& ctx) {
    double lo = 0, hi = 0;
    if (range_.size() == 2) {
      lo = range_[0], hi = range_[1];
    } else {
      Tensor real = ctx.dataset.sample(kRangeSamples, ctx.rng), fake = ctx.generate(kRangeSamples);
      lo = 1e300, hi = -1e300;
      for (const Tensor* t : {&real, &fake})
        for (int64_t i = 0; i < t->numel(); ++i)
          lo = std::min<double>(lo, t->data()[i]), hi = std::max<double>(hi, t->data()[i]);
      const double pad = std::max(1e-3, (hi - lo) * margin_);
      lo -= pad, hi += pad;
    }
    for (int64_t j = 0; j < resolution_; ++j)
      axis_.push_back(lo + (hi - lo) * double(j) / double(resolution_ - 1));
  }

  int64_t resolution_, samples_;
  double margin_, floor_;
  std::vector<double> range_;
  bool sigmoid_, optimal_;
  std::vector<double> axis_;
};

}  // namespace

KANT_COMPONENT(CriticCurve, "critic_curve", "1.0.0",
               "a 1-D critic's curve v(x) or σ(v(x)) with its gradient, slope and linearity, and "
               "its distance to the optimal discriminator p_r/(p_r + p_g) (WGAN Fig. 2; "
               "Goodfellow et al. 2014, Prop. 1)")
