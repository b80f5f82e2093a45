// Writing Keras 3 .keras files (rnnx/io/save_model.h): the files rnnx wrote from Keras
// goldens (tests/data/rnnx_written, checked in real Keras by
// python/oracle/verify_rnnx_files.py) load back in rnnx and pass their test vectors; every
// Keras model file of tests/data/files survives load -> save -> load with bit-identical
// predictions; configs re-read to the same model; what Keras 3 could not load is refused
// before anything is written; saves are atomic.
#include "rnnx/io/save_model.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "io/zip.h"
#include "rnnx/cells/tf1_cells.h"
#include "rnnx/core/error.h"
#include "rnnx/io/checkpoint.h"
#include "rnnx/io/keras_config.h"
#include "rnnx/io/model_file.h"
#include "rnnx/io/npy.h"
#include "rnnx/layers/dense.h"
#include "rnnx/layers/input_layer.h"
#include "rnnx/layers/lstm.h"
#include "rnnx/layers/masking.h"
#include "rnnx/layers/rnn.h"
#include "rnnx/model/sequential.h"
#include "rnnx/train/trainer.h"

namespace rnnx::testing {
namespace {

namespace fs = std::filesystem;

std::string data_dir() { return RNNX_TEST_DATA_DIR; }

// A fresh, empty directory for one test (removed by the test's end).
class TempDir {
 public:
  TempDir() {
    path_ =
        fs::temp_directory_path() / ("rnnx_save_test_" + std::to_string(::getpid()) + "_" + std::to_string(next_++));
    fs::remove_all(path_);
    fs::create_directories(path_);
  }
  ~TempDir() { fs::remove_all(path_); }
  std::string file(const std::string& name) const { return (path_ / name).string(); }
  size_t count() const {
    return static_cast<size_t>(std::distance(fs::directory_iterator(path_), fs::directory_iterator()));
  }

 private:
  static inline int next_ = 0;
  fs::path path_;
};

Tensor<float> ramp(Shape shape, float scale = 0.1f) {
  Tensor<float> t(shape);
  for (int64_t i = 0; i < t.size(); ++i) t[i] = scale * static_cast<float>((i * 7919) % 23 - 11);
  return t;
}

// Input(5, 3) -> LSTM(4, return_sequences) -> Dense(2), with seeded weights.
std::unique_ptr<Model<float>> small_model() {
  auto m = std::make_unique<Model<float>>("small");
  m->set_seed(3);
  const auto x = m->input({-1, 5, 3});
  LSTMOptions o;
  o.units = 4;
  o.return_sequences = true;
  const auto h = m->call(std::make_shared<LSTM<float>>(o), {x});
  DenseOptions d;
  d.units = 2;
  m->set_outputs(m->call(std::make_shared<Dense<float>>(d), h));
  return m;
}

void expect_identical(const std::vector<Tensor<float>>& a, const std::vector<Tensor<float>>& b,
                      const std::string& what) {
  ASSERT_EQ(a.size(), b.size()) << what;
  for (size_t i = 0; i < a.size(); ++i) {
    ASSERT_EQ(a[i].shape(), b[i].shape()) << what << " output " << i;
    for (int64_t k = 0; k < a[i].size(); ++k)
      ASSERT_EQ(a[i][k], b[i][k]) << what << " output " << i << " element " << k;
  }
}

// ---- files rnnx wrote and Keras checked -------------------------------------------------

TEST(SaveModel, RnnxWrittenFilesPassTheirTestVectors) {
  const std::string dir = data_dir() + "/rnnx_written";
  int n = 0;
  for (const auto& e : fs::directory_iterator(dir)) {
    if (e.path().extension() != ".keras") continue;
    ++n;
    try {
      const VerifyReport r = verify_model(e.path().string());
      EXPECT_TRUE(r.passed) << e.path() << "\n" << r.to_string();
      EXPECT_EQ(inspect_keras_file(e.path().string()).keras_version, kKerasSaveVersion);
    } catch (const Error& err) {
      ADD_FAILURE() << e.path().filename() << ": " << err.what();
    }
  }
  EXPECT_GE(n, 20) << "tests/data/rnnx_written should hold the files listed in cases.txt";
  // And Keras itself reproduced them (python/oracle/verify_rnnx_files.py).
  std::ifstream verified(dir + "/VERIFIED.md");
  std::string text((std::istreambuf_iterator<char>(verified)), std::istreambuf_iterator<char>());
  EXPECT_NE(text.find("Result: " + std::to_string(n) + " of " + std::to_string(n) + " files pass."), std::string::npos)
      << "VERIFIED.md is stale or reports failures; rerun python/oracle/verify_rnnx_files.py";
}

// ---- Keras file -> rnnx -> .keras -> rnnx --------------------------------------------------

TEST(SaveModel, KerasFilesRoundTripBitIdentical) {
  const std::string dir = data_dir() + "/files";
  std::ifstream in(dir + "/cases.json");
  if (!in) GTEST_SKIP() << "no tests/data/files/cases.json";
  const auto cases = nlohmann::json::parse(in).at("cases");
  int saved = 0;
  for (const auto& c : cases) {
    if (c.at("load") != "model") continue;
    const std::string file = c.at("file");
    const auto npz = read_npz(dir + "/" + c.at("npz").get<std::string>());
    std::vector<Tensor<float>> x;
    for (int i = 0; npz.count("c0_x" + std::to_string(i)); ++i)
      x.push_back(npz.at("c0_x" + std::to_string(i)).as<float>());
    auto model = load_model<float>(dir + "/" + file);
    // A Keras 1/2 hard_sigmoid (0.2x + 0.5) has no Keras 3 spelling: such models are refused.
    const KerasFileInfo info = inspect_keras_file(dir + "/" + file);
    const bool keras2_hard_sigmoid = info.keras_version.rfind("3.", 0) != 0 &&
                                     info.model_config.find("\"hard_sigmoid\"") != std::string::npos;
    if (keras2_hard_sigmoid) {
      EXPECT_THROW(save_model_to_memory(*model), ConfigError) << file;
      continue;
    }
    const std::vector<uint8_t> bytes = save_model_to_memory(*model);
    auto back = load_model_from_memory<float>(bytes, file + " (saved by rnnx)");
    model->reset_states();
    expect_identical(model->predict(x), back->predict(x), file);
    EXPECT_EQ(model->layers().size(), back->layers().size()) << file;
    ++saved;
  }
  EXPECT_GE(saved, 30);
}

TEST(SaveModel, ConfigReadsBackToTheSameModel) {
  auto m = small_model();
  const std::string json = model_to_keras_json(*m);
  auto back = model_from_config<float>(json, kKerasSaveVersion);
  back->set_weights(m->get_weights());
  const auto x = ramp({2, 5, 3});
  expect_identical(m->predict({x}), back->predict({x}), "config round trip");
  EXPECT_EQ(model_to_keras_json(*back), json) << "serialising the re-read model changes the config";
  const auto doc = nlohmann::json::parse(json);
  EXPECT_EQ(doc.at("class_name"), "Functional");
  EXPECT_EQ(doc.at("config").at("layers").at(1).at("config").at("units"), 4);
}

TEST(SaveModel, SequentialIsWrittenAsSequential) {
  Sequential<float> s("seq");
  s.set_seed(5);
  s.add(std::make_shared<InputLayer<float>>(Shape{-1, 6, 2}));
  LSTMOptions o;
  o.units = 3;
  s.add(std::make_shared<LSTM<float>>(o));
  DenseOptions d;
  d.units = 1;
  s.add(std::make_shared<Dense<float>>(d));
  const auto doc = nlohmann::json::parse(model_to_keras_json<float>(s));
  EXPECT_EQ(doc.at("class_name"), "Sequential");
  EXPECT_EQ(doc.at("config").at("layers").size(), 3u);  // InputLayer, LSTM, Dense
  const auto x = ramp({2, 6, 2});
  auto back = load_model_from_memory<float>(save_model_to_memory<float>(s));
  expect_identical({s.predict(x)}, back->predict({x}), "Sequential");
}

TEST(SaveModel, WeightsLayoutFollowsKerasPaths) {
  auto m = small_model();
  const std::vector<uint8_t> bytes = save_model_to_memory(*m);
  const detail::ZipReader zip(bytes, "saved");
  ASSERT_EQ(zip.entries().size(), 3u);
  EXPECT_EQ(zip.entries()[0].name, "metadata.json");
  EXPECT_EQ(zip.entries()[1].name, "config.json");
  EXPECT_EQ(zip.entries()[2].name, "model.weights.h5");
  const auto meta = nlohmann::json::parse(zip.read("metadata.json"));
  EXPECT_EQ(meta.at("keras_version"), kKerasSaveVersion);
  // A Keras 3 weights file: load_weights finds layers/lstm/cell/vars/0.. by the path rule.
  TempDir dir;
  save_weights(*m, dir.file("w.weights.h5"));
  EXPECT_EQ(inspect_keras_file(dir.file("w.weights.h5")).kind, KerasFileKind::keras_weights);
  auto fresh = model_from_config<float>(model_to_keras_json(*m), kKerasSaveVersion);
  load_weights(*fresh, dir.file("w.weights.h5"));
  const auto x = ramp({1, 5, 3});
  expect_identical(m->predict({x}), fresh->predict({x}), "save_weights");
}

TEST(SaveModel, MaskedCallWithInitialStateRecordsTheMask) {
  // tf.keras semantics (pass_mask): Keras 3 would drop the mask of a call with
  // initial_state, so the writer records it as NotEqual/Any operations.
  Model<float> m("enc_dec");
  m.set_seed(9);
  const auto a = m.input({-1, 4, 2}, "enc");
  const auto b = m.input({-1, 3, 2}, "dec");
  LSTMOptions eo;
  eo.units = 3;
  eo.return_state = true;
  LSTMOptions dopt;
  dopt.units = 3;
  dopt.return_sequences = true;
  const auto enc = m.call(std::make_shared<LSTM<float>>(eo, "encoder"), {a});
  const auto masked = m.call(std::make_shared<Masking<float>>(), {b});
  m.set_outputs(m.call(std::make_shared<LSTM<float>>(dopt, "decoder"), masked,
                       {.initial_state = {enc[1], enc[2]}, .pass_mask = true}));
  const std::string json = model_to_keras_json(m);
  EXPECT_NE(json.find("\"rnnx_mask_not_equal\""), std::string::npos);
  EXPECT_NE(json.find("\"rnnx_mask_any\""), std::string::npos);
  Tensor<float> xb = ramp({2, 3, 2});
  for (int k = 4; k < 6; ++k) xb[k] = 0.0f;  // sample 0, last step padded
  const auto xa = ramp({2, 4, 2}, 0.2f);
  auto back = load_model_from_memory<float>(save_model_to_memory(m));
  expect_identical(m.predict({xa, xb}), back->predict({xa, xb}), "masked decoder");
}

TEST(SaveModel, FineTuneAndSaveBack) {
  // A Keras 3 file, trained a few steps in rnnx, saved, and reloaded: the reloaded model is
  // the trained one (not the original), and a checkpoint restores the same weights.
  const std::string src = data_dir() + "/files/lstm_dense.k3.keras";
  const auto npz = read_npz(data_dir() + "/files/lstm_dense.k3.npz");
  const Tensor<float> x = npz.at("c0_x0").as<float>();
  Tensor<float> y = npz.at("c0_y0").as<float>();
  for (int64_t i = 0; i < y.size(); ++i) y[i] += 0.5f;  // a target the model does not meet yet
  auto model = load_model<float>(src);
  const auto before = model->predict({x});
  Trainer<float> trainer(*model);
  trainer.compile("mse", "adam");
  const float first = static_cast<float>(trainer.train_on_batch(x, y).at("loss"));
  float last = first;
  for (int step = 0; step < 4; ++step) last = static_cast<float>(trainer.train_on_batch(x, y).at("loss"));
  EXPECT_LT(last, first);
  const auto tuned = model->predict({x});

  TempDir dir;
  save_model(*model, dir.file("tuned.keras"));
  auto back = load_model<float>(dir.file("tuned.keras"));
  expect_identical(tuned, back->predict({x}), "fine-tuned model after save/load");
  EXPECT_NE(before[0].storage(), tuned[0].storage());

  Checkpoint<float> ck;
  ck.step = 5;
  ck.rng = Rng(1).state();
  ck.weights = capture_weights(*model);
  write_checkpoint(dir.file("tuned.ckpt"), ck);
  auto fresh = load_model<float>(src);
  restore_weights(*fresh, read_checkpoint<float>(dir.file("tuned.ckpt")).weights);
  expect_identical(tuned, fresh->predict({x}), "fine-tuned weights from a checkpoint");
}

// ---- refusals and atomicity ----------------------------------------------------------------

TEST(SaveModel, RefusesWhatKeras3CannotLoad) {
  // Keras 1/2 hard_sigmoid (0.2x + 0.5) has no Keras 3 spelling.
  const std::string cfg = R"({"class_name": "LSTM", "config": {"units": 2, "recurrent_activation": "hard_sigmoid"}})";
  Model<float> m("k2");
  const auto x = m.input({-1, 3, 2});
  m.set_outputs(m.call(layer_from_config<float>(cfg, "2.2.4"), {x}));
  try {
    save_model_to_memory(m);
    FAIL() << "expected ConfigError";
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("hard_sigmoid"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("LSTM 'lstm'"), std::string::npos) << e.what();
  }
  // A TF1 cell: no Keras 3 class.
  Model<float> t("tf1");
  const auto y = t.input({-1, 3, 2});
  TF1LSTMCellOptions o;
  o.num_units = 2;
  t.set_outputs(t.call(std::make_shared<RNN<float>>(std::make_unique<TF1LSTMCell<float>>(o)), {y}));
  EXPECT_THROW(save_model_to_memory(t), ConfigError);
  // No outputs yet.
  Model<float> empty("empty");
  empty.input({-1, 3, 2});
  EXPECT_THROW(save_model_to_memory(empty), StateError);
}

TEST(SaveModel, FailedSaveLeavesTheOldFile) {
  TempDir dir;
  auto good = small_model();
  const std::string path = dir.file("m.keras");
  save_model(*good, path);
  const std::vector<char> before = [&] {
    std::ifstream f(path, std::ios::binary);
    return std::vector<char>((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  }();
  Model<float> t("tf1");
  const auto y = t.input({-1, 3, 2});
  TF1LSTMCellOptions o;
  o.num_units = 2;
  t.set_outputs(t.call(std::make_shared<RNN<float>>(std::make_unique<TF1LSTMCell<float>>(o)), {y}));
  EXPECT_THROW(save_model(t, path), ConfigError);
  std::ifstream f(path, std::ios::binary);
  const std::vector<char> after((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  EXPECT_EQ(before, after);
  EXPECT_EQ(dir.count(), 1u) << "a temporary file was left behind";
  EXPECT_THROW(save_model(*good, dir.file("no/such/dir/m.keras")), IoError);
}

// ---- test vectors ----------------------------------------------------------------------------

TEST(SaveModel, TestVectorTravelsInTheFile) {
  TempDir dir;
  auto m = small_model();
  const std::string plain = dir.file("plain.keras"), with = dir.file("with.keras");
  save_model(*m, plain);
  EXPECT_FALSE(has_test_vector(plain));
  EXPECT_THROW(read_test_vector(plain), FormatError);
  EXPECT_THROW(verify_model(plain), FormatError);

  const auto tv = make_test_vector(*m, {ramp({2, 5, 3})});
  save_model(*m, with, &tv);
  ASSERT_TRUE(has_test_vector(with));
  const TestVector<float> back = read_test_vector(with);
  expect_identical(back.inputs, tv.inputs, "inputs");
  expect_identical(back.outputs, tv.outputs, "outputs");
  const VerifyReport ok = verify_model(with);
  EXPECT_TRUE(ok.passed) << ok.to_string();
  ASSERT_EQ(ok.outputs.size(), 1u);
  EXPECT_EQ(ok.outputs[0].max_abs_error, 0.0);

  // A wrong expectation is caught, naming the worst element.
  TestVector<float> wrong = tv;
  wrong.outputs[0][5] += 0.01f;
  write_test_vector(dir.file("wrong.npz"), wrong);
  const VerifyReport bad = verify_model(with, {}, dir.file("wrong.npz"));
  EXPECT_FALSE(bad.passed);
  EXPECT_EQ(bad.outputs[0].worst_index, 5);
  EXPECT_NEAR(bad.outputs[0].max_abs_error, 0.01, 1e-6);
  EXPECT_NE(bad.to_string().find("FAILED"), std::string::npos);

  // Counts must match the model.
  TestVector<float> extra = tv;
  extra.outputs.push_back(tv.outputs[0]);
  EXPECT_THROW(save_model(*m, dir.file("x.keras"), &extra), ShapeError);
}

TEST(SaveModel, CompareOutputsReportsShapeAndCountProblems) {
  const auto a = ramp({2, 3});
  EXPECT_TRUE(compare_outputs<float>({a}, {a}).passed);
  EXPECT_FALSE(compare_outputs<float>({ramp({3, 2})}, {a}).passed);
  EXPECT_FALSE(compare_outputs<float>({}, {a}).passed);
  Tensor<float> nan = a;
  nan[0] = std::numeric_limits<float>::quiet_NaN();
  EXPECT_FALSE(compare_outputs<float>({nan}, {a}).passed);
}

}  // namespace
}  // namespace rnnx::testing
