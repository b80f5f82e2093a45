#include "rnnx/layers/padding1d.h"

#include "layers/call_tape.h"
#include "layers/conv1d_math.h"
#include "layers/shape_checks.h"
#include "rnnx/core/error.h"

namespace rnnx {

template <class T>
StepMap1D<T>::StepMap1D(std::string class_name, std::string name, int64_t repeat, int64_t left, int64_t right, bool pad,
                        bool channels_first)
    : Layer<T>(std::move(name)),
      class_name_(std::move(class_name)),
      repeat_(repeat),
      left_(left),
      right_(right),
      pad_(pad),
      channels_first_(channels_first) {}

template <class T>
int64_t StepMap1D<T>::out_steps(int64_t steps) const {
  if (steps < 0) return -1;
  return pad_ ? (steps + left_ + right_) * repeat_ : steps * repeat_ - left_ - right_;
}

template <class T>
int64_t StepMap1D<T>::source(int64_t o, int64_t steps) const {
  if (!pad_) return o + left_;  // cropping (left_ = 0 for UpSampling1D)
  const int64_t t = o / repeat_ - left_;
  return t >= 0 && t < steps ? t : -1;
}

template <class T>
void StepMap1D<T>::build(const std::vector<Shape> &input_shapes) {
  compute_output_shapes(input_shapes);
  this->set_built();
}

template <class T>
std::vector<Shape> StepMap1D<T>::compute_output_shapes(const std::vector<Shape> &input_shapes) const {
  detail::expect_input_count(this->where(), input_shapes.size(), 1);
  Shape s = input_shapes[0];
  detail::expect_rank(this->where(), s, 3, channels_first_ ? "(batch, features, steps)" : "(batch, steps, features)");
  const size_t axis = channels_first_ ? 2 : 1;
  const int64_t out = out_steps(s[axis]);
  if (s[axis] >= 0 && out <= 0)
    throw ShapeError(this->where() + ": cropping (" + std::to_string(left_) + ", " + std::to_string(right_) +
                     ") must leave at least one of the " + std::to_string(s[axis]) + " steps (input shape " +
                     to_string(s) + ")");
  s[axis] = out;
  return {s};
}

template <class T>
LayerOutputs<T> StepMap1D<T>::call(const LayerInputs<T> &in) {
  detail::expect_input_count(this->where(), in.inputs.size(), 1);
  const Tensor<T> &x_in = detail::input_at(this->where(), in.inputs, 0);
  compute_output_shapes({x_in.shape()});  // validates
  this->set_built();
  const Tensor<T> x = channels_first_ ? detail::swap_last_axes(x_in) : x_in;
  const int64_t batch = x.shape()[0], steps = x.shape()[1], features = x.shape()[2];
  const int64_t out = out_steps(steps);
  Tensor<T> y({batch, out, features});
  for (int64_t b = 0; b < batch; ++b)
    for (int64_t o = 0; o < out; ++o) {
      const int64_t t = source(o, steps);
      if (t < 0) continue;  // zero padding (y starts zeroed)
      std::copy(x.data() + (b * steps + t) * features, x.data() + (b * steps + t + 1) * features,
                y.data() + (b * out + o) * features);
    }
  if (in.mode == Mode::training) tape_.push_back(x_in.shape());
  LayerOutputs<T> result;
  result.outputs.push_back(channels_first_ ? detail::swap_last_axes(y) : std::move(y));
  return result;  // no mask: these Keras layers do not support masking
}

template <class T>
LayerGrads<T> StepMap1D<T>::backward(const std::vector<Tensor<T>> &grad_outputs) {
  const Shape &top = detail::tape_top(tape_, this->where());
  detail::check_grad_outputs(this->where(), grad_outputs, compute_output_shapes({top}));
  const Shape s = detail::tape_pop(tape_);
  const int64_t batch = s[0], steps = channels_first_ ? s[2] : s[1], features = channels_first_ ? s[1] : s[2];
  Tensor<T> dx({batch, steps, features});
  LayerGrads<T> grads;
  if (!grad_outputs[0].empty()) {
    const Tensor<T> dy = channels_first_ ? detail::swap_last_axes(grad_outputs[0]) : grad_outputs[0];
    const int64_t out = out_steps(steps);
    for (int64_t b = 0; b < batch; ++b)
      for (int64_t o = 0; o < out; ++o) {
        const int64_t t = source(o, steps);
        if (t < 0) continue;
        for (int64_t f = 0; f < features; ++f) dx[(b * steps + t) * features + f] += dy[(b * out + o) * features + f];
      }
  }
  grads.inputs.push_back(channels_first_ ? detail::swap_last_axes(dx) : std::move(dx));
  return grads;
}

template <class T>
UpSampling1D<T>::UpSampling1D(int64_t size, std::string name)
    : StepMap1D<T>("UpSampling1D", std::move(name), size, 0, 0, true, false), size_(size) {
  if (size <= 0) throw ConfigError(this->where() + ": size must be > 0, got " + std::to_string(size));
}

template <class T>
ZeroPadding1D<T>::ZeroPadding1D(int64_t left, int64_t right, std::string data_format, std::string name)
    : StepMap1D<T>("ZeroPadding1D", std::move(name), 1, left, right, true, data_format == "channels_first"),
      left_(left),
      right_(right),
      data_format_(std::move(data_format)) {
  if (left < 0 || right < 0)
    throw ConfigError(this->where() + ": padding must be >= 0, got (" + std::to_string(left) + ", " +
                      std::to_string(right) + ")");
  if (data_format_ != "channels_last" && data_format_ != "channels_first")
    throw ConfigError(this->where() + ": data_format must be 'channels_last' or 'channels_first', got '" +
                      data_format_ + "'");
}

template <class T>
Cropping1D<T>::Cropping1D(int64_t left, int64_t right, std::string name)
    : StepMap1D<T>("Cropping1D", std::move(name), 1, left, right, false, false), left_(left), right_(right) {
  if (left < 0 || right < 0)
    throw ConfigError(this->where() + ": cropping must be >= 0, got (" + std::to_string(left) + ", " +
                      std::to_string(right) + ")");
}

template class StepMap1D<float>;
template class StepMap1D<double>;
template class UpSampling1D<float>;
template class UpSampling1D<double>;
template class ZeroPadding1D<float>;
template class ZeroPadding1D<double>;
template class Cropping1D<float>;
template class Cropping1D<double>;

}  // namespace rnnx
