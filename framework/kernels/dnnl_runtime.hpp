// Internal: the process's oneDNN engine and stream, the primitive cache, and helpers that wrap
// raw fp32 buffers as oneDNN memory. Shared by the kernel files; nothing outside kernels uses it.
#pragma once
#include <oneapi/dnnl/dnnl.hpp>
#include <string>
#include <unordered_map>

#include "kant/tensor.hpp"

namespace kant::kernels::dnnl_rt {

using dnnl::memory;
using tag = memory::format_tag;
using dt = memory::data_type;

struct Runtime {
  dnnl::engine engine{dnnl::engine::kind::cpu, 0};
  dnnl::stream stream{engine};
  std::unordered_map<std::string, dnnl::primitive> cache;
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

inline void run(dnnl::primitive& p, std::unordered_map<int, memory> args) {
  p.execute(rt().stream, args);
  rt().stream.wait();
}

}  // namespace kant::kernels::dnnl_rt
