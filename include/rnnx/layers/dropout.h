#pragma once
// Dropout (K3 keras/src/layers/regularization/dropout.py).
//
// Inference: identity. Training with rate > 0: inverted dropout, each kept element scaled by
// 1/(1-rate); rate == 1 drops everything. The keep/drop draws come from the layer's own Rng,
// seeded from seed() on the first training call, so a seed gives the same sequence of masks:
// each training call draws one key from it, and each sample's part of the mask comes from
// the generator of (key, the sample's place in the global batch) (core/sample_rng.h), so the
// masks do not depend on how a batch is split into calls; a noise_shape whose batch entry
// is 1 draws one mask shared by all samples.
// noise_shape (optional, rank of the input; -1 = take the input's dimension) makes the mask
// broadcast along axes where it is 1, e.g. {-1, 1, -1} drops the same features at every step.
// The input mask (if any) is passed through. A training call keeps its dropout mask (for the
// backward pass); an inference call keeps nothing. backward multiplies the gradient by the
// same mask (identity for a training call with rate 0).
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "rnnx/core/rng.h"
#include "rnnx/layers/layer.h"

namespace rnnx {

struct DropoutOptions {
  double rate = 0.0;                   // in [0, 1]
  std::vector<int64_t> noise_shape{};  // empty = the input's shape
};

template <class T>
class Dropout : public Layer<T> {
 public:
  // Throws ConfigError when rate is outside [0, 1] or noise_shape has entries < -1 or 0.
  explicit Dropout(DropoutOptions options, std::string name = "dropout");

  std::string class_name() const override { return "Dropout"; }
  const DropoutOptions& options() const { return options_; }

  void build(const std::vector<Shape>& input_shapes) override;
  std::vector<Shape> compute_output_shapes(const std::vector<Shape>& input_shapes) const override;
  LayerOutputs<T> call(const LayerInputs<T>& in) override;
  LayerGrads<T> backward(const std::vector<Tensor<T>>& grad_outputs) override;
  void clear_tape() override { tape_.clear(); }

  // The scale factors (0 or 1/(1-rate)) of the last training call, in the resolved noise
  // shape (empty if it had rate 0). Inference calls leave it as it was.
  const Tensor<T>& last_dropout_mask() const { return last_mask_; }

  // Every following training call with rate > 0 uses `mask` (scale factors in the resolved
  // noise shape, e.g. 0 or 1/(1-rate)) instead of drawing one; its shape is checked at the
  // call (ShapeError). For reproducing given masks and for gradient checks.
  void set_fixed_mask(Tensor<T> mask) { fixed_mask_ = std::move(mask); }
  void clear_fixed_mask() { fixed_mask_ = Tensor<T>(); }

  // The generator the masks are drawn from, for training checkpoints: setting a saved state
  // makes the following training calls draw the masks they would have drawn when it was
  // saved. Before the first training call this is the state Rng(seed()) starts with.
  Rng::State dropout_rng_state() const { return rng_ ? rng_->state() : Rng(this->seed()).state(); }
  void set_dropout_rng_state(const Rng::State& state) {
    if (!rng_) rng_.emplace(this->seed());
    rng_->set_state(state);
  }

 private:
  // The noise shape for an input shape; throws ShapeError when they are incompatible.
  Shape noise_shape_for(const Shape& input_shape) const;

  struct Call {
    Shape shape;     // the input's
    Tensor<T> mask;  // the scale factors, in the noise shape; empty = identity (rate 0)
  };
  // y = x * mask, the mask broadcast along its size-1 axes.
  static void apply_mask(const Tensor<T>& x, const Tensor<T>& mask, Tensor<T>& y);

  DropoutOptions options_;
  std::optional<Rng> rng_;
  Tensor<T> last_mask_;
  Tensor<T> fixed_mask_;  // empty = draw
  std::vector<Call> tape_;
};

extern template class Dropout<float>;
extern template class Dropout<double>;

}  // namespace rnnx
