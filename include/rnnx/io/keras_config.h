#pragma once
// Building rnnx layers and models from Keras JSON configs (spec §8.3).
//
// Input is JSON text: a layer entry {"class_name": ..., "config": {...}} (as written by
// keras.saving.serialize_keras_object or tf_keras get_config), or a whole model as written by
// model.to_json() (Sequential or Functional, Keras 3 and tf_keras 2 node formats).
// `keras_version` is the version that wrote the config ("3.15.1", "2.21.0", "2.2.4-tf", ...);
// it selects what version-dependent names and defaults mean (spec §5): the hard_sigmoid
// formula (major < 3 -> 0.2x + 0.5), the GRU reset_after default, the implementation default
// and whether implementation 1 draws one dropout mask per gate.
//
// Strictness: every unknown class, every argument value rnnx cannot honour, and every
// unknown key raises ConfigError naming the layer, its class and the argument. Keys that do
// not change the numbers are accepted and ignored (trainable, float32/float64 dtype policies,
// names, module / registered_name / build_config metadata, unroll, use_cudnn, seeds of
// initializers). Regularizers (weight and activity) and constraints are read into
// train/regularizers.h structs.
// Weights are created by build() from the config's initializers; load real weights with
// Layer::set_weights.
//
// User classes: register a factory for a cell class (used inside RNN / StackedRNNCells /
// Bidirectional) or a layer class under its Keras class name (or its Keras 3
// registered_name, "package>Class"). A registered name takes precedence over a built-in one. Factories read their
// arguments through KerasConfig, whose getters mark keys as used; unused keys are reported as unsupported after the
// factory returns (call KerasConfig::ignore for keys that are deliberately irrelevant).
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "rnnx/activations.h"
#include "rnnx/cells/cell.h"
#include "rnnx/initializers.h"
#include "rnnx/layers/layer.h"
#include "rnnx/train/regularizers.h"

namespace rnnx {

template <class T>
class Model;

// A parsed Keras version and the conventions it implies.
struct KerasVersion {
  int major = 3, minor = 0, patch = 0;
  // Written by tf.keras / tf_keras ("-tf" suffix, or 2.4 and later), not standalone Keras 2.
  bool tf_keras = false;

  // Parses "3.15.1", "2.2.4-tf", "2.21.0", "3" ... Throws ConfigError for anything else.
  static KerasVersion parse(const std::string& text);
  std::string to_string() const;
};

// A read-only, JSON-free view of one layer or cell entry's "config" dictionary.
// Copies share the same underlying document and the same record of used keys.
class KerasConfig {
 public:
  // The Keras class name of the entry ("LSTM", "MinimalCell").
  const std::string& class_name() const;
  // Keras 3 "registered_name" of the entry ("package>Class" for custom classes), or "".
  std::string registered_name() const;
  // config["name"] if present, else the snake_case class name.
  std::string name() const;
  const KerasVersion& version() const;
  // "<Class> '<name>'", the prefix of every error about this entry.
  std::string where() const;

  // True if `key` is present (a JSON null counts as absent for has(), not for contains()).
  bool has(const std::string& key) const;
  bool contains(const std::string& key) const;
  std::vector<std::string> keys() const;

  // Typed getters. Without a default the key is required. A value of the wrong type (or a
  // float where an integer is needed) throws ConfigError naming the entry and key.
  int64_t get_int(const std::string& key) const;
  int64_t get_int(const std::string& key, int64_t fallback) const;
  double get_double(const std::string& key) const;
  double get_double(const std::string& key, double fallback) const;
  bool get_bool(const std::string& key) const;
  bool get_bool(const std::string& key, bool fallback) const;
  std::string get_string(const std::string& key) const;
  std::string get_string(const std::string& key, const std::string& fallback) const;
  std::optional<double> get_optional_double(const std::string& key) const;  // null -> nullopt
  std::optional<int64_t> get_optional_int(const std::string& key) const;
  std::vector<int64_t> get_int_list(const std::string& key) const;  // null entries -> -1
  // An activation: a name, null (linear), or a Keras 3 serialized-function dict. The
  // hard_sigmoid formula follows version().
  Activation get_activation(const std::string& key, const Activation& fallback) const;
  // An initializer: a name, or {"class_name", "config"} (K2/TFK/K3 forms).
  Initializer get_initializer(const std::string& key, const Initializer& fallback) const;
  // A regularizer (spec §3.9): null/absent (none), a Keras name ("l1", "l2", "L1L2", and
  // "l1l2" in Keras 3 or "l1_l2" = (0.01, 0.01) before it, as version() says), or
  // {"class_name": "L1" | "L2" | "L1L2", "config": {"l1", "l2"}} (Keras 3 adds "module" and
  // "registered_name"). A custom class, an unknown name or a negative factor throws
  // ConfigError naming the entry, the key, the accepted forms and the value.
  Regularizer get_regularizer(const std::string& key) const;
  // A constraint: null/absent, a name ("max_norm", "non_neg", "unit_norm", "min_max_norm",
  // their class names, and before Keras 3 "maxnorm", "nonneg", "unitnorm"), or
  // {"class_name": "MaxNorm" | "NonNeg" | "UnitNorm" | "MinMaxNorm", "config": {"max_value",
  // "min_value", "rate", "axis" (an integer or a list)}}. Errors as get_regularizer.
  Constraint get_constraint(const std::string& key) const;
  // Raw compact JSON text of a value ("null" if absent).
  std::string json(const std::string& key) const;
  // A nested {"class_name", "config"} entry (e.g. "cell", "layer"), or a list of them.
  KerasConfig child(const std::string& key) const;
  std::vector<KerasConfig> children(const std::string& key) const;

  // Marks a key as deliberately ignored.
  void ignore(const std::string& key) const;
  // Throws ConfigError "<where>: argument '<key>' <what>".
  [[noreturn]] void fail(const std::string& key, const std::string& what) const;
  // Throws ConfigError for the first present key that no getter read and that is not
  // harmless metadata. Called by the loader after each factory.
  void check_all_used() const;

  struct Impl;
  explicit KerasConfig(std::shared_ptr<Impl> impl);

 private:
  std::shared_ptr<Impl> impl_;
};

template <class T>
using KerasCellFactory = std::function<std::unique_ptr<Cell<T>>(const KerasConfig&)>;
template <class T>
using KerasLayerFactory = std::function<std::unique_ptr<Layer<T>>(const KerasConfig&)>;

// Process-wide registry of user classes (thread-safe). Registering a name again replaces
// the earlier factory. Cell names are used where Keras expects a cell (RNN "cell",
// StackedRNNCells "cells"); layer names anywhere a layer is expected.
template <class T>
void register_keras_cell(const std::string& class_name, KerasCellFactory<T> factory);
template <class T>
void register_keras_layer(const std::string& class_name, KerasLayerFactory<T> factory);
// Removes a registration; returns nothing and ignores unknown names.
template <class T>
void unregister_keras_class(const std::string& class_name);

// Builds a layer from a {"class_name", "config"} entry. The layer comes back unbuilt (no
// weights yet; build_config / batch_input_shape are ignored): call build() with the input
// shapes (for RNN layers: the sequence, then any constants), then set_weights().
template <class T>
std::unique_ptr<Layer<T>> layer_from_config(const std::string& json_text, const std::string& keras_version);

// Builds a cell from a {"class_name", "config"} entry (built-in or registered cell classes).
template <class T>
std::unique_ptr<Cell<T>> cell_from_config(const std::string& json_text, const std::string& keras_version);

// Builds a Sequential or Functional model from model.to_json() text (or the "config" entry
// of a .keras / .h5 file) as a functional Model (a Sequential becomes the equivalent chain:
// same layers, weight order and outputs). Layers are built from the declared input shapes;
// load real weights with set_weights(). Keras 3 records the masks it propagated as NotEqual /
// Any operations passed as `mask=`; those are accepted when they equal the mask rnnx
// propagates itself (Masking, Embedding(mask_zero)), any other explicit mask is a ConfigError.
// A Sequential / Functional / Model entry among the layers (a nested model, also inside
// TimeDistributed) is built recursively and joins the outer graph like a layer; a nested
// Sequential is returned as a Sequential. Its calls are numbered as the writer numbered
// them (Keras 3: node arguments from 0, input/output_layers from 1 for a Functional;
// tf_keras: from 1 for a Functional or a Sequential with an input). Errors inside it name it
// ("... in nested model Sequential 'encoder': LSTM 'lstm': ...").
template <class T>
std::unique_ptr<Model<T>> model_from_config(const std::string& json_text, const std::string& keras_version);

}  // namespace rnnx
