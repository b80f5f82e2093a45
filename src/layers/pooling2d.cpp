#include "rnnx/layers/pooling2d.h"

#include <algorithm>
#include <limits>

#include "layers/call_tape.h"
#include "layers/conv1d_math.h"
#include "layers/conv_nd_math.h"
#include "layers/shape_checks.h"
#include "rnnx/core/error.h"

namespace rnnx {
namespace {

std::string layout(int rank, bool channels_first) {
  const std::string sp = rank == 2 ? "rows, cols" : "d1, d2, d3";
  return channels_first ? "(batch, channels, " + sp + ")" : "(batch, " + sp + ", channels)";
}

// A pooling window as a convolution geometry on a channels_last shape (one group per
// channel, so for_each_tap walks the window of one channel).
detail::ConvGeometryND window_geometry(const PoolingOptions& o, int rank, const Shape& cl) {
  detail::ConvGeometryND g;
  g.rank = rank;
  g.batch = cl[0];
  g.channels = g.filters = g.groups = cl.back();
  for (int a = 0; a < rank; ++a) {
    const auto w = detail::window_1d(cl[static_cast<size_t>(a) + 1], o.pool_size[a], o.strides[a], 1, o.padding);
    g.in[a] = cl[static_cast<size_t>(a) + 1];
    g.kernel[a] = o.pool_size[a];
    g.stride[a] = o.strides[a];
    g.pad[a] = w.pad_left;
    g.out[a] = w.out;
  }
  return g;
}

}  // namespace

template <class T>
PoolingND<T>::PoolingND(int rank, bool max, std::string class_name, PoolingOptions options, std::string name)
    : Layer<T>(std::move(name)),
      rank_(rank),
      max_(max),
      class_name_(std::move(class_name)),
      options_(std::move(options)) {
  const std::string w = this->where();
  detail::expand_per_axis(w, "pool_size", options_.pool_size, rank_);
  if (options_.strides.empty()) options_.strides = options_.pool_size;
  detail::expand_per_axis(w, "strides", options_.strides, rank_);
  if (options_.padding != "valid" && options_.padding != "same")
    throw ConfigError(w + ": padding must be 'valid' or 'same', got '" + options_.padding + "'");
  if (options_.data_format != "channels_last" && options_.data_format != "channels_first")
    throw ConfigError(w + ": data_format must be 'channels_last' or 'channels_first', got '" + options_.data_format +
                      "'");
}

template <class T>
void PoolingND<T>::build(const std::vector<Shape>& input_shapes) {
  compute_output_shapes(input_shapes);
  this->set_built();
}

template <class T>
std::vector<Shape> PoolingND<T>::compute_output_shapes(const std::vector<Shape>& input_shapes) const {
  detail::expect_input_count(this->where(), input_shapes.size(), 1);
  const Shape& s = input_shapes[0];
  detail::expect_rank(this->where(), s, static_cast<size_t>(rank_) + 2, layout(rank_, channels_first()));
  Shape out = s;
  for (int a = 0; a < rank_; ++a) {
    const size_t i = static_cast<size_t>(a) + (channels_first() ? 2 : 1);
    out[i] = detail::window_1d(s[i], options_.pool_size[a], options_.strides[a], 1, options_.padding).out;
    if (s[i] >= 0 && out[i] < 1)
      throw ShapeError(this->where() + ": input has size " + std::to_string(s[i]) + " on spatial axis " +
                       std::to_string(a + 1) + ", smaller than pool_size " + detail::tuple_string(options_.pool_size) +
                       " with padding 'valid' (input shape " + to_string(s) + ")");
  }
  return {out};
}

template <class T>
LayerOutputs<T> PoolingND<T>::call(const LayerInputs<T>& in) {
  detail::expect_input_count(this->where(), in.inputs.size(), 1);
  const Tensor<T>& x_in = detail::input_at(this->where(), in.inputs, 0);
  build({x_in.shape()});
  const Tensor<T> x = channels_first() ? detail::channels_to_last(x_in) : x_in;
  const detail::ConvGeometryND g = window_geometry(options_, rank_, x.shape());
  const int64_t c = g.channels, outs = g.out_size(), ins = g.in_size();
  Shape ys{g.batch};
  for (int a = 0; a < rank_; ++a) ys.push_back(g.out[a]);
  ys.push_back(c);
  Tensor<T> y(ys);
  Call call;
  const bool keep = max_ && in.mode == Mode::training;
  if (keep) call.source.resize(static_cast<size_t>(y.size()));
  std::vector<T> acc(static_cast<size_t>(c));
  std::vector<int64_t> arg(static_cast<size_t>(c));
  for (int64_t b = 0; b < g.batch; ++b)
    for (int64_t o = 0; o < outs; ++o) {
      std::fill(acc.begin(), acc.end(), max_ ? -std::numeric_limits<T>::infinity() : T(0));
      std::fill(arg.begin(), arg.end(), int64_t{-1});
      int64_t count = 0;
      detail::for_each_tap(g, o, [&](int64_t i, int64_t) {
        if (i < 0) return;
        ++count;
        const T* src = x.data() + (b * ins + i) * c;
        for (int64_t f = 0; f < c; ++f) {
          if (!max_) {
            acc[f] += src[f];
          } else if (arg[f] < 0 || src[f] > acc[f]) {  // the first max wins, as TF's MaxPoolGrad
            acc[f] = src[f];
            arg[f] = i;
          }
        }
      });
      T* dst = y.data() + (b * outs + o) * c;
      for (int64_t f = 0; f < c; ++f) dst[f] = max_ ? acc[f] : acc[f] / T(count);
      if (keep) std::copy(arg.begin(), arg.end(), call.source.begin() + (b * outs + o) * c);
    }
  if (in.mode == Mode::training) {
    call.input_shape = x_in.shape();
    tape_.push_back(std::move(call));
  }
  LayerOutputs<T> out;
  out.outputs.push_back(channels_first() ? detail::channels_to_first(y) : std::move(y));
  return out;  // no mask: Keras pooling layers do not support masking
}

template <class T>
LayerGrads<T> PoolingND<T>::backward(const std::vector<Tensor<T>>& grad_outputs) {
  const Call& top = detail::tape_top(tape_, this->where());
  detail::check_grad_outputs(this->where(), grad_outputs, compute_output_shapes({top.input_shape}));
  const Call call = detail::tape_pop(tape_);
  Shape cl = call.input_shape;
  if (channels_first()) {
    cl.erase(cl.begin() + 1);
    cl.push_back(call.input_shape[1]);
  }
  Tensor<T> dx(cl);
  const Tensor<T>& dy_in = grad_outputs[0];
  if (!dy_in.empty()) {
    const Tensor<T> dy = channels_first() ? detail::channels_to_last(dy_in) : dy_in;
    const detail::ConvGeometryND g = window_geometry(options_, rank_, cl);
    const int64_t c = g.channels, outs = g.out_size(), ins = g.in_size();
    for (int64_t b = 0; b < g.batch; ++b)
      for (int64_t o = 0; o < outs; ++o) {
        const T* gy = dy.data() + (b * outs + o) * c;
        if (max_) {
          const int64_t* src = call.source.data() + (b * outs + o) * c;
          for (int64_t f = 0; f < c; ++f) dx[(b * ins + src[f]) * c + f] += gy[f];
          continue;
        }
        int64_t count = 0;
        detail::for_each_tap(g, o, [&](int64_t i, int64_t) { count += i >= 0; });
        detail::for_each_tap(g, o, [&](int64_t i, int64_t) {
          if (i < 0) return;
          T* d = dx.data() + (b * ins + i) * c;
          for (int64_t f = 0; f < c; ++f) d[f] += gy[f] / T(count);
        });
      }
  }
  LayerGrads<T> grads;
  grads.inputs.push_back(channels_first() ? detail::channels_to_first(dx) : std::move(dx));
  return grads;
}

template <class T>
GlobalPoolingND<T>::GlobalPoolingND(int rank, bool max, std::string class_name, GlobalPoolingOptions options,
                                    std::string name)
    : Layer<T>(std::move(name)),
      rank_(rank),
      max_(max),
      class_name_(std::move(class_name)),
      options_(std::move(options)) {
  if (options_.data_format != "channels_last" && options_.data_format != "channels_first")
    throw ConfigError(this->where() + ": data_format must be 'channels_last' or 'channels_first', got '" +
                      options_.data_format + "'");
}

template <class T>
void GlobalPoolingND<T>::build(const std::vector<Shape>& input_shapes) {
  compute_output_shapes(input_shapes);
  this->set_built();
}

template <class T>
std::vector<Shape> GlobalPoolingND<T>::compute_output_shapes(const std::vector<Shape>& input_shapes) const {
  detail::expect_input_count(this->where(), input_shapes.size(), 1);
  const Shape& s = input_shapes[0];
  detail::expect_rank(this->where(), s, static_cast<size_t>(rank_) + 2, layout(rank_, channels_first()));
  const int64_t c = channels_first() ? s[1] : s.back();
  if (!options_.keepdims) return {Shape{s[0], c}};
  Shape out(s.size(), 1);
  out[0] = s[0];
  out[channels_first() ? 1 : s.size() - 1] = c;
  return {out};
}

template <class T>
LayerOutputs<T> GlobalPoolingND<T>::call(const LayerInputs<T>& in) {
  detail::expect_input_count(this->where(), in.inputs.size(), 1);
  const Tensor<T>& x_in = detail::input_at(this->where(), in.inputs, 0);
  build({x_in.shape()});
  Tensor<T> x = channels_first() ? detail::channels_to_last(x_in) : x_in;
  const int64_t batch = x.shape()[0], c = x.shape().back(), n = x.size() / std::max<int64_t>(batch * c, 1);
  Tensor<T> y({batch, c});
  for (int64_t b = 0; b < batch; ++b)
    for (int64_t f = 0; f < c; ++f) {
      T acc = x[b * n * c + f];
      for (int64_t i = 1; i < n; ++i) {
        const T v = x[(b * n + i) * c + f];
        acc = max_ ? std::max(acc, v) : acc + v;
      }
      y[b * c + f] = max_ ? acc : acc / T(n);
    }
  if (in.mode == Mode::training) {
    Call call;
    call.input_shape = x_in.shape();
    if (max_) {
      call.x = std::move(x);
      call.y = y;
    }
    tape_.push_back(std::move(call));
  }
  LayerOutputs<T> out;
  out.outputs.push_back(y.reshaped(compute_output_shapes({x_in.shape()})[0]));
  return out;
}

template <class T>
LayerGrads<T> GlobalPoolingND<T>::backward(const std::vector<Tensor<T>>& grad_outputs) {
  const Call& top = detail::tape_top(tape_, this->where());
  detail::check_grad_outputs(this->where(), grad_outputs, compute_output_shapes({top.input_shape}));
  const Call call = detail::tape_pop(tape_);
  const Shape& s = call.input_shape;
  const int64_t batch = s[0], c = channels_first() ? s[1] : s.back();
  const int64_t n = detail::trailing_size(s, 1) / std::max<int64_t>(c, 1);
  Shape cl = s;
  if (channels_first()) {
    cl.erase(cl.begin() + 1);
    cl.push_back(c);
  }
  Tensor<T> dx(cl);
  const Tensor<T>& dy = grad_outputs[0];
  if (!dy.empty()) {
    for (int64_t b = 0; b < batch; ++b)
      for (int64_t f = 0; f < c; ++f) {
        const T g = dy[b * c + f];
        if (!max_) {
          for (int64_t i = 0; i < n; ++i) dx[(b * n + i) * c + f] = g / T(n);
          continue;
        }
        // TF's reduce_max gradient: split evenly among the positions equal to the max.
        const T m = call.y[b * c + f];
        int64_t ties = 0;
        for (int64_t i = 0; i < n; ++i) ties += call.x[(b * n + i) * c + f] == m;
        for (int64_t i = 0; i < n; ++i)
          if (call.x[(b * n + i) * c + f] == m) dx[(b * n + i) * c + f] = g / T(ties);
      }
  }
  LayerGrads<T> grads;
  grads.inputs.push_back(channels_first() ? detail::channels_to_first(dx) : std::move(dx));
  return grads;
}

template class PoolingND<float>;
template class PoolingND<double>;
template class GlobalPoolingND<float>;
template class GlobalPoolingND<double>;

}  // namespace rnnx
