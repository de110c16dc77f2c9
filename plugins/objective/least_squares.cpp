// Objective `least_squares` (LSGAN, Mao et al. 2017):
//   critic    L_D = ½E[(D(x) − b)²] + ½E[(D(G(z)) − a)²]
//   generator L_G = ½E[(D(G(z)) − c)²]
// a = 0, b = c = 1 by default (the paper's 0-1 coding); a = −1, b = 1, c = 0 minimises the
// Pearson χ² divergence of P + Q from 2Q (the paper's Section 3.2).
//   estimate  −L_D (higher when the critic separates better)
#include "kant/ops.hpp"
#include "kant/plugin.hpp"

namespace {
using namespace kant;

class LeastSquares : public Objective {
 public:
  struct Options {
    Real a, b, c;  // targets read at each loss: each may follow a schedule
    static void declare(Declare<Options>& d) {
      d(&Options::a, param::real("a", 0.0, "target of the critic for generated samples"));
      d(&Options::b, param::real("b", 1.0, "target of the critic for real samples"));
      d(&Options::c,
        param::real("c", 1.0, "target the generator wants the critic to give its samples"));
    }
  };
  explicit LeastSquares(const Options& o) : o_(o) {}
  Tensor critic_loss(const Tensor& d_real, const Tensor& d_fake) override {
    const auto a = static_cast<float>(o_.a()), b = static_cast<float>(o_.b());
    return add(mean(square(d_real - b)), mean(square(d_fake - a))) * 0.5f;
  }
  Tensor generator_loss(const Tensor&, const Tensor& d_fake) override {
    return mean(square(d_fake - static_cast<float>(o_.c()))) * 0.5f;
  }
  double divergence_estimate(const Tensor& d_real, const Tensor& d_fake) override {
    return -critic_loss(d_real, d_fake).item();
  }

 private:
  Options o_;
};

}  // namespace

KANT_COMPONENT(LeastSquares, "least_squares", "1.0.0",
               "LSGAN: L_D = ½E[(D(x)−b)²] + ½E[(D(G(z))−a)²], L_G = ½E[(D(G(z))−c)²] "
               "(Mao et al. 2017)")
