// Attention layers: shapes, masks, typed errors (layers/attention.h, multi_head_attention.h)
// and the Keras config refusals of keras_config_attention.cpp.
#include "rnnx/layers/attention.h"

#include <gtest/gtest.h>

#include <functional>
#include <string>

#include "rnnx/core/error.h"
#include "rnnx/io/keras_config.h"
#include "rnnx/layers/multi_head_attention.h"

namespace rnnx {
namespace {

template <class E>
void expect_error(const std::function<void()>& f, const std::string& part) {
  try {
    f();
    FAIL() << "no error; expected one containing: " << part;
  } catch (const E& e) {
    EXPECT_NE(std::string(e.what()).find(part), std::string::npos) << e.what();
  }
}

TEST(AttentionLayer, ShapesScoresAndQueryMask) {
  AttentionOptions o;
  o.return_attention_scores = true;
  Attention<float> layer(o);
  Tensor<float> q({2, 3, 4}, 0.5f), v({2, 5, 2}, 1.0f), k({2, 5, 4}, 0.25f);
  Mask qm({2, 3});
  for (int64_t i = 0; i < 6; ++i) qm[i] = i != 2;
  LayerInputs<float> in;
  in.inputs = {&q, &v, &k};
  in.input_masks = {&qm, nullptr, nullptr};
  const LayerOutputs<float> out = layer.call(in);
  ASSERT_EQ(out.outputs.size(), 2u);
  EXPECT_EQ(out.outputs[0].shape(), (Shape{2, 3, 2}));
  EXPECT_EQ(out.outputs[1].shape(), (Shape{2, 3, 5}));
  EXPECT_FLOAT_EQ(out.outputs[0][0], 1.0f);      // uniform weights over equal values
  EXPECT_FLOAT_EQ(out.outputs[0][2 * 2], 0.0f);  // masked-out query step
  EXPECT_FLOAT_EQ(out.outputs[1][0], 0.2f);
  EXPECT_EQ(out.mask.shape(), (Shape{2, 3}));
}

TEST(AttentionLayer, TypedErrors) {
  AttentionOptions bad;
  bad.score_mode = "general";
  expect_error<ConfigError>([&] { Attention<float> a(bad); }, "score_mode must be 'dot' or 'concat'");
  Attention<float> a(AttentionOptions{});
  expect_error<ShapeError>([&] { a.compute_output_shapes({{2, 3, 4}}); }, "expected a list of 2 or 3 inputs");
  expect_error<ShapeError>([&] { a.compute_output_shapes({{2, 3, 4}, {2, 5, 3}}); }, "query has 4 features and key 3");
  MultiHeadAttentionOptions m;
  m.num_heads = 0;
  m.key_dim = 2;
  expect_error<ConfigError>([&] { MultiHeadAttention<float> x(m); }, "num_heads must be a positive integer, got 0");
  m.num_heads = 2;
  MultiHeadAttention<float> mha(m);
  expect_error<ShapeError>(
      [&] {
        mha.compute_output_shapes({{2, 3, 4}, {2, 5, 3}, {2, 5, 3}, {2, 3, 4}});
      },
      "attention_mask has shape [2, 3, 4], expected [2, 3, 5]");
  expect_error<StateError>([&] { mha.backward({Tensor<float>()}); }, "backward without a training-mode call");
}

TEST(AttentionLayer, MultiHeadWeightsInKerasOrder) {
  MultiHeadAttentionOptions m;
  m.num_heads = 2;
  m.key_dim = 3;
  m.value_dim = 4;
  m.output_shape = 5;
  MultiHeadAttention<float> mha(m);
  mha.build({{-1, 4, 6}, {-1, 7, 2}, {-1, 7, 3}});
  const std::vector<Shape> want{{6, 2, 3}, {2, 3}, {3, 2, 3}, {2, 3}, {2, 2, 4}, {2, 4}, {2, 4, 5}, {5}};
  const auto ps = mha.params();
  ASSERT_EQ(ps.size(), want.size());
  for (size_t i = 0; i < ps.size(); ++i) EXPECT_EQ(ps[i].value->shape(), want[i]) << ps[i].name;
  EXPECT_EQ(ps[6].name, "attention_output/kernel");
}

std::string mha_config(const std::string& extra) {
  return R"({"class_name": "MultiHeadAttention", "config": {"name": "mha", "num_heads": 2, "key_dim": 3)" + extra +
         "}}";
}

TEST(AttentionConfig, RefusedOptionsNameTheKey) {
  expect_error<ConfigError>([] { layer_from_config<float>(mha_config(R"(, "use_gate": true)"), "3.15.1"); },
                            "MultiHeadAttention 'mha': argument 'use_gate' = true is not supported");
  expect_error<ConfigError>([] { layer_from_config<float>(mha_config(R"(, "attention_axes": [2])"), "3.15.1"); },
                            "argument 'attention_axes' = [2] is not supported by rnnx");
  expect_error<ConfigError>([] { layer_from_config<float>(mha_config(R"(, "output_shape": [2, 3])"), "3.15.1"); },
                            "argument 'output_shape' = [2,3] is not supported by rnnx");
  expect_error<ConfigError>([] { layer_from_config<float>(mha_config(R"(, "sliding_window": 4)"), "3.15.1"); },
                            "argument 'sliding_window' = 4 is not supported");
  expect_error<ConfigError>(
      [] {
        layer_from_config<float>(R"({"class_name": "Attention", "config": {"name": "a", "score_mode": "general"}})",
                                 "3.15.1");
      },
      "Attention 'a': argument 'score_mode' must be 'dot' or 'concat'");
  auto ok = layer_from_config<float>(mha_config(R"(, "attention_axes": [1], "output_shape": 4)"), "3.15.1");
  EXPECT_EQ(ok->class_name(), "MultiHeadAttention");
  auto add = layer_from_config<float>(R"({"class_name": "AdditiveAttention", "config": {"name": "b"}})", "3.15.1");
  EXPECT_TRUE(dynamic_cast<Attention<float>*>(add.get())->options().use_scale);
}

}  // namespace
}  // namespace rnnx
