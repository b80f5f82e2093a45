#include "rnnx/layers/pooling.h"

#include <cmath>
#include <limits>

#include "layers/call_tape.h"
#include "layers/shape_checks.h"

namespace rnnx {

template <class T>
GlobalPooling1D<T>::GlobalPooling1D(std::string class_name, GlobalPooling1DOptions options, std::string name)
    : Layer<T>(std::move(name)), class_name_(std::move(class_name)), options_(std::move(options)) {
  if (options_.data_format != "channels_last" && options_.data_format != "channels_first")
    throw ConfigError(this->where() + ": data_format must be 'channels_last' or 'channels_first', got '" +
                      options_.data_format + "'");
}

template <class T>
Shape GlobalPooling1D<T>::output_shape(const Shape& s) const {
  detail::expect_rank(this->where(), s, 3, channels_first() ? "(batch, features, steps)" : "(batch, steps, features)");
  const int64_t features = channels_first() ? s[1] : s[2];
  if (!options_.keepdims) return {s[0], features};
  return channels_first() ? Shape{s[0], features, 1} : Shape{s[0], 1, features};
}

template <class T>
void GlobalPooling1D<T>::build(const std::vector<Shape>& input_shapes) {
  compute_output_shapes(input_shapes);
  this->set_built();
}

template <class T>
std::vector<Shape> GlobalPooling1D<T>::compute_output_shapes(const std::vector<Shape>& input_shapes) const {
  detail::expect_input_count(this->where(), input_shapes.size(), 1);
  return {output_shape(input_shapes[0])};
}

template <class T>
const Tensor<T>& GlobalPooling1D<T>::check_call(const LayerInputs<T>& in, Geometry& g) {
  detail::expect_input_count(this->where(), in.inputs.size(), 1);
  const Tensor<T>& x = detail::input_at(this->where(), in.inputs, 0);
  build({x.shape()});
  const Shape& s = x.shape();
  g.batch = s[0];
  g.steps = channels_first() ? s[2] : s[1];
  g.features = channels_first() ? s[1] : s[2];
  g.step_stride = channels_first() ? 1 : g.features;
  g.feature_stride = channels_first() ? g.steps : 1;
  return x;
}

template <class T>
typename GlobalPooling1D<T>::Call GlobalPooling1D<T>::pop_call(const std::vector<Tensor<T>>& grad_outputs) {
  detail::check_grad_outputs(this->where(), grad_outputs, {output_shape(detail::tape_top(tape_, this->where()).shape)});
  return detail::tape_pop(tape_);
}

template <class T>
LayerOutputs<T> GlobalMaxPooling1D<T>::call(const LayerInputs<T>& in) {
  typename GlobalPooling1D<T>::Geometry g;
  const Tensor<T>& x = this->check_call(in, g);
  LayerOutputs<T> out;
  Tensor<T>& y = out.outputs.emplace_back(this->output_shape(x.shape()));
  for (int64_t b = 0; b < g.batch; ++b) {
    const T* xb = x.data() + b * g.steps * g.features;
    for (int64_t f = 0; f < g.features; ++f) {
      T m = -std::numeric_limits<T>::infinity();
      for (int64_t t = 0; t < g.steps; ++t) {
        const T v = xb[t * g.step_stride + f * g.feature_stride];
        if (v > m || std::isnan(v)) m = v;  // NaN propagates, as in a max reduction
      }
      y[b * g.features + f] = m;
    }
  }
  if (in.mode == Mode::training) this->tape_.push_back({x.shape(), g, x, y, Mask()});
  return out;
}

template <class T>
LayerGrads<T> GlobalMaxPooling1D<T>::backward(const std::vector<Tensor<T>>& grad_outputs) {
  const typename GlobalPooling1D<T>::Call c = this->pop_call(grad_outputs);
  const auto& g = c.g;
  LayerGrads<T> grads;
  Tensor<T>& dx = grads.inputs.emplace_back(c.shape);
  const Tensor<T>& dy = grad_outputs[0];
  if (dy.empty()) return grads;
  // TF _MaxGrad: indicators (x == max) / their count, times dy.
  for (int64_t b = 0; b < g.batch; ++b) {
    const int64_t base = b * g.steps * g.features;
    for (int64_t f = 0; f < g.features; ++f) {
      const T m = c.y[b * g.features + f];
      T count = 0;
      for (int64_t t = 0; t < g.steps; ++t) count += T(c.x[base + t * g.step_stride + f * g.feature_stride] == m);
      // In TF's order; a NaN max has count 0, so every step gets 0 / 0 * dy = NaN, as in TF.
      for (int64_t t = 0; t < g.steps; ++t) {
        const int64_t i = base + t * g.step_stride + f * g.feature_stride;
        dx[i] = T(c.x[i] == m) / count * dy[b * g.features + f];
      }
    }
  }
  return grads;
}

template <class T>
LayerOutputs<T> GlobalAveragePooling1D<T>::call(const LayerInputs<T>& in) {
  typename GlobalPooling1D<T>::Geometry g;
  const Tensor<T>& x = this->check_call(in, g);
  const Mask* mask = in.mask;
  if (mask && mask->shape() != Shape{g.batch, g.steps})
    throw ShapeError(this->where() + ": mask has shape " + to_string(mask->shape()) + ", expected " +
                     to_string(Shape{g.batch, g.steps}) + " (input shape " + to_string(x.shape()) + ")");
  LayerOutputs<T> out;
  Tensor<T>& y = out.outputs.emplace_back(this->output_shape(x.shape()));
  for (int64_t b = 0; b < g.batch; ++b) {
    const T* xb = x.data() + b * g.steps * g.features;
    T count = 0;
    for (int64_t t = 0; t < g.steps; ++t) count += mask ? T((*mask)[b * g.steps + t] != 0) : T(1);
    for (int64_t f = 0; f < g.features; ++f) {
      T sum = 0;
      for (int64_t t = 0; t < g.steps; ++t) {
        const T v = xb[t * g.step_stride + f * g.feature_stride];
        sum += mask ? v * T((*mask)[b * g.steps + t] != 0) : v;
      }
      y[b * g.features + f] = sum / count;
    }
  }
  if (in.mode == Mode::training) this->tape_.push_back({x.shape(), g, Tensor<T>(), Tensor<T>(), mask ? *mask : Mask()});
  return out;
}

template <class T>
LayerGrads<T> GlobalAveragePooling1D<T>::backward(const std::vector<Tensor<T>>& grad_outputs) {
  const typename GlobalPooling1D<T>::Call c = this->pop_call(grad_outputs);
  const auto& g = c.g;
  LayerGrads<T> grads;
  Tensor<T>& dx = grads.inputs.emplace_back(c.shape);
  const Tensor<T>& dy = grad_outputs[0];
  if (dy.empty()) return grads;
  const bool masked = !c.mask.empty();
  for (int64_t b = 0; b < g.batch; ++b) {
    T count = 0;
    for (int64_t t = 0; t < g.steps; ++t) count += masked ? T(c.mask[b * g.steps + t] != 0) : T(1);
    for (int64_t t = 0; t < g.steps; ++t) {
      const T w = masked ? T(c.mask[b * g.steps + t] != 0) : T(1);
      for (int64_t f = 0; f < g.features; ++f)
        dx[b * g.steps * g.features + t * g.step_stride + f * g.feature_stride] = dy[b * g.features + f] * w / count;
    }
  }
  return grads;
}

template class GlobalPooling1D<float>;
template class GlobalPooling1D<double>;
template class GlobalMaxPooling1D<float>;
template class GlobalMaxPooling1D<double>;
template class GlobalAveragePooling1D<float>;
template class GlobalAveragePooling1D<double>;

}  // namespace rnnx
