// Finite-difference checks of the normalisation layers' backward
// (normalization.h, preprocessing.h), in double, for every option that changes
// the math: axes, center / scale, rms_scaling, batch statistics with and
// without a mask, moving statistics, groups, the unit-norm cap, invert.
#include <gtest/gtest.h>

#include "recurrent_cases.h"
#include "rnnx/layers/normalization.h"
#include "rnnx/layers/preprocessing.h"
#include "support/gradcheck.h"

namespace rnnx::testing {
namespace {

GradcheckCall one_input(Shape shape, uint64_t seed, double scale = 1.0) {
  GradcheckCall call;
  call.inputs.push_back(uniform(std::move(shape), seed, -scale, scale));
  return call;
}

// Random gamma / beta (and positive moving variances) instead of the ones /
// zeros defaults.
void randomize(Layer<double> &layer, const Shape &input, uint64_t seed) {
  layer.build({input});
  std::vector<Tensor<double>> w;
  for (const Param<double> &p : layer.params()) {
    const bool positive = p.name == "gamma" || p.name == "moving_variance" || p.name == "variance";
    w.push_back(uniform(p.value->shape(), seed++, positive ? 0.5 : -0.5, positive ? 1.5 : 0.5));
  }
  layer.set_weights(w);
}

TEST(NormalizationGradcheck, LayerNormalizationAxesCenterScaleRms) {
  struct Case {
    Shape shape;
    std::vector<int64_t> axis;
    bool center, scale, rms;
  };
  const Case cases[] = {{{3, 4}, {-1}, true, true, false},         {{2, 3, 4}, {-1}, true, false, false},
                        {{2, 3, 4}, {-1}, false, true, false},     {{2, 3, 4}, {-1}, false, false, false},
                        {{2, 3, 4}, {1, 2}, true, true, false},    {{2, 3, 4}, {1}, true, true, false},
                        {{2, 2, 3, 2}, {1, 3}, true, true, false}, {{2, 3, 4}, {-1}, true, true, true},
                        {{2, 3, 4}, {1, 2}, true, true, true}};
  for (const Case &c : cases) {
    LayerNormalizationOptions o;
    o.axis = c.axis;
    o.center = c.center;
    o.scale = c.scale;
    o.rms_scaling = c.rms;
    o.epsilon = 0.01;
    LayerNormalization<double> ln(o);
    randomize(ln, c.shape, 11);
    EXPECT_TRUE(gradcheck(ln, one_input(c.shape, 5))) << to_string(c.shape) << " rms " << c.rms;
  }
}

TEST(NormalizationGradcheck, BatchNormalizationBatchAndMovingStatistics) {
  // A frozen layer (trainable = false) normalises with its moving statistics in
  // training mode too, the inference arithmetic; those statistics are constants
  // without a gradient (numerically they have one), so its parameters are not
  // compared.
  for (const Shape &shape : {Shape{5, 3}, Shape{3, 4, 3}, Shape{2, 2, 2, 2, 3}})
    for (bool frozen : {false, true})
      for (bool affine : {true, false}) {
        BatchNormalizationOptions o;
        o.center = o.scale = affine;
        o.trainable = !frozen;
        BatchNormalization<double> bn(o);
        randomize(bn, shape, 3);
        GradcheckOptions opts;
        opts.check_params = !frozen;
        EXPECT_TRUE(gradcheck(bn, one_input(shape, 7), opts))
            << to_string(shape) << " frozen " << frozen << " affine " << affine;
      }
  BatchNormalizationOptions axis1;
  axis1.axis = 1;
  BatchNormalization<double> bn(axis1);
  randomize(bn, {3, 4, 2}, 9);
  EXPECT_TRUE(gradcheck(bn, one_input({3, 4, 2}, 8)));
}

TEST(NormalizationGradcheck, BatchNormalizationMaskedStatistics) {
  BatchNormalization<double> bn({});
  randomize(bn, {3, 4, 2}, 4);
  GradcheckCall call = one_input({3, 4, 2}, 12);
  call.mask = Mask({3, 4}, std::vector<uint8_t>{1, 1, 1, 0, 1, 1, 0, 0, 0, 1, 1, 1});
  EXPECT_TRUE(gradcheck(bn, call));
}

TEST(NormalizationGradcheck, GroupNormalizationGroupsAndAxes) {
  struct Case {
    Shape shape;
    int64_t groups, axis;
    bool center;
  };
  for (const Case &c : {Case{{2, 3, 4}, 2, -1, true}, Case{{2, 3, 4}, -1, -1, true}, Case{{2, 3, 4}, 1, -1, false},
                        Case{{2, 4, 3}, 2, 1, true}, Case{{2, 2, 2, 6}, 3, -1, true}}) {
    GroupNormalizationOptions o;
    o.groups = c.groups;
    o.axis = c.axis;
    o.center = c.center;
    GroupNormalization<double> gn(o);
    randomize(gn, c.shape, 2);
    EXPECT_TRUE(gradcheck(gn, one_input(c.shape, 3))) << to_string(c.shape) << " groups " << c.groups;
  }
}

TEST(NormalizationGradcheck, UnitNormalizationAxes) {
  for (const std::vector<int64_t> &axis : {std::vector<int64_t>{-1}, {1, 2}, {1}}) {
    UnitNormalization<double> un({.axis = axis});
    EXPECT_TRUE(gradcheck(un, one_input({2, 3, 4}, 6)));
  }
}

TEST(NormalizationGradcheck, NormalizationAndRescaling) {
  for (bool invert : {false, true}) {
    NormalizationOptions o;
    o.mean = std::vector<double>{0.5, -1.0, 2.0};
    o.variance = std::vector<double>{4.0, 0.25, 1.0};
    o.stats_shape = {3};
    o.invert = invert;
    Normalization<double> n(o);
    EXPECT_TRUE(gradcheck(n, one_input({2, 4, 3}, 1)));
  }
  Normalization<double> adapted({});  // statistics as (non-trainable, gradient-free) weights
  randomize(adapted, {2, 4, 3}, 5);
  GradcheckOptions inputs_only;
  inputs_only.check_params = false;
  EXPECT_TRUE(gradcheck(adapted, one_input({2, 4, 3}, 2), inputs_only));
  Rescaling<double> r({.scale = {2.0, -1.0, 0.5}, .offset = {0.1}});
  EXPECT_TRUE(gradcheck(r, one_input({2, 4, 3}, 3)));
}

}  // namespace
}  // namespace rnnx::testing
