// Dataset `grid`: a side×side grid of Gaussians centred on the origin, neighbours `spacing`
// apart. Defaults are the PacGAN / VEEGAN grid (Lin et al. 2018; Srivastava et al. 2017):
// 25 modes at (2i, 2j), i, j ∈ {−2, …, 2}, std 0.05. (`twenty_five_gaussians` is the WGAN-GP
// toy's variant, with its fixed sample and ÷2.828 normalisation.)
#include "kant/plugin.hpp"
#include "toy.hpp"

namespace {
using namespace kant;

struct GridOptions {
  int64_t side;
  double spacing, std;
  toys::FixedSample fixed;
  static void declare(Declare<GridOptions>& d) {
    d(&GridOptions::side, param::integer("side", 5, "Gaussians per row and column").at_least(1));
    d(&GridOptions::spacing,
      param::real("spacing", 2.0, "distance between neighbouring centres").at_least(0, true));
    d(&GridOptions::std,
      param::real("std", 0.05, "standard deviation of each Gaussian").at_least(0));
    toys::declare_fixed_sample(d, &GridOptions::fixed, 0);
  }
};

std::unique_ptr<Dataset> make_grid(const GridOptions& o, uint64_t seed) {
  std::vector<std::vector<double>> centers;
  const int64_t side = o.side;
  const double d = o.spacing, offset = 0.5 * static_cast<double>(side - 1);
  for (int64_t i = 0; i < side; ++i)
    for (int64_t j = 0; j < side; ++j)
      centers.push_back(
          {d * (static_cast<double>(i) - offset), d * (static_cast<double>(j) - offset)});
  return std::make_unique<toys::GaussianMixture>(centers, o.std, 1.0, o.fixed, seed);
}

}  // namespace

KANT_COMPONENT_FN(make_grid, "grid", "1.0.0",
                  "side×side grid of Gaussians (PacGAN/VEEGAN: 5×5, spacing 2, std 0.05)")
