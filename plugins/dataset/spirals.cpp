// Dataset `spirals`: interleaved Archimedean spiral arms. For arm k of K, u ~ U[0, 1):
//   θ = 2π(turns·u + k/K),  x = radius·u·(cos θ, sin θ) + noise·N(0, I)
// Points spread uniformly along u, so the density is highest near the centre.
#include <cmath>

#include "kant/plugin.hpp"
#include "toy.hpp"

namespace {
using namespace kant;

class Spirals : public toys::Toy {
 public:
  struct Options {
    int64_t arms;
    double turns, radius, noise;
    toys::FixedSample fixed;
    static void declare(Declare<Options>& d) {
      d(&Options::arms, param::integer("arms", 2, "number of spiral arms").at_least(1));
      d(&Options::turns,
        param::real("turns", 1.5, "turns of each arm from centre to rim").at_least(0, true));
      d(&Options::radius,
        param::real("radius", 1.0, "radius at the end of each arm").at_least(0, true));
      d(&Options::noise,
        param::real("noise", 0.02, "std of the Gaussian noise on each coordinate").at_least(0));
      toys::declare_fixed_sample(d, &Options::fixed, 0);
    }
  };
  Spirals(const Options& o, uint64_t seed)
      : Toy(o.fixed, seed), arms_(o.arms), turns_(o.turns), radius_(o.radius), noise_(o.noise) {}
  Shape sample_shape() const override { return {2}; }

 protected:
  Tensor draw(int64_t n, Rng& rng) const override {
    Tensor out = Tensor::empty({n, 2});
    float* p = out.data();
    for (int64_t i = 0; i < n; ++i) {
      const double u = rng.uniform();
      const double k = static_cast<double>(rng.below(static_cast<uint64_t>(arms_)));
      const double a = 2 * M_PI * (turns_ * u + k / static_cast<double>(arms_));
      p[2 * i] = static_cast<float>(radius_ * u * std::cos(a) + noise_ * rng.normal());
      p[2 * i + 1] = static_cast<float>(radius_ * u * std::sin(a) + noise_ * rng.normal());
    }
    return out;
  }

 private:
  int64_t arms_;
  double turns_, radius_, noise_;
};

}  // namespace

KANT_COMPONENT(Spirals, "spirals", "1.0.0", "interleaved 2-D spiral arms with Gaussian noise")
