#pragma once
// Attention (Luong, dot-product) and AdditiveAttention (Bahdanau) (K3
// keras/src/layers/attention/attention.py, additive_attention.py).
//
// Inputs: [query (B, Tq, D), value (B, Tv, Dv)] or [query, value, key (B, Tv, D)]; the key
// defaults to the value. Scores (B, Tq, Tv):
//   Attention, score_mode "dot":    s = (q . k) * scale            (scale only with use_scale)
//   Attention, score_mode "concat": s = w * sum_d tanh(scale * (q_d + k_d))
//                                   (w = concat_score_weight; scale only with use_scale)
//   AdditiveAttention:              s = sum_d scale_d * tanh(q_d + k_d)  (scale_d = 1 without use_scale)
// Masks (Keras `mask=[query_mask, value_mask]`, here the masks of inputs 0 and 1; a key mask
// is ignored as Keras does): where the value is masked out, or with use_causal_mask where
// j > i, the score becomes s - 1e9 (Keras' `where(padding, s - 1e9, s)`, computed in T, so a
// fully masked row stays a softmax of shifted scores as in Keras). p = softmax(s) over Tv;
// in training with dropout > 0, p is multiplied by an inverted-dropout mask. Output
// (B, Tq, Dv) = p v, zero where the query is masked out; the output mask is the query mask.
// return_attention_scores adds p (after dropout) as a second output.
//
// Weights (Keras order): Attention: scale [] (use_scale), concat_score_weight [] ("concat");
// AdditiveAttention: scale [D] (use_scale). Both are initialised as Keras does (ones; the
// additive scale glorot_uniform).
// use_causal_mask and return_attention_scores are Keras call arguments: rnnx keeps them on
// the layer (set from the functional node's kwargs by the loader and written back there).
// Training: a training call keeps q, k, v, p and the dropout mask; backward gives the
// gradients of q, v (plus k's when the key is the value) and accumulates those of the weights.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "rnnx/core/rng.h"
#include "rnnx/layers/layer.h"

namespace rnnx {

struct AttentionOptions {
  bool use_scale = false;
  std::string score_mode = "dot";  // "dot" or "concat" (Attention only)
  double dropout = 0.0;            // in [0, 1)
  std::optional<int64_t> seed{};   // Keras `seed` (kept for the config writer)
  // Keras call arguments.
  bool use_causal_mask = false;
  bool return_attention_scores = false;
};

template <class T>
class Attention : public Layer<T> {
 public:
  // Throws ConfigError for an unknown score_mode or a dropout outside [0, 1).
  explicit Attention(AttentionOptions options, std::string name = "attention");

  std::string class_name() const override { return additive_ ? "AdditiveAttention" : "Attention"; }
  bool additive() const { return additive_; }
  const AttentionOptions& options() const { return options_; }
  AttentionOptions& mutable_options() { return options_; }

  void build(const std::vector<Shape>& input_shapes) override;
  std::vector<Shape> compute_output_shapes(const std::vector<Shape>& input_shapes) const override;
  LayerOutputs<T> call(const LayerInputs<T>& in) override;
  LayerGrads<T> backward(const std::vector<Tensor<T>>& grad_outputs) override;
  void clear_tape() override { tape_.clear(); }
  std::vector<Param<T>> params() override;

  // Every following training call with dropout > 0 uses `mask` (0 or 1/(1-rate), shape
  // [B, Tq, Tv]) instead of drawing one; for gradient checks.
  void set_fixed_dropout_mask(Tensor<T> mask) { fixed_mask_ = std::move(mask); }

  // The generator the dropout masks are drawn from (one call key per training call, then
  // per-sample draws: core/sample_rng.h), for training checkpoints, as Dropout's. Before the
  // first training call this is the state Rng(seed()) starts with.
  Rng::State dropout_rng_state() const { return rng_ ? rng_->state() : Rng(this->seed()).state(); }
  void set_dropout_rng_state(const Rng::State& state) {
    if (!rng_) rng_.emplace(this->seed());
    rng_->set_state(state);
  }

 protected:
  Attention(AttentionOptions options, std::string name, bool additive);

 private:
  void check_shapes(const std::vector<Shape>& s) const;
  struct Call {
    Tensor<T> q, k, v;           // inputs (k == v when no key was given)
    Tensor<T> p;                 // softmax, before dropout [B, Tq, Tv]
    Tensor<T> drop;              // dropout factors (empty = none)
    std::vector<uint8_t> qkeep;  // query mask per (b, i); empty = none
    size_t n_inputs = 2;
  };
  // Scores s[b, i, j] (before masking).
  T score(const Tensor<T>& q, const Tensor<T>& k, int64_t b, int64_t i, int64_t j, int64_t tq, int64_t tv,
          int64_t d) const;

  AttentionOptions options_;
  bool additive_ = false;
  int64_t dim_ = -1;
  Tensor<T> scale_, concat_w_, scale_grad_, concat_w_grad_;
  Tensor<T> fixed_mask_;
  std::optional<Rng> rng_;
  std::vector<Call> tape_;
};

template <class T>
class AdditiveAttention : public Attention<T> {
 public:
  // options.score_mode is ignored; use_scale defaults to true in Keras (set it explicitly).
  explicit AdditiveAttention(AttentionOptions options, std::string name = "additive_attention")
      : Attention<T>(std::move(options), std::move(name), true) {}
};

extern template class Attention<float>;
extern template class Attention<double>;

}  // namespace rnnx
