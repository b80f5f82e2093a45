// Finite-difference checks (double) of ConvLSTM1D / ConvLSTM2D (layers/conv_lstm.h over
// cells/conv_lstm_cell.h) for every option that changes the math: padding, strides,
// dilation, activations, bias, return_sequences / return_state, go_backwards, masks,
// initial_state, dropout with fixed per-gate masks, and a stateful call.
#include <gtest/gtest.h>

#include "recurrent_cases.h"
#include "rnnx/layers/conv_lstm.h"
#include "support/gradcheck.h"

namespace rnnx::testing {
namespace {

ConvLSTMOptions base(int rank) {
  ConvLSTMOptions o;
  o.rank = rank;
  o.filters = 2;
  o.kernel_size = std::vector<int64_t>(static_cast<size_t>(rank), 3);
  o.padding = "same";
  o.return_sequences = true;
  o.return_state = true;
  return o;
}

// [batch, steps, frame..., channels] uniform in [-1, 1).
GradcheckCall frames(Shape shape, uint64_t seed) {
  GradcheckCall call;
  call.inputs.push_back(uniform(std::move(shape), seed));
  return call;
}

::testing::AssertionResult check(const ConvLSTMOptions& o, GradcheckCall call, bool dropout = false) {
  ConvLSTM<double> layer(o);
  prepare(layer, call, 11);
  if (dropout) fix_dropout_masks(layer, call.inputs[0].dim(0), call.inputs[0].dim(1), 77);
  return gradcheck(layer, std::move(call));
}

TEST(ConvLSTMGradcheck, Geometry2D) {
  struct Geo {
    std::vector<int64_t> kernel, strides, dilation;
    std::string padding;
  };
  const Geo geos[] = {{{3, 3}, {1, 1}, {1, 1}, "same"},  {{3, 2}, {1, 1}, {1, 1}, "valid"},
                      {{3, 3}, {2, 2}, {1, 1}, "same"},  {{2, 3}, {2, 1}, {1, 1}, "valid"},
                      {{2, 2}, {1, 1}, {2, 2}, "same"},  {{2, 2}, {1, 1}, {1, 2}, "valid"},
                      {{1, 1}, {1, 1}, {1, 1}, "valid"}, {{4, 2}, {1, 1}, {1, 1}, "same"}};
  for (const Geo& g : geos) {
    ConvLSTMOptions o = base(2);
    o.kernel_size = g.kernel;
    o.strides = g.strides;
    o.dilation_rate = g.dilation;
    o.padding = g.padding;
    EXPECT_TRUE(check(o, frames({2, 3, 5, 4, 2}, 3))) << g.padding << " k" << g.kernel[0] << g.kernel[1];
  }
}

TEST(ConvLSTMGradcheck, OneDimensionalAndOptions) {
  EXPECT_TRUE(check(base(1), frames({2, 3, 6, 2}, 4)));
  ConvLSTMOptions o = base(1);
  o.padding = "valid";
  o.strides = {2};
  o.return_sequences = false;
  EXPECT_TRUE(check(o, frames({2, 4, 7, 3}, 5)));
  ConvLSTMOptions act = base(2);
  act.activation = Activation{ActivationKind::softsign};
  act.recurrent_activation = Activation{ActivationKind::tanh};
  act.use_bias = false;
  EXPECT_TRUE(check(act, frames({2, 3, 4, 4, 1}, 6)));
  ConvLSTMOptions back = base(2);
  back.go_backwards = true;
  EXPECT_TRUE(check(back, frames({2, 3, 4, 4, 1}, 7)));
  ConvLSTMOptions last = base(2);
  last.return_sequences = false;
  last.return_state = false;
  EXPECT_TRUE(check(last, frames({2, 3, 4, 4, 2}, 8)));
}

TEST(ConvLSTMGradcheck, MasksAndInitialState) {
  for (MaskKind kind : {MaskKind::right, MaskKind::left, MaskKind::holes}) {
    for (bool backwards : {false, true}) {
      ConvLSTMOptions o = base(2);
      o.go_backwards = backwards;
      GradcheckCall call = frames({4, 5, 3, 3, 1}, 9);
      call.mask = make_mask(kind);
      EXPECT_TRUE(check(o, call)) << mask_name(kind) << (backwards ? " backwards" : "");
    }
  }
  ConvLSTMOptions o = base(2);
  o.strides = {2, 2};
  GradcheckCall call = frames({2, 3, 5, 5, 2}, 10);
  call.initial_state.push_back(uniform({2, 3, 3, 2}, 12));
  call.initial_state.push_back(uniform({2, 3, 3, 2}, 13));
  EXPECT_TRUE(check(o, call));
}

TEST(ConvLSTMGradcheck, DropoutPerGateMasks) {
  ConvLSTMOptions both = base(2);
  both.dropout = 0.3;
  both.recurrent_dropout = 0.4;
  EXPECT_TRUE(check(both, frames({2, 3, 4, 4, 2}, 14), true));
  ConvLSTMOptions rec = base(1);
  rec.recurrent_dropout = 0.5;
  EXPECT_TRUE(check(rec, frames({2, 3, 5, 2}, 15), true));
}

TEST(ConvLSTMGradcheck, StatefulTruncatesAtTheCall) {
  ConvLSTMOptions o = base(2);
  o.stateful = true;
  ConvLSTM<double> layer(o);
  GradcheckCall call = frames({2, 3, 3, 3, 1}, 16);
  prepare(layer, call, 17);
  layer(call.inputs[0]);  // leaves non-zero stored states
  const std::vector<Tensor<double>> stored = layer.states();
  GradcheckOptions opts;
  opts.before_call = [&](Layer<double>& l) { static_cast<ConvLSTM<double>&>(l).reset_states(stored); };
  EXPECT_TRUE(gradcheck(layer, call, opts));
}

}  // namespace
}  // namespace rnnx::testing
