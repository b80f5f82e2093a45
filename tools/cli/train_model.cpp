// The model `rnnx train` fits (train_model.h).
#include "train_model.h"

#include <algorithm>
#include <cmath>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "rnnx/core/error.h"
#include "rnnx/io/keras_config.h"
#include "rnnx/io/pytorch.h"
#include "rnnx/layers/bidirectional.h"
#include "rnnx/layers/dense.h"
#include "rnnx/layers/gru.h"
#include "rnnx/layers/input_layer.h"
#include "rnnx/layers/lstm.h"
#include "rnnx/layers/merge.h"
#include "rnnx/layers/pooling.h"
#include "rnnx/layers/simple_rnn.h"
#include "rnnx/model/sequential.h"

namespace rnnx::cli {

namespace {

const std::vector<std::string> kPresets = {"lstm", "gru", "simple_rnn", "bilstm", "stacked"};

int64_t default_units(const std::string& preset) {
  if (preset == "bilstm") return 64;
  if (preset == "stacked") return 32;
  return 128;
}

std::shared_ptr<Layer<float>> head(const Dataset& data) {
  DenseOptions d;
  if (data.task == Task::classification) {
    d.units = data.classes;
    d.activation = Activation::from_name("softmax");
  } else {
    d.units = data.outputs;
  }
  return std::make_shared<Dense<float>>(d, "head");
}

template <class Options>
Options recurrent_options(const ModelChoice& c, int64_t units, bool return_sequences) {
  Options o;
  o.units = units;
  o.dropout = c.dropout;
  o.recurrent_dropout = c.recurrent_dropout;
  o.return_sequences = return_sequences;
  return o;
}

BuiltModel build_preset(const ModelChoice& c, const Dataset& data) {
  const int64_t steps = data.data.x.dim(1), features = data.data.x.dim(2);
  const int64_t units = c.units > 0 ? c.units : default_units(c.model);
  auto model = std::make_unique<Sequential<float>>("rnnx_" + c.model);
  model->set_seed(c.seed);
  model->add(std::make_shared<InputLayer<float>>(Shape{-1, steps, features}));
  std::string what;
  if (c.model == "lstm") {
    model->add(std::make_shared<LSTM<float>>(recurrent_options<LSTMOptions>(c, units, false)));
    what = "LSTM(" + std::to_string(units) + ")";
  } else if (c.model == "gru") {
    model->add(std::make_shared<GRU<float>>(recurrent_options<GRUOptions>(c, units, false)));
    what = "GRU(" + std::to_string(units) + ")";
  } else if (c.model == "simple_rnn") {
    model->add(std::make_shared<SimpleRNN<float>>(recurrent_options<SimpleRNNOptions>(c, units, false)));
    what = "SimpleRNN(" + std::to_string(units) + ")";
  } else if (c.model == "bilstm") {
    auto lstm = std::make_unique<LSTM<float>>(recurrent_options<LSTMOptions>(c, units, false));
    model->add(std::make_shared<Bidirectional<float>>(std::move(lstm), BidirectionalOptions{}));
    what = "Bidirectional(LSTM(" + std::to_string(units) + "))";
  } else {  // stacked
    const int64_t second = std::max<int64_t>(units / 4, 1);
    model->add(std::make_shared<LSTM<float>>(recurrent_options<LSTMOptions>(c, units, true)));
    model->add(std::make_shared<LSTM<float>>(recurrent_options<LSTMOptions>(c, second, true)));
    model->add(std::make_shared<GlobalMaxPooling1D<float>>());
    what = "LSTM(" + std::to_string(units) + ", return_sequences) -> LSTM(" + std::to_string(second) +
           ", return_sequences) -> GlobalMaxPooling1D";
  }
  model->add(head(data));
  const std::string head_what = data.task == Task::classification
                                    ? "Dense(" + std::to_string(data.classes) + ", softmax)"
                                    : "Dense(" + std::to_string(data.outputs) + ")";
  return {std::move(model), "preset '" + c.model + "': " + what + " -> " + head_what, true};
}

std::string read_text(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  if (!f) throw IoError("cannot open '" + path + "'");
  std::stringstream s;
  s << f.rdbuf();
  return s.str();
}

BuiltModel build_from_json(const ModelChoice& c) {
  const std::string text = read_text(c.model);
  std::string version = "3";
  try {
    const auto j = nlohmann::json::parse(text);
    if (j.is_object() && j.contains("keras_version") && j["keras_version"].is_string())
      version = j["keras_version"].get<std::string>();
  } catch (const nlohmann::json::exception& e) {
    throw FormatError("'" + c.model + "' is not JSON (Keras model.to_json() output): " + e.what());
  }
  auto model = model_from_config<float>(text, version);
  return {std::move(model), "Keras model JSON " + c.model + " (Keras " + version + ")", false};
}

// PyTorch RNN weights: the loaded layers, then Dense on the top layer's final hidden state.
BuiltModel build_from_pytorch(const ModelChoice& c, const Dataset& data) {
  PyTorchRNNDescription want;
  if (!c.pytorch_prefix.empty()) want.prefix = c.pytorch_prefix;
  if (!c.pytorch_nonlinearity.empty()) want.nonlinearity = c.pytorch_nonlinearity;
  const PyTorchRNNDescription d = describe_pytorch_rnn(c.model, want);
  std::shared_ptr<Model<float>> body = load_pytorch_rnn<float>(c.model, want);
  const int64_t layers = *d.num_layers, dirs = *d.bidirectional ? 2 : 1;
  auto model = std::make_unique<Model<float>>("rnnx_finetune");
  model->set_seed(c.seed);
  const ModelTensor in = model->input({-1, data.data.x.dim(1), data.data.x.dim(2)}, "input");
  const std::vector<ModelTensor> outs = model->call(body, {in});
  // outputs: [output, h_n[k*D + d] ...]; the top layer's states are the last D of h_n.
  std::vector<ModelTensor> top;
  for (int64_t k = 0; k < dirs; ++k) top.push_back(outs[static_cast<size_t>(1 + (layers - 1) * dirs + k)]);
  ModelTensor features = top[0];
  if (dirs == 2) features = model->call(std::make_shared<Concatenate<float>>(), top)[0];
  const ModelTensor y = model->call(head(data), {features})[0];
  model->set_outputs({y});
  return {std::move(model),
          "PyTorch nn." + to_string(*d.module) + " weights " + c.model + " (" + std::to_string(layers) + " layer(s)" +
              (dirs == 2 ? ", bidirectional" : "") + ") + a new Dense head on the final hidden state",
          false};
}

}  // namespace

bool is_preset(const std::string& name) { return std::find(kPresets.begin(), kPresets.end(), name) != kPresets.end(); }

BuiltModel build_train_model(const ModelChoice& c, const Dataset& data) {
  if (is_preset(c.model)) return build_preset(c, data);
  if (c.units > 0 || c.dropout > 0 || c.recurrent_dropout > 0)
    throw UsageError("--units, --dropout and --recurrent-dropout shape a preset model (" +
                     std::string("lstm, gru, simple_rnn, bilstm, stacked") + "), not '" + c.model + "'");
  if (ends_with(c.model, ".json")) return build_from_json(c);
  ModelSource source{c.model, c.pytorch_prefix, c.pytorch_nonlinearity};
  std::unique_ptr<Model<float>> loaded;
  try {
    inspect_pytorch_file(c.model);
  } catch (const FormatError&) {
    loaded = load_cli_model(source);  // a Keras file (or neither: its error names both readings)
  }
  if (!loaded) return build_from_pytorch(c, data);
  const size_t n_out = loaded->outputs().size();
  if (n_out != 1)
    throw ConfigError("'" + c.model + "' has " + std::to_string(n_out) +
                      " outputs; rnnx train fine-tunes single-output models (build one with a single output in Keras)");
  return {std::move(loaded), "fine-tuning " + c.model + " (its weights are the starting point)", false};
}

// ---- standardisation ------------------------------------------------------------------------

Standardization fit_standardization(const Tensor<float>& x, const Tensor<float>& y) {
  Standardization s;
  const int64_t f = x.dim(-1), rows = x.size() / f;
  s.x_mean.assign(static_cast<size_t>(f), 0.0);
  s.x_std.assign(static_cast<size_t>(f), 0.0);
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t j = 0; j < f; ++j) s.x_mean[static_cast<size_t>(j)] += x[r * f + j];
  for (double& m : s.x_mean) m /= static_cast<double>(rows);
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t j = 0; j < f; ++j) {
      const double d = x[r * f + j] - s.x_mean[static_cast<size_t>(j)];
      s.x_std[static_cast<size_t>(j)] += d * d;
    }
  for (size_t j = 0; j < s.x_std.size(); ++j) {
    s.x_std[j] = std::sqrt(s.x_std[j] / static_cast<double>(rows));
    if (!(s.x_std[j] > 1e-12 * std::max(1.0, std::abs(s.x_mean[j])))) s.x_std[j] = 1.0;
  }
  double sum = 0, sq = 0;
  for (float v : y.values()) sum += v;
  s.y_mean = sum / static_cast<double>(std::max<int64_t>(y.size(), 1));
  for (float v : y.values()) sq += (v - s.y_mean) * (v - s.y_mean);
  s.y_std = std::sqrt(sq / static_cast<double>(std::max<int64_t>(y.size(), 1)));
  if (!(s.y_std > 1e-12 * std::max(1.0, std::abs(s.y_mean)))) s.y_std = 1.0;
  return s;
}

void apply_standardization(const Standardization& s, Tensor<float>& x, Tensor<float>* y) {
  const int64_t f = x.dim(-1);
  for (int64_t i = 0; i < x.size(); ++i) {
    const size_t j = static_cast<size_t>(i % f);
    x[i] = static_cast<float>((x[i] - s.x_mean[j]) / s.x_std[j]);
  }
  if (y)
    for (float& v : y->values()) v = static_cast<float>((v - s.y_mean) / s.y_std);
}

namespace {

// The recurrent layers that read the model input directly: the first layer, or both halves
// of a first Bidirectional.
std::vector<Layer<float>*> input_recurrent_layers(Model<float>& model) {
  std::vector<Layer<float>*> out;
  for (const auto& layer : model.layers()) {
    if (layer->class_name() == "InputLayer") continue;
    if (auto* bi = dynamic_cast<Bidirectional<float>*>(layer.get())) {
      out = {&bi->forward_layer(), &bi->backward_layer()};
    } else if (dynamic_cast<RNN<float>*>(layer.get())) {
      out = {layer.get()};
    }
    break;
  }
  return out;
}

Tensor<float>* param(Layer<float>& layer, const std::string& name) {
  for (auto& p : layer.params())
    if (p.name == name) return p.value;
  return nullptr;
}

Dense<float>* last_dense(Model<float>& model) {
  const auto layers = model.layers();
  if (layers.empty()) return nullptr;
  auto* dense = dynamic_cast<Dense<float>*>(layers.back().get());
  if (!dense || dense->options().activation.kind != ActivationKind::linear || !param(*dense, "bias")) return nullptr;
  return dense;
}

}  // namespace

bool can_fold_standardization(Model<float>& model) {
  const auto rec = input_recurrent_layers(model);
  if (rec.empty() || !last_dense(model)) return false;
  for (Layer<float>* r : rec)
    if (!param(*r, "kernel") || !param(*r, "bias")) return false;
  return true;
}

void fold_standardization(Model<float>& model, const Standardization& s) {
  if (!can_fold_standardization(model))
    throw ConfigError("model '" + model.name() + "': cannot fold the input standardisation into it (it needs a first " +
                      "LSTM / GRU / SimpleRNN / Bidirectional layer with a bias and a last linear Dense layer)");
  for (Layer<float>* r : input_recurrent_layers(model)) {
    Tensor<float>& kernel = *param(*r, "kernel");  // [features, gates*units]
    Tensor<float>& bias = *param(*r, "bias");      // [gates*units], or [2, 3*units] (GRU reset_after)
    const int64_t f = kernel.dim(0), w = kernel.dim(1);
    // x·W + b with x = (raw - m)/s  ==  raw·(W/s) + (b - (m/s)·W); the input bias is row 0.
    for (int64_t j = 0; j < f; ++j) {
      const double scale = 1.0 / s.x_std[static_cast<size_t>(j)];
      const double shift = s.x_mean[static_cast<size_t>(j)] * scale;
      for (int64_t k = 0; k < w; ++k) {
        const double kv = kernel[j * w + k];
        bias[k] = static_cast<float>(bias[k] - shift * kv);
        kernel[j * w + k] = static_cast<float>(kv * scale);
      }
    }
  }
  Dense<float>& dense = *last_dense(model);
  Tensor<float>& kernel = *param(dense, "kernel");
  Tensor<float>& bias = *param(dense, "bias");
  for (float& v : kernel.values()) v = static_cast<float>(v * s.y_std);
  for (float& v : bias.values()) v = static_cast<float>(v * s.y_std + s.y_mean);
}

}  // namespace rnnx::cli
