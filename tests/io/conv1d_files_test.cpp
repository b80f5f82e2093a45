// Model files with Conv1D-family layers (tests/data/files/conv1d_file_cases.json,
// written by python/oracle/conv1d_file_cases.py) and Conv2D-family layers
// (conv2d_file_cases.json): Keras 3 `.keras` and tf_keras `.h5` files load and
// predict Keras's numbers in float and double, and an rnnx re-save loads back
// to the same predictions (Keras 3 loading rnnx-written files:
// tests/data/rnnx_written).
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "rnnx/io/model_file.h"
#include "rnnx/io/npy.h"
#include "rnnx/io/save_model.h"
#include "rnnx/model/model.h"
#include "support/close.h"

namespace rnnx::testing {
namespace {

std::string files_dir() { return std::string(RNNX_TEST_DATA_DIR) + "/files"; }

std::vector<std::pair<std::string, std::string>> cases(const std::string &index = "conv1d_file_cases.json") {
  std::ifstream in(files_dir() + "/" + index);
  if (!in) return {};
  std::vector<std::pair<std::string, std::string>> out;
  const nlohmann::json doc = nlohmann::json::parse(in);  // kept alive for the loop
  for (const auto &c : doc.at("cases")) out.emplace_back(c.at("file"), c.at("npz"));
  return out;
}

template <class T>
void check(const std::string &file, const std::string &npz) {
  SCOPED_TRACE(file);
  auto model = load_model<T>(files_dir() + "/" + file);
  const auto arrays = read_npz(files_dir() + "/" + npz);
  const Tensor<T> x = arrays.at("c0_x0").template as<T>();
  const Tensor<float> want = arrays.at("c0_y0").template as<float>();
  const std::vector<Tensor<T>> got = model->predict({x});
  ASSERT_EQ(got.size(), 1u);
  EXPECT_TRUE(all_close(got[0], want, Tolerance{1e-5, 1e-4}, file));
  const std::string resaved = (std::filesystem::temp_directory_path() / ("rnnx_conv1d_" + file + ".keras")).string();
  save_model(*model, resaved);
  auto again = load_model<T>(resaved);
  EXPECT_TRUE(all_close(again->predict({x})[0], want, Tolerance{1e-5, 1e-4}, "re-saved " + file));
  std::filesystem::remove(resaved);
}

TEST(Conv1DFiles, KerasAndTfKerasFilesPredictKerasNumbers) {
  const auto cs = cases();
  ASSERT_EQ(cs.size(), 4u) << "regenerate with python/make_goldens.py --only conv1d";
  for (const auto &[file, npz] : cs) {
    check<float>(file, npz);
    check<double>(file, npz);
  }
}

// The conv2d family's per-frame CNN-LSTM / CNN-GRU files (python/oracle/conv2d_file_cases.py).
TEST(Conv2DFiles, KerasAndTfKerasFilesPredictKerasNumbers) {
  const auto cs = cases("conv2d_file_cases.json");
  ASSERT_EQ(cs.size(), 4u) << "regenerate with python/make_goldens.py --only conv2d";
  for (const auto &[file, npz] : cs) {
    check<float>(file, npz);
    check<double>(file, npz);
  }
}

}  // namespace
}  // namespace rnnx::testing
