#pragma once
// Metrics (K3 keras/src/metrics/reduction_metrics.py, accuracy_metrics.py,
// trainers/compile_utils.py get_metric).
//
// A metric accumulates over batches (an epoch in fit) and reports a running result. The
// built-ins are Keras MeanMetricWrappers: a function gives per-element values v for a batch
// and the metric keeps total and count (Keras Mean / reduce_to_samplewise_values):
//   without weights: total += Σ_b mean(v_b), count += batch
//   with weights w (sample_weight and/or the mask of y_pred, 0/1): v is averaged down to w's
//   shape, then total += Σ v·w / R and count += Σ w / R (R = elements of w per sample);
// result() = total / count (0 when count is 0). Sums are kept in double.
//
// Functions (threshold 0.5; ties in argmax go to the first maximum):
//   binary_accuracy               (p > 0.5) == y, per element of y_pred
//   categorical_accuracy          argmax(y) == argmax(p)
//   sparse_categorical_accuracy   y == argmax(p)   (y: class ids, optionally with a trailing 1)
//   mean_squared_error / mse, mean_absolute_error / mae    the loss functions (losses.h)
//   accuracy / acc                resolved on the first batch as Keras does: binary when
//                                 y_pred's last axis is 1, sparse when y_true has fewer axes
//                                 (or a last axis of 1 while y_pred's is larger), else
//                                 categorical.
// The reported name is the identifier given to make_metric ("acc", "mse", ...), as in Keras.
#include <functional>
#include <memory>
#include <string>

#include "rnnx/core/tensor.h"

namespace rnnx {

// Whether a larger value is better (accuracies) or a smaller one (errors); callbacks with
// mode "auto" use it.
enum class MetricDirection { up, down };

template <class T>
class Metric {
 public:
  explicit Metric(std::string name) : name_(std::move(name)) {}
  virtual ~Metric() = default;

  const std::string& name() const { return name_; }
  void set_name(std::string name) { name_ = std::move(name); }
  virtual MetricDirection direction() const = 0;

  // Adds one batch. sample_weight ([batch] or the per-element shape) and mask ([batch, steps],
  // from a sequence output) may be null. Throws ShapeError for shapes that do not fit.
  virtual void update_state(const Tensor<T>& y_true, const Tensor<T>& y_pred, const Tensor<T>* sample_weight = nullptr,
                            const Mask* mask = nullptr) = 0;
  virtual double result() const = 0;
  virtual void reset_state() = 0;

 private:
  std::string name_;
};

// A weighted mean of per-element values computed by `fn(y_true, y_pred) -> values`
// (values: [batch, ...]).
template <class T>
class MeanMetricWrapper : public Metric<T> {
 public:
  using Fn = std::function<Tensor<T>(const Tensor<T>& y_true, const Tensor<T>& y_pred)>;
  MeanMetricWrapper(std::string name, Fn fn, MetricDirection direction);

  MetricDirection direction() const override { return direction_; }
  void update_state(const Tensor<T>& y_true, const Tensor<T>& y_pred, const Tensor<T>* sample_weight = nullptr,
                    const Mask* mask = nullptr) override;
  double result() const override { return count_ == 0.0 ? 0.0 : total_ / count_; }
  void reset_state() override { total_ = count_ = 0.0; }

  // Adds per-element values directly (what update_state does after calling fn).
  void update_values(const Tensor<T>& values, const Tensor<T>* sample_weight, const Mask* mask);

 private:
  Fn fn_;
  MetricDirection direction_;
  double total_ = 0.0, count_ = 0.0;
};

// A built-in metric by Keras name (see above). Throws ConfigError for an unknown name.
template <class T>
std::unique_ptr<Metric<T>> make_metric(const std::string& name);

extern template class Metric<float>;
extern template class Metric<double>;
extern template class MeanMetricWrapper<float>;
extern template class MeanMetricWrapper<double>;

}  // namespace rnnx
