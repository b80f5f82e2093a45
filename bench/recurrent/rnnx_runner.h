#pragma once
// Runs one benchmark case (bench_support.h) on rnnx's public Keras layers: LSTM or GRU
// (reset_after=True) with return_sequences=True, stacked when c.layers > 1, weights set from
// the case data. Used by the rnnx peer of the benchmark (rnnx_peer.cpp) and by `rnnx bench`.
//
//   RnnxRunner r(c, data);   // builds the layers (untimed)
//   r.run();                 // one timed unit: a forward call, a training step, or T steps
//   r.dump(dir);             // the last run's results, in the dump layout of bench_support.h
//
// mode step: rnnx has no per-step API yet, so each step is a sequence call with T=1 that
// passes the previous step's states as initial_state and gets the new ones back
// (return_state=True); step_api() says which path ran.
// Requires: a case that parse_case accepted and data of its sizes. Errors: rnnx exceptions
// from the layers (none expected for valid cases).
#include <memory>
#include <string>
#include <vector>

#include "bench_support.h"
#include "rnnx/core/tensor.h"
#include "rnnx/layers/rnn.h"

namespace rnnx::bench {

class RnnxRunner {
 public:
  RnnxRunner(const Case& c, const CaseData& data);
  void run();
  void dump(const std::string& dir);
  static std::string step_api() { return "sequence call with T=1 (no per-step API)"; }

 private:
  void forward(Mode mode);
  void train_step();
  void stream();

  Case case_;
  std::vector<std::unique_ptr<RNN<float>>> layers_;
  Tensor<float> x_, y_, dx_, ones_;
  std::vector<Tensor<float>> step_x_;  // step mode: the input of each step, [B, 1, I]
  std::vector<Tensor<float>> states_;  // step mode: h (and c) carried between steps
  std::vector<float> step_out_;        // step mode: h of every step, [B, T, H]
};

}  // namespace rnnx::bench
