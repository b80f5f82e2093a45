// Keras goldens of the conv1d and conv2d families (tests/data/parity/conv1d,
// conv2d; python/oracle/conv1d_cases.py, conv2d_cases.py) in float AND double:
// layer cases are called in training mode and backpropagated with Keras'
// upstream gradient gy, comparing the output, dL/dx and every dL/dweight with
// the gradients TensorFlow computed; model cases (composite models, dropped
// masks) are run forward. parity_test.cpp runs the same cases forward in float.
#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "rnnx/io/keras_config.h"
#include "rnnx/io/npy.h"
#include "rnnx/model/model.h"
#include "support/close.h"
#include "support/golden.h"

namespace rnnx::testing {
namespace {

constexpr Tolerance kTolerance{1e-5, 1e-4};

struct Conv1DCase {
  std::string path;
  nlohmann::json doc;
  std::map<std::string, NpyArray> arrays;
};

Conv1DCase load_case(const std::string &path) {
  Conv1DCase c{path, {}, {}};
  std::ifstream in(path);
  c.doc = nlohmann::json::parse(in);
  std::string npz = path.substr(0, path.size() - 5) + ".npz";
  c.arrays = read_npz(npz);
  return c;
}

template <class T>
Tensor<T> array(const Conv1DCase &c, const std::string &key) {
  return c.arrays.at(key).as<T>();
}

template <class T>
std::vector<Tensor<T>> weights(const Conv1DCase &c) {
  std::vector<Tensor<T>> ws;
  for (int i = 0; i < c.doc["num_weights"].get<int>(); ++i)
    ws.push_back(array<T>(c, std::string("w").append(std::to_string(i))));
  return ws;
}

template <class T>
void run_layer(const Conv1DCase &c) {
  auto layer = layer_from_config<T>(c.doc["layer"].dump(), c.doc["keras_version"].get<std::string>());
  const auto &call = c.doc["calls"][0];
  const Tensor<T> x = array<T>(c, call["inputs"][0].get<std::string>());
  layer->build({x.shape()});
  layer->set_weights(weights<T>(c));
  LayerInputs<T> in;
  in.inputs.push_back(&x);
  in.mode = Mode::training;
  const LayerOutputs<T> out = layer->call(in);
  ASSERT_EQ(out.outputs.size(), 1u);
  EXPECT_TRUE(all_close(out.outputs[0], array<float>(c, call["outputs"][0].get<std::string>()), kTolerance, "y"));
  EXPECT_TRUE(out.mask.empty()) << "Keras 3 propagates no mask from " << layer->class_name();
  if (!c.doc.contains("gradients")) {
    layer->clear_tape();
    return;
  }
  const auto &gd = c.doc["gradients"];
  layer->zero_grads();
  const LayerGrads<T> grads = layer->backward({array<T>(c, gd["gy"].get<std::string>())});
  EXPECT_TRUE(all_close(grads.inputs.at(0), array<float>(c, gd["gx"].get<std::string>()), kTolerance, "dx"));
  const auto params = layer->params();
  ASSERT_EQ(params.size(), gd["gw"].size());
  for (size_t i = 0; i < params.size(); ++i)
    EXPECT_TRUE(
        all_close(*params[i].grad, array<float>(c, gd["gw"][i].get<std::string>()), kTolerance, "d " + params[i].name));
}

template <class T>
void run_model(const Conv1DCase &c) {
  auto model = model_from_config<T>(c.doc["model"].dump(), c.doc["keras_version"].get<std::string>());
  const auto &call = c.doc["calls"][0];
  std::vector<Tensor<T>> xs;
  for (const auto &k : call["inputs"]) xs.push_back(array<T>(c, k.get<std::string>()));
  std::vector<Shape> shapes;
  for (const auto &x : xs) shapes.push_back(x.shape());
  model->build(shapes);
  model->set_weights(weights<T>(c));
  const ModelOutputs<T> out = model->run(xs, Mode::inference);
  ASSERT_EQ(out.outputs.size(), call["outputs"].size());
  for (size_t i = 0; i < out.outputs.size(); ++i)
    EXPECT_TRUE(all_close(out.outputs[i], array<float>(c, call["outputs"][i].get<std::string>()), kTolerance, "y"));
}

class Conv1DGoldens : public ::testing::TestWithParam<std::string> {};

TEST_P(Conv1DGoldens, FloatAndDouble) {
  const Conv1DCase c = load_case(GetParam());
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

std::vector<std::string> conv1d_cases() { return find_golden_cases(parity_data_dir() + "/conv1d"); }

std::string case_name(const ::testing::TestParamInfo<std::string> &info) {
  std::string s = info.param.substr(info.param.find_last_of('/') + 1);
  s = s.substr(0, s.size() - 5);
  for (char &ch : s)
    if (!std::isalnum(static_cast<unsigned char>(ch))) ch = '_';
  return s;
}

INSTANTIATE_TEST_SUITE_P(Keras, Conv1DGoldens, ::testing::ValuesIn(conv1d_cases()), case_name);

TEST(Conv1DGoldensPresent, FamilyHasCases) { EXPECT_GE(conv1d_cases().size(), 30u); }

// The conv2d family (python/oracle/conv2d_cases.py: Conv2D, Conv3D, 2-D / 3-D pooling, inside
// TimeDistributed, per-frame CNN-LSTM models) has the same layout.
std::vector<std::string> conv2d_cases() { return find_golden_cases(parity_data_dir() + "/conv2d"); }
INSTANTIATE_TEST_SUITE_P(KerasConv2D, Conv1DGoldens, ::testing::ValuesIn(conv2d_cases()), case_name);
TEST(Conv2DGoldensPresent, FamilyHasCases) { EXPECT_GE(conv2d_cases().size(), 35u); }

}  // namespace
}  // namespace rnnx::testing
