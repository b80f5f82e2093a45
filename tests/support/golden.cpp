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
  std::ifstream in(json_path);
  if (!in) throw IoError("cannot open golden '" + json_path + "'");
  std::stringstream text;
  text << in.rdbuf();
  Json j = Json::parse(text.str(), nullptr, false);
  if (j.is_discarded()) bad(json_path, "invalid JSON");

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

}  // namespace rnnx::testing
