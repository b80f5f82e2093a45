#pragma once
// Private parts of the Keras config loader shared by keras_config*.cpp: the JSON behind a
// KerasConfig, and the built-in factories.
#include <cctype>
#include <map>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <set>
#include <string>

#include "rnnx/io/keras_config.h"

namespace rnnx {

using Json = nlohmann::json;

struct KerasConfig::Impl {
  std::shared_ptr<const Json> doc;  // keeps the whole document alive
  const Json* entry = nullptr;      // {"class_name", "config", ...}
  const Json* config = nullptr;     // entry["config"], an object
  std::string class_name;
  KerasVersion version;
  std::set<std::string> used;
};

namespace detail {

// Deepest nesting of arrays and objects accepted in a Keras config (real configs nest about
// 15 levels; the limit keeps the recursive walks and error-message dumps off the stack's end).
inline constexpr int kMaxJsonDepth = 128;

// Parses JSON text nested at most kMaxJsonDepth levels. Returns a discarded value on a
// syntax error or deeper nesting, with `problem` saying which.
Json parse_json_bounded(const std::string& text, std::string& problem);

// Parses JSON text; ConfigError (naming `what`) on a syntax error or nesting deeper than
// kMaxJsonDepth.
std::shared_ptr<const Json> parse_json(const std::string& text, const std::string& what);

// A KerasConfig over `entry` (an object with "class_name" and "config"), which must live
// inside `doc`. ConfigError if the entry is malformed; `context` prefixes that error.
KerasConfig make_config(std::shared_ptr<const Json> doc, const Json& entry, const KerasVersion& version,
                        const std::string& context);

// Harmless metadata keys accepted in every config.
bool is_harmless_key(const std::string& key);

// ---- Readers of settings several layer families share.

// `padding`, lowercased as Keras does ("valid" when absent).
inline std::string padding_of(const KerasConfig& c) {
  std::string p = c.get_string("padding", "valid");
  for (char& ch : p) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  return p;
}

// `data_format`; absent or null means the backend default, channels_last.
inline std::string data_format_of(const KerasConfig& c) {
  const std::string d = c.has("data_format") ? c.get_string("data_format") : "channels_last";
  c.ignore("data_format");
  return d;
}

// Keras 3 Dense, Embedding and conv layers can carry LoRA settings; rnnx has no LoRA.
inline void check_no_lora(const KerasConfig& c) {
  if (c.get_int("lora_rank", 0) != 0) c.fail("lora_rank", "(LoRA) is not supported by rnnx");
  c.ignore("lora_alpha");
}

// The settings of a layer with a kernel and a bias (Dense, Conv1D, Conv2D, Conv3D):
// activation (linear), use_bias (true), kernel_ / bias_ initializer (glorot_uniform /
// zeros), regularizer and constraint, and activity_regularizer.
template <class Options>
void read_kernel_and_bias(const KerasConfig& c, Options& o) {
  o.activation = c.get_activation("activation", Activation{});
  o.use_bias = c.get_bool("use_bias", true);
  o.kernel_initializer = c.get_initializer("kernel_initializer", Initializer::from_name("glorot_uniform"));
  o.bias_initializer = c.get_initializer("bias_initializer", Initializer::from_name("zeros"));
  o.kernel_regularizer = c.get_regularizer("kernel_regularizer");
  o.bias_regularizer = c.get_regularizer("bias_regularizer");
  o.activity_regularizer = c.get_regularizer("activity_regularizer");
  o.kernel_constraint = c.get_constraint("kernel_constraint");
  o.bias_constraint = c.get_constraint("bias_constraint");
}

// Builders for built-in classes (keras_config_layers.cpp). They return null when the class
// is not a built-in of that kind.
template <class T>
std::unique_ptr<Layer<T>> builtin_layer(const KerasConfig& c);
template <class T>
std::unique_ptr<Cell<T>> builtin_cell(const KerasConfig& c);
bool is_builtin_cell_class(const std::string& class_name);
// Conv1D, SeparableConv1D, DepthwiseConv1D, MaxPooling1D, AveragePooling1D, UpSampling1D,
// ZeroPadding1D, Cropping1D (keras_config_conv.cpp); null for other classes.
template <class T>
std::unique_ptr<Layer<T>> make_conv1d_layer(const std::string& class_name, const KerasConfig& c,
                                            const std::string& name);
// Conv2D, Conv3D, Max/AveragePooling2D/3D, GlobalAverage/MaxPooling2D/3D (keras_config_conv2d.cpp).
template <class T>
std::unique_ptr<Layer<T>> make_conv2d_layer(const std::string& class_name, const KerasConfig& c,
                                            const std::string& name);
// LayerNormalization, BatchNormalization, GroupNormalization, UnitNormalization,
// Normalization, Rescaling (keras_config_normalization.cpp); null for other classes.
template <class T>
std::unique_ptr<Layer<T>> make_normalization_layer(const std::string& class_name, const KerasConfig& c,
                                                   const std::string& name);
// RepeatVector, Permute, Subtract, Multiply, Average, Maximum, Minimum, Dot, LeakyReLU, PReLU,
// ELU, ReLU, Softmax, SpatialDropout1D, GaussianNoise, GaussianDropout, AlphaDropout,
// ActivityRegularization; ConfigError for Lambda (keras_config_plumbing.cpp); null otherwise.
template <class T>
std::unique_ptr<Layer<T>> make_plumbing_layer(const std::string& class_name, const KerasConfig& c,
                                              const std::string& name);
// ConvLSTM1D, ConvLSTM2D (keras_config_conv_lstm.cpp); null for other classes.
template <class T>
std::unique_ptr<Layer<T>> make_conv_lstm_layer(const std::string& class_name, const KerasConfig& c,
                                               const std::string& name);
// Attention, AdditiveAttention, MultiHeadAttention (keras_config_attention.cpp); null otherwise.
template <class T>
std::unique_ptr<Layer<T>> make_attention_layer(const std::string& class_name, const KerasConfig& c,
                                               const std::string& name);
// Sets the Keras call argument `key` (use_causal_mask / return_attention_scores) on an
// attention layer; false for other layers. The attention classes pass their query's mask on.
template <class T>
bool set_attention_call_flag(Layer<T>& layer, const std::string& key, bool value);
bool is_attention_class(const std::string& class_name);
// Classes of keras_config_plumbing.cpp whose output carries the input's mask unchanged
// (activation and noise layers), and the merge classes whose output mask is the OR of their
// inputs' masks when every input has one (Add, Subtract, Multiply, Average, Maximum,
// Minimum); used to check the masks Keras 3 records in a functional config.
bool passes_mask_through(const std::string& class_name);
bool ors_input_masks(const std::string& class_name);
// The normalisation / preprocessing classes, which pass their input's mask on
// (keras_config_normalization.cpp).
bool normalization_passes_mask(const std::string& class_name);
// The batch shape of an InputLayer config (batch_shape / batch_input_shape), after checking
// its other keys (sparse, ragged, optional, dtype).
Shape read_input_layer_config(const KerasConfig& c);

// Layer / cell from a config, consulting the user registry first, then built-ins, then
// checking that every key was used. ConfigError for an unknown class.
template <class T>
std::unique_ptr<Layer<T>> build_layer(const KerasConfig& c);
template <class T>
std::unique_ptr<Cell<T>> build_cell(const KerasConfig& c);

// A layer of a model built from a config, with the class name its config entry gave.
template <class T>
struct ConfigLayer {
  std::string class_name;
  std::shared_ptr<Layer<T>> layer;
};

// Sequential / Functional model from a model entry inside `doc` (keras_config_model.cpp).
// If `layers_out` is given it receives the model's layers in config order (Keras
// model.layers of the saving model; InputLayers and Keras 3 mask operations left out): the
// order the .keras and legacy .h5 weight layouts follow (spec §8.1, §8.2).
template <class T>
std::unique_ptr<Model<T>> build_model(const std::shared_ptr<const Json>& doc, const Json& entry,
                                      const KerasVersion& version, const std::string& context,
                                      std::vector<ConfigLayer<T>>* layers_out = nullptr);

}  // namespace detail
}  // namespace rnnx
