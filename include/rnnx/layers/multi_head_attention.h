#pragma once
// MultiHeadAttention (K3 keras/src/layers/attention/multi_head_attention.py) on 3-D inputs,
// attending over the time axis (Keras' attention_axes None = (1,)).
//
// Positional inputs: [query (B, T, Dq), value (B, S, Dv)], optionally key (B, S, Dk) third
// (defaults to the value) and an attention_mask (B, T, S) fourth (nonzero = attend; with no
// key, pass the value again as the key). Keras' `key=` and `attention_mask=` call arguments
// are these positions. The Keras masks of query / value / key (LayerInputs masks of inputs
// 0 / 1 / 2) are combined as Keras does: keep[t, s] = qmask[t] & vmask[s] & kmask[s]
// (& s <= t with use_causal_mask) & attention_mask[t, s].
//
// Per head n (N heads, key_dim H, value_dim Hv): Q = query Wq + bq, K = key Wk + bk,
// V = value Wv + bv; scores = (Q / sqrt(H)) K^T; masked scores are replaced by a large
// negative number; p = softmax over S; context = p V; output (B, T, E) = sum over heads of
// context Wo + bo, E = output_shape or Dq. Where a whole row is masked out, Keras's two code
// paths differ and rnnx follows each: with dropout > 0 or return_attention_scores (the
// Softmax-layer path) p is zero there; otherwise (TensorFlow's dot_product_attention) p is
// uniform. Training dropout (inverted) applies to p. return_attention_scores adds p
// (B, N, T, S), before dropout, as a second output. The output mask is the query mask.
//
// Weights (Keras get_weights() order, EinsumDense sublayers query / key / value /
// attention_output): query/kernel [Dq, N, H], query/bias [N, H], key/kernel [Dk, N, H],
// key/bias [N, H], value/kernel [Dv, N, Hv], value/bias [N, Hv], attention_output/kernel
// [N, Hv, E], attention_output/bias [E] (biases only with use_bias).
// Not supported (ConfigError at the loader): output_shape of rank > 1, attention_axes other
// than the time axis, use_gate, sliding_window, activity_regularizer.
#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "rnnx/core/rng.h"
#include "rnnx/initializers.h"
#include "rnnx/layers/layer.h"
#include "rnnx/train/regularizers.h"

namespace rnnx {

struct MultiHeadAttentionOptions {
  int64_t num_heads = 0;               // required, > 0
  int64_t key_dim = 0;                 // required, > 0
  std::optional<int64_t> value_dim{};  // default key_dim
  double dropout = 0.0;                // in [0, 1)
  bool use_bias = true;
  std::optional<int64_t> output_shape{};  // default: the query's feature dimension
  Initializer kernel_initializer = Initializer::from_name("glorot_uniform");
  Initializer bias_initializer = Initializer::from_name("zeros");
  Regularizer kernel_regularizer{}, bias_regularizer{};
  Constraint kernel_constraint{}, bias_constraint{};
  std::optional<int64_t> seed{};
  // Keras call arguments.
  bool use_causal_mask = false;
  bool return_attention_scores = false;
};

template <class T>
class MultiHeadAttention : public Layer<T> {
 public:
  // Throws ConfigError for num_heads / key_dim / value_dim / output_shape <= 0 or dropout
  // outside [0, 1).
  explicit MultiHeadAttention(MultiHeadAttentionOptions options, std::string name = "multi_head_attention");

  std::string class_name() const override { return "MultiHeadAttention"; }
  const MultiHeadAttentionOptions& options() const { return options_; }
  MultiHeadAttentionOptions& mutable_options() { return options_; }
  int64_t value_dim() const { return options_.value_dim.value_or(options_.key_dim); }

  void build(const std::vector<Shape>& input_shapes) override;
  std::vector<Shape> compute_output_shapes(const std::vector<Shape>& input_shapes) const override;
  LayerOutputs<T> call(const LayerInputs<T>& in) override;
  LayerGrads<T> backward(const std::vector<Tensor<T>>& grad_outputs) override;
  void clear_tape() override { tape_.clear(); }
  std::vector<Param<T>> params() override;
  // params() grouped as Keras .keras files store them: ("query_dense", [kernel, bias]),
  // ("key_dense", ...), ("value_dense", ...), ("output_dense", ...). Empty before build.
  std::vector<std::pair<std::string, std::vector<Param<T>>>> saved_parts();

  // Every following training call with dropout > 0 uses `mask` (0 or 1/(1-rate), shape
  // [B, N, T, S]) instead of drawing one; for gradient checks.
  void set_fixed_dropout_mask(Tensor<T> mask) { fixed_mask_ = std::move(mask); }

  // The generator the dropout masks are drawn from (one call key per training call, then
  // per-sample draws: core/sample_rng.h), for training checkpoints, as Dropout's. Before the
  // first training call this is the state Rng(seed()) starts with.
  Rng::State dropout_rng_state() const { return rng_ ? rng_->state() : Rng(this->seed()).state(); }
  void set_dropout_rng_state(const Rng::State& state) {
    if (!rng_) rng_.emplace(this->seed());
    rng_->set_state(state);
  }

 private:
  void check_shapes(const std::vector<Shape>& s) const;
  struct Call {
    std::vector<Shape> shapes;
    Tensor<T> q, k, v;          // inputs
    Tensor<T> qp, kp, vp;       // projections [B, T|S, N, H|Hv] (qp already scaled)
    Tensor<T> p, drop;          // softmax [B, N, T, S], dropout factors (empty = none)
    Tensor<T> ctx;              // context [B, T, N, Hv]
    std::vector<uint8_t> keep;  // [B, T, S]; empty = no mask
  };
  struct Dense3 {  // one EinsumDense projection
    Tensor<T> kernel, bias, kernel_grad, bias_grad;
  };

  MultiHeadAttentionOptions options_;
  int64_t dq_ = -1, dv_ = -1, dk_ = -1, out_dim_ = -1;
  Dense3 query_, key_, value_, output_;
  Tensor<T> fixed_mask_;
  std::optional<Rng> rng_;
  std::vector<Call> tape_;
};

extern template class MultiHeadAttention<float>;
extern template class MultiHeadAttention<double>;

}  // namespace rnnx
