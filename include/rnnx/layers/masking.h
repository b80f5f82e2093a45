#pragma once
// Masking (spec §4.5, K3 keras/src/layers/core/masking.py).
//
// A step (an index over all axes but the last) is kept iff any of its features differs from
// mask_value. Ensures: output = input with fully-masked steps set to 0 (K3 uses a select, so
// a NaN in a masked step becomes 0; a NaN feature never equals mask_value, so its step is
// kept); the output carries the mask, shape = input shape without the last axis.
// Requires an input of rank >= 2, e.g. (batch, steps, features).
// Training: a training-mode call keeps its mask; backward passes the gradient of kept steps
// and zero for masked ones.
#include <string>
#include <vector>

#include "rnnx/layers/layer.h"

namespace rnnx {

struct MaskingOptions {
  double mask_value = 0.0;  // compared after conversion to T, as Keras compares in float32
};

template <class T>
class Masking : public Layer<T> {
 public:
  explicit Masking(MaskingOptions options = {}, std::string name = "masking");

  std::string class_name() const override { return "Masking"; }
  const MaskingOptions& options() const { return options_; }

  void build(const std::vector<Shape>& input_shapes) override;
  std::vector<Shape> compute_output_shapes(const std::vector<Shape>& input_shapes) const override;
  LayerOutputs<T> call(const LayerInputs<T>& in) override;
  LayerGrads<T> backward(const std::vector<Tensor<T>>& grad_outputs) override;
  void clear_tape() override { tape_.clear(); }

 private:
  struct Call {
    Shape shape;  // the input's
    Mask mask;    // the output mask (shape without the last axis)
  };

  MaskingOptions options_;
  std::vector<Call> tape_;
};

extern template class Masking<float>;
extern template class Masking<double>;

}  // namespace rnnx
