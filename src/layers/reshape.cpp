#include "rnnx/layers/reshape.h"

#include "layers/call_tape.h"
#include "layers/shape_checks.h"

namespace rnnx {

template <class T>
Reshape<T>::Reshape(ReshapeOptions options, std::string name)
    : Layer<T>(std::move(name)), options_(std::move(options)) {
  int unknown = 0;
  for (int64_t d : options_.target_shape) {
    if (d == -1) ++unknown;
    if (d == 0 || d < -1 || unknown > 1)
      throw ConfigError(this->where() + ": target_shape " + to_string(options_.target_shape) +
                        " must hold positive sizes and at most one -1");
  }
}

template <class T>
void Reshape<T>::build(const std::vector<Shape>& input_shapes) {
  compute_output_shapes(input_shapes);
  this->set_built();
}

template <class T>
std::vector<Shape> Reshape<T>::compute_output_shapes(const std::vector<Shape>& input_shapes) const {
  detail::expect_input_count(this->where(), input_shapes.size(), 1);
  const Shape& s = input_shapes[0];
  detail::expect_min_rank(this->where(), s, 1, "(batch, ...)");
  Shape out{s[0]};
  int64_t known = 1;
  size_t unknown_at = 0;  // index of the -1 in `out` (>= 1, since out[0] is the batch); 0 = none
  for (int64_t d : options_.target_shape) {
    if (d < 0)
      unknown_at = out.size();
    else
      known *= d;
    out.push_back(d);
  }
  const int64_t size = detail::trailing_size(s, 1);
  if (size < 0) return {out};  // an unknown input dimension leaves -1 unresolved
  const bool fits = unknown_at ? size % known == 0 : size == known;
  if (!fits)
    throw ShapeError(this->where() + ": cannot reshape an input of shape " + to_string(s) + " (" +
                     std::to_string(size) + " values per sample) to target_shape " + to_string(options_.target_shape));
  if (unknown_at) out[unknown_at] = size / known;
  return {out};
}

template <class T>
LayerOutputs<T> Reshape<T>::call(const LayerInputs<T>& in) {
  detail::expect_input_count(this->where(), in.inputs.size(), 1);
  const Tensor<T>& x = detail::input_at(this->where(), in.inputs, 0);
  build({x.shape()});
  LayerOutputs<T> out;
  out.outputs.push_back(x.reshaped(compute_output_shapes({x.shape()})[0]));
  if (in.mode == Mode::training) tape_.push_back(x.shape());
  return out;
}

template <class T>
LayerGrads<T> Reshape<T>::backward(const std::vector<Tensor<T>>& grad_outputs) {
  const Shape shape = detail::pop_input_shape<T>(*this, this->where(), tape_, grad_outputs);
  LayerGrads<T> g;
  if (grad_outputs[0].empty())
    g.inputs.emplace_back(shape);
  else
    g.inputs.push_back(grad_outputs[0].reshaped(shape));
  return g;
}

// ---------------------------------------------------------------------------------------------
template <class T>
Flatten<T>::Flatten(FlattenOptions options, std::string name)
    : Layer<T>(std::move(name)), options_(std::move(options)) {
  if (options_.data_format != "channels_last" && options_.data_format != "channels_first")
    throw ConfigError(this->where() + ": data_format must be 'channels_last' or 'channels_first', got '" +
                      options_.data_format + "'");
}

template <class T>
void Flatten<T>::build(const std::vector<Shape>& input_shapes) {
  compute_output_shapes(input_shapes);
  this->set_built();
}

template <class T>
std::vector<Shape> Flatten<T>::compute_output_shapes(const std::vector<Shape>& input_shapes) const {
  detail::expect_input_count(this->where(), input_shapes.size(), 1);
  const Shape& s = input_shapes[0];
  detail::expect_min_rank(this->where(), s, 1, "(batch, ...)");
  return {{s[0], detail::trailing_size(s, 1)}};
}

template <class T>
LayerOutputs<T> Flatten<T>::call(const LayerInputs<T>& in) {
  detail::expect_input_count(this->where(), in.inputs.size(), 1);
  const Tensor<T>& x = detail::input_at(this->where(), in.inputs, 0);
  build({x.shape()});
  const Shape out_shape = compute_output_shapes({x.shape()})[0];
  LayerOutputs<T> out;
  if (in.mode == Mode::training) tape_.push_back(x.shape());
  if (options_.data_format == "channels_last" || x.rank() < 3) {
    out.outputs.push_back(x.reshaped(out_shape));
    return out;
  }
  // channels_first: per sample, element (c, rest) moves to (rest, c).
  Tensor<T>& y = out.outputs.emplace_back(out_shape);
  const int64_t channels = x.dim(1);
  const int64_t rest = detail::trailing_size(x.shape(), 2);
  for (int64_t b = 0; b < x.dim(0); ++b) {
    const T* xb = x.data() + b * channels * rest;
    T* yb = y.data() + b * channels * rest;
    for (int64_t c = 0; c < channels; ++c)
      for (int64_t r = 0; r < rest; ++r) yb[r * channels + c] = xb[c * rest + r];
  }
  return out;
}

template <class T>
LayerGrads<T> Flatten<T>::backward(const std::vector<Tensor<T>>& grad_outputs) {
  const Shape shape = detail::pop_input_shape<T>(*this, this->where(), tape_, grad_outputs);
  LayerGrads<T> g;
  const Tensor<T>& dy = grad_outputs[0];
  if (dy.empty()) {
    g.inputs.emplace_back(shape);
  } else if (options_.data_format == "channels_last" || shape.size() < 3) {
    g.inputs.push_back(dy.reshaped(shape));
  } else {
    // channels_first: undo the forward move of element (c, rest) to (rest, c).
    Tensor<T>& dx = g.inputs.emplace_back(shape);
    const int64_t channels = shape[1];
    const int64_t rest = detail::trailing_size(shape, 2);
    for (int64_t b = 0; b < shape[0]; ++b) {
      const T* yb = dy.data() + b * channels * rest;
      T* xb = dx.data() + b * channels * rest;
      for (int64_t c = 0; c < channels; ++c)
        for (int64_t r = 0; r < rest; ++r) xb[c * rest + r] = yb[r * channels + c];
    }
  }
  return g;
}

template class Reshape<float>;
template class Reshape<double>;
template class Flatten<float>;
template class Flatten<double>;

}  // namespace rnnx
