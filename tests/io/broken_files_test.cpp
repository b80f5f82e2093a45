// Broken Keras files: each gives its typed error with a message that says what is wrong,
// and nothing is loaded half-way. The broken files are made here from the goldens of
// tests/data/files (byte edits, config.json rewritten inside the ZIP), except the HDF5
// datasets of the wrong type or missing (broken_*.weights.h5, made by file_cases.py).
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <fstream>
#include <functional>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <vector>

#include "io/zip.h"
#include "rnnx/core/error.h"
#include "rnnx/io/keras_config.h"
#include "rnnx/io/model_file.h"
#include "support/expect_error.h"

namespace rnnx::testing {
namespace {

using Bytes = std::vector<uint8_t>;
using nlohmann::json;

std::string files_dir() { return std::string(RNNX_TEST_DATA_DIR) + "/files"; }

Bytes read_bytes(const std::string& name) {
  std::ifstream in(files_dir() + "/" + name, std::ios::binary);
  if (!in) throw std::runtime_error("missing golden " + name);
  return Bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

std::map<std::string, Bytes> members_of(const Bytes& archive) {
  detail::ZipReader zip(archive, "golden");
  std::map<std::string, Bytes> out;
  for (const auto& e : zip.entries()) out[e.name] = zip.read(e);
  return out;
}

Bytes archive_of(const std::map<std::string, Bytes>& members) {
  std::vector<detail::ZipWriteEntry> entries;
  for (const auto& [name, data] : members) entries.push_back({name, data});
  return detail::zip_write(entries, false);
}

// A copy of golden .keras `name` with config.json edited, members dropped or replaced.
Bytes edited_keras(const std::string& name, const std::function<void(json&)>& edit_config,
                   const std::set<std::string>& drop = {}, const std::map<std::string, Bytes>& replace = {}) {
  auto members = members_of(read_bytes(name));
  if (edit_config) {
    const Bytes& text = members.at("config.json");
    json config = json::parse(text.begin(), text.end());
    edit_config(config);
    const std::string out = config.dump();
    members["config.json"] = Bytes(out.begin(), out.end());
  }
  for (const auto& d : drop) members.erase(d);
  for (const auto& [k, v] : replace) members[k] = v;
  return archive_of(members);
}

// The layer entries of a Sequential config (Keras 3 and tf_keras alike).
json& layers_of(json& config) { return config.at("config").at("layers"); }

json& first_of_class(json& config, const std::string& cls) {
  for (auto& l : layers_of(config))
    if (l.at("class_name") == cls) return l;
  throw std::runtime_error("no " + cls + " in config");
}

std::unique_ptr<Model<float>> load(const Bytes& bytes, const std::string& where = "broken.keras") {
  return load_model_from_memory<float>(bytes, where);
}

TEST(BrokenFiles, MissingFileIsIoError) {
  EXPECT_TRUE(mentions(error_of<IoError>([] { load_model<float>(files_dir() + "/no_such_model.keras"); }),
                       {"no_such_model.keras"}));
}

TEST(BrokenFiles, WrongMagic) {
  const std::string gif = "GIF89a not a model at all";
  EXPECT_TRUE(mentions(error_of<FormatError>([&] { load(Bytes(gif.begin(), gif.end()), "x.keras"); }),
                       {"x.keras", "not a Keras model file", "47 49 46 38"}));
  EXPECT_TRUE(mentions(error_of<FormatError>([&] { load(Bytes{}, "empty.h5"); }), {"empty.h5", "an empty file"}));
  EXPECT_TRUE(mentions(error_of<FormatError>([&] { inspect_keras_file_in_memory(Bytes(gif.begin(), gif.end())); }),
                       {"not a Keras model file"}));
}

TEST(BrokenFiles, TruncatedArchive) {
  const Bytes good = read_bytes("lstm_dense.k3.keras");
  for (size_t keep : {good.size() / 2, good.size() - 10, size_t{100}}) {
    const Bytes cut(good.begin(), good.begin() + static_cast<long>(keep));
    EXPECT_TRUE(mentions(error_of<FormatError>([&] { load(cut); }), {"zip archive broken.keras"})) << keep;
  }
}

TEST(BrokenFiles, CorruptedMemberFailsItsChecksum) {
  Bytes bytes = read_bytes("lstm_dense.k3.keras");
  const std::string needle = "\"units\"";
  auto it = std::search(bytes.begin(), bytes.end(), needle.begin(), needle.end());
  ASSERT_NE(it, bytes.end());
  *(it + 1) = 'U';  // stored member: the CRC-32 no longer matches
  EXPECT_TRUE(mentions(error_of<FormatError>([&] { load(bytes); }), {"zip archive broken.keras", "CRC"}));
}

TEST(BrokenFiles, TruncatedHdf5) {
  const Bytes good = read_bytes("lstm_dense.tfk.h5");
  const Bytes cut(good.begin(), good.begin() + static_cast<long>(good.size() * 6 / 10));
  EXPECT_TRUE(mentions(error_of<FormatError>([&] { load(cut, "cut.h5"); }), {"cut.h5"}));
  // The same inside a .keras archive.
  auto members = members_of(read_bytes("lstm_dense.k3.keras"));
  Bytes& w = members.at("model.weights.h5");
  w.resize(w.size() / 2);
  EXPECT_TRUE(mentions(error_of<FormatError>([&] { load(archive_of(members)); }), {"broken.keras: model.weights.h5"}));
}

TEST(BrokenFiles, MissingMembers) {
  EXPECT_TRUE(
      mentions(error_of<FormatError>([] { load(edited_keras("lstm_dense.k3.keras", nullptr, {"config.json"})); }),
               {"broken.keras", "no config.json"}));
  EXPECT_TRUE(
      mentions(error_of<FormatError>([] { load(edited_keras("lstm_dense.k3.keras", nullptr, {"model.weights.h5"})); }),
               {"broken.keras", "no model.weights.h5", "weights are missing"}));
  // Without metadata.json the Keras version is unknown: an error unless the caller gives it.
  const Bytes no_meta = edited_keras("lstm_dense.k3.keras", nullptr, {"metadata.json"});
  EXPECT_TRUE(mentions(error_of<FormatError>([&] { load(no_meta); }), {"keras_version", "LoadOptions"}));
  EXPECT_NO_THROW(load_model_from_memory<float>(no_meta, "m", LoadOptions{"3.15.1"}));
}

TEST(BrokenFiles, ConfigIsNotJson) {
  auto members = members_of(read_bytes("lstm_dense.k3.keras"));
  const std::string junk = "{\"class_name\": \"Sequential\", ";
  members["config.json"] = Bytes(junk.begin(), junk.end());
  EXPECT_TRUE(
      mentions(error_of<FormatError>([&] { load(archive_of(members)); }), {"config.json", "not a JSON object"}));
}

// Nesting beyond detail::kMaxJsonDepth (found by tests/fuzz/keras_config_fuzz: dump() in an
// error message overflowed the stack) is refused while parsing a .keras file's config too.
TEST(BrokenFiles, ConfigNestedTooDeep) {
  auto members = members_of(read_bytes("lstm_dense.k3.keras"));
  const std::string deep =
      "{\"class_name\": \"Sequential\", \"x\": " + std::string(40000, '[') + std::string(40000, ']') + "}";
  members["config.json"] = Bytes(deep.begin(), deep.end());
  EXPECT_TRUE(mentions(error_of<FormatError>([&] { load(archive_of(members)); }),
                       {"config.json", "not a JSON object", "more than 128 levels"}));
}

TEST(BrokenFiles, ConfigContradictsWeightShapes) {
  const Bytes bytes =
      edited_keras("lstm_dense.k3.keras", [](json& c) { first_of_class(c, "LSTM").at("config")["units"] = 4; });
  EXPECT_TRUE(mentions(error_of<FormatError>([&] { load(bytes); }),
                       {"broken.keras: model.weights.h5", "LSTM 'lstm'", "weight 'kernel'", "[4, 12]",
                        "expected [4, 16]", "/layers/lstm/cell/vars/0"}));
  // A GRU file read with the other reset_after: the bias shapes disagree.
  const Bytes gru = edited_keras("gru_before.tfk.keras",
                                 [](json& c) { first_of_class(c, "GRU").at("config")["reset_after"] = true; });
  EXPECT_TRUE(
      mentions(error_of<FormatError>([&] { load(gru); }), {"GRU 'gru'", "weight 'bias'", "[9]", "expected [2, 9]"}));
}

TEST(BrokenFiles, LegacyWeightsContradictingTheModelLeaveItUnchanged) {
  json config = json::parse(inspect_keras_file(files_dir() + "/lstm_dense.tfk.h5").model_config);
  first_of_class(config, "LSTM").at("config")["units"] = 4;
  auto model = model_from_config<float>(config.dump(), "2.21.0");
  const auto before = model->get_weights();
  EXPECT_TRUE(mentions(error_of<FormatError>([&] { load_weights(*model, files_dir() + "/lstm_dense.tfk_weights.h5"); }),
                       {"lstm_dense.tfk_weights.h5", "LSTM 'lstm'", "weight 'kernel'", "[4, 12]", "expected [4, 16]"}));
  const auto after = model->get_weights();
  ASSERT_EQ(before.size(), after.size());
  for (size_t i = 0; i < before.size(); ++i) EXPECT_EQ(before[i].storage(), after[i].storage()) << i;
}

TEST(BrokenFiles, LayerCountMismatch) {
  // One more weighted layer than the file has weights for.
  const Bytes extra = edited_keras("lstm_dense.k3.keras", [](json& c) {
    json dense = first_of_class(c, "Dense");
    dense["config"]["name"] = "dense_extra";
    layers_of(c).push_back(dense);
  });
  EXPECT_TRUE(mentions(error_of<FormatError>([&] { load(extra); }),
                       {"Dense 'dense_extra'", "'/layers/dense_1/vars' is missing"}));
  // One fewer: the file's Dense weights have no layer to go to.
  const Bytes fewer = edited_keras("lstm_dense.k3.keras", [](json& c) { layers_of(c).erase(layers_of(c).size() - 1); });
  EXPECT_TRUE(
      mentions(error_of<FormatError>([&] { load(fewer); }), {"'/layers/dense' holds weights", "layer count mismatch"}));
  // Legacy positional loading counts layers the same way.
  json config = json::parse(inspect_keras_file(files_dir() + "/lstm_dense.tfk.h5").model_config);
  json dense = first_of_class(config, "Dense");
  dense["config"]["name"] = "dense_extra";
  layers_of(config).push_back(dense);
  auto model = model_from_config<float>(config.dump(), "2.21.0");
  EXPECT_TRUE(mentions(error_of<FormatError>([&] { load_weights(*model, files_dir() + "/lstm_dense.tfk_weights.h5"); }),
                       {"layer count mismatch", "the model has 3 layers with weights", "the file 2"}));
}

TEST(BrokenFiles, UnknownLayerClass) {
  const Bytes bytes =
      edited_keras("lstm_dense.k3.keras", [](json& c) { first_of_class(c, "LSTM")["class_name"] = "FancyLSTM"; });
  EXPECT_TRUE(mentions(error_of<ConfigError>([&] { load(bytes); }), {"FancyLSTM 'lstm'", "unknown Keras layer class"}));
}

TEST(BrokenFiles, UnsupportedArgument) {
  // time_major is a tf.keras argument; Keras 3 refuses the key (spec §3.1).
  const Bytes tm = edited_keras("lstm_dense.k3.keras",
                                [](json& c) { first_of_class(c, "LSTM").at("config")["time_major"] = false; });
  EXPECT_TRUE(mentions(error_of<ConfigError>([&] { load(tm); }),
                       {"LSTM 'lstm'", "argument 'time_major'", "Unrecognized keyword arguments"}));
  const Bytes odd =
      edited_keras("lstm_dense.k3.keras", [](json& c) { first_of_class(c, "LSTM").at("config")["peephole_size"] = 3; });
  EXPECT_TRUE(mentions(error_of<ConfigError>([&] { load(odd); }), {"LSTM 'lstm'", "argument 'peephole_size'"}));
}

TEST(BrokenFiles, AbsurdDimensionsFailBeforeAllocating) {
  const auto start = std::chrono::steady_clock::now();
  const Bytes units = edited_keras("lstm_dense.k3.keras",
                                   [](json& c) { first_of_class(c, "LSTM").at("config")["units"] = 1000000000000LL; });
  EXPECT_TRUE(mentions(error_of<ConfigError>([&] { load(units); }),
                       {"LSTM 'lstm'", "argument 'units'", "1000000000000", "absurd"}));
  const Bytes dense =
      edited_keras("lstm_dense.k3.keras", [](json& c) { first_of_class(c, "Dense").at("config")["units"] = 1e12; });
  EXPECT_TRUE(mentions(error_of<ConfigError>([&] { load(dense); }), {"Dense 'dense'", "argument 'units'", "absurd"}));
  const Bytes vocab = edited_keras("embedding_lstm.k3.keras", [](json& c) {
    first_of_class(c, "Embedding").at("config")["input_dim"] = 4000000000LL;
  });
  EXPECT_TRUE(mentions(error_of<ConfigError>([&] { load(vocab); }), {"Embedding 'embedding'", "argument 'input_dim'"}));
  const Bytes features = edited_keras("lstm_dense.k3.keras", [](json& c) {
    first_of_class(c, "InputLayer").at("config")["batch_shape"] = json::array({nullptr, 5, 1000000000000LL});
  });
  EXPECT_TRUE(mentions(error_of<ConfigError>([&] { load(features); }), {"batch_shape", "absurd"}));
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(5));
}

TEST(BrokenFiles, DatasetOfTheWrongType) {
  for (const auto& [file, what] :
       std::vector<std::pair<std::string, std::string>>{{"broken_int_dataset.weights.h5", "holds integers"},
                                                        {"broken_string_dataset.weights.h5", "holds strings"}}) {
    const Bytes bytes = edited_keras("lstm_dense.k3.keras", nullptr, {}, {{"model.weights.h5", read_bytes(file)}});
    EXPECT_TRUE(mentions(
        error_of<FormatError>([&] { load(bytes); }),
        {"LSTM 'lstm'", "weight 'kernel'", "/layers/lstm/cell/vars/0", what, "expected floating-point weights"}));
  }
}

TEST(BrokenFiles, MissingDataset) {
  const Bytes bytes = edited_keras("lstm_dense.k3.keras", nullptr, {},
                                   {{"model.weights.h5", read_bytes("broken_missing_dataset.weights.h5")}});
  EXPECT_TRUE(mentions(error_of<FormatError>([&] { load(bytes); }),
                       {"LSTM 'lstm'", "weight 'recurrent_kernel'", "/layers/lstm/cell/vars/1", "is missing"}));
  // load_weights from the bare weights file: same error, model unchanged.
  const KerasFileInfo info = inspect_keras_file(files_dir() + "/lstm_dense.k3.keras");
  auto model = model_from_config<float>(info.model_config, info.keras_version);
  const auto before = model->get_weights();
  EXPECT_TRUE(
      mentions(error_of<FormatError>([&] { load_weights(*model, files_dir() + "/broken_missing_dataset.weights.h5"); }),
               {"weight 'recurrent_kernel'", "is missing"}));
  for (size_t i = 0; i < before.size(); ++i) EXPECT_EQ(before[i].storage(), model->get_weights()[i].storage());
}

TEST(BrokenFiles, CudnnGruWeightsNeedResetAfter) {
  json config = json::parse(inspect_keras_file(files_dir() + "/cudnn.tfk.h5").model_config);
  for (auto& l : layers_of(config)) {
    if (l.at("class_name") == "CuDNNLSTM") l["class_name"] = "LSTM";
    if (l.at("class_name") == "CuDNNGRU") {
      l["class_name"] = "GRU";
      l["config"]["reset_after"] = false;
    }
  }
  auto model = model_from_config<float>(config.dump(), "2.21.0");
  EXPECT_TRUE(mentions(error_of<FormatError>([&] { load_weights(*model, files_dir() + "/cudnn.tfk.h5"); }),
                       {"GRU 'cu_dnngru'", "CuDNNGRU weights", "reset_after=True"}));
}

}  // namespace
}  // namespace rnnx::testing
