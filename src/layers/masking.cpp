#include "rnnx/layers/masking.h"

#include <algorithm>

#include "layers/call_tape.h"
#include "layers/shape_checks.h"
#include "rnnx/kernels/kernels.h"

namespace rnnx {

template <class T>
Masking<T>::Masking(MaskingOptions options, std::string name) : Layer<T>(std::move(name)), options_(options) {}

template <class T>
void Masking<T>::build(const std::vector<Shape>& input_shapes) {
  compute_output_shapes(input_shapes);
  this->set_built();
}

template <class T>
std::vector<Shape> Masking<T>::compute_output_shapes(const std::vector<Shape>& input_shapes) const {
  detail::expect_input_count(this->where(), input_shapes.size(), 1);
  detail::expect_min_rank(this->where(), input_shapes[0], 2, "(batch, ..., features)");
  return {input_shapes[0]};
}

template <class T>
LayerOutputs<T> Masking<T>::call(const LayerInputs<T>& in) {
  detail::expect_input_count(this->where(), in.inputs.size(), 1);
  const Tensor<T>& x = detail::input_at(this->where(), in.inputs, 0);
  build({x.shape()});
  const int64_t features = x.dim(-1);
  Shape mask_shape(x.shape().begin(), x.shape().end() - 1);
  const int64_t steps = num_elements(mask_shape);
  const T value = static_cast<T>(options_.mask_value);
  LayerOutputs<T> out;
  Tensor<T>& y = out.outputs.emplace_back(x.shape());
  out.mask = Mask(mask_shape);
  for (int64_t s = 0; s < steps; ++s) {
    const T* row = x.data() + s * features;
    bool keep = false;
    for (int64_t f = 0; f < features && !keep; ++f) keep = row[f] != value;
    out.mask[s] = keep;
    if (keep) std::copy(row, row + features, y.data() + s * features);  // masked steps stay 0
  }
  if (in.mode == Mode::training) tape_.push_back({x.shape(), out.mask});
  return out;
}

template <class T>
LayerGrads<T> Masking<T>::backward(const std::vector<Tensor<T>>& grad_outputs) {
  detail::check_grad_outputs(this->where(), grad_outputs, {detail::tape_top(tape_, this->where()).shape});
  const Call call = detail::tape_pop(tape_);
  LayerGrads<T> g;
  Tensor<T>& dx = g.inputs.emplace_back(call.shape);
  const Tensor<T>& dy = grad_outputs[0];
  if (dy.empty()) return g;
  const int64_t features = call.shape.back();
  const std::vector<T> zeros(static_cast<size_t>(features), T(0));
  kernels::select_rows<T>(call.mask.size(), features, call.mask.data(), 1, dy.data(), features, zeros.data(), 0,
                          dx.data(), features);
  return g;
}

template class Masking<float>;
template class Masking<double>;

}  // namespace rnnx
