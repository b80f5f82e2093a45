#include "rnnx/layers/preprocessing.h"

#include <algorithm>
#include <cmath>

#include "layers/call_tape.h"
#include "layers/normalization_plan.h"
#include "layers/shape_checks.h"
#include "rnnx/core/error.h"

namespace rnnx {

namespace {

// Keras backend.epsilon(): the floor of the standard deviation.
constexpr double kBackendEpsilon = 1e-7;

int64_t count_of(const Shape &s) {
  int64_t n = 1;
  for (int64_t d : s) n *= d;
  return n;
}

}  // namespace

// ---- Normalization

template <class T>
Normalization<T>::Normalization(NormalizationOptions options, std::string name)
    : Layer<T>(std::move(name)), options_(std::move(options)) {
  if (options_.mean.has_value() != options_.variance.has_value())
    throw ConfigError(this->where() + ": mean and variance must be given together (Keras' rule), got only " +
                      (options_.mean ? "mean" : "variance"));
  if (options_.mean) {
    const int64_t n = count_of(options_.stats_shape);
    if (static_cast<int64_t>(options_.mean->size()) != n || static_cast<int64_t>(options_.variance->size()) != n)
      throw ConfigError(this->where() + ": mean and variance must both have shape " + to_string(options_.stats_shape) +
                        ", got " + std::to_string(options_.mean->size()) + " and " +
                        std::to_string(options_.variance->size()) + " values");
    if (options_.stats_shape.size() > options_.axis.size())
      throw ConfigError(this->where() + ": the rank of mean (" + std::to_string(options_.stats_shape.size()) +
                        ") must be <= the number of axes (" + std::to_string(options_.axis.size()) + ")");
  }
}

template <class T>
std::vector<int64_t> Normalization<T>::check_input(const std::vector<Shape> &input_shapes) const {
  detail::expect_input_count(this->where(), input_shapes.size(), 1);
  const Shape &s = input_shapes[0];
  detail::expect_min_rank(this->where(), s, 1, "(batch, ...)");
  std::vector<int64_t> keep = detail::resolve_axes(this->where(), options_.axis, s, true);
  for (size_t k = 0; k < keep.size(); ++k) {
    const int64_t d = s[static_cast<size_t>(keep[k])];
    if (this->built() && !detail::dims_compatible(d, keep_shape_[k]))
      throw ShapeError(this->where() + ": input has " + std::to_string(d) + " at axis " + std::to_string(keep[k]) +
                       ", expected " + std::to_string(keep_shape_[k]) + " (input shape " + to_string(s) + ")");
  }
  return keep;
}

template <class T>
std::vector<Shape> Normalization<T>::compute_output_shapes(const std::vector<Shape> &input_shapes) const {
  check_input(input_shapes);
  return {input_shapes[0]};
}

template <class T>
void Normalization<T>::build(const std::vector<Shape> &input_shapes) {
  const std::vector<int64_t> keep = check_input(input_shapes);
  if (this->built()) return;
  keep_ = keep;
  const Shape &s = input_shapes[0];
  keep_shape_.clear();
  for (int64_t a : keep_) {
    if (s[static_cast<size_t>(a)] <= 0)
      throw ShapeError(this->where() + ": the kept axis " + std::to_string(a) + " must be known, got shape " +
                       to_string(s));
    keep_shape_.push_back(s[static_cast<size_t>(a)]);
  }
  mean_ = Tensor<T>(keep_shape_);
  variance_ = Tensor<T>(keep_shape_, T(1));
  if (options_.mean) {
    // Keras: the given statistics are aligned with the LAST kept axes and
    // broadcast.
    const Shape &ms = options_.stats_shape;
    const size_t off = keep_shape_.size() - ms.size();
    for (size_t k = 0; k < ms.size(); ++k)
      if (ms[k] != 1 && ms[k] != keep_shape_[off + k])
        throw ShapeError(this->where() + ": mean of shape " + to_string(ms) + " cannot broadcast to the kept dims " +
                         to_string(keep_shape_) + " of input shape " + to_string(s));
    std::vector<int64_t> idx(keep_shape_.size(), 0);
    for (int64_t i = 0; i < mean_.size(); ++i) {
      int64_t m = 0;
      for (size_t k = 0; k < ms.size(); ++k) m = m * ms[k] + (ms[k] == 1 ? 0 : idx[off + k]);
      mean_[i] = static_cast<T>((*options_.mean)[static_cast<size_t>(m)]);
      variance_[i] = static_cast<T>((*options_.variance)[static_cast<size_t>(m)]);
      for (size_t d = idx.size(); d-- > 0;) {
        if (++idx[d] < keep_shape_[d]) break;
        idx[d] = 0;
      }
    }
  } else {
    count_ = Tensor<T>(Shape{});
    mean_grad_ = Tensor<T>(mean_.shape());
    variance_grad_ = Tensor<T>(variance_.shape());
    count_grad_ = Tensor<T>(Shape{});
  }
  this->set_built();
}

template <class T>
T Normalization<T>::mean_at(int64_t k) const {
  return mean_[k];
}

template <class T>
T Normalization<T>::denom_at(int64_t k) const {
  return static_cast<T>(std::max(std::sqrt(static_cast<double>(variance_[k])), kBackendEpsilon));
}

template <class T>
LayerOutputs<T> Normalization<T>::call(const LayerInputs<T> &in) {
  detail::expect_input_count(this->where(), in.inputs.size(), 1);
  const Tensor<T> &x = detail::input_at(this->where(), in.inputs, 0);
  build({x.shape()});
  const std::vector<int64_t> keep = check_input({x.shape()});  // a local: concurrent calls
  std::vector<int64_t> outer, inner;
  detail::axis_plan(x.shape(), keep, outer, inner);
  LayerOutputs<T> out;
  Tensor<T> &y = out.outputs.emplace_back(x.shape());
  for (int64_t i = 0; i < x.size(); ++i) {
    const int64_t k = inner[static_cast<size_t>(i)];
    y[i] = options_.invert ? mean_at(k) + x[i] * denom_at(k) : (x[i] - mean_at(k)) / denom_at(k);
  }
  if (in.mask) out.mask = *in.mask;
  if (in.mode == Mode::training) {
    tape_.push_back(x.shape());
    tape_inner_.push_back(std::move(inner));
  }
  return out;
}

template <class T>
LayerGrads<T> Normalization<T>::backward(const std::vector<Tensor<T>> &grad_outputs) {
  detail::check_grad_outputs(this->where(), grad_outputs, {detail::tape_top(tape_, this->where())});
  const Shape s = detail::tape_pop(tape_);
  const std::vector<int64_t> inner = detail::tape_pop(tape_inner_);
  LayerGrads<T> out;
  Tensor<T> &dx = out.inputs.emplace_back(s);
  const Tensor<T> &dy = grad_outputs[0];
  if (dy.empty()) return out;
  for (int64_t i = 0; i < dx.size(); ++i) {
    const T d = denom_at(inner[static_cast<size_t>(i)]);
    dx[i] = options_.invert ? dy[i] * d : dy[i] / d;
  }
  return out;
}

template <class T>
std::vector<Param<T>> Normalization<T>::params() {
  if (!this->built() || options_.mean) return {};
  return {{"mean", &mean_, &mean_grad_, false, {}, {}},
          {"variance", &variance_, &variance_grad_, false, {}, {}},
          {"count", &count_, &count_grad_, false, {}, {}}};
}

// ---- Rescaling

template <class T>
Rescaling<T>::Rescaling(RescalingOptions options, std::string name)
    : Layer<T>(std::move(name)), options_(std::move(options)) {
  if (options_.scale.empty()) throw ConfigError(this->where() + ": scale must not be an empty list");
  if (options_.offset.empty()) throw ConfigError(this->where() + ": offset must not be an empty list");
}

template <class T>
std::vector<Shape> Rescaling<T>::compute_output_shapes(const std::vector<Shape> &input_shapes) const {
  detail::expect_input_count(this->where(), input_shapes.size(), 1);
  const Shape &s = input_shapes[0];
  detail::expect_min_rank(this->where(), s, 1, "(batch, ...)");
  for (const auto *v : {&options_.scale, &options_.offset})
    if (v->size() > 1 && !detail::dims_compatible(s.back(), static_cast<int64_t>(v->size())))
      throw ShapeError(this->where() + ": a scale or offset of " + std::to_string(v->size()) +
                       " values cannot broadcast over a last axis of " + std::to_string(s.back()) + " (input shape " +
                       to_string(s) + ")");
  return {s};
}

template <class T>
void Rescaling<T>::build(const std::vector<Shape> &input_shapes) {
  compute_output_shapes(input_shapes);
  this->set_built();
}

template <class T>
LayerOutputs<T> Rescaling<T>::call(const LayerInputs<T> &in) {
  detail::expect_input_count(this->where(), in.inputs.size(), 1);
  const Tensor<T> &x = detail::input_at(this->where(), in.inputs, 0);
  build({x.shape()});
  const int64_t last = x.shape().back();
  const auto &sc = options_.scale;
  const auto &of = options_.offset;
  LayerOutputs<T> out;
  Tensor<T> &y = out.outputs.emplace_back(x.shape());
  for (int64_t i = 0; i < x.size(); ++i) {
    const auto c = static_cast<size_t>(i % last);
    // Keras casts scale and offset to the compute dtype first: x * T(scale) +
    // T(offset).
    y[i] = x[i] * static_cast<T>(sc[sc.size() == 1 ? 0 : c]) + static_cast<T>(of[of.size() == 1 ? 0 : c]);
  }
  if (in.mask) out.mask = *in.mask;
  if (in.mode == Mode::training) tape_.push_back(x.shape());
  return out;
}

template <class T>
LayerGrads<T> Rescaling<T>::backward(const std::vector<Tensor<T>> &grad_outputs) {
  detail::check_grad_outputs(this->where(), grad_outputs, {detail::tape_top(tape_, this->where())});
  const Shape s = detail::tape_pop(tape_);
  LayerGrads<T> out;
  Tensor<T> &dx = out.inputs.emplace_back(s);
  const Tensor<T> &dy = grad_outputs[0];
  if (dy.empty()) return out;
  const int64_t last = s.back();
  const auto &sc = options_.scale;
  for (int64_t i = 0; i < dx.size(); ++i)
    dx[i] = dy[i] * static_cast<T>(sc[sc.size() == 1 ? 0 : static_cast<size_t>(i % last)]);
  return out;
}

template class Normalization<float>;
template class Normalization<double>;
template class Rescaling<float>;
template class Rescaling<double>;

}  // namespace rnnx
