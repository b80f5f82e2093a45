#include "rnnx/cells/conv_lstm_cell.h"

#include <algorithm>
#include <span>

#include "cells/gate_math.h"
#include "rnnx/cells/keras_layout.h"
#include "rnnx/core/error.h"
#include "rnnx/kernels/cell_kernels.h"
#include "rnnx/kernels/kernels.h"

namespace rnnx {

using keras::kLSTMGates;
namespace cd = cells_detail;

namespace {

constexpr size_t kTapeZ = 0, kTapeGates = 1, kTapeC = 2, kTapeTanhC = 3;

std::string tuple_string(const std::vector<int64_t>& v) {
  std::string s = "(";
  for (size_t i = 0; i < v.size(); ++i) s += (i ? ", " : "") + std::to_string(v[i]);
  return s + (v.size() == 1 ? ",)" : ")");
}

template <class T>
using Conv = typename ConvLSTMCell<T>::Conv;

// col[(b * P + oy * out_c + ox), (ky * k_c + kx) * C + c] = x[b, oy*s_r - pad_t + ky*d_r,
// ox*s_c - pad_l + kx*d_c, c], zero outside the frame (the rows of a convolution as a gemm).
template <class T>
void im2col(const Conv<T>& g, int64_t batch, const T* x, T* col) {
  const int64_t patch = g.patch(), C = g.channels, in_size = g.in_size();
  for (int64_t b = 0; b < batch; ++b)
    for (int64_t oy = 0; oy < g.out_r; ++oy)
      for (int64_t ox = 0; ox < g.out_c; ++ox) {
        T* row = col + ((b * g.out_r + oy) * g.out_c + ox) * patch;
        for (int64_t ky = 0; ky < g.k_r; ++ky) {
          const int64_t iy = oy * g.s_r - g.pad_t + ky * g.d_r;
          for (int64_t kx = 0; kx < g.k_c; ++kx) {
            const int64_t ix = ox * g.s_c - g.pad_l + kx * g.d_c;
            T* dst = row + (ky * g.k_c + kx) * C;
            if (iy < 0 || iy >= g.in_r || ix < 0 || ix >= g.in_c) {
              std::fill(dst, dst + C, T(0));
            } else {
              const T* src = x + b * in_size + (iy * g.in_c + ix) * C;
              std::copy(src, src + C, dst);
            }
          }
        }
      }
}

// The adjoint of im2col: dx += col2im(dcol).
template <class T>
void col2im(const Conv<T>& g, int64_t batch, const T* dcol, T* dx) {
  const int64_t patch = g.patch(), C = g.channels, in_size = g.in_size();
  for (int64_t b = 0; b < batch; ++b)
    for (int64_t oy = 0; oy < g.out_r; ++oy)
      for (int64_t ox = 0; ox < g.out_c; ++ox) {
        const T* row = dcol + ((b * g.out_r + oy) * g.out_c + ox) * patch;
        for (int64_t ky = 0; ky < g.k_r; ++ky) {
          const int64_t iy = oy * g.s_r - g.pad_t + ky * g.d_r;
          if (iy < 0 || iy >= g.in_r) continue;
          for (int64_t kx = 0; kx < g.k_c; ++kx) {
            const int64_t ix = ox * g.s_c - g.pad_l + kx * g.d_c;
            if (ix < 0 || ix >= g.in_c) continue;
            T* dst = dx + b * in_size + (iy * g.in_c + ix) * C;
            const T* src = row + (ky * g.k_c + kx) * C;
            for (int64_t c = 0; c < C; ++c) dst[c] += src[c];
          }
        }
      }
}

// z[:, block gate] = conv(x * mask_gate, w[:, block gate]) + beta * z over `frames` frames
// (frame r reads mask row r % period). z is [frames * P, 4F]; w is [patch, 4F]. Without
// masks all four blocks come from one product. `col` holds frames*P*patch values, `tmp`
// frames*in_size (used only with masks).
template <class T>
void conv_gates(const Conv<T>& g, const T* x, int64_t frames, int64_t period, std::span<const T* const> masks,
                const T* w, int64_t filters, T beta, T* z, T* col, T* tmp) {
  const int64_t gw = kLSTMGates * filters, rows = frames * g.positions(), patch = g.patch(), in = g.in_size();
  if (masks.empty()) {
    im2col(g, frames, x, col);
    kernels::gemm<T>(false, false, rows, gw, patch, T(1), col, patch, w, gw, beta, z, gw);
    return;
  }
  for (int gate = 0; gate < kLSTMGates; ++gate) {
    kernels::multiply_periodic_rows<T>(frames, in, x, in, masks[static_cast<size_t>(gate)], period, tmp, in);
    im2col(g, frames, tmp, col);
    kernels::gemm<T>(false, false, rows, filters, patch, T(1), col, patch, w + gate * filters, gw, beta,
                     z + gate * filters, gw);
  }
}

// dx = Σ_gate mask_gate * col2im(dz_gate @ w_gateᵀ), overwriting dx [frames, in_size]: the
// input gradient of conv_gates. dz is [frames * P, 4F]; `dcol` holds frames*P*patch values,
// `tmp` frames*in_size (used only with masks).
template <class T>
void conv_gates_backward(const Conv<T>& g, const T* dz, int64_t frames, int64_t period, std::span<const T* const> masks,
                         const T* w, int64_t filters, T* dx, T* dcol, T* tmp) {
  const int64_t gw = kLSTMGates * filters, rows = frames * g.positions(), patch = g.patch(), in = g.in_size();
  std::fill(dx, dx + frames * in, T(0));
  if (masks.empty()) {
    kernels::gemm<T>(false, true, rows, patch, gw, T(1), dz, gw, w, gw, T(0), dcol, patch);
    col2im(g, frames, dcol, dx);
    return;
  }
  for (int gate = 0; gate < kLSTMGates; ++gate) {
    kernels::gemm<T>(false, true, rows, patch, filters, T(1), dz + gate * filters, gw, w + gate * filters, gw, T(0),
                     dcol, patch);
    std::fill(tmp, tmp + frames * in, T(0));
    col2im(g, frames, dcol, tmp);
    kernels::multiply_periodic_rows<T>(frames, in, tmp, in, masks[static_cast<size_t>(gate)], period, tmp, in);
    kernels::add_block<T>(frames, in, dx, in, tmp, in, dx, in);
  }
}

// dw[:, block gate] += im2col(x * mask_gate)ᵀ @ dz_gate: the weight gradient of conv_gates.
template <class T>
void conv_gates_weights(const Conv<T>& g, const T* x, int64_t frames, int64_t period, std::span<const T* const> masks,
                        const T* dz, int64_t filters, T* dw) {
  const int64_t gw = kLSTMGates * filters, rows = frames * g.positions(), patch = g.patch(), in = g.in_size();
  std::vector<T> col(static_cast<size_t>(rows * patch));
  if (masks.empty()) {
    im2col(g, frames, x, col.data());
    kernels::gemm<T>(true, false, patch, gw, rows, T(1), col.data(), patch, dz, gw, T(1), dw, gw);
    return;
  }
  std::vector<T> tmp(static_cast<size_t>(frames * in));
  for (int gate = 0; gate < kLSTMGates; ++gate) {
    kernels::multiply_periodic_rows<T>(frames, in, x, in, masks[static_cast<size_t>(gate)], period, tmp.data(), in);
    im2col(g, frames, tmp.data(), col.data());
    kernels::gemm<T>(true, false, patch, filters, rows, T(1), col.data(), patch, dz + gate * filters, gw, T(1),
                     dw + gate * filters, gw);
  }
}

// Standardised tuple: empty -> `fill` repeated; otherwise exactly `rank` positive entries.
void check_tuple(std::vector<int64_t>& v, int rank, int64_t fill, const std::string& where, const char* what) {
  if (v.empty()) v.assign(static_cast<size_t>(rank), fill);
  if (static_cast<int>(v.size()) != rank)
    throw ConfigError(where + ": " + what + " must have " + std::to_string(rank) + " entries, got " + tuple_string(v));
  for (int64_t e : v)
    if (e <= 0) throw ConfigError(where + ": " + what + " entries must be positive, got " + tuple_string(v));
}

}  // namespace

template <class T>
void ConvLSTMCell<T>::validate(ConvLSTMCellOptions& o, const std::string& where) {
  if (o.rank != 1 && o.rank != 2)
    throw ConfigError(where + ": rank must be 1 or 2 (ConvLSTM1D / ConvLSTM2D), got " + std::to_string(o.rank));
  cd::check_units(o.filters, where, "filters");
  if (o.kernel_size.empty()) throw ConfigError(where + ": kernel_size is required");
  check_tuple(o.kernel_size, o.rank, 1, where, "kernel_size");
  check_tuple(o.strides, o.rank, 1, where, "strides");
  check_tuple(o.dilation_rate, o.rank, 1, where, "dilation_rate");
  if (o.padding != "valid" && o.padding != "same")
    throw ConfigError(where + ": padding must be 'valid' or 'same', got '" + o.padding + "'");
  if (o.data_format != "channels_last")
    throw ConfigError(where + ": data_format '" + o.data_format +
                      "' is not supported by rnnx (expected 'channels_last'; transpose the frames instead)");
  const bool strided = *std::max_element(o.strides.begin(), o.strides.end()) > 1;
  const bool dilated = *std::max_element(o.dilation_rate.begin(), o.dilation_rate.end()) > 1;
  if (strided && dilated)
    throw ConfigError(where +
                      ": strides > 1 cannot be combined with dilation_rate > 1 (Keras refuses it), got strides " +
                      tuple_string(o.strides) + " and dilation_rate " + tuple_string(o.dilation_rate));
  cd::check_rate(o.dropout, where, "dropout");
  cd::check_rate(o.recurrent_dropout, where, "recurrent_dropout");
}

template <class T>
ConvLSTMCell<T>::ConvLSTMCell(ConvLSTMCellOptions options) : options_(std::move(options)) {
  validate(options_, "ConvLSTMCell");
}

template <class T>
std::vector<int64_t> ConvLSTMCell<T>::output_spatial(const ConvLSTMCellOptions& o,
                                                     const std::vector<int64_t>& in_spatial, const std::string& where) {
  std::vector<int64_t> out;
  for (size_t a = 0; a < in_spatial.size(); ++a) {
    const int64_t in = in_spatial[a], s = o.strides[a], span = (o.kernel_size[a] - 1) * o.dilation_rate[a] + 1;
    if (in < 0) {
      out.push_back(-1);
    } else if (o.padding == "same") {
      out.push_back((in + s - 1) / s);
    } else {
      if (in < span)
        throw ShapeError(where + ": spatial axis " + std::to_string(a) + " has " + std::to_string(in) +
                         " elements, fewer than the " + std::to_string(span) +
                         " a 'valid' convolution window spans (kernel_size " + tuple_string(o.kernel_size) +
                         ", dilation_rate " + tuple_string(o.dilation_rate) + ")");
      out.push_back((in - span) / s + 1);
    }
  }
  return out;
}

template <class T>
void ConvLSTMCell<T>::set_input_geometry(const std::vector<int64_t>& in_spatial, int64_t in_channels,
                                         const std::string& where) {
  if (static_cast<int>(in_spatial.size()) != options_.rank)
    throw ShapeError(where + ": a frame needs " + std::to_string(options_.rank) + " spatial axes, got " +
                     tuple_string(in_spatial));
  for (int64_t d : in_spatial)
    if (d <= 0)
      throw ShapeError(where + ": spatial dimensions must be known and positive, got " + tuple_string(in_spatial));
  if (in_channels <= 0)
    throw ShapeError(where + ": the channel dimension must be known, got " + std::to_string(in_channels));
  if (has_geometry()) {
    if (geometry_.in_spatial != in_spatial || geometry_.in_channels != in_channels)
      throw ShapeError(where + ": built for frames " + tuple_string(geometry_.in_spatial) + " with " +
                       std::to_string(geometry_.in_channels) + " channels, got " + tuple_string(in_spatial) + " with " +
                       std::to_string(in_channels));
    return;
  }
  const std::vector<int64_t> out = output_spatial(options_, in_spatial, where);
  Conv c;
  c.in_r = in_spatial[0];
  c.in_c = options_.rank == 2 ? in_spatial[1] : 1;
  c.channels = in_channels;
  c.k_r = options_.kernel_size[0];
  c.k_c = options_.rank == 2 ? options_.kernel_size[1] : 1;
  c.s_r = options_.strides[0];
  c.s_c = options_.rank == 2 ? options_.strides[1] : 1;
  c.d_r = options_.dilation_rate[0];
  c.d_c = options_.rank == 2 ? options_.dilation_rate[1] : 1;
  c.out_r = out[0];
  c.out_c = options_.rank == 2 ? out[1] : 1;
  if (options_.padding == "same") {
    // TF: total padding = max((out - 1) * stride + span - in, 0), the odd element after.
    c.pad_t = std::max<int64_t>((c.out_r - 1) * c.s_r + (c.k_r - 1) * c.d_r + 1 - c.in_r, 0) / 2;
    c.pad_l = std::max<int64_t>((c.out_c - 1) * c.s_c + (c.k_c - 1) * c.d_c + 1 - c.in_c, 0) / 2;
  }
  Conv r;  // the recurrent convolution: 'same', stride 1, no dilation, over the state grid
  r.in_r = r.out_r = c.out_r;
  r.in_c = r.out_c = c.out_c;
  r.channels = options_.filters;
  r.k_r = c.k_r;
  r.k_c = c.k_c;
  r.pad_t = (r.k_r - 1) / 2;
  r.pad_l = (r.k_c - 1) / 2;
  input_conv_ = c;
  recurrent_conv_ = r;
  geometry_ = {in_spatial, in_channels, out};
}

template <class T>
void ConvLSTMCell<T>::require_geometry(const char* what) const {
  if (!has_geometry())
    throw StateError(std::string("ConvLSTMCell: ") + what +
                     " needs the frame geometry (set_input_geometry, done by ConvLSTM1D / ConvLSTM2D at build)");
}

template <class T>
int64_t ConvLSTMCell<T>::positions() const {
  require_geometry("the state size");
  return input_conv_.positions();
}

template <class T>
void ConvLSTMCell<T>::build(int64_t input_size, const std::vector<int64_t>& constant_sizes, Rng& rng) {
  require_geometry("build");
  if (cd::begin_build("ConvLSTMCell", input_size, constant_sizes, built_, input_size_)) return;
  if (input_size != input_conv_.in_size())
    throw ShapeError("ConvLSTMCell: input size " + std::to_string(input_size) + " is not the frame size " +
                     std::to_string(input_conv_.in_size()) + " (" + tuple_string(geometry_.in_spatial) + " x " +
                     std::to_string(geometry_.in_channels) + " channels)");
  const int64_t f = options_.filters;
  Shape k(options_.kernel_size.begin(), options_.kernel_size.end());
  Shape ks = k, rks = k;
  ks.insert(ks.end(), {geometry_.in_channels, kLSTMGates * f});
  rks.insert(rks.end(), {f, kLSTMGates * f});
  kernel_ = Tensor<T>(ks);
  initialize(options_.kernel_initializer, kernel_, rng);
  recurrent_kernel_ = Tensor<T>(rks);
  initialize(options_.recurrent_initializer, recurrent_kernel_, rng);
  if (options_.use_bias) {
    bias_ = Tensor<T>({kLSTMGates * f});
    cd::initialize_lstm_bias(options_, f, bias_, rng);
  }
  cd::allocate_grads<T>(
      {{&kernel_, &kernel_grad_}, {&recurrent_kernel_, &recurrent_kernel_grad_}, {&bias_, &bias_grad_}});
  input_size_ = input_size;
  built_ = true;
}

template <class T>
std::vector<Param<T>> ConvLSTMCell<T>::params() {
  return cd::keras_cell_params(options_, &kernel_, &kernel_grad_, &recurrent_kernel_, &recurrent_kernel_grad_, &bias_,
                               &bias_grad_);
}

template <class T>
int64_t ConvLSTMCell<T>::scratch_size(int64_t batch) const {
  const int64_t rows = batch * positions();
  // z, input columns, masked x, recurrent columns, masked h.
  return rows * kLSTMGates * options_.filters + rows * input_conv_.patch() + batch * input_conv_.in_size() +
         rows * recurrent_conv_.patch() + batch * state_size();
}

template <class T>
void ConvLSTMCell<T>::step(const CellStep<T>& s) const {
  const int64_t b = s.batch, u = options_.filters, w = kLSTMGates * u, rows = b * positions();
  cd::ScratchCursor<T> scratch(s.scratch);
  T* z = scratch.take(rows * w);
  T* col_x = scratch.take(rows * input_conv_.patch());
  T* x_tmp = scratch.take(b * input_conv_.in_size());
  T* col_h = scratch.take(rows * recurrent_conv_.patch());
  T* h_tmp = scratch.take(b * state_size());
  const T* h = s.states[keras::kLSTMStateH];
  const T* c = s.states[keras::kLSTMStateC];
  T* h_new = s.new_states[keras::kLSTMStateH];
  T* c_new = s.new_states[keras::kLSTMStateC];

  // Keras: (conv(x) + bias) + conv_same(h), per gate.
  conv_gates<T>(input_conv_, s.x, b, b, s.dropout.input, kernel_.data(), u, T(0), z, col_x, x_tmp);
  if (options_.use_bias) kernels::add_row_vector<T>(z, rows, w, w, bias_.data());
  conv_gates<T>(recurrent_conv_, h, b, b, s.dropout.recurrent, recurrent_kernel_.data(), u, T(1), z, col_h, h_tmp);
  // The gate arithmetic, one fused pass (cell_kernels.h); in inference the activated gates
  // overwrite z in place.
  const bool record = !s.tape.empty();
  kernels::LSTMForward<T> f{options_.activation, options_.recurrent_activation, rows, u};
  f.x_proj = z, f.ld_x_proj = w, f.c = c, f.c_new = c_new, f.h_new = h_new, f.output = s.output;
  f.gates = record ? s.tape[kTapeGates] : z;
  if (record) f.act_c = s.tape[kTapeTanhC], f.pre = s.tape[kTapeZ];
  kernels::lstm_forward<T>(f);
  if (record) kernels::copy_block<T>(rows, u, c_new, u, s.tape[kTapeC], u);
}

template <class T>
std::vector<int64_t> ConvLSTMCell<T>::tape_widths() const {
  const int64_t p = positions(), u = options_.filters;
  return {p * kLSTMGates * u, p * kLSTMGates * u, p * u, p * u};
}

template <class T>
int64_t ConvLSTMCell<T>::backward_scratch_size(int64_t batch) const {
  const int64_t rows = batch * positions(), u = options_.filters;
  // local dz, recurrent columns, masked h.
  return rows * kLSTMGates * u + rows * recurrent_conv_.patch() + batch * state_size();
}

template <class T>
void ConvLSTMCell<T>::step_backward(const CellStepGrad<T>& g) const {
  const int64_t b = g.batch, u = options_.filters, w = kLSTMGates * u, rows = b * positions();
  cd::ScratchCursor<T> scratch(g.scratch);
  T* dz = scratch.take(rows * w);
  T* dcol = scratch.take(rows * recurrent_conv_.patch());
  T* h_tmp = scratch.take(b * state_size());
  // The LSTM step backward over rows = batch * positions.
  kernels::LSTMBackward<T> bw{options_.activation, options_.recurrent_activation, rows, u};
  bw.d_output = g.d_output, bw.d_h = g.d_new_states[keras::kLSTMStateH], bw.d_c = g.d_new_states[keras::kLSTMStateC];
  bw.gates = g.tape[kTapeGates], bw.act_c = g.tape[kTapeTanhC], bw.c_prev = g.states[keras::kLSTMStateC];
  bw.pre = g.tape[kTapeZ], bw.c_new = g.tape[kTapeC];
  bw.dz = dz, bw.ldz = w, bw.d_c_prev = g.d_states[keras::kLSTMStateC];
  kernels::lstm_backward<T>(bw);
  conv_gates_backward<T>(recurrent_conv_, dz, b, b, g.dropout.recurrent, recurrent_kernel_.data(), u,
                         g.d_states[keras::kLSTMStateH], dcol, h_tmp);
  kernels::copy_block<T>(b, grad_width(), dz, grad_width(), g.dz, g.ldz);
}

template <class T>
void ConvLSTMCell<T>::backward_params(const CellSequenceGrad<T>& g) {
  const int64_t u = options_.filters, w = kLSTMGates * u, gw = grad_width();
  const T* dz = g.dz;
  std::vector<T> packed;
  if (g.ldz != gw) {  // the helpers read dz as [rows * positions, 4F]
    packed.resize(static_cast<size_t>(g.rows * gw));
    kernels::copy_block<T>(g.rows, gw, g.dz, g.ldz, packed.data(), gw);
    dz = packed.data();
  }
  conv_gates_weights<T>(input_conv_, g.x, g.rows, g.batch, g.dropout.input, dz, u, kernel_grad_.data());
  conv_gates_weights<T>(recurrent_conv_, g.states[keras::kLSTMStateH], g.rows, g.batch, g.dropout.recurrent, dz, u,
                        recurrent_kernel_grad_.data());
  if (options_.use_bias) kernels::accumulate_column_sums<T>(g.rows * positions(), w, dz, w, bias_grad_.data());
}

template <class T>
int64_t ConvLSTMCell<T>::backward_inputs_scratch_size(int64_t rows) const {
  return rows * grad_width() + rows * positions() * input_conv_.patch() + rows * input_conv_.in_size();
}

template <class T>
void ConvLSTMCell<T>::backward_inputs(const T* dz, int64_t ldz, int64_t rows, int64_t batch,
                                      const DropoutMasks<T>& masks, T* d_x, T* scratch) const {
  cd::ScratchCursor<T> cur(scratch);
  T* packed = cur.take(rows * grad_width());
  T* dcol = cur.take(rows * positions() * input_conv_.patch());
  T* tmp = cur.take(rows * input_conv_.in_size());
  kernels::copy_block<T>(rows, grad_width(), dz, ldz, packed, grad_width());
  conv_gates_backward<T>(input_conv_, packed, rows, batch, masks.input, kernel_.data(), options_.filters, d_x, dcol,
                         tmp);
}

template <class T>
std::unique_ptr<Cell<T>> ConvLSTMCell<T>::clone_config() const {
  auto copy = std::make_unique<ConvLSTMCell<T>>(options_);
  if (has_geometry()) copy->set_input_geometry(geometry_.in_spatial, geometry_.in_channels, "ConvLSTMCell");
  return copy;
}

template class ConvLSTMCell<float>;
template class ConvLSTMCell<double>;

}  // namespace rnnx
