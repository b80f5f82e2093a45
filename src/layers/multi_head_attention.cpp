#include "rnnx/layers/multi_head_attention.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "layers/attention_dropout.h"
#include "layers/call_tape.h"
#include "layers/shape_checks.h"

namespace rnnx {
namespace {

template <class T>
const Mask* mask_at(const LayerInputs<T>& in, size_t i) {
  if (i < in.input_masks.size()) return in.input_masks[i];
  return i == 0 ? in.mask : nullptr;
}

// y[r, o] = sum_d x[r, d] w[d, o] + b[o] over rows r of x (an EinsumDense whose kernel,
// flattened, is a [D, O] matrix).
template <class T>
Tensor<T> project(const Tensor<T>& x, int64_t rows, int64_t d, const Tensor<T>& w, const Tensor<T>& b, int64_t o,
                  Shape out_shape) {
  Tensor<T> y(std::move(out_shape), T(0));
  for (int64_t r = 0; r < rows; ++r) {
    T* yr = y.data() + r * o;
    if (!b.empty())
      for (int64_t j = 0; j < o; ++j) yr[j] = b[j];
    for (int64_t c = 0; c < d; ++c) {
      const T xv = x[r * d + c];
      const T* wc = w.data() + c * o;
      for (int64_t j = 0; j < o; ++j) yr[j] += xv * wc[j];
    }
  }
  return y;
}

// The backward of project: accumulates dw, db and returns dx [rows, d] (in dx_shape).
template <class T>
Tensor<T> project_backward(const Tensor<T>& x, const Tensor<T>& dy, int64_t rows, int64_t d, const Tensor<T>& w,
                           Tensor<T>& dw, Tensor<T>* db, int64_t o, const Shape& dx_shape) {
  Tensor<T> dx(dx_shape, T(0));
  for (int64_t r = 0; r < rows; ++r) {
    const T* dyr = dy.data() + r * o;
    if (db)
      for (int64_t j = 0; j < o; ++j) (*db)[j] += dyr[j];
    for (int64_t c = 0; c < d; ++c) {
      const T xv = x[r * d + c];
      const T* wc = w.data() + c * o;
      T* dwc = dw.data() + c * o;
      T acc = 0;
      for (int64_t j = 0; j < o; ++j) {
        dwc[j] += xv * dyr[j];
        acc += wc[j] * dyr[j];
      }
      dx[r * d + c] = acc;
    }
  }
  return dx;
}

}  // namespace

template <class T>
MultiHeadAttention<T>::MultiHeadAttention(MultiHeadAttentionOptions options, std::string name)
    : Layer<T>(std::move(name)), options_(std::move(options)) {
  auto positive = [&](const char* what, int64_t v) {
    if (v <= 0)
      throw ConfigError(this->where() + ": " + what + " must be a positive integer, got " + std::to_string(v));
  };
  positive("num_heads", options_.num_heads);
  positive("key_dim", options_.key_dim);
  if (options_.value_dim) positive("value_dim", *options_.value_dim);
  if (options_.output_shape) positive("output_shape", *options_.output_shape);
  if (!(options_.dropout >= 0.0 && options_.dropout < 1.0))
    throw ConfigError(this->where() + ": dropout must be in [0, 1), got " + std::to_string(options_.dropout));
}

template <class T>
void MultiHeadAttention<T>::check_shapes(const std::vector<Shape>& s) const {
  if (s.size() < 2 || s.size() > 4)
    throw ShapeError(this->where() + ": expected inputs [query, value(, key(, attention_mask))], got " +
                     std::to_string(s.size()) + " inputs");
  for (size_t i = 0; i < std::min<size_t>(s.size(), 3); ++i)
    detail::expect_rank(this->where(), s[i], 3, "(batch, steps, features); rnnx attends over the time axis only");
  const Shape& key = s.size() >= 3 ? s[2] : s[1];
  if (!detail::dims_compatible(s[1][1], key[1]) || !detail::dims_compatible(s[0][0], s[1][0]) ||
      !detail::dims_compatible(s[0][0], key[0]))
    throw ShapeError(this->where() + ": value and key must have the same steps and all inputs the same batch, got " +
                     to_string(s[0]) + ", " + to_string(s[1]) + ", " + to_string(key));
  if (s.size() == 4) {
    const Shape want{s[0][0], s[0][1], s[1][1]};
    bool ok = s[3].size() == 3;
    for (size_t a = 0; ok && a < 3; ++a) ok = detail::dims_compatible(s[3][a], want[a]);
    if (!ok)
      throw ShapeError(this->where() + ": attention_mask has shape " + to_string(s[3]) + ", expected " +
                       to_string(want) + " (batch, query steps, value steps)");
  }
}

template <class T>
void MultiHeadAttention<T>::build(const std::vector<Shape>& input_shapes) {
  check_shapes(input_shapes);
  const int64_t dq = input_shapes[0][2], dv = input_shapes[1][2];
  const int64_t dk = input_shapes.size() >= 3 ? input_shapes[2][2] : dv;
  if (this->built()) {
    if ((dq >= 0 && dq != dq_) || (dv >= 0 && dv != dv_) || (dk >= 0 && dk != dk_))
      throw ShapeError(this->where() + ": built for query / value / key features " + std::to_string(dq_) + " / " +
                       std::to_string(dv_) + " / " + std::to_string(dk_) + ", got " + std::to_string(dq) + " / " +
                       std::to_string(dv) + " / " + std::to_string(dk));
    return;
  }
  if (dq < 0 || dv < 0 || dk < 0) throw ShapeError(this->where() + ": the feature dimensions must be known to build");
  dq_ = dq;
  dv_ = dv;
  dk_ = dk;
  out_dim_ = options_.output_shape.value_or(dq);
  const int64_t n = options_.num_heads, h = options_.key_dim, hv = value_dim();
  Rng rng(this->seed());
  auto make = [&](Dense3& p, Shape kshape, Shape bshape) {
    p.kernel = Tensor<T>(kshape);
    initialize(options_.kernel_initializer, p.kernel, rng);
    p.kernel_grad = Tensor<T>(kshape, T(0));
    if (options_.use_bias) {
      p.bias = Tensor<T>(bshape);
      initialize(options_.bias_initializer, p.bias, rng);
      p.bias_grad = Tensor<T>(bshape, T(0));
    }
  };
  make(query_, {dq, n, h}, {n, h});
  make(key_, {dk, n, h}, {n, h});
  make(value_, {dv, n, hv}, {n, hv});
  make(output_, {n, hv, out_dim_}, {out_dim_});
  this->set_built();
}

template <class T>
std::vector<Shape> MultiHeadAttention<T>::compute_output_shapes(const std::vector<Shape>& s) const {
  check_shapes(s);
  std::vector<Shape> out{{s[0][0], s[0][1], options_.output_shape.value_or(s[0][2])}};
  if (options_.return_attention_scores) out.push_back({s[0][0], options_.num_heads, s[0][1], s[1][1]});
  return out;
}

template <class T>
std::vector<Param<T>> MultiHeadAttention<T>::params() {
  std::vector<Param<T>> ps;
  if (!this->built()) return ps;
  for (auto [prefix, p] : {std::pair<const char*, Dense3*>{"query", &query_},
                           {"key", &key_},
                           {"value", &value_},
                           {"attention_output", &output_}}) {
    ps.push_back({std::string(prefix) + "/kernel", &p->kernel, &p->kernel_grad, true, options_.kernel_regularizer,
                  options_.kernel_constraint});
    if (options_.use_bias)
      ps.push_back({std::string(prefix) + "/bias", &p->bias, &p->bias_grad, true, options_.bias_regularizer,
                    options_.bias_constraint});
  }
  return ps;
}

template <class T>
std::vector<std::pair<std::string, std::vector<Param<T>>>> MultiHeadAttention<T>::saved_parts() {
  std::vector<std::pair<std::string, std::vector<Param<T>>>> parts;
  const std::vector<Param<T>> ps = params();
  const size_t per = options_.use_bias ? 2 : 1;
  const char* names[4] = {"query_dense", "key_dense", "value_dense", "output_dense"};
  for (size_t i = 0; i < 4 && ps.size() == 4 * per; ++i)
    parts.push_back({names[i], std::vector<Param<T>>(ps.begin() + static_cast<long>(i * per),
                                                     ps.begin() + static_cast<long>((i + 1) * per))});
  return parts;
}

template <class T>
LayerOutputs<T> MultiHeadAttention<T>::call(const LayerInputs<T>& in) {
  const std::vector<Shape> shapes = detail::input_shapes(this->where(), in.inputs);
  const std::vector<Shape> out_shapes = compute_output_shapes(shapes);
  build(shapes);
  const Tensor<T>& q = *in.inputs[0];
  const Tensor<T>& v = *in.inputs[1];
  const Tensor<T>& k = in.inputs.size() >= 3 ? *in.inputs[2] : v;
  const int64_t B = shapes[0][0], tq = shapes[0][1], ts = shapes[1][1];
  const int64_t n = options_.num_heads, h = options_.key_dim, hv = value_dim();
  Call c;
  c.qp = project(q, B * tq, dq_, query_.kernel, query_.bias, n * h, {B, tq, n, h});
  c.kp = project(k, B * ts, dk_, key_.kernel, key_.bias, n * h, {B, ts, n, h});
  c.vp = project(v, B * ts, dv_, value_.kernel, value_.bias, n * hv, {B, ts, n, hv});
  // Keras multiplies the projected query by 1/sqrt(key_dim) (a Python float cast to T).
  const T inv_sqrt = static_cast<T>(1.0 / std::sqrt(static_cast<double>(h)));
  for (auto& x : c.qp.values()) x *= inv_sqrt;

  // The combined boolean mask [B, T, S] (K3 _compute_attention_mask).
  const Mask* masks[3] = {mask_at(in, 0), mask_at(in, 1), in.inputs.size() >= 3 ? mask_at(in, 2) : nullptr};
  const Shape mshape[3] = {{B, tq}, {B, ts}, {B, ts}};
  const char* mname[3] = {"query", "value", "key"};
  bool any_mask = options_.use_causal_mask || in.inputs.size() == 4;
  for (int m = 0; m < 3; ++m) {
    if (!masks[m]) continue;
    if (masks[m]->shape() != mshape[m])
      throw ShapeError(this->where() + ": the " + mname[m] + " mask has shape " + to_string(masks[m]->shape()) +
                       ", expected " + to_string(mshape[m]));
    any_mask = true;
  }
  if (any_mask) {
    c.keep.assign(static_cast<size_t>(B * tq * ts), 1);
    for (int64_t b = 0; b < B; ++b)
      for (int64_t t = 0; t < tq; ++t)
        for (int64_t s = 0; s < ts; ++s) {
          bool keep = !masks[0] || (*masks[0])[b * tq + t];
          keep = keep && (!masks[1] || (*masks[1])[b * ts + s]) && (!masks[2] || (*masks[2])[b * ts + s]);
          keep = keep && (!options_.use_causal_mask || s <= t);
          keep = keep && (in.inputs.size() < 4 || (*in.inputs[3])[(b * tq + t) * ts + s] != T(0));
          c.keep[(b * tq + t) * ts + s] = keep;
        }
  }
  // Keras's Softmax-layer path zeroes fully masked rows; dot_product_attention leaves them
  // uniform (its masked logits are -0.7 * 3.38953e38).
  const bool softmax_path = options_.dropout > 0 || options_.return_attention_scores;
  const T neg = softmax_path ? static_cast<T>(-1e9) : static_cast<T>(-0.7 * 3.38953e38);
  c.p = Tensor<T>({B, n, tq, ts});
  std::vector<T> row(static_cast<size_t>(ts));
  for (int64_t b = 0; b < B; ++b)
    for (int64_t hd = 0; hd < n; ++hd)
      for (int64_t t = 0; t < tq; ++t) {
        const T* qt = c.qp.data() + ((b * tq + t) * n + hd) * h;
        T mx = -std::numeric_limits<T>::infinity();
        for (int64_t s = 0; s < ts; ++s) {
          const T* ks = c.kp.data() + ((b * ts + s) * n + hd) * h;
          T acc = 0;
          for (int64_t e = 0; e < h; ++e) acc += qt[e] * ks[e];
          if (!c.keep.empty() && !c.keep[(b * tq + t) * ts + s]) acc = neg;
          row[s] = acc;
          mx = std::max(mx, acc);
        }
        T sum = 0;
        for (int64_t s = 0; s < ts; ++s) sum += (row[s] = std::exp(row[s] - mx));
        T* pr = c.p.data() + ((b * n + hd) * tq + t) * ts;
        for (int64_t s = 0; s < ts; ++s) {
          pr[s] = row[s] / sum;
          if (softmax_path && !c.keep.empty() && !c.keep[(b * tq + t) * ts + s]) pr[s] = T(0);
        }
      }
  const bool training = in.mode == Mode::training;
  const Tensor<T> pd =  // after dropout
      training && options_.dropout > 0
          ? detail::drop_attention(c.p, options_.dropout, fixed_mask_, rng_, this->seed(), this->where(), c.drop)
          : c.p;
  c.ctx = Tensor<T>({B, tq, n, hv}, T(0));
  for (int64_t b = 0; b < B; ++b)
    for (int64_t hd = 0; hd < n; ++hd)
      for (int64_t t = 0; t < tq; ++t) {
        T* ct = c.ctx.data() + ((b * tq + t) * n + hd) * hv;
        const T* pr = pd.data() + ((b * n + hd) * tq + t) * ts;
        for (int64_t s = 0; s < ts; ++s) {
          const T* vs = c.vp.data() + ((b * ts + s) * n + hd) * hv;
          for (int64_t e = 0; e < hv; ++e) ct[e] += pr[s] * vs[e];
        }
      }
  LayerOutputs<T> out;
  out.outputs.push_back(project(c.ctx, B * tq, n * hv, output_.kernel, output_.bias, out_dim_, out_shapes[0]));
  if (options_.return_attention_scores) out.outputs.push_back(c.p);
  if (masks[0]) out.mask = *masks[0];
  if (training) {
    c.shapes = shapes;
    c.q = q;
    c.k = k;
    c.v = v;
    tape_.push_back(std::move(c));
  }
  return out;
}

template <class T>
LayerGrads<T> MultiHeadAttention<T>::backward(const std::vector<Tensor<T>>& grad_outputs) {
  const Call& top = detail::tape_top(tape_, this->where());
  detail::check_grad_outputs(this->where(), grad_outputs, compute_output_shapes(top.shapes));
  const Call c = detail::tape_pop(tape_);
  const int64_t B = c.shapes[0][0], tq = c.shapes[0][1], ts = c.shapes[1][1];
  const int64_t n = options_.num_heads, h = options_.key_dim, hv = value_dim();
  Tensor<T> dy = grad_outputs[0].empty() ? Tensor<T>({B, tq, out_dim_}, T(0)) : grad_outputs[0];
  const Tensor<T>* dscores = grad_outputs.size() > 1 && !grad_outputs[1].empty() ? &grad_outputs[1] : nullptr;
  const Tensor<T> dctx = project_backward(c.ctx, dy, B * tq, n * hv, output_.kernel, output_.kernel_grad,
                                          options_.use_bias ? &output_.bias_grad : nullptr, out_dim_, c.ctx.shape());
  Tensor<T> dqp(c.qp.shape(), T(0)), dkp(c.kp.shape(), T(0)), dvp(c.vp.shape(), T(0));
  std::vector<T> dp(static_cast<size_t>(ts));
  for (int64_t b = 0; b < B; ++b)
    for (int64_t hd = 0; hd < n; ++hd)
      for (int64_t t = 0; t < tq; ++t) {
        const int64_t prow = ((b * n + hd) * tq + t) * ts;
        const T* dct = dctx.data() + ((b * tq + t) * n + hd) * hv;
        for (int64_t s = 0; s < ts; ++s) {
          const T* vs = c.vp.data() + ((b * ts + s) * n + hd) * hv;
          T* dvs = dvp.data() + ((b * ts + s) * n + hd) * hv;
          const T w = c.drop.empty() ? c.p[prow + s] : c.p[prow + s] * c.drop[prow + s];
          T acc = 0;
          for (int64_t e = 0; e < hv; ++e) {
            acc += dct[e] * vs[e];
            dvs[e] += w * dct[e];
          }
          if (!c.drop.empty()) acc *= c.drop[prow + s];
          if (dscores) acc += (*dscores)[prow + s];
          // The Softmax-layer path's where(mask, p, 0) and the masked logits pass nothing.
          if (!c.keep.empty() && !c.keep[(b * tq + t) * ts + s]) acc = T(0);
          dp[s] = acc;
        }
        T dot = 0;
        for (int64_t s = 0; s < ts; ++s) dot += c.p[prow + s] * dp[s];
        const T* qt = c.qp.data() + ((b * tq + t) * n + hd) * h;
        T* dqt = dqp.data() + ((b * tq + t) * n + hd) * h;
        for (int64_t s = 0; s < ts; ++s) {
          if (!c.keep.empty() && !c.keep[(b * tq + t) * ts + s]) continue;  // logit replaced by a constant
          const T ds = c.p[prow + s] * (dp[s] - dot);
          const T* ks = c.kp.data() + ((b * ts + s) * n + hd) * h;
          T* dks = dkp.data() + ((b * ts + s) * n + hd) * h;
          for (int64_t e = 0; e < h; ++e) {
            dqt[e] += ds * ks[e];
            dks[e] += ds * qt[e];
          }
        }
      }
  const T inv_sqrt = static_cast<T>(1.0 / std::sqrt(static_cast<double>(h)));
  for (auto& x : dqp.values()) x *= inv_sqrt;
  LayerGrads<T> g;
  g.inputs.push_back(project_backward(c.q, dqp, B * tq, dq_, query_.kernel, query_.kernel_grad,
                                      options_.use_bias ? &query_.bias_grad : nullptr, n * h, c.q.shape()));
  g.inputs.push_back(project_backward(c.v, dvp, B * ts, dv_, value_.kernel, value_.kernel_grad,
                                      options_.use_bias ? &value_.bias_grad : nullptr, n * hv, c.v.shape()));
  Tensor<T> dk = project_backward(c.k, dkp, B * ts, dk_, key_.kernel, key_.kernel_grad,
                                  options_.use_bias ? &key_.bias_grad : nullptr, n * h, c.k.shape());
  if (c.shapes.size() >= 3) {
    g.inputs.push_back(std::move(dk));
  } else {
    detail::accumulate_grad(g.inputs[1], dk);
  }
  if (c.shapes.size() == 4) g.inputs.emplace_back(c.shapes[3], T(0));
  return g;
}

template class MultiHeadAttention<float>;
template class MultiHeadAttention<double>;

}  // namespace rnnx
