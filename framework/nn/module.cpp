// Module: the ordered list of named parameters; what a Network without a condition refuses.
#include "kant/module.hpp"

#include "kant/error.hpp"

namespace kant {

std::vector<Tensor> Module::parameters() const {
  std::vector<Tensor> out;
  out.reserve(params_.size());
  for (const auto& [name, t] : params_) out.push_back(t);
  return out;
}

int64_t Module::parameter_count() const {
  int64_t n = 0;
  for (const auto& [name, t] : params_) n += t.numel();
  return n;
}

size_t Module::register_parameter(std::string name, Tensor value) {
  value.set_requires_grad(true);
  params_.emplace_back(std::move(name), value);
  return params_.size() - 1;
}

Tensor Module::register_buffer(std::string name, Tensor value) {
  buffers_.emplace_back(std::move(name), std::move(value));
  return buffers_.back().second;
}

Tensor Module::use(size_t index) const {
  const auto& [name, value] = params_.at(index);
  return transform_ ? transform_(name, value) : value;
}

Tensor Network::forward_conditional(const Tensor&, const Tensor&) {
  throw Error("this network takes no label (it is not conditional)");
}

std::pair<Tensor, Tensor> Network::forward_auxiliary(const Tensor&) {
  throw Error("this network has no auxiliary classifier head");
}

}  // namespace kant
