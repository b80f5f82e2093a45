// Keras configs of the sequence plumbing, activation and regularisation layers
// (issue 9): RepeatVector, Permute, Subtract / Multiply / Average / Maximum /
// Minimum, Dot, LeakyReLU, PReLU, ELU, ReLU, Softmax, SpatialDropout1D,
// GaussianNoise, GaussianDropout, AlphaDropout, ActivityRegularization; and the
// refusal of Lambda. Keys and defaults follow K3 get_config()
// (keras/src/layers/...) and tf_keras' (LeakyReLU `alpha`, ELU `alpha`).
#include "io/keras_config/keras_config_impl.h"
#include "rnnx/core/error.h"
#include "rnnx/layers/activation_layers.h"
#include "rnnx/layers/merge_ops.h"
#include "rnnx/layers/noise.h"
#include "rnnx/layers/repeat_vector.h"

namespace rnnx::detail {
namespace {

// A value written either as an integer or as a list of integers (Dot axes,
// Softmax axis).
std::vector<int64_t> int_or_list(const KerasConfig &c, const std::string &key, int64_t fallback) {
  if (!c.has(key)) {
    c.ignore(key);
    return {fallback};
  }
  if (c.json(key).front() == '[') return c.get_int_list(key);
  return {c.get_int(key)};
}

void apply_seed(const KerasConfig &c, Layer<float> &layer) {
  if (const auto s = c.get_optional_int("seed")) layer.set_seed(static_cast<uint64_t>(*s));
}
void apply_seed(const KerasConfig &c, Layer<double> &layer) {
  if (const auto s = c.get_optional_int("seed")) layer.set_seed(static_cast<uint64_t>(*s));
}

}  // namespace

template <class T>
std::unique_ptr<Layer<T>> make_plumbing_layer(const std::string &cn, const KerasConfig &c, const std::string &name) {
  if (cn == "Lambda")
    throw ConfigError(c.where() +
                      ": a Lambda layer holds Python code (its `function`), "
                      "which rnnx cannot run; rebuild the "
                      "model without it (e.g. with built-in layers such as "
                      "RepeatVector, Permute, Multiply, Dot or "
                      "Softmax) or register a C++ layer class under the name "
                      "'Lambda' (register_keras_layer)");
  if (cn == "RepeatVector") return std::make_unique<RepeatVector<T>>(RepeatVectorOptions{c.get_int("n")}, name);
  if (cn == "Permute") return std::make_unique<Permute<T>>(PermuteOptions{c.get_int_list("dims")}, name);
  if (cn == "Subtract") return std::make_unique<Subtract<T>>(name);
  if (cn == "Multiply") return std::make_unique<Multiply<T>>(name);
  if (cn == "Average") return std::make_unique<Average<T>>(name);
  if (cn == "Maximum") return std::make_unique<Maximum<T>>(name);
  if (cn == "Minimum") return std::make_unique<Minimum<T>>(name);
  if (cn == "Dot") {
    DotOptions o;
    if (!c.has("axes")) c.fail("axes", "is required");
    o.axes = int_or_list(c, "axes", -1);
    if (o.axes.size() != 1 && o.axes.size() != 2)
      c.fail("axes", "must be an integer or a list of two, got " + c.json("axes"));
    o.normalize = c.get_bool("normalize", false);
    return std::make_unique<Dot<T>>(o, name);
  }
  if (cn == "LeakyReLU") {
    // Keras 3 writes negative_slope; tf_keras and Keras 2 write alpha (both
    // default 0.3).
    double slope = c.get_double("negative_slope", 0.3);
    if (c.has("alpha")) slope = c.get_double("alpha");
    if (slope < 0) c.fail("negative_slope", "must be >= 0, got " + std::to_string(slope));
    return std::make_unique<LeakyReLU<T>>(slope, name);
  }
  if (cn == "ELU") return std::make_unique<ELU<T>>(c.get_double("alpha", 1.0), name);
  if (cn == "ReLU") {
    ReLUOptions o;
    o.max_value = c.get_optional_double("max_value");
    o.negative_slope = c.get_double("negative_slope", 0.0);
    o.threshold = c.get_double("threshold", 0.0);
    if (o.max_value && *o.max_value < 0) c.fail("max_value", "must be >= 0, got " + c.json("max_value"));
    if (o.negative_slope < 0) c.fail("negative_slope", "must be >= 0, got " + c.json("negative_slope"));
    if (o.threshold < 0) c.fail("threshold", "must be >= 0, got " + c.json("threshold"));
    return std::make_unique<ReLU<T>>(o, name);
  }
  if (cn == "PReLU") {
    PReLUOptions o;
    o.alpha_initializer = c.get_initializer("alpha_initializer", Initializer::from_name("zeros"));
    o.alpha_regularizer = c.get_regularizer("alpha_regularizer");
    o.alpha_constraint = c.get_constraint("alpha_constraint");
    if (c.has("shared_axes")) o.shared_axes = int_or_list(c, "shared_axes", 0);
    c.ignore("shared_axes");
    for (int64_t a : o.shared_axes)
      if (a < 1) c.fail("shared_axes", "must list non-batch axes counted from 1, got " + c.json("shared_axes"));
    return std::make_unique<PReLU<T>>(o, name);
  }
  if (cn == "Softmax") {
    const std::vector<int64_t> axis = int_or_list(c, "axis", -1);
    if (axis.size() != 1)
      c.fail("axis", "= " + c.json("axis") +
                         " (a softmax over several axes) is not supported by "
                         "rnnx; use one axis");
    return std::make_unique<Softmax<T>>(axis[0], name);
  }
  if (cn == "SpatialDropout1D") {
    const double rate = c.get_double("rate");
    if (!(rate >= 0 && rate <= 1)) c.fail("rate", "must be in [0, 1], got " + c.json("rate"));
    auto layer = std::make_unique<SpatialDropout1D<T>>(rate, name);
    apply_seed(c, *layer);
    return layer;
  }
  if (cn == "GaussianNoise" || cn == "GaussianDropout" || cn == "AlphaDropout") {
    const std::string key = cn == "GaussianNoise" ? "stddev" : "rate";
    const double rate = c.get_double(key);
    if (!(rate >= 0 && rate <= 1)) c.fail(key, "must be in [0, 1], got " + c.json(key));
    std::unique_ptr<NoiseLayer<T>> layer;
    if (cn == "GaussianNoise") {
      layer = std::make_unique<GaussianNoise<T>>(rate, name);
    } else if (cn == "GaussianDropout") {
      layer = std::make_unique<GaussianDropout<T>>(rate, name);
    } else {
      std::vector<int64_t> noise_shape;
      if (c.has("noise_shape")) noise_shape = c.get_int_list("noise_shape");
      c.ignore("noise_shape");
      layer = std::make_unique<AlphaDropout<T>>(rate, noise_shape, name);
    }
    apply_seed(c, *layer);
    return layer;
  }
  if (cn == "ActivityRegularization") {
    const double l1 = c.get_double("l1", 0.0), l2 = c.get_double("l2", 0.0);
    if (l1 < 0 || l2 < 0) c.fail("l1", "and l2 must be >= 0, got " + c.json("l1") + " and " + c.json("l2"));
    c.ignore("activity_regularizer");  // the layer's own L1L2(l1, l2) where a
                                       // writer kept it
    return std::make_unique<ActivityRegularization<T>>(l1, l2, name);
  }
  return nullptr;
}

bool passes_mask_through(const std::string &class_name) {
  static const std::set<std::string> names = {"LeakyReLU",     "PReLU",
                                              "ELU",           "ReLU",
                                              "Softmax",       "SpatialDropout1D",
                                              "GaussianNoise", "GaussianDropout",
                                              "AlphaDropout",  "ActivityRegularization"};
  return names.count(class_name) > 0;
}

bool ors_input_masks(const std::string &class_name) {
  static const std::set<std::string> names = {"Add", "Subtract", "Multiply", "Average", "Maximum", "Minimum"};
  return names.count(class_name) > 0;
}

template std::unique_ptr<Layer<float>> make_plumbing_layer<float>(const std::string &, const KerasConfig &,
                                                                  const std::string &);
template std::unique_ptr<Layer<double>> make_plumbing_layer<double>(const std::string &, const KerasConfig &,
                                                                    const std::string &);

}  // namespace rnnx::detail
