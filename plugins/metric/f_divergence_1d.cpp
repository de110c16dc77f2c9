// Metric `f_divergence_1d`: f-divergences D_f(P‖Q) = ∫ q f(p/q) dx between a 1-D data set P
// with a closed-form density and the Gaussian Q = N(μ, σ²) an affine generator G(z) = μ + w·z,
// z ~ N(0, I), produces (μ = G(0), σ = ‖w‖ = ‖∇_z G‖) — the f-GAN experiment (Nowozin et al.
// 2016, §4). Two kinds of values:
//   exact_<d>        by composite Simpson quadrature over μ_k ± 12σ_k of every component, in
//                    log space (r = log p − log q) so far tails stay finite:
//                      kl ∫p r · reverse_kl ∫−q r · jeffrey ∫(p − q) r · pearson ∫(p − q)²/q ·
//                      neyman ∫(p − q)²/p · hellinger ∫(√p − √q)² (no ½, as f-GAN) ·
//                      total_variation ½∫|p − q| · jensen_shannon = 2·JSD (f-GAN's convention,
//                      ≤ log 4) · js = JSD = ½KL(P‖M) + ½KL(Q‖M), M = (P + Q)/2 (≤ log 2) ·
//                      gan = 2·JSD − log 4 (the original GAN's)
//   variational_<d>  sup_T E_P[g_f(V)] − E_Q[f*(g_f(V))] over a fresh critic V trained for
//                    `critic_steps` Adam steps against the frozen generator (as the f-GAN paper:
//                    a model trained with divergence A, evaluated with divergence B); a lower
//                    bound on exact_<d> up to sampling noise.
//   mu, sigma        the generator's Gaussian.
//   best, best_mu, best_sigma
//                    with `best_fit: <d>`: min over (μ, σ) of exact_<d>, and where (Nelder–Mead
//                    on (μ, log σ) from the data's mean and std): the best Gaussian fit the
//                    f-GAN paper's Table 1 (left) compares the learned one with.
//   trained_estimate with `trained_estimate: true`: the cell's own objective's estimate
//                    E_P[…] − E_Q[…] with the trained critic on `samples` fresh points (the
//                    paper's F(ω̂, θ̂)).
#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <functional>
#include <optional>
#include <sstream>
#include <tuple>

#include "kant/affine_generator.hpp"
#include "kant/autodiff.hpp"
#include "kant/distances.hpp"
#include "kant/error.hpp"
#include "kant/f_divergences.hpp"
#include "kant/fit.hpp"
#include "kant/metric_rules.hpp"
#include "kant/plugin.hpp"

namespace {
using namespace kant;

double softplus(double x) { return x > 0 ? x + std::log1p(std::exp(-x)) : std::log1p(std::exp(x)); }

// q f(p/q) for each divergence, from log p, log q (either may be −∞, not both).
const std::vector<std::pair<std::string, double (*)(double, double)>>& integrands() {
  static const std::vector<std::pair<std::string, double (*)(double, double)>> table{
      {"kl", [](double lp, double lq) { return lp == -INFINITY ? 0.0 : std::exp(lp) * (lp - lq); }},
      {"reverse_kl",
       [](double lp, double lq) { return lq == -INFINITY ? 0.0 : std::exp(lq) * (lq - lp); }},
      {"jeffrey", [](double lp, double lq) { return (std::exp(lp) - std::exp(lq)) * (lp - lq); }},
      {"pearson",
       [](double lp, double lq) {
         return std::pow(std::exp(0.5 * lp + 0.5 * (lp - lq)) - std::exp(0.5 * lq), 2);
       }},
      {"neyman",
       [](double lp, double lq) {
         return std::pow(std::exp(0.5 * lq + 0.5 * (lq - lp)) - std::exp(0.5 * lp), 2);
       }},
      {"hellinger",
       [](double lp, double lq) { return std::pow(std::exp(0.5 * lp) - std::exp(0.5 * lq), 2); }},
      {"total_variation",
       [](double lp, double lq) { return 0.5 * std::abs(std::exp(lp) - std::exp(lq)); }},
      {"jensen_shannon",
       [](double lp, double lq) {
         const double r = lp - lq;  // p log(2p/(p+q)) + q log(2q/(p+q))
         return (lp == -INFINITY ? 0.0 : std::exp(lp) * (std::log(2.0) - softplus(-r))) +
                (lq == -INFINITY ? 0.0 : std::exp(lq) * (std::log(2.0) - softplus(r)));
       }},
  };
  return table;
}

// "kl, pearson" → {"kl", "pearson"}, each checked against `known`.
std::vector<std::string> name_list(const std::string& text, const std::vector<std::string>& known,
                                   const char* parameter) {
  std::vector<std::string> out;
  std::istringstream names(text);
  std::string name;
  while (std::getline(names, name, ',')) {
    name.erase(0, name.find_first_not_of(' '));
    name.erase(name.find_last_not_of(' ') + 1);
    if (name.empty()) continue;
    if (std::find(known.begin(), known.end(), name) == known.end())
      throw Error(fmt::format("f_divergence_1d: unknown divergence '{}' in `{}` (known: {})", name,
                              parameter, fmt::join(known, ", ")));
    out.push_back(name);
  }
  return out;
}

// Nelder–Mead (Nelder & Mead 1965) on a function of two variables from `start` with initial
// steps `scale`; returns the minimiser after `iterations` or when the simplex's values agree.
std::array<double, 2> nelder_mead(const std::function<double(const std::array<double, 2>&)>& f,
                                  std::array<double, 2> start, std::array<double, 2> scale,
                                  int iterations) {
  std::array<std::array<double, 2>, 3> x{start, start, start};
  x[1][0] += scale[0];
  x[2][1] += scale[1];
  std::array<double, 3> fx{f(x[0]), f(x[1]), f(x[2])};
  auto at = [](const std::array<double, 2>& a, const std::array<double, 2>& b, double t) {
    return std::array<double, 2>{a[0] + t * (b[0] - a[0]), a[1] + t * (b[1] - a[1])};
  };
  for (int it = 0; it < iterations; ++it) {
    std::array<int, 3> order{0, 1, 2};
    std::sort(order.begin(), order.end(), [&](int a, int b) {
      return fx[static_cast<size_t>(a)] < fx[static_cast<size_t>(b)];
    });
    const auto best = x[static_cast<size_t>(order[0])], mid = x[static_cast<size_t>(order[1])];
    const size_t worst = static_cast<size_t>(order[2]);
    if (std::abs(fx[worst] - fx[static_cast<size_t>(order[0])]) < 1e-14 * (1 + std::abs(fx[worst])))
      break;
    const std::array<double, 2> centroid{(best[0] + mid[0]) / 2, (best[1] + mid[1]) / 2};
    const auto reflected = at(centroid, x[worst], -1);
    const double fr = f(reflected);
    if (fr < fx[static_cast<size_t>(order[0])]) {
      const auto expanded = at(centroid, x[worst], -2);
      const double fe = f(expanded);
      x[worst] = fe < fr ? expanded : reflected;
      fx[worst] = std::min(fe, fr);
    } else if (fr < fx[static_cast<size_t>(order[1])]) {
      x[worst] = reflected;
      fx[worst] = fr;
    } else {
      const auto contracted = at(centroid, x[worst], 0.5);
      const double fc = f(contracted);
      if (fc < fx[worst]) {
        x[worst] = contracted;
        fx[worst] = fc;
      } else {  // shrink towards the best
        for (size_t k = 0; k < 3; ++k)
          if (k != static_cast<size_t>(order[0])) {
            x[k] = at(best, x[k], 0.5);
            fx[k] = f(x[k]);
          }
      }
    }
  }
  return x[static_cast<size_t>(std::min_element(fx.begin(), fx.end()) - fx.begin())];
}

std::vector<std::string> integrand_names() {
  std::vector<std::string> names;
  for (const auto& [name, f] : integrands()) names.push_back(name);
  return names;
}

// "" when G is affine in z on random probes, else what differs (the rule's message).
std::string affine_mismatch(Network& generator, int64_t noise_dim) {
  Rng rng(0, 0);
  Tensor z = rng.normal_tensor({affine_fit::kProbes, noise_dim});
  const affine_fit::Fit f = affine_fit::at_zero(generator, noise_dim);
  Tensor at_zero = generator.forward(Tensor::zeros({1, noise_dim}));
  if (at_zero.numel() != 1)
    return fmt::format("the generator's samples have {} values, not one", at_zero.numel());
  const std::string m = affine_fit::mismatch(generator, f, z);
  return m.empty() ? "" : "the initialised generator gives " + m;
}

class FDivergence1d : public Metric {
 public:
  struct Options {
    int64_t quadrature_points;
    std::string variational;
    int64_t critic_steps, critic_width;
    double critic_lr;
    int64_t samples;
    std::string critic_activation, best_fit;
    bool trained_estimate;
    static void declare(Declare<Options>& d) {
      d(&Options::quadrature_points,
        param::integer("quadrature_points", 20001, "Simpson quadrature points").at_least(3));
      d(&Options::variational,
        param::string("variational", "",
                      "comma-separated f-GAN divergences to estimate with a "
                      "retrained critic, e.g. \"kl, pearson\" (empty: none)"));
      d(&Options::critic_steps,
        param::integer("critic_steps", 2000, "Adam steps of each retrained critic").at_least(1));
      d(&Options::critic_width,
        param::integer("critic_width", 64, "hidden width of the retrained critic").at_least(1));
      d(&Options::critic_lr,
        param::real("critic_lr", 1e-3, "Adam step size of the retrained critic").at_least(0, true));
      d(&Options::samples,
        param::integer("samples", 20000, "samples per side for the variational estimate")
            .at_least(1));
      d(&Options::critic_activation,
        param::choice("critic_activation", "relu", {"relu", "tanh"},
                      "hidden units of the retrained critic (the f-GAN paper's V: tanh)")
            .added_later());
      d(&Options::best_fit,
        param::string("best_fit", "",
                      "a divergence whose best Gaussian fit to the data (min over μ, σ of "
                      "its exact value) is reported as best, best_mu, best_sigma")
            .added_later());
      d(&Options::trained_estimate,
        param::boolean("trained_estimate", false,
                       "also report the cell's objective's estimate with its "
                       "trained critic (F(ω̂, θ̂) of the f-GAN paper)")
            .added_later());
    }
  };
  static std::vector<StoredValue> stored() {
    return {stored::value("mu", "μ = G(0), the mean of the affine generator's Gaussian"),
            stored::value("sigma", "σ = ‖∇_z G‖, its standard deviation"),
            stored::value("exact_<divergence>",
                          "D_f(P‖Q) by log-space quadrature, for kl, reverse_kl,"
                          " jeffrey, pearson, neyman, hellinger, "
                          "total_variation, jensen_shannon (2·JSD), js (JSD, ≤ "
                          "log 2) and gan (2·JSD − log 4)"),
            stored::value("variational_<divergence>",
                          "the f-GAN lower bound sup_T E_P[g_f(V)] − "
                          "E_Q[f*(g_f(V))] from a freshly trained critic, "
                          "for each divergence in `variational`"),
            stored::value("best",
                          "with best_fit: min over (μ, σ) of exact_<best_fit>, the best Gaussian "
                          "fit to the data (f-GAN, Table 1 left)"),
            stored::value("best_mu", "the μ of that best fit"),
            stored::value("best_sigma", "the σ of that best fit"),
            stored::value("trained_estimate",
                          "with trained_estimate: the cell's objective's divergence "
                          "estimate with its trained critic (F(ω̂, θ̂) of the f-GAN paper)")};
  }
  static MetricRequirements requirements() {
    return {{rules::data_shape({1}, "1-D data"),
             rules::closed_form_density(),
             rules::normal_noise(),
             {"an affine generator G(z) = μ + w·z, a Gaussian (mlp with hidden: [] and "
              "output_activation: none), "
              "checked on the initialised generator at random z",
              [](const Params&, CellView& cell) {
                return affine_mismatch(cell.generator(), cell.noise_dim());
              }},
             {"`variational` lists f-GAN divergences (kl, reverse_kl, pearson, …)",
              [](const Params& p, CellView&) -> std::string {
                const std::string variational = options_from<Options>(p).variational;
                try {
                  std::vector<std::string> known;
                  for (const auto& d : fgan::divergences()) known.push_back(d.name);
                  name_list(variational, known, "variational");
                } catch (const Error& e) {
                  return fmt::format("variational is \"{}\" ({})", variational, e.what());
                }
                return "";
              }}}};
  }

  explicit FDivergence1d(const Options& o)
      : points_(o.quadrature_points),
        samples_(o.samples),
        critic_steps_(o.critic_steps),
        critic_width_(o.critic_width),
        lr_(o.critic_lr),
        tanh_critic_(o.critic_activation == "tanh"),
        trained_estimate_(o.trained_estimate) {
    std::vector<std::string> known;
    for (const auto& d : fgan::divergences()) known.push_back(d.name);
    variational_ = name_list(o.variational, known, "variational");
    best_fit_ = name_list(o.best_fit, integrand_names(), "best_fit");
    if (best_fit_.size() > 1) throw Error("f_divergence_1d: `best_fit` names one divergence");
  }

  std::vector<std::string> value_names() const override {
    std::vector<std::string> names{"mu", "sigma"};
    for (const auto& [name, f] : integrands()) names.push_back("exact_" + name);
    names.push_back("exact_js");
    names.push_back("exact_gan");
    for (const auto& name : variational_) names.push_back("variational_" + name);
    if (!best_fit_.empty()) names.insert(names.end(), {"best", "best_mu", "best_sigma"});
    if (trained_estimate_) names.push_back("trained_estimate");
    return names;
  }

  std::map<std::string, double> compute(MetricContext& ctx) override {
    if (ctx.dataset.sample_shape() != Shape{1})
      throw Error("f_divergence_1d needs a 1-D data set (e.g. gaussian_mixture_1d)");
    const double probe = 0;
    if (!ctx.dataset.log_density(&probe))
      throw Error(
          "f_divergence_1d needs a data set with a known density (e.g. gaussian_mixture_1d)");
    auto [mu, sigma] = generator_gaussian(ctx);
    std::map<std::string, double> out{{"mu", mu}, {"sigma", sigma}};
    for (const auto& [name, value] : exact(ctx.dataset, mu, sigma)) out["exact_" + name] = value;
    for (const auto& name : variational_)
      out["variational_" + name] = variational(ctx, *fgan::find(name));
    if (!best_fit_.empty()) {
      if (!best_) best_ = best_fit(ctx.dataset, best_fit_.front());  // the data do not change
      std::tie(out["best"], out["best_mu"], out["best_sigma"]) = *best_;
    }
    if (trained_estimate_) {
      if (!ctx.critic || !ctx.objective)
        throw Error("f_divergence_1d: trained_estimate needs a critic and an objective");
      NoGradGuard no_grad;
      out["trained_estimate"] = ctx.objective->divergence_estimate(
          ctx.critic->forward(ctx.dataset.sample(samples_, ctx.rng)),
          ctx.critic->forward(ctx.generate(samples_)));
    }
    return out;
  }

 private:
  // μ = G(0) and σ = ‖∇_z G(0)‖; the generator must be affine in z (checked on random z).
  std::pair<double, double> generator_gaussian(MetricContext& ctx) {
    if (!ctx.noise || ctx.noise_kind != "normal")
      throw Error("f_divergence_1d needs Gaussian generator noise (generator: {noise: normal})");
    return affine_fit::gaussian(ctx.generator, ctx.noise(64), "f_divergence_1d");
  }

  std::map<std::string, double> exact(const Dataset& data, double mu, double sigma) const {
    // range: ±12 std around the generator and every mode of the data
    double lo = mu - 12 * sigma, hi = mu + 12 * sigma;
    if (auto m = data.modes())
      for (const auto& c : m->centers) {
        lo = std::min(lo, c[0] - 12 * m->std);
        hi = std::max(hi, c[0] + 12 * m->std);
      }
    const double step = 0.25 * (hi - lo);  // widen until the data density has vanished at both ends
    while (*data.log_density(&lo) > -80) lo -= step;
    while (*data.log_density(&hi) > -80) hi += step;
    const int64_t n = points_ + (points_ % 2 == 0);  // Simpson needs an odd count
    const double h = (hi - lo) / static_cast<double>(n - 1);
    std::map<std::string, double> total;
    for (int64_t i = 0; i < n; ++i) {
      const double x = lo + h * static_cast<double>(i);
      const double lp = *data.log_density(&x);
      const double z = (x - mu) / sigma;
      const double lq = -0.5 * z * z - std::log(sigma * std::sqrt(2 * M_PI));
      const double weight = (i == 0 || i == n - 1) ? 1 : (i % 2 ? 4 : 2);
      for (const auto& [name, f] : integrands()) total[name] += weight * f(lp, lq);
    }
    for (auto& [name, v] : total) v *= h / 3;
    total["js"] = 0.5 * total["jensen_shannon"];             // JSD
    total["gan"] = total["jensen_shannon"] - std::log(4.0);  // 2·JSD − log 4
    return total;
  }

  // min over (μ, σ) of the exact divergence `name`, from the data's own mean and std
  std::tuple<double, double, double> best_fit(const Dataset& data, const std::string& name) {
    if (!moments_) {  // the data's mean and std, by the same quadrature against N(0, 1)
      double lo = -1, hi = 1;
      if (auto m = data.modes())
        for (const auto& c : m->centers)
          lo = std::min(lo, c[0] - 12 * m->std), hi = std::max(hi, c[0] + 12 * m->std);
      while (*data.log_density(&lo) > -80) lo -= 1;
      while (*data.log_density(&hi) > -80) hi += 1;
      double m0 = 0, m1 = 0, m2 = 0;
      const int64_t n = points_ + (points_ % 2 == 0);
      const double h = (hi - lo) / static_cast<double>(n - 1);
      for (int64_t i = 0; i < n; ++i) {
        const double x = lo + h * static_cast<double>(i),
                     w = (i == 0 || i == n - 1) ? 1 : (i % 2 ? 4 : 2);
        const double p = std::exp(*data.log_density(&x)) * w;
        m0 += p, m1 += p * x, m2 += p * x * x;
      }
      moments_ = std::pair<double, double>{m1 / m0, std::sqrt(m2 / m0 - (m1 / m0) * (m1 / m0))};
    }
    auto objective = [&](const std::array<double, 2>& v) {
      return exact(data, v[0], std::exp(v[1])).at(name);
    };
    std::array<double, 2> x{moments_->first, std::log(moments_->second)};
    for (int restart = 0; restart < 3; ++restart) x = nelder_mead(objective, x, {0.1, 0.1}, 400);
    return {objective(x), x[0], std::exp(x[1])};
  }

  // Trains a fresh critic V to maximise E_P[g_f(V)] − E_Q[f*(g_f(V))], then evaluates it on
  // `samples` fresh points of each side. The critic is 1 → width → width → 1 with ReLU, or
  // tanh (the paper's V).
  double variational(MetricContext& ctx, const fgan::Divergence& d) {
    fit::Mlp critic(1, {critic_width_, critic_width_}, 1, ctx.rng, tanh_critic_);
    const std::vector<Tensor> params = critic.parameters();
    fit::Adam adam(params, static_cast<float>(lr_));
    auto objective = [&](int64_t n) {
      Tensor real = ctx.dataset.sample(n, ctx.rng), fake = ctx.generate(n);
      return sub(mean(d.activation_t(critic.forward(real))),
                 mean(d.conjugate_of_activation(critic.forward(fake))));
    };
    for (int64_t step = 0; step < critic_steps_; ++step)
      adam.step(grad({neg(objective(256))}, params));
    NoGradGuard no_grad;
    return objective(samples_).data()[0];
  }

  int64_t points_, samples_, critic_steps_, critic_width_;
  double lr_;
  bool tanh_critic_, trained_estimate_;
  std::vector<std::string> variational_, best_fit_;
  std::optional<std::pair<double, double>> moments_;
  std::optional<std::tuple<double, double, double>> best_;
};

}  // namespace

KANT_COMPONENT(FDivergence1d, "f_divergence_1d", "1.0.0",
               "exact f-divergences between a 1-D density and a Gaussian generator (quadrature), "
               "and variational estimates from a freshly trained critic (as the f-GAN paper)")
