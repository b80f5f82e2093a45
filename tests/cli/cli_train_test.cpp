// `rnnx train`, `evaluate` and `predict` on small data sets the tests write (IDX, npy/npz,
// CSV tables and series): exit codes, output files that parse, resume, and error messages.
#include <signal.h>

#include <cmath>
#include <nlohmann/json.hpp>

#include "cli/cli_data.h"
#include "cli/cli_fixture.h"
#include "rnnx/core/rng.h"
#include "rnnx/io/csv.h"
#include "rnnx/io/model_file.h"
#include "rnnx/io/npy.h"
#include "rnnx/io/save_model.h"
#include "support/close.h"

namespace rnnx::testing {
namespace {

TEST_F(Cli, EverySubcommandAnswersHelp) {
  for (const char* cmd : {"train", "evaluate", "predict", "explain", "convert", "verify", "summary"}) {
    const Result r = run(std::string(cmd) + " --help");
    EXPECT_EQ(r.code, 0) << cmd << r.err;
    EXPECT_NE(r.out.find("Options"), std::string::npos) << cmd << r.out;
  }
  const Result r = run("train --help");
  for (const char* opt : {"--epochs", "--batch-size", "--optimizer", "--learning-rate", "--validation-split",
                          "--early-stopping", "--reduce-lr", "--resume", "--class-weight", "--window", "--model"})
    EXPECT_NE(r.out.find(opt), std::string::npos) << opt;
}

TEST_F(Cli, TrainOnIdxWritesModelHistoryCurvesSettings) {
  write_tiny_idx(file("data"), 96, 30);
  Result r =
      run("train '" + file("data") + "' --epochs 3 --batch-size 16 --units 8 --verbose 2 -o '" + file("out") + "'");
  ASSERT_EQ(r.code, 0) << r.out << r.err;
  EXPECT_NE(r.out.find("Epoch 3/3"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("test (30 samples): loss: "), std::string::npos) << r.out;
  // history.csv: a header and one row per epoch, with validation columns.
  const CsvTable h = read_csv(file("out/history.csv"));
  EXPECT_EQ(h.row_count(), 3);
  EXPECT_NO_THROW(h.column_index("val_loss"));
  EXPECT_NO_THROW(h.column_index("accuracy"));
  EXPECT_EQ(png_size(file("out/curves.png")), std::make_pair(1000, 450));
  const auto settings = nlohmann::json::parse(read(file("out/settings.json")));
  EXPECT_EQ(settings["epochs"], 3);
  EXPECT_EQ(settings["task"], "classification");
  EXPECT_TRUE(settings["results"].contains("test_accuracy"));
  // The .keras loads back and reproduces the predictions it was saved with; `rnnx predict`
  // gives the same numbers.
  const TestVector<float> tv = read_test_vector(file("out/model.keras"));
  auto model = load_model<float>(file("out/model.keras"));
  EXPECT_TRUE(all_close(model->predict(tv.inputs)[0], tv.outputs[0], {1e-6, 1e-6}));
  write_npy(file("x.npy"), tv.inputs[0]);
  r = run("predict '" + file("out/model.keras") + "' '" + file("x.npy") + "' -o '" + file("y.npz") + "'");
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_TRUE(all_close(read_npz(file("y.npz")).at("output_0").as<float>(), tv.outputs[0], {1e-6, 1e-6}));
  EXPECT_EQ(run("verify '" + file("out/model.keras") + "'").code, 0);

  // evaluate: loss, accuracy, a confusion matrix printed and drawn.
  r = run("evaluate '" + file("out/model.keras") + "' '" + file("data") + "' -o '" + file("eval") + "'");
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("accuracy: "), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("confusion matrix"), std::string::npos) << r.out;
  EXPECT_EQ(png_size(file("eval/confusion_matrix.png")), std::make_pair(900, 800));
  const auto ev = nlohmann::json::parse(read(file("eval/evaluation.json")));
  int64_t total = 0;
  for (const auto& row : ev["confusion_matrix"])
    for (const auto& v : row) total += v.get<int64_t>();
  EXPECT_EQ(total, 30);

  // predict on the IDX test set to CSV: a row per sample, predicted class first.
  r = run("predict '" + file("out/model.keras") + "' '" + file("data") + "' -o '" + file("p.csv") + "'");
  ASSERT_EQ(r.code, 0) << r.err;
  const CsvTable p = read_csv(file("p.csv"));
  EXPECT_EQ(p.row_count(), 30);
  EXPECT_EQ(p.columns[0], "class");

  // Fine-tuning the written model continues from its weights.
  r = run("train '" + file("data") + "' --model '" + file("out/model.keras") + "' --epochs 1 --verbose 0 -o '" +
          file("tuned") + "'");
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_TRUE(fs::exists(file("tuned/model.keras")));
}

TEST_F(Cli, ResumeAfterAKilledRunGivesTheUninterruptedWeights) {
  // Enough samples that each epoch takes a while (~0.1 s, 7 epochs after the first): the kill lands after the first
  // checkpoint and well before the run ends, even on a busy machine.
  write_tiny_idx(file("data"), 16000, 12);
  const std::string common =
      "train '" + file("data") + "' --epochs 8 --batch-size 8 --units 6 --dropout 0.1 --verbose 0";
  ASSERT_EQ(run(common + " -o '" + file("whole") + "'").code, 0);

  // The same run, killed (SIGKILL) once its first checkpoint is on disk, then resumed.
  const pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    const std::string out = file("cut");
    execl(RNNX_CLI, "rnnx", "train", file("data").c_str(), "--epochs", "8", "--batch-size", "8", "--units", "6",
          "--dropout", "0.1", "--verbose", "0", "-o", out.c_str(), static_cast<char*>(nullptr));
    _exit(127);
  }
  for (int i = 0; i < 30000 && !fs::exists(file("cut/checkpoint.ckpt")); ++i) usleep(1000);
  kill(child, SIGKILL);
  int status = 0;
  waitpid(child, &status, 0);
  ASSERT_TRUE(fs::exists(file("cut/checkpoint.ckpt")));
  EXPECT_FALSE(fs::exists(file("cut/model.keras"))) << "the run finished before it was killed";
  const Result r = run(common + " -o '" + file("cut") + "' --resume");
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("resuming after epoch"), std::string::npos) << r.out;
  const auto a = weights_of(file("whole/model.keras")), b = weights_of(file("cut/model.keras"));
  ASSERT_EQ(a.size(), b.size());
  for (size_t i = 0; i < a.size(); ++i) EXPECT_EQ(a[i], b[i]) << "weight " << i;
  EXPECT_EQ(read_csv(file("cut/history.csv")).row_count(), 8);
  // --resume without a checkpoint is an error.
  EXPECT_EQ(run(common + " -o '" + file("none") + "' --resume").code, 1);
}

TEST_F(Cli, TrainOnNpzAndNpyWithPresets) {
  Rng rng(5);
  Tensor<float> x({40, 5, 3}), y({40});
  for (auto& v : x.values()) v = static_cast<float>(rng.uniform());
  for (int64_t i = 0; i < 40; ++i) y[i] = static_cast<float>(i % 2);
  write_npz(file("d.npz"), {{"x", NpyArray::from(x)}, {"y", NpyArray::from(y)}});
  for (const char* preset : {"gru", "simple_rnn", "bilstm", "stacked"}) {
    const Result r = run("train '" + file("d.npz") + "' --model " + preset + " --units 4 --epochs 1 --verbose 0 -o '" +
                         file(preset) + "'");
    ASSERT_EQ(r.code, 0) << preset << r.err;
    EXPECT_TRUE(fs::exists(file(std::string(preset) + "/model.keras"))) << preset;
  }
  write_npy(file("x.npy"), x);
  write_npy(file("y.npy"), y);
  Result r = run("train '" + file("x.npy") + "' --labels '" + file("y.npy") +
                 "' --units 4 --epochs 1 --verbose 0 --optimizer rmsprop --learning-rate 0.01 --class-weight balanced "
                 "--early-stopping 2 --reduce-lr 1 -o '" +
                 file("npy") + "'");
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(nlohmann::json::parse(read(file("npy/settings.json")))["optimizer"], "adam");
  // x.npy alone has no labels.
  r = run("train '" + file("x.npy") + "' --epochs 1 -o '" + file("e") + "'");
  EXPECT_EQ(r.code, 2) << r.err;
  EXPECT_NE(r.err.find("--labels"), std::string::npos) << r.err;
}

TEST_F(Cli, TrainOnCsvTableAndSeries) {
  // A table: label column, then 8 values (8 steps of 1 feature).
  std::string table = "label,v0,v1,v2,v3,v4,v5,v6,v7\n";
  for (int i = 0; i < 30; ++i) {
    table += std::to_string(i % 2);
    for (int s = 0; s < 8; ++s) {
      table += ',';
      table += std::to_string((i % 2 ? 1.0 : -1.0) * std::sin(0.3 * (s + i)));
    }
    table += "\n";
  }
  std::ofstream(file("t.csv")) << table;
  Result r = run("train '" + file("t.csv") + "' --units 4 --epochs 2 --verbose 2 -o '" + file("t") + "'");
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("30 sequences of 8 steps x 1 features"), std::string::npos) << r.out;

  // A monthly series with a date column: windows of 12 steps predict the next value.
  std::string series = "month,value\n";
  for (int i = 0; i < 120; ++i)
    series += "\"19" + std::to_string(50 + i / 12) + "-" + std::to_string(1 + i % 12) + "\"," +
              std::to_string(300 + 0.1 * i + 3 * std::sin(i * 6.2832 / 12)) + "\n";
  std::ofstream(file("s.csv")) << series;
  r = run("train '" + file("s.csv") + "' --window 12 --units 8 --epochs 2 --verbose 0 -o '" + file("s") + "'");
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("target 'value'"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("test (21 samples)"), std::string::npos) << r.out;
  const auto settings = nlohmann::json::parse(read(file("s/settings.json")));
  EXPECT_EQ(settings["task"], "regression");
  EXPECT_TRUE(settings.contains("standardization"));
  // The saved model takes raw windows: its predictions are near the series' level (~300).
  r = run("predict '" + file("s/model.keras") + "' '" + file("s.csv") + "' --window 12 -o '" + file("p.csv") + "'");
  ASSERT_EQ(r.code, 0) << r.err;
  const CsvTable p = read_csv(file("p.csv"));
  EXPECT_EQ(p.row_count(), 120 - 12);
  for (double v : p.numeric_column(0)) EXPECT_GT(v, 200.0);
  r = run("evaluate '" + file("s/model.keras") + "' '" + file("s.csv") + "' --window 12 -o '" + file("ev") + "'");
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("mae: "), std::string::npos) << r.out;
  EXPECT_FALSE(fs::exists(file("ev/confusion_matrix.png")));
}

TEST_F(Cli, DataErrorsSayWhatAndWhere) {
  // A missing default data set names the Debian package.
  fs::create_directories(file("empty"));
  ::setenv("RNNX_FASHION_MNIST_DIR", file("empty").c_str(), 1);
  Result r = run("train --epochs 1");
  ::unsetenv("RNNX_FASHION_MNIST_DIR");
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find("dataset-fashion-mnist"), std::string::npos) << r.err;
  r = run("train '" + file("nope") + "'");
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find("does not exist"), std::string::npos) << r.err;
  // A non-numeric cell: line and column named.
  std::ofstream(file("bad.csv")) << "label,a,b\n0,1,2\n1,x7,3\n";
  r = run("train '" + file("bad.csv") + "' --epochs 1");
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find("line 3, column 'a': 'x7' is not a number"), std::string::npos) << r.err;
  // A ragged CSV.
  std::ofstream(file("ragged.csv")) << "label,a,b\n0,1,2\n1,3\n";
  r = run("train '" + file("ragged.csv") + "' --epochs 1");
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find("line 3 has 2 fields, expected 3"), std::string::npos) << r.err;
  // Labels -1/1 are refused with a hint.
  std::ofstream(file("neg.csv")) << "label,a,b\n-1,1,2\n1,3,4\n";
  r = run("train '" + file("neg.csv") + "' --epochs 1");
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find("shift them"), std::string::npos) << r.err;
  // x of the wrong rank.
  write_npz(file("flat.npz"),
            {{"x", NpyArray::from(Tensor<float>({4, 6}))}, {"y", NpyArray::from(Tensor<float>({4}))}});
  r = run("train '" + file("flat.npz") + "' --epochs 1");
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find("[samples, steps, features], got [4, 6]"), std::string::npos) << r.err;
}

TEST_F(Cli, EvaluateErrors) {
  write_tiny_idx(file("data"), 30, 9);
  ASSERT_EQ(run("train '" + file("data") + "' --epochs 1 --units 4 --verbose 0 -o '" + file("out") + "'").code, 0);
  // Wrong input shape: 5 features instead of 6.
  write_npz(file("w.npz"),
            {{"x", NpyArray::from(Tensor<float>({2, 6, 5}))}, {"y", NpyArray::from(Tensor<float>({2}))}});
  Result r = run("evaluate '" + file("out/model.keras") + "' '" + file("w.npz") + "' -o '" + file("e") + "'");
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find("rnnx: error:"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("5"), std::string::npos) << r.err;
  // Labels out of range for the model's 3 outputs.
  Tensor<float> y({2});
  y[1] = 7;
  write_npz(file("l.npz"), {{"x", NpyArray::from(Tensor<float>({2, 6, 6}))}, {"y", NpyArray::from(y)}});
  r = run("evaluate '" + file("out/model.keras") + "' '" + file("l.npz") + "' -o '" + file("e") + "'");
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find("out of range"), std::string::npos) << r.err;
  // A corrupt model file.
  std::ofstream(file("junk.keras")) << "PK\x03\x04 not really a zip";
  r = run("evaluate '" + file("junk.keras") + "' '" + file("data") + "' -o '" + file("e") + "'");
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find("junk.keras"), std::string::npos) << r.err;
  EXPECT_FALSE(fs::exists(file("e/confusion_matrix.png")));
}

// A Keras model.to_json() file (Keras 3 Sequential and Functional, tf_keras Sequential) is
// built and trained; the written model keeps its layers.
TEST_F(Cli, TrainAKerasModelJson) {
  write_tiny_idx(file("data"), 30, 9);
  for (const char* json : {"k3_sequential_lstm.json", "k3_functional_gru.json", "tfk_sequential_lstm.json"}) {
    const std::string path = std::string(RNNX_TEST_DATA_DIR) + "/cli/" + json;
    const Result r =
        run("train '" + file("data") + "' --model '" + path + "' --epochs 1 --verbose 0 -o '" + file(json) + "'");
    ASSERT_EQ(r.code, 0) << json << r.err;
    EXPECT_NE(r.out.find("Keras model JSON"), std::string::npos) << r.out;
    EXPECT_NO_THROW(load_model<float>(file(std::string(json) + "/model.keras"))) << json;
  }
  // --units shapes presets only; a non-JSON .json is a format error.
  Result r = run("train '" + file("data") + "' --model '" + std::string(RNNX_TEST_DATA_DIR) +
                 "/cli/k3_sequential_lstm.json' --units 4 -o '" + file("u") + "'");
  EXPECT_EQ(r.code, 2) << r.err;
  std::ofstream(file("bad.json")) << "{ not json";
  r = run("train '" + file("data") + "' --model '" + file("bad.json") + "' -o '" + file("b") + "'");
  EXPECT_EQ(r.code, 1) << r.err;
  EXPECT_NE(r.err.find("bad.json"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace rnnx::testing
