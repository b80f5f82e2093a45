// Keras configs of ConvLSTM1D / ConvLSTM2D (include/rnnx/layers/conv_lstm.h), as Keras 3
// and tf_keras write them: kernel_size / strides / dilation_rate as an int or a list of
// `rank` ints, the ConvLSTMCell arguments and the RNN layer's.
#include <algorithm>
#include <cctype>

#include "io/keras_config/keras_config_impl.h"
#include "rnnx/layers/conv_lstm.h"

namespace rnnx::detail {
namespace {

// An int n (meaning n on every axis) or a list of `rank` ints; absent or null gives
// `fallback` on every axis (an empty list when fallback is 0).
std::vector<int64_t> int_tuple(const KerasConfig& c, const std::string& key, int rank, int64_t fallback) {
  if (!c.has(key)) {
    c.ignore(key);
    return fallback == 0 ? std::vector<int64_t>{} : std::vector<int64_t>(static_cast<size_t>(rank), fallback);
  }
  if (c.json(key).front() != '[') return std::vector<int64_t>(static_cast<size_t>(rank), c.get_int(key));
  std::vector<int64_t> v = c.get_int_list(key);
  if (static_cast<int>(v.size()) != rank)
    c.fail(key, "must be an integer or a list of " + std::to_string(rank) + " integers, got " + c.json(key));
  return v;
}

double rate_of(const KerasConfig& c, const std::string& key) {
  return std::clamp(c.get_double(key, 0.0), 0.0, 1.0);  // Keras clips rates to [0, 1]
}

ConvLSTMOptions conv_lstm_options(const KerasConfig& c, int rank) {
  ConvLSTMOptions o;
  o.rank = rank;
  o.filters = c.get_int("filters");
  if (!c.has("kernel_size")) c.fail("kernel_size", "is required");
  o.kernel_size = int_tuple(c, "kernel_size", rank, 0);
  o.strides = int_tuple(c, "strides", rank, 1);
  std::string p = c.get_string("padding", "valid");
  for (char& ch : p) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  o.padding = p;
  o.data_format = c.has("data_format") ? c.get_string("data_format") : "channels_last";
  c.ignore("data_format");
  o.dilation_rate = int_tuple(c, "dilation_rate", rank, 1);
  o.activation = c.get_activation("activation", Activation::from_name("tanh", c.version().major));
  o.recurrent_activation =
      c.get_activation("recurrent_activation",
                       Activation::from_name(c.version().major >= 3 ? "sigmoid" : "hard_sigmoid", c.version().major));
  o.use_bias = c.get_bool("use_bias", true);
  o.kernel_initializer = c.get_initializer("kernel_initializer", Initializer::from_name("glorot_uniform"));
  o.recurrent_initializer = c.get_initializer("recurrent_initializer", Initializer::from_name("orthogonal"));
  o.bias_initializer = c.get_initializer("bias_initializer", Initializer::from_name("zeros"));
  o.unit_forget_bias = c.get_bool("unit_forget_bias", true);
  o.kernel_regularizer = c.get_regularizer("kernel_regularizer");
  o.recurrent_regularizer = c.get_regularizer("recurrent_regularizer");
  o.bias_regularizer = c.get_regularizer("bias_regularizer");
  o.kernel_constraint = c.get_constraint("kernel_constraint");
  o.recurrent_constraint = c.get_constraint("recurrent_constraint");
  o.bias_constraint = c.get_constraint("bias_constraint");
  o.dropout = rate_of(c, "dropout");
  o.recurrent_dropout = rate_of(c, "recurrent_dropout");
  if (const auto s = c.get_optional_int("seed")) o.seed = static_cast<uint64_t>(*s);
  // The RNN layer's arguments (Keras passes **kwargs on to RNN).
  o.return_sequences = c.get_bool("return_sequences", false);
  o.return_state = c.get_bool("return_state", false);
  o.go_backwards = c.get_bool("go_backwards", false);
  o.stateful = c.get_bool("stateful", false);
  o.unroll = c.get_bool("unroll", false);
  o.zero_output_for_mask = c.get_bool("zero_output_for_mask", false);
  // tf_keras' RNN base writes time_major (false unless set); rnnx's ConvLSTM is batch-major
  // only. Keras 3 has no such argument: the key stays unused and is refused as unknown.
  if (c.version().tf_keras && c.get_bool("time_major", false))
    c.fail("time_major", "= true is not supported by rnnx on " + c.class_name() + " (batch-major inputs only)");
  o.activity_regularizer = c.get_regularizer("activity_regularizer");
  return o;
}

}  // namespace

template <class T>
std::unique_ptr<Layer<T>> make_conv_lstm_layer(const std::string& cn, const KerasConfig& c, const std::string& name) {
  if (cn != "ConvLSTM1D" && cn != "ConvLSTM2D") return nullptr;
  ConvLSTMOptions o = conv_lstm_options(c, cn == "ConvLSTM1D" ? 1 : 2);
  ConvLSTMCell<T>::validate(o, c.where());
  return std::make_unique<ConvLSTM<T>>(o, name);
}

template std::unique_ptr<Layer<float>> make_conv_lstm_layer<float>(const std::string&, const KerasConfig&,
                                                                   const std::string&);
template std::unique_ptr<Layer<double>> make_conv_lstm_layer<double>(const std::string&, const KerasConfig&,
                                                                     const std::string&);

}  // namespace rnnx::detail
