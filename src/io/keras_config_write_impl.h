#pragma once
// Private parts of the Keras 3 config writer shared by keras_config_write.cpp (layers,
// cells, values) and keras_config_write_model.cpp (Sequential / Functional graphs).
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "core/keras_naming.h"
#include "rnnx/core/shape.h"
#include "rnnx/layers/layer.h"

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
// An InputLayer entry.
J input_layer_entry(const std::string& name, const Shape& shape, const std::string& dtype);
// The Keras 3 entry of a model used as a layer (a Sequential or Functional entry, as Keras 3
// nests it; keras_config_write_model.cpp). ConfigError as layer_config_entry, naming the model.
template <class T>
J nested_model_entry(const Model<T>& model);

}  // namespace rnnx::detail::keras_write
