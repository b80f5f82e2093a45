// Keras 3 configs of the 1-D convolution and pooling layers: the inverse of
// keras_config_conv.cpp, keys in the order Keras 3.15 get_config() writes them.
#include "io/keras_config_write/keras_config_write_impl.h"
#include "rnnx/layers/conv1d.h"
#include "rnnx/layers/padding1d.h"
#include "rnnx/layers/pooling1d.h"

namespace rnnx::detail::keras_write {
namespace {

J one(int64_t v) { return J::array({v}); }

// The geometry keys after "filters" / "depth_multiplier" (Keras' order).
void add_geometry(J &c, const Conv1DGeometryOptions &o) {
  c["kernel_size"] = one(o.kernel_size);
  c["strides"] = one(o.strides);
  c["padding"] = o.padding;
  c["data_format"] = o.data_format;
  c["dilation_rate"] = one(o.dilation_rate);
}

}  // namespace

template <class T>
std::optional<J> conv1d_layer_config(const Layer<T> &layer) {
  const std::string where = layer.class_name() + " '" + layer.name() + "'";
  J c = layer_head<T>(layer.name());
  if (auto *conv = dynamic_cast<const Conv1D<T> *>(&layer)) {
    const Conv1DOptions &o = conv->options();
    c["filters"] = o.filters;
    add_geometry(c, o);
    c["groups"] = o.groups;
    add_kernel_and_bias(c, o, where);
  } else if (auto *dw = dynamic_cast<const DepthwiseConv1D<T> *>(&layer)) {
    const DepthwiseConv1DOptions &o = dw->options();
    c["depth_multiplier"] = o.depth_multiplier;
    add_geometry(c, o);
    c["activation"] = value_json(o.activation, where, "activation");
    c["use_bias"] = o.use_bias;
    c["depthwise_initializer"] = value_json(o.depthwise_initializer);
    c["bias_initializer"] = value_json(o.bias_initializer);
    c["depthwise_regularizer"] = value_json(o.depthwise_regularizer);
    c["bias_regularizer"] = value_json(o.bias_regularizer);
    c["activity_regularizer"] = value_json(o.activity_regularizer);
    c["depthwise_constraint"] = value_json(o.depthwise_constraint);
    c["bias_constraint"] = value_json(o.bias_constraint);
  } else if (auto *sep = dynamic_cast<const SeparableConv1D<T> *>(&layer)) {
    const SeparableConv1DOptions &o = sep->options();
    c["depth_multiplier"] = o.depth_multiplier;
    c["filters"] = o.filters;
    add_geometry(c, o);
    c["activation"] = value_json(o.activation, where, "activation");
    c["use_bias"] = o.use_bias;
    c["depthwise_initializer"] = value_json(o.depthwise_initializer);
    c["pointwise_initializer"] = value_json(o.pointwise_initializer);
    c["bias_initializer"] = value_json(o.bias_initializer);
    c["depthwise_regularizer"] = value_json(o.depthwise_regularizer);
    c["pointwise_regularizer"] = value_json(o.pointwise_regularizer);
    c["bias_regularizer"] = value_json(o.bias_regularizer);
    c["activity_regularizer"] = value_json(o.activity_regularizer);
    c["depthwise_constraint"] = value_json(o.depthwise_constraint);
    c["pointwise_constraint"] = value_json(o.pointwise_constraint);
    c["bias_constraint"] = value_json(o.bias_constraint);
  } else if (auto *p = dynamic_cast<const Pooling1D<T> *>(&layer)) {
    const Pooling1DOptions &o = p->options();
    c["pool_size"] = one(o.pool_size);
    c["padding"] = o.padding;
    c["strides"] = one(p->stride());
    c["data_format"] = o.data_format;
  } else if (auto *up = dynamic_cast<const UpSampling1D<T> *>(&layer)) {
    c["size"] = up->size();
  } else if (auto *zp = dynamic_cast<const ZeroPadding1D<T> *>(&layer)) {
    c["padding"] = J::array({zp->left(), zp->right()});
    c["data_format"] = zp->data_format();
  } else if (auto *cr = dynamic_cast<const Cropping1D<T> *>(&layer)) {
    c["cropping"] = J::array({cr->left(), cr->right()});
  } else {
    return std::nullopt;
  }
  return c;
}

template std::optional<J> conv1d_layer_config<float>(const Layer<float> &);
template std::optional<J> conv1d_layer_config<double>(const Layer<double> &);

}  // namespace rnnx::detail::keras_write
