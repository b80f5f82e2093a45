// Normalisation and numeric preprocessing layers read from their Keras configs:
// LayerNormalization, BatchNormalization, GroupNormalization,
// UnitNormalization, Normalization and Rescaling (K3
// keras/src/layers/normalization/, preprocessing/).
#include <functional>
#include <set>
#include <tuple>

#include "io/keras_config/keras_config_impl.h"
#include "rnnx/core/error.h"
#include "rnnx/layers/normalization.h"
#include "rnnx/layers/preprocessing.h"

namespace rnnx::detail {
namespace {

// An axis argument: an int, a list of ints (Keras 3 LayerNormalization writes
// [-1] once built) or, where `allow_null`, null. Sets *is_list / *is_null to
// how it was spelled.
std::vector<int64_t> read_axes(const KerasConfig &c, const std::string &key, int64_t fallback, bool *is_list,
                               bool *is_null = nullptr) {
  if (!c.contains(key)) return {fallback};
  const std::string text = c.json(key);
  if (text == "null") {
    if (!is_null) c.fail(key, "must be an integer or a list of integers, got null");
    *is_null = true;
    c.ignore(key);
    return {};
  }
  if (!text.empty() && text.front() == '[') {
    if (is_list) *is_list = true;
    return c.get_int_list(key);
  }
  return {c.get_int(key)};
}

// A single channel axis: an int or (tf_keras BatchNormalization) a one-element
// list.
int64_t read_one_axis(const KerasConfig &c, const std::string &key) {
  bool list = false;
  const std::vector<int64_t> axes = read_axes(c, key, -1, &list);
  if (axes.size() != 1) c.fail(key, "must be one axis, got " + c.json(key));
  return axes[0];
}

template <class Options>
void read_param_options(const KerasConfig &c, Options &o) {
  o.epsilon = c.get_double("epsilon", 1e-3);
  o.center = c.get_bool("center", true);
  o.scale = c.get_bool("scale", true);
  o.beta_initializer = c.get_initializer("beta_initializer", Initializer::from_name("zeros"));
  o.gamma_initializer = c.get_initializer("gamma_initializer", Initializer::from_name("ones"));
  o.beta_regularizer = c.get_regularizer("beta_regularizer");
  o.gamma_regularizer = c.get_regularizer("gamma_regularizer");
  o.beta_constraint = c.get_constraint("beta_constraint");
  o.gamma_constraint = c.get_constraint("gamma_constraint");
}

// A number or nested lists of numbers (Normalization mean / variance, Rescaling
// scale / offset): flat values and their shape. Keras 3 writes an absent
// statistic as null.
bool read_numbers(const KerasConfig &c, const std::string &key, std::vector<double> &values, Shape &shape) {
  if (!c.has(key)) {
    c.ignore(key);
    return false;
  }
  const auto doc = parse_json(c.json(key), c.where() + " argument '" + key + "'");
  values.clear();
  shape.clear();
  // Walks the nesting depth-first; every list at one depth must have the same
  // length.
  std::vector<int64_t> dims;
  std::function<void(const Json &, size_t)> walk = [&](const Json &j, size_t depth) {
    if (j.is_number()) {
      if (depth != dims.size() && !dims.empty()) c.fail(key, "must be a number or a rectangular list of numbers");
      values.push_back(j.get<double>());
      return;
    }
    if (!j.is_array()) c.fail(key, "must be a number or a list of numbers, got " + c.json(key));
    if (depth == dims.size()) dims.push_back(static_cast<int64_t>(j.size()));
    if (dims[depth] != static_cast<int64_t>(j.size()))
      c.fail(key, "must be a rectangular list of numbers, got " + c.json(key));
    for (const Json &e : j) walk(e, depth + 1);
  };
  walk(*doc, 0);
  if (values.empty()) c.fail(key, "must not be an empty list");
  shape = dims;
  c.ignore(key);
  return true;
}

template <class T>
std::unique_ptr<Layer<T>> make_batch_normalization(const KerasConfig &c, const std::string &name) {
  BatchNormalizationOptions o;
  o.axis = read_one_axis(c, "axis");
  o.momentum = c.get_double("momentum", 0.99);
  read_param_options(c, o);
  o.moving_mean_initializer = c.get_initializer("moving_mean_initializer", Initializer::from_name("zeros"));
  o.moving_variance_initializer = c.get_initializer("moving_variance_initializer", Initializer::from_name("ones"));
  o.synchronized = c.get_bool("synchronized", false);
  o.trainable = c.get_bool("trainable", true);
  if (c.get_bool("renorm", false)) c.fail("renorm", "= true (batch renormalization) is not supported by rnnx");
  c.ignore("renorm_clipping");  // only read by renorm
  c.ignore("renorm_momentum");
  // tf_keras: `fused` picks a kernel with the same inference numbers; virtual
  // batches and adjustment change the math.
  c.ignore("fused");
  if (c.has("virtual_batch_size")) c.fail("virtual_batch_size", "is not supported by rnnx (expected null)");
  c.ignore("virtual_batch_size");
  if (c.has("adjustment")) c.fail("adjustment", "is not supported by rnnx (expected null)");
  c.ignore("adjustment");
  return std::make_unique<BatchNormalization<T>>(o, name);
}

template <class T>
std::unique_ptr<Layer<T>> make_normalization(const KerasConfig &c, const std::string &name) {
  NormalizationOptions o;
  o.axis = read_axes(c, "axis", -1, &o.axis_is_list, &o.axis_is_null);
  o.invert = c.get_bool("invert", false);
  std::vector<double> mean, variance;
  Shape ms, vs;
  const bool has_mean = read_numbers(c, "mean", mean, ms);
  const bool has_var = read_numbers(c, "variance", variance, vs);
  if (has_mean != has_var) c.fail(has_mean ? "variance" : "mean", "must be given together with the other statistic");
  if (has_mean) {
    if (ms != vs) c.fail("variance", "must have the shape of mean " + to_string(ms) + ", got " + to_string(vs));
    o.mean = std::move(mean);
    o.variance = std::move(variance);
    o.stats_shape = ms;
  }
  return std::make_unique<Normalization<T>>(o, name);
}

template <class T>
std::unique_ptr<Layer<T>> make_rescaling(const KerasConfig &c, const std::string &name) {
  RescalingOptions o;
  Shape s;
  for (auto [key, values, is_list, required] : {std::tuple{"scale", &o.scale, &o.scale_is_list, true},
                                                std::tuple{"offset", &o.offset, &o.offset_is_list, false}}) {
    std::vector<double> v;
    if (!read_numbers(c, key, v, s)) {
      if (required) c.fail(key, "is required");
      continue;
    }
    if (s.size() > 1) c.fail(key, "must be a number or a flat list of numbers, got " + c.json(key));
    *is_list = s.size() == 1;
    *values = std::move(v);
  }
  return std::make_unique<Rescaling<T>>(o, name);
}

}  // namespace

template <class T>
std::unique_ptr<Layer<T>> make_normalization_layer(const std::string &cn, const KerasConfig &c,
                                                   const std::string &name) {
  if (cn == "LayerNormalization") {
    LayerNormalizationOptions o;
    o.axis = read_axes(c, "axis", -1, &o.axis_is_list);
    read_param_options(c, o);
    o.rms_scaling = c.get_bool("rms_scaling", false);
    return std::make_unique<LayerNormalization<T>>(o, name);
  }
  if (cn == "BatchNormalization") return make_batch_normalization<T>(c, name);
  if (cn == "GroupNormalization") {
    GroupNormalizationOptions o;
    o.groups = c.get_int("groups", 32);
    o.axis = read_one_axis(c, "axis");
    read_param_options(c, o);
    return std::make_unique<GroupNormalization<T>>(o, name);
  }
  if (cn == "UnitNormalization") {
    UnitNormalizationOptions o;
    o.axis = read_axes(c, "axis", -1, &o.axis_is_list);
    return std::make_unique<UnitNormalization<T>>(o, name);
  }
  if (cn == "Normalization") return make_normalization<T>(c, name);
  if (cn == "Rescaling") return make_rescaling<T>(c, name);
  return nullptr;
}

bool normalization_passes_mask(const std::string &class_name) {
  static const std::set<std::string> names = {"LayerNormalization", "BatchNormalization", "GroupNormalization",
                                              "UnitNormalization",  "Normalization",      "Rescaling"};
  return names.count(class_name) > 0;
}

template std::unique_ptr<Layer<float>> make_normalization_layer<float>(const std::string &, const KerasConfig &,
                                                                       const std::string &);
template std::unique_ptr<Layer<double>> make_normalization_layer<double>(const std::string &, const KerasConfig &,
                                                                         const std::string &);

}  // namespace rnnx::detail
