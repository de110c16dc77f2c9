// Metric `lipschitz_bounds`: bounds on the critic's Lipschitz constant L (per sample, ‖·‖₂).
//   upper        the architecture's layer-wise bound (Network::lipschitz_upper_bound): the
//                product of its layers' spectral norms — convolutions as the linear operators
//                they are on their input size — times the activations' constants (Szegedy et
//                al. 2014; Miyato et al. 2018). Each ‖A‖₂ by `iterations` power iterations
//                v ← AᵀAv/‖AᵀAv‖ with Aᵀ from autodiff. NaN when the architecture has none
//                (batch or layer normalisation).
//   lower        max ‖∇ₓD(x)‖ over real, generated and interpolated samples: any gradient
//                norm is a lower bound on L.
//   lower_ascent the same after `ascent_steps` of normalised gradient ascent on ‖∇ₓD(x)‖²
//                from those points (second-order autodiff).
//   upper_<net>  the layer-wise bound of each other network with Lipschitz methods of its own
//                (`<net>_lipschitz`, e.g. a spectrally normalised generator, in z).
#include <algorithm>
#include <cmath>
#include <limits>

#include "kant/autodiff.hpp"
#include "kant/distances.hpp"
#include "kant/input_gradient.hpp"
#include "kant/metric_rules.hpp"
#include "kant/ops.hpp"
#include "kant/plugin.hpp"

namespace {
using namespace kant;

double l2(const Tensor& t) { return std::sqrt(squared_norm(t)); }
constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

class LipschitzBounds : public Metric {
 public:
  struct Options {
    int64_t samples, iterations, ascent_steps;
    double ascent_lr;
    static void declare(Declare<Options>& d) {
      d(&Options::samples,
        param::integer("samples", 256, "real, generated and interpolated samples each")
            .at_least(1));
      d(&Options::iterations,
        param::integer("iterations", 100, "power iterations per layer").at_least(1));
      d(&Options::ascent_steps,
        param::integer("ascent_steps", 20, "gradient-ascent steps on ‖∇ₓD‖² (0: none)")
            .at_least(0));
      d(&Options::ascent_lr,
        param::real("ascent_lr", 0.01, "ascent step length per sample").at_least(0));
    }
  };
  static std::vector<StoredValue> stored() {
    return {stored::value("upper",
                          "the architecture's layer-wise bound on the critic's Lipschitz "
                          "constant: product of spectral norms by power iteration (NaN when "
                          "the architecture has none)"),
            stored::value("lower",
                          "max ‖∇ₓD(x)‖ over real, generated and interpolated samples: a "
                          "lower bound"),
            stored::value("lower_ascent",
                          "the same after gradient ascent on ‖∇ₓD‖² from those points:"
                          " a tighter lower bound"),
            stored::value("upper_<network>",
                          "the layer-wise bound of each other network constrained by a "
                          "<network>_lipschitz block (e.g. upper_generator, in z)")};
  }
  static MetricRequirements requirements() {
    return {{rules::needs_critic()},
            {{"upper",
              "the critic's architecture has no layer-wise bound (batch or layer "
              "normalisation)"},
             {"upper_<network>", "that network's architecture has no layer-wise bound"}}};
  }

  explicit LipschitzBounds(const Options& o)
      : samples_(o.samples),
        iterations_(o.iterations),
        ascent_steps_(o.ascent_steps),
        ascent_lr_(o.ascent_lr) {}

  std::vector<std::string> value_names() const override {
    return {"upper", "lower", "lower_ascent", "upper_<network>"};
  }

  std::map<std::string, double> compute(MetricContext& ctx) override {
    Rng& rng = ctx.rng;
    const OperatorNorm spectral_norm = [&](const LinearOperator& op) {
      Shape shape{1};
      shape.insert(shape.end(), op.input_shape.begin(), op.input_shape.end());
      Tensor v = rng.normal_tensor(shape);
      double sigma = 0;
      for (int64_t k = 0; k < iterations_; ++k) {
        v = (v * static_cast<float>(1.0 / l2(v))).detach().set_requires_grad();
        Tensor av = op.apply(v);
        sigma = l2(av);
        v = grad({sum(square(av)) * 0.5f}, {v})[0];  // AᵀAv
      }
      return sigma;
    };
    const std::optional<double> upper =
        critic_of(ctx, "lipschitz_bounds").lipschitz_upper_bound(spectral_norm);
    std::map<std::string, double> values;
    for (const auto& [name, net] : ctx.constrained)
      values["upper_" + name] = net->lipschitz_upper_bound(spectral_norm).value_or(kNaN);

    const int64_t m = critic_of(ctx, "lipschitz_bounds").pack();
    const int64_t n = (samples_ + m - 1) / m * m;
    Tensor real = ctx.dataset.sample(n, rng), fake = ctx.generate(n);
    Tensor x;
    {
      NoGradGuard no_grad;
      x = concat({real, fake, penalties::random_interpolates(real, fake, rng)}, 0);
    }
    const double lower = max_gradient_norm(critic_of(ctx, "lipschitz_bounds"), x);
    for (int64_t step = 0; step < ascent_steps_; ++step) {
      Tensor v = x.detach().set_requires_grad();
      Tensor g = grad({sum(critic_of(ctx, "lipschitz_bounds").forward(v))}, {v}, {},
                      /*create_graph=*/true)[0];
      Tensor up = grad({sum(square(g))}, {v})[0];
      const double norm = l2(up);
      if (norm == 0 || !std::isfinite(norm)) break;
      NoGradGuard no_grad;
      x = add(x, up * static_cast<float>(ascent_lr_ * std::sqrt(static_cast<double>(x.size(0))) /
                                         norm));
    }
    values["upper"] = upper.value_or(kNaN);
    values["lower"] = lower;
    values["lower_ascent"] =
        std::max(lower, max_gradient_norm(critic_of(ctx, "lipschitz_bounds"), x));
    return values;
  }

 private:
  // max over samples of the per-sample ‖∇ₓD‖ (per pack for a packed critic)
  static double max_gradient_norm(Network& critic, const Tensor& x) {
    const std::vector<double> norms =
        row_norms(penalties::input_gradient(critic, x), x.size(0) / critic.pack());
    return *std::max_element(norms.begin(), norms.end());
  }

  int64_t samples_, iterations_, ascent_steps_;
  double ascent_lr_;
};

}  // namespace

KANT_COMPONENT(LipschitzBounds, "lipschitz_bounds", "1.0.0",
               "layer-wise upper bound (∏ spectral norms, convolutions included) and empirical "
               "lower bounds (max gradient norm, then gradient ascent) on the critic's Lipschitz "
               "constant")
