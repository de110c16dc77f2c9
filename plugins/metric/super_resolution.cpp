// Metric `super_resolution` for cells whose generator takes a low-resolution image (procedure
// super_resolution): on the first n held-out images x (the data set's test split where it has
// one, else every fifth image; the same images in every cell), pooled as the procedure pools them
// (x_lr = avgpool_f(x), f read from the generator's input), it compares y = G(x_lr) with x,
//   mse, psnr       MSE = mean (y − x)² over every pixel, PSNR = 10·log10(range²/MSE) with
//                   range = 2 for data in [−1, 1] (PSNR of the mean MSE over the n images)
//   psnr_bilinear, psnr_nearest   the same for x_lr upsampled bilinearly (half-pixel centres) or
//                   by repeating pixels: the baselines a learnt upsampler has to beat
//   sharpness       the mean squared Laplacian (as metric `sharpness`) of y, of x, and their ratio
//   high_frequency  the share of the non-constant spectral energy above half the Nyquist
//                   frequency (kant/image_statistics.hpp) of y, of x and of the bilinear baseline
//   accuracy        the feature network's (the cached convolutional classifier of
//                   sample_quality) accuracy on y against x's labels, on x and on the baseline
// Lotter et al. 2016 and Ledig et al. 2017: "MSE tends to produce blurry images" — the MSE
// model has the best PSNR and sharpness/high-frequency energy below the data's; an adversarial
// term lowers PSNR and brings them to the data's. At the end, `comparison` stores `columns` of
// those images as rows x_lr (pixels repeated to full size), G(x_lr), x, which the report draws.
#include <fmt/format.h>

#include <algorithm>

#include "kant/autodiff.hpp"
#include "kant/classifier.hpp"
#include "kant/error.hpp"
#include "kant/image_statistics.hpp"
#include "kant/metric_rules.hpp"
#include "kant/ops.hpp"
#include "kant/plugin.hpp"

namespace {
using namespace kant;

constexpr int64_t kChunk = 500;  // images per forward pass (bounds memory, not results)

// The pooling factor f of a generator that maps [C, H/f, W/f] to [C, H, W] images; 0 when it
// takes inputs of shape `input` that are no such image.
int64_t pooling_factor(const Shape& input, const Shape& data) {
  if (input.size() != 3 || data.size() != 3 || input[0] != data[0] || input[1] <= 0 ||
      data[1] % input[1] != 0)
    return 0;
  const int64_t f = data[1] / input[1];
  return f > 1 && input[2] * f == data[2] ? f : 0;
}

std::vector<int64_t> first_labels(const std::vector<int64_t>& labels, int64_t n) {
  return {labels.begin(), labels.begin() + n};
}

double share_right(const std::vector<int64_t>& predicted, const std::vector<int64_t>& labels) {
  int64_t right = 0;
  for (size_t i = 0; i < predicted.size(); ++i) right += predicted[i] == labels[i];
  return static_cast<double>(right) / static_cast<double>(predicted.size());
}

class SuperResolutionScores : public Metric {
 public:
  struct Options {
    int64_t samples, columns;
    std::string cache_dir;
    static void declare(Declare<Options>& d) {
      d(&Options::samples,
        param::integer("samples", 1000,
                       "held-out images compared (the first n of the test split, or of every "
                       "fifth image)")
            .at_least(1));
      d(&Options::columns,
        param::integer("columns", 10, "images in the final comparison grid (0: none)").at_least(0));
      d(&Options::cache_dir, cache_dir_param("feature networks"));
    }
  };
  static std::vector<StoredValue> stored() {
    return {
        stored::value("mse", "mean squared error per pixel of G(x_lr) to the true image x"),
        stored::value("psnr", "10·log10(2²/MSE) in dB (pixels in [−1, 1]: range 2)"),
        stored::value("psnr_bilinear", "PSNR of x_lr upsampled bilinearly (the baseline)"),
        stored::value("psnr_nearest", "PSNR of x_lr upsampled by repeating its pixels"),
        stored::value("sharpness", "the mean squared Laplacian of G(x_lr)"),
        stored::value("sharpness_data", "the mean squared Laplacian of the true images"),
        stored::value("sharpness_ratio", "sharpness / sharpness_data (1: as sharp as the data)"),
        stored::value("high_frequency",
                      "share of G(x_lr)'s non-constant spectral energy above half the Nyquist "
                      "frequency (‖f‖ > ¼ cycle per pixel)"),
        stored::value("high_frequency_data", "the same share for the true images"),
        stored::value("high_frequency_bilinear", "the same share for the bilinear baseline"),
        stored::value("accuracy",
                      "the feature network's accuracy on G(x_lr) against the true labels"),
        stored::value("accuracy_data", "its accuracy on the true images themselves"),
        stored::value("accuracy_bilinear", "its accuracy on the bilinear baseline"),
        stored::array("comparison",
                      "at the end, `columns` images as three rows [3, columns, C, H, W]: x_lr "
                      "(pixels repeated), G(x_lr), x; the report draws them")};
  }
  // Whether the generator takes pooled images is checked when the metric first runs (one line
  // naming the shape it takes): a rule at validate time would need the generator's input shape,
  // which a CellView gives only by building each cell's networks and data set (35 s and 1.4 GB
  // for experiments/super_resolution.yaml on a busy machine).
  static MetricRequirements requirements() {
    return {{rules::labelled_data(), rules::image_data()}};
  }

  explicit SuperResolutionScores(const Options& o) : o_(o) {}

  std::vector<std::string> value_names() const override {
    return {"mse",
            "psnr",
            "psnr_bilinear",
            "psnr_nearest",
            "sharpness",
            "sharpness_data",
            "sharpness_ratio",
            "high_frequency",
            "high_frequency_data",
            "high_frequency_bilinear",
            "accuracy",
            "accuracy_data",
            "accuracy_bilinear"};
  }

  std::map<std::string, double> compute(MetricContext& ctx) override {
    prepare(ctx);
    NoGradGuard no_grad;
    const int64_t h = truth_.size(2), w = truth_.size(3);
    const Tensor output = generated(ctx, low_);
    const Tensor bilinear = clamp(resize(low_, h, w, Resize::bilinear), -1.0f, 1.0f),
                 nearest = resize(low_, h, w, Resize::nearest);
    const double mse = mean_squared_error(output, truth_);
    const double sharp = mean_squared_laplacian(output, "super_resolution"),
                 sharp_data = mean_squared_laplacian(truth_, "super_resolution");
    return {{"mse", mse},
            {"psnr", psnr(mse)},
            {"psnr_bilinear", psnr(mean_squared_error(bilinear, truth_))},
            {"psnr_nearest", psnr(mean_squared_error(nearest, truth_))},
            {"sharpness", sharp},
            {"sharpness_data", sharp_data},
            {"sharpness_ratio", sharp / sharp_data},
            {"high_frequency", high_frequency_share(output)},
            {"high_frequency_data", high_frequency_share(truth_)},
            {"high_frequency_bilinear", high_frequency_share(bilinear)},
            {"accuracy", share_right(net_->predict(output), labels_)},
            {"accuracy_data", share_right(net_->predict(truth_), labels_)},
            {"accuracy_bilinear", share_right(net_->predict(bilinear), labels_)}};
  }

  std::map<std::string, Tensor> final_arrays(MetricContext& ctx) override {
    if (o_.columns == 0) return {};
    prepare(ctx);
    NoGradGuard no_grad;
    const int64_t m = std::min(o_.columns, truth_.size(0));
    const Tensor low = slice(low_, 0, 0, m), truth = slice(truth_, 0, 0, m);
    const Tensor rows = concat(
        {resize(low, truth.size(2), truth.size(3), Resize::nearest), generated(ctx, low), truth},
        0);
    Shape shape{3, m};
    shape.insert(shape.end(), truth.shape().begin() + 1, truth.shape().end());
    return {{"comparison", Tensor::from(shape, rows.to_vector())}};
  }

 private:
  // G(x_lr) in chunks
  Tensor generated(MetricContext& ctx, const Tensor& low) const {
    return in_row_chunks(low, kChunk, [&](const Tensor& x) { return ctx.generator.forward(x); });
  }

  // the held-out images, their pooled copies, labels and the feature network, once
  void prepare(MetricContext& ctx) {
    if (net_) return;
    std::optional<LabelledSet> set = ctx.dataset.labelled();
    if (!set) throw Error("super_resolution needs a labelled image data set");
    const Shape data(set->data.shape().begin() + 1, set->data.shape().end());
    const Shape input = ctx.noise(1).shape();
    const int64_t f = pooling_factor(Shape(input.begin() + 1, input.end()), data);
    if (f == 0)
      throw Error(
          fmt::format("super_resolution: the generator's inputs have shape {}, not the "
                      "data's {} images pooled (procedure super_resolution)",
                      shape_str(input), shape_str(data)));
    net_ = cached_conv_classifier(*set, ConvClassifierSettings{}, o_.cache_dir);
    const LabelledSet held_out = held_out_part(*set);
    const int64_t n = std::min(o_.samples, held_out.data.size(0));
    NoGradGuard no_grad;
    truth_ = slice(held_out.data, 0, 0, n).clone();
    labels_ = first_labels(held_out.labels, n);
    low_ = avg_pool2d(truth_, Pool2dOptions::square(f, f));
  }

  Options o_;
  Tensor truth_, low_;
  std::vector<int64_t> labels_;
  std::unique_ptr<ConvClassifier> net_;
};

}  // namespace

KANT_COMPONENT(SuperResolutionScores, "super_resolution", "1.0.0",
               "a super-resolution generator on held-out images: MSE and PSNR to the true image "
               "(beside bilinear and nearest upsampling), sharpness and high-frequency energy "
               "against the data's, the feature network's accuracy on its outputs, and a grid "
               "of input, output and truth")
