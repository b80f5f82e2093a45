// Keras config loading (spec §5, §8.3): versions, version-dependent defaults, strictness,
// aliases, the user-class registry and both model node formats. Numbers are checked by the
// parity goldens (tests/parity); these tests check what gets built and what is refused.
#include "rnnx/io/keras_config.h"

#include <gtest/gtest.h>

#include <string>

#include "rnnx/cells/gru_cell.h"
#include "rnnx/cells/stacked_cells.h"
#include "rnnx/cells/tf1_cells.h"
#include "rnnx/core/error.h"
#include "rnnx/layers/bidirectional.h"
#include "rnnx/layers/dense.h"
#include "rnnx/layers/gru.h"
#include "rnnx/layers/lstm.h"
#include "rnnx/layers/pooling.h"
#include "rnnx/layers/rnn.h"
#include "rnnx/layers/simple_rnn.h"
#include "rnnx/model/model.h"

namespace rnnx {
namespace {

// Expects ConfigError whose message contains every needle.
void expect_config_error(const std::function<void()>& f, std::initializer_list<std::string> needles) {
  try {
    f();
    ADD_FAILURE() << "expected ConfigError";
  } catch (const ConfigError& e) {
    for (const auto& n : needles) EXPECT_NE(std::string(e.what()).find(n), std::string::npos) << e.what();
  }
}

std::unique_ptr<Layer<float>> layer(const std::string& json, const std::string& version = "3.15.1") {
  return layer_from_config<float>(json, version);
}

template <class L>
L& as(const std::unique_ptr<Layer<float>>& l) {
  auto* p = dynamic_cast<L*>(l.get());
  if (!p) throw std::runtime_error("wrong layer type " + l->class_name());
  return *p;
}

// A Keras 3 LSTM entry, with dict-form initializers and dtype policy.
const char* kK3Lstm = R"({"module": "keras.layers", "class_name": "LSTM", "registered_name": null,
  "build_config": {"input_shape": [2, 5, 3]},
  "config": {"name": "enc", "trainable": true,
    "dtype": {"module": "keras", "class_name": "DTypePolicy", "config": {"name": "float32"}, "registered_name": null},
    "return_sequences": true, "return_state": false, "go_backwards": false, "stateful": false, "unroll": false,
    "zero_output_for_mask": false, "units": 4, "activation": "tanh", "recurrent_activation": "sigmoid",
    "use_bias": true,
    "kernel_initializer": {"module": "keras.initializers", "class_name": "GlorotUniform",
                           "config": {"seed": null, "input_axes": null, "output_axes": null}, "registered_name": null},
    "recurrent_initializer": {"module": "keras.initializers", "class_name": "Orthogonal",
                              "config": {"seed": 7, "gain": 2.0}, "registered_name": null},
    "bias_initializer": {"module": "keras.initializers", "class_name": "Constant", "config": {"value": 0.5},
                         "registered_name": null},
    "unit_forget_bias": true, "kernel_regularizer": {"module": "keras.regularizers", "class_name": "L2",
                                                      "config": {"l2": 0.01}, "registered_name": null},
    "recurrent_regularizer": null, "bias_regularizer": null, "activity_regularizer": null,
    "kernel_constraint": null, "recurrent_constraint": null, "bias_constraint": "non_neg",
    "dropout": 0.25, "recurrent_dropout": 0.0, "seed": 42}})";

TEST(KerasVersion, Parses) {
  auto v = KerasVersion::parse("3.15.1");
  EXPECT_EQ(v.major, 3);
  EXPECT_EQ(v.minor, 15);
  EXPECT_EQ(v.patch, 1);
  EXPECT_FALSE(v.tf_keras);
  EXPECT_TRUE(KerasVersion::parse("2.2.4-tf").tf_keras);
  EXPECT_TRUE(KerasVersion::parse("2.21.0").tf_keras);
  EXPECT_FALSE(KerasVersion::parse("2.3.1").tf_keras);
  EXPECT_EQ(KerasVersion::parse("3").major, 3);
  EXPECT_EQ(KerasVersion::parse("3.16.0.dev2025").minor, 16);
  EXPECT_THROW(KerasVersion::parse(""), ConfigError);
  EXPECT_THROW(KerasVersion::parse("keras"), ConfigError);
  EXPECT_THROW(KerasVersion::parse("99999999.1"), ConfigError);
  EXPECT_THROW(layer(kK3Lstm, "x3"), ConfigError);
}

TEST(KerasConfigLayers, BuildsKeras3LstmWithDictSettings) {
  auto l = layer(kK3Lstm);
  EXPECT_EQ(l->class_name(), "LSTM");
  EXPECT_EQ(l->name(), "enc");
  EXPECT_EQ(l->seed(), 42u);
  const auto o = as<LSTM<float>>(l).options();
  EXPECT_EQ(o.units, 4);
  EXPECT_TRUE(o.return_sequences);
  EXPECT_EQ(o.recurrent_activation.kind, ActivationKind::sigmoid);
  EXPECT_EQ(o.kernel_initializer.name, "glorot_uniform");
  EXPECT_EQ(o.recurrent_initializer.name, "orthogonal");
  EXPECT_DOUBLE_EQ(o.recurrent_initializer.gain, 2.0);
  EXPECT_EQ(o.recurrent_initializer.seed, 7u);
  EXPECT_EQ(o.bias_initializer.name, "constant");
  EXPECT_DOUBLE_EQ(o.bias_initializer.value, 0.5);
  EXPECT_DOUBLE_EQ(o.dropout, 0.25);
  EXPECT_EQ(o.seed, 42u);
  EXPECT_EQ(o.kernel_regularizer, Regularizer::make_l2(0.01));
  EXPECT_FALSE(o.recurrent_regularizer.active());
  EXPECT_EQ(o.bias_constraint, Constraint::make_non_neg());
  EXPECT_EQ(o.implementation, 2);
  EXPECT_TRUE(o.per_gate_dropout_masks);  // Keras >= 3.8
  l->build({{2, 5, 3}});
  EXPECT_EQ(l->count_params(), 4 * (3 * 4 + 4 * 4 + 4));
}

TEST(KerasConfigLayers, HardSigmoidFormulaFollowsTheVersion) {
  const std::string j = R"({"class_name": "GRU", "config": {"units": 2, "recurrent_activation": "hard_sigmoid"}})";
  EXPECT_EQ(as<GRU<float>>(layer(j, "3.15.1")).options().recurrent_activation.hard_sigmoid, HardSigmoidFormula::keras3);
  EXPECT_EQ(as<GRU<float>>(layer(j, "2.21.0")).options().recurrent_activation.hard_sigmoid, HardSigmoidFormula::keras2);
  EXPECT_EQ(as<GRU<float>>(layer(j, "2.2.4")).options().recurrent_activation.hard_sigmoid, HardSigmoidFormula::keras2);
}

TEST(KerasConfigLayers, VersionDefaults) {
  const std::string gru = R"({"class_name": "GRU", "config": {"units": 2}})";
  // reset_after: False in Keras 2 (standalone), True in tf.keras 2 and Keras 3 (spec §5).
  EXPECT_FALSE(as<GRU<float>>(layer(gru, "2.2.4")).options().reset_after);
  EXPECT_FALSE(as<GRU<float>>(layer(gru, "2.3.1")).options().reset_after);
  EXPECT_TRUE(as<GRU<float>>(layer(gru, "2.21.0")).options().reset_after);
  EXPECT_TRUE(as<GRU<float>>(layer(gru, "3.1.0")).options().reset_after);
  // recurrent_activation: hard_sigmoid before Keras 2.3.
  EXPECT_EQ(as<GRU<float>>(layer(gru, "2.2.4")).options().recurrent_activation.kind, ActivationKind::hard_sigmoid);
  EXPECT_EQ(as<GRU<float>>(layer(gru, "2.3.1")).options().recurrent_activation.kind, ActivationKind::sigmoid);
  // implementation: 1 in Keras 2.0.9-2.2.x, 2 later; 0 means 1.
  const std::string lstm = R"({"class_name": "LSTM", "config": {"units": 2}})";
  EXPECT_EQ(as<LSTM<float>>(layer(lstm, "2.2.4")).options().implementation, 1);
  EXPECT_EQ(as<LSTM<float>>(layer(lstm, "3.15.1")).options().implementation, 2);
  EXPECT_EQ(as<LSTM<float>>(layer(R"({"class_name": "LSTM", "config": {"units": 2, "implementation": 0}})", "2.0.5"))
                .options()
                .implementation,
            1);
  // Per-gate dropout masks (implementation 1): not in Keras 3.0-3.7.
  EXPECT_FALSE(as<LSTM<float>>(layer(lstm, "3.5.0")).options().per_gate_dropout_masks);
  EXPECT_TRUE(as<LSTM<float>>(layer(lstm, "3.8.0")).options().per_gate_dropout_masks);
  EXPECT_TRUE(as<LSTM<float>>(layer(lstm, "2.21.0")).options().per_gate_dropout_masks);
  // An explicit value wins over the default.
  EXPECT_TRUE(as<GRU<float>>(layer(R"({"class_name": "GRU", "config": {"units": 2, "reset_after": true}})", "2.2.4"))
                  .options()
                  .reset_after);
}

TEST(KerasConfigLayers, StrictAboutWhatCannotBeHonoured) {
  expect_config_error([] { layer(R"({"class_name": "Conv1DTranspose", "config": {"name": "c", "filters": 2}})"); },
                      {"Conv1DTranspose 'c'", "unknown Keras layer class 'Conv1DTranspose'"});
  expect_config_error([] { layer(R"({"class_name": "LSTM", "config": {"name": "l", "units": 2, "foo": 1}})"); },
                      {"LSTM 'l'", "argument 'foo'", "not supported"});
  expect_config_error([] { layer(R"({"class_name": "LSTM", "config": {"units": 2, "time_major": true}})", "3.15.1"); },
                      {"time_major", "Unrecognized keyword arguments"});
  expect_config_error([] { layer(R"({"class_name": "LSTM", "config": {"units": "2"}})"); },
                      {"argument 'units'", "integer"});
  expect_config_error([] { layer(R"({"class_name": "LSTM", "config": {"units": 2.5}})"); }, {"units"});
  expect_config_error([] { layer(R"({"class_name": "LSTM", "config": {}})"); }, {"'units' is required"});
  expect_config_error([] { layer(R"({"class_name": "LSTM", "config": {"units": 2, "activation": "swoosh"}})"); },
                      {"argument 'activation'", "swoosh"});
  expect_config_error([] { layer(R"({"class_name": "LSTM", "config": {"units": 2, "dtype": "mixed_float16"}})"); },
                      {"argument 'dtype'"});
  expect_config_error(
      [] {
        layer(R"({"class_name": "LSTM", "config": {"units": 2, "kernel_initializer":
                {"class_name": "GlorotUniform", "config": {"input_axes": [0]}}}})");
      },
      {"kernel_initializer", "input_axes"});
  expect_config_error(
      [] { layer(R"({"class_name": "Dense", "config": {"units": 2, "kernel_initializer": "magic"}})"); },
      {"kernel_initializer", "magic"});
  expect_config_error([] { layer(R"({"class_name": "Dense", "config": {"units": 2, "lora_rank": 4}})"); },
                      {"lora_rank"});
  expect_config_error([] { layer(R"({"class_name": "LSTM", "config": {"units": 2, "implementation": 3}})"); },
                      {"implementation"});
  expect_config_error([] { layer(R"({"class_name": "LSTM", "config": {"units": 0}})"); }, {"LSTM"});
  expect_config_error([] { layer(R"({"class_name": "LSTMCell", "config": {"units": 2}})"); }, {"is a cell class"});
  expect_config_error([] { layer("{not json"); }, {"invalid JSON"});
  expect_config_error([] { layer(R"({"config": {}})"); }, {"class_name"});
  expect_config_error([] { layer(R"({"class_name": "LSTM", "config": [1]})"); }, {"config"});
  expect_config_error(
      [] {
        layer(R"({"class_name": "Bidirectional", "config": {"merge_mode": "avg", "layer":
                 {"class_name": "LSTM", "config": {"units": 2}}}})");
      },
      {"merge_mode"});
  expect_config_error(
      [] {
        layer(
            R"({"class_name": "Bidirectional", "config": {"layer": {"class_name": "Dense", "config": {"units": 2}}}})");
      },
      {"must be a recurrent layer"});
  // Harmless keys are accepted.
  EXPECT_NO_THROW(layer(R"({"class_name": "LSTM", "config": {"units": 2, "trainable": false, "dtype": "float64",
                           "unroll": true, "use_cudnn": "auto", "time_major": false, "seed": null}})",
                        "2.21.0"));
}

TEST(KerasConfigLayers, AliasesAndSimpleLayers) {
  EXPECT_EQ(layer(R"({"class_name": "GlobalMaxPool1D", "config": {}})")->class_name(), "GlobalMaxPooling1D");
  EXPECT_EQ(layer(R"({"class_name": "GlobalAvgPool1D", "config": {"keepdims": true}})")->class_name(),
            "GlobalAveragePooling1D");
  auto d = layer(R"({"class_name": "Dense", "config": {"name": "out", "units": 3, "activation": "softmax",
                   "kernel_initializer": {"class_name": "VarianceScaling",
                       "config": {"scale": 2.0, "mode": "fan_out", "distribution": "normal", "seed": null}}}})",
                 "2.2.4");
  const auto& o = as<Dense<float>>(d).options();
  EXPECT_EQ(o.activation.kind, ActivationKind::softmax);
  EXPECT_EQ(o.kernel_initializer.name, "variance_scaling");
  EXPECT_EQ(o.kernel_initializer.distribution, "truncated_normal");
  EXPECT_EQ(o.kernel_initializer.mode, "fan_out");
  // A Keras 3 serialized activation function.
  auto a = layer(R"({"class_name": "SimpleRNN", "config": {"units": 2, "activation":
                   {"module": "keras.activations", "class_name": "function", "config": "relu", "registered_name": "function"}}})");
  EXPECT_EQ(as<SimpleRNN<float>>(a).options().activation.kind, ActivationKind::relu);
  // null activation is linear, as in Keras.
  auto n = layer(R"({"class_name": "SimpleRNN", "config": {"units": 2, "activation": null}})");
  EXPECT_EQ(as<SimpleRNN<float>>(n).options().activation.kind, ActivationKind::linear);
  for (const char* cls : {"Masking", "Dropout", "Flatten", "Add", "Concatenate"}) {
    std::string j = std::string(R"({"class_name": ")") + cls + R"(", "config": {)" +
                    (std::string(cls) == "Dropout" ? R"("rate": 0.5)" : "") + "}}";
    EXPECT_EQ(layer(j)->class_name(), cls);
  }
}

TEST(KerasConfigLayers, RecurrentWrappersAndCells) {
  // tf.keras Bidirectional without backward_layer; merge_mode null.
  auto b = layer(R"({"class_name": "Bidirectional", "config": {"name": "bi", "merge_mode": null,
                   "layer": {"class_name": "GRU", "config": {"name": "g", "units": 3, "return_sequences": true}}}})",
                 "2.21.0");
  EXPECT_EQ(as<Bidirectional<float>>(b).merge_mode(), MergeMode::none);
  EXPECT_TRUE(as<Bidirectional<float>>(b).backward_layer().rnn_options().go_backwards);
  // RNN over StackedRNNCells (Keras 3 form).
  auto s = layer(R"({"class_name": "RNN", "config": {"name": "stack", "return_state": true, "cell":
                   {"class_name": "StackedRNNCells", "config": {"cells": [
                     {"class_name": "LSTMCell", "config": {"units": 3}},
                     {"class_name": "GRUCell", "config": {"units": 2, "reset_after": false}}]}}}})");
  auto& rnn = as<RNN<float>>(s);
  EXPECT_EQ(rnn.cell().class_name(), "StackedRNNCells");
  EXPECT_EQ(rnn.cell().state_sizes(), (std::vector<int64_t>{3, 3, 2}));
  EXPECT_TRUE(rnn.rnn_options().return_state);
  // TF1 cells.
  auto c = cell_from_config<float>(R"({"class_name": "TF1LSTMCell", "config": {"num_units": 4, "num_proj": 2,
                                     "use_peepholes": true, "cell_clip": 0.5, "forget_bias": 0.7}})",
                                   "2.21.0");
  EXPECT_EQ(c->state_sizes(), (std::vector<int64_t>{4, 2}));
  expect_config_error(
      [] {
        cell_from_config<float>(
            R"({"class_name": "TF1BasicLSTMCell", "config": {"num_units": 2, "use_peepholes": true}})", "2.21.0");
      },
      {"use_peepholes"});
  expect_config_error([] { cell_from_config<float>(R"({"class_name": "Dense", "config": {"units": 2}})", "3.1.0"); },
                      {"unknown Keras cell class 'Dense'"});
  // num_constants needs a cell that takes constants.
  expect_config_error(
      [] {
        layer(R"({"class_name": "RNN", "config": {"num_constants": 1, "cell": {"class_name": "GRUCell",
                 "config": {"units": 2}}}})",
              "2.21.0");
      },
      {"num_constants"});
}

// A user cell: h = x @ kernel (no recurrence), to exercise the registry.
template <class T>
class EchoCell : public Cell<T> {
 public:
  explicit EchoCell(int64_t units) : units_(units) {}
  std::string class_name() const override { return "EchoCell"; }
  std::vector<int64_t> state_sizes() const override { return {units_}; }
  int64_t output_size() const override { return units_; }
  void build(int64_t input_size, const std::vector<int64_t>&, Rng&) override {
    input_size_ = input_size;
    kernel_ = Tensor<T>({input_size, units_}, T(1));
    built_ = true;
  }
  bool built() const override { return built_; }
  int64_t input_size() const override { return input_size_; }
  std::vector<Param<T>> params() override { return {{"kernel", &kernel_}}; }
  void step(const CellStep<T>& s) const override {
    for (int64_t b = 0; b < s.batch; ++b)
      for (int64_t u = 0; u < units_; ++u) {
        T acc = 0;
        for (int64_t d = 0; d < input_size_; ++d) acc += s.x[b * input_size_ + d];
        s.output[b * units_ + u] = acc;
        s.new_states[0][b * units_ + u] = acc;
      }
  }
  std::unique_ptr<Cell<T>> clone_config() const override { return std::make_unique<EchoCell>(units_); }

 private:
  int64_t units_, input_size_ = 0;
  bool built_ = false;
  Tensor<T> kernel_;
};

TEST(KerasConfigRegistry, UserCellsAndLayers) {
  const std::string rnn_json =
      R"({"class_name": "RNN", "config": {"name": "r", "return_sequences": true,
          "cell": {"class_name": "EchoCell", "config": {"units": 2, "flavour": "plain"}}}})";
  expect_config_error([&] { layer(rnn_json); }, {"unknown Keras cell class 'EchoCell'"});
  register_keras_cell<float>("EchoCell", [](const KerasConfig& c) -> std::unique_ptr<Cell<float>> {
    return std::make_unique<EchoCell<float>>(c.get_int("units"));
  });
  // The factory left "flavour" unread: reported as unsupported.
  expect_config_error([&] { layer(rnn_json); }, {"EchoCell", "flavour"});
  register_keras_cell<float>("EchoCell", [](const KerasConfig& c) -> std::unique_ptr<Cell<float>> {
    c.ignore("flavour");
    return std::make_unique<EchoCell<float>>(c.get_int("units"));
  });
  auto l = layer(rnn_json);
  Tensor<float> x({1, 3, 2}, {1, 2, 3, 4, 5, 6});
  l->build({x.shape()});
  const Tensor<float> y = (*l)(x);
  EXPECT_EQ(y.shape(), (Shape{1, 3, 2}));
  EXPECT_EQ(y[0], 3.0f);
  EXPECT_EQ(y[5], 11.0f);
  // Keras 3 registered_name works as a key too.
  register_keras_cell<float>("mypkg>Echo2", [](const KerasConfig& c) -> std::unique_ptr<Cell<float>> {
    return std::make_unique<EchoCell<float>>(c.get_int("units"));
  });
  EXPECT_NO_THROW(layer(R"({"class_name": "RNN", "config": {"cell": {"class_name": "Echo2",
                    "registered_name": "mypkg>Echo2", "config": {"units": 1}}}})"));
  unregister_keras_class<float>("EchoCell");
  unregister_keras_class<float>("mypkg>Echo2");
  expect_config_error([&] { layer(rnn_json); }, {"unknown Keras cell class"});

  // A user layer replacing nothing built in.
  register_keras_layer<float>("Twice", [](const KerasConfig& c) -> std::unique_ptr<Layer<float>> {
    DenseOptions o;
    o.units = c.get_int("units");
    return std::make_unique<Dense<float>>(o);
  });
  auto t = layer(R"({"class_name": "Twice", "config": {"name": "tw", "units": 2}})");
  EXPECT_EQ(t->name(), "tw");
  unregister_keras_class<float>("Twice");
  EXPECT_THROW(register_keras_layer<float>("", nullptr), ConfigError);
}

// ---- models

TEST(KerasConfigModels, Keras2SequentialBareList) {
  // Keras <= 2.1: the config is the layer list; the first layer has batch_input_shape.
  auto m = model_from_config<float>(R"({"class_name": "Sequential", "config": [
      {"class_name": "LSTM", "config": {"name": "lstm_1", "units": 3, "batch_input_shape": [null, 4, 2],
                                        "implementation": 1}},
      {"class_name": "Dense", "config": {"name": "dense_1", "units": 1, "activation": "sigmoid"}}]})",
                                    "2.1.6");
  auto y = m->predict({Tensor<float>({5, 4, 2}, 0.5f)});
  ASSERT_EQ(y.size(), 1u);
  EXPECT_EQ(y[0].shape(), (Shape{5, 1}));
  EXPECT_EQ(m->params().size(), 5u);
  expect_config_error(
      [] {
        model_from_config<float>(R"({"class_name": "Sequential", "config": {"layers": [
          {"class_name": "Dense", "config": {"units": 1}}]}})",
                                 "3.1.0");
      },
      {"no input shape"});
  expect_config_error(
      [] {
        model_from_config<float>(R"({"class_name": "Sequential", "config": {"layers": [
          {"class_name": "InputLayer", "config": {"batch_shape": [null, 3, 2]}},
          {"class_name": "LSTM", "config": {"units": 2, "return_state": true}}]}})",
                                 "3.1.0");
      },
      {"must return one tensor"});
}

// tf_keras functional encoder-decoder: initial_state packed into the decoder's node.
const char* kTfkEncDec = R"({"class_name": "Functional", "config": {"name": "model",
  "layers": [
    {"class_name": "InputLayer", "config": {"batch_input_shape": [null, 5, 3], "dtype": "float32", "sparse": false,
       "ragged": false, "name": "input_1"}, "name": "input_1", "inbound_nodes": []},
    {"class_name": "InputLayer", "config": {"batch_input_shape": [null, 4, 2], "dtype": "float32", "sparse": false,
       "ragged": false, "name": "input_2"}, "name": "input_2", "inbound_nodes": []},
    {"class_name": "LSTM", "config": {"name": "lstm", "units": 4, "return_state": true, "implementation": 2},
     "name": "lstm", "inbound_nodes": [[["input_1", 0, 0, {}]]]},
    {"class_name": "LSTM", "config": {"name": "lstm_1", "units": 4, "return_sequences": true, "implementation": 2},
     "name": "lstm_1", "inbound_nodes": [[["input_2", 0, 0, {}], ["lstm", 0, 1, {}], ["lstm", 0, 2, {}]]]},
    {"class_name": "Dense", "config": {"name": "dense", "units": 3, "activation": "softmax"},
     "name": "dense", "inbound_nodes": [[["lstm_1", 0, 0, {}]]]}],
  "input_layers": [["input_1", 0, 0], ["input_2", 0, 0]],
  "output_layers": [["dense", 0, 0]]}, "keras_version": "2.21.0", "backend": "tensorflow"})";

TEST(KerasConfigModels, TfKerasFunctionalWithPackedInitialState) {
  auto m = model_from_config<float>(kTfkEncDec, "2.21.0");
  EXPECT_EQ(m->input_names(), (std::vector<std::string>{"input_1", "input_2"}));
  auto y = m->predict({Tensor<float>({2, 5, 3}, 0.1f), Tensor<float>({2, 4, 2}, 0.2f)});
  ASSERT_EQ(y.size(), 1u);
  EXPECT_EQ(y[0].shape(), (Shape{2, 4, 3}));
  // The decoder's initial state matters: with different encoder input the output changes.
  auto y2 = m->predict({Tensor<float>({2, 5, 3}, -0.7f), Tensor<float>({2, 4, 2}, 0.2f)});
  EXPECT_NE(y[0].storage(), y2[0].storage());
  // Unknown references are reported.
  std::string broken = kTfkEncDec;
  broken.replace(broken.find("[\"lstm\", 0, 2, {}]"), 18, "[\"lstm\", 0, 5, {}]");
  EXPECT_THROW(model_from_config<float>(broken, "2.21.0"), ConfigError);
}

std::string k3_tensor(const std::string& layer, const std::string& shape) {
  return R"({"class_name": "__keras_tensor__", "config": {"shape": )" + shape +
         R"(, "dtype": "float32", "keras_history": [")" + layer + R"(", 0, 0]}})";
}

// Keras 3 functional: Masking -> LSTM with the mask recorded as Any(NotEqual(x, v)).
std::string k3_masked_model(double recorded_value) {
  return R"({"class_name": "Functional", "config": {"name": "m", "trainable": true, "layers": [
    {"class_name": "InputLayer", "config": {"batch_shape": [null, 5, 3], "dtype": "float32", "sparse": false,
       "ragged": false, "name": "in", "optional": false}, "name": "in", "inbound_nodes": []},
    {"class_name": "NotEqual", "config": {"name": "not_equal"}, "name": "not_equal",
     "inbound_nodes": [{"args": [)" +
         k3_tensor("in", "[null, 5, 3]") + ", " + std::to_string(recorded_value) + R"(], "kwargs": {}}]},
    {"class_name": "Masking", "config": {"name": "masking", "mask_value": 0.0}, "name": "masking",
     "inbound_nodes": [{"args": [)" +
         k3_tensor("in", "[null, 5, 3]") + R"(], "kwargs": {}}]},
    {"class_name": "Any", "config": {"name": "any", "axis": -1, "keepdims": false}, "name": "any",
     "inbound_nodes": [{"args": [)" +
         k3_tensor("not_equal", "[null, 5, 3]") + R"(], "kwargs": {}}]},
    {"class_name": "LSTM", "config": {"name": "lstm", "units": 2}, "name": "lstm",
     "inbound_nodes": [{"args": [)" +
         k3_tensor("masking", "[null, 5, 3]") + R"(], "kwargs": {"training": false, "mask": )" +
         k3_tensor("any", "[null, 5]") + R"(}}]}],
    "input_layers": ["in", 0, 0], "output_layers": ["lstm", 0, 0]}})";
}

TEST(KerasConfigModels, Keras3RecordedMasksMustMatchPropagation) {
  auto m = model_from_config<float>(k3_masked_model(0.0), "3.15.1");
  EXPECT_EQ(m->predict({Tensor<float>({1, 5, 3}, 1.0f)})[0].shape(), (Shape{1, 2}));
  // No NotEqual / Any layers in the model: they were mask bookkeeping.
  for (const auto& l : m->layers()) EXPECT_NE(l->class_name(), "NotEqual");
  expect_config_error([] { model_from_config<float>(k3_masked_model(0.5), "3.15.1"); },
                      {"recorded mask", "explicit masks are not supported"});
}

// Found by tests/fuzz/keras_config_fuzz (regression input in tests/fuzz/corpus/keras_config/
// deep_nesting_stack_overflow.json): deeply nested JSON overflowed the stack in dump() while
// building an error message. Nesting beyond kMaxJsonDepth is now a ConfigError.
TEST(KerasConfigModels, DeeplyNestedJsonIsRefused) {
  const std::string deep_units =
      R"({"class_name": "LSTM", "config": {"units": )" + std::string(50000, '[') + std::string(50000, ']') + "}}";
  expect_config_error([&] { layer_from_config<float>(deep_units, "3.1.0"); }, {"layer config", "more than 128 levels"});
  const std::string deep_entry = R"({"class_name": 5, "x": )" + std::string(50000, '[') + std::string(50000, ']') + "}";
  expect_config_error([&] { model_from_config<float>(deep_entry, "3.1.0"); }, {"model config", "more than 128 levels"});
  // 100 levels are still accepted by the parser (the config is then refused for what it says).
  const std::string ok_depth =
      R"({"class_name": "LSTM", "config": {"units": )" + std::string(100, '[') + std::string(100, ']') + "}}";
  try {
    layer_from_config<float>(ok_depth, "3.1.0");
  } catch (const ConfigError& e) {
    EXPECT_EQ(std::string(e.what()).find("levels"), std::string::npos) << e.what();
  }
}

TEST(KerasConfigModels, MalformedModels) {
  expect_config_error([] { model_from_config<float>(R"({"class_name": "LSTM", "config": {}})", "3.1.0"); },
                      {"not a model"});
  expect_config_error(
      [] { model_from_config<float>(R"({"class_name": "Functional", "config": {"layers": 3}})", "3.1.0"); },
      {"layers"});
  expect_config_error([] { model_from_config<float>("[", "3.1.0"); }, {"invalid JSON"});
  expect_config_error(
      [] {
        model_from_config<float>(R"({"class_name": "Functional", "config": {"name": "f", "layers": [
          {"class_name": "InputLayer", "config": {"batch_shape": [null, 2], "name": "a"}, "name": "a", "inbound_nodes": []},
          {"class_name": "Dense", "config": {"name": "d", "units": 1}, "name": "d",
           "inbound_nodes": [[["a", 0, 0, {"mask": ["a", 0, 0]}]]]}],
          "input_layers": [["a", 0, 0]], "output_layers": [["d", 0, 0]]}})",
                                 "2.21.0");
      },
      {"explicit masks"});
}

}  // namespace
}  // namespace rnnx
