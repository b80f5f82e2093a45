// Keras 3 configs of ConvLSTM1D / ConvLSTM2D: the inverse of keras_config_conv_lstm.cpp,
// keys in the order Keras 3.15 get_config() writes them (the RNN base config, then the
// cell's arguments).
#include "io/keras_config_write/keras_config_write_impl.h"
#include "rnnx/layers/conv_lstm.h"

namespace rnnx::detail::keras_write {

template <class T>
std::optional<J> conv_lstm_layer_config(const Layer<T>& layer) {
  auto* l = dynamic_cast<const ConvLSTM<T>*>(&layer);
  if (l == nullptr) return std::nullopt;
  const std::string where = layer.class_name() + " '" + layer.name() + "'";
  const ConvLSTMOptions o = l->options();
  J c = layer_head<T>(layer.name());
  c["return_sequences"] = o.return_sequences;
  c["return_state"] = o.return_state;
  c["go_backwards"] = o.go_backwards;
  c["stateful"] = o.stateful;
  c["unroll"] = o.unroll;
  c["zero_output_for_mask"] = o.zero_output_for_mask;
  c["filters"] = o.filters;
  c["kernel_size"] = o.kernel_size;
  c["strides"] = o.strides;
  c["padding"] = o.padding;
  c["data_format"] = o.data_format;
  c["dilation_rate"] = o.dilation_rate;
  c["activation"] = value_json(o.activation, where, "activation");
  c["recurrent_activation"] = value_json(o.recurrent_activation, where, "recurrent_activation");
  c["use_bias"] = o.use_bias;
  c["kernel_initializer"] = value_json(o.kernel_initializer);
  c["recurrent_initializer"] = value_json(o.recurrent_initializer);
  c["bias_initializer"] = value_json(o.bias_initializer);
  c["unit_forget_bias"] = o.unit_forget_bias;
  c["kernel_regularizer"] = value_json(o.kernel_regularizer);
  c["recurrent_regularizer"] = value_json(o.recurrent_regularizer);
  c["bias_regularizer"] = value_json(o.bias_regularizer);
  c["activity_regularizer"] = value_json(o.activity_regularizer);
  c["kernel_constraint"] = value_json(o.kernel_constraint);
  c["recurrent_constraint"] = value_json(o.recurrent_constraint);
  c["bias_constraint"] = value_json(o.bias_constraint);
  c["dropout"] = o.dropout;
  c["recurrent_dropout"] = o.recurrent_dropout;
  c["seed"] = o.seed ? J(*o.seed) : J(nullptr);
  return c;
}

template std::optional<J> conv_lstm_layer_config<float>(const Layer<float>&);
template std::optional<J> conv_lstm_layer_config<double>(const Layer<double>&);

}  // namespace rnnx::detail::keras_write
