#pragma once
// Private parts of the Keras 3 config writer shared by keras_config_write.cpp (layers,
// cells, values) and keras_config_write_model.cpp (Sequential / Functional graphs).
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "core/keras_naming.h"
#include "rnnx/activations.h"
#include "rnnx/core/shape.h"
#include "rnnx/initializers.h"
#include "rnnx/layers/layer.h"
#include "rnnx/train/regularizers.h"

namespace rnnx {
template <class T>
class Model;
}  // namespace rnnx

namespace rnnx::detail::keras_write {

// Insertion-ordered, so files read like Keras' own.
using J = nlohmann::ordered_json;

template <class T>
const char* dtype_name() {
  return sizeof(T) == 8 ? "float64" : "float32";
}

template <class T>
J dtype_policy() {
  return J{{"module", "keras"},
           {"class_name", "DTypePolicy"},
           {"config", {{"name", dtype_name<T>()}}},
           {"registered_name", nullptr}};
}

// A shape as a Keras list (-1 -> null).
J shape_json(const Shape& s);
// {"input_shape": shape}, or null without a shape.
J build_config(const std::optional<Shape>& shape);
// A layer's Keras 3 entry {"module", "class_name", "config", "registered_name"
// [, "build_config"]}; ConfigError for what Keras 3 cannot express (save_model.h).
template <class T>
J layer_config_entry(const Layer<T>& layer, const std::optional<Shape>& build_shape);
// Keras 3 serialized values and the {"name", "trainable", "dtype"} head of a layer config,
// for the writers of other layer families (keras_config_write_<topic>.cpp).
J value_json(const Activation& a, const std::string& where, const std::string& key);
J value_json(const Initializer& i);
J value_json(const Regularizer& r);
J value_json(const Constraint& c);
template <class T>
J layer_head(const std::string& name);
// The keys a layer with a kernel and a bias (Conv1D, Conv2D, Conv3D) writes after its
// geometry, in Keras 3's order: activation, use_bias, kernel_ / bias_ initializer and
// regularizer, activity_regularizer, kernel_ / bias_ constraint. `where` names the layer.
template <class Options>
void add_kernel_and_bias(J& c, const Options& o, const std::string& where) {
  c["activation"] = value_json(o.activation, where, "activation");
  c["use_bias"] = o.use_bias;
  c["kernel_initializer"] = value_json(o.kernel_initializer);
  c["bias_initializer"] = value_json(o.bias_initializer);
  c["kernel_regularizer"] = value_json(o.kernel_regularizer);
  c["bias_regularizer"] = value_json(o.bias_regularizer);
  c["activity_regularizer"] = value_json(o.activity_regularizer);
  c["kernel_constraint"] = value_json(o.kernel_constraint);
  c["bias_constraint"] = value_json(o.bias_constraint);
}

// The config of a Conv1D-family layer (keras_config_write_conv.cpp), nullopt for others.
template <class T>
std::optional<J> conv1d_layer_config(const Layer<T>& layer);
// The same for Conv2D / Conv3D / 2-D and 3-D pooling (keras_config_write_conv2d.cpp).
template <class T>
std::optional<J> conv2d_layer_config(const Layer<T>& layer);
// The config of a normalisation / Normalization / Rescaling layer
// (keras_config_write_normalization.cpp), nullopt for others.
template <class T>
std::optional<J> normalization_layer_config(const Layer<T>& layer);
// The config of a plumbing / activation / noise layer (keras_config_write_plumbing.cpp:
// RepeatVector, Permute, Subtract, Multiply, Average, Maximum, Minimum, Dot, LeakyReLU, ELU,
// ReLU, PReLU, Softmax, SpatialDropout1D, GaussianNoise, GaussianDropout, AlphaDropout,
// ActivityRegularization), nullopt for others.
template <class T>
std::optional<J> plumbing_layer_config(const Layer<T>& layer);
// The config of a ConvLSTM1D / ConvLSTM2D layer (keras_config_write_conv_lstm.cpp), nullopt
// for others.
template <class T>
std::optional<J> conv_lstm_layer_config(const Layer<T>& layer);
// The config of an Attention / AdditiveAttention / MultiHeadAttention layer
// (keras_config_write_attention.cpp), nullopt for others.
template <class T>
std::optional<J> attention_layer_config(const Layer<T>& layer);
// An attention layer's call in a Keras 3 inbound node: `args` (built for positional inputs)
// is rewritten to Keras' call (MultiHeadAttention: query, value, key=, attention_mask=) and
// the call flags added to `kwargs`. Does nothing for other layers.
template <class T>
void attention_node_call(const Layer<T>& layer, J& args, J& kwargs);
// The build_config of an attention layer called on inputs of `shapes` (MultiHeadAttention:
// a shapes_dict), nullopt for other layers.
template <class T>
std::optional<J> attention_build_config(const Layer<T>& layer, const std::vector<Shape>& shapes);
// An InputLayer entry.
J input_layer_entry(const std::string& name, const Shape& shape, const std::string& dtype);
// The Keras 3 entry of a model used as a layer (a Sequential or Functional entry, as Keras 3
// nests it; keras_config_write_model.cpp). ConfigError as layer_config_entry, naming the model.
template <class T>
J nested_model_entry(const Model<T>& model);

}  // namespace rnnx::detail::keras_write
