// oneDNN 2.6 kernels behind kernels.hpp: memory desc → op desc → primitive desc → primitive,
// executed with named arguments; one engine and stream for the process; primitives cached.
#include "kernels/kernels.hpp"

#include <fmt/format.h>
#include <omp.h>

#include <cmath>
#include <cstring>
#include <limits>

#include "kant/error.hpp"
#include "kant/special_functions.hpp"
#include "kernels/dnnl_runtime.hpp"

namespace kant::kernels {
namespace {

using namespace dnnl_rt;

dnnl::algorithm eltwise_alg(Eltwise f) {
  using a = dnnl::algorithm;
  switch (f) {
    case Eltwise::relu:
      return a::eltwise_relu;
    case Eltwise::tanh:
      return a::eltwise_tanh;
    case Eltwise::logistic:
      return a::eltwise_logistic;
    case Eltwise::soft_relu:
      return a::eltwise_soft_relu;
    case Eltwise::exp:
      return a::eltwise_exp;
    case Eltwise::log:
      return a::eltwise_log;
    case Eltwise::sqrt:
      return a::eltwise_sqrt;
    case Eltwise::square:
      return a::eltwise_square;
    case Eltwise::abs:
      return a::eltwise_abs;
    case Eltwise::clip:
      return a::eltwise_clip;
    case Eltwise::linear:
      return a::eltwise_linear;
    case Eltwise::elu:
      return a::eltwise_elu;
    case Eltwise::gelu_erf:
      return a::eltwise_gelu_erf;
    case Eltwise::pow:
      return a::eltwise_pow;
  }
  throw TensorError("unknown eltwise kernel");
}

dnnl::algorithm eltwise_bwd_alg(EltwiseBackward f) {
  using a = dnnl::algorithm;
  switch (f) {
    case EltwiseBackward::relu:
      return a::eltwise_relu;
    case EltwiseBackward::tanh_use_dst:
      return a::eltwise_tanh_use_dst_for_bwd;
    case EltwiseBackward::logistic_use_dst:
      return a::eltwise_logistic_use_dst_for_bwd;
  }
  throw TensorError("unknown eltwise backward kernel");
}

dnnl::algorithm binary_alg(Binary f) {
  using a = dnnl::algorithm;
  switch (f) {
    case Binary::add:
      return a::binary_add;
    case Binary::sub:
      return a::binary_sub;
    case Binary::mul:
      return a::binary_mul;
    case Binary::div:
      return a::binary_div;
    case Binary::max:
      return a::binary_max;
    case Binary::min:
      return a::binary_min;
  }
  throw TensorError("unknown binary kernel");
}

}  // namespace

// Kernels' codes in their cache keys.
enum Code : int64_t { kMatmul, kEltwise, kEltwiseBackward, kBinary, kToBf16 };

namespace {

thread_local Precision product_precision_ = Precision::fp32;

/// x rounded to bf16 in `out` (a oneDNN reorder: round to nearest even).
const uint16_t* to_bf16(const float* x, int64_t n, std::vector<uint16_t>& out) {
  out.resize(static_cast<size_t>(n));
  Key key;
  key << kToBf16 << n;
  Bound& prim = bound(key, n < kSerialElements, [&] {
    memory::desc f32_md({n}, dt::f32, tag::a), bf16_md({n}, dt::bf16, tag::a);
    return Bound(
        dnnl::reorder(dnnl::reorder::primitive_desc(rt().engine, f32_md, rt().engine, bf16_md)),
        {{DNNL_ARG_FROM, f32_md}, {DNNL_ARG_TO, bf16_md}}, rt().engine);
  });
  prim(rt().stream, {x, out.data()});
  return out.data();
}

void matmul_at(Precision precision, const float* a, const float* b, const float* bias, float* c,
               int64_t m, int64_t k, int64_t n, bool transpose_a, bool transpose_b) {
  const bool bf16 = precision == Precision::bf16;
  Key key;
  key << kMatmul << m << k << n << int64_t{transpose_a} << int64_t{transpose_b}
      << int64_t{bias != nullptr} << int64_t{bf16};
  Bound& prim = bound(key, 2 * m * k * n < kSerialMatmulFlops, [&] {
    const dt operand = bf16 ? dt::bf16 : dt::f32;
    memory::desc a_md({m, k}, operand, transpose_a ? memory::dims{1, m} : memory::dims{k, 1});
    memory::desc b_md({k, n}, operand, transpose_b ? memory::dims{1, k} : memory::dims{n, 1});
    memory::desc c_md({m, n}, dt::f32, tag::ab);
    memory::desc bias_md({1, n}, dt::f32, tag::ab);
    auto d =
        bias ? dnnl::matmul::desc(a_md, b_md, bias_md, c_md) : dnnl::matmul::desc(a_md, b_md, c_md);
    std::vector<std::pair<int, memory::desc>> args{
        {DNNL_ARG_SRC, a_md}, {DNNL_ARG_WEIGHTS, b_md}, {DNNL_ARG_DST, c_md}};
    if (bias) args.emplace_back(DNNL_ARG_BIAS, bias_md);
    return Bound(dnnl::matmul(dnnl::matmul::primitive_desc(d, rt().engine)), args, rt().engine);
  });
  const void* a_in = a;
  const void* b_in = b;
  if (bf16) {  // kernels run one at a time per thread: one pair of buffers serves them all
    thread_local std::vector<uint16_t> a16, b16;
    a_in = to_bf16(a, m * k, a16);
    b_in = to_bf16(b, k * n, b16);
  }
  if (bias)
    prim(rt().stream, {a_in, b_in, c, bias});
  else
    prim(rt().stream, {a_in, b_in, c});
}

}  // namespace

void set_product_precision(Precision p) { product_precision_ = p; }
Precision product_precision() { return product_precision_; }

bool native_bf16() {
  using isa = dnnl::cpu_isa;
  switch (dnnl::get_effective_cpu_isa()) {
    case isa::avx512_core_bf16:
    case isa::avx512_core_amx:
      return true;
    default:
      return false;
  }
}

void matmul(const float* a, const float* b, const float* bias, float* c, int64_t m, int64_t k,
            int64_t n, bool transpose_a, bool transpose_b) {
  matmul_at(product_precision_, a, b, bias, c, m, k, n, transpose_a, transpose_b);
}

void eltwise(Eltwise f, float alpha, float beta, const float* x, float* y, int64_t n) {
  if (n == 0) return;
  Key key;
  key << kEltwise << static_cast<int64_t>(f) << alpha << beta << n;
  Bound& prim = bound(key, n < kSerialElements, [&] {
    memory::desc md({n}, dt::f32, tag::a);
    dnnl::eltwise_forward::desc d(dnnl::prop_kind::forward_inference, eltwise_alg(f), md, alpha,
                                  beta);
    return Bound(dnnl::eltwise_forward(dnnl::eltwise_forward::primitive_desc(d, rt().engine)),
                 {{DNNL_ARG_SRC, md}, {DNNL_ARG_DST, md}}, rt().engine);
  });
  prim(rt().stream, {x, y});
}

void eltwise_backward(EltwiseBackward f, float alpha, const float* diff_dst, const float* data,
                      float* diff_src, int64_t n) {
  if (n == 0) return;
  Key key;
  key << kEltwiseBackward << static_cast<int64_t>(f) << alpha << n;
  Bound& prim = bound(key, n < kSerialElements, [&] {
    memory::desc md({n}, dt::f32, tag::a);
    dnnl::algorithm alg = eltwise_bwd_alg(f);
    dnnl::eltwise_forward::desc fd(dnnl::prop_kind::forward_training, alg, md, alpha, 0.0f);
    dnnl::eltwise_forward::primitive_desc fpd(fd, rt().engine);
    dnnl::eltwise_backward::desc bd(alg, md, md, alpha, 0.0f);
    const int data_arg = f == EltwiseBackward::relu ? DNNL_ARG_SRC : DNNL_ARG_DST;
    return Bound(
        dnnl::eltwise_backward(dnnl::eltwise_backward::primitive_desc(bd, rt().engine, fpd)),
        {{DNNL_ARG_DIFF_DST, md}, {data_arg, md}, {DNNL_ARG_DIFF_SRC, md}}, rt().engine);
  });
  prim(rt().stream, {diff_dst, data, diff_src});
}

void binary(Binary f, const float* a, const float* b, float* c, const Shape& shape_c,
            const Shape& shape_b) {
  if (shape_numel(shape_c) == 0) return;
  Key key;
  key << kBinary << static_cast<int64_t>(f) << shape_c << shape_b;
  Bound& prim = bound(key, shape_numel(shape_c) < kSerialElements, [&] {
    memory::desc c_md = plain_md(shape_c);
    memory::desc b_md = plain_md(shape_b);
    dnnl::binary::desc d(binary_alg(f), c_md, b_md, c_md);
    return Bound(dnnl::binary(dnnl::binary::primitive_desc(d, rt().engine)),
                 {{DNNL_ARG_SRC_0, c_md}, {DNNL_ARG_SRC_1, b_md}, {DNNL_ARG_DST, c_md}},
                 rt().engine);
  });
  prim(rt().stream, {a, b, c});
}

namespace {

// A buffer of at least n ones (grown on demand, never shrunk).
const float* ones(int64_t n) {
  static std::vector<float> buf;
  if (static_cast<int64_t>(buf.size()) < n) buf.assign(static_cast<size_t>(n), 1.0f);
  return buf.data();
}

}  // namespace

// Sums over leading axes ([R, K] → [1, K]) or trailing axes ([K, R] → [K, 1]) are GEMVs with
// a ones vector: oneDNN's JIT matmul runs them far faster than 2.6's reference reduction.
// Other patterns (e.g. the middle axis of three) use the reduction primitive.
void reduce_sum(const float* x, const Shape& shape_x, float* y, const Shape& shape_y) {
  if (shape_x == shape_y) {
    std::memcpy(y, x, static_cast<size_t>(shape_numel(shape_x)) * sizeof(float));
    return;
  }
  if (shape_numel(shape_x) == 0) {
    std::memset(y, 0, static_cast<size_t>(shape_numel(shape_y)) * sizeof(float));
    return;
  }
  // collapse into runs of reduced (R) and kept (K) axes, ignoring size-1 axes
  std::vector<std::pair<bool, int64_t>> runs;
  for (size_t i = 0; i < shape_x.size(); ++i) {
    if (shape_x[i] == 1) continue;
    const bool reduced = shape_y[i] == 1;
    if (!runs.empty() && runs.back().first == reduced)
      runs.back().second *= shape_x[i];
    else
      runs.emplace_back(reduced, shape_x[i]);
  }
  if (runs.size() == 1 && runs[0].first) {  // everything: [1, R] · [R, 1]
    matmul_at(Precision::fp32, ones(runs[0].second), x, nullptr, y, 1, runs[0].second, 1, false,
              false);
    return;
  }
  if (runs.size() == 2 && runs[0].first) {  // [R, K] → ones[1, R] · x[R, K]
    matmul_at(Precision::fp32, ones(runs[0].second), x, nullptr, y, 1, runs[0].second,
              runs[1].second, false, false);
    return;
  }
  if (runs.size() == 2 && runs[1].first) {  // [K, R] → x[K, R] · ones[R, 1]
    matmul_at(Precision::fp32, x, ones(runs[1].second), nullptr, y, runs[0].second, runs[1].second,
              1, false, false);
    return;
  }
  if (runs.size() == 3 && runs[0].first) {  // [R, K, R']: x·ones over R', then ones·(·) over R
    const int64_t r = runs[0].second, k = runs[1].second, r2 = runs[2].second;
    static std::vector<float> partial;  // kernels run one at a time
    partial.resize(static_cast<size_t>(r * k));
    matmul_at(Precision::fp32, x, ones(r2), nullptr, partial.data(), r * k, r2, 1, false, false);
    matmul_at(Precision::fp32, ones(r), partial.data(), nullptr, y, 1, r, k, false, false);
    return;
  }
  memory::desc x_md = plain_md(shape_x);
  memory::desc y_md = plain_md(shape_y);
  std::string key = fmt::format("reduce_sum {} {}", shape_str(shape_x), shape_str(shape_y));
  auto& prim = cached(key, [&] {
    dnnl::reduction::desc d(dnnl::algorithm::reduction_sum, x_md, y_md, 0.0f, 0.0f);
    return dnnl::primitive(dnnl::reduction(dnnl::reduction::primitive_desc(d, rt().engine)));
  });
  run(prim, {{DNNL_ARG_SRC, mem(x_md, x)}, {DNNL_ARG_DST, mem(y_md, y)}});
}

// Plain loop: oneDNN has no broadcast-copy primitive. The innermost axis is either copied
// or splatted; outer axes walk with stride 0 where x has size 1.
void broadcast(const float* x, const Shape& shape_x, float* y, const Shape& shape_y) {
  const size_t rank = shape_y.size();
  if (rank == 0 || shape_numel(shape_y) == 0) {
    if (rank == 0) y[0] = x[0];
    return;
  }
  std::vector<int64_t> xstride(rank);
  int64_t s = 1;
  for (size_t i = rank; i-- > 0;) {
    xstride[i] = shape_x[i] == 1 ? 0 : s;
    s *= shape_x[i];
  }
  const int64_t inner = shape_y[rank - 1];
  const int64_t inner_stride = xstride[rank - 1];
  const int64_t outer = shape_numel(shape_y) / inner;
  std::vector<int64_t> idx(rank, 0);
  for (int64_t o = 0; o < outer; ++o) {
    int64_t xoff = 0;
    for (size_t i = 0; i + 1 < rank; ++i) xoff += idx[i] * xstride[i];
    float* yrow = y + o * inner;
    const float* xrow = x + xoff;
    if (inner_stride == 0) {
      for (int64_t j = 0; j < inner; ++j) yrow[j] = xrow[0];
    } else {
      std::memcpy(yrow, xrow, static_cast<size_t>(inner) * sizeof(float));
    }
    for (size_t i = rank - 1; i-- > 0;) {
      if (++idx[i] < shape_y[i]) break;
      idx[i] = 0;
    }
  }
}

void concat(const std::vector<const float*>& srcs, const std::vector<Shape>& shapes, int64_t axis,
            float* dst, const Shape& shape_dst) {
  std::vector<memory::desc> mds;
  std::string key = fmt::format("concat {}", axis);
  for (const Shape& s : shapes) {
    mds.push_back(plain_md(s));
    key += shape_str(s);
  }
  memory::desc dst_md = plain_md(shape_dst);
  auto& prim = cached(key, [&] {
    return dnnl::primitive(dnnl::concat(
        dnnl::concat::primitive_desc(dst_md, static_cast<int>(axis), mds, rt().engine)));
  });
  std::unordered_map<int, memory> args{{DNNL_ARG_DST, mem(dst_md, dst)}};
  for (size_t i = 0; i < srcs.size(); ++i)
    args.emplace(DNNL_ARG_MULTIPLE_SRC + static_cast<int>(i), mem(mds[i], srcs[i]));
  run(prim, std::move(args));
}

void copy_window(const float* src, float* dst, const Shape& big, const Shape& small,
                 const std::vector<int64_t>& offsets, bool big_to_small) {
  if (shape_numel(small) == 0) return;
  memory::desc big_md = plain_md(big);
  memory::desc small_md = plain_md(small);
  memory::dims offs =
      offsets.empty() ? memory::dims{0} : memory::dims(offsets.begin(), offsets.end());
  memory::desc block_md = big_md.submemory_desc(dims_of(small), offs);
  std::string key = fmt::format("copy_window {} {} {} {:d}", shape_str(big), shape_str(small),
                                shape_str(offsets), big_to_small);
  auto& prim = cached(key, [&] {
    return big_to_small ? dnnl::primitive(dnnl::reorder(dnnl::reorder::primitive_desc(
                              rt().engine, block_md, rt().engine, small_md)))
                        : dnnl::primitive(dnnl::reorder(dnnl::reorder::primitive_desc(
                              rt().engine, small_md, rt().engine, block_md)));
  });
  memory big_mem = mem(big_md, big_to_small ? src : dst);
  memory block(block_md, rt().engine, big_mem.get_data_handle());
  memory small_mem = mem(small_md, big_to_small ? dst : src);
  if (big_to_small)
    run(prim, {{DNNL_ARG_FROM, block}, {DNNL_ARG_TO, small_mem}});
  else
    run(prim, {{DNNL_ARG_FROM, small_mem}, {DNNL_ARG_TO, block}});
}

void copy_block(const float* src, float* dst, const Shape& big, const Shape& small, int64_t axis,
                int64_t offset, bool big_to_small) {
  std::vector<int64_t> offsets(big.size(), 0);
  offsets[static_cast<size_t>(axis)] = offset;
  copy_window(src, dst, big, small, offsets, big_to_small);
}

void permute(const float* x, const Shape& shape_x, const std::vector<int64_t>& perm, float* y) {
  if (shape_numel(shape_x) == 0) return;
  const size_t rank = shape_x.size();
  memory::dims x_strides(rank), out_dims(rank), src_strides(rank);
  int64_t stride = 1;
  for (size_t i = rank; i-- > 0;) {
    x_strides[i] = stride;
    stride *= shape_x[i];
  }
  Shape out(rank);
  for (size_t i = 0; i < rank; ++i) {
    out[i] = shape_x[static_cast<size_t>(perm[i])];
    src_strides[i] = x_strides[static_cast<size_t>(perm[i])];
  }
  // x read through permuted strides is y's logical layout; the reorder makes it dense
  memory::desc src_md(dims_of(out), dt::f32, src_strides);
  memory::desc dst_md = plain_md(out);
  auto& prim = cached(fmt::format("permute {} {}", shape_str(shape_x), shape_str(perm)), [&] {
    return dnnl::primitive(
        dnnl::reorder(dnnl::reorder::primitive_desc(rt().engine, src_md, rt().engine, dst_md)));
  });
  run(prim, {{DNNL_ARG_FROM, mem(src_md, x)}, {DNNL_ARG_TO, mem(dst_md, y)}});
}

void range_mask(const float* x, float* y, int64_t n, float lo, float hi) {
  for (int64_t i = 0; i < n; ++i) y[i] = (x[i] >= lo && x[i] <= hi) ? 1.0f : 0.0f;
}

void lambert_w(const float* x, float* y, int64_t n) {
  for (int64_t i = 0; i < n; ++i) {
    const double v = x[i];
    if (!(v >= -1.0 / M_E)) {
      y[i] = std::numeric_limits<float>::quiet_NaN();
      continue;
    }
    if (std::isinf(v)) {  // W(∞) = ∞ (the start log x − log log x would be ∞ − ∞)
      y[i] = x[i];
      continue;
    }
    // start: log1p for small and moderate x, log x − log log x for large x
    double w = v < 3.0 ? std::log1p(v) : std::log(v) - std::log(std::log(v));
    if (v < -0.3) w = -1.0 + std::sqrt(2.0 * (1.0 + M_E * v));  // branch point series
    for (int k = 0; k < 50; ++k) {
      const double e = std::exp(w), f = w * e - v;
      const double step = f / (e * (w + 1) - (w + 2) * f / (2 * w + 2));
      w -= step;
      if (std::abs(step) <= 1e-15 * (1 + std::abs(w))) break;
    }
    y[i] = static_cast<float>(w);
  }
}

void wright_omega(const float* x, float* y, int64_t n) {
  for (int64_t i = 0; i < n; ++i)
    y[i] = static_cast<float>(kant::wright_omega(static_cast<double>(x[i])));
}

void expm1(const float* x, float* y, int64_t n) {
  for (int64_t i = 0; i < n; ++i) y[i] = std::expm1(x[i]);
}

void log1p(const float* x, float* y, int64_t n) {
  for (int64_t i = 0; i < n; ++i) y[i] = std::log1p(x[i]);
}

void sign(const float* x, float* y, int64_t n) {
  for (int64_t i = 0; i < n; ++i) y[i] = static_cast<float>((x[i] > 0.0f) - (x[i] < 0.0f));
}

std::string cpu_isa() {
  using isa = dnnl::cpu_isa;
  switch (dnnl::get_effective_cpu_isa()) {
    case isa::sse41:
      return "sse41";
    case isa::avx:
      return "avx";
    case isa::avx2:
      return "avx2";
    case isa::avx512_mic:
      return "avx512_mic";
    case isa::avx512_mic_4ops:
      return "avx512_mic_4ops";
    case isa::avx512_core:
      return "avx512_core";
    case isa::avx512_core_vnni:
      return "avx512_core_vnni";
    case isa::avx512_core_bf16:
      return "avx512_core_bf16";
    case isa::avx512_core_amx:
      return "avx512_core_amx";
    case isa::avx2_vnni:
      return "avx2_vnni";
    default:
      return "other";
  }
}

void set_threads(int threads) { omp_set_num_threads(threads); }

std::string onednn_version() {
  const dnnl_version_t* v = dnnl_version();
  return fmt::format("{}.{}.{}", v->major, v->minor, v->patch);
}

}  // namespace kant::kernels
