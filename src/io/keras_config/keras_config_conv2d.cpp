// Keras configs of the 2-D / 3-D convolution and pooling layers (include/rnnx/layers/conv2d.h,
// conv3d.h, pooling2d.h): Conv2D, Conv3D, MaxPooling2D, AveragePooling2D, MaxPooling3D,
// AveragePooling3D, GlobalAveragePooling2D, GlobalMaxPooling2D, GlobalAveragePooling3D,
// GlobalMaxPooling3D (and their Keras aliases), as Keras 3 and tf_keras write them
// (kernel_size / strides / dilation_rate / pool_size as an int or a list).
#include "io/keras_config/keras_config_impl.h"
#include "rnnx/layers/conv2d.h"
#include "rnnx/layers/conv3d.h"
#include "rnnx/layers/pooling2d.h"

namespace rnnx::detail {
namespace {

// An int or a list of ints; absent or null gives `fallback`. The layer checks the count.
std::vector<int64_t> int_list(const KerasConfig &c, const std::string &key, std::vector<int64_t> fallback) {
  if (!c.has(key)) {
    c.ignore(key);
    return fallback;
  }
  if (c.json(key).front() != '[') return {c.get_int(key)};
  return c.get_int_list(key);
}

ConvOptions conv_options(const KerasConfig &c) {
  ConvOptions o;
  o.filters = c.get_int("filters");
  if (!c.has("kernel_size")) c.fail("kernel_size", "is required");
  o.kernel_size = int_list(c, "kernel_size", {});
  o.strides = int_list(c, "strides", {1});
  o.padding = padding_of(c);
  o.data_format = data_format_of(c);
  o.dilation_rate = int_list(c, "dilation_rate", {1});
  o.groups = c.get_int("groups", 1);
  read_kernel_and_bias(c, o);
  check_no_lora(c);
  return o;
}

PoolingOptions pooling_options(const KerasConfig &c) {
  PoolingOptions o;
  o.pool_size = int_list(c, "pool_size", {2});
  o.strides = int_list(c, "strides", {});
  o.padding = padding_of(c);
  o.data_format = data_format_of(c);
  return o;
}

GlobalPoolingOptions global_options(const KerasConfig &c) {
  GlobalPoolingOptions o;
  o.data_format = data_format_of(c);
  o.keepdims = c.get_bool("keepdims", false);
  return o;
}

}  // namespace

template <class T>
std::unique_ptr<Layer<T>> make_conv2d_layer(const std::string &cn, const KerasConfig &c, const std::string &name) {
  if (cn == "Conv2D" || cn == "Convolution2D") return std::make_unique<Conv2D<T>>(conv_options(c), name);
  if (cn == "Conv3D" || cn == "Convolution3D") return std::make_unique<Conv3D<T>>(conv_options(c), name);
  if (cn == "MaxPooling2D" || cn == "MaxPool2D") return std::make_unique<MaxPooling2D<T>>(pooling_options(c), name);
  if (cn == "AveragePooling2D" || cn == "AvgPool2D")
    return std::make_unique<AveragePooling2D<T>>(pooling_options(c), name);
  if (cn == "MaxPooling3D" || cn == "MaxPool3D") return std::make_unique<MaxPooling3D<T>>(pooling_options(c), name);
  if (cn == "AveragePooling3D" || cn == "AvgPool3D")
    return std::make_unique<AveragePooling3D<T>>(pooling_options(c), name);
  if (cn == "GlobalAveragePooling2D" || cn == "GlobalAvgPool2D")
    return std::make_unique<GlobalAveragePooling2D<T>>(global_options(c), name);
  if (cn == "GlobalMaxPooling2D" || cn == "GlobalMaxPool2D")
    return std::make_unique<GlobalMaxPooling2D<T>>(global_options(c), name);
  if (cn == "GlobalAveragePooling3D" || cn == "GlobalAvgPool3D")
    return std::make_unique<GlobalAveragePooling3D<T>>(global_options(c), name);
  if (cn == "GlobalMaxPooling3D" || cn == "GlobalMaxPool3D")
    return std::make_unique<GlobalMaxPooling3D<T>>(global_options(c), name);
  return nullptr;
}

template std::unique_ptr<Layer<float>> make_conv2d_layer<float>(const std::string &, const KerasConfig &,
                                                                const std::string &);
template std::unique_ptr<Layer<double>> make_conv2d_layer<double>(const std::string &, const KerasConfig &,
                                                                  const std::string &);

}  // namespace rnnx::detail
