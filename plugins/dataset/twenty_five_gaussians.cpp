// Dataset `twenty_five_gaussians`: a 5×5 grid of Gaussians, as in the WGAN-GP toy code
// (Gulrajani et al. 2017, gan_toy.py: centres (2i, 2j) for i, j ∈ {−2..2}, std 0.05,
// a fixed shuffled sample of 100,000 points, every point divided by 2.828).
#include "kant/plugin.hpp"
#include "toy.hpp"

namespace {
using namespace kant;

struct TwentyFiveGaussiansOptions {
  double spacing, std, normalize;
  toys::FixedSample fixed;
  static void declare(Declare<TwentyFiveGaussiansOptions>& d) {
    d(&TwentyFiveGaussiansOptions::spacing,
      param::real("spacing", 2.0, "distance between neighbouring centres, before normalisation")
          .at_least(0, true));
    d(&TwentyFiveGaussiansOptions::std,
      param::real("std", 0.05, "standard deviation of each Gaussian, before normalisation")
          .at_least(0));
    d(&TwentyFiveGaussiansOptions::normalize,
      param::real("normalize", 2.828, "every point is divided by this").at_least(0, true));
    toys::declare_fixed_sample(d, &TwentyFiveGaussiansOptions::fixed, 100000);
  }
};

std::unique_ptr<Dataset> make_twenty_five_gaussians(const TwentyFiveGaussiansOptions& o,
                                                    uint64_t seed) {
  std::vector<std::vector<double>> centers;
  const double d = o.spacing;
  for (int i = -2; i <= 2; ++i)
    for (int j = -2; j <= 2; ++j) centers.push_back({d * i, d * j});
  return std::make_unique<toys::GaussianMixture>(centers, o.std, o.normalize, o.fixed, seed);
}

}  // namespace

KANT_COMPONENT_FN(make_twenty_five_gaussians, "twenty_five_gaussians", "1.0.0",
                  "5×5 grid of Gaussians (WGAN-GP toy: spacing 2, std 0.05, fixed 100k sample, "
                  "÷2.828)")
