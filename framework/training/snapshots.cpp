// Samples during training (see snapshots.hpp).
#include "training/snapshots.hpp"

#include <algorithm>
#include <memory>
#include <optional>

#include "kant/autodiff.hpp"
#include "kant/layers.hpp"

namespace kant {
namespace {

// The grid spans the data's bounding box, from this many samples of a copy of the data set,
// widened by this fraction of its size on each side (as the critic_surface metric's defaults).
constexpr int64_t kExtentSamples = 2000;
constexpr double kExtentMargin = 0.25;

// A network's buffers (batch norm's running statistics), copied out and back: a forward pass
// in training mode updates them in place.
class BufferGuard {
 public:
  explicit BufferGuard(const Network* net) : net_(net) {
    if (net_)
      for (const auto& [name, t] : net_->named_buffers()) saved_.push_back(t.to_vector());
  }
  ~BufferGuard() {
    if (!net_) return;
    const auto& buffers = net_->named_buffers();
    for (size_t i = 0; i < buffers.size(); ++i) {
      Tensor t = buffers[i].second;
      std::copy(saved_[i].begin(), saved_[i].end(), t.data());
    }
  }
  BufferGuard(const BufferGuard&) = delete;
  BufferGuard& operator=(const BufferGuard&) = delete;

 private:
  const Network* net_;
  std::vector<std::vector<float>> saved_;
};

// The Lipschitz method's state (deep copies), restored when the guard goes.
class LipschitzGuard {
 public:
  explicit LipschitzGuard(LipschitzMethod& m) : method_(m), saved_(m.state()) {
    for (auto& [name, t] : saved_.tensors) t = t.clone();
  }
  ~LipschitzGuard() { method_.load_state(saved_); }
  LipschitzGuard(const LipschitzGuard&) = delete;
  LipschitzGuard& operator=(const LipschitzGuard&) = delete;

 private:
  LipschitzMethod& method_;
  ComponentState saved_;
};

}  // namespace

SnapshotTaker::SnapshotTaker(Session& s, const Registry& registry)
    : session_(s), fixed_stream_(s.snapshot_rng.state()) {
  inputs_ = s.generator_input(s.snapshot_rng, s.train.sample_size);
  if (const int64_t k = s.sampler().label_classes(); k > 0)  // fixed labels too, after the inputs
    labels_ = one_hot(s.generated_labels(s.snapshot_rng, s.train.sample_size), k);
  // a critic surface needs a critic that scores a point without its label
  if (s.dataset->sample_shape() != Shape{2} || !s.scoring_critic ||
      s.scoring_critic->label_classes() > 0)
    return;
  auto copy = registry.create<Dataset, DatasetFactory>(*s.config.dataset.component,
                                                       s.config.dataset.params, s.config.seed);
  Tensor x = copy->sample(kExtentSamples, s.snapshot_rng);
  double b[4] = {1e300, -1e300, 1e300, -1e300};
  for (int64_t i = 0; i < x.size(0); ++i)
    for (int k : {0, 1}) {
      b[2 * k] = std::min<double>(b[2 * k], x.data()[2 * i + k]);
      b[2 * k + 1] = std::max<double>(b[2 * k + 1], x.data()[2 * i + k]);
    }
  const int64_t g = s.train.surface_resolution, m = s.scoring_critic->pack();
  grid_x_ = Tensor::empty({g});
  grid_y_ = Tensor::empty({g});
  for (int k : {0, 1}) {
    const double pad = std::max(1e-3, (b[2 * k + 1] - b[2 * k]) * kExtentMargin);
    Tensor& axis = k == 0 ? grid_x_ : grid_y_;
    for (int64_t j = 0; j < g; ++j) {
      const double t = static_cast<double>(j) / static_cast<double>(g - 1);
      axis.data()[j] = static_cast<float>(b[2 * k] - pad + t * (b[2 * k + 1] - b[2 * k] + 2 * pad));
    }
  }
  points_ = Tensor::empty({g * g * m, 2});
  for (int64_t i = 0; i < g; ++i)
    for (int64_t j = 0; j < g; ++j)
      for (int64_t k = 0; k < m; ++k) {
        points_.data()[2 * ((i * g + j) * m + k)] = grid_x_.data()[j];
        points_.data()[2 * ((i * g + j) * m + k) + 1] = grid_y_.data()[i];
      }
}

Tensor SnapshotTaker::surface() {
  Network& critic = *session_.scoring_critic;
  BufferGuard buffers(&critic);
  LipschitzGuard lipschitz(*session_.lipschitz);
  const int64_t g = grid_x_.size(0);
  return Tensor::from({g, g}, critic.forward(points_).to_vector());
}

void SnapshotTaker::take(int64_t step, Snapshots& out) {
  if (!out.step.empty() && out.step.back() >= step) return;
  NoGradGuard no_grad;
  Network& sampler = session_.sampler();
  // a procedure that samples through several networks (LAPGAN's pyramid): the same draws of a
  // fixed copy of the stream at every snapshot, every network's buffers kept as they were
  Rng fixed(0);
  fixed.set_state(fixed_stream_);
  std::vector<std::unique_ptr<BufferGuard>> kept;
  for (const auto& [name, net] : session_.networks)
    kept.push_back(std::make_unique<BufferGuard>(net.get()));
  if (std::optional<Batch> own = session_.procedure->sample_batch(
          *session_.context, fixed, session_.train.sample_size, std::nullopt)) {
    out.generated.push_back(Tensor::from(own->x.shape(), own->x.to_vector()));
  } else {
    kept.clear();
    BufferGuard buffers(&sampler);
    Tensor x = labels_.defined() ? sampler.forward_conditional(inputs_, labels_)
                                 : sampler.forward(inputs_);
    out.generated.push_back(Tensor::from(x.shape(), x.to_vector()));
  }
  if (grid_x_.defined()) {
    out.surface.push_back(surface());
    out.surface_x = grid_x_;
    out.surface_y = grid_y_;
  }
  out.step.push_back(step);
}

}  // namespace kant
