#include "rnnx/activations.h"

#include <algorithm>
#include <cmath>

#include "rnnx/core/error.h"

namespace rnnx {

Activation Activation::from_name(const std::string& name, int keras_major) {
  Activation a;
  a.hard_sigmoid = keras_major >= 3 ? HardSigmoidFormula::keras3 : HardSigmoidFormula::keras2;
  if (name.empty() || name == "linear" || name == "None" || name == "none")
    a.kind = ActivationKind::linear;
  else if (name == "tanh")
    a.kind = ActivationKind::tanh;
  else if (name == "sigmoid")
    a.kind = ActivationKind::sigmoid;
  else if (name == "hard_sigmoid")
    a.kind = ActivationKind::hard_sigmoid;
  else if (name == "relu")
    a.kind = ActivationKind::relu;
  else if (name == "softmax")
    a.kind = ActivationKind::softmax;
  else if (name == "elu")
    a.kind = ActivationKind::elu;
  else if (name == "selu")
    a.kind = ActivationKind::selu;
  else if (name == "softplus")
    a.kind = ActivationKind::softplus;
  else if (name == "softsign")
    a.kind = ActivationKind::softsign;
  else if (name == "swish" || name == "silu")
    a.kind = ActivationKind::swish;
  else if (name == "gelu")
    a.kind = ActivationKind::gelu;
  else if (name == "exponential")
    a.kind = ActivationKind::exponential;
  else
    throw ConfigError("unknown activation '" + name +
                      "', expected one of linear, tanh, sigmoid, hard_sigmoid, relu, softmax, elu, selu, "
                      "softplus, softsign, swish, silu, gelu, exponential");
  return a;
}

std::string Activation::name() const {
  switch (kind) {
    case ActivationKind::linear: return "linear";
    case ActivationKind::tanh: return "tanh";
    case ActivationKind::sigmoid: return "sigmoid";
    case ActivationKind::hard_sigmoid: return "hard_sigmoid";
    case ActivationKind::relu: return "relu";
    case ActivationKind::softmax: return "softmax";
    case ActivationKind::elu: return "elu";
    case ActivationKind::selu: return "selu";
    case ActivationKind::softplus: return "softplus";
    case ActivationKind::softsign: return "softsign";
    case ActivationKind::swish: return "swish";
    case ActivationKind::gelu: return "gelu";
    case ActivationKind::exponential: return "exponential";
  }
  return "linear";
}

namespace {
// SELU constants (Klambauer et al.), as in Keras.
constexpr double kSeluAlpha = 1.6732632423543772848170429916717;
constexpr double kSeluScale = 1.0507009873554804934193349852946;
constexpr double kInvSqrt2 = 0.70710678118654752440;
constexpr double kInvSqrt2Pi = 0.39894228040143267794;

template <class T>
T sigmoid(T x) {
  // Two branches keep exp() from overflowing.
  if (x >= T(0)) return T(1) / (T(1) + std::exp(-x));
  const T e = std::exp(x);
  return e / (T(1) + e);
}
}  // namespace

template <class T>
T activate(const Activation& a, T x) {
  switch (a.kind) {
    case ActivationKind::linear: return x;
    case ActivationKind::tanh: return std::tanh(x);
    case ActivationKind::sigmoid: return sigmoid(x);
    case ActivationKind::hard_sigmoid:
      if (a.hard_sigmoid == HardSigmoidFormula::keras3) return std::clamp(x / T(6) + T(0.5), T(0), T(1));
      return std::clamp(T(0.2) * x + T(0.5), T(0), T(1));
    case ActivationKind::relu: return x > T(0) ? x : T(0);
    case ActivationKind::elu: return x > T(0) ? x : std::expm1(x);
    case ActivationKind::selu: return T(kSeluScale) * (x > T(0) ? x : T(kSeluAlpha) * std::expm1(x));
    case ActivationKind::softplus:
      // log(1 + e^x) without overflow.
      return x > T(0) ? x + std::log1p(std::exp(-x)) : std::log1p(std::exp(x));
    case ActivationKind::softsign: return x / (T(1) + std::abs(x));
    case ActivationKind::swish: return x * sigmoid(x);
    case ActivationKind::gelu: return T(0.5) * x * (T(1) + std::erf(x * T(kInvSqrt2)));
    case ActivationKind::exponential: return std::exp(x);
    case ActivationKind::softmax: break;
  }
  return x;  // softmax is not element-wise; callers use activate_rows
}

template <class T>
T activate_derivative(const Activation& a, T x, T y) {
  switch (a.kind) {
    case ActivationKind::linear: return T(1);
    case ActivationKind::tanh: return T(1) - y * y;
    case ActivationKind::sigmoid: return y * (T(1) - y);
    case ActivationKind::hard_sigmoid:
      if (a.hard_sigmoid == HardSigmoidFormula::keras3) return (x > T(-3) && x < T(3)) ? T(1) / T(6) : T(0);
      return (x > T(-2.5) && x < T(2.5)) ? T(0.2) : T(0);
    case ActivationKind::relu: return x > T(0) ? T(1) : T(0);
    case ActivationKind::elu: return x > T(0) ? T(1) : y + T(1);
    case ActivationKind::selu: return x > T(0) ? T(kSeluScale) : y + T(kSeluScale * kSeluAlpha);
    case ActivationKind::softplus: return sigmoid(x);
    case ActivationKind::softsign: {
      const T d = T(1) + std::abs(x);
      return T(1) / (d * d);
    }
    case ActivationKind::swish: {
      const T s = sigmoid(x);
      return s + x * s * (T(1) - s);
    }
    case ActivationKind::gelu:
      return T(0.5) * (T(1) + std::erf(x * T(kInvSqrt2))) + x * T(kInvSqrt2Pi) * std::exp(-T(0.5) * x * x);
    case ActivationKind::exponential: return y;
    case ActivationKind::softmax: break;
  }
  return T(1);
}

template <class T>
void activate_rows(const Activation& a, T* x, int64_t rows, int64_t cols) {
  if (a.kind == ActivationKind::linear) return;
  if (a.kind == ActivationKind::softmax) {
    for (int64_t r = 0; r < rows; ++r) {
      T* row = x + r * cols;
      T m = row[0];
      for (int64_t c = 1; c < cols; ++c) m = std::max(m, row[c]);
      T sum = 0;
      for (int64_t c = 0; c < cols; ++c) {
        row[c] = std::exp(row[c] - m);
        sum += row[c];
      }
      for (int64_t c = 0; c < cols; ++c) row[c] /= sum;
    }
    return;
  }
  const int64_t n = rows * cols;
  for (int64_t i = 0; i < n; ++i) x[i] = activate(a, x[i]);
}

template float activate(const Activation&, float);
template double activate(const Activation&, double);
template float activate_derivative(const Activation&, float, float);
template double activate_derivative(const Activation&, double, double);
template void activate_rows(const Activation&, float*, int64_t, int64_t);
template void activate_rows(const Activation&, double*, int64_t, int64_t);

}  // namespace rnnx
