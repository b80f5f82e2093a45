// Keras goldens of the conv1d and conv2d families (tests/data/parity/conv1d,
// conv2d; python/oracle/conv1d_cases.py, conv2d_cases.py) in float AND double:
// layer cases are called in training mode and backpropagated with Keras'
// upstream gradient gy, comparing the output, dL/dx and every dL/dweight with
// the gradients TensorFlow computed; model cases (composite models, dropped
// masks) are run forward. parity_test.cpp runs the same cases forward in float.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "rnnx/io/keras_config.h"
#include "rnnx/model/model.h"
#include "support/close.h"
#include "support/golden.h"
#include "support/layer_golden.h"

namespace rnnx::testing {
namespace {

template <class T>
void run_layer(const RawGolden &c) {
  auto layer = layer_from_config<T>(c.doc["layer"].dump(), c.doc["keras_version"].get<std::string>());
  const auto &call = c.doc["calls"][0];
  const Tensor<T> x = c.array<T>(call["inputs"][0]);
  layer->build({x.shape()});
  layer->set_weights(c.weights<T>());
  LayerInputs<T> in;
  in.inputs.push_back(&x);
  in.mode = Mode::training;
  const LayerOutputs<T> out = layer->call(in);
  ASSERT_EQ(out.outputs.size(), 1u);
  EXPECT_TRUE(all_close(out.outputs[0], c.array<T>(call["outputs"][0]), kGoldenTolerance, "y"));
  EXPECT_TRUE(out.mask.empty()) << "Keras 3 propagates no mask from " << layer->class_name();
  if (!c.doc.contains("gradients")) {
    layer->clear_tape();
    return;
  }
  const auto &gd = c.doc["gradients"];
  layer->zero_grads();
  const LayerGrads<T> grads = layer->backward({c.array<T>(gd["gy"])});
  EXPECT_TRUE(all_close(grads.inputs.at(0), c.array<T>(gd["gx"]), kGoldenTolerance, "dx"));
  expect_param_grads_close(layer->params(), c.list<T>(gd["gw"]));
}

template <class T>
void run_model(const RawGolden &c) {
  auto model = model_from_config<T>(c.doc["model"].dump(), c.doc["keras_version"].get<std::string>());
  const auto &call = c.doc["calls"][0];
  const std::vector<Tensor<T>> xs = c.list<T>(call["inputs"]);
  std::vector<Shape> shapes;
  for (const auto &x : xs) shapes.push_back(x.shape());
  model->build(shapes);
  model->set_weights(c.weights<T>());
  const ModelOutputs<T> out = model->run(xs, Mode::inference);
  expect_all_close(out.outputs, c.list<T>(call["outputs"]), "y");
}

class Conv1DGoldens : public ::testing::TestWithParam<std::string> {};

TEST_P(Conv1DGoldens, FloatAndDouble) {
  const RawGolden c = load_raw_golden(GetParam());
  SCOPED_TRACE(GetParam());
  const bool model = c.doc["kind"] == "model";
  for_float_and_double([&](auto type) {
    using T = decltype(type);
    model ? run_model<T>(c) : run_layer<T>(c);
  });
}

std::vector<std::string> conv1d_cases() { return find_golden_cases(parity_data_dir() + "/conv1d"); }

INSTANTIATE_TEST_SUITE_P(Keras, Conv1DGoldens, ::testing::ValuesIn(conv1d_cases()), golden_param_name);

TEST(Conv1DGoldensPresent, FamilyHasCases) { EXPECT_GE(conv1d_cases().size(), 30u); }

// The conv2d family (python/oracle/conv2d_cases.py: Conv2D, Conv3D, 2-D / 3-D pooling, inside
// TimeDistributed, per-frame CNN-LSTM models) has the same layout.
std::vector<std::string> conv2d_cases() { return find_golden_cases(parity_data_dir() + "/conv2d"); }
INSTANTIATE_TEST_SUITE_P(KerasConv2D, Conv1DGoldens, ::testing::ValuesIn(conv2d_cases()), golden_param_name);
TEST(Conv2DGoldensPresent, FamilyHasCases) { EXPECT_GE(conv2d_cases().size(), 35u); }

}  // namespace
}  // namespace rnnx::testing
