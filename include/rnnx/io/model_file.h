#pragma once
// Loading Keras model files (spec §8): what kind of file it is is decided from the content,
// never from the extension.
//
//   auto model = rnnx::load_model<float>("model.keras");        // or a legacy "model.h5"
//   std::vector<rnnx::Tensor<float>> y = model->predict({x});
//
//   auto m = rnnx::model_from_config<float>(json, "3.15.1");     // architecture from elsewhere
//   rnnx::load_weights(*m, "weights.h5");                         // then the weights
//
// Kinds of files (KerasFileKind):
//  - keras_archive: a ZIP with metadata.json (keras_version), config.json and
//    model.weights.h5 — written by Keras 3 and by tf_keras / late tf.keras 2 (spec §8.1).
//    Weights are found by the path rule of Keras' saving_lib: the model's layer list is the
//    container `layers/` (tf.keras 2.13-era files: `_layer_checkpoint_dependencies/`), each
//    layer named by its snake_case class name de-duplicated by a counter (`lstm`, `lstm_1`),
//    its variables at `<path>/vars/0, 1, ...`, RNN cells under `cell/`, stacked cells under
//    `cell/cells/<snake>`, Bidirectional under `forward_layer/` and `backward_layer/`,
//    TimeDistributed under `layer/`, a nested model's own layer list under `<path>/layers/`
//    (`layers/sequential/layers/lstm/cell/vars/0`; a nested Functional lists its InputLayer).
//  - legacy_model: an HDF5 file with root attribute model_config (Keras 1/2, tf.keras,
//    tf_keras and the Keras 3 legacy writer, spec §8.2); weights in group model_weights,
//    loaded positionally as Keras does: the model's layers that own weights, in model order,
//    paired with the layer_names entries whose weight_names is non-empty, each group's
//    datasets read in weight_names order (chunked attributes `layer_names0`, ... and both
//    fixed- and variable-length strings are accepted). A nested model's group holds all its
//    weights, trainable ones first (Keras' _legacy_weights): load_model reads which inner
//    layers the config freezes (trainable = false); load_weights into a model built elsewhere
//    assumes none is frozen.
//  - legacy_weights: an HDF5 file from save_weights("x.h5") (root attribute layer_names):
//    the same layout at the root. It holds no architecture: load_model() refuses it with a
//    message saying so; use load_weights() on a model built from the config.
//  - keras_weights: an HDF5 file from Keras 3 save_weights("x.weights.h5"): the layout of
//    model.weights.h5. No architecture either: use load_weights().
//
// The Keras version recorded in the file (metadata.json / root attribute keras_version;
// absent in a legacy file means Keras 1) decides version-dependent semantics (spec §5; see
// KerasVersion in keras_config.h): defaults such as GRU reset_after and the hard_sigmoid
// formula. Legacy files get Keras' own weight conversions: Keras 1 LSTM (12 arrays) and GRU
// (9 arrays) layouts, and CuDNNLSTM / CuDNNGRU layouts (spec §7; recognised by the bias
// shape: 8U for CuDNNLSTM, 6U for CuDNNGRU). CuDNNLSTM / CuDNNGRU layers in a config become
// LSTM(activation tanh, recurrent_activation sigmoid) / GRU(reset_after=True) with
// converted weights.
//
// Strictness: loading is all or nothing. Every layer class, argument or weight rnnx cannot
// honour raises ConfigError naming the layer, its class and the argument; a weight whose
// shape contradicts the config raises FormatError naming the layer, the weight, the
// expected and the found shape; a wrong number of layers or weights (count mismatch), a
// missing or non-float dataset, a truncated or malformed archive or HDF5 image raise
// FormatError; the operating system's refusals raise IoError. load_weights() checks every
// weight before changing any, so a failed call leaves the model as it was. Absurd
// dimensions in a config (more weights than the file could hold) raise ConfigError before
// anything is allocated. Nothing is printed (HDF5's own error printing is off).
//
// Thread safety: the HDF5 library rnnx links is not thread-safe; the loaders serialise their
// HDF5 use on one process-wide lock, so they may be called from several threads (they take
// turns).
#include <cstdint>
#include <memory>
#include <span>
#include <string>

#include "rnnx/model/model.h"

namespace rnnx {

enum class KerasFileKind { keras_archive, legacy_model, legacy_weights, keras_weights };

// "keras_archive", "legacy_model", ...
std::string to_string(KerasFileKind kind);

struct KerasFileInfo {
  KerasFileKind kind = KerasFileKind::keras_archive;
  // As recorded in the file ("3.15.1", "2.21.0", "2.2.4-tf"); "" when the file has none
  // (a legacy file without it is Keras 1).
  std::string keras_version;
  // Legacy files' root attribute backend ("tensorflow", "theano", ...); "" otherwise.
  std::string backend;
  // The model JSON (config.json / model_config); "" for weights-only files.
  std::string model_config;
};

struct LoadOptions {
  // Replaces the file's Keras version for the version-dependent semantics (spec §5), for
  // files that record none or a wrong one. Empty: use the file's.
  std::string keras_version{};
  // Proves parity on the user's machine: after loading a .keras file, run the test vector it
  // carries (save_model(model, path, &test_vector), `rnnx convert --with-test-vector`) and
  // compare every output within verify_atol + verify_rtol * |expected|. VerificationError
  // when an output differs (the message has each output's worst absolute and relative
  // error, as `rnnx verify` prints them) or when the file has no test vector (legacy .h5
  // files never do). Off by default.
  bool verify_test_vector = false;
  double verify_atol = 1e-5;
  double verify_rtol = 1e-4;
};

// Detects the kind of a file from its content and reads its metadata (no weights).
// Throws IoError if the file cannot be read, FormatError if it is neither a Keras archive
// nor a Keras HDF5 file.
KerasFileInfo inspect_keras_file(const std::string& path);
KerasFileInfo inspect_keras_file_in_memory(std::span<const uint8_t> bytes, const std::string& where = "<memory>");

// Builds the model a .keras or legacy .h5 file describes and loads its weights.
// Throws as described above; FormatError for a weights-only file (no architecture).
template <class T>
std::unique_ptr<Model<T>> load_model(const std::string& path, const LoadOptions& options = {});
// The same from file content held in memory; `where` names it in error messages.
template <class T>
std::unique_ptr<Model<T>> load_model_from_memory(std::span<const uint8_t> bytes, const std::string& where = "<memory>",
                                                 const LoadOptions& options = {});

// Loads the weights of any of the four kinds of files into `model` (built, e.g. by
// model_from_config or by hand): .keras archives and Keras 3 weights files by the path
// rule over model.layers(), legacy files positionally. All weights are checked before any
// is set; on error `model` is unchanged.
template <class T>
void load_weights(Model<T>& model, const std::string& path, const LoadOptions& options = {});
template <class T>
void load_weights_from_memory(Model<T>& model, std::span<const uint8_t> bytes, const std::string& where = "<memory>",
                              const LoadOptions& options = {});

extern template std::unique_ptr<Model<float>> load_model<float>(const std::string&, const LoadOptions&);
extern template std::unique_ptr<Model<double>> load_model<double>(const std::string&, const LoadOptions&);
extern template std::unique_ptr<Model<float>> load_model_from_memory<float>(std::span<const uint8_t>,
                                                                            const std::string&, const LoadOptions&);
extern template std::unique_ptr<Model<double>> load_model_from_memory<double>(std::span<const uint8_t>,
                                                                              const std::string&, const LoadOptions&);
extern template void load_weights<float>(Model<float>&, const std::string&, const LoadOptions&);
extern template void load_weights<double>(Model<double>&, const std::string&, const LoadOptions&);
extern template void load_weights_from_memory<float>(Model<float>&, std::span<const uint8_t>, const std::string&,
                                                     const LoadOptions&);
extern template void load_weights_from_memory<double>(Model<double>&, std::span<const uint8_t>, const std::string&,
                                                      const LoadOptions&);

}  // namespace rnnx
