#pragma once
// Advanced activation layers (K3 keras/src/layers/activations/): LeakyReLU,
// ELU, ReLU, PReLU, Softmax. All keep the input shape and pass the input mask
// through (Keras' supports_masking = True).
//
//   LeakyReLU(negative_slope = 0.3):  x > 0 ? x : negative_slope * x. (tf_keras
//   calls it `alpha`.) ELU(alpha = 1):                   x > 0 ? x : alpha *
//   (exp(x) - 1). ReLU(max_value, negative_slope = 0, threshold = 0), as
//   keras.activations.relu:
//       y = clip(x > threshold ? x : 0, 0, max_value) - negative_slope *
//       max(threshold - x, 0) (max_value absent = no upper clip; with threshold
//       0 the first term is max(x, 0)).
//   PReLU: x > 0 ? x : alpha * x with a learned `alpha` of shape
//   input_shape[1:], size 1 on the
//       1-based `shared_axes` (shared there); alpha_initializer (default
//       zeros), _regularizer, _constraint as Keras.
//   Softmax(axis = -1): softmax along one axis. With a mask (K3 Softmax.call),
//   the mask is
//       broadcast against the input from the right (numpy rules; ShapeError
//       when it does not broadcast, as Keras raises), masked-out inputs are set
//       to -1e9 before the softmax and the output is 0 there. A [batch, steps]
//       mask therefore only fits inputs it broadcasts to, e.g. attention scores
//       [batch, queries, steps] need a [batch, 1, steps] mask.
// Training: a training-mode call keeps its input (and Softmax its output and
// mask); backward is the analytic derivative (at a kink, the one-sided value
// TensorFlow uses).
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "rnnx/initializers.h"
#include "rnnx/layers/layer.h"
#include "rnnx/train/regularizers.h"

namespace rnnx {

// Shared machinery of LeakyReLU, ELU and ReLU: y = f(x) element-wise.
template <class T>
class ScalarActivationLayer : public Layer<T> {
 public:
  using Layer<T>::Layer;

  void build(const std::vector<Shape> &input_shapes) override;
  std::vector<Shape> compute_output_shapes(const std::vector<Shape> &input_shapes) const override;
  LayerOutputs<T> call(const LayerInputs<T> &in) override;
  LayerGrads<T> backward(const std::vector<Tensor<T>> &grad_outputs) override;
  void clear_tape() override { tape_.clear(); }

 protected:
  virtual T value(T x) const = 0;
  virtual T derivative(T x) const = 0;

 private:
  std::vector<Tensor<T>> tape_;  // the input of each training call
};

template <class T>
class LeakyReLU : public ScalarActivationLayer<T> {
 public:
  // Throws ConfigError when negative_slope < 0 (as Keras).
  explicit LeakyReLU(double negative_slope = 0.3, std::string name = "leaky_re_lu");
  std::string class_name() const override { return "LeakyReLU"; }
  double negative_slope() const { return negative_slope_; }

 protected:
  T value(T x) const override { return x > T(0) ? x : static_cast<T>(negative_slope_) * x; }
  T derivative(T x) const override { return x > T(0) ? T(1) : static_cast<T>(negative_slope_); }

 private:
  double negative_slope_;
};

template <class T>
class ELU : public ScalarActivationLayer<T> {
 public:
  explicit ELU(double alpha = 1.0, std::string name = "elu");
  std::string class_name() const override { return "ELU"; }
  double alpha() const { return alpha_; }

 protected:
  T value(T x) const override;
  T derivative(T x) const override;

 private:
  double alpha_;
};

struct ReLUOptions {
  std::optional<double> max_value{};  // >= 0; none = no upper clip
  double negative_slope = 0.0;        // >= 0
  double threshold = 0.0;             // >= 0
};

template <class T>
class ReLU : public ScalarActivationLayer<T> {
 public:
  // Throws ConfigError for a negative max_value, negative_slope or threshold
  // (as Keras).
  explicit ReLU(ReLUOptions options = {}, std::string name = "re_lu");
  std::string class_name() const override { return "ReLU"; }
  const ReLUOptions &options() const { return options_; }

 protected:
  T value(T x) const override;
  T derivative(T x) const override;

 private:
  ReLUOptions options_;
};

struct PReLUOptions {
  Initializer alpha_initializer = Initializer::from_name("zeros");
  Regularizer alpha_regularizer{};
  Constraint alpha_constraint{};
  std::vector<int64_t> shared_axes{};  // 1-based non-batch axes where alpha is shared
};

template <class T>
class PReLU : public Layer<T> {
 public:
  // Throws ConfigError for a shared axis < 1.
  explicit PReLU(PReLUOptions options = {}, std::string name = "p_re_lu");
  std::string class_name() const override { return "PReLU"; }
  const PReLUOptions &options() const { return options_; }

  // Requires every non-shared, non-batch dimension to be known (ShapeError
  // otherwise).
  void build(const std::vector<Shape> &input_shapes) override;
  std::vector<Shape> compute_output_shapes(const std::vector<Shape> &input_shapes) const override;
  LayerOutputs<T> call(const LayerInputs<T> &in) override;
  LayerGrads<T> backward(const std::vector<Tensor<T>> &grad_outputs) override;
  void clear_tape() override { tape_.clear(); }
  std::vector<Param<T>> params() override;

 private:
  Shape alpha_shape(const Shape &input_shape) const;
  // Index into alpha of each element of an input of `shape` (broadcast over
  // shared axes).
  std::vector<int64_t> alpha_index(const Shape &shape) const;

  PReLUOptions options_;
  Shape input_shape_;  // as built (batch excluded from checks)
  Tensor<T> alpha_, alpha_grad_;
  std::vector<Tensor<T>> tape_;
};

template <class T>
class Softmax : public Layer<T> {
 public:
  explicit Softmax(int64_t axis = -1, std::string name = "softmax");
  std::string class_name() const override { return "Softmax"; }
  int64_t axis() const { return axis_; }

  void build(const std::vector<Shape> &input_shapes) override;
  std::vector<Shape> compute_output_shapes(const std::vector<Shape> &input_shapes) const override;
  LayerOutputs<T> call(const LayerInputs<T> &in) override;
  LayerGrads<T> backward(const std::vector<Tensor<T>> &grad_outputs) override;
  void clear_tape() override { tape_.clear(); }

 private:
  size_t resolve_axis(const Shape &shape) const;

  struct Call {
    Tensor<T> y;                // output
    std::vector<uint8_t> keep;  // per element, empty = no mask
  };
  int64_t axis_;
  std::vector<Call> tape_;
};

extern template class ScalarActivationLayer<float>;
extern template class ScalarActivationLayer<double>;
extern template class LeakyReLU<float>;
extern template class LeakyReLU<double>;
extern template class ELU<float>;
extern template class ELU<double>;
extern template class ReLU<float>;
extern template class ReLU<double>;
extern template class PReLU<float>;
extern template class PReLU<double>;
extern template class Softmax<float>;
extern template class Softmax<double>;

}  // namespace rnnx
