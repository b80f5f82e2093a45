// Keras 3 `.keras` files whose regularizer / constraint configs carry "shared_object_id"
// (tests/data/files/shared_object_cases.json, written by python/oracle/shared_object_cases.py).
// Keras 3.15 writes the key on every initializer, regularizer and constraint of SimpleRNN /
// LSTM / GRU (the layer serializes its cell's objects twice) and on an object passed to two
// layers; it reads every copy on its own (regularizers.deserialize drops the id). rnnx loads
// the files, predicts Keras's numbers, and reads each regularizer / constraint as Keras's
// reloaded model holds it (`keras_reads`), also where a later copy of a shared id was edited.
#include <gtest/gtest.h>

#include <cctype>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "rnnx/core/error.h"
#include "rnnx/io/keras_config.h"
#include "rnnx/io/model_file.h"
#include "rnnx/io/npy.h"
#include "rnnx/io/save_model.h"
#include "rnnx/model/model.h"
#include "support/close.h"

namespace rnnx::testing {
namespace {

using Json = nlohmann::json;

std::string files_dir() { return std::string(RNNX_TEST_DATA_DIR) + "/files"; }

struct SharedCase {
  std::string file, npz, notes;
  int shared_ids = 0;
  Json keras_reads;
};

void PrintTo(const SharedCase& c, std::ostream* os) { *os << c.file; }

std::vector<SharedCase> read_cases() {
  std::ifstream in(files_dir() + "/shared_object_cases.json");
  if (!in) return {};
  const Json doc = Json::parse(in);
  std::vector<SharedCase> out;
  for (const auto& c : doc.at("cases"))
    out.push_back({c.at("file"), c.at("npz"), c.at("notes"), c.at("shared_ids").get<int>(), c.at("keras_reads")});
  return out;
}

template <class T>
void check_predicts(const SharedCase& c) {
  SCOPED_TRACE(c.file + " (" + c.notes + ")");
  auto model = load_model<T>(files_dir() + "/" + c.file);
  const auto arrays = read_npz(files_dir() + "/" + c.npz);
  const std::vector<Tensor<T>> got = model->predict({arrays.at("c0_x0").template as<T>()});
  ASSERT_EQ(got.size(), 1u);
  EXPECT_TRUE(all_close(got[0], arrays.at("c0_y0").template as<float>(), Tolerance{1e-5, 0.0}, c.file));
}

// The weight a Keras setting applies to: "kernel_regularizer" -> "kernel", "recurrent_..." ->
// "recurrent_kernel".
std::string weight_of(const std::string& setting) {
  const std::string w = setting.substr(0, setting.rfind('_'));
  return w == "recurrent" ? "recurrent_kernel" : w;
}

const Param<float>* find_param(const std::vector<Param<float>>& params, const std::string& weight) {
  for (const auto& p : params)
    if (p.name == weight || p.name.ends_with("/" + weight)) return &p;
  return nullptr;
}

double number_or(const Json& config, const char* key, double fallback) {
  return config.contains(key) ? config.at(key).get<double>() : fallback;
}

void expect_setting(const Param<float>& p, const std::string& setting, const Json& keras, const std::string& what) {
  const std::string cls = keras.at("class_name");
  const Json& cfg = keras.at("config");
  if (setting.ends_with("_regularizer")) {
    EXPECT_DOUBLE_EQ(p.regularizer.l1, number_or(cfg, "l1", 0.0)) << what << " " << cls;
    EXPECT_DOUBLE_EQ(p.regularizer.l2, number_or(cfg, "l2", 0.0)) << what << " " << cls;
    return;
  }
  const ConstraintKind kind = cls == "MaxNorm"      ? ConstraintKind::max_norm
                              : cls == "NonNeg"     ? ConstraintKind::non_neg
                              : cls == "UnitNorm"   ? ConstraintKind::unit_norm
                              : cls == "MinMaxNorm" ? ConstraintKind::min_max_norm
                                                    : ConstraintKind::none;
  ASSERT_NE(kind, ConstraintKind::none) << what << ": unexpected Keras class " << cls;
  EXPECT_EQ(p.constraint.kind, kind) << what;
  if (cfg.contains("max_value")) {
    EXPECT_DOUBLE_EQ(p.constraint.max_value, cfg.at("max_value").get<double>()) << what;
  }
  if (cfg.contains("min_value")) {
    EXPECT_DOUBLE_EQ(p.constraint.min_value, cfg.at("min_value").get<double>()) << what;
  }
  if (cfg.contains("rate")) {
    EXPECT_DOUBLE_EQ(p.constraint.rate, cfg.at("rate").get<double>()) << what;
  }
  if (cfg.contains("axis")) {
    EXPECT_EQ(p.constraint.axis, std::vector<int64_t>{cfg.at("axis").get<int64_t>()}) << what;
  }
}

void check_settings(const Model<float>& model, const SharedCase& c) {
  ASSERT_FALSE(c.keras_reads.empty());
  for (const auto& [layer_name, settings] : c.keras_reads.items()) {
    const std::vector<Param<float>> params = model.layer(layer_name)->params();
    for (const auto& [setting, keras] : settings.items()) {
      const std::string what = c.file + ": " + layer_name + " " + setting;
      const Param<float>* p = find_param(params, weight_of(setting));
      ASSERT_NE(p, nullptr) << what << ": no weight '" << weight_of(setting) << "'";
      expect_setting(*p, setting, keras, what);
    }
  }
}

class SharedObjectFile : public ::testing::TestWithParam<SharedCase> {};

TEST_P(SharedObjectFile, PredictsLikeKerasFloat) { check_predicts<float>(GetParam()); }

TEST_P(SharedObjectFile, PredictsLikeKerasDouble) { check_predicts<double>(GetParam()); }

TEST_P(SharedObjectFile, ReadsEachSettingAsKerasDoes) {
  const SharedCase& c = GetParam();
  auto model = load_model<float>(files_dir() + "/" + c.file);
  check_settings(*model, c);
}

// rnnx writes no shared_object_id; its file loads back with the same settings.
TEST_P(SharedObjectFile, SaveAndReloadKeepsTheSettings) {
  const SharedCase& c = GetParam();
  auto model = load_model<float>(files_dir() + "/" + c.file);
  auto again = load_model_from_memory<float>(save_model_to_memory(*model), "rnnx-written " + c.file);
  check_settings(*again, c);
}

std::string case_name(const ::testing::TestParamInfo<SharedCase>& info) {
  std::string s = info.param.file;
  for (char& ch : s)
    if (!std::isalnum(static_cast<unsigned char>(ch))) ch = '_';
  return s;
}

INSTANTIATE_TEST_SUITE_P(Files, SharedObjectFile, ::testing::ValuesIn(read_cases()), case_name);

TEST(SharedObjectFiles, GoldenSetIsComplete) {
  const auto cases = read_cases();
  ASSERT_GE(cases.size(), 3u) << "tests/data/files/shared_object_cases.json is missing or short";
  for (const auto& c : cases) EXPECT_GT(c.shared_ids, 0) << c.file;
}

// The key is metadata whatever its value (Keras never reads it for these objects); the
// other checks on the object still apply.
TEST(SharedObjectFiles, KeyIsIgnoredButTheObjectIsStillChecked) {
  const std::string base = inspect_keras_file(files_dir() + "/shared_seq_rnns.k3.keras").model_config;
  Json cfg = Json::parse(base);
  Json& lstm = cfg["config"]["layers"][2]["config"];
  ASSERT_EQ(lstm.at("name"), "lstm");
  lstm["kernel_regularizer"]["shared_object_id"] = "not a number";
  EXPECT_NO_THROW(model_from_config<float>(cfg.dump(), "3.15.1"));
  lstm["kernel_regularizer"]["shared_objects"] = 1;
  try {
    model_from_config<float>(cfg.dump(), "3.15.1");
    ADD_FAILURE() << "no ConfigError";
  } catch (const ConfigError& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find("LSTM 'lstm'"), std::string::npos) << msg;
    EXPECT_NE(msg.find("kernel_regularizer"), std::string::npos) << msg;
    EXPECT_NE(msg.find("unexpected key 'shared_objects'"), std::string::npos) << msg;
  }
}

}  // namespace
}  // namespace rnnx::testing
