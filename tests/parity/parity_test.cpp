// Keras parity: one GoogleTest per golden case (tests/data/parity/<family>/<case>.json),
// named Parity.<family>_<case>, discovered when the binary starts. Each test rebuilds the
// layer or model from its Keras config with the case's keras_version, loads the Keras
// weights, replays every recorded call (state resets, training flag, mask, initial_state,
// constants, Keras' own dropout masks) and compares every output with Keras at
// 1e-5 abs + 1e-4 rel. Anything rnnx cannot build or run fails the test; nothing is skipped.
#include <gtest/gtest.h>

#include <cctype>
#include <exception>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "minimal_cells.h"
#include "rnnx/core/error.h"
#include "rnnx/io/keras_config.h"
#include "rnnx/layers/bidirectional.h"
#include "rnnx/layers/rnn.h"
#include "rnnx/model/model.h"
#include "support/close.h"
#include "support/golden.h"

namespace rnnx::testing {
namespace {

constexpr Tolerance kTolerance{1e-5, 1e-4};

std::string describe(const GoldenCase& g) {
  std::string s = g.family + "/" + g.name + " (" + g.generator + ", keras_version " + g.keras_version + ")";
  if (!g.notes.empty()) s += "\n  notes: " + g.notes;
  return s;
}

// Shapes to build a layer for: the sequence, then the constants (recurrent layers).
std::vector<Shape> build_shapes(const GoldenCall& call) {
  std::vector<Shape> shapes;
  for (const auto& x : call.inputs) shapes.push_back(x.shape());
  if (call.constants)
    for (const auto& k : *call.constants) shapes.push_back(k.shape());
  return shapes;
}

void compare_outputs(const GoldenCase& g, size_t call_index, const GoldenCall& call,
                     const std::vector<Tensor<float>>& got) {
  ASSERT_EQ(got.size(), call.outputs.size()) << describe(g) << "\n  call " << call_index << ": rnnx returned "
                                             << got.size() << " outputs, Keras " << call.outputs.size();
  for (size_t i = 0; i < got.size(); ++i) {
    const std::string what =
        "call " + std::to_string(call_index) + " output " + std::to_string(i) + " (" + call.output_keys[i] + ")";
    EXPECT_TRUE(all_close(got[i], call.outputs[i], kTolerance, what)) << describe(g);
  }
}

void set_dropout_masks(Layer<float>& layer, const GoldenCase& g, const GoldenCall& call) {
  if (!call.input_dropout_masks && !call.recurrent_dropout_masks) {
    if (auto* rnn = dynamic_cast<RNN<float>*>(&layer)) rnn->clear_fixed_dropout_masks();
    return;
  }
  auto* rnn = dynamic_cast<RNN<float>*>(&layer);
  if (!rnn)
    throw ConfigError("golden " + g.name + " injects dropout masks into a " + layer.class_name() +
                      ", which has no fixed-mask API");
  rnn->set_fixed_dropout_masks(call.input_dropout_masks.value_or(std::vector<Tensor<float>>{}),
                               call.recurrent_dropout_masks.value_or(std::vector<Tensor<float>>{}));
}

void run_layer_case(const GoldenCase& g) {
  std::unique_ptr<Layer<float>> layer = layer_from_config<float>(g.layer_json, g.keras_version);
  layer->build(build_shapes(g.calls.front()));
  const auto params = layer->params();
  ASSERT_EQ(static_cast<int>(params.size()), g.num_weights)
      << describe(g) << "\n  rnnx " << layer->class_name() << " has " << params.size() << " weights, Keras "
      << g.num_weights;
  layer->set_weights(g.weights);
  for (size_t ci = 0; ci < g.calls.size(); ++ci) {
    const GoldenCall& call = g.calls[ci];
    if (call.reset_states_before) layer->reset_states();
    set_dropout_masks(*layer, g, call);
    LayerInputs<float> in;
    for (const auto& x : call.inputs) in.inputs.push_back(&x);
    if (call.mask) in.mask = &*call.mask;
    if (call.initial_state)
      for (const auto& s : *call.initial_state) in.initial_state.push_back(&s);
    if (call.constants)
      for (const auto& k : *call.constants) in.constants.push_back(&k);
    in.mode = call.training ? Mode::training : Mode::inference;
    const LayerOutputs<float> out = layer->call(in);
    compare_outputs(g, ci, call, out.outputs);
    if (::testing::Test::HasFatalFailure()) return;
  }
}

void run_model_case(const GoldenCase& g) {
  std::unique_ptr<Model<float>> model = model_from_config<float>(g.model_json, g.keras_version);
  model->build(build_shapes(g.calls.front()));
  const auto params = model->params();
  ASSERT_EQ(static_cast<int>(params.size()), g.num_weights)
      << describe(g) << "\n  rnnx model has " << params.size() << " weights, Keras " << g.num_weights;
  model->set_weights(g.weights);
  for (size_t ci = 0; ci < g.calls.size(); ++ci) {
    const GoldenCall& call = g.calls[ci];
    if (call.reset_states_before) model->reset_states();
    if (call.initial_state || call.constants || call.input_dropout_masks || call.recurrent_dropout_masks)
      throw ConfigError("golden " + g.name +
                        ": initial_state / constants / dropout masks on a model call are not "
                        "supported by the parity driver");
    std::vector<const Mask*> masks;
    if (call.mask) masks.push_back(&*call.mask);
    const ModelOutputs<float> out = model->run(call.inputs, call.training ? Mode::training : Mode::inference, masks);
    compare_outputs(g, ci, call, out.outputs);
    if (::testing::Test::HasFatalFailure()) return;
  }
}

class ParityCase : public ::testing::Test {
 public:
  explicit ParityCase(std::string path) : path_(std::move(path)) {}

  void TestBody() override {
    GoldenCase g;
    try {
      g = load_golden(path_);
    } catch (const std::exception& e) {
      FAIL() << "cannot load golden " << path_ << ": " << e.what();
    }
    try {
      if (g.kind == "layer")
        run_layer_case(g);
      else
        run_model_case(g);
    } catch (const Error& e) {
      FAIL() << describe(g) << "\n  rnnx threw " << error_kind(e) << ": " << e.what();
    } catch (const std::exception& e) {
      FAIL() << describe(g) << "\n  unexpected exception: " << e.what();
    }
  }

 private:
  static const char* error_kind(const Error& e) {
    if (dynamic_cast<const ConfigError*>(&e)) return "ConfigError";
    if (dynamic_cast<const ShapeError*>(&e)) return "ShapeError";
    if (dynamic_cast<const StateError*>(&e)) return "StateError";
    if (dynamic_cast<const FormatError*>(&e)) return "FormatError";
    if (dynamic_cast<const IoError*>(&e)) return "IoError";
    return "Error";
  }

  std::string path_;
};

// GoogleTest names allow letters, digits and underscores.
std::string test_name(const std::string& path) {
  namespace fs = std::filesystem;
  const fs::path p(path);
  std::string name = p.parent_path().filename().string() + "_" + p.stem().string();
  for (char& c : name)
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_') c = '_';
  return name;
}

class NoGoldens : public ::testing::Test {
 public:
  void TestBody() override {
    FAIL() << "no golden cases found under " << parity_data_dir()
           << " (generate them with python/make_goldens.py, see tests/data/parity/README.md)";
  }
};

}  // namespace
}  // namespace rnnx::testing

int main(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);
  rnnx::testing::register_minimal_cells();
  const auto cases = rnnx::testing::find_golden_cases(rnnx::testing::parity_data_dir());
  if (cases.empty()) {
    ::testing::RegisterTest("Parity", "no_goldens_found", nullptr, nullptr, __FILE__, __LINE__,
                            []() -> ::testing::Test* { return new rnnx::testing::NoGoldens(); });
  }
  for (const auto& path : cases) {
    const std::string name = rnnx::testing::test_name(path);
    ::testing::RegisterTest("Parity", name.c_str(), nullptr, path.c_str(), __FILE__, __LINE__,
                            [path]() -> ::testing::Test* { return new rnnx::testing::ParityCase(path); });
  }
  return RUN_ALL_TESTS();
}
