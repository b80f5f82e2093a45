#include "rnnx/layers/conv1d.h"

#include "layers/call_tape.h"
#include "layers/conv1d_math.h"
#include "layers/shape_checks.h"
#include "rnnx/core/error.h"
#include "rnnx/core/rng.h"
#include "rnnx/kernels/kernels.h"

namespace rnnx {

template <class T>
ConvLayer1D<T>::ConvLayer1D(std::string class_name, std::string name, const Conv1DGeometryOptions &geometry,
                            int64_t depth_multiplier, int64_t filters, int64_t groups, const Activation &activation,
                            bool use_bias, const Regularizer &activity)
    : Layer<T>(std::move(name)),
      class_name_(std::move(class_name)),
      geometry_(geometry),
      depth_multiplier_(depth_multiplier),
      filters_(filters),
      groups_(groups),
      activation_(activation),
      use_bias_(use_bias),
      activity_(activity) {
  const std::string w = this->where();
  auto positive = [&](const char *key, int64_t v) {
    if (v <= 0) throw ConfigError(w + ": " + key + " must be > 0, got " + std::to_string(v));
  };
  positive("kernel_size", geometry_.kernel_size);
  positive("strides", geometry_.strides);
  positive("dilation_rate", geometry_.dilation_rate);
  const std::string &p = geometry_.padding;
  const bool plain = depth_multiplier_ == 0;  // only Conv1D accepts "causal" (Keras)
  if (p != "valid" && p != "same" && !(plain && p == "causal"))
    throw ConfigError(w + ": padding must be " + (plain ? "'valid', 'same' or 'causal'" : "'valid' or 'same'") +
                      ", got '" + p + "'");
  if (geometry_.data_format != "channels_last" && geometry_.data_format != "channels_first")
    throw ConfigError(w + ": data_format must be 'channels_last' or 'channels_first', got '" + geometry_.data_format +
                      "'");
  if (geometry_.strides > 1 && geometry_.dilation_rate > 1)
    throw ConfigError(w +
                      ": strides > 1 together with dilation_rate > 1 is not supported (Keras "
                      "refuses it too), got "
                      "strides=" +
                      std::to_string(geometry_.strides) +
                      " and dilation_rate=" + std::to_string(geometry_.dilation_rate));
  if (plain || filters_ != 0) positive("filters", filters_);
  if (!plain) positive("depth_multiplier", depth_multiplier_);
  positive("groups", groups_);
  if (filters_ % groups_ != 0)
    throw ConfigError(w + ": filters must be divisible by groups, got filters=" + std::to_string(filters_) +
                      " and groups=" + std::to_string(groups_));
  // Keras applies softmax on the last axis, which is the steps axis with
  // channels_first: not a meaningful convolution output, and not supported
  // here.
  if (!activation_.elementwise() && geometry_.data_format == "channels_first")
    throw ConfigError(w +
                      ": activation 'softmax' with data_format "
                      "'channels_first' is not supported by rnnx");
}

template <class T>
int64_t ConvLayer1D<T>::out_channels(int64_t channels) const {
  if (filters_ > 0) return filters_;
  return channels < 0 ? -1 : channels * depth_multiplier_;
}

template <class T>
int64_t ConvLayer1D<T>::check_input(const std::vector<Shape> &input_shapes) const {
  detail::expect_input_count(this->where(), input_shapes.size(), 1);
  const bool cf = geometry_.data_format == "channels_first";
  const Shape &s = input_shapes[0];
  detail::expect_rank(this->where(), s, 3, cf ? "(batch, channels, steps)" : "(batch, steps, channels)");
  const int64_t channels = cf ? s[1] : s[2], steps = cf ? s[2] : s[1];
  if (channels_ >= 0 && channels >= 0 && channels != channels_)
    throw ShapeError(this->where() + ": input has " + std::to_string(channels) + " channels, expected " +
                     std::to_string(channels_) + " (input shape " + to_string(s) + ")");
  if (channels > 0 && channels % groups_ != 0)
    throw ShapeError(this->where() + ": input channels must be divisible by groups=" + std::to_string(groups_) +
                     ", got " + std::to_string(channels) + " (input shape " + to_string(s) + ")");
  const auto win =
      detail::window_1d(steps, geometry_.kernel_size, geometry_.strides, geometry_.dilation_rate, geometry_.padding);
  if (steps >= 0 && win.out < 1)
    throw ShapeError(this->where() + ": input has " + std::to_string(steps) + " steps, fewer than the kernel spans (" +
                     std::to_string((geometry_.kernel_size - 1) * geometry_.dilation_rate + 1) +
                     ") with padding 'valid' (input shape " + to_string(s) + ")");
  return channels;
}

template <class T>
void ConvLayer1D<T>::build(const std::vector<Shape> &input_shapes) {
  const int64_t c = check_input(input_shapes);
  if (this->built()) return;
  if (c <= 0)
    throw ShapeError(this->where() +
                     ": the channel dimension of the input must be known and > "
                     "0, got shape " +
                     to_string(input_shapes[0]));
  channels_ = c;
  const int64_t k = geometry_.kernel_size;
  std::vector<Shape> shapes;
  if (depth_multiplier_ > 0) shapes.push_back({k, c, depth_multiplier_});
  if (filters_ > 0)
    shapes.push_back(depth_multiplier_ > 0 ? Shape{1, c * depth_multiplier_, filters_}
                                           : Shape{k, c / groups_, filters_});
  if (use_bias_) shapes.push_back({out_channels(c)});
  Rng rng(this->seed());
  for (size_t i = 0; i < shapes.size(); ++i) {
    weights_.emplace_back(shapes[i]);
    initialize(specs_[i].initializer, weights_.back(), rng);
    grads_.emplace_back(shapes[i]);
  }
  this->set_built();
}

template <class T>
std::vector<Shape> ConvLayer1D<T>::compute_output_shapes(const std::vector<Shape> &input_shapes) const {
  const int64_t c = check_input(input_shapes);
  const Shape &s = input_shapes[0];
  const bool cf = geometry_.data_format == "channels_first";
  const int64_t steps = detail::window_1d(cf ? s[2] : s[1], geometry_.kernel_size, geometry_.strides,
                                          geometry_.dilation_rate, geometry_.padding)
                            .out;
  const int64_t oc = out_channels(c);
  return {cf ? Shape{s[0], oc, steps} : Shape{s[0], steps, oc}};
}

namespace {

// The (up to two) convolution stages of a call on a channels_last input [batch,
// steps, c].
struct Stages {
  detail::ConvGeometry first;      // the depthwise stage, or the only one
  detail::ConvGeometry pointwise;  // separable only (filters == 0 otherwise)
};

Stages make_stages(const Shape &cl, const Conv1DGeometryOptions &o, int64_t dm, int64_t filters, int64_t groups) {
  const auto win = detail::window_1d(cl[1], o.kernel_size, o.strides, o.dilation_rate, o.padding);
  Stages s;
  detail::ConvGeometry &g = s.first;
  g.batch = cl[0];
  g.steps = cl[1];
  g.channels = cl[2];
  g.kernel = o.kernel_size;
  g.stride = o.strides;
  g.dilation = o.dilation_rate;
  g.pad_left = win.pad_left;
  g.out_steps = win.out;
  g.groups = dm > 0 ? cl[2] : groups;
  g.filters = dm > 0 ? cl[2] * dm : filters;
  if (dm > 0 && filters > 0) {
    detail::ConvGeometry &p = s.pointwise;
    p.batch = g.batch;
    p.steps = p.out_steps = g.out_steps;
    p.channels = g.filters;
    p.filters = filters;
  }
  return s;
}

}  // namespace

template <class T>
LayerOutputs<T> ConvLayer1D<T>::call(const LayerInputs<T> &in) {
  detail::expect_input_count(this->where(), in.inputs.size(), 1);
  const Tensor<T> &x_in = detail::input_at(this->where(), in.inputs, 0);
  build({x_in.shape()});
  const bool cf = geometry_.data_format == "channels_first";
  Tensor<T> x = cf ? detail::swap_last_axes(x_in) : x_in;
  const Stages st = make_stages(x.shape(), geometry_, depth_multiplier_, filters_, groups_);
  const bool separable = st.pointwise.filters > 0;
  const int64_t oc = separable ? st.pointwise.filters : st.first.filters;
  const int64_t rows = st.first.batch * st.first.out_steps;
  std::vector<T> col;
  Tensor<T> mid;
  Tensor<T> y({st.first.batch, st.first.out_steps, oc});
  if (separable) {
    mid = Tensor<T>({st.first.batch, st.first.out_steps, st.first.filters});
    detail::conv1d_forward(st.first, x.data(), weights_[0].data(), mid.data(), col);
    detail::conv1d_forward(st.pointwise, mid.data(), weights_[1].data(), y.data(), col);
  } else {
    detail::conv1d_forward(st.first, x.data(), weights_[0].data(), y.data(), col);
  }
  if (use_bias_) kernels::add_row_vector<T>(y.data(), rows, oc, oc, weights_.back().data());
  Call c;
  const bool linear = activation_.kind == ActivationKind::linear;
  if (in.mode == Mode::training && !linear && activation_.elementwise()) c.z = y;
  kernels::activate_block<T>(activation_, y.data(), rows, oc, oc);
  if (in.mode == Mode::training) {
    c.input_shape = x_in.shape();
    c.x = std::move(x);
    c.mid = std::move(mid);
    if (!linear) c.y = y;
    tape_.push_back(std::move(c));
  }
  LayerOutputs<T> out;
  out.outputs.push_back(cf ? detail::swap_last_axes(y) : std::move(y));
  return out;  // no mask: Keras 3 conv layers do not support masking
}

template <class T>
LayerGrads<T> ConvLayer1D<T>::backward(const std::vector<Tensor<T>> &grad_outputs) {
  const Call &top = detail::tape_top(tape_, this->where());
  detail::check_grad_outputs(this->where(), grad_outputs, compute_output_shapes({top.input_shape}));
  const Call c = detail::tape_pop(tape_);
  LayerGrads<T> grads;
  const bool cf = geometry_.data_format == "channels_first";
  Tensor<T> dx(c.x.shape());
  const Tensor<T> &dy_in = grad_outputs[0];
  if (!dy_in.empty()) {
    Tensor<T> dz = cf ? detail::swap_last_axes(dy_in) : dy_in;
    const Stages st = make_stages(c.x.shape(), geometry_, depth_multiplier_, filters_, groups_);
    const bool separable = st.pointwise.filters > 0;
    const int64_t oc = separable ? st.pointwise.filters : st.first.filters;
    const int64_t rows = st.first.batch * st.first.out_steps;
    if (activation_.kind != ActivationKind::linear)
      detail::activation_backward<T>(activation_, rows, oc, c.z.empty() ? nullptr : c.z.data(), c.y.data(), dz.data(),
                                     dz.data());
    if (use_bias_) kernels::accumulate_column_sums<T>(rows, oc, dz.data(), oc, grads_.back().data());
    std::vector<T> col, dcol;
    if (separable) {
      Tensor<T> dmid(c.mid.shape());
      detail::conv1d_backward(st.pointwise, c.mid.data(), weights_[1].data(), dz.data(), dmid.data(), grads_[1].data(),
                              col, dcol);
      detail::conv1d_backward(st.first, c.x.data(), weights_[0].data(), dmid.data(), dx.data(), grads_[0].data(), col,
                              dcol);
    } else {
      detail::conv1d_backward(st.first, c.x.data(), weights_[0].data(), dz.data(), dx.data(), grads_[0].data(), col,
                              dcol);
    }
  }
  grads.inputs.push_back(cf ? detail::swap_last_axes(dx) : std::move(dx));
  return grads;
}

template <class T>
std::vector<Param<T>> ConvLayer1D<T>::params() {
  if (!this->built()) return {};
  std::vector<Param<T>> ps;
  for (size_t i = 0; i < specs_.size(); ++i)
    ps.push_back({specs_[i].name, &weights_[i], &grads_[i], true, specs_[i].regularizer, specs_[i].constraint});
  return ps;
}

template <class T>
Conv1D<T>::Conv1D(Conv1DOptions o, std::string name)
    : ConvLayer1D<T>("Conv1D", std::move(name), o, 0, o.filters, o.groups, o.activation, o.use_bias,
                     o.activity_regularizer),
      options_(std::move(o)) {
  this->specs_.push_back(
      {"kernel", options_.kernel_initializer, options_.kernel_regularizer, options_.kernel_constraint});
  if (options_.use_bias)
    this->specs_.push_back({"bias", options_.bias_initializer, options_.bias_regularizer, options_.bias_constraint});
}

template <class T>
DepthwiseConv1D<T>::DepthwiseConv1D(DepthwiseConv1DOptions o, std::string name)
    : ConvLayer1D<T>("DepthwiseConv1D", std::move(name), o, o.depth_multiplier, 0, 1, o.activation, o.use_bias,
                     o.activity_regularizer),
      options_(std::move(o)) {
  this->specs_.push_back(
      {"kernel", options_.depthwise_initializer, options_.depthwise_regularizer, options_.depthwise_constraint});
  if (options_.use_bias)
    this->specs_.push_back({"bias", options_.bias_initializer, options_.bias_regularizer, options_.bias_constraint});
}

template <class T>
SeparableConv1D<T>::SeparableConv1D(SeparableConv1DOptions o, std::string name)
    : ConvLayer1D<T>("SeparableConv1D", std::move(name), o, o.depth_multiplier, o.filters, 1, o.activation, o.use_bias,
                     o.activity_regularizer),
      options_(std::move(o)) {
  if (options_.filters <= 0)
    throw ConfigError(this->where() + ": filters must be > 0, got " + std::to_string(options_.filters));
  this->specs_.push_back({"depthwise_kernel", options_.depthwise_initializer, options_.depthwise_regularizer,
                          options_.depthwise_constraint});
  this->specs_.push_back({"pointwise_kernel", options_.pointwise_initializer, options_.pointwise_regularizer,
                          options_.pointwise_constraint});
  if (options_.use_bias)
    this->specs_.push_back({"bias", options_.bias_initializer, options_.bias_regularizer, options_.bias_constraint});
}

template class ConvLayer1D<float>;
template class ConvLayer1D<double>;
template class Conv1D<float>;
template class Conv1D<double>;
template class DepthwiseConv1D<float>;
template class DepthwiseConv1D<double>;
template class SeparableConv1D<float>;
template class SeparableConv1D<double>;

}  // namespace rnnx
