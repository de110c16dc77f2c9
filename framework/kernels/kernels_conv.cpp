// oneDNN 2.6 kernels for images: convolutions with layouts chosen by oneDNN (format_tag::any)
// and cached reorders from/to our plain NCHW buffers; pooling, resampling and normalisation on
// plain layouts.
#include "kernels/kernels_conv.hpp"

#include <fmt/format.h>

#include <functional>
#include <map>
#include <memory>
#include <vector>

#include "kant/error.hpp"
#include "kernels/dnnl_runtime.hpp"
#include "kernels/kernels.hpp"

namespace kant::kernels {
namespace {

using namespace dnnl_rt;

/// A primitive together with the layouts it wants per argument, and, for arguments whose
/// layout differs from ours, a scratch buffer in its layout and the reorders to and from it.
/// Built once per geometry; executing it allocates nothing.
struct Prepared {
  dnnl::primitive prim;
  std::map<int, memory::desc> wants;
  std::map<int, memory> scratch;
  std::map<int, dnnl::reorder> reorders;  // input: user → scratch; output: scratch → user
};

struct Buffer {
  int arg;
  memory::desc plain;
  const float* data;
  bool output;
};

Prepared& prepared(const std::string& key, const std::function<Prepared()>& make) {
  static std::map<std::string, std::unique_ptr<Prepared>> cache;
  auto it = cache.find(key);
  if (it == cache.end()) it = cache.emplace(key, std::make_unique<Prepared>(make())).first;
  return *it->second;
}

void execute(Prepared& p, const std::vector<Buffer>& buffers) {
  auto& s = rt().stream;
  std::unordered_map<int, memory> args;
  std::vector<std::pair<const Buffer*, memory>> to_copy_out;
  for (const Buffer& b : buffers) {
    memory user = mem(b.plain, b.data);
    const memory::desc& want = p.wants.at(b.arg);
    if (want == b.plain) {
      args.emplace(b.arg, user);
      continue;
    }
    auto sit = p.scratch.find(b.arg);
    if (sit == p.scratch.end()) {
      sit = p.scratch.emplace(b.arg, memory(want, rt().engine)).first;
      p.reorders.emplace(
          b.arg, b.output ? dnnl::reorder(sit->second, user) : dnnl::reorder(user, sit->second));
    }
    if (!b.output)
      p.reorders.at(b.arg).execute(s, user, sit->second);
    else
      to_copy_out.emplace_back(&b, user);
    args.emplace(b.arg, sit->second);
  }
  p.prim.execute(s, args);
  for (auto& [b, user] : to_copy_out) p.reorders.at(b->arg).execute(s, p.scratch.at(b->arg), user);
  s.wait();
}

/// A convolution's plain descriptors (our buffers, fp32) and the oneDNN-chosen ones it runs
/// on: products' operands in `operand` (fp32, or bf16 at Precision::bf16: the reorder into the
/// chosen layout rounds them), results fp32.
struct ConvDescs {
  memory::desc x, w, y, bias;
  memory::dims x_dims, w_dims, y_dims, strides, dilates, pad_l, pad_r;
  dt operand = dt::f32;
  memory::desc any(const memory::dims& dims, bool is_operand) const {
    return memory::desc(dims, is_operand ? operand : dt::f32, tag::any);
  }
};

ConvDescs conv_descs(const ConvGeometry& g) {
  ConvDescs d;
  d.x = plain_md({g.n, g.c_in, g.h, g.w});
  d.y = plain_md({g.n, g.c_out, g.oh, g.ow});
  const Shape w = g.groups == 1
                      ? Shape{g.c_out, g.c_in, g.kh, g.kw}
                      : Shape{g.groups, g.c_out / g.groups, g.c_in / g.groups, g.kh, g.kw};
  d.w = plain_md(w);
  d.bias = plain_md({g.c_out});
  d.x_dims = {g.n, g.c_in, g.h, g.w};
  d.y_dims = {g.n, g.c_out, g.oh, g.ow};
  d.w_dims = dims_of(w);
  if (product_precision() == Precision::bf16) d.operand = dt::bf16;
  d.strides = {g.stride_h, g.stride_w};
  d.dilates = {g.dil_h - 1, g.dil_w - 1};
  d.pad_l = {g.pad_h, g.pad_w};
  // right padding that makes the output size exact (smaller than the left one when the
  // stride does not divide the padded extent)
  d.pad_r = {(g.oh - 1) * g.stride_h + (g.kh - 1) * g.dil_h + 1 - g.h - g.pad_h,
             (g.ow - 1) * g.stride_w + (g.kw - 1) * g.dil_w + 1 - g.w - g.pad_w};
  return d;
}

// The forward convolution (dst an operand of nothing: fp32), and the hint the backward ones are
// built with (dst in the operands' type, as the gradient they read).
dnnl::convolution_forward::primitive_desc conv_forward_pd(const ConvDescs& d, bool bias,
                                                          bool hint = false) {
  using cf = dnnl::convolution_forward;
  const memory::desc x = d.any(d.x_dims, true), w = d.any(d.w_dims, true),
                     y = d.any(d.y_dims, hint);
  auto desc = bias
                  ? cf::desc(dnnl::prop_kind::forward_training, dnnl::algorithm::convolution_direct,
                             x, w, d.bias, y, d.strides, d.dilates, d.pad_l, d.pad_r)
                  : cf::desc(dnnl::prop_kind::forward_training, dnnl::algorithm::convolution_direct,
                             x, w, y, d.strides, d.dilates, d.pad_l, d.pad_r);
  return cf::primitive_desc(desc, rt().engine);
}

// The cache key of a convolution: its kind, geometry and operands' precision.
std::string conv_key(const char* kind, const ConvGeometry& g, const ConvDescs& d) {
  return fmt::format("{} {} {:d}", kind, g.key(), d.operand == dt::bf16);
}

}  // namespace

std::string ConvGeometry::key() const {
  return fmt::format("{} {} {} {} {} {} {} {} {} {} {} {} {} {} {} {}", n, c_in, h, w, c_out, kh,
                     kw, oh, ow, stride_h, stride_w, pad_h, pad_w, dil_h, dil_w, groups);
}

void conv2d_forward(const ConvGeometry& g, const float* x, const float* w, const float* bias,
                    float* y) {
  const ConvDescs d = conv_descs(g);
  Prepared& p = prepared(conv_key(bias ? "conv_fwd_bias" : "conv_fwd", g, d), [&] {
    auto pd = conv_forward_pd(d, bias != nullptr);
    return Prepared{dnnl::convolution_forward(pd),
                    {{DNNL_ARG_SRC, pd.src_desc()},
                     {DNNL_ARG_WEIGHTS, pd.weights_desc()},
                     {DNNL_ARG_DST, pd.dst_desc()},
                     {DNNL_ARG_BIAS, d.bias}},
                    {},
                    {}};
  });
  std::vector<Buffer> buffers{{DNNL_ARG_SRC, d.x, x, false},
                              {DNNL_ARG_WEIGHTS, d.w, w, false},
                              {DNNL_ARG_DST, d.y, y, true}};
  if (bias) buffers.push_back({DNNL_ARG_BIAS, d.bias, bias, false});
  execute(p, buffers);
}

void conv2d_backward_data(const ConvGeometry& g, const float* dy, const float* w, float* dx) {
  const ConvDescs d = conv_descs(g);
  Prepared& p = prepared(conv_key("conv_bwd_data", g, d), [&] {
    using cb = dnnl::convolution_backward_data;
    cb::desc desc(dnnl::algorithm::convolution_direct, d.any(d.x_dims, false),
                  d.any(d.w_dims, true), d.any(d.y_dims, true), d.strides, d.dilates, d.pad_l,
                  d.pad_r);
    cb::primitive_desc pd(desc, rt().engine, conv_forward_pd(d, false, true));
    return Prepared{cb(pd),
                    {{DNNL_ARG_DIFF_SRC, pd.diff_src_desc()},
                     {DNNL_ARG_WEIGHTS, pd.weights_desc()},
                     {DNNL_ARG_DIFF_DST, pd.diff_dst_desc()}},
                    {},
                    {}};
  });
  execute(p, {{DNNL_ARG_DIFF_DST, d.y, dy, false},
              {DNNL_ARG_WEIGHTS, d.w, w, false},
              {DNNL_ARG_DIFF_SRC, d.x, dx, true}});
}

void conv2d_backward_weights(const ConvGeometry& g, const float* x, const float* dy, float* dw) {
  const ConvDescs d = conv_descs(g);
  Prepared& p = prepared(conv_key("conv_bwd_weights", g, d), [&] {
    using cb = dnnl::convolution_backward_weights;
    cb::desc desc(dnnl::algorithm::convolution_direct, d.any(d.x_dims, true),
                  d.any(d.w_dims, false), d.any(d.y_dims, true), d.strides, d.dilates, d.pad_l,
                  d.pad_r);
    cb::primitive_desc pd(desc, rt().engine, conv_forward_pd(d, false, true));
    return Prepared{cb(pd),
                    {{DNNL_ARG_SRC, pd.src_desc()},
                     {DNNL_ARG_DIFF_WEIGHTS, pd.diff_weights_desc()},
                     {DNNL_ARG_DIFF_DST, pd.diff_dst_desc()}},
                    {},
                    {}};
  });
  execute(p, {{DNNL_ARG_SRC, d.x, x, false},
              {DNNL_ARG_DIFF_DST, d.y, dy, false},
              {DNNL_ARG_DIFF_WEIGHTS, d.w, dw, true}});
}

// ---- pooling ----------------------------------------------------------------------------

std::string PoolGeometry::key() const {
  return fmt::format("{} {} {} {} {} {} {} {} {} {} {} {} {:d}", n, c, h, w, oh, ow, kh, kw,
                     stride_h, stride_w, pad_h, pad_w, count_include_pad);
}

namespace {

// Right/bottom padding that makes the output size exact.
memory::dims pool_pad_r(const PoolGeometry& g) {
  return {(g.oh - 1) * g.stride_h + g.kh - g.h - g.pad_h,
          (g.ow - 1) * g.stride_w + g.kw - g.w - g.pad_w};
}

dnnl::algorithm avg_pool_alg(const PoolGeometry& g) {
  return g.count_include_pad ? dnnl::algorithm::pooling_avg_include_padding
                             : dnnl::algorithm::pooling_avg_exclude_padding;
}

dnnl::pooling_forward::primitive_desc pool_forward_pd(const PoolGeometry& g) {
  dnnl::pooling_forward::desc desc(dnnl::prop_kind::forward_training, avg_pool_alg(g),
                                   plain_md({g.n, g.c, g.h, g.w}), plain_md({g.n, g.c, g.oh, g.ow}),
                                   {g.stride_h, g.stride_w}, {g.kh, g.kw}, {g.pad_h, g.pad_w},
                                   pool_pad_r(g));
  return dnnl::pooling_forward::primitive_desc(desc, rt().engine);
}

}  // namespace

void avg_pool2d_forward(const PoolGeometry& g, const float* x, float* y) {
  auto& prim = cached("avg_pool_fwd " + g.key(),
                      [&] { return dnnl::primitive(dnnl::pooling_forward(pool_forward_pd(g))); });
  run(prim, {{DNNL_ARG_SRC, mem(plain_md({g.n, g.c, g.h, g.w}), x)},
             {DNNL_ARG_DST, mem(plain_md({g.n, g.c, g.oh, g.ow}), y)}});
}

void avg_pool2d_backward(const PoolGeometry& g, const float* dy, float* dx) {
  auto& prim = cached("avg_pool_bwd " + g.key(), [&] {
    dnnl::pooling_backward::desc desc(avg_pool_alg(g), plain_md({g.n, g.c, g.h, g.w}),
                                      plain_md({g.n, g.c, g.oh, g.ow}), {g.stride_h, g.stride_w},
                                      {g.kh, g.kw}, {g.pad_h, g.pad_w}, pool_pad_r(g));
    return dnnl::primitive(dnnl::pooling_backward(
        dnnl::pooling_backward::primitive_desc(desc, rt().engine, pool_forward_pd(g))));
  });
  run(prim, {{DNNL_ARG_DIFF_DST, mem(plain_md({g.n, g.c, g.oh, g.ow}), dy)},
             {DNNL_ARG_DIFF_SRC, mem(plain_md({g.n, g.c, g.h, g.w}), dx)}});
}

// ---- resampling -------------------------------------------------------------------------

namespace {

dnnl::resampling_forward::primitive_desc resample_pd(bool bilinear, const memory::desc& src,
                                                     const memory::desc& dst) {
  dnnl::resampling_forward::desc desc(
      dnnl::prop_kind::forward_training,
      bilinear ? dnnl::algorithm::resampling_linear : dnnl::algorithm::resampling_nearest, src,
      dst);
  return dnnl::resampling_forward::primitive_desc(desc, rt().engine);
}

}  // namespace

void resample_forward(bool bilinear, int64_t n, int64_t c, int64_t h, int64_t w, int64_t oh,
                      int64_t ow, const float* x, float* y) {
  const memory::desc src = plain_md({n, c, h, w}), dst = plain_md({n, c, oh, ow});
  auto& prim = cached(
      fmt::format("resample_fwd {:d} {} {} {} {} {} {}", bilinear, n, c, h, w, oh, ow),
      [&] { return dnnl::primitive(dnnl::resampling_forward(resample_pd(bilinear, src, dst))); });
  run(prim, {{DNNL_ARG_SRC, mem(src, x)}, {DNNL_ARG_DST, mem(dst, y)}});
}

void resample_backward(bool bilinear, int64_t n, int64_t c, int64_t h, int64_t w, int64_t oh,
                       int64_t ow, const float* dy, float* dx) {
  const memory::desc src = plain_md({n, c, h, w}), dst = plain_md({n, c, oh, ow});
  auto& prim =
      cached(fmt::format("resample_bwd {:d} {} {} {} {} {} {}", bilinear, n, c, h, w, oh, ow), [&] {
        dnnl::resampling_backward::desc desc(
            bilinear ? dnnl::algorithm::resampling_linear : dnnl::algorithm::resampling_nearest,
            src, dst);
        return dnnl::primitive(dnnl::resampling_backward(dnnl::resampling_backward::primitive_desc(
            desc, rt().engine, resample_pd(bilinear, src, dst))));
      });
  run(prim, {{DNNL_ARG_DIFF_DST, mem(dst, dy)}, {DNNL_ARG_DIFF_SRC, mem(src, dx)}});
}

// ---- normalisation ----------------------------------------------------------------------

namespace {

using bnf = dnnl::batch_normalization_forward;
using lnf = dnnl::layer_normalization_forward;

bnf::primitive_desc bn_pd(const memory::desc& md, float eps) {
  return bnf::primitive_desc(
      bnf::desc(dnnl::prop_kind::forward_training, md, eps, dnnl::normalization_flags::none),
      rt().engine);
}

lnf::primitive_desc ln_pd(const memory::desc& md, float eps) {
  return lnf::primitive_desc(
      lnf::desc(dnnl::prop_kind::forward_training, md, eps, dnnl::normalization_flags::none),
      rt().engine);
}

}  // namespace

void batch_norm_forward(int64_t n, int64_t c, int64_t s, float eps, const float* x, float* y,
                        float* mean, float* var) {
  // 4-D [n, c, s, 1]: oneDNN 2.6 runs its JIT kernel on 4-D nchw, the reference one on 3-D
  const memory::desc md = plain_md({n, c, s, 1}), stat = plain_md({c});
  auto& prim = cached(fmt::format("bn_fwd {} {} {} {}", n, c, s, eps),
                      [&] { return dnnl::primitive(bnf(bn_pd(md, eps))); });
  run(prim, {{DNNL_ARG_SRC, mem(md, x)},
             {DNNL_ARG_DST, mem(md, y)},
             {DNNL_ARG_MEAN, mem(stat, mean)},
             {DNNL_ARG_VARIANCE, mem(stat, var)}});
}

void batch_norm_backward(int64_t n, int64_t c, int64_t s, float eps, const float* x,
                         const float* mean, const float* var, const float* dy, float* dx) {
  const memory::desc md = plain_md({n, c, s, 1}), stat = plain_md({c});
  auto& prim = cached(fmt::format("bn_bwd {} {} {} {}", n, c, s, eps), [&] {
    using bnb = dnnl::batch_normalization_backward;
    bnb::desc desc(dnnl::prop_kind::backward_data, md, md, eps, dnnl::normalization_flags::none);
    return dnnl::primitive(bnb(bnb::primitive_desc(desc, rt().engine, bn_pd(md, eps))));
  });
  run(prim, {{DNNL_ARG_SRC, mem(md, x)},
             {DNNL_ARG_MEAN, mem(stat, mean)},
             {DNNL_ARG_VARIANCE, mem(stat, var)},
             {DNNL_ARG_DIFF_DST, mem(md, dy)},
             {DNNL_ARG_DIFF_SRC, mem(md, dx)}});
}

void layer_norm_forward(int64_t n, int64_t d, float eps, const float* x, float* y, float* mean,
                        float* var) {
  const memory::desc md = plain_md({n, d}), stat = plain_md({n});
  auto& prim = cached(fmt::format("ln_fwd {} {} {}", n, d, eps),
                      [&] { return dnnl::primitive(lnf(ln_pd(md, eps))); });
  run(prim, {{DNNL_ARG_SRC, mem(md, x)},
             {DNNL_ARG_DST, mem(md, y)},
             {DNNL_ARG_MEAN, mem(stat, mean)},
             {DNNL_ARG_VARIANCE, mem(stat, var)}});
}

void layer_norm_backward(int64_t n, int64_t d, float eps, const float* x, const float* mean,
                         const float* var, const float* dy, float* dx) {
  const memory::desc md = plain_md({n, d}), stat = plain_md({n});
  auto& prim = cached(fmt::format("ln_bwd {} {} {}", n, d, eps), [&] {
    using lnb = dnnl::layer_normalization_backward;
    lnb::desc desc(dnnl::prop_kind::backward_data, md, md, eps, dnnl::normalization_flags::none);
    return dnnl::primitive(lnb(lnb::primitive_desc(desc, rt().engine, ln_pd(md, eps))));
  });
  run(prim, {{DNNL_ARG_SRC, mem(md, x)},
             {DNNL_ARG_MEAN, mem(stat, mean)},
             {DNNL_ARG_VARIANCE, mem(stat, var)},
             {DNNL_ARG_DIFF_DST, mem(md, dy)},
             {DNNL_ARG_DIFF_SRC, mem(md, dx)}});
}

}  // namespace kant::kernels
