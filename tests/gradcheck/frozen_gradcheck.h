#pragma once
// A gradient check for calls through a Masking layer. A finite difference on an element of a
// fully masked step would make that step real (the mask is computed from the values), so
// such elements cannot be checked numerically: they are "frozen" - not perturbed, and their
// analytic gradient must be exactly zero (Keras's select sends none there). Everything else
// (the other elements of input 0, every other input, initial_state, constant and parameter)
// is compared with central differences, as support/gradcheck.h does.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <sstream>
#include <string>
#include <vector>

#include "support/gradcheck.h"

namespace rnnx::testing {

// frozen[i] marks flat element i of input 0.
inline ::testing::AssertionResult gradcheck_frozen(Layer<double>& layer, GradcheckCall call,
                                                   const std::vector<bool>& frozen,
                                                   const GradcheckOptions& options = {}) {
  const GradcheckResult a = analytic_gradients(layer, call, options);
  auto objective = [&]() {
    const double sum = gradcheck_objective(layer, call, a.output_weights, options);
    layer.clear_tape();
    return sum;
  };
  std::ostringstream failures;
  auto check = [&](const std::string& what, const Tensor<double>& analytic, Tensor<double>& v,
                   const std::vector<bool>* skip) {
    if (analytic.shape() != v.shape()) {
      failures << "\n  " << what << ": analytic gradient has shape " << to_string(analytic.shape()) << ", expected "
               << to_string(v.shape());
      return;
    }
    for (int64_t i = 0; i < v.size(); ++i) {
      const double g = analytic[i];
      if (skip && (*skip)[static_cast<size_t>(i)]) {
        if (g != 0.0) failures << "\n  " << what << "[" << i << "] is frozen (masked), analytic " << g << " != 0";
        continue;
      }
      const double saved = v[i];
      v[i] = saved + options.eps;
      const double plus = objective();
      v[i] = saved - options.eps;
      const double minus = objective();
      v[i] = saved;
      const double n = (plus - minus) / (2 * options.eps);
      if (!(std::abs(g - n) <= options.abs_tol + options.rel_tol * std::max(std::abs(g), std::abs(n))))
        failures << "\n  " << what << "[" << i << "]: analytic " << g << ", numeric " << n;
    }
  };
  auto check_group = [&](const char* kind, std::vector<Tensor<double>>& values,
                         const std::vector<Tensor<double>>& grads) {
    if (grads.size() != values.size()) {
      failures << "\n  " << kind << ": backward returned " << grads.size() << " gradients, expected " << values.size();
      return;
    }
    for (size_t k = 0; k < values.size(); ++k)
      check(std::string(kind) + " " + std::to_string(k), grads[k], values[k],
            std::string(kind) == "input" && k == 0 ? &frozen : nullptr);
  };
  check_group("input", call.inputs, a.grads.inputs);
  check_group("initial_state", call.initial_state, a.grads.initial_state);
  check_group("constant", call.constants, a.grads.constants);
  std::vector<Param<double>> params = layer.params();
  for (size_t k = 0; k < params.size(); ++k)
    check("param '" + params[k].name + "'", a.param_grads[k], *params[k].value, nullptr);
  layer.clear_tape();
  const std::string text = failures.str();
  if (text.empty()) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << layer.class_name() << " '" << layer.name() << "':" << text;
}

// The frozen elements of an input [..., features] whose masked steps are the zeros of `mask`
// (shape = the input's without the last axis).
inline std::vector<bool> frozen_steps(const Mask& mask, int64_t features) {
  std::vector<bool> frozen(static_cast<size_t>(mask.size() * features));
  for (int64_t i = 0; i < mask.size() * features; ++i) frozen[static_cast<size_t>(i)] = mask[i / features] == 0;
  return frozen;
}

}  // namespace rnnx::testing
