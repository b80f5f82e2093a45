// The seed experiment (the project's main job until the CLI exists):
//  1. an input of shape (4, 1, 3), drawn from a seeded Rng, through LSTM(2) in all four
//     return_sequences x return_state combinations (same seed, so the same weights), printing
//     every returned tensor's shape and values;
//  2. the stacked model
//       LSTM(32, return_sequences=True, kernel_initializer="orthogonal",
//            recurrent_initializer="orthogonal")
//       -> LSTM(8, return_sequences=True) -> GlobalMaxPooling1D -> Dense(20, activation="relu")
//     on an input of (batch 3, 6 steps, 5 features): its summary and output shape.
//
// Usage: seed_experiment [seed]   (default 42). The same seed prints the same numbers.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <memory>
#include <string>

#include "rnnx/core/error.h"
#include "rnnx/core/rng.h"
#include "rnnx/layers/dense.h"
#include "rnnx/layers/input_layer.h"
#include "rnnx/layers/lstm.h"
#include "rnnx/layers/pooling.h"
#include "rnnx/model/sequential.h"

namespace {

using rnnx::Shape;
using rnnx::Tensor;

Tensor<float> random_input(const Shape& shape, uint64_t seed) {
  Tensor<float> x(shape);
  rnnx::Rng rng(seed);
  for (auto& v : x.values()) v = static_cast<float>(rng.uniform(-1.0, 1.0));
  return x;
}

// Nested-bracket values, one innermost row per line, e.g. [[[0.1, -0.2]], ...].
void print_values(const Tensor<float>& t, const std::string& indent) {
  const Shape& s = t.shape();
  const int64_t row = s.empty() ? 1 : s.back();
  const int64_t rows = row > 0 ? t.size() / row : 0;
  const size_t depth = s.size();
  for (int64_t r = 0; r < rows; ++r) {
    // Opening brackets for every axis whose index just wrapped to 0.
    size_t open = 1;
    for (int64_t k = r, a = static_cast<int64_t>(depth) - 2; a >= 0 && k % s[static_cast<size_t>(a)] == 0; --a) {
      ++open;
      k /= s[static_cast<size_t>(a)];
    }
    std::printf("%s%*s%s", indent.c_str(), static_cast<int>(depth - open), "", std::string(open, '[').c_str());
    for (int64_t j = 0; j < row; ++j) std::printf("%s%10.6f", j ? ", " : "", static_cast<double>(t[r * row + j]));
    size_t close = 1;
    for (int64_t k = r + 1, a = static_cast<int64_t>(depth) - 2; a >= 0 && k % s[static_cast<size_t>(a)] == 0; --a) {
      ++close;
      k /= s[static_cast<size_t>(a)];
    }
    std::printf("%s%s\n", std::string(close, ']').c_str(), r + 1 < rows ? "," : "");
  }
}

void print_tensor(const std::string& title, const Tensor<float>& t) {
  std::printf("  %s: shape %s\n", title.c_str(), rnnx::to_string(t.shape()).c_str());
  print_values(t, "    ");
}

void lstm_combinations(uint64_t seed) {
  const Tensor<float> x = random_input({4, 1, 3}, seed);
  std::printf("== LSTM(2) on an input of shape (4, 1, 3), seed %llu ==\n", static_cast<unsigned long long>(seed));
  print_tensor("input", x);
  for (bool return_sequences : {false, true})
    for (bool return_state : {false, true}) {
      rnnx::LSTMOptions options;
      options.units = 2;
      options.return_sequences = return_sequences;
      options.return_state = return_state;
      rnnx::LSTM<float> lstm(options);
      lstm.set_seed(seed);
      rnnx::LayerInputs<float> in;
      in.inputs = {&x};
      const rnnx::LayerOutputs<float> out = lstm.call(in);
      std::printf("\nLSTM(2, return_sequences=%s, return_state=%s) -> %zu tensor%s\n",
                  return_sequences ? "True" : "False", return_state ? "True" : "False", out.outputs.size(),
                  out.outputs.size() == 1 ? "" : "s");
      static const char* const names[] = {"output", "state h", "state c"};
      for (size_t i = 0; i < out.outputs.size(); ++i) print_tensor(names[i], out.outputs[i]);
    }
}

void stacked_model(uint64_t seed) {
  std::printf("\n== Stacked model on an input of (batch 3, 6 steps, 5 features), seed %llu ==\n",
              static_cast<unsigned long long>(seed));
  rnnx::LSTMOptions first;
  first.units = 32;
  first.return_sequences = true;
  first.kernel_initializer = rnnx::Initializer::from_name("orthogonal");
  first.recurrent_initializer = rnnx::Initializer::from_name("orthogonal");
  rnnx::LSTMOptions second;
  second.units = 8;
  second.return_sequences = true;

  rnnx::Sequential<float> model;
  model.set_seed(seed);  // unseeded layers derive their seeds from the model's
  model.add(std::make_shared<rnnx::InputLayer<float>>(Shape{-1, 6, 5}));
  model.add(std::make_shared<rnnx::LSTM<float>>(first));
  model.add(std::make_shared<rnnx::LSTM<float>>(second));
  model.add(std::make_shared<rnnx::GlobalMaxPooling1D<float>>());
  model.add(std::make_shared<rnnx::Dense<float>>(
      rnnx::DenseOptions{.units = 20, .activation = rnnx::Activation::from_name("relu")}));
  std::printf("%s", model.summary().c_str());

  const Tensor<float> y = model.predict(random_input({3, 6, 5}, seed + 1));
  std::printf("\n");
  print_tensor("output", y);
}

}  // namespace

int main(int argc, char** argv) {
  uint64_t seed = 42;
  if (argc > 1) {
    char* end = nullptr;
    seed = std::strtoull(argv[1], &end, 10);
    if (argc > 2 || end == argv[1] || *end != '\0') {
      std::fprintf(stderr, "usage: %s [seed]\n", argv[0]);
      return 2;
    }
  }
  try {
    lstm_combinations(seed);
    stacked_model(seed);
  } catch (const rnnx::Error& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  }
  return 0;
}
