// The normalisation layers (normalization.h, preprocessing.h): the Keras
// goldens of the `normalization` family replayed in double (the parity suite
// replays them in float), config write -> read round trips, .keras save ->
// load, and the typed errors.
#include "rnnx/layers/normalization.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <memory>

#include "layer_test_helpers.h"
#include "rnnx/io/keras_config.h"
#include "rnnx/io/model_file.h"
#include "rnnx/io/save_model.h"
#include "rnnx/layers/preprocessing.h"
#include "rnnx/model/model.h"
#include "support/close.h"
#include "support/golden.h"

namespace rnnx {
namespace {

using test::random_tensor;
using test::throws_with;

constexpr testing::Tolerance kTolerance{1e-5, 1e-4};

std::vector<std::string> family_cases() {
  return testing::find_golden_cases(testing::parity_data_dir() + "/normalization");
}

template <class U>
std::vector<Tensor<U>> cast_all(const std::vector<Tensor<float>> &ts) {
  std::vector<Tensor<U>> out;
  for (const auto &t : ts) out.push_back(t.template cast<U>());
  return out;
}

// Replays one golden with scalar type U; returns the outputs of every call.
template <class U>
void replay(const testing::GoldenCase &g) {
  std::unique_ptr<Layer<U>> layer;
  if (g.kind == "layer")
    layer = layer_from_config<U>(g.layer_json, g.keras_version);
  else
    layer = model_from_config<U>(g.model_json, g.keras_version);
  layer->build({g.calls.front().inputs[0].shape()});
  layer->set_weights(cast_all<U>(g.weights));
  for (size_t ci = 0; ci < g.calls.size(); ++ci) {
    const auto &call = g.calls[ci];
    const Tensor<U> x = call.inputs[0].template cast<U>();
    LayerInputs<U> in;
    in.inputs = {&x};
    if (call.mask) in.mask = &*call.mask;
    in.mode = call.training ? Mode::training : Mode::inference;
    const LayerOutputs<U> out = layer->call(in);
    ASSERT_EQ(out.outputs.size(), call.outputs.size()) << g.name;
    for (size_t i = 0; i < out.outputs.size(); ++i)
      EXPECT_TRUE(
          testing::all_close(out.outputs[i], call.outputs[i], kTolerance, g.name + " call " + std::to_string(ci)));
  }
}

TEST(NormalizationGoldens, EveryCaseInDoubleAndFloat) {
  const auto cases = family_cases();
  ASSERT_GE(cases.size(), 30u) << "goldens missing under " << testing::parity_data_dir() << "/normalization";
  for (const auto &path : cases) {
    const testing::GoldenCase g = testing::load_golden(path);
    SCOPED_TRACE(g.name);
    replay<double>(g);
    replay<float>(g);
  }
}

// Every layer golden's config, written back by rnnx and read again, gives the
// same numbers.
TEST(NormalizationGoldens, ConfigRoundTrip) {
  for (const auto &path : family_cases()) {
    testing::GoldenCase g = testing::load_golden(path);
    if (g.kind != "layer") continue;
    SCOPED_TRACE(g.name);
    auto first = layer_from_config<float>(g.layer_json, g.keras_version);
    g.layer_json = layer_to_keras_json(*first);
    replay<float>(g);
  }
}

// Composite models: saved as .keras by rnnx, loaded back with the same
// predictions (python/ oracle/verify_rnnx_files.py checks such files in Keras
// 3).
TEST(NormalizationGoldens, ModelsSaveAndLoadKeras) {
  const auto dir = std::filesystem::temp_directory_path() / "rnnx_normalization_test";
  std::filesystem::create_directories(dir);
  for (const auto &path : family_cases()) {
    const testing::GoldenCase g = testing::load_golden(path);
    if (g.kind != "model") continue;
    SCOPED_TRACE(g.name);
    auto model = model_from_config<float>(g.model_json, g.keras_version);
    model->build({g.calls.front().inputs[0].shape()});
    model->set_weights(g.weights);
    const std::string file = (dir / (g.name + ".keras")).string();
    const TestVector<float> tv = make_test_vector(*model, g.calls.front().inputs);
    save_model(*model, file, &tv);
    // RNNX_WRITE_DIR=<dir>: keep a copy for python/oracle/verify_rnnx_files.py
    // <dir>.
    if (const char *keep = std::getenv("RNNX_WRITE_DIR"))
      std::filesystem::copy_file(file, std::filesystem::path(keep) / (g.name + ".keras"),
                                 std::filesystem::copy_options::overwrite_existing);
    auto loaded = load_model<float>(file);
    const auto &call = g.calls.front();
    std::vector<const Mask *> masks;
    const auto out = loaded->run(call.inputs, Mode::inference, masks);
    EXPECT_TRUE(testing::all_close(out.outputs[0], call.outputs[0], kTolerance, g.name));
  }
  std::filesystem::remove_all(dir);
}

TEST(Normalization, BatchNormalizationMovingStatisticsUpdate) {
  BatchNormalizationOptions o;
  o.momentum = 0.9;
  BatchNormalization<double> bn(o);
  const Tensor<double> x({4, 1}, std::vector<double>{1, 2, 3, 6});
  bn.build({x.shape()});
  bn(x, Mode::training);
  // batch mean 3, biased variance (4 + 1 + 0 + 9) / 4 = 3.5.
  EXPECT_NEAR(bn.moving_mean()[0], 0.1 * 3.0, 1e-12);
  EXPECT_NEAR(bn.moving_variance()[0], 0.9 + 0.1 * 3.5, 1e-12);
  bn(x, Mode::inference);  // inference leaves them alone
  EXPECT_NEAR(bn.moving_mean()[0], 0.3, 1e-12);
  const auto ps = bn.params();
  ASSERT_EQ(ps.size(), 4u);
  EXPECT_TRUE(ps[0].trainable && ps[1].trainable && !ps[2].trainable && !ps[3].trainable);
}

TEST(Normalization, FrozenBatchNormalizationUsesMovingStatistics) {
  BatchNormalizationOptions o;
  o.trainable = false;
  BatchNormalization<float> bn(o);
  const Tensor<float> x = random_tensor({3, 2}, 1);
  EXPECT_TRUE(testing::all_close(bn(x, Mode::training), bn(x, Mode::inference), {0, 0}, "frozen"));
  EXPECT_EQ(bn.moving_mean()[0], 0.0f);
}

TEST(Normalization, MaskPassesThrough) {
  LayerNormalization<float> ln({});
  const Tensor<float> x = random_tensor({2, 3, 4}, 2);
  const Mask m({2, 3}, std::vector<uint8_t>{1, 1, 0, 1, 0, 0});
  EXPECT_EQ(test::call_with_mask(ln, x, &m).mask.storage(), m.storage());
}

LayerNormalizationOptions ln_axis(std::vector<int64_t> axis) {
  LayerNormalizationOptions o;
  o.axis = std::move(axis);
  return o;
}

TEST(Normalization, ErrorsAreTypedAndSayWhat) {
  EXPECT_TRUE(throws_with<ConfigError>([] { LayerNormalization<float>(ln_axis({0}), "ln"); },
                                       "LayerNormalization 'ln': axis 0 is the batch axis; LayerNormalization "
                                       "normalises within a sample"));
  EXPECT_TRUE(throws_with<ShapeError>(
      [] {
        LayerNormalization<float> ln(ln_axis({3}), "ln");
        ln(Tensor<float>({2, 3, 4}));
      },
      "LayerNormalization 'ln': axis 3 is out of bounds for an input of rank 3 "
      "(axes 1..2) (input shape [2, 3, 4])"));
  EXPECT_TRUE(throws_with<ShapeError>(
      [] {
        GroupNormalizationOptions o;
        o.groups = 3;
        GroupNormalization<float> gn(o, "gn");
        gn(Tensor<float>({2, 3, 4}));
      },
      "GroupNormalization 'gn': 4 channels cannot be split into 3 equal groups "
      "(input shape [2, 3, 4])"));
  EXPECT_TRUE(throws_with<ShapeError>(
      [] {
        BatchNormalization<float> bn({}, "bn");
        const Tensor<float> x({2, 3, 2, 2});
        const Mask m({2, 3});
        test::call_with_mask(bn, x, &m, Mode::training);
      },
      "BatchNormalization 'bn': the mask must have one dimension less than the "
      "input (Keras' rule), got mask [2, 3] "
      "for input [2, 3, 2, 2]"));
  EXPECT_TRUE(throws_with<ConfigError>(
      [] {
        layer_from_config<float>(R"({"class_name": "BatchNormalization", "config": {"name": "bn", "renorm": true}})",
                                 "3.15.1");
      },
      "BatchNormalization 'bn': argument 'renorm' = true (batch "
      "renormalization) is not supported by rnnx"));
  EXPECT_TRUE(throws_with<ConfigError>(
      [] {
        layer_from_config<float>(R"({"class_name": "Normalization", "config": {"name": "n", "mean": [1.0]}})",
                                 "3.15.1");
      },
      "Normalization 'n': argument 'variance' must be given together with the "
      "other statistic"));
}

}  // namespace
}  // namespace rnnx
