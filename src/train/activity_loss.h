#pragma once
// The activity-regularization term of one trainer step (spec §3.9; internal).
#include <vector>

#include "rnnx/core/tensor.h"
#include "rnnx/layers/layer.h"
#include "rnnx/model/model.h"
#include "rnnx/train/regularization.h"

namespace rnnx::detail {

// The activity loss of the call of `layer` that returned `outputs`. A Model sums it over its
// nodes (Model::activity_loss()) and adds the gradients in its own backward. Any other layer
// is the only "node": its activity_regularizer() applies to all its outputs here, and when
// `training` the penalty's gradient is added to `grad_outputs` (parallel to outputs; empty
// entries become zeros first) before the caller runs backward.
template <class T>
T step_activity_loss(Layer<T>& layer, const std::vector<Tensor<T>>& outputs, std::vector<Tensor<T>>& grad_outputs,
                     bool training) {
  if (const auto* model = dynamic_cast<const Model<T>*>(&layer)) return model->activity_loss();
  const Regularizer r = layer.activity_regularizer();
  if (!r.active()) return T(0);
  if (training) add_activity_grads(r, outputs, grad_outputs);
  return activity_penalty(r, outputs);
}

}  // namespace rnnx::detail
