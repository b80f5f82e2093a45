#include "rnnx/layers/normalization.h"

#include <algorithm>
#include <cmath>

#include "layers/call_tape.h"
#include "layers/normalization_plan.h"
#include "layers/shape_checks.h"
#include "rnnx/core/error.h"
#include "rnnx/core/rng.h"

namespace rnnx {

namespace {

// Keras backend.epsilon(): added to the kept count of a masked
// BatchNormalization.
constexpr double kBackendEpsilon = 1e-7;

void check_epsilon(const std::string &where, double eps) {
  if (!(eps >= 0.0)) throw ConfigError(where + ": epsilon must be >= 0, got " + std::to_string(eps));
}

// BatchNormalization and GroupNormalization normalise per channel: their `axis` option names
// the channel axis, never the batch axis.
void check_channel_axis_option(const std::string &where, int64_t axis, const char *class_name) {
  if (axis == 0) throw ConfigError(where + ": axis 0 is the batch axis; " + class_name + " needs a channel axis");
}

// The channel axis (resolved) of BatchNormalization's or GroupNormalization's one input of
// shape (batch, ..., channels).
int64_t channel_axis(const std::string &where, int64_t axis, const std::vector<Shape> &input_shapes) {
  detail::expect_input_count(where, input_shapes.size(), 1);
  detail::expect_min_rank(where, input_shapes[0], 2, "(batch, ..., channels)");
  return detail::resolve_axes(where, {axis}, input_shapes[0])[0];
}

// The size of the resolved channel axis, which building needs known.
int64_t known_channels(const std::string &where, int64_t axis, const Shape &s) {
  const int64_t ch = s[static_cast<size_t>(axis)];
  if (ch <= 0)
    throw ShapeError(where + ": the channel axis " + std::to_string(axis) + " of the input must be known, got shape " +
                     to_string(s));
  return ch;
}

}  // namespace

// ---- NormalizationLayer: the shared arithmetic

template <class T>
std::vector<Shape> NormalizationLayer<T>::compute_output_shapes(const std::vector<Shape> &input_shapes) const {
  check_input(input_shapes);
  return {input_shapes[0]};
}

template <class T>
void NormalizationLayer<T>::build_params(const Shape &shape, bool with_gamma, bool with_beta) {
  Rng rng(this->seed());
  const NormalizationParamOptions &o = param_options();
  if (with_gamma) {
    gamma_ = Tensor<T>(shape);
    initialize(o.gamma_initializer, gamma_, rng);
    gamma_grad_ = Tensor<T>(shape);
  }
  if (with_beta) {
    beta_ = Tensor<T>(shape);
    initialize(o.beta_initializer, beta_, rng);
    beta_grad_ = Tensor<T>(shape);
  }
}

template <class T>
void NormalizationLayer<T>::normalize(const Tensor<T> &x, detail::NormTape<T> &tp, Tensor<T> &y) const {
  const int64_t n = x.size();
  const size_t groups = tp.mean.size();
  const T *xv = x.data();
  const bool weighted = !tp.weight.empty();
  if (tp.batch_stats) {
    // Two passes, as Keras: the mean, then the mean squared deviation from it.
    std::vector<double> sum(groups, 0.0);
    tp.count.assign(groups, 0.0);
    for (int64_t i = 0; i < n; ++i) {
      const auto g = static_cast<size_t>(tp.group[i]);
      const double w = weighted ? tp.weight[i] : 1.0;
      sum[g] += w * xv[i];
      tp.count[g] += w;
    }
    if (weighted)
      for (double &c : tp.count) c += kBackendEpsilon;
    for (size_t g = 0; g < groups; ++g) tp.mean[g] = sum[g] / tp.count[g];
    std::fill(sum.begin(), sum.end(), 0.0);
    for (int64_t i = 0; i < n; ++i) {
      const auto g = static_cast<size_t>(tp.group[i]);
      const double w = weighted ? tp.weight[i] : 1.0;
      const double d = xv[i] - tp.mean[g];
      sum[g] += w * d * d;
    }
    for (size_t g = 0; g < groups; ++g) tp.inv[g] = 1.0 / std::sqrt(sum[g] / tp.count[g] + param_options().epsilon);
  }
  T *yv = y.data();
  for (int64_t i = 0; i < n; ++i) {
    const auto g = static_cast<size_t>(tp.group[i]);
    const int64_t c = tp.channel[i];
    const double xhat = tp.rms ? xv[i] * tp.inv[g] : (xv[i] - tp.mean[g]) * tp.inv[g];
    double v = gamma_.empty() ? xhat : xhat * gamma_[c];
    if (!beta_.empty()) v += beta_[c];
    yv[i] = static_cast<T>(v);
  }
}

template <class T>
const Tensor<T> &NormalizationLayer<T>::call_input(const LayerInputs<T> &in) {
  detail::expect_input_count(this->where(), in.inputs.size(), 1);
  const Tensor<T> &x = detail::input_at(this->where(), in.inputs, 0);
  this->build({x.shape()});
  check_input({x.shape()});
  return x;
}

template <class T>
LayerOutputs<T> NormalizationLayer<T>::normalized(const LayerInputs<T> &in, const Tensor<T> &x,
                                                  detail::NormTape<T> &tape) const {
  LayerOutputs<T> out;
  Tensor<T> &y = out.outputs.emplace_back(x.shape());
  normalize(x, tape, y);
  if (in.mask) out.mask = *in.mask;
  return out;
}

template <class T>
void NormalizationLayer<T>::record(const LayerInputs<T> &in, const Tensor<T> &x, detail::NormTape<T> &&tape) {
  if (in.mode != Mode::training) return;
  tape.x = x;
  tape_.push_back(std::move(tape));
}

template <class T>
LayerGrads<T> NormalizationLayer<T>::backward(const std::vector<Tensor<T>> &grad_outputs) {
  detail::check_grad_outputs(this->where(), grad_outputs, {detail::tape_top(tape_, this->where()).x.shape()});
  const detail::NormTape<T> tp = detail::tape_pop(tape_);
  LayerGrads<T> out;
  Tensor<T> &dx = out.inputs.emplace_back(tp.x.shape());
  const Tensor<T> &dy = grad_outputs[0];
  if (dy.empty()) return out;
  const int64_t n = tp.x.size();
  const size_t groups = tp.mean.size();
  const T *xv = tp.x.data();
  const bool weighted = !tp.weight.empty();
  // dxhat = dy * gamma; the parameter gradients first.
  std::vector<double> dxhat(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) {
    const auto g = static_cast<size_t>(tp.group[i]);
    const int64_t c = tp.channel[i];
    const double xhat = tp.rms ? xv[i] * tp.inv[g] : (xv[i] - tp.mean[g]) * tp.inv[g];
    if (!gamma_.empty()) gamma_grad_[c] += static_cast<T>(dy[i] * xhat);
    if (!beta_.empty()) beta_grad_[c] += dy[i];
    dxhat[static_cast<size_t>(i)] = gamma_.empty() ? double(dy[i]) : double(dy[i]) * gamma_[c];
  }
  if (!tp.batch_stats) {
    for (int64_t i = 0; i < n; ++i) dx[i] = static_cast<T>(dxhat[static_cast<size_t>(i)] * tp.inv[tp.group[i]]);
    return out;
  }
  // Through the statistics: var = Σ w (x - mean)² / N, mean = Σ w x / N, inv =
  // (var + eps)^-1/2. a = Σ dxhat * (x - mean) [rms: Σ dxhat * x], b = Σ dxhat,
  // c = Σ w (x - mean) (zero up to the 1e-7 Keras adds to a masked N, kept so
  // the derivative is exact).
  std::vector<double> a(groups, 0.0), b(groups, 0.0), cdev(groups, 0.0);
  for (int64_t i = 0; i < n; ++i) {
    const auto g = static_cast<size_t>(tp.group[i]);
    const double w = weighted ? tp.weight[i] : 1.0;
    const double d = xv[i] - tp.mean[g];
    a[g] += dxhat[static_cast<size_t>(i)] * (tp.rms ? double(xv[i]) : d);
    b[g] += dxhat[static_cast<size_t>(i)];
    cdev[g] += w * d;
  }
  std::vector<double> dvar(groups), dmean(groups);
  for (size_t g = 0; g < groups; ++g) {
    const double inv = tp.inv[g];
    dvar[g] = -0.5 * inv * inv * inv * a[g];
    dmean[g] = (tp.rms ? 0.0 : -inv * b[g]) - 2.0 * dvar[g] * cdev[g] / tp.count[g];
  }
  for (int64_t i = 0; i < n; ++i) {
    const auto g = static_cast<size_t>(tp.group[i]);
    const double w = weighted ? tp.weight[i] : 1.0;
    const double d = xv[i] - tp.mean[g];
    const double v = dxhat[static_cast<size_t>(i)] * tp.inv[g] + w * (dmean[g] + 2.0 * dvar[g] * d) / tp.count[g];
    dx[i] = static_cast<T>(v);
  }
  return out;
}

template <class T>
std::vector<Param<T>> NormalizationLayer<T>::params() {
  std::vector<Param<T>> ps;
  if (!this->built()) return ps;
  const NormalizationParamOptions &o = param_options();
  if (!gamma_.empty()) ps.push_back({"gamma", &gamma_, &gamma_grad_, true, o.gamma_regularizer, o.gamma_constraint});
  if (!beta_.empty()) ps.push_back({"beta", &beta_, &beta_grad_, true, o.beta_regularizer, o.beta_constraint});
  return ps;
}

// ---- LayerNormalization

template <class T>
LayerNormalization<T>::LayerNormalization(LayerNormalizationOptions options, std::string name)
    : NormalizationLayer<T>(std::move(name)), options_(std::move(options)) {
  this->set_param_options(&options_);
  check_epsilon(this->where(), options_.epsilon);
  if (options_.axis.empty()) throw ConfigError(this->where() + ": axis must name at least one axis, got []");
  for (int64_t a : options_.axis)
    if (a == 0)
      throw ConfigError(this->where() +
                        ": axis 0 is the batch axis; LayerNormalization "
                        "normalises within a sample");
}

template <class T>
void LayerNormalization<T>::check_input(const std::vector<Shape> &input_shapes) const {
  detail::expect_input_count(this->where(), input_shapes.size(), 1);
  const Shape &s = input_shapes[0];
  detail::expect_min_rank(this->where(), s, 2, "(batch, ..., features)");
  const std::vector<int64_t> axes = detail::resolve_axes(this->where(), options_.axis, s);
  if (this->built()) {
    Shape p;
    for (int64_t a : axes) p.push_back(s[static_cast<size_t>(a)]);
    const Tensor<T> &w = this->gamma_.empty() ? this->beta_ : this->gamma_;
    if (!w.empty())
      for (size_t k = 0; k < p.size(); ++k)
        if (!detail::dims_compatible(p[k], w.shape()[k]))
          throw ShapeError(this->where() + ": input has " + std::to_string(p[k]) + " at axis " +
                           std::to_string(axes[k]) + ", expected " + std::to_string(w.shape()[k]) + " (input shape " +
                           to_string(s) + ")");
  }
}

template <class T>
void LayerNormalization<T>::build(const std::vector<Shape> &input_shapes) {
  check_input(input_shapes);
  if (this->built()) return;
  const Shape &s = input_shapes[0];
  axes_ = detail::resolve_axes(this->where(), options_.axis, s);
  Shape p;
  for (int64_t a : axes_) {
    if (s[static_cast<size_t>(a)] <= 0)
      throw ShapeError(this->where() + ": axis " + std::to_string(a) + " of the input must be known, got shape " +
                       to_string(s));
    p.push_back(s[static_cast<size_t>(a)]);
  }
  const bool with_gamma = options_.scale || options_.rms_scaling;
  const bool with_beta = options_.center && !options_.rms_scaling;
  this->build_params(p, with_gamma, with_beta);
  this->set_built();
}

template <class T>
LayerOutputs<T> LayerNormalization<T>::call(const LayerInputs<T> &in) {
  const Tensor<T> &x = this->call_input(in);
  detail::NormTape<T> tp;
  tp.rms = options_.rms_scaling;
  const int64_t groups = detail::axis_plan(x.shape(), axes_, tp.group, tp.channel);
  tp.mean.assign(static_cast<size_t>(groups), 0.0);
  tp.inv.assign(static_cast<size_t>(groups), 0.0);
  LayerOutputs<T> out = this->normalized(in, x, tp);
  this->record(in, x, std::move(tp));
  return out;
}

// ---- BatchNormalization

template <class T>
BatchNormalization<T>::BatchNormalization(BatchNormalizationOptions options, std::string name)
    : NormalizationLayer<T>(std::move(name)), options_(std::move(options)) {
  this->set_param_options(&options_);
  check_epsilon(this->where(), options_.epsilon);
  check_channel_axis_option(this->where(), options_.axis, "BatchNormalization");
}

template <class T>
void BatchNormalization<T>::check_input(const std::vector<Shape> &input_shapes) const {
  const int64_t a = channel_axis(this->where(), options_.axis, input_shapes);
  const Shape &s = input_shapes[0];
  if (this->built() && !detail::dims_compatible(s[static_cast<size_t>(a)], moving_mean_.size()))
    throw ShapeError(this->where() + ": input has " + std::to_string(s[static_cast<size_t>(a)]) + " channels at axis " +
                     std::to_string(a) + ", expected " + std::to_string(moving_mean_.size()) + " (input shape " +
                     to_string(s) + ")");
}

template <class T>
void BatchNormalization<T>::build(const std::vector<Shape> &input_shapes) {
  check_input(input_shapes);
  if (this->built()) return;
  axis_ = channel_axis(this->where(), options_.axis, input_shapes);
  const int64_t ch = known_channels(this->where(), axis_, input_shapes[0]);
  this->build_params({ch}, options_.scale, options_.center);
  Rng rng(this->seed() + 1);
  moving_mean_ = Tensor<T>({ch});
  initialize(options_.moving_mean_initializer, moving_mean_, rng);
  moving_variance_ = Tensor<T>({ch});
  initialize(options_.moving_variance_initializer, moving_variance_, rng);
  moving_mean_grad_ = Tensor<T>({ch});
  moving_variance_grad_ = Tensor<T>({ch});
  this->set_built();
}

template <class T>
LayerOutputs<T> BatchNormalization<T>::call(const LayerInputs<T> &in) {
  const Tensor<T> &x = this->call_input(in);
  const Shape &s = x.shape();
  if (in.mask && static_cast<size_t>(in.mask->rank()) + 1 != s.size())
    throw ShapeError(this->where() +
                     ": the mask must have one dimension less than the input "
                     "(Keras' rule), got mask " +
                     to_string(in.mask->shape()) + " for input " + to_string(s));
  detail::NormTape<T> tp;
  const int64_t ch = moving_mean_.size();
  // Statistics per channel: the channel is both the group and the parameter
  // index.
  detail::axis_plan(s, {axis_}, tp.group, tp.channel);
  tp.group = tp.channel;
  const bool batch = in.mode == Mode::training && options_.trainable;
  tp.batch_stats = batch;
  tp.mean.assign(static_cast<size_t>(ch), 0.0);
  tp.inv.assign(static_cast<size_t>(ch), 0.0);
  if (batch && in.mask) {
    // The mask covers every axis but the last: element i belongs to mask entry
    // i / last dim.
    const int64_t last = s.back();
    tp.weight.resize(static_cast<size_t>(x.size()));
    for (int64_t i = 0; i < x.size(); ++i) tp.weight[static_cast<size_t>(i)] = (*in.mask)[i / last] ? 1 : 0;
  }
  if (!batch) {
    for (int64_t c = 0; c < ch; ++c) {
      tp.mean[static_cast<size_t>(c)] = moving_mean_[c];
      tp.inv[static_cast<size_t>(c)] = 1.0 / std::sqrt(double(moving_variance_[c]) + options_.epsilon);
    }
  }
  LayerOutputs<T> out = this->normalized(in, x, tp);
  if (batch) {
    // Keras 3: moving = moving * momentum + batch * (1 - momentum), in the
    // layer's dtype.
    const T m = static_cast<T>(options_.momentum);
    for (int64_t c = 0; c < ch; ++c) {
      const auto k = static_cast<size_t>(c);
      const T var = static_cast<T>(1.0 / (tp.inv[k] * tp.inv[k]) - options_.epsilon);
      moving_mean_[c] = moving_mean_[c] * m + static_cast<T>(tp.mean[k]) * (T(1) - m);
      moving_variance_[c] = moving_variance_[c] * m + var * (T(1) - m);
    }
  }
  this->record(in, x, std::move(tp));
  return out;
}

template <class T>
std::vector<Param<T>> BatchNormalization<T>::params() {
  std::vector<Param<T>> ps = NormalizationLayer<T>::params();
  if (!this->built()) return ps;
  ps.push_back({"moving_mean", &moving_mean_, &moving_mean_grad_, false, {}, {}});
  ps.push_back({"moving_variance", &moving_variance_, &moving_variance_grad_, false, {}, {}});
  return ps;
}

// ---- GroupNormalization

template <class T>
GroupNormalization<T>::GroupNormalization(GroupNormalizationOptions options, std::string name)
    : NormalizationLayer<T>(std::move(name)), options_(std::move(options)) {
  this->set_param_options(&options_);
  check_epsilon(this->where(), options_.epsilon);
  if (options_.groups == 0 || options_.groups < -1)
    throw ConfigError(this->where() +
                      ": groups must be a positive integer or -1 (one group "
                      "per channel), got " +
                      std::to_string(options_.groups));
  check_channel_axis_option(this->where(), options_.axis, "GroupNormalization");
}

template <class T>
void GroupNormalization<T>::check_input(const std::vector<Shape> &input_shapes) const {
  const int64_t a = channel_axis(this->where(), options_.axis, input_shapes);
  const Shape &s = input_shapes[0];
  const int64_t ch = s[static_cast<size_t>(a)];
  if (this->built() && !detail::dims_compatible(ch, channels_))
    throw ShapeError(this->where() + ": input has " + std::to_string(ch) + " channels at axis " + std::to_string(a) +
                     ", expected " + std::to_string(channels_) + " (input shape " + to_string(s) + ")");
  const int64_t groups = options_.groups == -1 ? ch : options_.groups;
  if (ch > 0 && (ch < groups || ch % groups != 0))
    throw ShapeError(this->where() + ": " + std::to_string(ch) + " channels cannot be split into " +
                     std::to_string(groups) + " equal groups (input shape " + to_string(s) + ")");
}

template <class T>
void GroupNormalization<T>::build(const std::vector<Shape> &input_shapes) {
  check_input(input_shapes);
  if (this->built()) return;
  axis_ = channel_axis(this->where(), options_.axis, input_shapes);
  const int64_t ch = known_channels(this->where(), axis_, input_shapes[0]);
  groups_ = options_.groups == -1 ? ch : options_.groups;
  channels_ = ch;
  this->build_params({ch}, options_.scale, options_.center);
  this->set_built();
}

template <class T>
LayerOutputs<T> GroupNormalization<T>::call(const LayerInputs<T> &in) {
  const Tensor<T> &x = this->call_input(in);
  const Shape &s = x.shape();
  detail::NormTape<T> tp;
  // channel = index along axis; group = (sample, channel / (channels /
  // groups)).
  detail::axis_plan(s, {axis_}, tp.group, tp.channel);
  const int64_t per_group = channels_ / groups_;
  const int64_t per_sample = x.size() / std::max<int64_t>(1, s[0]);
  for (int64_t i = 0; i < x.size(); ++i) tp.group[i] = (i / per_sample) * groups_ + tp.channel[i] / per_group;
  const auto n_groups = static_cast<size_t>(s[0] * groups_);
  tp.mean.assign(n_groups, 0.0);
  tp.inv.assign(n_groups, 0.0);
  LayerOutputs<T> out = this->normalized(in, x, tp);
  this->record(in, x, std::move(tp));
  return out;
}

// ---- UnitNormalization

template <class T>
UnitNormalization<T>::UnitNormalization(UnitNormalizationOptions options, std::string name)
    : Layer<T>(std::move(name)), options_(std::move(options)) {
  if (options_.axis.empty()) throw ConfigError(this->where() + ": axis must name at least one axis, got []");
}

template <class T>
std::vector<Shape> UnitNormalization<T>::compute_output_shapes(const std::vector<Shape> &input_shapes) const {
  detail::expect_input_count(this->where(), input_shapes.size(), 1);
  detail::expect_min_rank(this->where(), input_shapes[0], 1, "(batch, ...)");
  detail::resolve_axes(this->where(), options_.axis, input_shapes[0], true);
  return {input_shapes[0]};
}

template <class T>
void UnitNormalization<T>::build(const std::vector<Shape> &input_shapes) {
  compute_output_shapes(input_shapes);
  this->set_built();
}

template <class T>
LayerOutputs<T> UnitNormalization<T>::call(const LayerInputs<T> &in) {
  detail::expect_input_count(this->where(), in.inputs.size(), 1);
  const Tensor<T> &x = detail::input_at(this->where(), in.inputs, 0);
  build({x.shape()});
  Call c;
  std::vector<int64_t> inner;
  const int64_t groups =
      detail::axis_plan(x.shape(), detail::resolve_axes(this->where(), options_.axis, x.shape(), true), c.group, inner);
  // Keras ops.normalize(order=2, epsilon=1e-12): x * min(rsqrt(Σ x²), 1 /
  // 1e-12).
  std::vector<double> sq(static_cast<size_t>(groups), 0.0);
  for (int64_t i = 0; i < x.size(); ++i) sq[static_cast<size_t>(c.group[i])] += double(x[i]) * x[i];
  c.inv.resize(sq.size());
  c.capped.resize(sq.size());
  for (size_t g = 0; g < sq.size(); ++g) {
    const double r = sq[g] > 0.0 ? 1.0 / std::sqrt(sq[g]) : INFINITY;
    c.capped[g] = r > 1e12 ? 1 : 0;
    c.inv[g] = std::min(r, 1e12);
  }
  LayerOutputs<T> out;
  Tensor<T> &y = out.outputs.emplace_back(x.shape());
  for (int64_t i = 0; i < x.size(); ++i) y[i] = static_cast<T>(x[i] * c.inv[static_cast<size_t>(c.group[i])]);
  if (in.mask) out.mask = *in.mask;
  if (in.mode == Mode::training) {
    c.x = x;
    tape_.push_back(std::move(c));
  }
  return out;
}

template <class T>
LayerGrads<T> UnitNormalization<T>::backward(const std::vector<Tensor<T>> &grad_outputs) {
  detail::check_grad_outputs(this->where(), grad_outputs, {detail::tape_top(tape_, this->where()).x.shape()});
  const Call c = detail::tape_pop(tape_);
  LayerGrads<T> out;
  Tensor<T> &dx = out.inputs.emplace_back(c.x.shape());
  const Tensor<T> &dy = grad_outputs[0];
  if (dy.empty()) return out;
  // y = x r with r = (Σ x²)^-1/2: dx = r dy - r³ x Σ (dy x); a capped r is a
  // constant.
  std::vector<double> dot(c.inv.size(), 0.0);
  for (int64_t i = 0; i < c.x.size(); ++i) dot[static_cast<size_t>(c.group[i])] += double(dy[i]) * c.x[i];
  for (int64_t i = 0; i < c.x.size(); ++i) {
    const auto g = static_cast<size_t>(c.group[i]);
    const double r = c.inv[g];
    double v = r * dy[i];
    if (!c.capped[g]) v -= r * r * r * c.x[i] * dot[g];
    dx[i] = static_cast<T>(v);
  }
  return out;
}

template class NormalizationLayer<float>;
template class NormalizationLayer<double>;
template class LayerNormalization<float>;
template class LayerNormalization<double>;
template class BatchNormalization<float>;
template class BatchNormalization<double>;
template class GroupNormalization<float>;
template class GroupNormalization<double>;
template class UnitNormalization<float>;
template class UnitNormalization<double>;

}  // namespace rnnx
