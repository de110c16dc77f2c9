// Statistics of image batches [N, C, H, W] that metrics share: the mean squared Laplacian
// (sharpness), the share of spectral energy at high frequencies, and PSNR; and a network's pass
// over a large batch in chunks. Images are in [−1, 1] as the image data sets deliver them.
#pragma once
#include <algorithm>
#include <vector>

#include "kant/ops.hpp"
#include "kant/tensor.hpp"

namespace kant {

/// f(x) computed on chunks of at most `chunk` rows and concatenated: the same rows in bounded
/// memory, when f treats rows independently (a network's forward pass, a feature map).
template <typename F>
Tensor in_row_chunks(const Tensor& x, int64_t chunk, F&& f) {
  std::vector<Tensor> parts;
  for (int64_t from = 0; from < x.size(0); from += chunk)
    parts.push_back(f(slice(x, 0, from, std::min(x.size(0), from + chunk))));
  return parts.size() == 1 ? parts.front() : concat(parts, 0);
}

/// Mean squared response of the discrete Laplacian (the 5-point stencil, interior pixels, every
/// channel):
///   S(x) = 1/(N·C·(H−2)·(W−2)) Σ (x[i−1,j] + x[i+1,j] + x[i,j−1] + x[i,j+1] − 4·x[i,j])².
/// An Error when x is not [N, C, H, W] of at least 3×3 pixels (`who` names the caller).
double mean_squared_laplacian(const Tensor& x, const char* who = "sharpness");

/// The share of the images' spectral energy that lies above half the Nyquist frequency:
///   Σ_{‖f‖ > 1/4} |X(f)|² / Σ_{f ≠ 0} |X(f)|²
/// over every image plane of the batch, X the 2-D DFT of one plane and f = (f_u, f_v) its
/// frequency in cycles per pixel (f_u = min(u, H−u)/H ∈ [0, ½]; Nyquist = ½, so the threshold
/// is ¼). The mean of each plane (f = 0) is left out, so the share measures how the variation is
/// spread: a constant image has none (0 by definition), a checkerboard is all high frequency
/// (1), a blurred image less than its sharp original. An Error when x is not [N, C, H, W].
double high_frequency_share(const Tensor& x, const char* who = "high_frequency_share");

/// Peak signal-to-noise ratio in dB of a mean squared error: 10·log10(range² / mse), with
/// range = max − min of the pixel values (2 for images in [−1, 1]). +∞ when mse = 0.
double psnr(double mse, double range = 2.0);

/// Mean of (a − b)² over every entry (a and b of one shape; an Error otherwise).
double mean_squared_error(const Tensor& a, const Tensor& b);

}  // namespace kant
