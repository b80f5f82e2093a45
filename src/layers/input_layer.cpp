#include "rnnx/layers/input_layer.h"

#include "layers/call_tape.h"
#include "layers/shape_checks.h"

namespace rnnx {

template <class T>
InputLayer<T>::InputLayer(Shape batch_shape, std::string name)
    : Layer<T>(std::move(name)), batch_shape_(std::move(batch_shape)) {
  bool ok = !batch_shape_.empty();
  for (int64_t d : batch_shape_) ok = ok && d >= -1;
  if (!ok)
    throw ConfigError(this->where() + ": batch_shape must have a batch axis and dimensions >= 0 or -1 (None), got " +
                      to_string(batch_shape_));
  this->set_built();
}

template <class T>
bool InputLayer<T>::accepts(const Shape& shape) const {
  if (shape.size() != batch_shape_.size()) return false;
  for (size_t i = 0; i < shape.size(); ++i)
    if (!detail::dims_compatible(batch_shape_[i], shape[i])) return false;
  return true;
}

template <class T>
void InputLayer<T>::check(const Shape& shape) const {
  if (!accepts(shape))
    throw ShapeError(this->where() + ": expected shape " + to_string(batch_shape_) + ", got " + to_string(shape));
}

template <class T>
void InputLayer<T>::build(const std::vector<Shape>& input_shapes) {
  compute_output_shapes(input_shapes);
}

template <class T>
std::vector<Shape> InputLayer<T>::compute_output_shapes(const std::vector<Shape>& input_shapes) const {
  if (input_shapes.empty()) return {batch_shape_};
  detail::expect_input_count(this->where(), input_shapes.size(), 1);
  check(input_shapes[0]);
  return {input_shapes[0]};
}

template <class T>
LayerOutputs<T> InputLayer<T>::call(const LayerInputs<T>& in) {
  detail::expect_input_count(this->where(), in.inputs.size(), 1);
  const Tensor<T>& x = detail::input_at(this->where(), in.inputs, 0);
  check(x.shape());
  return detail::identity_call(in, x, tape_);
}

template <class T>
LayerGrads<T> InputLayer<T>::backward(const std::vector<Tensor<T>>& grad_outputs) {
  return detail::identity_backward(this->where(), tape_, grad_outputs);
}

template class InputLayer<float>;
template class InputLayer<double>;

}  // namespace rnnx
