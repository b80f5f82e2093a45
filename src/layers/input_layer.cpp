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
  LayerOutputs<T> out;
  out.outputs.push_back(x);
  if (in.mask) out.mask = *in.mask;
  if (in.mode == Mode::training) tape_.push_back(x.shape());
  return out;
}

template <class T>
LayerGrads<T> InputLayer<T>::backward(const std::vector<Tensor<T>>& grad_outputs) {
  detail::check_grad_outputs(this->where(), grad_outputs, {detail::tape_top(tape_, this->where())});
  const Shape shape = detail::tape_pop(tape_);
  LayerGrads<T> g;
  if (grad_outputs[0].empty())
    g.inputs.emplace_back(shape);
  else
    g.inputs.push_back(grad_outputs[0]);
  return g;
}

template class InputLayer<float>;
template class InputLayer<double>;

}  // namespace rnnx
