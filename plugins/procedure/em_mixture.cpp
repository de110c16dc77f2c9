// Procedure `em_mixture`: maximum likelihood for a Gaussian mixture generator (architecture
// `gaussian_mixture`) by expectation–maximisation (Dempster, Laird & Rubin 1977) — the course's
// MLE baseline (deck 3: "P_G is a Gaussian mixture model … this only can generate a few blobs"):
// θ* = argmax Σ_i log P_G(x_i; θ) = argmin KL(P_data ‖ P_G) on a fixed sample of `sample_size`
// data points drawn once. Each iteration is one EM step:
//   E  r_ik = w_k N(x_i; μ_k, diag σ_k²) / Σ_j w_j N(x_i; μ_j, diag σ_j²)   (in log space)
//   M  N_k = Σ_i r_ik,  w_k = N_k / N,  μ_k = Σ_i r_ik x_i / N_k,
//      σ_k² = max(Σ_i r_ik (x_i − μ_k)² / N_k, min_std²)   (per coordinate)
// Start: μ_k at K distinct sample points drawn at random, σ_k the sample's standard deviation,
// equal weights. No critic, objective or optimizer; the series `log_likelihood` is the mean
// log-likelihood of the sample before each step's update (EM never lowers it).
#include <fmt/format.h>

#include <algorithm>
#include <cmath>

#include "kant/error.hpp"
#include "kant/ops.hpp"
#include "kant/plugin.hpp"
#include "kant/procedure_steps.hpp"

namespace {
using namespace kant;

class EmMixture : public Procedure {
 public:
  struct Options {
    int64_t sample_size;
    double min_std;
    static void declare(Declare<Options>& d) {
      d(&Options::sample_size,
        param::integer("sample_size", 10000, "data points drawn once and fitted").at_least(2));
      d(&Options::min_std, param::real("min_std", 1e-3,
                                       "floor on every σ_k (a component on one point would "
                                       "collapse to zero variance)")
                               .at_least(0, true));
    }
  };
  struct Losses {
    double log_likelihood = 0;
    static void declare(DeclareLosses<Losses>& d) {
      d(&Losses::log_likelihood, "log_likelihood",
        "(1/N) Σ_i log P_G(x_i; θ) on the fixed sample, before the step's update");
    }
  };
  explicit EmMixture(const Options& o) : n_(o.sample_size), min_var_(o.min_std * o.min_std) {}

  std::vector<std::string> network_names() const override { return {"generator"}; }
  bool uses_objective() const override { return false; }
  bool uses_lipschitz() const override { return false; }
  bool runs_products() const override { return false; }  // closed-form updates, plain loops
  std::vector<NetworkRequest> networks(const Shape& data, int64_t noise_dim) const override {
    return {{"generator", Role::generator, {noise_dim}, data}};
  }
  std::vector<std::string> loss_names() const override { return loss_names_of<Losses>(); }

  void set_up(TrainingContext& ctx) override {
    Network& g = procedures::network(ctx, "generator");
    for (const auto& [name, t] : g.named_parameters()) {
      if (name == "logits") logits_ = t;
      if (name == "means") means_ = t;
      if (name == "log_stds") log_stds_ = t;
    }
    if (!logits_.defined() || !means_.defined() || !log_stds_.defined() || means_.dim() != 2)
      throw Error("em_mixture fits a mixture generator: use generator: {plugin: gaussian_mixture}");
    k_ = means_.size(0);
    d_ = means_.size(1);
    if (k_ > n_) throw Error(fmt::format("em_mixture: {} components for a sample of {}", k_, n_));
    sample_ = reshape(ctx.dataset.sample(n_, ctx.data_rng), {n_, d_}).detach();
    // start: K distinct sample points as means, the sample's std, equal weights
    std::vector<int64_t> order(static_cast<size_t>(n_));
    for (int64_t i = 0; i < n_; ++i) order[static_cast<size_t>(i)] = i;
    for (int64_t i = 0; i < k_; ++i) {  // a partial Fisher–Yates shuffle
      const auto j = i + static_cast<int64_t>(ctx.data_rng.uniform() * double(n_ - i));
      std::swap(order[static_cast<size_t>(i)], order[static_cast<size_t>(std::min(j, n_ - 1))]);
    }
    for (int64_t c = 0; c < d_; ++c) {
      double m = 0, v = 0;
      for (int64_t i = 0; i < n_; ++i) m += x(i, c) / double(n_);
      for (int64_t i = 0; i < n_; ++i) v += (x(i, c) - m) * (x(i, c) - m) / double(n_);
      for (int64_t k = 0; k < k_; ++k) {
        means_.data()[k * d_ + c] = float(x(order[static_cast<size_t>(k)], c));
        log_stds_.data()[k * d_ + c] = float(0.5 * std::log(std::max(v, min_var_)));
      }
    }
    for (int64_t k = 0; k < k_; ++k) logits_.data()[k] = 0.0f;
  }

  StepOutcome step(TrainingContext&, int64_t) override {
    std::vector<double> w(static_cast<size_t>(k_)), r(static_cast<size_t>(n_ * k_));
    double top = -1e300, total = 0;
    for (int64_t k = 0; k < k_; ++k) top = std::max<double>(top, logits_.data()[k]);
    for (int64_t k = 0; k < k_; ++k) total += w[size_t(k)] = std::exp(logits_.data()[k] - top);
    for (double& v : w) v /= total;
    // E step, in log space
    double ll = 0;
    for (int64_t i = 0; i < n_; ++i) {
      double best = -1e300;
      for (int64_t k = 0; k < k_; ++k) {
        double lp = std::log(w[size_t(k)]);
        for (int64_t c = 0; c < d_; ++c) {
          const double ls = log_stds_.data()[k * d_ + c];
          const double z = (x(i, c) - means_.data()[k * d_ + c]) * std::exp(-ls);
          lp += -0.5 * z * z - ls - 0.5 * std::log(2 * M_PI);
        }
        r[size_t(i * k_ + k)] = lp;
        best = std::max(best, lp);
      }
      double s = 0;
      for (int64_t k = 0; k < k_; ++k) s += std::exp(r[size_t(i * k_ + k)] - best);
      const double log_p = best + std::log(s);
      ll += log_p / double(n_);
      for (int64_t k = 0; k < k_; ++k)
        r[size_t(i * k_ + k)] = std::exp(r[size_t(i * k_ + k)] - log_p);
    }
    StepOutcome out{loss_values(Losses{ll}), ""};
    if (!std::isfinite(ll)) {
      out.diverged = "the log-likelihood became " + std::to_string(ll);
      return out;
    }
    // M step
    for (int64_t k = 0; k < k_; ++k) {
      double nk = 0;
      for (int64_t i = 0; i < n_; ++i) nk += r[size_t(i * k_ + k)];
      if (nk < 1e-10) continue;  // an empty component keeps its place
      logits_.data()[k] = float(std::log(nk / double(n_)));
      for (int64_t c = 0; c < d_; ++c) {
        double m = 0;
        for (int64_t i = 0; i < n_; ++i) m += r[size_t(i * k_ + k)] * x(i, c);
        m /= nk;
        double v = 0;
        for (int64_t i = 0; i < n_; ++i) v += r[size_t(i * k_ + k)] * (x(i, c) - m) * (x(i, c) - m);
        means_.data()[k * d_ + c] = float(m);
        log_stds_.data()[k * d_ + c] = float(0.5 * std::log(std::max(v / nk, min_var_)));
      }
    }
    return out;
  }

  // the fixed sample, for a resumed run
  ComponentState state() const override {
    ComponentState s;
    s.tensors["sample"] = sample_;
    return s;
  }
  void load_state(const ComponentState& s) override {
    if (auto it = s.tensors.find("sample"); it != s.tensors.end()) sample_ = it->second;
  }

 private:
  double x(int64_t i, int64_t c) const { return sample_.data()[i * d_ + c]; }
  int64_t n_;
  double min_var_;
  int64_t k_ = 0, d_ = 0;
  Tensor sample_, logits_, means_, log_stds_;
};

}  // namespace

KANT_COMPONENT(EmMixture, "em_mixture", "1.0.0",
               "maximum likelihood for a gaussian_mixture generator by EM on a fixed data sample "
               "(Dempster et al. 1977): the course's MLE baseline")
