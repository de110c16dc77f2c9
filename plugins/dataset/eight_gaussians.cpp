// Dataset `eight_gaussians`: 8 Gaussians on a circle, as in the WGAN-GP toy code
// (Gulrajani et al. 2017, gan_toy.py: radius 2, std 0.02, every point divided by 1.414).
#include <cmath>

#include "kant/plugin.hpp"
#include "toy.hpp"

namespace {
using namespace kant;

struct EightGaussiansOptions {
  double radius, std, normalize;
  toys::FixedSample fixed;
  static void declare(Declare<EightGaussiansOptions>& d) {
    d(&EightGaussiansOptions::radius,
      param::real("radius", 2.0, "radius of the circle of centres, before normalisation")
          .at_least(0, true));
    d(&EightGaussiansOptions::std,
      param::real("std", 0.02, "standard deviation of each Gaussian, before normalisation")
          .at_least(0));
    d(&EightGaussiansOptions::normalize,
      param::real("normalize", 1.414, "every point is divided by this").at_least(0, true));
    toys::declare_fixed_sample(d, &EightGaussiansOptions::fixed, 0);
  }
};

std::unique_ptr<Dataset> make_eight_gaussians(const EightGaussiansOptions& o, uint64_t seed) {
  std::vector<std::vector<double>> centers;
  const double r = o.radius, s = 1.0 / std::sqrt(2.0);
  // the order of gan_toy.py: axes first, then diagonals
  for (auto [x, y] : {std::pair{1.0, 0.0},
                      {-1.0, 0.0},
                      {0.0, 1.0},
                      {0.0, -1.0},
                      {s, s},
                      {s, -s},
                      {-s, s},
                      {-s, -s}})
    centers.push_back({r * x, r * y});
  return std::make_unique<toys::GaussianMixture>(centers, o.std, o.normalize, o.fixed, seed);
}

}  // namespace

KANT_COMPONENT_FN(
    make_eight_gaussians, "eight_gaussians", "1.0.0",
    "8 Gaussians at angles k·45° on a circle (WGAN-GP toy: radius 2, std 0.02, ÷1.414)")
