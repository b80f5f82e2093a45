// Unit tests of the plumbing, activation and regularisation layers (issue 9):
// Keras config round trips, the errors users see, masks, and the training-mode
// statistics of the noise layers (whose random numbers cannot match Keras', so
// no golden covers them).
#include <gtest/gtest.h>

#include <cmath>

#include "rnnx/core/error.h"
#include "rnnx/io/keras_config.h"
#include "rnnx/io/save_model.h"
#include "rnnx/layers/activation_layers.h"
#include "rnnx/layers/merge_ops.h"
#include "rnnx/layers/noise.h"
#include "rnnx/layers/repeat_vector.h"

namespace rnnx {
namespace {

std::unique_ptr<Layer<float>> from_json(const std::string &json, const std::string &version = "3.15.1") {
  return layer_from_config<float>(json, version);
}

template <class F>
std::string error_of(F f) {
  try {
    f();
  } catch (const Error &e) {
    return e.what();
  }
  return "<no error>";
}

LayerInputs<float> ins(std::vector<const Tensor<float> *> xs, const Mask *mask = nullptr) {
  LayerInputs<float> in;
  in.inputs = std::move(xs);
  in.mask = mask;
  return in;
}

template <class U>
std::vector<U> vec(const Tensor<U> &t) {
  return std::vector<U>(t.data(), t.data() + t.size());
}

Tensor<float> ramp(Shape shape, float scale = 0.1f) {
  Tensor<float> t(shape);
  for (int64_t i = 0; i < t.size(); ++i) t[i] = scale * static_cast<float>((i * 7) % 11 - 5);
  return t;
}

// Every class reads back from the config rnnx writes for it, with the same
// options.
TEST(Plumbing, ConfigRoundTrips) {
  const char *entries[] = {
      R"({"class_name": "RepeatVector", "config": {"name": "rv", "n": 4}})",
      R"({"class_name": "Permute", "config": {"name": "p", "dims": [2, 1]}})",
      R"({"class_name": "Subtract", "config": {"name": "s"}})",
      R"({"class_name": "Multiply", "config": {"name": "m"}})",
      R"({"class_name": "Average", "config": {"name": "a"}})",
      R"({"class_name": "Maximum", "config": {"name": "mx"}})",
      R"({"class_name": "Minimum", "config": {"name": "mn"}})",
      R"({"class_name": "Dot", "config": {"name": "d", "axes": [2, 1], "normalize": true}})",
      R"({"class_name": "Dot", "config": {"name": "d1", "axes": -1}})",
      R"({"class_name": "LeakyReLU", "config": {"name": "l", "negative_slope": 0.1}})",
      R"({"class_name": "ELU", "config": {"name": "e", "alpha": 0.5}})",
      R"({"class_name": "ReLU", "config": {"name": "r", "max_value": 6.0, "negative_slope": 0.1, "threshold": 0.2}})",
      R"({"class_name": "PReLU", "config": {"name": "pr", "alpha_initializer": {"class_name": "Constant",
          "config": {"value": 0.25}}, "alpha_regularizer": {"class_name": "L2", "config": {"l2": 0.01}},
          "alpha_constraint": {"class_name": "NonNeg", "config": {}}, "shared_axes": [1]}})",
      R"({"class_name": "Softmax", "config": {"name": "sm", "axis": 1}})",
      R"({"class_name": "SpatialDropout1D", "config": {"name": "sd", "rate": 0.3, "seed": null}})",
      R"({"class_name": "GaussianNoise", "config": {"name": "gn", "stddev": 0.2, "seed": 7}})",
      R"({"class_name": "GaussianDropout", "config": {"name": "gd", "rate": 0.4, "seed": null}})",
      R"({"class_name": "AlphaDropout", "config": {"name": "ad", "rate": 0.2, "noise_shape": [null, 1, 3]}})",
      R"({"class_name": "ActivityRegularization", "config": {"name": "ar", "l1": 0.01, "l2": 0.02}})",
  };
  for (const char *e : entries) {
    SCOPED_TRACE(e);
    std::unique_ptr<Layer<float>> a = from_json(e);
    const std::string written = layer_to_keras_json(*a);
    std::unique_ptr<Layer<float>> b = from_json(written);
    EXPECT_EQ(a->class_name(), b->class_name());
    EXPECT_EQ(written, layer_to_keras_json(*b));
  }
  // Spot checks of what was read.
  auto *pr = dynamic_cast<PReLU<float> *>(from_json(entries[12]).release());
  ASSERT_NE(pr, nullptr);
  EXPECT_EQ(pr->options().shared_axes, std::vector<int64_t>{1});
  EXPECT_DOUBLE_EQ(pr->options().alpha_regularizer.l2, 0.01);
  delete pr;
  auto ar = from_json(entries[18]);
  EXPECT_DOUBLE_EQ(ar->activity_regularizer().l1, 0.01);
  EXPECT_DOUBLE_EQ(ar->activity_regularizer().l2, 0.02);
  // SpatialDropout1D is written with only the keys K3's constructor takes (no
  // `trainable`).
  EXPECT_EQ(layer_to_keras_json(*from_json(entries[14])).find("trainable"), std::string::npos);
}

TEST(Plumbing, TfKerasNames) {
  // tf_keras writes LeakyReLU's slope as `alpha`.
  auto l = from_json(R"({"class_name": "LeakyReLU", "config": {"name": "l", "alpha": 0.2}})", "2.21.0");
  EXPECT_DOUBLE_EQ(dynamic_cast<LeakyReLU<float> &>(*l).negative_slope(), 0.2);
  auto d = from_json(R"({"class_name": "LeakyReLU", "config": {"name": "l"}})");
  EXPECT_DOUBLE_EQ(dynamic_cast<LeakyReLU<float> &>(*d).negative_slope(), 0.3);
}

TEST(Plumbing, ConfigErrorsNameLayerAndValue) {
  EXPECT_NE(error_of([] {
              from_json(R"({"class_name": "Lambda", "config": {"name": "f", "function": {}}})");
            }).find("Lambda 'f': a Lambda layer holds Python code"),
            std::string::npos);
  EXPECT_NE(error_of([] {
              from_json(R"({"class_name": "Permute", "config": {"name": "p", "dims": [1, 3]}})");
            }).find("Permute 'p': dims must be a permutation of 1..2"),
            std::string::npos);
  EXPECT_NE(error_of([] {
              from_json(R"({"class_name": "RepeatVector", "config": {"name": "r", "n": 0}})");
            }).find("n must be a positive integer, got 0"),
            std::string::npos);
  EXPECT_NE(error_of([] {
              from_json(R"({"class_name": "Softmax", "config": {"name": "s", "axis": [1, 2]}})");
            }).find("a softmax over several axes"),
            std::string::npos);
  EXPECT_NE(error_of([] {
              from_json(R"({"class_name": "ReLU", "config": {"name": "r", "threshold": -1.0}})");
            }).find("threshold"),
            std::string::npos);
  EXPECT_NE(error_of([] {
              from_json(R"({"class_name": "GaussianDropout", "config": {"name": "g", "rate": 1.5}})");
            }).find("rate"),
            std::string::npos);
  EXPECT_NE(
      error_of([] { from_json(R"({"class_name": "Dot", "config": {"name": "d", "axes": [1, 2, 3]}})"); }).find("axes"),
      std::string::npos);
  EXPECT_THROW(from_json(R"({"class_name": "Subtract", "config": {"name": "s", "bogus": 1}})"), ConfigError);
}

TEST(Plumbing, ShapeErrors) {
  Subtract<float> sub;
  const Tensor<float> a({2, 3}), b({2, 4}), c({2, 3});
  EXPECT_NE(error_of([&] {
              sub.call(ins({&a, &b}));
            }).find("Subtract 'subtract': all inputs must have the same shape"),
            std::string::npos);
  EXPECT_NE(error_of([&] { sub.call(ins({&a, &b, &c})); }).find("expected exactly 2 inputs, got 3"), std::string::npos);
  Dot<float> dot({{1}});
  EXPECT_NE(error_of([&] { dot.call(ins({&a, &b})); }).find("must have the same size"), std::string::npos);
  Dot<float> batch_axis({{0}});
  EXPECT_NE(error_of([&] { batch_axis.call(ins({&a, &c})); }).find("batch axis 0"), std::string::npos);
  RepeatVector<float> rv({2});
  const Tensor<float> seq({2, 3, 4});
  EXPECT_NE(error_of([&] { rv(seq); }).find("expected a 2-D input"), std::string::npos);
  Permute<float> p({{2, 1}});
  EXPECT_NE(error_of([&] { p(a); }).find("expects inputs of rank 3"), std::string::npos);
  // Keras' Softmax rejects a mask that does not broadcast against its input.
  Softmax<float> sm;
  const Tensor<float> x({2, 5, 3});
  const Mask m({2, 5}, uint8_t(1));
  LayerInputs<float> in = ins({&x}, &m);
  EXPECT_NE(error_of([&] { sm.call(in); }).find("does not broadcast to the input of shape [2, 5, 3]"),
            std::string::npos);
}

TEST(Plumbing, ForwardValuesAndMasks) {
  RepeatVector<float> rv({3});
  const Tensor<float> v({2, 2}, {1, 2, 3, 4});
  EXPECT_EQ(vec(rv(v)), (std::vector<float>{1, 2, 1, 2, 1, 2, 3, 4, 3, 4, 3, 4}));
  Permute<float> p({{2, 1}});
  const Tensor<float> x({1, 2, 3}, {1, 2, 3, 4, 5, 6});
  EXPECT_EQ(vec(p(x)), (std::vector<float>{1, 4, 2, 5, 3, 6}));
  // Activation layers pass the mask; RepeatVector / Permute drop it (Keras: no
  // masking support).
  const Mask m({1, 2}, std::vector<uint8_t>{1, 0});
  LeakyReLU<float> leaky(0.1);
  EXPECT_EQ(vec(leaky.call(ins({&x}, &m)).mask), vec(m));
  EXPECT_TRUE(p.call(ins({&x}, &m)).mask.empty());
  ReLU<float> relu({1.5, 0.1, 0.5});
  const Tensor<float> r({1, 4}, {-1.0f, 0.3f, 1.0f, 3.0f});
  const auto y = relu(r);
  EXPECT_FLOAT_EQ(y[0], -0.15f);  // -0.1 * (0.5 - (-1))
  EXPECT_FLOAT_EQ(y[1], -0.02f);  // below the threshold: -0.1 * (0.5 - 0.3)
  EXPECT_FLOAT_EQ(y[2], 1.0f);
  EXPECT_FLOAT_EQ(y[3], 1.5f);  // clipped
  // Merges OR the masks only when every input has one.
  Average<float> avg;
  const Mask m2({1, 2}, std::vector<uint8_t>{0, 1});
  LayerInputs<float> both = ins({&x, &x});
  both.input_masks = {&m, &m2};
  EXPECT_EQ(vec(avg.call(both).mask), (std::vector<uint8_t>{1, 1}));
  both.input_masks = {&m, nullptr};
  EXPECT_TRUE(avg.call(both).mask.empty());
}

TEST(Plumbing, NoiseLayersAreIdentityInInference) {
  const Tensor<float> x = ramp({2, 4, 3});
  SpatialDropout1D<float> sd(0.5);
  GaussianNoise<float> gn(0.5);
  GaussianDropout<float> gd(0.5);
  AlphaDropout<float> ad(0.5);
  ActivityRegularization<float> ar(0.1, 0.1);
  for (Layer<float> *l : std::vector<Layer<float> *>{&sd, &gn, &gd, &ad, &ar}) EXPECT_EQ(vec((*l)(x)), vec(x));
}

TEST(Plumbing, SpatialDropout1DDropsWholeChannels) {
  SpatialDropout1D<float> sd(0.5);
  sd.set_seed(11);
  Tensor<float> x({4, 6, 5});
  for (auto &v : x.values()) v = 1.0f;
  const Tensor<float> y = sd(x, Mode::training);
  int dropped = 0;
  for (int64_t b = 0; b < 4; ++b)
    for (int64_t f = 0; f < 5; ++f) {
      const float first = y[(b * 6) * 5 + f];
      EXPECT_TRUE(first == 0.0f || first == 2.0f);
      dropped += first == 0.0f;
      for (int64_t t = 1; t < 6; ++t) EXPECT_EQ(y[(b * 6 + t) * 5 + f], first) << "channel varies over steps";
    }
  EXPECT_GT(dropped, 0);
  EXPECT_LT(dropped, 20);
  // The same seed gives the same masks.
  SpatialDropout1D<float> again(0.5);
  again.set_seed(11);
  EXPECT_EQ(vec(again(x, Mode::training)), vec(y));
}

TEST(Plumbing, NoiseStatisticsInTraining) {
  const int64_t n = 200000;
  Tensor<double> ones({n, 1});
  for (auto &v : ones.values()) v = 1.0;
  auto moments = [](const Tensor<double> &t, double &mean, double &var) {
    mean = 0;
    for (double v : t.values()) mean += v;
    mean /= static_cast<double>(t.size());
    var = 0;
    for (double v : t.values()) var += (v - mean) * (v - mean);
    var /= static_cast<double>(t.size());
  };
  double mean = 0, var = 0;
  GaussianNoise<double> gn(0.3);
  moments(gn(ones, Mode::training), mean, var);
  EXPECT_NEAR(mean, 1.0, 0.01);
  EXPECT_NEAR(var, 0.09, 0.005);
  GaussianDropout<double> gd(0.2);  // factor ~ N(1, 0.2 / 0.8)
  moments(gd(ones, Mode::training), mean, var);
  EXPECT_NEAR(mean, 1.0, 0.01);
  EXPECT_NEAR(var, 0.25, 0.01);
  // AlphaDropout keeps zero mean and unit variance of standard-normal
  // (SELU-like) inputs.
  Tensor<double> z({n, 1});
  Rng rng(5);
  for (auto &v : z.values()) v = rng.normal();
  AlphaDropout<double> ad(0.2);
  const Tensor<double> y = ad(z, Mode::training);
  moments(y, mean, var);
  EXPECT_NEAR(mean, 0.0, 0.02);
  EXPECT_NEAR(var, 1.0, 0.03);
  int kept = 0;
  for (double v : ad.last_noise().values()) kept += v == 1.0;
  EXPECT_NEAR(kept / static_cast<double>(n), 0.8, 0.01);
}

}  // namespace
}  // namespace rnnx
