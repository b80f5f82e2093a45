#include "rnnx/layers/activation_layer.h"

#include "layers/call_tape.h"
#include "layers/shape_checks.h"
#include "rnnx/kernels/kernels.h"

namespace rnnx {

template <class T>
ActivationLayer<T>::ActivationLayer(Activation activation, std::string name)
    : Layer<T>(std::move(name)), activation_(activation) {}

template <class T>
void ActivationLayer<T>::build(const std::vector<Shape>& input_shapes) {
  compute_output_shapes(input_shapes);
  this->set_built();
}

template <class T>
std::vector<Shape> ActivationLayer<T>::compute_output_shapes(const std::vector<Shape>& input_shapes) const {
  detail::expect_input_count(this->where(), input_shapes.size(), 1);
  detail::expect_min_rank(this->where(), input_shapes[0], 1, "(batch, ...)");
  return {input_shapes[0]};
}

template <class T>
LayerOutputs<T> ActivationLayer<T>::call(const LayerInputs<T>& in) {
  detail::expect_input_count(this->where(), in.inputs.size(), 1);
  const Tensor<T>& x = detail::input_at(this->where(), in.inputs, 0);
  build({x.shape()});
  LayerOutputs<T> out;
  Tensor<T>& y = out.outputs.emplace_back(x);
  int64_t rows = 0, cols = 0;
  block_of(x, rows, cols);
  kernels::activate_block<T>(activation_, y.data(), rows, cols, cols);
  if (in.mask) out.mask = *in.mask;
  if (in.mode == Mode::training) tape_.push_back({x, y});
  return out;
}

template <class T>
void ActivationLayer<T>::block_of(const Tensor<T>& x, int64_t& rows, int64_t& cols) {
  cols = x.rank() >= 2 ? x.dim(-1) : x.size();
  rows = cols > 0 ? x.size() / cols : 0;
}

template <class T>
LayerGrads<T> ActivationLayer<T>::backward(const std::vector<Tensor<T>>& grad_outputs) {
  detail::check_grad_outputs(this->where(), grad_outputs, {detail::tape_top(tape_, this->where()).x.shape()});
  const Call call = detail::tape_pop(tape_);
  LayerGrads<T> g;
  Tensor<T>& dx = g.inputs.emplace_back(call.x.shape());
  const Tensor<T>& dy = grad_outputs[0];
  if (dy.empty()) return g;
  int64_t rows = 0, cols = 0;
  block_of(call.x, rows, cols);
  detail::activation_backward<T>(activation_, rows, cols, call.x.data(), call.y.data(), dy.data(), dx.data());
  return g;
}

template class ActivationLayer<float>;
template class ActivationLayer<double>;

}  // namespace rnnx
