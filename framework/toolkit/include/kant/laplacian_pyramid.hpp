// The Laplacian pyramid of LAPGAN (Denton et al. 2015, §3): an image I_0 [N, C, S, S] reduced
// to a Gaussian pyramid I_0 → I_1 → … → I_K, each level's band-pass h_k = I_k − up(I_{k+1}), and
// the image rebuilt from the coarsest level and the bands, I_k = up(I_{k+1}) + h_k.
//
// down: average pooling over f×f windows (f = S_k / S_{k+1}, 2 between the usual levels);
// up: nearest-neighbour resizing by f. The paper blurs with a Gaussian before decimating and
// upsamples by interpolation; these are the same in spirit (a low-pass reduction and its
// expansion) and exact in a way the tests use: down(up(a)) = a, so every band h_k averages to
// zero over each f×f window, and the rebuild is exact up to float rounding.
//
// A level's networks (plugins/procedure/lapgan.cpp) see the band and the low-pass image as
// channels: the generator G_k(z_k, l_k) takes [z_k, l_k] (noise planes, then l_k), the critic
// D_k takes [h_k, l_k].
#pragma once
#include <fmt/format.h>

#include <vector>

#include "kant/error.hpp"
#include "kant/ops.hpp"

namespace kant::pyramid {

/// x [N, C, H, W] reduced to size×size by f×f average pooling (f = H / size, H = W).
inline Tensor down(const Tensor& x, int64_t size) {
  const int64_t h = x.size(2);
  if (x.dim() != 4 || x.size(3) != h || size <= 0 || h % size != 0)
    throw Error(
        fmt::format("the Laplacian pyramid reduces square images [N, C, S, S] by an "
                    "integer factor; asked to reduce {} to {}×{}",
                    shape_str(x.shape()), size, size));
  if (size == h) return x;
  return avg_pool2d(x, Pool2dOptions::square(h / size, h / size));
}

/// x [N, C, s, s] expanded to size×size by nearest-neighbour resizing.
inline Tensor up(const Tensor& x, int64_t size) {
  if (x.size(2) == size && x.size(3) == size) return x;
  return resize(x, size, size, Resize::nearest);
}

/// The Gaussian pyramid of x at `sizes` (ascending, the last x's own size): level i is x at
/// sizes[i], each reduced from the next finer one.
inline std::vector<Tensor> gaussian(const Tensor& x, const std::vector<int64_t>& sizes) {
  std::vector<Tensor> levels(sizes.size());
  Tensor current = x;
  for (size_t i = sizes.size(); i-- > 0;) {
    current = down(current, sizes[i]);
    levels[i] = current;
  }
  return levels;
}

/// The low-pass image l and the band h = I − l of a level whose Gaussian image is `fine` and
/// whose coarser neighbour is `coarse`: l = up(coarse), h = fine − l.
struct Band {
  Tensor low, high;
};
inline Band band(const Tensor& fine, const Tensor& coarse) {
  Tensor low = up(coarse, fine.size(2));
  return {low, sub(fine, low)};
}

/// The image rebuilt from its coarsest level and the bands of the finer ones, coarse to fine:
/// I_k = up(I_{k+1}) + h_k.
inline Tensor rebuild(const Tensor& coarsest, const std::vector<Tensor>& bands) {
  Tensor image = coarsest;
  for (const Tensor& h : bands) image = add(up(image, h.size(2)), h);
  return image;
}

}  // namespace kant::pyramid
