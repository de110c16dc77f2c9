// Plain-loop kernels for which oneDNN 2.6 has no primitive: gather, scatter-add, arg-max
// selection (max pooling, maxout), group sorting, Heaviside step, erf.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <numeric>
#include <vector>

#include "kernels/kernels.hpp"

namespace kant::kernels {

void gather(const float* x, const int64_t* index, float* y, int64_t n) {
  for (int64_t i = 0; i < n; ++i) y[i] = x[index[i]];
}

void scatter_add(const float* g, const int64_t* index, int64_t n, float* y, int64_t m) {
  std::memset(y, 0, static_cast<size_t>(m) * sizeof(float));
  for (int64_t i = 0; i < n; ++i) y[index[i]] += g[i];
}

void max_pool2d_argmax(int64_t n, int64_t c, int64_t h, int64_t w, int64_t oh, int64_t ow,
                       int64_t kh, int64_t kw, int64_t stride_h, int64_t stride_w, int64_t pad_h,
                       int64_t pad_w, const float* x, int64_t* index) {
  for (int64_t plane = 0; plane < n * c; ++plane) {
    const int64_t base = plane * h * w;
    for (int64_t i = 0; i < oh; ++i)
      for (int64_t j = 0; j < ow; ++j) {
        int64_t best = -1;
        float best_value = -std::numeric_limits<float>::infinity();
        for (int64_t a = 0; a < kh; ++a) {
          const int64_t r = i * stride_h - pad_h + a;
          if (r < 0 || r >= h) continue;
          for (int64_t b = 0; b < kw; ++b) {
            const int64_t col = j * stride_w - pad_w + b;
            if (col < 0 || col >= w) continue;
            const int64_t at = base + r * w + col;
            if (best < 0 || x[at] > best_value || std::isnan(x[at])) {
              best = at;
              best_value = x[at];
            }
          }
        }
        index[(plane * oh + i) * ow + j] = best;
      }
  }
}

void maxout_argmax(int64_t outer, int64_t channels, int64_t pieces, int64_t inner, const float* x,
                   int64_t* index) {
  for (int64_t o = 0; o < outer; ++o)
    for (int64_t ch = 0; ch < channels; ++ch)
      for (int64_t s = 0; s < inner; ++s) {
        int64_t best = ((o * channels + ch) * pieces) * inner + s;
        for (int64_t k = 1; k < pieces; ++k) {
          const int64_t at = ((o * channels + ch) * pieces + k) * inner + s;
          if (x[at] > x[best]) best = at;
        }
        index[(o * channels + ch) * inner + s] = best;
      }
}

void group_sort_index(int64_t outer, int64_t channels, int64_t group, int64_t inner, const float* x,
                      int64_t* index) {
  std::vector<int64_t> members(static_cast<size_t>(group));
  for (int64_t o = 0; o < outer; ++o)
    for (int64_t g0 = 0; g0 < channels; g0 += group)
      for (int64_t s = 0; s < inner; ++s) {
        for (int64_t k = 0; k < group; ++k) members[k] = (o * channels + g0 + k) * inner + s;
        // stable, so that ties keep their order and the permutation is deterministic
        std::stable_sort(members.begin(), members.end(),
                         [x](int64_t a, int64_t b) { return x[a] < x[b]; });
        for (int64_t k = 0; k < group; ++k) index[(o * channels + g0 + k) * inner + s] = members[k];
      }
}

void step(const float* x, float* y, int64_t n) {
  for (int64_t i = 0; i < n; ++i) y[i] = x[i] > 0.0f ? 1.0f : (x[i] < 0.0f ? 0.0f : 0.5f);
}

void erf(const float* x, float* y, int64_t n) {
  for (int64_t i = 0; i < n; ++i) y[i] = std::erf(x[i]);
}

}  // namespace kant::kernels
