// Metric `sample_quality`: the scores GAN papers print, on the features of a small convolutional
// classifier the framework trains once per labelled image set (fixed seed, cached by a hash of
// data, labels and settings; kant/classifier.hpp) in place of Inception, whose weights cannot be
// fetched here: numbers compare within the framework, not with Inception-based papers. Each
// evaluation draws n generated and n real images (with their labels), computes their features
// and class probabilities once, and every score reads those:
//   FD and per-class FD (Heusel et al. 2017; intra-FD: Miyato & Koyama 2018), IS (Salimans et al.
//   2016), KID (Bińkowski et al. 2018), improved precision/recall (Kynkäänniemi et al. 2019),
//   density/coverage (Naeem et al. 2020), classes covered and the class histogram's reverse KL,
//   and a memorisation check (nearest training image against unseen images'; closest pairs
//   stored as images). Formulas: kant/sample_quality.hpp, kant/distances.hpp.
#include "kant/sample_quality.hpp"

#include <fmt/format.h>

#include <cmath>
#include <limits>
#include <numeric>

#include "kant/autodiff.hpp"
#include "kant/classifier.hpp"
#include "kant/distances.hpp"
#include "kant/error.hpp"
#include "kant/metric_rules.hpp"
#include "kant/plugin.hpp"

namespace {
using namespace kant;

constexpr int64_t kChunk = 500;  // images per forward pass (bounds memory, not results)

class SampleQuality : public Metric {
 public:
  struct Options {
    int64_t samples, k_precision, k_density, is_splits, kid_subsets, kid_subset_size;
    int64_t memorisation_samples, pairs;
    double min_fraction, authenticity_quantile;
    std::vector<int64_t> channels;
    int64_t features, epochs;
    std::string cache_dir;
    static void declare(Declare<Options>& d) {
      d(&Options::samples,
        param::integer("samples", 10000, "generated and real images compared at each evaluation")
            .at_least(20));
      d(&Options::k_precision,
        param::integer("k_precision", 3,
                       "k of the k-NN balls of precision and recall (Kynkäänniemi et al.: 3)")
            .at_least(1));
      d(&Options::k_density,
        param::integer("k_density", 5,
                       "k of the k-NN balls of density and coverage (Naeem et al.: 5)")
            .at_least(1));
      d(&Options::is_splits,
        param::integer("is_splits", 10, "parts the Inception Score is computed on (mean, std)")
            .at_least(1));
      d(&Options::kid_subsets,
        param::integer("kid_subsets", 100, "subset pairs KID averages over (mean, std)")
            .at_least(1));
      d(&Options::kid_subset_size,
        param::integer("kid_subset_size", 1000, "rows per KID subset (at most samples)")
            .at_least(2));
      d(&Options::memorisation_samples,
        param::integer("memorisation_samples", 2000,
                       "generated images compared with every training image (and as many unseen "
                       "images) by the memorisation check")
            .at_least(2));
      d(&Options::pairs,
        param::integer("pairs", 8,
                       "closest (generated, training) pairs stored as images at the end")
            .range(1, 64));
      d(&Options::min_fraction, param::real("min_fraction", 0.01,
                                            "a class is covered when at least this fraction of "
                                            "generated images is classified as it")
                                    .range(0, 1));
      d(&Options::authenticity_quantile,
        param::real("authenticity_quantile", 0.05,
                    "a generated image is authentic when its nearest training image is at least "
                    "as far as this quantile of unseen images' nearest-training distances")
            .range(0, 1));
      d(&Options::channels,
        param::integers("channels", {32, 64, 128},
                        "the feature network's 3×3 stride-2 convolutions (ReLU), in channels")
            .at_least(1));
      d(&Options::features,
        param::integer("features", 128, "the feature network's feature width (its hidden layer)")
            .at_least(2));
      d(&Options::epochs,
        param::integer("epochs", 5, "training epochs of the feature network").at_least(1));
      d(&Options::cache_dir, cache_dir_param("feature networks"));
      d.check([](const Options& o) {
        if (o.k_precision >= o.samples || o.k_density >= o.samples)
          return std::string(
              "k_precision and k_density must be below samples (a k-NN ball "
              "needs k other samples)");
        if (o.is_splits > o.samples) return std::string("is_splits must not exceed samples");
        return std::string();
      });
    }
  };

  static std::vector<StoredValue> stored() {
    return {
        stored::value("accuracy",
                      "the feature network's accuracy on the data set's held-out images (its test "
                      "split, else every fifth image): how far its scores can be trusted"),
        stored::value("fd",
                      "Fréchet distance ‖μ_g − μ_r‖² + tr(Σ_g + Σ_r − 2(Σ_g^½ Σ_r Σ_g^½)^½) of "
                      "Gaussians fitted to generated and real features (FID, Heusel et al. 2017, "
                      "on this network instead of Inception; lower is better)"),
        stored::value("intra_fd",
                      "mean over classes of the Fréchet distance between generated images of a "
                      "class and real images of that class (intra-FID, Miyato & Koyama 2018): a "
                      "conditional generator's images by the label they were asked for, an "
                      "unconditional one's by the class the network assigns; classes with fewer "
                      "than 2 of either are left out"),
        stored::value("label_accuracy",
                      "a conditional generator's images: share the network assigns to the label "
                      "they were asked for (≈ 1/K when the label is ignored)"),
        stored::value("is",
                      "Inception Score exp(E_x KL(p(y|x) ‖ p(y))) on the network's class "
                      "probabilities of generated images (Salimans et al. 2016), mean over "
                      "is_splits parts; 1 … number of classes, higher is better"),
        stored::value("is_std", "standard deviation of the Inception Score over the parts"),
        stored::value("kid",
                      "KID (Bińkowski et al. 2018): unbiased MMD² with the kernel (xᵀy/d + 1)³ "
                      "between generated and real features, mean over kid_subsets subsets of "
                      "kid_subset_size; ≈ 0 (possibly negative) for equal distributions"),
        stored::value("kid_std", "standard deviation of KID over the subsets"),
        stored::value(
            "precision",
            "share of generated features inside the union of real features' "
            "k_precision-NN balls (improved precision, Kynkäänniemi et al. 2019): quality"),
        stored::value("recall",
                      "share of real features inside the union of generated features' "
                      "k_precision-NN balls (improved recall, Kynkäänniemi et al. 2019): variety"),
        stored::value("density",
                      "1/(kM) Σ_j Σ_i 1[f_j ∈ B(r_i, NND_k(r_i))], k = k_density (Naeem et al. "
                      "2020): ≈ 1 when generated and real images share a distribution"),
        stored::value("coverage",
                      "share of real features whose k_density-NN ball holds a generated one "
                      "(Naeem et al. 2020)"),
        stored::value("classes",
                      "classes the network assigns to at least min_fraction of the generated "
                      "images"),
        stored::value("class_kl",
                      "reverse KL Σ_c p_g(c) log(p_g(c)/p_data(c)) of the generated images' "
                      "class histogram (by the network) to the data's (by label); 0 when "
                      "balanced like the data"),
        stored::value("authenticity",
                      "share of the first memorisation_samples generated images whose nearest "
                      "training image (in features) is at least the authenticity_quantile-"
                      "quantile of unseen images' nearest-training distance; unseen images score "
                      "1 − authenticity_quantile, copies of training images 0"),
        stored::array("intra_fd_per_class",
                      "the Fréchet distance of each class (NaN where fewer than 2 images)"),
        stored::array("closest_pairs",
                      "[2·pairs, C, H, W]: the pairs generated images closest to a training "
                      "image, then those training images in the same order"),
        stored::array("closest_distances", "[pairs]: their feature distances")};
  }
  static MetricRequirements requirements() {
    return {{rules::labelled_data(), rules::image_data()},
            {{"intra_fd", "no class has 2 generated images and 2 real ones"},
             {"label_accuracy", "the generator takes no label"}}};
  }

  explicit SampleQuality(const Options& o) : o_(o) {
    settings_.channels = o.channels;
    settings_.features = o.features;
    settings_.epochs = o.epochs;
  }

  std::vector<std::string> value_names() const override {
    return {"accuracy", "fd",       "intra_fd", "label_accuracy", "is",
            "is_std",   "kid",      "kid_std",  "precision",      "recall",
            "density",  "coverage", "classes",  "class_kl",       "authenticity"};
  }

  std::map<std::string, double> compute(MetricContext& ctx) override {
    if (!net_) prepare(ctx.dataset);
    // n generated images (in chunks) and n real ones drawn without replacement, with labels
    // a conditional generator's images come with the labels they were asked for
    std::vector<Tensor> chunks;
    std::vector<int64_t> requested;
    for (int64_t done = 0; done < o_.samples; done += kChunk) {
      const int64_t n = std::min(kChunk, o_.samples - done);
      if (ctx.label_classes == 0) {
        chunks.push_back(ctx.generate(n));
        continue;
      }
      Batch b = ctx.generate_labelled(n, std::nullopt);
      chunks.push_back(b.x);
      requested.insert(requested.end(), b.labels.begin(), b.labels.end());
    }
    const Tensor fake = concat(chunks, 0);
    const int64_t n_real = std::min(o_.samples, set_.data.size(0));
    std::vector<int64_t> real_labels;
    const Tensor real = draw_real(n_real, ctx.rng, real_labels);
    Tensor f_fake, p_fake, f_real, p_real;
    features_of(fake, f_fake, p_fake);
    features_of(real, f_real, p_real);
    const std::vector<int64_t> predicted = argmax(p_fake);

    std::map<std::string, double> v;
    v["accuracy"] = net_->accuracy();
    v["fd"] = frechet_distance(fit_gaussian(f_fake), fit_gaussian(f_real));
    // intra-FD by the label asked for (conditional) or by the network's class (unconditional)
    per_class_fd_ =
        intra_fd(f_fake, requested.empty() ? predicted : requested, f_real, real_labels);
    double hits = 0;
    for (size_t i = 0; i < requested.size(); ++i) hits += predicted[i] == requested[i];
    v["label_accuracy"] = requested.empty() ? std::numeric_limits<double>::quiet_NaN()
                                            : hits / static_cast<double>(requested.size());
    double sum = 0, counted = 0;
    for (double d : per_class_fd_)
      if (std::isfinite(d)) sum += d, ++counted;
    v["intra_fd"] = counted > 0 ? sum / counted : std::numeric_limits<double>::quiet_NaN();
    const MeanStd is = inception_score(p_fake, std::min(o_.is_splits, o_.samples));
    v["is"] = is.mean;
    v["is_std"] = is.std;
    const MeanStd kid =
        kernel_inception_distance(f_fake, f_real, o_.kid_subsets, o_.kid_subset_size, ctx.rng);
    v["kid"] = kid.mean;
    v["kid_std"] = kid.std;
    const PrecisionRecall pr = precision_recall(f_real, f_fake, o_.k_precision);
    v["precision"] = pr.precision;
    v["recall"] = pr.recall;
    const DensityCoverage dc = density_coverage(f_real, f_fake, o_.k_density);
    v["density"] = dc.density;
    v["coverage"] = dc.coverage;
    std::vector<int64_t> counts(static_cast<size_t>(set_.classes), 0);
    for (int64_t c : predicted) ++counts[static_cast<size_t>(c)];
    v["classes"] = static_cast<double>(classes_covered(counts, o_.min_fraction));
    v["class_kl"] = class_kl(counts, data_counts_);
    // memorisation: the first generated images against every training image
    const int64_t m = std::min(o_.memorisation_samples, o_.samples);
    memorised_images_ = slice(fake, 0, 0, m);
    nearest_ = nearest_rows(slice(f_fake, 0, 0, m), train_features_);
    v["authenticity"] = authenticity(nearest_.distance, unseen_to_train_, o_.authenticity_quantile);
    return v;
  }

  std::map<std::string, Tensor> final_arrays(MetricContext& ctx) override {
    if (!memorised_images_.defined()) compute(ctx);
    std::vector<int64_t> order(nearest_.distance.size());
    std::iota(order.begin(), order.end(), int64_t{0});
    const auto pairs = static_cast<size_t>(std::min<int64_t>(o_.pairs, int64_t(order.size())));
    std::partial_sort(order.begin(), order.begin() + static_cast<std::ptrdiff_t>(pairs),
                      order.end(), [&](int64_t a, int64_t b) {
                        return nearest_.distance[static_cast<size_t>(a)] <
                               nearest_.distance[static_cast<size_t>(b)];
                      });
    const Tensor& train = training_.data;
    const int64_t per = train.numel() / train.size(0);
    Shape shape = train.shape();
    shape[0] = static_cast<int64_t>(2 * pairs);
    Tensor images = Tensor::empty(shape), distances = Tensor::empty({int64_t(pairs)});
    for (size_t p = 0; p < pairs; ++p) {
      const int64_t g = order[p], t = nearest_.index[static_cast<size_t>(g)];
      std::copy_n(memorised_images_.data() + g * per, per, images.data() + int64_t(p) * per);
      std::copy_n(train.data() + t * per, per, images.data() + int64_t(p + pairs) * per);
      distances.data()[p] = static_cast<float>(nearest_.distance[static_cast<size_t>(g)]);
    }
    std::vector<float> per_class(per_class_fd_.begin(), per_class_fd_.end());
    return {{"closest_pairs", images},
            {"closest_distances", distances},
            {"intra_fd_per_class", Tensor::from({int64_t(per_class.size())}, per_class)}};
  }

 private:
  void prepare(const Dataset& dataset) {
    std::optional<LabelledSet> set = dataset.labelled();
    if (!set)
      throw Error(
          "sample_quality needs a labelled image data set (fashion_mnist, digits, idx with "
          "`labels:`)");
    set_ = *set;
    net_ = cached_conv_classifier(set_, settings_, o_.cache_dir);
    data_counts_.assign(static_cast<size_t>(set_.classes), 0);
    for (int64_t c : set_.labels) ++data_counts_[static_cast<size_t>(c)];
    training_ = training_part(set_);
    Tensor unused;
    features_of(training_.data, train_features_, unused);
    const LabelledSet unseen = held_out_part(set_);
    const int64_t m = std::min(o_.memorisation_samples, unseen.data.size(0));
    Tensor f_unseen;
    features_of(slice(unseen.data, 0, 0, m), f_unseen, unused);
    unseen_to_train_ = nearest_rows(f_unseen, train_features_).distance;
  }

  Tensor draw_real(int64_t n, Rng& rng, std::vector<int64_t>& labels) const {
    const int64_t rows = set_.data.size(0), per = set_.data.numel() / rows;
    std::vector<int64_t> idx(static_cast<size_t>(rows));
    std::iota(idx.begin(), idx.end(), int64_t{0});
    Shape shape = set_.data.shape();
    shape[0] = n;
    Tensor out = Tensor::empty(shape);
    labels.clear();
    for (int64_t i = 0; i < n; ++i) {  // a partial Fisher–Yates shuffle: n distinct rows
      std::swap(idx[static_cast<size_t>(i)],
                idx[static_cast<size_t>(i) + rng.below(static_cast<uint64_t>(rows - i))]);
      const int64_t r = idx[static_cast<size_t>(i)];
      std::copy_n(set_.data.data() + r * per, per, out.data() + i * per);
      labels.push_back(set_.labels[static_cast<size_t>(r)]);
    }
    return out;
  }

  // Features [n, features] and class probabilities softmax(logits) [n, classes], in chunks.
  void features_of(const Tensor& images, Tensor& features, Tensor& probs) const {
    NoGradGuard no_grad;
    std::vector<Tensor> f, p;
    for (int64_t from = 0; from < images.size(0); from += kChunk) {
      const Tensor x = slice(images, 0, from, std::min(images.size(0), from + kChunk));
      f.push_back(net_->features(x));
      const Tensor logits = net_->head(f.back());
      const int64_t k = logits.size(1);
      Tensor q = Tensor::empty(logits.shape());
      for (int64_t i = 0; i < logits.size(0); ++i) {
        const float* z = logits.data() + i * k;
        const double top = *std::max_element(z, z + k);
        double total = 0;
        for (int64_t c = 0; c < k; ++c) total += std::exp(z[c] - top);
        for (int64_t c = 0; c < k; ++c)
          q.data()[i * k + c] = static_cast<float>(std::exp(z[c] - top) / total);
      }
      p.push_back(q);
    }
    features = concat(f, 0);
    probs = concat(p, 0);
  }

  static std::vector<int64_t> argmax(const Tensor& probs) {
    const int64_t k = probs.size(1);
    std::vector<int64_t> out;
    for (int64_t i = 0; i < probs.size(0); ++i) {
      const float* row = probs.data() + i * k;
      out.push_back(std::max_element(row, row + k) - row);
    }
    return out;
  }

  std::vector<double> intra_fd(const Tensor& f_fake, const std::vector<int64_t>& fake_class,
                               const Tensor& f_real, const std::vector<int64_t>& real_class) const {
    std::vector<double> out;
    auto rows_of = [](const Tensor& f, const std::vector<int64_t>& cls, int64_t c) {
      std::vector<int64_t> idx;
      for (size_t i = 0; i < cls.size(); ++i)
        if (cls[i] == c) idx.push_back(static_cast<int64_t>(i));
      const int64_t d = f.size(1);
      Tensor out = Tensor::empty({int64_t(idx.size()), d});
      for (size_t r = 0; r < idx.size(); ++r)
        std::copy_n(f.data() + idx[r] * d, d, out.data() + int64_t(r) * d);
      return out;
    };
    for (int64_t c = 0; c < set_.classes; ++c) {
      const Tensor a = rows_of(f_fake, fake_class, c), b = rows_of(f_real, real_class, c);
      out.push_back(a.size(0) >= 2 && b.size(0) >= 2
                        ? frechet_distance(fit_gaussian(a), fit_gaussian(b))
                        : std::numeric_limits<double>::quiet_NaN());
    }
    return out;
  }

  Options o_;
  ConvClassifierSettings settings_;
  LabelledSet set_, training_;
  std::unique_ptr<ConvClassifier> net_;
  std::vector<int64_t> data_counts_;
  Tensor train_features_;
  std::vector<double> unseen_to_train_;
  // from the last evaluation, for final_arrays
  std::vector<double> per_class_fd_;
  Tensor memorised_images_;
  Nearest nearest_;
};

}  // namespace

KANT_COMPONENT(SampleQuality, "sample_quality", "1.0.0",
               "FD, intra-FD, Inception Score, KID, precision/recall, density/coverage, class "
               "coverage and reverse KL, and a memorisation check, on the features of a small "
               "convolutional classifier trained once per labelled image set and cached "
               "(scores comparable within the framework, not with Inception-based papers)")
