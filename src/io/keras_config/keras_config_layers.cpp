// Built-in Keras classes: cells (LSTMCell, GRUCell, SimpleRNNCell, StackedRNNCells, TF1
// cells) and layers (recurrent layers, wrappers, Dense, Embedding, ...), read from their
// configs (spec §3.1, §4, §5, §6, §8.3).
#include <algorithm>

#include "io/keras_config/keras_config_impl.h"
#include "rnnx/cells/gru_cell.h"
#include "rnnx/cells/keras_layout.h"
#include "rnnx/cells/lstm_cell.h"
#include "rnnx/cells/simple_rnn_cell.h"
#include "rnnx/cells/stacked_cells.h"
#include "rnnx/cells/tf1_cells.h"
#include "rnnx/core/error.h"
#include "rnnx/layers/activation_layer.h"
#include "rnnx/layers/bidirectional.h"
#include "rnnx/layers/dense.h"
#include "rnnx/layers/dropout.h"
#include "rnnx/layers/embedding.h"
#include "rnnx/layers/gru.h"
#include "rnnx/layers/input_layer.h"
#include "rnnx/layers/lstm.h"
#include "rnnx/layers/masking.h"
#include "rnnx/layers/merge.h"
#include "rnnx/layers/pooling.h"
#include "rnnx/layers/reshape.h"
#include "rnnx/layers/rnn.h"
#include "rnnx/layers/simple_rnn.h"
#include "rnnx/layers/time_distributed.h"

namespace rnnx::detail {
namespace {

keras::KerasFlavor flavor_of(const KerasVersion& v) { return keras::keras_flavor(v.major, v.minor, v.tf_keras); }

keras::RecurrentDefaults defaults_of(const KerasConfig& c) { return keras::recurrent_defaults(flavor_of(c.version())); }

Initializer init_named(const std::string& name) { return Initializer::from_name(name); }

// A value that must be null / absent / a given harmless value.
void require_null(const KerasConfig& c, const std::string& key) {
  if (c.has(key)) c.fail(key, "= " + c.json(key) + " is not supported by rnnx (expected null)");
  c.ignore(key);
}

void require_false(const KerasConfig& c, const std::string& key) {
  if (c.get_bool(key, false)) c.fail(key, "= true is not supported by rnnx");
}

std::optional<uint64_t> seed_of(const KerasConfig& c) {
  const auto s = c.get_optional_int("seed");
  if (!s) return std::nullopt;
  return static_cast<uint64_t>(*s);
}

double rate_of(const KerasConfig& c, const std::string& key) {
  // Keras clips rates to [0, 1] (spec §3.5); the cells reject 1.
  return std::clamp(c.get_double(key, 0.0), 0.0, 1.0);
}

int implementation_of(const KerasConfig& c, int fallback) {
  const int64_t impl = c.get_int("implementation", fallback);
  if (impl == 0) return 1;  // Keras 2.0.0-2.0.8: same math as 1 (spec §2.4)
  if (impl != 1 && impl != 2) c.fail("implementation", "must be 0, 1 or 2, got " + std::to_string(impl));
  return static_cast<int>(impl);
}

Activation tanh_activation(const KerasConfig& c) { return Activation::from_name("tanh", c.version().major); }

// Fields shared by the Keras cell option structs.
template <class Options>
void read_common_cell_options(const KerasConfig& c, Options& o) {
  o.units = c.get_int("units");
  o.activation = c.get_activation("activation", tanh_activation(c));
  o.use_bias = c.get_bool("use_bias", true);
  o.kernel_initializer = c.get_initializer("kernel_initializer", init_named("glorot_uniform"));
  o.recurrent_initializer = c.get_initializer("recurrent_initializer", init_named("orthogonal"));
  o.bias_initializer = c.get_initializer("bias_initializer", init_named("zeros"));
  o.kernel_regularizer = c.get_regularizer("kernel_regularizer");
  o.recurrent_regularizer = c.get_regularizer("recurrent_regularizer");
  o.bias_regularizer = c.get_regularizer("bias_regularizer");
  o.kernel_constraint = c.get_constraint("kernel_constraint");
  o.recurrent_constraint = c.get_constraint("recurrent_constraint");
  o.bias_constraint = c.get_constraint("bias_constraint");
  o.dropout = rate_of(c, "dropout");
  o.recurrent_dropout = rate_of(c, "recurrent_dropout");
  o.seed = seed_of(c);
}

LSTMCellOptions lstm_options(const KerasConfig& c) {
  const auto d = defaults_of(c);
  LSTMCellOptions o;
  read_common_cell_options(c, o);
  o.recurrent_activation =
      c.get_activation("recurrent_activation", keras::default_recurrent_activation(flavor_of(c.version())));
  o.unit_forget_bias = c.get_bool("unit_forget_bias", true);
  o.implementation = implementation_of(c, d.implementation);
  o.per_gate_dropout_masks = d.per_gate_dropout_masks;
  return o;
}

GRUCellOptions gru_options(const KerasConfig& c) {
  const auto d = defaults_of(c);
  GRUCellOptions o;
  read_common_cell_options(c, o);
  o.recurrent_activation =
      c.get_activation("recurrent_activation", keras::default_recurrent_activation(flavor_of(c.version())));
  o.reset_after = c.get_bool("reset_after", d.gru_reset_after);
  o.implementation = implementation_of(c, d.implementation);
  o.per_gate_dropout_masks = d.per_gate_dropout_masks;
  return o;
}

SimpleRNNCellOptions simple_rnn_options(const KerasConfig& c) {
  SimpleRNNCellOptions o;
  read_common_cell_options(c, o);
  return o;
}

TF1LSTMCellOptions tf1_lstm_options(const KerasConfig& c, bool basic) {
  TF1LSTMCellOptions o;
  o.num_units = c.get_int("num_units");
  o.forget_bias = c.get_double("forget_bias", 1.0);
  o.activation = c.get_activation("activation", tanh_activation(c));
  if (!c.get_bool("state_is_tuple", true)) c.fail("state_is_tuple", "= false is not supported (states are (c, h))");
  c.ignore("reuse");
  o.use_peepholes = c.get_bool("use_peepholes", false);
  o.cell_clip = c.get_optional_double("cell_clip");
  o.initializer = c.get_initializer("initializer", init_named("glorot_uniform"));
  o.num_proj = c.get_optional_int("num_proj");
  o.proj_clip = c.get_optional_double("proj_clip");
  require_null(c, "num_unit_shards");
  require_null(c, "num_proj_shards");
  if (basic) {
    // BasicLSTMCell has none of these; accept them only at their neutral values.
    if (o.use_peepholes) c.fail("use_peepholes", "= true is not available on BasicLSTMCell");
    if (o.cell_clip) c.fail("cell_clip", "is not available on BasicLSTMCell");
    if (o.num_proj) c.fail("num_proj", "is not available on BasicLSTMCell");
    if (o.proj_clip) c.fail("proj_clip", "is not available on BasicLSTMCell");
  }
  return o;
}

template <class T>
std::unique_ptr<Cell<T>> make_cell(const KerasConfig& c) {
  const std::string& cn = c.class_name();
  const std::string where = c.where();
  if (cn == "LSTMCell") {
    auto o = lstm_options(c);
    LSTMCell<T>::validate(o, where);
    return std::make_unique<LSTMCell<T>>(std::move(o));
  }
  if (cn == "GRUCell") {
    auto o = gru_options(c);
    GRUCell<T>::validate(o, where);
    return std::make_unique<GRUCell<T>>(std::move(o));
  }
  if (cn == "SimpleRNNCell") {
    auto o = simple_rnn_options(c);
    SimpleRNNCell<T>::validate(o, where);
    return std::make_unique<SimpleRNNCell<T>>(std::move(o));
  }
  if (cn == "StackedRNNCells") {
    std::vector<std::unique_ptr<Cell<T>>> cells;
    for (const auto& child : c.children("cells")) cells.push_back(build_cell<T>(child));
    if (cells.empty()) c.fail("cells", "must name at least one cell");
    return std::make_unique<StackedCells<T>>(std::move(cells));
  }
  if (cn == "TF1LSTMCell" || cn == "LSTMCellV1") {
    auto o = tf1_lstm_options(c, false);
    TF1LSTMCell<T>::validate(o, where);
    return std::make_unique<TF1LSTMCell<T>>(std::move(o));
  }
  if (cn == "TF1BasicLSTMCell" || cn == "BasicLSTMCell") {
    auto o = tf1_lstm_options(c, true);
    TF1LSTMCell<T>::validate(o, where);
    return std::make_unique<TF1BasicLSTMCell<T>>(o.num_units, o.forget_bias, o.activation, o.initializer);
  }
  return nullptr;
}

// ---- layers

RNNOptions rnn_options(const KerasConfig& c) {
  RNNOptions o;
  o.return_sequences = c.get_bool("return_sequences", false);
  o.return_state = c.get_bool("return_state", false);
  o.go_backwards = c.get_bool("go_backwards", false);
  o.stateful = c.get_bool("stateful", false);
  o.unroll = c.get_bool("unroll", false);
  o.zero_output_for_mask = c.get_bool("zero_output_for_mask", false);
  // tf.keras / tf_keras only (spec §3.1, §5): Keras 3, like standalone Keras 1/2, has no
  // such argument and refuses the key, whatever its value.
  if (c.version().tf_keras) {
    o.time_major = c.get_bool("time_major", false);
  } else if (c.contains("time_major")) {
    std::string why =
        "= " + c.json("time_major") + " is a tf.keras argument; Keras " + c.version().to_string() + " has none";
    if (c.version().major >= 3)
      why += " (Keras 3 raises \"Unrecognized keyword arguments passed to " + c.class_name() + "\")";
    c.fail("time_major", why);
  }
  o.activity_regularizer = c.get_regularizer("activity_regularizer");
  return o;
}

template <class T>
void apply_layer_seed(const KerasConfig& c, Layer<T>& layer) {
  if (const auto s = c.get_optional_int("seed")) layer.set_seed(static_cast<uint64_t>(*s));
}

// tf.keras CuDNNLSTM / CuDNNGRU (TFK layers/rnn/cudnn_lstm.py, cudnn_gru.py): the cuDNN
// kernels compute LSTM(tanh, sigmoid) and GRU(tanh, sigmoid, reset_after=True) with no
// dropout, so they become those layers; their weights are stored in the cuDNN layout and
// the file loaders convert them (spec §7, io/model_file.h). These classes have no
// activation, dropout or reset_after arguments: such keys are not silently accepted.
template <class T>
std::unique_ptr<Layer<T>> make_cudnn(const KerasConfig& c) {
  const bool lstm = c.class_name() == "CuDNNLSTM";
  for (const char* k : {"activation", "recurrent_activation", "use_bias", "dropout", "recurrent_dropout", "reset_after",
                        "implementation", "unroll"})
    if (c.contains(k)) c.fail(k, "is not an argument of " + c.class_name());
  const Activation sigmoid = Activation::from_name("sigmoid", c.version().major);
  if (lstm) {
    LSTMOptions o;
    static_cast<LSTMCellOptions&>(o) = lstm_options(c);
    o.recurrent_activation = sigmoid;
    LSTMCell<T>::validate(o, c.where());
    static_cast<RNNOptions&>(o) = rnn_options(c);
    o.whole_sequence_input_dropout = false;
    return std::make_unique<LSTM<T>>(o, c.name());
  }
  GRUOptions o;
  static_cast<GRUCellOptions&>(o) = gru_options(c);
  o.recurrent_activation = sigmoid;
  o.reset_after = true;
  GRUCell<T>::validate(o, c.where());
  static_cast<RNNOptions&>(o) = rnn_options(c);
  o.whole_sequence_input_dropout = false;
  return std::make_unique<GRU<T>>(o, c.name());
}

template <class T>
std::unique_ptr<Layer<T>> make_recurrent(const KerasConfig& c) {
  const std::string& cn = c.class_name();
  const std::string name = c.name();
  std::unique_ptr<Layer<T>> layer;
  if (cn == "LSTM") {
    LSTMOptions o;
    static_cast<LSTMCellOptions&>(o) = lstm_options(c);
    LSTMCell<T>::validate(o, c.where());
    static_cast<RNNOptions&>(o) = rnn_options(c);
    o.whole_sequence_input_dropout = keras::tf_keras_whole_sequence_input_dropout(
        flavor_of(c.version()), false, o.activation, o.recurrent_activation, o.recurrent_dropout, o.unroll, o.use_bias,
        false);
    layer = std::make_unique<LSTM<T>>(o, name);
  } else if (cn == "GRU") {
    GRUOptions o;
    static_cast<GRUCellOptions&>(o) = gru_options(c);
    GRUCell<T>::validate(o, c.where());
    static_cast<RNNOptions&>(o) = rnn_options(c);
    o.whole_sequence_input_dropout =
        keras::tf_keras_whole_sequence_input_dropout(flavor_of(c.version()), true, o.activation, o.recurrent_activation,
                                                     o.recurrent_dropout, o.unroll, o.use_bias, o.reset_after);
    layer = std::make_unique<GRU<T>>(o, name);
  } else if (cn == "SimpleRNN") {
    SimpleRNNOptions o;
    static_cast<SimpleRNNCellOptions&>(o) = simple_rnn_options(c);
    SimpleRNNCell<T>::validate(o, c.where());
    static_cast<RNNOptions&>(o) = rnn_options(c);
    layer = std::make_unique<SimpleRNN<T>>(o, name);
  } else if (cn == "CuDNNLSTM" || cn == "CuDNNGRU") {
    layer = make_cudnn<T>(c);
  } else if (cn == "RNN") {
    const KerasConfig cell_config = c.child("cell");
    std::unique_ptr<Cell<T>> cell;
    if (cell_config.class_name() == "list") c.fail("cell", "as a bare list is not supported");
    cell = build_cell<T>(cell_config);
    // tf.keras writes num_constants when the layer was called with constants; the call
    // supplies them, so the value needs no storage here.
    const int64_t nc = c.get_int("num_constants", 0);
    if (nc < 0) c.fail("num_constants", "must be >= 0");
    if (nc > 0 && !cell->accepts_constants())
      c.fail("num_constants",
             "= " + std::to_string(nc) + " but cell '" + cell_config.class_name() + "' does not accept constants");
    layer = std::make_unique<RNN<T>>(std::move(cell), rnn_options(c), name);
  } else {
    return nullptr;
  }
  apply_layer_seed(c, *layer);
  return layer;
}

// A recurrent layer (RNN, LSTM, GRU, SimpleRNN or a registered RNN subclass) from `key`.
template <class T>
std::unique_ptr<RNN<T>> recurrent_child(const KerasConfig& c, const std::string& key) {
  const KerasConfig child = c.child(key);
  std::unique_ptr<Layer<T>> layer = build_layer<T>(child);
  auto* rnn = dynamic_cast<RNN<T>*>(layer.get());
  if (!rnn) c.fail(key, "must be a recurrent layer (RNN, LSTM, GRU, SimpleRNN), got '" + child.class_name() + "'");
  (void)layer.release();  // ownership passes to the returned pointer
  return std::unique_ptr<RNN<T>>(rnn);
}

template <class T>
std::unique_ptr<Layer<T>> make_bidirectional(const KerasConfig& c) {
  std::unique_ptr<RNN<T>> forward = recurrent_child<T>(c, "layer");
  // Keras 3 always writes backward_layer (the go_backwards copy); tf.keras only when the
  // user supplied one (spec §8.3).
  std::unique_ptr<RNN<T>> backward;
  if (c.has("backward_layer")) backward = recurrent_child<T>(c, "backward_layer");
  c.ignore("backward_layer");
  MergeMode merge = MergeMode::concat;
  if (c.contains("merge_mode")) {
    try {
      merge = merge_mode_from_name(c.has("merge_mode") ? c.get_string("merge_mode") : "");
    } catch (const ConfigError& e) {
      c.fail("merge_mode", std::string("is invalid: ") + e.what());
    }
  }
  c.ignore("merge_mode");
  if (c.has("weights")) c.fail("weights", "in a config is not supported (load weights separately)");
  c.ignore("weights");
  // tf.keras writes num_constants when called with constants; the call supplies them.
  if (c.get_int("num_constants", 0) < 0) c.fail("num_constants", "must be >= 0");
  // The wrapper's own activity_regularizer (a Layer keyword) is not supported; the wrapped
  // layer's is (Bidirectional::activity_regularizer()).
  require_null(c, "activity_regularizer");
  return std::make_unique<Bidirectional<T>>(*forward, merge, std::move(backward), c.name());
}

GlobalPooling1DOptions pooling_options(const KerasConfig& c) {
  GlobalPooling1DOptions o;
  o.data_format = c.get_string("data_format", "channels_last");
  o.keepdims = c.get_bool("keepdims", false);
  return o;
}

// K2 / tf.keras write Dense/Embedding "input_dim" etc. only as shape hints; Keras 3 Dense
// has LoRA and quantization settings that must be off.
void check_dense_extras(const KerasConfig& c) {
  check_no_lora(c);
  require_null(c, "quantization_config");
}

template <class T>
std::unique_ptr<Layer<T>> make_layer(const KerasConfig& c) {
  const std::string& cn = c.class_name();
  const std::string name = c.name();
  if (auto rnn = make_recurrent<T>(c)) return rnn;
  if (cn == "Bidirectional") return make_bidirectional<T>(c);
  if (cn == "TimeDistributed") {
    std::shared_ptr<Layer<T>> inner = build_layer<T>(c.child("layer"));
    require_null(c, "activity_regularizer");  // a Layer keyword of the wrapper; not supported
    // Keras 3 runs the wrapped layer's call(), which skips its activity_regularizer (as
    // rnnx does); tf.keras calls the layer, which applies it on the merged batch-and-time axis.
    if (c.version().major < 3 && inner->activity_regularizer().active())
      c.fail("layer", "has an activity_regularizer, which tf.keras applies inside TimeDistributed and rnnx does not");
    return std::make_unique<TimeDistributed<T>>(std::move(inner), name);
  }
  if (cn == "Dense") {
    DenseOptions o;
    o.units = c.get_int("units");
    read_kernel_and_bias(c, o);
    check_dense_extras(c);
    c.ignore("input_dim");
    return std::make_unique<Dense<T>>(o, name);
  }
  if (cn == "Embedding") {
    EmbeddingOptions o;
    o.input_dim = c.get_int("input_dim");
    o.output_dim = c.get_int("output_dim");
    o.mask_zero = c.get_bool("mask_zero", false);
    o.embeddings_initializer = c.get_initializer("embeddings_initializer", init_named("uniform"));
    o.embeddings_regularizer = c.get_regularizer("embeddings_regularizer");
    o.activity_regularizer = c.get_regularizer("activity_regularizer");
    o.embeddings_constraint = c.get_constraint("embeddings_constraint");
    require_false(c, "sparse");
    check_dense_extras(c);
    return std::make_unique<Embedding<T>>(o, name);
  }
  if (cn == "Masking") return std::make_unique<Masking<T>>(MaskingOptions{c.get_double("mask_value", 0.0)}, name);
  if (cn == "Dropout") {
    DropoutOptions o;
    o.rate = c.get_double("rate");
    if (c.has("noise_shape")) o.noise_shape = c.get_int_list("noise_shape");
    c.ignore("noise_shape");
    auto layer = std::make_unique<Dropout<T>>(o, name);
    apply_layer_seed(c, *layer);
    return layer;
  }
  if (cn == "Activation") {
    if (!c.contains("activation")) c.fail("activation", "is required");
    return std::make_unique<ActivationLayer<T>>(c.get_activation("activation", Activation{}), name);
  }
  if (cn == "GlobalMaxPooling1D" || cn == "GlobalMaxPool1D")
    return std::make_unique<GlobalMaxPooling1D<T>>(pooling_options(c), name);
  if (cn == "GlobalAveragePooling1D" || cn == "GlobalAvgPool1D")
    return std::make_unique<GlobalAveragePooling1D<T>>(pooling_options(c), name);
  if (cn == "Concatenate") return std::make_unique<Concatenate<T>>(ConcatenateOptions{c.get_int("axis", -1)}, name);
  if (cn == "Add") return std::make_unique<Add<T>>(name);
  if (cn == "Reshape") return std::make_unique<Reshape<T>>(ReshapeOptions{c.get_int_list("target_shape")}, name);
  if (cn == "Flatten")
    return std::make_unique<Flatten<T>>(FlattenOptions{c.get_string("data_format", "channels_last")}, name);
  if (cn == "InputLayer") return std::make_unique<InputLayer<T>>(read_input_layer_config(c), name);
  if (auto conv = make_conv1d_layer<T>(cn, c, name)) return conv;
  if (auto conv2d = make_conv2d_layer<T>(cn, c, name)) return conv2d;
  if (auto norm = make_normalization_layer<T>(cn, c, name)) return norm;
  if (auto plumbing = make_plumbing_layer<T>(cn, c, name)) return plumbing;
  if (auto conv_lstm = make_conv_lstm_layer<T>(cn, c, name)) return conv_lstm;
  if (auto attention = make_attention_layer<T>(cn, c, name)) return attention;
  return nullptr;
}

}  // namespace

template <class T>
std::unique_ptr<Layer<T>> builtin_layer(const KerasConfig& c) {
  return make_layer<T>(c);
}

template <class T>
std::unique_ptr<Cell<T>> builtin_cell(const KerasConfig& c) {
  return make_cell<T>(c);
}

Shape read_input_layer_config(const KerasConfig& c) {
  Shape shape;
  if (c.has("batch_shape"))
    shape = c.get_int_list("batch_shape");
  else if (c.has("batch_input_shape"))
    shape = c.get_int_list("batch_input_shape");
  else
    c.fail("batch_shape", "is required for an InputLayer");
  c.ignore("batch_shape");
  c.ignore("batch_input_shape");
  require_false(c, "sparse");
  require_false(c, "ragged");
  c.get_bool("optional", false);
  // Integer inputs (token ids for Embedding) arrive as float tensors in rnnx; Embedding
  // checks that they are integers.
  static const std::set<std::string> dtypes = {"float32", "float64", "int32",  "int64", "int16",
                                               "int8",    "uint8",   "uint16", "bool"};
  if (c.has("dtype")) {
    std::string d;
    if (c.json("dtype").front() == '"')
      d = c.get_string("dtype");
    else
      d = c.child("dtype").get_string("name", "");
    if (!dtypes.count(d)) c.fail("dtype", "= '" + d + "' is not supported for an input");
  }
  c.ignore("dtype");
  return shape;
}

bool is_builtin_cell_class(const std::string& class_name) {
  static const std::set<std::string> names = {"LSTMCell",    "GRUCell",          "SimpleRNNCell", "StackedRNNCells",
                                              "TF1LSTMCell", "TF1BasicLSTMCell", "LSTMCellV1",    "BasicLSTMCell"};
  return names.count(class_name) > 0;
}

template std::unique_ptr<Layer<float>> builtin_layer<float>(const KerasConfig&);
template std::unique_ptr<Layer<double>> builtin_layer<double>(const KerasConfig&);
template std::unique_ptr<Cell<float>> builtin_cell<float>(const KerasConfig&);
template std::unique_ptr<Cell<double>> builtin_cell<double>(const KerasConfig&);

}  // namespace rnnx::detail
