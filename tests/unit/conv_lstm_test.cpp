// ConvLSTM1D / ConvLSTM2D: shapes, option checks and user errors (every error is typed and
// names the layer). Numbers are checked against Keras in tests/parity/conv_lstm_parity_test.cpp.
#include "rnnx/layers/conv_lstm.h"

#include <gtest/gtest.h>

#include <functional>
#include <string>

#include "rnnx/core/error.h"
#include "rnnx/io/keras_config.h"

namespace rnnx {
namespace {

ConvLSTMOptions two_d(int64_t filters = 3) {
  ConvLSTMOptions o;
  o.filters = filters;
  o.kernel_size = {3, 3};
  return o;
}

template <class E>
void expect_error(const std::function<void()>& f, const std::string& part) {
  try {
    f();
    FAIL() << "no exception, expected one containing '" << part << "'";
  } catch (const E& e) {
    EXPECT_NE(std::string(e.what()).find(part), std::string::npos) << e.what();
  }
}

TEST(ConvLSTM, OutputShapesFollowPaddingAndStrides) {
  ConvLSTMOptions o = two_d();
  o.return_sequences = true;
  o.return_state = true;
  ConvLSTM<float> valid(o, "v");
  const auto shapes = valid.compute_output_shapes({{-1, 4, 6, 5, 2}});
  ASSERT_EQ(shapes.size(), 3u);
  EXPECT_EQ(shapes[0], (Shape{-1, 4, 4, 3, 3}));
  EXPECT_EQ(shapes[1], (Shape{-1, 4, 3, 3}));
  o.padding = "same";
  o.strides = {2, 2};
  o.return_sequences = false;
  ConvLSTM<float> same(o, "s");
  EXPECT_EQ(same.compute_output_shapes({{2, 3, 5, 5, 1}})[0], (Shape{2, 3, 3, 3}));
  Tensor<float> x({2, 3, 5, 5, 1}, 0.5f);
  const Tensor<float> y = same(x);
  EXPECT_EQ(y.shape(), (Shape{2, 3, 3, 3}));
  EXPECT_EQ(same.class_name(), "ConvLSTM2D");
  ConvLSTMOptions one;
  one.rank = 1;
  one.filters = 2;
  one.kernel_size = {2};
  ConvLSTM<float> c1(one, "c1");
  EXPECT_EQ(c1.class_name(), "ConvLSTM1D");
  EXPECT_EQ(c1.compute_output_shapes({{2, 3, 7, 4}})[0], (Shape{2, 6, 2}));
  // Weights as Keras: kernel [k..., in, 4F], recurrent_kernel [k..., F, 4F], bias [4F].
  c1.build({{2, 3, 7, 4}});
  const auto params = c1.params();
  ASSERT_EQ(params.size(), 3u);
  EXPECT_EQ(params[0].value->shape(), (Shape{2, 4, 8}));
  EXPECT_EQ(params[1].value->shape(), (Shape{2, 2, 8}));
  EXPECT_EQ((*params[2].value)[2], 1.0f) << "unit_forget_bias";
}

TEST(ConvLSTM, RefusesBadOptions) {
  ConvLSTMOptions o = two_d();
  o.strides = {2, 2};
  o.dilation_rate = {2, 2};
  expect_error<ConfigError>([&] { ConvLSTM<float> l(o, "x"); }, "ConvLSTM2D 'x': strides > 1 cannot be combined");
  o = two_d();
  o.kernel_size = {3};
  expect_error<ConfigError>([&] { ConvLSTM<float> l(o, "x"); }, "kernel_size must have 2 entries, got (3,)");
  o = two_d();
  o.data_format = "channels_first";
  expect_error<ConfigError>([&] { ConvLSTM<float> l(o, "x"); }, "data_format 'channels_first' is not supported");
  o = two_d();
  o.padding = "causal";
  expect_error<ConfigError>([&] { ConvLSTM<float> l(o, "x"); }, "padding must be 'valid' or 'same'");
  o = two_d(0);
  expect_error<ConfigError>([&] { ConvLSTM<float> l(o, "x"); }, "filters must be a positive integer");
  o = two_d();
  o.dropout = 1.0;
  expect_error<ConfigError>([&] { ConvLSTM<float> l(o, "x"); }, "dropout must be in [0, 1)");
}

TEST(ConvLSTM, RefusesBadInputs) {
  ConvLSTM<float> layer(two_d(), "frames");
  Tensor<float> wrong_rank({2, 3, 4});
  expect_error<ShapeError>([&] { layer(wrong_rank); },
                           "ConvLSTM2D 'frames': expected a 5-D input [batch, time, rows, cols, channels]");
  expect_error<ShapeError>([&] { layer.compute_output_shapes({{2, 3, -1, 5, 1}}); }, "known spatial dimensions");
  Tensor<float> small({1, 2, 2, 5, 1});
  expect_error<ShapeError>([&] { layer(small); }, "fewer than the 3 a 'valid' convolution window spans");
  Tensor<float> x({1, 2, 5, 5, 1});
  layer(x);
  Tensor<float> other({1, 2, 6, 5, 1});
  expect_error<ShapeError>([&] { layer(other); }, "built for frames (5, 5) with 1 channels");
  Tensor<float> bad_state({1, 3, 3, 2});
  LayerInputs<float> in;
  in.inputs = {&x};
  in.initial_state = {&bad_state, &bad_state};
  expect_error<ShapeError>([&] { layer.call(in); }, "initial_state 0 must have shape [1, 3, 3, 3]");
}

TEST(ConvLSTM, KerasConfigErrors) {
  const std::string head = R"({"class_name": "ConvLSTM2D", "config": {"name": "c", "filters": 2, )";
  expect_error<ConfigError>([&] { layer_from_config<float>(head + R"("kernel_size": [3, 3, 3]}})", "3.15.1"); },
                            "kernel_size");
  expect_error<ConfigError>([&] { layer_from_config<float>(head + R"("kernel_size": 3, "bogus": 1}})", "3.15.1"); },
                            "bogus");
  auto layer = layer_from_config<float>(head + R"("kernel_size": 3, "strides": 2, "padding": "SAME"}})", "3.15.1");
  auto* c = dynamic_cast<ConvLSTM<float>*>(layer.get());
  ASSERT_NE(c, nullptr);
  EXPECT_EQ(c->options().kernel_size, (std::vector<int64_t>{3, 3}));
  EXPECT_EQ(c->options().strides, (std::vector<int64_t>{2, 2}));
  EXPECT_EQ(c->options().padding, "same");
}

}  // namespace
}  // namespace rnnx
