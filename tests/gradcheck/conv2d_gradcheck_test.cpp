// Finite-difference checks (double) of the 2-D / 3-D convolution and pooling layers
// (conv2d.h, conv3d.h, pooling2d.h), alone and inside TimeDistributed on 5-D frame sequences,
// for every option that changes the math.
#include <gtest/gtest.h>

#include <memory>

#include "recurrent_cases.h"
#include "rnnx/layers/conv2d.h"
#include "rnnx/layers/conv3d.h"
#include "rnnx/layers/pooling2d.h"
#include "rnnx/layers/time_distributed.h"
#include "support/gradcheck.h"

namespace rnnx::testing {
namespace {

GradcheckCall one_input(Shape shape, uint64_t seed) {
  GradcheckCall call;
  call.inputs.push_back(uniform(std::move(shape), seed, -1.0, 1.0));
  return call;
}

// (2, rows, cols, channels) or (2, channels, rows, cols).
Shape image(const std::string& format, int64_t rows, int64_t cols, int64_t channels) {
  return format == "channels_first" ? Shape{2, channels, rows, cols} : Shape{2, rows, cols, channels};
}

TEST(Conv2DGradcheck, PaddingStridesDilationGroupsFormats) {
  struct Geo {
    std::vector<int64_t> kernel, strides, dilation;
    int64_t groups;
    std::string padding;
  };
  const Geo geos[] = {{{3}, {1}, {1}, 1, "valid"},       {{2}, {1}, {1}, 1, "same"},       {{3}, {2}, {1}, 1, "same"},
                      {{3, 2}, {2, 1}, {1}, 1, "valid"}, {{2, 3}, {1}, {2, 1}, 1, "same"}, {{2}, {1}, {1}, 2, "same"},
                      {{1}, {1}, {1}, 4, "valid"}};
  for (const std::string format : {"channels_last", "channels_first"})
    for (const Geo& g : geos) {
      ConvOptions o;
      o.kernel_size = g.kernel;
      o.strides = g.strides;
      o.dilation_rate = g.dilation;
      o.groups = g.groups;
      o.padding = g.padding;
      o.data_format = format;
      o.filters = 4;
      o.activation = {ActivationKind::tanh};
      o.bias_initializer = Initializer::from_name("random_normal");
      Conv2D<double> conv(o);
      conv.set_seed(3);
      EXPECT_TRUE(gradcheck(conv, one_input(image(format, 5, 4, 4), 5)))
          << format << " k" << g.kernel[0] << " s" << g.strides[0] << " d" << g.dilation[0] << " g" << g.groups << " "
          << g.padding;
    }
  for (ActivationKind act : {ActivationKind::linear, ActivationKind::softmax, ActivationKind::relu}) {
    ConvOptions o;
    o.kernel_size = {2};
    o.filters = 3;
    o.use_bias = false;
    o.activation = {act};
    Conv2D<double> conv(o);
    EXPECT_TRUE(gradcheck(conv, one_input({2, 4, 4, 2}, 6))) << Activation{act}.name();
  }
}

TEST(Conv2DGradcheck, Conv3D) {
  for (const std::string format : {"channels_last", "channels_first"})
    for (const std::string padding : {"valid", "same"}) {
      ConvOptions o;
      o.kernel_size = {2, 2, 1};
      o.strides = {padding == "same" ? 2 : 1};
      o.padding = padding;
      o.data_format = format;
      o.filters = 3;
      o.activation = {ActivationKind::sigmoid};
      Conv3D<double> conv(o);
      conv.set_seed(4);
      const Shape s = format == "channels_first" ? Shape{2, 2, 3, 4, 3} : Shape{2, 3, 4, 3, 2};
      EXPECT_TRUE(gradcheck(conv, one_input(s, 7))) << format << padding;
    }
}

TEST(Conv2DGradcheck, PoolingEveryPaddingStrideAndFormat) {
  for (const std::string format : {"channels_last", "channels_first"})
    for (const std::string padding : {"valid", "same"})
      for (int64_t pool : {2, 3})
        for (const std::vector<int64_t>& strides : {std::vector<int64_t>{}, {1}, {2, 1}}) {
          const PoolingOptions o{{pool}, strides, padding, format};
          MaxPooling2D<double> max_pool(o);
          EXPECT_TRUE(gradcheck(max_pool, one_input(image(format, 5, 4, 3), 11))) << format << padding << pool;
          AveragePooling2D<double> avg_pool(o);
          EXPECT_TRUE(gradcheck(avg_pool, one_input(image(format, 5, 4, 3), 12))) << format << padding << pool;
        }
  MaxPooling3D<double> max3({{2}, {}, "same", "channels_last"});
  EXPECT_TRUE(gradcheck(max3, one_input({2, 3, 4, 3, 2}, 13)));
  AveragePooling3D<double> avg3({{2, 1, 2}, {1}, "valid", "channels_first"});
  EXPECT_TRUE(gradcheck(avg3, one_input({2, 2, 3, 4, 3}, 14)));
}

TEST(Conv2DGradcheck, GlobalPooling) {
  for (const std::string format : {"channels_last", "channels_first"})
    for (bool keepdims : {false, true}) {
      GlobalAveragePooling2D<double> gap({format, keepdims});
      EXPECT_TRUE(gradcheck(gap, one_input(image(format, 3, 4, 2), 15))) << format << keepdims;
      GlobalMaxPooling2D<double> gmp({format, keepdims});
      EXPECT_TRUE(gradcheck(gmp, one_input(image(format, 3, 4, 2), 16))) << format << keepdims;
    }
  GlobalAveragePooling3D<double> gap3;
  EXPECT_TRUE(gradcheck(gap3, one_input({2, 2, 3, 2, 2}, 17)));
  GlobalMaxPooling3D<double> gmp3({"channels_first", true});
  EXPECT_TRUE(gradcheck(gmp3, one_input({2, 2, 3, 2, 2}, 18)));
}

TEST(Conv2DGradcheck, InsideTimeDistributedOnFrames) {
  ConvOptions o;
  o.kernel_size = {3};
  o.strides = {2};
  o.padding = "same";
  o.filters = 3;
  o.activation = {ActivationKind::tanh};
  auto conv = std::make_shared<Conv2D<double>>(o);
  conv->set_seed(19);
  TimeDistributed<double> td_conv(conv);
  EXPECT_TRUE(gradcheck(td_conv, one_input({2, 3, 5, 5, 2}, 20)));
  TimeDistributed<double> td_max(std::make_shared<MaxPooling2D<double>>(PoolingOptions{{2}, {}, "same"}));
  EXPECT_TRUE(gradcheck(td_max, one_input({2, 3, 5, 5, 2}, 21)));
  TimeDistributed<double> td_gap(std::make_shared<GlobalAveragePooling2D<double>>());
  EXPECT_TRUE(gradcheck(td_gap, one_input({2, 3, 5, 5, 2}, 22)));
}

}  // namespace
}  // namespace rnnx::testing
