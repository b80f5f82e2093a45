// Regularizers, constraints and activity regularizers through the .keras writer (spec §3.9,
// §8.3). The models come from the configs Keras wrote for the regularizer / constraint
// training goldens (tests/data/training/reg_*, constraint_*): load -> save .keras -> load
// gives the same structs on every weight and layer, and the rnnx-written entries are the
// Keras 3 form, equal to what Keras itself wrote.
#include <gtest/gtest.h>

#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>

#include "rnnx/io/keras_config.h"
#include "rnnx/io/model_file.h"
#include "rnnx/io/save_model.h"
#include "rnnx/layers/bidirectional.h"
#include "rnnx/layers/gru.h"
#include "rnnx/layers/lstm.h"
#include "rnnx/layers/rnn.h"
#include "rnnx/model/model.h"
#include "support/golden.h"

namespace rnnx::testing {
namespace {

using Json = nlohmann::json;

std::vector<std::string> regularizer_goldens() {
  std::vector<std::string> out;
  for (const auto& path : find_golden_cases(training_data_dir())) {
    const std::string stem = std::filesystem::path(path).stem().string();
    if (stem.rfind("reg_", 0) == 0 || stem.rfind("constraint_", 0) == 0) out.push_back(path);
  }
  return out;
}

// How many regularizers, constraints and activity regularizers the model holds.
int count_settings(Model<float>& m) {
  int n = 0;
  for (const auto& p : m.params()) n += p.regularizer.active() + p.constraint.active();
  for (const auto& l : m.layers()) n += l->activity_regularizer().active();
  return n;
}

TEST(KerasRegularizersIo, SaveAndLoadKeepEveryRegularizerAndConstraint) {
  const auto goldens = regularizer_goldens();
  ASSERT_GE(goldens.size(), 9u) << "expected the reg_* / constraint_* goldens in " << training_data_dir();
  for (const auto& path : goldens) {
    SCOPED_TRACE(path);
    const TrainingCase g = load_training_golden(path);
    auto loaded = model_from_config<float>(g.model_json, g.keras_version);
    ASSERT_GT(count_settings(*loaded), 0) << "the golden's model has no regularizer or constraint";
    const std::vector<uint8_t> bytes = save_model_to_memory(*loaded);
    auto back = load_model_from_memory<float>(bytes, g.name + " (saved by rnnx)");
    const auto pa = loaded->params(), pb = back->params();
    ASSERT_EQ(pa.size(), pb.size());
    for (size_t i = 0; i < pa.size(); ++i) {
      EXPECT_EQ(pa[i].name, pb[i].name);
      EXPECT_EQ(pa[i].regularizer, pb[i].regularizer) << pa[i].name;
      EXPECT_EQ(pa[i].constraint, pb[i].constraint) << pa[i].name;
    }
    const auto la = loaded->layers(), lb = back->layers();
    ASSERT_EQ(la.size(), lb.size());
    for (size_t i = 0; i < la.size(); ++i)
      EXPECT_EQ(la[i]->activity_regularizer(), lb[i]->activity_regularizer()) << la[i]->name();
  }
}

// Keras' entry for layer `name` in a model.to_json() config.
const Json& keras_layer_config(const Json& model, const std::string& name) {
  for (const auto& l : model.at("config").at("layers"))
    if (l.at("config").value("name", "") == name) return l.at("config");
  throw std::runtime_error("no layer '" + name + "' in the Keras config");
}

bool is_setting_key(const std::string& k) {
  const auto ends_with = [&](const std::string& s) {
    return k.size() >= s.size() && k.compare(k.size() - s.size(), s.size(), s) == 0;
  };
  return ends_with("_regularizer") || ends_with("_constraint");
}

TEST(KerasRegularizersIo, WritesTheKeras3FormKerasWrote) {
  int compared = 0;
  for (const auto& path : regularizer_goldens()) {
    SCOPED_TRACE(path);
    const TrainingCase g = load_training_golden(path);
    const Json keras = Json::parse(g.model_json);
    auto model = model_from_config<float>(g.model_json, g.keras_version);
    for (const auto& layer : model->layers()) {
      if (layer->class_name() == "InputLayer") continue;
      const Json ours = Json::parse(layer_to_keras_json(*layer)).at("config");
      const Json& theirs = keras_layer_config(keras, layer->name());
      for (const auto& [k, v] : theirs.items()) {
        if (!is_setting_key(k)) continue;
        ASSERT_TRUE(ours.contains(k)) << layer->name() << ": rnnx does not write '" << k << "'";
        EXPECT_EQ(ours.at(k), v) << layer->name() << " '" << k << "'";
        compared += !v.is_null();
      }
      for (const auto& [k, v] : ours.items())  // nor more than Keras (Dense's activity_regularizer)
        EXPECT_TRUE(!is_setting_key(k) || theirs.contains(k)) << layer->name() << ": rnnx adds '" << k << "'";
    }
  }
  EXPECT_GE(compared, 10);
}

// Shapes the goldens do not have: the generic RNN layer, a cell inside RNN and
// Bidirectional, through layer_to_keras_json -> layer_from_config.
TEST(KerasRegularizersIo, RecurrentWrappersRoundTrip) {
  LSTMCellOptions cell;
  cell.units = 3;
  cell.kernel_regularizer = Regularizer::make_l1_l2(0.01, 0.02);
  cell.recurrent_constraint = Constraint::make_min_max_norm(0.1, 0.9, 0.5, {0, 1});
  cell.bias_regularizer = Regularizer::make_l1(0.3);
  RNNOptions ro;
  ro.return_state = true;
  ro.activity_regularizer = Regularizer::make_l2(0.4);
  RNN<float> rnn(std::make_unique<LSTMCell<float>>(cell), ro, "rnn");
  GRUOptions go;
  go.units = 2;
  go.kernel_constraint = Constraint::make_unit_norm({-1});
  go.activity_regularizer = Regularizer::make_l1(0.05);
  Bidirectional<float> bi(GRU<float>(go), MergeMode::none);
  for (Layer<float>* l : std::initializer_list<Layer<float>*>{&rnn, &bi}) {
    SCOPED_TRACE(l->class_name());
    l->build({{2, 4, 3}});
    auto back = layer_from_config<float>(layer_to_keras_json(*l), kKerasSaveVersion);
    back->build({{2, 4, 3}});
    const auto pa = l->params(), pb = back->params();
    ASSERT_EQ(pa.size(), pb.size());
    int active = 0;
    for (size_t i = 0; i < pa.size(); ++i) {
      EXPECT_EQ(pa[i].regularizer, pb[i].regularizer) << i;
      EXPECT_EQ(pa[i].constraint, pb[i].constraint) << i;
      active += pa[i].regularizer.active() + pa[i].constraint.active();
    }
    EXPECT_GT(active, 0);
    EXPECT_TRUE(l->activity_regularizer().active());
    EXPECT_EQ(l->activity_regularizer(), back->activity_regularizer());
  }
}

}  // namespace
}  // namespace rnnx::testing
