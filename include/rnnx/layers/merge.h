#pragma once
// Merge layers (K3 keras/src/layers/merging/): called on a list of tensors.
//
// Concatenate(axis=-1): all inputs have the same rank and equal dimensions except on `axis`;
// the output joins them along `axis`. Mask (K3 Concatenate.compute_mask): when any input has
// a mask, each input's mask is widened to the input's shape (an unmasked input counts as all
// ones, a (batch, steps) mask is repeated over the features), the widened masks are
// concatenated along `axis`, and the output mask is "any" over the last axis. Joining on the
// feature axis thus ORs the masks; joining on the steps axis concatenates them.
//
// Add: all inputs have the same shape (no broadcasting); output = their sum. Mask (K3
// Merge.compute_mask): the OR of the input masks when every input has one, else none.
//
// Both read the input masks from LayerInputs::input_masks (LayerInputs::mask is the first
// input's, as for every layer).
//
// Training: a training-mode call keeps the input shapes; backward gives Concatenate's
// inputs their slices of the gradient and each of Add's inputs the whole gradient.
#include <cstdint>
#include <string>
#include <vector>

#include "rnnx/layers/layer.h"

namespace rnnx {

struct ConcatenateOptions {
  int64_t axis = -1;  // negative counts from the end; 0 is the batch axis
};

template <class T>
class Concatenate : public Layer<T> {
 public:
  explicit Concatenate(ConcatenateOptions options = {}, std::string name = "concatenate");

  std::string class_name() const override { return "Concatenate"; }
  const ConcatenateOptions& options() const { return options_; }

  void build(const std::vector<Shape>& input_shapes) override;
  std::vector<Shape> compute_output_shapes(const std::vector<Shape>& input_shapes) const override;
  LayerOutputs<T> call(const LayerInputs<T>& in) override;
  LayerGrads<T> backward(const std::vector<Tensor<T>>& grad_outputs) override;
  void clear_tape() override { tape_.clear(); }

 private:
  // The axis as an index into shapes of rank `rank`; throws ShapeError if out of range.
  size_t resolve_axis(size_t rank, const std::vector<Shape>& shapes) const;

  ConcatenateOptions options_;
  std::vector<std::vector<Shape>> tape_;  // input shapes of each training call
};

template <class T>
class Add : public Layer<T> {
 public:
  explicit Add(std::string name = "add");

  std::string class_name() const override { return "Add"; }

  void build(const std::vector<Shape>& input_shapes) override;
  std::vector<Shape> compute_output_shapes(const std::vector<Shape>& input_shapes) const override;
  LayerOutputs<T> call(const LayerInputs<T>& in) override;
  LayerGrads<T> backward(const std::vector<Tensor<T>>& grad_outputs) override;
  void clear_tape() override { tape_.clear(); }

 private:
  std::vector<std::vector<Shape>> tape_;  // input shapes of each training call
};

extern template class Concatenate<float>;
extern template class Concatenate<double>;
extern template class Add<float>;
extern template class Add<double>;

}  // namespace rnnx
