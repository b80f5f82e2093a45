#pragma once
// A dense, row-major, owning tensor. Scalar type T is float (default) or double.
#include <cstdint>
#include <initializer_list>
#include <span>
#include <vector>

#include "rnnx/core/shape.h"

namespace rnnx {

template <class T>
class Tensor {
 public:
  Tensor() = default;
  // Zero-filled tensor of the given shape. Throws ShapeError on a negative dimension.
  explicit Tensor(Shape shape);
  Tensor(Shape shape, T fill);
  // Copies `values`; throws ShapeError if their count differs from the shape's size.
  Tensor(Shape shape, std::vector<T> values);

  const Shape& shape() const { return shape_; }
  int64_t rank() const { return static_cast<int64_t>(shape_.size()); }
  // Dimension i; negative i counts from the end, as in Python.
  int64_t dim(int64_t i) const;
  int64_t size() const { return static_cast<int64_t>(data_.size()); }
  bool empty() const { return data_.empty() && shape_.empty(); }

  T* data() { return data_.data(); }
  const T* data() const { return data_.data(); }
  std::span<T> values() { return data_; }
  std::span<const T> values() const { return data_; }
  std::vector<T>& storage() { return data_; }
  const std::vector<T>& storage() const { return data_; }

  T& operator[](int64_t i) { return data_[static_cast<size_t>(i)]; }
  const T& operator[](int64_t i) const { return data_[static_cast<size_t>(i)]; }
  // Element access by full index; no bounds check beyond debug asserts.
  T& at(std::initializer_list<int64_t> index);
  const T& at(std::initializer_list<int64_t> index) const;

  // Same data, new shape of equal size (ShapeError otherwise).
  Tensor reshaped(Shape shape) const;
  void fill(T value);
  // Converts to another scalar type.
  template <class U>
  Tensor<U> cast() const {
    Tensor<U> out(shape_);
    for (int64_t i = 0; i < size(); ++i) out[i] = static_cast<U>(data_[static_cast<size_t>(i)]);
    return out;
  }

 private:
  Shape shape_;
  std::vector<T> data_;
};

// A boolean mask (1 = real step) of shape [batch, steps]; an empty Mask means "no mask".
using Mask = Tensor<uint8_t>;

extern template class Tensor<float>;
extern template class Tensor<double>;
extern template class Tensor<uint8_t>;
extern template class Tensor<int32_t>;

}  // namespace rnnx
