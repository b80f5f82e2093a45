#pragma once
// Normalisation layers (K3 keras/src/layers/normalization/):
// LayerNormalization, BatchNormalization, GroupNormalization and
// UnitNormalization, computed as Keras 3 does on the TensorFlow backend.
//
// Shared arithmetic (K3 ops.layer_normalization, tf.nn.batch_normalization):
// per statistics group g, mean_g = Σ x / N and var_g = Σ (x - mean_g)² / N
// (biased), inv_g = rsqrt(var_g + epsilon) (epsilon inside the root), y = (x -
// mean_g) * inv_g * gamma[c] + beta[c] where c is the element's index along the
// parameter axes.
//
// LayerNormalization(axis, epsilon = 1e-3, center, scale, rms_scaling):
// statistics over the `axis` dimensions (an int or a list; never the batch
// axis) of each sample. Weights gamma, beta of shape [input dims at the sorted
// axes]. rms_scaling (deprecated in Keras 3, kept for its files) computes y = x
// * rsqrt(var + epsilon) * gamma: the variance still subtracts the mean, the
// output does not, and there is no beta whatever `center` says (Keras' own
// behaviour). The mask passes through and does not change the statistics.
//
// BatchNormalization(axis = -1, momentum = 0.99, epsilon = 1e-3, center,
// scale): one channel axis; weights gamma, beta (trainable), moving_mean,
// moving_variance (non-trainable, always present), in that get_weights() order.
// Inference uses the moving statistics. Training uses the batch statistics over
// every axis but `axis` and then updates moving = moving * momentum
// + batch * (1 - momentum) (biased variance, as Keras 3). With a mask in
// training (rank of the mask = rank of the input - 1, Keras' requirement),
// masked positions are left out of the statistics and N = (kept count) + 1e-7
// (Keras' backend epsilon); outputs at masked positions are still normalised.
// The mask passes through.
//
// GroupNormalization(groups = 32 or -1 for one per channel, axis = -1, epsilon,
// center, scale): the channels of `axis` split into `groups` contiguous groups;
// statistics per (sample, group) over every other non-batch axis. Weights
// gamma, beta [channels].
//
// UnitNormalization(axis): y = x * min(rsqrt(Σ x²), 1e12) over `axis` (an int
// or a list).
//
// Requires: inputs of rank >= 2 whose parameter axes are known at build;
// ShapeError otherwise, ConfigError for invalid options (an axis of 0, groups
// not dividing the channels, ...). Ensures: output shape = input shape, the
// input mask is passed through. Training: a training-mode call keeps its input
// and statistics; backward is the exact derivative of the forward (through the
// batch statistics in training BatchNormalization), accumulating gamma.grad and
// beta.grad; the moving statistics get no gradient.
#include <cstdint>
#include <string>
#include <vector>

#include "rnnx/initializers.h"
#include "rnnx/layers/layer.h"
#include "rnnx/train/regularizers.h"

namespace rnnx {

namespace detail {
// What one normalisation call keeps for backward (internal).
template <class T>
struct NormTape {
  Tensor<T> x;
  std::vector<int64_t> group,
      channel;                    // per element: statistics group and parameter index
  std::vector<double> mean, inv;  // per group
  std::vector<double> count;      // per group: N (sum of weights, + eps when masked)
  std::vector<uint8_t> weight;    // per element 0/1 (masked BN); empty = all 1
  bool batch_stats = true;        // false: constants (BN inference), no statistics path
  bool rms = false;
};
}  // namespace detail

// Options shared by LayerNormalization, BatchNormalization and
// GroupNormalization.
struct NormalizationParamOptions {
  double epsilon = 1e-3;
  bool center = true;
  bool scale = true;
  Initializer beta_initializer = Initializer::from_name("zeros");
  Initializer gamma_initializer = Initializer::from_name("ones");
  Regularizer beta_regularizer{}, gamma_regularizer{};
  Constraint beta_constraint{}, gamma_constraint{};
};

struct LayerNormalizationOptions : NormalizationParamOptions {
  std::vector<int64_t> axis{-1};  // Keras writes an int as [int] after build; both accepted
  bool axis_is_list = false;      // how the config spelled it (written back the same way)
  bool rms_scaling = false;
};

struct BatchNormalizationOptions : NormalizationParamOptions {
  int64_t axis = -1;
  double momentum = 0.99;
  Initializer moving_mean_initializer = Initializer::from_name("zeros");
  Initializer moving_variance_initializer = Initializer::from_name("ones");
  bool synchronized = false;  // multi-device only; no effect on one device
  // Keras `trainable`: a frozen BatchNormalization uses its moving statistics
  // even in training mode ("training and self.trainable") and never updates
  // them.
  bool trainable = true;
};

struct GroupNormalizationOptions : NormalizationParamOptions {
  int64_t groups = 32;  // -1 = one group per channel
  int64_t axis = -1;
};

struct UnitNormalizationOptions {
  std::vector<int64_t> axis{-1};
  bool axis_is_list = false;
};

// The common machinery of the three layers with gamma / beta.
template <class T>
class NormalizationLayer : public Layer<T> {
 public:
  using Layer<T>::Layer;
  std::vector<Shape> compute_output_shapes(const std::vector<Shape> &input_shapes) const override;
  LayerGrads<T> backward(const std::vector<Tensor<T>> &grad_outputs) override;
  void clear_tape() override { tape_.clear(); }
  std::vector<Param<T>> params() override;

  const Tensor<T> &gamma() const { return gamma_; }
  const Tensor<T> &beta() const { return beta_; }

 protected:
  const NormalizationParamOptions &param_options() const { return *param_options_; }
  void set_param_options(const NormalizationParamOptions *o) { param_options_ = o; }
  // Throws ShapeError unless one input of a rank and parameter dims this layer
  // accepts.
  virtual void check_input(const std::vector<Shape> &input_shapes) const = 0;
  // Creates gamma (when `with_gamma`) and beta (when `with_beta`) of `shape`.
  void build_params(const Shape &shape, bool with_gamma, bool with_beta);
  // y = normalised x with the tape's statistics; fills the statistics unless
  // !batch_stats.
  void normalize(const Tensor<T> &x, detail::NormTape<T> &tape, Tensor<T> &y) const;
  // The one input of a call, after building the layer for it and checking it (check_input).
  const Tensor<T> &call_input(const LayerInputs<T> &in);
  // normalize() of x into the call's output; the incoming mask passes on.
  LayerOutputs<T> normalized(const LayerInputs<T> &in, const Tensor<T> &x, detail::NormTape<T> &tape) const;
  // In training mode, keeps the tape (with x) for backward.
  void record(const LayerInputs<T> &in, const Tensor<T> &x, detail::NormTape<T> &&tape);

  Tensor<T> gamma_, beta_, gamma_grad_, beta_grad_;
  std::vector<detail::NormTape<T>> tape_;

 private:
  const NormalizationParamOptions *param_options_ = nullptr;
};

template <class T>
class LayerNormalization : public NormalizationLayer<T> {
 public:
  // Throws ConfigError for an empty axis list, axis 0 or epsilon < 0.
  explicit LayerNormalization(LayerNormalizationOptions options, std::string name = "layer_normalization");
  std::string class_name() const override { return "LayerNormalization"; }
  const LayerNormalizationOptions &options() const { return options_; }
  void build(const std::vector<Shape> &input_shapes) override;
  LayerOutputs<T> call(const LayerInputs<T> &in) override;

 protected:
  void check_input(const std::vector<Shape> &input_shapes) const override;

 private:
  LayerNormalizationOptions options_;
  std::vector<int64_t> axes_;  // resolved, sorted, non-negative (after build)
};

template <class T>
class BatchNormalization : public NormalizationLayer<T> {
 public:
  // Throws ConfigError for axis 0 or epsilon < 0.
  explicit BatchNormalization(BatchNormalizationOptions options, std::string name = "batch_normalization");
  std::string class_name() const override { return "BatchNormalization"; }
  const BatchNormalizationOptions &options() const { return options_; }
  void build(const std::vector<Shape> &input_shapes) override;
  LayerOutputs<T> call(const LayerInputs<T> &in) override;
  std::vector<Param<T>> params() override;

  const Tensor<T> &moving_mean() const { return moving_mean_; }
  const Tensor<T> &moving_variance() const { return moving_variance_; }

 protected:
  void check_input(const std::vector<Shape> &input_shapes) const override;

 private:
  BatchNormalizationOptions options_;
  int64_t axis_ = -1;  // resolved
  Tensor<T> moving_mean_, moving_variance_, moving_mean_grad_, moving_variance_grad_;
};

template <class T>
class GroupNormalization : public NormalizationLayer<T> {
 public:
  // Throws ConfigError for groups == 0 or < -1, axis 0 or epsilon < 0.
  explicit GroupNormalization(GroupNormalizationOptions options, std::string name = "group_normalization");
  std::string class_name() const override { return "GroupNormalization"; }
  const GroupNormalizationOptions &options() const { return options_; }
  void build(const std::vector<Shape> &input_shapes) override;
  LayerOutputs<T> call(const LayerInputs<T> &in) override;

 protected:
  void check_input(const std::vector<Shape> &input_shapes) const override;

 private:
  GroupNormalizationOptions options_;
  int64_t axis_ = -1, groups_ = 0, channels_ = 0;  // resolved at build
};

template <class T>
class UnitNormalization : public Layer<T> {
 public:
  explicit UnitNormalization(UnitNormalizationOptions options = {}, std::string name = "unit_normalization");
  std::string class_name() const override { return "UnitNormalization"; }
  const UnitNormalizationOptions &options() const { return options_; }
  void build(const std::vector<Shape> &input_shapes) override;
  std::vector<Shape> compute_output_shapes(const std::vector<Shape> &input_shapes) const override;
  LayerOutputs<T> call(const LayerInputs<T> &in) override;
  LayerGrads<T> backward(const std::vector<Tensor<T>> &grad_outputs) override;
  void clear_tape() override { tape_.clear(); }

 private:
  struct Call {
    Tensor<T> x;
    std::vector<int64_t> group;
    std::vector<double> inv;  // per group, after the 1e12 cap
    std::vector<uint8_t> capped;
  };
  UnitNormalizationOptions options_;
  std::vector<Call> tape_;
};

extern template class NormalizationLayer<float>;
extern template class NormalizationLayer<double>;
extern template class LayerNormalization<float>;
extern template class LayerNormalization<double>;
extern template class BatchNormalization<float>;
extern template class BatchNormalization<double>;
extern template class GroupNormalization<float>;
extern template class GroupNormalization<double>;
extern template class UnitNormalization<float>;
extern template class UnitNormalization<double>;

}  // namespace rnnx
