#pragma once
// Keras weight initializers (spec §1.2). Random ones draw from an rnnx::Rng: the
// distributions match Keras, the exact random streams of TF/JAX cannot (so parity tests use
// loaded weights). An initializer with its own `seed` uses Rng(seed) and so gives the same
// values every time, as Keras does for a seeded initializer.
#include <cstdint>
#include <optional>
#include <string>

#include "rnnx/core/rng.h"
#include "rnnx/core/tensor.h"

namespace rnnx {

struct Initializer {
  // Keras snake_case name: zeros, ones, constant, random_uniform, random_normal,
  // truncated_normal, glorot_uniform, glorot_normal, he_uniform, he_normal, lecun_uniform,
  // lecun_normal, orthogonal, identity, variance_scaling. Class names ("GlorotUniform") and
  // the aliases "zero", "one", "uniform", "normal", "OrthogonalInitializer" are accepted by
  // from_name.
  std::string name = "glorot_uniform";
  double value = 0.0;                 // constant
  double minval = -0.05, maxval = 0.05;  // random_uniform
  double mean = 0.0, stddev = 0.05;      // random_normal, truncated_normal
  double gain = 1.0;                     // orthogonal, identity
  double scale = 1.0;                    // variance_scaling
  std::string mode = "fan_in";           // variance_scaling: fan_in, fan_out, fan_avg
  std::string distribution = "truncated_normal";  // variance_scaling: truncated_normal, untruncated_normal, uniform
  std::optional<uint64_t> seed = std::nullopt;

  // Canonicalises a Keras name or alias; throws ConfigError for an unknown one.
  static Initializer from_name(const std::string& name);
};

// Fills `weights` (any shape; fans per spec §1.2) according to `init`. Draws from `rng`
// unless init.seed is set. Throws ConfigError for invalid parameters (e.g. identity on a
// non-2-D shape, orthogonal on rank < 2, negative scale).
template <class T>
void initialize(const Initializer& init, Tensor<T>& weights, Rng& rng);

}  // namespace rnnx
