#pragma once
// TimeDistributed (spec §4.2, K3 keras/src/layers/rnn/time_distributed.py): applies the
// wrapped layer to every x[:, t] with the same weights.
//
// Input: rank >= 3, (batch, steps, ...). The wrapped layer is built for (batch, ...) and
// called once on all steps at once: (batch, steps, ...) is viewed as (batch*steps, ...) and
// the result (batch*steps, ...) as (batch, steps, ...), which equals calling it per step for
// any layer whose samples are independent (every built-in non-recurrent layer). The wrapped
// layer must return one tensor. A mask of rank >= 3, (batch, steps, s2, ...), reaches the
// wrapped layer as (batch*steps, s2, ...); a (batch, steps) mask does not (it would be one
// flag per inner sample, which no layer reads). The input mask is passed on unchanged (K3 <=
// 3.15 behaviour, spec §3.11). Weights, reset_states and training mode are the wrapped layer's.
// Training: a training-mode call is one training call of the wrapped layer (on the
// (batch*steps, ...) view); backward reshapes the gradient the same way and undoes that
// call with the wrapped layer's backward, so the wrapped layer's tape (LIFO) is followed.
// The inner call runs with first_sample() · steps as its first sample (core/sample_rng.h),
// so the wrapped layer's per-sample random draws keep their global place.
// The wrapped layer's activity_regularizer does not apply (Keras 3 runs its call(), not the
// layer; spec §3.9), and this layer has none of its own.
#include <memory>
#include <string>
#include <vector>

#include "rnnx/layers/layer.h"

namespace rnnx {

template <class T>
class TimeDistributed : public Layer<T> {
 public:
  // Throws ConfigError when `layer` is null.
  explicit TimeDistributed(std::shared_ptr<Layer<T>> layer, std::string name = "time_distributed");

  std::string class_name() const override { return "TimeDistributed"; }
  const std::shared_ptr<Layer<T>>& layer() const { return layer_; }

  // Builds the wrapped layer for the per-step shape; if its seed is 0 it takes this layer's.
  void build(const std::vector<Shape>& input_shapes) override;
  std::vector<Shape> compute_output_shapes(const std::vector<Shape>& input_shapes) const override;
  LayerOutputs<T> call(const LayerInputs<T>& in) override;
  LayerGrads<T> backward(const std::vector<Tensor<T>>& grad_outputs) override;
  // Clears this layer's tape and the wrapped layer's.
  void clear_tape() override;
  std::vector<Param<T>> params() override { return layer_->params(); }
  void reset_states() override { layer_->reset_states(); }

 private:
  // (batch, steps, rest...) -> (batch, rest...), after checking the rank.
  Shape inner_shape(const std::vector<Shape>& input_shapes) const;

  struct Call {
    Shape input_shape, output_shape, inner_output_shape;
  };

  std::shared_ptr<Layer<T>> layer_;
  std::vector<Call> tape_;
};

extern template class TimeDistributed<float>;
extern template class TimeDistributed<double>;

}  // namespace rnnx
