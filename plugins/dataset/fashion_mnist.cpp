// Dataset `fashion_mnist`: Zalando's Fashion-MNIST (Xiao, Rasul & Vollgraf 2017), 60,000 training
// and 10,000 test 28×28 grey images of 10 clothing classes in the IDX format (idx_format.hpp),
// found where Debian's dataset-fashion-mnist installs them. Pixels 0…255 → [−1, 1]; size 32
// pads 2 px of background (−1) on each side. An optional class subset keeps those classes,
// relabelled 0…k−1 in the order given. labelled() gives the split's images with their labels
// and, for the train split, the test split as the held-out set a feature network is scored on.
#include <fmt/format.h>

#include <filesystem>
#include <set>

#include "idx_format.hpp"
#include "image_set.hpp"
#include "kant/error.hpp"
#include "kant/plugin.hpp"

namespace {
using namespace kant;
namespace fs = std::filesystem;

constexpr const char* kDebianDir = "/usr/share/datasets/fashion-mnist";
constexpr int64_t kClasses = 10;

struct FashionMnistOptions {
  std::string split, path;
  std::vector<int64_t> classes;
  int64_t size;
  static void declare(Declare<FashionMnistOptions>& d) {
    d(&FashionMnistOptions::split,
      param::choice("split", "train", {"train", "test"},
                    "which images are drawn: the 60,000 training or the 10,000 test images"));
    d(&FashionMnistOptions::classes,
      param::integers("classes", {},
                      "keep only these classes (0 T-shirt/top, 1 trouser, 2 pullover, 3 dress, 4 "
                      "coat, 5 sandal, 6 shirt, 7 sneaker, 8 bag, 9 ankle boot), relabelled 0…k−1 "
                      "in this order; empty: all ten")
          .range(0, kClasses - 1));
    d(&FashionMnistOptions::size,
      param::integer("size", 28, "side in pixels: 28 as stored, or 32 (2 px of background padded)")
          .range(28, 32));
    d(&FashionMnistOptions::path,
      param::string("path", "",
                    "folder holding {train,t10k}-{images-idx3,labels-idx1}-ubyte.gz; empty: "
                    "/usr/share/datasets/fashion-mnist (Debian's dataset-fashion-mnist)"));
  }
};

fs::path file_of(const fs::path& dir, const std::string& split, const char* what) {
  const std::string stem = (split == "train" ? "train-" : "t10k-") + std::string(what);
  for (const char* ext : {".gz", ""})
    if (fs::exists(dir / (stem + ext))) return dir / (stem + ext);
  throw Error(fmt::format(
      "fashion_mnist: no {} in {}; install Fashion-MNIST with `apt-get install "
      "dataset-fashion-mnist` (scripts/setup.sh does) or set `path:` to a folder holding it",
      stem + ".gz", dir.string()));
}

// One split: images [n, 1, size, size] in [−1, 1] and labels, keeping only `keep` (relabelled).
std::pair<Tensor, std::vector<int64_t>> read_split(const fs::path& dir, const std::string& split,
                                                   const std::vector<int64_t>& keep, int64_t size) {
  const fs::path images_file = file_of(dir, split, "images-idx3-ubyte"),
                 labels_file = file_of(dir, split, "labels-idx1-ubyte");
  images::IdxArray im = images::parse_idx(images_file.string()),
                   lab = images::parse_idx(labels_file.string());
  if (im.dims.size() != 3 || im.dims[1] != 28 || im.dims[2] != 28)
    throw Error(fmt::format("fashion_mnist: {} does not hold 28×28 images", images_file.string()));
  if (lab.dims.size() != 1 || lab.dims[0] != im.dims[0])
    throw Error(fmt::format("fashion_mnist: {} must hold one label per image ({})",
                            labels_file.string(), im.dims[0]));
  std::vector<int64_t> relabel(kClasses, -1);
  for (size_t k = 0; k < keep.size(); ++k) relabel[static_cast<size_t>(keep[k])] = int64_t(k);
  if (keep.empty())
    for (int64_t c = 0; c < kClasses; ++c) relabel[static_cast<size_t>(c)] = c;
  const int64_t pad = (size - 28) / 2, per = size * size;
  std::vector<float> pixels;
  std::vector<int64_t> labels;
  for (int64_t i = 0; i < im.dims[0]; ++i) {
    const auto label = static_cast<unsigned char>(lab.bytes[static_cast<size_t>(i)]);
    if (label >= kClasses)
      throw Error(fmt::format("fashion_mnist: {}: label {} of image {} is not a class 0…9",
                              labels_file.string(), int{label}, i));
    if (relabel[label] < 0) continue;
    labels.push_back(relabel[label]);
    pixels.resize(pixels.size() + static_cast<size_t>(per), -1.0f);
    float* out = pixels.data() + pixels.size() - per;
    const char* in = im.bytes.data() + i * 28 * 28;
    for (int64_t r = 0; r < 28; ++r)
      for (int64_t c = 0; c < 28; ++c)
        out[(r + pad) * size + c + pad] =
            static_cast<float>(static_cast<unsigned char>(in[r * 28 + c])) / 127.5f - 1.0f;
  }
  const auto n = static_cast<int64_t>(labels.size());
  return {Tensor::from({n, 1, size, size}, pixels), labels};
}

std::unique_ptr<Dataset> load_fashion_mnist(const FashionMnistOptions& o, uint64_t) {
  if (o.size != 28 && o.size != 32)
    throw Error(fmt::format("fashion_mnist: size {} is not 28 or 32", o.size));
  if (std::set<int64_t>(o.classes.begin(), o.classes.end()).size() != o.classes.size())
    throw Error(
        fmt::format("fashion_mnist: classes [{}] name a class twice", fmt::join(o.classes, ", ")));
  const fs::path dir = o.path.empty() ? fs::path(kDebianDir) : fs::path(o.path);
  auto [images, labels] = read_split(dir, o.split, o.classes, o.size);
  auto set = std::make_unique<images::ImageSet>(images, labels, 0);
  if (o.split == "train") {
    auto [test, test_labels] = read_split(dir, "test", o.classes, o.size);
    set->set_held_out(test, test_labels);
  }
  return set;
}

}  // namespace

KANT_COMPONENT_FN(load_fashion_mnist, "fashion_mnist", "1.0.0",
                  "Zalando's Fashion-MNIST (dataset-fashion-mnist): 28×28 grey clothing images in "
                  "10 classes, train or test split, optional class subset, 28 or 32 px, in [−1, 1]")
