#include "support/golden.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>

#include "rnnx/core/error.h"
#include "rnnx/io/npy.h"

namespace rnnx::testing {
namespace {

namespace fs = std::filesystem;
using Json = nlohmann::json;

[[noreturn]] void bad(const std::string& path, const std::string& what) {
  throw FormatError("golden '" + path + "': " + what);
}

const Json& need(const Json& j, const char* key, const std::string& path) {
  if (!j.is_object() || !j.contains(key)) bad(path, std::string("missing key '") + key + "'");
  return j.at(key);
}

class Arrays {
 public:
  Arrays(std::map<std::string, NpyArray> arrays, std::string path)
      : arrays_(std::move(arrays)), path_(std::move(path)) {}

  const NpyArray& raw(const std::string& key) const {
    auto it = arrays_.find(key);
    if (it == arrays_.end()) bad(path_, "the .npz has no array '" + key + "'");
    return it->second;
  }
  Tensor<float> floats(const std::string& key) const {
    const NpyArray& a = raw(key);
    if (a.dtype != "f4" && a.dtype != "i4" && a.dtype != "f8")
      bad(path_, "array '" + key + "' has dtype " + a.dtype + ", expected float32 (or int32 ids)");
    return a.as<float>();
  }
  Mask mask(const std::string& key) const {
    const NpyArray& a = raw(key);
    if (a.dtype != "u1" && a.dtype != "b1") bad(path_, "mask '" + key + "' has dtype " + a.dtype + ", expected uint8");
    return a.as<uint8_t>();
  }
  std::vector<Tensor<float>> list(const Json& keys, const std::string& what) const {
    if (!keys.is_array()) bad(path_, what + " must be a list of array keys");
    std::vector<Tensor<float>> out;
    for (const auto& k : keys) {
      if (!k.is_string()) bad(path_, what + " must be a list of array keys");
      out.push_back(floats(k.get<std::string>()));
    }
    return out;
  }

 private:
  std::map<std::string, NpyArray> arrays_;
  std::string path_;
};

// Keras 3 does not serialise `implementation`; the oracle records it next to the config.
void inject_implementation(Json& entry, int implementation) {
  if (entry.is_array()) {
    for (auto& e : entry) inject_implementation(e, implementation);
    return;
  }
  if (!entry.is_object()) return;
  if (entry.contains("class_name") && entry["class_name"].is_string() && entry.contains("config") &&
      entry["config"].is_object()) {
    const std::string cn = entry["class_name"].get<std::string>();
    Json& cfg = entry["config"];
    if ((cn == "LSTM" || cn == "GRU" || cn == "LSTMCell" || cn == "GRUCell") && !cfg.contains("implementation"))
      cfg["implementation"] = implementation;
    for (const char* k : {"layer", "backward_layer", "cell", "cells"})
      if (cfg.contains(k)) inject_implementation(cfg[k], implementation);
  }
}

// Entry k of a tensor stacked on a leading axis.
Tensor<float> unstack(const Tensor<float>& t, int64_t k, const std::string& path, const std::string& what) {
  if (t.rank() < 1 || k >= t.dim(0))
    bad(path, what + " has no entry " + std::to_string(k) + " (shape " + to_string(t.shape()) + ")");
  const Shape inner(t.shape().begin() + 1, t.shape().end());
  int64_t n = 1;
  for (int64_t d : inner) n *= d;
  std::vector<float> v(t.values().begin() + k * n, t.values().begin() + (k + 1) * n);
  return Tensor<float>(inner, std::move(v));
}

Json read_json(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw IoError("cannot open golden '" + path + "'");
  std::stringstream text;
  text << in.rdbuf();
  Json j = Json::parse(text.str(), nullptr, false);
  if (j.is_discarded()) bad(path, "invalid JSON");
  return j;
}

std::optional<double> optional_number(const Json& j, const char* key) {
  if (j.contains(key) && j[key].is_number()) return j[key].get<double>();
  return std::nullopt;
}

}  // namespace

std::string parity_data_dir() { return std::string(RNNX_TEST_DATA_DIR) + "/parity"; }

std::vector<std::string> find_golden_cases(const std::string& root) {
  std::vector<std::string> out;
  std::error_code ec;
  if (!fs::is_directory(root, ec)) return out;
  for (auto it = fs::recursive_directory_iterator(root, ec); !ec && it != fs::recursive_directory_iterator();
       it.increment(ec)) {
    if (!it->is_regular_file()) continue;
    const fs::path& p = it->path();
    if (p.extension() == ".json") out.push_back(p.string());
  }
  std::sort(out.begin(), out.end());
  return out;
}

GoldenCase load_golden(const std::string& json_path) {
  const Json j = read_json(json_path);

  GoldenCase g;
  g.path = json_path;
  g.name = need(j, "case", json_path).get<std::string>();
  g.family = need(j, "family", json_path).get<std::string>();
  g.generator = j.value("generator", "");
  g.keras_version = need(j, "keras_version", json_path).get<std::string>();
  g.kind = need(j, "kind", json_path).get<std::string>();
  g.num_weights = need(j, "num_weights", json_path).get<int>();
  if (j.contains("implementation") && j["implementation"].is_number_integer())
    g.implementation = j["implementation"].get<int>();
  if (j.contains("dropout_mask_per_gate") && j["dropout_mask_per_gate"].is_boolean())
    g.dropout_mask_per_gate = j["dropout_mask_per_gate"].get<bool>();
  if (j.contains("weight_names") && j["weight_names"].is_array())
    for (const auto& n : j["weight_names"]) g.weight_names.push_back(n.is_string() ? n.get<std::string>() : n.dump());
  if (j.contains("notes") && j["notes"].is_string()) g.notes = j["notes"].get<std::string>();

  if (g.kind == "layer") {
    Json entry = need(j, "layer", json_path);
    g.class_name = need(entry, "class_name", json_path).get<std::string>();
    if (g.implementation) inject_implementation(entry, *g.implementation);
    if (g.class_name == "TF1BasicLSTMCell" || g.class_name == "TF1LSTMCell") {
      // TF1 cells are stepped over the sequence: RNN(cell, return_sequences, return_state)
      // returns [sequence, c, h] since TF1 states are (c, h).
      Json wrapped = {
          {"class_name", "RNN"},
          {"config", {{"name", "rnn"}, {"cell", entry}, {"return_sequences", true}, {"return_state", true}}}};
      entry = wrapped;
    }
    g.layer_json = entry.dump();
  } else if (g.kind == "model") {
    const Json& model = need(j, "model", json_path);
    g.class_name = need(model, "class_name", json_path).get<std::string>();
    g.model_json = model.dump();
  } else {
    bad(json_path, "kind must be 'layer' or 'model', got '" + g.kind + "'");
  }

  fs::path npz = fs::path(json_path).replace_extension(".npz");
  const Arrays arrays(read_npz(npz.string()), json_path);
  for (int i = 0; i < g.num_weights; ++i) {
    std::string key = "w";  // (not "w" + to_string: GCC 12 -Wrestrict false positive)
    key += std::to_string(i);
    g.weights.push_back(arrays.floats(key));
  }

  const Json& calls = need(j, "calls", json_path);
  if (!calls.is_array() || calls.empty()) bad(json_path, "'calls' must be a non-empty list");
  for (const auto& c : calls) {
    GoldenCall call;
    call.training = need(c, "training", json_path).get<bool>();
    call.reset_states_before = c.value("reset_states_before", false);
    call.inputs = arrays.list(need(c, "inputs", json_path), "inputs");
    if (c.contains("mask") && !c["mask"].is_null()) call.mask = arrays.mask(c["mask"].get<std::string>());
    if (c.contains("initial_state") && !c["initial_state"].is_null())
      call.initial_state = arrays.list(c["initial_state"], "initial_state");
    if (c.contains("constants") && !c["constants"].is_null()) call.constants = arrays.list(c["constants"], "constants");
    if (c.contains("dropout_masks") && !c["dropout_masks"].is_null()) {
      const Json& dm = c["dropout_masks"];
      call.input_dropout_masks = arrays.list(dm.value("input", Json::array()), "dropout_masks.input");
      call.recurrent_dropout_masks = arrays.list(dm.value("recurrent", Json::array()), "dropout_masks.recurrent");
    }
    const Json& outs = need(c, "outputs", json_path);
    call.outputs = arrays.list(outs, "outputs");
    for (const auto& k : outs) call.output_keys.push_back(k.get<std::string>());
    g.calls.push_back(std::move(call));
  }
  return g;
}

std::string training_data_dir() { return std::string(RNNX_TEST_DATA_DIR) + "/training"; }

TrainingCase load_training_golden(const std::string& json_path) {
  const Json j = read_json(json_path);

  TrainingCase g;
  g.path = json_path;
  g.name = need(j, "case", json_path).get<std::string>();
  g.generator = j.value("generator", "");
  g.keras_version = need(j, "keras_version", json_path).get<std::string>();
  g.description = j.value("description", "");
  if (j.contains("notes") && j["notes"].is_string()) g.notes = j["notes"].get<std::string>();
  if (j.contains("implementation") && j["implementation"].is_number_integer())
    g.implementation = j["implementation"].get<int>();
  if (j.contains("dropout_mask_per_gate") && j["dropout_mask_per_gate"].is_boolean())
    g.dropout_mask_per_gate = j["dropout_mask_per_gate"].get<bool>();
  if (j.contains("dropout_layer") && j["dropout_layer"].is_string())
    g.dropout_layer = j["dropout_layer"].get<std::string>();
  g.step0_loss = optional_number(j, "step0_loss");
  g.step0_regularization_loss = optional_number(j, "step0_regularization_loss");

  Json model = need(j, "model", json_path);
  if (g.implementation && model.contains("config") && model["config"].contains("layers"))
    for (auto& layer : model["config"]["layers"]) inject_implementation(layer, *g.implementation);
  g.model_json = model.dump();
  g.optimizer_json = need(j, "optimizer", json_path).dump();
  g.loss_json = need(j, "loss", json_path).dump();
  if (j.contains("loss_extra") && j["loss_extra"].is_object()) g.loss_extra_json = j["loss_extra"].dump();
  if (j.contains("class_weight") && j["class_weight"].is_object())
    for (const auto& [k, v] : j["class_weight"].items()) g.class_weight[std::stoll(k)] = v.get<double>();
  for (const auto& n : need(j, "weight_names", json_path)) g.weight_names.push_back(n.get<std::string>());

  const Arrays arrays(read_npz(fs::path(json_path).replace_extension(".npz").string()), json_path);
  const int num_weights = need(j, "num_weights", json_path).get<int>();
  for (int i = 0; i < num_weights; ++i) {
    std::string key = "w";
    key += std::to_string(i);
    g.weights.push_back(arrays.floats(key));
  }
  g.grads_step0 = arrays.list(need(j, "grads_step0", json_path), "grads_step0");
  // One per trainable weight: Keras has none for non-trainable ones (BatchNormalization's
  // moving statistics).
  if (static_cast<int>(g.grads_step0.size()) > num_weights)
    bad(json_path, "grads_step0 must list one array per trainable weight");
  if (j.contains("grads_step0_sample_weight") && !j["grads_step0_sample_weight"].is_null())
    g.grads_step0_sample_weight = arrays.floats(j["grads_step0_sample_weight"].get<std::string>());

  if (j.contains("steps")) {
    const Json& st = j["steps"];
    const int64_t count = need(st, "count", json_path).get<int64_t>();
    const auto inputs = arrays.list(need(st, "inputs", json_path), "steps.inputs");
    const Tensor<float> y = arrays.floats(need(st, "y", json_path).get<std::string>());
    std::optional<Tensor<float>> sw;
    if (st.contains("sample_weight") && !st["sample_weight"].is_null())
      sw = arrays.floats(st["sample_weight"].get<std::string>());
    std::vector<Tensor<float>> dm, drm;
    const bool has_dropout = st.contains("dropout_masks") && !st["dropout_masks"].is_null();
    if (has_dropout) {
      dm = arrays.list(st["dropout_masks"].value("input", Json::array()), "steps.dropout_masks.input");
      drm = arrays.list(st["dropout_masks"].value("recurrent", Json::array()), "steps.dropout_masks.recurrent");
    }
    const Json& losses = need(st, "losses", json_path);
    const auto after = arrays.list(need(st, "weights_after", json_path), "steps.weights_after");
    if (!losses.is_array() || static_cast<int64_t>(losses.size()) != count)
      bad(json_path, "steps.losses must hold steps.count numbers");
    if (static_cast<int>(after.size()) != num_weights)
      bad(json_path, "steps.weights_after must list one array per weight");
    for (int64_t k = 0; k < count; ++k) {
      TrainingStep s;
      for (const auto& x : inputs) s.inputs.push_back(unstack(x, k, json_path, "steps.inputs"));
      s.y = unstack(y, k, json_path, "steps.y");
      if (sw) s.sample_weight = unstack(*sw, k, json_path, "steps.sample_weight");
      if (has_dropout) {
        s.input_dropout_masks.emplace();
        s.recurrent_dropout_masks.emplace();
        for (const auto& m : dm) s.input_dropout_masks->push_back(unstack(m, k, json_path, "dropout mask"));
        for (const auto& m : drm) s.recurrent_dropout_masks->push_back(unstack(m, k, json_path, "dropout mask"));
      }
      s.loss = losses[static_cast<size_t>(k)].get<double>();
      for (const auto& w : after) s.weights_after.push_back(unstack(w, k, json_path, "steps.weights_after"));
      g.steps.push_back(std::move(s));
    }
  }
  if (j.contains("fit")) {
    const Json& f = j["fit"];
    TrainingFit fit;
    fit.x = arrays.floats(need(f, "x", json_path).get<std::string>());
    fit.y = arrays.floats(need(f, "y", json_path).get<std::string>());
    fit.batch_size = need(f, "batch_size", json_path).get<int64_t>();
    fit.epochs = need(f, "epochs", json_path).get<int64_t>();
    fit.shuffle = need(f, "shuffle", json_path).get<bool>();
    for (const auto& v : need(f, "epoch_losses", json_path)) fit.epoch_losses.push_back(v.get<double>());
    const auto after = arrays.list(need(f, "weights_after_epoch", json_path), "fit.weights_after_epoch");
    if (static_cast<int>(after.size()) != num_weights)
      bad(json_path, "fit.weights_after_epoch must list one array per weight");
    if (static_cast<int64_t>(fit.epoch_losses.size()) != fit.epochs)
      bad(json_path, "fit.epoch_losses must hold one number per epoch");
    for (int64_t e = 0; e < fit.epochs; ++e) {
      std::vector<Tensor<float>> ws;
      for (const auto& w : after) ws.push_back(unstack(w, e, json_path, "fit.weights_after_epoch"));
      fit.weights_after_epoch.push_back(std::move(ws));
    }
    g.fit = std::move(fit);
  }
  if (g.steps.empty() && !g.fit) bad(json_path, "a training golden needs 'steps' or 'fit'");
  return g;
}

}  // namespace rnnx::testing
