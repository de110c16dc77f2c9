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
  SwissRoll(double noise, double divisor, toys::FixedSample fixed_size, uint64_t seed)
      : Toy(fixed_size, seed), noise_(noise), divisor_(divisor) {}
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

KANT_PLUGIN("swiss_roll", "1.0.0") {
  registrar.add({"swiss_roll",
                 "1.0.0",
                 "2-D swiss roll: sklearn make_swiss_roll on (x, z), ÷7.5 (WGAN-GP toy)",
                 {param::real("noise", 0.25, "std of the Gaussian noise added to each coordinate")
                      .at_least(0),
                  param::real("normalize", 7.5, "every point is divided by this").at_least(0, true),
                  toys::fixed_size_param(0), toys::resample_param()},
                 DatasetFactory([](const Params& p, uint64_t seed) {
                   return std::make_unique<SwissRoll>(p.real("noise"), p.real("normalize"),
                                                      toys::fixed_sample(p), seed);
                 })});
}
