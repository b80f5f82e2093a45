#include "support/gradcheck.h"

#include <algorithm>
#include <cmath>
#include <sstream>

#include "rnnx/core/rng.h"

namespace rnnx::testing {
namespace {

LayerOutputs<double> run(Layer<double>& layer, const GradcheckCall& call, const GradcheckOptions& options) {
  LayerInputs<double> in;
  for (const auto& t : call.inputs) in.inputs.push_back(&t);
  for (const auto& t : call.initial_state) in.initial_state.push_back(&t);
  for (const auto& t : call.constants) in.constants.push_back(&t);
  if (!call.mask.empty()) in.mask = &call.mask;
  for (const auto& m : call.input_masks) in.input_masks.push_back(m.empty() ? nullptr : &m);
  in.mode = options.mode;
  if (options.before_call) options.before_call(layer);
  return layer.call(in);
}

double objective(const LayerOutputs<double>& out, const std::vector<Tensor<double>>& weights) {
  double sum = 0.0;
  for (size_t k = 0; k < out.outputs.size(); ++k)
    for (int64_t i = 0; i < out.outputs[k].size(); ++i) sum += weights[k][i] * out.outputs[k][i];
  return sum;
}

// Compares one analytic gradient with its finite differences; appends a line on failure.
void compare(const std::string& what, const Tensor<double>& analytic, const Tensor<double>& numeric,
             const GradcheckOptions& options, std::ostringstream& failures) {
  if (analytic.shape() != numeric.shape()) {
    failures << "\n  " << what << ": analytic gradient has shape " << to_string(analytic.shape()) << ", expected "
             << to_string(numeric.shape());
    return;
  }
  int64_t worst = -1;
  double worst_excess = 0.0;
  for (int64_t i = 0; i < analytic.size(); ++i) {
    const double a = analytic[i], n = numeric[i];
    const double allowed = options.abs_tol + options.rel_tol * std::max(std::abs(a), std::abs(n));
    const double excess = std::isfinite(a) && std::isfinite(n) ? std::abs(a - n) - allowed : 1e300;
    if (excess > 0 && (worst < 0 || excess > worst_excess)) {
      worst = i;
      worst_excess = excess;
    }
  }
  if (worst < 0) return;
  const double a = analytic[worst], n = numeric[worst];
  failures << "\n  " << what << " " << to_string(analytic.shape()) << ": worst flat index " << worst << ": analytic "
           << a << ", numeric " << n << ", abs err " << std::abs(a - n) << ", rel err "
           << std::abs(a - n) / std::max({std::abs(a), std::abs(n), 1e-300}) << " (tolerance abs " << options.abs_tol
           << " + rel " << options.rel_tol << ", eps " << options.eps << ", seed " << options.seed << ")";
}

// Finite differences of the objective with respect to every element of `v` (perturbed in
// place and restored).
Tensor<double> numeric_gradient(Layer<double>& layer, const GradcheckCall& call, Tensor<double>& v,
                                const std::vector<Tensor<double>>& weights, const GradcheckOptions& options) {
  Tensor<double> g(v.shape());
  for (int64_t i = 0; i < v.size(); ++i) {
    const double saved = v[i];
    v[i] = saved + options.eps;
    const double plus = gradcheck_objective(layer, call, weights, options);
    layer.clear_tape();
    v[i] = saved - options.eps;
    const double minus = gradcheck_objective(layer, call, weights, options);
    layer.clear_tape();
    v[i] = saved;
    g[i] = (plus - minus) / (2.0 * options.eps);
  }
  return g;
}

}  // namespace

double gradcheck_objective(Layer<double>& layer, const GradcheckCall& call, const std::vector<Tensor<double>>& weights,
                           const GradcheckOptions& options) {
  double sum = objective(run(layer, call, options), weights);
  if (options.extra_objective) sum += options.extra_objective(layer);
  return sum;
}

GradcheckResult analytic_gradients(Layer<double>& layer, const GradcheckCall& call, const GradcheckOptions& options) {
  // A first call builds the layer, so that its parameters (and their gradients) exist.
  if (!layer.built()) {
    run(layer, call, options);
    layer.clear_tape();
  }
  layer.zero_grads();
  layer.clear_tape();
  GradcheckResult result;
  const LayerOutputs<double> out = run(layer, call, options);
  Rng rng(options.seed);
  for (const auto& y : out.outputs) {
    Tensor<double> w(y.shape());
    for (auto& v : w.values()) v = rng.uniform(-1.0, 1.0);
    result.output_weights.push_back(std::move(w));
  }
  result.grads = layer.backward(result.output_weights);
  for (auto& p : layer.params()) result.param_grads.push_back(p.grad != nullptr ? *p.grad : Tensor<double>());
  return result;
}

::testing::AssertionResult gradcheck(Layer<double>& layer, GradcheckCall call, const GradcheckOptions& options) {
  const GradcheckResult a = analytic_gradients(layer, call, options);
  const std::vector<Tensor<double>>& w = a.output_weights;
  std::ostringstream failures;

  auto check_group = [&](const char* kind, std::vector<Tensor<double>>& values,
                         const std::vector<Tensor<double>>& grads) {
    if (grads.size() != values.size()) {
      failures << "\n  " << kind << ": backward returned " << grads.size() << " gradients, expected " << values.size();
      return;
    }
    for (size_t k = 0; k < values.size(); ++k) {
      const std::string what = std::string(kind) + " " + std::to_string(k);
      const bool integer =
          std::string(kind) == "input" &&
          std::find(options.integer_inputs.begin(), options.integer_inputs.end(), k) != options.integer_inputs.end();
      if (integer) {
        // Not differentiable: the gradient must be zero (or absent).
        if (!grads[k].empty()) compare(what, grads[k], Tensor<double>(grads[k].shape()), options, failures);
        continue;
      }
      compare(what, grads[k], numeric_gradient(layer, call, values[k], w, options), options, failures);
    }
  };
  check_group("input", call.inputs, a.grads.inputs);
  check_group("initial_state", call.initial_state, a.grads.initial_state);
  check_group("constant", call.constants, a.grads.constants);

  if (options.check_params) {
    std::vector<Param<double>> params = layer.params();
    for (size_t k = 0; k < params.size(); ++k) {
      const std::string what = "param " + std::to_string(k) + " '" + params[k].name + "'";
      if (params[k].grad == nullptr) {
        failures << "\n  " << what << ": Param::grad is null (the owner must allocate it at build)";
        continue;
      }
      compare(what, a.param_grads[k], numeric_gradient(layer, call, *params[k].value, w, options), options, failures);
    }
  }
  layer.clear_tape();
  const std::string text = failures.str();
  if (text.empty()) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << layer.class_name() << " '" << layer.name()
                                       << "': analytic and numeric gradients differ:" << text;
}

}  // namespace rnnx::testing
