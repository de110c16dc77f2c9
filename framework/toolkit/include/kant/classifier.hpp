// Label classifiers for labelled image data (digits, idx with labels, fashion_mnist), for metrics
// that judge generated images by class and by features: a small MLP (classifier_scores) or a small
// convolutional network (sample_quality), each trained once on the data set (fixed seed, Adam,
// cross-entropy; scored on the data set's own held-out split, else on every fifth row, which is
// then left out of training) and cached on disk under a hash of the data, labels and settings,
// so that every cell and every run scores with the same network.
#pragma once
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "kant/components.hpp"
#include "kant/fit.hpp"

namespace kant {

class LabelClassifier : public fit::Mlp {
 public:
  LabelClassifier(int64_t in, const std::vector<int64_t>& hidden, int64_t classes, Rng& rng);
  /// Accuracy on the held-out fifth of the data set (stored with the classifier).
  double accuracy() const { return accuracy_.data()[0]; }
  void set_accuracy(double a) { accuracy_.data()[0] = static_cast<float>(a); }
  int64_t classes() const { return classes_; }
  /// Most probable class of each row.
  std::vector<int64_t> predict(const Tensor& x);

 private:
  Tensor accuracy_;
  int64_t classes_;
};

/// The `cache_dir` option of every metric that scores with a cached network (`what`: "feature
/// networks" or "classifiers"), with the default order of cache_dir below.
ParamSpec cache_dir_param(const std::string& what);

/// The classifier for `set` with these settings: from the cache in `cache_dir` (empty:
/// $KANT_CACHE_DIR, else $XDG_CACHE_HOME/kantorovich, else ~/.cache/kantorovich) when it holds
/// one, else trained (hidden widths, epochs) and cached.
std::unique_ptr<LabelClassifier> cached_classifier(const LabelledSet& set,
                                                   const std::vector<int64_t>& hidden,
                                                   int64_t epochs, const std::string& cache_dir);

/// The convolutional classifier's settings (part of its cache key).
struct ConvClassifierSettings {
  std::vector<int64_t> channels{32, 64, 128};  ///< 3×3 stride-2 convolutions, each with ReLU
  int64_t features = 128;                      ///< width of the hidden linear layer (features)
  int64_t epochs = 5;
  int64_t batch = 64;
  double lr = 1e-3;  ///< Adam's step size
};

/// x [N, C, H, W] → (conv 3×3, stride 2, pad 1 → ReLU) per entry of `channels` → flatten →
/// linear to `features` → ReLU (the features) → linear to the classes (the logits).
class ConvClassifier : public Network {
 public:
  ConvClassifier(const Shape& image_shape, const ConvClassifierSettings& s, int64_t classes,
                 Rng& rng);
  /// The hidden layer before the logits, [N, features].
  Tensor features(const Tensor& x) const;
  /// The logits of features() rows, [N, classes].
  Tensor head(const Tensor& features) const { return head_(features); }
  Tensor forward(const Tensor& x) override { return head(features(x)); }
  bool batch_independent() const override { return true; }
  /// Accuracy on the held-out images (stored with the network).
  double accuracy() const { return accuracy_.data()[0]; }
  void set_accuracy(double a) { accuracy_.data()[0] = static_cast<float>(a); }
  int64_t classes() const { return classes_; }
  /// Most probable class of each row.
  std::vector<int64_t> predict(const Tensor& x);

 private:
  std::vector<Conv2d> convs_;
  Linear hidden_, head_;
  Tensor accuracy_;
  int64_t classes_;
};

/// The convolutional classifier for `set` (images [n, C, H, W]) with these settings, from the
/// cache (as cached_classifier) or trained and cached. Processes that ask for the same network
/// at once train it once: the others wait on a lock beside the cache file.
std::unique_ptr<ConvClassifier> cached_conv_classifier(const LabelledSet& set,
                                                       const ConvClassifierSettings& settings,
                                                       const std::string& cache_dir);

/// The rows a classifier of `set` is scored on: the data set's held-out split when it has one,
/// else every fifth row of `data` (rows 4, 9, 14, …), which training then leaves out. Also the
/// "unseen" images of a memorisation check.
LabelledSet held_out_part(const LabelledSet& set);
/// The rows a classifier of `set` trains on: all of `data` when it has a held-out split, else
/// the rows held_out_part() leaves.
LabelledSet training_part(const LabelledSet& set);

/// Mean cross-entropy −(1/N) Σ log softmax(z_i)[y_i] of logits [N, K] against one-hot rows;
/// the row maximum is subtracted as a constant (log-sum-exp is shift-invariant, so gradients
/// are unchanged).
Tensor cross_entropy(const Tensor& logits, const Tensor& one_hot);
/// The same against class indices.
Tensor cross_entropy(const Tensor& logits, const std::vector<int64_t>& labels);

}  // namespace kant
