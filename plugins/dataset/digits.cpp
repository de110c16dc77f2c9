// Dataset `digits`: the 1,797 8×8 handwritten digits (UCI optdigits test set) that
// scikit-learn ships as sklearn/datasets/data/digits.csv.gz — rows of 64 pixel values in
// 0…16 and the label. Pixels are scaled to [−1, 1] and optionally resized (bilinear) to 28,
// 32 or 64 px so that image architectures apply; batches are drawn uniformly with replacement.
#include <cstdio>
#include <filesystem>
#include <sstream>

#include <fmt/format.h>
#include <zlib.h>

#include "kant/autodiff.hpp"
#include "kant/error.hpp"
#include "kant/ops.hpp"
#include "kant/plugin.hpp"

namespace {
using namespace kant;
namespace fs = std::filesystem;

constexpr const char* kRelative = "sklearn/datasets/data/digits.csv.gz";

// The CSV under the Python package directories Debian and pip use.
fs::path find_digits_csv() {
  std::vector<fs::path> roots{"/usr/lib/python3/dist-packages"};
  for (const char* base : {"/usr/local/lib", "/usr/lib"}) {
    std::error_code ec;
    for (const auto& entry : fs::directory_iterator(base, ec))
      if (entry.path().filename().string().rfind("python3", 0) == 0)
        for (const char* sub : {"dist-packages", "site-packages"}) roots.push_back(entry.path() / sub);
  }
  for (const fs::path& root : roots)
    if (fs::exists(root / kRelative)) return root / kRelative;
  throw Error(fmt::format(
      "digits: cannot find {} in the Python package directories; install the Debian package "
      "python3-sklearn (apt-get install python3-sklearn) or set `path:` to the file",
      kRelative));
}

std::string read_gzip(const fs::path& path) {
  gzFile f = gzopen(path.c_str(), "rb");
  if (!f) throw Error(fmt::format("digits: cannot open {}", path.string()));
  std::string text;
  char buf[1 << 16];
  int got;
  while ((got = gzread(f, buf, sizeof buf)) > 0) text.append(buf, static_cast<size_t>(got));
  const bool failed = got < 0;
  gzclose(f);
  if (failed) throw Error(fmt::format("digits: {} is not a valid gzip file", path.string()));
  return text;
}

class Digits : public Dataset {
 public:
  Digits(const std::string& path_param, int64_t size) {
    if (size != 8 && size != 28 && size != 32 && size != 64)
      throw Error(fmt::format("digits: size {} is not one of 8, 28, 32, 64", size));
    const fs::path path = path_param.empty() ? find_digits_csv() : fs::path(path_param);
    if (!fs::exists(path)) throw Error(fmt::format("digits: no file {}", path.string()));
    std::istringstream in(read_gzip(path));
    std::vector<float> pixels;
    std::string line;
    int64_t rows = 0, line_no = 0;
    while (std::getline(in, line)) {
      ++line_no;
      if (line.empty()) continue;
      std::istringstream fields(line);
      std::string field;
      int64_t count = 0;
      while (std::getline(fields, field, ',')) {
        if (count++ == 64) continue;  // the label
        try {
          pixels.push_back(std::stof(field) / 8.0f - 1.0f);  // 0…16 → −1…1
        } catch (const std::exception&) {
          throw Error(fmt::format("digits: {}:{}: '{}' is not a number", path.string(), line_no, field));
        }
      }
      if (count != 65)
        throw Error(fmt::format("digits: {}:{}: {} fields, expected 65", path.string(), line_no, count));
      ++rows;
    }
    if (rows == 0) throw Error(fmt::format("digits: {} holds no images", path.string()));
    NoGradGuard no_grad;
    images_ = Tensor::from({rows, 1, 8, 8}, pixels);
    if (size != 8) images_ = clamp(resize(images_, size, size, Resize::bilinear), -1.0f, 1.0f);
  }

  Shape sample_shape() const override { return {1, images_.size(2), images_.size(3)}; }

  Tensor sample(int64_t n, Rng& rng) override {
    const int64_t per = images_.numel() / images_.size(0);
    Tensor out = Tensor::empty({n, 1, images_.size(2), images_.size(3)});
    for (int64_t i = 0; i < n; ++i) {
      const int64_t k = static_cast<int64_t>(rng.below(static_cast<uint64_t>(images_.size(0))));
      std::copy_n(images_.data() + k * per, per, out.data() + i * per);
    }
    return out;
  }

 private:
  Tensor images_;
};

}  // namespace

KANT_PLUGIN("digits", "1.0.0") {
  registrar.add({"digits", "1.0.0",
                 "the 1,797 8×8 handwritten digits shipped with scikit-learn (python3-sklearn), "
                 "in [−1, 1], optionally resized",
                 {param::integer("size", 8, "side in pixels: 8, or 28, 32, 64 (resized bilinearly)")
                      .range(8, 64),
                  param::string("path", "", "digits.csv.gz to read; empty: find scikit-learn's")},
                 DatasetFactory([](const Params& p, uint64_t) {
                   return std::make_unique<Digits>(p.string("path"), p.integer("size"));
                 })});
}
