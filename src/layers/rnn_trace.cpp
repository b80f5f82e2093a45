// Reference recomputation of the gates of one recurrent call for the trace (rnn_trace.h).
// Plain loops on purpose: this defines what the trace holds and runs only when asked.
#include "layers/rnn_trace.h"

#include <algorithm>
#include <string>
#include <utility>

#include "rnnx/activations.h"
#include "rnnx/cells/gru_cell.h"
#include "rnnx/cells/keras_layout.h"
#include "rnnx/cells/lstm_cell.h"
#include "rnnx/cells/simple_rnn_cell.h"

namespace rnnx::detail {
namespace {

using keras::block_offset;
using keras::GRUGate;
using keras::LSTMGate;

// The dropout mask gate g reads for sample b (none, the shared one, or its own), or null.
template <class T>
const T* sample_mask(const std::vector<const T*>& masks, int gate, int64_t b, int64_t width) {
  if (masks.empty()) return nullptr;
  const T* m = masks.size() == 1 ? masks[0] : masks[static_cast<size_t>(gate)];
  return m + b * width;
}

// acc[u] += Σ_k v[k] · mask[k] · w[k, col0 + u] for u < units (w has ldw columns).
template <class T>
void accumulate_row(const T* v, int64_t n, const T* mask, const T* w, int64_t ldw, int64_t col0, int64_t units,
                    T* acc) {
  for (int64_t k = 0; k < n; ++k) {
    const T vk = mask != nullptr ? v[k] * mask[k] : v[k];
    const T* wk = w + k * ldw + col0;
    for (int64_t u = 0; u < units; ++u) acc[u] += vk * wk[u];
  }
}

// A time-major [steps * batch, width] buffer as [batch, steps, width].
template <class T>
Tensor<T> batch_major(const T* tm, int64_t steps, int64_t batch, int64_t width) {
  Tensor<T> out(Shape{batch, steps, width});
  for (int64_t t = 0; t < steps; ++t)
    for (int64_t b = 0; b < batch; ++b)
      std::copy_n(tm + (t * batch + b) * width, width, out.data() + (b * steps + t) * width);
  return out;
}

// The states after each step, [batch, steps, size] in input time order: what the next
// processed step read, or the final states after the last one.
template <class T>
Tensor<T> states_after(const T* read, const T* final, int64_t steps, int64_t batch, int64_t size, bool backwards) {
  Tensor<T> out(Shape{batch, steps, size});
  for (int64_t s = 0; s < steps; ++s) {
    const int64_t t = backwards ? steps - 1 - s : s;
    const int64_t t_next = backwards ? t - 1 : t + 1;
    const T* src = s + 1 < steps ? read + t_next * batch * size : final;
    for (int64_t b = 0; b < batch; ++b) std::copy_n(src + b * size, size, out.data() + (b * steps + t) * size);
  }
  return out;
}

// Where row (b, t) of a [batch, steps, units] tensor starts.
inline int64_t at(int64_t b, int64_t t, int64_t steps, int64_t units) { return (b * steps + t) * units; }

template <class T>
void lstm_gates(const LSTMCell<T>& cell, const RecurrentCallView<T>& c, TraceRecord<T>& r) {
  const int64_t u = cell.units(), w = keras::kLSTMGates * u, F = c.features, B = c.batch, S = c.steps;
  const LSTMCellOptions& o = cell.options();
  const T* K = cell.kernel().data();
  const T* R = cell.recurrent_kernel().data();
  const T* bias = o.use_bias ? cell.bias().data() : nullptr;
  Tensor<T> gi(Shape{B, S, u}), gf(Shape{B, S, u}), gc(Shape{B, S, u}), go(Shape{B, S, u});
  std::vector<T> z(static_cast<size_t>(w));
  const LSTMGate order[] = {LSTMGate::input, LSTMGate::forget, LSTMGate::cell, LSTMGate::output};
  Tensor<T>* out[] = {&gi, &gf, &gc, &go};
  for (int64_t t = 0; t < S; ++t)
    for (int64_t b = 0; b < B; ++b) {
      const T* x = c.x + (t * B + b) * F;
      const T* h = c.states_read[keras::kLSTMStateH] + (t * B + b) * u;
      for (int g = 0; g < keras::kLSTMGates; ++g) {
        const int64_t col = block_offset(order[g], u);
        T* acc = z.data() + col;
        for (int64_t k = 0; k < u; ++k) acc[k] = bias != nullptr ? bias[col + k] : T(0);
        const int gate = static_cast<int>(keras::block_index(order[g]));
        accumulate_row(x, F, sample_mask(c.dropout.input, gate, b, F), K, w, col, u, acc);
        accumulate_row(h, u, sample_mask(c.dropout.recurrent, gate, b, u), R, w, col, u, acc);
        const Activation& a = order[g] == LSTMGate::cell ? o.activation : o.recurrent_activation;
        T* dst = out[g]->data() + at(b, t, S, u);
        for (int64_t k = 0; k < u; ++k) dst[k] = activate(a, acc[k]);
      }
    }
  r.quantities.emplace_back("input_gate", std::move(gi));
  r.quantities.emplace_back("forget_gate", std::move(gf));
  r.quantities.emplace_back("cell_candidate", std::move(gc));
  r.quantities.emplace_back("output_gate", std::move(go));
  const bool back = r.go_backwards;
  r.quantities.emplace_back(
      "cell_state", states_after(c.states_read[keras::kLSTMStateC], c.final_states[keras::kLSTMStateC], S, B, u, back));
  r.quantities.emplace_back("hidden_state", states_after(c.states_read[keras::kLSTMStateH],
                                                         c.final_states[keras::kLSTMStateH], S, B, u, back));
}

template <class T>
void gru_gates(const GRUCell<T>& cell, const RecurrentCallView<T>& c, TraceRecord<T>& r) {
  const int64_t u = cell.units(), w = keras::kGRUGates * u, F = c.features, B = c.batch, S = c.steps;
  const GRUCellOptions& o = cell.options();
  const T* K = cell.kernel().data();
  const T* R = cell.recurrent_kernel().data();
  // reset_after: bias [2, 3U] (input row, recurrent row); otherwise one input bias (3U).
  const T* b_in = nullptr;
  const T* b_rec = nullptr;
  if (o.use_bias) {
    b_in = cell.bias().data() + (o.reset_after ? keras::kGRUInputBiasRow * w : 0);
    if (o.reset_after) b_rec = cell.bias().data() + keras::kGRURecurrentBiasRow * w;
  }
  const int64_t oz = block_offset(GRUGate::update, u), orr = block_offset(GRUGate::reset, u),
                oh = block_offset(GRUGate::candidate, u);
  const int iz = static_cast<int>(keras::block_index(GRUGate::update)),
            ir = static_cast<int>(keras::block_index(GRUGate::reset)),
            ih = static_cast<int>(keras::block_index(GRUGate::candidate));
  Tensor<T> gz(Shape{B, S, u}), gr(Shape{B, S, u}), gh(Shape{B, S, u});
  std::vector<T> xg(static_cast<size_t>(w)), hg(static_cast<size_t>(w)), rh(static_cast<size_t>(u));
  for (int64_t t = 0; t < S; ++t)
    for (int64_t b = 0; b < B; ++b) {
      const T* x = c.x + (t * B + b) * F;
      const T* h = c.states_read[0] + (t * B + b) * u;
      for (int64_t k = 0; k < w; ++k) {
        xg[static_cast<size_t>(k)] = b_in != nullptr ? b_in[k] : T(0);
        hg[static_cast<size_t>(k)] = b_rec != nullptr ? b_rec[k] : T(0);
      }
      for (const auto& [gate, col] : {std::pair{iz, oz}, std::pair{ir, orr}, std::pair{ih, oh}})
        accumulate_row(x, F, sample_mask(c.dropout.input, gate, b, F), K, w, col, u, xg.data() + col);
      // The z and r blocks read h; the candidate's recurrent part depends on reset_after.
      for (const auto& [gate, col] : {std::pair{iz, oz}, std::pair{ir, orr}})
        accumulate_row(h, u, sample_mask(c.dropout.recurrent, gate, b, u), R, w, col, u, hg.data() + col);
      T* z = gz.data() + at(b, t, S, u);
      T* rr = gr.data() + at(b, t, S, u);
      T* hh = gh.data() + at(b, t, S, u);
      for (int64_t k = 0; k < u; ++k) {
        z[k] = activate(o.recurrent_activation, xg[static_cast<size_t>(oz + k)] + hg[static_cast<size_t>(oz + k)]);
        rr[k] = activate(o.recurrent_activation, xg[static_cast<size_t>(orr + k)] + hg[static_cast<size_t>(orr + k)]);
      }
      const T* hmask = sample_mask(c.dropout.recurrent, ih, b, u);
      if (o.reset_after) {
        // hh = φ(x_h + r · ((h · mask) @ R_h + b_rec_h))
        accumulate_row(h, u, hmask, R, w, oh, u, hg.data() + oh);
        for (int64_t k = 0; k < u; ++k)
          hh[k] = activate(o.activation, xg[static_cast<size_t>(oh + k)] + rr[k] * hg[static_cast<size_t>(oh + k)]);
      } else {
        // hh = φ(x_h + b_h + (r · h · mask) @ R_h)
        for (int64_t k = 0; k < u; ++k)
          rh[static_cast<size_t>(k)] = rr[k] * (hmask != nullptr ? h[k] * hmask[k] : h[k]);
        accumulate_row(rh.data(), u, static_cast<const T*>(nullptr), R, w, oh, u, xg.data() + oh);
        for (int64_t k = 0; k < u; ++k) hh[k] = activate(o.activation, xg[static_cast<size_t>(oh + k)]);
      }
    }
  r.quantities.emplace_back("update_gate", std::move(gz));
  r.quantities.emplace_back("reset_gate", std::move(gr));
  r.quantities.emplace_back("candidate", std::move(gh));
  r.quantities.emplace_back("state", states_after(c.states_read[0], c.final_states[0], S, B, u, r.go_backwards));
}

}  // namespace

template <class T>
void record_recurrent_call(Trace<T>& trace, const RNN<T>& layer, const RecurrentCallView<T>& c) {
  const RNNOptions& options = layer.rnn_options();
  const Cell<T>& cell = layer.cell();
  TraceRecord<T> r;
  r.layer = &layer;
  r.layer_name = layer.name();
  r.layer_class = layer.class_name();
  r.cell_class = cell.class_name();
  r.go_backwards = options.go_backwards;
  r.mode = c.mode;
  r.input = batch_major(c.x, c.steps, c.batch, c.features);
  if (c.mask != nullptr) {
    r.mask = Mask(Shape{c.batch, c.steps});
    for (int64_t b = 0; b < c.batch; ++b)
      for (int64_t t = 0; t < c.steps; ++t)
        r.mask[b * c.steps + t] = options.time_major ? (*c.mask)[t * c.batch + b] : (*c.mask)[b * c.steps + t];
  }
  if (const auto* lstm = dynamic_cast<const LSTMCell<T>*>(&cell)) {
    lstm_gates(*lstm, c, r);
  } else if (const auto* gru = dynamic_cast<const GRUCell<T>*>(&cell)) {
    gru_gates(*gru, c, r);
  } else if (dynamic_cast<const SimpleRNNCell<T>*>(&cell) != nullptr) {
    r.quantities.emplace_back("state", states_after(c.states_read[0], c.final_states[0], c.steps, c.batch,
                                                    cell.state_sizes()[0], r.go_backwards));
  } else {
    const std::vector<int64_t> sizes = cell.state_sizes();
    for (size_t i = 0; i < sizes.size(); ++i)
      r.quantities.emplace_back("state_" + std::to_string(i), states_after(c.states_read[i], c.final_states[i], c.steps,
                                                                           c.batch, sizes[i], r.go_backwards));
  }
  trace.add(std::move(r));
}

template void record_recurrent_call(Trace<float>&, const RNN<float>&, const RecurrentCallView<float>&);
template void record_recurrent_call(Trace<double>&, const RNN<double>&, const RecurrentCallView<double>&);

}  // namespace rnnx::detail
