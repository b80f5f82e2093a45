#pragma once
// Keras conventions for recurrent cells, in one place (design.md principle 3): the gate
// order inside fused weights, the shape of every cell weight, the order of the states, and
// the defaults that changed between Keras versions (spec §2, §5, §6). Code elsewhere asks
// this file for "the offset of block k" instead of writing `2 * units`.
#include <cstdint>

#include "rnnx/activations.h"
#include "rnnx/core/shape.h"

namespace rnnx::keras {

// ---- Gate order of fused weights ("block k" = columns [k*U, (k+1)*U)). ----

// Keras LSTM (spec §2.1): kernel (D, 4U), recurrent_kernel (U, 4U), bias (4U), blocks i, f, c, o.
enum class LSTMGate : int { input = 0, forget = 1, cell = 2, output = 3 };
inline constexpr int kLSTMGates = 4;

// Keras GRU (spec §2.2): kernel (D, 3U), recurrent_kernel (U, 3U), blocks z, r, h.
enum class GRUGate : int { update = 0, reset = 1, candidate = 2 };
inline constexpr int kGRUGates = 3;
// GRU reset_after=True bias (2, 3U): row 0 is the input bias, row 1 the recurrent bias.
inline constexpr int64_t kGRUInputBiasRow = 0;
inline constexpr int64_t kGRURecurrentBiasRow = 1;

// TF1 BasicLSTMCell / LSTMCell (spec §6): kernel (D + H, 4U) over concat([x, h]), blocks i, j, f, o.
enum class TF1LSTMGate : int { input = 0, candidate = 1, forget = 2, output = 3 };
inline constexpr int kTF1LSTMGates = 4;

// Index of a gate's block (0-based).
template <class Gate>
constexpr int64_t block_index(Gate gate) {
  return static_cast<int64_t>(gate);
}
// First column of a gate's block in a fused matrix (or offset in a fused bias).
template <class Gate>
constexpr int64_t block_offset(Gate gate, int64_t units) {
  return block_index(gate) * units;
}

// ---- State order. ----
// Keras LSTM states are [h, c]; TF1 LSTM cells use (c, h) (spec §6, §9).
inline constexpr int kLSTMStateH = 0;
inline constexpr int kLSTMStateC = 1;
inline constexpr int kTF1LSTMStateC = 0;
inline constexpr int kTF1LSTMStateH = 1;

// ---- Weight shapes. D = input features, U = units. ----
inline Shape lstm_kernel_shape(int64_t input_size, int64_t units) { return {input_size, kLSTMGates * units}; }
inline Shape lstm_recurrent_kernel_shape(int64_t units) { return {units, kLSTMGates * units}; }
inline Shape lstm_bias_shape(int64_t units) { return {kLSTMGates * units}; }

inline Shape gru_kernel_shape(int64_t input_size, int64_t units) { return {input_size, kGRUGates * units}; }
inline Shape gru_recurrent_kernel_shape(int64_t units) { return {units, kGRUGates * units}; }
// (2, 3U) with reset_after (separate input and recurrent biases), else (3U).
inline Shape gru_bias_shape(int64_t units, bool reset_after) {
  return reset_after ? Shape{2, kGRUGates * units} : Shape{kGRUGates * units};
}

inline Shape simple_rnn_kernel_shape(int64_t input_size, int64_t units) { return {input_size, units}; }
inline Shape simple_rnn_recurrent_kernel_shape(int64_t units) { return {units, units}; }
inline Shape simple_rnn_bias_shape(int64_t units) { return {units}; }

// TF1 LSTM cells: H = num_proj if set, else U.
inline Shape tf1_lstm_kernel_shape(int64_t input_size, int64_t recurrent_size, int64_t units) {
  return {input_size + recurrent_size, kTF1LSTMGates * units};
}
inline Shape tf1_lstm_bias_shape(int64_t units) { return {kTF1LSTMGates * units}; }
inline Shape tf1_lstm_peephole_shape(int64_t units) { return {units}; }
inline Shape tf1_lstm_projection_shape(int64_t units, int64_t num_proj) { return {units, num_proj}; }

// ---- Defaults that changed between Keras versions (spec §5, §2.4). ----

enum class KerasFlavor {
  keras1,        // standalone Keras 1.x
  keras2_early,  // standalone Keras 2.0 - 2.2.x
  keras2_3,      // standalone Keras 2.3.x
  tf_keras_v1,   // tf.keras under TF1 and tf.compat.v1.keras layers
  tf_keras,      // tf.keras in TF2 (<= 2.15) and the tf_keras package
  keras3_early,  // Keras 3.0 - 3.7
  keras3,        // Keras 3.8 and later
};

struct RecurrentDefaults {
  ActivationKind recurrent_activation = ActivationKind::sigmoid;  // LSTM and GRU
  HardSigmoidFormula hard_sigmoid = HardSigmoidFormula::keras3;   // what "hard_sigmoid" means
  bool gru_reset_after = true;
  int implementation = 2;  // Keras 2.0.0-2.0.8 wrote 0, which is implementation 1 (spec §2.4)
  // Whether implementation 1 draws one dropout mask per gate (LSTM 4 + 4, GRU 3 + 3).
  // Keras 3.0 - 3.7 shared one input and one recurrent mask across gates; Keras 3.8
  // (keras-team/keras PRs #20656, #20663), tf.keras and Keras 1/2 draw one per gate.
  bool per_gate_dropout_masks = true;
};

constexpr RecurrentDefaults recurrent_defaults(KerasFlavor flavor) {
  switch (flavor) {
    case KerasFlavor::keras1:
    case KerasFlavor::keras2_early:
    case KerasFlavor::tf_keras_v1:
      return {ActivationKind::hard_sigmoid, HardSigmoidFormula::keras2, false, 1, true};
    case KerasFlavor::keras2_3:
      return {ActivationKind::sigmoid, HardSigmoidFormula::keras2, false, 2, true};
    case KerasFlavor::tf_keras:
      return {ActivationKind::sigmoid, HardSigmoidFormula::keras2, true, 2, true};
    case KerasFlavor::keras3_early:
      return {ActivationKind::sigmoid, HardSigmoidFormula::keras3, true, 2, false};
    case KerasFlavor::keras3:
      return {ActivationKind::sigmoid, HardSigmoidFormula::keras3, true, 2, true};
  }
  return {};
}

// The flavor of a file from its Keras version (major.minor), whether it was written by
// tf.keras / tf_keras rather than standalone Keras, and whether by a TF1-style (v1) layer.
constexpr KerasFlavor keras_flavor(int major, int minor, bool tf_keras, bool tf_v1 = false) {
  if (major <= 1) return KerasFlavor::keras1;
  if (major == 2) {
    if (tf_keras) return tf_v1 ? KerasFlavor::tf_keras_v1 : KerasFlavor::tf_keras;
    return minor < 3 ? KerasFlavor::keras2_early : KerasFlavor::keras2_3;
  }
  return minor < 8 && major == 3 ? KerasFlavor::keras3_early : KerasFlavor::keras3;
}

// Whether a tf.keras 2 (TF2 / tf_keras) LSTM or GRU *layer* applies input dropout to the
// whole sequence with one [batch, steps, features] mask, a new one every step. It does when
// its arguments allow the cuDNN kernel - activation tanh, recurrent_activation sigmoid,
// recurrent_dropout 0, unroll false, use_bias, and for GRU reset_after - on every device
// (tf_keras/layers/rnn/lstm.py LSTM.call, gru.py GRU._defun_gru_call). Keras 3 broadcasts
// one [batch, features] mask over time instead; the RNN(LSTMCell) form never does this.
constexpr bool tf_keras_whole_sequence_input_dropout(KerasFlavor flavor, bool gru, const Activation& activation,
                                                     const Activation& recurrent_activation, double recurrent_dropout,
                                                     bool unroll, bool use_bias, bool reset_after) {
  return flavor == KerasFlavor::tf_keras && activation.kind == ActivationKind::tanh &&
         recurrent_activation.kind == ActivationKind::sigmoid && recurrent_dropout == 0.0 && !unroll && use_bias &&
         (!gru || reset_after);
}

// The default recurrent activation of a flavor, with its hard_sigmoid formula.
constexpr Activation default_recurrent_activation(KerasFlavor flavor) {
  const RecurrentDefaults d = recurrent_defaults(flavor);
  return Activation{d.recurrent_activation, d.hard_sigmoid};
}

}  // namespace rnnx::keras
