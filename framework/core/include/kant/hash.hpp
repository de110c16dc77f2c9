// FNV-1a 64 (Fowler–Noll–Vo): the content hash behind cell ids and cached classifiers.
#pragma once
#include <cstddef>
#include <cstdint>

namespace kant {

/// FNV-1a 64 of n bytes, continuing from `h` so that several buffers chain into one hash.
inline uint64_t fnv1a64(const void* data, size_t n, uint64_t h = 0xcbf29ce484222325ull) {
  const auto* p = static_cast<const unsigned char*>(data);
  for (size_t i = 0; i < n; ++i) {
    h ^= p[i];
    h *= 0x100000001b3ull;
  }
  return h;
}

}  // namespace kant
