// PacGAN packing of any critic: a reshape in front of the inner network.
#include "kant/packing.hpp"

#include <fmt/format.h>

#include "kant/error.hpp"
#include "kant/ops.hpp"

namespace kant {

Shape packed_shape(const Shape& sample_shape, int64_t m) {
  Shape s = sample_shape;
  s[0] *= m;
  return s;
}

PackedCritic::PackedCritic(std::shared_ptr<Network> inner, int64_t m)
    : inner_(std::move(inner)), m_(m) {
  for (const auto& [name, t] : inner_->named_parameters()) register_parameter(name, t);
  for (const auto& [name, t] : inner_->named_buffers()) register_buffer(name, t);
}

Tensor PackedCritic::forward(const Tensor& x) {
  const int64_t n = x.size(0);
  if (n % m_ != 0)
    throw Error(fmt::format(
        "a critic packing {} samples needs batches that are multiples of {}; got {}", m_, m_, n));
  Shape shape = x.shape();
  shape.erase(shape.begin());
  shape = packed_shape(shape, m_);
  shape.insert(shape.begin(), n / m_);
  return inner_->forward(reshape(x, shape));
}

// The inner network reads the weights; the wrapper never calls use().
void PackedCritic::set_parameter_transform(ParameterTransform t) {
  inner_->set_parameter_transform(std::move(t));
}

void PackedCritic::set_training(bool on) {
  inner_->set_training(on);
  Network::set_training(on);
}

// D(x₁…x_m) = D_inner([x₁; …; x_m]) and the concatenation is an isometry.
std::optional<double> PackedCritic::lipschitz_upper_bound(const OperatorNorm& norm) {
  return inner_->lipschitz_upper_bound(norm);
}

}  // namespace kant
