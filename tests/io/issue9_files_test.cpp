// Model files of issue 9's composite models (tests/data/files/issue9_file_cases.json, written
// by python/oracle/issue9_file_cases.py): the LSTM autoencoder, the gated Multiply/Subtract
// LSTM, LayerNormalization between LSTMs, GRU -> BatchNormalization -> Dense, Normalization
// -> Rescaling -> LSTM, the attention encoder-decoder, the MultiHeadAttention block over LSTM
// outputs and the ConvLSTM2D next-frame model, each as a Keras 3 `.keras`, a tf_keras `.h5`
// and a tf_keras `.keras` file with the same weights. Every file loads in float and double
// and predicts Keras 3's outputs, and an rnnx re-save loads back to the same predictions
// (Keras 3 loading rnnx's re-saves: tests/data/rnnx_written).
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "rnnx/core/error.h"
#include "rnnx/io/keras_config.h"
#include "rnnx/io/model_file.h"
#include "rnnx/io/npy.h"
#include "rnnx/io/save_model.h"
#include "rnnx/model/model.h"
#include "support/close.h"

namespace rnnx::testing {
namespace {

std::string files_dir() { return std::string(RNNX_TEST_DATA_DIR) + "/files"; }

nlohmann::json index() {
  std::ifstream in(files_dir() + "/issue9_file_cases.json");
  return in ? nlohmann::json::parse(in) : nlohmann::json::object();
}

template <class T>
void check(const std::string& file, const std::string& npz) {
  SCOPED_TRACE(file);
  auto model = load_model<T>(files_dir() + "/" + file);
  const auto arrays = read_npz(files_dir() + "/" + npz);
  std::vector<Tensor<T>> xs;
  std::vector<Tensor<float>> want;
  for (int j = 0; arrays.count("c0_x" + std::to_string(j)); ++j)
    xs.push_back(arrays.at("c0_x" + std::to_string(j)).template as<T>());
  for (int j = 0; arrays.count("c0_y" + std::to_string(j)); ++j)
    want.push_back(arrays.at("c0_y" + std::to_string(j)).template as<float>());
  auto expect_keras = [&](const std::vector<Tensor<T>>& got, const std::string& what) {
    ASSERT_EQ(got.size(), want.size()) << what;
    for (size_t j = 0; j < got.size(); ++j)
      EXPECT_TRUE(all_close(got[j], want[j], Tolerance{1e-5, 1e-4}, what + " output " + std::to_string(j)));
  };
  expect_keras(model->predict(xs), file);
  std::string stem = "rnnx_issue9_";
  stem += sizeof(T) == 4 ? "f_" : "d_";
  const std::string resaved = (std::filesystem::temp_directory_path() / (stem + file + ".keras")).string();
  save_model(*model, resaved);
  expect_keras(load_model<T>(resaved)->predict(xs), "re-saved " + file);
  std::filesystem::remove(resaved);
}

TEST(Issue9Files, KerasAndTfKerasFilesPredictKerasNumbers) {
  const nlohmann::json doc = index();
  ASSERT_TRUE(doc.contains("cases")) << "regenerate with python/make_goldens.py --only issue9_files";
  // 8 architectures x (Keras 3 .keras, tf_keras .h5, tf_keras .keras): tf_keras writes them all.
  ASSERT_EQ(doc.at("cases").size(), 24u);
  EXPECT_TRUE(doc.at("refused").empty()) << doc.at("refused").dump(1);
  for (const auto& c : doc.at("cases")) {
    try {  // every file reports, not only the first that throws
      check<float>(c.at("file"), c.at("npz"));
      check<double>(c.at("file"), c.at("npz"));
    } catch (const std::exception& e) {
      ADD_FAILURE() << c.at("file").get<std::string>() << ": " << e.what();
    }
  }
}

// What tf_keras writes that rnnx accepts only with Keras 3's meaning: the reader refuses the
// other settings with a typed error that names the argument.
void expect_config_error(const std::string& json, const std::string& version, const std::string& needle) {
  try {
    (void)layer_from_config<float>(json, version);
    ADD_FAILURE() << "accepted: " << json;
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
  }
}

TEST(Issue9Files, TfKerasOnlySettingsAreReadOrRefused) {
  const std::string mha = R"({"class_name": "MultiHeadAttention", "config": {"name": "mha", "num_heads": 2,
      "key_dim": 3, "query_shape": [null, 5, 4], "key_shape": [null, 5, 4], "value_shape": [null, 5, 4],
      "softmax_robust_masking": )";
  EXPECT_NO_THROW((void)layer_from_config<float>(mha + "false}}", "2.21.0"));
  expect_config_error(mha + "true}}", "2.21.0", "softmax_robust_masking");
  // Keras 3 has no build shapes in the layer config: its Layer refuses them.
  expect_config_error(R"({"class_name": "MultiHeadAttention", "config": {"name": "mha", "num_heads": 2,
      "key_dim": 3, "key_shape": [null, 5, 4]}})",
                      "3.15.1", "key_shape");
  const std::string conv_lstm = R"({"class_name": "ConvLSTM2D", "config": {"name": "c", "filters": 2,
      "kernel_size": [3, 3], "time_major": )";
  EXPECT_NO_THROW((void)layer_from_config<float>(conv_lstm + "false}}", "2.21.0"));
  expect_config_error(conv_lstm + "true}}", "2.21.0", "time_major");
  expect_config_error(conv_lstm + "false}}", "3.15.1", "time_major");
}

// tf_keras records MultiHeadAttention(query, value) as [query, 0, 0, {"value": [...]}]; the
// keyword is refused on any other layer.
TEST(Issue9Files, ValueKeywordOnlyOnMultiHeadAttention) {
  const std::string model = R"({"class_name": "Functional", "config": {"name": "m",
    "layers": [
      {"class_name": "InputLayer", "name": "a", "config": {"batch_input_shape": [null, 5, 4], "name": "a"},
       "inbound_nodes": []},
      {"class_name": "Attention", "name": "att", "config": {"name": "att"},
       "inbound_nodes": [[["a", 0, 0, {"value": ["a", 0, 0]}]]]}],
    "input_layers": [["a", 0, 0]], "output_layers": [["att", 0, 0]]}})";
  try {
    (void)model_from_config<float>(model, "2.21.0");
    ADD_FAILURE() << "accepted a value keyword on Attention";
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("'value'"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace rnnx::testing
