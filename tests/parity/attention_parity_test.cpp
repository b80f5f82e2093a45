// Keras parity of the `attention` family (python/oracle/attention_cases.py): every model in
// float and double, the gradients Keras computed (of L = sum_k <r_k, y_k>, with respect to
// every input and weight) through a training-mode call, the composite models loaded from the
// Keras 3 .keras files Keras wrote, and those models saved by rnnx and loaded back.
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "rnnx/io/model_file.h"
#include "rnnx/io/save_model.h"
#include "rnnx/model/model.h"
#include "support/golden.h"
#include "support/layer_golden.h"

namespace rnnx::testing {
namespace {

namespace fs = std::filesystem;
using Json = nlohmann::json;

fs::path family_dir() { return fs::path(parity_data_dir()) / "attention"; }

RawGolden load_case(const std::string &name) { return load_raw_golden((family_dir() / (name + ".json")).string()); }

// Every case in float and double: forward (inference) and, where Keras gave them, gradients
// through a training-mode call.
TEST(AttentionParity, FloatAndDoubleWithGradients) { check_model_family("attention", 23, 21); }

const char *const kComposites[] = {"encoder_decoder_attention", "transformer_block_lstm",
                                   "masked_self_attention_embedding"};

// The composite models, loaded from the .keras files Keras 3 wrote, predict Keras' numbers;
// saved again by rnnx and reloaded, they predict the same.
TEST(AttentionParity, CompositeKerasFilesLoadAndRoundTrip) {
  for (const std::string name : kComposites) {
    SCOPED_TRACE(name);
    const RawGolden c = load_case(name);
    std::unique_ptr<Model<float>> model = load_model<float>((family_dir() / (name + ".keras")).string());
    const Json &call = c.doc["calls"][0];
    const auto xs = c.list<float>(call["inputs"]);
    const auto want = c.list<float>(call["outputs"]);
    expect_all_close(model->predict(xs), want, name);
    const fs::path out = fs::temp_directory_path() / ("rnnx_attention_" + name + ".keras");
    save_model(*model, out.string());
    std::unique_ptr<Model<float>> back = load_model<float>(out.string());
    expect_all_close(back->predict(xs), want, name + " reloaded");
    if (!std::getenv("RNNX_KEEP_WRITTEN")) fs::remove(out);  // keep them for python/oracle/verify_rnnx_files.py
  }
}

}  // namespace
}  // namespace rnnx::testing
