#pragma once
// Losses (K3 keras/src/losses/losses.py, loss.py; TF backend keras/src/backend/tensorflow/nn.py).
//
// A loss is the Keras loss *function* (per element: a value for every position of
// y_pred.shape[:-1], e.g. [batch] or [batch, steps]) followed by the Keras reduction:
//   values v (from the function), weights w = sample_weight (and the mask, below),
//   "sum_over_batch_size" / "mean":  L = Σ v·w / N        (N = number of values)
//   "sum":                           L = Σ v·w
//   "mean_with_sample_weight":       L = Σ v·w / Σ w
//   "none":                          no reduction: the weighted values v·w are returned.
// A mask (Keras: the mask attached to y_pred, e.g. a sequence output after Masking), shaped
// like the values, counts as a weight: for sum_over_batch_size/mean each unmasked value gets
// weight N/valid and masked ones 0, so L = Σ_unmasked v·w / valid (K3 loss.py apply_mask);
// for the other reductions the mask is a 0/1 weight.
//
// compute() returns the loss and dL/dy_pred (for "none": the gradient of the sum of the
// returned values), which is what backpropagation needs.
//
// Shapes: y_pred has rank >= 2 ([batch, ..., features]). y_true has y_pred's shape; as in
// Keras, a y_true of rank one less with y_pred's last dimension 1 (or the reverse) is
// reshaped to match (squeeze_or_expand_to_same_rank). sparse_categorical_crossentropy takes
// integer class ids shaped like y_pred.shape[:-1] (or with a trailing 1). sample_weight is
// shaped like the values, or [batch] (one weight per sample, repeated over the other axes;
// Keras requires the full shape for sequence losses, so this is an extension). Everything
// else is a ShapeError naming the loss, the expected and the received shapes.
//
// Function definitions (K = size of the last axis, eps = 1e-7 as Keras backend.epsilon()):
//   mean_squared_error            mean_k (p - y)²
//   mean_absolute_error           mean_k |p - y|
//   huber(delta=1)                mean_k (|e| <= delta ? e²/2 : delta·|e| - delta²/2), e = p - y
//   binary_crossentropy           mean_k -(y log q + (1-y) log(1-q)), q = clip(p, eps, 1-eps);
//                                 from_logits: mean_k max(z,0) - z·y + log1p(exp(-|z|));
//                                 label_smoothing s: y -> y(1-s) + s/2
//   categorical_crossentropy      -Σ_k y log clip(p/Σp, eps, 1-eps);
//                                 from_logits: -Σ_k y log softmax(z); label_smoothing s:
//                                 y -> y(1-s) + s/K. Its gradient is TF's softmax(z) - y
//                                 (exact when Σy = 1, as for one-hot or smoothed labels).
//   sparse_categorical_crossentropy  log Σ_k q_k - log q_label with q = clip(p, eps, 1-eps)
//                                 (TF applies softmax-crossentropy to log q);
//                                 from_logits: logsumexp(z) - z_label.
// Clipping stops the gradient outside [eps, 1-eps], as TF's clip_by_value does.
//
// Not reproduced: Keras on the TF backend silently switches a probability crossentropy to
// its logits form when y_pred is the direct output of a sigmoid/softmax activation
// (nn.py _get_logits). The two agree except where probabilities saturate to within 1e-7 of
// 0 or 1 (|logit| >~ 16), where the logits form keeps a gradient and this one clips it.
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "rnnx/core/tensor.h"

namespace rnnx {

enum class Reduction { sum_over_batch_size, sum, mean, mean_with_sample_weight, none };

// Keras names: "sum_over_batch_size", "sum", "mean", "mean_with_sample_weight", "none".
// Throws ConfigError for anything else.
Reduction reduction_from_name(const std::string& name);
std::string reduction_name(Reduction r);

// Options of the built-in losses (each loss uses the ones that apply to it).
struct LossOptions {
  Reduction reduction = Reduction::sum_over_batch_size;
  bool from_logits = false;      // crossentropies
  double label_smoothing = 0.0;  // binary/categorical crossentropy, in [0, 1]
  double delta = 1.0;            // huber, > 0
};

template <class T>
struct LossResult {
  T loss = T(0);     // the reduced loss (for Reduction::none: the sum of `values`)
  Tensor<T> values;  // the weighted per-element values v·w (shape of y_pred.shape[:-1])
  Tensor<T> grad;    // dL/dy_pred, shaped like y_pred
};

template <class T>
class Loss {
 public:
  Loss(std::string name, Reduction reduction) : name_(std::move(name)), reduction_(reduction) {}
  virtual ~Loss() = default;

  // The Keras function name, e.g. "mean_squared_error" (used in error messages and logs).
  const std::string& name() const { return name_; }
  Reduction reduction() const { return reduction_; }

  // The loss function on reconciled shapes: y_true already has y_pred's shape (or, for
  // sparse losses, y_pred.shape[:-1]). Writes values (shape y_pred.shape[:-1]) and, if
  // `grad` is not null, d values[i] / d y_pred[i, k] into grad (shape of y_pred). Inputs
  // are checked by compute(); a user-defined loss overrides this and may override
  // check_targets() for its own label checks.
  virtual void function(const Tensor<T>& y_true, const Tensor<T>& y_pred, Tensor<T>& values, Tensor<T>* grad) const = 0;

  // True when y_true holds class ids (one fewer axis than y_pred).
  virtual bool sparse_targets() const { return false; }

  // Loss and gradient (above). `sample_weight` and `mask` may be null. Throws ShapeError for
  // shapes that do not fit, ConfigError for invalid labels (sparse ids out of range).
  LossResult<T> compute(const Tensor<T>& y_true, const Tensor<T>& y_pred, const Tensor<T>* sample_weight = nullptr,
                        const Mask* mask = nullptr) const;
  // Just the reduced loss.
  T operator()(const Tensor<T>& y_true, const Tensor<T>& y_pred, const Tensor<T>* sample_weight = nullptr,
               const Mask* mask = nullptr) const {
    return compute(y_true, y_pred, sample_weight, mask).loss;
  }

 protected:
  // Extra checks of the (reconciled) targets; the default accepts anything.
  virtual void check_targets(const Tensor<T>& /*y_true*/, const Tensor<T>& /*y_pred*/) const {}

 private:
  std::string name_;
  Reduction reduction_;
};

// A built-in loss by Keras name: the function names ("mean_squared_error",
// "mean_absolute_error", "huber", "binary_crossentropy", "categorical_crossentropy",
// "sparse_categorical_crossentropy"), the aliases "mse", "mae", and the class names
// ("MeanSquaredError", "MeanAbsoluteError", "Huber", "BinaryCrossentropy",
// "CategoricalCrossentropy", "SparseCategoricalCrossentropy"). Throws ConfigError for an
// unknown name or an invalid option (label_smoothing outside [0, 1], delta <= 0).
template <class T>
std::unique_ptr<Loss<T>> make_loss(const std::string& name, const LossOptions& options = {});

// The canonical function name of a built-in loss name or alias ("mse" -> "mean_squared_error").
std::string canonical_loss_name(const std::string& name);

extern template class Loss<float>;
extern template class Loss<double>;

}  // namespace rnnx
