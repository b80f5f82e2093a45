#pragma once
// Internal helpers shared by the built-in cells: option checks and the two matrix products
// every gated cell does (input projection and recurrent product, each with the dropout
// masks of spec §3.5 / §2.4). Only kernels are called here.
#include <cstdint>
#include <initializer_list>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "rnnx/cells/keras_layout.h"
#include "rnnx/core/error.h"
#include "rnnx/core/tensor.h"
#include "rnnx/initializers.h"
#include "rnnx/kernels/kernels.h"
#include "rnnx/layers/layer.h"

namespace rnnx::cells_detail {

// Hands out consecutive pieces of a cell's scratch buffer.
template <class T>
class ScratchCursor {
 public:
  explicit ScratchCursor(T* base) : next_(base) {}
  T* take(int64_t count) {
    T* out = next_;
    next_ += count;
    return out;
  }

 private:
  T* next_;
};

// The weights of a Keras cell as params: kernel, recurrent_kernel and (with use_bias) bias,
// each carrying its regularizer and constraint from the cell's options.
template <class T, class Options>
std::vector<Param<T>> keras_cell_params(const Options& o, Tensor<T>* kernel, Tensor<T>* kernel_grad,
                                        Tensor<T>* recurrent_kernel, Tensor<T>* recurrent_kernel_grad, Tensor<T>* bias,
                                        Tensor<T>* bias_grad) {
  std::vector<Param<T>> out{{"kernel", kernel, kernel_grad, true, o.kernel_regularizer, o.kernel_constraint},
                            {"recurrent_kernel", recurrent_kernel, recurrent_kernel_grad, true, o.recurrent_regularizer,
                             o.recurrent_constraint}};
  if (o.use_bias) out.push_back({"bias", bias, bias_grad, true, o.bias_regularizer, o.bias_constraint});
  return out;
}

inline void check_units(int64_t units, const std::string& where, const char* what = "units") {
  if (units <= 0) throw ConfigError(where + ": " + what + " must be a positive integer, got " + std::to_string(units));
}

// Dropout rates must lie in [0, 1). Keras clips rates to [0, 1], and a rate of exactly 1
// then silently disables dropout in the LSTM/GRU cells but zeroes the input of SimpleRNN
// (spec §3.5); rnnx rejects 1 (and anything outside [0, 1) or NaN) instead.
inline void check_rate(double rate, const std::string& where, const char* what) {
  if (!(rate >= 0.0 && rate < 1.0))
    throw ConfigError(where + ": " + what + " must be in [0, 1), got " + std::to_string(rate));
}

inline void check_implementation(int implementation, const std::string& where) {
  if (implementation != 1 && implementation != 2)
    throw ConfigError(where + ": implementation must be 1 or 2, got " + std::to_string(implementation) +
                      " (Keras 2.0 implementation 0 computes the same as 1)");
}

// Number of masks of one kind: none without dropout, one shared by all gates, or one per
// gate (implementation 1 with per-gate masks, spec §2.4).
inline int mask_count(double rate, bool per_gate, int gates) {
  if (rate <= 0.0) return 0;
  return per_gate ? gates : 1;
}

// The start of a Keras cell's build(): it takes no constants; a built cell only accepts the
// same input size again. Returns true when the cell is already built (build() then returns).
inline bool begin_build(const std::string& cell, int64_t input_size, const std::vector<int64_t>& constant_sizes,
                        bool built, int64_t built_input_size) {
  if (!constant_sizes.empty())
    throw ConfigError(cell + ": takes no constants, got " + std::to_string(constant_sizes.size()));
  if (built) {
    if (input_size != built_input_size)
      throw ShapeError(cell + ": built for " + std::to_string(built_input_size) + " input features, got " +
                       std::to_string(input_size));
    return true;
  }
  check_units(input_size, cell, "input size");
  return false;
}

// Dropout bookkeeping of the gated Keras cells (LSTM, GRU; spec §3.5): recurrent_dropout
// forces implementation 1; per-gate masks exist only there; tf.keras's whole-sequence input
// mask replaces the per-step input masks.
template <class Options>
int effective_implementation(const Options& o) {
  return o.recurrent_dropout > 0.0 ? 1 : o.implementation;
}
template <class Options>
bool per_gate_masks(const Options& o) {
  return o.per_gate_dropout_masks && effective_implementation(o) == 1;
}
template <class Options>
int input_mask_count(const Options& o, int gates) {
  return o.whole_sequence_input_dropout ? 0 : mask_count(o.dropout, per_gate_masks(o), gates);
}
template <class Options>
int recurrent_mask_count(const Options& o, int gates) {
  return mask_count(o.recurrent_dropout, per_gate_masks(o), gates);
}
template <class Options>
double sequence_input_dropout(const Options& o) {
  return o.whole_sequence_input_dropout ? o.dropout : 0.0;
}

// The mask gate g reads: none, the shared one, or its own.
template <class T>
const T* gate_mask(std::span<const T* const> masks, int gate) {
  if (masks.empty()) return nullptr;
  return masks.size() == 1 ? masks[0] : masks[static_cast<size_t>(gate)];
}

// out[r, block g] = (x[r, :] * mask_g[r % batch, :]) @ w[:, block g] (+ bias), for `rows`
// rows of `in` features and `gates` blocks of `units` columns (w and out have gates*units
// columns). `tmp` holds rows * in values and is used only when masks are given.
template <class T>
void project_gates(const T* x, int64_t rows, int64_t batch, int64_t in, const T* w, int gates, int64_t units,
                   std::span<const T* const> masks, const T* bias, T* out, T* tmp) {
  const int64_t width = gates * units;
  if (masks.size() <= 1) {
    const T* src = x;
    if (!masks.empty()) {
      kernels::multiply_periodic_rows<T>(rows, in, x, in, masks[0], batch, tmp, in);
      src = tmp;
    }
    kernels::gemm<T>(false, false, rows, width, in, T(1), src, in, w, width, T(0), out, width);
  } else {
    for (int g = 0; g < gates; ++g) {
      kernels::multiply_periodic_rows<T>(rows, in, x, in, masks[static_cast<size_t>(g)], batch, tmp, in);
      kernels::gemm<T>(false, false, rows, units, in, T(1), tmp, in, w + g * units, width, T(0), out + g * units,
                       width);
    }
  }
  if (bias != nullptr) kernels::add_row_vector<T>(out, rows, width, width, bias);
}

// z[:, block g] = (h * mask_g) @ r[:, block g] + beta * z[:, block g] for g < gates, where
// h is [batch, h_size], r has ldr columns and z has ldz. `tmp` holds batch * h_size values.
template <class T>
void recurrent_gates(const T* h, int64_t batch, int64_t h_size, const T* r, int64_t ldr, int gates, int64_t units,
                     std::span<const T* const> masks, T beta, T* z, int64_t ldz, T* tmp) {
  if (masks.size() <= 1) {
    const T* src = h;
    if (!masks.empty()) {
      kernels::multiply_block<T>(batch, h_size, h, h_size, masks[0], h_size, tmp, h_size);
      src = tmp;
    }
    kernels::gemm<T>(false, false, batch, gates * units, h_size, T(1), src, h_size, r, ldr, beta, z, ldz);
    return;
  }
  for (int g = 0; g < gates; ++g) {
    kernels::multiply_block<T>(batch, h_size, h, h_size, masks[static_cast<size_t>(g)], h_size, tmp, h_size);
    kernels::gemm<T>(false, false, batch, units, h_size, T(1), tmp, h_size, r + g * units, ldr, beta, z + g * units,
                     ldz);
  }
}

// ---- Backward (spec §2.5). dz holds `gates` blocks of `units` columns, leading dimension
// ldz; block g pairs with columns [g*units, (g+1)*units) of a weight with ldw columns. ----

// dx = Σ_g (dz_g @ w_gᵀ) * mask_g[r % batch] + beta * dx over `rows` rows of `in` values:
// the gradient of project_gates / recurrent_gates with respect to their x / h. `wt` is wᵀ,
// [gates * units, in] (see transpose_into), so block g of w is rows g*units.. of wt and the
// products stream rows. `tmp` holds rows * in values and is used only when masks are given.
template <class T>
void backprop_gates(const T* dz, int64_t ldz, int64_t rows, int64_t batch, int64_t in, const T* wt, int gates,
                    int64_t units, std::span<const T* const> masks, T beta, T* dx, int64_t lddx, T* tmp) {
  if (masks.empty()) {
    kernels::gemm<T>(false, false, rows, in, gates * units, T(1), dz, ldz, wt, in, beta, dx, lddx);
    return;
  }
  const int passes = masks.size() == 1 ? 1 : gates;  // a shared mask factors out of the sum
  const int64_t cols = masks.size() == 1 ? gates * units : units;
  for (int g = 0; g < passes; ++g) {
    kernels::gemm<T>(false, false, rows, in, cols, T(1), dz + g * units, ldz, wt + g * units * in, in, T(0), tmp, in);
    kernels::multiply_periodic_rows<T>(rows, in, tmp, in, masks[static_cast<size_t>(g)], batch, tmp, in);
    if (g == 0 && beta == T(0))
      kernels::copy_block<T>(rows, in, tmp, in, dx, lddx);
    else
      kernels::add_block<T>(rows, in, dx, lddx, tmp, in, dx, lddx);
  }
}

// out = wᵀ for a 2-D weight w [r, c] (out becomes [c, r]); reuses out's storage when it
// already has that shape.
template <class T>
void transpose_into(const Tensor<T>& w, Tensor<T>& out) {
  const Shape shape{w.dim(1), w.dim(0)};
  if (out.shape() != shape) out = Tensor<T>(shape);
  kernels::swap_leading_axes<T>(w.dim(0), w.dim(1), 1, w.data(), out.data());
}

// dw[:, block g] += (x * mask_g[r % batch])ᵀ @ dz_g over `rows` rows of `in` values: the
// weight gradient of project_gates / recurrent_gates. `tmp` holds rows * in values and is
// used only when masks are given.
template <class T>
void accumulate_gate_weights(const T* x, int64_t ldx, int64_t rows, int64_t batch, int64_t in, const T* dz, int64_t ldz,
                             int gates, int64_t units, std::span<const T* const> masks, T* dw, int64_t ldw, T* tmp) {
  if (masks.empty()) {
    kernels::gemm<T>(true, false, in, gates * units, rows, T(1), x, ldx, dz, ldz, T(1), dw, ldw);
    return;
  }
  const int passes = masks.size() == 1 ? 1 : gates;
  const int64_t cols = masks.size() == 1 ? gates * units : units;
  for (int g = 0; g < passes; ++g) {
    kernels::multiply_periodic_rows<T>(rows, in, x, ldx, masks[static_cast<size_t>(g)], batch, tmp, in);
    kernels::gemm<T>(true, false, in, cols, rows, T(1), tmp, in, dz + g * units, ldz, T(1), dw + g * units, ldw);
  }
}

// Allocates one zero gradient per weight, shaped like it (Param::grad, cell.h).
template <class T>
void allocate_grads(std::initializer_list<std::pair<const Tensor<T>*, Tensor<T>*>> pairs) {
  for (const auto& [value, grad] : pairs) *grad = value->empty() ? Tensor<T>() : Tensor<T>(value->shape());
}

// Concatenates 1-D pieces into `out` (sizes must add up).
template <class T>
void concat_vectors(const std::vector<const Tensor<T>*>& pieces, Tensor<T>& out) {
  int64_t offset = 0;
  for (const Tensor<T>* p : pieces) {
    kernels::copy_block<T>(1, p->size(), p->data(), p->size(), out.data() + offset, p->size());
    offset += p->size();
  }
}

// ---- The LSTM bias (spec §2.1), shared by LSTMCell and ConvLSTMCell; their gate arithmetic
// is kernels::lstm_forward / lstm_backward (cell_kernels.h). ----

// A Keras LSTM bias of 4 * units: with unit_forget_bias [bias_init(U), ones(U),
// bias_init(2U)] (blocks i | f | c, o), else bias_init over all of it.
template <class T, class Options>
void initialize_lstm_bias(const Options& o, int64_t units, Tensor<T>& bias, Rng& rng) {
  using keras::block_offset;
  using keras::LSTMGate;
  if (!o.unit_forget_bias) {
    initialize(o.bias_initializer, bias, rng);
    return;
  }
  static_assert(block_offset(LSTMGate::forget, 1) == 1 && block_offset(LSTMGate::cell, 1) == 2 &&
                block_offset(LSTMGate::output, 1) == 3);
  Tensor<T> input_part({units}), forget_part({units}, T(1)), cell_output_part({2 * units});
  initialize(o.bias_initializer, input_part, rng);
  initialize(o.bias_initializer, cell_output_part, rng);
  concat_vectors<T>({&input_part, &forget_part, &cell_output_part}, bias);
}

}  // namespace rnnx::cells_detail
