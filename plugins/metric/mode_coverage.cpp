// Metric `mode_coverage` for mixtures with known modes (VEEGAN, Srivastava et al. 2017;
// PacGAN, Lin et al. 2018): draw n generated samples; a sample is high quality when it lies
// within k standard deviations (Euclidean distance ≤ k·std) of its nearest mode; a mode is
// covered when at least `min_samples` high-quality samples are nearest to it.
//   modes        = number of covered modes
//   high_quality = 100 · (#high-quality samples) / n
//   reverse_kl   = KL(p̂ ‖ uniform) = Σ_k p̂_k log(K p̂_k), p̂ the histogram of high-quality
//                  samples over the K modes (PacGAN's measure; 0 when all modes are equally
//                  hit, log K when one mode takes everything; NaN without high-quality samples)
#include <fmt/format.h>

#include <cmath>
#include <limits>

#include "kant/error.hpp"
#include "kant/metric_rules.hpp"
#include "kant/plugin.hpp"

namespace {
using namespace kant;

class ModeCoverage : public Metric {
 public:
  struct Options {
    int64_t samples;
    double threshold_std;
    int64_t min_samples;
    static void declare(Declare<Options>& d) {
      d(&Options::samples,
        param::integer("samples", 2500, "generated samples evaluated").at_least(1));
      d(&Options::threshold_std, param::real("threshold_std", 3.0,
                                             "a sample within this many stds of a mode is "
                                             "high quality")
                                     .at_least(0, true));
      d(&Options::min_samples, param::integer("min_samples", 20,
                                              "high-quality samples a mode needs to count as "
                                              "covered (PacGAN: 20 of 2500)")
                                   .at_least(1));
    }
  };
  static std::vector<StoredValue> stored() {
    return {stored::value("modes",
                          "modes with at least min_samples high-quality samples nearest to "
                          "them"),
            stored::value("high_quality",
                          "percentage of samples within k standard deviations of their"
                          " nearest mode"),
            stored::value("reverse_kl",
                          "KL(p̂ ‖ uniform) of the high-quality samples' mode histogram "
                          "(0: modes equally hit, log K: one mode takes all; NaN without"
                          " high-quality samples)")};
  }
  static MetricRequirements requirements() {
    return {
        {rules::known_modes()},
        {{"reverse_kl", "no generated sample is high quality (within threshold_std of a mode)"}}};
  }

  explicit ModeCoverage(const Options& o)
      : samples_(o.samples), k_(o.threshold_std), min_samples_(o.min_samples) {}

  std::vector<std::string> value_names() const override {
    return {"modes", "high_quality", "reverse_kl"};
  }

  std::map<std::string, double> compute(MetricContext& ctx) override {
    std::optional<Modes> modes = ctx.dataset.modes();
    if (!modes || modes->centers.empty())
      throw Error("mode_coverage needs a dataset with known modes (e.g. eight_gaussians)");
    Tensor x = ctx.generate(samples_);
    const int64_t d = x.numel() / x.size(0);
    if (static_cast<size_t>(d) != modes->centers[0].size())
      throw Error(fmt::format("mode_coverage: samples have {} dimensions, modes {}", d,
                              modes->centers[0].size()));
    std::vector<int64_t> per_mode(modes->centers.size(), 0);
    int64_t high_quality = 0;
    const double radius = k_ * modes->std;
    for (int64_t i = 0; i < samples_; ++i) {
      const float* p = x.data() + i * d;
      double best = std::numeric_limits<double>::infinity();
      size_t best_k = 0;
      for (size_t k = 0; k < modes->centers.size(); ++k) {
        double s = 0;
        for (int64_t j = 0; j < d; ++j) {
          const double diff = p[j] - modes->centers[k][static_cast<size_t>(j)];
          s += diff * diff;
        }
        if (s < best) {
          best = s;
          best_k = k;
        }
      }
      if (std::sqrt(best) <= radius) {
        ++high_quality;
        ++per_mode[best_k];
      }
    }
    double covered = 0;
    double reverse_kl = high_quality > 0 ? 0.0 : std::numeric_limits<double>::quiet_NaN();
    const double modes_count = static_cast<double>(per_mode.size());
    for (int64_t c : per_mode) {
      covered += c >= min_samples_;
      const double p = static_cast<double>(c) / static_cast<double>(high_quality);
      if (c > 0) reverse_kl += p * std::log(modes_count * p);
    }
    return {{"modes", covered},
            {"reverse_kl", reverse_kl},
            {"high_quality",
             100.0 * static_cast<double>(high_quality) / static_cast<double>(samples_)}};
  }

 private:
  int64_t samples_;
  double k_;
  int64_t min_samples_;
};

}  // namespace

KANT_COMPONENT(ModeCoverage, "mode_coverage", "1.0.0",
               "modes covered, % high-quality samples (within k std of the nearest mode), and the "
               "reverse KL of their mode histogram to uniform "
               "(VEEGAN, Srivastava et al. 2017; PacGAN, Lin et al. 2018)")
