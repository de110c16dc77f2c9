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
  struct Options {
    int64_t samples;
    std::vector<int64_t> hidden;
    int64_t epochs;
    double min_fraction;
    std::string cache_dir;
    static void declare(Declare<Options>& d) {
      d(&Options::samples,
        param::integer("samples", 1000, "generated and real samples compared").at_least(2));
      d(&Options::hidden, param::integers("hidden", {256, 64},
                                          "hidden widths of the classifier; the last is the "
                                          "feature dimension")
                              .at_least(1));
      d(&Options::epochs,
        param::integer("epochs", 30, "training epochs of the classifier").at_least(1));
      d(&Options::min_fraction, param::real("min_fraction", 0.01,
                                            "a class is covered when at least this fraction of "
                                            "generated samples is classified as it")
                                    .range(0, 1));
      d(&Options::cache_dir, cache_dir_param("classifiers"));
    }
  };
  static std::vector<StoredValue> stored() {
    return {stored::value("fid",
                          "Fréchet distance between Gaussians fitted to the classifier's last "
                          "hidden features of generated and real samples (FID with this "
                          "classifier in place of Inception; lower is better)"),
            stored::value("classes",
                          "classes the classifier predicts for at least min_fraction of the"
                          " generated samples"),
            stored::value("accuracy",
                          "the classifier's accuracy on the held-out 20 % of the data (how"
                          " far its scores can be trusted)")};
  }
  static MetricRequirements requirements() { return {{rules::labelled_data()}}; }

  explicit ClassifierScores(const Options& o) : o_(o) {}

  std::vector<std::string> value_names() const override { return {"fid", "classes", "accuracy"}; }

  std::map<std::string, double> compute(MetricContext& ctx) override {
    if (!classifier_) prepare(ctx.dataset);
    Tensor fake = ctx.generate(o_.samples), real = ctx.dataset.sample(o_.samples, ctx.rng);
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
      covered +=
          static_cast<double>(c) >= o_.min_fraction * static_cast<double>(o_.samples) && c > 0;
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
    classifier_ = cached_classifier(*set, o_.hidden, o_.epochs, o_.cache_dir);
  }

  Options o_;
  int64_t classes_ = 0;
  std::unique_ptr<LabelClassifier> classifier_;
};

}  // namespace

KANT_COMPONENT(ClassifierScores, "classifier_scores", "1.0.0",
               "Fréchet distance of a digit classifier's features (FID-style), classes covered, "
               "and the classifier's held-out accuracy; the classifier is trained once and cached "
               "by data hash")
