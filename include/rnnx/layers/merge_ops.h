#pragma once
// Element-wise merge layers and Dot (K3 keras/src/layers/merging/), the
// companions of Concatenate and Add (merge.h). All take a list of inputs of one
// shape (no broadcasting, as Add); Subtract and Dot take exactly two.
//
//   Subtract: x0 - x1.      Average: (x0 + ... + xn-1) / n.
//   Multiply: the product.  Maximum / Minimum: the element-wise max / min.
//
// Masks (masks are [batch, steps], broadcast over the features). Keras applies
// them inside some of these ops (K3 base_merge.py _apply_merge_op_and_or_mask,
// multiply.py):
//  - Subtract, Average: no effect on the values; the output mask is the OR of
//  the input masks
//    when every input has one, else none (K3 Merge.compute_mask, as Add).
//  - Multiply: a masked-out element of an input counts as 1; when every input
//  has a mask, the
//    output is 0 where all inputs are masked out and its mask is their OR.
//  - Maximum / Minimum: folded left to right; where the next input is masked
//  out it takes the
//    running result's value, where the running result is masked out it takes
//    the input's; the running mask is the OR while every input so far had one,
//    else none (output mask likewise).
// Training: backward follows the values (for Maximum / Minimum the gradient
// goes to the input the output came from, the earlier one on ties, as
// TensorFlow's maximum / minimum gradients).
//
// Dot(axes, normalize) (K3 merging/dot.py): a batched dot product of two inputs
// of rank 2 or 3 over one axis of each (axes: one value for both inputs, or one
// per input; negative counts from the end; the batch axis 0 is not allowed).
// The output is [batch] + the remaining axes of input 0 + those of input 1, or
// [batch, 1] when none remain. normalize = true L2-normalises each input along
// its dot axis first (x * min(1/sqrt(sum x^2), 1e7)), giving the cosine
// proximity. The output has no mask.
#include <cstdint>
#include <string>
#include <vector>

#include "rnnx/layers/layer.h"

namespace rnnx {

enum class ElementwiseMergeOp { subtract, multiply, average, maximum, minimum };

template <class T>
class ElementwiseMerge : public Layer<T> {
 public:
  ElementwiseMerge(ElementwiseMergeOp op, std::string name);

  std::string class_name() const override;
  ElementwiseMergeOp op() const { return op_; }

  void build(const std::vector<Shape> &input_shapes) override;
  std::vector<Shape> compute_output_shapes(const std::vector<Shape> &input_shapes) const override;
  LayerOutputs<T> call(const LayerInputs<T> &in) override;
  LayerGrads<T> backward(const std::vector<Tensor<T>> &grad_outputs) override;
  void clear_tape() override { tape_.clear(); }

 private:
  struct Call {
    std::vector<Shape> shapes;
    std::vector<Tensor<T>> inputs;              // Multiply: the factors after masking
    Tensor<T> keep;                             // Multiply with all inputs masked: 1 where the output is kept
    std::vector<int32_t> source;                // Maximum / Minimum: the input each element came from
    std::vector<std::vector<uint8_t>> keep_in;  // Multiply: per input, its element mask (empty = none)
  };
  ElementwiseMergeOp op_;
  std::vector<Call> tape_;
};

template <class T>
class Subtract : public ElementwiseMerge<T> {
 public:
  explicit Subtract(std::string name = "subtract")
      : ElementwiseMerge<T>(ElementwiseMergeOp::subtract, std::move(name)) {}
};
template <class T>
class Multiply : public ElementwiseMerge<T> {
 public:
  explicit Multiply(std::string name = "multiply")
      : ElementwiseMerge<T>(ElementwiseMergeOp::multiply, std::move(name)) {}
};
template <class T>
class Average : public ElementwiseMerge<T> {
 public:
  explicit Average(std::string name = "average") : ElementwiseMerge<T>(ElementwiseMergeOp::average, std::move(name)) {}
};
template <class T>
class Maximum : public ElementwiseMerge<T> {
 public:
  explicit Maximum(std::string name = "maximum") : ElementwiseMerge<T>(ElementwiseMergeOp::maximum, std::move(name)) {}
};
template <class T>
class Minimum : public ElementwiseMerge<T> {
 public:
  explicit Minimum(std::string name = "minimum") : ElementwiseMerge<T>(ElementwiseMergeOp::minimum, std::move(name)) {}
};

struct DotOptions {
  std::vector<int64_t> axes{-1};  // one entry (both inputs) or two (one per input)
  bool normalize = false;
};

template <class T>
class Dot : public Layer<T> {
 public:
  // Throws ConfigError unless axes has one or two entries.
  explicit Dot(DotOptions options, std::string name = "dot");

  std::string class_name() const override { return "Dot"; }
  const DotOptions &options() const { return options_; }

  void build(const std::vector<Shape> &input_shapes) override;
  std::vector<Shape> compute_output_shapes(const std::vector<Shape> &input_shapes) const override;
  LayerOutputs<T> call(const LayerInputs<T> &in) override;
  LayerGrads<T> backward(const std::vector<Tensor<T>> &grad_outputs) override;
  void clear_tape() override { tape_.clear(); }

 private:
  // The dot axis of each input (1 or 2); ShapeError for bad ranks / axes /
  // sizes.
  std::vector<size_t> resolve_axes(const std::vector<Shape> &shapes) const;

  struct Call {
    Tensor<T> x0, x1;  // the inputs as given
    Tensor<T> n0, n1;  // after normalisation (== inputs without normalize)
  };
  DotOptions options_;
  std::vector<Call> tape_;
};

extern template class ElementwiseMerge<float>;
extern template class ElementwiseMerge<double>;
extern template class Dot<float>;
extern template class Dot<double>;

}  // namespace rnnx
