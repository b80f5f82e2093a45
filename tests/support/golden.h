#pragma once
// Keras-made golden cases (tests/data/parity/<family>/<case>.{json,npz}, written by
// python/make_goldens.py; format in tests/data/parity/README.md): discovery and loading.
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "rnnx/core/tensor.h"

namespace rnnx::testing {

// One call of the layer / model under test, with everything Keras was given and returned.
struct GoldenCall {
  bool training = false;
  bool reset_states_before = false;
  std::vector<Tensor<float>> inputs;  // int32 ids (Embedding) are converted to float
  std::optional<Mask> mask;
  std::optional<std::vector<Tensor<float>>> initial_state;
  std::optional<std::vector<Tensor<float>>> constants;
  // Keras dropout masks injected for the call (per gate in gate order when per-gate).
  std::optional<std::vector<Tensor<float>>> input_dropout_masks;
  std::optional<std::vector<Tensor<float>>> recurrent_dropout_masks;
  std::vector<Tensor<float>> outputs;  // flat, in Keras order
  std::vector<std::string> output_keys;
};

struct GoldenCase {
  std::string path;  // the .json file
  std::string family, name, generator, keras_version;
  std::string kind;        // "layer" or "model"
  std::string class_name;  // of the layer / model entry
  // The layer entry {"class_name", "config"} ready for rnnx::layer_from_config: Keras 3's
  // unserialised `implementation` is written into LSTM/GRU configs, and a TF1 cell entry is
  // wrapped in RNN(return_sequences=True, return_state=True). Empty for models.
  std::string layer_json;
  std::string model_json;  // model.to_json() text; empty for layers
  int num_weights = 0;
  std::vector<Tensor<float>> weights;  // w0..w{N-1}
  std::optional<int> implementation;
  std::optional<bool> dropout_mask_per_gate;
  std::vector<std::string> weight_names;
  std::string notes;
  std::vector<GoldenCall> calls;
};

// The parity data folder (tests/data/parity).
std::string parity_data_dir();

// Every <case>.json below `root` (recursively, README and other non-case files excluded),
// sorted. Empty if `root` does not exist.
std::vector<std::string> find_golden_cases(const std::string& root);

// Loads a case and its .npz. Throws rnnx::FormatError for a malformed golden (missing keys,
// arrays the JSON names but the .npz lacks, wrong dtypes).
GoldenCase load_golden(const std::string& json_path);

// ---- Keras training goldens (tests/data/training/<case>.{json,npz}, written by
// python/oracle/training_cases.py; format in tests/data/training/README.md).

// One train_on_batch step: the batch, what Keras returned, the weights after the update.
struct TrainingStep {
  std::vector<Tensor<float>> inputs;  // one per model input (int32 ids converted to float)
  Tensor<float> y;                    // targets (int32 sparse labels converted to float)
  std::optional<Tensor<float>> sample_weight;
  // Dropout masks injected into the layer TrainingCase::dropout_layer (per gate in gate
  // order when TrainingCase::dropout_mask_per_gate).
  std::optional<std::vector<Tensor<float>>> input_dropout_masks;
  std::optional<std::vector<Tensor<float>>> recurrent_dropout_masks;
  double loss = 0.0;                         // model.train_on_batch's return value
  std::vector<Tensor<float>> weights_after;  // get_weights() after the update
};

// model.fit(x, y, batch_size, epochs, shuffle=false).
struct TrainingFit {
  Tensor<float> x, y;
  int64_t batch_size = 0;
  int64_t epochs = 0;
  bool shuffle = false;
  std::vector<double> epoch_losses;                        // history["loss"]
  std::vector<std::vector<Tensor<float>>> weights_after_epoch;  // [epoch][weight]
};

struct TrainingCase {
  std::string path, name, generator, keras_version, description, notes;
  // model.to_json() text (with `implementation` written into LSTM/GRU configs when the
  // golden records it), keras.optimizers.serialize() and keras.losses.serialize() text.
  std::string model_json, optimizer_json, loss_json;
  std::string loss_extra_json = "{}";  // loss arguments Keras does not serialise (Huber delta)
  std::map<int64_t, double> class_weight;  // empty = none
  std::vector<std::string> weight_names;
  std::vector<Tensor<float>> weights;      // initial weights, get_weights() order
  std::vector<Tensor<float>> grads_step0;  // d(total loss)/d weight at step 0, same order
  // The sample weights of that gradient pass (class weights already resolved by Keras).
  std::optional<Tensor<float>> grads_step0_sample_weight;
  std::optional<double> step0_loss, step0_regularization_loss;
  std::string dropout_layer;  // "" = no injected dropout
  std::optional<bool> dropout_mask_per_gate;
  std::optional<int> implementation;
  std::vector<TrainingStep> steps;  // empty for fit cases
  std::optional<TrainingFit> fit;
};

// The training data folder (tests/data/training).
std::string training_data_dir();

// Loads a training case and its .npz (per-step arrays are stored stacked on a leading step
// axis and come back split). Throws rnnx::FormatError for a malformed golden.
TrainingCase load_training_golden(const std::string& json_path);

}  // namespace rnnx::testing
