// Dataset `idx`: images in the IDX format of MNIST (LeCun et al.; files like
// train-images-idx3-ubyte, gzip-compressed or not; idx_format.hpp) from a path the user gives,
// with an optional labels file (then each batch carries its images' labels). Images are
// [n, rows, cols] (one channel) or [n, channels, rows, cols], scaled from 0…255 to [−1, 1],
// optionally resized.
#include <fmt/format.h>

#include "idx_format.hpp"
#include "image_set.hpp"
#include "kant/error.hpp"
#include "kant/plugin.hpp"

namespace {
using namespace kant;
using images::IdxArray;
using images::parse_idx;

struct IdxOptions {
  std::string images, labels;
  int64_t size, limit;
  static void declare(Declare<IdxOptions>& d) {
    d(&IdxOptions::images,
      param::required(ParamType::string, "images", "path of the IDX image file"));
    d(&IdxOptions::labels, param::string("labels", "", "path of the IDX label file (optional)"));
    d(&IdxOptions::size,
      param::integer("size", 0, "resize to size × size pixels (0: as stored)").range(0, 256));
    d(&IdxOptions::limit,
      param::integer("limit", 0, "use only the first n images (0: all)").at_least(0));
  }
};

std::unique_ptr<Dataset> load_idx(const IdxOptions& o, uint64_t) {
  const std::string& path = o.images;
  IdxArray im = parse_idx(path);
  if (im.dims.size() != 3 && im.dims.size() != 4)
    throw Error(
        fmt::format("idx: {} has {} dimensions; images need 3 ([n, rows, cols]) or 4 "
                    "([n, channels, rows, cols])",
                    path, im.dims.size()));
  Shape shape = im.dims;
  if (shape.size() == 3) shape.insert(shape.begin() + 1, 1);
  if (shape[2] != shape[3])
    throw Error(fmt::format("idx: {}: images are {}×{}, not square", path, shape[2], shape[3]));
  int64_t n = shape[0];
  if (o.limit > 0) n = std::min(n, o.limit);
  if (n == 0) throw Error(fmt::format("idx: {} holds no images", path));
  const int64_t per = shape[1] * shape[2] * shape[3];
  std::vector<float> pixels(static_cast<size_t>(n * per));
  for (size_t i = 0; i < pixels.size(); ++i)
    pixels[i] = static_cast<float>(static_cast<unsigned char>(im.bytes[i])) / 127.5f - 1.0f;
  std::vector<int64_t> labels;
  if (!o.labels.empty()) {
    IdxArray lab = parse_idx(o.labels);
    if (lab.dims.size() != 1 || lab.dims[0] != shape[0])
      throw Error(fmt::format("idx: {} must hold one label per image ({}), found shape [{}]",
                              o.labels, shape[0], fmt::join(lab.dims, ", ")));
    for (int64_t i = 0; i < n; ++i)
      labels.push_back(static_cast<unsigned char>(lab.bytes[static_cast<size_t>(i)]));
  }
  shape[0] = n;
  return std::make_unique<images::ImageSet>(Tensor::from(shape, pixels), labels, o.size);
}

}  // namespace

KANT_COMPONENT_FN(load_idx, "idx", "1.0.0",
                  "images from MNIST-format IDX files (optionally gzip-compressed), in [−1, 1]")
