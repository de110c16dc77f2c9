// Dataset `eight_gaussians`: 8 Gaussians on a circle, as in the WGAN-GP toy code
// (Gulrajani et al. 2017, gan_toy.py: radius 2, std 0.02, every point divided by 1.414).
#include <cmath>

#include "kant/plugin.hpp"
#include "toy.hpp"

KANT_PLUGIN("eight_gaussians", "1.0.0") {
  using namespace kant;
  registrar.add(
      {"eight_gaussians",
       "1.0.0",
       "8 Gaussians at angles k·45° on a circle (WGAN-GP toy: radius 2, std 0.02, ÷1.414)",
       {param::real("radius", 2.0, "radius of the circle of centres, before normalisation")
            .at_least(0, true),
        param::real("std", 0.02, "standard deviation of each Gaussian, before normalisation")
            .at_least(0),
        param::real("normalize", 1.414, "every point is divided by this").at_least(0, true),
        toys::fixed_size_param(0), toys::resample_param()},
       DatasetFactory([](const Params& p, uint64_t seed) {
         std::vector<std::vector<double>> centers;
         const double r = p.real("radius"), s = 1.0 / std::sqrt(2.0);
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
         return std::make_unique<toys::GaussianMixture>(centers, p.real("std"), p.real("normalize"),
                                                        toys::fixed_sample(p), seed);
       })});
}
