// Metric `conditional_accuracy` for generators on labelled image data (digits, idx with
// labels): the cached label classifier (kant/classifier.hpp, shared with classifier_scores)
// judges n generated samples against the labels they were generated for,
//   accuracy        (1/n) Σ_i [argmax C(G(z_i, y_i)) = y_i]
//   worst_class     min over classes c of the same accuracy among samples asked for c
//   classifier      the classifier's own held-out accuracy (how far the score can be trusted)
// A generator that ignores its label scores about the share of the class it happens to draw
// (≈ 1/K). An unconditional generator is scored the same way against labels drawn uniformly
// from the metric's stream, which it ignores by construction: the baseline a conditional model
// is compared with. At the end, a conditional generator's `class_grid` stores `columns` samples
// of each class, one row per class, which the report draws
// (arrays/conditional_accuracy/class_grid, [K, columns, C, H, W]).
#include "kant/autodiff.hpp"
#include "kant/classifier.hpp"
#include "kant/error.hpp"
#include "kant/metric_rules.hpp"
#include "kant/plugin.hpp"

namespace {
using namespace kant;

class ConditionalAccuracy : public Metric {
 public:
  struct Options {
    int64_t samples, columns;
    std::vector<int64_t> hidden;
    int64_t epochs;
    std::string cache_dir;
    static void declare(Declare<Options>& d) {
      d(&Options::samples,
        param::integer("samples", 1000, "generated samples judged, labels drawn as in training")
            .at_least(1));
      d(&Options::columns,
        param::integer("columns", 8, "samples per class in the final class grid (0: no grid)")
            .at_least(0));
      d(&Options::hidden, param::integers("hidden", {256, 64},
                                          "hidden widths of the classifier (as classifier_scores: "
                                          "the same settings share one cached classifier)")
                              .at_least(1));
      d(&Options::epochs,
        param::integer("epochs", 30, "training epochs of the classifier").at_least(1));
      d(&Options::cache_dir, cache_dir_param("classifiers"));
    }
  };
  static std::vector<StoredValue> stored() {
    return {
        stored::value("accuracy",
                      "share of generated samples the classifier assigns to the label they "
                      "were generated for (≈ 1/K for a generator that ignores its label)"),
        stored::value("worst_class",
                      "the lowest of that accuracy among the classes, each over the samples "
                      "asked for it"),
        stored::value("classifier", "the classifier's accuracy on the held-out 20 % of the data"),
        stored::array("class_grid",
                      "at the end, for a conditional generator: `columns` generated samples "
                      "of each class [K, columns, C, H, W], one row per class in the report")};
  }
  static MetricRequirements requirements() {
    return {{rules::labelled_data(), rules::image_data()},
            {{"worst_class", "when no sample was asked for some class (samples < classes)"}}};
  }

  explicit ConditionalAccuracy(const Options& o) : o_(o) {}

  std::vector<std::string> value_names() const override {
    return {"accuracy", "worst_class", "classifier"};
  }

  std::map<std::string, double> compute(MetricContext& ctx) override {
    prepare(ctx);
    Batch g = ctx.generate_labelled(o_.samples, std::nullopt);
    if (ctx.label_classes == 0)  // unconditional: labels it was "asked for" and ignores
      for (int64_t i = 0; i < o_.samples; ++i)
        g.labels.push_back(static_cast<int64_t>(ctx.rng.below(static_cast<uint64_t>(classes_))));
    if (g.labels.size() != static_cast<size_t>(o_.samples))
      throw Error("conditional_accuracy: the generator returned no labels with its samples");
    const std::vector<int64_t> predicted = classifier_->predict(g.x);
    std::vector<double> right(static_cast<size_t>(classes_)), asked(right.size());
    double total = 0;
    for (size_t i = 0; i < predicted.size(); ++i) {
      const auto c = static_cast<size_t>(g.labels[i]);
      asked[c] += 1;
      right[c] += predicted[i] == g.labels[i];
      total += predicted[i] == g.labels[i];
    }
    double worst = std::numeric_limits<double>::infinity();
    for (size_t c = 0; c < right.size(); ++c)
      worst = asked[c] > 0 ? std::min(worst, right[c] / asked[c])
                           : std::numeric_limits<double>::quiet_NaN();
    return {{"accuracy", total / static_cast<double>(predicted.size())},
            {"worst_class", worst},
            {"classifier", classifier_->accuracy()}};
  }

  std::map<std::string, Tensor> final_arrays(MetricContext& ctx) override {
    if (o_.columns == 0 || ctx.label_classes == 0) return {};
    prepare(ctx);
    std::vector<float> all;
    Shape shape{classes_, o_.columns};
    for (int64_t c = 0; c < classes_; ++c) {
      const Batch g = ctx.generate_labelled(o_.columns, c);
      if (c == 0) shape.insert(shape.end(), g.x.shape().begin() + 1, g.x.shape().end());
      const std::vector<float> v = g.x.to_vector();
      all.insert(all.end(), v.begin(), v.end());
    }
    return {{"class_grid", Tensor::from(shape, all)}};
  }

 private:
  void prepare(const MetricContext& ctx) {
    if (classifier_) return;
    std::optional<LabelledSet> set = ctx.dataset.labelled();
    if (!set)
      throw Error("conditional_accuracy needs a labelled data set (digits, idx with labels)");
    if (ctx.label_classes != 0 && ctx.label_classes != set->classes)
      throw Error(
          fmt::format("conditional_accuracy: the generator takes {} label classes, the "
                      "data set has {}",
                      ctx.label_classes, set->classes));
    classes_ = set->classes;
    classifier_ = cached_classifier(*set, o_.hidden, o_.epochs, o_.cache_dir);
  }

  Options o_;
  int64_t classes_ = 0;
  std::unique_ptr<LabelClassifier> classifier_;
};

}  // namespace

KANT_COMPONENT(ConditionalAccuracy, "conditional_accuracy", "1.0.0",
               "accuracy of the cached label classifier on generated samples against the labels "
               "they were asked for (≈ 1/K for a generator that ignores them, an unconditional "
               "one included), its worst class, and a per-class image grid")
