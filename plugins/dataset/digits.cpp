// Dataset `digits`: the 1,797 8×8 handwritten digits (UCI optdigits test set) that
// scikit-learn ships as sklearn/datasets/data/digits.csv.gz — rows of 64 pixel values in
// 0…16 and the label. Pixels are scaled to [−1, 1] and optionally resized (bilinear) to 28,
// 32 or 64 px so that image architectures apply; batches are drawn uniformly with replacement.
// Each batch carries its images' labels (0…9), also kept whole for classifier_scores.
#include <fmt/format.h>

#include <filesystem>
#include <sstream>

#include "image_set.hpp"
#include "kant/error.hpp"
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
        for (const char* sub : {"dist-packages", "site-packages"})
          roots.push_back(entry.path() / sub);
  }
  for (const fs::path& root : roots)
    if (fs::exists(root / kRelative)) return root / kRelative;
  throw Error(fmt::format(
      "digits: cannot find {} in the Python package directories; install the Debian package "
      "python3-sklearn (apt-get install python3-sklearn) or set `path:` to the file",
      kRelative));
}

struct DigitsOptions {
  int64_t size;
  std::string path;
  static void declare(Declare<DigitsOptions>& d) {
    d(&DigitsOptions::size,
      param::integer("size", 8, "side in pixels: 8, or 28, 32, 64 (resized bilinearly)")
          .range(8, 64));
    d(&DigitsOptions::path,
      param::string("path", "", "digits.csv.gz to read; empty: find scikit-learn's"));
  }
};

std::unique_ptr<Dataset> load_digits(const DigitsOptions& o, uint64_t) {
  if (o.size != 8 && o.size != 28 && o.size != 32 && o.size != 64)
    throw Error(fmt::format("digits: size {} is not one of 8, 28, 32, 64", o.size));
  const fs::path path = o.path.empty() ? find_digits_csv() : fs::path(o.path);
  std::istringstream in(images::read_maybe_gzip(path, "digits"));
  std::vector<float> pixels;
  std::vector<int64_t> labels;
  std::string line;
  int64_t line_no = 0;
  while (std::getline(in, line)) {
    ++line_no;
    if (line.empty()) continue;
    std::istringstream fields(line);
    std::string field;
    int64_t count = 0;
    while (std::getline(fields, field, ',')) {
      try {
        if (count++ == 64)
          labels.push_back(std::stoll(field));
        else
          pixels.push_back(std::stof(field) / 8.0f - 1.0f);  // 0…16 → −1…1
      } catch (const std::exception&) {
        throw Error(
            fmt::format("digits: {}:{}: '{}' is not a number", path.string(), line_no, field));
      }
    }
    if (count != 65)
      throw Error(
          fmt::format("digits: {}:{}: {} fields, expected 65", path.string(), line_no, count));
    if (labels.back() < 0 || labels.back() > 9)
      throw Error(fmt::format("digits: {}:{}: label {} is not a digit", path.string(), line_no,
                              labels.back()));
  }
  const auto rows = static_cast<int64_t>(labels.size());
  if (rows == 0) throw Error(fmt::format("digits: {} holds no images", path.string()));
  return std::make_unique<images::ImageSet>(Tensor::from({rows, 1, 8, 8}, pixels), labels, o.size);
}

}  // namespace

KANT_COMPONENT_FN(load_digits, "digits", "1.0.0",
                  "the 1,797 8×8 handwritten digits shipped with scikit-learn (python3-sklearn), "
                  "in [−1, 1], optionally resized")
