// Metric `translation` for a translating procedure (cyclegan) between collections A and B of a
// labelled image set: on the data set's held-out images (its test split, else its images) of each
// collection, the first `samples` of each, G: A → B and F: B → A (the procedure's `inverse`) are
// judged by the cached feature network (sample_quality's, kant/classifier.hpp):
//   accuracy_ab   (1/n) Σ [class of G(a_i) ∈ B]        accuracy_ba  (1/n) Σ [class of F(b_i) ∈ A]
//   real_a, real_b   the same share for the real images of each collection in their own: the
//                    ceiling of the two accuracies
//   cycle_a  (1/n) Σ mean_pixels |F(G(a_i)) − a_i|     cycle_b  (1/n) Σ mean_pixels |G(F(b_i)) −
//   b_i| fd_ab    Fréchet distance between the features of G(a) and of real B; fd_ba of F(b) and A;
//   fd_real  between real A and real B: the identity map's fd_ab, the distance translation closes
// (Zhu et al. 2017 judge by FCN scores and AMT studies; a classifier on the collections is the
// analogue here). At the end a_to_b [3, columns, C, H, W] stores rows a, G(a), F(G(a)) and b_to_a
// rows b, F(b), G(F(b)), which the report draws.
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <cmath>

#include "kant/autodiff.hpp"
#include "kant/classifier.hpp"
#include "kant/distances.hpp"
#include "kant/error.hpp"
#include "kant/image_statistics.hpp"
#include "kant/metric_rules.hpp"
#include "kant/ops.hpp"
#include "kant/plugin.hpp"

namespace {
using namespace kant;

constexpr int64_t kChunk = 500;  // images per forward pass (bounds memory, not results)

// Share of rows whose predicted class is one of `classes`.
double share_in(const std::vector<int64_t>& predicted, const std::vector<int64_t>& classes) {
  double in = 0;
  for (int64_t p : predicted) in += std::count(classes.begin(), classes.end(), p) > 0;
  return in / static_cast<double>(predicted.size());
}

// Mean over rows of the mean absolute difference per element.
double mean_abs(const Tensor& x, const Tensor& y) {
  double total = 0;
  for (int64_t i = 0, n = x.numel(); i < n; ++i) total += std::abs(x.data()[i] - y.data()[i]);
  return total / static_cast<double>(x.numel());
}

Network* network_named(const MetricContext& ctx, const std::string& name) {
  for (const auto& [n, net] : ctx.networks)
    if (n == name) return net;
  return nullptr;
}

class Translation : public Metric {
 public:
  struct Options {
    int64_t samples, columns;
    std::string cache_dir;
    static void declare(Declare<Options>& d) {
      d(&Options::samples,
        param::integer("samples", 1000,
                       "held-out images of each collection judged (at most as many as it has)")
            .at_least(2));
      d(&Options::columns,
        param::integer("columns", 8, "images per row of the final grids a_to_b, b_to_a (0: none)")
            .at_least(0));
      d(&Options::cache_dir, cache_dir_param("feature networks"));
    }
  };
  static std::vector<StoredValue> stored() {
    return {
        stored::value("accuracy_ab",
                      "share of translated held-out images G(a) the feature network assigns to "
                      "a class of collection B"),
        stored::value("accuracy_ba", "share of F(b) the network assigns to a class of A"),
        stored::value("real_a",
                      "share of real held-out images of A the network assigns to A (the ceiling "
                      "of accuracy_ba)"),
        stored::value("real_b", "the same for B (the ceiling of accuracy_ab)"),
        stored::value("cycle_a", "mean |F(G(a)) − a| per pixel over held-out images of A"),
        stored::value("cycle_b", "mean |G(F(b)) − b| per pixel over held-out images of B"),
        stored::value("fd_ab",
                      "Fréchet distance between the network's features of G(a) and of real "
                      "held-out B (lower is better)"),
        stored::value("fd_ba", "Fréchet distance between the features of F(b) and of real A"),
        stored::value("fd_real",
                      "Fréchet distance between real A and real B: fd_ab of the identity map"),
        stored::array("a_to_b", "[3, columns, C, H, W]: rows a, G(a), F(G(a)) (held-out a)"),
        stored::array("b_to_a", "[3, columns, C, H, W]: rows b, F(b), G(F(b)) (held-out b)")};
  }
  static MetricRequirements requirements() {
    MetricRule translating{
        "a procedure that translates between two collections (cyclegan: networks generator "
        "and inverse)",
        [](const Params&, CellView& cell) -> std::string {
          for (const std::string& name : cell.network_names())
            if (name == "inverse") return "";
          return "the cell's procedure trains no inverse network";
        }};
    return {{rules::labelled_data(), rules::image_data(), translating}, {}};
  }

  explicit Translation(const Options& o) : o_(o) {}

  std::vector<std::string> value_names() const override {
    return {"accuracy_ab", "accuracy_ba", "real_a", "real_b", "cycle_a",
            "cycle_b",     "fd_ab",       "fd_ba",  "fd_real"};
  }

  std::map<std::string, double> compute(MetricContext& ctx) override {
    prepare(ctx);
    NoGradGuard no_grad;
    Network &g = ctx.generator, &f = *inverse_;
    auto run = [](Network& net) { return [&net](const Tensor& x) { return net.forward(x); }; };
    auto features = [this](const Tensor& x) { return net_->features(x); };
    const Tensor fake_b = in_row_chunks(a_, kChunk, run(g)),
                 fake_a = in_row_chunks(b_, kChunk, run(f));
    const Tensor back_a = in_row_chunks(fake_b, kChunk, run(f)),
                 back_b = in_row_chunks(fake_a, kChunk, run(g));
    const Gaussian real_a = fit_gaussian(in_row_chunks(a_, kChunk, features)),
                   real_b = fit_gaussian(in_row_chunks(b_, kChunk, features));
    return {
        {"accuracy_ab", share_in(net_->predict(fake_b), ctx.domains.b)},
        {"accuracy_ba", share_in(net_->predict(fake_a), ctx.domains.a)},
        {"real_a", share_in(net_->predict(a_), ctx.domains.a)},
        {"real_b", share_in(net_->predict(b_), ctx.domains.b)},
        {"cycle_a", mean_abs(back_a, a_)},
        {"cycle_b", mean_abs(back_b, b_)},
        {"fd_ab", frechet_distance(fit_gaussian(in_row_chunks(fake_b, kChunk, features)), real_b)},
        {"fd_ba", frechet_distance(fit_gaussian(in_row_chunks(fake_a, kChunk, features)), real_a)},
        {"fd_real", frechet_distance(real_a, real_b)}};
  }

  std::map<std::string, Tensor> final_arrays(MetricContext& ctx) override {
    if (o_.columns == 0) return {};
    prepare(ctx);
    NoGradGuard no_grad;
    const int64_t m = std::min({o_.columns, a_.size(0), b_.size(0)});
    auto rows = [m](const Tensor& x, Network& there, Network& back) {
      const Tensor x_m = slice(x, 0, 0, m), there_m = there.forward(x_m).detach();
      Shape shape{3, m};
      shape.insert(shape.end(), x.shape().begin() + 1, x.shape().end());
      return reshape(concat({x_m, there_m, back.forward(there_m).detach()}, 0), shape);
    };
    return {{"a_to_b", rows(a_, ctx.generator, *inverse_)},
            {"b_to_a", rows(b_, *inverse_, ctx.generator)}};
  }

 private:
  // the feature network, the inverse network and the held-out images of each collection
  void prepare(const MetricContext& ctx) {
    if (net_) return;
    if (ctx.domains.empty())
      throw Error(
          "translation needs a procedure that translates between two collections "
          "(cyclegan)");
    inverse_ = network_named(ctx, "inverse");
    if (!inverse_) throw Error("translation: the procedure trains no network 'inverse'");
    std::optional<LabelledSet> set = ctx.dataset.labelled();
    if (!set) throw Error("translation needs a labelled image data set");
    const bool held = set->held_out.defined();
    const Tensor& images = held ? set->held_out : set->data;
    const std::vector<int64_t>& labels = held ? set->held_out_labels : set->labels;
    auto pick = [&](const std::vector<int64_t>& classes) {
      std::vector<Tensor> rows;
      for (size_t i = 0; i < labels.size() && int64_t(rows.size()) < o_.samples; ++i)
        if (std::count(classes.begin(), classes.end(), labels[i]))
          rows.push_back(slice(images, 0, int64_t(i), int64_t(i) + 1));
      if (rows.size() < 2)
        throw Error(
            fmt::format("translation: the held-out images hold {} of classes [{}], and "
                        "the Fréchet distance needs 2",
                        rows.size(), fmt::join(classes, ", ")));
      return concat(rows, 0);
    };
    a_ = pick(ctx.domains.a);
    b_ = pick(ctx.domains.b);
    net_ = cached_conv_classifier(*set, ConvClassifierSettings{}, o_.cache_dir);
  }

  Options o_;
  std::unique_ptr<ConvClassifier> net_;
  Network* inverse_ = nullptr;
  Tensor a_, b_;  // held-out images of A and B
};

}  // namespace

KANT_COMPONENT(Translation, "translation", "1.0.0",
               "image translation between two collections (cyclegan): the feature network's "
               "accuracy that G(a) ∈ B and F(b) ∈ A, cycle reconstruction errors "
               "|F(G(a)) − a| and |G(F(b)) − b|, Fréchet distances to the target collection, and "
               "grids of x, G(x), F(G(x))")
