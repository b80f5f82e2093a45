// Keras model files (spec §8.4): detecting the kind of file from its content, the .keras
// container, legacy HDF5 metadata, the plausibility check of configs, and the public entry
// points of rnnx/io/model_file.h.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <new>

#include "io/file_io.h"
#include "io/keras_config/keras_config_impl.h"
#include "io/keras_file/keras_file_impl.h"
#include "io/keras_file/test_vector_check.h"
#include "io/zip.h"
#include "rnnx/core/error.h"
#include "rnnx/layers/input_layer.h"
#include "rnnx/layers/time_distributed.h"

namespace rnnx {

std::string to_string(KerasFileKind kind) {
  switch (kind) {
    case KerasFileKind::keras_archive:
      return "keras_archive";
    case KerasFileKind::legacy_model:
      return "legacy_model";
    case KerasFileKind::legacy_weights:
      return "legacy_weights";
    case KerasFileKind::keras_weights:
      return "keras_weights";
  }
  return "unknown";
}

namespace {

bool is_zip(std::span<const uint8_t> b) {
  // A local file header, or the end record of an empty archive.
  return b.size() >= 4 && b[0] == 'P' && b[1] == 'K' && ((b[2] == 3 && b[3] == 4) || (b[2] == 5 && b[3] == 6));
}

std::string hex_prefix(std::span<const uint8_t> b) {
  static const char* digits = "0123456789abcdef";
  std::string s;
  for (size_t i = 0; i < b.size() && i < 8; ++i) {
    s += (i ? " " : "");
    s += digits[b[i] >> 4];
    s += digits[b[i] & 15];
  }
  return s.empty() ? "an empty file" : "bytes " + s;
}

[[noreturn]] void not_a_model_file(std::span<const uint8_t> bytes, const std::string& where) {
  throw FormatError(where +
                    ": not a Keras model file: expected a .keras ZIP archive (PK..) or an HDF5 file (\\x89HDF), "
                    "found " +
                    hex_prefix(bytes));
}

std::string text_of(const std::vector<uint8_t>& bytes) { return std::string(bytes.begin(), bytes.end()); }

// The .keras members rnnx reads (spec §8.1).
struct KerasArchive {
  std::string config;
  std::string keras_version;  // metadata.json; "" when absent
  std::vector<uint8_t> weights;
};

KerasArchive read_archive(std::span<const uint8_t> bytes, const std::string& where, bool need_weights) {
  detail::ZipReader zip(bytes, where);
  KerasArchive a;
  if (!zip.contains("config.json"))
    throw FormatError(where + ": ZIP archive has no config.json member: not a .keras model file");
  a.config = text_of(zip.read("config.json"));
  if (zip.contains("metadata.json")) {
    std::string problem;
    const Json meta = detail::parse_json_bounded(text_of(zip.read("metadata.json")), problem);
    if (meta.is_discarded()) throw FormatError(where + ": metadata.json is not a JSON object (" + problem + ")");
    if (!meta.is_object()) throw FormatError(where + ": metadata.json is not a JSON object");
    auto v = meta.find("keras_version");
    if (v != meta.end()) {
      if (!v->is_string()) throw FormatError(where + ": metadata.json keras_version is not a string");
      a.keras_version = v->get<std::string>();
    }
  }
  if (need_weights) {
    if (!zip.contains("model.weights.h5")) {
      if (zip.contains("model.weights.npz"))
        throw FormatError(where +
                          ": the weights are stored as model.weights.npz, which rnnx does not read "
                          "(only model.weights.h5)");
      throw FormatError(where + ": ZIP archive has no model.weights.h5 member (the weights are missing)");
    }
    a.weights = zip.read("model.weights.h5");
  }
  return a;
}

// The version deciding the semantics: the caller's override, else the file's.
KerasVersion semantics_version(const LoadOptions& options, const std::string& file_version, const std::string& where) {
  const std::string text = !options.keras_version.empty() ? options.keras_version : file_version;
  if (text.empty())
    throw FormatError(where +
                      ": the file records no keras_version (metadata.json missing); pass "
                      "LoadOptions::keras_version");
  try {
    return KerasVersion::parse(text);
  } catch (const ConfigError& e) {
    throw FormatError(where + ": " + e.what());
  }
}

// Legacy HDF5 keras_version: root attribute, else the model_weights group's; absent means
// Keras 1 (tf_keras load_weights_from_hdf5_group).
std::string legacy_version(const detail::h5::Group& root, const detail::h5::Group* weights) {
  if (auto v = root.string_attr("keras_version")) return *v;
  if (weights)
    if (auto v = weights->string_attr("keras_version")) return *v;
  return "";
}

KerasFileKind hdf5_kind(const detail::h5::Group& root, const std::string& where) {
  if (root.has_attr("model_config")) return KerasFileKind::legacy_model;
  if (root.has_attr("layer_names") || root.has_attr("layer_names0")) return KerasFileKind::legacy_weights;
  if (root.has_group("layers") || root.has_group("_layer_checkpoint_dependencies") || root.has_group("vars"))
    return KerasFileKind::keras_weights;
  throw FormatError(where +
                    ": HDF5 file is not a Keras file (no model_config or layer_names attribute, no layers "
                    "group)");
}

// "4e+24": a count too large for an integer.
std::string approx(double value) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.3g", value);
  return buf;
}

// ---- plausibility of a config before anything is built
//
// Every weight of a layer is stored in the file, so a layer cannot need more weights than
// the file holds. The lower bounds below (recurrent kernels, Dense units, Embedding table)
// refuse absurd dimensions (units = 1e12) with a ConfigError before any allocation.
void check_plausible(const Json& j, double file_elements, const std::string& where, int depth = 0) {
  if (depth > 256) throw ConfigError(where + ": config nested too deeply");
  if (j.is_array()) {
    for (const auto& e : j) check_plausible(e, file_elements, where, depth + 1);
    return;
  }
  if (!j.is_object()) return;
  auto cn = j.find("class_name");
  auto cfg = j.find("config");
  if (cn != j.end() && cn->is_string() && cfg != j.end() && cfg->is_object()) {
    const std::string cls = cn->get<std::string>();
    auto number = [&](const char* key) -> double {
      auto it = cfg->find(key);
      return it != cfg->end() && it->is_number() ? std::abs(it->get<double>()) : 0.0;
    };
    const char* key = "units";
    double value = number("units"), need = value;
    if (cls == "LSTM" || cls == "LSTMCell" || cls == "CuDNNLSTM") {
      need = 4 * value * value;
    } else if (cls == "GRU" || cls == "GRUCell" || cls == "CuDNNGRU") {
      need = 3 * value * value;
    } else if (cls == "SimpleRNN" || cls == "SimpleRNNCell") {
      need = value * value;
    } else if (cls == "TF1LSTMCell" || cls == "TF1BasicLSTMCell" || cls == "LSTMCellV1" || cls == "BasicLSTMCell") {
      key = "num_units";
      value = number("num_units");
      need = 4 * value * value;
    } else if (cls == "Embedding") {
      key = "input_dim";
      value = number("input_dim");
      need = value * std::max(number("output_dim"), 1.0);
    }
    if (need > file_elements) {
      auto name = cfg->find("name");
      const std::string layer = name != cfg->end() && name->is_string() ? name->get<std::string>() : "?";
      throw ConfigError(where + ": " + cls + " '" + layer + "': argument '" + key + "' = " + cfg->find(key)->dump() +
                        " needs at least " + approx(need) + " weights, but the file holds only " +
                        std::to_string(static_cast<int64_t>(file_elements)) +
                        " (absurd dimension; refusing to build it)");
    }
    for (const char* shape_key : {"batch_shape", "batch_input_shape"}) {
      auto s = cfg->find(shape_key);
      if (s == cfg->end() || !s->is_array() || s->size() < 3 || !s->back().is_number()) continue;
      const double features = std::abs(s->back().get<double>());
      if (features > std::max(file_elements, 65536.0))
        throw ConfigError(where + ": " + cls + ": argument '" + shape_key + "' = " + s->dump() +
                          " has an absurd feature dimension for a file holding " +
                          std::to_string(static_cast<int64_t>(file_elements)) + " weights");
    }
  }
  for (auto it = j.begin(); it != j.end(); ++it) check_plausible(it.value(), file_elements, where, depth + 1);
}

// ---- which weights of a nested model Keras counts as non-trainable (legacy weight order)

const Json* layer_list(const Json& entry) {
  auto cfg = entry.find("config");
  if (cfg == entry.end()) return nullptr;
  if (cfg->is_array()) return &*cfg;  // Keras <= 2.1 Sequential
  auto l = cfg->is_object() ? cfg->find("layers") : cfg->end();
  return cfg->is_object() && l != cfg->end() && l->is_array() ? &*l : nullptr;
}

bool is_frozen(const Json& entry) {
  auto c = entry.find("config");
  if (c == entry.end() || !c->is_object()) return false;
  auto t = c->find("trainable");
  return t != c->end() && t->is_boolean() && !t->get<bool>();
}

template <class T>
void collect_frozen(const Json& entry, Layer<T>& layer, bool frozen, std::vector<const Layer<T>*>& out);

// Layers of `model` (config `entry`) at any depth that have weights Keras counts as
// non-trainable: config trainable = false on them or on a model around them (`frozen`).
template <class T>
void collect_frozen_in(const Json& entry, Model<T>& model, bool frozen, std::vector<const Layer<T>*>& out) {
  const Json* list = layer_list(entry);
  if (!list) return;
  for (const Json& le : *list) {
    auto c = le.find("config");
    if (c == le.end() || !c->is_object() || !c->contains("name") || !c->at("name").is_string()) continue;
    std::shared_ptr<Layer<T>> layer;
    try {
      layer = model.layer(c->at("name").get<std::string>());
    } catch (const ConfigError&) {
      continue;  // an InputLayer of a Sequential, a Keras 3 mask operation
    }
    collect_frozen(le, *layer, frozen || is_frozen(le), out);
  }
}

template <class T>
void collect_frozen(const Json& entry, Layer<T>& layer, bool frozen, std::vector<const Layer<T>*>& out) {
  if (auto* m = dynamic_cast<Model<T>*>(&layer)) {
    collect_frozen_in(entry, *m, frozen, out);
  } else if (auto* td = dynamic_cast<TimeDistributed<T>*>(&layer); td && dynamic_cast<Model<T>*>(td->layer().get())) {
    const Json& c = entry.at("config");
    if (c.contains("layer")) collect_frozen(c.at("layer"), *td->layer(), frozen || is_frozen(c.at("layer")), out);
  } else if (frozen) {
    out.push_back(&layer);
  }
}

// The config entry of the top-level layer called `name` (null if none).
const Json* layer_entry(const Json& doc, const std::string& name) {
  const Json* list = layer_list(doc);
  if (!list) return nullptr;
  for (const Json& le : *list) {
    auto c = le.find("config");
    if (c != le.end() && c->is_object() && c->value("name", std::string()) == name) return &le;
  }
  return nullptr;
}

// Builds the model of a config and lists its layers in config order.
template <class T>
std::unique_ptr<Model<T>> build_from_config(const std::string& text, const KerasVersion& version, double file_elements,
                                            const std::string& where, std::vector<detail::WeightTarget<T>>& targets) {
  std::string problem;
  auto doc = std::make_shared<const Json>(detail::parse_json_bounded(text, problem));
  if (doc->is_discarded()) throw FormatError(where + ": the model config is not a JSON object (" + problem + ")");
  if (!doc->is_object()) throw FormatError(where + ": the model config is not a JSON object");
  check_plausible(*doc, file_elements, where);
  std::vector<detail::ConfigLayer<T>> layers;
  std::unique_ptr<Model<T>> model;
  try {
    model = detail::build_model<T>(doc, *doc, version, where + ": config", &layers);
  } catch (const nlohmann::json::exception& e) {
    throw ConfigError(where + ": malformed model config: " + e.what());
  } catch (const std::bad_alloc&) {
    throw ConfigError(where + ": the model config asks for more memory than is available");
  } catch (const std::length_error&) {
    throw ConfigError(where + ": the model config asks for more memory than is available");
  }
  for (const auto& l : layers) {
    detail::WeightTarget<T> t{l.class_name, l.layer.get()};
    // Only the parts of a layer can be frozen apart (a layer frozen whole keeps its order).
    if (const Json* entry = layer_entry(*doc, l.layer->name()); entry && !is_frozen(*entry))
      collect_frozen(*entry, *l.layer, false, t.frozen);
    targets.push_back(std::move(t));
  }
  return model;
}

template <class T>
std::vector<detail::WeightTarget<T>> targets_of(Model<T>& model) {
  std::vector<detail::WeightTarget<T>> out;
  for (const auto& l : model.layers())
    if (!dynamic_cast<InputLayer<T>*>(l.get())) out.push_back({l->class_name(), l.get()});
  return out;
}

bool writer_is_keras3(const std::string& file_version, const LoadOptions& options) {
  const std::string& v = !file_version.empty() ? file_version : options.keras_version;
  if (v.empty()) return true;
  try {
    return KerasVersion::parse(v).major >= 3;
  } catch (const ConfigError&) {
    return true;
  }
}

}  // namespace

KerasFileInfo inspect_keras_file_in_memory(std::span<const uint8_t> bytes, const std::string& where) {
  KerasFileInfo info;
  if (is_zip(bytes)) {
    const KerasArchive a = read_archive(bytes, where, false);
    info.kind = KerasFileKind::keras_archive;
    info.keras_version = a.keras_version;
    info.model_config = a.config;
    return info;
  }
  if (!detail::h5::has_hdf5_signature(bytes)) not_a_model_file(bytes, where);
  detail::h5::File file(bytes, where);
  const detail::h5::Group root = file.root();
  info.kind = hdf5_kind(root, where);
  if (info.kind == KerasFileKind::keras_weights) return info;
  info.keras_version = legacy_version(root, nullptr);
  if (info.kind == KerasFileKind::legacy_model) {
    info.model_config = root.string_attr("model_config").value_or("");
    if (info.keras_version.empty() && root.has_group("model_weights")) {
      const detail::h5::Group w = root.group("model_weights");
      info.keras_version = legacy_version(root, &w);
    }
  }
  info.backend = root.string_attr("backend").value_or("");
  return info;
}

KerasFileInfo inspect_keras_file(const std::string& path) {
  const std::vector<uint8_t> bytes = detail::read_file(path);
  return inspect_keras_file_in_memory(bytes, path);
}

template <class T>
std::unique_ptr<Model<T>> load_model_from_memory(std::span<const uint8_t> bytes, const std::string& where,
                                                 const LoadOptions& options) {
  std::vector<detail::WeightTarget<T>> targets;
  if (is_zip(bytes)) {
    const KerasArchive a = read_archive(bytes, where, true);
    const KerasVersion version = semantics_version(options, a.keras_version, where);
    detail::h5::File file(a.weights, where + ": model.weights.h5");
    const detail::h5::Group root = file.root();
    auto model = build_from_config<T>(a.config, version, static_cast<double>(root.count_dataset_elements()),
                                      where + ": config.json", targets);
    auto pending = detail::read_keras_weights<T>(root, targets, writer_is_keras3(a.keras_version, options));
    detail::apply_weights(pending);
    if (options.verify_test_vector) detail::check_test_vector(*model, bytes, where, options);
    return model;
  }
  if (!detail::h5::has_hdf5_signature(bytes)) not_a_model_file(bytes, where);
  detail::h5::File file(bytes, where);
  const detail::h5::Group root = file.root();
  const KerasFileKind kind = hdf5_kind(root, where);
  if (kind != KerasFileKind::legacy_model)
    throw FormatError(where + ": this HDF5 file holds only weights (" + to_string(kind) +
                      ", from save_weights) and no model architecture; build the model from its config "
                      "(rnnx::model_from_config) and call rnnx::load_weights");
  if (!root.has_group("model_weights"))
    throw FormatError(where + ": the file has a model_config but no model_weights group (the weights are missing)");
  const detail::h5::Group weights = root.group("model_weights");
  // Absent keras_version means Keras 1 (what Keras' own loader assumes).
  std::string file_version = legacy_version(root, &weights);
  if (file_version.empty()) file_version = "1";
  const KerasVersion version = semantics_version(options, file_version, where);
  const std::string config = root.string_attr("model_config").value_or("");
  auto model = build_from_config<T>(config, version, static_cast<double>(weights.count_dataset_elements()),
                                    where + ": model_config", targets);
  auto pending = detail::read_legacy_weights<T>(weights, targets, version);
  detail::apply_weights(pending);
  if (options.verify_test_vector)
    throw VerificationError(where +
                            ": verify_test_vector was requested, but legacy .h5 files carry no test vector "
                            "(only .keras files written by rnnx do)");
  return model;
}

template <class T>
std::unique_ptr<Model<T>> load_model(const std::string& path, const LoadOptions& options) {
  const std::vector<uint8_t> bytes = detail::read_file(path);
  return load_model_from_memory<T>(bytes, path, options);
}

template <class T>
void load_weights_from_memory(Model<T>& model, std::span<const uint8_t> bytes, const std::string& where,
                              const LoadOptions& options) {
  const std::vector<detail::WeightTarget<T>> targets = targets_of(model);
  std::vector<detail::PendingWeights<T>> pending;
  if (is_zip(bytes)) {
    const KerasArchive a = read_archive(bytes, where, true);
    detail::h5::File file(a.weights, where + ": model.weights.h5");
    pending = detail::read_keras_weights<T>(file.root(), targets, writer_is_keras3(a.keras_version, options));
  } else {
    if (!detail::h5::has_hdf5_signature(bytes)) not_a_model_file(bytes, where);
    detail::h5::File file(bytes, where);
    const detail::h5::Group root = file.root();
    const KerasFileKind kind = hdf5_kind(root, where);
    if (kind == KerasFileKind::keras_weights) {
      pending = detail::read_keras_weights<T>(root, targets, writer_is_keras3("", options));
    } else {
      const bool full = kind == KerasFileKind::legacy_model;
      if (full && !root.has_group("model_weights"))
        throw FormatError(where + ": the file has a model_config but no model_weights group (the weights are missing)");
      const detail::h5::Group group = full ? root.group("model_weights") : file.root();
      std::string file_version = legacy_version(root, &group);
      if (file_version.empty()) file_version = "1";
      pending = detail::read_legacy_weights<T>(group, targets, semantics_version(options, file_version, where));
    }
  }
  detail::apply_weights(pending);
}

template <class T>
void load_weights(Model<T>& model, const std::string& path, const LoadOptions& options) {
  const std::vector<uint8_t> bytes = detail::read_file(path);
  load_weights_from_memory(model, bytes, path, options);
}

template std::unique_ptr<Model<float>> load_model<float>(const std::string&, const LoadOptions&);
template std::unique_ptr<Model<double>> load_model<double>(const std::string&, const LoadOptions&);
template std::unique_ptr<Model<float>> load_model_from_memory<float>(std::span<const uint8_t>, const std::string&,
                                                                     const LoadOptions&);
template std::unique_ptr<Model<double>> load_model_from_memory<double>(std::span<const uint8_t>, const std::string&,
                                                                       const LoadOptions&);
template void load_weights<float>(Model<float>&, const std::string&, const LoadOptions&);
template void load_weights<double>(Model<double>&, const std::string&, const LoadOptions&);
template void load_weights_from_memory<float>(Model<float>&, std::span<const uint8_t>, const std::string&,
                                              const LoadOptions&);
template void load_weights_from_memory<double>(Model<double>&, std::span<const uint8_t>, const std::string&,
                                               const LoadOptions&);

}  // namespace rnnx
