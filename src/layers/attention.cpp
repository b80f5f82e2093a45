#include "rnnx/layers/attention.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "layers/attention_dropout.h"
#include "layers/call_tape.h"
#include "layers/shape_checks.h"
#include "rnnx/initializers.h"

namespace rnnx {
namespace {

// Keras subtracts 1e9 from masked scores (float16 aside).
constexpr double kMaskShift = 1.0e9;

template <class T>
const Mask* mask_at(const LayerInputs<T>& in, size_t i) {
  if (i < in.input_masks.size()) return in.input_masks[i];
  return i == 0 ? in.mask : nullptr;
}

// Per (b, t) keep flags of a [B, T] mask; empty = no mask. ShapeError for another shape.
std::vector<uint8_t> step_mask(const std::string& where, const Mask* m, int64_t b, int64_t t, const char* what) {
  if (!m) return {};
  if (m->shape() != Shape{b, t})
    throw ShapeError(where + ": the " + what + " mask has shape " + to_string(m->shape()) + ", expected " +
                     to_string(Shape{b, t}));
  std::vector<uint8_t> out(static_cast<size_t>(b * t));
  for (int64_t i = 0; i < b * t; ++i) out[i] = (*m)[i] != 0;
  return out;
}

}  // namespace

template <class T>
Attention<T>::Attention(AttentionOptions options, std::string name)
    : Attention(std::move(options), std::move(name), false) {}

template <class T>
Attention<T>::Attention(AttentionOptions options, std::string name, bool additive)
    : Layer<T>(std::move(name)), options_(std::move(options)), additive_(additive) {
  if (additive_) options_.score_mode = "dot";
  if (options_.score_mode != "dot" && options_.score_mode != "concat")
    throw ConfigError(this->where() + ": score_mode must be 'dot' or 'concat', got '" + options_.score_mode + "'");
  if (!(options_.dropout >= 0.0 && options_.dropout < 1.0))
    throw ConfigError(this->where() + ": dropout must be in [0, 1), got " + std::to_string(options_.dropout));
}

template <class T>
void Attention<T>::check_shapes(const std::vector<Shape>& s) const {
  if (s.size() != 2 && s.size() != 3)
    throw ShapeError(this->where() + ": expected a list of 2 or 3 inputs [query, value(, key)], got " +
                     std::to_string(s.size()));
  for (const Shape& x : s) detail::expect_rank(this->where(), x, 3, "(batch, steps, features)");
  const Shape& key = s.size() == 3 ? s[2] : s[1];
  if (!detail::dims_compatible(s[0][2], key[2]))
    throw ShapeError(this->where() + ": query has " + std::to_string(s[0][2]) + " features and key " +
                     std::to_string(key[2]) + "; they must be equal (query " + to_string(s[0]) + ", key " +
                     to_string(key) + ")");
  if (!detail::dims_compatible(s[1][1], key[1]) || !detail::dims_compatible(s[0][0], s[1][0]) ||
      !detail::dims_compatible(s[0][0], key[0]))
    throw ShapeError(this->where() + ": value and key must have the same steps and all inputs the same batch, got " +
                     to_string(s[0]) + ", " + to_string(s[1]) + ", " + to_string(key));
}

template <class T>
void Attention<T>::build(const std::vector<Shape>& input_shapes) {
  check_shapes(input_shapes);
  const int64_t d = input_shapes[0][2];
  if (this->built()) {
    if (additive_ && options_.use_scale && d >= 0 && d != dim_)
      throw ShapeError(this->where() + ": built for " + std::to_string(dim_) + " query features, got " +
                       to_string(input_shapes[0]));
    return;
  }
  dim_ = d;
  Rng rng(this->seed());
  if (options_.use_scale) {
    if (additive_) {
      if (d < 0) throw ShapeError(this->where() + ": the query's feature dimension must be known to build");
      scale_ = Tensor<T>({d});
      initialize(Initializer::from_name("glorot_uniform"), scale_, rng);
    } else {
      scale_ = Tensor<T>(Shape{}, T(1));
    }
    scale_grad_ = Tensor<T>(scale_.shape(), T(0));
  }
  if (!additive_ && options_.score_mode == "concat") {
    concat_w_ = Tensor<T>(Shape{}, T(1));
    concat_w_grad_ = Tensor<T>(Shape{}, T(0));
  }
  this->set_built();
}

template <class T>
std::vector<Shape> Attention<T>::compute_output_shapes(const std::vector<Shape>& s) const {
  check_shapes(s);
  std::vector<Shape> out{{s[0][0], s[0][1], s[1][2]}};
  if (options_.return_attention_scores) out.push_back({s[0][0], s[0][1], s[1][1]});
  return out;
}

template <class T>
std::vector<Param<T>> Attention<T>::params() {
  std::vector<Param<T>> p;
  if (!this->built()) return p;
  if (options_.use_scale) p.push_back({"scale", &scale_, &scale_grad_});
  if (!concat_w_.empty()) p.push_back({"concat_score_weight", &concat_w_, &concat_w_grad_});
  return p;
}

template <class T>
T Attention<T>::score(const Tensor<T>& q, const Tensor<T>& k, int64_t b, int64_t i, int64_t j, int64_t tq, int64_t tv,
                      int64_t d) const {
  const T* qi = q.data() + (b * tq + i) * d;
  const T* kj = k.data() + (b * tv + j) * d;
  T s = 0;
  if (additive_) {
    for (int64_t c = 0; c < d; ++c) s += (options_.use_scale ? scale_[c] : T(1)) * std::tanh(qi[c] + kj[c]);
  } else if (options_.score_mode == "dot") {
    for (int64_t c = 0; c < d; ++c) s += qi[c] * kj[c];
    if (options_.use_scale) s *= scale_[0];
  } else {
    for (int64_t c = 0; c < d; ++c) s += std::tanh(options_.use_scale ? scale_[0] * (qi[c] + kj[c]) : qi[c] + kj[c]);
    s = concat_w_[0] * s;
  }
  return s;
}

template <class T>
LayerOutputs<T> Attention<T>::call(const LayerInputs<T>& in) {
  const std::vector<Shape> shapes = detail::input_shapes(this->where(), in.inputs);
  const std::vector<Shape> out_shapes = compute_output_shapes(shapes);
  build(shapes);
  const Tensor<T>& q = *in.inputs[0];
  const Tensor<T>& v = *in.inputs[1];
  const Tensor<T>& k = in.inputs.size() == 3 ? *in.inputs[2] : v;
  const int64_t B = shapes[0][0], tq = shapes[0][1], d = shapes[0][2], tv = shapes[1][1], dv = shapes[1][2];
  const std::vector<uint8_t> qkeep = step_mask(this->where(), mask_at(in, 0), B, tq, "query");
  const std::vector<uint8_t> vkeep = step_mask(this->where(), mask_at(in, 1), B, tv, "value");
  const bool training = in.mode == Mode::training;
  Call call;
  call.p = Tensor<T>({B, tq, tv});
  std::vector<T> row(static_cast<size_t>(tv));
  for (int64_t b = 0; b < B; ++b)
    for (int64_t i = 0; i < tq; ++i) {
      T mx = -std::numeric_limits<T>::infinity();
      for (int64_t j = 0; j < tv; ++j) {
        T s = score(q, k, b, i, j, tq, tv, d);
        const bool keep = (vkeep.empty() || vkeep[b * tv + j]) && (!options_.use_causal_mask || j <= i);
        if (!keep) s -= static_cast<T>(kMaskShift);
        row[j] = s;
        mx = std::max(mx, s);
      }
      T sum = 0;
      for (int64_t j = 0; j < tv; ++j) sum += (row[j] = std::exp(row[j] - mx));
      for (int64_t j = 0; j < tv; ++j) call.p[(b * tq + i) * tv + j] = row[j] / sum;
    }
  const Tensor<T> pd =  // after dropout
      training && options_.dropout > 0
          ? detail::drop_attention(call.p, options_.dropout, fixed_mask_, rng_, this->seed(), this->where(), call.drop)
          : call.p;
  LayerOutputs<T> out;
  Tensor<T>& y = out.outputs.emplace_back(out_shapes[0], T(0));
  for (int64_t b = 0; b < B; ++b)
    for (int64_t i = 0; i < tq; ++i) {
      if (!qkeep.empty() && !qkeep[b * tq + i]) continue;
      T* yi = y.data() + (b * tq + i) * dv;
      for (int64_t j = 0; j < tv; ++j) {
        const T w = pd[(b * tq + i) * tv + j];
        const T* vj = v.data() + (b * tv + j) * dv;
        for (int64_t c = 0; c < dv; ++c) yi[c] += w * vj[c];
      }
    }
  if (options_.return_attention_scores) out.outputs.push_back(pd);
  if (const Mask* qm = mask_at(in, 0)) out.mask = *qm;
  if (training) {
    call.q = q;
    call.k = k;
    call.v = v;
    call.qkeep = qkeep;
    call.n_inputs = in.inputs.size();
    tape_.push_back(std::move(call));
  }
  return out;
}

template <class T>
LayerGrads<T> Attention<T>::backward(const std::vector<Tensor<T>>& grad_outputs) {
  const Call& top = detail::tape_top(tape_, this->where());
  const int64_t B = top.q.dim(0), tq = top.q.dim(1), d = top.q.dim(2), tv = top.v.dim(1), dv = top.v.dim(2);
  std::vector<Shape> out_shapes{{B, tq, dv}};
  if (options_.return_attention_scores) out_shapes.push_back({B, tq, tv});
  detail::check_grad_outputs(this->where(), grad_outputs, out_shapes);
  const Call c = detail::tape_pop(tape_);
  LayerGrads<T> g;
  g.inputs.emplace_back(c.q.shape(), T(0));
  g.inputs.emplace_back(c.v.shape(), T(0));
  Tensor<T> dk(c.k.shape(), T(0));
  const Tensor<T>& dy = grad_outputs[0];
  const Tensor<T>* dscores = grad_outputs.size() > 1 && !grad_outputs[1].empty() ? &grad_outputs[1] : nullptr;
  std::vector<T> dp(static_cast<size_t>(tv));
  for (int64_t b = 0; b < B; ++b)
    for (int64_t i = 0; i < tq; ++i) {
      const int64_t r = b * tq + i;
      const bool qkept = c.qkeep.empty() || c.qkeep[r];
      // d(after-dropout weights), then back through dropout.
      for (int64_t j = 0; j < tv; ++j) {
        T acc = dscores ? (*dscores)[r * tv + j] : T(0);
        if (qkept && !dy.empty()) {
          const T* vj = c.v.data() + (b * tv + j) * dv;
          const T* dyi = dy.data() + r * dv;
          T* dvj = g.inputs[1].data() + (b * tv + j) * dv;
          const T w = c.drop.empty() ? c.p[r * tv + j] : c.p[r * tv + j] * c.drop[r * tv + j];
          for (int64_t e = 0; e < dv; ++e) {
            acc += dyi[e] * vj[e];
            dvj[e] += w * dyi[e];
          }
        }
        dp[j] = c.drop.empty() ? acc : acc * c.drop[r * tv + j];
      }
      // Softmax backward: ds = p (dp - <p, dp>).
      T dot = 0;
      for (int64_t j = 0; j < tv; ++j) dot += c.p[r * tv + j] * dp[j];
      const T* qi = c.q.data() + r * d;
      T* dqi = g.inputs[0].data() + r * d;
      for (int64_t j = 0; j < tv; ++j) {
        const T ds = c.p[r * tv + j] * (dp[j] - dot);
        const T* kj = c.k.data() + (b * tv + j) * d;
        T* dkj = dk.data() + (b * tv + j) * d;
        if (additive_) {
          for (int64_t e = 0; e < d; ++e) {
            const T t = std::tanh(qi[e] + kj[e]);
            const T sc = options_.use_scale ? scale_[e] : T(1);
            if (options_.use_scale) scale_grad_[e] += ds * t;
            const T da = ds * sc * (T(1) - t * t);
            dqi[e] += da;
            dkj[e] += da;
          }
        } else if (options_.score_mode == "dot") {
          const T sc = options_.use_scale ? scale_[0] : T(1);
          if (options_.use_scale) {
            T qk = 0;
            for (int64_t e = 0; e < d; ++e) qk += qi[e] * kj[e];
            scale_grad_[0] += ds * qk;
          }
          for (int64_t e = 0; e < d; ++e) {
            dqi[e] += ds * sc * kj[e];
            dkj[e] += ds * sc * qi[e];
          }
        } else {
          const T sc = options_.use_scale ? scale_[0] : T(1);
          const T w = concat_w_[0];
          T tsum = 0;
          for (int64_t e = 0; e < d; ++e) {
            const T a = qi[e] + kj[e];
            const T t = std::tanh(sc * a);
            tsum += t;
            const T da = ds * w * (T(1) - t * t);  // d/d(sc * a)
            if (options_.use_scale) scale_grad_[0] += da * a;
            dqi[e] += da * sc;
            dkj[e] += da * sc;
          }
          concat_w_grad_[0] += ds * tsum;
        }
      }
    }
  if (c.n_inputs == 3) {
    g.inputs.push_back(std::move(dk));
  } else {
    detail::accumulate_grad(g.inputs[1], dk);
  }
  return g;
}

template class Attention<float>;
template class Attention<double>;

}  // namespace rnnx
