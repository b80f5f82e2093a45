// Regularizers, constraints and activity regularizers in Keras configs (spec §3.9;
// KerasConfig::get_regularizer / get_constraint): every accepted form, the names that depend
// on the Keras version, where the loader reads them (cells, recurrent layers and their
// wrappers, Dense, Embedding), and the errors for what rnnx cannot apply.
#include <gtest/gtest.h>

#include <string>

#include "layer_test_helpers.h"
#include "rnnx/core/error.h"
#include "rnnx/io/keras_config.h"
#include "rnnx/layers/bidirectional.h"
#include "rnnx/layers/dense.h"
#include "rnnx/layers/embedding.h"
#include "rnnx/layers/rnn.h"

namespace rnnx {
namespace {

using test::throws_with;

std::unique_ptr<Layer<float>> layer(const std::string& json, const std::string& version = "3.15.1") {
  return layer_from_config<float>(json, version);
}

// A Dense(2) config named 'd' with `key` set to `value` (JSON text).
std::string dense_with(const std::string& key, const std::string& value) {
  return R"({"class_name": "Dense", "config": {"name": "d", "units": 2, ")" + key + "\": " + value + "}}";
}

Regularizer kernel_regularizer(const std::string& value, const std::string& version = "3.15.1") {
  auto l = layer(dense_with("kernel_regularizer", value), version);
  return dynamic_cast<Dense<float>&>(*l).options().kernel_regularizer;
}

Constraint kernel_constraint(const std::string& value, const std::string& version = "3.15.1") {
  auto l = layer(dense_with("kernel_constraint", value), version);
  return dynamic_cast<Dense<float>&>(*l).options().kernel_constraint;
}

// The start of every regularizer / constraint error about Dense 'd'.
std::string reg_error(const std::string& key, const std::string& got) {
  return "Dense 'd': argument '" + key +
         "' expected null, a regularizer name ('l1', 'l2', 'L1L2', ...) or {\"class_name\": \"L1\" | \"L2\" | "
         "\"L1L2\", \"config\": {\"l1\": ..., \"l2\": ...}}; got " +
         got + ", which ";
}

std::string constraint_error(const std::string& got) {
  return "Dense 'd': argument 'kernel_constraint' expected null, a constraint name ('max_norm', 'non_neg', "
         "'unit_norm', 'min_max_norm', or their class names) or {\"class_name\": \"MaxNorm\" | \"NonNeg\" | "
         "\"UnitNorm\" | \"MinMaxNorm\", \"config\": {...}}; got " +
         got + ", which ";
}

// ---- regularizers --------------------------------------------------------------------------

TEST(KerasRegularizers, NullAndAbsentAreNone) {
  EXPECT_FALSE(kernel_regularizer("null").active());
  auto l = layer(R"({"class_name": "Dense", "config": {"units": 2}})");
  EXPECT_FALSE(dynamic_cast<Dense<float>&>(*l).options().kernel_regularizer.active());
}

TEST(KerasRegularizers, Keras3NamesAndObjects) {
  EXPECT_EQ(kernel_regularizer(R"("l1")"), (Regularizer{0.01, 0.0}));
  EXPECT_EQ(kernel_regularizer(R"("L1")"), (Regularizer{0.01, 0.0}));
  EXPECT_EQ(kernel_regularizer(R"("l2")"), (Regularizer{0.0, 0.01}));
  EXPECT_EQ(kernel_regularizer(R"("L2")"), (Regularizer{0.0, 0.01}));
  // The L1L2 class defaults to 0 and 0 (keras/src/regularizers/regularizers.py).
  EXPECT_EQ(kernel_regularizer(R"("L1L2")"), (Regularizer{0.0, 0.0}));
  EXPECT_EQ(kernel_regularizer(R"("l1l2")"), (Regularizer{0.0, 0.0}));
  // Keras 3 form.
  EXPECT_EQ(kernel_regularizer(R"({"module": "keras.regularizers", "class_name": "L1L2",
                                   "config": {"l1": 0.01, "l2": 0.02}, "registered_name": null})"),
            (Regularizer{0.01, 0.02}));
  EXPECT_EQ(kernel_regularizer(R"({"module": "keras.regularizers", "class_name": "L1", "config": {"l1": 0.3},
                                   "registered_name": null})"),
            (Regularizer{0.3, 0.0}));
  // tf.keras form (no module), and class defaults for missing or null entries.
  EXPECT_EQ(kernel_regularizer(R"({"class_name": "L2", "config": {"l2": 0.25}})"), (Regularizer{0.0, 0.25}));
  EXPECT_EQ(kernel_regularizer(R"({"class_name": "L2", "config": {}})"), (Regularizer{0.0, 0.01}));
  EXPECT_EQ(kernel_regularizer(R"({"class_name": "L1"})"), (Regularizer{0.01, 0.0}));
  EXPECT_EQ(kernel_regularizer(R"({"class_name": "L1L2", "config": {"l1": null, "l2": 0.5}})"),
            (Regularizer{0.0, 0.5}));
}

TEST(KerasRegularizers, L1L2NameFollowsTheVersion) {
  // tf.keras / Keras 2: the function l1_l2() with its defaults 0.01 and 0.01.
  EXPECT_EQ(kernel_regularizer(R"("l1_l2")", "2.21.0"), (Regularizer{0.01, 0.01}));
  EXPECT_EQ(kernel_regularizer(R"("l1_l2")", "2.2.4"), (Regularizer{0.01, 0.01}));
  EXPECT_EQ(kernel_regularizer(R"("L1L2")", "2.2.4"), (Regularizer{0.0, 0.0}));
  EXPECT_EQ(kernel_regularizer(R"({"class_name": "L1L2", "config": {"l1": 0.0, "l2": 0.01}})", "2.2.4"),
            (Regularizer{0.0, 0.01}));
  // Keras 3 raises "Could not interpret regularizer identifier: l1_l2"; tf.keras knows no "l1l2".
  EXPECT_TRUE(throws_with<ConfigError>(
      [] { kernel_regularizer(R"("l1_l2")"); },
      reg_error("kernel_regularizer", "\"l1_l2\"") +
          "Keras 3 cannot interpret either (its name for L1L2 is 'l1l2', with l1 = l2 = 0; tf.keras's 'l1_l2' "
          "meant l1 = l2 = 0.01)"));
  EXPECT_TRUE(throws_with<ConfigError>([] { kernel_regularizer(R"("l1l2")", "2.21.0"); },
                                       reg_error("kernel_regularizer", "\"l1l2\"") +
                                           "is not a regularizer name of Keras 2"));
}

TEST(KerasRegularizers, RefusesWhatRnnxCannotApply) {
  EXPECT_TRUE(throws_with<ConfigError>([] { kernel_regularizer(R"("orthogonal_regularizer")"); },
                                       reg_error("kernel_regularizer", "\"orthogonal_regularizer\"") +
                                           "is not a regularizer name of Keras 3"));
  const std::string ortho = R"({"module": "keras.regularizers", "class_name": "OrthogonalRegularizer",)"
                            R"( "config": {"factor": 0.01, "mode": "rows"}, "registered_name": null})";
  EXPECT_TRUE(throws_with<ConfigError>(
      [&] { kernel_regularizer(ortho); },
      reg_error("kernel_regularizer", R"({"class_name":"OrthogonalRegularizer","config":{"factor":0.01,"mode":"rows"},)"
                                      R"("module":"keras.regularizers","registere...)") +
          "names no regularizer class rnnx knows"));
  const std::string custom =
      R"({"module": "my_pkg", "class_name": "MyReg", "config": {}, "registered_name": "my_pkg>MyReg"})";
  EXPECT_TRUE(throws_with<ConfigError>(
      [&] { kernel_regularizer(custom); },
      reg_error("kernel_regularizer",
                R"({"class_name":"MyReg","config":{},"module":"my_pkg","registered_name":"my_pkg>MyReg"})") +
          "is a custom regularizer (registered_name \"my_pkg>MyReg\") that rnnx cannot apply"));
  EXPECT_TRUE(throws_with<ConfigError>(
      [] { kernel_regularizer(R"({"module": "my_pkg", "class_name": "L2", "config": {}})"); },
      reg_error("kernel_regularizer", R"({"class_name":"L2","config":{},"module":"my_pkg"})") +
          "is a regularizer from module \"my_pkg\", not a built-in Keras regularizer"));
  EXPECT_TRUE(throws_with<ConfigError>([] { kernel_regularizer(R"({"class_name": "L2", "config": {"l2": -0.1}})"); },
                                       reg_error("kernel_regularizer", R"({"class_name":"L2","config":{"l2":-0.1}})") +
                                           "has l2 = -0.1 (expected a non-negative number)"));
  EXPECT_TRUE(throws_with<ConfigError>([] { kernel_regularizer(R"({"class_name": "L2", "config": {"l2": "x"}})"); },
                                       reg_error("kernel_regularizer", R"({"class_name":"L2","config":{"l2":"x"}})") +
                                           "has l2 = \"x\" (expected a non-negative number)"));
  EXPECT_TRUE(throws_with<ConfigError>([] { kernel_regularizer(R"({"class_name": "L2", "config": {"l1": 0.1}})"); },
                                       reg_error("kernel_regularizer", R"({"class_name":"L2","config":{"l1":0.1}})") +
                                           "has an unsupported argument 'l1' for L2"));
  EXPECT_TRUE(throws_with<ConfigError>([] { kernel_regularizer("0.01"); },
                                       reg_error("kernel_regularizer", "0.01") + "is neither a name nor an object"));
  EXPECT_TRUE(throws_with<ConfigError>([] { kernel_regularizer(R"({"config": {"l2": 0.1}})"); },
                                       reg_error("kernel_regularizer", R"({"config":{"l2":0.1}})") +
                                           "has no string \"class_name\""));
}

// ---- constraints ---------------------------------------------------------------------------

TEST(KerasConstraints, NamesAndObjects) {
  EXPECT_FALSE(kernel_constraint("null").active());
  EXPECT_EQ(kernel_constraint(R"("max_norm")"), Constraint::make_max_norm(2.0, {0}));
  EXPECT_EQ(kernel_constraint(R"("MaxNorm")"), Constraint::make_max_norm(2.0, {0}));
  EXPECT_EQ(kernel_constraint(R"("non_neg")"), Constraint::make_non_neg());
  EXPECT_EQ(kernel_constraint(R"("NonNeg")"), Constraint::make_non_neg());
  EXPECT_EQ(kernel_constraint(R"("unit_norm")"), Constraint::make_unit_norm({0}));
  EXPECT_EQ(kernel_constraint(R"("UnitNorm")"), Constraint::make_unit_norm({0}));
  EXPECT_EQ(kernel_constraint(R"("min_max_norm")"), Constraint::make_min_max_norm(0.0, 1.0, 1.0, {0}));
  EXPECT_EQ(kernel_constraint(R"("MinMaxNorm")"), Constraint::make_min_max_norm(0.0, 1.0, 1.0, {0}));
  EXPECT_EQ(kernel_constraint(R"({"module": "keras.constraints", "class_name": "MaxNorm",
                                  "config": {"max_value": 0.45, "axis": 0}, "registered_name": null})"),
            Constraint::make_max_norm(0.45, {0}));
  EXPECT_EQ(kernel_constraint(R"({"class_name": "MinMaxNorm", "config": {"min_value": 0.2, "max_value": 0.9,
                                  "rate": 0.5, "axis": [0, 1]}})"),
            Constraint::make_min_max_norm(0.2, 0.9, 0.5, {0, 1}));
  EXPECT_EQ(kernel_constraint(R"({"class_name": "UnitNorm", "config": {"axis": -1}})"),
            Constraint::make_unit_norm({-1}));
  EXPECT_EQ(kernel_constraint(R"({"class_name": "NonNeg", "config": {}})"), Constraint::make_non_neg());
  EXPECT_EQ(kernel_constraint(R"({"class_name": "MaxNorm", "config": {"max_value": 3}})"),
            Constraint::make_max_norm(3.0, {0}));
}

TEST(KerasConstraints, LegacyAliasesOnlyBeforeKeras3) {
  EXPECT_EQ(kernel_constraint(R"("maxnorm")", "2.21.0"), Constraint::make_max_norm());
  EXPECT_EQ(kernel_constraint(R"("nonneg")", "2.2.4"), Constraint::make_non_neg());
  EXPECT_EQ(kernel_constraint(R"("unitnorm")", "2.2.4"), Constraint::make_unit_norm());
  EXPECT_TRUE(throws_with<ConfigError>([] { kernel_constraint(R"("maxnorm")"); },
                                       constraint_error("\"maxnorm\"") + "is not a constraint name of Keras 3"));
}

TEST(KerasConstraints, RefusesWhatRnnxCannotApply) {
  EXPECT_TRUE(throws_with<ConfigError>(
      [] { kernel_constraint(R"({"class_name": "RadialConstraint", "config": {}})"); },
      constraint_error(R"({"class_name":"RadialConstraint","config":{}})") + "names no constraint class rnnx knows"));
  EXPECT_TRUE(throws_with<ConfigError>(
      [] { kernel_constraint(R"({"class_name": "UnitNorm", "config": {"max_value": 2}})"); },
      constraint_error(R"({"class_name":"UnitNorm","config":{"max_value":2}})") +
          "has an unsupported argument 'max_value' for UnitNorm"));
  EXPECT_TRUE(throws_with<ConfigError>(
      [] { kernel_constraint(R"({"class_name": "MaxNorm", "config": {"axis": "rows"}})"); },
      constraint_error(R"({"class_name":"MaxNorm","config":{"axis":"rows"}})") +
          "has axis = \"rows\" (expected an integer or a list of them)"));
  EXPECT_TRUE(throws_with<ConfigError>(
      [] { kernel_constraint(R"({"class_name": "MaxNorm", "config": {"max_value": "2"}})"); },
      constraint_error(R"({"class_name":"MaxNorm","config":{"max_value":"2"}})") +
          "has max_value = \"2\" (expected a number)"));
  EXPECT_TRUE(throws_with<ConfigError>(
      [] { kernel_constraint(R"({"class_name": "MaxNorm", "config": {}, "registered_name": "x>MaxNorm"})"); },
      constraint_error(R"({"class_name":"MaxNorm","config":{},"registered_name":"x>MaxNorm"})") +
          "is a custom constraint (registered_name \"x>MaxNorm\") that rnnx cannot apply"));
  EXPECT_TRUE(throws_with<ConfigError>([] { kernel_constraint("[1]"); },
                                       constraint_error("[1]") + "is neither a name nor an object"));
}

// ---- where the loader reads them -----------------------------------------------------------

const char* kL2 = R"({"module": "keras.regularizers", "class_name": "L2", "config": {"l2": 0.05},
                      "registered_name": null})";

// The regularizer/constraint keys of a Keras cell, as JSON members.
std::string cell_settings() {
  return std::string(R"("kernel_regularizer": "l1", "recurrent_regularizer": )") + kL2 +
         R"(, "bias_regularizer": {"class_name": "L1L2", "config": {"l1": 0.1, "l2": 0.2}},
            "kernel_constraint": "max_norm", "recurrent_constraint": "non_neg",
            "bias_constraint": {"class_name": "MinMaxNorm", "config": {"min_value": 0.1, "max_value": 0.5,
                                "rate": 1.0, "axis": 0}})";
}

void expect_cell_settings(std::vector<Param<float>> ps, size_t first, const std::string& what) {
  ASSERT_GE(ps.size(), first + 3) << what;
  EXPECT_EQ(ps[first].regularizer, Regularizer::make_l1()) << what;
  EXPECT_EQ(ps[first + 1].regularizer, Regularizer::make_l2(0.05)) << what;
  EXPECT_EQ(ps[first + 2].regularizer, (Regularizer{0.1, 0.2})) << what;
  EXPECT_EQ(ps[first].constraint, Constraint::make_max_norm()) << what;
  EXPECT_EQ(ps[first + 1].constraint, Constraint::make_non_neg()) << what;
  EXPECT_EQ(ps[first + 2].constraint, Constraint::make_min_max_norm(0.1, 0.5, 1.0, {0})) << what;
}

TEST(KerasRegularizerPlacement, RecurrentLayersAndCellsCarryThemOnTheirWeights) {
  for (const std::string cls : {"LSTM", "GRU", "SimpleRNN"}) {
    auto l = layer(R"({"class_name": ")" + cls + R"(", "config": {"units": 3, "activity_regularizer": "l2", )" +
                   cell_settings() + "}}");
    l->build({{2, 4, 5}});
    expect_cell_settings(l->params(), 0, cls);
    EXPECT_EQ(l->activity_regularizer(), Regularizer::make_l2()) << cls;
  }
  // RNN over a StackedRNNCells: each cell's own settings; the RNN layer's activity one.
  auto rnn = layer(R"({"class_name": "RNN", "config": {"activity_regularizer": {"class_name": "L1",
      "config": {"l1": 0.2}}, "cell": {"class_name": "StackedRNNCells", "config": {"cells": [
      {"class_name": "GRUCell", "config": {"units": 2}},
      {"class_name": "LSTMCell", "config": {"units": 3, )" +
                   cell_settings() + "}}]}}}}");
  rnn->build({{2, 4, 5}});
  const auto ps = rnn->params();
  ASSERT_EQ(ps.size(), 6u);
  EXPECT_FALSE(ps[0].regularizer.active());
  EXPECT_FALSE(ps[0].constraint.active());
  expect_cell_settings(ps, 3, "StackedRNNCells' LSTMCell");
  EXPECT_EQ(rnn->activity_regularizer(), Regularizer::make_l1(0.2));
}

TEST(KerasRegularizerPlacement, BidirectionalKeepsThemInBothDirections) {
  auto b = layer(R"({"class_name": "Bidirectional", "config": {"merge_mode": "concat", "layer":
      {"class_name": "LSTM", "config": {"units": 3, "return_state": true, "activity_regularizer": "l1", )" +
                 cell_settings() + "}}}}");
  b->build({{2, 4, 5}});
  expect_cell_settings(b->params(), 0, "forward");
  expect_cell_settings(b->params(), 3, "backward");
  EXPECT_EQ(b->activity_regularizer(), Regularizer::make_l1());
  // Keras applies each direction's penalty before merging: only concat / None add up the same.
  EXPECT_TRUE(throws_with<ConfigError>(
      [] {
        layer(R"({"class_name": "Bidirectional", "config": {"name": "bi", "merge_mode": "sum", "layer":
            {"class_name": "GRU", "config": {"units": 3, "activity_regularizer": "l2"}}}})");
      },
      "Bidirectional 'bi': an activity_regularizer on the wrapped layer needs merge_mode 'concat' or None and the "
      "same regularizer on both directions (Keras applies it to each direction before merging), got merge_mode "
      "'sum'"));
  EXPECT_TRUE(throws_with<ConfigError>(
      [] {
        layer(R"({"class_name": "Bidirectional", "config": {"name": "bi", "activity_regularizer": "l2", "layer":
            {"class_name": "GRU", "config": {"units": 3}}}})");
      },
      "Bidirectional 'bi': argument 'activity_regularizer' = \"l2\" is not supported by rnnx (expected null)"));
}

TEST(KerasRegularizerPlacement, TimeDistributedFollowsTheVersion) {
  const std::string td = R"({"class_name": "TimeDistributed", "config": {"name": "td", "layer":
      {"class_name": "Dense", "config": {"units": 2, "activity_regularizer": "l2"}}}})";
  // Keras 3 runs the wrapped layer's call(), which skips the penalty (so does rnnx) ...
  EXPECT_FALSE(layer(td)->activity_regularizer().active());
  // ... tf.keras calls the layer, which applies it on the (batch * steps) view.
  EXPECT_TRUE(throws_with<ConfigError>(
      [&] { layer(td, "2.21.0"); },
      "TimeDistributed 'td': argument 'layer' has an activity_regularizer, which tf.keras applies inside "
      "TimeDistributed and rnnx does not"));
}

TEST(KerasRegularizerPlacement, DenseAndEmbedding) {
  auto d = layer(R"({"class_name": "Dense", "config": {"units": 2, "kernel_regularizer": "l2",
      "bias_regularizer": "l1", "activity_regularizer": {"class_name": "L1L2", "config": {"l1": 0.1, "l2": 0.3}},
      "kernel_constraint": "non_neg", "bias_constraint": {"class_name": "MaxNorm", "config": {"max_value": 1.5,
      "axis": 0}}}})");
  d->build({{2, 3}});
  auto ps = d->params();
  ASSERT_EQ(ps.size(), 2u);
  EXPECT_EQ(ps[0].regularizer, Regularizer::make_l2());
  EXPECT_EQ(ps[1].regularizer, Regularizer::make_l1());
  EXPECT_EQ(ps[0].constraint, Constraint::make_non_neg());
  EXPECT_EQ(ps[1].constraint, Constraint::make_max_norm(1.5));
  EXPECT_EQ(d->activity_regularizer(), (Regularizer{0.1, 0.3}));

  auto e = layer(R"({"class_name": "Embedding", "config": {"input_dim": 5, "output_dim": 2,
      "embeddings_regularizer": "l1", "activity_regularizer": "l2", "embeddings_constraint": "unit_norm"}})");
  e->build({{2, 3}});
  ps = e->params();
  ASSERT_EQ(ps.size(), 1u);
  EXPECT_EQ(ps[0].regularizer, Regularizer::make_l1());
  EXPECT_EQ(ps[0].constraint, Constraint::make_unit_norm());
  EXPECT_EQ(e->activity_regularizer(), Regularizer::make_l2());
  // Errors name the layer and the argument.
  EXPECT_TRUE(throws_with<ConfigError>(
      [] { layer(R"({"class_name": "Embedding", "config": {"name": "emb", "input_dim": 5, "output_dim": 2,
                      "activity_regularizer": true}})"); },
      "Embedding 'emb': argument 'activity_regularizer' expected null, a regularizer name ('l1', 'l2', 'L1L2', "
      "...) or {\"class_name\": \"L1\" | \"L2\" | \"L1L2\", \"config\": {\"l1\": ..., \"l2\": ...}}; got true, "
      "which is neither a name nor an object"));
}

}  // namespace
}  // namespace rnnx
