// Dataset `ring`: K Gaussians evenly spaced on a circle, centre k at radius·(cos 2πk/K,
// sin 2πk/K). Defaults are the VEEGAN / PacGAN ring (Srivastava et al. 2017; Lin et al. 2018):
// 8 modes, radius 1, std 0.01. (`eight_gaussians` is the WGAN-GP toy's variant.)
#include <cmath>

#include "kant/plugin.hpp"
#include "toy.hpp"

namespace {
using namespace kant;

struct RingOptions {
  int64_t modes;
  double radius, std;
  toys::FixedSample fixed;
  static void declare(Declare<RingOptions>& d) {
    d(&RingOptions::modes, param::integer("modes", 8, "number of Gaussians").at_least(1));
    d(&RingOptions::radius,
      param::real("radius", 1.0, "radius of the circle of centres").at_least(0, true));
    d(&RingOptions::std,
      param::real("std", 0.01, "standard deviation of each Gaussian").at_least(0));
    toys::declare_fixed_sample(d, &RingOptions::fixed, 0);
  }
};

std::unique_ptr<Dataset> make_ring(const RingOptions& o, uint64_t seed) {
  std::vector<std::vector<double>> centers;
  for (int64_t i = 0; i < o.modes; ++i) {
    const double a = 2 * M_PI * static_cast<double>(i) / static_cast<double>(o.modes);
    centers.push_back({o.radius * std::cos(a), o.radius * std::sin(a)});
  }
  return std::make_unique<toys::GaussianMixture>(centers, o.std, 1.0, o.fixed, seed);
}

}  // namespace

KANT_COMPONENT_FN(make_ring, "ring", "1.0.0",
                  "K Gaussians evenly spaced on a circle (VEEGAN/PacGAN: 8, radius 1, std 0.01)")
