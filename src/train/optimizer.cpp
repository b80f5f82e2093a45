// The optimizer base and make_optimizer (include/rnnx/train/optimizer.h).
#include "rnnx/train/optimizer.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <set>
#include <span>

#include "rnnx/core/error.h"
#include "rnnx/train/adagrad.h"
#include "rnnx/train/adam.h"
#include "rnnx/train/regularization.h"
#include "rnnx/train/rmsprop.h"
#include "rnnx/train/sgd.h"
#include "train/format.h"

namespace rnnx {
namespace {

std::string number(double v) { return detail::python_float_repr(v); }

// "<slot>/<index>/<param name>", or "<slot>/<index>" for an unnamed param (optimizer.h).
std::string state_entry_name(const std::string& slot, size_t index, const std::string& param) {
  std::string name = slot + "/" + std::to_string(index);
  if (!param.empty()) name += "/" + param;
  return name;
}

void check_non_negative(const std::string& where, const char* what, const std::optional<double>& v) {
  if (v && !(*v >= 0.0)) throw ConfigError(where + ": " + what + " must be >= 0, got " + number(*v));
}

}  // namespace

template <class T>
Optimizer<T>::Optimizer(std::string name, LearningRate learning_rate, OptimizerOptions options)
    : name_(std::move(name)), learning_rate_(std::move(learning_rate)), options_(std::move(options)) {
  const std::string where = "optimizer '" + name_ + "'";
  if (!learning_rate_.is_schedule() && !(learning_rate_.given() >= 0.0))
    throw ConfigError(where + ": learning_rate must be >= 0, got " + number(learning_rate_.given()));
  check_non_negative(where, "weight_decay", options_.weight_decay);
  check_non_negative(where, "clipnorm", options_.clipnorm);
  check_non_negative(where, "clipvalue", options_.clipvalue);
  check_non_negative(where, "global_clipnorm", options_.global_clipnorm);
  const int clips = int(options_.clipnorm.has_value()) + int(options_.clipvalue.has_value()) +
                    int(options_.global_clipnorm.has_value());
  if (clips > 1) throw ConfigError(where + ": only one of clipnorm, clipvalue and global_clipnorm can be set");
}

template <class T>
void Optimizer<T>::set_iterations(int64_t iterations) {
  if (iterations < 0) throw ConfigError(where() + ": iterations must be >= 0, got " + std::to_string(iterations));
  iterations_ = iterations;
}

template <class T>
void Optimizer<T>::set_learning_rate(double learning_rate) {
  if (learning_rate_.is_schedule())
    throw ConfigError(where() + ": it was created with a LearningRateSchedule, so its learning rate is not settable");
  if (!(learning_rate >= 0.0))
    throw ConfigError(where() + ": learning_rate must be >= 0, got " + number(learning_rate));
  learning_rate_ = LearningRate(learning_rate);
}

template <class T>
bool Optimizer<T>::use_weight_decay(const std::string& param_name) const {
  for (const auto& pattern : options_.exclude_from_weight_decay)
    if (param_name.find(pattern) != std::string::npos) return false;
  return true;
}

template <class T>
void Optimizer<T>::clip_gradients() {
  // What Keras clips: the rows of a row-lookup gradient applied the TensorFlow way (so a
  // norm is over the unsummed rows, and each row is clipped by value on its own), else the
  // gradient.
  auto numbers = [&](size_t i) -> std::span<T> { return sparse_[i] ? std::span<T>(rows_[i]) : scratch_[i].values(); };
  if (options_.clipnorm && *options_.clipnorm > 0.0) {
    const T c = static_cast<T>(*options_.clipnorm);
    for (size_t i = 0; i < scratch_.size(); ++i) {
      double sq = 0.0;
      for (T x : numbers(i)) sq += static_cast<double>(x) * static_cast<double>(x);
      const T norm = static_cast<T>(std::sqrt(sq));
      const T denom = std::max(norm, c);
      for (T& x : numbers(i)) x = x * c / denom;
    }
  } else if (options_.global_clipnorm && *options_.global_clipnorm > 0.0) {
    double sq = 0.0;
    for (size_t i = 0; i < scratch_.size(); ++i)
      for (T x : numbers(i)) sq += static_cast<double>(x) * static_cast<double>(x);
    const T norm = static_cast<T>(std::sqrt(sq));
    const T c = static_cast<T>(*options_.global_clipnorm);
    // Keras: clip·min(1/norm, 1/clip) + (norm - norm), NaN when the norm is inf or NaN.
    T scale = c * std::min(T(1) / norm, static_cast<T>(1.0 / *options_.global_clipnorm));
    scale += norm - norm;  // NOLINT(misc-redundant-expression): NaN when norm is Inf, as Keras
    // Keras scales with `v * scale`, which turns a tf.IndexedSlices into a dense tensor (its
    // rows summed): after global clipping every gradient is dense.
    sparse_.assign(sparse_.size(), nullptr);
    for (auto& g : scratch_)
      for (T& x : g.values()) x *= scale;
  } else if (options_.clipvalue && *options_.clipvalue > 0.0) {
    const T c = static_cast<T>(*options_.clipvalue);
    for (size_t i = 0; i < scratch_.size(); ++i)
      for (T& x : numbers(i)) x = std::clamp(x, -c, c);
  }
}

template <class T>
void Optimizer<T>::densify_rows() {
  for (size_t i = 0; i < scratch_.size(); ++i) {
    if (!sparse_[i]) continue;
    // As TensorFlow densifies an IndexedSlices (unsorted_segment_sum, rows in order), once
    // for the rows (g) and once for their squares.
    Tensor<T>& g = scratch_[i];
    Tensor<T>& sq = squares_[i];
    g.fill(T(0));
    if (sq.shape() != g.shape()) sq = Tensor<T>(g.shape());
    sq.fill(T(0));
    const int64_t width = sparse_[i]->row_size;
    const std::vector<T>& rows = rows_[i];
    for (size_t k = 0; k < sparse_[i]->indices.size(); ++k) {
      T* gr = g.data() + sparse_[i]->indices[k] * width;
      T* sr = sq.data() + sparse_[i]->indices[k] * width;
      const T* r = rows.data() + static_cast<int64_t>(k) * width;
      for (int64_t j = 0; j < width; ++j) {
        gr[j] += r[j];
        sr[j] += r[j] * r[j];
      }
    }
  }
}

template <class T>
const IndexedSlices<T>* Optimizer<T>::tensorflow_rows(const Param<T>& p) const {
  if (options_.row_gradients != RowGradients::tensorflow || !p.sparse_grad || p.regularizer.active()) return nullptr;
  const IndexedSlices<T>& s = *p.sparse_grad;
  const Shape& shape = p.value->shape();
  const int64_t n_rows = shape.empty() ? 0 : shape[0];
  const bool fits = !shape.empty() && s.row_size * n_rows == p.value->size() &&
                    s.values.size() == s.indices.size() * static_cast<size_t>(s.row_size);
  if (!fits)
    throw ShapeError(where() + ": the row gradient of '" + p.name + "' has " + std::to_string(s.indices.size()) +
                     " rows of " + std::to_string(s.row_size) + " numbers (" + std::to_string(s.values.size()) +
                     " values), which do not fit the weight of shape " + to_string(shape));
  for (int64_t index : s.indices)
    if (index < 0 || index >= n_rows)
      throw ShapeError(where() + ": the row gradient of '" + p.name + "' names row " + std::to_string(index) +
                       ", outside the weight of shape " + to_string(shape));
  return &s;
}

template <class T>
std::vector<const Param<T>*> Optimizer<T>::check_trainable(const std::vector<Param<T>>& params, bool need_grads,
                                                           std::vector<Shape>& shapes) const {
  std::vector<const Param<T>*> trainable;
  for (const auto& p : params)
    if (p.trainable) trainable.push_back(&p);
  for (const Param<T>* p : trainable) {
    if (!p->value || (need_grads && !p->grad))
      throw StateError(where() + ": param '" + p->name + "' has no " + (p->value ? "gradient" : "value") +
                       " (build the model first)");
    if (need_grads && p->grad->shape() != p->value->shape())
      throw ShapeError(where() + ": gradient of '" + p->name + "' has shape " + to_string(p->grad->shape()) +
                       ", expected " + to_string(p->value->shape()));
  }
  shapes.clear();
  for (const Param<T>* p : trainable) shapes.push_back(p->value->shape());
  if (built_) {
    if (trainable.size() != shapes_.size())
      throw StateError(where() + ": built for " + std::to_string(shapes_.size()) + " trainable variables, got " +
                       std::to_string(trainable.size()));
    for (size_t i = 0; i < trainable.size(); ++i)
      if (shapes[i] != shapes_[i])
        throw StateError(where() + ": trainable variable " + std::to_string(i) + " ('" + trainable[i]->name +
                         "') has shape " + to_string(shapes[i]) + ", but the optimizer was built for " +
                         to_string(shapes_[i]));
  }
  return trainable;
}

template <class T>
void Optimizer<T>::build_for(const std::vector<const Param<T>*>& trainable, std::vector<Shape> shapes) {
  shapes_ = std::move(shapes);
  names_.clear();
  for (const Param<T>* p : trainable) names_.push_back(p->name);
  build(shapes_);
  built_ = true;
}

template <class T>
void Optimizer<T>::apply(const std::vector<Param<T>>& params) {
  std::vector<Shape> shapes;
  const std::vector<const Param<T>*> trainable = check_trainable(params, true, shapes);
  if (!built_) build_for(trainable, std::move(shapes));
  const size_t n = trainable.size();
  scratch_.resize(n);
  sparse_.assign(n, nullptr);
  rows_.resize(n);
  squares_.resize(n);
  for (size_t i = 0; i < n; ++i) {
    scratch_[i] = *trainable[i]->grad;
    sparse_[i] = tensorflow_rows(*trainable[i]);
    if (sparse_[i]) rows_[i] = sparse_[i]->values;
  }
  clip_gradients();
  densify_rows();

  const float lr_f = learning_rate();
  const T lr = static_cast<T>(lr_f);
  if (options_.weight_decay && *options_.weight_decay != 0.0) {
    const T wd = static_cast<T>(*options_.weight_decay);
    for (const Param<T>* p : trainable) {
      if (!use_weight_decay(p->name)) continue;
      for (T& w : p->value->values()) w -= w * wd * lr;
    }
  }
  for (size_t i = 0; i < trainable.size(); ++i) update_step(i, scratch_[i], *trainable[i]->value, lr);
  sparse_.assign(n, nullptr);  // grad_squares() is for update_step only
  for (const Param<T>* p : trainable)
    if (p->constraint.active()) apply_constraint(p->constraint, *p->value, p->name);
  ++iterations_;
}

// ---- state ----------------------------------------------------------------------------------
template <class T>
std::vector<NamedTensor<T>> Optimizer<T>::state() const {
  std::vector<NamedTensor<T>> out;
  if (!built_) return out;
  for (const Slot& slot : slots_)
    for (size_t i = 0; i < shapes_.size(); ++i)
      out.push_back({state_entry_name(slot.name, i, names_[i]), (*slot.values)[i]});
  return out;
}

template <class T>
void Optimizer<T>::set_state(const std::vector<Param<T>>& params, const std::vector<NamedTensor<T>>& state) {
  std::vector<Shape> shapes;
  const std::vector<const Param<T>*> trainable = check_trainable(params, false, shapes);
  const size_t n = trainable.size();
  std::string slot_names;
  for (const Slot& slot : slots_) slot_names += (slot_names.empty() ? "" : ", ") + slot.name;
  if (state.size() != slots_.size() * n)
    throw FormatError(where() + ": the optimizer state has " + std::to_string(state.size()) + " tensors, expected " +
                      std::to_string(slots_.size() * n) + " (" + (slot_names.empty() ? "no slots" : slot_names) +
                      " for " + std::to_string(n) + " trainable variables)");
  for (size_t k = 0; k < slots_.size(); ++k)
    for (size_t i = 0; i < n; ++i) {
      const NamedTensor<T>& entry = state[k * n + i];
      const std::string expected = state_entry_name(slots_[k].name, i, trainable[i]->name);
      if (entry.name != expected)
        throw FormatError(where() + ": optimizer state entry " + std::to_string(k * n + i) + " is '" + entry.name +
                          "', expected '" + expected + "'");
      if (entry.value.shape() != shapes[i])
        throw FormatError(where() + ": optimizer state '" + entry.name + "' has shape " +
                          to_string(entry.value.shape()) + ", expected " + to_string(shapes[i]));
    }
  if (!built_) build_for(trainable, std::move(shapes));
  for (size_t k = 0; k < slots_.size(); ++k)
    for (size_t i = 0; i < n; ++i) (*slots_[k].values)[i] = state[k * n + i].value;
}

// ---- make_optimizer -------------------------------------------------------------------------
namespace {

std::string lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

// Reads keyword arguments, remembering which were used so leftovers can be reported.
class Kwargs {
 public:
  Kwargs(const std::string& optimizer, const std::map<std::string, double>& kw) : optimizer_(optimizer), kw_(kw) {}
  double get(const std::string& key, double fallback) {
    used_.insert(key);
    auto it = kw_.find(key);
    return it == kw_.end() ? fallback : it->second;
  }
  bool get_bool(const std::string& key, bool fallback) {
    const double v = get(key, fallback ? 1.0 : 0.0);
    if (v != 0.0 && v != 1.0)
      throw ConfigError("optimizer '" + optimizer_ + "': " + key + " must be 0 or 1, got " + number(v));
    return v == 1.0;
  }
  std::optional<double> get_optional(const std::string& key) {
    used_.insert(key);
    auto it = kw_.find(key);
    return it == kw_.end() ? std::nullopt : std::optional<double>(it->second);
  }
  OptimizerOptions base() {
    OptimizerOptions o;
    o.weight_decay = get_optional("weight_decay");
    o.clipnorm = get_optional("clipnorm");
    o.clipvalue = get_optional("clipvalue");
    o.global_clipnorm = get_optional("global_clipnorm");
    return o;
  }
  void check_all_used() const {
    std::string unknown;
    for (const auto& [k, v] : kw_)
      if (!used_.count(k)) unknown += (unknown.empty() ? "" : ", ") + k;
    if (!unknown.empty()) throw ConfigError("optimizer '" + optimizer_ + "': argument(s) not recognized: " + unknown);
  }

 private:
  std::string optimizer_;
  const std::map<std::string, double>& kw_;
  std::set<std::string> used_;
};

}  // namespace

template <class T>
std::unique_ptr<Optimizer<T>> make_optimizer(const std::string& name, const std::map<std::string, double>& kwargs) {
  const std::string n = lower(name);
  Kwargs kw(n, kwargs);
  std::unique_ptr<Optimizer<T>> out;
  if (n == "sgd") {
    SGDOptions o;
    o.learning_rate = kw.get("learning_rate", 0.01);
    o.momentum = kw.get("momentum", o.momentum);
    o.nesterov = kw.get_bool("nesterov", o.nesterov);
    out = std::make_unique<SGD<T>>(o, kw.base());
  } else if (n == "adam" || n == "adamw") {
    AdamOptions o;
    o.learning_rate = kw.get("learning_rate", 0.001);
    o.beta_1 = kw.get("beta_1", o.beta_1);
    o.beta_2 = kw.get("beta_2", o.beta_2);
    o.epsilon = kw.get("epsilon", o.epsilon);
    o.amsgrad = kw.get_bool("amsgrad", o.amsgrad);
    if (n == "adam")
      out = std::make_unique<Adam<T>>(o, kw.base());
    else
      out = std::make_unique<AdamW<T>>(o, kw.base());
  } else if (n == "rmsprop") {
    RMSpropOptions o;
    o.learning_rate = kw.get("learning_rate", 0.001);
    o.rho = kw.get("rho", o.rho);
    o.momentum = kw.get("momentum", o.momentum);
    o.epsilon = kw.get("epsilon", o.epsilon);
    o.centered = kw.get_bool("centered", o.centered);
    out = std::make_unique<RMSprop<T>>(o, kw.base());
  } else if (n == "adagrad") {
    AdagradOptions o;
    o.learning_rate = kw.get("learning_rate", 0.001);
    o.initial_accumulator_value = kw.get("initial_accumulator_value", o.initial_accumulator_value);
    o.epsilon = kw.get("epsilon", o.epsilon);
    out = std::make_unique<Adagrad<T>>(o, kw.base());
  } else {
    throw ConfigError("unknown optimizer '" + name + "', expected one of sgd, adam, adamw, rmsprop, adagrad");
  }
  kw.check_all_used();
  return out;
}

template class Optimizer<float>;
template class Optimizer<double>;
template std::unique_ptr<Optimizer<float>> make_optimizer<float>(const std::string&,
                                                                 const std::map<std::string, double>&);
template std::unique_ptr<Optimizer<double>> make_optimizer<double>(const std::string&,
                                                                   const std::map<std::string, double>&);

}  // namespace rnnx
