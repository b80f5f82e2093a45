// ConvLSTM1D / ConvLSTM2D configs and files written by rnnx:
//  - every conv_lstm layer golden's Keras config, loaded and written back by rnnx, equals
//    Keras' own config key for key (so Keras 3 reads what rnnx writes);
//  - the conv_lstm model goldens (Keras 3 `.keras` files) re-saved by rnnx with a test
//    vector load back in rnnx with Keras' predictions. With RNNX_CONV_LSTM_WRITE_DIR set,
//    the files are kept there, for python/oracle/verify_rnnx_files.py (Keras 3 loads them
//    and checks the test vectors).
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "rnnx/io/keras_config.h"
#include "rnnx/io/model_file.h"
#include "rnnx/io/npy.h"
#include "rnnx/io/save_model.h"
#include "rnnx/model/model.h"
#include "support/close.h"
#include "support/golden.h"

namespace rnnx::testing {
namespace {

nlohmann::json read_json(const std::string& path) {
  std::ifstream in(path);
  return nlohmann::json::parse(in);
}

TEST(ConvLSTMFiles, LayerConfigsRoundTripAsKerasWritesThem) {
  const auto cases = find_golden_cases(parity_data_dir() + "/conv_lstm");
  ASSERT_FALSE(cases.empty()) << "regenerate with python/make_goldens.py --only conv_lstm";
  int layers = 0;
  for (const auto& path : cases) {
    const nlohmann::json doc = read_json(path);
    if (doc["kind"] != "layer") continue;
    ++layers;
    auto layer = layer_from_config<float>(doc["layer"].dump(), doc["keras_version"].get<std::string>());
    const nlohmann::json written = nlohmann::json::parse(layer_to_keras_json(*layer));
    nlohmann::json keras = doc["layer"];
    keras.erase("build_config");
    EXPECT_EQ(written, keras) << path;
  }
  EXPECT_GE(layers, 15);
}

TEST(ConvLSTMFiles, ModelFilesResavedByRnnxPredictKerasNumbers) {
  const char* keep = std::getenv("RNNX_CONV_LSTM_WRITE_DIR");
  const std::filesystem::path dir = keep ? std::filesystem::path(keep) : std::filesystem::temp_directory_path();
  int models = 0;
  for (const auto& path : find_golden_cases(parity_data_dir() + "/conv_lstm")) {
    const nlohmann::json doc = read_json(path);
    if (doc["kind"] != "model") continue;
    ++models;
    SCOPED_TRACE(path);
    const std::string folder = std::filesystem::path(path).parent_path().string();
    auto model = load_model<float>(folder + "/" + doc["keras_file"].get<std::string>());
    const auto arrays = read_npz(path.substr(0, path.size() - 5) + ".npz");
    const Tensor<float> x = arrays.at("c0_x0").as<float>();
    const Tensor<float> want = arrays.at("c0_y0").as<float>();
    const TestVector<float> tv = make_test_vector(*model, {x});
    EXPECT_TRUE(all_close(tv.outputs[0], want, Tolerance{1e-5, 1e-4}, "rnnx prediction"));
    const std::string out = (dir / ("conv_lstm__" + doc["case"].get<std::string>() + ".keras")).string();
    save_model(*model, out, &tv);
    EXPECT_TRUE(all_close(load_model<float>(out)->predict({x})[0], want, Tolerance{1e-5, 1e-4}, "re-loaded"));
    if (!keep) std::filesystem::remove(out);
  }
  EXPECT_EQ(models, 2);
}

}  // namespace
}  // namespace rnnx::testing
