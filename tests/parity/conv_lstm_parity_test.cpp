// Keras goldens of the conv_lstm family (tests/data/parity/conv_lstm,
// python/oracle/conv_lstm_cases.py) in float AND double: layer cases replay every call
// (mask, initial_state, Keras' own dropout masks, stateful resets) in training mode, then
// backpropagate Keras' upstream gradients and compare dL/dx, dL/d initial_state and every
// dL/d weight with TensorFlow's; model cases (the tiny next-frame predictor, ConvLSTM1D ->
// LSTM) run forward from their config and from the Keras 3 `.keras` file saved with them,
// and an rnnx re-save of that file predicts the same. parity_test.cpp runs them forward in
// float too.
#include <gtest/gtest.h>

#include <cctype>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "rnnx/io/keras_config.h"
#include "rnnx/io/model_file.h"
#include "rnnx/io/npy.h"
#include "rnnx/io/save_model.h"
#include "rnnx/layers/conv_lstm.h"
#include "rnnx/model/model.h"
#include "support/close.h"
#include "support/golden.h"

namespace rnnx::testing {
namespace {

constexpr Tolerance kTolerance{1e-5, 1e-4};

struct Case {
  std::string path;
  nlohmann::json doc;
  std::map<std::string, NpyArray> arrays;
};

Case load_case(const std::string& path) {
  Case c{path, {}, {}};
  std::ifstream in(path);
  c.doc = nlohmann::json::parse(in);
  c.arrays = read_npz(path.substr(0, path.size() - 5) + ".npz");
  return c;
}

template <class T>
Tensor<T> array(const Case& c, const nlohmann::json& key) {
  return c.arrays.at(key.get<std::string>()).as<T>();
}

template <class T>
std::vector<Tensor<T>> arrays(const Case& c, const nlohmann::json& keys) {
  std::vector<Tensor<T>> out;
  if (keys.is_array())
    for (const auto& k : keys) out.push_back(array<T>(c, k));
  return out;
}

template <class T>
std::vector<Tensor<T>> weights(const Case& c) {
  std::vector<Tensor<T>> ws;
  for (int i = 0; i < c.doc["num_weights"].get<int>(); ++i)
    ws.push_back(c.arrays.at(std::string("w").append(std::to_string(i))).as<T>());
  return ws;
}

template <class T>
void run_layer(const Case& c) {
  auto layer = layer_from_config<T>(c.doc["layer"].dump(), c.doc["keras_version"].get<std::string>());
  auto* rnn = dynamic_cast<ConvLSTM<T>*>(layer.get());
  ASSERT_NE(rnn, nullptr) << "not a ConvLSTM layer: " << layer->class_name();
  const auto& calls = c.doc["calls"];
  layer->build({array<T>(c, calls[0]["inputs"][0]).shape()});
  layer->set_weights(weights<T>(c));
  LayerOutputs<T> out;
  std::vector<Tensor<T>> states;
  for (size_t ci = 0; ci < calls.size(); ++ci) {
    const auto& call = calls[ci];
    SCOPED_TRACE("call " + std::to_string(ci));
    if (call["reset_states_before"].get<bool>()) layer->reset_states();
    if (call["dropout_masks"].is_object())
      rnn->set_fixed_dropout_masks(arrays<T>(c, call["dropout_masks"]["input"]),
                                   arrays<T>(c, call["dropout_masks"]["recurrent"]));
    const Tensor<T> x = array<T>(c, call["inputs"][0]);
    states = arrays<T>(c, call["initial_state"]);
    Mask mask;
    if (!call["mask"].is_null()) mask = c.arrays.at(call["mask"].get<std::string>()).template as<uint8_t>();
    LayerInputs<T> in;
    in.inputs.push_back(&x);
    if (!mask.empty()) in.mask = &mask;
    for (const auto& s : states) in.initial_state.push_back(&s);
    in.mode = call["training"].get<bool>() ? Mode::training : Mode::inference;
    out = layer->call(in);
    ASSERT_EQ(out.outputs.size(), call["outputs"].size());
    for (size_t i = 0; i < out.outputs.size(); ++i)
      EXPECT_TRUE(all_close(out.outputs[i], array<float>(c, call["outputs"][i]), kTolerance,
                            std::string("y").append(std::to_string(i))));
    if (!c.doc.contains("gradients")) layer->clear_tape();
  }
  if (!c.doc.contains("gradients")) return;
  const auto& gd = c.doc["gradients"];
  layer->zero_grads();
  const LayerGrads<T> grads = layer->backward(arrays<T>(c, gd["gy"]));
  EXPECT_TRUE(all_close(grads.inputs.at(0), array<float>(c, gd["gx"]), kTolerance, "dx"));
  ASSERT_EQ(grads.initial_state.size(), gd["gs"].size());
  for (size_t i = 0; i < grads.initial_state.size(); ++i)
    EXPECT_TRUE(all_close(grads.initial_state[i], array<float>(c, gd["gs"][i]), kTolerance, "d state"));
  const auto params = layer->params();
  ASSERT_EQ(params.size(), gd["gw"].size());
  for (size_t i = 0; i < params.size(); ++i)
    EXPECT_TRUE(all_close(*params[i].grad, array<float>(c, gd["gw"][i]), kTolerance, "d " + params[i].name));
}

template <class T>
void run_model(const Case& c) {
  const auto& call = c.doc["calls"][0];
  const Tensor<T> x = array<T>(c, call["inputs"][0]);
  const Tensor<float> want = array<float>(c, call["outputs"][0]);
  auto model = model_from_config<T>(c.doc["model"].dump(), c.doc["keras_version"].get<std::string>());
  model->build({x.shape()});
  model->set_weights(weights<T>(c));
  EXPECT_TRUE(all_close(model->predict({x})[0], want, kTolerance, "y from config"));
  const std::string file =
      std::filesystem::path(c.path).parent_path().string() + "/" + c.doc["keras_file"].get<std::string>();
  auto loaded = load_model<T>(file);
  EXPECT_TRUE(all_close(loaded->predict({x})[0], want, kTolerance, "y from the Keras 3 file"));
  const std::string resaved =
      (std::filesystem::temp_directory_path() / ("rnnx_conv_lstm_" + c.doc["case"].get<std::string>() + ".keras"))
          .string();
  save_model(*loaded, resaved);
  EXPECT_TRUE(all_close(load_model<T>(resaved)->predict({x})[0], want, kTolerance, "y from the rnnx re-save"));
  std::filesystem::remove(resaved);
}

class ConvLSTMGoldens : public ::testing::TestWithParam<std::string> {};

TEST_P(ConvLSTMGoldens, FloatAndDouble) {
  const Case c = load_case(GetParam());
  SCOPED_TRACE(GetParam());
  const bool model = c.doc["kind"] == "model";
  {
    SCOPED_TRACE("float");
    model ? run_model<float>(c) : run_layer<float>(c);
  }
  {
    SCOPED_TRACE("double");
    model ? run_model<double>(c) : run_layer<double>(c);
  }
}

std::vector<std::string> conv_lstm_cases() { return find_golden_cases(parity_data_dir() + "/conv_lstm"); }

std::string case_name(const ::testing::TestParamInfo<std::string>& info) {
  std::string s = info.param.substr(info.param.find_last_of('/') + 1);
  s = s.substr(0, s.size() - 5);
  for (char& ch : s)
    if (!std::isalnum(static_cast<unsigned char>(ch))) ch = '_';
  return s;
}

INSTANTIATE_TEST_SUITE_P(Keras, ConvLSTMGoldens, ::testing::ValuesIn(conv_lstm_cases()), case_name);

TEST(ConvLSTMGoldensPresent, FamilyHasCases) { EXPECT_GE(conv_lstm_cases().size(), 20u); }

}  // namespace
}  // namespace rnnx::testing
