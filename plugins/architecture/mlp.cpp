// Architecture `mlp`: fully connected network (flattened input → hidden widths → output).
//
// Layer i computes h_{i+1} = act(h_i W_iᵀ + b_i); the last layer uses the output activation.
// Parameters are named layers.<i>.weight [out, in] and layers.<i>.bias [out].
#include <cmath>

#include <fmt/format.h>

#include "kant/error.hpp"
#include "kant/ops.hpp"
#include "kant/plugin.hpp"

namespace {
using namespace kant;

class Mlp : public Network {
 public:
  Mlp(const Params& p, const NetworkSpec& spec)
      : activation_(p.string("activation")),
        output_activation_(p.string("output_activation")),
        slope_(static_cast<float>(p.real("negative_slope"))),
        output_shape_(spec.output_shape) {
    std::vector<int64_t> widths{shape_numel(spec.input_shape)};
    for (int64_t h : p.integers("hidden")) widths.push_back(h);
    widths.push_back(shape_numel(spec.output_shape));
    const std::string& init = p.string("init");
    for (size_t i = 0; i + 1 < widths.size(); ++i) {
      const int64_t in = widths[i], out = widths[i + 1];
      Tensor w, b;
      if (init == "uniform_fan_in") {  // PyTorch's nn.Linear default: U(±1/√fan_in)
        const float bound = 1.0f / std::sqrt(static_cast<float>(in));
        w = spec.init_rng->uniform_tensor({out, in}, -bound, bound);
        b = spec.init_rng->uniform_tensor({out}, -bound, bound);
      } else if (init == "he_normal") {  // He et al. 2015: N(0, 2/fan_in), zero bias
        w = spec.init_rng->normal_tensor({out, in}, 0.0f, std::sqrt(2.0f / static_cast<float>(in)));
        b = Tensor::zeros({out});
      } else {  // xavier_uniform, Glorot & Bengio 2010: U(±√(6/(fan_in+fan_out))), zero bias
        const float bound = std::sqrt(6.0f / static_cast<float>(in + out));
        w = spec.init_rng->uniform_tensor({out, in}, -bound, bound);
        b = Tensor::zeros({out});
      }
      layers_.push_back({register_parameter(fmt::format("layers.{}.weight", i), w),
                         register_parameter(fmt::format("layers.{}.bias", i), b)});
    }
  }

  bool batch_independent() const override { return true; }

  Tensor forward(const Tensor& x) override {
    const int64_t n = x.size(0);
    Tensor h = reshape(x, {n, -1});
    for (size_t i = 0; i < layers_.size(); ++i) {
      h = linear(h, use(layers_[i].weight), use(layers_[i].bias));
      h = activate(h, i + 1 < layers_.size() ? activation_ : output_activation_);
    }
    Shape out{n};
    out.insert(out.end(), output_shape_.begin(), output_shape_.end());
    return reshape(h, out);
  }

 private:
  struct Layer {
    size_t weight, bias;  // parameter indices, read through use()
  };

  Tensor activate(const Tensor& h, const std::string& f) const {
    if (f == "relu") return relu(h);
    if (f == "leaky_relu") return leaky_relu(h, slope_);
    if (f == "tanh") return kant::tanh(h);
    if (f == "sigmoid") return sigmoid(h);
    if (f == "softplus") return softplus(h);
    return h;  // "none"
  }

  std::string activation_, output_activation_;
  float slope_;
  Shape output_shape_;
  std::vector<Layer> layers_;
};

}  // namespace

KANT_PLUGIN("mlp", "1.0.0") {
  registrar.add({"mlp", "1.0.0",
                 "fully connected network: flattened input → hidden layers → output",
                 {param::integers("hidden", {512, 512, 512}, "widths of the hidden layers")
                      .at_least(1),
                  param::choice("activation", "relu",
                                {"relu", "leaky_relu", "tanh", "sigmoid", "softplus"},
                                "activation after each hidden layer"),
                  param::real("negative_slope", 0.2, "slope for x < 0 of leaky_relu").at_least(0),
                  param::choice("output_activation", "none",
                                {"none", "tanh", "sigmoid", "relu", "leaky_relu", "softplus"},
                                "activation of the output layer"),
                  param::choice("init", "uniform_fan_in",
                                {"uniform_fan_in", "he_normal", "xavier_uniform"},
                                "weight initialisation: PyTorch's default U(±1/√fan_in), He "
                                "normal, or Xavier uniform (the last two with zero bias)")},
                 ArchitectureFactory([](const Params& p, const NetworkSpec& spec) {
                   return std::make_unique<Mlp>(p, spec);
                 })});
}
