// Gradient checks of Bidirectional (spec §4.1): every merge mode x return_sequences x
// return_state, with a mask, initial_state split forward/backward, constants, dropout.
#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "gradcheck/recurrent_cases.h"
#include "parity/minimal_cells.h"
#include "rnnx/layers/bidirectional.h"
#include "rnnx/layers/gru.h"
#include "rnnx/layers/lstm.h"
#include "support/gradcheck.h"

namespace rnnx::testing {
namespace {

const MergeMode kModes[] = {MergeMode::concat, MergeMode::sum, MergeMode::ave, MergeMode::mul, MergeMode::none};

TEST(BidirectionalGradcheck, MergeModesSequencesAndStates) {
  for (MergeMode mode : kModes)
    for (bool sequences : {false, true})
      for (bool state : {false, true}) {
        SCOPED_TRACE("merge_mode " + merge_mode_name(mode) + ", return_sequences " + std::to_string(sequences) +
                     ", return_state " + std::to_string(state));
        LSTMOptions o;
        o.units = 3;
        o.return_sequences = sequences;
        o.return_state = state;
        Bidirectional<double> layer(LSTM<double>(o), mode);
        GradcheckCall call = sequence_call(4, 5, 2, 201, 1.5);
        call.mask = make_mask(MaskKind::holes);
        prepare(layer, call, 202);
        EXPECT_TRUE(gradcheck(layer, call));
      }
}

TEST(BidirectionalGradcheck, InitialStateSplitAndGoBackwardsLayer) {
  for (MergeMode mode : {MergeMode::concat, MergeMode::mul, MergeMode::none})
    for (bool go_backwards : {false, true}) {
      SCOPED_TRACE("merge_mode " + merge_mode_name(mode) + ", go_backwards " + std::to_string(go_backwards));
      GRUOptions o;
      o.units = 3;
      o.return_sequences = true;
      o.return_state = true;
      o.go_backwards = go_backwards;  // the backward direction then runs forwards
      Bidirectional<double> layer(GRU<double>(o), mode);
      GradcheckCall call = sequence_call(4, 5, 2, 211, 1.5);
      call.mask = make_mask(MaskKind::right);
      call.initial_state = {uniform({4, 3}, 212), uniform({4, 3}, 213)};
      prepare(layer, call, 214);
      EXPECT_TRUE(gradcheck(layer, call));
      const GradcheckResult r = analytic_gradients(layer, call);
      EXPECT_EQ(r.grads.initial_state.size(), 2u);
    }
}

TEST(BidirectionalGradcheck, ConstantsAndDropout) {
  RNNOptions ro;
  ro.return_sequences = true;
  RNN<double> user(std::make_unique<MinimalCell<double>>(3, true), ro, "user");
  Bidirectional<double> with_constants(user, MergeMode::sum);
  GradcheckCall call = sequence_call(4, 5, 2, 221);
  call.constants.push_back(uniform({4, 2}, 222));
  call.mask = make_mask(MaskKind::left);
  prepare(with_constants, call, 223);
  EXPECT_TRUE(gradcheck(with_constants, call));

  LSTMOptions o;
  o.units = 3;
  o.dropout = 0.3;
  o.recurrent_dropout = 0.3;
  o.return_state = true;
  Bidirectional<double> dropped(LSTM<double>(o), MergeMode::concat);
  GradcheckCall seq = sequence_call(4, 5, 2, 224, 1.5);
  prepare(dropped, seq, 225);
  fix_dropout_masks(dropped.forward_layer(), 4, 5, 226);
  fix_dropout_masks(dropped.backward_layer(), 4, 5, 227);
  EXPECT_TRUE(gradcheck(dropped, seq));
}

}  // namespace
}  // namespace rnnx::testing
