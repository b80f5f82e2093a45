#pragma once
// Finite-difference gradient check for any Layer<double> (design.md principle 4, dlib's
// test_layer habit).
//
// The objective is L = Σ_k Σ_i w_k[i] * out_k[i] over EVERY output of the call (the main
// output and, for recurrent layers with return_state, the final states), with fixed random
// weights w_k drawn from `seed`, so every output is touched and dL/dout_k = w_k; plus
// GradcheckOptions::extra_objective when given.
//
//  - Analytic: zero_grads(), clear_tape(), one call in `mode`, backward({w_k}).
//  - Numeric: central differences (L(v + eps) - L(v - eps)) / 2eps, in double, on every
//    element of every positional input, initial_state tensor, constant and parameter
//    (Param::value). Each numeric call is made in the same mode and followed by
//    clear_tape(), so a training-mode call that keeps a tape leaves nothing behind.
//  - The two must agree within |a - n| <= abs + rel * max(|a|, |n|) for every element. A
//    failure names the tensor, the worst flat index, both values and the errors.
//
// Requirements on the caller: the layer is deterministic given its inputs (dropout masks
// fixed, e.g. RNN::set_fixed_dropout_masks) and no value sits at a kink of a piecewise
// activation or clip (choose inputs away from kinks). For a stateful layer, pass a
// `before_call` that puts the stored states back before each call.
#include <gtest/gtest.h>

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "rnnx/core/tensor.h"
#include "rnnx/layers/layer.h"

namespace rnnx::testing {

// Everything one layer call is given. Tensors are owned here so the check can perturb them.
struct GradcheckCall {
  std::vector<Tensor<double>> inputs;
  std::vector<Tensor<double>> initial_state;
  std::vector<Tensor<double>> constants;
  Mask mask;                      // mask of inputs[0]; empty = none
  std::vector<Mask> input_masks;  // parallel to inputs (empty Mask = none); empty = not given
};

struct GradcheckOptions {
  double eps = 1e-6;
  double abs_tol = 1e-7;
  double rel_tol = 1e-5;
  uint64_t seed = 20240601;  // objective weights
  Mode mode = Mode::training;
  bool check_params = true;
  // Positional inputs that are not differentiable (e.g. integer ids): not perturbed; their
  // analytic gradient must be zero (or empty).
  std::vector<size_t> integer_inputs;
  // Called before every call of the layer (analytic and numeric), e.g. to restore the
  // stored states of a stateful layer.
  std::function<void(Layer<double>&)> before_call;
  // A term added to the objective after every call (e.g. a Model's activity_loss()), whose
  // gradient the layer's own backward must supply. None when empty.
  std::function<double(Layer<double>&)> extra_objective;
};

// The analytic gradients of one call and the objective weights used, for tests that want
// to look at them (e.g. that a gradient is exactly zero).
struct GradcheckResult {
  LayerGrads<double> grads;
  std::vector<Tensor<double>> param_grads;     // parallel to layer.params()
  std::vector<Tensor<double>> output_weights;  // w_k, parallel to the outputs
};

// Runs the analytic pass only (zero_grads, clear_tape, call, backward with the objective
// weights) and returns its gradients. Builds the layer on first use.
GradcheckResult analytic_gradients(Layer<double>& layer, const GradcheckCall& call,
                                   const GradcheckOptions& options = {});

// The check's objective for one call with the given output weights: sum_k <w_k, output_k>
// (plus options.extra_objective). Leaves the call on the layer's tape.
double gradcheck_objective(Layer<double>& layer, const GradcheckCall& call, const std::vector<Tensor<double>>& weights,
                           const GradcheckOptions& options);

// The full check. Passes when every analytic gradient matches its finite difference.
::testing::AssertionResult gradcheck(Layer<double>& layer, GradcheckCall call, const GradcheckOptions& options = {});

}  // namespace rnnx::testing
