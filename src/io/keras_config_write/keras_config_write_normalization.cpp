// Keras 3 configs of the normalisation and numeric preprocessing layers,
// written as Keras 3.15 get_config() writes them (key order included); the
// inverse of keras_config_normalization.cpp.
#include <functional>

#include "io/keras_config_write/keras_config_write_impl.h"
#include "rnnx/layers/normalization.h"
#include "rnnx/layers/preprocessing.h"

namespace rnnx::detail::keras_write {
namespace {

J axes_json(const std::vector<int64_t> &axes, bool is_list) {
  if (!is_list && axes.size() == 1) return J(axes[0]);
  return J(axes);
}

void add_params(J &c, const NormalizationParamOptions &o) {
  c["beta_initializer"] = value_json(o.beta_initializer);
  c["gamma_initializer"] = value_json(o.gamma_initializer);
}

void add_penalties(J &c, const NormalizationParamOptions &o) {
  c["beta_regularizer"] = value_json(o.beta_regularizer);
  c["gamma_regularizer"] = value_json(o.gamma_regularizer);
  c["beta_constraint"] = value_json(o.beta_constraint);
  c["gamma_constraint"] = value_json(o.gamma_constraint);
}

// A number or a flat list.
J numbers_json(const std::vector<double> &v, bool is_list) {
  if (!is_list && v.size() == 1) return J(v[0]);
  return J(v);
}

// Normalization mean / variance: a number or nested lists of `shape`.
J stats_json(const std::vector<double> &v, const Shape &shape) {
  if (shape.empty()) return J(v.at(0));
  std::function<J(size_t, size_t &)> build = [&](size_t depth, size_t &pos) -> J {
    J out = J::array();
    for (int64_t i = 0; i < shape[depth]; ++i)
      out.push_back(depth + 1 == shape.size() ? J(v[pos++]) : build(depth + 1, pos));
    return out;
  };
  size_t pos = 0;
  return build(0, pos);
}

}  // namespace

template <class T>
std::optional<J> normalization_layer_config(const Layer<T> &layer) {
  J c = layer_head<T>(layer.name());
  if (auto *ln = dynamic_cast<const LayerNormalization<T> *>(&layer)) {
    const LayerNormalizationOptions &o = ln->options();
    c["axis"] = axes_json(o.axis, o.axis_is_list);
    c["epsilon"] = o.epsilon;
    c["center"] = o.center;
    c["scale"] = o.scale;
    c["rms_scaling"] = o.rms_scaling;
    add_params(c, o);
    add_penalties(c, o);
  } else if (auto *bn = dynamic_cast<const BatchNormalization<T> *>(&layer)) {
    const BatchNormalizationOptions &o = bn->options();
    c["trainable"] = o.trainable;
    c["axis"] = o.axis;
    c["momentum"] = o.momentum;
    c["epsilon"] = o.epsilon;
    c["center"] = o.center;
    c["scale"] = o.scale;
    add_params(c, o);
    c["moving_mean_initializer"] = value_json(o.moving_mean_initializer);
    c["moving_variance_initializer"] = value_json(o.moving_variance_initializer);
    add_penalties(c, o);
    c["synchronized"] = o.synchronized;
    c["renorm"] = false;
    c["renorm_clipping"] = J::object();
    c["renorm_momentum"] = 0.99;
  } else if (auto *gn = dynamic_cast<const GroupNormalization<T> *>(&layer)) {
    const GroupNormalizationOptions &o = gn->options();
    c["groups"] = o.groups;
    c["axis"] = o.axis;
    c["epsilon"] = o.epsilon;
    c["center"] = o.center;
    c["scale"] = o.scale;
    add_params(c, o);
    add_penalties(c, o);
  } else if (auto *un = dynamic_cast<const UnitNormalization<T> *>(&layer)) {
    c["axis"] = axes_json(un->options().axis, un->options().axis_is_list);
  } else if (auto *nm = dynamic_cast<const Normalization<T> *>(&layer)) {
    const NormalizationOptions &o = nm->options();
    // Keras keeps the axis as a tuple: written as a list.
    c["axis"] = o.axis_is_null ? J::array() : J(o.axis);
    c["invert"] = o.invert;
    c["mean"] = o.mean ? stats_json(*o.mean, o.stats_shape) : J(nullptr);
    c["variance"] = o.variance ? stats_json(*o.variance, o.stats_shape) : J(nullptr);
  } else if (auto *rs = dynamic_cast<const Rescaling<T> *>(&layer)) {
    const RescalingOptions &o = rs->options();
    c["scale"] = numbers_json(o.scale, o.scale_is_list);
    c["offset"] = numbers_json(o.offset, o.offset_is_list);
  } else {
    return std::nullopt;
  }
  return c;
}

template std::optional<J> normalization_layer_config<float>(const Layer<float> &);
template std::optional<J> normalization_layer_config<double>(const Layer<double> &);

}  // namespace rnnx::detail::keras_write
