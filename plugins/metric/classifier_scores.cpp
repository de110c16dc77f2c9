// Metric `classifier_scores` for labelled image data (digits, idx with labels): a small MLP
// classifier is trained once on 80 % of the data set (fixed seed, Adam, cross-entropy) and
// cached on disk under a hash of the data, labels and classifier settings; then
//   fid       Fréchet distance between Gaussians fitted to its last hidden layer's features of
//             n generated and n real samples — FID (Heusel et al. 2017) with this classifier
//             in place of Inception
//   classes   classes predicted for at least `min_fraction` of the generated samples
//   accuracy  the classifier's accuracy on the held-out 20 %, recorded with every score
#include <cstdlib>
#include <filesystem>

#include <fmt/format.h>

#include "kant/fit.hpp"
#include "kant/autodiff.hpp"
#include "kant/checkpoint.hpp"
#include "kant/distances.hpp"
#include "kant/error.hpp"
#include "kant/hash.hpp"
#include "kant/plugin.hpp"

namespace {
using namespace kant;
namespace fs = std::filesystem;

fs::path default_cache_dir() {
  if (const char* d = std::getenv("KANT_CACHE_DIR"); d && *d) return d;
  if (const char* d = std::getenv("XDG_CACHE_HOME"); d && *d) return fs::path(d) / "kantorovich";
  if (const char* d = std::getenv("HOME"); d && *d) return fs::path(d) / ".cache" / "kantorovich";
  return fs::temp_directory_path() / "kantorovich-cache";
}

// Every fifth row is held out to measure the accuracy.
bool held_out(int64_t i) { return i % 5 == 4; }

class Classifier : public fit::Mlp {
 public:
  Classifier(int64_t in, const std::vector<int64_t>& hidden, int64_t classes, Rng& rng)
      : Mlp(in, hidden, classes, rng) {
    accuracy_ = register_buffer("accuracy", Tensor::zeros({1}));
  }
  double accuracy() const { return accuracy_.data()[0]; }
  void set_accuracy(double a) { accuracy_.data()[0] = static_cast<float>(a); }

  /// Most probable class of each row.
  std::vector<int64_t> predict(const Tensor& x) {
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

 private:
  Tensor accuracy_;
};

// Mean cross-entropy −(1/N) Σ log softmax(z_i)[y_i]; the row maximum is subtracted as a
// constant (log-sum-exp is shift-invariant, so gradients are unchanged).
Tensor cross_entropy(const Tensor& logits, const std::vector<int64_t>& labels) {
  const int64_t n = logits.size(0), k = logits.size(1);
  Tensor row_max = Tensor::empty({n, 1}), one_hot = Tensor::zeros({n, k});
  for (int64_t i = 0; i < n; ++i) {
    const float* row = logits.data() + i * k;
    row_max.data()[i] = *std::max_element(row, row + k);
    one_hot.data()[i * k + labels[static_cast<size_t>(i)]] = 1;
  }
  Tensor shifted = sub(logits, row_max);
  Tensor log_p = sub(shifted, log(sum(exp(shifted), {1}, true)));
  return neg(sum(mul(one_hot, log_p))) * (1.0f / static_cast<float>(n));
}

class ClassifierScores : public Metric {
 public:
  explicit ClassifierScores(const Params& p)
      : samples_(p.integer("samples")), hidden_(p.integers("hidden")), epochs_(p.integer("epochs")),
        min_fraction_(p.real("min_fraction")), cache_dir_(p.string("cache_dir")) {}

  std::vector<std::string> value_names() const override { return {"fid", "classes", "accuracy"}; }

  std::map<std::string, double> compute(MetricContext& ctx) override {
    if (!classifier_) prepare(ctx.dataset);
    Tensor fake = ctx.generate(samples_), real = ctx.dataset.sample(samples_, ctx.rng);
    Tensor f_fake, f_real;
    {
      NoGradGuard no_grad;
      f_fake = classifier_->features(fake);
      f_real = classifier_->features(real);
    }
    std::vector<int64_t> counts(static_cast<size_t>(classes_), 0);
    for (int64_t c : classifier_->predict(fake)) ++counts[static_cast<size_t>(c)];
    double covered = 0;
    for (int64_t c : counts) covered += static_cast<double>(c) >= min_fraction_ * static_cast<double>(samples_) && c > 0;
    return {{"fid", frechet_distance(fit_gaussian(f_fake), fit_gaussian(f_real))},
            {"classes", covered},
            {"accuracy", classifier_->accuracy()}};
  }

 private:
  void prepare(const Dataset& dataset) {
    std::optional<LabelledSet> set = dataset.labelled();
    if (!set)
      throw Error("classifier_scores needs a labelled data set (digits, or idx with `labels:`)");
    classes_ = set->classes;
    const int64_t n = set->data.size(0), in = set->data.numel() / n;
    uint64_t h = fnv1a64(set->data.data(), static_cast<size_t>(set->data.numel()) * sizeof(float));
    h = fnv1a64(set->labels.data(), set->labels.size() * sizeof(int64_t), h);
    h = fnv1a64(set->data.shape().data(), set->data.shape().size() * sizeof(int64_t), h);
    h = fnv1a64(hidden_.data(), hidden_.size() * sizeof(int64_t), h);
    h = fnv1a64(&epochs_, sizeof epochs_, h);
    const fs::path dir = cache_dir_.empty() ? default_cache_dir() : fs::path(cache_dir_);
    const fs::path cache_file = dir / fmt::format("classifier-v1-{:016x}.h5", h);
    Rng rng(h, 7);
    classifier_ = std::make_unique<Classifier>(in, hidden_, classes_, rng);
    const CheckpointParts parts{{{"classifier", classifier_.get()}}, {}};
    if (fs::exists(cache_file)) {
      try {
        load_checkpoint(cache_file, parts);
        return;
      } catch (const Error&) {  // unreadable or stale: train again and replace it
      }
    }
    train(*set, rng);
    fs::create_directories(dir);
    save_checkpoint(cache_file, parts);
  }

  void train(const LabelledSet& set, Rng& rng) {
    const int64_t n = set.data.size(0), in = set.data.numel() / n, batch = 64;
    std::vector<int64_t> train_rows, test_rows;
    for (int64_t i = 0; i < n; ++i) (held_out(i) ? test_rows : train_rows).push_back(i);
    auto rows = [&](const std::vector<int64_t>& idx, size_t from, size_t count, std::vector<int64_t>& labels) {
      Tensor x = Tensor::empty({static_cast<int64_t>(count), in});
      labels.clear();
      for (size_t r = 0; r < count; ++r) {
        const int64_t i = idx[from + r];
        std::copy_n(set.data.data() + i * in, in, x.data() + static_cast<int64_t>(r) * in);
        labels.push_back(set.labels[static_cast<size_t>(i)]);
      }
      return x;
    };
    const std::vector<Tensor> params = classifier_->parameters();
    fit::Adam adam(params, 1e-3f);
    std::vector<int64_t> labels;
    for (int64_t epoch = 0; epoch < epochs_; ++epoch) {
      for (size_t i = train_rows.size(); i > 1; --i)  // Fisher–Yates
        std::swap(train_rows[i - 1], train_rows[rng.below(i)]);
      for (size_t from = 0; from + batch <= train_rows.size(); from += batch) {
        Tensor x = rows(train_rows, from, batch, labels);
        adam.step(grad({cross_entropy(classifier_->forward(x), labels)}, params));
      }
    }
    Tensor test = rows(test_rows, 0, test_rows.size(), labels);
    std::vector<int64_t> predicted = classifier_->predict(test);
    double right = 0;
    for (size_t i = 0; i < labels.size(); ++i) right += predicted[i] == labels[i];
    classifier_->set_accuracy(right / static_cast<double>(labels.size()));
  }

  int64_t samples_;
  std::vector<int64_t> hidden_;
  int64_t epochs_;
  double min_fraction_;
  std::string cache_dir_;
  int64_t classes_ = 0;
  std::unique_ptr<Classifier> classifier_;
};

}  // namespace

KANT_PLUGIN("classifier_scores", "1.0.0") {
  registrar.add(
      {"classifier_scores", "1.0.0",
       "Fréchet distance of a digit classifier's features (FID-style), classes covered, and the "
       "classifier's held-out accuracy; the classifier is trained once and cached by data hash",
       {param::integer("samples", 1000, "generated and real samples compared").at_least(2),
        param::integers("hidden", {256, 64}, "hidden widths of the classifier; the last is the "
                                             "feature dimension")
            .at_least(1),
        param::integer("epochs", 30, "training epochs of the classifier").at_least(1),
        param::real("min_fraction", 0.01, "a class is covered when at least this fraction of "
                                          "generated samples is classified as it")
            .range(0, 1),
        param::string("cache_dir", "", "where trained classifiers are kept (empty: "
                                       "$KANT_CACHE_DIR, else $XDG_CACHE_HOME/kantorovich, else "
                                       "~/.cache/kantorovich)")},
       MetricFactory([](const Params& p) { return std::make_unique<ClassifierScores>(p); })});
}
