// SGD, Adam, AdamW, RMSprop, Adagrad update steps (headers sgd.h, adam.h, rmsprop.h,
// adagrad.h). Each step is written in the order of the Keras ops, in T, with Python-float
// hyperparameter expressions (1 - beta_1, ...) computed in double and then cast, as Keras
// does when it mixes a Python float with a float32 tensor.
#include <algorithm>
#include <cmath>

#include "rnnx/core/error.h"
#include "rnnx/train/adagrad.h"
#include "rnnx/train/adam.h"
#include "rnnx/train/rmsprop.h"
#include "rnnx/train/sgd.h"
#include "train/format.h"

namespace rnnx {
namespace {

template <class T>
std::vector<Tensor<T>> zeros_like(const std::vector<Shape>& shapes, T fill = T(0)) {
  std::vector<Tensor<T>> out;
  out.reserve(shapes.size());
  for (const auto& s : shapes) out.emplace_back(s, fill);
  return out;
}

}  // namespace

// ---- SGD ------------------------------------------------------------------------------------
template <class T>
SGD<T>::SGD(SGDOptions options, OptimizerOptions base)
    : Optimizer<T>("sgd", options.learning_rate, std::move(base)), options_(std::move(options)) {
  if (!(options_.momentum >= 0.0 && options_.momentum <= 1.0))
    throw ConfigError("optimizer 'sgd': momentum must be a float in [0, 1], got " +
                      detail::python_float_repr(options_.momentum));
  if (options_.momentum != 0.0) this->add_slot("momentum", momentums_);
}

template <class T>
void SGD<T>::build(const std::vector<Shape>& shapes) {
  if (options_.momentum != 0.0) momentums_ = zeros_like<T>(shapes);
}

template <class T>
void SGD<T>::update_step(size_t index, const Tensor<T>& grad, Tensor<T>& variable, T lr) {
  if (options_.momentum == 0.0) {
    for (int64_t i = 0; i < variable.size(); ++i) variable[i] -= grad[i] * lr;
    return;
  }
  const T mu = static_cast<T>(options_.momentum);
  Tensor<T>& m = momentums_[index];
  for (int64_t i = 0; i < variable.size(); ++i) {
    m[i] = m[i] * mu - grad[i] * lr;
    variable[i] += options_.nesterov ? m[i] * mu - grad[i] * lr : m[i];
  }
}

// ---- Adam / AdamW ---------------------------------------------------------------------------
template <class T>
Adam<T>::Adam(AdamOptions options, OptimizerOptions base) : Adam("adam", std::move(options), std::move(base)) {}

template <class T>
Adam<T>::Adam(std::string name, AdamOptions options, OptimizerOptions base)
    : Optimizer<T>(std::move(name), options.learning_rate, std::move(base)), options_(std::move(options)) {
  this->add_slot("momentum", m_);
  this->add_slot("velocity", v_);
  if (options_.amsgrad) this->add_slot("velocity_hat", v_hat_);
}

template <class T>
void Adam<T>::build(const std::vector<Shape>& shapes) {
  m_ = zeros_like<T>(shapes);
  v_ = zeros_like<T>(shapes);
  if (options_.amsgrad) v_hat_ = zeros_like<T>(shapes);
}

template <class T>
void Adam<T>::update_step(size_t index, const Tensor<T>& grad, Tensor<T>& variable, T lr) {
  const T local_step = static_cast<T>(this->iterations() + 1);
  const T beta_1_power = std::pow(static_cast<T>(options_.beta_1), local_step);
  const T beta_2_power = std::pow(static_cast<T>(options_.beta_2), local_step);
  const T alpha = lr * std::sqrt(T(1) - beta_2_power) / (T(1) - beta_1_power);
  const T one_minus_b1 = static_cast<T>(1.0 - options_.beta_1), one_minus_b2 = static_cast<T>(1.0 - options_.beta_2);
  const T eps = static_cast<T>(options_.epsilon);
  Tensor<T>& m = m_[index];
  Tensor<T>& v = v_[index];
  const Tensor<T>* squares = this->grad_squares(index);  // a row-lookup gradient (optimizer.h)
  for (int64_t i = 0; i < variable.size(); ++i) {
    const T g = grad[i];
    m[i] += (g - m[i]) * one_minus_b1;
    v[i] += ((squares ? (*squares)[i] : g * g) - v[i]) * one_minus_b2;
    T vi = v[i];
    if (options_.amsgrad) {
      T& vh = v_hat_[index][i];
      vh = std::max(vh, v[i]);
      vi = vh;
    }
    variable[i] -= (m[i] * alpha) / (std::sqrt(vi) + eps);
  }
}

namespace {
OptimizerOptions adamw_base(OptimizerOptions base) {
  if (!base.weight_decay) base.weight_decay = 0.004;
  return base;
}
}  // namespace

template <class T>
AdamW<T>::AdamW(AdamOptions options, OptimizerOptions base)
    : Adam<T>("adamw", std::move(options), adamw_base(std::move(base))) {}

// ---- RMSprop --------------------------------------------------------------------------------
template <class T>
RMSprop<T>::RMSprop(RMSpropOptions options, OptimizerOptions base)
    : Optimizer<T>("rmsprop", options.learning_rate, std::move(base)), options_(std::move(options)) {
  this->add_slot("velocity", v_);
  if (options_.momentum > 0.0) this->add_slot("momentum", mom_);
  if (options_.centered) this->add_slot("average_gradient", avg_);
}

template <class T>
void RMSprop<T>::build(const std::vector<Shape>& shapes) {
  v_ = zeros_like<T>(shapes);
  if (options_.momentum > 0.0) mom_ = zeros_like<T>(shapes);
  if (options_.centered) avg_ = zeros_like<T>(shapes);
}

template <class T>
void RMSprop<T>::update_step(size_t index, const Tensor<T>& grad, Tensor<T>& variable, T lr) {
  const T rho = static_cast<T>(options_.rho), one_minus_rho = static_cast<T>(1.0 - options_.rho);
  const T eps = static_cast<T>(options_.epsilon), mu = static_cast<T>(options_.momentum);
  Tensor<T>& v = v_[index];
  const Tensor<T>* squares = this->grad_squares(index);  // a row-lookup gradient (optimizer.h)
  for (int64_t i = 0; i < variable.size(); ++i) {
    const T g = grad[i];
    v[i] = rho * v[i] + one_minus_rho * (squares ? (*squares)[i] : g * g);
    T denominator;
    if (options_.centered) {
      T& a = avg_[index][i];
      a = rho * a + one_minus_rho * g;
      denominator = v[i] - a * a + eps;
    } else {
      denominator = v[i] + eps;
    }
    const T increment = (lr * g) / std::sqrt(denominator);
    if (options_.momentum > 0.0) {
      T& m = mom_[index][i];
      m = mu * m + increment;
      variable[i] -= m;
    } else {
      variable[i] -= increment;
    }
  }
}

// ---- Adagrad --------------------------------------------------------------------------------
template <class T>
Adagrad<T>::Adagrad(AdagradOptions options, OptimizerOptions base)
    : Optimizer<T>("adagrad", options.learning_rate, std::move(base)), options_(std::move(options)) {
  if (!(options_.initial_accumulator_value >= 0.0))
    throw ConfigError("optimizer 'adagrad': initial_accumulator_value must be >= 0, got " +
                      detail::python_float_repr(options_.initial_accumulator_value));
  this->add_slot("accumulator", acc_);
}

template <class T>
void Adagrad<T>::build(const std::vector<Shape>& shapes) {
  acc_ = zeros_like<T>(shapes, static_cast<T>(options_.initial_accumulator_value));
}

template <class T>
void Adagrad<T>::update_step(size_t index, const Tensor<T>& grad, Tensor<T>& variable, T lr) {
  const T eps = static_cast<T>(options_.epsilon);
  Tensor<T>& acc = acc_[index];
  const Tensor<T>* squares = this->grad_squares(index);  // a row-lookup gradient (optimizer.h)
  for (int64_t i = 0; i < variable.size(); ++i) {
    acc[i] += squares ? (*squares)[i] : grad[i] * grad[i];
    variable[i] -= (lr * grad[i]) / std::sqrt(acc[i] + eps);
  }
}

template class SGD<float>;
template class SGD<double>;
template class Adam<float>;
template class Adam<double>;
template class AdamW<float>;
template class AdamW<double>;
template class RMSprop<float>;
template class RMSprop<double>;
template class Adagrad<float>;
template class Adagrad<double>;

}  // namespace rnnx
