// Reference fused cell kernels (cell_kernels.h): the definition of what each one computes.
// One row at a time: the pre-activations are gathered into the record buffers, each gate
// block is activated with activate_rows (so softmax normalises a block, as Keras does),
// then the element-wise remainder runs in the order the header's formulas list.
#include <algorithm>

#include "rnnx/kernels/cell_kernels.h"

namespace rnnx::kernels::ref {
namespace {

struct Columns {
  int64_t begin, end;
  int64_t count() const { return end - begin; }
};

Columns columns_of(int64_t units, int64_t col_begin, int64_t col_end) {
  return {col_begin, col_end < 0 ? units : col_end};
}

// The derivative of `a` at x with output y. Without a record of x (the activations whose
// derivative follows from y, kernels::derivative_needs_input) y stands in for x: relu's
// x > 0 is y > 0, and the others do not read x.
template <class T>
T derivative(const Activation& a, const T* x, int64_t j, T y) {
  return activate_derivative<T>(a, x != nullptr ? x[j] : y, y);
}

template <class T>
void copy_columns(const T* from, T* to, Columns c) {
  if (to != nullptr) std::copy(from + c.begin, from + c.end, to + c.begin);
}

// The sum of the input and recurrent parts (a null recurrent part adds nothing).
template <class T>
T sum_parts(const T* x_proj, const T* rec, int64_t j) {
  return rec != nullptr ? x_proj[j] + rec[j] : x_proj[j];
}

template <class T>
T gradient_sum(const T* a, const T* b, int64_t j) {
  if (a != nullptr && b != nullptr) return a[j] + b[j];
  if (a != nullptr) return a[j];
  return b != nullptr ? b[j] : T(0);
}

template <class T>
const T* row_or_null(const T* p, int64_t i, int64_t ld) {
  return p != nullptr ? p + i * ld : nullptr;
}
template <class T>
T* row_or_null(T* p, int64_t i, int64_t ld) {
  return p != nullptr ? p + i * ld : nullptr;
}

}  // namespace

template <class T>
void lstm_forward(const LSTMForward<T>& a) {
  const int64_t u = a.units, w = 4 * u;
  const Columns c = columns_of(u, a.col_begin, a.col_end);
  for (int64_t i = 0; i < a.rows; ++i) {
    const T* xp = a.x_proj + i * a.ld_x_proj;
    const T* rec = row_or_null(a.rec, i, a.ld_rec);
    T* gates = a.gates + i * w;
    for (int64_t g = 0; g < 4; ++g)
      for (int64_t j = c.begin; j < c.end; ++j) gates[g * u + j] = sum_parts(xp, rec, g * u + j);
    if (a.pre != nullptr)
      for (int64_t g = 0; g < 4; ++g) copy_columns(gates + g * u, a.pre + i * w + g * u, c);
    activate_rows(a.recurrent_activation, gates + c.begin, 1, c.count());          // i
    activate_rows(a.recurrent_activation, gates + u + c.begin, 1, c.count());      // f
    activate_rows(a.activation, gates + 2 * u + c.begin, 1, c.count());            // g
    activate_rows(a.recurrent_activation, gates + 3 * u + c.begin, 1, c.count());  // o
    const T* c_prev = a.c + i * u;
    T* c_new = a.c_new + i * u;
    T* h_new = a.h_new + i * u;
    for (int64_t j = c.begin; j < c.end; ++j) {
      T cn = gates[u + j] * c_prev[j];
      const T ig = gates[j] * gates[2 * u + j];
      cn = cn + ig;
      c_new[j] = cn;
      h_new[j] = cn;
    }
    activate_rows(a.activation, h_new + c.begin, 1, c.count());
    copy_columns<T>(h_new, row_or_null(a.act_c, i, u), c);
    for (int64_t j = c.begin; j < c.end; ++j) h_new[j] = gates[3 * u + j] * h_new[j];
    copy_columns<T>(h_new, row_or_null(a.output, i, u), c);
  }
}

template <class T>
void lstm_backward(const LSTMBackward<T>& a) {
  const int64_t u = a.units, w = 4 * u;
  const Columns c = columns_of(u, a.col_begin, a.col_end);
  const Activation& act = a.activation;
  const Activation& rec = a.recurrent_activation;
  for (int64_t i = 0; i < a.rows; ++i) {
    const T* d_out = row_or_null(a.d_output, i, u);
    const T* d_h = row_or_null(a.d_h, i, u);
    const T* d_c = row_or_null(a.d_c, i, u);
    const T* gates = a.gates + i * w;
    const T* act_c = a.act_c + i * u;
    const T* c_prev = a.c_prev + i * u;
    const T* pre = row_or_null(a.pre, i, w);
    const T* c_new = row_or_null(a.c_new, i, u);
    T* dz = a.dz + i * a.ldz;
    T* d_c_prev = a.d_c_prev + i * u;
    for (int64_t j = c.begin; j < c.end; ++j) {
      const T gi = gates[j], gf = gates[u + j], gg = gates[2 * u + j], go = gates[3 * u + j];
      const T dh = gradient_sum(d_out, d_h, j);
      T dc = dh * go;
      dc = dc * derivative(act, c_new, j, act_c[j]);
      if (d_c != nullptr) dc = dc + d_c[j];
      const T po = dh * act_c[j];
      dz[3 * u + j] = po * derivative(rec, pre != nullptr ? pre + 3 * u : nullptr, j, go);
      const T pi = dc * gg;
      dz[j] = pi * derivative(rec, pre, j, gi);
      const T pf = dc * c_prev[j];
      dz[u + j] = pf * derivative(rec, pre != nullptr ? pre + u : nullptr, j, gf);
      const T pg = dc * gi;
      dz[2 * u + j] = pg * derivative(act, pre != nullptr ? pre + 2 * u : nullptr, j, gg);
      d_c_prev[j] = dc * gf;
    }
  }
}

// z and r of one row (both GRU forms): zr = [x_proj_z + rb_z, x_proj_r + rb_r], activated.
template <class T>
void gru_update_reset_row(const GRUForward<T>& a, int64_t i, Columns c, bool with_bias) {
  const int64_t u = a.units;
  const T* xp = a.x_proj + i * a.ld_x_proj;
  const T* rec = a.rec + i * a.ld_rec;
  const T* bias = with_bias ? a.rec_bias : nullptr;
  T* zr = a.zr + i * 2 * u;
  for (int64_t g = 0; g < 2; ++g)
    for (int64_t j = c.begin; j < c.end; ++j) {
      const int64_t k = g * u + j;
      const T rb = bias != nullptr ? rec[k] + bias[k] : rec[k];
      zr[k] = xp[k] + rb;
    }
  if (a.zr_pre != nullptr)
    for (int64_t g = 0; g < 2; ++g) copy_columns(zr + g * u, a.zr_pre + i * 2 * u + g * u, c);
  activate_rows(a.recurrent_activation, zr + c.begin, 1, c.count());
  activate_rows(a.recurrent_activation, zr + u + c.begin, 1, c.count());
}

// h_new holds a_h: activate it and blend, h' = z * h + (1 - z) * hh.
template <class T>
void gru_finish_row(const GRUForward<T>& a, int64_t i, Columns c) {
  const int64_t u = a.units;
  T* h_new = a.h_new + i * u;
  copy_columns<T>(h_new, row_or_null(a.cand_pre, i, u), c);
  activate_rows(a.activation, h_new + c.begin, 1, c.count());
  copy_columns<T>(h_new, row_or_null(a.cand, i, u), c);
  const T* z = a.zr + i * 2 * u;
  const T* h = a.h + i * u;
  for (int64_t j = c.begin; j < c.end; ++j) h_new[j] = z[j] * h[j] + (T(1) - z[j]) * h_new[j];
  copy_columns<T>(h_new, row_or_null(a.output, i, u), c);
}

template <class T>
void gru_forward(const GRUForward<T>& a) {
  const int64_t u = a.units;
  const Columns c = columns_of(u, a.col_begin, a.col_end);
  for (int64_t i = 0; i < a.rows; ++i) {
    gru_update_reset_row(a, i, c, true);
    const T* xp = a.x_proj + i * a.ld_x_proj + 2 * u;
    const T* rec = a.rec + i * a.ld_rec + 2 * u;
    const T* bias = a.rec_bias != nullptr ? a.rec_bias + 2 * u : nullptr;
    const T* r = a.zr + i * 2 * u + u;
    T* reset = a.reset + i * u;
    T* h_new = a.h_new + i * u;
    for (int64_t j = c.begin; j < c.end; ++j) {
      reset[j] = bias != nullptr ? rec[j] + bias[j] : rec[j];
      const T gated = r[j] * reset[j];
      h_new[j] = xp[j] + gated;
    }
    gru_finish_row(a, i, c);
  }
}

template <class T>
void gru_reset_forward(const GRUForward<T>& a) {
  const int64_t u = a.units;
  const Columns c = columns_of(u, a.col_begin, a.col_end);
  for (int64_t i = 0; i < a.rows; ++i) {
    gru_update_reset_row(a, i, c, false);
    const T* h = a.h + i * u;
    const T* mask = row_or_null(a.h_mask, i, u);
    const T* r = a.zr + i * 2 * u + u;
    T* reset = a.reset + i * u;
    for (int64_t j = c.begin; j < c.end; ++j) {
      const T hm = mask != nullptr ? h[j] * mask[j] : h[j];
      reset[j] = r[j] * hm;
    }
  }
}

template <class T>
void gru_candidate_forward(const GRUForward<T>& a) {
  const int64_t u = a.units;
  const Columns c = columns_of(u, a.col_begin, a.col_end);
  for (int64_t i = 0; i < a.rows; ++i) {
    const T* xp = a.x_proj + i * a.ld_x_proj + 2 * u;
    const T* rec = a.rec + i * a.ld_rec + 2 * u;
    T* h_new = a.h_new + i * u;
    for (int64_t j = c.begin; j < c.end; ++j) h_new[j] = xp[j] + rec[j];
    gru_finish_row(a, i, c);
  }
}

template <class T>
void gru_backward(const GRUBackward<T>& a) {
  const int64_t u = a.units;
  const Columns c = columns_of(u, a.col_begin, a.col_end);
  const Activation& act = a.activation;
  const Activation& rec = a.recurrent_activation;
  for (int64_t i = 0; i < a.rows; ++i) {
    const T* d_out = row_or_null(a.d_output, i, u);
    const T* d_h = row_or_null(a.d_h, i, u);
    const T* h = a.h + i * u;
    const T* z = a.zr + i * 2 * u;
    const T* r = z + u;
    const T* hh = a.cand + i * u;
    const T* pre = row_or_null(a.zr_pre, i, 2 * u);
    const T* cand_pre = row_or_null(a.cand_pre, i, u);
    const T* reset = row_or_null(a.reset, i, u);
    T* dz = a.dz + i * a.ldz;
    T* d_h_prev = a.d_h_prev + i * u;
    for (int64_t j = c.begin; j < c.end; ++j) {
      const T dh = gradient_sum(d_out, d_h, j);
      T p = -hh[j];
      p = h[j] + p;
      p = p * dh;
      dz[j] = p * derivative(rec, pre, j, z[j]);
      p = z[j] * dh;
      p = -p;
      p = dh + p;
      const T da_h = p * derivative(act, cand_pre, j, hh[j]);
      dz[2 * u + j] = da_h;
      d_h_prev[j] = dh * z[j];
      if (a.reset_after) {
        const T pr = da_h * reset[j];
        dz[u + j] = pr * derivative(rec, pre != nullptr ? pre + u : nullptr, j, r[j]);
        dz[3 * u + j] = da_h * r[j];
      }
    }
  }
}

template <class T>
void gru_reset_backward(const GRUBackward<T>& a) {
  const int64_t u = a.units;
  const Columns c = columns_of(u, a.col_begin, a.col_end);
  for (int64_t i = 0; i < a.rows; ++i) {
    const T* h = a.h + i * u;
    const T* mask = row_or_null(a.h_mask, i, u);
    const T* r = a.zr + i * 2 * u + u;
    const T* pre = row_or_null(a.zr_pre, i, 2 * u);
    const T* p2 = a.p2 + i * u;
    T* dz = a.dz + i * a.ldz;
    T* d_h_prev = a.d_h_prev + i * u;
    for (int64_t j = c.begin; j < c.end; ++j) {
      const T hm = mask != nullptr ? h[j] * mask[j] : h[j];
      const T p = hm * p2[j];
      dz[u + j] = p * derivative(a.recurrent_activation, pre != nullptr ? pre + u : nullptr, j, r[j]);
      T q = p2[j] * r[j];
      if (mask != nullptr) q = q * mask[j];
      d_h_prev[j] = d_h_prev[j] + q;
    }
  }
}

template <class T>
void simple_rnn_forward(const SimpleRNNForward<T>& a) {
  const int64_t u = a.units;
  const Columns c = columns_of(u, a.col_begin, a.col_end);
  for (int64_t i = 0; i < a.rows; ++i) {
    const T* xp = a.x_proj + i * a.ld_x_proj;
    const T* rec = row_or_null(a.rec, i, a.ld_rec);
    T* h_new = a.h_new + i * u;
    for (int64_t j = c.begin; j < c.end; ++j) h_new[j] = sum_parts(xp, rec, j);
    copy_columns<T>(h_new, row_or_null(a.pre, i, u), c);
    activate_rows(a.activation, h_new + c.begin, 1, c.count());
    copy_columns<T>(h_new, row_or_null(a.output, i, u), c);
    copy_columns<T>(h_new, row_or_null(a.h_record, i, u), c);
  }
}

template <class T>
void simple_rnn_backward(const SimpleRNNBackward<T>& a) {
  const int64_t u = a.units;
  const Columns c = columns_of(u, a.col_begin, a.col_end);
  for (int64_t i = 0; i < a.rows; ++i) {
    const T* d_out = row_or_null(a.d_output, i, u);
    const T* d_h = row_or_null(a.d_h, i, u);
    const T* y = a.y + i * u;
    const T* pre = row_or_null(a.pre, i, u);
    T* dz = a.dz + i * a.ldz;
    for (int64_t j = c.begin; j < c.end; ++j)
      dz[j] = gradient_sum(d_out, d_h, j) * derivative(a.activation, pre, j, y[j]);
  }
}

#define RNNX_INSTANTIATE(T)                                        \
  template void lstm_forward<T>(const LSTMForward<T>&);            \
  template void lstm_backward<T>(const LSTMBackward<T>&);          \
  template void gru_forward<T>(const GRUForward<T>&);              \
  template void gru_reset_forward<T>(const GRUForward<T>&);        \
  template void gru_candidate_forward<T>(const GRUForward<T>&);    \
  template void gru_backward<T>(const GRUBackward<T>&);            \
  template void gru_reset_backward<T>(const GRUBackward<T>&);      \
  template void simple_rnn_forward<T>(const SimpleRNNForward<T>&); \
  template void simple_rnn_backward<T>(const SimpleRNNBackward<T>&);
RNNX_INSTANTIATE(float)
RNNX_INSTANTIATE(double)
#undef RNNX_INSTANTIATE

}  // namespace rnnx::kernels::ref
