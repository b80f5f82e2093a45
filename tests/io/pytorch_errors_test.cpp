// Broken and hostile PyTorch files (spec pytorch-files.md §6): every one gives a typed error
// with a message that says what is wrong; nothing crashes, hangs or reads out of bounds.
#include <gtest/gtest.h>

#include <algorithm>
#include <bit>
#include <cstring>
#include <fstream>
#include <iterator>
#include <random>
#include <string>
#include <vector>

#include "io/pytorch/pickle.h"
#include "io/zip.h"
#include "rnnx/core/error.h"
#include "rnnx/io/pytorch.h"

namespace rnnx {
namespace {

using Bytes = std::vector<uint8_t>;
const std::string kDir = std::string(RNNX_TEST_DATA_DIR) + "/pytorch/";

Bytes file_bytes(const std::string& name) {
  std::ifstream f(kDir + name, std::ios::binary);
  return {std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>()};
}

// Expects exception type E whose message contains `needle`.
#define EXPECT_ERROR(E, stmt, needle)                                                              \
  do {                                                                                             \
    try {                                                                                          \
      stmt;                                                                                        \
      ADD_FAILURE() << "expected " #E " containing '" << needle << "'";                            \
    } catch (const E& e) {                                                                         \
      EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << "message: " << e.what(); \
    }                                                                                              \
  } while (0)

auto load(const Bytes& b, const PyTorchRNNDescription& d = {}) {
  return load_pytorch_rnn_from_memory<float>(b, d, "t");
}

// ---- building files ----------------------------------------------------------------------

struct Spec {
  std::string name;
  Shape shape;
  std::string dtype = "F32";
};

int64_t numel(const Shape& s) {
  int64_t n = 1;
  for (int64_t d : s) n *= d;
  return n;
}
int64_t dtype_bytes(const std::string& dt) { return dt == "F64" || dt == "I64" ? 8 : dt == "F16" ? 2 : 4; }

// Small deterministic values, so a model built from the file computes something.
Bytes payload(const Spec& s) {
  Bytes out;
  for (int64_t i = 0; i < numel(s.shape); ++i) {
    const float v = 0.01f * static_cast<float>((i * 7) % 13) - 0.05f;
    const uint32_t bits = std::bit_cast<uint32_t>(v);
    if (s.dtype == "F32" || s.dtype == "I32")
      for (int k = 0; k < 4; ++k) out.push_back(static_cast<uint8_t>(bits >> (8 * k)));
    else
      for (int k = 0; k < dtype_bytes(s.dtype); ++k) out.push_back(static_cast<uint8_t>(k == 0 ? i % 3 : 0));
  }
  return out;
}

std::string shape_json(const Shape& s) {
  std::string j = "[";
  for (size_t k = 0; k < s.size(); ++k) {
    if (k) j += ",";
    j += std::to_string(s[k]);
  }
  return j + "]";
}

Bytes with_header(const std::string& header, const Bytes& data) {
  Bytes out;
  const uint64_t n = header.size();
  for (int k = 0; k < 8; ++k) out.push_back(static_cast<uint8_t>(n >> (8 * k)));
  out.insert(out.end(), header.begin(), header.end());
  out.insert(out.end(), data.begin(), data.end());
  return out;
}

Bytes safetensors(const std::vector<Spec>& specs) {
  std::string header = "{\"__metadata__\":{\"format\":\"pt\"}";
  Bytes data;
  for (const auto& s : specs) {
    const Bytes p = payload(s);
    header += ",\"" + s.name + "\":{\"dtype\":\"" + s.dtype + "\",\"shape\":" + shape_json(s.shape) +
              ",\"data_offsets\":[" + std::to_string(data.size()) + "," + std::to_string(data.size() + p.size()) + "]}";
    data.insert(data.end(), p.begin(), p.end());
  }
  return with_header(header + "}", data);
}

// nn.LSTM(5, 7) / nn.GRU(5, 7) / nn.RNN(5, 7) tensors (gates 4 / 3 / 1), layers l0..l{n-1}, optionally bidirectional.
std::vector<Spec> rnn_specs(int64_t gates, int layers = 1, bool bidirectional = false, int64_t in = 5, int64_t h = 7,
                            bool bias = true) {
  std::vector<Spec> out;
  for (int k = 0; k < layers; ++k)
    for (int d = 0; d < (bidirectional ? 2 : 1); ++d) {
      const std::string sfx = "_l" + std::to_string(k) + (d ? "_reverse" : "");
      const int64_t ik = k == 0 ? in : (bidirectional ? 2 : 1) * h;
      out.push_back({"weight_ih" + sfx, {gates * h, ik}});
      out.push_back({"weight_hh" + sfx, {gates * h, h}});
      if (!bias) continue;
      out.push_back({"bias_ih" + sfx, {gates * h}});
      out.push_back({"bias_hh" + sfx, {gates * h}});
    }
  return out;
}

// A pickle written like torch.save (protocol 2).
struct Pickle {
  Bytes b{0x80, 2};
  Pickle& op(uint8_t o) {
    b.push_back(o);
    return *this;
  }
  Pickle& raw(const std::string& s) {
    b.insert(b.end(), s.begin(), s.end());
    return *this;
  }
  Pickle& global(const std::string& module, const std::string& name) {
    return op('c').raw(module + "\n" + name + "\n");
  }
  Pickle& str(const std::string& s) {
    op('X');
    for (int k = 0; k < 4; ++k) b.push_back(static_cast<uint8_t>(s.size() >> (8 * k)));
    return raw(s);
  }
  Pickle& integer(int64_t v) {
    if (v >= 0 && v < 256) return op('K').op(static_cast<uint8_t>(v));
    op('J');
    for (int k = 0; k < 4; ++k) b.push_back(static_cast<uint8_t>(static_cast<uint64_t>(v) >> (8 * k)));
    return *this;
  }
  Pickle& ints(const std::vector<int64_t>& v) {
    op('(');
    for (int64_t x : v) integer(x);
    return op('t');
  }
  Pickle& empty_ordered_dict() { return global("collections", "OrderedDict").op(')').op('R'); }
  // _rebuild_tensor_v2(('storage', FloatStorage, key, 'cpu', numel), offset, size, stride, False, OrderedDict())
  Pickle& tensor(const std::string& key, int64_t storage_numel, int64_t offset, const std::vector<int64_t>& size,
                 const std::vector<int64_t>& stride, const std::string& storage_class = "FloatStorage") {
    global("torch._utils", "_rebuild_tensor_v2").op('(');
    op('(').str("storage").global("torch", storage_class).str(key).str("cpu").integer(storage_numel).op('t').op('Q');
    integer(offset).ints(size).ints(stride).op(0x89).empty_ordered_dict();
    return op('t').op('R');
  }
};

std::vector<int64_t> strides_of(const Shape& s) {
  std::vector<int64_t> st(s.size(), 1);
  for (size_t k = s.size(); k-- > 1;) st[k - 1] = st[k] * s[k];
  return st;
}

Bytes torch_zip(const Bytes& pickle, const std::vector<std::pair<std::string, Bytes>>& storages,
                const std::string& prefix = "archive/") {
  std::vector<detail::ZipWriteEntry> e{{prefix + "data.pkl", pickle}};
  for (const auto& [k, v] : storages) e.push_back({prefix + "data/" + k, v});
  e.push_back({prefix + "version", {'3', '\n'}});
  return detail::zip_write(e, false);
}

// A torch.save file of the given tensors, one storage each (like torch.save on CPU).
Bytes torch_file(const std::vector<Spec>& specs) {
  Pickle p;
  p.empty_ordered_dict().op('(');
  std::vector<std::pair<std::string, Bytes>> storages;
  for (size_t i = 0; i < specs.size(); ++i) {
    const std::string key = std::to_string(i);
    p.str(specs[i].name).tensor(key, numel(specs[i].shape), 0, specs[i].shape, strides_of(specs[i].shape));
    storages.push_back({key, payload(specs[i])});
  }
  p.op('u').op('.');
  return torch_zip(p.b, storages);
}

std::vector<std::pair<std::string, detail::TorchTensorRef>> unpickle(const Bytes& b) {
  return detail::unpickle_state_dict(b, "t");
}

// ---- the crafted files work when intact (so the refusals below are about the damage) ----

TEST(PyTorchErrors, CraftedFilesLoad) {
  for (const Bytes& f : {safetensors(rnn_specs(4, 2, true)), torch_file(rnn_specs(4, 2, true))}) {
    const auto r = describe_pytorch_rnn_in_memory(f);
    EXPECT_EQ(*r.module, PyTorchModule::LSTM);
    EXPECT_EQ(*r.num_layers, 2);
    EXPECT_TRUE(*r.bidirectional);
    auto m = load(f);
    const auto y = predict_pytorch_rnn(*m, r, Tensor<float>({4, 2, 5}, 0.5f));
    EXPECT_EQ(y.output.shape(), (Shape{4, 2, 14}));
    EXPECT_EQ(y.h_n.shape(), (Shape{4, 2, 7}));
  }
  for (const Bytes& f : {safetensors(rnn_specs(1, 2, true)), torch_file(rnn_specs(1, 2, true, 5, 7, false))}) {
    const auto r = describe_pytorch_rnn_in_memory(f);
    EXPECT_EQ(*r.module, PyTorchModule::RNN);
    EXPECT_EQ(*r.nonlinearity, "tanh");
    auto m = load(f);
    const auto y = predict_pytorch_rnn(*m, r, Tensor<float>({4, 2, 5}, 0.5f));
    EXPECT_EQ(y.output.shape(), (Shape{4, 2, 14}));
    EXPECT_EQ(y.h_n.shape(), (Shape{4, 2, 7}));
    EXPECT_EQ(y.c_n.size(), 0);
  }
}

// ---- safetensors -------------------------------------------------------------------------

TEST(PyTorchErrors, SafetensorsTruncatedHeader) {
  Bytes f = file_bytes("lstm_1l.safetensors");
  ASSERT_GT(f.size(), 100u);
  f.resize(60);
  EXPECT_ERROR(FormatError, load(f), "runs past the end of the file");
}

TEST(PyTorchErrors, SafetensorsHeaderLengthBeyondFile) {
  Bytes f = file_bytes("lstm_1l.safetensors");
  const uint64_t n = f.size();  // 8 + n > size
  for (int k = 0; k < 8; ++k) f[k] = static_cast<uint8_t>(n >> (8 * k));
  EXPECT_ERROR(FormatError, load(f), "runs past the end of the file");
  for (int k = 0; k < 8; ++k) f[k] = 0xff;  // 2^64 - 1: must not overflow
  EXPECT_ERROR(FormatError, load(f), "exceeds the limit of 100000000 bytes");
}

TEST(PyTorchErrors, SafetensorsBadJson) {
  EXPECT_ERROR(FormatError, load(with_header("{\"weight_ih_l0\": {\"dtype\": \"F32\",", {})),
               "header is not valid JSON");
  EXPECT_ERROR(FormatError, load(with_header("{\"a\":1}  x", {})), "header is not valid JSON");
  EXPECT_ERROR(FormatError, load(with_header("{\"a\":\"\xff\xfe\"}", {})), "header is not valid JSON");
  const std::string dup =
      "{\"x\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},"
      "\"x\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}";
  EXPECT_ERROR(FormatError, load(with_header(dup, Bytes(4))), "header has the key 'x' twice");
  std::string deep;
  for (int k = 0; k < 20; ++k) deep += "{\"a\":";
  deep += "1" + std::string(20, '}');
  EXPECT_ERROR(FormatError, load(with_header(deep, {})), "nested deeper than 16 levels");
}

TEST(PyTorchErrors, SafetensorsDtypeNotFloat) {
  std::vector<Spec> s = rnn_specs(4);
  s[1].dtype = "I64";
  EXPECT_ERROR(FormatError, load(safetensors(s)), "tensor 'weight_hh_l0' has dtype I64, expected a float dtype");
  EXPECT_ERROR(FormatError,
               load(with_header("{\"w\":{\"dtype\":\"F17\",\"shape\":[1],\"data_offsets\":[0,4]}}", Bytes(4))),
               "tensor 'w' has unknown dtype 'F17'");
}

TEST(PyTorchErrors, SafetensorsLayoutRules) {
  const auto entry = [](const std::string& name, const std::string& shape, int b, int e) {
    return "\"" + name + "\":{\"dtype\":\"F32\",\"shape\":" + shape + ",\"data_offsets\":[" + std::to_string(b) + "," +
           std::to_string(e) + "]}";
  };
  EXPECT_ERROR(FormatError,
               load(with_header("{" + entry("a", "[2]", 0, 8) + "," + entry("b", "[1]", 12, 16) + "}", Bytes(16))),
               "tensor 'b' starts at byte 12 of the data buffer, expected 8 (gap)");
  EXPECT_ERROR(FormatError,
               load(with_header("{" + entry("a", "[2]", 0, 8) + "," + entry("b", "[2]", 4, 12) + "}", Bytes(12))),
               "(overlapping tensors)");
  EXPECT_ERROR(FormatError, load(with_header("{" + entry("a", "[2]", 0, 8) + "}", Bytes(9))),
               "data buffer has 9 bytes, the tensors use 8");
  EXPECT_ERROR(FormatError, load(with_header("{" + entry("a", "[3]", 0, 8) + "}", Bytes(8))),
               "needs 12 bytes but data_offsets span 8");
  EXPECT_ERROR(FormatError, load(with_header("{" + entry("a", "[20]", 0, 80) + "}", Bytes(8))),
               "lies past the data buffer");
  EXPECT_ERROR(FormatError,
               load(with_header("{" + entry("a", "[4294967296,4294967296,4294967296]", 0, 8) + "}", Bytes(8))),
               "overflows");
  EXPECT_ERROR(FormatError, load(with_header("{" + entry("a", "[-2]", 0, 8) + "}", Bytes(8))),
               "must be a non-negative integer");
  EXPECT_ERROR(FormatError, load(with_header("{\"__metadata__\":{\"n\":1}}", {})),
               "__metadata__ value 'n' is not a string");
}

TEST(PyTorchErrors, SafetensorsWrongShapes) {
  std::vector<Spec> s = rnn_specs(4, 2);
  s[4].shape = {28, 6};  // weight_ih_l1 must take layer 0's 7 outputs
  EXPECT_ERROR(FormatError, load(safetensors(s)),
               "tensor 'weight_ih_l1' has shape [28, 6], expected [28, 7] for nn.LSTM(input_size=5, hidden_size=7, "
               "num_layers=2)");
  // The description decides what is expected; the file contradicts it.
  PyTorchRNNDescription d;
  d.hidden_size = 8;
  EXPECT_ERROR(FormatError, load(safetensors(rnn_specs(4)), d),
               "tensor 'weight_ih_l0' has shape [28, 5], expected [32, 5]");
  d = {};
  d.module = PyTorchModule::GRU;
  EXPECT_ERROR(FormatError, load(safetensors(rnn_specs(4)), d),
               "tensor 'weight_ih_l0' has shape [28, 5], expected [21, 5]");
  d = {};
  d.input_size = 4;
  EXPECT_ERROR(FormatError, load(torch_file(rnn_specs(3)), d),
               "tensor 'weight_ih_l0' has shape [21, 5], expected [21, 4]");
  s = rnn_specs(4);
  s[3].shape = {27};
  EXPECT_ERROR(FormatError, load(safetensors(s)), "tensor 'bias_hh_l0' has shape [27], expected [28]");
  s = rnn_specs(4);
  s[1].shape = {20, 7};
  EXPECT_ERROR(FormatError, load(safetensors(s)),
               "tensor 'weight_hh_l0' has shape [20, 7], expected rows = 4 (nn.LSTM), 3 (nn.GRU) or 1 (nn.RNN) times "
               "the columns");
}

// nn.RNN tensors that contradict each other or the description (one gate block: (H, Ik), (H, H), (H)).
TEST(PyTorchErrors, RnnWrongShapes) {
  std::vector<Spec> s = rnn_specs(1, 2, true);
  s[8].shape = {7, 7};  // weight_ih_l1 takes both directions' outputs of layer 0
  EXPECT_ERROR(FormatError, load(safetensors(s)),
               "PyTorch file t: tensor 'weight_ih_l1' has shape [7, 7], expected [7, 14] for nn.RNN(input_size=5, "
               "hidden_size=7, num_layers=2, bidirectional=True)");
  s = rnn_specs(1, 1, true);
  s[5].shape = {7, 6};  // weight_hh_l0_reverse
  EXPECT_ERROR(FormatError, load(torch_file(s)),
               "tensor 'weight_hh_l0_reverse' has shape [7, 6], expected [7, 7] for nn.RNN(input_size=5, "
               "hidden_size=7, num_layers=1, bidirectional=True)");
  s = rnn_specs(1);
  s[3].shape = {6};
  PyTorchRNNDescription d;
  d.nonlinearity = "relu";  // named in the module text, as it is not the default
  EXPECT_ERROR(FormatError, load(safetensors(s), d),
               "tensor 'bias_hh_l0' has shape [6], expected [7] for nn.RNN(input_size=5, hidden_size=7, "
               "num_layers=1, nonlinearity='relu')");
  s = rnn_specs(1);
  s[0].shape = {7, 5, 1};
  EXPECT_ERROR(FormatError, load(safetensors(s)),
               "tensor 'weight_ih_l0' has shape [7, 5, 1], expected a non-empty matrix");
  // The description decides the module; the file contradicts it.
  d = {};
  d.module = PyTorchModule::RNN;
  EXPECT_ERROR(FormatError, load(safetensors(rnn_specs(3)), d),
               "tensor 'weight_ih_l0' has shape [21, 5], expected [7, 5] for nn.RNN(input_size=5, hidden_size=7");
  d.module = PyTorchModule::LSTM;
  EXPECT_ERROR(FormatError, load(safetensors(rnn_specs(1)), d),
               "tensor 'weight_ih_l0' has shape [7, 5], expected [28, 5] for nn.LSTM(input_size=5");
  d = {};
  d.hidden_size = 8;
  EXPECT_ERROR(FormatError, load(torch_file(rnn_specs(1)), d),
               "tensor 'weight_ih_l0' has shape [7, 5], expected [8, 5] for nn.RNN(input_size=5, hidden_size=8");
  d = {};
  d.bias = true;
  EXPECT_ERROR(FormatError, load(safetensors(rnn_specs(1, 1, false, 5, 7, false)), d),
               "missing tensor 'bias_ih_l0' (description says bias=True)");
  s = rnn_specs(1, 2, true);
  s.erase(s.begin() + 15);  // bias_hh_l1_reverse
  EXPECT_ERROR(FormatError, load(safetensors(s)),
               "missing tensor 'bias_hh_l1_reverse' (every layer and direction needs it, as bias_ih_l0 is present)");
  s = rnn_specs(1);
  s.push_back({"weight_hr_l0", {3, 7}});
  d = {};
  d.module = PyTorchModule::RNN;
  EXPECT_ERROR(FormatError, load(safetensors(s), d),
               "unexpected tensor 'weight_hr_l0' (only nn.LSTM with proj_size has it)");
}

// nn.RNN's nonlinearity is a description field: only "tanh" / "relu", only for nn.RNN.
TEST(PyTorchErrors, RnnNonlinearity) {
  PyTorchRNNDescription d;
  for (const char* bad : {"sigmoid", "Tanh", "", "relu6"}) {
    d.nonlinearity = bad;
    EXPECT_ERROR(
        ConfigError, load(safetensors(rnn_specs(1)), d),
        "PyTorch description for t: nonlinearity must be 'tanh' or 'relu' (nn.RNN), got '" + std::string(bad) + "'");
  }
  // Given together with another module...
  d.nonlinearity = "relu";
  d.module = PyTorchModule::LSTM;
  EXPECT_ERROR(ConfigError, load(safetensors(rnn_specs(4)), d),
               "PyTorch description for t: nonlinearity is an nn.RNN option, not nn.LSTM (got nonlinearity='relu')");
  d.module = PyTorchModule::GRU;
  EXPECT_ERROR(ConfigError, describe_pytorch_rnn_in_memory(safetensors(rnn_specs(3)), d, "t"),
               "nonlinearity is an nn.RNN option, not nn.GRU");
  // ... or with weights that turn out to be another module.
  d.module.reset();
  EXPECT_ERROR(ConfigError, load(torch_file(rnn_specs(4)), d),
               "PyTorch description for t: nonlinearity='relu' is an nn.RNN option, but the weights are nn.LSTM "
               "(tensor 'weight_hh_l0' has shape [28, 7], nn.RNN's is square)");
  std::vector<Spec> proj = rnn_specs(4);
  proj[1].shape = {28, 3};
  proj.push_back({"weight_hr_l0", {3, 7}});
  EXPECT_ERROR(ConfigError, load(safetensors(proj), d), "but the weights are nn.LSTM");
  // proj_size is an nn.LSTM option.
  d = {};
  d.module = PyTorchModule::RNN;
  d.proj_size = 3;
  EXPECT_ERROR(ConfigError, load(safetensors(rnn_specs(1)), d),
               "PyTorch description for t: proj_size is an nn.LSTM option, not nn.RNN (got proj_size=3)");
  // The resolved description round-trips: it is accepted back for every module.
  for (int64_t gates : {1, 3, 4}) {
    d = {};
    if (gates == 1) d.nonlinearity = "relu";
    const Bytes f = safetensors(rnn_specs(gates, 2, true));
    const PyTorchRNNDescription r = describe_pytorch_rnn_in_memory(f, d);
    EXPECT_EQ(r.nonlinearity.has_value(), gates == 1);
    EXPECT_NO_THROW(load(f, r));
  }
}

// ---- state dict structure ----------------------------------------------------------------

TEST(PyTorchErrors, StateDictStructure) {
  std::vector<Spec> s = rnn_specs(4, 2);
  s.erase(s.begin() + 5);  // weight_hh_l1
  EXPECT_ERROR(FormatError, load(safetensors(s)), "missing tensor 'weight_hh_l1'");
  s = rnn_specs(4, 2, true);
  s.erase(s.begin() + 12, s.end());  // layer 1 without _reverse
  EXPECT_ERROR(FormatError, load(safetensors(s)), "missing tensor 'weight_ih_l1_reverse'");
  s = rnn_specs(4);
  s.push_back({"extra", {1}});
  EXPECT_ERROR(FormatError, load(safetensors(s)), "unexpected tensor 'extra' under prefix ''");
  s = rnn_specs(3);
  s.push_back({"weight_hr_l0", {3, 7}});
  PyTorchRNNDescription d;
  d.module = PyTorchModule::GRU;
  EXPECT_ERROR(FormatError, load(safetensors(s), d),
               "unexpected tensor 'weight_hr_l0' (only nn.LSTM with proj_size has it)");
  s = rnn_specs(4);
  s.erase(s.begin() + 3);  // bias_hh_l0 without bias_ih_l0's partner
  EXPECT_ERROR(FormatError, load(safetensors(s)), "missing tensor 'bias_hh_l0'");
  d = {};
  d.num_layers = 2;
  EXPECT_ERROR(FormatError, load(safetensors(rnn_specs(4)), d),
               "missing tensor 'weight_ih_l1' (description says num_layers=2)");
  d = {};
  d.bidirectional = true;
  EXPECT_ERROR(FormatError, load(safetensors(rnn_specs(4)), d), "missing tensor 'weight_ih_l0_reverse'");
  d = {};
  d.bias = false;
  EXPECT_ERROR(FormatError, load(safetensors(rnn_specs(4)), d),
               "unexpected tensor 'bias_ih_l0' (description says bias=False)");
  d = {};
  d.proj_size = 3;
  EXPECT_ERROR(FormatError, load(safetensors(rnn_specs(4)), d),
               "missing tensor 'weight_hr_l0' (description says proj_size=3)");
  d = {};
  d.module = PyTorchModule::GRU;
  d.proj_size = 2;
  EXPECT_ERROR(ConfigError, load(safetensors(rnn_specs(3)), d), "proj_size is an nn.LSTM option");
  // Two RNNs: the prefix must be chosen.
  s = rnn_specs(4);
  std::vector<Spec> two;
  for (const char* p : {"enc.", "dec."})
    for (Spec x : s) {
      x.name = p + x.name;
      two.push_back(x);
    }
  EXPECT_ERROR(FormatError, load(safetensors(two)), "several RNNs in the file (key prefixes 'enc.', 'dec.')");
  d = {};
  d.prefix = "dec.";
  EXPECT_NO_THROW(load(safetensors(two), d));
  d.prefix = "enc";  // the '.' is added
  EXPECT_EQ(*describe_pytorch_rnn_in_memory(safetensors(two), d).prefix, "enc.");
  d.prefix = "nope.";
  EXPECT_ERROR(FormatError, load(safetensors(two), d), "no tensor 'nope.weight_ih_l0'");
  EXPECT_ERROR(FormatError, load(safetensors({{"w", {2}}})), "no nn.LSTM / nn.GRU / nn.RNN weights");
}

// ---- torch.save zip ----------------------------------------------------------------------

TEST(PyTorchErrors, TruncatedZip) {
  Bytes f = file_bytes("lstm_1l.pt");
  f.resize(f.size() / 2);
  EXPECT_ERROR(FormatError, load(f), "no end-of-central-directory record");
  f = file_bytes("lstm_1l.pt");
  f.resize(f.size() - 10);
  EXPECT_ERROR(FormatError, load(f), "no end-of-central-directory record");
}

TEST(PyTorchErrors, RefusedRealFiles) {
  EXPECT_ERROR(FormatError, load(file_bytes("whole_module.pt")),
               "GLOBAL 'torch.nn.modules.rnn LSTM' at offset 2: this file pickles a Python module object; save "
               "model.state_dict() instead");
  EXPECT_ERROR(FormatError, load(file_bytes("legacy.pt")), "legacy (pre-1.6) torch.save format");
  EXPECT_ERROR(FormatError, load(file_bytes("torchscript.pt")), "TorchScript archive (torch.jit.save)");
  EXPECT_ERROR(FormatError, load(Bytes{'h', 'e', 'l', 'l', 'o'}), "too short");
  EXPECT_ERROR(FormatError, load(Bytes(300, 'a')), "neither a safetensors file");
  EXPECT_ERROR(FormatError,
               load(detail::zip_write({{"config.json", {'{', '}'}}, {"metadata.json", {'{', '}'}}}, false)),
               "this is a Keras archive");
}

TEST(PyTorchErrors, DisallowedGlobal) {
  Pickle p;
  p.global("os", "system").str("echo hi").op(0x85).op('R').op('.');
  EXPECT_ERROR(FormatError, load(torch_zip(p.b, {})), "GLOBAL 'os system' at offset 2 is not allowed");
  Pickle q;
  q.global("builtins", "eval").op('.');
  EXPECT_ERROR(FormatError, unpickle(q.b), "GLOBAL 'builtins eval' at offset 2 is not allowed");
  Pickle r;  // STACK_GLOBAL too (protocol 4)
  r.str("posix").str("system").op(0x93).op('.');
  EXPECT_ERROR(FormatError, unpickle(r.b), "GLOBAL 'posix system'");
  Pickle t;
  t.global("torch._utils", "_rebuild_qtensor").op('.');
  EXPECT_ERROR(FormatError, unpickle(t.b), "not allowed");
}

TEST(PyTorchErrors, ZipStructure) {
  const std::vector<Spec> s = rnn_specs(4);
  Pickle p;
  p.empty_ordered_dict().str("weight_ih_l0").tensor("0", 140, 0, {28, 5}, {5, 1}).op('s').op('.');
  EXPECT_ERROR(FormatError, load(torch_zip(p.b, {})), "storage member 'archive/data/0' is missing");
  EXPECT_ERROR(FormatError, load(torch_zip(p.b, {{"0", Bytes(100)}})),
               "storage member 'archive/data/0' has 100 bytes, expected 140 x 4 (F32)");
  EXPECT_ERROR(FormatError, load(detail::zip_write({{"archive/version", {'3'}}}, false)), "no 'archive/data.pkl'");
  EXPECT_ERROR(FormatError, load(detail::zip_write({{"a/data.pkl", p.b}, {"b/data/0", Bytes(560)}}, false)),
               "entry 'b/data/0' lies outside the archive folder 'a/'");
  EXPECT_ERROR(FormatError, load(detail::zip_write({{"a/data.pkl", p.b}, {"a/byteorder", {'b', 'i', 'g'}}}, false)),
               "big-endian storages");
  // A damaged storage byte is caught by the CRC.
  Bytes f = torch_file(s);
  Bytes g = f;
  const std::string marker = "archive/data/1";
  const auto it = std::search(g.begin(), g.end(), marker.begin(), marker.end());
  ASSERT_NE(it, g.end());
  *(it + static_cast<std::ptrdiff_t>(marker.size()) + 3) ^= 0x40;
  EXPECT_ERROR(FormatError, load(g), "CRC-32 mismatch");
}

// ---- the pickle machine ------------------------------------------------------------------

TEST(PyTorchErrors, PickleMachineRefusals) {
  EXPECT_ERROR(FormatError, unpickle(Pickle().op('i').b), "unsupported pickle opcode 0x69 at offset 2");
  EXPECT_ERROR(FormatError, unpickle(Pickle().op(0x81).b), "unsupported pickle opcode 0x81");
  EXPECT_ERROR(FormatError, unpickle(Pickle().op('h').op(5).op('.').b), "memo slot 5 read at offset 2 was never set");
  EXPECT_ERROR(FormatError, unpickle(Pickle().op('}').op('}').op('.').b), "with 2 values on the stack");
  EXPECT_ERROR(FormatError, unpickle(Pickle().op('}').op('(').op('.').b), "1 open MARKs");
  EXPECT_ERROR(FormatError, unpickle(Pickle().op('X').op(200).op(0).b), "truncated BINUNICODE");
  EXPECT_ERROR(FormatError, unpickle(Pickle().op('X').op(0xff).op(0xff).op(0xff).op(0x7f).b), "is too long");
  EXPECT_ERROR(FormatError, unpickle(Pickle().op('}').b), "truncated opcode");
  EXPECT_ERROR(FormatError, unpickle(Pickle().op('R').b), "REDUCE at offset 2 on an empty stack");
  EXPECT_ERROR(FormatError, unpickle(Pickle().str("f").op(')').op('R').b), "calls a str, not an allowed global");
  EXPECT_ERROR(FormatError, unpickle(Pickle().op(')').op('.').b), "data.pkl holds a tuple, expected a dict");
  EXPECT_ERROR(FormatError, unpickle(Bytes{0x80, 9}), "pickle protocol 9 is not supported");
  EXPECT_ERROR(FormatError, unpickle(Pickle().op(0x8a).op(9).b), "LONG1 integer of 9 bytes");
  EXPECT_ERROR(FormatError, unpickle(Pickle().op('t').b), "TUPLE at offset 2 without a MARK");
  Pickle persid;
  persid.op('(').str("module").global("torch", "FloatStorage").str("0").str("cpu").integer(4).op('t').op('Q').op('.');
  EXPECT_ERROR(FormatError, unpickle(persid.b), "persistent id tag is not 'storage' ('module')");
  Pickle badkey;
  badkey.op('(').str("storage").global("torch", "FloatStorage").str("../x").str("cpu").integer(4).op('t').op('Q');
  EXPECT_ERROR(FormatError, unpickle(badkey.b), "storage key '../x' is not a decimal number");
  Pickle storage_call;
  storage_call.global("torch", "FloatStorage").op(')').op('R');
  EXPECT_ERROR(FormatError, unpickle(storage_call.b), "only valid inside a persistent id");
}

TEST(PyTorchErrors, PickleTensorChecks) {
  const auto one = [](int64_t numel, int64_t offset, std::vector<int64_t> size, std::vector<int64_t> stride) {
    Pickle p;
    p.empty_ordered_dict().str("w").tensor("0", numel, offset, size, stride).op('s').op('.');
    return unpickle(p.b);
  };
  EXPECT_EQ(one(12, 0, {3, 4}, {4, 1}).size(), 1u);
  EXPECT_EQ(one(12, 0, {4, 3}, {1, 4})[0].second.stride, (std::vector<int64_t>{1, 4}));  // transposed view
  EXPECT_ERROR(FormatError, one(12, 1, {3, 4}, {4, 1}),
               "tensor reaches storage element 12 but storage '0' has 12 elements");
  EXPECT_ERROR(FormatError, one(12, 0, {3, -4}, {4, 1}), "is negative");
  EXPECT_ERROR(FormatError, one(12, -1, {3}, {1}), "negative storage_offset");
  EXPECT_ERROR(FormatError, one(12, 0, {65536, 65536, 65536, 65536}, {1, 1, 1, 1}), "overflows");
  EXPECT_ERROR(FormatError, one(12, 0, {2147483647, 2}, {2147483647, 2147483647}), "reaches storage element");
  EXPECT_ERROR(FormatError, one(12, 0, std::vector<int64_t>(9, 1), std::vector<int64_t>(9, 1)),
               "has 9 dimensions, at most 8 are supported");
  EXPECT_ERROR(FormatError, one(12, 0, {3, 4}, {4}), "tensor size has 2 dimensions but stride 1");
  // A broadcast view (stride 0) of a one-element storage would allocate 8 GB when read.
  EXPECT_ERROR(FormatError, one(1, 0, {1000000000}, {0}),
               "tensor of 1000000000 elements views storage '0' of only 1 (broadcast or overlapping views");
  // Backward hooks (a non-empty dict) are not a plain state_dict tensor.
  Pickle hooks;
  hooks.empty_ordered_dict().str("w").global("torch._utils", "_rebuild_tensor_v2").op('(');
  hooks.op('(').str("storage").global("torch", "FloatStorage").str("0").str("cpu").integer(4).op('t').op('Q');
  hooks.integer(0).ints({4}).ints({1}).op(0x89).op('}').str("k").integer(1).op('s').op('t').op('R').op('s').op('.');
  EXPECT_ERROR(FormatError, unpickle(hooks.b), "tensor with backward hooks");
}

TEST(PyTorchErrors, PickleHostileStructuresAreBounded) {
  // A dict that contains itself: flattening must not loop.
  Pickle self;
  self.op('}').op('q').op(0).str("me").op('h').op(0).op('s').op('.');
  EXPECT_ERROR(FormatError, unpickle(self.b), "the dict under 'me' was reached before");
  // A shared dict doubled 30 times (2^30 paths): refused at the first repeat, not walked.
  Pickle dag;
  dag.op('}').op('q').op(30).op('(').str("x").op(']');
  for (int k = 0; k < 30; ++k) dag.op('}').op('q').op(static_cast<uint8_t>(k)).op('a');
  for (int k = 1; k <= 30; ++k) {
    dag.op('h').op(static_cast<uint8_t>(k)).str("a").op('h').op(static_cast<uint8_t>(k - 1)).op('s');
    dag.str("b").op('h').op(static_cast<uint8_t>(k - 1)).op('s').op('a');
  }
  dag.op('u').op('.');
  EXPECT_ERROR(FormatError, unpickle(dag.b), "the dict under 'b' was reached before");
  // A chain of 40 nested dicts exceeds the depth limit.
  Pickle chain;
  chain.op('}');
  for (int k = 0; k < 40; ++k) chain.str("a").op('}');
  for (int k = 0; k < 40; ++k) chain.op('s');
  EXPECT_ERROR(FormatError, unpickle(chain.op('.').b), "dicts nested deeper than 32");
  // Deep MARK nesting and a long stack stop at their limits.
  EXPECT_ERROR(FormatError, unpickle(Pickle().raw(std::string(200000, '(')).b), "nested MARKs");
  EXPECT_ERROR(FormatError, unpickle(Pickle().raw(std::string(200000, ')')).b), "stack deeper than");
  // Deeply nested tuples are fine to build and to throw away (no recursion anywhere).
  Pickle deep;
  deep.op(')');
  for (int k = 0; k < 90000; ++k) deep.op(0x85);
  EXPECT_ERROR(FormatError, unpickle(deep.op('.').b), "data.pkl holds a tuple");
}

TEST(PyTorchErrors, NestedCheckpointsAndProtocol4) {
  // {'model': OrderedDict(w: tensor), 'epoch': 3, 'loss': 0.5, 'names': ['a'], 'none': None}
  Pickle p;
  p.op('}').op('(');
  p.str("model").empty_ordered_dict().str("w").tensor("0", 4, 0, {4}, {1}).op('s');
  p.str("epoch").integer(3).str("loss").op('G').raw(std::string("\x3f\xe0\0\0\0\0\0\0", 8));
  p.str("names").op(']').str("a").op('a').str("none").op('N').str("yes").op(0x88);
  p.op('u').op('.');
  const auto t = unpickle(p.b);
  ASSERT_EQ(t.size(), 1u);
  EXPECT_EQ(t[0].first, "model.w");
  // Protocol 4 opcodes: FRAME, SHORT_BINUNICODE, MEMOIZE, STACK_GLOBAL.
  Bytes q{0x80, 4, 0x95, 9, 0, 0, 0, 0, 0, 0, 0};
  const std::string rest =
      std::string("\x8c\x0b") + "collections" + "\x94" + "\x8c\x0b" + "OrderedDict" + "\x94\x93\x94)R\x94.";
  q.insert(q.end(), rest.begin(), rest.end());
  EXPECT_TRUE(unpickle(q).empty());
  // A name that appears twice after flattening is refused.
  Pickle dup;
  dup.op('}').str("a.w").empty_ordered_dict().op('s').op('.');
  EXPECT_TRUE(unpickle(dup.b).empty());
  Pickle clash;
  clash.op('}').op('(');
  clash.str("a.w").tensor("0", 4, 0, {4}, {1});
  clash.str("a").op('}').str("w").tensor("0", 4, 0, {4}, {1}).op('s');
  clash.op('u').op('.');
  EXPECT_ERROR(FormatError, unpickle(clash.b), "tensor name 'a.w' occurs twice");
}

// Seeded random damage (bit flips, byte overwrites, truncation) of a real safetensors file
// and of a real data.pkl (re-zipped, so the damage reaches the pickle machine past the
// CRC): every outcome is a model or an rnnx::Error, never another exception or a crash.
TEST(PyTorchErrors, RandomDamageGivesTypedErrorsOnly) {
  std::mt19937 rng(20261128);
  const auto damage = [&](Bytes b) {
    const int edits = 1 + static_cast<int>(rng() % 4);
    for (int k = 0; k < edits && !b.empty(); ++k) {
      const size_t at = rng() % b.size();
      switch (rng() % 3) {
        case 0:
          b[at] ^= static_cast<uint8_t>(1u << (rng() % 8));
          break;
        case 1:
          b[at] = static_cast<uint8_t>(rng());
          break;
        default:
          b.resize(at);
          break;
      }
    }
    return b;
  };
  const auto attempt = [](const Bytes& f) {
    try {
      auto m = load(f);
      describe_pytorch_rnn_in_memory(f);
      return 1;
    } catch (const Error&) {
      return 0;
    }
  };
  const Bytes st = file_bytes("lstm_2l_bi.safetensors");
  const Bytes pt = file_bytes("gru_checkpoint_prefix.pt");
  const detail::ZipReader zip(pt, "pt");
  std::vector<detail::ZipWriteEntry> members;
  for (const auto& e : zip.entries()) members.push_back({e.name, zip.read(e)});
  const auto pkl =
      std::find_if(members.begin(), members.end(), [](const auto& e) { return e.name.ends_with("data.pkl"); });
  ASSERT_NE(pkl, members.end());
  const Bytes original_pkl = pkl->data;
  int loaded = 0;
  for (int i = 0; i < 300; ++i) {
    loaded += attempt(damage(st));
    pkl->data = damage(original_pkl);
    loaded += attempt(detail::zip_write(members, false));
  }
  pkl->data = original_pkl;
  EXPECT_EQ(attempt(detail::zip_write(members, false)), 1);
  EXPECT_LT(loaded, 600);  // most damage is noticed
}

}  // namespace
}  // namespace rnnx
