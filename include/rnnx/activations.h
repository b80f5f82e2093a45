#pragma once
// Keras activations by name (spec §1.1). `hard_sigmoid` has two definitions under one
// name: Keras 3 uses clip(x/6 + 0.5, 0, 1); Keras 1/2 and tf.keras use clip(0.2x + 0.5, 0, 1).
// The formula is chosen per Activation, by default Keras 3; loaders pick it from the
// file's keras_version.
#include <cstdint>
#include <string>

namespace rnnx {

enum class ActivationKind {
  linear,
  tanh,
  sigmoid,
  hard_sigmoid,
  relu,
  softmax,
  elu,
  selu,
  softplus,
  softsign,
  swish,
  gelu,
  exponential
};

enum class HardSigmoidFormula { keras3, keras2 };

struct Activation {
  ActivationKind kind = ActivationKind::linear;
  HardSigmoidFormula hard_sigmoid = HardSigmoidFormula::keras3;

  // Keras name ("tanh", "hard_sigmoid", "silu" = "swish", "None"/"" = linear).
  // Throws ConfigError for an unknown name. `keras_major` < 3 selects the 0.2x+0.5
  // hard_sigmoid.
  static Activation from_name(const std::string& name, int keras_major = 3);
  // Canonical Keras name, as written to configs.
  std::string name() const;
  // True for element-wise activations (all but softmax).
  bool elementwise() const { return kind != ActivationKind::softmax; }

  bool operator==(const Activation&) const = default;
};

// Applies an element-wise activation to one value. Requires a.elementwise().
template <class T>
T activate(const Activation& a, T x);

// Derivative of an element-wise activation with respect to its input x, given x and
// y = activate(a, x). Requires a.elementwise().
template <class T>
T activate_derivative(const Activation& a, T x, T y);

// Applies `a` in place to a row-major [rows, cols] block; softmax normalises each row.
template <class T>
void activate_rows(const Activation& a, T* x, int64_t rows, int64_t cols);

}  // namespace rnnx
