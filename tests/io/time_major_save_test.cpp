// Saving a time-major layer (tf.keras time_major, rnn.h) as a Keras 3 .keras file: Keras 3
// has no time_major and rejects the key, so save_model refuses with a ConfigError naming the
// layer, before anything is written.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <memory>
#include <string>

#include "rnnx/core/error.h"
#include "rnnx/io/keras_config.h"
#include "rnnx/io/save_model.h"
#include "rnnx/layers/bidirectional.h"
#include "rnnx/layers/gru.h"
#include "rnnx/layers/lstm.h"
#include "rnnx/model/model.h"

namespace rnnx::testing {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;

// Input [steps (any), batch 3, features 2] -> `layer`.
std::unique_ptr<Model<float>> time_major_model(std::shared_ptr<Layer<float>> layer) {
  auto m = std::make_unique<Model<float>>("tm");
  const auto x = m->input({-1, 3, 2});
  m->set_outputs(m->call(std::move(layer), {x}));
  return m;
}

// save_model(model) throws ConfigError whose message contains `want`, and leaves no file.
void expect_refused(Model<float>& model, const std::string& want) {
  const fs::path dir = fs::temp_directory_path() / ("rnnx_time_major_save_" + std::to_string(::getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir);
  const std::string path = (dir / "m.keras").string();
  try {
    save_model(model, path);
    ADD_FAILURE() << "expected ConfigError";
  } catch (const ConfigError& e) {
    EXPECT_THAT(e.what(), HasSubstr(want));
    EXPECT_THAT(e.what(), HasSubstr("Keras 3 has no time_major"));
  }
  EXPECT_TRUE(fs::is_empty(dir)) << "save_model wrote something";
  fs::remove_all(dir);
}

TEST(TimeMajorSave, RecurrentLayerIsRefusedBeforeAnythingIsWritten) {
  LSTMOptions o;
  o.units = 4;
  o.time_major = true;
  o.return_sequences = true;
  auto lstm = std::make_shared<LSTM<float>>(o, "encoder");
  const auto model = time_major_model(lstm);
  expect_refused(*model, "LSTM 'encoder': Keras 3 has no time_major");
  EXPECT_THROW(layer_to_keras_json<float>(*lstm), ConfigError);
  // The same layer batch-major saves.
  o.time_major = false;
  EXPECT_NO_THROW(save_model_to_memory(*time_major_model(std::make_shared<LSTM<float>>(o, "encoder"))));
}

TEST(TimeMajorSave, BidirectionalAndLoadedTfKerasLayersAreRefused) {
  GRUOptions o;
  o.units = 2;
  o.time_major = true;
  expect_refused(*time_major_model(std::make_shared<Bidirectional<float>>(GRU<float>(o, "gru"))), "GRU 'forward_gru'");
  // A layer read from a tf_keras config with time_major true.
  std::shared_ptr<Layer<float>> loaded = layer_from_config<float>(
      R"({"class_name": "SimpleRNN", "config": {"name": "rnn", "units": 2, "time_major": true}})", "2.21.0");
  expect_refused(*time_major_model(loaded), "SimpleRNN 'rnn'");
}

}  // namespace
}  // namespace rnnx::testing
