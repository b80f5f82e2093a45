#pragma once
// Private parts shared by the Keras file loaders: keras_file.cpp (detection, containers,
// entry points), keras_file_weights.cpp (the .keras path rule, weight checks, cuDNN
// layouts) and legacy_h5.cpp (positional legacy HDF5 loading). See rnnx/io/model_file.h.
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/keras_naming.h"
#include "io/hdf5/hdf5.h"
#include "rnnx/io/keras_config.h"
#include "rnnx/io/model_file.h"
#include "rnnx/layers/layer.h"

namespace rnnx::detail {

// One layer of the model's layer list (Keras model.layers order), with the Keras class
// name that names its group in a .keras file (the config's class name when the model came
// from a config, else Layer::class_name()).
template <class T>
struct WeightTarget {
  std::string class_name;
  Layer<T>* layer = nullptr;
  // For a nested model built from a config: its layers (at any depth) whose weights Keras
  // counts as non-trainable (config trainable = false on them or on a model around them).
  // Legacy HDF5 files list a nested model's trainable weights before those (spec §8.2).
  std::vector<const Layer<T>*> frozen{};
};

// Weights read for one layer, already checked against its params, in get_weights() order.
template <class T>
struct PendingWeights {
  Layer<T>* layer = nullptr;
  std::vector<Tensor<T>> values;
};

// "<Class> '<name>'" for messages.
template <class T>
std::string describe_layer(const WeightTarget<T>& t) {
  return t.class_name + " '" + t.layer->name() + "'";
}

// "'text'" (built by appending: GCC 12 warns falsely about "'" + std::string temporaries).
inline std::string quoted(const std::string& text) {
  std::string out(1, '\'');
  out += text;
  out += '\'';
  return out;
}

// Where one weight came from, for messages ("'/layers/lstm/cell/vars/1'").
struct WeightSource {
  std::string path;
  Shape shape;
};

// Throws FormatError unless `got` matches `params` in count and shapes. `file` names the
// file, `who` the layer ("LSTM 'lstm'"), `container` where its weights were looked up.
template <class T>
void check_weight_shapes(const std::vector<Param<T>>& params, const std::vector<WeightSource>& got,
                         const std::string& file, const std::string& who, const std::string& container);

// Sets every layer's weights; call only after every entry was checked.
template <class T>
void apply_weights(std::vector<PendingWeights<T>>& pending);

// .keras / Keras 3 weights layout (spec §8.1): reads the weights of `layers` (the model's
// layer list) from the root group of a model.weights.h5. All or nothing: FormatError for
// missing, extra or mis-shaped weights.
// `keras3` selects Keras 3's snake_case over tf_keras' (keras_snake_case).
template <class T>
std::vector<PendingWeights<T>> read_keras_weights(const h5::Group& root, const std::vector<WeightTarget<T>>& layers,
                                                  bool keras3);

// Legacy HDF5 layout (spec §8.2): reads the weights of `layers` positionally from
// `group` (model_weights, or the root of a weights-only file). `version` is the Keras
// version that wrote them (Keras 1 layouts are converted).
template <class T>
std::vector<PendingWeights<T>> read_legacy_weights(const h5::Group& group, const std::vector<WeightTarget<T>>& layers,
                                                   const KerasVersion& version);

// Keras' legacy string-list attributes (layer_names, weight_names): the attribute itself or
// its chunks name0, name1, ... concatenated; nullopt if neither exists.
std::optional<std::vector<std::string>> chunked_string_list(const h5::Group& g, const std::string& name);

// cuDNN weight layouts (tf_keras hdf5_format.py::_convert_rnn_weights; spec §7). Each
// converts the stacked per-gate blocks of a kernel ([D, gates*U]) or recurrent kernel
// ([U, gates*U]) from the cuDNN layout to the Keras one.
template <class T>
Tensor<T> cudnn_kernel_to_keras(const Tensor<T>& kernel, int64_t gates);
template <class T>
Tensor<T> cudnn_recurrent_to_keras(const Tensor<T>& recurrent, int64_t gates);

// If `values` (kernel, recurrent_kernel, bias) of an LSTM / GRU cell are in a cuDNN layout
// (bias 8U for CuDNNLSTM, 6U for CuDNNGRU), converts them in place to the Keras layout the
// cell's params expect. FormatError for CuDNNGRU weights on a GRU with reset_after=False.
// Other cells and layouts are left alone.
template <class T>
void convert_cudnn_weights(const Cell<T>* cell, std::vector<Tensor<T>>& values, const std::string& file,
                           const std::string& who);

// True when `bias_shape` is a cuDNN bias for `cell` (8U for an LSTM cell, 6U for a GRU
// cell, both with use_bias), so the weights will be converted.
template <class T>
bool is_cudnn_bias(const Cell<T>* cell, const Shape& bias_shape);

}  // namespace rnnx::detail
