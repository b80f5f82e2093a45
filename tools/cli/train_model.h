#pragma once
// The model `rnnx train` fits: a preset sized to the data, a Keras model JSON, or an
// existing model file to fine-tune.
//
// Presets (input [steps, features] from the data; head Dense(K, softmax) for K classes, or
// Dense(outputs) for regression):
//   lstm        LSTM(units=128) -> head
//   gru         GRU(units=128) -> head
//   simple_rnn  SimpleRNN(units=128) -> head
//   bilstm      Bidirectional(LSTM(units=64)) -> head
//   stacked     LSTM(units=32, return_sequences) -> LSTM(units/4, return_sequences)
//               -> GlobalMaxPooling1D -> head      (the seed document's model)
// A .json file is Keras model.to_json() output (Sequential or Functional). A .keras / .h5
// file, or PyTorch nn.LSTM / nn.GRU / nn.RNN weights, is fine-tuned: its weights are the
// starting point. A Keras model must have one output; PyTorch weights get a new Dense head
// on the top layer's final hidden state(s) (both directions concatenated).
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "cli.h"
#include "data.h"
#include "rnnx/model/model.h"

namespace rnnx::cli {

struct ModelChoice {
  std::string model = "lstm";  // a preset name or a file
  int64_t units = 0;           // 0 = the preset's default
  double dropout = 0.0, recurrent_dropout = 0.0;
  std::string pytorch_prefix, pytorch_nonlinearity;
  uint64_t seed = 1;
};

struct BuiltModel {
  std::unique_ptr<Model<float>> model;
  std::string description;  // one line
  bool preset = false;
};

bool is_preset(const std::string& name);
BuiltModel build_train_model(const ModelChoice& choice, const Dataset& data);

// Per-feature standardisation of the inputs and of a regression target: the model trains
// on (x - x_mean) / x_std and predicts (y - y_mean) / y_std.
struct Standardization {
  std::vector<double> x_mean, x_std;
  double y_mean = 0.0, y_std = 1.0;
};
// From the training set (std floored at 1e-12 relative to the mean, so a constant column
// gives 1).
Standardization fit_standardization(const Tensor<float>& x, const Tensor<float>& y);
void apply_standardization(const Standardization& s, Tensor<float>& x, Tensor<float>* y);
// Folds the scaling into the weights so the model takes raw inputs and predicts raw
// targets: the first layer's input kernel and bias (LSTM, GRU, SimpleRNN or a
// Bidirectional of them, with use_bias) and the last Dense layer (linear). ConfigError
// naming the layer when the model does not have that form.
void fold_standardization(Model<float>& model, const Standardization& s);
// Whether fold_standardization can fold into this model.
bool can_fold_standardization(Model<float>& model);

}  // namespace rnnx::cli
