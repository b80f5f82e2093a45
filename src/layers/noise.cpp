#include "rnnx/layers/noise.h"

#include <cmath>

#include "layers/call_tape.h"
#include "layers/shape_checks.h"
#include "rnnx/core/sample_rng.h"

namespace rnnx {

// SELU's constants (K3 alpha_dropout.py).
constexpr double kSeluAlpha = 1.6732632423543772848170429916717;
constexpr double kSeluScale = 1.0507009873554804934193349852946;

template <class T>
SpatialDropout1D<T>::SpatialDropout1D(double rate, std::string name)
    : Dropout<T>(DropoutOptions{rate, {-1, 1, -1}}, std::move(name)) {}

template <class T>
std::vector<Shape> SpatialDropout1D<T>::compute_output_shapes(const std::vector<Shape> &input_shapes) const {
  detail::expect_input_count(this->where(), input_shapes.size(), 1);
  detail::expect_rank(this->where(), input_shapes[0], 3, "(batch, steps, features)");
  return Dropout<T>::compute_output_shapes(input_shapes);
}

template <class T>
LayerOutputs<T> SpatialDropout1D<T>::call(const LayerInputs<T> &in) {
  detail::expect_input_count(this->where(), in.inputs.size(), 1);
  compute_output_shapes({detail::input_at(this->where(), in.inputs, 0).shape()});
  return Dropout<T>::call(in);
}

// ---------------------------------------------------------------------------------------------
template <class T>
NoiseLayer<T>::NoiseLayer(NoiseKind kind, NoiseOptions options, std::string name)
    : Layer<T>(std::move(name)), kind_(kind), options_(std::move(options)) {
  const char *what = kind_ == NoiseKind::gaussian_noise ? "stddev" : "rate";
  if (!(options_.rate >= 0.0 && options_.rate <= 1.0))
    throw ConfigError(this->where() + ": " + what + " must be in [0, 1], got " + std::to_string(options_.rate));
  if (!options_.noise_shape.empty() && kind_ != NoiseKind::alpha_dropout)
    throw ConfigError(this->where() + ": noise_shape is only an argument of AlphaDropout");
  for (int64_t d : options_.noise_shape)
    if (d == 0 || d < -1)
      throw ConfigError(this->where() + ": noise_shape entries must be > 0 or -1 (None), got " +
                        to_string(options_.noise_shape));
}

template <class T>
std::string NoiseLayer<T>::class_name() const {
  switch (kind_) {
    case NoiseKind::gaussian_noise:
      return "GaussianNoise";
    case NoiseKind::gaussian_dropout:
      return "GaussianDropout";
    case NoiseKind::alpha_dropout:
      return "AlphaDropout";
  }
  return "Noise";
}

template <class T>
Shape NoiseLayer<T>::noise_shape_for(const Shape &input_shape) const {
  if (options_.noise_shape.empty()) return input_shape;
  if (options_.noise_shape.size() != input_shape.size())
    throw ShapeError(this->where() + ": noise_shape " + to_string(options_.noise_shape) + " has rank " +
                     std::to_string(options_.noise_shape.size()) + ", the input has shape " + to_string(input_shape));
  Shape s = options_.noise_shape;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] < 0) s[i] = input_shape[i];
    if (s[i] != 1 && input_shape[i] >= 0 && s[i] != input_shape[i])
      throw ShapeError(this->where() + ": noise_shape " + to_string(options_.noise_shape) +
                       " does not broadcast to the input shape " + to_string(input_shape));
  }
  return s;
}

template <class T>
void NoiseLayer<T>::build(const std::vector<Shape> &input_shapes) {
  compute_output_shapes(input_shapes);
  this->set_built();
}

template <class T>
std::vector<Shape> NoiseLayer<T>::compute_output_shapes(const std::vector<Shape> &input_shapes) const {
  detail::expect_input_count(this->where(), input_shapes.size(), 1);
  noise_shape_for(input_shapes[0]);
  return {input_shapes[0]};
}

namespace {

// Index into a noise tensor of shape `noise` (size-1 axes broadcast) for each
// element of an input of shape `shape`.
std::vector<int64_t> noise_index(const Shape &shape, const Shape &noise) {
  const size_t rank = shape.size();
  std::vector<int64_t> nstride(rank, 0);
  int64_t stride = 1;
  for (size_t a = rank; a-- > 0;) {
    nstride[a] = noise[a] == 1 ? 0 : stride;
    stride *= noise[a];
  }
  int64_t total = 1;
  for (int64_t d : shape) total *= d;
  std::vector<int64_t> out(static_cast<size_t>(total));
  std::vector<int64_t> idx(rank, 0);
  for (int64_t i = 0; i < total; ++i) {
    int64_t j = 0;
    for (size_t a = 0; a < rank; ++a) j += idx[a] * nstride[a];
    out[i] = j;
    for (size_t a = rank; a-- > 0;) {
      if (++idx[a] < shape[a]) break;
      idx[a] = 0;
    }
  }
  return out;
}

// AlphaDropout's affine constants for a rate.
void alpha_constants(double rate, double &a, double &b, double &alpha_p) {
  alpha_p = -kSeluAlpha * kSeluScale;
  a = std::pow((1 - rate) * (1 + rate * alpha_p * alpha_p), -0.5);
  b = -a * alpha_p * rate;
}

}  // namespace

template <class T>
LayerOutputs<T> NoiseLayer<T>::call(const LayerInputs<T> &in) {
  detail::expect_input_count(this->where(), in.inputs.size(), 1);
  const Tensor<T> &x = detail::input_at(this->where(), in.inputs, 0);
  build({x.shape()});
  LayerOutputs<T> out;
  if (in.mask) out.mask = *in.mask;
  last_noise_ = Tensor<T>();
  if (in.mode != Mode::training || options_.rate == 0.0) {
    out.outputs.push_back(x);
    if (in.mode == Mode::training) tape_.push_back({x.shape(), Tensor<T>()});
    return out;
  }
  const Shape noise = noise_shape_for(x.shape());
  if (!fixed_noise_.empty()) {
    if (fixed_noise_.shape() != noise)
      throw ShapeError(this->where() + ": the fixed noise has shape " + to_string(fixed_noise_.shape()) +
                       ", expected " + to_string(noise) + " (input shape " + to_string(x.shape()) + ")");
    last_noise_ = fixed_noise_;
  } else {
    if (!rng_) rng_.emplace(this->seed());
    last_noise_ = Tensor<T>(noise);
    const double r = options_.rate;
    const auto draw = [&](Rng &g) {
      if (kind_ == NoiseKind::gaussian_noise) return static_cast<T>(r * g.normal());
      if (kind_ == NoiseKind::gaussian_dropout) return static_cast<T>(1.0 + std::sqrt(r / (1.0 - r)) * g.normal());
      return g.uniform() >= r ? T(1) : T(0);  // K3: kept where uniform >= rate
    };
    // One key per call, then each sample's part from its own generator (core/sample_rng.h).
    const uint64_t key = rng_->next_u64();
    if (options_.noise_shape.empty() || options_.noise_shape[0] != 1)
      fill_per_sample(last_noise_, key, 0, draw);
    else
      fill_shared(last_noise_, key, draw);
  }
  Tensor<T> &y = out.outputs.emplace_back(x.shape());
  const std::vector<int64_t> ni = noise_index(x.shape(), noise);
  double a = 1, b = 0, alpha_p = 0;
  if (kind_ == NoiseKind::alpha_dropout) alpha_constants(options_.rate, a, b, alpha_p);
  for (int64_t i = 0; i < x.size(); ++i) {
    const T n = last_noise_[ni[i]];
    if (kind_ == NoiseKind::gaussian_noise)
      y[i] = x[i] + n;
    else if (kind_ == NoiseKind::gaussian_dropout)
      y[i] = x[i] * n;
    else
      y[i] = static_cast<T>(a) * (x[i] * n + static_cast<T>(alpha_p) * (T(1) - n)) + static_cast<T>(b);
  }
  tape_.push_back({x.shape(), last_noise_});
  return out;
}

template <class T>
LayerGrads<T> NoiseLayer<T>::backward(const std::vector<Tensor<T>> &grad_outputs) {
  detail::check_grad_outputs(this->where(), grad_outputs, {detail::tape_top(tape_, this->where()).shape});
  const Call call = detail::tape_pop(tape_);
  LayerGrads<T> g;
  const Tensor<T> &dy = grad_outputs[0];
  if (dy.empty()) {
    g.inputs.emplace_back(call.shape);
    return g;
  }
  if (call.noise.empty() || kind_ == NoiseKind::gaussian_noise) {
    g.inputs.push_back(dy);
    return g;
  }
  Tensor<T> &dx = g.inputs.emplace_back(call.shape);
  const std::vector<int64_t> ni = noise_index(call.shape, call.noise.shape());
  double a = 1, b = 0, alpha_p = 0;
  if (kind_ == NoiseKind::alpha_dropout) alpha_constants(options_.rate, a, b, alpha_p);
  for (int64_t i = 0; i < dy.size(); ++i) dx[i] = dy[i] * call.noise[ni[i]] * static_cast<T>(a);
  return g;
}

// ---------------------------------------------------------------------------------------------
template <class T>
ActivityRegularization<T>::ActivityRegularization(double l1, double l2, std::string name)
    : Layer<T>(std::move(name)), l1_(l1), l2_(l2) {
  if (!(l1_ >= 0.0) || !(l2_ >= 0.0))
    throw ConfigError(this->where() + ": l1 and l2 must be >= 0, got l1 = " + std::to_string(l1_) +
                      ", l2 = " + std::to_string(l2_));
}

template <class T>
void ActivityRegularization<T>::build(const std::vector<Shape> &input_shapes) {
  compute_output_shapes(input_shapes);
  this->set_built();
}

template <class T>
std::vector<Shape> ActivityRegularization<T>::compute_output_shapes(const std::vector<Shape> &input_shapes) const {
  detail::expect_input_count(this->where(), input_shapes.size(), 1);
  return {input_shapes[0]};
}

template <class T>
LayerOutputs<T> ActivityRegularization<T>::call(const LayerInputs<T> &in) {
  detail::expect_input_count(this->where(), in.inputs.size(), 1);
  const Tensor<T> &x = detail::input_at(this->where(), in.inputs, 0);
  this->set_built();
  return detail::identity_call(in, x, tape_);
}

template <class T>
LayerGrads<T> ActivityRegularization<T>::backward(const std::vector<Tensor<T>> &grad_outputs) {
  return detail::identity_backward(this->where(), tape_, grad_outputs);
}

template class SpatialDropout1D<float>;
template class SpatialDropout1D<double>;
template class NoiseLayer<float>;
template class NoiseLayer<double>;
template class ActivityRegularization<float>;
template class ActivityRegularization<double>;

}  // namespace rnnx
