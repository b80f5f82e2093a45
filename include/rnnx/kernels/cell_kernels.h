#pragma once
// Fused recurrent-cell kernels (design.md principle 2; issue 10): the whole gate arithmetic of
// one LSTM, GRU or SimpleRNN time step after its matrix products, as ONE pass over the rows,
// forward and backward. A forward pass reads the pre-activation parts once and writes the new
// states, the output and, in training, exactly what the backward pass needs; the backward pass
// reads that record once and writes the step's dZ rows and the direct state gradients. The
// recurrent products themselves stay with the caller (kernels.h gemm), so the kernels never
// allocate and never see weights.
//
// Every kernel has a readable reference version in rnnx::kernels::ref (ref_cell_kernels.cpp)
// that defines it: plain loops, the activations of activations.h, the operations in the order
// the formulas below list them. The fast versions run, for float with an activation that has
// a fast path (has_fast_path), vectorised code for the instruction set of active_isa();
// everything else (double, other activations) runs the reference. Fast and reference agree to
// a few units in the last place (the fast sigmoid/tanh are polynomial, see cpu_activations.h;
// products may be fused multiply-adds); tests/unit/cell_kernels_test.cpp checks every path.
//
// Common conventions. `rows` rows (samples) of `units` (U) columns; a gate block g of a
// [rows, G*U] buffer is columns [g*U, (g+1)*U) (Keras gate order, keras_layout.h). Buffers
// are row-major and contiguous with the leading dimension of their width, except x_proj, rec
// and dz, which have an explicit leading dimension. Only columns [col_begin, col_end) of each
// block are read and written (col_end < 0 means U), so threads may split the units; an
// activation without a fast path that is not element-wise (softmax) needs the whole range.
// Pointers marked "or null" may be null; the others are required. Outputs never alias inputs,
// except where a field says so.
// Kernels check nothing and never throw (callers check shapes, principle 5).
#include <cstdint>

#include "rnnx/activations.h"

namespace rnnx::kernels {

// ---- Instruction sets of the float fast paths (runtime dispatch). ----

enum class Isa { portable = 0, avx2 = 1, avx512 = 2 };

// The best instruction set this CPU reports (AVX-512F; AVX2 with FMA; else portable).
Isa detected_isa();
// The one the fast kernels use: detected_isa(), capped by the environment variable RNNX_ISA
// ("portable", "avx2", "avx512"; read once, at first use) and by set_isa().
Isa active_isa();
// Caps the instruction set for the following kernel calls (tests force the AVX2 and portable
// paths this way); a cap above detected_isa() gives detected_isa(). Not thread-safe against
// kernels running at the same time.
void set_isa(Isa cap);
// "portable", "avx2" or "avx512".
const char* isa_name(Isa isa);

// True for the activations the fused float kernels vectorise: linear, sigmoid, tanh,
// hard_sigmoid (both formulas) and relu. Others run the reference kernels.
bool has_fast_path(const Activation& a);
// True when the derivative of `a` needs its input x, not only its output y = a(x) (every
// activation but linear, sigmoid, tanh and relu): a training record then keeps the
// pre-activations too.
bool derivative_needs_input(const Activation& a);

// ---- LSTM (spec §2.1). Blocks i, f, c, o. ----

// Forward, per element (j in the column range, g the gate blocks):
//   z_g = x_proj_g + rec_g                 (rec null: z_g = x_proj_g)
//   i = σr(z_i)  f = σr(z_f)  g = φ(z_c)  o = σr(z_o)
//   c' = f * c;  c' = c' + i * g;   h' = o * φ(c');   output = h'
template <class T>
struct LSTMForward {
  Activation activation, recurrent_activation;  // φ, σr
  int64_t rows = 0, units = 0, col_begin = 0, col_end = -1;
  const T* x_proj = nullptr;  // [rows, 4U], leading dimension ld_x_proj: x @ kernel + bias
  int64_t ld_x_proj = 0;
  const T* rec = nullptr;  // [rows, 4U], leading dimension ld_rec: h @ recurrent_kernel; or null
  int64_t ld_rec = 0;
  const T* c = nullptr;  // [rows, U] the previous cell state
  T* c_new = nullptr;    // [rows, U]
  T* h_new = nullptr;    // [rows, U]
  T* output = nullptr;   // [rows, U] a copy of h', or null
  // Record: [rows, 4U] i, f, g, o after their activations. Required unless both activations
  // have a fast path and T is float (lstm_needs_gates). May be x_proj or rec itself (same
  // pointer, leading dimension 4U): the gates then overwrite that part in place.
  T* gates = nullptr;
  T* act_c = nullptr;  // [rows, U] φ(c'), or null
  T* pre = nullptr;    // [rows, 4U] the z_g, or null
};

// Whether LSTMForward::gates may be null for these activations.
template <class T>
bool lstm_needs_gates(const Activation& activation, const Activation& recurrent_activation);

// Backward of LSTMForward, per element, with dh = d_output + d_h (null terms are zero):
//   dc = dh * o;  dc = dc * φ'(c');  dc = dc + d_c
//   dz_o = (dh * φ(c')) * σr'(z_o)      dz_i = (dc * g) * σr'(z_i)
//   dz_f = (dc * c) * σr'(z_f)          dz_c = (dc * i) * φ'(z_c)       d_c_prev = dc * f
// The record: gates and act_c always; pre when derivative_needs_input(σr or φ); c_new when
// derivative_needs_input(φ).
template <class T>
struct LSTMBackward {
  Activation activation, recurrent_activation;
  int64_t rows = 0, units = 0, col_begin = 0, col_end = -1;
  const T* d_output = nullptr;  // [rows, U] or null
  const T* d_h = nullptr;       // [rows, U] or null: dL/d h'
  const T* d_c = nullptr;       // [rows, U] or null: dL/d c'
  const T* gates = nullptr;     // [rows, 4U]
  const T* act_c = nullptr;     // [rows, U]
  const T* c_prev = nullptr;    // [rows, U] the c the step read
  const T* pre = nullptr;       // [rows, 4U] or null (see above)
  const T* c_new = nullptr;     // [rows, U] or null (see above)
  T* dz = nullptr;              // [rows, 4U], leading dimension ldz
  int64_t ldz = 0;
  T* d_c_prev = nullptr;  // [rows, U]
};

template <class T>
void lstm_forward(const LSTMForward<T>& a);
template <class T>
void lstm_backward(const LSTMBackward<T>& a);

// ---- GRU (spec §2.2). Blocks z, r, h. ----

// reset_after = true, one pass per step. With rb = rec + rec_bias per block (rec_bias null:
// rb = rec):
//   a_z = x_proj_z + rb_z   a_r = x_proj_r + rb_r   z = σr(a_z)   r = σr(a_r)
//   a_h = x_proj_h + r * rb_h   hh = φ(a_h)   h' = z * h + (1 - z) * hh   output = h'
// Record: zr = [z, r] [rows, 2U], reset = rb_h, cand = hh, zr_pre = [a_z, a_r] and
// cand_pre = a_h.
//
// reset_after = false, two passes around the caller's product of the candidate block:
//   gru_reset_forward:     a_z, a_r, z, r as above (rec_bias unused);
//                          reset = r * (h * h_mask)   (h_mask null: r * h)
//   caller:                rec_h = reset @ recurrent_kernel_h
//   gru_candidate_forward: a_h = x_proj_h + rec_h   hh = φ(a_h)   h' = z * h + (1 - z) * hh
// where rec_h is block h of rec, and z is read from zr.
template <class T>
struct GRUForward {
  Activation activation, recurrent_activation;
  int64_t rows = 0, units = 0, col_begin = 0, col_end = -1;
  const T* x_proj = nullptr;  // [rows, 3U], leading dimension ld_x_proj: x @ kernel + input bias
  int64_t ld_x_proj = 0;
  const T* rec = nullptr;  // [rows, 3U], leading dimension ld_rec (see above)
  int64_t ld_rec = 0;
  const T* rec_bias = nullptr;  // [3U] or null (reset_after only)
  const T* h = nullptr;         // [rows, U] the previous state
  const T* h_mask = nullptr;    // [rows, U] or null (reset_before only)
  T* h_new = nullptr;           // [rows, U]
  T* output = nullptr;          // [rows, U] or null
  // [rows, 2U]: z and r after the activation. Required unless reset_after and both
  // activations have a fast path and T is float (gru_needs_record).
  T* zr = nullptr;
  // [rows, U]: reset_after: rb_h, or null under the same condition as zr; reset_before: r * h_m
  // (required: the candidate product reads it).
  T* reset = nullptr;
  T* cand = nullptr;      // [rows, U] hh, or null when not recorded
  T* zr_pre = nullptr;    // [rows, 2U] or null
  T* cand_pre = nullptr;  // [rows, U] or null
};

// Whether GRUForward::zr and (reset_after) reset are required for these activations.
template <class T>
bool gru_needs_record(const Activation& activation, const Activation& recurrent_activation);

// Backward, with dh = d_output + d_h (null terms are zero); both forms start with
//   p = -hh;  p = h + p;  p = p * dh;  dz_z = p * σr'(a_z)
//   p = z * dh;  p = -p;  p = dh + p;  da_h = p * φ'(a_h)        (dz_h = da_h)
//   d_h_prev = dh * z          (the direct term; the caller adds the products)
// reset_after (gru_backward) also writes
//   dz_r = (da_h * rb_h) * σr'(a_r)    d_rh = da_h * r   (block 3 of dz: [rows, 4U])
// reset_before splits like the forward: gru_backward writes dz_z, dz_h and d_h_prev; the
// caller computes p2 = da_h @ recurrent_kernel_hᵀ; gru_reset_backward then writes
//   dz_r = ((h * h_mask) * p2) * σr'(a_r)    q = p2 * r;  q = q * h_mask;  d_h_prev += q
// (h_mask null: no mask factor).
// Record: zr, cand, h, and reset (reset_after); zr_pre when derivative_needs_input(σr);
// cand_pre when derivative_needs_input(φ).
template <class T>
struct GRUBackward {
  Activation activation, recurrent_activation;
  bool reset_after = true;
  int64_t rows = 0, units = 0, col_begin = 0, col_end = -1;
  const T* d_output = nullptr;  // [rows, U] or null
  const T* d_h = nullptr;       // [rows, U] or null
  const T* h = nullptr;         // [rows, U] the state the step read
  const T* h_mask = nullptr;    // [rows, U] or null (reset_before)
  const T* zr = nullptr;
  const T* zr_pre = nullptr;
  const T* reset = nullptr;
  const T* cand = nullptr;
  const T* cand_pre = nullptr;
  const T* p2 = nullptr;  // [rows, U] gru_reset_backward only
  T* dz = nullptr;        // [rows, 3U] (reset_after: 4U), leading dimension ldz
  int64_t ldz = 0;
  T* d_h_prev = nullptr;  // [rows, U]
};

template <class T>
void gru_forward(const GRUForward<T>& a);  // reset_after
template <class T>
void gru_reset_forward(const GRUForward<T>& a);  // reset_before, first pass
template <class T>
void gru_candidate_forward(const GRUForward<T>& a);  // reset_before, second pass
template <class T>
void gru_backward(const GRUBackward<T>& a);
template <class T>
void gru_reset_backward(const GRUBackward<T>& a);  // reset_before, second pass

// ---- SimpleRNN (spec §2.3). ----

// Forward: a = x_proj + rec (rec null: a = x_proj);  y = φ(a);  output = h' = y.
// Record: h_record = y, pre = a.
template <class T>
struct SimpleRNNForward {
  Activation activation;
  int64_t rows = 0, units = 0, col_begin = 0, col_end = -1;
  const T* x_proj = nullptr;  // [rows, U], leading dimension ld_x_proj
  int64_t ld_x_proj = 0;
  const T* rec = nullptr;  // [rows, U], leading dimension ld_rec, or null
  int64_t ld_rec = 0;
  T* h_new = nullptr;     // [rows, U]
  T* output = nullptr;    // [rows, U] or null
  T* h_record = nullptr;  // [rows, U] or null
  T* pre = nullptr;       // [rows, U] or null
};

// Backward: dz = (d_output + d_h) * φ'(a), reading pre only when derivative_needs_input(φ).
template <class T>
struct SimpleRNNBackward {
  Activation activation;
  int64_t rows = 0, units = 0, col_begin = 0, col_end = -1;
  const T* d_output = nullptr;  // [rows, U] or null
  const T* d_h = nullptr;       // [rows, U] or null
  const T* y = nullptr;         // [rows, U] the recorded output
  const T* pre = nullptr;       // [rows, U] or null
  T* dz = nullptr;              // [rows, U], leading dimension ldz
  int64_t ldz = 0;
};

template <class T>
void simple_rnn_forward(const SimpleRNNForward<T>& a);
template <class T>
void simple_rnn_backward(const SimpleRNNBackward<T>& a);

namespace ref {
template <class T>
void lstm_forward(const LSTMForward<T>& a);
template <class T>
void lstm_backward(const LSTMBackward<T>& a);
template <class T>
void gru_forward(const GRUForward<T>& a);
template <class T>
void gru_reset_forward(const GRUForward<T>& a);
template <class T>
void gru_candidate_forward(const GRUForward<T>& a);
template <class T>
void gru_backward(const GRUBackward<T>& a);
template <class T>
void gru_reset_backward(const GRUBackward<T>& a);
template <class T>
void simple_rnn_forward(const SimpleRNNForward<T>& a);
template <class T>
void simple_rnn_backward(const SimpleRNNBackward<T>& a);
}  // namespace ref

}  // namespace rnnx::kernels
