// Finite-difference checks (double) of the plumbing, activation and
// regularisation layers' backward (layers/repeat_vector.h, merge_ops.h,
// activation_layers.h, noise.h), for every option that changes the math, masks
// included.
#include <gtest/gtest.h>

#include "recurrent_cases.h"
#include "rnnx/layers/activation_layers.h"
#include "rnnx/layers/merge_ops.h"
#include "rnnx/layers/noise.h"
#include "rnnx/layers/repeat_vector.h"
#include "support/gradcheck.h"

namespace rnnx::testing {
namespace {

GradcheckCall inputs(const std::vector<Shape> &shapes, uint64_t seed, double scale = 1.0) {
  GradcheckCall call;
  for (const Shape &s : shapes) call.inputs.push_back(uniform(s, seed++, -scale, scale));
  return call;
}

Mask lengths_mask(int64_t batch, int64_t steps, const std::vector<int64_t> &lengths) {
  Mask m({batch, steps});
  for (int64_t b = 0; b < batch; ++b)
    for (int64_t t = 0; t < steps; ++t) m[b * steps + t] = t < lengths[static_cast<size_t>(b)];
  return m;
}

TEST(PlumbingGradcheck, RepeatVectorAndPermute) {
  RepeatVector<double> rv({3});
  EXPECT_TRUE(gradcheck(rv, inputs({{2, 4}}, 1)));
  for (const std::vector<int64_t> &dims : {std::vector<int64_t>{2, 1}, {1, 2}, {3, 1, 2}, {2, 3, 1}}) {
    Permute<double> p({dims});
    const Shape shape = dims.size() == 2 ? Shape{2, 3, 4} : Shape{2, 3, 4, 2};
    EXPECT_TRUE(gradcheck(p, inputs({shape}, 2))) << to_string(dims);
  }
}

TEST(PlumbingGradcheck, ElementwiseMergesWithAndWithoutMasks) {
  const Mask m0 = lengths_mask(3, 4, {4, 2, 1}), m1 = lengths_mask(3, 4, {3, 4, 2}), m2 = lengths_mask(3, 4, {1, 1, 4});
  for (ElementwiseMergeOp op : {ElementwiseMergeOp::subtract, ElementwiseMergeOp::multiply, ElementwiseMergeOp::average,
                                ElementwiseMergeOp::maximum, ElementwiseMergeOp::minimum}) {
    const size_t n = op == ElementwiseMergeOp::subtract ? 2 : 3;
    for (int masks : {0, 1, 2}) {  // none, all inputs masked, only the first
      ElementwiseMerge<double> layer(op, "merge");
      GradcheckCall call = inputs(std::vector<Shape>(n, Shape{3, 4, 2}), 10);
      if (masks > 0) {
        call.input_masks = {m0, masks == 1 ? m1 : Mask(), masks == 1 ? m2 : Mask()};
        call.input_masks.resize(n);
        call.mask = m0;
      }
      EXPECT_TRUE(gradcheck(layer, call)) << layer.class_name() << " masks " << masks;
    }
  }
}

TEST(PlumbingGradcheck, DotAxesAndNormalize) {
  struct DotCase {
    Shape a, b;
    std::vector<int64_t> axes;
  };
  const DotCase cases[] = {{{3, 4}, {3, 4}, {1}},          {{2, 4, 3}, {2, 5, 3}, {2}},
                           {{2, 4, 3}, {2, 4, 2}, {1, 1}}, {{2, 4, 3}, {2, 3, 2}, {2, 1}},
                           {{2, 4, 3}, {2, 3}, {-1, -1}},  {{2, 3}, {2, 4, 3}, {1, 2}}};
  for (const DotCase &c : cases)
    for (bool normalize : {false, true}) {
      Dot<double> dot({c.axes, normalize});
      EXPECT_TRUE(gradcheck(dot, inputs({c.a, c.b}, 20))) << to_string(c.axes) << " normalize " << normalize;
    }
}

TEST(PlumbingGradcheck, ActivationLayers) {
  // Inputs in [-2, 2]; the kinks (0, threshold, max_value) are hit with
  // probability 0.
  LeakyReLU<double> leaky(0.2);
  EXPECT_TRUE(gradcheck(leaky, inputs({{2, 3, 4}}, 30, 2.0)));
  ELU<double> elu(0.7);
  EXPECT_TRUE(gradcheck(elu, inputs({{2, 3, 4}}, 31, 2.0)));
  for (const ReLUOptions &o : {ReLUOptions{}, ReLUOptions{1.2, 0.0, 0.0}, ReLUOptions{std::nullopt, 0.2, 0.5},
                               ReLUOptions{1.5, 0.1, 0.3}, ReLUOptions{6.0, 0.0, 0.0}}) {
    ReLU<double> relu(o);
    EXPECT_TRUE(gradcheck(relu, inputs({{2, 3, 4}}, 32, 2.0)));
  }
  for (const std::vector<int64_t> &shared : {std::vector<int64_t>{}, {1}, {1, 2}}) {
    PReLUOptions o;
    o.alpha_initializer = Initializer::from_name("random_uniform");
    o.shared_axes = shared;
    PReLU<double> prelu(o);
    prelu.set_seed(4);
    EXPECT_TRUE(gradcheck(prelu, inputs({{2, 3, 4}}, 33, 2.0))) << to_string(shared);
  }
  for (int64_t axis : {-1, 1, 0}) {
    Softmax<double> softmax(axis);
    EXPECT_TRUE(gradcheck(softmax, inputs({{2, 3, 4}}, 34, 2.0))) << axis;
  }
  // A mask broadcast from the right ([1, 4] against [2, 3, 4]): masked-out
  // inputs get no gradient.
  Softmax<double> masked(-1);
  GradcheckCall call = inputs({{2, 3, 4}}, 35, 2.0);
  call.mask = Mask({1, 4}, std::vector<uint8_t>{1, 0, 1, 1});
  EXPECT_TRUE(gradcheck(masked, call));
}

TEST(PlumbingGradcheck, NoiseLayersInTrainingWithFixedNoise) {
  GaussianNoise<double> noise(0.3);
  noise.set_fixed_noise(uniform({2, 3, 4}, 39, -0.5, 0.5));
  EXPECT_TRUE(gradcheck(noise, inputs({{2, 3, 4}}, 40)));
  GaussianDropout<double> gdrop(0.4);
  gdrop.set_fixed_noise(uniform({2, 3, 4}, 41, 0.5, 1.5));
  EXPECT_TRUE(gradcheck(gdrop, inputs({{2, 3, 4}}, 42)));
  AlphaDropout<double> adrop(0.3, {-1, 1, -1});
  adrop.set_fixed_noise(Tensor<double>({2, 1, 4}, {1, 0, 1, 1, 0, 1, 1, 0}));
  EXPECT_TRUE(gradcheck(adrop, inputs({{2, 3, 4}}, 43)));
  SpatialDropout1D<double> sdrop(0.5);
  sdrop.set_fixed_mask(Tensor<double>({2, 1, 4}, {2, 0, 2, 2, 0, 2, 0, 2}));
  EXPECT_TRUE(gradcheck(sdrop, inputs({{2, 3, 4}}, 44)));
  ActivityRegularization<double> ar(0.01, 0.02);
  EXPECT_TRUE(gradcheck(ar, inputs({{2, 3, 4}}, 45)));
}

}  // namespace
}  // namespace rnnx::testing
