// Functional models whose inputs / outputs nest lists and dicts (rnnx/model/tensor_structure.h).
// The Keras-made files tests/data/files/struct_* (index struct_cases.json, written by
// python/oracle/struct_file_cases.py) load, keep the structure and predict like Keras in
// keras.tree.flatten order; rnnx writes the structure back (Keras 3 config input_layers /
// output_layers) and reloads it; malformed structures are ConfigErrors that say where.
#include <gtest/gtest.h>

#include <cctype>
#include <fstream>
#include <functional>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "io/zip.h"
#include "rnnx/core/error.h"
#include "rnnx/io/keras_config.h"
#include "rnnx/io/model_file.h"
#include "rnnx/io/npy.h"
#include "rnnx/io/save_model.h"
#include "rnnx/layers/dense.h"
#include "rnnx/layers/lstm.h"
#include "rnnx/model/model.h"
#include "support/close.h"

namespace rnnx::testing {
namespace {

using Json = nlohmann::json;

constexpr Tolerance kTolerance{1e-5, 0.0};

std::string files_dir() { return std::string(RNNX_TEST_DATA_DIR) + "/files"; }

struct StructCase {
  std::string file, arch, writer, npz, notes, input_structure, output_structure;
};

void PrintTo(const StructCase& c, std::ostream* os) { *os << c.file; }

std::vector<StructCase> read_cases() {
  std::ifstream in(files_dir() + "/struct_cases.json");
  if (!in) return {};
  const Json doc = Json::parse(in);
  std::vector<StructCase> out;
  for (const auto& c : doc.at("cases"))
    out.push_back({c.at("file"), c.at("arch"), c.at("writer"), c.at("npz"), c.at("notes"), c.at("input_structure"),
                   c.at("output_structure")});
  return out;
}

// Inputs c0_x<j> and Keras outputs c0_y<j>, both in keras.tree.flatten order.
template <class T>
struct Recorded {
  std::vector<Tensor<T>> inputs;
  std::vector<Tensor<float>> outputs;
};

template <class T>
Recorded<T> read_recorded(const std::string& npz) {
  const auto arrays = read_npz(files_dir() + "/" + npz);
  Recorded<T> r;
  for (int j = 0; arrays.count("c0_x" + std::to_string(j)); ++j)
    r.inputs.push_back(arrays.at("c0_x" + std::to_string(j)).template as<T>());
  for (int j = 0; arrays.count("c0_y" + std::to_string(j)); ++j)
    r.outputs.push_back(arrays.at("c0_y" + std::to_string(j)).template as<float>());
  return r;
}

template <class T>
void expect_predicts(Model<T>& model, const Recorded<T>& r, const std::string& what) {
  const std::vector<Tensor<T>> got = model.predict(r.inputs);
  ASSERT_EQ(got.size(), r.outputs.size()) << what;
  for (size_t j = 0; j < got.size(); ++j)
    EXPECT_TRUE(all_close(got[j], r.outputs[j], kTolerance, what + " output " + std::to_string(j)));
}

std::string structure_of(const std::optional<TensorStructure>& s) { return s ? s->to_string() : "<unset>"; }

Json archive_config(const std::vector<uint8_t>& archive) {
  const detail::ZipReader zip(archive, "archive");
  const std::vector<uint8_t> text = zip.read("config.json");
  return Json::parse(text.begin(), text.end());
}

template <class T>
void check_file(const StructCase& c) {
  SCOPED_TRACE(c.file + " (" + c.notes + ")");
  auto model = load_model<T>(files_dir() + "/" + c.file);
  EXPECT_EQ(structure_of(model->input_structure()), c.input_structure);
  EXPECT_EQ(structure_of(model->output_structure()), c.output_structure);
  const auto r = read_recorded<T>(c.npz);
  ASSERT_FALSE(r.inputs.empty());
  ASSERT_EQ(model->inputs().size(), r.inputs.size());
  expect_predicts(*model, r, "loaded");
}

class StructFile : public ::testing::TestWithParam<StructCase> {};

TEST_P(StructFile, PredictsLikeKerasFloat) { check_file<float>(GetParam()); }

TEST_P(StructFile, PredictsLikeKerasDouble) { check_file<double>(GetParam()); }

// save -> load keeps the structure and the predictions; from a Keras 3 file, rnnx writes
// exactly the input_layers / output_layers Keras wrote.
TEST_P(StructFile, SaveKeepsTheStructure) {
  const StructCase& c = GetParam();
  SCOPED_TRACE(c.file);
  auto model = load_model<float>(files_dir() + "/" + c.file);
  const std::vector<uint8_t> bytes = save_model_to_memory(*model);
  auto again = load_model_from_memory<float>(bytes, "rnnx-written " + c.file);
  EXPECT_EQ(structure_of(again->input_structure()), c.input_structure);
  EXPECT_EQ(structure_of(again->output_structure()), c.output_structure);
  expect_predicts(*again, read_recorded<float>(c.npz), "reloaded");
  if (c.file.ends_with(".k3.keras")) {
    const std::vector<uint8_t> original = [&] {
      std::ifstream in(files_dir() + "/" + c.file, std::ios::binary);
      return std::vector<uint8_t>((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    }();
    const Json keras = archive_config(original).at("config");
    const Json ours = archive_config(bytes).at("config");
    EXPECT_EQ(ours.at("output_layers"), keras.at("output_layers"));
    EXPECT_EQ(ours.at("input_layers"), keras.at("input_layers"));
  }
}

std::string case_name(const ::testing::TestParamInfo<StructCase>& info) {
  std::string s = info.param.file;
  for (char& ch : s)
    if (!std::isalnum(static_cast<unsigned char>(ch))) ch = '_';
  return s;
}

INSTANTIATE_TEST_SUITE_P(Files, StructFile, ::testing::ValuesIn(read_cases()), case_name);

TEST(StructFiles, GoldenSetIsComplete) {
  const auto cases = read_cases();
  ASSERT_GE(cases.size(), 12u) << "tests/data/files/struct_cases.json is missing or short";
  int nested = 0, dicts = 0, tfk = 0;
  for (const auto& c : cases) {
    nested += c.output_structure.find("[[") != std::string::npos || c.output_structure.find(", [") != std::string::npos;
    dicts += c.output_structure.find('{') != std::string::npos || c.input_structure.find('{') != std::string::npos;
    tfk += c.writer == "tfk";
  }
  EXPECT_GT(nested, 0);
  EXPECT_GT(dicts, 0);
  EXPECT_GT(tfk, 0);
}

// ---- malformed input_layers / output_layers ----------------------------------------------------

std::string config_of(const std::string& file) { return inspect_keras_file(files_dir() + "/" + file).model_config; }

std::string config_error(const std::function<void()>& f) {
  try {
    f();
  } catch (const ConfigError& e) {
    return e.what();
  } catch (const std::exception& e) {
    return std::string("wrong exception type: ") + e.what();
  }
  return "no exception";
}

bool has(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }

// The struct_out_list config with output_layers (or input_layers) replaced.
std::string load_error(const char* key, const Json& value) {
  Json cfg = Json::parse(config_of("struct_out_list.k3.keras"));
  cfg["config"][key] = value;
  return config_error([&] { model_from_config<float>(cfg.dump(), "3.15.1"); });
}

TEST(StructErrors, MalformedLeafSaysWhereWhatAndGot) {
  const Json head = Json::array({"head", 0, 0});
  const std::string msg = load_error("output_layers", Json::array({head, Json::array({Json::array({"enc", "0", 1})})}));
  EXPECT_TRUE(has(msg, "output_layers[1][0]")) << msg;
  EXPECT_TRUE(has(msg, "expected a [layer_name, node_index, tensor_index] triple")) << msg;
  EXPECT_TRUE(has(msg, R"(got ["enc","0",1])")) << msg;
  EXPECT_TRUE(has(msg, "Functional")) << msg;
}

TEST(StructErrors, NonTensorEntriesAreRefused) {
  const Json head = Json::array({"head", 0, 0});
  std::string msg = load_error("output_layers", Json::array({head, Json::array({5})}));
  EXPECT_TRUE(has(msg,
                  "output_layers[1][0]: expected a [layer_name, node_index, tensor_index] triple, or a list or "
                  "dict of them, got 5"))
      << msg;
  msg = load_error("output_layers", Json{{"a", head}, {"b", nullptr}});
  EXPECT_TRUE(has(msg, "output_layers['b']")) << msg;
  EXPECT_TRUE(has(msg, "got null")) << msg;
  msg = load_error("input_layers", "input_layer");
  EXPECT_TRUE(has(msg, "input_layers: expected")) << msg;
  msg = load_error("output_layers", Json::array({Json::array(), Json::object()}));
  EXPECT_TRUE(has(msg, "output_layers: expected at least one tensor")) << msg;
}

TEST(StructErrors, UnknownTensorInANestedLeaf) {
  const std::string msg =
      load_error("output_layers", Json::array({Json::array({"head", 0, 0}), Json{{"k", Json::array({"nope", 0, 0})}}}));
  EXPECT_TRUE(has(msg, "nope")) << msg;
}

TEST(StructErrors, TooDeepNestingIsRefused) {
  Json deep = Json::array({"head", 0, 0});
  for (int i = 0; i < 100; ++i) deep = Json::array({deep});
  const std::string msg = load_error("output_layers", deep);
  EXPECT_TRUE(has(msg, "nested deeper than 64 levels")) << msg;
}

// ---- structures set in C++ ---------------------------------------------------------------------

std::unique_ptr<Model<float>> three_output_model() {
  auto m = std::make_unique<Model<float>>("three");
  const auto x = m->input({-1, 4, 3}, "x");
  LSTMOptions o;
  o.units = 2;
  o.return_state = true;
  const auto ys = m->call(std::make_shared<LSTM<float>>(o, "enc"), {x});
  DenseOptions d;
  d.units = 3;
  m->set_outputs({m->call(std::make_shared<Dense<float>>(d, "head"), {ys[0]})[0], ys[1], ys[2]});
  return m;
}

TensorStructure leaf() { return {}; }

TensorStructure list(std::vector<TensorStructure> items) {
  TensorStructure s;
  s.kind = TensorStructure::Kind::list;
  s.items = std::move(items);
  return s;
}

TensorStructure dict(std::vector<std::string> keys, std::vector<TensorStructure> items) {
  TensorStructure s;
  s.kind = TensorStructure::Kind::dict;
  s.keys = std::move(keys);
  s.items = std::move(items);
  return s;
}

TEST(StructModel, WrongStructuresAreConfigErrors) {
  auto m = three_output_model();
  std::string msg = config_error([&] { m->set_output_structure(list({leaf(), leaf()})); });
  EXPECT_TRUE(has(msg, "set_output_structure: the structure [0, 1] has 2 tensors, the model has 3 outputs")) << msg;
  msg = config_error([&] { m->set_output_structure(dict({"z", "a"}, {leaf(), list({leaf(), leaf()})})); });
  EXPECT_TRUE(has(msg, "dict keys must be distinct and sorted")) << msg;
  msg = config_error([&] { m->set_output_structure(dict({"a"}, {leaf(), leaf(), leaf()})); });
  EXPECT_TRUE(has(msg, "one key per item")) << msg;
  msg = config_error([&] { m->set_input_structure(list({leaf(), leaf()})); });
  EXPECT_TRUE(has(msg, "the model has 1 inputs")) << msg;
  EXPECT_FALSE(m->output_structure());
}

TEST(StructModel, SetOutputsForgetsTheStructure) {
  auto m = three_output_model();
  m->set_output_structure(list({leaf(), list({leaf(), leaf()})}));
  EXPECT_EQ(m->output_structure()->to_string(), "[0, [1, 2]]");
  m->set_outputs(std::vector<ModelTensor>{m->outputs()[0]});
  EXPECT_FALSE(m->output_structure());
}

// A structure set in C++ is what config.json holds, leaves in flatten order; Keras 3 would
// flatten {"a": [h, c], "z": head} to head-last, so the leaves follow the sorted keys.
TEST(StructModel, WrittenAsKeras3Structure) {
  auto m = three_output_model();
  const auto outs = m->outputs();
  m->set_outputs({outs[1], outs[2], outs[0]});  // flatten order: a = [h, c], then z = head
  m->set_output_structure(dict({"a", "z"}, {list({leaf(), leaf()}), leaf()}));
  const Json cfg = archive_config(save_model_to_memory(*m)).at("config");
  EXPECT_EQ(cfg.at("output_layers"), Json::parse(R"({"a": [["enc", 0, 1], ["enc", 0, 2]], "z": ["head", 0, 0]})"));
  EXPECT_EQ(cfg.at("input_layers"), Json::parse(R"(["x", 0, 0])"));
  auto again = load_model_from_memory<float>(save_model_to_memory(*m));
  EXPECT_EQ(structure_of(again->output_structure()), "{'a': [0, 1], 'z': 2}");
  Tensor<float> x({2, 4, 3});
  for (int64_t i = 0; i < x.size(); ++i) x[i] = 0.1f * static_cast<float>(i % 7) - 0.3f;
  const auto want = m->predict({x});
  const auto got = again->predict({x});
  ASSERT_EQ(got.size(), 3u);
  for (size_t j = 0; j < got.size(); ++j) EXPECT_TRUE(all_close(got[j], want[j], Tolerance{0.0, 0.0}));
}

// A model with a structured output used as a layer: the outer graph sees flat outputs
// (Keras Node.output_tensors is flattened), the inner entry keeps its structure.
TEST(StructModel, NestedModelKeepsItsStructure) {
  std::shared_ptr<Model<float>> inner = three_output_model();
  inner->set_output_structure(list({leaf(), list({leaf(), leaf()})}));
  Model<float> outer("outer");
  const auto x = outer.input({-1, 4, 3}, "outer_x");
  const auto ys = outer.call(inner, {x});
  ASSERT_EQ(ys.size(), 3u);
  outer.set_outputs({ys[2], ys[0]});
  const Json cfg = archive_config(save_model_to_memory(outer)).at("config");
  const Json* inner_entry = nullptr;
  for (const auto& l : cfg.at("layers"))
    if (l.at("name") == "three") inner_entry = &l;
  ASSERT_NE(inner_entry, nullptr);
  EXPECT_EQ(inner_entry->at("config").at("output_layers"),
            Json::parse(R"([["head", 0, 0], [["enc", 0, 1], ["enc", 0, 2]]])"));
  EXPECT_EQ(cfg.at("output_layers"), Json::parse(R"([["three", 1, 2], ["three", 1, 0]])"));
  auto again = load_model_from_memory<float>(save_model_to_memory(outer));
  auto reloaded_inner = std::dynamic_pointer_cast<Model<float>>(again->layer("three"));
  ASSERT_TRUE(reloaded_inner);
  EXPECT_EQ(structure_of(reloaded_inner->output_structure()), "[0, [1, 2]]");
}

// A nested model with dict inputs called on a dict (struct_nested_model): both writers'
// node forms load, the inner model keeps its structures, and rnnx writes the call's argument
// as the dict Keras 3 wrote.
TEST(StructFiles, NestedModelCalledOnADict) {
  for (const char* file : {"struct_nested_model.k3.keras", "struct_nested_model.tfk.h5"}) {
    SCOPED_TRACE(file);
    auto model = load_model<float>(files_dir() + "/" + file);
    auto inner = std::dynamic_pointer_cast<Model<float>>(model->layer("inner"));
    ASSERT_TRUE(inner);
    EXPECT_EQ(structure_of(inner->input_structure()), "{'a_in': 0, 'b_in': 1}");
    EXPECT_EQ(structure_of(inner->output_structure()), "{'x': [0, [1, 2]], 'y': 3}");
    const Json cfg = archive_config(save_model_to_memory(*model)).at("config");
    for (const auto& l : cfg.at("layers")) {
      if (l.at("name") != "inner") continue;
      const Json& arg = l.at("inbound_nodes").at(0).at("args").at(0);
      ASSERT_TRUE(arg.is_object()) << arg.dump();
      EXPECT_EQ(arg.at("a_in").at("config").at("keras_history"), Json::parse(R"(["a", 0, 0])"));
      EXPECT_EQ(arg.at("b_in").at("config").at("keras_history"), Json::parse(R"(["b", 0, 0])"));
    }
  }
}

}  // namespace
}  // namespace rnnx::testing
