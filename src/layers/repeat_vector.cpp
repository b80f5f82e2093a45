#include "rnnx/layers/repeat_vector.h"

#include <algorithm>

#include "layers/call_tape.h"
#include "layers/shape_checks.h"

namespace rnnx {

template <class T>
RepeatVector<T>::RepeatVector(RepeatVectorOptions options, std::string name)
    : Layer<T>(std::move(name)), options_(options) {
  if (options_.n <= 0)
    throw ConfigError(this->where() + ": n must be a positive integer, got " + std::to_string(options_.n));
}

template <class T>
void RepeatVector<T>::build(const std::vector<Shape> &input_shapes) {
  compute_output_shapes(input_shapes);
  this->set_built();
}

template <class T>
std::vector<Shape> RepeatVector<T>::compute_output_shapes(const std::vector<Shape> &input_shapes) const {
  detail::expect_input_count(this->where(), input_shapes.size(), 1);
  detail::expect_rank(this->where(), input_shapes[0], 2, "(batch, features)");
  return {{input_shapes[0][0], options_.n, input_shapes[0][1]}};
}

template <class T>
LayerOutputs<T> RepeatVector<T>::call(const LayerInputs<T> &in) {
  detail::expect_input_count(this->where(), in.inputs.size(), 1);
  const Tensor<T> &x = detail::input_at(this->where(), in.inputs, 0);
  const Shape out_shape = compute_output_shapes({x.shape()})[0];
  this->set_built();
  LayerOutputs<T> out;
  Tensor<T> &y = out.outputs.emplace_back(out_shape);
  const int64_t batch = x.dim(0), features = x.dim(1);
  for (int64_t b = 0; b < batch; ++b)
    for (int64_t t = 0; t < options_.n; ++t)
      std::copy(x.data() + b * features, x.data() + (b + 1) * features, y.data() + (b * options_.n + t) * features);
  if (in.mode == Mode::training) tape_.push_back(x.shape());
  return out;
}

template <class T>
LayerGrads<T> RepeatVector<T>::backward(const std::vector<Tensor<T>> &grad_outputs) {
  const Shape shape = detail::pop_input_shape<T>(*this, this->where(), tape_, grad_outputs);
  LayerGrads<T> g;
  Tensor<T> &dx = g.inputs.emplace_back(shape);
  const Tensor<T> &dy = grad_outputs[0];
  if (dy.empty()) return g;
  const int64_t batch = shape[0], features = shape[1];
  for (int64_t b = 0; b < batch; ++b)
    for (int64_t t = 0; t < options_.n; ++t)
      for (int64_t f = 0; f < features; ++f) dx[b * features + f] += dy[(b * options_.n + t) * features + f];
  return g;
}

// ---------------------------------------------------------------------------------------------
namespace {

// Row-major strides of a shape.
std::vector<int64_t> strides_of(const Shape &s) {
  std::vector<int64_t> st(s.size(), 1);
  int64_t stride = 1;
  for (size_t a = s.size(); a-- > 0;) {
    st[a] = stride;
    stride *= s[a];
  }
  return st;
}

// Walks the output of a transpose (out axis a = in axis perm[a]) and calls
// f(in_index, out_index) for every element.
template <class F>
void for_each_transposed(const Shape &in_shape, const std::vector<size_t> &perm, F f) {
  const std::vector<int64_t> in_stride = strides_of(in_shape);
  const size_t rank = in_shape.size();
  if (rank == 0) return;
  Shape out_shape(rank);
  for (size_t a = 0; a < rank; ++a) out_shape[a] = in_shape[perm[a]];
  int64_t total = 1;
  for (int64_t d : out_shape) total *= d;
  std::vector<int64_t> idx(rank, 0);
  for (int64_t o = 0; o < total; ++o) {
    int64_t i = 0;
    for (size_t a = 0; a < rank; ++a) i += idx[a] * in_stride[perm[a]];
    f(i, o);
    for (size_t a = rank; a-- > 0;) {
      if (++idx[a] < out_shape[a]) break;
      idx[a] = 0;
    }
  }
}

std::vector<size_t> full_perm(const std::vector<int64_t> &dims) {
  std::vector<size_t> perm{0};
  for (int64_t d : dims) perm.push_back(static_cast<size_t>(d));
  return perm;
}

}  // namespace

template <class T>
Permute<T>::Permute(PermuteOptions options, std::string name)
    : Layer<T>(std::move(name)), options_(std::move(options)) {
  std::vector<int64_t> sorted = options_.dims;
  std::sort(sorted.begin(), sorted.end());
  bool ok = !sorted.empty();
  for (size_t i = 0; i < sorted.size(); ++i) ok = ok && sorted[i] == static_cast<int64_t>(i + 1);
  if (!ok)
    throw ConfigError(this->where() + ": dims must be a permutation of 1.." + std::to_string(options_.dims.size()) +
                      " (the non-batch axes, counted from 1), got " + to_string(options_.dims));
}

template <class T>
void Permute<T>::build(const std::vector<Shape> &input_shapes) {
  compute_output_shapes(input_shapes);
  this->set_built();
}

template <class T>
std::vector<Shape> Permute<T>::compute_output_shapes(const std::vector<Shape> &input_shapes) const {
  detail::expect_input_count(this->where(), input_shapes.size(), 1);
  const Shape &s = input_shapes[0];
  if (s.size() != options_.dims.size() + 1)
    throw ShapeError(this->where() + ": dims " + to_string(options_.dims) + " expects inputs of rank " +
                     std::to_string(options_.dims.size() + 1) + ", got shape " + to_string(s));
  Shape out{s[0]};
  for (int64_t d : options_.dims) out.push_back(s[static_cast<size_t>(d)]);
  return {out};
}

template <class T>
LayerOutputs<T> Permute<T>::call(const LayerInputs<T> &in) {
  detail::expect_input_count(this->where(), in.inputs.size(), 1);
  const Tensor<T> &x = detail::input_at(this->where(), in.inputs, 0);
  const Shape out_shape = compute_output_shapes({x.shape()})[0];
  this->set_built();
  LayerOutputs<T> out;
  Tensor<T> &y = out.outputs.emplace_back(out_shape);
  for_each_transposed(x.shape(), full_perm(options_.dims), [&](int64_t i, int64_t o) { y[o] = x[i]; });
  if (in.mode == Mode::training) tape_.push_back(x.shape());
  return out;
}

template <class T>
LayerGrads<T> Permute<T>::backward(const std::vector<Tensor<T>> &grad_outputs) {
  const Shape shape = detail::pop_input_shape<T>(*this, this->where(), tape_, grad_outputs);
  LayerGrads<T> g;
  Tensor<T> &dx = g.inputs.emplace_back(shape);
  const Tensor<T> &dy = grad_outputs[0];
  if (!dy.empty()) for_each_transposed(shape, full_perm(options_.dims), [&](int64_t i, int64_t o) { dx[i] = dy[o]; });
  return g;
}

template class RepeatVector<float>;
template class RepeatVector<double>;
template class Permute<float>;
template class Permute<double>;

}  // namespace rnnx
