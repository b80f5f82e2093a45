// Keras configs of the 1-D convolution and pooling layers
// (include/rnnx/layers/conv1d.h, pooling1d.h, padding1d.h): Conv1D,
// SeparableConv1D, DepthwiseConv1D, MaxPooling1D, AveragePooling1D,
// UpSampling1D, ZeroPadding1D, Cropping1D, as Keras 3 and tf_keras write them
// (kernel_size / strides / dilation_rate / pool_size as an int or a one-element
// list).
#include "io/keras_config/keras_config_impl.h"
#include "rnnx/layers/conv1d.h"
#include "rnnx/layers/padding1d.h"
#include "rnnx/layers/pooling1d.h"

namespace rnnx::detail {
namespace {

// An int, or a list of exactly one int (Keras' standardize_tuple for rank 1);
// absent or null gives `fallback`.
int64_t one_int(const KerasConfig &c, const std::string &key, int64_t fallback) {
  if (!c.has(key)) {
    c.ignore(key);
    return fallback;
  }
  if (c.json(key).front() != '[') return c.get_int(key);
  const std::vector<int64_t> v = c.get_int_list(key);
  if (v.size() != 1) c.fail(key, "must be an integer or a list of 1 integer, got " + c.json(key));
  return v[0];
}

// An int n (meaning (n, n)) or a list of 2 ints: ZeroPadding1D padding,
// Cropping1D cropping.
std::pair<int64_t, int64_t> int_pair(const KerasConfig &c, const std::string &key, int64_t fallback) {
  if (!c.has(key)) {
    c.ignore(key);
    return {fallback, fallback};
  }
  if (c.json(key).front() != '[') {
    const int64_t n = c.get_int(key);
    return {n, n};
  }
  const std::vector<int64_t> v = c.get_int_list(key);
  if (v.size() != 2) c.fail(key, "must be an integer or a list of 2 integers, got " + c.json(key));
  return {v[0], v[1]};
}

void read_geometry(const KerasConfig &c, Conv1DGeometryOptions &o) {
  o.kernel_size = one_int(c, "kernel_size", 0);
  if (o.kernel_size == 0 && !c.has("kernel_size")) c.fail("kernel_size", "is required");
  o.strides = one_int(c, "strides", 1);
  o.padding = padding_of(c);
  o.data_format = data_format_of(c);
  o.dilation_rate = one_int(c, "dilation_rate", 1);
}

Initializer init_named(const std::string &name) { return Initializer::from_name(name); }

// tf_keras' SeparableConv1D / DepthwiseConv1D derive from its Conv1D and write
// its keys too: groups (always 1), the unused kernel_* settings, and
// DepthwiseConv1D's filters (null).
void accept_tf_keras_conv_keys(const KerasConfig &c, bool depthwise) {
  if (c.get_int("groups", 1) != 1) c.fail("groups", "must be 1 for " + c.class_name() + ", got " + c.json("groups"));
  for (const char *k : {"kernel_initializer", "kernel_regularizer", "kernel_constraint"}) c.ignore(k);
  if (depthwise && c.has("filters")) c.fail("filters", "is not an argument of DepthwiseConv1D");
  c.ignore("filters");
}

// The settings DepthwiseConv1D and SeparableConv1D share: activation, use_bias, the
// depthwise_ / bias_ initializer, regularizer and constraint, and activity_regularizer.
template <class Options>
void read_depthwise_and_bias(const KerasConfig &c, Options &o) {
  o.activation = c.get_activation("activation", Activation{});
  o.use_bias = c.get_bool("use_bias", true);
  o.depthwise_initializer = c.get_initializer("depthwise_initializer", init_named("glorot_uniform"));
  o.bias_initializer = c.get_initializer("bias_initializer", init_named("zeros"));
  o.depthwise_regularizer = c.get_regularizer("depthwise_regularizer");
  o.bias_regularizer = c.get_regularizer("bias_regularizer");
  o.activity_regularizer = c.get_regularizer("activity_regularizer");
  o.depthwise_constraint = c.get_constraint("depthwise_constraint");
  o.bias_constraint = c.get_constraint("bias_constraint");
}

Pooling1DOptions pooling_options(const KerasConfig &c) {
  Pooling1DOptions o;
  o.pool_size = one_int(c, "pool_size", 2);
  o.strides = one_int(c, "strides", -1);
  o.padding = padding_of(c);
  o.data_format = data_format_of(c);
  return o;
}

}  // namespace

template <class T>
std::unique_ptr<Layer<T>> make_conv1d_layer(const std::string &cn, const KerasConfig &c, const std::string &name) {
  if (cn == "Conv1D" || cn == "Convolution1D") {
    Conv1DOptions o;
    read_geometry(c, o);
    o.filters = c.get_int("filters");
    o.groups = c.get_int("groups", 1);
    read_kernel_and_bias(c, o);
    check_no_lora(c);
    return std::make_unique<Conv1D<T>>(o, name);
  }
  if (cn == "DepthwiseConv1D") {
    DepthwiseConv1DOptions o;
    read_geometry(c, o);
    o.depth_multiplier = c.get_int("depth_multiplier", 1);
    accept_tf_keras_conv_keys(c, true);
    read_depthwise_and_bias(c, o);
    return std::make_unique<DepthwiseConv1D<T>>(o, name);
  }
  if (cn == "SeparableConv1D" || cn == "SeparableConvolution1D") {
    SeparableConv1DOptions o;
    read_geometry(c, o);
    o.depth_multiplier = c.get_int("depth_multiplier", 1);
    o.filters = c.get_int("filters");
    accept_tf_keras_conv_keys(c, false);
    read_depthwise_and_bias(c, o);
    o.pointwise_initializer = c.get_initializer("pointwise_initializer", init_named("glorot_uniform"));
    o.pointwise_regularizer = c.get_regularizer("pointwise_regularizer");
    o.pointwise_constraint = c.get_constraint("pointwise_constraint");
    return std::make_unique<SeparableConv1D<T>>(o, name);
  }
  if (cn == "MaxPooling1D" || cn == "MaxPool1D") return std::make_unique<MaxPooling1D<T>>(pooling_options(c), name);
  if (cn == "AveragePooling1D" || cn == "AvgPool1D")
    return std::make_unique<AveragePooling1D<T>>(pooling_options(c), name);
  if (cn == "UpSampling1D") return std::make_unique<UpSampling1D<T>>(c.get_int("size", 2), name);
  if (cn == "ZeroPadding1D") {
    const auto [left, right] = int_pair(c, "padding", 1);
    return std::make_unique<ZeroPadding1D<T>>(left, right, data_format_of(c), name);
  }
  if (cn == "Cropping1D") {
    const auto [left, right] = int_pair(c, "cropping", 1);
    return std::make_unique<Cropping1D<T>>(left, right, name);
  }
  return nullptr;
}

template std::unique_ptr<Layer<float>> make_conv1d_layer<float>(const std::string &, const KerasConfig &,
                                                                const std::string &);
template std::unique_ptr<Layer<double>> make_conv1d_layer<double>(const std::string &, const KerasConfig &,
                                                                  const std::string &);

}  // namespace rnnx::detail
