// Finite-difference checks (double) of the attention layers' backward (layers/attention.h,
// multi_head_attention.h) for every option that changes the math: score modes, use_scale,
// key inputs, query / value / key masks, causal masks, attention masks, the returned scores
// and dropout with a fixed mask.
#include <gtest/gtest.h>

#include "recurrent_cases.h"
#include "rnnx/layers/attention.h"
#include "rnnx/layers/multi_head_attention.h"
#include "support/gradcheck.h"

namespace rnnx::testing {
namespace {

GradcheckCall inputs(const std::vector<Shape>& shapes, uint64_t seed) {
  GradcheckCall call;
  for (const Shape& s : shapes) call.inputs.push_back(uniform(s, seed++, -1.0, 1.0));
  return call;
}

Mask lengths_mask(int64_t batch, int64_t steps, const std::vector<int64_t>& lengths) {
  Mask m({batch, steps});
  for (int64_t b = 0; b < batch; ++b)
    for (int64_t t = 0; t < steps; ++t) m[b * steps + t] = t < lengths[static_cast<size_t>(b)];
  return m;
}

// Builds the layer for `call` and gives its weights random values away from their defaults.
void randomise(Layer<double>& layer, const GradcheckCall& call, uint64_t seed) {
  std::vector<Shape> shapes;
  for (const auto& x : call.inputs) shapes.push_back(x.shape());
  layer.build(shapes);
  std::vector<Tensor<double>> w;
  for (const auto& p : layer.params()) w.push_back(uniform(p.value->shape(), seed++, -0.8, 0.8));
  layer.set_weights(w);
}

Tensor<double> dropout_factors(const Shape& s, uint64_t seed, double rate) {
  Tensor<double> u = uniform(s, seed, 0.0, 1.0);
  for (auto& x : u.values()) x = x < rate ? 0.0 : 1.0 / (1.0 - rate);
  return u;
}

TEST(AttentionGradcheck, ScoreModesScalesKeysMasksAndScores) {
  struct Case {
    bool additive, scale, concat, key, masks, causal, scores;
  };
  for (const Case& k :
       {Case{false, false, false, false, false, false, false}, Case{false, true, false, true, false, false, true},
        Case{false, false, true, false, true, false, false}, Case{false, true, true, true, true, true, true},
        Case{true, true, false, false, false, false, false}, Case{true, false, false, true, true, true, true},
        Case{true, true, false, false, true, false, true}, Case{false, true, false, false, true, true, false}}) {
    AttentionOptions o;
    o.use_scale = k.scale;
    o.score_mode = k.concat ? "concat" : "dot";
    o.use_causal_mask = k.causal;
    o.return_attention_scores = k.scores;
    std::unique_ptr<Attention<double>> layer =
        k.additive ? std::make_unique<AdditiveAttention<double>>(o) : std::make_unique<Attention<double>>(o);
    std::vector<Shape> shapes{{3, 4, 3}, {3, 5, 2}};
    if (k.key)
      shapes.push_back({3, 5, 3});
    else
      shapes[1] = {3, 5, 3};
    GradcheckCall call = inputs(shapes, 7);
    if (k.masks) {
      call.mask = lengths_mask(3, 4, {4, 2, 1});
      call.input_masks = {call.mask, lengths_mask(3, 5, {5, 3, 2})};
      call.input_masks.resize(shapes.size());
    }
    randomise(*layer, call, 30);
    EXPECT_TRUE(gradcheck(*layer, call)) << layer->class_name() << " scale " << k.scale << " concat " << k.concat
                                         << " key " << k.key << " masks " << k.masks << " causal " << k.causal;
  }
}

TEST(AttentionGradcheck, DropoutWithFixedMask) {
  AttentionOptions o;
  o.dropout = 0.4;
  o.return_attention_scores = true;
  Attention<double> layer(o);
  GradcheckCall call = inputs({{2, 3, 2}, {2, 4, 2}}, 3);
  layer.set_fixed_dropout_mask(dropout_factors({2, 3, 4}, 9, 0.4));
  EXPECT_TRUE(gradcheck(layer, call));
}

TEST(MultiHeadAttentionGradcheck, OptionsMasksAndScores) {
  struct Case {
    int64_t heads, key_dim, value_dim, out;
    bool bias, key, amask, masks, causal, scores;
    double dropout;
  };
  for (const Case& k : {Case{2, 3, 3, 0, true, false, false, false, false, false, 0.0},
                        Case{2, 2, 3, 4, true, true, false, false, true, true, 0.0},
                        Case{3, 2, 2, 0, false, false, true, false, false, false, 0.0},
                        Case{2, 2, 2, 0, true, true, true, true, false, false, 0.0},
                        Case{2, 2, 2, 0, true, false, false, true, true, true, 0.0},
                        Case{2, 2, 3, 0, true, false, false, true, false, true, 0.3}}) {
    MultiHeadAttentionOptions o;
    o.num_heads = k.heads;
    o.key_dim = k.key_dim;
    o.value_dim = k.value_dim;
    if (k.out) o.output_shape = k.out;
    o.use_bias = k.bias;
    o.use_causal_mask = k.causal;
    o.return_attention_scores = k.scores;
    o.dropout = k.dropout;
    MultiHeadAttention<double> layer(o);
    std::vector<Shape> shapes{{2, 4, 3}, {2, 5, 2}};
    if (k.key || k.amask) shapes.push_back({2, 5, k.key ? 4 : 2});
    GradcheckCall call = inputs(shapes, 11);
    if (!k.key && k.amask) call.inputs[2] = call.inputs[1];
    GradcheckOptions opt;
    if (k.amask) {
      Tensor<double> am = dropout_factors({2, 4, 5}, 5, 0.3);
      for (auto& x : am.values()) x = x > 0 ? 1.0 : 0.0;
      call.inputs.push_back(am);
      opt.integer_inputs = {3};
    }
    if (k.masks) {
      call.mask = lengths_mask(2, 4, {4, 2});
      call.input_masks = {call.mask, lengths_mask(2, 5, {5, 3})};
      call.input_masks.resize(call.inputs.size());
    }
    if (k.dropout > 0) layer.set_fixed_dropout_mask(dropout_factors({2, k.heads, 4, 5}, 13, k.dropout));
    randomise(layer, call, 50);
    EXPECT_TRUE(gradcheck(layer, call, opt)) << "heads " << k.heads << " key " << k.key << " amask " << k.amask
                                             << " masks " << k.masks << " causal " << k.causal;
  }
}

}  // namespace
}  // namespace rnnx::testing
