// Tensor storage: aligned allocation, factories, element access.
#include "kant/tensor.hpp"

#include <fmt/format.h>

#include <cstdlib>
#include <cstring>
#include <mutex>
#include <unordered_map>
#include <vector>

#include "kant/error.hpp"

namespace kant {
namespace {

constexpr size_t kAlignment = 64;

// Caching allocator: freed buffers wait in a free list per exact size and are handed out
// again, so a training step whose shapes repeat allocates nothing from the system after the
// first step (large buffers would otherwise be mmap'ed and page-faulted on every use).
class BufferPool {
 public:
  float* take(size_t bytes) {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      auto it = free_.find(bytes);
      if (it != free_.end() && !it->second.empty()) {
        float* p = it->second.back();
        it->second.pop_back();
        return p;
      }
    }
    auto* p = static_cast<float*>(std::aligned_alloc(kAlignment, bytes));
    if (p == nullptr) throw TensorError(fmt::format("out of memory allocating {} bytes", bytes));
    return p;
  }
  void give(float* p, size_t bytes) {
    std::lock_guard<std::mutex> lock(mutex_);
    free_[bytes].push_back(p);
  }

 private:
  std::mutex mutex_;
  std::unordered_map<size_t, std::vector<float*>> free_;
};

BufferPool& pool() {
  static BufferPool* p = new BufferPool;  // never destroyed: tensors may outlive statics
  return *p;
}

std::shared_ptr<float> allocate(int64_t numel) {
  size_t bytes = static_cast<size_t>(numel > 0 ? numel : 1) * sizeof(float);
  bytes = (bytes + kAlignment - 1) / kAlignment * kAlignment;
  float* p = pool().take(bytes);
  return std::shared_ptr<float>(p, [bytes](float* q) { pool().give(q, bytes); });
}

}  // namespace

int64_t shape_numel(const Shape& shape) {
  int64_t n = 1;
  for (int64_t d : shape) {
    if (d < 0) throw TensorError(fmt::format("negative dimension in shape {}", shape_str(shape)));
    n *= d;
  }
  return n;
}

std::string shape_str(const Shape& shape) { return fmt::format("[{}]", fmt::join(shape, ", ")); }

Tensor Tensor::empty(const Shape& shape) {
  auto impl = std::make_shared<TensorImpl>();
  impl->shape = shape;
  impl->numel = shape_numel(shape);
  impl->storage = allocate(impl->numel);
  return Tensor(std::move(impl));
}

Tensor Tensor::zeros(const Shape& shape) {
  Tensor t = empty(shape);
  std::memset(t.data(), 0, static_cast<size_t>(t.numel()) * sizeof(float));
  return t;
}

Tensor Tensor::eye(int64_t n) {
  Tensor t = zeros({n, n});
  for (int64_t i = 0; i < n; ++i) t.data()[i * n + i] = 1.0f;
  return t;
}

Tensor Tensor::full(const Shape& shape, float value) {
  Tensor t = empty(shape);
  float* p = t.data();
  for (int64_t i = 0; i < t.numel(); ++i) p[i] = value;
  return t;
}

Tensor Tensor::from(const Shape& shape, const std::vector<float>& values) {
  Tensor t = empty(shape);
  if (static_cast<int64_t>(values.size()) != t.numel())
    throw TensorError(
        fmt::format("Tensor::from: {} values for shape {}", values.size(), shape_str(shape)));
  std::memcpy(t.data(), values.data(), values.size() * sizeof(float));
  return t;
}

static TensorImpl& checked(const std::shared_ptr<TensorImpl>& impl) {
  if (!impl) throw TensorError("use of an undefined tensor");
  return *impl;
}

const Shape& Tensor::shape() const { return checked(impl_).shape; }

int64_t Tensor::size(int64_t i) const {
  const Shape& s = shape();
  int64_t r = static_cast<int64_t>(s.size());
  if (i < 0) i += r;
  if (i < 0 || i >= r)
    throw TensorError(fmt::format("axis {} out of range for shape {}", i, shape_str(s)));
  return s[static_cast<size_t>(i)];
}

int64_t Tensor::numel() const { return checked(impl_).numel; }
float* Tensor::data() { return checked(impl_).storage.get(); }
const float* Tensor::data() const { return checked(impl_).storage.get(); }

float Tensor::item() const {
  if (numel() != 1)
    throw TensorError(fmt::format("item() of a tensor of shape {}", shape_str(shape())));
  return data()[0];
}

std::vector<float> Tensor::to_vector() const { return {data(), data() + numel()}; }

bool Tensor::requires_grad() const {
  return impl_ && (impl_->requires_grad || impl_->grad_fn != nullptr);
}

Tensor& Tensor::set_requires_grad(bool on) {
  TensorImpl& impl = checked(impl_);
  if (impl.grad_fn)
    throw TensorError("set_requires_grad on a tensor computed by an op; detach() it first");
  impl.requires_grad = on;
  return *this;
}

Tensor Tensor::detach() const {
  const TensorImpl& src = checked(impl_);
  auto impl = std::make_shared<TensorImpl>();
  impl->shape = src.shape;
  impl->numel = src.numel;
  impl->storage = src.storage;
  return Tensor(std::move(impl));
}

Tensor Tensor::clone() const {
  Tensor t = empty(shape());
  std::memcpy(t.data(), data(), static_cast<size_t>(numel()) * sizeof(float));
  return t;
}

const std::shared_ptr<Node>& Tensor::grad_fn() const { return checked(impl_).grad_fn; }

}  // namespace kant
