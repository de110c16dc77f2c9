// Dataset `ring`: K Gaussians evenly spaced on a circle, centre k at radius·(cos 2πk/K,
// sin 2πk/K). Defaults are the VEEGAN / PacGAN ring (Srivastava et al. 2017; Lin et al. 2018):
// 8 modes, radius 1, std 0.01. (`eight_gaussians` is the WGAN-GP toy's variant.)
#include <cmath>

#include "kant/plugin.hpp"
#include "toy.hpp"

KANT_PLUGIN("ring", "1.0.0") {
  using namespace kant;
  registrar.add(
      {"ring",
       "1.0.0",
       "K Gaussians evenly spaced on a circle (VEEGAN/PacGAN: 8, radius 1, std 0.01)",
       {param::integer("modes", 8, "number of Gaussians").at_least(1),
        param::real("radius", 1.0, "radius of the circle of centres").at_least(0, true),
        param::real("std", 0.01, "standard deviation of each Gaussian").at_least(0),
        toys::fixed_size_param(0), toys::resample_param()},
       DatasetFactory([](const Params& p, uint64_t seed) {
         std::vector<std::vector<double>> centers;
         const int64_t k = p.integer("modes");
         for (int64_t i = 0; i < k; ++i) {
           const double a = 2 * M_PI * static_cast<double>(i) / static_cast<double>(k);
           centers.push_back({p.real("radius") * std::cos(a), p.real("radius") * std::sin(a)});
         }
         return std::make_unique<toys::GaussianMixture>(centers, p.real("std"), 1.0,
                                                        toys::fixed_sample(p), seed);
       })});
}
