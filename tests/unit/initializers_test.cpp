// Keras initializers (spec §1.2): distributions, orthogonality, seeds, names, errors.
#include "rnnx/initializers.h"

#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <vector>

#include "rnnx/core/error.h"

namespace rnnx {
namespace {

template <class T = float>
Tensor<T> make(const std::string& name, Shape shape, uint64_t seed = 1) {
  Tensor<T> w(std::move(shape));
  Rng rng(seed);
  initialize(Initializer::from_name(name), w, rng);
  return w;
}

struct Moments {
  double mean = 0, var = 0, min = 1e300, max = -1e300;
};

template <class T>
Moments moments(const Tensor<T>& w) {
  Moments m;
  for (T v : w.values()) {
    m.mean += v;
    m.min = std::min(m.min, double(v));
    m.max = std::max(m.max, double(v));
  }
  m.mean /= double(w.size());
  for (T v : w.values()) m.var += (v - m.mean) * (v - m.mean);
  m.var /= double(w.size() - 1);
  return m;
}

// Checks mean and variance of n samples against the expected values at ~5 sigma.
void expect_moments(const Moments& m, double mean, double var, int64_t n, double kurtosis_factor = 2.0) {
  const double se_mean = std::sqrt(var / double(n));
  EXPECT_NEAR(m.mean, mean, 5 * se_mean + 1e-12);
  const double se_var = var * std::sqrt(kurtosis_factor / double(n));
  EXPECT_NEAR(m.var, var, 5 * se_var + 1e-12);
}

TEST(Initializers, OrthogonalRowsOrthonormalForFusedRecurrentKernel) {
  for (int64_t u : {1, 3, 8, 16}) {
    auto w = make<double>("orthogonal", {u, 4 * u}, 7 + u);
    // (U, 4U): rows < cols, so the rows are orthonormal: W W^T = I.
    for (int64_t i = 0; i < u; ++i)
      for (int64_t j = 0; j < u; ++j) {
        double dot = 0;
        for (int64_t k = 0; k < 4 * u; ++k) dot += w[i * 4 * u + k] * w[j * 4 * u + k];
        EXPECT_NEAR(dot, i == j ? 1.0 : 0.0, 1e-12) << "u=" << u << " i=" << i << " j=" << j;
      }
  }
}

TEST(Initializers, OrthogonalColumnsOrthonormalForTallAndGain) {
  Tensor<double> w({2, 5, 3});  // rows = 10, cols = 3: Q^T Q = gain^2 I
  Rng rng(3);
  Initializer init = Initializer::from_name("Orthogonal");
  init.gain = 2.0;
  initialize(init, w, rng);
  for (int64_t i = 0; i < 3; ++i)
    for (int64_t j = 0; j < 3; ++j) {
      double dot = 0;
      for (int64_t r = 0; r < 10; ++r) dot += w[r * 3 + i] * w[r * 3 + j];
      EXPECT_NEAR(dot, i == j ? 4.0 : 0.0, 1e-12);
    }
}

TEST(Initializers, OrthogonalSquareFloatIsOrthogonal) {
  auto w = make<float>("orthogonal", {32, 32}, 11);
  for (int64_t i = 0; i < 32; ++i)
    for (int64_t j = 0; j < 32; ++j) {
      double dot = 0;
      for (int64_t k = 0; k < 32; ++k) dot += double(w[i * 32 + k]) * w[j * 32 + k];
      EXPECT_NEAR(dot, i == j ? 1.0 : 0.0, 1e-5);
    }
}

TEST(Initializers, GlorotUniformBoundsAndVarianceOnWholeFusedKernel) {
  const int64_t d = 30, u = 50;
  auto w = make("glorot_uniform", {d, 4 * u}, 5);
  const double limit = std::sqrt(6.0 / double(d + 4 * u));
  auto m = moments(w);
  EXPECT_GE(m.min, -limit);
  EXPECT_LE(m.max, limit);
  EXPECT_GT(m.max, 0.95 * limit);  // the bound is the fused kernel's, not per gate
  expect_moments(m, 0.0, limit * limit / 3.0, w.size(), 0.8);
}

TEST(Initializers, UniformPresetsLimits) {
  const int64_t a = 40, b = 60;
  struct Case {
    const char* name;
    double limit;
  } cases[] = {{"he_uniform", std::sqrt(6.0 / a)}, {"lecun_uniform", std::sqrt(3.0 / a)}};
  for (auto c : cases) {
    auto w = make(c.name, {a, b}, 9);
    auto m = moments(w);
    EXPECT_GE(m.min, -c.limit) << c.name;
    EXPECT_LE(m.max, c.limit) << c.name;
    expect_moments(m, 0.0, c.limit * c.limit / 3.0, w.size(), 0.8);
  }
}

TEST(Initializers, NormalPresetsAreTruncatedWithRequestedVariance) {
  const int64_t a = 64, b = 96;
  struct Case {
    const char* name;
    double var;
  } cases[] = {{"glorot_normal", 2.0 / (a + b)}, {"he_normal", 2.0 / a}, {"lecun_normal", 1.0 / a}};
  for (auto c : cases) {
    auto w = make<double>(c.name, {a, b}, 13);
    auto m = moments(w);
    const double stddev = std::sqrt(c.var) / 0.87962566103423978;  // before truncation
    EXPECT_GE(m.min, -2 * stddev) << c.name;
    EXPECT_LE(m.max, 2 * stddev) << c.name;
    expect_moments(m, 0.0, c.var, w.size(), 1.6);
  }
}

TEST(Initializers, VarianceScalingModesAndDistributions) {
  Tensor<double> w({3, 4, 50, 20});  // rf = 12: fan_in 600, fan_out 240
  Initializer init = Initializer::from_name("VarianceScaling");
  init.scale = 3.0;
  init.mode = "fan_out";
  init.distribution = "untruncated_normal";
  Rng rng(17);
  initialize(init, w, rng);
  auto m = moments(w);
  expect_moments(m, 0.0, 3.0 / 240.0, w.size());
  EXPECT_LT(m.min, -2.2 * std::sqrt(3.0 / 240.0));  // untruncated: tails beyond 2 sigma exist

  init.mode = "fan_avg";
  init.distribution = "uniform";
  initialize(init, w, rng);
  const double limit = std::sqrt(3.0 * 3.0 / 420.0);
  m = moments(w);
  EXPECT_GE(m.min, -limit);
  EXPECT_LE(m.max, limit);

  // 1-D shapes: fan_in = fan_out = n; fans below 1 are clamped to 1.
  Tensor<double> bias({1});
  init.mode = "fan_in";
  init.scale = 1.0;
  for (int i = 0; i < 100; ++i) {
    initialize(init, bias, rng);
    EXPECT_LE(std::abs(bias[0]), std::sqrt(3.0));
  }
}

TEST(Initializers, RandomUniformNormalTruncatedNormal) {
  Tensor<double> w({200, 100});
  Rng rng(21);
  Initializer u = Initializer::from_name("RandomUniform");
  u.minval = -0.5;
  u.maxval = 1.5;
  initialize(u, w, rng);
  auto m = moments(w);
  EXPECT_GE(m.min, -0.5);
  EXPECT_LT(m.max, 1.5);
  expect_moments(m, 0.5, 4.0 / 12.0, w.size(), 0.8);

  Initializer n = Initializer::from_name("normal");
  EXPECT_EQ(n.name, "random_normal");
  EXPECT_DOUBLE_EQ(n.stddev, 0.05);
  n.mean = 1.0;
  n.stddev = 2.0;
  initialize(n, w, rng);
  expect_moments(moments(w), 1.0, 4.0, w.size());

  Initializer t = Initializer::from_name("TruncatedNormal");
  t.mean = -1.0;
  t.stddev = 0.5;
  initialize(t, w, rng);
  m = moments(w);
  EXPECT_GE(m.min, -2.0);
  EXPECT_LE(m.max, 0.0);
  // Variance of a standard normal truncated at +-2 is 0.87962566103423978^2.
  expect_moments(m, -1.0, 0.25 * 0.87962566103423978 * 0.87962566103423978, w.size(), 1.6);
}

TEST(Initializers, ConstantsAndIdentity) {
  auto z = make("zeros", {3, 4});
  for (float v : z.values()) EXPECT_EQ(v, 0.0f);
  auto o = make("one", {5});
  for (float v : o.values()) EXPECT_EQ(v, 1.0f);
  Tensor<float> c({2, 3}, 9.0f);
  Initializer ci = Initializer::from_name("Constant");
  ci.value = 0.25;
  Rng rng(1);
  initialize(ci, c, rng);
  for (float v : c.values()) EXPECT_EQ(v, 0.25f);

  Tensor<float> id({3, 5}, 7.0f);
  Initializer ii = Initializer::from_name("IdentityInitializer");
  ii.gain = 2.0;
  initialize(ii, id, rng);
  for (int64_t i = 0; i < 3; ++i)
    for (int64_t j = 0; j < 5; ++j) EXPECT_EQ(id.at({i, j}), i == j ? 2.0f : 0.0f);
}

TEST(Initializers, SeedReproducibility) {
  // Same generator seed -> same values; different seeds differ.
  for (const char* name : {"glorot_uniform", "orthogonal", "he_normal", "random_normal", "truncated_normal"}) {
    auto a = make(name, {6, 12}, 100);
    auto b = make(name, {6, 12}, 100);
    auto c = make(name, {6, 12}, 101);
    EXPECT_EQ(a.storage(), b.storage()) << name;
    EXPECT_NE(a.storage(), c.storage()) << name;
  }
  // An initializer with its own seed ignores the generator and repeats itself.
  Initializer s = Initializer::from_name("glorot_uniform");
  s.seed = 42;
  Tensor<float> a({4, 8}), b({4, 8});
  Rng r1(1), r2(2);
  initialize(s, a, r1);
  initialize(s, b, r2);
  EXPECT_EQ(a.storage(), b.storage());
  initialize(s, b, r2);
  EXPECT_EQ(a.storage(), b.storage());
  s.seed = 43;
  initialize(s, b, r2);
  EXPECT_NE(a.storage(), b.storage());
  // A seeded initializer does not advance the caller's generator.
  Rng r3(5), r4(5);
  initialize(s, b, r3);
  EXPECT_EQ(r3.next_u64(), r4.next_u64());
}

TEST(Initializers, NamesAliasesAndClassNames) {
  const std::pair<const char*, const char*> cases[] = {
      {"zeros", "zeros"},
      {"Zeros", "zeros"},
      {"zero", "zeros"},
      {"ones", "ones"},
      {"Ones", "ones"},
      {"one", "ones"},
      {"Constant", "constant"},
      {"uniform", "random_uniform"},
      {"RandomUniform", "random_uniform"},
      {"normal", "random_normal"},
      {"RandomNormal", "random_normal"},
      {"TruncatedNormal", "truncated_normal"},
      {"GlorotUniform", "glorot_uniform"},
      {"GlorotNormal", "glorot_normal"},
      {"HeUniform", "he_uniform"},
      {"HeNormal", "he_normal"},
      {"LecunUniform", "lecun_uniform"},
      {"LecunNormal", "lecun_normal"},
      {"Orthogonal", "orthogonal"},
      {"OrthogonalInitializer", "orthogonal"},
      {"Identity", "identity"},
      {"IdentityInitializer", "identity"},
      {"VarianceScaling", "variance_scaling"},
      {"variance_scaling", "variance_scaling"},
  };
  for (auto [in, want] : cases) EXPECT_EQ(Initializer::from_name(in).name, want) << in;
  // Defaults follow Keras.
  auto ru = Initializer::from_name("uniform");
  EXPECT_DOUBLE_EQ(ru.minval, -0.05);
  EXPECT_DOUBLE_EQ(ru.maxval, 0.05);
  EXPECT_DOUBLE_EQ(Initializer::from_name("orthogonal").gain, 1.0);
  auto vs = Initializer::from_name("VarianceScaling");
  EXPECT_DOUBLE_EQ(vs.scale, 1.0);
  EXPECT_EQ(vs.mode, "fan_in");
  EXPECT_EQ(vs.distribution, "truncated_normal");
}

TEST(Initializers, Errors) {
  EXPECT_THROW(Initializer::from_name("glorot"), ConfigError);
  EXPECT_THROW(Initializer::from_name(""), ConfigError);
  EXPECT_THROW(make("identity", {2, 2, 2}), ConfigError);
  EXPECT_THROW(make("identity", {4}), ConfigError);
  EXPECT_THROW(make("orthogonal", {4}), ConfigError);
  Rng rng(1);
  Tensor<float> w({3, 3});
  Initializer vs = Initializer::from_name("variance_scaling");
  vs.scale = -1.0;
  EXPECT_THROW(initialize(vs, w, rng), ConfigError);
  vs.scale = 0.0;
  EXPECT_THROW(initialize(vs, w, rng), ConfigError);
  vs.scale = 1.0;
  vs.mode = "fan_sum";
  EXPECT_THROW(initialize(vs, w, rng), ConfigError);
  vs.mode = "fan_in";
  vs.distribution = "cauchy";
  EXPECT_THROW(initialize(vs, w, rng), ConfigError);
  Initializer n = Initializer::from_name("random_normal");
  n.stddev = -1;
  EXPECT_THROW(initialize(n, w, rng), ConfigError);
  Initializer u = Initializer::from_name("random_uniform");
  u.minval = 1;
  u.maxval = 0;
  EXPECT_THROW(initialize(u, w, rng), ConfigError);
  try {
    make("identity", {2, 3, 4});
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("[2, 3, 4]"), std::string::npos) << e.what();
  }
}

TEST(Initializers, EmptyTensorsAreFine) {
  for (const char* name : {"glorot_uniform", "orthogonal", "zeros", "he_normal"}) {
    auto w = make(name, {0, 4});
    EXPECT_EQ(w.size(), 0) << name;
  }
}

}  // namespace
}  // namespace rnnx
