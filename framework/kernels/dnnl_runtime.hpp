// Internal: the process's oneDNN engine and stream, the primitive cache, and helpers that wrap
// raw fp32 buffers as oneDNN memory. Shared by the kernel files; nothing outside kernels uses it.
#pragma once
#include <omp.h>

#include <algorithm>
#include <array>
#include <cstring>
#include <initializer_list>
#include <oneapi/dnnl/dnnl.hpp>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "kant/error.hpp"
#include "kant/tensor.hpp"

namespace kant::kernels::dnnl_rt {

using dnnl::memory;
using tag = memory::format_tag;
using dt = memory::data_type;

/// A primitive's cache key: small integers (the kernel, sizes, flags, a float's bits), compared
/// and hashed as they are, so that a look-up neither formats nor allocates.
struct Key {
  std::array<int64_t, 32> words{};
  size_t size = 0;
  Key& operator<<(int64_t w) {
    if (size == words.size()) throw TensorError("kernel cache key longer than 32 words");
    words[size++] = w;
    return *this;
  }
  Key& operator<<(float f) {
    uint32_t bits;
    std::memcpy(&bits, &f, sizeof bits);
    return *this << static_cast<int64_t>(bits);
  }
  Key& operator<<(const Shape& s) {
    *this << static_cast<int64_t>(s.size());
    for (int64_t d : s) *this << d;
    return *this;
  }
  bool operator==(const Key& o) const {
    return size == o.size && std::equal(words.begin(), words.begin() + size, o.words.begin());
  }
};

struct KeyHash {
  size_t operator()(const Key& k) const {  // FNV-1a over the words
    uint64_t h = 1469598103934665603ull;
    for (size_t i = 0; i < k.size; ++i)
      h = (h ^ static_cast<uint64_t>(k.words[i])) * 1099511628211ull;
    return static_cast<size_t>(h);
  }
};

/// Work below which a kernel runs on the calling thread alone, whatever set_threads said: at the
/// toy networks' sizes (a_tiny: width 16, batch 16) opening an OpenMP region costs more than the
/// kernel. Measured with kant_bench a_tiny and the larger workloads (docs/performance.md).
inline constexpr int64_t kSerialMatmulFlops = 1 << 17;  ///< 2·m·k·n: 64 × 32 × 32 and below
inline constexpr int64_t kSerialElements = 1 << 14;     ///< element-wise kernels

/// While it lives and `serial` holds, OpenMP on this thread is limited to one thread; oneDNN
/// reads that limit when it creates a primitive (its thread partition) and when it runs one.
class SerialScope {
 public:
  explicit SerialScope(bool serial) : before_(serial ? omp_get_max_threads() : 1) {
    if (before_ > 1) omp_set_num_threads(1);
  }
  ~SerialScope() {
    if (before_ > 1) omp_set_num_threads(before_);
  }
  SerialScope(const SerialScope&) = delete;
  SerialScope& operator=(const SerialScope&) = delete;

 private:
  int before_;
};

/// A primitive with its arguments bound once to memory objects (plain descriptors, no data);
/// each call only points them at its buffers, so executing allocates nothing. A serial one was
/// created, and always runs, on one thread (SerialScope).
class Bound {
 public:
  Bound(dnnl::primitive prim, const std::vector<std::pair<int, memory::desc>>& args,
        const dnnl::engine& engine)
      : prim_(std::move(prim)) {
    for (const auto& [id, md] : args) {
      memories_.emplace_back(md, engine, static_cast<void*>(nullptr));  // no buffer yet
      args_.emplace(id, memories_.back());
    }
  }
  /// Executes on `data`, one buffer per argument in the order they were bound.
  void operator()(dnnl::stream& stream, std::initializer_list<const void*> data) {
    size_t i = 0;
    for (const void* p : data) memories_[i++].set_data_handle(const_cast<void*>(p));
    SerialScope scope(serial_);
    prim_.execute(stream, args_);
    stream.wait();
  }

 private:
  template <typename Make>
  friend Bound& bound(const Key& key, bool serial, Make&& make);
  dnnl::primitive prim_;
  std::vector<memory> memories_;
  std::unordered_map<int, memory> args_;
  bool serial_ = false;
};

struct Runtime {
  dnnl::engine engine{dnnl::engine::kind::cpu, 0};
  dnnl::stream stream{engine};
  std::unordered_map<std::string, dnnl::primitive> cache;
  std::unordered_map<Key, Bound, KeyHash> bound;
};

inline Runtime& rt() {
  static Runtime r;
  return r;
}

inline memory::dims dims_of(const Shape& s) {
  if (s.empty()) return {1};
  return memory::dims(s.begin(), s.end());
}

/// Dense row-major descriptor of `s`.
inline memory::desc plain_md(const Shape& s) {
  memory::dims d = dims_of(s);
  memory::dims strides(d.size());
  int64_t stride = 1;
  for (size_t i = d.size(); i-- > 0;) {
    strides[i] = stride;
    stride *= d[i];
  }
  return memory::desc(d, dt::f32, strides);
}

inline memory mem(const memory::desc& md, const float* p) {
  return memory(md, rt().engine, const_cast<float*>(p));
}

/// The cached primitive for `key`, built with `make` on first use.
template <typename Make>
dnnl::primitive& cached(const std::string& key, Make&& make) {
  auto& cache = rt().cache;
  auto it = cache.find(key);
  if (it == cache.end()) it = cache.emplace(key, make()).first;
  return it->second;
}

/// The bound primitive for `key`, built with `make` (returning a Bound) on first use, on one
/// thread when `serial` (the kernel's work is below kSerial…); call it with the stream and the
/// buffers.
template <typename Make>
Bound& bound(const Key& key, bool serial, Make&& make) {
  auto& cache = rt().bound;
  auto it = cache.find(key);
  if (it == cache.end()) {
    SerialScope scope(serial);
    it = cache.emplace(key, make()).first;
    it->second.serial_ = serial;
  }
  return it->second;
}

inline void run(dnnl::primitive& p, std::unordered_map<int, memory> args) {
  p.execute(rt().stream, args);
  rt().stream.wait();
}

}  // namespace kant::kernels::dnnl_rt
