// Rules metrics share (what a metric needs of a cell, checked before anything trains): a
// critic, data of some dimension or kind (known modes, a closed-form density, labels), a
// categorical code. Each returns a MetricRule whose check names the value that breaks it.
#pragma once
#include <fmt/format.h>

#include <string>

#include "kant/components.hpp"

namespace kant::rules {

/// "12,345": integers in messages.
inline std::string thousands(int64_t n) {
  const std::string digits = std::to_string(n < 0 ? -n : n);
  std::string out = n < 0 ? "-" : "";
  for (size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0) out.push_back(',');
    out.push_back(digits[i]);
  }
  return out;
}

/// The procedure trains a critic the metric can read (a VAE trains none; a LAPGAN's critics
/// judge bands, not samples).
inline MetricRule needs_critic() {
  return {"a critic (the cell's procedure trains one and shows it; vae and lapgan do not)",
          [](const Params&, CellView& cell) -> std::string {
            return cell.has_critic() ? ""
                                     : "the cell's procedure trains no critic that scores samples";
          }};
}

/// Samples of exactly `shape` (e.g. {2} for points in the plane, {1} for 1-D data).
inline MetricRule data_shape(const Shape& shape, const std::string& what) {
  return {fmt::format("{} (samples of shape {})", what, shape_str(shape)),
          [shape](const Params&, CellView& cell) -> std::string {
            const Shape s = cell.dataset().sample_shape();
            return s == shape ? ""
                              : fmt::format("the data set's samples have shape {}", shape_str(s));
          }};
}

/// Image data: samples [C, H, W].
inline MetricRule image_data() {
  return {
      "image data (samples of shape [C, H, W])", [](const Params&, CellView& cell) -> std::string {
        const Shape s = cell.dataset().sample_shape();
        return s.size() == 3 ? ""
                             : fmt::format("the data set's samples have shape {}", shape_str(s));
      }};
}

/// A mixture data set that knows its modes (eight_gaussians, ring, grid, …).
inline MetricRule known_modes() {
  return {"a data set with known modes (a Gaussian mixture: eight_gaussians, ring, grid, …)",
          [](const Params&, CellView& cell) -> std::string {
            const std::optional<Modes> m = cell.dataset().modes();
            return m && !m->centers.empty() ? "" : "the data set declares no modes";
          }};
}

/// A data set with a closed-form density (gaussian_mixture_1d, the toy mixtures).
inline MetricRule closed_form_density() {
  return {"a data set with a closed-form density (e.g. gaussian_mixture_1d)",
          [](const Params&, CellView& cell) -> std::string {
            Dataset& d = cell.dataset();
            std::vector<double> x(static_cast<size_t>(shape_numel(d.sample_shape())), 0.0);
            return d.log_density(x.data()) ? "" : "the data set has no closed-form density";
          }};
}

/// A finite data set with class labels (digits, fashion_mnist, idx with `labels:`).
inline MetricRule labelled_data() {
  return {"a labelled data set (digits, fashion_mnist, or idx with `labels:`)",
          [](const Params&, CellView& cell) -> std::string {
            return cell.dataset().labelled() ? "" : "the data set has no labels";
          }};
}

/// A procedure with a categorical latent code (infogan).
inline MetricRule categorical_code() {
  return {"a procedure with a categorical latent code (infogan)",
          [](const Params&, CellView& cell) -> std::string {
            return cell.categories() > 0 ? "" : "the cell's procedure has no categorical code";
          }};
}

/// The generator alone makes the samples metrics see, from the noise: G(z) has the data's
/// shape (not so where the samples come from several networks, as a LAPGAN's pyramid, whose
/// `generator` makes only the coarsest level, or where the generator takes an image). For
/// metrics that differentiate through the generator or feed it noise themselves.
inline MetricRule generator_makes_samples() {
  return {"a generator that maps a noise vector to a data sample by itself",
          [](const Params&, CellView& cell) -> std::string {
            const NetworkRequest g = cell.generator_request();
            const Shape data = cell.dataset().sample_shape();
            if (g.input_shape.size() != 1)
              return fmt::format("the generator takes {}, not a vector", shape_str(g.input_shape));
            if (g.output_shape != data)
              return fmt::format(
                  "the generator makes {} of the data's {} (the cell's procedure "
                  "samples through other networks too)",
                  shape_str(g.output_shape), shape_str(data));
            return "";
          }};
}

/// Gaussian generator noise (generator.noise: normal).
inline MetricRule normal_noise() {
  return {"Gaussian generator noise (generator.noise: normal)",
          [](const Params&, CellView& cell) -> std::string {
            return cell.noise_kind() == "normal"
                       ? ""
                       : fmt::format("generator.noise is {}", cell.noise_kind());
          }};
}

}  // namespace kant::rules
