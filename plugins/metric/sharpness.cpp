// Metric `sharpness`: how sharp generated images are, as the mean squared response of the
// discrete Laplacian (the 5-point stencil, interior pixels, every channel):
//   S(x) = 1/(N·C·(H−2)·(W−2)) Σ (x[i−1,j] + x[i+1,j] + x[i,j−1] + x[i,j+1] − 4·x[i,j])²
// on [−1, 1] images. Blurry samples — a VAE's, whose Gaussian likelihood makes it average over
// the modes it is unsure of (it minimises KL(p_data‖p_model)) — score below the data; a GAN's
// samples score near it or above (noise also raises it, so read it beside a Fréchet distance).
//   generated   S of generated samples
//   data        S of as many data samples
//   ratio       generated / data (1: as sharp as the data)
#include <fmt/format.h>

#include "kant/error.hpp"
#include "kant/plugin.hpp"

namespace {
using namespace kant;

double mean_squared_laplacian(const Tensor& x) {
  if (x.dim() != 4 || x.size(2) < 3 || x.size(3) < 3)
    throw Error(fmt::format(
        "sharpness needs images [N, C, H, W] of at least 3×3 pixels, got {} dimensions", x.dim()));
  const int64_t planes = x.size(0) * x.size(1), h = x.size(2), w = x.size(3);
  const float* p = x.data();
  double sum = 0;
  for (int64_t k = 0; k < planes; ++k, p += h * w)
    for (int64_t i = 1; i + 1 < h; ++i)
      for (int64_t j = 1; j + 1 < w; ++j) {
        const double l = double(p[(i - 1) * w + j]) + p[(i + 1) * w + j] + p[i * w + j - 1] +
                         p[i * w + j + 1] - 4.0 * p[i * w + j];
        sum += l * l;
      }
  return sum / static_cast<double>(planes * (h - 2) * (w - 2));
}

class Sharpness : public Metric {
 public:
  struct Options {
    int64_t samples;
    static void declare(Declare<Options>& d) {
      d(&Options::samples, param::integer("samples", 500, "images of each kind").at_least(1));
    }
  };
  static std::vector<StoredValue> stored() {
    return {
        stored::value("generated", "S, the mean squared discrete Laplacian, of generated samples"),
        stored::value("data", "S of as many data samples"),
        stored::value("ratio", "generated / data (1: as sharp as the data)")};
  }

  explicit Sharpness(const Options& o) : samples_(o.samples) {}
  std::vector<std::string> value_names() const override { return {"generated", "data", "ratio"}; }
  std::map<std::string, double> compute(MetricContext& ctx) override {
    const double generated = mean_squared_laplacian(ctx.generate(samples_));
    const double data = mean_squared_laplacian(ctx.dataset.sample(samples_, ctx.rng));
    return {{"generated", generated}, {"data", data}, {"ratio", generated / data}};
  }

 private:
  int64_t samples_;
};

}  // namespace

KANT_COMPONENT(Sharpness, "sharpness", "1.0.0",
               "mean squared discrete Laplacian of generated and data images, and their ratio "
               "(blur: a VAE's samples score below the data)")
