// Non-recurrent layers against naive computations written here (spec §4; Keras sources
// cited in each header).
#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "layer_test_helpers.h"
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
#include "support/close.h"

namespace rnnx {
namespace {

using rnnx::test::call_merge;
using rnnx::test::call_with_mask;
using rnnx::test::prefix_mask;
using rnnx::test::random_tensor;
using rnnx::testing::all_close;

// y[r, u] = act(Σ_d x[r, d] k[d, u] + b[u]) over all leading rows, in double.
template <class T>
Tensor<double> naive_dense(const Tensor<T>& x, const Tensor<T>& kernel, const Tensor<T>* bias, ActivationKind act) {
  const int64_t d = kernel.dim(0), units = kernel.dim(1), rows = x.size() / d;
  Shape s = x.shape();
  s.back() = units;
  Tensor<double> y(s);
  for (int64_t r = 0; r < rows; ++r) {
    double row_max = -1e300, row_sum = 0;
    for (int64_t u = 0; u < units; ++u) {
      double z = bias ? static_cast<double>((*bias)[u]) : 0.0;
      for (int64_t k = 0; k < d; ++k)
        z += static_cast<double>(x[r * d + k]) * static_cast<double>(kernel[k * units + u]);
      if (act == ActivationKind::relu) z = std::max(z, 0.0);
      if (act == ActivationKind::tanh) z = std::tanh(z);
      y[r * units + u] = z;
      row_max = std::max(row_max, z);
    }
    if (act == ActivationKind::softmax) {
      for (int64_t u = 0; u < units; ++u) row_sum += std::exp(y[r * units + u] - row_max);
      for (int64_t u = 0; u < units; ++u) y[r * units + u] = std::exp(y[r * units + u] - row_max) / row_sum;
    }
  }
  return y;
}

// ---- Dense ---------------------------------------------------------------------------------
TEST(Dense, MatchesNaiveOnEveryRankAndActivation) {
  for (auto act : {ActivationKind::linear, ActivationKind::relu, ActivationKind::tanh, ActivationKind::softmax})
    for (bool use_bias : {true, false})
      for (const Shape& shape : {Shape{4, 3}, Shape{2, 5, 3}, Shape{2, 2, 2, 3}}) {
        Dense<float> dense({.units = 4,
                            .activation = {act},
                            .use_bias = use_bias,
                            .bias_initializer = Initializer::from_name("random_normal")});
        dense.set_seed(7);
        const auto x = random_tensor(shape, 11);
        const Tensor<float> y = dense(x);
        const auto want = naive_dense(x, dense.kernel(), use_bias ? &dense.bias() : nullptr, act);
        EXPECT_TRUE(all_close(y, want, {1e-6, 1e-5})) << "activation " << int(act) << " shape " << to_string(shape);
      }
}

TEST(Dense, WeightsFollowKerasNamesShapesAndInitializers) {
  Dense<double> dense({.units = 20});
  dense.build({{-1, 8}});
  auto ps = dense.params();
  ASSERT_EQ(ps.size(), 2u);
  EXPECT_EQ(ps[0].name, "kernel");
  EXPECT_EQ(ps[0].value->shape(), (Shape{8, 20}));
  EXPECT_EQ(ps[1].name, "bias");
  EXPECT_EQ(ps[1].value->shape(), (Shape{20}));
  EXPECT_EQ(dense.count_params(), 180);
  const double limit = std::sqrt(6.0 / (8 + 20));  // glorot_uniform
  for (double v : dense.kernel().values()) EXPECT_LE(std::abs(v), limit);
  for (double v : dense.bias().values()) EXPECT_EQ(v, 0.0);
  Dense<float> no_bias({.units = 3, .use_bias = false});
  no_bias.build({{2, 5}});
  EXPECT_EQ(no_bias.params().size(), 1u);
  EXPECT_EQ(no_bias.count_params(), 15);
}

TEST(Dense, SameSeedSameWeightsAndPassesMask) {
  Dense<float> a({.units = 3}), b({.units = 3});
  a.set_seed(5);
  b.set_seed(5);
  a.build({{-1, 4}});
  b.build({{-1, 4}});
  EXPECT_TRUE(all_close(a.kernel(), b.kernel(), {0, 0}));
  const auto x = random_tensor({2, 3, 4}, 1);
  const Mask m = prefix_mask(2, 3, {1, 3});
  auto out = call_with_mask<float>(a, x, &m);
  EXPECT_EQ(out.mask.shape(), m.shape());
  EXPECT_EQ(out.mask.storage(), m.storage());
}

// ---- Embedding -----------------------------------------------------------------------------
TEST(Embedding, LooksUpRowsAndMasksZeros) {
  Embedding<float> emb({.input_dim = 6, .output_dim = 3, .mask_zero = true});
  Tensor<float> ids({2, 4}, {1, 5, 0, 0, 2, 0, 3, 4});
  auto out = call_with_mask<float>(emb, ids, nullptr);
  const Tensor<float>& table = emb.embeddings();
  ASSERT_EQ(out.outputs[0].shape(), (Shape{2, 4, 3}));
  for (int64_t i = 0; i < 8; ++i)
    for (int64_t j = 0; j < 3; ++j)
      EXPECT_EQ(out.outputs[0][i * 3 + j], table[static_cast<int64_t>(ids[i]) * 3 + j]) << i << "," << j;
  ASSERT_EQ(out.mask.shape(), (Shape{2, 4}));
  for (int64_t i = 0; i < 8; ++i) EXPECT_EQ(out.mask[i], ids[i] != 0 ? 1 : 0);
  for (float v : table.values()) EXPECT_LE(std::abs(v), 0.05f);  // Keras "uniform"
  EXPECT_EQ(emb.params()[0].name, "embeddings");
}

TEST(Embedding, NoMaskWithoutMaskZeroAndAnyRank) {
  Embedding<double> emb({.input_dim = 4, .output_dim = 2});
  Tensor<double> ids({3}, {3, 0, 1});
  auto out = call_with_mask<double>(emb, ids, nullptr);
  EXPECT_EQ(out.outputs[0].shape(), (Shape{3, 2}));
  EXPECT_TRUE(out.mask.empty());
  EXPECT_EQ(emb.compute_output_shapes({{-1, 5, 2}})[0], (Shape{-1, 5, 2, 2}));
}

// ---- Masking -------------------------------------------------------------------------------
TEST(Masking, ZeroesFullyMaskedStepsAndAttachesMask) {
  for (double value : {0.0, 0.5}) {
    Masking<float> masking({.mask_value = value});
    auto x = random_tensor({3, 4, 2}, 3);
    const float v = static_cast<float>(value);
    x.at({0, 3, 0}) = x.at({0, 3, 1}) = v;  // masked
    x.at({1, 1, 0}) = x.at({1, 1, 1}) = v;  // masked
    x.at({2, 2, 0}) = v;                    // one feature only: kept
    auto out = call_with_mask<float>(masking, x, nullptr);
    ASSERT_EQ(out.mask.shape(), (Shape{3, 4}));
    for (int64_t b = 0; b < 3; ++b)
      for (int64_t t = 0; t < 4; ++t) {
        const bool keep = x.at({b, t, 0}) != v || x.at({b, t, 1}) != v;
        EXPECT_EQ(out.mask[b * 4 + t], keep ? 1 : 0) << b << "," << t;
        for (int64_t f = 0; f < 2; ++f) EXPECT_EQ(out.outputs[0].at({b, t, f}), keep ? x.at({b, t, f}) : 0.0f);
      }
  }
}

TEST(Masking, NanIsNeverEqualToTheMaskValue) {
  Masking<float> masking;
  Tensor<float> x({1, 2, 1}, {std::numeric_limits<float>::quiet_NaN(), 0.0f});
  auto out = call_with_mask<float>(masking, x, nullptr);
  EXPECT_EQ(out.mask[0], 1);
  EXPECT_EQ(out.mask[1], 0);
  EXPECT_TRUE(std::isnan(out.outputs[0][0]));
}

// ---- Dropout -------------------------------------------------------------------------------
TEST(Dropout, IdentityAtInferenceInvertedDropoutInTraining) {
  Dropout<float> drop({.rate = 0.25});
  drop.set_seed(9);
  const auto x = random_tensor({8, 10, 6}, 4, 0.5, 1.0);
  EXPECT_TRUE(all_close(drop(x), x, {0, 0}));
  EXPECT_TRUE(drop.last_dropout_mask().empty());
  const Tensor<float> y = drop(x, Mode::training);
  int64_t dropped = 0;
  for (int64_t i = 0; i < x.size(); ++i) {
    if (y[i] == 0.0f)
      ++dropped;
    else
      EXPECT_FLOAT_EQ(y[i], x[i] / 0.75f);
    EXPECT_EQ(y[i], x[i] * drop.last_dropout_mask()[i]);
  }
  EXPECT_NEAR(static_cast<double>(dropped) / x.size(), 0.25, 0.05);
}

TEST(Dropout, SeededAndNoiseShapeBroadcasts) {
  Dropout<double> a({.rate = 0.5, .noise_shape = {-1, 1, -1}}), b({.rate = 0.5, .noise_shape = {-1, 1, -1}});
  a.set_seed(3);
  b.set_seed(3);
  const auto x = random_tensor<double>({4, 5, 3}, 8, 1.0, 2.0);
  const Tensor<double> ya = a(x, Mode::training), yb = b(x, Mode::training);
  EXPECT_TRUE(all_close(ya, yb, {0, 0}));
  EXPECT_EQ(a.last_dropout_mask().shape(), (Shape{4, 1, 3}));
  for (int64_t bi = 0; bi < 4; ++bi)
    for (int64_t t = 0; t < 5; ++t)
      for (int64_t f = 0; f < 3; ++f)
        EXPECT_EQ(ya.at({bi, t, f}) == 0.0, ya.at({bi, 0, f}) == 0.0) << "same mask at every step";
  const Tensor<double> again = a(x, Mode::training);  // the stream moves on
  EXPECT_FALSE(all_close(again, ya, {0, 0}));
}

TEST(Dropout, RateOneDropsEverythingAndMaskPassesThrough) {
  Dropout<float> drop({.rate = 1.0});
  const auto x = random_tensor({2, 3, 2}, 1);
  const Mask m = prefix_mask(2, 3, {2, 1});
  auto out = call_with_mask<float>(drop, x, &m, Mode::training);
  for (float v : out.outputs[0].values()) EXPECT_EQ(v, 0.0f);
  EXPECT_EQ(out.mask.storage(), m.storage());
}

// ---- Pooling -------------------------------------------------------------------------------
TEST(GlobalMaxPooling1D, MaxOverStepsIgnoringMask) {
  const auto x = random_tensor({3, 5, 4}, 21);
  const Mask m = prefix_mask(3, 5, {1, 2, 5});
  for (bool keepdims : {false, true}) {
    GlobalMaxPool1D<float> pool({.keepdims = keepdims});
    auto out = call_with_mask<float>(pool, x, &m);
    EXPECT_EQ(out.outputs[0].shape(), keepdims ? (Shape{3, 1, 4}) : (Shape{3, 4}));
    EXPECT_TRUE(out.mask.empty());
    for (int64_t b = 0; b < 3; ++b)
      for (int64_t f = 0; f < 4; ++f) {
        float want = x.at({b, 0, f});
        for (int64_t t = 1; t < 5; ++t) want = std::max(want, x.at({b, t, f}));
        EXPECT_EQ(out.outputs[0][b * 4 + f], want);
      }
  }
  EXPECT_EQ(GlobalMaxPooling1D<float>().class_name(), "GlobalMaxPooling1D");
  EXPECT_EQ(GlobalMaxPooling1D<float>().name(), "global_max_pooling1d");
}

TEST(GlobalMaxPooling1D, ChannelsFirst) {
  const auto x = random_tensor({2, 3, 4}, 5);  // (batch, features, steps)
  GlobalMaxPooling1D<float> pool({.data_format = "channels_first"});
  const Tensor<float> y = pool(x);
  ASSERT_EQ(y.shape(), (Shape{2, 3}));
  for (int64_t b = 0; b < 2; ++b)
    for (int64_t f = 0; f < 3; ++f) {
      float want = x.at({b, f, 0});
      for (int64_t t = 1; t < 4; ++t) want = std::max(want, x.at({b, f, t}));
      EXPECT_EQ(y.at({b, f}), want);
    }
}

TEST(GlobalAveragePooling1D, MeanAndMaskedMean) {
  const auto x = random_tensor<double>({3, 4, 2}, 6);
  GlobalAvgPool1D<double> pool;
  const Tensor<double> plain = pool(x);
  const Mask m = prefix_mask(3, 4, {1, 3, 0});
  auto masked = call_with_mask<double>(pool, x, &m);
  EXPECT_TRUE(masked.mask.empty());
  for (int64_t b = 0; b < 3; ++b)
    for (int64_t f = 0; f < 2; ++f) {
      double sum = 0, msum = 0, count = 0;
      for (int64_t t = 0; t < 4; ++t) {
        sum += x.at({b, t, f});
        if (m[b * 4 + t]) msum += x.at({b, t, f}), count += 1;
      }
      EXPECT_NEAR(plain.at({b, f}), sum / 4, 1e-12);
      if (count > 0)
        EXPECT_NEAR(masked.outputs[0].at({b, f}), msum / count, 1e-12);
      else
        EXPECT_TRUE(std::isnan(masked.outputs[0].at({b, f}))) << "0/0 as in Keras";
    }
}

// ---- Activation ----------------------------------------------------------------------------
TEST(ActivationLayer, ElementwiseAndSoftmaxOverLastAxis) {
  const auto x = random_tensor({2, 3, 4}, 2, -3, 3);
  ActivationLayer<float> relu(Activation::from_name("relu"));
  const Tensor<float> r = relu(x);
  for (int64_t i = 0; i < x.size(); ++i) EXPECT_EQ(r[i], std::max(x[i], 0.0f));
  ActivationLayer<float> softmax(Activation::from_name("softmax"));
  const Mask m = prefix_mask(2, 3, {3, 2});
  auto out = call_with_mask<float>(softmax, x, &m);
  for (int64_t row = 0; row < 6; ++row) {
    double denom = 0;
    for (int64_t j = 0; j < 4; ++j) denom += std::exp(static_cast<double>(x[row * 4 + j]));
    for (int64_t j = 0; j < 4; ++j)
      EXPECT_NEAR(out.outputs[0][row * 4 + j], std::exp(static_cast<double>(x[row * 4 + j])) / denom, 1e-6);
  }
  EXPECT_EQ(out.mask.storage(), m.storage());
  EXPECT_EQ(softmax.class_name(), "Activation");
}

// ---- Concatenate / Add ---------------------------------------------------------------------
TEST(Concatenate, JoinsAlongAnyAxis) {
  const auto a = random_tensor({2, 3, 4}, 1), b = random_tensor({2, 3, 2}, 2), c = random_tensor({2, 1, 4}, 3);
  Concatenate<float> last;
  const auto y = call_merge<float>(last, {&a, &b}).outputs[0];
  ASSERT_EQ(y.shape(), (Shape{2, 3, 6}));
  for (int64_t i = 0; i < 2; ++i)
    for (int64_t t = 0; t < 3; ++t)
      for (int64_t f = 0; f < 6; ++f) EXPECT_EQ(y.at({i, t, f}), f < 4 ? a.at({i, t, f}) : b.at({i, t, f - 4}));
  Concatenate<float> steps({.axis = 1});
  const auto z = call_merge<float>(steps, {&a, &c}).outputs[0];
  ASSERT_EQ(z.shape(), (Shape{2, 4, 4}));
  for (int64_t i = 0; i < 2; ++i)
    for (int64_t t = 0; t < 4; ++t)
      for (int64_t f = 0; f < 4; ++f) EXPECT_EQ(z.at({i, t, f}), t < 3 ? a.at({i, t, f}) : c.at({i, 0, f}));
  EXPECT_EQ(steps.compute_output_shapes({{-1, 3, 4}, {-1, -1, 4}})[0], (Shape{-1, -1, 4}));
  EXPECT_EQ(last.compute_output_shapes({{-1, 3, 4}, {2, 3, 1}})[0], (Shape{2, 3, 5}));
}

TEST(Concatenate, MasksFollowKeras3) {
  const auto a = random_tensor({2, 3, 4}, 1), b = random_tensor({2, 3, 2}, 2);
  const Mask ma = prefix_mask(2, 3, {1, 2}), mb = prefix_mask(2, 3, {2, 0});
  Concatenate<float> last, steps({.axis = 1});
  // Feature axis: an unmasked input counts as all ones, so the mask is all ones.
  auto one = call_merge<float>(last, {&a, &b}, {&ma, nullptr});
  for (uint8_t v : one.mask.storage()) EXPECT_EQ(v, 1);
  // Feature axis, both masked: OR.
  auto both = call_merge<float>(last, {&a, &b}, {&ma, &mb});
  for (int64_t i = 0; i < 6; ++i) EXPECT_EQ(both.mask[i], (ma[i] || mb[i]) ? 1 : 0);
  // Steps axis: masks are concatenated in time.
  auto time = call_merge<float>(steps, {&a, &a}, {&ma, &ma});
  ASSERT_EQ(time.mask.shape(), (Shape{2, 6}));
  for (int64_t i = 0; i < 2; ++i)
    for (int64_t t = 0; t < 6; ++t) EXPECT_EQ(time.mask[i * 6 + t], ma[i * 3 + t % 3]);
  // No masks: none.
  EXPECT_TRUE(call_merge<float>(last, {&a, &b}).mask.empty());
}

TEST(Add, SumsAndOrsMasksWhenAllAreMasked) {
  const auto a = random_tensor({2, 3, 4}, 1), b = random_tensor({2, 3, 4}, 2), c = random_tensor({2, 3, 4}, 3);
  Add<float> add;
  const Mask ma = prefix_mask(2, 3, {1, 2}), mb = prefix_mask(2, 3, {2, 0});
  auto out = call_merge<float>(add, {&a, &b, &c}, {&ma, &mb, &mb});
  for (int64_t i = 0; i < a.size(); ++i) EXPECT_FLOAT_EQ(out.outputs[0][i], (a[i] + b[i]) + c[i]);
  for (int64_t i = 0; i < 6; ++i) EXPECT_EQ(out.mask[i], (ma[i] || mb[i]) ? 1 : 0);
  EXPECT_TRUE(call_merge<float>(add, {&a, &b}, {&ma, nullptr}).mask.empty());
}

// ---- Reshape / Flatten ---------------------------------------------------------------------
TEST(Reshape, InfersOneDimensionAndKeepsOrder) {
  const auto x = random_tensor({2, 4, 6}, 4);
  Reshape<float> r({.target_shape = {3, -1}});
  const Tensor<float> y = r(x);
  EXPECT_EQ(y.shape(), (Shape{2, 3, 8}));
  EXPECT_EQ(y.storage(), x.storage());
  EXPECT_EQ(r.compute_output_shapes({{-1, 4, 6}})[0], (Shape{-1, 3, 8}));
  EXPECT_EQ(r.compute_output_shapes({{-1, -1, 6}})[0], (Shape{-1, 3, -1}));
}

TEST(Flatten, ChannelsLastAndChannelsFirst) {
  const auto x = random_tensor({2, 3, 4}, 4);
  Flatten<float> flat;
  const Tensor<float> y = flat(x);
  EXPECT_EQ(y.shape(), (Shape{2, 12}));
  EXPECT_EQ(y.storage(), x.storage());
  Flatten<float> first({.data_format = "channels_first"});
  const Tensor<float> z = first(x);
  for (int64_t b = 0; b < 2; ++b)
    for (int64_t c = 0; c < 3; ++c)
      for (int64_t r = 0; r < 4; ++r) EXPECT_EQ(z.at({b, r * 3 + c}), x.at({b, c, r}));
  EXPECT_EQ(flat.compute_output_shapes({{-1}})[0], (Shape{-1, 1}));
}

// ---- TimeDistributed -----------------------------------------------------------------------
TEST(TimeDistributed, DenseEqualsDenseOn3D) {
  auto dense = std::make_shared<Dense<float>>(DenseOptions{.units = 5, .activation = Activation::from_name("tanh")});
  TimeDistributed<float> td(dense);
  td.set_seed(4);
  const auto x = random_tensor({3, 7, 4}, 12);
  const Mask m = prefix_mask(3, 7, {7, 2, 4});
  auto out = call_with_mask<float>(td, x, &m);
  EXPECT_EQ(out.outputs[0].shape(), (Shape{3, 7, 5}));
  EXPECT_TRUE(all_close(out.outputs[0], (*dense)(x), {0, 0}));
  EXPECT_EQ(out.mask.storage(), m.storage());
  EXPECT_EQ(td.params().size(), 2u);
  EXPECT_EQ(td.count_params(), 25);
  EXPECT_EQ(dense->seed(), 4u) << "an unseeded inner layer takes the wrapper's seed";
  EXPECT_EQ(td.compute_output_shapes({{-1, -1, 4}})[0], (Shape{-1, -1, 5}));
}

TEST(TimeDistributed, PerStepCallsEqualTheBatchedCall) {
  auto flatten = std::make_shared<Flatten<double>>();
  TimeDistributed<double> td(flatten);
  const auto x = random_tensor<double>({2, 3, 2, 2}, 13);
  const Tensor<double> y = td(x);
  ASSERT_EQ(y.shape(), (Shape{2, 3, 4}));
  for (int64_t t = 0; t < 3; ++t) {
    Tensor<double> step({2, 2, 2});
    for (int64_t b = 0; b < 2; ++b)
      for (int64_t k = 0; k < 4; ++k) step[b * 4 + k] = x[(b * 3 + t) * 4 + k];
    const Tensor<double> ys = (*flatten)(step);
    for (int64_t b = 0; b < 2; ++b)
      for (int64_t k = 0; k < 4; ++k) EXPECT_EQ(y.at({b, t, k}), ys.at({b, k}));
  }
}

// ---- InputLayer ----------------------------------------------------------------------------
TEST(InputLayer, PassesDataThroughAndChecksShape) {
  InputLayer<float> in({-1, 3, 2}, "x");
  EXPECT_TRUE(in.accepts({5, 3, 2}));
  EXPECT_FALSE(in.accepts({5, 3}));
  EXPECT_FALSE(in.accepts({5, 4, 2}));
  const auto x = random_tensor({5, 3, 2}, 1);
  EXPECT_EQ(in(x).storage(), x.storage());
  EXPECT_EQ(in.compute_output_shapes({})[0], (Shape{-1, 3, 2}));
}

// ---- Backward (layer.h contract; the gradients themselves are checked against finite
// differences in tests/gradcheck) ------------------------------------------------------------
// One training call of `layer` on x followed by backward(dy); returns the input gradient.
template <class T>
Tensor<T> train_and_backward(Layer<T>& layer, const Tensor<T>& x, const Tensor<T>& dy) {
  layer(x, Mode::training);
  return std::move(layer.backward({dy}).inputs.at(0));
}

TEST(Backward, TrainingCallsAreUndoneLastInFirstOut) {
  Dense<double> shared({.units = 3, .activation = {ActivationKind::tanh}}),
      alone({.units = 3, .activation = {ActivationKind::tanh}});
  shared.set_seed(9);
  alone.set_seed(9);
  const auto x1 = random_tensor<double>({2, 4}, 1), x2 = random_tensor<double>({5, 4}, 2);
  const auto g1 = random_tensor<double>({2, 3}, 3), g2 = random_tensor<double>({5, 3}, 4);
  shared(x1, Mode::training);
  shared(x2, Mode::training);
  shared(x1, Mode::inference);  // keeps nothing
  const Tensor<double> dx2 = shared.backward({g2}).inputs.at(0);
  EXPECT_TRUE(all_close(dx2, train_and_backward(alone, x2, g2), {0, 0})) << "the last call comes back first";
  EXPECT_TRUE(all_close(*shared.params()[0].grad, *alone.params()[0].grad, {0, 0}));
  const Tensor<double> dx1 = shared.backward({g1}).inputs.at(0);
  alone.zero_grads();
  EXPECT_TRUE(all_close(dx1, train_and_backward(alone, x1, g1), {0, 0}));
  EXPECT_THROW(shared.backward({g1}), StateError) << "both calls are undone";
}

TEST(Backward, ParameterGradientsAccumulateUntilZeroGrads) {
  Dense<double> dense({.units = 2});
  dense.build({{-1, 3}});
  for (const auto& p : dense.params()) {
    ASSERT_NE(p.grad, nullptr) << p.name << ": allocated at build";
    EXPECT_EQ(p.grad->shape(), p.value->shape());
  }
  const auto x = random_tensor<double>({4, 3}, 5), dy = random_tensor<double>({4, 2}, 6);
  train_and_backward(dense, x, dy);
  const Tensor<double> once = *dense.params()[0].grad, once_bias = *dense.params()[1].grad;
  train_and_backward(dense, x, dy);
  for (int64_t i = 0; i < once.size(); ++i) EXPECT_DOUBLE_EQ((*dense.params()[0].grad)[i], 2 * once[i]);
  for (int64_t i = 0; i < once_bias.size(); ++i) EXPECT_DOUBLE_EQ((*dense.params()[1].grad)[i], 2 * once_bias[i]);
  dense.zero_grads();
  for (const auto& p : dense.params())
    for (double v : p.grad->values()) EXPECT_EQ(v, 0.0);
}

TEST(Backward, EmptyGradientMeansNoGradient) {
  Dense<double> dense({.units = 2});
  const auto x = random_tensor<double>({4, 3}, 7);
  const Tensor<double> dx = train_and_backward(dense, x, Tensor<double>());
  EXPECT_EQ(dx.shape(), x.shape());
  for (double v : dx.values()) EXPECT_EQ(v, 0.0);
  for (const auto& p : dense.params())
    for (double v : p.grad->values()) EXPECT_EQ(v, 0.0);
}

TEST(Backward, ClearTapeDropsTrainingCallsOfWrappedLayersToo) {
  auto inner = std::make_shared<Dense<double>>(DenseOptions{.units = 2});
  TimeDistributed<double> td(inner);
  const auto x = random_tensor<double>({2, 3, 4}, 8);
  td(x, Mode::training);
  td.clear_tape();
  EXPECT_THROW(td.backward({Tensor<double>({2, 3, 2})}), StateError);
  EXPECT_THROW(inner->backward({Tensor<double>({6, 2})}), StateError) << "the wrapped layer's tape is cleared";
  // The wrapped layer used on its own and through the wrapper: one tape, undone in reverse.
  const auto x_step = random_tensor<double>({2, 4}, 9);
  td(x, Mode::training);
  (*inner)(x_step, Mode::training);
  EXPECT_EQ(inner->backward({random_tensor<double>({2, 2}, 10)}).inputs.at(0).shape(), x_step.shape());
  EXPECT_EQ(td.backward({random_tensor<double>({2, 3, 2}, 11)}).inputs.at(0).shape(), x.shape());
}

TEST(Backward, DenseReportsRegularizersAndConstraints) {
  Dense<float> dense({.units = 2,
                      .kernel_regularizer = Regularizer::make_l2(),
                      .bias_regularizer = Regularizer::make_l1_l2(0.1, 0.2),
                      .kernel_constraint = Constraint::make_max_norm(3.0),
                      .bias_constraint = Constraint::make_non_neg()});
  dense.build({{-1, 3}});
  const auto ps = dense.params();
  EXPECT_EQ(ps[0].regularizer, (Regularizer{0.0, 0.01}));
  EXPECT_EQ(ps[1].regularizer, (Regularizer{0.1, 0.2}));
  EXPECT_EQ(ps[0].constraint.kind, ConstraintKind::max_norm);
  EXPECT_EQ(ps[0].constraint.max_value, 3.0);
  EXPECT_EQ(ps[0].constraint.axis, (std::vector<int64_t>{0}));
  EXPECT_EQ(ps[1].constraint.kind, ConstraintKind::non_neg);
  Embedding<float> emb({.input_dim = 4,
                        .output_dim = 2,
                        .embeddings_regularizer = Regularizer::make_l1(),
                        .embeddings_constraint = Constraint::make_unit_norm({1})});
  emb.build({{-1, 3}});
  EXPECT_EQ(emb.params()[0].regularizer, (Regularizer{0.01, 0.0}));
  EXPECT_EQ(emb.params()[0].constraint.axis, (std::vector<int64_t>{1}));
  EXPECT_FALSE(Dense<float>({.units = 1}).options().activity_regularizer.active());
}

TEST(Backward, EmbeddingAddsRowsOfRepeatedIds) {
  Embedding<double> emb({.input_dim = 4, .output_dim = 2});
  const Tensor<double> ids({3}, {2, 0, 2});
  const auto dy = random_tensor<double>({3, 2}, 12);
  const Tensor<double> dids = train_and_backward(emb, ids, dy);
  for (double v : dids.values()) EXPECT_EQ(v, 0.0) << "ids are not differentiable";
  const Tensor<double>& g = *emb.params()[0].grad;
  for (int64_t k = 0; k < 2; ++k) {
    EXPECT_EQ(g[0 * 2 + k], dy[1 * 2 + k]);
    EXPECT_EQ(g[1 * 2 + k], 0.0);
    EXPECT_EQ(g[2 * 2 + k], dy[0 * 2 + k] + dy[2 * 2 + k]);
    EXPECT_EQ(g[3 * 2 + k], 0.0);
  }
}

TEST(Backward, GlobalMaxPoolingSplitsTiesEvenlyAsTensorFlow) {
  // TF's reduce_max gradient (math_grad.py _MinOrMaxGrad), which Keras's GlobalMaxPooling1D
  // gets: (x == max) / count(x == max) * dy. A NaN max equals nothing: 0 / 0 -> NaN.
  GlobalMaxPooling1D<double> pool;
  const double nan = std::numeric_limits<double>::quiet_NaN();
  const Tensor<double> x({1, 3, 3}, {1, 5, nan, 3, 5, 1, 3, 2, 2});
  const Tensor<double> dy({1, 3}, {0.6, 0.9, 2.0});
  const Tensor<double> dx = train_and_backward(pool, x, dy);
  const double want[] = {0, 0.9 / 2, nan, 0.6 / 2, 0.9 / 2, nan, 0.6 / 2, 0, nan};
  for (int64_t i = 0; i < 9; ++i) {
    if (std::isnan(want[i]))
      EXPECT_TRUE(std::isnan(dx[i])) << i;
    else
      EXPECT_DOUBLE_EQ(dx[i], want[i]) << i;
  }
}

TEST(Backward, DropoutUsesEachCallsOwnMask) {
  Dropout<double> drop({.rate = 0.5});
  drop.set_seed(3);
  const auto x = random_tensor<double>({4, 5}, 13), dy = random_tensor<double>({4, 5}, 14);
  drop(x, Mode::training);
  const Tensor<double> first = drop.last_dropout_mask();
  drop(x, Mode::training);
  const Tensor<double> second = drop.last_dropout_mask();
  ASSERT_FALSE(all_close(first, second, {0, 0}));
  for (const Tensor<double>* mask : {&second, &first}) {
    const Tensor<double> dx = drop.backward({dy}).inputs.at(0);
    for (int64_t i = 0; i < dx.size(); ++i) EXPECT_EQ(dx[i], dy[i] * (*mask)[i]);
  }
  drop.set_fixed_mask(first);
  EXPECT_TRUE(all_close(drop(x, Mode::training),
                        [&] {
                          Tensor<double> y = x;
                          for (int64_t i = 0; i < y.size(); ++i) y[i] *= first[i];
                          return y;
                        }(),
                        {0, 0}));
}

}  // namespace
}  // namespace rnnx
