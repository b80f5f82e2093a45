// Keras 3 configs of the 2-D / 3-D convolution and pooling layers: the inverse of
// keras_config_conv2d.cpp, keys in the order Keras 3.15 get_config() writes them.
#include "io/keras_config_write/keras_config_write_impl.h"
#include "rnnx/layers/conv2d.h"
#include "rnnx/layers/pooling2d.h"

namespace rnnx::detail::keras_write {

template <class T>
std::optional<J> conv2d_layer_config(const Layer<T> &layer) {
  const std::string where = layer.class_name() + " '" + layer.name() + "'";
  J c = layer_head<T>(layer.name());
  if (auto *conv = dynamic_cast<const ConvND<T> *>(&layer)) {
    const ConvOptions &o = conv->options();
    c["filters"] = o.filters;
    c["kernel_size"] = o.kernel_size;
    c["strides"] = o.strides;
    c["padding"] = o.padding;
    c["data_format"] = o.data_format;
    c["dilation_rate"] = o.dilation_rate;
    c["groups"] = o.groups;
    add_kernel_and_bias(c, o, where);
  } else if (auto *p = dynamic_cast<const PoolingND<T> *>(&layer)) {
    const PoolingOptions &o = p->options();
    c["pool_size"] = o.pool_size;
    c["padding"] = o.padding;
    c["strides"] = o.strides;
    c["data_format"] = o.data_format;
  } else if (auto *g = dynamic_cast<const GlobalPoolingND<T> *>(&layer)) {
    c["data_format"] = g->options().data_format;
    c["keepdims"] = g->options().keepdims;
  } else {
    return std::nullopt;
  }
  return c;
}

template std::optional<J> conv2d_layer_config<float>(const Layer<float> &);
template std::optional<J> conv2d_layer_config<double>(const Layer<double> &);

}  // namespace rnnx::detail::keras_write
