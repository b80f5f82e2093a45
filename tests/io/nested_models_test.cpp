// Nested models (a Sequential / Functional model used as a layer). The Keras-made files
// tests/data/files/nested_* load and predict like Keras (keras_files_test.cpp; Keras 3
// loads rnnx's re-saves of them, tests/data/rnnx_written). Here: rnnx writes the weight
// paths and call numbers Keras 3 writes, a nested model built in C++ survives save and
// load_weights, and what rnnx cannot do in nested form is refused naming the inner model,
// the layer and the reason.
#include <gtest/gtest.h>

#include <fstream>
#include <iterator>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "io/hdf5/hdf5.h"
#include "io/zip.h"
#include "rnnx/core/error.h"
#include "rnnx/io/keras_config.h"
#include "rnnx/io/model_file.h"
#include "rnnx/io/save_model.h"
#include "rnnx/layers/dense.h"
#include "rnnx/layers/input_layer.h"
#include "rnnx/layers/lstm.h"
#include "rnnx/layers/masking.h"
#include "rnnx/layers/merge.h"
#include "rnnx/layers/time_distributed.h"
#include "rnnx/model/sequential.h"

namespace rnnx::testing {
namespace {

using Json = nlohmann::json;

std::string file_path(const std::string& name) { return std::string(RNNX_TEST_DATA_DIR) + "/files/" + name; }

std::vector<uint8_t> read_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::vector<uint8_t>((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

// Every dataset of an HDF5 group, by path, with its shape.
void list_datasets(const detail::h5::Group& g, const std::string& prefix, std::map<std::string, Shape>& out) {
  for (const auto& child : g.children()) {
    if (g.has_dataset(child))
      out[prefix + child] = g.dataset_info(child).shape;
    else if (g.has_group(child))
      list_datasets(g.group(child), prefix + child + "/", out);
  }
}

std::map<std::string, Shape> weight_paths(const std::vector<uint8_t>& archive) {
  const detail::ZipReader zip(archive, "archive");
  const std::vector<uint8_t> h5 = zip.read("model.weights.h5");
  const detail::h5::File file(h5, "model.weights.h5");
  std::map<std::string, Shape> out;
  list_datasets(file.root(), "", out);
  return out;
}

Json archive_config(const std::vector<uint8_t>& archive) {
  const detail::ZipReader zip(archive, "archive");
  const std::vector<uint8_t> text = zip.read("config.json");
  return Json::parse(text.begin(), text.end());
}

// The keras_history triples of a layer entry's inbound nodes, in order.
void histories(const Json& j, std::vector<Json>& out) {
  if (j.is_object()) {
    if (j.contains("keras_history")) out.push_back(j.at("keras_history"));
    for (const auto& [k, v] : j.items()) histories(v, out);
  } else if (j.is_array()) {
    for (const auto& v : j) histories(v, out);
  }
}

std::map<std::string, std::vector<Json>> node_references(const Json& model_config) {
  std::map<std::string, std::vector<Json>> out;
  for (const auto& l : model_config.at("config").at("layers")) histories(l.at("inbound_nodes"), out[l.at("name")]);
  return out;
}

Tensor<float> ramp(Shape shape) {
  Tensor<float> t(shape);
  for (int64_t i = 0; i < t.size(); ++i) t[i] = 0.1f * static_cast<float>((i * 7919) % 23 - 11);
  return t;
}

void expect_identical(const std::vector<Tensor<float>>& a, const std::vector<Tensor<float>>& b) {
  ASSERT_EQ(a.size(), b.size());
  for (size_t i = 0; i < a.size(); ++i) {
    ASSERT_EQ(a[i].shape(), b[i].shape()) << "output " << i;
    for (int64_t k = 0; k < a[i].size(); ++k) ASSERT_EQ(a[i][k], b[i][k]) << "output " << i << " element " << k;
  }
}

// The ConfigError message of `f`, or a failure.
template <class F>
std::string config_error(F&& f) {
  try {
    f();
  } catch (const ConfigError& e) {
    return e.what();
  }
  ADD_FAILURE() << "expected a ConfigError";
  return "";
}

::testing::AssertionResult has(const std::string& text, const std::string& part) {
  if (text.find(part) != std::string::npos) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << "missing \"" << part << "\" in: " << text;
}

// ---- what rnnx writes is what Keras 3 writes ------------------------------------------------

const char* const kKeras3Files[] = {"nested_seq.k3.keras",   "nested_enc_dec.k3.keras", "nested_shared.k3.keras",
                                    "nested_td.k3.keras",    "nested_deep.k3.keras",    "nested_deferred.k3.keras",
                                    "nested_masked.k3.keras"};

TEST(NestedModels, SavedWeightPathsAreKeras3s) {
  for (const char* name : kKeras3Files) {
    SCOPED_TRACE(name);
    const std::vector<uint8_t> keras = read_bytes(file_path(name));
    auto model = load_model<float>(file_path(name));
    const auto ours = weight_paths(save_model_to_memory(*model));
    EXPECT_EQ(ours, weight_paths(keras));
    EXPECT_GT(ours.size(), 2u);
  }
}

TEST(NestedModels, CallNumbersAreKeras3s) {
  // Keras 3 numbers a nested Functional's calls from 0 in node arguments and from 1 in
  // input_layers / output_layers (nested_shared outputs ["tower", 1, 0]: its first call).
  for (const char* name : {"nested_seq.k3.keras", "nested_enc_dec.k3.keras", "nested_shared.k3.keras",
                           "nested_deep.k3.keras", "nested_deferred.k3.keras"}) {
    SCOPED_TRACE(name);
    const Json keras = archive_config(read_bytes(file_path(name)));
    auto model = load_model<float>(file_path(name));
    const Json ours = archive_config(save_model_to_memory(*model));
    EXPECT_EQ(ours.at("config").at("output_layers"), keras.at("config").at("output_layers"));
    EXPECT_EQ(ours.at("config").at("input_layers"), keras.at("config").at("input_layers"));
    EXPECT_EQ(node_references(ours), node_references(keras));
  }
}

// ---- a nested model built in C++ --------------------------------------------------------------

std::shared_ptr<Layer<float>> lstm(int64_t units, bool sequences, bool state, const std::string& name) {
  LSTMOptions o;
  o.units = units;
  o.return_sequences = sequences;
  o.return_state = state;
  return std::make_shared<LSTM<float>>(o, name);
}

std::shared_ptr<Layer<float>> dense(int64_t units) {
  DenseOptions o;
  o.units = units;
  return std::make_shared<Dense<float>>(o);
}

// A shared Sequential tower, a functional encoder whose states start a decoder, and a
// TimeDistributed Sequential; one output read straight from the encoder.
std::unique_ptr<Model<float>> cxx_model(uint64_t seed) {
  auto tower = std::make_shared<Sequential<float>>("tower");
  tower->set_seed(seed);
  tower->add(std::make_shared<InputLayer<float>>(Shape{-1, 5, 3}));
  tower->add(lstm(4, false, false, "lstm"));
  tower->add(dense(2));
  auto encoder = std::make_shared<Model<float>>("encoder");
  encoder->set_seed(seed + 1);
  const auto ein = encoder->input({-1, 5, 3}, "enc_in");
  encoder->set_outputs(encoder->call(lstm(3, false, true, "enc_lstm"), {ein}));
  auto per_step = std::make_shared<Sequential<float>>("per_step");
  per_step->set_seed(seed + 2);
  per_step->add(std::make_shared<InputLayer<float>>(Shape{-1, 3}));
  per_step->add(dense(2));

  auto m = std::make_unique<Model<float>>("outer");
  m->set_seed(seed + 3);
  const auto a = m->input({-1, 5, 3}, "a");
  const auto b = m->input({-1, 5, 3}, "b");
  const auto ta = m->call(tower, {a});
  const auto tb = m->call(tower, {b});
  const auto e = m->call(encoder, {a});
  const auto dec = m->call(lstm(3, true, false, "decoder"), {b}, {.initial_state = {e[1], e[2]}});
  const auto td = m->call(std::make_shared<TimeDistributed<float>>(per_step), dec);
  const auto cat = m->call(std::make_shared<Concatenate<float>>(), {ta[0], tb[0]});
  m->set_outputs({cat[0], td[0], e[1]});
  return m;
}

TEST(NestedModels, CxxBuiltModelSavesAndLoadsBack) {
  auto m = cxx_model(3);
  const std::vector<Tensor<float>> x = {ramp({2, 5, 3}), ramp({2, 5, 3})};
  const std::vector<uint8_t> bytes = save_model_to_memory(*m);
  auto back = load_model_from_memory<float>(bytes, "saved");
  expect_identical(m->predict(x), back->predict(x));
  EXPECT_EQ(back->layer("tower")->class_name(), "Sequential");
  EXPECT_EQ(back->layer("encoder")->class_name(), "Functional");
  auto* td = dynamic_cast<TimeDistributed<float>*>(back->layer("time_distributed").get());
  ASSERT_NE(td, nullptr);
  EXPECT_EQ(td->layer()->class_name(), "Sequential");
  const auto paths = weight_paths(bytes);
  for (const char* p : {"layers/sequential/layers/lstm/cell/vars/0", "layers/functional/layers/lstm/cell/vars/2",
                        "layers/time_distributed/layer/layers/dense/vars/0", "layers/lstm/cell/vars/1"})
    EXPECT_EQ(paths.count(p), 1u) << p;
  // The config reads back to a model that writes the same config.
  EXPECT_EQ(model_to_keras_json(*back), model_to_keras_json(*m));
  // A model built the same way (other initial weights) takes the file's weights by path.
  auto fresh = cxx_model(99);
  for (size_t i = 0; i < 3; ++i) EXPECT_NE(fresh->predict(x)[i][0], m->predict(x)[i][0]) << "output " << i;
  load_weights_from_memory(*fresh, bytes, "saved");
  expect_identical(m->predict(x), fresh->predict(x));
}

// ---- refusals -----------------------------------------------------------------------------------

Json config_of(const std::string& name) { return Json::parse(inspect_keras_file(file_path(name)).model_config); }

Json& layer_named(Json& model, const std::string& name) {
  for (auto& l : model.at("config").at("layers"))
    if (l.at("config").value("name", std::string()) == name) return l;
  throw std::runtime_error("no layer " + name);
}

TEST(NestedModels, UnsupportedLayerInsideNamesTheNestedModel) {
  Json cfg = config_of("nested_seq.k3.keras");
  Json& lstm_entry = layer_named(layer_named(cfg, "inner_seq"), "lstm");
  lstm_entry["config"]["frobnicate"] = 1;
  std::string msg = config_error([&] { model_from_config<float>(cfg.dump(), "3.15.1"); });
  EXPECT_TRUE(has(msg, "in nested model Sequential 'inner_seq'"));
  EXPECT_TRUE(has(msg, "LSTM 'lstm'"));
  EXPECT_TRUE(has(msg, "'frobnicate'"));

  lstm_entry["config"].erase("frobnicate");
  lstm_entry["class_name"] = "Conv1DTranspose";
  msg = config_error([&] { model_from_config<float>(cfg.dump(), "3.15.1"); });
  EXPECT_TRUE(has(msg, "in nested model Sequential 'inner_seq'"));
  EXPECT_TRUE(has(msg, "unknown Keras layer class 'Conv1DTranspose'"));

  // Two deep: both models are named, outer first.
  Json deep = config_of("nested_deep.tfk.h5");
  layer_named(layer_named(layer_named(deep, "mid"), "seq"), "gru")["config"]["frobnicate"] = true;
  msg = config_error([&] { model_from_config<float>(deep.dump(), "2.21.0"); });
  EXPECT_TRUE(has(msg, "in nested model Functional 'mid'"));
  EXPECT_TRUE(has(msg, "in nested model Sequential 'seq'"));
  EXPECT_LT(msg.find("'mid'"), msg.find("'seq'"));
  EXPECT_TRUE(has(msg, "GRU 'gru'"));
}

TEST(NestedModels, ModelInsideAWrapperOtherThanTimeDistributedIsRefused) {
  Json cfg = config_of("nested_td.k3.keras");
  layer_named(cfg, "time_distributed")["class_name"] = "Bidirectional";
  const std::string msg = config_error([&] { model_from_config<float>(cfg.dump(), "3.15.1"); });
  EXPECT_TRUE(has(msg, "Bidirectional 'time_distributed'"));
  EXPECT_TRUE(has(msg, "argument 'layer' is a model (Sequential 'per_step')"));
  EXPECT_TRUE(has(msg, "TimeDistributed"));
}

TEST(NestedModels, TimeDistributedModelWithActivityRegularizerIsRefused) {
  Json cfg = config_of("nested_td.k3.keras");
  layer_named(cfg, "time_distributed")["config"]["activity_regularizer"] = {{"class_name", "L2"},
                                                                            {"config", {{"l2", 0.1}}}};
  const std::string msg = config_error([&] { model_from_config<float>(cfg.dump(), "3.15.1"); });
  EXPECT_TRUE(has(msg, "TimeDistributed 'time_distributed'"));
  EXPECT_TRUE(has(msg, "activity_regularizer"));
}

TEST(NestedModels, TfKerasReferenceToTheInnerGraphIsRefused) {
  // tf_keras numbers a nested Functional's calls from 1 (call 0 is its own graph).
  Json cfg = config_of("nested_enc_dec.tfk.h5");
  Json& decoder = layer_named(cfg, "decoder");
  ASSERT_EQ(decoder["inbound_nodes"][0][1][0], "encoder");
  ASSERT_EQ(decoder["inbound_nodes"][0][1][1], 1);
  decoder["inbound_nodes"][0][1][1] = 0;
  const std::string msg = config_error([&] { model_from_config<float>(cfg.dump(), "2.21.0"); });
  EXPECT_TRUE(has(msg, "nested model 'encoder'"));
  EXPECT_TRUE(has(msg, "numbers from 1"));
}

TEST(NestedModels, WriterNamesTheNestedModel) {
  // A Keras 1/2 hard_sigmoid has no Keras 3 spelling, also inside a nested model.
  const std::string cfg = R"({"class_name": "LSTM", "config": {"units": 2, "recurrent_activation": "hard_sigmoid"}})";
  auto inner = std::make_shared<Sequential<float>>("inner");
  inner->add(std::make_shared<InputLayer<float>>(Shape{-1, 3, 2}));
  inner->add(std::shared_ptr<Layer<float>>(layer_from_config<float>(cfg, "2.2.4")));
  Model<float> m("outer");
  const auto x = m.input({-1, 3, 2});
  m.set_outputs(m.call(inner, {x}));
  const std::string msg = config_error([&] { save_model_to_memory(m); });
  EXPECT_TRUE(has(msg, "in nested model Sequential 'inner'"));
  EXPECT_TRUE(has(msg, "LSTM 'lstm'"));
  EXPECT_TRUE(has(msg, "hard_sigmoid"));
}

TEST(NestedModels, WriterRefusesAMaskFromANestedModelIntoAnInitialStateCall) {
  // tf.keras passes the mask to a call with initial_state; Keras 3 does not, and the mask of
  // a nested model's output cannot be recorded.
  auto inner = std::make_shared<Sequential<float>>("masked");
  inner->add(std::make_shared<InputLayer<float>>(Shape{-1, 4, 2}));
  inner->add(std::make_shared<Masking<float>>());
  Model<float> m("outer");
  const auto enc_in = m.input({-1, 4, 2}, "enc_in");
  const auto dec_in = m.input({-1, 4, 2}, "dec_in");
  const auto enc = m.call(lstm(3, false, true, "encoder"), {enc_in});
  const auto masked = m.call(inner, {dec_in});
  m.set_outputs(m.call(lstm(3, true, false, "decoder"), masked, {.initial_state = {enc[1], enc[2]}}));
  const std::string msg = config_error([&] { save_model_to_memory(m); });
  EXPECT_TRUE(has(msg, "LSTM 'decoder'"));
  EXPECT_TRUE(has(msg, "nested model 'masked'"));
  EXPECT_TRUE(has(msg, "mask"));
}

}  // namespace
}  // namespace rnnx::testing
