// Keras parity of the `plumbing` family (python/oracle/plumbing_cases.py)
// beyond the float forward pass that parity_test.cpp runs for every golden: the
// same models in double, the gradients Keras computed (of L = sum_k <r_k, y_k>
// + model.losses, with respect to every input and weight) in float and double,
// the composite models loaded from the Keras 3 .keras files Keras wrote, and
// the refusal of a real Keras 3 file holding a Lambda.
#include <gtest/gtest.h>

#include <filesystem>
#include <nlohmann/json.hpp>

#include "rnnx/core/error.h"
#include "rnnx/io/model_file.h"
#include "rnnx/model/model.h"
#include "support/golden.h"
#include "support/layer_golden.h"

namespace rnnx::testing {
namespace {

namespace fs = std::filesystem;
using Json = nlohmann::json;

fs::path family_dir() { return fs::path(parity_data_dir()) / "plumbing"; }

RawGolden load_case(const std::string &name) { return load_raw_golden((family_dir() / (name + ".json")).string()); }

// Every case in float and double: forward (inference) and, where Keras gave them, gradients
// through a training-mode call.
TEST(PlumbingParity, FloatAndDoubleWithGradients) { check_model_family("plumbing", 40, 40); }

// The composite models, loaded from the .keras files Keras 3 wrote, predict
// Keras' numbers.
TEST(PlumbingParity, CompositeKerasFilesLoad) {
  for (const std::string name : {"lstm_autoencoder", "gated_lstm_multiply_subtract", "gated_lstm_masked"}) {
    SCOPED_TRACE(name);
    const RawGolden c = load_case(name);
    std::unique_ptr<Model<float>> model = load_model<float>((family_dir() / (name + ".keras")).string());
    const Json &call = c.doc["calls"][0];
    expect_all_close(model->predict(c.list<float>(call["inputs"])), c.list<float>(call["outputs"]), name);
  }
}

TEST(PlumbingParity, LambdaFileIsRefused) {
  try {
    load_model<float>((family_dir() / "lambda_model.keras").string());
    FAIL() << "a model with a Lambda layer loaded";
  } catch (const ConfigError &e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find("Lambda 'double_it'"), std::string::npos) << msg;
    EXPECT_NE(msg.find("Python code"), std::string::npos) << msg;
  }
}

}  // namespace
}  // namespace rnnx::testing
