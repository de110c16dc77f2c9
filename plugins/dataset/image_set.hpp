// Shared by the image data sets (digits, idx, fashion_mnist): reading a file that may be
// gzip-compressed, and a finite labelled set of [−1, 1] images served by uniform draws with
// replacement, each with its label where the set has labels.
#pragma once
#include <fmt/format.h>
#include <zlib.h>

#include <filesystem>
#include <string>

#include "kant/autodiff.hpp"
#include "kant/components.hpp"
#include "kant/error.hpp"
#include "kant/ops.hpp"

namespace kant::images {

/// The whole file; zlib reads plain files unchanged, so `.gz` is optional.
inline std::string read_maybe_gzip(const std::filesystem::path& path, const std::string& who) {
  if (!std::filesystem::exists(path))
    throw Error(fmt::format("{}: no file {}", who, path.string()));
  gzFile f = gzopen(path.c_str(), "rb");
  if (!f) throw Error(fmt::format("{}: cannot open {}", who, path.string()));
  std::string bytes;
  char buf[1 << 16];
  int got;
  while ((got = gzread(f, buf, sizeof buf)) > 0) bytes.append(buf, static_cast<size_t>(got));
  const bool failed = got < 0;
  gzclose(f);
  if (failed) throw Error(fmt::format("{}: {} is not a valid gzip file", who, path.string()));
  return bytes;
}

/// All images [n, c, h, w] in [−1, 1] with optional labels; draws uniformly with replacement.
class ImageSet : public Dataset {
 public:
  /// `size` > 0 resizes bilinearly to size × size.
  ImageSet(Tensor images, std::vector<int64_t> labels, int64_t size) : labels_(std::move(labels)) {
    NoGradGuard no_grad;
    images_ = images;
    if (size > 0 && size != images.size(2))
      images_ = clamp(resize(images, size, size, Resize::bilinear), -1.0f, 1.0f);
    for (int64_t l : labels_) classes_ = std::max(classes_, l + 1);
    frequencies_.assign(static_cast<size_t>(classes_), 0.0);
    for (int64_t l : labels_)
      frequencies_[static_cast<size_t>(l)] += 1.0 / static_cast<double>(labels_.size());
  }

  Shape sample_shape() const override {
    return {images_.size(1), images_.size(2), images_.size(3)};
  }

  Tensor sample(int64_t n, Rng& rng) override { return sample_batch(n, rng).x; }

  // one uniform index per image; its label comes with it
  Batch sample_batch(int64_t n, Rng& rng) override {
    const int64_t per = images_.numel() / images_.size(0);
    Shape shape = images_.shape();
    shape[0] = n;
    Batch out{Tensor::empty(shape), {}};
    for (int64_t i = 0; i < n; ++i) {
      const int64_t k = static_cast<int64_t>(rng.below(static_cast<uint64_t>(images_.size(0))));
      std::copy_n(images_.data() + k * per, per, out.x.data() + i * per);
      if (!labels_.empty()) out.labels.push_back(labels_[static_cast<size_t>(k)]);
    }
    return out;
  }

  std::vector<double> class_frequencies() const override { return frequencies_; }

  std::optional<LabelledSet> labelled() const override {
    if (labels_.empty()) return std::nullopt;
    return LabelledSet{images_, labels_, classes_, held_out_, held_out_labels_};
  }

  /// The data set's own test split (same shape, already resized), for labelled().
  void set_held_out(Tensor images, std::vector<int64_t> labels) {
    held_out_ = std::move(images);
    held_out_labels_ = std::move(labels);
  }

 private:
  Tensor held_out_;
  std::vector<int64_t> held_out_labels_;
  Tensor images_;
  std::vector<int64_t> labels_;
  int64_t classes_ = 0;
  std::vector<double> frequencies_;  // each class's share of the images
};

}  // namespace kant::images
