// Conv2D / Conv3D / 2-D and 3-D pooling layers (conv2d.h, conv3d.h, pooling2d.h): shapes,
// channels_first against channels_last (TensorFlow's CPU kernels cannot give Keras goldens for
// channels_first convolutions), typed errors for user mistakes, masks around
// TimeDistributed(Conv2D), and Keras 3 config round trips. The numbers themselves are checked
// against Keras in tests/parity/conv1d_parity_test.cpp (conv2d family).
#include "rnnx/layers/conv2d.h"

#include <gtest/gtest.h>

#include <functional>
#include <memory>
#include <string>

#include "layers/conv_nd_math.h"
#include "rnnx/core/error.h"
#include "rnnx/core/rng.h"
#include "rnnx/io/keras_config.h"
#include "rnnx/io/save_model.h"
#include "rnnx/layers/conv3d.h"
#include "rnnx/layers/lstm.h"
#include "rnnx/layers/masking.h"
#include "rnnx/layers/pooling2d.h"
#include "rnnx/layers/time_distributed.h"
#include "rnnx/model/sequential.h"

namespace rnnx {
namespace {

template <class E>
std::string message_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const E& e) {
    return e.what();
  } catch (...) {
    return "<other exception>";
  }
  return "<no exception>";
}

Tensor<double> random_tensor(Shape shape, uint64_t seed) {
  Tensor<double> t(std::move(shape));
  Rng rng(seed);
  for (int64_t i = 0; i < t.size(); ++i) t[i] = rng.uniform(-1.0, 1.0);
  return t;
}

void expect_near(const Tensor<double>& a, const Tensor<double>& b, const std::string& what) {
  ASSERT_EQ(a.shape(), b.shape()) << what;
  for (int64_t i = 0; i < a.size(); ++i) ASSERT_NEAR(a[i], b[i], 1e-12) << what << " at " << i;
}

TEST(Conv2DLayers, OutputShapesFollowTensorFlow) {
  ConvOptions o;
  o.filters = 4;
  o.kernel_size = {3, 2};
  o.strides = {2, 1};
  Conv2D<float> valid(o);
  EXPECT_EQ(valid.compute_output_shapes({{-1, 7, 5, 3}})[0], (Shape{-1, 3, 4, 4}));
  o.padding = "same";
  Conv2D<float> same(o);
  EXPECT_EQ(same.compute_output_shapes({{2, 7, 5, 3}})[0], (Shape{2, 4, 5, 4}));
  o.kernel_size = {2};
  o.strides = {1};
  o.data_format = "channels_first";
  Conv3D<float> cf(o);
  EXPECT_EQ(cf.compute_output_shapes({{2, 3, 4, 5, 6}})[0], (Shape{2, 4, 4, 5, 6}));
  MaxPooling2D<float> pool({{3}, {2}, "same"});
  EXPECT_EQ(pool.compute_output_shapes({{2, 5, 4, 3}})[0], (Shape{2, 3, 2, 3}));
  GlobalAveragePooling2D<float> gap({"channels_first", true});
  EXPECT_EQ(gap.compute_output_shapes({{2, 3, 5, 4}})[0], (Shape{2, 3, 1, 1}));
  TimeDistributed<float> td(std::make_shared<Conv2D<float>>(ConvOptions{.filters = 2, .kernel_size = {3}}));
  EXPECT_EQ(td.compute_output_shapes({{-1, 3, 5, 5, 1}})[0], (Shape{-1, 3, 3, 3, 2}));
}

// channels_first is channels_last with the channel axis moved: same weights, transposed data.
TEST(Conv2DLayers, ChannelsFirstEqualsChannelsLastTransposed) {
  const auto check = [](Layer<double>& cl, Layer<double>& cf, const Shape& shape) {
    const Tensor<double> x = random_tensor(shape, 3);
    const Tensor<double> x_cf = detail::channels_to_first(x);
    cl.build({x.shape()});
    cf.build({x_cf.shape()});
    cf.set_weights(cl.get_weights());
    LayerInputs<double> in, in_cf;
    in.inputs.push_back(&x);
    in_cf.inputs.push_back(&x_cf);
    in.mode = in_cf.mode = Mode::training;
    const Tensor<double> y = cl.call(in).outputs[0];
    const Tensor<double> y_cf = cf.call(in_cf).outputs[0];
    expect_near(detail::channels_to_first(y), y_cf, cl.class_name() + " y");
    const Tensor<double> gy = random_tensor(y.shape(), 4);
    cl.zero_grads();
    cf.zero_grads();
    const Tensor<double> dx = cl.backward({gy}).inputs[0];
    const Tensor<double> dx_cf = cf.backward({detail::channels_to_first(gy)}).inputs[0];
    expect_near(detail::channels_to_first(dx), dx_cf, cl.class_name() + " dx");
    const auto p = cl.params(), p_cf = cf.params();
    for (size_t i = 0; i < p.size(); ++i) expect_near(*p[i].grad, *p_cf[i].grad, cl.class_name() + " " + p[i].name);
  };
  ConvOptions o;
  o.filters = 4;
  o.kernel_size = {3, 2};
  o.strides = {2, 1};
  o.padding = "same";
  o.groups = 2;
  o.activation = {ActivationKind::tanh};
  o.bias_initializer = Initializer::from_name("random_normal");
  Conv2D<double> cl(o);
  o.data_format = "channels_first";
  Conv2D<double> cf(o);
  check(cl, cf, {2, 5, 4, 2});
  ConvOptions o3;
  o3.filters = 2;
  o3.kernel_size = {2};
  o3.dilation_rate = {1, 2, 1};
  Conv3D<double> cl3(o3);
  o3.data_format = "channels_first";
  Conv3D<double> cf3(o3);
  check(cl3, cf3, {2, 3, 4, 3, 2});
}

TEST(Conv2DLayers, InvalidOptionsAreConfigErrors) {
  const auto conv = [](std::function<void(ConvOptions&)> edit) {
    return message_of<ConfigError>([&] {
      ConvOptions o;
      o.filters = 4;
      o.kernel_size = {3};
      edit(o);
      Conv2D<float> c(o, "c");
    });
  };
  EXPECT_EQ(conv([](ConvOptions& o) {
              o.kernel_size = {3, 3, 3};
            }),
            "Conv2D 'c': kernel_size must be an integer or a list of 2 integers, got (3, 3, 3)");
  EXPECT_EQ(conv([](ConvOptions& o) {
              o.strides = {2};
              o.dilation_rate = {1, 2};
            }),
            "Conv2D 'c': strides > 1 together with dilation_rate > 1 is not supported (Keras refuses it too), got "
            "strides=(2, 2) and dilation_rate=(1, 2)");
  EXPECT_EQ(conv([](ConvOptions& o) { o.padding = "causal"; }),
            "Conv2D 'c': padding must be 'valid' or 'same', got 'causal'");
  EXPECT_EQ(conv([](ConvOptions& o) { o.groups = 3; }),
            "Conv2D 'c': filters must be divisible by groups, got filters=4 and groups=3");
  EXPECT_EQ(conv([](ConvOptions& o) { o.kernel_size = {}; }), "Conv2D 'c': kernel_size is required");
  EXPECT_EQ(conv([](ConvOptions& o) {
              o.activation = {ActivationKind::softmax};
              o.data_format = "channels_first";
            }),
            "Conv2D 'c': activation 'softmax' with data_format 'channels_first' is not supported by rnnx");
  EXPECT_EQ(message_of<ConfigError>([] {
              MaxPooling2D<float> p({{2, 0}}, "p");
            }),
            "MaxPooling2D 'p': pool_size must be > 0 on every axis, got (2, 0)");
  EXPECT_EQ(message_of<ConfigError>([] { GlobalMaxPooling2D<float> p({"nhwc"}, "g"); }),
            "GlobalMaxPooling2D 'g': data_format must be 'channels_last' or 'channels_first', got 'nhwc'");
  EXPECT_EQ(message_of<ConfigError>([] {
              layer_from_config<float>(
                  R"({"class_name": "Conv2D", "config": {"name": "c", "filters": 2, "kernel_size": 3,
                      "lora_rank": 4}})",
                  "3.15.1");
            }),
            "Conv2D 'c': argument 'lora_rank' (LoRA) is not supported by rnnx");
}

TEST(Conv2DLayers, BadInputShapesAreShapeErrors) {
  Conv2D<float> conv(ConvOptions{.filters = 2, .kernel_size = {3}}, "c");
  EXPECT_EQ(message_of<ShapeError>([&] {
              conv.build({{2, 2, 5, 1}});
            }),
            "Conv2D 'c': input has size 2 on spatial axis 1, smaller than the kernel spans (3) with padding 'valid' "
            "(input shape [2, 2, 5, 1])");
  conv.build({{2, 5, 5, 3}});
  EXPECT_EQ(message_of<ShapeError>([&] {
              conv.compute_output_shapes({{2, 5, 5, 4}});
            }),
            "Conv2D 'c': input has 4 channels, expected 3 (input shape [2, 5, 5, 4])");
  EXPECT_NE(message_of<ShapeError>([&] {
              conv.compute_output_shapes({{2, 5, 5}});
            }).find("Conv2D 'c'"),
            std::string::npos);
  MaxPooling2D<float> pool({{3}}, "p");
  EXPECT_EQ(message_of<ShapeError>([&] {
              pool.compute_output_shapes({{2, 5, 2, 1}});
            }),
            "MaxPooling2D 'p': input has size 2 on spatial axis 2, smaller than pool_size (3, 3) with padding "
            "'valid' (input shape [2, 5, 2, 1])");
}

// A (batch, time) mask passes TimeDistributed(Conv2D) and TimeDistributed(pooling) unchanged
// (Keras: TimeDistributed returns its input mask; conv and pooling layers take none).
TEST(Conv2DLayers, TimeDistributedPassesTheStepMask) {
  TimeDistributed<float> td(std::make_shared<Conv2D<float>>(ConvOptions{.filters = 2, .kernel_size = {3}}));
  Tensor<float> x({2, 3, 5, 5, 1}, 0.5f);
  Mask m({2, 3}, 1);
  m[5] = 0;
  LayerInputs<float> in;
  in.inputs.push_back(&x);
  in.mask = &m;
  const LayerOutputs<float> out = td.call(in);
  EXPECT_EQ(out.outputs[0].shape(), (Shape{2, 3, 3, 3, 2}));
  ASSERT_EQ(out.mask.shape(), (Shape{2, 3}));
  EXPECT_EQ(out.mask[5], 0);
  Conv2D<float> bare(ConvOptions{.filters = 2, .kernel_size = {3}});
  Tensor<float> img({2, 5, 5, 1}, 0.5f);
  in.inputs = {&img};
  EXPECT_TRUE(bare.call(in).mask.empty());
}

TEST(Conv2DLayers, KerasConfigRoundTrip) {
  const std::string jsons[] = {
      R"({"class_name": "Conv2D", "config": {"name": "c", "filters": 4, "kernel_size": [3, 2], "strides": 2,
          "padding": "same", "activation": "relu", "use_bias": false,
          "kernel_regularizer": {"class_name": "L2", "config": {"l2": 0.01}}}})",
      R"({"class_name": "Conv2D", "config": {"name": "c", "filters": 4, "kernel_size": 2, "groups": 2,
          "dilation_rate": [1, 2], "data_format": "channels_first"}})",
      R"({"class_name": "Conv3D", "config": {"name": "c3", "filters": 2, "kernel_size": [2, 2, 1]}})",
      R"({"class_name": "MaxPooling2D", "config": {"name": "m", "pool_size": [3, 2], "strides": null}})",
      R"({"class_name": "AveragePooling2D", "config": {"name": "a", "pool_size": 2, "strides": 1,
          "padding": "same"}})",
      R"({"class_name": "MaxPooling3D", "config": {"name": "m3"}})",
      R"({"class_name": "AveragePooling3D", "config": {"name": "a3", "pool_size": [2, 2, 2]}})",
      R"({"class_name": "GlobalAveragePooling2D", "config": {"name": "g", "keepdims": true}})",
      R"({"class_name": "GlobalMaxPooling2D", "config": {"name": "g", "data_format": "channels_first"}})",
      R"({"class_name": "GlobalAveragePooling3D", "config": {"name": "g3"}})",
      R"({"class_name": "GlobalMaxPooling3D", "config": {"name": "g3"}})",
      R"({"class_name": "TimeDistributed", "config": {"name": "td", "layer": {"class_name": "Conv2D",
          "config": {"name": "c", "filters": 2, "kernel_size": 3}}}})",
  };
  for (const std::string& json : jsons) {
    auto layer = layer_from_config<float>(json, "3.15.1");
    const std::string written = layer_to_keras_json(*layer);
    auto again = layer_from_config<float>(written, "3.15.1");
    EXPECT_EQ(layer_to_keras_json(*again), written) << json;
    EXPECT_EQ(again->class_name(), layer->class_name());
  }
  auto pool =
      layer_from_config<float>(R"({"class_name": "MaxPool2D", "config": {"name": "m", "pool_size": 3}})", "3.15.1");
  EXPECT_EQ(pool->class_name(), "MaxPooling2D");
  EXPECT_NE(layer_to_keras_json(*pool).find(R"("strides":[3,3])"), std::string::npos) << layer_to_keras_json(*pool);
}

}  // namespace
}  // namespace rnnx
