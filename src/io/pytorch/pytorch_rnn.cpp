// nn.LSTM / nn.GRU / nn.RNN state_dicts -> rnnx models of Keras layers (spec pytorch-files.md §4,
// keras-recurrent.md §7). The mapping is documented in include/rnnx/io/pytorch.h.
#include <algorithm>
#include <array>
#include <cctype>
#include <map>
#include <tuple>

#include "io/file_io.h"
#include "io/pytorch/pytorch_internal.h"
#include "rnnx/cells/keras_layout.h"
#include "rnnx/cells/tf1_cells.h"
#include "rnnx/core/error.h"
#include "rnnx/io/pytorch.h"
#include "rnnx/layers/bidirectional.h"
#include "rnnx/layers/gru.h"
#include "rnnx/layers/lstm.h"
#include "rnnx/layers/simple_rnn.h"

namespace rnnx {

std::string to_string(PyTorchModule module) {
  switch (module) {
    case PyTorchModule::LSTM:
      return "LSTM";
    case PyTorchModule::GRU:
      return "GRU";
    case PyTorchModule::RNN:
      return "RNN";
  }
  return "?";
}

namespace {

// PyTorch's row blocks of the fused G*H axis (spec §4.1): LSTM i, f, g, o; GRU r, z, n;
// RNN one block.
enum class TorchLSTMGate : int { input = 0, forget = 1, cell = 2, output = 3 };
enum class TorchGRUGate : int { reset = 0, update = 1, candidate = 2 };

constexpr int64_t kMaxLayers = 1000;

// perm[k] = the PyTorch block that becomes block k of the Keras (or TF1) layout.
using Perm = std::vector<int64_t>;

Perm keras_lstm_perm() {
  Perm p(keras::kLSTMGates);
  p[keras::block_index(keras::LSTMGate::input)] = static_cast<int64_t>(TorchLSTMGate::input);
  p[keras::block_index(keras::LSTMGate::forget)] = static_cast<int64_t>(TorchLSTMGate::forget);
  p[keras::block_index(keras::LSTMGate::cell)] = static_cast<int64_t>(TorchLSTMGate::cell);
  p[keras::block_index(keras::LSTMGate::output)] = static_cast<int64_t>(TorchLSTMGate::output);
  return p;
}

// The r/z swap (spec §4.6 negative control: skipping it is off by 0.69).
Perm keras_gru_perm() {
  Perm p(keras::kGRUGates);
  p[keras::block_index(keras::GRUGate::update)] = static_cast<int64_t>(TorchGRUGate::update);
  p[keras::block_index(keras::GRUGate::reset)] = static_cast<int64_t>(TorchGRUGate::reset);
  p[keras::block_index(keras::GRUGate::candidate)] = static_cast<int64_t>(TorchGRUGate::candidate);
  return p;
}

// nn.RNN's single block is SimpleRNN's: a plain transpose.
Perm simple_rnn_perm() { return Perm{0}; }

Perm tf1_lstm_perm() {
  Perm p(keras::kTF1LSTMGates);
  p[keras::block_index(keras::TF1LSTMGate::input)] = static_cast<int64_t>(TorchLSTMGate::input);
  p[keras::block_index(keras::TF1LSTMGate::candidate)] = static_cast<int64_t>(TorchLSTMGate::cell);
  p[keras::block_index(keras::TF1LSTMGate::forget)] = static_cast<int64_t>(TorchLSTMGate::forget);
  p[keras::block_index(keras::TF1LSTMGate::output)] = static_cast<int64_t>(TorchLSTMGate::output);
  return p;
}

enum class Param { weight_ih, weight_hh, bias_ih, bias_hh, weight_hr };
constexpr std::array<const char*, 5> kParamNames = {"weight_ih", "weight_hh", "bias_ih", "bias_hh", "weight_hr"};

struct Resolved {
  PyTorchModule module = PyTorchModule::LSTM;
  std::string prefix;
  int64_t input_size = 0, hidden_size = 0, num_layers = 0, proj_size = 0;
  bool bias = true, bidirectional = false, batch_first = false;
  std::string nonlinearity;  // nn.RNN only: "tanh" or "relu"

  int64_t gates() const {
    switch (module) {
      case PyTorchModule::LSTM:
        return 4;
      case PyTorchModule::GRU:
        return 3;
      case PyTorchModule::RNN:
        return 1;
    }
    return 1;
  }
  int64_t directions() const { return bidirectional ? 2 : 1; }
  int64_t out_size() const { return proj_size > 0 ? proj_size : hidden_size; }
  int64_t layer_input(int64_t k) const { return k == 0 ? input_size : directions() * out_size(); }
  std::string key(Param p, int64_t layer, int dir) const {
    return prefix + kParamNames[static_cast<size_t>(p)] + "_l" + std::to_string(layer) + (dir ? "_reverse" : "");
  }
  std::string module_text() const {
    std::string s = "nn." + to_string(module) + "(input_size=" + std::to_string(input_size) +
                    ", hidden_size=" + std::to_string(hidden_size) + ", num_layers=" + std::to_string(num_layers);
    if (!bias) s += ", bias=False";
    if (bidirectional) s += ", bidirectional=True";
    if (proj_size) s += ", proj_size=" + std::to_string(proj_size);
    if (module == PyTorchModule::RNN && nonlinearity != "tanh") s += ", nonlinearity='" + nonlinearity + "'";
    return s + ")";
  }
  PyTorchRNNDescription description() const {
    PyTorchRNNDescription d;
    d.module = module;
    d.input_size = input_size;
    d.hidden_size = hidden_size;
    d.num_layers = num_layers;
    d.bias = bias;
    d.batch_first = batch_first;
    d.bidirectional = bidirectional;
    d.proj_size = proj_size;
    d.prefix = prefix;
    if (module == PyTorchModule::RNN) d.nonlinearity = nonlinearity;
    return d;
  }
};

[[noreturn]] void fail(const detail::TensorFile& f, const std::string& what) {
  throw FormatError("PyTorch file " + f.where() + ": " + what);
}

// An invalid description (ConfigError), naming the file it was given for.
[[noreturn]] void bad_description(const detail::TensorFile& f, const std::string& what) {
  throw ConfigError("PyTorch description for " + f.where() + ": " + what);
}

std::string bool_text(bool b) { return b ? "True" : "False"; }

// The parameters found under the prefix: (param, layer, direction) -> key.
using Found = std::map<std::tuple<Param, int64_t, int>, std::string>;

std::string choose_prefix(const detail::TensorFile& f, const PyTorchRNNDescription& d) {
  const std::string suffix = "weight_ih_l0";
  if (d.prefix) {
    std::string p = *d.prefix;
    if (!p.empty() && p.back() != '.') p += '.';
    if (!f.find(p + suffix)) fail(f, "no tensor '" + p + suffix + "' (prefix '" + *d.prefix + "' given)");
    return p;
  }
  std::vector<std::string> prefixes;
  for (const auto& [name, t] : f.tensors()) {
    if (!name.ends_with(suffix)) continue;
    const std::string p = name.substr(0, name.size() - suffix.size());
    if (p.empty() || p.back() == '.') prefixes.push_back(p);
  }
  if (prefixes.empty()) {
    std::string some;
    for (size_t k = 0; k < f.tensors().size() && k < 8; ++k) some += (k ? ", " : "") + f.tensors()[k].first;
    fail(f, "no nn.LSTM / nn.GRU / nn.RNN weights (no key ending in 'weight_ih_l0'); tensors: " +
                (some.empty() ? "none" : some));
  }
  if (prefixes.size() > 1) {
    std::string list;
    for (const auto& p : prefixes) list += (list.empty() ? "'" : ", '") + p + "'";
    fail(f, "several RNNs in the file (key prefixes " + list + "); set PyTorchRNNDescription::prefix");
  }
  return prefixes[0];
}

// Parses "<param>_l<k>[_reverse]"; false for anything else.
bool parse_key(const std::string& rest, Param& p, int64_t& layer, int& dir) {
  for (size_t i = 0; i < kParamNames.size(); ++i) {
    const std::string head = std::string(kParamNames[i]) + "_l";
    if (rest.rfind(head, 0) != 0) continue;
    std::string tail = rest.substr(head.size());
    dir = 0;
    if (tail.ends_with("_reverse")) {
      dir = 1;
      tail.resize(tail.size() - 8);
    }
    if (tail.empty() || tail.size() > 4 || (tail.size() > 1 && tail[0] == '0') ||
        tail.find_first_not_of("0123456789") != std::string::npos)
      return false;
    p = static_cast<Param>(i);
    layer = std::stoll(tail);
    return true;
  }
  return false;
}

Resolved resolve(const detail::TensorFile& f, const PyTorchRNNDescription& d) {
  Resolved r;
  r.prefix = choose_prefix(f, d);
  r.batch_first = d.batch_first.value_or(false);
  Found found;
  int64_t max_layer = -1;
  bool any_reverse = false;
  for (const auto& [name, t] : f.tensors()) {
    if (name.rfind(r.prefix, 0) != 0) continue;
    Param p = Param::weight_ih;  // initialised for GCC's -Wmaybe-uninitialized; parse_key sets all three
    int64_t layer = 0;
    int dir = 0;
    if (!parse_key(name.substr(r.prefix.size()), p, layer, dir))
      fail(f, "unexpected tensor '" + name + "' under prefix '" + r.prefix +
                  "' (not an nn.LSTM / nn.GRU / nn.RNN parameter)");
    found[{p, layer, dir}] = name;
    max_layer = std::max(max_layer, layer);
    any_reverse = any_reverse || dir == 1;
  }
  auto has = [&](Param p, int64_t k, int dir) { return found.count({p, k, dir}) > 0; };

  // num_layers and bidirectional from the keys; a description that disagrees names the key.
  r.num_layers = max_layer + 1;
  if (d.num_layers) {
    if (*d.num_layers < 1 || *d.num_layers > kMaxLayers)
      bad_description(f, "num_layers must be in [1, 1000], got " + std::to_string(*d.num_layers));
    if (*d.num_layers > r.num_layers)
      fail(f, "missing tensor '" + r.key(Param::weight_ih, r.num_layers, 0) +
                  "' (description says num_layers=" + std::to_string(*d.num_layers) + ")");
    if (*d.num_layers < r.num_layers)
      fail(f, "unexpected tensor '" + r.key(Param::weight_ih, r.num_layers - 1, 0) +
                  "' (description says num_layers=" + std::to_string(*d.num_layers) + ")");
  }
  r.bidirectional = any_reverse;
  if (d.bidirectional && *d.bidirectional != any_reverse)
    fail(f, (any_reverse ? "unexpected tensor '" + r.key(Param::weight_ih, 0, 1) + "'"
                         : "missing tensor '" + r.key(Param::weight_ih, 0, 1) + "'") +
                " (description says bidirectional=" + bool_text(*d.bidirectional) + ")");
  r.bias = has(Param::bias_ih, 0, 0);
  if (d.bias && *d.bias != r.bias)
    fail(f, std::string(r.bias ? "unexpected" : "missing") + " tensor '" + r.key(Param::bias_ih, 0, 0) +
                "' (description says bias=" + bool_text(*d.bias) + ")");
  const bool has_proj = has(Param::weight_hr, 0, 0);

  // Every layer and direction has the same set of tensors.
  for (int64_t k = 0; k < r.num_layers; ++k) {
    for (int dir = 0; dir < r.directions(); ++dir) {
      for (Param p : {Param::weight_ih, Param::weight_hh, Param::bias_ih, Param::bias_hh, Param::weight_hr}) {
        const bool want = p == Param::weight_ih || p == Param::weight_hh ||
                          ((p == Param::bias_ih || p == Param::bias_hh) && r.bias) ||
                          (p == Param::weight_hr && has_proj);
        if (want && !has(p, k, dir)) {
          std::string why = "every layer";
          if (r.bidirectional) why += " and direction";
          why +=
              p == Param::weight_hr
                  ? " needs it, as weight_hr_l0 is present"
                  : (p == Param::bias_ih || p == Param::bias_hh ? " needs it, as bias_ih_l0 is present" : " needs it");
          fail(f, "missing tensor '" + r.key(p, k, dir) + "' (" + why + ")");
        }
        if (!want && has(p, k, dir))
          fail(f, "unexpected tensor '" + r.key(p, k, dir) + "' (" +
                      (p == Param::weight_hr ? "weight_hr_l0 is absent" : "bias_ih_l0 is absent") + ")");
      }
    }
  }

  auto shape_of = [&](Param p, int64_t k, int dir) -> const Shape& { return f.find(r.key(p, k, dir))->shape; };
  auto need_rank2 = [&](Param p) {
    const Shape& s = shape_of(p, 0, 0);
    if (s.size() != 2 || s[0] < 1 || s[1] < 1)
      fail(f, "tensor '" + r.key(p, 0, 0) + "' has shape " + to_string(s) + ", expected a non-empty matrix");
    return s;
  };

  // Module, hidden size and projection (spec §4.4 step 3).
  if (d.proj_size && *d.proj_size < 0)
    bad_description(f, "proj_size must be >= 0, got " + std::to_string(*d.proj_size));
  if (d.module && *d.module != PyTorchModule::LSTM && d.proj_size.value_or(0) > 0)
    bad_description(f, "proj_size is an nn.LSTM option, not nn." + to_string(*d.module) +
                           " (got proj_size=" + std::to_string(*d.proj_size) + ")");
  if (d.nonlinearity && *d.nonlinearity != "tanh" && *d.nonlinearity != "relu")
    bad_description(f, "nonlinearity must be 'tanh' or 'relu' (nn.RNN), got '" + *d.nonlinearity + "'");
  if (d.module && *d.module != PyTorchModule::RNN && d.nonlinearity)
    bad_description(f, "nonlinearity is an nn.RNN option, not nn." + to_string(*d.module) + " (got nonlinearity='" +
                           *d.nonlinearity + "')");
  if (has_proj) {
    if (d.module && *d.module != PyTorchModule::LSTM)
      fail(f, "unexpected tensor '" + r.key(Param::weight_hr, 0, 0) + "' (only nn.LSTM with proj_size has it)");
    if (d.proj_size && *d.proj_size == 0)
      fail(f, "unexpected tensor '" + r.key(Param::weight_hr, 0, 0) + "' (description says proj_size=0)");
    const Shape s = need_rank2(Param::weight_hr);
    r.module = PyTorchModule::LSTM;
    r.proj_size = d.proj_size.value_or(s[0]);
    r.hidden_size = d.hidden_size.value_or(s[1]);
  } else {
    if (d.proj_size.value_or(0) > 0)
      fail(f, "missing tensor '" + r.key(Param::weight_hr, 0, 0) +
                  "' (description says proj_size=" + std::to_string(*d.proj_size) + ")");
    const Shape s = need_rank2(Param::weight_hh);
    r.hidden_size = d.hidden_size.value_or(s[1]);
    if (d.module) {
      r.module = *d.module;
    } else if (s[0] == 4 * s[1]) {
      r.module = PyTorchModule::LSTM;
    } else if (s[0] == 3 * s[1]) {
      r.module = PyTorchModule::GRU;
    } else if (s[0] == s[1]) {
      r.module = PyTorchModule::RNN;
    } else {
      fail(f, "tensor '" + r.key(Param::weight_hh, 0, 0) + "' has shape " + to_string(s) +
                  ", expected rows = 4 (nn.LSTM), 3 (nn.GRU) or 1 (nn.RNN) times the columns");
    }
  }
  if (r.module == PyTorchModule::RNN) {
    r.nonlinearity = d.nonlinearity.value_or("tanh");  // not in the file (spec §4.4 step 5)
  } else if (d.nonlinearity) {
    bad_description(f, "nonlinearity='" + *d.nonlinearity + "' is an nn.RNN option, but the weights are nn." +
                           to_string(r.module) + " (tensor '" + r.key(Param::weight_hh, 0, 0) + "' has shape " +
                           to_string(shape_of(Param::weight_hh, 0, 0)) + ", nn.RNN's is square)");
  }
  if (r.hidden_size < 1) bad_description(f, "hidden_size must be >= 1, got " + std::to_string(r.hidden_size));
  r.input_size = d.input_size.value_or(need_rank2(Param::weight_ih)[1]);
  if (r.input_size < 1) bad_description(f, "input_size must be >= 1, got " + std::to_string(r.input_size));

  // Every shape (spec §4.1), and float dtypes.
  const int64_t gh = r.gates() * r.hidden_size;
  for (int64_t k = 0; k < r.num_layers; ++k) {
    for (int dir = 0; dir < r.directions(); ++dir) {
      std::vector<std::pair<Param, Shape>> want = {{Param::weight_ih, {gh, r.layer_input(k)}},
                                                   {Param::weight_hh, {gh, r.out_size()}}};
      if (r.bias) want.insert(want.end(), {{Param::bias_ih, {gh}}, {Param::bias_hh, {gh}}});
      if (has_proj) want.push_back({Param::weight_hr, {r.proj_size, r.hidden_size}});
      for (const auto& [p, shape] : want) {
        const std::string key = r.key(p, k, dir);
        const detail::RawTensor& t = *f.find(key);
        if (t.shape != shape)
          fail(f, "tensor '" + key + "' has shape " + to_string(t.shape) + ", expected " + to_string(shape) + " for " +
                      r.module_text());
        if (t.dtype != "F32" && t.dtype != "F16" && t.dtype != "BF16" && t.dtype != "F64")
          fail(f, "tensor '" + key + "' has dtype " + t.dtype + ", expected a float dtype (F32, F16, BF16 or F64)");
      }
    }
  }
  return r;
}

// out[(row0 + c) * G*H + kb*H + j] = w[(perm[kb]*H + j) * C + c]: transposes a PyTorch
// (G*H, C) matrix into rows row0.. of a Keras (., G*H) one, reordering the gate blocks.
template <class T>
void put_transposed(const Tensor<double>& w, const Perm& perm, int64_t h, Tensor<T>& out, int64_t row0) {
  const int64_t gh = static_cast<int64_t>(perm.size()) * h, cols = w.dim(1);
  for (int64_t c = 0; c < cols; ++c)
    for (size_t kb = 0; kb < perm.size(); ++kb)
      for (int64_t j = 0; j < h; ++j)
        out[(row0 + c) * gh + static_cast<int64_t>(kb) * h + j] = static_cast<T>(w[(perm[kb] * h + j) * cols + c]);
}

// Gate-reordered vector a (+ b): out[offset + kb*H + j] = a[perm[kb]*H + j] (+ b[...]).
template <class T>
void put_bias(const Tensor<double>& a, const Tensor<double>* b, const Perm& perm, int64_t h, Tensor<T>& out,
              int64_t offset) {
  for (size_t kb = 0; kb < perm.size(); ++kb)
    for (int64_t j = 0; j < h; ++j) {
      const int64_t src = perm[kb] * h + j;
      out[offset + static_cast<int64_t>(kb) * h + j] = static_cast<T>(a[src] + (b ? (*b)[src] : 0.0));
    }
}

// The Keras weights (get_weights order) of layer k, direction dir.
template <class T>
std::vector<Tensor<T>> direction_weights(const detail::TensorFile& f, const Resolved& r, int64_t k, int dir) {
  const int64_t h = r.hidden_size, in = r.layer_input(k);
  const Tensor<double> w_ih = f.read_float(r.key(Param::weight_ih, k, dir));
  const Tensor<double> w_hh = f.read_float(r.key(Param::weight_hh, k, dir));
  Tensor<double> b_ih, b_hh;
  if (r.bias) {
    b_ih = f.read_float(r.key(Param::bias_ih, k, dir));
    b_hh = f.read_float(r.key(Param::bias_hh, k, dir));
  }
  std::vector<Tensor<T>> out;
  if (r.proj_size > 0) {
    // TF1LSTMCell: kernel over concat([x, h_projected]), bias, projection/kernel.
    const Perm perm = tf1_lstm_perm();
    Tensor<T> kernel(keras::tf1_lstm_kernel_shape(in, r.proj_size, h));
    put_transposed(w_ih, perm, h, kernel, 0);
    put_transposed(w_hh, perm, h, kernel, in);
    Tensor<T> bias(keras::tf1_lstm_bias_shape(h));  // zeros without bias
    if (r.bias) put_bias(b_ih, &b_hh, perm, h, bias, 0);
    const Tensor<double> w_hr = f.read_float(r.key(Param::weight_hr, k, dir));  // (P, H)
    Tensor<T> projection(keras::tf1_lstm_projection_shape(h, r.proj_size));
    for (int64_t u = 0; u < h; ++u)
      for (int64_t p = 0; p < r.proj_size; ++p) projection[u * r.proj_size + p] = static_cast<T>(w_hr[p * h + u]);
    out.push_back(std::move(kernel));
    out.push_back(std::move(bias));
    out.push_back(std::move(projection));
  } else if (r.module == PyTorchModule::LSTM || r.module == PyTorchModule::RNN) {
    // Keras LSTM / SimpleRNN: kernel, recurrent_kernel, bias = bias_ih + bias_hh.
    const bool lstm = r.module == PyTorchModule::LSTM;
    const Perm perm = lstm ? keras_lstm_perm() : simple_rnn_perm();
    Tensor<T> kernel(lstm ? keras::lstm_kernel_shape(in, h) : keras::simple_rnn_kernel_shape(in, h));
    Tensor<T> recurrent(lstm ? keras::lstm_recurrent_kernel_shape(h) : keras::simple_rnn_recurrent_kernel_shape(h));
    put_transposed(w_ih, perm, h, kernel, 0);
    put_transposed(w_hh, perm, h, recurrent, 0);
    out.push_back(std::move(kernel));
    out.push_back(std::move(recurrent));
    if (r.bias) {
      Tensor<T> bias(lstm ? keras::lstm_bias_shape(h) : keras::simple_rnn_bias_shape(h));
      put_bias(b_ih, &b_hh, perm, h, bias, 0);  // one rounding of the sum (spec §4.5)
      out.push_back(std::move(bias));
    }
  } else {
    const Perm perm = keras_gru_perm();
    Tensor<T> kernel(keras::gru_kernel_shape(in, h)), recurrent(keras::gru_recurrent_kernel_shape(h));
    put_transposed(w_ih, perm, h, kernel, 0);
    put_transposed(w_hh, perm, h, recurrent, 0);
    out.push_back(std::move(kernel));
    out.push_back(std::move(recurrent));
    if (r.bias) {
      // reset_after=True keeps the two biases apart (summing them is off by 0.36, spec §4.6).
      Tensor<T> bias(keras::gru_bias_shape(h, true));
      const int64_t gh = keras::kGRUGates * h;
      put_bias(b_ih, nullptr, perm, h, bias, keras::kGRUInputBiasRow * gh);
      put_bias(b_hh, nullptr, perm, h, bias, keras::kGRURecurrentBiasRow * gh);
      out.push_back(std::move(bias));
    }
  }
  return out;
}

template <class T>
std::unique_ptr<RNN<T>> make_direction(const Resolved& r, bool backwards) {
  RNNOptions ro;
  ro.return_sequences = true;
  ro.return_state = true;
  ro.go_backwards = backwards;
  if (r.proj_size > 0) {
    TF1LSTMCellOptions c;
    c.num_units = r.hidden_size;
    c.num_proj = r.proj_size;
    c.forget_bias = 0.0;  // PyTorch adds nothing to the forget gate
    return std::make_unique<RNN<T>>(std::make_unique<TF1LSTMCell<T>>(c), ro, "rnn");
  }
  if (r.module == PyTorchModule::LSTM) {
    LSTMOptions o;
    o.units = r.hidden_size;
    o.use_bias = r.bias;
    static_cast<RNNOptions&>(o) = ro;
    return std::make_unique<LSTM<T>>(o, "lstm");
  }
  if (r.module == PyTorchModule::RNN) {
    SimpleRNNOptions o;
    o.units = r.hidden_size;
    o.use_bias = r.bias;
    o.activation = Activation::from_name(r.nonlinearity);  // "tanh" / "relu": Keras names too
    static_cast<RNNOptions&>(o) = ro;
    return std::make_unique<SimpleRNN<T>>(o, "simple_rnn");
  }
  GRUOptions o;
  o.units = r.hidden_size;
  o.use_bias = r.bias;
  o.reset_after = true;
  static_cast<RNNOptions&>(o) = ro;
  return std::make_unique<GRU<T>>(o, "gru");
}

// Indices of h and c among one direction's returned states.
int state_count(const Resolved& r) { return r.module == PyTorchModule::LSTM ? 2 : 1; }
int h_state(const Resolved& r) {
  if (r.module != PyTorchModule::LSTM) return 0;
  return r.proj_size > 0 ? keras::kTF1LSTMStateH : keras::kLSTMStateH;
}
int c_state(const Resolved& r) { return r.proj_size > 0 ? keras::kTF1LSTMStateC : keras::kLSTMStateC; }

template <class T>
std::unique_ptr<Model<T>> build_model(const detail::TensorFile& f, const Resolved& r) {
  std::string name = to_string(r.module);
  std::transform(name.begin(), name.end(), name.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  auto model = std::make_unique<Model<T>>("pytorch_" + name);
  ModelTensor cur = model->input({-1, -1, r.input_size}, "input");
  const int64_t dl = r.directions() * r.num_layers;
  std::vector<ModelTensor> h_n(static_cast<size_t>(dl)), c_n(static_cast<size_t>(dl));
  std::vector<RNN<T>*> rnns;  // layer-major, forward then backward
  for (int64_t k = 0; k < r.num_layers; ++k) {
    std::shared_ptr<Layer<T>> layer;
    if (r.bidirectional) {
      auto bi = std::make_shared<Bidirectional<T>>(make_direction<T>(r, false), BidirectionalOptions{MergeMode::concat},
                                                   make_direction<T>(r, true));
      rnns.push_back(&bi->forward_layer());
      rnns.push_back(&bi->backward_layer());
      layer = bi;
    } else {
      std::shared_ptr<RNN<T>> rnn = make_direction<T>(r, false);
      rnns.push_back(rnn.get());
      layer = rnn;
    }
    const std::vector<ModelTensor> outs = model->call(layer, {cur});
    cur = outs[0];
    for (int dir = 0; dir < r.directions(); ++dir) {
      const size_t base = 1 + static_cast<size_t>(dir * state_count(r)),
                   slot = static_cast<size_t>(k * r.directions() + dir);
      h_n[slot] = outs[base + static_cast<size_t>(h_state(r))];
      if (r.module == PyTorchModule::LSTM) c_n[slot] = outs[base + static_cast<size_t>(c_state(r))];
    }
  }
  std::vector<ModelTensor> outputs{cur};
  outputs.insert(outputs.end(), h_n.begin(), h_n.end());
  if (r.module == PyTorchModule::LSTM) outputs.insert(outputs.end(), c_n.begin(), c_n.end());
  model->set_outputs(outputs);
  for (int64_t k = 0; k < r.num_layers; ++k)
    for (int dir = 0; dir < r.directions(); ++dir)
      rnns[static_cast<size_t>(k * r.directions() + dir)]->set_weights(direction_weights<T>(f, r, k, dir));
  return model;
}

// [a, b, rest] -> [b, a, rest] (time-major <-> batch-major).
template <class T>
Tensor<T> swap01(const Tensor<T>& x) {
  const int64_t a = x.dim(0), b = x.dim(1), rest = x.size() / std::max<int64_t>(a * b, 1);
  Tensor<T> out({b, a, x.dim(2)});
  for (int64_t i = 0; i < a; ++i)
    for (int64_t j = 0; j < b; ++j) std::copy_n(x.data() + (i * b + j) * rest, rest, out.data() + (j * a + i) * rest);
  return out;
}

}  // namespace

PyTorchRNNDescription describe_pytorch_rnn(const std::string& path, const PyTorchRNNDescription& description) {
  const detail::TensorFile f(detail::read_file(path), path);
  return resolve(f, description).description();
}

PyTorchRNNDescription describe_pytorch_rnn_in_memory(std::span<const uint8_t> bytes,
                                                     const PyTorchRNNDescription& description,
                                                     const std::string& where) {
  const detail::TensorFile f(std::vector<uint8_t>(bytes.begin(), bytes.end()), where);
  return resolve(f, description).description();
}

template <class T>
std::unique_ptr<Model<T>> load_pytorch_rnn(const std::string& path, const PyTorchRNNDescription& description) {
  const detail::TensorFile f(detail::read_file(path), path);
  return build_model<T>(f, resolve(f, description));
}

template <class T>
std::unique_ptr<Model<T>> load_pytorch_rnn_from_memory(std::span<const uint8_t> bytes,
                                                       const PyTorchRNNDescription& description,
                                                       const std::string& where) {
  const detail::TensorFile f(std::vector<uint8_t>(bytes.begin(), bytes.end()), where);
  return build_model<T>(f, resolve(f, description));
}

template <class T>
PyTorchRNNOutputs<T> predict_pytorch_rnn(Model<T>& model, const PyTorchRNNDescription& resolved,
                                         const Tensor<T>& input) {
  if (!resolved.module || !resolved.num_layers || !resolved.bidirectional)
    throw ConfigError("predict_pytorch_rnn: the description must be resolved (use describe_pytorch_rnn)");
  const bool lstm = *resolved.module == PyTorchModule::LSTM;
  const bool batch_first = resolved.batch_first.value_or(false);
  const int64_t dl = (*resolved.bidirectional ? 2 : 1) * *resolved.num_layers;
  if (input.rank() != 2 && input.rank() != 3)
    throw ShapeError("predict_pytorch_rnn: input has shape " + to_string(input.shape()) +
                     ", expected (T, I) unbatched or " + (batch_first ? "(B, T, I)" : "(T, B, I)"));
  const bool unbatched = input.rank() == 2;
  const Tensor<T> x =
      unbatched ? input.reshaped({1, input.dim(0), input.dim(1)}) : (batch_first ? input : swap01(input));
  const std::vector<Tensor<T>> outs = model.predict({x});
  const size_t want = static_cast<size_t>(1 + dl * (lstm ? 2 : 1));
  if (outs.size() != want)
    throw ShapeError("predict_pytorch_rnn: the model has " + std::to_string(outs.size()) + " outputs, expected " +
                     std::to_string(want) + " for the description");
  PyTorchRNNOutputs<T> r;
  const Tensor<T>& y = outs[0];
  r.output = unbatched ? y.reshaped({y.dim(1), y.dim(2)}) : (batch_first ? y : swap01(y));
  auto stack = [&](size_t first) {
    const Shape& s = outs[first].shape();  // [B, size]
    Tensor<T> t(unbatched ? Shape{dl, s[1]} : Shape{dl, s[0], s[1]});
    for (int64_t i = 0; i < dl; ++i) {
      const Tensor<T>& part = outs[first + static_cast<size_t>(i)];
      if (part.shape() != s) throw ShapeError("predict_pytorch_rnn: state outputs differ in shape");
      std::copy_n(part.data(), part.size(), t.data() + i * part.size());
    }
    return t;
  };
  r.h_n = stack(1);
  if (lstm) r.c_n = stack(1 + static_cast<size_t>(dl));
  return r;
}

template std::unique_ptr<Model<float>> load_pytorch_rnn<float>(const std::string&, const PyTorchRNNDescription&);
template std::unique_ptr<Model<double>> load_pytorch_rnn<double>(const std::string&, const PyTorchRNNDescription&);
template std::unique_ptr<Model<float>> load_pytorch_rnn_from_memory<float>(std::span<const uint8_t>,
                                                                           const PyTorchRNNDescription&,
                                                                           const std::string&);
template std::unique_ptr<Model<double>> load_pytorch_rnn_from_memory<double>(std::span<const uint8_t>,
                                                                             const PyTorchRNNDescription&,
                                                                             const std::string&);
template PyTorchRNNOutputs<float> predict_pytorch_rnn<float>(Model<float>&, const PyTorchRNNDescription&,
                                                             const Tensor<float>&);
template PyTorchRNNOutputs<double> predict_pytorch_rnn<double>(Model<double>&, const PyTorchRNNDescription&,
                                                               const Tensor<double>&);

}  // namespace rnnx
