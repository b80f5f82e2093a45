// `rnnx explain` (tools/cli/explain.cpp) on small models from tests/data: exit codes, the
// shapes and formulas in the text, and the pictures (valid PNGs of the documented sizes:
// 360 x 400 pixels per heat-map panel plus 70 for the title, 400 x 460 per saturation panel).
// With RNNX_CLI_PLOT (tools/cli/plot.cpp linked in), the plot functions are tested directly.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <utility>

#include "rnnx/core/error.h"
#include "rnnx/core/rng.h"
#include "rnnx/io/npy.h"

#ifdef RNNX_CLI_PLOT
#include "plot.h"
#endif

namespace rnnx::testing {
namespace {

namespace fs = std::filesystem;

struct Result {
  int code = -1;
  std::string out, err;
};

std::string slurp(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  std::stringstream s;
  s << f.rdbuf();
  return s.str();
}

// Width and height from a PNG's IHDR chunk; {-1, -1} when the file is not a PNG.
std::pair<int64_t, int64_t> png_size(const std::string& path) {
  const std::string b = slurp(path);
  if (b.size() < 24 || b.compare(0, 8, "\x89PNG\r\n\x1a\n") != 0 || b.compare(12, 4, "IHDR") != 0) return {-1, -1};
  auto be32 = [&](size_t at) {
    int64_t v = 0;
    for (size_t i = 0; i < 4; ++i) v = v * 256 + static_cast<unsigned char>(b[at + i]);
    return v;
  };
  return {be32(16), be32(20)};
}

class CliExplain : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("rnnx_cli_explain_" + std::to_string(::getpid()) + "_" +
                                        ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    // Three samples of 5 steps x 4 features, the input of the small models in tests/data/files.
    Tensor<float> x(Shape{3, 5, 4});
    Rng rng(3);
    for (float& v : x.values()) v = static_cast<float>(rng.uniform(-1.0, 1.0));
    write_npy(file("x.npy"), x);
  }
  void TearDown() override { fs::remove_all(dir_); }

  std::string file(const std::string& name) const { return (dir_ / name).string(); }
  static std::string model(const std::string& name) { return std::string(RNNX_TEST_DATA_DIR) + "/files/" + name; }

  // Runs `rnnx <args>` (shell words, quoted by the caller where needed).
  Result run(const std::string& args) const {
#ifdef RNNX_CLI
    const std::string out = file("stdout.txt"), err = file("stderr.txt");
    const std::string cmd = std::string("'") + RNNX_CLI + "' " + args + " >'" + out + "' 2>'" + err + "'";
    const int status = std::system(cmd.c_str());
    return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, slurp(out), slurp(err)};
#else
    (void)args;
    return {};
#endif
  }

  Result explain(const std::string& model_file, const std::string& extra = "") const {
    return run("explain '" + model(model_file) + "' '" + file("x.npy") + "' --output '" + file("out") + "' " + extra);
  }

  void expect_png(const std::string& name, int64_t width, int64_t height) const {
    const auto [w, h] = png_size(file("out/" + name));
    EXPECT_EQ(w, width) << name;
    EXPECT_EQ(h, height) << name;
  }

  fs::path dir_;
};

#ifdef RNNX_CLI
#define REQUIRE_CLI()
#else
#define REQUIRE_CLI() GTEST_SKIP() << "the rnnx tool is not built (RNNX_BUILD_TOOLS=OFF)"
#endif

TEST_F(CliExplain, LstmShapesFormulaAndPictures) {
  REQUIRE_CLI();
  const Result r = explain("lstm_dense.k3.keras", "--sample 2");
  ASSERT_EQ(r.code, 0) << r.err;
  for (const char* want :
       {"sample 2 of 3", "input 'input_layer': [1, 5, 4]  [batch, steps, features]", "LSTM 'lstm': [1, 5, 4] -> [1, 3]",
        "kernel             [4, 12]      = [features, 4·units]", "recurrent_kernel   [3, 12]      = [units, 4·units]",
        "bias               [12]         = [4·units]",
        "parameters: 4·(units·(units+features)+units) = 4·(3·(3+4)+3) = 96",
        "return_sequences=False, return_state=False: returns h_T [1, 3], the last step's output",
        "Dense 'dense': [1, 3] -> [1, 2]", "output 0: [1, 2]", "Gate saturation over the first 3 samples",
        "LSTM 'lstm': 3 units, 15 steps from 3 samples", "forget gate f"})
    EXPECT_NE(r.out.find(want), std::string::npos) << "missing: " << want << "\n" << r.out;
  expect_png("lstm.png", 4 * 360, 70 + 2 * 400);    // input, i, f, o, c̃, c, h and the equations
  expect_png("lstm_saturation.png", 3 * 400, 460);  // i, f, o
}

TEST_F(CliExplain, GruAndSimpleRnn) {
  REQUIRE_CLI();
  Result r = explain("gru_td.k3.keras", "--saturation-samples 2");
  ASSERT_EQ(r.code, 0) << r.err;
  for (const char* want : {"bias               [2, 9]       = [2, 3·units]",
                           "parameters: 3·(units·(units+features)+2·units) = 3·(3·(3+4)+2·3) = 81",
                           "return_sequences=True, return_state=False: returns the sequence h_1..h_T [1, 5, 3]",
                           "TimeDistributed 'time_distributed': [1, 5, 3] -> [1, 5, 2]", "10 steps from 2 samples"})
    EXPECT_NE(r.out.find(want), std::string::npos) << "missing: " << want << "\n" << r.out;
  expect_png("gru.png", 3 * 360, 70 + 2 * 400);    // input, z, r, h̃, h and the equations
  expect_png("gru_saturation.png", 2 * 400, 460);  // z, r

  fs::remove_all(file("out"));
  r = explain("simple_rnn.k3.keras");
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("parameters: units·(units+features)+units = 2·(2+3)+2 = 12"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("no gates to measure"), std::string::npos) << r.out;
  expect_png("simple_rnn.png", 3 * 360, 70 + 400);  // input, h and the equation
  expect_png("simple_rnn_1.png", 3 * 360, 70 + 400);
  EXPECT_FALSE(fs::exists(file("out/simple_rnn_saturation.png")));
}

TEST_F(CliExplain, BidirectionalPicturesBothDirections) {
  REQUIRE_CLI();
  const Result r = explain("bidi_concat.k3.keras");
  ASSERT_EQ(r.code, 0) << r.err;
  for (const char* want : {"Bidirectional 'bidirectional': [1, 5, 4] -> [1, 6]", "merge_mode=concat",
                           "LSTM 'forward_lstm'", "LSTM 'backward_lstm'", "go_backwards=True"})
    EXPECT_NE(r.out.find(want), std::string::npos) << "missing: " << want << "\n" << r.out;
  for (const char* name : {"forward_lstm.png", "backward_lstm.png"}) expect_png(name, 4 * 360, 70 + 2 * 400);
  for (const char* name : {"forward_lstm_saturation.png", "backward_lstm_saturation.png"}) expect_png(name, 1200, 460);
}

TEST_F(CliExplain, ErrorsAndHelp) {
  REQUIRE_CLI();
  Result r = explain("lstm_dense.k3.keras", "--sample 3");
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find("--sample 3 is out of range: the data holds 3 samples (0..2)"), std::string::npos) << r.err;
  EXPECT_FALSE(fs::exists(file("out/lstm.png")));
  r = explain("lstm_dense.k3.keras", "--sample -1");
  EXPECT_EQ(r.code, 1) << r.err;
  r = run("explain '" + model("lstm_dense.k3.keras") + "' '" + file("missing.npy") + "'");
  EXPECT_EQ(r.code, 1);
  r = run("explain --help");
  EXPECT_EQ(r.code, 0);
  for (const char* want : {"MODEL", "--sample", "--output", "--saturation-samples"})
    EXPECT_NE(r.out.find(want), std::string::npos) << want;
  r = run("explain");
  EXPECT_EQ(r.code, 2);
}

#ifdef RNNX_CLI_PLOT
TEST_F(CliExplain, PlotFunctionsWriteValidPngsOfTheRequestedSize) {
  using namespace rnnx::cli;
  fs::create_directories(file("out"));
  std::vector<std::vector<double>> columns(4);
  for (int e = 0; e < 6; ++e) {
    columns[0].push_back(1.0 / (e + 1));
    columns[1].push_back(0.5 + 0.05 * e);
    columns[2].push_back(e == 2 ? std::nan("") : 1.2 / (e + 1));
    columns[3].push_back(0.45 + 0.05 * e);
  }
  write_history_png(file("out/history.png"), {"loss", "accuracy", "val_loss", "val_accuracy"}, columns, "run", 800,
                    300);
  expect_png("history.png", 800, 300);
  write_confusion_png(file("out/confusion.png"), {{5, 1, 0}, {2, 7, 1}, {0, 0, 9}}, {"a", "a long class name", "c"},
                      "confusion", 500, 420);
  expect_png("confusion.png", 500, 420);
  HeatMap m;
  m.title = "gate";
  m.values = std::vector<float>(12, 0.5f);
  m.rows = 3;
  m.cols = 4;
  m.dimmed_columns = {0, 0, 1, 1};
  write_heatmaps_png(file("out/heat.png"), "heat maps", "a note", {m, m, m}, 2, 640, 700, {"legend"});
  expect_png("heat.png", 640, 700);
  write_saturation_png(file("out/saturation.png"), "saturation", {{"f", {0.1, 0.0}, {0.5, 0.9}}}, 400, 460);
  expect_png("saturation.png", 400, 460);
  EXPECT_FALSE(fs::exists(file("out/heat.png.tmp")));

  EXPECT_THROW(write_confusion_png(file("out/bad.png"), {{1, 2}}, {}, "", 500, 400), ConfigError);
  EXPECT_THROW(write_history_png(file("out/bad.png"), {"loss"}, {}, "", 500, 400), ConfigError);
  m.values.pop_back();
  EXPECT_THROW(write_heatmaps_png(file("out/bad.png"), "", "", {m}, 1, 400, 400), ConfigError);
  EXPECT_THROW(write_saturation_png(file("no/such/dir/s.png"), "", {{"f", {0.1}, {0.2}}}, 400, 400), IoError);
  EXPECT_FALSE(fs::exists(file("out/bad.png")));
}
#endif

}  // namespace
}  // namespace rnnx::testing
