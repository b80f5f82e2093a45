// Real Keras model files (tests/data/files, written by python/oracle/file_cases.py): each is
// loaded as its cases.json entry says (load_model, or model_from_config + load_weights for
// weights-only files), its kind is detected from the content, and the model reproduces
// Keras's predictions (1e-5) for every recorded call, in float and in double.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cctype>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <tuple>
#include <vector>

#include "rnnx/core/error.h"
#include "rnnx/io/keras_config.h"
#include "rnnx/io/model_file.h"
#include "rnnx/io/npy.h"
#include "support/close.h"

namespace rnnx::testing {
namespace {

namespace fs = std::filesystem;

constexpr Tolerance kTolerance{1e-5, 0.0};

std::string files_dir() { return std::string(RNNX_TEST_DATA_DIR) + "/files"; }

struct FileCase {
  std::string file, arch, writer, kind, load, npz, keras_version, notes, config;
  std::string file_keras_version;  // what the file records (differs only for the Keras 1 layout)
};

void PrintTo(const FileCase& c, std::ostream* os) { *os << c.file; }

std::vector<FileCase> read_cases() {
  std::ifstream in(files_dir() + "/cases.json");
  if (!in) return {};
  const nlohmann::json doc = nlohmann::json::parse(in);
  std::vector<FileCase> out;
  for (const auto& c : doc.at("cases")) {
    FileCase f;
    f.file = c.at("file");
    f.arch = c.at("arch");
    f.writer = c.at("writer");
    f.kind = c.at("kind");
    f.load = c.at("load");
    f.npz = c.at("npz");
    f.keras_version = c.at("keras_version");
    f.notes = c.at("notes");
    if (c.contains("config")) f.config = c.at("config");
    f.file_keras_version = c.value("file_keras_version", f.keras_version);
    out.push_back(f);
  }
  return out;
}

// The recorded calls: inputs c<i>_x<j> and Keras outputs c<i>_y<j>.
template <class T>
struct Call {
  std::vector<Tensor<T>> inputs;
  std::vector<Tensor<float>> outputs;
};

template <class T>
std::vector<Call<T>> read_calls(const std::string& npz) {
  const auto arrays = read_npz(files_dir() + "/" + npz);
  std::vector<Call<T>> calls;
  for (int c = 0;; ++c) {
    std::string prefix(1, 'c');  // appended, not "c" + ...: GCC 12 -Wrestrict false positive
    prefix += std::to_string(c) + "_";
    if (!arrays.count(prefix + "x0")) break;
    Call<T> call;
    for (int j = 0; arrays.count(prefix + "x" + std::to_string(j)); ++j)
      call.inputs.push_back(arrays.at(prefix + "x" + std::to_string(j)).template as<T>());
    for (int j = 0; arrays.count(prefix + "y" + std::to_string(j)); ++j)
      call.outputs.push_back(arrays.at(prefix + "y" + std::to_string(j)).template as<float>());
    calls.push_back(std::move(call));
  }
  return calls;
}

template <class T>
std::unique_ptr<Model<T>> load(const FileCase& c) {
  const std::string path = files_dir() + "/" + c.file;
  if (c.load == "model") return load_model<T>(path);
  auto model = model_from_config<T>(c.config, c.keras_version);
  load_weights(*model, path);
  return model;
}

template <class T>
void check_predictions(const FileCase& c) {
  SCOPED_TRACE(c.file + " (" + c.notes + ")");
  std::unique_ptr<Model<T>> model = load<T>(c);
  const auto calls = read_calls<T>(c.npz);
  ASSERT_FALSE(calls.empty());
  for (size_t i = 0; i < calls.size(); ++i) {
    const std::vector<Tensor<T>> got = model->predict(calls[i].inputs);
    ASSERT_EQ(got.size(), calls[i].outputs.size()) << "call " << i;
    for (size_t j = 0; j < got.size(); ++j)
      EXPECT_TRUE(all_close(got[j], calls[i].outputs[j], kTolerance,
                            "call " + std::to_string(i) + " output " + std::to_string(j)));
  }
}

class KerasFile : public ::testing::TestWithParam<FileCase> {};

TEST_P(KerasFile, KindIsDetectedFromContent) {
  const FileCase& c = GetParam();
  const KerasFileInfo info = inspect_keras_file(files_dir() + "/" + c.file);
  EXPECT_EQ(to_string(info.kind), c.kind);
  if (c.kind != "keras_weights") {
    EXPECT_EQ(info.keras_version, c.file_keras_version);
  }
  EXPECT_EQ(info.model_config.empty(), c.load == "weights");
}

TEST_P(KerasFile, PredictsLikeKerasFloat) { check_predictions<float>(GetParam()); }

TEST_P(KerasFile, PredictsLikeKerasDouble) { check_predictions<double>(GetParam()); }

std::string case_name(const ::testing::TestParamInfo<FileCase>& info) {
  std::string s = info.param.file;
  for (char& ch : s)
    if (!std::isalnum(static_cast<unsigned char>(ch))) ch = '_';
  return s;
}

INSTANTIATE_TEST_SUITE_P(Files, KerasFile, ::testing::ValuesIn(read_cases()), case_name);

TEST(KerasFiles, GoldenSetIsComplete) {
  const auto cases = read_cases();
  ASSERT_GE(cases.size(), 40u) << "tests/data/files/cases.json is missing or short";
  std::map<std::string, int> kinds;
  for (const auto& c : cases) ++kinds[c.kind];
  for (const char* k : {"keras_archive", "legacy_model", "legacy_weights", "keras_weights"})
    EXPECT_GT(kinds[k], 0) << "no golden of kind " << k;
  // Standalone Keras 2.2.4 / 2.3.1 files (h5py imitations, python/oracle/k2_file_cases.py).
  std::map<std::string, int> writers;
  for (const auto& c : cases) ++writers[c.writer];
  for (const char* w : {"k2_224_h5", "k2_231_h5", "k2_weights"})
    EXPECT_GE(writers[w], 1) << "no golden written as " << w;
  EXPECT_GE(writers["k2_224_h5"] + writers["k2_231_h5"], 12);
}

// Weights-only files must not load as models: they have no architecture.
TEST(KerasFiles, WeightsOnlyFileIsNotAModel) {
  for (const char* f : {"lstm_dense.tfk_weights.h5", "lstm_dense.k3.weights.h5"}) {
    try {
      load_model<float>(files_dir() + "/" + f);
      ADD_FAILURE() << f << " loaded as a model";
    } catch (const FormatError& e) {
      EXPECT_NE(std::string(e.what()).find("no model architecture"), std::string::npos) << e.what();
      EXPECT_NE(std::string(e.what()).find("load_weights"), std::string::npos) << e.what();
    }
  }
}

// The extension plays no part: a .keras archive and a legacy file under swapped names, and
// the same bytes from memory, load alike.
TEST(KerasFiles, ExtensionIsIgnored) {
  const fs::path tmp = fs::temp_directory_path() / ("rnnx_io_ext_" + std::to_string(::getpid()));
  fs::create_directories(tmp);
  fs::copy_file(files_dir() + "/lstm_dense.k3.keras", tmp / "really_a_keras.h5", fs::copy_options::overwrite_existing);
  fs::copy_file(files_dir() + "/lstm_dense.tfk.h5", tmp / "really_an_h5.keras", fs::copy_options::overwrite_existing);
  const auto calls = read_calls<float>("lstm_dense.k3.npz");
  const auto a = load_model<float>((tmp / "really_a_keras.h5").string());
  EXPECT_TRUE(all_close(a->predict(calls[0].inputs)[0], calls[0].outputs[0], kTolerance));
  const auto b = load_model<float>((tmp / "really_an_h5.keras").string());
  const auto tfk_calls = read_calls<float>("lstm_dense.tfk.npz");
  EXPECT_TRUE(all_close(b->predict(tfk_calls[0].inputs)[0], tfk_calls[0].outputs[0], kTolerance));
  EXPECT_EQ(inspect_keras_file((tmp / "really_an_h5.keras").string()).kind, KerasFileKind::legacy_model);
  fs::remove_all(tmp);

  std::ifstream in(files_dir() + "/lstm_dense.k3.keras", std::ios::binary);
  const std::vector<uint8_t> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const auto c = load_model_from_memory<float>(bytes, "memory");
  EXPECT_TRUE(all_close(c->predict(calls[0].inputs)[0], calls[0].outputs[0], kTolerance));
}

// load_weights fills a model built from the config: the predictions change from the
// config's random initial weights to Keras's.
TEST(KerasFiles, LoadWeightsReplacesInitialWeights) {
  const auto cases = read_cases();
  for (const auto& c : cases) {
    if (c.load != "weights") continue;
    SCOPED_TRACE(c.file);
    auto model = model_from_config<float>(c.config, c.keras_version);
    const auto calls = read_calls<float>(c.npz);
    EXPECT_FALSE(all_close(model->predict(calls[0].inputs)[0], calls[0].outputs[0], kTolerance));
    load_weights(*model, files_dir() + "/" + c.file);
    EXPECT_TRUE(all_close(model->predict(calls[0].inputs)[0], calls[0].outputs[0], kTolerance));
  }
}

// Every kind of file can feed load_weights: .keras archives and full legacy files too.
TEST(KerasFiles, LoadWeightsFromModelFiles) {
  for (const auto& [file, npz] : std::vector<std::pair<std::string, std::string>>{
           {"enc_dec.k3.keras", "enc_dec.k3.npz"}, {"enc_dec.tfk.h5", "enc_dec.tfk.npz"}}) {
    SCOPED_TRACE(file);
    const KerasFileInfo info = inspect_keras_file(files_dir() + "/" + file);
    auto model = model_from_config<float>(info.model_config, info.keras_version);
    load_weights(*model, files_dir() + "/" + file);
    const auto calls = read_calls<float>(npz);
    EXPECT_TRUE(all_close(model->predict(calls[0].inputs)[0], calls[0].outputs[0], kTolerance));
  }
}

// Legacy HDF5 weights load by position, as Keras's load_weights does: the standalone Keras
// 2.3.1 file's layers (lstm_1, dense_1) fill a tf_keras config's (lstm, dense); tf_keras
// itself so loaded reproduces the K2 predictions (checked by python/oracle/k2_file_cases.py).
TEST(KerasFiles, K2WeightsLoadByPosition) {
  std::string config;
  for (const auto& c : read_cases())
    if (c.file == "lstm_dense.tfk_weights.h5") config = c.config;
  ASSERT_FALSE(config.empty()) << "cases.json lacks lstm_dense.tfk_weights.h5";
  ASSERT_NE(config.find("\"name\": \"lstm\""), std::string::npos);
  auto model = model_from_config<float>(config, "2.21.0");
  load_weights(*model, files_dir() + "/lstm_dense.k2_231.h5");
  const auto calls = read_calls<float>("lstm_dense.k2_231.npz");
  EXPECT_TRUE(all_close(model->predict(calls[0].inputs)[0], calls[0].outputs[0], kTolerance));
}

// tf.keras 2.13-era weights keep the layer list under _layer_checkpoint_dependencies/
// (variant_ckptdeps.weights.h5: lstm_dense.k3.keras's weights so renamed).
TEST(KerasFiles, LayerCheckpointDependenciesLayout) {
  const std::string file = files_dir() + "/variant_ckptdeps.weights.h5";
  EXPECT_EQ(inspect_keras_file(file).kind, KerasFileKind::keras_weights);
  const KerasFileInfo info = inspect_keras_file(files_dir() + "/lstm_dense.k3.keras");
  auto model = model_from_config<float>(info.model_config, info.keras_version);
  load_weights(*model, file);
  const auto calls = read_calls<float>("lstm_dense.k3.npz");
  EXPECT_TRUE(all_close(model->predict(calls[0].inputs)[0], calls[0].outputs[0], kTolerance));
}

// The Keras version recorded in the file decides version semantics (spec §5): the same
// hard_sigmoid model read as the other major version gives other numbers.
TEST(KerasFiles, FileVersionDecidesHardSigmoid) {
  // Except that a tf.keras file read as Keras 3 is refused, as Keras 3 refuses it: its
  // recurrent layers carry time_major, an argument Keras 3 does not know (spec §3.1, §9).
  EXPECT_THROW(load_model<float>(files_dir() + "/hard_sigmoid.tfk.h5", LoadOptions{"3.15.1"}), ConfigError);
  for (const auto& [file, npz, other] : std::vector<std::tuple<std::string, std::string, std::string>>{
           {"hard_sigmoid.k3.keras", "hard_sigmoid.k3.npz", "2.21.0"},
           {"lstm_dense.k2_224.h5", "lstm_dense.k2_224.npz", "3.15.1"}}) {
    SCOPED_TRACE(file);
    const auto calls = read_calls<float>(npz);
    const auto own = load_model<float>(files_dir() + "/" + file);
    EXPECT_TRUE(all_close(own->predict(calls[0].inputs)[0], calls[0].outputs[0], kTolerance));
    const auto swapped = load_model<float>(files_dir() + "/" + file, LoadOptions{other});
    EXPECT_FALSE(all_close(swapped->predict(calls[0].inputs)[0], calls[0].outputs[0], kTolerance));
  }
}

}  // namespace
}  // namespace rnnx::testing
