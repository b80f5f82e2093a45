// Gradient checks of time-major recurrent layers (tf.keras time_major, rnn.h): inputs
// [steps, batch, features] and masks [steps, batch], with return_sequences, return_state,
// go_backwards, zero_output_for_mask, initial_state (every built-in cell), a whole-sequence
// dropout mask [steps, batch, features], and Bidirectional.
#include <gtest/gtest.h>

#include <string>

#include "gradcheck/recurrent_cases.h"
#include "gradcheck/recurrent_kinds.h"
#include "rnnx/layers/bidirectional.h"
#include "rnnx/layers/gru.h"
#include "rnnx/layers/lstm.h"
#include "support/gradcheck.h"

namespace rnnx::testing {
namespace {

constexpr int64_t kSteps = 5, kBatch = 4, kFeatures = 2;

// make_mask(kind) ([4, 5]: batch, steps) laid out time-major: [5, 4].
Mask time_major_mask(MaskKind kind) {
  const Mask m = make_mask(kind);
  Mask t({kSteps, kBatch});
  for (int64_t b = 0; b < kBatch; ++b)
    for (int64_t s = 0; s < kSteps; ++s) t[s * kBatch + b] = m[b * kSteps + s];
  return t;
}

GradcheckCall time_major_call(uint64_t seed) {
  GradcheckCall call;
  call.inputs.push_back(uniform({kSteps, kBatch, kFeatures}, seed, -1.5, 1.5));
  return call;
}

TEST(TimeMajorGradcheck, SequencesStatesDirectionsAndMasks) {
  for (const Kind& kind : recurrent_kinds())
    for (bool sequences : {false, true})
      for (bool backwards : {false, true})
        for (int mask : {-1, static_cast<int>(MaskKind::left), static_cast<int>(MaskKind::holes)})
          for (bool zero_output : {false, true}) {
            if (zero_output && mask < 0) continue;
            RNNOptions o;
            o.time_major = true;
            o.return_sequences = sequences;
            o.return_state = true;
            o.go_backwards = backwards;
            o.zero_output_for_mask = zero_output;
            const std::string mask_text = mask < 0 ? "none" : mask_name(static_cast<MaskKind>(mask));
            SCOPED_TRACE(kind.name + ": return_sequences " + std::to_string(sequences) + ", go_backwards " +
                         std::to_string(backwards) + ", mask " + mask_text + ", zero_output_for_mask " +
                         std::to_string(zero_output));
            auto layer = kind.make(o);
            GradcheckCall call = time_major_call(301);
            if (mask >= 0) call.mask = time_major_mask(static_cast<MaskKind>(mask));
            prepare(*layer, call, 302);
            EXPECT_TRUE(gradcheck(*layer, call));
          }
}

TEST(TimeMajorGradcheck, InitialStateWithMask) {
  for (const Kind& kind : recurrent_kinds()) {
    SCOPED_TRACE(kind.name);
    RNNOptions o;
    o.time_major = true;
    o.return_sequences = true;
    o.return_state = true;
    auto layer = kind.make(o);
    GradcheckCall call = time_major_call(311);
    call.mask = time_major_mask(MaskKind::right);
    for (size_t i = 0; i < kind.state_sizes.size(); ++i)
      call.initial_state.push_back(uniform({kBatch, kind.state_sizes[i]}, 312 + i));
    prepare(*layer, call, 315);
    EXPECT_TRUE(gradcheck(*layer, call));
  }
}

TEST(TimeMajorGradcheck, WholeSequenceDropoutMaskInTheInputLayout) {
  for (bool backwards : {false, true}) {
    SCOPED_TRACE("go_backwards " + std::to_string(backwards));
    LSTMOptions o;
    o.units = 3;
    o.time_major = true;
    o.return_sequences = true;
    o.return_state = true;
    o.go_backwards = backwards;
    o.dropout = 0.4;
    o.whole_sequence_input_dropout = true;
    LSTM<double> layer(o);
    GradcheckCall call = time_major_call(321);
    call.mask = time_major_mask(MaskKind::holes);
    prepare(layer, call, 322);
    layer.set_fixed_dropout_masks({dropout_mask({kSteps, kBatch, kFeatures}, 0.4, 323)}, {});
    EXPECT_TRUE(gradcheck(layer, call));
  }
}

TEST(TimeMajorGradcheck, Bidirectional) {
  for (MergeMode mode : {MergeMode::concat, MergeMode::mul, MergeMode::none})
    for (bool sequences : {false, true}) {
      SCOPED_TRACE("merge_mode " + merge_mode_name(mode) + ", return_sequences " + std::to_string(sequences));
      GRUOptions o;
      o.units = 3;
      o.time_major = true;
      o.return_sequences = sequences;
      o.return_state = true;
      Bidirectional<double> layer(GRU<double>(o), mode);
      GradcheckCall call = time_major_call(331);
      call.mask = time_major_mask(MaskKind::left);
      call.initial_state = {uniform({kBatch, 3}, 332), uniform({kBatch, 3}, 333)};
      prepare(layer, call, 334);
      EXPECT_TRUE(gradcheck(layer, call));
    }
}

}  // namespace
}  // namespace rnnx::testing
