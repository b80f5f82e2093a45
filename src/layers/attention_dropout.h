#pragma once
// The dropout Keras applies to attention probabilities in a training call, shared by
// Attention / AdditiveAttention and MultiHeadAttention (internal; not installed).
#include <cstdint>
#include <optional>
#include <string>

#include "rnnx/core/error.h"
#include "rnnx/core/rng.h"
#include "rnnx/core/sample_rng.h"
#include "rnnx/core/tensor.h"

namespace rnnx::detail {

// drop = the dropout mask for the probabilities p: `fixed` when set (tests inject Keras'
// own; ShapeError naming `where` unless it has p's shape), else 1 / (1 - rate) or 0 per
// element, kept where uniform() < 1 - rate: one call key from rng (created from `seed` on
// first use), then each sample's part (axis 0 of p) from its own generator
// (core/sample_rng.h). Returns p * drop.
template <class T>
Tensor<T> drop_attention(const Tensor<T>& p, double rate, const Tensor<T>& fixed, std::optional<Rng>& rng,
                         uint64_t seed, const std::string& where, Tensor<T>& drop) {
  if (!fixed.empty()) {
    if (fixed.shape() != p.shape())
      throw ShapeError(where + ": the fixed dropout mask has shape " + to_string(fixed.shape()) + ", expected " +
                       to_string(p.shape()));
    drop = fixed;
  } else {
    if (!rng) rng.emplace(seed);
    drop = Tensor<T>(p.shape());
    const double keep = 1.0 - rate;
    fill_per_sample(drop, rng->next_u64(), 0,
                    [&](Rng& r) { return r.uniform() < keep ? static_cast<T>(1.0 / keep) : T(0); });
  }
  Tensor<T> pd = p;
  for (int64_t e = 0; e < pd.size(); ++e) pd[e] *= drop[e];
  return pd;
}

}  // namespace rnnx::detail
