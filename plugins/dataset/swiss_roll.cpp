// Dataset `swiss_roll`: scikit-learn's make_swiss_roll(noise) projected on (x, z) and divided
// by 7.5, as in the WGAN-GP toy code (Gulrajani et al. 2017, gan_toy.py).
//   t = 1.5π(1 + 2u), u ~ U[0, 1);  (x, z) = (t cos t, t sin t) + noise·N(0, I)
#include <cmath>

#include "kant/plugin.hpp"
#include "toy.hpp"

namespace {
using namespace kant;

class SwissRoll : public toys::Toy {
 public:
  struct Options {
    double noise, normalize;
    toys::FixedSample fixed;
    static void declare(Declare<Options>& d) {
      d(&Options::noise,
        param::real("noise", 0.25, "std of the Gaussian noise added to each coordinate")
            .at_least(0));
      d(&Options::normalize,
        param::real("normalize", 7.5, "every point is divided by this").at_least(0, true));
      toys::declare_fixed_sample(d, &Options::fixed, 0);
    }
  };
  SwissRoll(const Options& o, uint64_t seed)
      : Toy(o.fixed, seed), noise_(o.noise), divisor_(o.normalize) {}
  Shape sample_shape() const override { return {2}; }

 protected:
  Tensor draw(int64_t n, Rng& rng) const override {
    Tensor out = Tensor::empty({n, 2});
    float* p = out.data();
    for (int64_t i = 0; i < n; ++i) {
      const double t = 1.5 * M_PI * (1.0 + 2.0 * rng.uniform());
      p[2 * i] = static_cast<float>((t * std::cos(t) + noise_ * rng.normal()) / divisor_);
      p[2 * i + 1] = static_cast<float>((t * std::sin(t) + noise_ * rng.normal()) / divisor_);
    }
    return out;
  }

 private:
  double noise_, divisor_;
};

}  // namespace

KANT_COMPONENT(SwissRoll, "swiss_roll", "1.0.0",
               "2-D swiss roll: sklearn make_swiss_roll on (x, z), ÷7.5 (WGAN-GP toy)")
