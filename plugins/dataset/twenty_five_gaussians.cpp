// Dataset `twenty_five_gaussians`: a 5×5 grid of Gaussians, as in the WGAN-GP toy code
// (Gulrajani et al. 2017, gan_toy.py: centres (2i, 2j) for i, j ∈ {−2..2}, std 0.05,
// a fixed shuffled sample of 100,000 points, every point divided by 2.828).
#include "kant/plugin.hpp"
#include "toy.hpp"

KANT_PLUGIN("twenty_five_gaussians", "1.0.0") {
  using namespace kant;
  registrar.add(
      {"twenty_five_gaussians",
       "1.0.0",
       "5×5 grid of Gaussians (WGAN-GP toy: spacing 2, std 0.05, fixed 100k sample, ÷2.828)",
       {param::real("spacing", 2.0, "distance between neighbouring centres, before normalisation")
            .at_least(0, true),
        param::real("std", 0.05, "standard deviation of each Gaussian, before normalisation")
            .at_least(0),
        param::real("normalize", 2.828, "every point is divided by this").at_least(0, true),
        toys::fixed_size_param(100000), toys::resample_param()},
       DatasetFactory([](const Params& p, uint64_t seed) {
         std::vector<std::vector<double>> centers;
         const double d = p.real("spacing");
         for (int i = -2; i <= 2; ++i)
           for (int j = -2; j <= 2; ++j) centers.push_back({d * i, d * j});
         return std::make_unique<toys::GaussianMixture>(centers, p.real("std"), p.real("normalize"),
                                                        toys::fixed_sample(p), seed);
       })});
}
