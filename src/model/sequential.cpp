#include "rnnx/model/sequential.h"

#include "rnnx/core/error.h"

namespace rnnx {

template <class T>
Sequential<T>::Sequential(std::string name) : Model<T>(std::move(name)) {}

template <class T>
Sequential<T>::Sequential(std::vector<std::shared_ptr<Layer<T>>> layers, std::string name) : Model<T>(std::move(name)) {
  for (auto& l : layers) add(std::move(l));
}

template <class T>
void Sequential<T>::connect(const std::shared_ptr<Layer<T>>& layer) {
  const std::vector<Shape> out = layer->compute_output_shapes({this->shape(last_)});
  if (out.size() != 1)
    throw ConfigError(this->where() + ": " + layer->class_name() + " '" + layer->name() + "' returns " +
                      std::to_string(out.size()) +
                      " tensors; every layer of a Sequential model must return one (use a functional Model)");
  last_ = Model<T>::call(layer, {last_})[0];
  this->set_outputs(std::vector<ModelTensor>{last_});
}

template <class T>
void Sequential<T>::add(std::shared_ptr<Layer<T>> layer) {
  if (!layer) throw ConfigError(this->where() + ": cannot add a null layer");
  if (auto in = std::dynamic_pointer_cast<InputLayer<T>>(layer)) {
    if (input_ || !layers_.empty())
      throw ConfigError(this->where() + ": an InputLayer can only be the first layer of a Sequential model");
    last_ = this->input(in);
    input_ = in->batch_shape();
    return;
  }
  if (input_) connect(layer);
  layers_.push_back(std::move(layer));
}

template <class T>
void Sequential<T>::build(const Shape& batch_shape) {
  if (input_) {
    if (*input_ != batch_shape)
      throw StateError(this->where() + ": already built for input shape " + to_string(*input_) + ", got " +
                       to_string(batch_shape));
    return;
  }
  last_ = this->input(batch_shape);
  input_ = batch_shape;
  for (const auto& l : layers_) connect(l);
}

template <class T>
void Sequential<T>::build(const std::vector<Shape>& input_shapes) {
  if (input_shapes.size() != 1)
    throw ShapeError(this->where() + ": expected 1 input, got " + std::to_string(input_shapes.size()));
  if (input_)
    Model<T>::build(input_shapes);
  else
    build(input_shapes[0]);
}

template <class T>
void Sequential<T>::prepare_run(const std::vector<const Tensor<T>*>& inputs) {
  if (input_ || inputs.size() != 1 || !inputs[0] || inputs[0]->rank() == 0) return;
  Shape s = inputs[0]->shape();
  s[0] = -1;
  build(s);
}

template <class T>
ModelOutputs<T> Sequential<T>::run(const Tensor<T>& x, Mode mode, const Mask* mask) {
  return Model<T>::run({x}, mode, {mask});
}

template <class T>
Tensor<T> Sequential<T>::call(const Tensor<T>& x, Mode mode) {
  return std::move(run(x, mode).outputs[0]);
}

template <class T>
Tensor<T> Sequential<T>::backward(const Tensor<T>& grad_output) {
  return std::move(Model<T>::backward({grad_output}).inputs.at(0));
}

template <class T>
Tensor<T> Sequential<T>::predict(const Tensor<T>& x) {
  return call(x, Mode::inference);
}

template <class T>
std::vector<Shape> Sequential<T>::compute_output_shapes(const std::vector<Shape>& input_shapes) const {
  if (input_) return Model<T>::compute_output_shapes(input_shapes);
  if (input_shapes.size() != 1)
    throw ShapeError(this->where() + ": expected 1 input, got " + std::to_string(input_shapes.size()));
  std::vector<Shape> shapes = input_shapes;
  for (const auto& l : layers_) shapes = l->compute_output_shapes(shapes);
  return shapes;
}

template <class T>
std::string Sequential<T>::summary() {
  return format_summary(this->name(), this->summary_rows(), false, sizeof(T));
}

template class Sequential<float>;
template class Sequential<double>;

}  // namespace rnnx
