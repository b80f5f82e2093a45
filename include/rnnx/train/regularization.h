#pragma once
// Applying the regularizers and constraints of train/regularizers.h (spec §3.9; K3
// keras/src/regularizers/regularizers.py, keras/src/constraints/constraints.py).
//
//   penalty(r, x)          r.l1·Σ|x| + r.l2·Σx²   (sums in double, then scaled in T)
//   add_penalty_grad       grad += scale·(r.l1·sign(x) + 2·r.l2·x)   (sign(0) = 0, as TF)
//   activity_penalty       penalty(r, y) / batch  with batch = y.dim(0) (K3 >= 3.14 and
//                          tf.keras divide by the batch size; 0 for an empty batch)
//   add_activity_penalty_grad   grad += (r.l1·sign(y) + 2·r.l2·y) / batch
//   activity_penalty / add_activity_grads over all outputs of one layer call (Keras applies
//                          the activity regularizer to every tensor a layer returns); an empty
//                          gradient (the model's "no gradient flows here") becomes zeros first
//   apply_constraint       the projection of Constraint (applied after each optimizer update)
//
// Constraint axes may be negative (counted from the end, as in Keras); an axis outside the
// weight's rank is a ConfigError naming the weight.
#include <string>
#include <vector>

#include "rnnx/core/tensor.h"
#include "rnnx/train/regularizers.h"

namespace rnnx {

template <class T>
T penalty(const Regularizer& r, const Tensor<T>& x);

template <class T>
void add_penalty_grad(const Regularizer& r, const Tensor<T>& x, Tensor<T>& grad, T scale = T(1));

template <class T>
T activity_penalty(const Regularizer& r, const Tensor<T>& y);

template <class T>
void add_activity_penalty_grad(const Regularizer& r, const Tensor<T>& y, Tensor<T>& grad);

template <class T>
T activity_penalty(const Regularizer& r, const std::vector<Tensor<T>>& outputs);

// grads is parallel to outputs (resized if shorter).
template <class T>
void add_activity_grads(const Regularizer& r, const std::vector<Tensor<T>>& outputs, std::vector<Tensor<T>>& grads);

// `what` names the weight in error messages (e.g. "lstm/kernel").
template <class T>
void apply_constraint(const Constraint& c, Tensor<T>& w, const std::string& what = "weight");

}  // namespace rnnx
