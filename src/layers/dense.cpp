#include "rnnx/layers/dense.h"

#include "layers/call_tape.h"
#include "layers/shape_checks.h"
#include "rnnx/core/error.h"
#include "rnnx/core/rng.h"
#include "rnnx/kernels/kernels.h"

namespace rnnx {

template <class T>
Dense<T>::Dense(DenseOptions options, std::string name) : Layer<T>(std::move(name)), options_(std::move(options)) {
  if (options_.units <= 0)
    throw ConfigError(this->where() + ": units must be > 0, got " + std::to_string(options_.units));
}

template <class T>
int64_t Dense<T>::check_input(const std::vector<Shape>& input_shapes) const {
  detail::expect_input_count(this->where(), input_shapes.size(), 1);
  const Shape& s = input_shapes[0];
  detail::expect_min_rank(this->where(), s, 2, "(batch, ..., features)");
  const int64_t d = s.back();
  if (input_dim_ >= 0 && d >= 0 && d != input_dim_)
    throw ShapeError(this->where() + ": input has " + std::to_string(d) + " features, expected " +
                     std::to_string(input_dim_) + " (input shape " + to_string(s) + ")");
  return d;
}

template <class T>
void Dense<T>::build(const std::vector<Shape>& input_shapes) {
  const int64_t d = check_input(input_shapes);
  if (this->built()) return;
  if (d <= 0)
    throw ShapeError(this->where() + ": the last dimension of the input must be known and > 0, got shape " +
                     to_string(input_shapes[0]));
  input_dim_ = d;
  Rng rng(this->seed());
  kernel_ = Tensor<T>({d, options_.units});
  initialize(options_.kernel_initializer, kernel_, rng);
  kernel_grad_ = Tensor<T>(kernel_.shape());
  if (options_.use_bias) {
    bias_ = Tensor<T>({options_.units});
    initialize(options_.bias_initializer, bias_, rng);
    bias_grad_ = Tensor<T>(bias_.shape());
  }
  this->set_built();
}

template <class T>
std::vector<Shape> Dense<T>::compute_output_shapes(const std::vector<Shape>& input_shapes) const {
  check_input(input_shapes);
  Shape out = input_shapes[0];
  out.back() = options_.units;
  return {out};
}

template <class T>
LayerOutputs<T> Dense<T>::call(const LayerInputs<T>& in) {
  detail::expect_input_count(this->where(), in.inputs.size(), 1);
  const Tensor<T>& x = detail::input_at(this->where(), in.inputs, 0);
  build({x.shape()});
  const int64_t units = options_.units;
  const int64_t rows = x.size() / input_dim_;
  Shape out_shape = x.shape();
  out_shape.back() = units;
  LayerOutputs<T> out;
  Tensor<T>& y = out.outputs.emplace_back(out_shape);
  kernels::gemm<T>(false, false, rows, units, input_dim_, T(1), x.data(), input_dim_, kernel_.data(), units, T(0),
                   y.data(), units);
  if (options_.use_bias) kernels::add_row_vector<T>(y.data(), rows, units, units, bias_.data());
  const Activation& act = options_.activation;
  Call call;
  if (in.mode == Mode::training) {
    call.x = x;
    if (act.kind != ActivationKind::linear && act.elementwise()) call.z = y;
  }
  kernels::activate_block<T>(act, y.data(), rows, units, units);
  if (in.mode == Mode::training) {
    if (act.kind != ActivationKind::linear) call.y = y;
    tape_.push_back(std::move(call));
  }
  if (in.mask) out.mask = *in.mask;
  return out;
}

template <class T>
LayerGrads<T> Dense<T>::backward(const std::vector<Tensor<T>>& grad_outputs) {
  Shape out_shape = detail::tape_top(tape_, this->where()).x.shape();
  out_shape.back() = options_.units;
  detail::check_grad_outputs(this->where(), grad_outputs, {out_shape});
  const Call call = detail::tape_pop(tape_);
  LayerGrads<T> g;
  Tensor<T>& dx = g.inputs.emplace_back(call.x.shape());
  const Tensor<T>& dy = grad_outputs[0];
  if (dy.empty()) return g;
  const int64_t units = options_.units, rows = call.x.size() / input_dim_;
  // dz = dy * activation'(z) (dz is dy itself for a linear Dense); the weight gradients are
  // whole-batch matrix products over all rows.
  Tensor<T> dz_storage;
  const T* dz = dy.data();
  if (options_.activation.kind != ActivationKind::linear) {
    dz_storage = Tensor<T>(out_shape);
    detail::activation_backward<T>(options_.activation, rows, units, call.z.empty() ? nullptr : call.z.data(),
                                   call.y.data(), dy.data(), dz_storage.data());
    dz = dz_storage.data();
  }
  kernels::gemm<T>(true, false, input_dim_, units, rows, T(1), call.x.data(), input_dim_, dz, units, T(1),
                   kernel_grad_.data(), units);
  if (options_.use_bias) kernels::accumulate_column_sums<T>(rows, units, dz, units, bias_grad_.data());
  kernels::gemm<T>(false, true, rows, input_dim_, units, T(1), dz, units, kernel_.data(), units, T(0), dx.data(),
                   input_dim_);
  return g;
}

template <class T>
std::vector<Param<T>> Dense<T>::params() {
  if (!this->built()) return {};
  std::vector<Param<T>> ps{
      {"kernel", &kernel_, &kernel_grad_, true, options_.kernel_regularizer, options_.kernel_constraint}};
  if (options_.use_bias)
    ps.push_back({"bias", &bias_, &bias_grad_, true, options_.bias_regularizer, options_.bias_constraint});
  return ps;
}

template class Dense<float>;
template class Dense<double>;

}  // namespace rnnx
