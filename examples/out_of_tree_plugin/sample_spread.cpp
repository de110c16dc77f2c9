// Metric `sample_spread` (an example plugin built out of tree): how spread out the generated
// samples are, per coordinate, against the data's spread.
//   spread — mean over coordinates of the generated samples' standard deviation
//   ratio  — spread / the same for data samples (1: as spread as the data; → 0: collapse)
#include <cmath>

#include "kant/plugin.hpp"

namespace {
using namespace kant;

// Mean over the columns of [n, d] of each column's standard deviation.
double mean_std(const Tensor& x) {
  const int64_t n = x.size(0), d = x.numel() / n;
  double total = 0;
  for (int64_t j = 0; j < d; ++j) {
    double sum = 0, sq = 0;
    for (int64_t i = 0; i < n; ++i) {
      const double v = x.data()[i * d + j];
      sum += v;
      sq += v * v;
    }
    const double mean = sum / static_cast<double>(n);
    total += std::sqrt(std::max(0.0, sq / static_cast<double>(n) - mean * mean));
  }
  return total / static_cast<double>(d);
}

class SampleSpread : public Metric {
 public:
  struct Options {
    int64_t samples;
    static void declare(Declare<Options>& d) {
      d(&Options::samples, param::integer("samples", 500, "samples per side").at_least(2));
    }
  };
  static std::vector<StoredValue> stored() {
    return {stored::value("spread",
                          "mean over coordinates of the generated samples' standard deviation"),
            stored::value("ratio",
                          "spread divided by the data's (1: as spread as the data, near 0: "
                          "collapsed)")};
  }

  static MetricRequirements requirements() {
    return {{}, {{"ratio", "the data samples have no spread (a constant data set)"}}};
  }

  explicit SampleSpread(const Options& o) : samples_(o.samples) {}
  std::vector<std::string> value_names() const override { return {"spread", "ratio"}; }
  std::map<std::string, double> compute(MetricContext& ctx) override {
    const double fake = mean_std(ctx.generate(samples_));
    const double real = mean_std(ctx.dataset.sample(samples_, ctx.rng));
    return {{"spread", fake}, {"ratio", real > 0 ? fake / real : std::nan("")}};
  }

 private:
  int64_t samples_;
};

}  // namespace

KANT_COMPONENT(SampleSpread, "sample_spread", "1.0.0",
               "mean per-coordinate standard deviation of generated samples, and its ratio to the "
               "data's")
