// Metric `code_classes` for procedures with a categorical latent code (InfoGAN) on labelled
// image data: for each code value k, `per_code` samples generated with c = k are classified by
// the cached label classifier (kant/classifier.hpp); with N_kj the samples of code k
// classified as class j,
//   accuracy   max over one-to-one matchings π of Σ_k N_kπ(k) / Σ N: how well the code alone
//              names the class (Chen et al. 2016 report 5 % error on MNIST)
//   distinct   classes that are some code's most frequent class
//   classifier the classifier's held-out accuracy, recorded with every score
#include <algorithm>

#include "kant/classifier.hpp"
#include "kant/distances.hpp"
#include "kant/error.hpp"
#include "kant/metric_rules.hpp"
#include "kant/plugin.hpp"

namespace {
using namespace kant;

class CodeClasses : public Metric {
 public:
  struct Options {
    int64_t per_code;
    std::vector<int64_t> hidden;
    int64_t epochs;
    std::string cache_dir;
    static void declare(Declare<Options>& d) {
      d(&Options::per_code,
        param::integer("per_code", 200, "samples generated per code value").at_least(1));
      d(&Options::hidden,
        param::integers("hidden", {256, 64},
                        "hidden widths of the label classifier (as classifier_scores)")
            .at_least(1));
      d(&Options::epochs,
        param::integer("epochs", 30, "training epochs of the label classifier").at_least(1));
      d(&Options::cache_dir, cache_dir_param("classifiers"));
    }
  };
  static std::vector<StoredValue> stored() {
    return {stored::value("accuracy",
                          "fraction of generated samples whose class is the one the best "
                          "one-to-one code→class matching gives their code (1: the code "
                          "names the class)"),
            stored::value("distinct", "classes that are some code value's most frequent class"),
            stored::value("classifier", "the label classifier's held-out accuracy")};
  }
  static MetricRequirements requirements() {
    return {{rules::categorical_code(), rules::labelled_data()}};
  }

  explicit CodeClasses(const Options& o) : o_(o) {}

  std::vector<std::string> value_names() const override {
    return {"accuracy", "distinct", "classifier"};
  }

  std::map<std::string, double> compute(MetricContext& ctx) override {
    if (ctx.categories < 1 || !ctx.generate_category)
      throw Error("code_classes needs a procedure with a categorical code (infogan)");
    if (!classifier_) {
      std::optional<LabelledSet> set = ctx.dataset.labelled();
      if (!set)
        throw Error("code_classes needs a labelled data set (digits, or idx with `labels:`)");
      classifier_ = cached_classifier(*set, o_.hidden, o_.epochs, o_.cache_dir);
    }
    const int64_t k = ctx.categories, classes = classifier_->classes();
    std::vector<double> counts(static_cast<size_t>(k * classes), 0.0);
    std::vector<bool> majority(static_cast<size_t>(classes), false);
    for (int64_t code = 0; code < k; ++code) {
      for (int64_t c : classifier_->predict(ctx.generate_category(o_.per_code, code)))
        counts[static_cast<size_t>(code * classes + c)] += 1;
      const auto row = counts.begin() + code * classes;
      majority[static_cast<size_t>(std::max_element(row, row + classes) - row)] = true;
    }
    return {{"accuracy",
             max_weight_assignment(counts, k, classes) / static_cast<double>(k * o_.per_code)},
            {"distinct", static_cast<double>(std::count(majority.begin(), majority.end(), true))},
            {"classifier", classifier_->accuracy()}};
  }

 private:
  Options o_;
  std::unique_ptr<LabelClassifier> classifier_;
};

}  // namespace

KANT_COMPONENT(CodeClasses, "code_classes", "1.0.0",
               "how well a categorical latent code (InfoGAN) names the data's classes: accuracy of "
               "the best one-to-one code→class matching of the label classifier's predictions "
               "(Chen et al. 2016)")
