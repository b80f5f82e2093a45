#include "rnnx/layers/pooling1d.h"

#include <algorithm>

#include "layers/call_tape.h"
#include "layers/conv1d_math.h"
#include "layers/shape_checks.h"
#include "rnnx/core/error.h"

namespace rnnx {

template <class T>
Pooling1D<T>::Pooling1D(bool max, Pooling1DOptions options, std::string name)
    : Layer<T>(std::move(name)), max_(max), options_(std::move(options)) {
  if (options_.pool_size <= 0)
    throw ConfigError(this->where() + ": pool_size must be > 0, got " + std::to_string(options_.pool_size));
  if (options_.strides == 0 || options_.strides < -1)
    throw ConfigError(this->where() + ": strides must be > 0 (or None), got " + std::to_string(options_.strides));
  if (options_.padding != "valid" && options_.padding != "same")
    throw ConfigError(this->where() + ": padding must be 'valid' or 'same', got '" + options_.padding + "'");
  if (options_.data_format != "channels_last" && options_.data_format != "channels_first")
    throw ConfigError(this->where() + ": data_format must be 'channels_last' or 'channels_first', got '" +
                      options_.data_format + "'");
}

template <class T>
void Pooling1D<T>::build(const std::vector<Shape> &input_shapes) {
  compute_output_shapes(input_shapes);
  this->set_built();
}

template <class T>
std::vector<Shape> Pooling1D<T>::compute_output_shapes(const std::vector<Shape> &input_shapes) const {
  detail::expect_input_count(this->where(), input_shapes.size(), 1);
  const bool cf = options_.data_format == "channels_first";
  const Shape &s = input_shapes[0];
  detail::expect_rank(this->where(), s, 3, cf ? "(batch, features, steps)" : "(batch, steps, features)");
  const int64_t steps = cf ? s[2] : s[1];
  const auto win = detail::window_1d(steps, options_.pool_size, stride(), 1, options_.padding);
  if (steps >= 0 && win.out < 1)
    throw ShapeError(this->where() + ": input has " + std::to_string(steps) + " steps, fewer than pool_size " +
                     std::to_string(options_.pool_size) + " with padding 'valid' (input shape " + to_string(s) + ")");
  return {cf ? Shape{s[0], s[1], win.out} : Shape{s[0], win.out, s[2]}};
}

template <class T>
LayerOutputs<T> Pooling1D<T>::call(const LayerInputs<T> &in) {
  detail::expect_input_count(this->where(), in.inputs.size(), 1);
  const Tensor<T> &x_in = detail::input_at(this->where(), in.inputs, 0);
  build({x_in.shape()});
  const bool cf = options_.data_format == "channels_first";
  const Tensor<T> x = cf ? detail::swap_last_axes(x_in) : x_in;
  const int64_t batch = x.shape()[0], steps = x.shape()[1], features = x.shape()[2];
  const auto win = detail::window_1d(steps, options_.pool_size, stride(), 1, options_.padding);
  Tensor<T> y({batch, win.out, features});
  Call c;
  const bool keep = max_ && in.mode == Mode::training;
  if (keep) c.source.resize(static_cast<size_t>(y.size()));
  for (int64_t b = 0; b < batch; ++b)
    for (int64_t o = 0; o < win.out; ++o) {
      const int64_t start = o * stride() - win.pad_left;
      const int64_t lo = std::max<int64_t>(start, 0), hi = std::min(start + options_.pool_size, steps);
      for (int64_t f = 0; f < features; ++f) {
        const int64_t out_index = (b * win.out + o) * features + f;
        T acc = x[(b * steps + lo) * features + f];
        int64_t arg = lo;
        for (int64_t t = lo + 1; t < hi; ++t) {
          const T v = x[(b * steps + t) * features + f];
          if (!max_) {
            acc += v;
          } else if (v > acc) {
            acc = v;
            arg = t;
          }
        }
        y[out_index] = max_ ? acc : acc / T(hi - lo);
        if (keep) c.source[static_cast<size_t>(out_index)] = arg;
      }
    }
  if (in.mode == Mode::training) {
    c.input_shape = x_in.shape();
    tape_.push_back(std::move(c));
  }
  LayerOutputs<T> out;
  out.outputs.push_back(cf ? detail::swap_last_axes(y) : std::move(y));
  return out;  // no mask: Keras pooling layers do not support masking
}

template <class T>
LayerGrads<T> Pooling1D<T>::backward(const std::vector<Tensor<T>> &grad_outputs) {
  const Call &top = detail::tape_top(tape_, this->where());
  detail::check_grad_outputs(this->where(), grad_outputs, compute_output_shapes({top.input_shape}));
  const Call c = detail::tape_pop(tape_);
  const bool cf = options_.data_format == "channels_first";
  const Shape &s = c.input_shape;
  const int64_t batch = s[0], steps = cf ? s[2] : s[1], features = cf ? s[1] : s[2];
  Tensor<T> dx({batch, steps, features});
  const Tensor<T> &dy_in = grad_outputs[0];
  LayerGrads<T> grads;
  if (!dy_in.empty()) {
    const Tensor<T> dy = cf ? detail::swap_last_axes(dy_in) : dy_in;
    const auto win = detail::window_1d(steps, options_.pool_size, stride(), 1, options_.padding);
    for (int64_t b = 0; b < batch; ++b)
      for (int64_t o = 0; o < win.out; ++o) {
        const int64_t start = o * stride() - win.pad_left;
        const int64_t lo = std::max<int64_t>(start, 0), hi = std::min(start + options_.pool_size, steps);
        for (int64_t f = 0; f < features; ++f) {
          const int64_t out_index = (b * win.out + o) * features + f;
          const T g = dy[out_index];
          if (max_) {
            dx[(b * steps + c.source[static_cast<size_t>(out_index)]) * features + f] += g;
          } else {
            const T share = g / T(hi - lo);
            for (int64_t t = lo; t < hi; ++t) dx[(b * steps + t) * features + f] += share;
          }
        }
      }
  }
  grads.inputs.push_back(cf ? detail::swap_last_axes(dx) : std::move(dx));
  return grads;
}

template class Pooling1D<float>;
template class Pooling1D<double>;
template class MaxPooling1D<float>;
template class MaxPooling1D<double>;
template class AveragePooling1D<float>;
template class AveragePooling1D<double>;

}  // namespace rnnx
