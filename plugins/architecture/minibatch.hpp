// Minibatch discrimination (Salimans et al. 2016, §3.2), shared by the mlp and dcgan critics: a
// layer that lets the critic compare each sample with the rest of its batch. For the critic's
// features f(x_i) ∈ R^A and a learned tensor T ∈ R^{A×B×C} (minibatch.T, [A, B·C]):
//   M_i = f(x_i)·T ∈ R^{B×C},   c_b(x_i, x_j) = exp(−‖M_{i,b} − M_{j,b}‖₁),
//   o(x_i)_b = Σ_j c_b(x_i, x_j)   (j over the whole batch, i itself included),
// and the critic's last layer reads [f(x_i), o(x_i)] ∈ R^{A+B}. Its output for a sample depends
// on the batch it is judged in (Network::batch_independent() is false).
#pragma once
#include "kant/layers.hpp"
#include "kant/module.hpp"
#include "kant/ops.hpp"
#include "kant/options.hpp"

namespace kant::minibatch {

/// The options the mlp and dcgan critics declare.
struct Options {
  int64_t kernels, kernel_dim;
  static void declare(Declare<Options>& d) {
    d(&Options::kernels,
      param::integer("minibatch_kernels", 0,
                     "critic: minibatch discrimination (Salimans et al. 2016, §3.2) with B "
                     "kernels: o(x_i)_b = Σ_j exp(−‖M_{i,b} − M_{j,b}‖₁), M_i = f(x_i)·T, T "
                     "[A, B, C] learned, appended to the features f(x) the last layer reads (0: "
                     "none)")
          .at_least(0)
          .added_later());
    d(&Options::kernel_dim,
      param::integer("minibatch_kernel_dim", 5, "C, the dimension of each kernel's rows of T")
          .at_least(1)
          .added_later()
          .only_beside("minibatch_kernels"));
  }
  bool on() const { return kernels > 0; }
};

/// The layer on features [N, A]: [f, o] [N, A + B]; f itself when off.
class Layer {
 public:
  Layer() = default;
  Layer(Module& owner, const Options& o, int64_t features, const Init& init, Rng& rng)
      : owner_(&owner), kernels_(o.kernels), dim_(o.kernel_dim) {
    t_ =
        owner.register_parameter("minibatch.T", initialise({features, kernels_ * dim_}, init, rng));
  }
  /// Width it appends (B, or 0 when off).
  int64_t width() const { return owner_ ? kernels_ : 0; }
  Tensor operator()(const Tensor& f) const {
    if (!owner_) return f;
    const int64_t n = f.size(0);
    const Tensor m = reshape(matmul(f, owner_->use(t_)), {n, kernels_, dim_});
    const Tensor l1 =
        sum(abs(sub(reshape(m, {n, 1, kernels_, dim_}), reshape(m, {1, n, kernels_, dim_}))), {3});
    return concat({f, sum(exp(neg(l1)), {1})}, 1);
  }

 private:
  const Module* owner_ = nullptr;
  int64_t kernels_ = 0, dim_ = 0;
  size_t t_ = 0;
};

}  // namespace kant::minibatch
