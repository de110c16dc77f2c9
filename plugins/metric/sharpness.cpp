// Metric `sharpness`: how sharp generated images are, as the mean squared response of the
// discrete Laplacian (the 5-point stencil, interior pixels, every channel):
//   S(x) = 1/(N·C·(H−2)·(W−2)) Σ (x[i−1,j] + x[i+1,j] + x[i,j−1] + x[i,j+1] − 4·x[i,j])²
// on [−1, 1] images. Blurry samples — a VAE's, whose Gaussian likelihood makes it average over
// the modes it is unsure of (it minimises KL(p_data‖p_model)) — score below the data; a GAN's
// samples score near it or above (noise also raises it, so read it beside a Fréchet distance).
//   generated   S of generated samples
//   data        S of as many data samples
//   ratio       generated / data (1: as sharp as the data)
#include "kant/error.hpp"
#include "kant/image_statistics.hpp"
#include "kant/plugin.hpp"

namespace {
using namespace kant;

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
