// A label classifier for labelled image data (digits, idx with labels), for metrics that judge
// generated images by class: a small MLP trained once on 80 % of the data set (fixed seed,
// Adam, cross-entropy) and cached on disk under a hash of the data, labels and settings, so
// that every cell and every run scores with the same classifier.
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

/// The classifier for `set` with these settings: from the cache in `cache_dir` (empty:
/// $KANT_CACHE_DIR, else $XDG_CACHE_HOME/kantorovich, else ~/.cache/kantorovich) when it holds
/// one, else trained (hidden widths, epochs) and cached.
std::unique_ptr<LabelClassifier> cached_classifier(const LabelledSet& set,
                                                   const std::vector<int64_t>& hidden,
                                                   int64_t epochs, const std::string& cache_dir);

/// Mean cross-entropy −(1/N) Σ log softmax(z_i)[y_i] of logits [N, K] against one-hot rows;
/// the row maximum is subtracted as a constant (log-sum-exp is shift-invariant, so gradients
/// are unchanged).
Tensor cross_entropy(const Tensor& logits, const Tensor& one_hot);
/// The same against class indices.
Tensor cross_entropy(const Tensor& logits, const std::vector<int64_t>& labels);

}  // namespace kant
