// Several Lipschitz methods as one (`lipschitz: [a, b]`): weight transforms compose in list
// order, penalties add, step hooks run in order, and the tightest bound wins.
#pragma once
#include <memory>
#include <vector>

#include "kant/components.hpp"

namespace kant {

class CombinedLipschitz : public LipschitzMethod {
 public:
  explicit CombinedLipschitz(std::vector<std::shared_ptr<LipschitzMethod>> methods)
      : methods_(std::move(methods)) {}
  bool transforms_weights() const override;
  Tensor transform_weight(const std::string& name, const Tensor& value) override;
  Tensor penalty(const CriticBatch& b) override;
  void before_critic_step(Network& critic) override;
  void after_critic_step(Network& critic) override;
  std::optional<double> lipschitz_bound(const Network& critic) override;
  /// Each method's state under "<index>." prefixed names.
  ComponentState state() const override;
  void load_state(const ComponentState& state) override;

 private:
  std::vector<std::shared_ptr<LipschitzMethod>> methods_;
};

}  // namespace kant
