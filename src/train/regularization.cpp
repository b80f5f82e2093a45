// Regularizer penalties and constraint projections (include/rnnx/train/regularization.h).
#include "rnnx/train/regularization.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "rnnx/core/error.h"

namespace rnnx {
namespace {

template <class T>
T sign(T x) {
  return x > T(0) ? T(1) : (x < T(0) ? T(-1) : T(0));
}

// For each element, the index of its "norm group": its coordinates with the reduced axes
// dropped, flattened. Returns the group of every element and the number of groups.
template <class T>
std::vector<int64_t> norm_groups(const Tensor<T>& w, const std::vector<int64_t>& axes, const std::string& what,
                                 int64_t& groups) {
  const int64_t rank = w.rank();
  std::vector<bool> reduced(static_cast<size_t>(rank), false);
  for (int64_t a : axes) {
    const int64_t ax = a < 0 ? a + rank : a;
    if (ax < 0 || ax >= rank)
      throw ConfigError("constraint on " + what + ": axis " + std::to_string(a) + " is out of range for shape " +
                        to_string(w.shape()));
    reduced[static_cast<size_t>(ax)] = true;
  }
  // Strides of the kept axes in the group index.
  std::vector<int64_t> group_stride(static_cast<size_t>(rank), 0);
  groups = 1;
  for (int64_t d = rank - 1; d >= 0; --d) {
    if (reduced[static_cast<size_t>(d)]) continue;
    group_stride[static_cast<size_t>(d)] = groups;
    groups *= w.shape()[static_cast<size_t>(d)];
  }
  std::vector<int64_t> group(static_cast<size_t>(w.size()));
  std::vector<int64_t> coord(static_cast<size_t>(rank), 0);
  for (int64_t i = 0; i < w.size(); ++i) {
    int64_t g = 0;
    for (int64_t d = 0; d < rank; ++d) g += coord[static_cast<size_t>(d)] * group_stride[static_cast<size_t>(d)];
    group[static_cast<size_t>(i)] = g;
    for (int64_t d = rank - 1; d >= 0; --d) {  // advance the row-major coordinate
      if (++coord[static_cast<size_t>(d)] < w.shape()[static_cast<size_t>(d)]) break;
      coord[static_cast<size_t>(d)] = 0;
    }
  }
  return group;
}

}  // namespace

template <class T>
T penalty(const Regularizer& r, const Tensor<T>& x) {
  double l1 = 0.0, l2 = 0.0;
  for (T v : x.values()) {
    l1 += std::abs(static_cast<double>(v));
    l2 += static_cast<double>(v) * static_cast<double>(v);
  }
  T out = T(0);
  if (r.l1 != 0.0) out += static_cast<T>(r.l1) * static_cast<T>(l1);
  if (r.l2 != 0.0) out += static_cast<T>(r.l2) * static_cast<T>(l2);
  return out;
}

template <class T>
void add_penalty_grad(const Regularizer& r, const Tensor<T>& x, Tensor<T>& grad, T scale) {
  const T l1 = static_cast<T>(r.l1), two_l2 = static_cast<T>(2.0 * r.l2);
  for (int64_t i = 0; i < x.size(); ++i) grad[i] += scale * (l1 * sign(x[i]) + two_l2 * x[i]);
}

template <class T>
T activity_penalty(const Regularizer& r, const Tensor<T>& y) {
  const int64_t batch = y.rank() > 0 ? y.dim(0) : 1;
  if (batch == 0) return T(0);
  return penalty(r, y) / static_cast<T>(batch);
}

template <class T>
void add_activity_penalty_grad(const Regularizer& r, const Tensor<T>& y, Tensor<T>& grad) {
  const int64_t batch = y.rank() > 0 ? y.dim(0) : 1;
  if (batch == 0) return;
  add_penalty_grad(r, y, grad, T(1) / static_cast<T>(batch));
}

template <class T>
T activity_penalty(const Regularizer& r, const std::vector<Tensor<T>>& outputs) {
  T sum = T(0);
  for (const auto& y : outputs) sum += activity_penalty(r, y);
  return sum;
}

template <class T>
void add_activity_grads(const Regularizer& r, const std::vector<Tensor<T>>& outputs, std::vector<Tensor<T>>& grads) {
  if (grads.size() < outputs.size()) grads.resize(outputs.size());
  for (size_t i = 0; i < outputs.size(); ++i) {
    if (grads[i].empty()) grads[i] = Tensor<T>(outputs[i].shape());
    add_activity_penalty_grad(r, outputs[i], grads[i]);
  }
}

template <class T>
void apply_constraint(const Constraint& c, Tensor<T>& w, const std::string& what) {
  if (c.kind == ConstraintKind::none) return;
  if (c.kind == ConstraintKind::non_neg) {
    for (T& v : w.values()) v = v >= T(0) ? v : T(0);
    return;
  }
  int64_t groups = 0;
  const std::vector<int64_t> group = norm_groups(w, c.axis, what, groups);
  std::vector<double> sq(static_cast<size_t>(groups), 0.0);
  for (int64_t i = 0; i < w.size(); ++i)
    sq[static_cast<size_t>(group[static_cast<size_t>(i)])] += static_cast<double>(w[i]) * static_cast<double>(w[i]);
  // Per group: the factor desired / (eps + n), computed in T like Keras's float32 ops.
  const T eps = static_cast<T>(1e-7);
  std::vector<T> factor(static_cast<size_t>(groups));
  for (int64_t g = 0; g < groups; ++g) {
    const T n = static_cast<T>(std::sqrt(sq[static_cast<size_t>(g)]));
    T desired = n;
    if (c.kind == ConstraintKind::max_norm) desired = std::clamp(n, T(0), static_cast<T>(c.max_value));
    if (c.kind == ConstraintKind::min_max_norm)
      desired = static_cast<T>(c.rate) * std::clamp(n, static_cast<T>(c.min_value), static_cast<T>(c.max_value)) +
                static_cast<T>(1.0 - c.rate) * n;
    factor[static_cast<size_t>(g)] = desired / (eps + n);
  }
  if (c.kind == ConstraintKind::unit_norm) {
    // UnitNorm divides (w / (eps + n)) rather than multiplying by a factor.
    for (int64_t i = 0; i < w.size(); ++i) {
      const T n = static_cast<T>(std::sqrt(sq[static_cast<size_t>(group[static_cast<size_t>(i)])]));
      w[i] = w[i] / (eps + n);
    }
    return;
  }
  for (int64_t i = 0; i < w.size(); ++i) w[i] *= factor[static_cast<size_t>(group[static_cast<size_t>(i)])];
}

template float penalty<float>(const Regularizer&, const Tensor<float>&);
template void add_penalty_grad<float>(const Regularizer&, const Tensor<float>&, Tensor<float>&, float);
template float activity_penalty<float>(const Regularizer&, const Tensor<float>&);
template void add_activity_penalty_grad<float>(const Regularizer&, const Tensor<float>&, Tensor<float>&);
template float activity_penalty<float>(const Regularizer&, const std::vector<Tensor<float>>&);
template void add_activity_grads<float>(const Regularizer&, const std::vector<Tensor<float>>&,
                                        std::vector<Tensor<float>>&);
template void apply_constraint<float>(const Constraint&, Tensor<float>&, const std::string&);
template double penalty<double>(const Regularizer&, const Tensor<double>&);
template void add_penalty_grad<double>(const Regularizer&, const Tensor<double>&, Tensor<double>&, double);
template double activity_penalty<double>(const Regularizer&, const Tensor<double>&);
template void add_activity_penalty_grad<double>(const Regularizer&, const Tensor<double>&, Tensor<double>&);
template double activity_penalty<double>(const Regularizer&, const std::vector<Tensor<double>>&);
template void add_activity_grads<double>(const Regularizer&, const std::vector<Tensor<double>>&,
                                         std::vector<Tensor<double>>&);
template void apply_constraint<double>(const Constraint&, Tensor<double>&, const std::string&);

}  // namespace rnnx
