// Keras parity of the `attention` family (python/oracle/attention_cases.py): every model in
// float and double, the gradients Keras computed (of L = sum_k <r_k, y_k>, with respect to
// every input and weight) through a training-mode call, the composite models loaded from the
// Keras 3 .keras files Keras wrote, and those models saved by rnnx and loaded back.
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "rnnx/core/error.h"
#include "rnnx/io/keras_config.h"
#include "rnnx/io/model_file.h"
#include "rnnx/io/npy.h"
#include "rnnx/io/save_model.h"
#include "rnnx/model/model.h"
#include "support/close.h"
#include "support/golden.h"

namespace rnnx::testing {
namespace {

namespace fs = std::filesystem;
using Json = nlohmann::json;

fs::path family_dir() { return fs::path(parity_data_dir()) / "attention"; }

std::vector<std::string> case_names() {
  std::vector<std::string> names;
  if (!fs::exists(family_dir())) return names;
  for (const auto &e : fs::directory_iterator(family_dir()))
    if (e.path().extension() == ".json") names.push_back(e.path().stem().string());
  std::sort(names.begin(), names.end());
  return names;
}

struct Case {
  Json doc;
  std::map<std::string, NpyArray> arrays;
  template <class T>
  Tensor<T> get(const std::string &key) const {
    return arrays.at(key).template as<T>();
  }
  template <class T>
  std::vector<Tensor<T>> list(const Json &keys) const {
    std::vector<Tensor<T>> out;
    for (const auto &k : keys) out.push_back(get<T>(k.get<std::string>()));
    return out;
  }
};

Case load_case(const std::string &name) {
  Case c;
  std::ifstream in(family_dir() / (name + ".json"));
  c.doc = Json::parse(in);
  c.arrays = read_npz((family_dir() / (name + ".npz")).string());
  return c;
}

// Forward (inference) and, where Keras gave them, gradients through a
// training-mode call.
template <class T>
void check_case(const std::string &name) {
  const Case c = load_case(name);
  const std::string where = std::string("attention/").append(name).append(sizeof(T) == 8 ? " (double)" : " (float)");
  std::unique_ptr<Model<T>> model = model_from_config<T>(c.doc["model"].dump(), c.doc["keras_version"]);
  const Json &call = c.doc["calls"][0];
  const std::vector<Tensor<T>> xs = c.list<T>(call["inputs"]);
  std::vector<Shape> shapes;
  for (const auto &x : xs) shapes.push_back(x.shape());
  model->build(shapes);
  std::vector<Tensor<T>> weights;
  for (int i = 0; i < c.doc["num_weights"].get<int>(); ++i)
    weights.push_back(c.get<T>(std::string("w").append(std::to_string(i))));
  model->set_weights(weights);
  const std::vector<Tensor<T>> want = c.list<T>(call["outputs"]);
  const std::vector<Tensor<T>> got = model->predict(xs);
  ASSERT_EQ(got.size(), want.size()) << where;
  for (size_t i = 0; i < got.size(); ++i) EXPECT_TRUE(all_close(got[i], want[i], {1e-5, 1e-4}, where + " output"));
  if (!c.doc.contains("grads")) return;
  const Json &gj = c.doc["grads"];
  LayerInputs<T> in;
  for (const auto &x : xs) in.inputs.push_back(&x);
  in.mode = Mode::training;
  model->zero_grads();
  model->call(in);
  const LayerGrads<T> g = model->backward(c.list<T>(gj["r"]));
  const std::vector<Tensor<T>> gx = c.list<T>(gj["inputs"]);
  ASSERT_EQ(g.inputs.size(), gx.size()) << where;
  for (size_t i = 0; i < gx.size(); ++i)
    EXPECT_TRUE(all_close(g.inputs[i], gx[i], {1e-5, 1e-4}, where + " d/d input " + std::to_string(i)));
  const std::vector<Tensor<T>> gw = c.list<T>(gj["weights"]);
  const auto params = model->params();
  ASSERT_EQ(params.size(), gw.size()) << where;
  for (size_t i = 0; i < gw.size(); ++i)
    EXPECT_TRUE(all_close(*params[i].grad, gw[i], {1e-5, 1e-4}, where + " d/d " + params[i].name));
}

TEST(AttentionParity, FloatAndDoubleWithGradients) {
  const std::vector<std::string> names = case_names();
  ASSERT_GE(names.size(), 23u) << "attention goldens missing under " << family_dir();
  int with_grads = 0;
  for (const std::string &n : names) {
    SCOPED_TRACE(n);
    try {
      check_case<float>(n);
      check_case<double>(n);
    } catch (const Error &e) {
      ADD_FAILURE() << n << ": rnnx threw " << e.what();
    }
    with_grads += load_case(n).doc.contains("grads");
  }
  EXPECT_GE(with_grads, 21);
}

const char *const kComposites[] = {"encoder_decoder_attention", "transformer_block_lstm",
                                   "masked_self_attention_embedding"};

// The composite models, loaded from the .keras files Keras 3 wrote, predict Keras' numbers;
// saved again by rnnx and reloaded, they predict the same.
TEST(AttentionParity, CompositeKerasFilesLoadAndRoundTrip) {
  for (const std::string name : kComposites) {
    SCOPED_TRACE(name);
    const Case c = load_case(name);
    std::unique_ptr<Model<float>> model = load_model<float>((family_dir() / (name + ".keras")).string());
    const Json &call = c.doc["calls"][0];
    const auto xs = c.list<float>(call["inputs"]);
    const auto got = model->predict(xs);
    const auto want = c.list<float>(call["outputs"]);
    ASSERT_EQ(got.size(), want.size());
    for (size_t i = 0; i < got.size(); ++i) EXPECT_TRUE(all_close(got[i], want[i], {1e-5, 1e-4}, name));
    const fs::path out = fs::temp_directory_path() / ("rnnx_attention_" + name + ".keras");
    save_model(*model, out.string());
    std::unique_ptr<Model<float>> back = load_model<float>(out.string());
    const auto again = back->predict(xs);
    ASSERT_EQ(again.size(), want.size());
    for (size_t i = 0; i < again.size(); ++i)
      EXPECT_TRUE(all_close(again[i], want[i], {1e-5, 1e-4}, name + " reloaded"));
    if (!std::getenv("RNNX_KEEP_WRITTEN")) fs::remove(out);  // keep them for python/oracle/verify_rnnx_files.py
  }
}

}  // namespace
}  // namespace rnnx::testing
