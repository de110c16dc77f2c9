// The cached label classifier of kant/classifier.hpp.
#include "kant/classifier.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cstdlib>

#include "kant/autodiff.hpp"
#include "kant/checkpoint.hpp"
#include "kant/error.hpp"
#include "kant/hash.hpp"

namespace kant {
namespace fs = std::filesystem;

namespace {

fs::path default_cache_dir() {
  if (const char* d = std::getenv("KANT_CACHE_DIR"); d && *d) return d;
  if (const char* d = std::getenv("XDG_CACHE_HOME"); d && *d) return fs::path(d) / "kantorovich";
  if (const char* d = std::getenv("HOME"); d && *d) return fs::path(d) / ".cache" / "kantorovich";
  return fs::temp_directory_path() / "kantorovich-cache";
}

// Every fifth row is held out to measure the accuracy.
bool held_out(int64_t i) { return i % 5 == 4; }

void train(LabelClassifier& classifier, const LabelledSet& set, int64_t epochs, Rng& rng) {
  const int64_t n = set.data.size(0), in = set.data.numel() / n, batch = 64;
  std::vector<int64_t> train_rows, test_rows;
  for (int64_t i = 0; i < n; ++i) (held_out(i) ? test_rows : train_rows).push_back(i);
  auto rows = [&](const std::vector<int64_t>& idx, size_t from, size_t count,
                  std::vector<int64_t>& labels) {
    Tensor x = Tensor::empty({static_cast<int64_t>(count), in});
    labels.clear();
    for (size_t r = 0; r < count; ++r) {
      const int64_t i = idx[from + r];
      std::copy_n(set.data.data() + i * in, in, x.data() + static_cast<int64_t>(r) * in);
      labels.push_back(set.labels[static_cast<size_t>(i)]);
    }
    return x;
  };
  const std::vector<Tensor> params = classifier.parameters();
  fit::Adam adam(params, 1e-3f);
  std::vector<int64_t> labels;
  for (int64_t epoch = 0; epoch < epochs; ++epoch) {
    for (size_t i = train_rows.size(); i > 1; --i)  // Fisher–Yates
      std::swap(train_rows[i - 1], train_rows[rng.below(i)]);
    for (size_t from = 0; from + batch <= train_rows.size(); from += batch) {
      Tensor x = rows(train_rows, from, batch, labels);
      adam.step(grad({cross_entropy(classifier.forward(x), labels)}, params));
    }
  }
  Tensor test = rows(test_rows, 0, test_rows.size(), labels);
  std::vector<int64_t> predicted = classifier.predict(test);
  double right = 0;
  for (size_t i = 0; i < labels.size(); ++i) right += predicted[i] == labels[i];
  classifier.set_accuracy(right / static_cast<double>(labels.size()));
}

}  // namespace

LabelClassifier::LabelClassifier(int64_t in, const std::vector<int64_t>& hidden, int64_t classes,
                                 Rng& rng)
    : Mlp(in, hidden, classes, rng), classes_(classes) {
  accuracy_ = register_buffer("accuracy", Tensor::zeros({1}));
}

std::vector<int64_t> LabelClassifier::predict(const Tensor& x) {
  NoGradGuard no_grad;
  Tensor logits = forward(x);
  const int64_t k = logits.size(1);
  std::vector<int64_t> out;
  for (int64_t i = 0; i < logits.size(0); ++i) {
    const float* row = logits.data() + i * k;
    out.push_back(std::max_element(row, row + k) - row);
  }
  return out;
}

std::unique_ptr<LabelClassifier> cached_classifier(const LabelledSet& set,
                                                   const std::vector<int64_t>& hidden,
                                                   int64_t epochs, const std::string& cache_dir) {
  const int64_t n = set.data.size(0), in = set.data.numel() / n;
  uint64_t h = fnv1a64(set.data.data(), static_cast<size_t>(set.data.numel()) * sizeof(float));
  h = fnv1a64(set.labels.data(), set.labels.size() * sizeof(int64_t), h);
  h = fnv1a64(set.data.shape().data(), set.data.shape().size() * sizeof(int64_t), h);
  h = fnv1a64(hidden.data(), hidden.size() * sizeof(int64_t), h);
  h = fnv1a64(&epochs, sizeof epochs, h);
  const fs::path dir = cache_dir.empty() ? default_cache_dir() : fs::path(cache_dir);
  const fs::path cache_file = dir / fmt::format("classifier-v1-{:016x}.h5", h);
  Rng rng(h, 7);
  auto classifier = std::make_unique<LabelClassifier>(in, hidden, set.classes, rng);
  const CheckpointParts parts{{{"classifier", classifier.get()}}, {}};
  if (fs::exists(cache_file)) {
    try {
      load_checkpoint(cache_file, parts);
      return classifier;
    } catch (const Error&) {  // unreadable or stale: train again and replace it
    }
  }
  train(*classifier, set, epochs, rng);
  fs::create_directories(dir);
  save_checkpoint(cache_file, parts);
  return classifier;
}

Tensor cross_entropy(const Tensor& logits, const Tensor& one_hot) {
  const int64_t n = logits.size(0), k = logits.size(1);
  Tensor row_max = Tensor::empty({n, 1});
  for (int64_t i = 0; i < n; ++i) {
    const float* row = logits.data() + i * k;
    row_max.data()[i] = *std::max_element(row, row + k);
  }
  Tensor shifted = sub(logits, row_max);
  Tensor log_p = sub(shifted, log(sum(exp(shifted), {1}, true)));
  return neg(sum(mul(one_hot, log_p))) * (1.0f / static_cast<float>(n));
}

Tensor cross_entropy(const Tensor& logits, const std::vector<int64_t>& labels) {
  const int64_t n = logits.size(0), k = logits.size(1);
  Tensor one_hot = Tensor::zeros({n, k});
  for (int64_t i = 0; i < n; ++i) one_hot.data()[i * k + labels[static_cast<size_t>(i)]] = 1;
  return cross_entropy(logits, one_hot);
}

}  // namespace kant
