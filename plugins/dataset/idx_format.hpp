// The IDX format of MNIST (LeCun et al.), read by the idx and fashion_mnist data sets: two zero
// bytes, the element type (0x08 = unsigned byte), the number of dimensions d, then d big-endian
// 32-bit sizes; the elements follow in row-major order. Files may be gzip-compressed.
#pragma once
#include <fmt/format.h>

#include <string>
#include <vector>

#include "image_set.hpp"
#include "kant/error.hpp"

namespace kant::images {

struct IdxArray {
  std::vector<int64_t> dims;
  std::string bytes;  // the unsigned-byte elements
};

inline IdxArray parse_idx(const std::string& path) {
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

}  // namespace kant::images
