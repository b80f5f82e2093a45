#include "rnnx/core/tensor.h"

#include <cassert>
#include <sstream>

#include "rnnx/core/error.h"

namespace rnnx {

std::string to_string(const Shape& shape) {
  std::ostringstream out;
  out << '[';
  for (size_t i = 0; i < shape.size(); ++i) {
    if (i) out << ", ";
    if (shape[i] < 0)
      out << "None";
    else
      out << shape[i];
  }
  out << ']';
  return out.str();
}

int64_t num_elements(const Shape& shape) {
  int64_t n = 1;
  for (int64_t d : shape) {
    if (d < 0) throw ShapeError("shape " + to_string(shape) + " has an unknown or negative dimension");
    n *= d;
  }
  return n;
}

template <class T>
Tensor<T>::Tensor(Shape shape) : shape_(std::move(shape)) {
  data_.assign(static_cast<size_t>(num_elements(shape_)), T{});
}

template <class T>
Tensor<T>::Tensor(Shape shape, T fill) : shape_(std::move(shape)) {
  data_.assign(static_cast<size_t>(num_elements(shape_)), fill);
}

template <class T>
Tensor<T>::Tensor(Shape shape, std::vector<T> values) : shape_(std::move(shape)), data_(std::move(values)) {
  if (num_elements(shape_) != static_cast<int64_t>(data_.size()))
    throw ShapeError("tensor of shape " + to_string(shape_) + " needs " + std::to_string(num_elements(shape_)) +
                     " values, got " + std::to_string(data_.size()));
}

template <class T>
int64_t Tensor<T>::dim(int64_t i) const {
  if (i < 0) i += rank();
  assert(i >= 0 && i < rank());
  return shape_[static_cast<size_t>(i)];
}

template <class T>
T& Tensor<T>::at(std::initializer_list<int64_t> index) {
  assert(static_cast<int64_t>(index.size()) == rank());
  int64_t offset = 0;
  size_t k = 0;
  for (int64_t i : index) offset = offset * shape_[k++] + i;
  return data_[static_cast<size_t>(offset)];
}

template <class T>
const T& Tensor<T>::at(std::initializer_list<int64_t> index) const {
  return const_cast<Tensor*>(this)->at(index);
}

template <class T>
Tensor<T> Tensor<T>::reshaped(Shape shape) const {  // NOLINT(performance-unnecessary-value-param): API
  if (num_elements(shape) != size())
    throw ShapeError("cannot reshape tensor of shape " + to_string(shape_) + " to " + to_string(shape));
  Tensor<T> out;
  out.shape_ = std::move(shape);
  out.data_ = data_;
  return out;
}

template <class T>
void Tensor<T>::fill(T value) {
  for (auto& v : data_) v = value;
}

template class Tensor<float>;
template class Tensor<double>;
template class Tensor<uint8_t>;
template class Tensor<int32_t>;

}  // namespace rnnx
