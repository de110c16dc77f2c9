// Dense fp32 tensors: shape, 64-byte aligned reference-counted storage, autodiff bookkeeping.
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace kant {

using Shape = std::vector<int64_t>;
struct Node;

/// Number of elements of a shape (1 for a scalar of rank 0).
int64_t shape_numel(const Shape& shape);
/// "[2, 3, 4]".
std::string shape_str(const Shape& shape);

/// Storage and autodiff state shared by all handles to one tensor.
struct TensorImpl {
  Shape shape;
  int64_t numel = 0;
  std::shared_ptr<float> storage;  ///< 64-byte aligned, contiguous row-major
  bool requires_grad = false;      ///< leaf that gradients may be taken with respect to
  std::shared_ptr<Node> grad_fn;   ///< the op that produced this tensor (null for leaves)
};

/// A handle to a dense, contiguous, row-major fp32 tensor. Copies share storage.
/// Tensors produced by ops while grad mode is on remember their op (grad_fn), which is how
/// kant::grad() walks the graph. Mutating data() in place is allowed only on tensors no live
/// graph still needs (e.g. parameters between optimizer steps).
class Tensor {
 public:
  Tensor() = default;

  /// Uninitialised tensor of the given shape.
  static Tensor empty(const Shape& shape);
  static Tensor zeros(const Shape& shape);
  static Tensor full(const Shape& shape, float value);
  static Tensor ones(const Shape& shape) { return full(shape, 1.0f); }
  /// The n × n identity matrix.
  static Tensor eye(int64_t n);
  static Tensor scalar(float value) { return full({}, value); }
  /// Tensor holding a copy of `values` (whose size must equal the shape's element count).
  static Tensor from(const Shape& shape, const std::vector<float>& values);

  bool defined() const { return impl_ != nullptr; }
  const Shape& shape() const;
  int64_t dim() const { return static_cast<int64_t>(shape().size()); }
  /// Size of axis i; negative i counts from the end.
  int64_t size(int64_t i) const;
  int64_t numel() const;

  float* data();
  const float* data() const;
  /// The single value of a one-element tensor.
  float item() const;
  std::vector<float> to_vector() const;

  bool requires_grad() const;
  /// Marks a leaf as a variable gradients may be taken with respect to.
  Tensor& set_requires_grad(bool on = true);
  /// Same storage, no graph: gradients do not flow through the result.
  Tensor detach() const;
  /// Deep copy of the values, no graph.
  Tensor clone() const;

  const std::shared_ptr<Node>& grad_fn() const;
  TensorImpl* impl() const { return impl_.get(); }
  const std::shared_ptr<TensorImpl>& impl_ptr() const { return impl_; }
  explicit Tensor(std::shared_ptr<TensorImpl> impl) : impl_(std::move(impl)) {}

 private:
  std::shared_ptr<TensorImpl> impl_;
};

}  // namespace kant
