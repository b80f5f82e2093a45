#pragma once
// Small builders shared by the recurrent gradient checks: random inputs and weights, the
// mask shapes of spec §3.4 (right padding, left padding, holes), and fixed dropout masks.
#include <cstdint>
#include <string>
#include <vector>

#include "rnnx/core/rng.h"
#include "rnnx/core/tensor.h"
#include "rnnx/layers/rnn.h"
#include "support/gradcheck.h"

namespace rnnx::testing {

// Values uniform in [lo, hi) from Rng(seed).
inline Tensor<double> uniform(Shape shape, uint64_t seed, double lo = -1.0, double hi = 1.0) {
  Tensor<double> t(std::move(shape));
  Rng rng(seed);
  for (double& v : t.values()) v = rng.uniform(lo, hi);
  return t;
}

// A call on one random sequence [batch, steps, features].
inline GradcheckCall sequence_call(int64_t batch, int64_t steps, int64_t features, uint64_t seed, double scale = 1.0) {
  GradcheckCall call;
  call.inputs.push_back(uniform({batch, steps, features}, seed, -scale, scale));
  return call;
}

enum class MaskKind { right, left, holes };

inline std::string mask_name(MaskKind k) {
  return k == MaskKind::right ? "right" : k == MaskKind::left ? "left" : "holes";
}

// [4, 5] masks; every kind also has one full row, and holes one fully masked row.
inline Mask make_mask(MaskKind kind) {
  std::vector<std::vector<int>> rows;
  switch (kind) {
    case MaskKind::right:
      rows = {{1, 1, 1, 0, 0}, {1, 1, 1, 1, 1}, {1, 0, 0, 0, 0}, {1, 1, 1, 1, 0}};
      break;
    case MaskKind::left:
      rows = {{0, 0, 1, 1, 1}, {1, 1, 1, 1, 1}, {0, 0, 0, 0, 1}, {0, 1, 1, 1, 1}};
      break;
    case MaskKind::holes:
      rows = {{1, 0, 1, 0, 1}, {1, 1, 1, 1, 1}, {0, 0, 0, 0, 0}, {0, 1, 1, 0, 1}};
      break;
  }
  Mask m({static_cast<int64_t>(rows.size()), static_cast<int64_t>(rows[0].size())});
  for (size_t b = 0; b < rows.size(); ++b)
    for (size_t t = 0; t < rows[b].size(); ++t) m[static_cast<int64_t>(b * rows[b].size() + t)] = rows[b][t] != 0;
  return m;
}

// Replaces every weight of a built layer with values uniform in [-scale, scale), so biases
// and peepholes are not zero.
inline void randomize_weights(Layer<double>& layer, uint64_t seed, double scale = 0.6) {
  std::vector<Tensor<double>> weights = layer.get_weights();
  for (auto& w : weights) w = uniform(w.shape(), seed++, -scale, scale);
  layer.set_weights(weights);
}

// An inverted-dropout mask: entries 0 (with probability `rate`) or 1 / (1 - rate).
inline Tensor<double> dropout_mask(Shape shape, double rate, uint64_t seed) {
  Tensor<double> m(std::move(shape));
  Rng rng(seed);
  for (double& v : m.values()) v = rng.uniform() < rate ? 0.0 : 1.0 / (1.0 - rate);
  return m;
}

// Fixes random dropout masks of the shapes the layer's cell asks for (rnn.h
// set_fixed_dropout_masks), so training calls are deterministic. The layer must be built.
inline void fix_dropout_masks(RNN<double>& layer, int64_t batch, int64_t steps, uint64_t seed) {
  const Cell<double>& cell = layer.cell();
  std::vector<Tensor<double>> in, rec;
  if (cell.sequence_input_dropout() > 0.0)
    in.push_back(dropout_mask({batch, steps, cell.input_size()}, cell.sequence_input_dropout(), seed++));
  for (const auto& spec : cell.input_dropout_masks())
    in.push_back(dropout_mask({batch, spec.width}, spec.rate, seed++));
  for (const auto& spec : cell.recurrent_dropout_masks())
    rec.push_back(dropout_mask({batch, spec.width}, spec.rate, seed++));
  layer.set_fixed_dropout_masks(std::move(in), std::move(rec));
}

// Builds `layer` for the call's shapes and randomizes its weights.
inline void prepare(Layer<double>& layer, const GradcheckCall& call, uint64_t seed) {
  std::vector<Shape> shapes{call.inputs[0].shape()};
  for (const auto& c : call.constants) shapes.push_back(c.shape());
  layer.build(shapes);
  randomize_weights(layer, seed);
}

}  // namespace rnnx::testing
