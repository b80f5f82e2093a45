// Built-in losses and the Keras reduction (include/rnnx/train/losses.h).
#include "rnnx/train/losses.h"

#include <algorithm>
#include <cmath>
#include <sstream>

#include "rnnx/core/error.h"
#include "train/format.h"

namespace rnnx {
namespace {

// Keras backend.epsilon(); the clip bounds are computed in T as TF does in float32.
constexpr double kEpsilon = 1e-7;

template <class T>
int64_t last_dim(const Tensor<T>& t) {
  return t.shape().back();
}

// ---- mean_squared_error / mean_absolute_error / huber ----------------------------------------
template <class T>
class MeanSquaredError : public Loss<T> {
 public:
  explicit MeanSquaredError(Reduction r) : Loss<T>("mean_squared_error", r) {}
  void function(const Tensor<T>& y, const Tensor<T>& p, Tensor<T>& v, Tensor<T>* g) const override {
    const int64_t k = last_dim(p), rows = v.size();
    for (int64_t r = 0; r < rows; ++r) {
      T sum = 0;
      for (int64_t j = 0; j < k; ++j) {
        const T e = y[r * k + j] - p[r * k + j];
        sum += e * e;
        if (g) (*g)[r * k + j] = T(-2) * e / static_cast<T>(k);
      }
      v[r] = sum / static_cast<T>(k);
    }
  }
};

template <class T>
T sign(T x) {
  return x > T(0) ? T(1) : (x < T(0) ? T(-1) : T(0));
}

template <class T>
class MeanAbsoluteError : public Loss<T> {
 public:
  explicit MeanAbsoluteError(Reduction r) : Loss<T>("mean_absolute_error", r) {}
  void function(const Tensor<T>& y, const Tensor<T>& p, Tensor<T>& v, Tensor<T>* g) const override {
    const int64_t k = last_dim(p), rows = v.size();
    for (int64_t r = 0; r < rows; ++r) {
      T sum = 0;
      for (int64_t j = 0; j < k; ++j) {
        const T e = p[r * k + j] - y[r * k + j];
        sum += std::abs(e);
        if (g) (*g)[r * k + j] = sign(e) / static_cast<T>(k);
      }
      v[r] = sum / static_cast<T>(k);
    }
  }
};

template <class T>
class Huber : public Loss<T> {
 public:
  Huber(Reduction r, double delta) : Loss<T>("huber", r), delta_(static_cast<T>(delta)) {}
  void function(const Tensor<T>& y, const Tensor<T>& p, Tensor<T>& v, Tensor<T>* g) const override {
    const int64_t k = last_dim(p), rows = v.size();
    const T half(0.5);
    for (int64_t r = 0; r < rows; ++r) {
      T sum = 0;
      for (int64_t j = 0; j < k; ++j) {
        const T e = p[r * k + j] - y[r * k + j];
        const T a = std::abs(e);
        const bool quadratic = a <= delta_;
        sum += quadratic ? half * e * e : delta_ * a - half * delta_ * delta_;
        if (g) (*g)[r * k + j] = (quadratic ? e : delta_ * sign(e)) / static_cast<T>(k);
      }
      v[r] = sum / static_cast<T>(k);
    }
  }

 private:
  T delta_;
};

// ---- crossentropies ---------------------------------------------------------------------------
template <class T>
class BinaryCrossentropy : public Loss<T> {
 public:
  BinaryCrossentropy(Reduction r, bool from_logits, double smoothing)
      : Loss<T>("binary_crossentropy", r), from_logits_(from_logits), smoothing_(smoothing) {}
  void function(const Tensor<T>& y, const Tensor<T>& p, Tensor<T>& v, Tensor<T>* g) const override {
    const int64_t k = last_dim(p), rows = v.size();
    const T lo = static_cast<T>(kEpsilon), hi = T(1) - static_cast<T>(kEpsilon);
    for (int64_t r = 0; r < rows; ++r) {
      T sum = 0;
      for (int64_t j = 0; j < k; ++j) {
        const int64_t i = r * k + j;
        T t = y[i];
        if (smoothing_ != 0.0) t = t * static_cast<T>(1.0 - smoothing_) + static_cast<T>(0.5 * smoothing_);
        T d;
        if (from_logits_) {
          // tf.nn.sigmoid_cross_entropy_with_logits: max(z,0) - z·t + log1p(exp(-|z|)).
          const T z = p[i];
          sum += std::max(z, T(0)) - z * t + std::log1p(std::exp(-std::abs(z)));
          d = T(1) / (T(1) + std::exp(-z)) - t;
        } else {
          const T q = std::clamp(p[i], lo, hi);
          sum += -(t * std::log(q) + (T(1) - t) * std::log(T(1) - q));
          const bool inside = p[i] >= lo && p[i] <= hi;
          d = inside ? -t / q + (T(1) - t) / (T(1) - q) : T(0);
        }
        if (g) (*g)[i] = d / static_cast<T>(k);
      }
      v[r] = sum / static_cast<T>(k);
    }
  }

 private:
  bool from_logits_;
  double smoothing_;
};

template <class T>
class CategoricalCrossentropy : public Loss<T> {
 public:
  CategoricalCrossentropy(Reduction r, bool from_logits, double smoothing)
      : Loss<T>("categorical_crossentropy", r), from_logits_(from_logits), smoothing_(smoothing) {}
  void function(const Tensor<T>& y, const Tensor<T>& p, Tensor<T>& v, Tensor<T>* g) const override {
    const int64_t k = last_dim(p), rows = v.size();
    const T lo = static_cast<T>(kEpsilon), hi = T(1) - static_cast<T>(kEpsilon);
    std::vector<T> t(static_cast<size_t>(k)), q(static_cast<size_t>(k));
    for (int64_t r = 0; r < rows; ++r) {
      const T* pr = p.data() + r * k;
      for (int64_t j = 0; j < k; ++j) {
        t[j] = y[r * k + j];
        if (smoothing_ != 0.0)
          t[j] = t[j] * static_cast<T>(1.0 - smoothing_) + static_cast<T>(smoothing_) / static_cast<T>(k);
      }
      if (from_logits_) {
        // softmax_cross_entropy_with_logits: Σ t·(log Σexp(z - max) - (z - max)).
        T m = pr[0];
        for (int64_t j = 1; j < k; ++j) m = std::max(m, pr[j]);
        T s = 0;
        for (int64_t j = 0; j < k; ++j) s += std::exp(pr[j] - m);
        const T lse = std::log(s);
        T loss = 0;
        for (int64_t j = 0; j < k; ++j) {
          loss += t[j] * (lse - (pr[j] - m));
          if (g) (*g)[r * k + j] = std::exp(pr[j] - m) / s - t[j];
        }
        v[r] = loss;
      } else {
        // Normalise so the row sums to one, then clip (the TF backend's probability path).
        T s = 0;
        for (int64_t j = 0; j < k; ++j) s += pr[j];
        T loss = 0;
        for (int64_t j = 0; j < k; ++j) {
          const T o = pr[j] / s;
          q[j] = std::clamp(o, lo, hi);
          loss -= t[j] * std::log(q[j]);
        }
        v[r] = loss;
        if (g) {
          // dv/do_j = -t_j / q_j inside the clip range; dv/dp_i = (dv/do_i - Σ_j dv/do_j·o_j) / s.
          T dot = 0;
          for (int64_t j = 0; j < k; ++j) {
            const T o = pr[j] / s;
            const T d = (o >= lo && o <= hi) ? -t[j] / q[j] : T(0);
            (*g)[r * k + j] = d;
            dot += d * o;
          }
          for (int64_t j = 0; j < k; ++j) (*g)[r * k + j] = ((*g)[r * k + j] - dot) / s;
        }
      }
    }
  }

 private:
  bool from_logits_;
  double smoothing_;
};

template <class T>
class SparseCategoricalCrossentropy : public Loss<T> {
 public:
  SparseCategoricalCrossentropy(Reduction r, bool from_logits)
      : Loss<T>("sparse_categorical_crossentropy", r), from_logits_(from_logits) {}
  bool sparse_targets() const override { return true; }
  void function(const Tensor<T>& y, const Tensor<T>& p, Tensor<T>& v, Tensor<T>* g) const override {
    const int64_t k = last_dim(p), rows = v.size();
    const T lo = static_cast<T>(kEpsilon), hi = T(1) - static_cast<T>(kEpsilon);
    std::vector<T> z(static_cast<size_t>(k));
    for (int64_t r = 0; r < rows; ++r) {
      const T* pr = p.data() + r * k;
      const int64_t label = static_cast<int64_t>(y[r]);
      // The logits: z itself, or log(clip(p)) on the probability path.
      for (int64_t j = 0; j < k; ++j) z[j] = from_logits_ ? pr[j] : std::log(std::clamp(pr[j], lo, hi));
      T m = z[0];
      for (int64_t j = 1; j < k; ++j) m = std::max(m, z[j]);
      T s = 0;
      for (int64_t j = 0; j < k; ++j) s += std::exp(z[j] - m);
      v[r] = std::log(s) - (z[label] - m);
      if (!g) continue;
      for (int64_t j = 0; j < k; ++j) {
        T d = std::exp(z[j] - m) / s - (j == label ? T(1) : T(0));
        if (!from_logits_) d = (pr[j] >= lo && pr[j] <= hi) ? d / std::clamp(pr[j], lo, hi) : T(0);
        (*g)[r * k + j] = d;
      }
    }
  }

 protected:
  void check_targets(const Tensor<T>& y, const Tensor<T>& p) const override {
    const int64_t k = last_dim(p);
    for (int64_t i = 0; i < y.size(); ++i) {
      const T label = y[i];
      if (!(label >= T(0) && label < static_cast<T>(k)) || label != std::floor(label)) {
        std::ostringstream msg;
        msg << "loss '" << this->name() << "': y_true[" << i << "] = " << static_cast<double>(label)
            << " is not a class id in [0, " << k << ") (y_pred has " << k << " classes)";
        throw ConfigError(msg.str());
      }
    }
  }

 private:
  bool from_logits_;
};

// ---- shape reconciliation and reduction ------------------------------------------------------
Shape drop_last(const Shape& s) { return Shape(s.begin(), s.end() - 1); }

// Keras squeeze_or_expand_to_same_rank for y_true against `want` (y_pred's shape, or its
// shape without the class axis for sparse losses): a trailing 1 may be added or removed.
template <class T>
Tensor<T> reconcile_targets(const std::string& loss, const Tensor<T>& y_true, const Shape& want, bool sparse,
                            const Shape& pred_shape) {
  const Shape& got = y_true.shape();
  if (got == want) return y_true;
  Shape squeezed = got, expanded = got;
  if (!got.empty() && got.back() == 1) squeezed.pop_back();
  expanded.push_back(1);
  if (squeezed == want || expanded == want) return y_true.reshaped(want);
  const std::string expected =
      sparse ? "class ids of shape " + to_string(want) + " (or with a trailing 1)" : "shape " + to_string(want);
  throw ShapeError("loss '" + loss + "': y_true has shape " + to_string(got) + ", expected " + expected +
                   " to match y_pred of shape " + to_string(pred_shape));
}

// Per-value weights from sample_weight and mask (K3 loss.py reduce_weighted_values/apply_mask).
// Returns an empty tensor when neither is given.
template <class T>
Tensor<T> value_weights(const std::string& loss, const Shape& values_shape, const Tensor<T>* sample_weight,
                        const Mask* mask, Reduction reduction) {
  if (!sample_weight && !mask) return {};
  const int64_t n = num_elements(values_shape);
  Tensor<T> w(values_shape, T(1));
  if (sample_weight) {
    const Shape& s = sample_weight->shape();
    Shape s_squeezed = s;
    if (s.size() == values_shape.size() + 1 && s.back() == 1) s_squeezed.pop_back();
    if (s_squeezed == values_shape) {
      for (int64_t i = 0; i < n; ++i) w[i] = (*sample_weight)[i];
    } else if (s.size() == 1 && !values_shape.empty() && s[0] == values_shape[0]) {
      const int64_t per_sample = n / std::max<int64_t>(values_shape[0], 1);
      for (int64_t i = 0; i < n; ++i) w[i] = (*sample_weight)[i / per_sample];
    } else {
      std::string expected = to_string(values_shape);
      if (values_shape.size() > 1) expected += " or [" + std::to_string(values_shape[0]) + "]";
      throw ShapeError("loss '" + loss + "': sample_weight has shape " + to_string(s) + ", expected " + expected);
    }
  }
  if (mask) {
    if (mask->shape() != values_shape)
      throw ShapeError("loss '" + loss + "': the mask of y_pred has shape " + to_string(mask->shape()) + ", expected " +
                       to_string(values_shape) + " (one entry per loss value)");
    T mask_weight = T(1);
    if (reduction == Reduction::sum_over_batch_size || reduction == Reduction::mean) {
      // Unmasked entries weigh total/valid, so that dividing by the total averages over them.
      int64_t valid = 0;
      for (int64_t i = 0; i < n; ++i) valid += (*mask)[i] != 0;
      mask_weight = valid == 0 ? T(0) : static_cast<T>(n) / static_cast<T>(valid);
    }
    for (int64_t i = 0; i < n; ++i) w[i] *= (*mask)[i] ? mask_weight : T(0);
  }
  return w;
}

}  // namespace

Reduction reduction_from_name(const std::string& name) {
  if (name == "sum_over_batch_size") return Reduction::sum_over_batch_size;
  if (name == "sum") return Reduction::sum;
  if (name == "mean") return Reduction::mean;
  if (name == "mean_with_sample_weight") return Reduction::mean_with_sample_weight;
  if (name == "none") return Reduction::none;
  throw ConfigError("unknown loss reduction '" + name +
                    "', expected one of sum_over_batch_size, sum, mean, mean_with_sample_weight, none");
}

std::string reduction_name(Reduction r) {
  switch (r) {
    case Reduction::sum_over_batch_size:
      return "sum_over_batch_size";
    case Reduction::sum:
      return "sum";
    case Reduction::mean:
      return "mean";
    case Reduction::mean_with_sample_weight:
      return "mean_with_sample_weight";
    case Reduction::none:
      return "none";
  }
  return "none";
}

template <class T>
LossResult<T> Loss<T>::compute(const Tensor<T>& y_true, const Tensor<T>& y_pred, const Tensor<T>* sample_weight,
                               const Mask* mask) const {
  if (y_pred.rank() < 2)
    throw ShapeError("loss '" + name_ + "': y_pred has shape " + to_string(y_pred.shape()) +
                     ", expected at least 2 axes [batch, ..., features]");
  if (y_pred.shape().back() < 1)
    throw ShapeError("loss '" + name_ + "': y_pred has shape " + to_string(y_pred.shape()) +
                     ", expected a non-empty last axis");
  const bool sparse = sparse_targets();
  const Shape values_shape = drop_last(y_pred.shape());
  const Tensor<T> targets =
      reconcile_targets(name_, y_true, sparse ? values_shape : y_pred.shape(), sparse, y_pred.shape());
  check_targets(targets, y_pred);

  LossResult<T> out;
  out.values = Tensor<T>(values_shape);
  out.grad = Tensor<T>(y_pred.shape());
  function(targets, y_pred, out.values, &out.grad);

  const int64_t n = out.values.size(), k = y_pred.shape().back();
  const Tensor<T> w = value_weights(name_, values_shape, sample_weight, mask, reduction_);
  // Σ v·w in double, then the divisor of the reduction.
  double total = 0.0, weight_sum = 0.0;
  for (int64_t i = 0; i < n; ++i) {
    if (!w.empty()) out.values[i] *= w[i];
    total += static_cast<double>(out.values[i]);
    weight_sum += w.empty() ? 1.0 : static_cast<double>(w[i]);
  }
  double divisor = 1.0;
  if (reduction_ == Reduction::sum_over_batch_size || reduction_ == Reduction::mean) divisor = static_cast<double>(n);
  if (reduction_ == Reduction::mean_with_sample_weight) divisor = w.empty() ? static_cast<double>(n) : weight_sum;
  // divide_no_nan: a zero divisor gives a zero loss (and zero gradient).
  const double scale = divisor == 0.0 ? 0.0 : 1.0 / divisor;
  out.loss = static_cast<T>(total * scale);
  for (int64_t i = 0; i < n; ++i) {
    const T f = static_cast<T>((w.empty() ? 1.0 : static_cast<double>(w[i])) * scale);
    for (int64_t j = 0; j < k; ++j) out.grad[i * k + j] *= f;
  }
  return out;
}

namespace {

struct LossName {
  const char* canonical;
  std::vector<std::string> aliases;
};

const std::vector<LossName>& loss_names() {
  static const std::vector<LossName> names = {
      {"mean_squared_error", {"mse", "MeanSquaredError"}},
      {"mean_absolute_error", {"mae", "MeanAbsoluteError"}},
      {"huber", {"Huber"}},
      {"binary_crossentropy", {"BinaryCrossentropy"}},
      {"categorical_crossentropy", {"CategoricalCrossentropy"}},
      {"sparse_categorical_crossentropy", {"SparseCategoricalCrossentropy"}},
  };
  return names;
}

}  // namespace

std::string canonical_loss_name(const std::string& name) {
  for (const auto& n : loss_names()) {
    if (name == n.canonical) return n.canonical;
    for (const auto& a : n.aliases)
      if (name == a) return n.canonical;
  }
  std::string known;
  for (const auto& n : loss_names()) known += (known.empty() ? "" : ", ") + std::string(n.canonical);
  throw ConfigError("unknown loss '" + name + "', expected one of " + known + " (or mse, mae, or a class name)");
}

template <class T>
std::unique_ptr<Loss<T>> make_loss(const std::string& name, const LossOptions& o) {
  const std::string n = canonical_loss_name(name);
  if (!(o.label_smoothing >= 0.0 && o.label_smoothing <= 1.0))
    throw ConfigError("loss '" + n + "': label_smoothing must be in [0, 1], got " +
                      detail::python_float_repr(o.label_smoothing));
  if (n == "mean_squared_error") return std::make_unique<MeanSquaredError<T>>(o.reduction);
  if (n == "mean_absolute_error") return std::make_unique<MeanAbsoluteError<T>>(o.reduction);
  if (n == "huber") {
    if (!(o.delta > 0.0))
      throw ConfigError("loss 'huber': delta must be > 0, got " + detail::python_float_repr(o.delta));
    return std::make_unique<Huber<T>>(o.reduction, o.delta);
  }
  if (n == "binary_crossentropy")
    return std::make_unique<BinaryCrossentropy<T>>(o.reduction, o.from_logits, o.label_smoothing);
  if (n == "categorical_crossentropy")
    return std::make_unique<CategoricalCrossentropy<T>>(o.reduction, o.from_logits, o.label_smoothing);
  return std::make_unique<SparseCategoricalCrossentropy<T>>(o.reduction, o.from_logits);
}

template class Loss<float>;
template class Loss<double>;
template std::unique_ptr<Loss<float>> make_loss<float>(const std::string&, const LossOptions&);
template std::unique_ptr<Loss<double>> make_loss<double>(const std::string&, const LossOptions&);

}  // namespace rnnx
