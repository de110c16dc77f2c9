// Metric `classifier_scores` for labelled image data (digits, idx with labels): a small MLP
// classifier is trained once on 80 % of the data set (fixed seed, Adam, cross-entropy) and
// cached on disk under a hash of the data, labels and classifier settings; then
//   fid       Fréchet distance between Gaussians fitted to its last hidden layer's features of
//             n generated and n real samples — FID (Heusel et al. 2017) with this classifier
//             in place of Inception
//   classes   classes predicted for at least `min_fraction` of the generated samples
//   accuracy  the classifier's accuracy on the held-out 20 %, recorded with every score
#include "kant/autodiff.hpp"
#include "kant/classifier.hpp"
#include "kant/distances.hpp"
#include "kant/error.hpp"
#include "kant/metric_rules.hpp"
#include "kant/plugin.hpp"

namespace {
using namespace kant;

class ClassifierScores : public Metric {
 public:
  explicit ClassifierScores(const Params& p)
      : samples_(p.integer("samples")),
        hidden_(p.integers("hidden")),
        epochs_(p.integer("epochs")),
        min_fraction_(p.real("min_fraction")),
        cache_dir_(p.string("cache_dir")) {}

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
    for (int64_t c : counts)
      covered += static_cast<double>(c) >= min_fraction_ * static_cast<double>(samples_) && c > 0;
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
    classifier_ = cached_classifier(*set, hidden_, epochs_, cache_dir_);
  }

  int64_t samples_;
  std::vector<int64_t> hidden_;
  int64_t epochs_;
  double min_fraction_;
  std::string cache_dir_;
  int64_t classes_ = 0;
  std::unique_ptr<LabelClassifier> classifier_;
};

}  // namespace

KANT_PLUGIN("classifier_scores", "1.0.0") {
  registrar.add(
      {"classifier_scores",
       "1.0.0",
       "Fréchet distance of a digit classifier's features (FID-style), classes covered, and the "
       "classifier's held-out accuracy; the classifier is trained once and cached by data hash",
       {param::integer("samples", 1000, "generated and real samples compared").at_least(2),
        param::integers("hidden", {256, 64},
                        "hidden widths of the classifier; the last is the "
                        "feature dimension")
            .at_least(1),
        param::integer("epochs", 30, "training epochs of the classifier").at_least(1),
        param::real("min_fraction", 0.01,
                    "a class is covered when at least this fraction of "
                    "generated samples is classified as it")
            .range(0, 1),
        param::string("cache_dir", "",
                      "where trained classifiers are kept (empty: "
                      "$KANT_CACHE_DIR, else $XDG_CACHE_HOME/kantorovich, else "
                      "~/.cache/kantorovich)")},
       MetricFactory([](const Params& p) { return std::make_unique<ClassifierScores>(p); }),
       {stored::value("fid",
                      "Fréchet distance between Gaussians fitted to the classifier's last "
                      "hidden features of generated and real samples (FID with this "
                      "classifier in place of Inception; lower is better)"),
        stored::value("classes",
                      "classes the classifier predicts for at least min_fraction of the"
                      " generated samples"),
        stored::value("accuracy",
                      "the classifier's accuracy on the held-out 20 % of the data (how"
                      " far its scores can be trusted)")},
       {{rules::labelled_data()}}});
}
