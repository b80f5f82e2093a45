// Keras 3 configs from rnnx layers and models (spec §8.3): the inverse of
// keras_config_layers.cpp / keras_config_model.cpp. Every entry is written the way Keras
// 3.15 get_config() writes it (keys, nesting, initializer and dtype-policy dicts), so both
// real Keras 3 and rnnx's loader read it back to the same layer.
#include <algorithm>
#include <map>
#include <optional>
#include <set>

#include "io/keras_config_write/keras_config_write_impl.h"
#include "rnnx/cells/gru_cell.h"
#include "rnnx/cells/lstm_cell.h"
#include "rnnx/cells/simple_rnn_cell.h"
#include "rnnx/cells/stacked_cells.h"
#include "rnnx/core/error.h"
#include "rnnx/io/save_model.h"
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
#include "rnnx/model/sequential.h"
#include "rnnx/train/regularizers.h"

namespace rnnx::detail::keras_write {

J shape_json(const Shape& s) {
  J out = J::array();
  for (int64_t d : s) out.push_back(d < 0 ? J(nullptr) : J(d));
  return out;
}

namespace {

J entry(const std::string& class_name, J config) {
  return J{{"module", "keras.layers"},
           {"class_name", class_name},
           {"config", std::move(config)},
           {"registered_name", nullptr}};
}

// ---- values

J activation_json(const Activation& a, const std::string& where, const std::string& key) {
  if (a.kind == ActivationKind::hard_sigmoid && a.hard_sigmoid == HardSigmoidFormula::keras2)
    throw ConfigError(where + ": argument '" + key +
                      "' is the Keras 1/2 hard_sigmoid (0.2x + 0.5), which Keras 3 cannot express (its "
                      "hard_sigmoid is x/6 + 0.5); the model cannot be saved as a Keras 3 file");
  if (a.kind == ActivationKind::swish) return "silu";  // Keras 3 writes the function's name
  return a.name();
}

J initializer_json(const Initializer& init) {
  const std::string& n = init.name;
  J cfg = J::object();
  const J seed = init.seed ? J(*init.seed) : J(nullptr);
  std::string cls;
  if (n == "zeros" || n == "ones") {
    cls = n == "zeros" ? "Zeros" : "Ones";
  } else if (n == "constant") {
    cls = "Constant";
    cfg["value"] = init.value;
  } else if (n == "random_uniform") {
    cls = "RandomUniform";
    cfg = {{"seed", seed}, {"minval", init.minval}, {"maxval", init.maxval}};
  } else if (n == "random_normal" || n == "truncated_normal") {
    cls = n == "random_normal" ? "RandomNormal" : "TruncatedNormal";
    cfg = {{"seed", seed}, {"mean", init.mean}, {"stddev", init.stddev}};
  } else if (n == "orthogonal") {
    cls = "Orthogonal";
    cfg = {{"seed", seed}, {"gain", init.gain}};
  } else if (n == "identity") {
    cls = "Identity";
    cfg = {{"gain", init.gain}};
  } else if (n == "variance_scaling") {
    cls = "VarianceScaling";
    std::string dist = init.distribution;
    cfg = {{"seed", seed},         {"scale", init.scale},   {"mode", init.mode},
           {"distribution", dist}, {"input_axes", nullptr}, {"output_axes", nullptr}};
  } else {
    // glorot_uniform, he_normal, ...: VarianceScaling presets with only a seed.
    static const std::map<std::string, std::string> presets = {
        {"glorot_uniform", "GlorotUniform"}, {"glorot_normal", "GlorotNormal"}, {"he_uniform", "HeUniform"},
        {"he_normal", "HeNormal"},           {"lecun_uniform", "LecunUniform"}, {"lecun_normal", "LecunNormal"}};
    auto it = presets.find(n);
    if (it == presets.end()) throw ConfigError("initializer '" + n + "' has no Keras 3 class");
    cls = it->second;
    cfg = {{"seed", seed}, {"input_axes", nullptr}, {"output_axes", nullptr}};
  }
  return J{{"module", "keras.initializers"}, {"class_name", cls}, {"config", cfg}, {"registered_name", nullptr}};
}

// Regularizers and constraints (train/regularizers.h) in the Keras 3 serialized form; null
// for none.
J regularizer_json(const Regularizer& r) {
  if (!r.active()) return nullptr;
  std::string cls;
  J cfg;
  if (r.l1 != 0.0 && r.l2 != 0.0) {
    cls = "L1L2";
    cfg = {{"l1", r.l1}, {"l2", r.l2}};
  } else if (r.l1 != 0.0) {
    cls = "L1";
    cfg = {{"l1", r.l1}};
  } else {
    cls = "L2";
    cfg = {{"l2", r.l2}};
  }
  return J{{"module", "keras.regularizers"}, {"class_name", cls}, {"config", cfg}, {"registered_name", nullptr}};
}

J constraint_json(const Constraint& c) {
  if (!c.active()) return nullptr;
  J axis = c.axis.size() == 1 ? J(c.axis[0]) : J(c.axis);
  std::string cls;
  J cfg = J::object();
  switch (c.kind) {
    case ConstraintKind::max_norm:
      cls = "MaxNorm";
      cfg = {{"max_value", c.max_value}, {"axis", axis}};
      break;
    case ConstraintKind::non_neg:
      cls = "NonNeg";
      break;
    case ConstraintKind::unit_norm:
      cls = "UnitNorm";
      cfg = {{"axis", axis}};
      break;
    case ConstraintKind::min_max_norm:
      cls = "MinMaxNorm";
      cfg = {{"min_value", c.min_value}, {"max_value", c.max_value}, {"rate", c.rate}, {"axis", axis}};
      break;
    case ConstraintKind::none:
      return nullptr;
  }
  return J{{"module", "keras.constraints"}, {"class_name", cls}, {"config", cfg}, {"registered_name", nullptr}};
}

template <class T>
J head(const std::string& name) {
  return J{{"name", name}, {"trainable", true}, {"dtype", dtype_policy<T>()}};
}

// ---- cells

// The fields LSTMCell / GRUCell / SimpleRNNCell configs share, in Keras' order, after
// `units` .. `use_bias` (written by the caller).
template <class Options>
void add_initializers(J& c, const Options& o) {
  c["kernel_initializer"] = initializer_json(o.kernel_initializer);
  c["recurrent_initializer"] = initializer_json(o.recurrent_initializer);
  c["bias_initializer"] = initializer_json(o.bias_initializer);
}

template <class Options>
void add_regularizers(J& c, const Options& o, bool activity) {
  c["kernel_regularizer"] = regularizer_json(o.kernel_regularizer);
  c["recurrent_regularizer"] = regularizer_json(o.recurrent_regularizer);
  c["bias_regularizer"] = regularizer_json(o.bias_regularizer);
  if (activity) c["activity_regularizer"] = nullptr;  // the layer's, set by recurrent_config
  c["kernel_constraint"] = constraint_json(o.kernel_constraint);
  c["recurrent_constraint"] = constraint_json(o.recurrent_constraint);
  c["bias_constraint"] = constraint_json(o.bias_constraint);
}

J seed_json(const std::optional<uint64_t>& s) { return s ? J(*s) : J(nullptr); }

// Cell-level options of LSTM / GRU / SimpleRNN cells and layers, appended to `c`. `layer`
// selects the layer flavour (activity_regularizer present, Keras' key order).
void add_cell_options(J& c, const LSTMCellOptions& o, const std::string& where, bool layer) {
  c["units"] = o.units;
  c["activation"] = activation_json(o.activation, where, "activation");
  c["recurrent_activation"] = activation_json(o.recurrent_activation, where, "recurrent_activation");
  c["use_bias"] = o.use_bias;
  if (!layer) c["unit_forget_bias"] = o.unit_forget_bias;
  add_initializers(c, o);
  if (layer) c["unit_forget_bias"] = o.unit_forget_bias;
  add_regularizers(c, o, layer);
  c["dropout"] = o.dropout;
  c["recurrent_dropout"] = o.recurrent_dropout;
  c["seed"] = seed_json(o.seed);
  // Keras 3 accepts but does not write `implementation`; write it only when it is not the
  // Keras 3 default, as implementation 1 sums in another order (spec §2.4).
  if (o.implementation != 2) c["implementation"] = o.implementation;
}

void add_cell_options(J& c, const GRUCellOptions& o, const std::string& where, bool layer) {
  c["units"] = o.units;
  c["activation"] = activation_json(o.activation, where, "activation");
  c["recurrent_activation"] = activation_json(o.recurrent_activation, where, "recurrent_activation");
  c["use_bias"] = o.use_bias;
  add_initializers(c, o);
  add_regularizers(c, o, layer);
  c["dropout"] = o.dropout;
  c["recurrent_dropout"] = o.recurrent_dropout;
  c["reset_after"] = o.reset_after;
  c["seed"] = seed_json(o.seed);
  if (o.implementation != 2) c["implementation"] = o.implementation;
}

void add_cell_options(J& c, const SimpleRNNCellOptions& o, const std::string& where, bool layer) {
  c["units"] = o.units;
  c["activation"] = activation_json(o.activation, where, "activation");
  c["use_bias"] = o.use_bias;
  add_initializers(c, o);
  add_regularizers(c, o, layer);
  c["dropout"] = o.dropout;
  c["recurrent_dropout"] = o.recurrent_dropout;
  // Keras 3's SimpleRNN layer config has no seed (its cell's has); keep a set one.
  if (!layer || o.seed) c["seed"] = seed_json(o.seed);
}

template <class T>
J cell_entry(const Cell<T>& cell, const std::string& name, const std::string& where) {
  const std::string cn = cell.class_name();
  const std::string cell_where = where + " cell " + cn;
  J c = head<T>(name);
  if (auto* l = dynamic_cast<const LSTMCell<T>*>(&cell); l && cn == "LSTMCell") {
    add_cell_options(c, l->options(), cell_where, false);
  } else if (auto* g = dynamic_cast<const GRUCell<T>*>(&cell); g && cn == "GRUCell") {
    add_cell_options(c, g->options(), cell_where, false);
  } else if (auto* s = dynamic_cast<const SimpleRNNCell<T>*>(&cell); s && cn == "SimpleRNNCell") {
    add_cell_options(c, s->options(), cell_where, false);
  } else if (auto* st = dynamic_cast<const StackedCells<T>*>(&cell)) {
    J cells = J::array();
    std::map<std::string, int> used;
    for (size_t k = 0; k < st->size(); ++k) {
      const std::string base = keras_snake_case(st->cell(k).class_name());
      const int n = used[base]++;
      cells.push_back(cell_entry<T>(st->cell(k), n == 0 ? base : base + "_" + std::to_string(n), where));
    }
    c["cells"] = std::move(cells);
  } else {
    throw ConfigError(where + ": cell class '" + cn +
                      "' has no Keras 3 equivalent; the model cannot be saved as a Keras 3 file");
  }
  return entry(cn, std::move(c));
}

// ---- layers

void add_rnn_options(J& c, const RNNOptions& o) {
  c["return_sequences"] = o.return_sequences;
  c["return_state"] = o.return_state;
  c["go_backwards"] = o.go_backwards;
  c["stateful"] = o.stateful;
  c["unroll"] = o.unroll;
  c["zero_output_for_mask"] = o.zero_output_for_mask;
}

template <class T>
std::string where_of(const Layer<T>& l) {
  return l.class_name() + " '" + l.name() + "'";
}

}  // namespace

J build_config(const std::optional<Shape>& shape) {
  if (!shape) return nullptr;
  return J{{"input_shape", shape_json(*shape)}};
}

namespace {

template <class T>
J recurrent_config(const RNN<T>& r) {
  const std::string where = where_of(r);
  if (r.rnn_options().time_major)
    throw ConfigError(where +
                      ": Keras 3 has no time_major (it rejects the key: \"Unrecognized keyword arguments\"), so a "
                      "time-major layer cannot be saved as a Keras 3 file; use time_major = false with [batch, steps, "
                      "features] inputs");
  J c = head<T>(r.name());
  add_rnn_options(c, r.rnn_options());
  const std::string cn = r.class_name();
  if (auto* l = dynamic_cast<const LSTM<T>*>(&r); l && cn == "LSTM") {
    add_cell_options(c, l->lstm_cell().options(), where, true);
  } else if (auto* g = dynamic_cast<const GRU<T>*>(&r); g && cn == "GRU") {
    add_cell_options(c, g->gru_cell().options(), where, true);
  } else if (auto* s = dynamic_cast<const SimpleRNN<T>*>(&r); s && cn == "SimpleRNN") {
    add_cell_options(c, s->simple_rnn_cell().options(), where, true);
  } else if (cn == "RNN") {
    c["cell"] = cell_entry<T>(r.cell(), keras_snake_case(r.cell().class_name()), where);
  } else {
    throw ConfigError(where + ": layer class '" + cn +
                      "' has no Keras 3 equivalent; the model cannot be saved as a Keras 3 file");
  }
  // LSTM / GRU / SimpleRNN always write the key (in its place, above); the RNN layer, as
  // every Keras 3 layer's base config, only when it is set.
  const Regularizer& activity = r.rnn_options().activity_regularizer;
  if (activity.active() || c.contains("activity_regularizer")) c["activity_regularizer"] = regularizer_json(activity);
  return c;
}

}  // namespace

J value_json(const Activation& a, const std::string& where, const std::string& key) {
  return activation_json(a, where, key);
}
J value_json(const Initializer& i) { return initializer_json(i); }
J value_json(const Regularizer& r) { return regularizer_json(r); }
J value_json(const Constraint& c) { return constraint_json(c); }
template <class T>
J layer_head(const std::string& name) {
  return head<T>(name);
}
template J layer_head<float>(const std::string&);
template J layer_head<double>(const std::string&);

template <class T>
J layer_config_entry(const Layer<T>& layer, const std::optional<Shape>& build_shape) {
  const std::string cn = layer.class_name();
  const std::string where = where_of(layer);
  auto unsupported = [&]() -> J {
    throw ConfigError(where + ": layer class '" + cn +
                      "' has no Keras 3 equivalent; the model cannot be saved as a Keras 3 file");
  };
  J c;
  if (std::optional<J> plumbing = plumbing_layer_config<T>(layer)) {  // before Dropout: SpatialDropout1D is one
    c = std::move(*plumbing);
  } else if (std::optional<J> conv_lstm = conv_lstm_layer_config<T>(layer)) {  // before RNN: it is one
    c = std::move(*conv_lstm);
  } else if (auto* r = dynamic_cast<const RNN<T>*>(&layer)) {
    c = recurrent_config(*r);
  } else if (auto* b = dynamic_cast<const Bidirectional<T>*>(&layer)) {
    c = head<T>(layer.name());
    c["merge_mode"] = b->merge_mode() == MergeMode::none ? J(nullptr) : J(merge_mode_name(b->merge_mode()));
    J fwd = entry(b->forward_layer().class_name(), recurrent_config(b->forward_layer()));
    J bwd = entry(b->backward_layer().class_name(), recurrent_config(b->backward_layer()));
    fwd["build_config"] = build_config(build_shape);
    bwd["build_config"] = build_config(build_shape);
    c["layer"] = std::move(fwd);
    c["backward_layer"] = std::move(bwd);
  } else if (auto* td = dynamic_cast<const TimeDistributed<T>*>(&layer)) {
    c = head<T>(layer.name());
    std::optional<Shape> inner;
    if (build_shape && build_shape->size() >= 2) {
      inner = *build_shape;
      inner->erase(inner->begin() + 1);  // the per-step shape the wrapped layer sees
    }
    c["layer"] = layer_config_entry<T>(*td->layer(), inner);
  } else if (auto* d = dynamic_cast<const Dense<T>*>(&layer)) {
    const DenseOptions& o = d->options();
    c = head<T>(layer.name());
    // Keras 3's Layer base config writes activity_regularizer only when it is set.
    if (o.activity_regularizer.active()) c["activity_regularizer"] = regularizer_json(o.activity_regularizer);
    c["units"] = o.units;
    c["activation"] = activation_json(o.activation, where, "activation");
    c["use_bias"] = o.use_bias;
    c["kernel_initializer"] = initializer_json(o.kernel_initializer);
    c["bias_initializer"] = initializer_json(o.bias_initializer);
    c["kernel_regularizer"] = regularizer_json(o.kernel_regularizer);
    c["bias_regularizer"] = regularizer_json(o.bias_regularizer);
    c["kernel_constraint"] = constraint_json(o.kernel_constraint);
    c["bias_constraint"] = constraint_json(o.bias_constraint);
    c["quantization_config"] = nullptr;
  } else if (auto* e = dynamic_cast<const Embedding<T>*>(&layer)) {
    const EmbeddingOptions& o = e->options();
    c = head<T>(layer.name());
    c["input_dim"] = o.input_dim;
    c["output_dim"] = o.output_dim;
    c["embeddings_initializer"] = initializer_json(o.embeddings_initializer);
    c["embeddings_regularizer"] = regularizer_json(o.embeddings_regularizer);
    c["activity_regularizer"] = regularizer_json(o.activity_regularizer);
    c["embeddings_constraint"] = constraint_json(o.embeddings_constraint);
    c["mask_zero"] = o.mask_zero;
    c["quantization_config"] = nullptr;
  } else if (auto* m = dynamic_cast<const Masking<T>*>(&layer)) {
    c = head<T>(layer.name());
    c["mask_value"] = m->options().mask_value;
  } else if (auto* dr = dynamic_cast<const Dropout<T>*>(&layer)) {
    c = head<T>(layer.name());
    c["rate"] = dr->options().rate;
    // Layer::seed() may be one a model derived for it, not a Keras seed: not written.
    c["seed"] = nullptr;
    c["noise_shape"] = dr->options().noise_shape.empty() ? J(nullptr) : shape_json(dr->options().noise_shape);
  } else if (auto* a = dynamic_cast<const ActivationLayer<T>*>(&layer)) {
    c = head<T>(layer.name());
    c["activation"] = activation_json(a->activation(), where, "activation");
  } else if (auto* p = dynamic_cast<const GlobalPooling1D<T>*>(&layer)) {
    if (cn != "GlobalMaxPooling1D" && cn != "GlobalAveragePooling1D") return unsupported();
    c = head<T>(layer.name());
    c["data_format"] = p->options().data_format;
    c["keepdims"] = p->options().keepdims;
  } else if (auto* cat = dynamic_cast<const Concatenate<T>*>(&layer)) {
    c = head<T>(layer.name());
    c["axis"] = cat->options().axis;
  } else if (dynamic_cast<const Add<T>*>(&layer)) {
    c = head<T>(layer.name());
  } else if (auto* rs = dynamic_cast<const Reshape<T>*>(&layer)) {
    c = head<T>(layer.name());
    c["target_shape"] = rs->options().target_shape;
  } else if (auto* f = dynamic_cast<const Flatten<T>*>(&layer)) {
    c = head<T>(layer.name());
    c["data_format"] = f->options().data_format;
  } else if (std::optional<J> conv = conv1d_layer_config<T>(layer)) {
    c = std::move(*conv);
  } else if (std::optional<J> conv2d = conv2d_layer_config<T>(layer)) {
    c = std::move(*conv2d);
  } else if (std::optional<J> norm = normalization_layer_config<T>(layer)) {
    c = std::move(*norm);
  } else if (std::optional<J> att = attention_layer_config<T>(layer)) {
    c = std::move(*att);
  } else if (auto* m = dynamic_cast<const Model<T>*>(&layer)) {
    return nested_model_entry<T>(*m);
  } else {
    return unsupported();
  }
  J out = entry(cn, std::move(c));
  if (build_shape) out["build_config"] = build_config(build_shape);
  return out;
}

J input_layer_entry(const std::string& name, const Shape& shape, const std::string& dtype) {
  return entry("InputLayer", J{{"batch_shape", shape_json(shape)},
                               {"dtype", dtype},
                               {"sparse", false},
                               {"ragged", false},
                               {"name", name},
                               {"optional", false}});
}

template J layer_config_entry<float>(const Layer<float>&, const std::optional<Shape>&);
template J layer_config_entry<double>(const Layer<double>&, const std::optional<Shape>&);

}  // namespace rnnx::detail::keras_write

namespace rnnx {

template <class T>
std::string layer_to_keras_json(const Layer<T>& layer) {
  return detail::keras_write::layer_config_entry<T>(layer, std::nullopt).dump();
}

template std::string layer_to_keras_json<float>(const Layer<float>&);
template std::string layer_to_keras_json<double>(const Layer<double>&);

}  // namespace rnnx
