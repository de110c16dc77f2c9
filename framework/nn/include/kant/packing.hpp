// Packing (PacGAN, Lin et al. 2018): the critic judges m samples at once, which penalises a
// generator whose samples lack diversity. Works with any critic architecture.
#pragma once
#include <memory>

#include "kant/module.hpp"

namespace kant {

/// Per-sample shape of a pack of m samples: {m·d} for vectors, {m·C, H, W} for images
/// (concatenated along the first axis).
Shape packed_shape(const Shape& sample_shape, int64_t m);

/// A critic on packs: forward([N, …]) runs the inner critic, built for packed_shape(…, m), on
/// [N/m, m·…] — consecutive samples concatenated, which for row-major data is a reshape — and
/// returns [N/m, 1]. It shares the inner critic's parameters and buffers under the same
/// names, so Lipschitz methods, optimizers and checkpoints see the inner network.
class PackedCritic : public Network {
 public:
  PackedCritic(std::shared_ptr<Network> inner, int64_t m);
  Tensor forward(const Tensor& x) override;
  bool batch_independent() const override { return false; }  // packs must stay whole
  int64_t pack() const override { return m_; }
  void set_parameter_transform(ParameterTransform t) override;
  void set_training(bool on) override;
  void set_recording(bool on) override { inner_->set_recording(on); }
  std::vector<NamedTensor> recorded() const override { return inner_->recorded(); }
  std::optional<double> lipschitz_upper_bound(const OperatorNorm& norm) override;

 private:
  std::shared_ptr<Network> inner_;
  int64_t m_;
};

}  // namespace kant
