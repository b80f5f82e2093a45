#pragma once
// A naive double-precision reference of the recurrent semantics for unit tests, written
// from the spec formulas with plain loops, one sample and one step at a time:
// cells (spec §2.1-2.3, §6), dropout masks (§3.5), go_backwards (§3.3), masking (§3.4).
// It shares no code with the library (no kernels, no activations).
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <functional>
#include <optional>
#include <vector>

#include "rnnx/core/rng.h"
#include "rnnx/core/tensor.h"
#include "rnnx/layers/layer.h"

namespace rnnx::reference {

using Vec = std::vector<double>;
using Fn = std::function<double(double)>;

inline double sigmoid(double x) { return 1.0 / (1.0 + std::exp(-x)); }
inline double tanh_fn(double x) { return std::tanh(x); }
inline double linear(double x) { return x; }
inline double relu(double x) { return x > 0 ? x : 0.0; }
inline double hard_sigmoid_keras3(double x) { return std::clamp(x / 6.0 + 0.5, 0.0, 1.0); }
inline double hard_sigmoid_keras2(double x) { return std::clamp(0.2 * x + 0.5, 0.0, 1.0); }

// out[j] = sum_i v[i] * w[i, col0 + j], j < n; w is a row-major [rows, cols] matrix whose
// first `row0` rows are skipped.
inline Vec vecmat(const Vec& v, const Tensor<double>& w, int64_t col0, int64_t n, int64_t row0 = 0) {
  const int64_t cols = w.dim(-1);
  Vec out(static_cast<size_t>(n), 0.0);
  for (size_t i = 0; i < v.size(); ++i)
    for (int64_t j = 0; j < n; ++j) out[j] += v[i] * w[(row0 + static_cast<int64_t>(i)) * cols + col0 + j];
  return out;
}

inline Vec slice(const Tensor<double>& t, int64_t offset, int64_t n) {
  return Vec(t.values().begin() + offset, t.values().begin() + offset + n);
}

// Dropout masks of one sample: one per gate, one shared by all gates, or none.
struct SampleMasks {
  std::vector<Vec> input, recurrent;
  static const Vec* pick(const std::vector<Vec>& m, int gate) {
    if (m.empty()) return nullptr;
    return m.size() == 1 ? &m[0] : &m[static_cast<size_t>(gate)];
  }
  const Vec* in(int gate) const { return pick(input, gate); }
  const Vec* rec(int gate) const { return pick(recurrent, gate); }
};

inline Vec times(const Vec& a, const Vec* m) {
  if (m == nullptr) return a;
  Vec out(a.size());
  for (size_t i = 0; i < a.size(); ++i) out[i] = a[i] * (*m)[i];
  return out;
}

// One step of a cell for one sample: writes the new states and returns the output.
using Step = std::function<Vec(const Vec& x, const std::vector<Vec>& states, std::vector<Vec>& new_states,
                               const SampleMasks& masks)>;

// Keras LSTM (spec §2.1), states [h, c], blocks i, f, c, o.
inline Step lstm_step(Tensor<double> k, Tensor<double> r, std::optional<Tensor<double>> b, Fn act, Fn rec_act) {
  return [=](const Vec& x, const std::vector<Vec>& s, std::vector<Vec>& ns, const SampleMasks& m) {
    const int64_t u = r.dim(0);
    std::vector<Vec> z(4);
    for (int g = 0; g < 4; ++g) {
      const Vec xk = vecmat(times(x, m.in(g)), k, g * u, u);
      const Vec hr = vecmat(times(s[0], m.rec(g)), r, g * u, u);
      z[g].resize(u);
      for (int64_t j = 0; j < u; ++j) z[g][j] = xk[j] + hr[j] + (b ? (*b)[g * u + j] : 0.0);
    }
    Vec h(u), c(u);
    for (int64_t j = 0; j < u; ++j) {
      const double i = rec_act(z[0][j]), f = rec_act(z[1][j]), gg = act(z[2][j]), o = rec_act(z[3][j]);
      c[j] = f * s[1][j] + i * gg;
      h[j] = o * act(c[j]);
    }
    ns = {h, c};
    return h;
  };
}

// Keras GRU (spec §2.2), state [h], blocks z, r, h; bias (2, 3U) with reset_after, else (3U).
inline Step gru_step(Tensor<double> k, Tensor<double> r, std::optional<Tensor<double>> b, bool reset_after, Fn act,
                     Fn rec_act) {
  return [=](const Vec& x, const std::vector<Vec>& s, std::vector<Vec>& ns, const SampleMasks& m) {
    const int64_t u = r.dim(0);
    const Vec& h = s[0];
    auto in_bias = [&](int g, int64_t j) { return b ? (*b)[g * u + j] : 0.0; };
    auto rec_bias = [&](int g, int64_t j) { return b && reset_after ? (*b)[3 * u + g * u + j] : 0.0; };
    std::vector<Vec> xg(3), hg(3);
    for (int g = 0; g < 3; ++g) xg[g] = vecmat(times(x, m.in(g)), k, g * u, u);
    for (int g = 0; g < 2; ++g) hg[g] = vecmat(times(h, m.rec(g)), r, g * u, u);
    Vec z(u), rr(u), out(u);
    for (int64_t j = 0; j < u; ++j) {
      z[j] = rec_act(xg[0][j] + in_bias(0, j) + hg[0][j] + rec_bias(0, j));
      rr[j] = rec_act(xg[1][j] + in_bias(1, j) + hg[1][j] + rec_bias(1, j));
    }
    Vec rh;
    if (reset_after) {
      rh = vecmat(times(h, m.rec(2)), r, 2 * u, u);
      for (int64_t j = 0; j < u; ++j) rh[j] = rr[j] * (rh[j] + rec_bias(2, j));
    } else {
      Vec reset_h = times(h, m.rec(2));
      for (int64_t j = 0; j < u; ++j) reset_h[j] *= rr[j];
      rh = vecmat(reset_h, r, 2 * u, u);
    }
    for (int64_t j = 0; j < u; ++j) {
      const double hh = act(xg[2][j] + in_bias(2, j) + rh[j]);
      out[j] = z[j] * h[j] + (1.0 - z[j]) * hh;
    }
    ns = {out};
    return out;
  };
}

// Keras SimpleRNN (spec §2.3).
inline Step simple_rnn_step(Tensor<double> k, Tensor<double> r, std::optional<Tensor<double>> b, Fn act) {
  return [=](const Vec& x, const std::vector<Vec>& s, std::vector<Vec>& ns, const SampleMasks& m) {
    const int64_t u = r.dim(0);
    const Vec xk = vecmat(times(x, m.in(0)), k, 0, u), hr = vecmat(times(s[0], m.rec(0)), r, 0, u);
    Vec out(u);
    for (int64_t j = 0; j < u; ++j) out[j] = act(xk[j] + (b ? (*b)[j] : 0.0) + hr[j]);
    ns = {out};
    return out;
  };
}

// TF1 LSTMCell (spec §6): kernel over concat([x, h]) with blocks i, j, f, o, states (c, h).
struct TF1Weights {
  Tensor<double> kernel, bias;
  std::optional<Tensor<double>> w_f, w_i, w_o, projection;
};
inline Step tf1_lstm_step(TF1Weights w, double forget_bias, std::optional<double> cell_clip,
                          std::optional<double> proj_clip, Fn act) {
  return [=](const Vec& x, const std::vector<Vec>& s, std::vector<Vec>& ns, const SampleMasks&) {
    const int64_t u = w.bias.dim(0) / 4;
    Vec xh = x;
    xh.insert(xh.end(), s[1].begin(), s[1].end());
    const Vec z = vecmat(xh, w.kernel, 0, 4 * u);
    const Vec& c = s[0];
    Vec c_new(u), m(u);
    for (int64_t j = 0; j < u; ++j) {
      const double i = z[j] + w.bias[j], jj = z[u + j] + w.bias[u + j], f = z[2 * u + j] + w.bias[2 * u + j];
      const double peep_f = w.w_f ? (*w.w_f)[j] * c[j] : 0.0, peep_i = w.w_i ? (*w.w_i)[j] * c[j] : 0.0;
      c_new[j] = sigmoid(f + forget_bias + peep_f) * c[j] + sigmoid(i + peep_i) * act(jj);
      if (cell_clip) c_new[j] = std::clamp(c_new[j], -*cell_clip, *cell_clip);
      const double o = z[3 * u + j] + w.bias[3 * u + j] + (w.w_o ? (*w.w_o)[j] * c_new[j] : 0.0);
      m[j] = sigmoid(o) * act(c_new[j]);
    }
    if (w.projection) {
      m = vecmat(m, *w.projection, 0, w.projection->dim(1));
      if (proj_clip)
        for (double& v : m) v = std::clamp(v, -*proj_clip, *proj_clip);
    }
    ns = {c_new, m};
    return m;
  };
}

struct Run {
  Tensor<double> sequence;  // [batch, steps, out], in processing order
  Tensor<double> last;      // [batch, out]
  std::vector<Tensor<double>> states;
};

struct RunOptions {
  const Mask* mask = nullptr;
  bool go_backwards = false;
  bool zero_output_for_mask = false;
  std::vector<Tensor<double>> initial_state;         // empty: zeros
  std::function<SampleMasks(int64_t sample)> masks;  // dropout masks per sample; empty: none
};

// The RNN loop of spec §3.3-3.4, sample by sample.
inline Run run(const Step& step, const Tensor<double>& x, const std::vector<int64_t>& state_sizes, int64_t out_size,
               const RunOptions& o = {}) {
  const int64_t batch = x.dim(0), steps = x.dim(1), d = x.dim(2);
  Run res{Tensor<double>({batch, steps, out_size}), Tensor<double>({batch, out_size}), {}};
  for (int64_t size : state_sizes) res.states.emplace_back(Shape{batch, size});
  for (int64_t b = 0; b < batch; ++b) {
    std::vector<Vec> states;
    for (size_t i = 0; i < state_sizes.size(); ++i)
      states.push_back(o.initial_state.empty() ? Vec(static_cast<size_t>(state_sizes[i]), 0.0)
                                               : slice(o.initial_state[i], b * state_sizes[i], state_sizes[i]));
    const SampleMasks masks = o.masks ? o.masks(b) : SampleMasks{};
    Vec prev(static_cast<size_t>(out_size), 0.0);
    for (int64_t s = 0; s < steps; ++s) {
      const int64_t t = o.go_backwards ? steps - 1 - s : s;
      const Vec xt = slice(x, (b * steps + t) * d, d);
      std::vector<Vec> new_states;
      Vec out = step(xt, states, new_states, masks);
      const bool real = o.mask == nullptr || (*o.mask)[b * steps + t] != 0;
      if (real) {
        states = new_states;
      } else {
        out = o.zero_output_for_mask ? Vec(static_cast<size_t>(out_size), 0.0) : prev;
      }
      prev = out;
      for (int64_t j = 0; j < out_size; ++j) res.sequence[(b * steps + s) * out_size + j] = out[j];
    }
    for (int64_t j = 0; j < out_size; ++j) res.last[b * out_size + j] = prev[j];
    for (size_t i = 0; i < state_sizes.size(); ++i)
      for (int64_t j = 0; j < state_sizes[i]; ++j) res.states[i][b * state_sizes[i] + j] = states[i][j];
  }
  return res;
}

// Uniform random tensor in [lo, hi).
template <class T>
Tensor<T> random_tensor(Shape shape, uint64_t seed, double lo = -1.0, double hi = 1.0) {
  Rng rng(seed);
  Tensor<T> t(std::move(shape));
  for (T& v : t.values()) v = static_cast<T>(rng.uniform(lo, hi));
  return t;
}

// A mask [batch, steps] from rows of 0/1.
inline Mask make_mask(const std::vector<std::vector<int>>& rows) {
  const auto b = static_cast<int64_t>(rows.size()), t = static_cast<int64_t>(rows[0].size());
  Mask m({b, t});
  for (int64_t i = 0; i < b; ++i)
    for (int64_t j = 0; j < t; ++j) m[i * t + j] = static_cast<uint8_t>(rows[i][j]);
  return m;
}

// Replaces the weights of a built layer with uniform values in [-scale, scale) and returns
// them in double (exactly the values the layer holds).
template <class T>
std::vector<Tensor<double>> randomize_weights(Layer<T>& layer, uint64_t seed, double scale = 0.5) {
  std::vector<Tensor<T>> values;
  std::vector<Tensor<double>> exact;
  for (const Tensor<T>& w : layer.get_weights()) {
    values.push_back(random_tensor<double>(w.shape(), seed++, -scale, scale).template cast<T>());
    exact.push_back(values.back().template cast<double>());
  }
  layer.set_weights(values);
  return exact;
}

// Test tolerance per scalar type.
template <class T>
constexpr double tolerance() {
  return sizeof(T) == sizeof(double) ? 1e-11 : 3e-5;
}

}  // namespace rnnx::reference
