// Dataset `idx`: images in the IDX format of MNIST (LeCun et al.; files like
// train-images-idx3-ubyte, gzip-compressed or not) from a path the user gives, with an
// optional labels file (then each batch carries its images' labels). Header: two zero bytes, the
// element type (0x08 = unsigned byte), the number of dimensions d, then d big-endian 32-bit sizes;
// the elements follow in row-major order. Images are [n, rows, cols] (one channel) or [n, channels,
// rows, cols], scaled from 0…255 to [−1, 1], optionally resized.
#include <fmt/format.h>

#include "image_set.hpp"
#include "kant/error.hpp"
#include "kant/plugin.hpp"

namespace {
using namespace kant;

struct IdxArray {
  std::vector<int64_t> dims;
  std::string bytes;  // the unsigned-byte elements
};

IdxArray parse_idx(const std::string& path) {
  std::string raw = images::read_maybe_gzip(path, "idx");
  auto byte = [&](size_t i) { return static_cast<unsigned char>(raw[i]); };
  if (raw.size() < 4 || byte(0) != 0 || byte(1) != 0)
    throw Error(
        fmt::format("idx: {} is not an IDX file (it must start with two zero bytes)", path));
  if (byte(2) != 0x08)
    throw Error(
        fmt::format("idx: {} holds elements of type 0x{:02x}; only unsigned bytes (0x08) "
                    "are supported",
                    path, byte(2)));
  const size_t d = byte(3);
  if (d == 0 || raw.size() < 4 + 4 * d) throw Error(fmt::format("idx: {}: truncated header", path));
  IdxArray a;
  size_t count = 1;
  for (size_t k = 0; k < d; ++k) {
    const size_t at = 4 + 4 * k;
    const int64_t size =
        (int64_t{byte(at)} << 24) | (byte(at + 1) << 16) | (byte(at + 2) << 8) | byte(at + 3);
    a.dims.push_back(size);
    // a product that wraps around could pass for the file's size below
    if (size > 0 && count > ~size_t{0} / static_cast<size_t>(size))
      throw Error(
          fmt::format("idx: {}: the header announces over 2^64 elements but the file holds {}",
                      path, raw.size() - 4 - 4 * d));
    count *= static_cast<size_t>(size);
  }
  if (raw.size() != 4 + 4 * d + count)
    throw Error(fmt::format("idx: {}: the header announces {} elements but the file holds {}", path,
                            count, raw.size() - 4 - 4 * d));
  a.bytes = raw.substr(4 + 4 * d);
  return a;
}

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
