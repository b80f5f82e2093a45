#pragma once
// Writing Keras 3 model files (spec §8.1, §8.3) and checking them with test vectors.
//
//   rnnx::save_model(*model, "model.keras");                       // Keras 3 loads it
//   auto tv = rnnx::make_test_vector(*model, {x});                 // x -> model outputs
//   rnnx::save_model(*model, "model.keras", &tv);                   // carried inside the file
//   rnnx::VerifyReport r = rnnx::verify_model("model.keras");      // reload, rerun, compare
//
// The .keras file is what Keras 3.15 `model.save()` writes: a ZIP with metadata.json
// ({"keras_version": "3.15.1", "date_saved": ...}), config.json (the model serialized in
// the Keras 3 format: module / class_name / config / registered_name / build_config; a
// Sequential model as "Sequential", any other model as "Functional" with Keras 3 nodes,
// initial_state passed as a keyword) and model.weights.h5 (each layer's variables at
// `layers/<snake_case class name>[_n]/vars/i`, RNN cells under `cell/`, stacked cells under
// `cell/cells/`, Bidirectional under `forward_layer/` and `backward_layer/`, TimeDistributed
// under `layer/`, a nested model's layers under `<path>/layers/`). Float models are stored
// as float32, double models as float64. A model used as a layer (also inside
// TimeDistributed) is written as its own Sequential / Functional entry, as Keras 3 does.
// The file is written atomically (temporary file + rename): a failed save leaves any earlier
// file at `path` untouched.
//
// A test vector (inputs and the outputs they must give) travels as an extra ZIP member,
// `rnnx_test_vector.npz` (arrays input_0, input_1, ... and output_0, ... in the model's
// input and output order). Keras 3 ignores members it does not know (it loads such files;
// python/oracle/verify_rnnx_files.py checks this), so the file stays a normal .keras file.
//
// What cannot be written, because Keras 3 could not load it with the same numbers, raises
// ConfigError naming the layer and the reason, before anything is written: layers and cells
// Keras 3 has no class for (TF1 cells, user-defined classes), the Keras 1/2 hard_sigmoid
// formula (Keras 3's hard_sigmoid is another function), `constants` and `time_major`
// (tf.keras only), and a
// call with initial_state that rnnx would give a mask while Keras 3 would not (or the
// reverse) when that cannot be recorded (as for an input that comes from a nested model
// that may carry a mask). Errors inside a nested model name it ("in nested model ...").
// Training-only conventions that Keras 3 fixes (per-gate dropout masks, tf.keras
// whole-sequence input dropout) follow Keras 3.15 after a save. A model must have outputs
// and built layers (StateError otherwise).
#include <cstdint>
#include <string>
#include <vector>

#include "rnnx/core/tensor.h"
#include "rnnx/layers/layer.h"
#include "rnnx/model/model.h"

namespace rnnx {

// The Keras version written into metadata.json.
inline constexpr const char* kKerasSaveVersion = "3.15.1";

// config.json text of `model` (Keras 3 format). Throws ConfigError / StateError as above.
template <class T>
std::string model_to_keras_json(const Model<T>& model);
// One layer's Keras 3 entry {"module", "class_name", "config", "registered_name"}.
template <class T>
std::string layer_to_keras_json(const Layer<T>& layer);

// Inputs (model input order) and the outputs (model output order) they must give.
template <class T>
struct TestVector {
  std::vector<Tensor<T>> inputs;
  std::vector<Tensor<T>> outputs;
};

// Runs `model` on `inputs` (inference) and records the outputs.
template <class T>
TestVector<T> make_test_vector(Model<T>& model, std::vector<Tensor<T>> inputs);

// Writes `model` as a Keras 3 `.keras` file at `path`, with `test_vector` when not null
// (its input and output counts must match the model: ShapeError otherwise).
template <class T>
void save_model(Model<T>& model, const std::string& path, const TestVector<T>* test_vector = nullptr);
// The same file content, in memory.
template <class T>
std::vector<uint8_t> save_model_to_memory(Model<T>& model, const TestVector<T>* test_vector = nullptr);
// Writes only the weights, as Keras 3 `model.save_weights("x.weights.h5")` does.
template <class T>
void save_weights(Model<T>& model, const std::string& path);

// The test vector stored in a .keras file (values as float; FormatError if the file has
// none or it is malformed, IoError if the file cannot be read).
bool has_test_vector(const std::string& path);
TestVector<float> read_test_vector(const std::string& path);

// Closeness of one output to its expected value.
struct OutputCheck {
  int64_t index = 0;         // output number (Keras order)
  Shape shape;               // expected shape
  double max_abs_error = 0;  // max |got - expected|
  double max_rel_error = 0;  // max |got - expected| / |expected| over elements with expected != 0
  int64_t worst_index = -1;  // flat index of the element furthest outside tolerance (or of max abs error)
  bool passed = false;       // every element: |got - expected| <= atol + rtol * |expected|
  std::string problem;       // non-empty when the shape is wrong or values are not finite
};

struct VerifyOptions {
  double atol = 1e-5;
  double rtol = 1e-4;
};

struct VerifyReport {
  std::string path;
  double atol = 0, rtol = 0;
  std::vector<OutputCheck> outputs;
  bool passed = false;  // all outputs passed and their count matches
  // One line per output: "output_0 shape [2, 4]: max abs 1.2e-07, max rel 3.4e-06: ok".
  std::string to_string() const;
};

// Loads the model at `path` (load_model<float>), runs its test vector's inputs (from
// `test_vector_path` if given, else the file's own member) and compares the outputs.
// Throws what load_model throws, and FormatError when there is no test vector.
VerifyReport verify_model(const std::string& path, const VerifyOptions& options = {},
                          const std::string& test_vector_path = "");
// Compares outputs against a test vector (shared by verify_model and tests).
template <class T>
VerifyReport compare_outputs(const std::vector<Tensor<T>>& got, const std::vector<Tensor<T>>& expected,
                             const VerifyOptions& options = {});

// Test vectors as npz arrays (input_0..., output_0...), for tools that store them elsewhere.
template <class T>
void write_test_vector(const std::string& path, const TestVector<T>& test_vector);
TestVector<float> read_test_vector_npz(const std::string& path);

}  // namespace rnnx
