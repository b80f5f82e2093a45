// PyTorch goldens (tests/data/pytorch, made by python/oracle/torch_cases.py with torch):
// every case's safetensors and torch.save files (nn.LSTM, nn.GRU, nn.RNN), loaded with an
// empty and with a full description, must reproduce PyTorch's output, h_n and c_n to 1e-5.
#include <gtest/gtest.h>

#include <algorithm>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "rnnx/core/error.h"
#include "rnnx/io/model_file.h"
#include "rnnx/io/npy.h"
#include "rnnx/io/pytorch.h"
#include "rnnx/io/save_model.h"
#include "rnnx/layers/bidirectional.h"
#include "rnnx/layers/gru.h"
#include "rnnx/layers/simple_rnn.h"
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

PyTorchModule module_of(const nlohmann::json& c) {
  const std::string m = c["module"];
  if (m == "LSTM") return PyTorchModule::LSTM;
  if (m == "GRU") return PyTorchModule::GRU;
  if (m == "RNN") return PyTorchModule::RNN;
  throw std::runtime_error("cases.json: unknown module '" + m + "'");
}

nlohmann::json case_named(const std::string& name) {
  const nlohmann::json m = manifest();
  for (const auto& c : m["cases"])
    if (c["name"] == name) return c;
  throw std::runtime_error("cases.json has no case '" + name + "'");
}

// What the file cannot tell: the I/O layout and nn.RNN's nonlinearity.
PyTorchRNNDescription minimal_description(const nlohmann::json& c) {
  PyTorchRNNDescription d;
  d.batch_first = c["batch_first"].get<bool>();
  if (c.contains("nonlinearity")) d.nonlinearity = c["nonlinearity"].get<std::string>();
  return d;
}

PyTorchRNNDescription full_description(const nlohmann::json& c, const std::string& prefix) {
  PyTorchRNNDescription d = minimal_description(c);
  d.module = module_of(c);
  d.input_size = c["input_size"].get<int64_t>();
  d.hidden_size = c["hidden_size"].get<int64_t>();
  d.num_layers = c["num_layers"].get<int64_t>();
  d.bias = c["bias"].get<bool>();
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
  int rnn = 0, relu = 0, time_major = 0, nobias = 0, bi = 0;
  for (const auto& c : m["cases"]) {
    if (c["module"] != "RNN") continue;
    ++rnn;
    relu += c["nonlinearity"] == "relu";
    time_major += !c["batch_first"].get<bool>();
    nobias += !c["bias"].get<bool>();
    bi += c["bidirectional"].get<bool>() && c["num_layers"].get<int64_t>() > 1;
  }
  EXPECT_GE(rnn, 4);
  EXPECT_GE(relu, 2);
  EXPECT_GE(time_major, 1);
  EXPECT_GE(nobias, 1);
  EXPECT_GE(bi, 1);
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
      const PyTorchRNNDescription d = minimal_description(c);  // everything else inferred
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
      EXPECT_EQ(r.nonlinearity, d.nonlinearity);  // set for nn.RNN only
      EXPECT_EQ(inspect_pytorch_file(file).format, pt ? "torch.save zip" : "safetensors");
      expect_matches_pytorch<float>(file, d, want);
      expect_matches_pytorch<float>(file, r, want);  // the resolved description is accepted back
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
    if (name != "lstm_f64_2l" && name != "lstm_proj_2l_bi" && name != "gru_2l_bi" && name != "rnn_relu_2l_bi") continue;
    const auto want = read_npz(kDir + name + ".npz");
    for (const auto& f : c["files"]) {
      SCOPED_TRACE(f.get<std::string>());
      expect_matches_pytorch<double>(kDir + f.get<std::string>(), minimal_description(c), want);
      ++checked;
    }
  }
  EXPECT_EQ(checked, 8);
}

// a[:, 0, :] of a 3-D tensor: the first batch entry of a time-major x / output, or of h_n / c_n.
Tensor<float> first_batch_entry(const Tensor<float>& a) {
  Tensor<float> out({a.dim(0), a.dim(2)});
  for (int64_t i = 0; i < a.dim(0); ++i)
    std::copy_n(a.data() + i * a.dim(1) * a.dim(2), a.dim(2), out.data() + i * a.dim(2));
  return out;
}

TEST(PyTorchGolden, UnbatchedInputGivesUnbatchedResults) {
  // batch_first=False cases: x is (T, B, I), so x[:, 0] is one unbatched sequence (T, I).
  for (const std::string file : {"lstm_2l_bi.safetensors", "rnn_tanh_2l.pt"}) {
    SCOPED_TRACE(file);
    const auto want = read_npz(kDir + file.substr(0, file.find('.')) + ".npz");
    const PyTorchRNNDescription r = describe_pytorch_rnn(kDir + file);
    auto model = load_pytorch_rnn<float>(kDir + file);
    const auto y = predict_pytorch_rnn(*model, r, first_batch_entry(want.at("x").as<float>()));
    EXPECT_TRUE(testing::all_close(y.output, first_batch_entry(want.at("output").as<float>()), kTol, "output"));
    EXPECT_TRUE(testing::all_close(y.h_n, first_batch_entry(want.at("h_n").as<float>()), kTol, "h_n"));  // (D*L, H)
    if (want.count("c_n"))
      EXPECT_TRUE(testing::all_close(y.c_n, first_batch_entry(want.at("c_n").as<float>()), kTol, "c_n"));
    else
      EXPECT_EQ(y.c_n.size(), 0);
  }
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

// nn.RNN -> SimpleRNN layers with the description's nonlinearity; no c_n anywhere.
TEST(PyTorchGolden, RnnMapsToSimpleRnnLayers) {
  const std::string file = kDir + "rnn_relu_2l_bi.pt";
  PyTorchRNNDescription d;
  d.batch_first = true;
  d.nonlinearity = "relu";
  const PyTorchRNNDescription r = describe_pytorch_rnn(file, d);
  EXPECT_EQ(*r.module, PyTorchModule::RNN);
  EXPECT_EQ(to_string(*r.module), "RNN");
  EXPECT_EQ(*r.nonlinearity, "relu");
  auto model = load_pytorch_rnn<float>(file, d);
  EXPECT_EQ(model->name(), "pytorch_rnn");
  int simple = 0;
  for (const auto& layer : model->layers()) {
    auto* bi = dynamic_cast<Bidirectional<float>*>(layer.get());
    if (!bi) continue;
    for (RNN<float>* dir : {&bi->forward_layer(), &bi->backward_layer()}) {
      auto* rnn = dynamic_cast<SimpleRNN<float>*>(dir);
      ASSERT_NE(rnn, nullptr) << dir->class_name();
      EXPECT_EQ(rnn->options().activation.kind, ActivationKind::relu);
      EXPECT_TRUE(rnn->options().use_bias);
      EXPECT_EQ(rnn->get_weights().size(), 3u);  // kernel, recurrent_kernel, bias = b_ih + b_hh
      ++simple;
    }
  }
  EXPECT_EQ(simple, 4);
  const auto want = read_npz(kDir + "rnn_relu_2l_bi.npz");
  const Tensor<float> x = want.at("x").as<float>();
  EXPECT_EQ(model->predict({x}).size(), 1u + 4u);  // output, h_n x 4, no c_n
  const auto y = predict_pytorch_rnn(*model, r, x);
  EXPECT_EQ(y.h_n.shape(), (Shape{4, 3, 7}));
  EXPECT_EQ(y.c_n.size(), 0);
  // Without a bias: use_bias=False, two weights; tanh is the default nonlinearity.
  const PyTorchRNNDescription t = describe_pytorch_rnn(kDir + "rnn_tanh_1l.safetensors");
  EXPECT_EQ(*t.nonlinearity, "tanh");
  auto nobias = load_pytorch_rnn<float>(kDir + "rnn_relu_nobias.safetensors", d);
  auto& rnn = dynamic_cast<SimpleRNN<float>&>(*nobias->layer("simple_rnn"));
  EXPECT_FALSE(rnn.options().use_bias);
  EXPECT_EQ(rnn.get_weights().size(), 2u);
}

// Negative control: the nonlinearity is not in the file, and the goldens notice a wrong one.
TEST(PyTorchGolden, GoldenComparisonCatchesWrongRnnNonlinearity) {
  for (const char* name : {"rnn_relu_2l_bi", "rnn_tanh_2l"}) {
    SCOPED_TRACE(name);
    const nlohmann::json c = case_named(name);
    PyTorchRNNDescription d = minimal_description(c);
    d.nonlinearity = *d.nonlinearity == "relu" ? "tanh" : "relu";
    const std::string file = kDir + name + ".safetensors";
    const auto want = read_npz(kDir + name + ".npz");
    auto model = load_pytorch_rnn<float>(file, d);
    const auto y = predict_pytorch_rnn(*model, describe_pytorch_rnn(file, d), want.at("x").as<float>());
    EXPECT_FALSE(testing::all_close(y.output, want.at("output").as<float>(), {1e-3, 0.0}, "output"));
  }
}

// What `rnnx convert weights.pt model.keras` does: the SimpleRNN model saves as a .keras
// file that loads back and still matches PyTorch (relu included).
TEST(PyTorchGolden, RnnModelsSaveAsKerasFiles) {
  for (const char* name : {"rnn_relu_2l_bi", "rnn_tanh_2l"}) {
    SCOPED_TRACE(name);
    const nlohmann::json c = case_named(name);
    const std::string file = kDir + name + ".pt";
    const PyTorchRNNDescription r = describe_pytorch_rnn(file, minimal_description(c));
    auto model = load_pytorch_rnn<float>(file, r);
    auto back = load_model_from_memory<float>(save_model_to_memory(*model));
    const auto want = read_npz(kDir + std::string(name) + ".npz");
    const auto y = predict_pytorch_rnn(*back, r, want.at("x").as<float>());
    EXPECT_TRUE(testing::all_close(y.output, want.at("output").as<float>(), kTol, "output"));
    EXPECT_TRUE(testing::all_close(y.h_n, want.at("h_n").as<float>(), kTol, "h_n"));
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
