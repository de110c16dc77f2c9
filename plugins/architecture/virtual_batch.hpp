// Virtual batch normalisation's reference batch (Salimans et al. 2016, §3.4), shared by the
// mlp, dcgan and resnet generators (`normalization: virtual_batch`): R inputs fixed once, at the
// first forward pass (the first batch of noise the generator is given in training), kept as
// buffers (so checkpoints and stored networks carry them), and put before every batch, so that
// each VirtualBatchNorm normalises a sample by the reference batch's statistics plus its own
// (virtual_batch_norm in ops.hpp). The reference rows go through the network with the current
// weights at every call, as in the paper (twice the rows of a forward pass: "computationally
// expensive ... we use it only in the generator"); the output keeps the batch's own rows.
#pragma once
#include <fmt/format.h>

#include <algorithm>

#include "kant/error.hpp"
#include "kant/module.hpp"
#include "kant/ops.hpp"
#include "kant/options.hpp"

namespace kant::virtual_batch {

/// The options the architectures declare beside `normalization`.
struct Options {
  int64_t rows;
  static void declare(Declare<Options>& d) {
    d(&Options::rows,
      param::integer("reference_batch", 64,
                     "R, the rows of the reference batch of normalization: virtual_batch "
                     "(Salimans et al. 2016, §3.4): the first R inputs of the first batch, fixed; "
                     "a sample x_i is normalised per channel by the reference's statistics plus "
                     "its own, y_i = γ(x_i − μ_i)/√(σ²_i + ε) + β, μ_i = (R·μ_r + m_i)/(R + 1), "
                     "σ²_i = (R·(σ²_r + (μ_r − μ_i)²) + d_i)/(R + 1) (m_i, d_i: x_i's mean and "
                     "mean squared deviation from μ_i)")
          .at_least(1)
          .added_later());
  }
};

/// The reference inputs (and, for a conditional generator, their one-hot labels), fixed by the
/// first call; off (rows() == 0) when default-constructed.
class Reference {
 public:
  Reference() = default;
  Reference(Module& owner, const Options& o, const Shape& input_shape, int64_t classes)
      : rows_(o.rows) {
    Shape shape{rows_};
    shape.insert(shape.end(), input_shape.begin(), input_shape.end());
    inputs_ = owner.register_buffer("virtual_batch.reference", Tensor::zeros(shape));
    if (classes > 0)
      labels_ =
          owner.register_buffer("virtual_batch.reference_labels", Tensor::zeros({rows_, classes}));
    fixed_ = owner.register_buffer("virtual_batch.fixed", Tensor::zeros({1}));
  }

  /// R, or 0 when off.
  int64_t rows() const { return rows_; }

  /// [reference; x] and, where y is defined, [reference labels; y]. The first call fixes the
  /// reference as x's (and y's) first R rows.
  std::pair<Tensor, Tensor> prepend(const Tensor& x, const Tensor& y) {
    if (rows_ == 0) return {x, y};
    if (fixed_.data()[0] == 0.0f) {
      if (x.size(0) < rows_)
        throw Error(
            fmt::format("virtual batch normalisation: the first batch has {} rows, fewer "
                        "than reference_batch = {}",
                        x.size(0), rows_));
      copy_rows(x, inputs_);
      if (labels_.defined() && y.defined()) copy_rows(y, labels_);
      fixed_.data()[0] = 1.0f;
    }
    return {concat({inputs_, x}, 0), y.defined() ? concat({labels_, y}, 0) : y};
  }

  /// The rows after the reference (t itself when off or undefined).
  Tensor strip(const Tensor& t) const {
    return rows_ == 0 || !t.defined() ? t : slice(t, 0, rows_, t.size(0));
  }

 private:
  static void copy_rows(const Tensor& from, Tensor& to) {
    std::copy(from.data(), from.data() + to.numel(), to.data());  // dense, row-major
  }

  int64_t rows_ = 0;
  Tensor inputs_, labels_, fixed_;
};

}  // namespace kant::virtual_batch
