// Finite-difference checks of the non-recurrent layers' backward (layer.h contract), in
// double, for every option that changes the math.
#include <gtest/gtest.h>

#include <memory>

#include "frozen_gradcheck.h"
#include "recurrent_cases.h"
#include "rnnx/layers/activation_layer.h"
#include "rnnx/layers/dense.h"
#include "rnnx/layers/dropout.h"
#include "rnnx/layers/embedding.h"
#include "rnnx/layers/input_layer.h"
#include "rnnx/layers/masking.h"
#include "rnnx/layers/merge.h"
#include "rnnx/layers/pooling.h"
#include "rnnx/layers/reshape.h"
#include "rnnx/layers/time_distributed.h"
#include "support/gradcheck.h"

namespace rnnx::testing {
namespace {

GradcheckCall one_input(Shape shape, uint64_t seed, double scale = 1.0) {
  GradcheckCall call;
  call.inputs.push_back(uniform(std::move(shape), seed, -scale, scale));
  return call;
}

// Every activation Keras names, element-wise and softmax.
const ActivationKind kAllActivations[] = {ActivationKind::linear,       ActivationKind::tanh,  ActivationKind::sigmoid,
                                          ActivationKind::hard_sigmoid, ActivationKind::relu,  ActivationKind::softmax,
                                          ActivationKind::elu,          ActivationKind::selu,  ActivationKind::softplus,
                                          ActivationKind::softsign,     ActivationKind::swish, ActivationKind::gelu,
                                          ActivationKind::exponential};

TEST(LayerGradcheck, DenseEveryRankActivationAndBias) {
  for (const Shape& shape : {Shape{3, 4}, Shape{2, 3, 4}, Shape{2, 2, 2, 4}})
    for (bool use_bias : {true, false}) {
      Dense<double> dense({.units = 3, .activation = {ActivationKind::tanh}, .use_bias = use_bias});
      dense.set_seed(3);
      EXPECT_TRUE(gradcheck(dense, one_input(shape, 5))) << to_string(shape) << " bias " << use_bias;
    }
  for (ActivationKind act : kAllActivations) {
    Dense<double> dense({.units = 3, .activation = {act}, .bias_initializer = Initializer::from_name("random_normal")});
    dense.set_seed(4);
    EXPECT_TRUE(gradcheck(dense, one_input({2, 3, 4}, 6))) << Activation{act}.name();
  }
  Dense<double> keras2({.units = 3, .activation = Activation::from_name("hard_sigmoid", 2)});
  EXPECT_TRUE(gradcheck(keras2, one_input({4, 4}, 7, 2.0)));
}

TEST(LayerGradcheck, EmbeddingScatterAddsAndIdsGetZero) {
  for (bool mask_zero : {false, true}) {
    Embedding<double> emb({.input_dim = 5, .output_dim = 3, .mask_zero = mask_zero});
    emb.set_seed(2);
    GradcheckCall call;
    call.inputs.push_back(Tensor<double>({2, 4}, {1, 4, 1, 0, 3, 3, 3, 2}));  // repeated ids add up
    GradcheckOptions opts;
    opts.integer_inputs = {0};
    EXPECT_TRUE(gradcheck(emb, call, opts)) << "mask_zero " << mask_zero;
  }
  Embedding<double> rank3({.input_dim = 4, .output_dim = 2});
  GradcheckCall call;
  call.inputs.push_back(Tensor<double>({2, 2, 2}, {0, 1, 2, 3, 3, 2, 1, 1}));
  GradcheckOptions opts;
  opts.integer_inputs = {0};
  EXPECT_TRUE(gradcheck(rank3, call, opts));
}

TEST(LayerGradcheck, MaskingPassesKeptStepsOnly) {
  for (double mask_value : {0.0, 0.5}) {
    Masking<double> masking({.mask_value = mask_value});
    GradcheckCall call = one_input({3, 4, 2}, 8);
    Mask mask({3, 4}, uint8_t(1));
    for (int64_t step : {1, 4, 7, 11}) {  // fully masked steps
      call.inputs[0][step * 2] = mask_value;
      call.inputs[0][step * 2 + 1] = mask_value;
      mask[step] = 0;
    }
    call.inputs[0][2 * 2] = mask_value;  // one feature equal to mask_value: the step is kept
    EXPECT_TRUE(gradcheck_frozen(masking, call, frozen_steps(mask, 2))) << mask_value;
  }
}

TEST(LayerGradcheck, DropoutUsesTheCallsMask) {
  struct Case {
    std::vector<int64_t> noise_shape;
    Shape mask_shape;
  };
  for (const Case& c : {Case{{}, {2, 3, 4}}, Case{{-1, 1, -1}, {2, 1, 4}}, Case{{1, 3, 1}, {1, 3, 1}}}) {
    Dropout<double> dropout({.rate = 0.4, .noise_shape = c.noise_shape});
    dropout.set_fixed_mask(dropout_mask(c.mask_shape, 0.4, 9));
    EXPECT_TRUE(gradcheck(dropout, one_input({2, 3, 4}, 10))) << to_string(c.mask_shape);
  }
  Dropout<double> rate0({.rate = 0.0});
  EXPECT_TRUE(gradcheck(rate0, one_input({2, 3}, 11)));
}

TEST(LayerGradcheck, GlobalPoolingBothFormatsKeepdimsAndMask) {
  for (const std::string format : {"channels_last", "channels_first"})
    for (bool keepdims : {false, true}) {
      GlobalMaxPooling1D<double> max_pool({format, keepdims});
      EXPECT_TRUE(gradcheck(max_pool, one_input({3, 4, 2}, 12))) << format << keepdims;
      GlobalAveragePooling1D<double> avg_pool({format, keepdims});
      EXPECT_TRUE(gradcheck(avg_pool, one_input({3, 4, 2}, 13))) << format << keepdims;
    }
  GlobalAveragePooling1D<double> masked;
  GradcheckCall call = one_input({3, 4, 2}, 14);
  call.mask = Mask({3, 4}, {1, 1, 0, 0, 0, 1, 1, 1, 1, 0, 1, 0});
  EXPECT_TRUE(gradcheck(masked, call));
}

TEST(LayerGradcheck, ActivationLayerEveryKindAndRank) {
  for (ActivationKind act : kAllActivations)
    for (const Shape& shape : {Shape{5}, Shape{2, 3}, Shape{2, 2, 3}}) {
      ActivationLayer<double> layer({act});
      EXPECT_TRUE(gradcheck(layer, one_input(shape, 15, 2.0))) << Activation{act}.name() << to_string(shape);
    }
}

TEST(LayerGradcheck, ConcatenateEveryAxisAndAdd) {
  for (int64_t axis : {-1, 1, 0}) {
    Concatenate<double> concat({.axis = axis});
    GradcheckCall call;
    Shape s1{2, 3, 2}, s2{2, 3, 2};
    const size_t a = static_cast<size_t>(axis < 0 ? axis + 3 : axis);
    s2[a] = 1;
    call.inputs = {uniform({2, 3, 2}, 16), uniform(s2, 17), uniform(s1, 18)};
    EXPECT_TRUE(gradcheck(concat, call)) << axis;
  }
  Add<double> add;
  GradcheckCall call;
  call.inputs = {uniform({2, 3}, 19), uniform({2, 3}, 20), uniform({2, 3}, 21)};
  EXPECT_TRUE(gradcheck(add, call));
}

TEST(LayerGradcheck, ReshapeFlattenAndInputLayer) {
  Reshape<double> reshape({.target_shape = {3, -1}});
  EXPECT_TRUE(gradcheck(reshape, one_input({2, 2, 3, 2}, 22)));
  for (const std::string format : {"channels_last", "channels_first"})
    for (const Shape& shape : {Shape{3}, Shape{2, 3, 2}, Shape{2, 2, 3, 2}}) {
      Flatten<double> flatten({format});
      EXPECT_TRUE(gradcheck(flatten, one_input(shape, 23))) << format << to_string(shape);
    }
  InputLayer<double> input({-1, 3});
  EXPECT_TRUE(gradcheck(input, one_input({2, 3}, 24)));
}

TEST(LayerGradcheck, TimeDistributedDenseActivationAndFlatten) {
  for (ActivationKind act : {ActivationKind::linear, ActivationKind::softmax}) {
    TimeDistributed<double> td(std::make_shared<Dense<double>>(DenseOptions{.units = 3, .activation = {act}}));
    td.set_seed(5);
    EXPECT_TRUE(gradcheck(td, one_input({2, 3, 4}, 25))) << Activation{act}.name();
  }
  TimeDistributed<double> flat(std::make_shared<Flatten<double>>(FlattenOptions{"channels_first"}));
  EXPECT_TRUE(gradcheck(flat, one_input({2, 3, 2, 2}, 26)));
  // A rank-4 mask reaches the wrapped layer (here an average pooling that reads it).
  TimeDistributed<double> pool(std::make_shared<GlobalAveragePooling1D<double>>());
  GradcheckCall call = one_input({2, 2, 3, 2}, 27);
  call.mask = Mask({2, 2, 3}, {1, 1, 0, 1, 0, 1, 0, 1, 1, 1, 1, 1});
  EXPECT_TRUE(gradcheck(pool, call));
}

}  // namespace
}  // namespace rnnx::testing
