#pragma once
// Internal: the float fast paths of the fused cell kernels (cell_kernels.h), written once over
// a small vector type V and compiled three times, once per instruction set:
// cell_kernels_avx512.cpp (V = 16 floats), cell_kernels_avx2.cpp (8 floats, FMA) and
// cell_kernels_portable.cpp (1 float). Each of those files includes its intrinsics and this
// file after switching the compiler's target, so nothing here may use a standard-library
// template (it would be compiled for that target and could be shared with other files).
//
// V provides: reg, mask, width; load(p, n) / store(p, v, n) of the first n <= width floats;
// set1, add, sub, mul, div, fmadd(a, b, c) = a*b + c, neg, abs; masks lt, gt, ge, isnan and
// both(m1, m2); select(m, a, b) = m ? a : b; clamp01(x) (NaN stays NaN); pow2n(n) = 2^n for an
// integer-valued n in [-126, 127].
//
// Everything is in an unnamed namespace: each including file gets its own copy.
#include "kernels/cell_kernels_table.h"
//
// The math mirrors cpu_activations.cpp (Cephes exp, the same sigmoid and tanh split), with
// fused multiply-adds in the polynomials, and the element-wise order of ref_cell_kernels.cpp.

namespace rnnx::kernels::detail {
namespace {

template <class V>
using Reg = typename V::reg;

// e^x for x in [-87, 87] (callers clamp), about 1 ulp.
template <class V>
inline Reg<V> exp_bounded(Reg<V> x) {
  const Reg<V> round = V::set1(12582912.0f);  // 1.5 * 2^23
  const Reg<V> n = V::sub(V::add(V::mul(x, V::set1(1.44269504088896341f)), round), round);
  Reg<V> r = V::fmadd(n, V::set1(-0.693359375f), x);
  r = V::fmadd(n, V::set1(2.12194440e-4f), r);
  Reg<V> p = V::set1(1.9875691500e-4f);
  p = V::fmadd(p, r, V::set1(1.3981999507e-3f));
  p = V::fmadd(p, r, V::set1(8.3334519073e-3f));
  p = V::fmadd(p, r, V::set1(4.1665795894e-2f));
  p = V::fmadd(p, r, V::set1(1.6666665459e-1f));
  p = V::fmadd(p, r, V::set1(5.0000001201e-1f));
  const Reg<V> y = V::add(V::add(V::mul(V::mul(p, r), r), r), V::set1(1.0f));
  return V::mul(y, V::pow2n(n));
}

template <class V>
inline Reg<V> sigmoid_v(Reg<V> v) {
  const Reg<V> a = V::neg(V::abs(v));  // -|v|: e^a never overflows
  const Reg<V> e = exp_bounded<V>(V::max(a, V::set1(-87.0f)));
  const Reg<V> s = V::div(V::set1(1.0f), V::add(V::set1(1.0f), e));
  const Reg<V> y = V::select(V::ge(v, V::set1(0.0f)), s, V::mul(e, s));
  return V::select(V::isnan(v), v, y);
}

template <class V>
inline Reg<V> tanh_v(Reg<V> v) {
  const Reg<V> a = V::abs(v);
  const Reg<V> z = V::mul(v, v);
  Reg<V> p = V::set1(-5.70498872745e-3f);
  p = V::fmadd(p, z, V::set1(2.06390887954e-2f));
  p = V::fmadd(p, z, V::set1(-5.37397155531e-2f));
  p = V::fmadd(p, z, V::set1(1.33314422036e-1f));
  p = V::fmadd(p, z, V::set1(-3.33332819422e-1f));
  const Reg<V> small = V::fmadd(V::mul(p, z), v, v);
  const Reg<V> e = exp_bounded<V>(V::min(V::add(a, a), V::set1(87.0f)));
  const Reg<V> t = V::sub(V::set1(1.0f), V::div(V::set1(2.0f), V::add(e, V::set1(1.0f))));
  const Reg<V> large = V::select(V::lt(v, V::set1(0.0f)), V::neg(t), t);
  const Reg<V> y = V::select(V::lt(a, V::set1(0.625f)), small, large);
  return V::select(V::isnan(v), v, y);
}

// The activations with a fast path (kernels::has_fast_path), chosen at run time.
template <class V>
inline Reg<V> activate(const rnnx::Activation& a, Reg<V> x) {
  switch (a.kind) {
    case rnnx::ActivationKind::sigmoid:
      return sigmoid_v<V>(x);
    case rnnx::ActivationKind::tanh:
      return tanh_v<V>(x);
    case rnnx::ActivationKind::hard_sigmoid:
      if (a.hard_sigmoid == rnnx::HardSigmoidFormula::keras3)
        return V::clamp01(V::add(V::div(x, V::set1(6.0f)), V::set1(0.5f)));
      return V::clamp01(V::add(V::mul(V::set1(0.2f), x), V::set1(0.5f)));
    case rnnx::ActivationKind::relu:
      return V::select(V::gt(x, V::set1(0.0f)), x, V::set1(0.0f));
    default:
      return x;  // linear
  }
}

// The derivative at input x with output y (x is read only by hard_sigmoid).
template <class V>
inline Reg<V> derivative(const rnnx::Activation& a, Reg<V> x, Reg<V> y) {
  const Reg<V> one = V::set1(1.0f), zero = V::set1(0.0f);
  switch (a.kind) {
    case rnnx::ActivationKind::sigmoid:
      return V::mul(y, V::sub(one, y));
    case rnnx::ActivationKind::tanh:
      return V::sub(one, V::mul(y, y));
    case rnnx::ActivationKind::hard_sigmoid: {
      const bool k3 = a.hard_sigmoid == rnnx::HardSigmoidFormula::keras3;
      const float edge = k3 ? 3.0f : 2.5f;
      const float slope = k3 ? 1.0f / 6.0f : 0.2f;
      return V::select(V::both(V::gt(x, V::set1(-edge)), V::lt(x, V::set1(edge))), V::set1(slope), zero);
    }
    case rnnx::ActivationKind::relu:
      return V::select(V::gt(y, zero), one, zero);
    default:
      return one;  // linear
  }
}

// The common case (tanh, sigmoid) is compiled with both activations known; others choose at
// run time (a switch per vector, always taken the same way).
template <class V>
struct StandardActs {
  Reg<V> act(Reg<V> x) const { return tanh_v<V>(x); }
  Reg<V> rec(Reg<V> x) const { return sigmoid_v<V>(x); }
  Reg<V> d_act(Reg<V>, Reg<V> y) const { return V::sub(V::set1(1.0f), V::mul(y, y)); }
  Reg<V> d_rec(Reg<V>, Reg<V> y) const { return V::mul(y, V::sub(V::set1(1.0f), y)); }
};

template <class V>
struct AnyActs {
  rnnx::Activation a, r;
  Reg<V> act(Reg<V> x) const { return activate<V>(a, x); }
  Reg<V> rec(Reg<V> x) const { return activate<V>(r, x); }
  Reg<V> d_act(Reg<V> x, Reg<V> y) const { return derivative<V>(a, x, y); }
  Reg<V> d_rec(Reg<V> x, Reg<V> y) const { return derivative<V>(r, x, y); }
};

inline bool standard(const rnnx::Activation& act, const rnnx::Activation& rec) {
  return act.kind == rnnx::ActivationKind::tanh && rec.kind == rnnx::ActivationKind::sigmoid;
}

inline int64_t column_end(int64_t units, int64_t col_end) { return col_end < 0 ? units : col_end; }
inline int lanes(int64_t left, int width) { return left < width ? static_cast<int>(left) : width; }

// Loads n lanes of p + j, or zeros when p is null.
template <class V>
inline Reg<V> load_or_zero(const float* p, int64_t j, int n) {
  return p != nullptr ? V::load(p + j, n) : V::set1(0.0f);
}
template <class V>
inline void store_if(float* p, int64_t j, Reg<V> v, int n) {
  if (p != nullptr) V::store(p + j, v, n);
}
inline const float* row(const float* p, int64_t i, int64_t ld) { return p != nullptr ? p + i * ld : nullptr; }
inline float* row(float* p, int64_t i, int64_t ld) { return p != nullptr ? p + i * ld : nullptr; }

// dh = d_output + d_h (null terms are zero).
template <class V>
inline Reg<V> gradient_sum(const float* a, const float* b, int64_t j, int n) {
  if (a != nullptr && b != nullptr) return V::add(V::load(a + j, n), V::load(b + j, n));
  if (a != nullptr) return V::load(a + j, n);
  return load_or_zero<V>(b, j, n);
}

template <class V>
inline Reg<V> sum_parts(const float* x_proj, const float* rec, int64_t j, int n) {
  const Reg<V> x = V::load(x_proj + j, n);
  return rec != nullptr ? V::add(x, V::load(rec + j, n)) : x;
}

// ---- LSTM ----

template <class V, class Acts>
void lstm_forward_body(const rnnx::kernels::LSTMForward<float>& a, const Acts& acts) {
  const int64_t u = a.units, w = 4 * u, end = column_end(u, a.col_end);
  for (int64_t i = 0; i < a.rows; ++i) {
    const float* xp = a.x_proj + i * a.ld_x_proj;
    const float* rec = row(a.rec, i, a.ld_rec);
    const float* c = a.c + i * u;
    float* c_new = a.c_new + i * u;
    float* h_new = a.h_new + i * u;
    float* out = row(a.output, i, u);
    float* gates = row(a.gates, i, w);
    float* pre = row(a.pre, i, w);
    float* act_c = row(a.act_c, i, u);
    for (int64_t j = a.col_begin; j < end; j += V::width) {
      const int n = lanes(end - j, V::width);
      const Reg<V> zi = sum_parts<V>(xp, rec, j, n), zf = sum_parts<V>(xp, rec, u + j, n);
      const Reg<V> zg = sum_parts<V>(xp, rec, 2 * u + j, n), zo = sum_parts<V>(xp, rec, 3 * u + j, n);
      if (pre != nullptr) {
        V::store(pre + j, zi, n);
        V::store(pre + u + j, zf, n);
        V::store(pre + 2 * u + j, zg, n);
        V::store(pre + 3 * u + j, zo, n);
      }
      const Reg<V> gi = acts.rec(zi), gf = acts.rec(zf), gg = acts.act(zg), go = acts.rec(zo);
      if (gates != nullptr) {
        V::store(gates + j, gi, n);
        V::store(gates + u + j, gf, n);
        V::store(gates + 2 * u + j, gg, n);
        V::store(gates + 3 * u + j, go, n);
      }
      const Reg<V> cn = V::add(V::mul(gf, V::load(c + j, n)), V::mul(gi, gg));
      const Reg<V> ac = acts.act(cn);
      const Reg<V> h = V::mul(go, ac);
      V::store(c_new + j, cn, n);
      V::store(h_new + j, h, n);
      store_if<V>(out, j, h, n);
      store_if<V>(act_c, j, ac, n);
    }
  }
}

template <class V, class Acts>
void lstm_backward_body(const rnnx::kernels::LSTMBackward<float>& a, const Acts& acts) {
  const int64_t u = a.units, w = 4 * u, end = column_end(u, a.col_end);
  const Reg<V> zero = V::set1(0.0f);
  for (int64_t i = 0; i < a.rows; ++i) {
    const float* d_out = row(a.d_output, i, u);
    const float* d_h = row(a.d_h, i, u);
    const float* d_c = row(a.d_c, i, u);
    const float* gates = a.gates + i * w;
    const float* act_c = a.act_c + i * u;
    const float* c_prev = a.c_prev + i * u;
    const float* pre = row(a.pre, i, w);
    const float* c_new = row(a.c_new, i, u);
    float* dz = a.dz + i * a.ldz;
    float* d_c_prev = a.d_c_prev + i * u;
    for (int64_t j = a.col_begin; j < end; j += V::width) {
      const int n = lanes(end - j, V::width);
      const Reg<V> gi = V::load(gates + j, n), gf = V::load(gates + u + j, n);
      const Reg<V> gg = V::load(gates + 2 * u + j, n), go = V::load(gates + 3 * u + j, n);
      const Reg<V> ac = V::load(act_c + j, n);
      const Reg<V> dh = gradient_sum<V>(d_out, d_h, j, n);
      Reg<V> dc = V::mul(V::mul(dh, go), acts.d_act(load_or_zero<V>(c_new, j, n), ac));
      if (d_c != nullptr) dc = V::add(dc, V::load(d_c + j, n));
      const Reg<V> xi = pre != nullptr ? V::load(pre + j, n) : zero;
      const Reg<V> xf = pre != nullptr ? V::load(pre + u + j, n) : zero;
      const Reg<V> xg = pre != nullptr ? V::load(pre + 2 * u + j, n) : zero;
      const Reg<V> xo = pre != nullptr ? V::load(pre + 3 * u + j, n) : zero;
      V::store(dz + 3 * u + j, V::mul(V::mul(dh, ac), acts.d_rec(xo, go)), n);
      V::store(dz + j, V::mul(V::mul(dc, gg), acts.d_rec(xi, gi)), n);
      V::store(dz + u + j, V::mul(V::mul(dc, V::load(c_prev + j, n)), acts.d_rec(xf, gf)), n);
      V::store(dz + 2 * u + j, V::mul(V::mul(dc, gi), acts.d_act(xg, gg)), n);
      V::store(d_c_prev + j, V::mul(dc, gf), n);
    }
  }
}

// ---- GRU ----

// z, r of columns j.. of row pointers (both forms); rb = rec (+ bias).
template <class V, class Acts>
inline void gru_zr(const Acts& acts, const float* xp, const float* rec, const float* bias, int64_t u, int64_t j, int n,
                   float* zr_pre, Reg<V>& z, Reg<V>& r) {
  Reg<V> rz = V::load(rec + j, n), rr = V::load(rec + u + j, n);
  if (bias != nullptr) {
    rz = V::add(rz, V::load(bias + j, n));
    rr = V::add(rr, V::load(bias + u + j, n));
  }
  const Reg<V> az = V::add(V::load(xp + j, n), rz), ar = V::add(V::load(xp + u + j, n), rr);
  if (zr_pre != nullptr) {
    V::store(zr_pre + j, az, n);
    V::store(zr_pre + u + j, ar, n);
  }
  z = acts.rec(az);
  r = acts.rec(ar);
}

// hh = φ(a_h) and h' = z * h + (1 - z) * hh, with the records.
template <class V, class Acts>
inline void gru_finish(const Acts& acts, Reg<V> ah, Reg<V> z, const float* h, int64_t j, int n, float* cand_pre,
                       float* cand, float* h_new, float* out) {
  store_if<V>(cand_pre, j, ah, n);
  const Reg<V> hh = acts.act(ah);
  store_if<V>(cand, j, hh, n);
  const Reg<V> hn = V::add(V::mul(z, V::load(h + j, n)), V::mul(V::sub(V::set1(1.0f), z), hh));
  V::store(h_new + j, hn, n);
  store_if<V>(out, j, hn, n);
}

template <class V, class Acts>
void gru_forward_body(const rnnx::kernels::GRUForward<float>& a, const Acts& acts) {
  const int64_t u = a.units, end = column_end(u, a.col_end);
  for (int64_t i = 0; i < a.rows; ++i) {
    const float* xp = a.x_proj + i * a.ld_x_proj;
    const float* rec = a.rec + i * a.ld_rec;
    float* zr = row(a.zr, i, 2 * u);
    float* reset = row(a.reset, i, u);
    for (int64_t j = a.col_begin; j < end; j += V::width) {
      const int n = lanes(end - j, V::width);
      Reg<V> z, r;
      gru_zr<V>(acts, xp, rec, a.rec_bias, u, j, n, row(a.zr_pre, i, 2 * u), z, r);
      if (zr != nullptr) {
        V::store(zr + j, z, n);
        V::store(zr + u + j, r, n);
      }
      Reg<V> rh = V::load(rec + 2 * u + j, n);
      if (a.rec_bias != nullptr) rh = V::add(rh, V::load(a.rec_bias + 2 * u + j, n));
      store_if<V>(reset, j, rh, n);
      const Reg<V> ah = V::add(V::load(xp + 2 * u + j, n), V::mul(r, rh));
      gru_finish<V>(acts, ah, z, a.h + i * u, j, n, row(a.cand_pre, i, u), row(a.cand, i, u), a.h_new + i * u,
                    row(a.output, i, u));
    }
  }
}

template <class V, class Acts>
void gru_reset_forward_body(const rnnx::kernels::GRUForward<float>& a, const Acts& acts) {
  const int64_t u = a.units, end = column_end(u, a.col_end);
  for (int64_t i = 0; i < a.rows; ++i) {
    const float* h = a.h + i * u;
    const float* mask = row(a.h_mask, i, u);
    float* zr = a.zr + i * 2 * u;
    float* reset = a.reset + i * u;
    for (int64_t j = a.col_begin; j < end; j += V::width) {
      const int n = lanes(end - j, V::width);
      Reg<V> z, r;
      gru_zr<V>(acts, a.x_proj + i * a.ld_x_proj, a.rec + i * a.ld_rec, nullptr, u, j, n, row(a.zr_pre, i, 2 * u), z,
                r);
      V::store(zr + j, z, n);
      V::store(zr + u + j, r, n);
      Reg<V> hm = V::load(h + j, n);
      if (mask != nullptr) hm = V::mul(hm, V::load(mask + j, n));
      V::store(reset + j, V::mul(r, hm), n);
    }
  }
}

template <class V, class Acts>
void gru_candidate_forward_body(const rnnx::kernels::GRUForward<float>& a, const Acts& acts) {
  const int64_t u = a.units, end = column_end(u, a.col_end);
  for (int64_t i = 0; i < a.rows; ++i) {
    const float* xp = a.x_proj + i * a.ld_x_proj + 2 * u;
    const float* rec = a.rec + i * a.ld_rec + 2 * u;
    const float* z = a.zr + i * 2 * u;
    for (int64_t j = a.col_begin; j < end; j += V::width) {
      const int n = lanes(end - j, V::width);
      const Reg<V> ah = V::add(V::load(xp + j, n), V::load(rec + j, n));
      gru_finish<V>(acts, ah, V::load(z + j, n), a.h + i * u, j, n, row(a.cand_pre, i, u), row(a.cand, i, u),
                    a.h_new + i * u, row(a.output, i, u));
    }
  }
}

template <class V, class Acts>
void gru_backward_body(const rnnx::kernels::GRUBackward<float>& a, const Acts& acts) {
  const int64_t u = a.units, end = column_end(u, a.col_end);
  const Reg<V> zero = V::set1(0.0f);
  for (int64_t i = 0; i < a.rows; ++i) {
    const float* d_out = row(a.d_output, i, u);
    const float* d_h = row(a.d_h, i, u);
    const float* h = a.h + i * u;
    const float* zr = a.zr + i * 2 * u;
    const float* hh_row = a.cand + i * u;
    const float* pre = row(a.zr_pre, i, 2 * u);
    const float* cand_pre = row(a.cand_pre, i, u);
    const float* reset = row(a.reset, i, u);
    float* dz = a.dz + i * a.ldz;
    float* d_h_prev = a.d_h_prev + i * u;
    for (int64_t j = a.col_begin; j < end; j += V::width) {
      const int n = lanes(end - j, V::width);
      const Reg<V> dh = gradient_sum<V>(d_out, d_h, j, n);
      const Reg<V> z = V::load(zr + j, n), hh = V::load(hh_row + j, n);
      const Reg<V> pz = V::mul(V::add(V::load(h + j, n), V::neg(hh)), dh);
      V::store(dz + j, V::mul(pz, acts.d_rec(pre != nullptr ? V::load(pre + j, n) : zero, z)), n);
      const Reg<V> ph = V::add(dh, V::neg(V::mul(z, dh)));
      const Reg<V> da_h = V::mul(ph, acts.d_act(load_or_zero<V>(cand_pre, j, n), hh));
      V::store(dz + 2 * u + j, da_h, n);
      V::store(d_h_prev + j, V::mul(dh, z), n);
      if (a.reset_after) {
        const Reg<V> r = V::load(zr + u + j, n);
        const Reg<V> pr = V::mul(da_h, V::load(reset + j, n));
        V::store(dz + u + j, V::mul(pr, acts.d_rec(pre != nullptr ? V::load(pre + u + j, n) : zero, r)), n);
        V::store(dz + 3 * u + j, V::mul(da_h, r), n);
      }
    }
  }
}

template <class V, class Acts>
void gru_reset_backward_body(const rnnx::kernels::GRUBackward<float>& a, const Acts& acts) {
  const int64_t u = a.units, end = column_end(u, a.col_end);
  for (int64_t i = 0; i < a.rows; ++i) {
    const float* h = a.h + i * u;
    const float* mask = row(a.h_mask, i, u);
    const float* r_row = a.zr + i * 2 * u + u;
    const float* pre = row(a.zr_pre, i, 2 * u);
    const float* p2_row = a.p2 + i * u;
    float* dz = a.dz + i * a.ldz;
    float* d_h_prev = a.d_h_prev + i * u;
    for (int64_t j = a.col_begin; j < end; j += V::width) {
      const int n = lanes(end - j, V::width);
      const Reg<V> r = V::load(r_row + j, n), p2 = V::load(p2_row + j, n);
      Reg<V> hm = V::load(h + j, n);
      if (mask != nullptr) hm = V::mul(hm, V::load(mask + j, n));
      const Reg<V> x = pre != nullptr ? V::load(pre + u + j, n) : V::set1(0.0f);
      V::store(dz + u + j, V::mul(V::mul(hm, p2), acts.d_rec(x, r)), n);
      Reg<V> q = V::mul(p2, r);
      if (mask != nullptr) q = V::mul(q, V::load(mask + j, n));
      V::store(d_h_prev + j, V::add(V::load(d_h_prev + j, n), q), n);
    }
  }
}

// ---- SimpleRNN ----

template <class V, class Acts>
void simple_rnn_forward_body(const rnnx::kernels::SimpleRNNForward<float>& a, const Acts& acts) {
  const int64_t u = a.units, end = column_end(u, a.col_end);
  for (int64_t i = 0; i < a.rows; ++i) {
    const float* xp = a.x_proj + i * a.ld_x_proj;
    const float* rec = row(a.rec, i, a.ld_rec);
    for (int64_t j = a.col_begin; j < end; j += V::width) {
      const int n = lanes(end - j, V::width);
      const Reg<V> pre = sum_parts<V>(xp, rec, j, n);
      store_if<V>(row(a.pre, i, u), j, pre, n);
      const Reg<V> y = acts.act(pre);
      V::store(a.h_new + i * u + j, y, n);
      store_if<V>(row(a.output, i, u), j, y, n);
      store_if<V>(row(a.h_record, i, u), j, y, n);
    }
  }
}

template <class V, class Acts>
void simple_rnn_backward_body(const rnnx::kernels::SimpleRNNBackward<float>& a, const Acts& acts) {
  const int64_t u = a.units, end = column_end(u, a.col_end);
  for (int64_t i = 0; i < a.rows; ++i) {
    const float* d_out = row(a.d_output, i, u);
    const float* d_h = row(a.d_h, i, u);
    const float* pre = row(a.pre, i, u);
    for (int64_t j = a.col_begin; j < end; j += V::width) {
      const int n = lanes(end - j, V::width);
      const Reg<V> d = acts.d_act(load_or_zero<V>(pre, j, n), V::load(a.y + i * u + j, n));
      V::store(a.dz + i * a.ldz + j, V::mul(gradient_sum<V>(d_out, d_h, j, n), d), n);
    }
  }
}

// ---- The table of entry points (cell_kernels_table.h) for this file's V. ----

template <class V>
struct FastCellKernels {
  using F = float;
  static void lstm_forward(const rnnx::kernels::LSTMForward<F>& a) {
    if (standard(a.activation, a.recurrent_activation))
      lstm_forward_body<V>(a, StandardActs<V>{});
    else
      lstm_forward_body<V>(a, AnyActs<V>{a.activation, a.recurrent_activation});
  }
  static void lstm_backward(const rnnx::kernels::LSTMBackward<F>& a) {
    if (standard(a.activation, a.recurrent_activation))
      lstm_backward_body<V>(a, StandardActs<V>{});
    else
      lstm_backward_body<V>(a, AnyActs<V>{a.activation, a.recurrent_activation});
  }
  static void gru_forward(const rnnx::kernels::GRUForward<F>& a) {
    if (standard(a.activation, a.recurrent_activation))
      gru_forward_body<V>(a, StandardActs<V>{});
    else
      gru_forward_body<V>(a, AnyActs<V>{a.activation, a.recurrent_activation});
  }
  static void gru_reset_forward(const rnnx::kernels::GRUForward<F>& a) {
    if (standard(a.activation, a.recurrent_activation))
      gru_reset_forward_body<V>(a, StandardActs<V>{});
    else
      gru_reset_forward_body<V>(a, AnyActs<V>{a.activation, a.recurrent_activation});
  }
  static void gru_candidate_forward(const rnnx::kernels::GRUForward<F>& a) {
    if (standard(a.activation, a.recurrent_activation))
      gru_candidate_forward_body<V>(a, StandardActs<V>{});
    else
      gru_candidate_forward_body<V>(a, AnyActs<V>{a.activation, a.recurrent_activation});
  }
  static void gru_backward(const rnnx::kernels::GRUBackward<F>& a) {
    if (standard(a.activation, a.recurrent_activation))
      gru_backward_body<V>(a, StandardActs<V>{});
    else
      gru_backward_body<V>(a, AnyActs<V>{a.activation, a.recurrent_activation});
  }
  static void gru_reset_backward(const rnnx::kernels::GRUBackward<F>& a) {
    if (standard(a.activation, a.recurrent_activation))
      gru_reset_backward_body<V>(a, StandardActs<V>{});
    else
      gru_reset_backward_body<V>(a, AnyActs<V>{a.activation, a.recurrent_activation});
  }
  // SimpleRNN has one activation: Acts::act / d_act only.
  static void simple_rnn_forward(const rnnx::kernels::SimpleRNNForward<F>& a) {
    if (a.activation.kind == rnnx::ActivationKind::tanh)
      simple_rnn_forward_body<V>(a, StandardActs<V>{});
    else
      simple_rnn_forward_body<V>(a, AnyActs<V>{a.activation, a.activation});
  }
  static void simple_rnn_backward(const rnnx::kernels::SimpleRNNBackward<F>& a) {
    if (a.activation.kind == rnnx::ActivationKind::tanh)
      simple_rnn_backward_body<V>(a, StandardActs<V>{});
    else
      simple_rnn_backward_body<V>(a, AnyActs<V>{a.activation, a.activation});
  }
  static CellKernelTable table() {
    return {&lstm_forward, &lstm_backward,      &gru_forward,        &gru_reset_forward,  &gru_candidate_forward,
            &gru_backward, &gru_reset_backward, &simple_rnn_forward, &simple_rnn_backward};
  }
};

}  // namespace
}  // namespace rnnx::kernels::detail
