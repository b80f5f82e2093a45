#pragma once
// Keras weight regularizers and constraints as plain data (spec §3.9; K3
// keras/src/regularizers/regularizers.py, keras/src/constraints/constraints.py).
//
// Layers only store these (in their option structs and on each Param); the training code
// applies them:
//  - A Regularizer adds  l1 * Σ|W| + l2 * Σ W²  to the loss (no ½ on the l2 term), so its
//    gradient is  l1 * sign(W) + 2 * l2 * W.  Weight regularizers apply to one weight
//    (Param::regularizer); an activity_regularizer applies the same penalty to every tensor
//    the layer returns, divided by the batch size (tf.keras, K3 >= 3.14).
//  - A Constraint is a projection of a weight applied after each optimizer update, with
//    n = sqrt(Σ W² over `axis`) (kept per remaining index) and eps = 1e-7:
//      max_norm:     W * clip(n, 0, max_value) / (eps + n)
//      non_neg:      max(W, 0)
//      unit_norm:    W / (eps + n)
//      min_max_norm: W * (rate * clip(n, min_value, max_value) + (1 - rate) * n) / (eps + n)
//
// Keras names (what a config's string or {"class_name", "config"} maps to; the loader's
// KerasConfig::get_regularizer / get_constraint follow the writing version):
//   "l1"/L1 -> L1(0.01)  "l2"/L2 -> L2(0.01)  L1L2 (and Keras 3 "l1l2") -> L1L2(0, 0);
//   tf.keras / Keras 2 "l1_l2" -> the function l1_l2() = (0.01, 0.01), which Keras 3 does
//   not know; "max_norm"/MaxNorm, "non_neg"/NonNeg, "unit_norm"/UnitNorm,
//   "min_max_norm"/MinMaxNorm with the defaults of the makers below.
#include <cstdint>
#include <vector>

namespace rnnx {

struct Regularizer {
  double l1 = 0.0;
  double l2 = 0.0;

  // False for the default (Keras None): no penalty.
  bool active() const { return l1 != 0.0 || l2 != 0.0; }

  static Regularizer make_l1(double l1 = 0.01) { return {l1, 0.0}; }
  static Regularizer make_l2(double l2 = 0.01) { return {0.0, l2}; }
  static Regularizer make_l1_l2(double l1 = 0.0, double l2 = 0.0) { return {l1, l2}; }

  bool operator==(const Regularizer&) const = default;
};

enum class ConstraintKind { none, max_norm, non_neg, unit_norm, min_max_norm };

struct Constraint {
  ConstraintKind kind = ConstraintKind::none;  // none = Keras None: no projection
  double max_value = 0.0;                      // max_norm, min_max_norm
  double min_value = 0.0;                      // min_max_norm
  double rate = 1.0;                           // min_max_norm
  std::vector<int64_t> axis{0};                // axes the norm runs over (max_norm, unit_norm, min_max_norm)

  bool active() const { return kind != ConstraintKind::none; }

  static Constraint make_max_norm(double max_value = 2.0, std::vector<int64_t> axis = {0}) {
    return {ConstraintKind::max_norm, max_value, 0.0, 1.0, std::move(axis)};
  }
  static Constraint make_non_neg() { return {ConstraintKind::non_neg, 0.0, 0.0, 1.0, {0}}; }
  static Constraint make_unit_norm(std::vector<int64_t> axis = {0}) {
    return {ConstraintKind::unit_norm, 0.0, 0.0, 1.0, std::move(axis)};
  }
  static Constraint make_min_max_norm(double min_value = 0.0, double max_value = 1.0, double rate = 1.0,
                                      std::vector<int64_t> axis = {0}) {
    return {ConstraintKind::min_max_norm, max_value, min_value, rate, std::move(axis)};
  }

  bool operator==(const Constraint&) const = default;
};

}  // namespace rnnx
