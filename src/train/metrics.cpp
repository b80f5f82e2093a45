// Metrics (include/rnnx/train/metrics.h).
#include "rnnx/train/metrics.h"

#include <algorithm>

#include "rnnx/core/error.h"
#include "rnnx/train/losses.h"

namespace rnnx {
namespace {

Shape drop_last(const Shape& s) { return Shape(s.begin(), s.end() - 1); }

// y_true reshaped to `want` when it differs only by a trailing axis of 1 (Keras
// squeeze_or_expand_to_same_rank); ShapeError otherwise.
template <class T>
Tensor<T> reconcile(const std::string& metric, const Tensor<T>& y, const Shape& want, const Shape& pred) {
  if (y.shape() == want) return y;
  Shape squeezed = y.shape(), expanded = y.shape();
  if (!squeezed.empty() && squeezed.back() == 1) squeezed.pop_back();
  expanded.push_back(1);
  if (squeezed == want || expanded == want) return y.reshaped(want);
  throw ShapeError("metric '" + metric + "': y_true has shape " + to_string(y.shape()) + ", expected " +
                   to_string(want) + " to match y_pred of shape " + to_string(pred));
}

template <class T>
void check_pred(const std::string& metric, const Tensor<T>& p) {
  if (p.rank() < 2 || p.shape().back() < 1)
    throw ShapeError("metric '" + metric + "': y_pred has shape " + to_string(p.shape()) +
                     ", expected at least 2 axes [batch, ..., features]");
}

template <class T>
int64_t argmax_row(const T* row, int64_t k) {
  int64_t best = 0;
  for (int64_t j = 1; j < k; ++j)
    if (row[j] > row[best]) best = j;
  return best;
}

template <class T>
Tensor<T> binary_accuracy(const std::string& name, const Tensor<T>& y, const Tensor<T>& p) {
  check_pred(name, p);
  const Tensor<T> t = reconcile(name, y, p.shape(), p.shape());
  Tensor<T> v(p.shape());
  for (int64_t i = 0; i < p.size(); ++i) v[i] = ((p[i] > T(0.5) ? T(1) : T(0)) == t[i]) ? T(1) : T(0);
  return v;
}

template <class T>
Tensor<T> categorical_accuracy(const std::string& name, const Tensor<T>& y, const Tensor<T>& p) {
  check_pred(name, p);
  const Tensor<T> t = reconcile(name, y, p.shape(), p.shape());
  const int64_t k = p.shape().back();
  Tensor<T> v(drop_last(p.shape()));
  for (int64_t r = 0; r < v.size(); ++r)
    v[r] = argmax_row(t.data() + r * k, k) == argmax_row(p.data() + r * k, k) ? T(1) : T(0);
  return v;
}

template <class T>
Tensor<T> sparse_categorical_accuracy(const std::string& name, const Tensor<T>& y, const Tensor<T>& p) {
  check_pred(name, p);
  const Tensor<T> t = reconcile(name, y, drop_last(p.shape()), p.shape());
  const int64_t k = p.shape().back();
  Tensor<T> v(drop_last(p.shape()));
  for (int64_t r = 0; r < v.size(); ++r) v[r] = t[r] == static_cast<T>(argmax_row(p.data() + r * k, k)) ? T(1) : T(0);
  return v;
}

// "accuracy": binary, sparse or categorical, chosen on the first batch (compile_utils.py).
template <class T>
class AutoAccuracy : public Metric<T> {
 public:
  explicit AutoAccuracy(std::string name) : Metric<T>(std::move(name)) {}
  MetricDirection direction() const override { return MetricDirection::up; }
  void update_state(const Tensor<T>& y, const Tensor<T>& p, const Tensor<T>* w, const Mask* mask) override {
    if (!inner_) {
      check_pred(this->name(), p);
      const bool binary = p.shape().back() == 1;
      const bool sparse = y.rank() < p.rank() || (y.rank() > 0 && y.shape().back() == 1 && p.shape().back() > 1);
      const std::string n = this->name();
      typename MeanMetricWrapper<T>::Fn fn;
      if (binary)
        fn = [n](const Tensor<T>& a, const Tensor<T>& b) { return binary_accuracy(n, a, b); };
      else if (sparse)
        fn = [n](const Tensor<T>& a, const Tensor<T>& b) { return sparse_categorical_accuracy(n, a, b); };
      else
        fn = [n](const Tensor<T>& a, const Tensor<T>& b) { return categorical_accuracy(n, a, b); };
      inner_ = std::make_unique<MeanMetricWrapper<T>>(n, std::move(fn), MetricDirection::up);
    }
    inner_->update_state(y, p, w, mask);
  }
  double result() const override { return inner_ ? inner_->result() : 0.0; }
  void reset_state() override {
    if (inner_) inner_->reset_state();
  }

 private:
  std::unique_ptr<MeanMetricWrapper<T>> inner_;
};

}  // namespace

template <class T>
MeanMetricWrapper<T>::MeanMetricWrapper(std::string name, Fn fn, MetricDirection direction)
    : Metric<T>(std::move(name)), fn_(std::move(fn)), direction_(direction) {}

template <class T>
void MeanMetricWrapper<T>::update_state(const Tensor<T>& y_true, const Tensor<T>& y_pred,
                                        const Tensor<T>* sample_weight, const Mask* mask) {
  update_values(fn_(y_true, y_pred), sample_weight, mask);
}

template <class T>
void MeanMetricWrapper<T>::update_values(const Tensor<T>& values, const Tensor<T>* sample_weight, const Mask* mask) {
  const std::string where = "metric '" + this->name() + "'";
  if (values.rank() < 1) throw ShapeError(where + ": values must have a batch axis");
  const int64_t batch = values.dim(0);
  if (!sample_weight && !mask) {
    const int64_t per = batch == 0 ? 0 : values.size() / batch;
    for (int64_t b = 0; b < batch; ++b) {
      double s = 0.0;
      for (int64_t i = 0; i < per; ++i) s += static_cast<double>(values[b * per + i]);
      total_ += s / static_cast<double>(per);
    }
    count_ += static_cast<double>(batch);
    return;
  }
  // The weights: the mask (0/1) times sample_weight ([batch] repeated over the mask's steps).
  Shape w_shape = mask ? mask->shape() : sample_weight->shape();
  if (!mask && w_shape.size() > 1 && w_shape.back() == 1) w_shape.pop_back();
  std::vector<double> w(static_cast<size_t>(num_elements(w_shape)), 1.0);
  if (mask)
    for (size_t i = 0; i < w.size(); ++i) w[i] = (*mask)[static_cast<int64_t>(i)] ? 1.0 : 0.0;
  if (sample_weight) {
    const int64_t n = static_cast<int64_t>(w.size());
    if (sample_weight->size() == n) {
      for (int64_t i = 0; i < n; ++i) w[static_cast<size_t>(i)] *= static_cast<double>((*sample_weight)[i]);
    } else if (sample_weight->rank() == 1 && sample_weight->dim(0) == w_shape[0]) {
      const int64_t per = n / std::max<int64_t>(w_shape[0], 1);
      for (int64_t i = 0; i < n; ++i) w[static_cast<size_t>(i)] *= static_cast<double>((*sample_weight)[i / per]);
    } else {
      throw ShapeError(where + ": sample_weight has shape " + to_string(sample_weight->shape()) + ", expected " +
                       to_string(w_shape) + " or [" + std::to_string(w_shape[0]) + "]");
    }
  }
  // Values averaged down to the weights' shape (a trailing 1 is dropped first).
  Shape v_shape = values.shape();
  if (v_shape.size() == w_shape.size() + 1 && v_shape.back() == 1) v_shape.pop_back();
  if (v_shape.size() < w_shape.size() || !std::equal(w_shape.begin(), w_shape.end(), v_shape.begin()))
    throw ShapeError(where + ": weights of shape " + to_string(w_shape) + " do not fit values of shape " +
                     to_string(values.shape()));
  const int64_t n = static_cast<int64_t>(w.size());
  const int64_t inner = n == 0 ? 0 : values.size() / n;
  const double per_sample = batch == 0 ? 1.0 : static_cast<double>(n) / static_cast<double>(batch);
  double vw = 0.0, ws = 0.0;
  for (int64_t i = 0; i < n; ++i) {
    double s = 0.0;
    for (int64_t j = 0; j < inner; ++j) s += static_cast<double>(values[i * inner + j]);
    const double v = inner == 0 ? 0.0 : s / static_cast<double>(inner);
    vw += v * w[static_cast<size_t>(i)];
    ws += w[static_cast<size_t>(i)];
  }
  total_ += vw / per_sample;
  count_ += ws / per_sample;
}

template <class T>
std::unique_ptr<Metric<T>> make_metric(const std::string& name) {
  if (name == "accuracy" || name == "acc") return std::make_unique<AutoAccuracy<T>>(name);
  using Fn = typename MeanMetricWrapper<T>::Fn;
  auto up = [&](Fn fn) { return std::make_unique<MeanMetricWrapper<T>>(name, std::move(fn), MetricDirection::up); };
  if (name == "binary_accuracy")
    return up([name](const Tensor<T>& y, const Tensor<T>& p) { return binary_accuracy(name, y, p); });
  if (name == "categorical_accuracy")
    return up([name](const Tensor<T>& y, const Tensor<T>& p) { return categorical_accuracy(name, y, p); });
  if (name == "sparse_categorical_accuracy")
    return up([name](const Tensor<T>& y, const Tensor<T>& p) { return sparse_categorical_accuracy(name, y, p); });
  // Any loss function is also a metric (Keras metrics.get resolves "mse" to the function).
  std::string loss_name;
  try {
    loss_name = canonical_loss_name(name);
  } catch (const ConfigError&) {
    throw ConfigError("unknown metric '" + name +
                      "', expected accuracy, acc, binary_accuracy, categorical_accuracy, "
                      "sparse_categorical_accuracy, or a loss name (mse, mae, mean_squared_error, ...)");
  }
  LossOptions options;
  options.reduction = Reduction::none;
  std::shared_ptr<const Loss<T>> loss = make_loss<T>(loss_name, options);
  Fn fn = [loss](const Tensor<T>& y, const Tensor<T>& p) { return loss->compute(y, p).values; };
  return std::make_unique<MeanMetricWrapper<T>>(name, std::move(fn), MetricDirection::down);
}

template class Metric<float>;
template class Metric<double>;
template class MeanMetricWrapper<float>;
template class MeanMetricWrapper<double>;
template std::unique_ptr<Metric<float>> make_metric<float>(const std::string&);
template std::unique_ptr<Metric<double>> make_metric<double>(const std::string&);

}  // namespace rnnx
