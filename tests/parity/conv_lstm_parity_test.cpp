// Keras goldens of the conv_lstm family (tests/data/parity/conv_lstm,
// python/oracle/conv_lstm_cases.py) in float AND double: layer cases replay every call
// (mask, initial_state, Keras' own dropout masks, stateful resets) in training mode, then
// backpropagate Keras' upstream gradients and compare dL/dx, dL/d initial_state and every
// dL/d weight with TensorFlow's; model cases (the tiny next-frame predictor, ConvLSTM1D ->
// LSTM) run forward from their config and from the Keras 3 `.keras` file saved with them,
// and an rnnx re-save of that file predicts the same. parity_test.cpp runs them forward in
// float too.
#include <gtest/gtest.h>

#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "rnnx/io/keras_config.h"
#include "rnnx/io/model_file.h"
#include "rnnx/io/save_model.h"
#include "rnnx/layers/conv_lstm.h"
#include "rnnx/model/model.h"
#include "support/close.h"
#include "support/golden.h"
#include "support/layer_golden.h"

namespace rnnx::testing {
namespace {

template <class T>
void run_layer(const RawGolden& c) {
  auto layer = layer_from_config<T>(c.doc["layer"].dump(), c.doc["keras_version"].get<std::string>());
  auto* rnn = dynamic_cast<ConvLSTM<T>*>(layer.get());
  ASSERT_NE(rnn, nullptr) << "not a ConvLSTM layer: " << layer->class_name();
  const auto& calls = c.doc["calls"];
  layer->build({c.array<T>(calls[0]["inputs"][0]).shape()});
  layer->set_weights(c.weights<T>());
  LayerOutputs<T> out;
  std::vector<Tensor<T>> states;
  for (size_t ci = 0; ci < calls.size(); ++ci) {
    const auto& call = calls[ci];
    SCOPED_TRACE("call " + std::to_string(ci));
    if (call["reset_states_before"].get<bool>()) layer->reset_states();
    if (call["dropout_masks"].is_object())
      rnn->set_fixed_dropout_masks(c.list<T>(call["dropout_masks"]["input"]),
                                   c.list<T>(call["dropout_masks"]["recurrent"]));
    const Tensor<T> x = c.array<T>(call["inputs"][0]);
    states = c.list<T>(call["initial_state"]);
    Mask mask;
    if (!call["mask"].is_null()) mask = c.arrays.at(call["mask"].get<std::string>()).template as<uint8_t>();
    LayerInputs<T> in;
    in.inputs.push_back(&x);
    if (!mask.empty()) in.mask = &mask;
    for (const auto& s : states) in.initial_state.push_back(&s);
    in.mode = call["training"].get<bool>() ? Mode::training : Mode::inference;
    out = layer->call(in);
    expect_all_close(out.outputs, c.list<T>(call["outputs"]), "y");
    if (!c.doc.contains("gradients")) layer->clear_tape();
  }
  if (!c.doc.contains("gradients")) return;
  const auto& gd = c.doc["gradients"];
  layer->zero_grads();
  const LayerGrads<T> grads = layer->backward(c.list<T>(gd["gy"]));
  EXPECT_TRUE(all_close(grads.inputs.at(0), c.array<T>(gd["gx"]), kGoldenTolerance, "dx"));
  expect_all_close(grads.initial_state, c.list<T>(gd["gs"]), "d state");
  expect_param_grads_close(layer->params(), c.list<T>(gd["gw"]));
}

template <class T>
void run_model(const RawGolden& c) {
  const auto& call = c.doc["calls"][0];
  const Tensor<T> x = c.array<T>(call["inputs"][0]);
  const Tensor<float> want = c.array<float>(call["outputs"][0]);
  auto model = model_from_config<T>(c.doc["model"].dump(), c.doc["keras_version"].get<std::string>());
  model->build({x.shape()});
  model->set_weights(c.weights<T>());
  EXPECT_TRUE(all_close(model->predict({x})[0], want, kGoldenTolerance, "y from config"));
  const std::string file =
      std::filesystem::path(c.path).parent_path().string() + "/" + c.doc["keras_file"].get<std::string>();
  auto loaded = load_model<T>(file);
  EXPECT_TRUE(all_close(loaded->predict({x})[0], want, kGoldenTolerance, "y from the Keras 3 file"));
  const std::string resaved =
      (std::filesystem::temp_directory_path() / ("rnnx_conv_lstm_" + c.doc["case"].get<std::string>() + ".keras"))
          .string();
  save_model(*loaded, resaved);
  EXPECT_TRUE(all_close(load_model<T>(resaved)->predict({x})[0], want, kGoldenTolerance, "y from the rnnx re-save"));
  std::filesystem::remove(resaved);
}

class ConvLSTMGoldens : public ::testing::TestWithParam<std::string> {};

TEST_P(ConvLSTMGoldens, FloatAndDouble) {
  const RawGolden c = load_raw_golden(GetParam());
  SCOPED_TRACE(GetParam());
  const bool model = c.doc["kind"] == "model";
  for_float_and_double([&](auto type) {
    using T = decltype(type);
    model ? run_model<T>(c) : run_layer<T>(c);
  });
}

std::vector<std::string> conv_lstm_cases() { return find_golden_cases(parity_data_dir() + "/conv_lstm"); }

INSTANTIATE_TEST_SUITE_P(Keras, ConvLSTMGoldens, ::testing::ValuesIn(conv_lstm_cases()), golden_param_name);

TEST(ConvLSTMGoldensPresent, FamilyHasCases) { EXPECT_GE(conv_lstm_cases().size(), 20u); }

}  // namespace
}  // namespace rnnx::testing
