// Statistics of image batches (see kant/image_statistics.hpp).
#include "kant/image_statistics.hpp"

#include <fmt/format.h>

#include <cmath>
#include <numbers>
#include <vector>

#include "kant/error.hpp"

namespace kant {
namespace {

void require_images(const Tensor& x, const char* who, int64_t at_least) {
  if (x.dim() != 4 || x.size(2) < at_least || x.size(3) < at_least)
    throw Error(fmt::format("{} needs images [N, C, H, W] of at least {}×{} pixels, got shape {}",
                            who, at_least, at_least, shape_str(x.shape())));
}

// |f| in cycles per pixel of DFT index k of n points: min(k, n − k)/n
double frequency(int64_t k, int64_t n) {
  return static_cast<double>(std::min(k, n - k)) / static_cast<double>(n);
}

}  // namespace

double mean_squared_laplacian(const Tensor& x, const char* who) {
  require_images(x, who, 3);
  const int64_t planes = x.size(0) * x.size(1), h = x.size(2), w = x.size(3);
  const float* p = x.data();
  double sum = 0;
  for (int64_t k = 0; k < planes; ++k, p += h * w)
    for (int64_t i = 1; i + 1 < h; ++i)
      for (int64_t j = 1; j + 1 < w; ++j) {
        const double l = double(p[(i - 1) * w + j]) + p[(i + 1) * w + j] + p[i * w + j - 1] +
                         p[i * w + j + 1] - 4.0 * p[i * w + j];
        sum += l * l;
      }
  return sum / static_cast<double>(planes * (h - 2) * (w - 2));
}

double high_frequency_share(const Tensor& x, const char* who) {
  require_images(x, who, 1);
  const int64_t planes = x.size(0) * x.size(1), h = x.size(2), w = x.size(3);
  // the separable DFT: rows first (for each row i, its transform along j), then columns
  std::vector<double> cos_w(static_cast<size_t>(w * w)), sin_w(cos_w.size()),
      cos_h(static_cast<size_t>(h * h)), sin_h(cos_h.size());
  for (int64_t a = 0; a < w; ++a)
    for (int64_t b = 0; b < w; ++b) {
      const double t = 2 * std::numbers::pi * static_cast<double>((a * b) % w) / double(w);
      cos_w[size_t(a * w + b)] = std::cos(t);
      sin_w[size_t(a * w + b)] = std::sin(t);
    }
  for (int64_t a = 0; a < h; ++a)
    for (int64_t b = 0; b < h; ++b) {
      const double t = 2 * std::numbers::pi * static_cast<double>((a * b) % h) / double(h);
      cos_h[size_t(a * h + b)] = std::cos(t);
      sin_h[size_t(a * h + b)] = std::sin(t);
    }
  std::vector<double> re(static_cast<size_t>(h * w)), im(re.size());
  double high = 0, total = 0;
  const float* p = x.data();
  std::vector<double> centred(static_cast<size_t>(h * w));
  for (int64_t k = 0; k < planes; ++k, p += h * w) {
    // the plane less its mean: the same coefficients at f ≠ 0, and a constant plane exactly 0
    // (its transform would otherwise leave rounding noise at every frequency)
    double plane_mean = 0;
    for (int64_t i = 0; i < h * w; ++i) plane_mean += p[i];
    plane_mean /= static_cast<double>(h * w);
    for (int64_t i = 0; i < h * w; ++i) centred[size_t(i)] = p[i] - plane_mean;
    const double* c = centred.data();
    for (int64_t i = 0; i < h; ++i)
      for (int64_t v = 0; v < w; ++v) {
        double r = 0, s = 0;
        for (int64_t j = 0; j < w; ++j) {
          r += c[i * w + j] * cos_w[size_t(v * w + j)];
          s -= c[i * w + j] * sin_w[size_t(v * w + j)];
        }
        re[size_t(i * w + v)] = r;
        im[size_t(i * w + v)] = s;
      }
    for (int64_t u = 0; u < h; ++u)
      for (int64_t v = 0; v < w; ++v) {
        if (u == 0 && v == 0) continue;  // the plane's mean
        double r = 0, s = 0;
        for (int64_t i = 0; i < h; ++i) {
          const double co = cos_h[size_t(u * h + i)], sn = sin_h[size_t(u * h + i)];
          // (re + i·im)·(co − i·sn)
          r += re[size_t(i * w + v)] * co + im[size_t(i * w + v)] * sn;
          s += im[size_t(i * w + v)] * co - re[size_t(i * w + v)] * sn;
        }
        const double energy = r * r + s * s;
        total += energy;
        if (std::hypot(frequency(u, h), frequency(v, w)) > 0.25) high += energy;
      }
  }
  return total > 0 ? high / total : 0.0;
}

double psnr(double mse, double range) { return 10.0 * std::log10(range * range / mse); }

double mean_squared_error(const Tensor& a, const Tensor& b) {
  if (a.shape() != b.shape())
    throw Error(fmt::format("mean squared error of tensors of shapes {} and {}",
                            shape_str(a.shape()), shape_str(b.shape())));
  const float *p = a.data(), *q = b.data();
  double sum = 0;
  for (int64_t i = 0, n = a.numel(); i < n; ++i) {
    const double d = double(p[i]) - q[i];
    sum += d * d;
  }
  return sum / static_cast<double>(a.numel());
}

}  // namespace kant
