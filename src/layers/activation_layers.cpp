#include "rnnx/layers/activation_layers.h"

#include <algorithm>
#include <cmath>

#include "layers/call_tape.h"
#include "layers/shape_checks.h"
#include "rnnx/core/rng.h"

namespace rnnx {

template <class T>
void ScalarActivationLayer<T>::build(const std::vector<Shape> &input_shapes) {
  compute_output_shapes(input_shapes);
  this->set_built();
}

template <class T>
std::vector<Shape> ScalarActivationLayer<T>::compute_output_shapes(const std::vector<Shape> &input_shapes) const {
  detail::expect_input_count(this->where(), input_shapes.size(), 1);
  return {input_shapes[0]};
}

template <class T>
LayerOutputs<T> ScalarActivationLayer<T>::call(const LayerInputs<T> &in) {
  detail::expect_input_count(this->where(), in.inputs.size(), 1);
  const Tensor<T> &x = detail::input_at(this->where(), in.inputs, 0);
  this->set_built();
  LayerOutputs<T> out;
  Tensor<T> &y = out.outputs.emplace_back(x.shape());
  for (int64_t i = 0; i < x.size(); ++i) y[i] = value(x[i]);
  if (in.mask) out.mask = *in.mask;
  if (in.mode == Mode::training) tape_.push_back(x);
  return out;
}

template <class T>
LayerGrads<T> ScalarActivationLayer<T>::backward(const std::vector<Tensor<T>> &grad_outputs) {
  detail::check_grad_outputs(this->where(), grad_outputs, {detail::tape_top(tape_, this->where()).shape()});
  const Tensor<T> x = detail::tape_pop(tape_);
  LayerGrads<T> g;
  Tensor<T> &dx = g.inputs.emplace_back(x.shape());
  const Tensor<T> &dy = grad_outputs[0];
  if (!dy.empty())
    for (int64_t i = 0; i < x.size(); ++i) dx[i] = dy[i] * derivative(x[i]);
  return g;
}

template <class T>
LeakyReLU<T>::LeakyReLU(double negative_slope, std::string name)
    : ScalarActivationLayer<T>(std::move(name)), negative_slope_(negative_slope) {
  if (!(negative_slope_ >= 0.0))
    throw ConfigError(this->where() + ": negative_slope must be >= 0, got " + std::to_string(negative_slope_));
}

template <class T>
ELU<T>::ELU(double alpha, std::string name) : ScalarActivationLayer<T>(std::move(name)), alpha_(alpha) {}

template <class T>
T ELU<T>::value(T x) const {
  return x > T(0) ? x : static_cast<T>(alpha_) * (std::exp(x) - T(1));
}

template <class T>
T ELU<T>::derivative(T x) const {
  return x > T(0) ? T(1) : static_cast<T>(alpha_) * std::exp(x);
}

template <class T>
ReLU<T>::ReLU(ReLUOptions options, std::string name) : ScalarActivationLayer<T>(std::move(name)), options_(options) {
  if (options_.max_value && !(*options_.max_value >= 0.0))
    throw ConfigError(this->where() + ": max_value must be >= 0, got " + std::to_string(*options_.max_value));
  if (!(options_.negative_slope >= 0.0))
    throw ConfigError(this->where() + ": negative_slope must be >= 0, got " + std::to_string(options_.negative_slope));
  if (!(options_.threshold >= 0.0))
    throw ConfigError(this->where() + ": threshold must be >= 0, got " + std::to_string(options_.threshold));
}

template <class T>
T ReLU<T>::value(T x) const {
  const T thr = static_cast<T>(options_.threshold);
  T y = x > thr ? x : T(0);
  if (y < T(0)) y = T(0);
  if (options_.max_value) y = std::min(y, static_cast<T>(*options_.max_value));
  if (options_.negative_slope != 0.0) y -= static_cast<T>(options_.negative_slope) * std::max(thr - x, T(0));
  return y;
}

template <class T>
T ReLU<T>::derivative(T x) const {
  const T thr = static_cast<T>(options_.threshold);
  T d = (x > thr && x > T(0) && (!options_.max_value || x < static_cast<T>(*options_.max_value))) ? T(1) : T(0);
  if (x < thr) d += static_cast<T>(options_.negative_slope);
  return d;
}

// ---------------------------------------------------------------------------------------------
template <class T>
PReLU<T>::PReLU(PReLUOptions options, std::string name) : Layer<T>(std::move(name)), options_(std::move(options)) {
  for (int64_t a : options_.shared_axes)
    if (a < 1)
      throw ConfigError(this->where() + ": shared_axes must be non-batch axes counted from 1, got " +
                        to_string(options_.shared_axes));
}

template <class T>
Shape PReLU<T>::alpha_shape(const Shape &input_shape) const {
  Shape s(input_shape.begin() + (input_shape.empty() ? 0 : 1), input_shape.end());
  for (int64_t a : options_.shared_axes) {
    if (a > static_cast<int64_t>(s.size()))
      throw ShapeError(this->where() + ": shared_axes " + to_string(options_.shared_axes) +
                       " name an axis the input does not have (input shape " + to_string(input_shape) + ")");
    s[static_cast<size_t>(a - 1)] = 1;
  }
  return s;
}

template <class T>
void PReLU<T>::build(const std::vector<Shape> &input_shapes) {
  detail::expect_input_count(this->where(), input_shapes.size(), 1);
  detail::expect_min_rank(this->where(), input_shapes[0], 2, "(batch, ...)");
  const Shape as = alpha_shape(input_shapes[0]);
  if (this->built()) {
    if (as != alpha_.shape())
      throw ShapeError(this->where() + ": built for inputs of shape " + to_string(input_shape_) + ", got shape " +
                       to_string(input_shapes[0]));
    return;
  }
  for (int64_t d : as)
    if (d < 0)
      throw ShapeError(this->where() +
                       ": every non-shared input dimension must be known to "
                       "build alpha, got shape " +
                       to_string(input_shapes[0]));
  input_shape_ = input_shapes[0];
  Rng rng(this->seed());
  alpha_ = Tensor<T>(as);
  initialize(options_.alpha_initializer, alpha_, rng);
  alpha_grad_ = Tensor<T>(as);
  this->set_built();
}

template <class T>
std::vector<Shape> PReLU<T>::compute_output_shapes(const std::vector<Shape> &input_shapes) const {
  detail::expect_input_count(this->where(), input_shapes.size(), 1);
  detail::expect_min_rank(this->where(), input_shapes[0], 2, "(batch, ...)");
  alpha_shape(input_shapes[0]);
  return {input_shapes[0]};
}

template <class T>
std::vector<int64_t> PReLU<T>::alpha_index(const Shape &shape) const {
  // alpha broadcasts over the batch and the shared axes.
  const Shape &as = alpha_.shape();
  const size_t rank = shape.size();
  std::vector<int64_t> astride(rank, 0);
  int64_t stride = 1;
  for (size_t a = rank; a-- > 1;) {
    astride[a] = as[a - 1] == 1 ? 0 : stride;
    stride *= as[a - 1];
  }
  int64_t total = 1;
  for (int64_t d : shape) total *= d;
  std::vector<int64_t> out(static_cast<size_t>(total));
  std::vector<int64_t> idx(rank, 0);
  for (int64_t i = 0; i < total; ++i) {
    int64_t j = 0;
    for (size_t a = 1; a < rank; ++a) j += idx[a] * astride[a];
    out[i] = j;
    for (size_t a = rank; a-- > 0;) {
      if (++idx[a] < shape[a]) break;
      idx[a] = 0;
    }
  }
  return out;
}

template <class T>
LayerOutputs<T> PReLU<T>::call(const LayerInputs<T> &in) {
  detail::expect_input_count(this->where(), in.inputs.size(), 1);
  const Tensor<T> &x = detail::input_at(this->where(), in.inputs, 0);
  build({x.shape()});
  const Shape want(input_shape_.begin() + 1, input_shape_.end());
  for (size_t a = 1; a < x.shape().size(); ++a)
    if (!detail::dims_compatible(input_shape_[a], x.shape()[a]))
      throw ShapeError(this->where() + ": built for inputs of shape " + to_string(input_shape_) + ", got shape " +
                       to_string(x.shape()));
  const std::vector<int64_t> ai = alpha_index(x.shape());
  LayerOutputs<T> out;
  Tensor<T> &y = out.outputs.emplace_back(x.shape());
  // K3: relu(x) - alpha * relu(-x).
  for (int64_t i = 0; i < x.size(); ++i) y[i] = x[i] > T(0) ? x[i] : alpha_[ai[i]] * x[i];
  if (in.mask) out.mask = *in.mask;
  if (in.mode == Mode::training) tape_.push_back(x);
  return out;
}

template <class T>
LayerGrads<T> PReLU<T>::backward(const std::vector<Tensor<T>> &grad_outputs) {
  detail::check_grad_outputs(this->where(), grad_outputs, {detail::tape_top(tape_, this->where()).shape()});
  const Tensor<T> x = detail::tape_pop(tape_);
  LayerGrads<T> g;
  Tensor<T> &dx = g.inputs.emplace_back(x.shape());
  const Tensor<T> &dy = grad_outputs[0];
  if (dy.empty()) return g;
  const std::vector<int64_t> ai = alpha_index(x.shape());
  for (int64_t i = 0; i < x.size(); ++i) {
    if (x[i] > T(0)) {
      dx[i] = dy[i];
    } else {
      dx[i] = alpha_[ai[i]] * dy[i];
      alpha_grad_[ai[i]] += x[i] * dy[i];
    }
  }
  return g;
}

template <class T>
std::vector<Param<T>> PReLU<T>::params() {
  if (!this->built()) return {};
  return {{"alpha", &alpha_, &alpha_grad_, true, options_.alpha_regularizer, options_.alpha_constraint}};
}

// ---------------------------------------------------------------------------------------------
template <class T>
Softmax<T>::Softmax(int64_t axis, std::string name) : Layer<T>(std::move(name)), axis_(axis) {}

template <class T>
size_t Softmax<T>::resolve_axis(const Shape &shape) const {
  const int64_t r = static_cast<int64_t>(shape.size());
  const int64_t a = axis_ < 0 ? axis_ + r : axis_;
  if (a < 0 || a >= r)
    throw ShapeError(this->where() + ": axis " + std::to_string(axis_) + " is out of range for an input of shape " +
                     to_string(shape));
  return static_cast<size_t>(a);
}

template <class T>
void Softmax<T>::build(const std::vector<Shape> &input_shapes) {
  compute_output_shapes(input_shapes);
  this->set_built();
}

template <class T>
std::vector<Shape> Softmax<T>::compute_output_shapes(const std::vector<Shape> &input_shapes) const {
  detail::expect_input_count(this->where(), input_shapes.size(), 1);
  resolve_axis(input_shapes[0]);
  return {input_shapes[0]};
}

namespace {

// Per element of `shape`, the mask value broadcast from the right (numpy
// rules), as K3 Softmax applies its mask. ShapeError when it does not
// broadcast.
std::vector<uint8_t> broadcast_mask(const std::string &where, const Mask &m, const Shape &shape) {
  const Shape &ms = m.shape();
  const size_t rank = shape.size();
  bool ok = ms.size() <= rank;
  for (size_t i = 0; ok && i < ms.size(); ++i) {
    const int64_t md = ms[ms.size() - 1 - i], xd = shape[rank - 1 - i];
    ok = md == 1 || md == xd;
  }
  if (!ok)
    throw ShapeError(where + ": the mask of shape " + to_string(ms) + " does not broadcast to the input of shape " +
                     to_string(shape) +
                     " (Keras' Softmax needs each mask dimension, aligned from "
                     "the right, to be 1 "
                     "or equal to the input's; a [batch, steps] mask fits e.g. "
                     "scores of shape [batch, 1, steps])");
  std::vector<int64_t> mstride(rank, 0);
  int64_t stride = 1;
  for (size_t i = 0; i < ms.size(); ++i) {
    const size_t a = rank - 1 - i;
    const int64_t md = ms[ms.size() - 1 - i];
    mstride[a] = md == 1 ? 0 : stride;
    stride *= md;
  }
  int64_t total = 1;
  for (int64_t d : shape) total *= d;
  std::vector<uint8_t> out(static_cast<size_t>(total));
  std::vector<int64_t> idx(rank, 0);
  for (int64_t i = 0; i < total; ++i) {
    int64_t j = 0;
    for (size_t a = 0; a < rank; ++a) j += idx[a] * mstride[a];
    out[i] = m[j] != 0;
    for (size_t a = rank; a-- > 0;) {
      if (++idx[a] < shape[a]) break;
      idx[a] = 0;
    }
  }
  return out;
}

}  // namespace

template <class T>
LayerOutputs<T> Softmax<T>::call(const LayerInputs<T> &in) {
  detail::expect_input_count(this->where(), in.inputs.size(), 1);
  const Tensor<T> &x = detail::input_at(this->where(), in.inputs, 0);
  const size_t axis = resolve_axis(x.shape());
  this->set_built();
  Call call;
  if (in.mask) call.keep = broadcast_mask(this->where(), *in.mask, x.shape());
  LayerOutputs<T> out;
  Tensor<T> &y = out.outputs.emplace_back(x.shape());
  int64_t outer = 1, inner = 1;
  for (size_t a = 0; a < axis; ++a) outer *= x.shape()[a];
  for (size_t a = axis + 1; a < x.shape().size(); ++a) inner *= x.shape()[a];
  const int64_t n = x.shape()[axis];
  // K3: masked-out inputs become -1e9 (a large negative number) before the
  // softmax.
  auto in_at = [&](int64_t i) { return call.keep.empty() || call.keep[i] ? x[i] : static_cast<T>(-1e9); };
  for (int64_t o = 0; o < outer; ++o)
    for (int64_t q = 0; q < inner; ++q) {
      const int64_t base = o * n * inner + q;
      T mx = in_at(base);
      for (int64_t k = 1; k < n; ++k) mx = std::max(mx, in_at(base + k * inner));
      T sum = 0;
      for (int64_t k = 0; k < n; ++k) sum += (y[base + k * inner] = std::exp(in_at(base + k * inner) - mx));
      for (int64_t k = 0; k < n; ++k) y[base + k * inner] /= sum;
    }
  if (!call.keep.empty())
    for (int64_t i = 0; i < y.size(); ++i)
      if (!call.keep[i]) y[i] = T(0);
  if (in.mask) out.mask = *in.mask;
  if (in.mode == Mode::training) {
    call.y = y;
    tape_.push_back(std::move(call));
  }
  return out;
}

template <class T>
LayerGrads<T> Softmax<T>::backward(const std::vector<Tensor<T>> &grad_outputs) {
  detail::check_grad_outputs(this->where(), grad_outputs, {detail::tape_top(tape_, this->where()).y.shape()});
  const Call call = detail::tape_pop(tape_);
  const Shape &shape = call.y.shape();
  LayerGrads<T> g;
  Tensor<T> &dx = g.inputs.emplace_back(shape);
  const Tensor<T> &dy = grad_outputs[0];
  if (dy.empty()) return g;
  const size_t axis = resolve_axis(shape);
  int64_t outer = 1, inner = 1;
  for (size_t a = 0; a < axis; ++a) outer *= shape[a];
  for (size_t a = axis + 1; a < shape.size(); ++a) inner *= shape[a];
  const int64_t n = shape[axis];
  // The masked-out outputs were replaced by 0 (no gradient through them); the
  // softmax itself sees the remaining gradient; masked-out inputs were
  // constants (no gradient).
  auto keep = [&](int64_t i) { return call.keep.empty() || call.keep[i]; };
  for (int64_t o = 0; o < outer; ++o)
    for (int64_t q = 0; q < inner; ++q) {
      const int64_t base = o * n * inner + q;
      T dot = 0;
      for (int64_t k = 0; k < n; ++k) {
        const int64_t i = base + k * inner;
        if (keep(i)) dot += dy[i] * call.y[i];
      }
      for (int64_t k = 0; k < n; ++k) {
        const int64_t i = base + k * inner;
        dx[i] = keep(i) ? call.y[i] * (dy[i] - dot) : T(0);
      }
    }
  return g;
}

template class ScalarActivationLayer<float>;
template class ScalarActivationLayer<double>;
template class LeakyReLU<float>;
template class LeakyReLU<double>;
template class ELU<float>;
template class ELU<double>;
template class ReLU<float>;
template class ReLU<double>;
template class PReLU<float>;
template class PReLU<double>;
template class Softmax<float>;
template class Softmax<double>;

}  // namespace rnnx
