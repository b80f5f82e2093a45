// Finite-difference checks (double) of the 1-D convolution, pooling and
// step-moving layers (conv1d.h, pooling1d.h, padding1d.h), for every option
// that changes the math.
#include <gtest/gtest.h>

#include "recurrent_cases.h"
#include "rnnx/layers/conv1d.h"
#include "rnnx/layers/padding1d.h"
#include "rnnx/layers/pooling1d.h"
#include "support/gradcheck.h"

namespace rnnx::testing {
namespace {

GradcheckCall one_input(Shape shape, uint64_t seed) {
  GradcheckCall call;
  call.inputs.push_back(uniform(std::move(shape), seed, -1.0, 1.0));
  return call;
}

Shape input_shape(const std::string &format, int64_t steps, int64_t channels) {
  return format == "channels_first" ? Shape{2, channels, steps} : Shape{2, steps, channels};
}

TEST(Conv1DGradcheck, PaddingStridesDilationGroupsFormats) {
  struct Geo {
    int64_t kernel, strides, dilation, groups;
    std::string padding;
  };
  const Geo geos[] = {{3, 1, 1, 1, "valid"},  {4, 1, 1, 1, "same"}, {3, 2, 1, 1, "same"}, {2, 3, 1, 1, "valid"},
                      {3, 1, 2, 1, "causal"}, {2, 1, 3, 1, "same"}, {3, 1, 1, 2, "same"}, {1, 1, 1, 4, "valid"}};
  for (const std::string format : {"channels_last", "channels_first"})
    for (const Geo &g : geos) {
      Conv1DOptions o;
      o.kernel_size = g.kernel;
      o.strides = g.strides;
      o.dilation_rate = g.dilation;
      o.groups = g.groups;
      o.padding = g.padding;
      o.data_format = format;
      o.filters = 4;
      o.activation = {ActivationKind::tanh};
      o.bias_initializer = Initializer::from_name("random_normal");
      Conv1D<double> conv(o);
      conv.set_seed(3);
      EXPECT_TRUE(gradcheck(conv, one_input(input_shape(format, 7, 4), 5)))
          << format << " k" << g.kernel << " s" << g.strides << " d" << g.dilation << " g" << g.groups << " "
          << g.padding;
    }
  for (ActivationKind act : {ActivationKind::linear, ActivationKind::softmax, ActivationKind::sigmoid}) {
    Conv1DOptions o;
    o.kernel_size = 2;
    o.filters = 3;
    o.use_bias = false;
    o.activation = {act};
    Conv1D<double> conv(o);
    EXPECT_TRUE(gradcheck(conv, one_input({2, 5, 3}, 6))) << Activation{act}.name();
  }
}

TEST(Conv1DGradcheck, DepthwiseAndSeparable) {
  for (const std::string format : {"channels_last", "channels_first"})
    for (const std::string padding : {"valid", "same"})
      for (int64_t dm : {1, 2}) {
        DepthwiseConv1DOptions d;
        d.kernel_size = 3;
        d.depth_multiplier = dm;
        d.padding = padding;
        d.data_format = format;
        d.activation = {ActivationKind::tanh};
        d.bias_initializer = Initializer::from_name("random_normal");
        DepthwiseConv1D<double> depthwise(d);
        depthwise.set_seed(7);
        EXPECT_TRUE(gradcheck(depthwise, one_input(input_shape(format, 6, 3), 8))) << format << padding << dm;
        SeparableConv1DOptions s;
        s.kernel_size = 2;
        s.depth_multiplier = dm;
        s.filters = 3;
        s.padding = padding;
        s.data_format = format;
        s.strides = dm;  // strides 2 with dm 2
        s.activation = {ActivationKind::sigmoid};
        SeparableConv1D<double> separable(s);
        separable.set_seed(9);
        EXPECT_TRUE(gradcheck(separable, one_input(input_shape(format, 6, 3), 10))) << format << padding << dm;
      }
}

TEST(Conv1DGradcheck, PoolingEveryPaddingStrideAndFormat) {
  for (const std::string format : {"channels_last", "channels_first"})
    for (const std::string padding : {"valid", "same"})
      for (int64_t pool : {2, 3})
        for (int64_t strides : {-1, 1, 2}) {
          const Pooling1DOptions o{pool, strides, padding, format};
          MaxPooling1D<double> max_pool(o);
          EXPECT_TRUE(gradcheck(max_pool, one_input(input_shape(format, 7, 3), 11)))
              << format << padding << pool << strides;
          AveragePooling1D<double> avg_pool(o);
          EXPECT_TRUE(gradcheck(avg_pool, one_input(input_shape(format, 7, 3), 12)))
              << format << padding << pool << strides;
        }
}

TEST(Conv1DGradcheck, UpSamplingPaddingCropping) {
  UpSampling1D<double> up(3);
  EXPECT_TRUE(gradcheck(up, one_input({2, 4, 3}, 13)));
  ZeroPadding1D<double> pad(1, 2);
  EXPECT_TRUE(gradcheck(pad, one_input({2, 4, 3}, 14)));
  ZeroPadding1D<double> pad_cf(2, 0, "channels_first");
  EXPECT_TRUE(gradcheck(pad_cf, one_input({2, 3, 4}, 15)));
  Cropping1D<double> crop(1, 2);
  EXPECT_TRUE(gradcheck(crop, one_input({2, 5, 3}, 16)));
}

}  // namespace
}  // namespace rnnx::testing
