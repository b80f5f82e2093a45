// Conv1D-family layers (conv1d.h, pooling1d.h, padding1d.h): shapes, typed
// errors for user mistakes, and Keras 3 config round trips (rnnx writes, rnnx
// reads back the same layer). The numbers themselves are checked against Keras
// in tests/parity/conv1d_parity_test.cpp.
#include "rnnx/layers/conv1d.h"

#include <gtest/gtest.h>

#include <functional>
#include <string>

#include "rnnx/core/error.h"
#include "rnnx/io/keras_config.h"
#include "rnnx/io/save_model.h"
#include "rnnx/layers/padding1d.h"
#include "rnnx/layers/pooling1d.h"

namespace rnnx {
namespace {

template <class E>
std::string message_of(const std::function<void()> &f) {
  try {
    f();
  } catch (const E &e) {
    return e.what();
  } catch (...) {
    return "<other exception>";
  }
  return "<no exception>";
}

std::string conv_json(const std::string &extra) {
  return R"({"class_name": "Conv1D", "config": {"name": "c", "filters": 4, "kernel_size": [3])" + extra + "}}";
}

TEST(Conv1DLayers, OutputShapesFollowTensorFlow) {
  Conv1DOptions o;
  o.filters = 5;
  o.kernel_size = 4;
  o.padding = "same";
  o.strides = 2;
  EXPECT_EQ(Conv1D<float>(o).compute_output_shapes({{2, 7, 3}})[0], (Shape{2, 4, 5}));
  o.padding = "valid";
  EXPECT_EQ(Conv1D<float>(o).compute_output_shapes({{2, 7, 3}})[0], (Shape{2, 2, 5}));
  o.padding = "causal";
  o.strides = 1;
  o.dilation_rate = 2;
  o.data_format = "channels_first";
  EXPECT_EQ(Conv1D<float>(o).compute_output_shapes({{-1, 3, -1}})[0], (Shape{-1, 5, -1}));
  EXPECT_EQ(MaxPooling1D<float>({3, 2, "same", "channels_last"}).compute_output_shapes({{1, 7, 2}})[0],
            (Shape{1, 4, 2}));
  EXPECT_EQ(UpSampling1D<float>(3).compute_output_shapes({{1, 4, 2}})[0], (Shape{1, 12, 2}));
  EXPECT_EQ(ZeroPadding1D<float>(1, 2).compute_output_shapes({{1, 4, 2}})[0], (Shape{1, 7, 2}));
  EXPECT_EQ(Cropping1D<float>(1, 2).compute_output_shapes({{1, 4, 2}})[0], (Shape{1, 1, 2}));
}

TEST(Conv1DLayers, AveragePoolingSameCountsOnlyRealSteps) {
  AveragePooling1D<float> pool({3, 1, "same", "channels_last"});
  const Tensor<float> x({1, 3, 1}, {3, 6, 9});
  const Tensor<float> y = pool(x);
  EXPECT_FLOAT_EQ(y[0], 4.5f);  // (3 + 6) / 2, not / 3
  EXPECT_FLOAT_EQ(y[1], 6.0f);
  EXPECT_FLOAT_EQ(y[2], 7.5f);
}

TEST(Conv1DLayers, ConfigErrorsNameTheLayerAndArgument) {
  EXPECT_NE(message_of<ConfigError>([] { layer_from_config<float>(conv_json(R"(, "padding": "full")"), "3.15.1"); })
                .find("Conv1D 'c': padding must be 'valid', 'same' or "
                      "'causal', got 'full'"),
            std::string::npos);
  EXPECT_NE(message_of<ConfigError>([] {
              layer_from_config<float>(conv_json(R"(, "strides": [2], "dilation_rate": [2])"), "3.15.1");
            }).find("strides > 1 together with dilation_rate > 1"),
            std::string::npos);
  EXPECT_NE(message_of<ConfigError>([] {
              layer_from_config<float>(conv_json(R"(, "groups": 3)"), "3.15.1");
            }).find("filters must be divisible by groups"),
            std::string::npos);
  EXPECT_NE(message_of<ConfigError>([] {
              layer_from_config<float>(conv_json(R"(, "lora_rank": 2)"), "3.15.1");
            }).find("lora_rank"),
            std::string::npos);
  EXPECT_NE(message_of<ConfigError>([] {
              layer_from_config<float>(conv_json(R"(, "kernel_size": [3, 3])"), "3.15.1");
            }).find("kernel_size"),
            std::string::npos);
  EXPECT_NE(
      message_of<ConfigError>([] {
        layer_from_config<float>(
            R"({"class_name": "DepthwiseConv1D", "config": {"name": "d", "kernel_size": 3, "padding": "causal"}})",
            "3.15.1");
      }).find("padding must be 'valid' or 'same'"),
      std::string::npos);
  EXPECT_NE(message_of<ConfigError>([] {
              layer_from_config<float>(R"({"class_name": "MaxPooling1D", "config": {"pool_size": 0}})", "3.15.1");
            }).find("pool_size must be > 0"),
            std::string::npos);
  EXPECT_NE(message_of<ConfigError>([] {
              layer_from_config<float>(R"({"class_name": "Cropping1D", "config": {"cropping": [1, 2, 3]}})", "3.15.1");
            }).find("list of 2 integers"),
            std::string::npos);
}

TEST(Conv1DLayers, ShapeErrorsSayWhatAndGot) {
  Conv1DOptions o;
  o.filters = 2;
  o.kernel_size = 5;
  Conv1D<float> conv(o, "conv");
  EXPECT_NE(message_of<ShapeError>([&] {
              conv(Tensor<float>({1, 3, 2}));
            })
                .find("Conv1D 'conv': input has 3 steps, fewer than the kernel "
                      "spans (5)"),
            std::string::npos);
  EXPECT_NE(message_of<ShapeError>([&] {
              conv(Tensor<float>({1, 3}));
            }).find("expected a 3-D input"),
            std::string::npos);
  conv(Tensor<float>({1, 6, 2}));
  EXPECT_NE(message_of<ShapeError>([&] {
              conv(Tensor<float>({1, 6, 3}));
            }).find("input has 3 channels, expected 2"),
            std::string::npos);
  o.groups = 2;
  Conv1D<float> grouped(o, "g");
  EXPECT_NE(message_of<ShapeError>([&] {
              grouped(Tensor<float>({1, 6, 3}));
            }).find("divisible by groups=2"),
            std::string::npos);
  Cropping1D<float> crop(2, 2, "crop");
  EXPECT_NE(message_of<ShapeError>([&] {
              crop(Tensor<float>({1, 4, 1}));
            }).find("must leave at least one"),
            std::string::npos);
  EXPECT_NE(message_of<StateError>([&] {
              crop.backward({Tensor<float>({1, 1, 1})});
            }).find("backward without"),
            std::string::npos);
}

TEST(Conv1DLayers, KerasConfigRoundTrip) {
  const std::string jsons[] = {
      conv_json(
          R"(, "padding": "causal", "dilation_rate": [2], "activation": "relu", "use_bias": false,
                   "kernel_regularizer": {"class_name": "L2", "config": {"l2": 0.01}})"),
      conv_json(R"(, "groups": 2, "strides": 2, "data_format": "channels_first")"),
      R"({"class_name": "SeparableConv1D", "config": {"name": "s", "filters": 3, "kernel_size": 2,
          "depth_multiplier": 2, "padding": "same"}})",
      R"({"class_name": "DepthwiseConv1D", "config": {"name": "d", "kernel_size": [3], "depth_multiplier": 3}})",
      R"({"class_name": "MaxPooling1D", "config": {"name": "m", "pool_size": [3], "strides": null}})",
      R"({"class_name": "AveragePooling1D", "config": {"name": "a", "pool_size": 2, "strides": 1, "padding": "same"}})",
      R"({"class_name": "UpSampling1D", "config": {"name": "u", "size": 3}})",
      R"({"class_name": "ZeroPadding1D", "config": {"name": "z", "padding": 2}})",
      R"({"class_name": "Cropping1D", "config": {"name": "c", "cropping": [0, 1]}})",
  };
  for (const std::string &json : jsons) {
    auto layer = layer_from_config<float>(json, "3.15.1");
    const std::string written = layer_to_keras_json(*layer);
    auto again = layer_from_config<float>(written, "3.15.1");
    EXPECT_EQ(layer_to_keras_json(*again), written) << json;
    EXPECT_EQ(again->class_name(), layer->class_name());
  }
}

}  // namespace
}  // namespace rnnx
