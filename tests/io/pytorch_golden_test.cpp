// PyTorch goldens (tests/data/pytorch, made by python/oracle/torch_cases.py with torch):
// every case's safetensors and torch.save files, loaded with an empty and with a full
// description, must reproduce PyTorch's output, h_n and c_n to 1e-5.
#include <gtest/gtest.h>

#include <algorithm>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "rnnx/core/error.h"
#include "rnnx/io/npy.h"
#include "rnnx/io/pytorch.h"
#include "rnnx/layers/bidirectional.h"
#include "rnnx/layers/gru.h"
#include "support/close.h"

namespace rnnx {
namespace {

const std::string kDir = std::string(RNNX_TEST_DATA_DIR) + "/pytorch/";
const testing::Tolerance kTol{1e-5, 0.0};

nlohmann::json manifest() {
  std::ifstream in(kDir + "cases.json");
  if (!in) throw std::runtime_error("cannot open " + kDir + "cases.json");
  return nlohmann::json::parse(in);
}

PyTorchRNNDescription full_description(const nlohmann::json& c, const std::string& prefix) {
  PyTorchRNNDescription d;
  d.module = c["module"] == "LSTM" ? PyTorchModule::LSTM : PyTorchModule::GRU;
  d.input_size = c["input_size"].get<int64_t>();
  d.hidden_size = c["hidden_size"].get<int64_t>();
  d.num_layers = c["num_layers"].get<int64_t>();
  d.bias = c["bias"].get<bool>();
  d.batch_first = c["batch_first"].get<bool>();
  d.bidirectional = c["bidirectional"].get<bool>();
  d.proj_size = c["proj_size"].get<int64_t>();
  d.prefix = prefix;
  return d;
}

template <class T>
void expect_matches_pytorch(const std::string& file, const PyTorchRNNDescription& given,
                            const std::map<std::string, NpyArray>& want) {
  const PyTorchRNNDescription r = describe_pytorch_rnn(file, given);
  auto model = load_pytorch_rnn<T>(file, given);
  const PyTorchRNNOutputs<T> y = predict_pytorch_rnn(*model, r, want.at("x").as<T>());
  EXPECT_TRUE(testing::all_close(y.output, want.at("output").as<float>(), kTol, "output"));
  EXPECT_TRUE(testing::all_close(y.h_n, want.at("h_n").as<float>(), kTol, "h_n"));
  if (want.count("c_n"))
    EXPECT_TRUE(testing::all_close(y.c_n, want.at("c_n").as<float>(), kTol, "c_n"));
  else
    EXPECT_EQ(y.c_n.size(), 0);
}

TEST(PyTorchGolden, ManifestHasTheCases) {
  const auto m = manifest();
  EXPECT_GE(m["cases"].size(), 12u);
  EXPECT_EQ(m["versions"]["torch"].get<std::string>().rfind("2.15.0", 0), 0u);
}

TEST(PyTorchGolden, EveryFileMatchesPyTorchWithInferredDescription) {
  int checked = 0;
  const nlohmann::json m = manifest();
  for (const auto& c : m["cases"]) {
    const auto want = read_npz(kDir + c["name"].get<std::string>() + ".npz");
    for (const auto& f : c["files"]) {
      const std::string file = kDir + f.get<std::string>();
      SCOPED_TRACE(file);
      PyTorchRNNDescription d;  // everything inferred but the I/O layout
      d.batch_first = c["batch_first"].get<bool>();
      const PyTorchRNNDescription r = describe_pytorch_rnn(file, d);
      const bool pt = file.ends_with(".pt");
      EXPECT_EQ(r.prefix, c[pt ? "pt_prefix" : "safetensors_prefix"].get<std::string>());
      EXPECT_EQ(to_string(*r.module), c["module"].get<std::string>());
      EXPECT_EQ(*r.input_size, c["input_size"].get<int64_t>());
      EXPECT_EQ(*r.hidden_size, c["hidden_size"].get<int64_t>());
      EXPECT_EQ(*r.num_layers, c["num_layers"].get<int64_t>());
      EXPECT_EQ(*r.bidirectional, c["bidirectional"].get<bool>());
      EXPECT_EQ(*r.bias, c["bias"].get<bool>());
      EXPECT_EQ(*r.proj_size, c["proj_size"].get<int64_t>());
      EXPECT_EQ(inspect_pytorch_file(file).format, pt ? "torch.save zip" : "safetensors");
      expect_matches_pytorch<float>(file, d, want);
      ++checked;
    }
  }
  EXPECT_GE(checked, 24);
}

TEST(PyTorchGolden, EveryFileMatchesPyTorchWithFullDescription) {
  int checked = 0;
  const nlohmann::json m = manifest();
  for (const auto& c : m["cases"]) {
    const auto want = read_npz(kDir + c["name"].get<std::string>() + ".npz");
    for (const auto& f : c["files"]) {
      const std::string file = kDir + f.get<std::string>();
      SCOPED_TRACE(file);
      const bool pt = file.ends_with(".pt");
      expect_matches_pytorch<float>(file, full_description(c, c[pt ? "pt_prefix" : "safetensors_prefix"]), want);
      ++checked;
    }
  }
  EXPECT_GE(checked, 24);
}

TEST(PyTorchGolden, DoubleModelsMatchToo) {
  int checked = 0;
  const nlohmann::json m = manifest();
  for (const auto& c : m["cases"]) {
    const std::string name = c["name"];
    if (name != "lstm_f64_2l" && name != "lstm_proj_2l_bi" && name != "gru_2l_bi") continue;
    const auto want = read_npz(kDir + name + ".npz");
    for (const auto& f : c["files"]) {
      SCOPED_TRACE(f.get<std::string>());
      PyTorchRNNDescription d;
      d.batch_first = c["batch_first"].get<bool>();
      expect_matches_pytorch<double>(kDir + f.get<std::string>(), d, want);
      ++checked;
    }
  }
  EXPECT_EQ(checked, 6);
}

TEST(PyTorchGolden, UnbatchedInputGivesUnbatchedResults) {
  const std::string file = kDir + "lstm_2l_bi.safetensors";  // batch_first=False: x is (T, B, I)
  const auto want = read_npz(kDir + "lstm_2l_bi.npz");
  const PyTorchRNNDescription r = describe_pytorch_rnn(file);
  auto model = load_pytorch_rnn<float>(file);
  const Tensor<float> x = want.at("x").as<float>(), out = want.at("output").as<float>();
  const int64_t t = x.dim(0), b = x.dim(1), in = x.dim(2), f = out.dim(2);
  Tensor<float> x0({t, in}), out0({t, f});
  for (int64_t s = 0; s < t; ++s) {
    std::copy_n(x.data() + (s * b) * in, in, x0.data() + s * in);
    std::copy_n(out.data() + (s * b) * f, f, out0.data() + s * f);
  }
  const auto y = predict_pytorch_rnn(*model, r, x0);
  EXPECT_TRUE(testing::all_close(y.output, out0, kTol, "output"));
  EXPECT_EQ(y.h_n.shape(), (Shape{4, 7}));
  EXPECT_EQ(y.c_n.shape(), (Shape{4, 7}));
}

// The model's own outputs: [output, h_n parts..., c_n parts...] in PyTorch's k*D + d order.
TEST(PyTorchGolden, ModelOutputsAreInPyTorchOrder) {
  const std::string file = kDir + "lstm_proj_2l_bi.pt";
  const auto want = read_npz(kDir + "lstm_proj_2l_bi.npz");
  auto model = load_pytorch_rnn<float>(file);
  const Tensor<float> x = want.at("x").as<float>();  // (T, B, I)
  Tensor<float> xb({x.dim(1), x.dim(0), x.dim(2)});
  for (int64_t s = 0; s < x.dim(0); ++s)
    for (int64_t i = 0; i < x.dim(1); ++i)
      std::copy_n(x.data() + (s * x.dim(1) + i) * x.dim(2), x.dim(2), xb.data() + (i * x.dim(0) + s) * x.dim(2));
  const auto outs = model->predict({xb});
  ASSERT_EQ(outs.size(), 1u + 4u + 4u);
  const Tensor<float> h_n = want.at("h_n").as<float>(), c_n = want.at("c_n").as<float>();
  for (int64_t i = 0; i < 4; ++i) {
    Tensor<float> h({3, 3}), c({3, 7});
    std::copy_n(h_n.data() + i * 9, 9, h.data());
    std::copy_n(c_n.data() + i * 21, 21, c.data());
    EXPECT_TRUE(testing::all_close(outs[1 + i], h, kTol, "h_n[" + std::to_string(i) + "]"));
    EXPECT_TRUE(testing::all_close(outs[5 + i], c, kTol, "c_n[" + std::to_string(i) + "]"));
  }
}

// Negative controls (spec §4.6): the golden comparison notices the two classic GRU mapping
// mistakes, so the tests above can fail.
TEST(PyTorchGolden, GoldenComparisonCatchesGruMappingMistakes) {
  const std::string file = kDir + "gru_2l_bi.safetensors";
  const auto want = read_npz(kDir + "gru_2l_bi.npz");
  PyTorchRNNDescription d;
  d.batch_first = true;
  const PyTorchRNNDescription r = describe_pytorch_rnn(file, d);
  const Tensor<float> y_want = want.at("output").as<float>();
  const int64_t h = 7;
  for (int mistake = 0; mistake < 2; ++mistake) {
    auto model = load_pytorch_rnn<float>(file, d);
    auto& gru = static_cast<Bidirectional<float>&>(*model->layer("bidirectional")).forward_layer();
    std::vector<Tensor<float>> w = gru.get_weights();  // kernel, recurrent_kernel, bias (2, 3H)
    if (mistake == 0) {                                // no z/r swap
      for (Tensor<float>* m : {&w[0], &w[1]})
        for (int64_t row = 0; row < m->dim(0); ++row)
          std::swap_ranges(m->data() + row * 3 * h, m->data() + row * 3 * h + h, m->data() + row * 3 * h + h);
    } else {  // summed biases
      for (int64_t j = 0; j < 3 * h; ++j) {
        w[2][j] += w[2][3 * h + j];
        w[2][3 * h + j] = 0;
      }
    }
    gru.set_weights(w);
    const auto y = predict_pytorch_rnn(*model, r, want.at("x").as<float>());
    EXPECT_FALSE(testing::all_close(y.output, y_want, {1e-3, 0.0}, "output")) << "mistake " << mistake;
  }
}

TEST(PyTorchGolden, ReadsSingleTensorsExactly) {
  // lstm_f16 stores float16; the reader widens exactly, so both files agree bit for bit.
  const Tensor<double> a = read_pytorch_tensor(kDir + "lstm_f16.safetensors", "weight_hh_l0");
  const Tensor<double> b = read_pytorch_tensor(kDir + "lstm_f16.pt", "weight_hh_l0");
  ASSERT_EQ(a.shape(), (Shape{28, 7}));
  for (int64_t i = 0; i < a.size(); ++i) ASSERT_EQ(a[i], b[i]) << i;
  // the strided view (transposed storage) equals the contiguous safetensors copy
  const Tensor<double> s = read_pytorch_tensor(kDir + "gru_strided.safetensors", "weight_hh_l0");
  const Tensor<double> t = read_pytorch_tensor(kDir + "gru_strided.pt", "weight_hh_l0");
  for (int64_t i = 0; i < s.size(); ++i) ASSERT_EQ(s[i], t[i]) << i;
  const auto info = inspect_pytorch_file(kDir + "gru_bf16_bi.pt");
  ASSERT_FALSE(info.tensors.empty());
  EXPECT_EQ(info.tensors[0].dtype, "BF16");
}

}  // namespace
}  // namespace rnnx
