#pragma once
// Keras-made golden cases (tests/data/parity/<family>/<case>.{json,npz}, written by
// python/make_goldens.py; format in tests/data/parity/README.md): discovery and loading.
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

}  // namespace rnnx::testing
