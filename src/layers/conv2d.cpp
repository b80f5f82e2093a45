#include "rnnx/layers/conv2d.h"

#include "layers/call_tape.h"
#include "layers/conv1d_math.h"
#include "layers/conv_nd_math.h"
#include "layers/shape_checks.h"
#include "rnnx/core/error.h"
#include "rnnx/core/rng.h"
#include "rnnx/kernels/kernels.h"
#include "rnnx/layers/conv3d.h"

namespace rnnx {
namespace {

// The geometry of a call on a channels_last input shape [batch, spatial..., channels].
detail::ConvGeometryND geometry(const ConvOptions& o, int rank, const Shape& cl) {
  detail::ConvGeometryND g;
  g.rank = rank;
  g.batch = cl[0];
  g.channels = cl.back();
  for (int a = 0; a < rank; ++a) {
    const auto w = detail::window_1d(cl[static_cast<size_t>(a) + 1], o.kernel_size[a], o.strides[a], o.dilation_rate[a],
                                     o.padding);
    g.in[a] = cl[static_cast<size_t>(a) + 1];
    g.kernel[a] = o.kernel_size[a];
    g.stride[a] = o.strides[a];
    g.dilation[a] = o.dilation_rate[a];
    g.pad[a] = w.pad_left;
    g.out[a] = w.out;
  }
  g.groups = o.groups;
  g.filters = o.filters;
  return g;
}

}  // namespace

template <class T>
ConvND<T>::ConvND(int rank, std::string class_name, ConvOptions options, std::string name)
    : Layer<T>(std::move(name)), rank_(rank), class_name_(std::move(class_name)), options_(std::move(options)) {
  const std::string w = this->where();
  if (options_.kernel_size.empty()) throw ConfigError(w + ": kernel_size is required");
  detail::expand_per_axis(w, "kernel_size", options_.kernel_size, rank_);
  detail::expand_per_axis(w, "strides", options_.strides, rank_);
  detail::expand_per_axis(w, "dilation_rate", options_.dilation_rate, rank_);
  if (options_.padding != "valid" && options_.padding != "same")
    throw ConfigError(w + ": padding must be 'valid' or 'same', got '" + options_.padding + "'");
  if (options_.data_format != "channels_last" && options_.data_format != "channels_first")
    throw ConfigError(w + ": data_format must be 'channels_last' or 'channels_first', got '" + options_.data_format +
                      "'");
  const auto max_of = [](const std::vector<int64_t>& v) { return *std::max_element(v.begin(), v.end()); };
  if (max_of(options_.strides) > 1 && max_of(options_.dilation_rate) > 1)
    throw ConfigError(w +
                      ": strides > 1 together with dilation_rate > 1 is not supported (Keras refuses it too), got " +
                      "strides=" + detail::tuple_string(options_.strides) +
                      " and dilation_rate=" + detail::tuple_string(options_.dilation_rate));
  if (options_.filters <= 0) throw ConfigError(w + ": filters must be > 0, got " + std::to_string(options_.filters));
  if (options_.groups <= 0) throw ConfigError(w + ": groups must be > 0, got " + std::to_string(options_.groups));
  if (options_.filters % options_.groups != 0)
    throw ConfigError(w + ": filters must be divisible by groups, got filters=" + std::to_string(options_.filters) +
                      " and groups=" + std::to_string(options_.groups));
  // Keras applies softmax on the last axis, a spatial one with channels_first: not a
  // meaningful convolution output, and not supported here.
  if (!options_.activation.elementwise() && channels_first())
    throw ConfigError(w + ": activation 'softmax' with data_format 'channels_first' is not supported by rnnx");
}

template <class T>
int64_t ConvND<T>::check_input(const std::vector<Shape>& input_shapes) const {
  detail::expect_input_count(this->where(), input_shapes.size(), 1);
  const Shape& s = input_shapes[0];
  const std::string layout =
      rank_ == 2 ? (channels_first() ? "(batch, channels, rows, cols)" : "(batch, rows, cols, channels)")
                 : (channels_first() ? "(batch, channels, d1, d2, d3)" : "(batch, d1, d2, d3, channels)");
  detail::expect_rank(this->where(), s, static_cast<size_t>(rank_) + 2, layout);
  const int64_t channels = channels_first() ? s[1] : s.back();
  if (channels_ >= 0 && channels >= 0 && channels != channels_)
    throw ShapeError(this->where() + ": input has " + std::to_string(channels) + " channels, expected " +
                     std::to_string(channels_) + " (input shape " + to_string(s) + ")");
  if (channels > 0 && channels % options_.groups != 0)
    throw ShapeError(this->where() + ": input channels must be divisible by groups=" + std::to_string(options_.groups) +
                     ", got " + std::to_string(channels) + " (input shape " + to_string(s) + ")");
  for (int a = 0; a < rank_; ++a) {
    const int64_t n = s[static_cast<size_t>(a) + (channels_first() ? 2 : 1)];
    const int64_t span = (options_.kernel_size[a] - 1) * options_.dilation_rate[a] + 1;
    if (n >= 0 && options_.padding == "valid" && n < span)
      throw ShapeError(this->where() + ": input has size " + std::to_string(n) + " on spatial axis " +
                       std::to_string(a + 1) + ", smaller than the kernel spans (" + std::to_string(span) +
                       ") with padding 'valid' (input shape " + to_string(s) + ")");
  }
  return channels;
}

template <class T>
void ConvND<T>::build(const std::vector<Shape>& input_shapes) {
  const int64_t c = check_input(input_shapes);
  if (this->built()) return;
  if (c <= 0)
    throw ShapeError(this->where() + ": the channel dimension of the input must be known and > 0, got shape " +
                     to_string(input_shapes[0]));
  channels_ = c;
  Shape ks(options_.kernel_size.begin(), options_.kernel_size.end());
  ks.push_back(c / options_.groups);
  ks.push_back(options_.filters);
  Rng rng(this->seed());
  kernel_ = Tensor<T>(ks);
  initialize(options_.kernel_initializer, kernel_, rng);
  dkernel_ = Tensor<T>(ks);
  if (options_.use_bias) {
    bias_ = Tensor<T>({options_.filters});
    initialize(options_.bias_initializer, bias_, rng);
    dbias_ = Tensor<T>({options_.filters});
  }
  this->set_built();
}

template <class T>
std::vector<Shape> ConvND<T>::compute_output_shapes(const std::vector<Shape>& input_shapes) const {
  check_input(input_shapes);
  const Shape& s = input_shapes[0];
  const size_t first = channels_first() ? 2 : 1;
  Shape out = s;
  for (int a = 0; a < rank_; ++a) {
    const size_t i = first + static_cast<size_t>(a);
    out[i] = detail::window_1d(s[i], options_.kernel_size[a], options_.strides[a], options_.dilation_rate[a],
                               options_.padding)
                 .out;
  }
  out[channels_first() ? 1 : out.size() - 1] = options_.filters;
  return {out};
}

template <class T>
LayerOutputs<T> ConvND<T>::call(const LayerInputs<T>& in) {
  detail::expect_input_count(this->where(), in.inputs.size(), 1);
  const Tensor<T>& x_in = detail::input_at(this->where(), in.inputs, 0);
  build({x_in.shape()});
  Tensor<T> x = channels_first() ? detail::channels_to_last(x_in) : x_in;
  const detail::ConvGeometryND g = geometry(options_, rank_, x.shape());
  const int64_t oc = options_.filters, rows = g.batch * g.out_size();
  Shape ys{g.batch};
  for (int a = 0; a < rank_; ++a) ys.push_back(g.out[a]);
  ys.push_back(oc);
  Tensor<T> y(ys);
  std::vector<T> col;
  detail::conv_nd_forward(g, x.data(), kernel_.data(), y.data(), col);
  if (options_.use_bias) kernels::add_row_vector<T>(y.data(), rows, oc, oc, bias_.data());
  Call c;
  const Activation& act = options_.activation;
  const bool linear = act.kind == ActivationKind::linear;
  if (in.mode == Mode::training && !linear && act.elementwise()) c.z = y;
  kernels::activate_block<T>(act, y.data(), rows, oc, oc);
  if (in.mode == Mode::training) {
    c.input_shape = x_in.shape();
    c.x = std::move(x);
    if (!linear) c.y = y;
    tape_.push_back(std::move(c));
  }
  LayerOutputs<T> out;
  out.outputs.push_back(channels_first() ? detail::channels_to_first(y) : std::move(y));
  return out;  // no mask: Keras 3 conv layers do not support masking
}

template <class T>
LayerGrads<T> ConvND<T>::backward(const std::vector<Tensor<T>>& grad_outputs) {
  const Call& top = detail::tape_top(tape_, this->where());
  detail::check_grad_outputs(this->where(), grad_outputs, compute_output_shapes({top.input_shape}));
  const Call c = detail::tape_pop(tape_);
  Tensor<T> dx(c.x.shape());
  const Tensor<T>& dy_in = grad_outputs[0];
  if (!dy_in.empty()) {
    Tensor<T> dz = channels_first() ? detail::channels_to_last(dy_in) : dy_in;
    const detail::ConvGeometryND g = geometry(options_, rank_, c.x.shape());
    const int64_t oc = options_.filters, rows = g.batch * g.out_size();
    const Activation& act = options_.activation;
    if (act.kind != ActivationKind::linear)
      detail::activation_backward<T>(act, rows, oc, c.z.empty() ? nullptr : c.z.data(), c.y.data(), dz.data(),
                                     dz.data());
    if (options_.use_bias) kernels::accumulate_column_sums<T>(rows, oc, dz.data(), oc, dbias_.data());
    std::vector<T> col, dcol;
    detail::conv_nd_backward(g, c.x.data(), kernel_.data(), dz.data(), dx.data(), dkernel_.data(), col, dcol);
  }
  LayerGrads<T> grads;
  grads.inputs.push_back(channels_first() ? detail::channels_to_first(dx) : std::move(dx));
  return grads;
}

template <class T>
std::vector<Param<T>> ConvND<T>::params() {
  if (!this->built()) return {};
  std::vector<Param<T>> ps;
  ps.push_back({"kernel", &kernel_, &dkernel_, true, options_.kernel_regularizer, options_.kernel_constraint});
  if (options_.use_bias)
    ps.push_back({"bias", &bias_, &dbias_, true, options_.bias_regularizer, options_.bias_constraint});
  return ps;
}

template class ConvND<float>;
template class ConvND<double>;
template class Conv2D<float>;
template class Conv2D<double>;
template class Conv3D<float>;
template class Conv3D<double>;

}  // namespace rnnx
