// Architectures of the Dirac-GAN (Mescheder, Geiger & Nowozin 2018, Section 2.2):
//   `dirac`          generator δ_θ: every output is θ (one parameter per data dimension), z ignored
//   `linear_critic`  critic D(x) = ψ·x, no bias
#include "kant/ops.hpp"
#include "kant/plugin.hpp"

namespace {
using namespace kant;

class DiracGenerator : public Network {
 public:
  struct Options {
    float init;
    static void declare(Declare<Options>& d) {
      d(&Options::init, param::real("init", 1.0, "initial θ (every coordinate)"));
    }
  };
  DiracGenerator(const Options& o, const NetworkSpec& spec) : shape_(spec.output_shape) {
    theta_ = register_parameter("theta", Tensor::full({shape_numel(shape_)}, o.init));
  }
  Tensor forward(const Tensor& z) override {
    Shape out{z.size(0)};
    out.insert(out.end(), shape_.begin(), shape_.end());
    Shape one{1};
    one.insert(one.end(), shape_.begin(), shape_.end());
    return broadcast_to(reshape(use(theta_), one), out);
  }

 private:
  Shape shape_;
  size_t theta_;
};

class LinearCritic : public Network {
 public:
  struct Options {
    float init;
    static void declare(Declare<Options>& d) {
      d(&Options::init, param::real("init", 1.0, "initial ψ (every coordinate)"));
    }
  };
  LinearCritic(const Options& o, const NetworkSpec& spec) {
    psi_ = register_parameter(
        "psi",
        Tensor::full({shape_numel(spec.output_shape), shape_numel(spec.input_shape)}, o.init));
  }
  Tensor forward(const Tensor& x) override {
    return linear(reshape(x, {x.size(0), -1}), use(psi_), Tensor());
  }

 private:
  size_t psi_;
};

}  // namespace

KANT_PLUGIN("dirac", "1.0.0") {
  registrar.add(kant::component<DiracGenerator>(
      "dirac", "1.0.0",
      "Dirac generator δ_θ: outputs θ for every z (Dirac-GAN, Mescheder et al. 2018)"));
  registrar.add(kant::component<LinearCritic>(
      "linear_critic", "1.0.0",
      "linear critic D(x) = ψ·x without bias (Dirac-GAN, Mescheder et al. 2018)"));
}
