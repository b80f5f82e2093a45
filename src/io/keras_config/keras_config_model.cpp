// Sequential and Functional models from model.to_json() (spec §8.3): both node formats
// (tf_keras / Keras 2 lists, Keras 3 {"args", "kwargs"} dicts).
#include <map>
#include <optional>
#include <set>

#include "io/keras_config/keras_config_impl.h"
#include "rnnx/core/error.h"
#include "rnnx/layers/bidirectional.h"
#include "rnnx/layers/embedding.h"
#include "rnnx/layers/input_layer.h"
#include "rnnx/layers/masking.h"
#include "rnnx/layers/rnn.h"
#include "rnnx/layers/time_distributed.h"
#include "rnnx/model/model.h"
#include "rnnx/model/sequential.h"

namespace rnnx::detail {
namespace {

std::string dump(const Json& j) {
  std::string s = j.dump();
  if (s.size() > 160) s = s.substr(0, 157) + "...";
  return s;
}

bool is_model_class(const std::string& cn) { return cn == "Sequential" || cn == "Functional" || cn == "Model"; }

// A batch shape from a JSON list (null -> -1).
Shape shape_from(const Json& j, const std::string& context) {
  if (!j.is_array()) throw ConfigError(context + ": expected a shape list, got " + dump(j));
  Shape s;
  for (const auto& d : j) {
    if (d.is_null())
      s.push_back(-1);
    else if (d.is_number_integer() || d.is_number_unsigned())
      s.push_back(d.get<int64_t>());
    else
      throw ConfigError(context + ": expected a shape list, got " + dump(j));
  }
  return s;
}

const Json* find_key(const Json& obj, const char* key) {
  if (!obj.is_object()) return nullptr;
  auto it = obj.find(key);
  return it == obj.end() || it->is_null() ? nullptr : &*it;
}

// A keras_history triple [layer, node_index, tensor_index] (extra entries ignored).
TensorKey key_from_triple(const Json& j, const std::string& context) {
  if (!j.is_array() || j.size() < 3 || !j[0].is_string() || !j[1].is_number_integer() || !j[2].is_number_integer())
    throw ConfigError(context + ": expected [layer_name, node_index, tensor_index], got " + dump(j));
  return TensorKey{j[0].get<std::string>(), j[1].get<int64_t>(), j[2].get<int64_t>()};
}

bool is_triple(const Json& j) { return j.is_array() && j.size() >= 3 && j[0].is_string(); }

// ---- model input_layers / output_layers
//
// Keras writes the nesting of the model's inputs / outputs (K3 models/functional.py
// get_config map_tensors, functional_from_config; TFK get_network_config,
// convert_inner_node_data): a leaf is a [layer, node_index, tensor_index] triple (tf_keras
// allows a 4th entry), anything else nests as a list or a dict ({"y": [...], "z": [...]}).
// The model's flat inputs / outputs are the leaves in keras.tree.flatten order: lists in
// order, dicts by sorted key (Json objects iterate sorted). A single triple is a single
// tensor (Keras 3); tf_keras wraps it in a list.
constexpr int kMaxIoDepth = 64;

bool is_leaf_like(const Json& j) { return j.is_array() && !j.empty() && j[0].is_string(); }

void read_io(const Json& j, const std::string& context, const std::string& path, int depth,
             std::vector<TensorKey>& keys, TensorStructure& s) {
  const std::string where = context + path;
  if (depth > kMaxIoDepth) throw ConfigError(where + ": nested deeper than " + std::to_string(kMaxIoDepth) + " levels");
  if (is_leaf_like(j)) {
    if (j.size() < 3 || j.size() > 4 || !j[1].is_number_integer() || !j[2].is_number_integer())
      throw ConfigError(where + ": expected a [layer_name, node_index, tensor_index] triple, got " + dump(j));
    keys.push_back(key_from_triple(j, where));
    s.kind = TensorStructure::Kind::leaf;
    return;
  }
  if (j.is_array()) {
    s.kind = TensorStructure::Kind::list;
    s.items.resize(j.size());
    for (size_t i = 0; i < j.size(); ++i)
      read_io(j[i], context, path + "[" + std::to_string(i) + "]", depth + 1, keys, s.items[i]);
    return;
  }
  if (j.is_object()) {
    s.kind = TensorStructure::Kind::dict;
    for (auto it = j.begin(); it != j.end(); ++it) {  // sorted keys: the flatten order
      s.keys.push_back(it.key());
      s.items.emplace_back();
      read_io(it.value(), context, path + "['" + it.key() + "']", depth + 1, keys, s.items.back());
    }
    return;
  }
  throw ConfigError(
      where + ": expected a [layer_name, node_index, tensor_index] triple, or a list or dict of them, got " + dump(j));
}

struct IoStructure {
  std::vector<TensorKey> keys;  // flatten order
  TensorStructure structure;
};

// `keras2`: tf_keras / Keras 2 wrap a single tensor in a list and unwrap any list holding
// one tensor when they build the model (TFK Functional._init_graph_network), so such a list
// is a single tensor.
IoStructure io_structure(const Json& j, const std::string& context, bool keras2) {
  IoStructure io;
  read_io(j, context, "", 0, io.keys, io.structure);
  if (io.keys.empty()) throw ConfigError(context + ": expected at least one tensor, got " + dump(j));
  if (keras2 && io.structure.kind == TensorStructure::Kind::list && io.keys.size() == 1) io.structure = {};
  return io;
}

// A Keras 3 serialized KerasTensor -> its keras_history.
bool is_k3_tensor(const Json& j) {
  if (!j.is_object()) return false;
  auto cn = j.find("class_name");
  return cn != j.end() && cn->is_string() && cn->get<std::string>() == "__keras_tensor__";
}

TensorKey key_from_k3_tensor(const Json& j, const std::string& context) {
  const Json* cfg = find_key(j, "config");
  const Json* kh = cfg ? find_key(*cfg, "keras_history") : nullptr;
  if (!kh) throw ConfigError(context + ": tensor without keras_history: " + dump(j));
  return key_from_triple(*kh, context);
}

// A Keras 3 tensor structure, flattened: a tensor, or lists (StackedRNNCells initial states
// nest per cell) and dicts (a nested model called on a dict) of them, in keras.tree.flatten
// order (dicts by sorted key).
void k3_tensors_into(const Json& j, const std::string& context, int depth, std::vector<TensorKey>& out) {
  if (is_k3_tensor(j)) {
    out.push_back(key_from_k3_tensor(j, context));
  } else if (depth < 64 && (j.is_array() || j.is_object())) {
    for (const auto& e : j) k3_tensors_into(e, context, depth + 1, out);
  } else {
    throw ConfigError(context + ": expected a tensor, or a list or dict of tensors, got " + dump(j));
  }
}

std::vector<TensorKey> k3_tensor_list(const Json& j, const std::string& context) {
  std::vector<TensorKey> out;
  k3_tensors_into(j, context, 0, out);
  return out;
}

// True for null and for lists / dicts of nulls only (Keras 3 records the masks of a call on
// a dict as {"a": null, "b": null} when there are none).
bool all_null(const Json& j) {
  if (j.is_null()) return true;
  if (is_k3_tensor(j) || !(j.is_array() || j.is_object())) return false;
  for (const auto& e : j)
    if (!all_null(e)) return false;
  return true;
}

// tf_keras kwargs: tensors appear as [layer, node, tensor] triples.
std::vector<TensorKey> tfk_tensor_list(const Json& j, const std::string& context) {
  std::vector<TensorKey> out;
  if (is_triple(j)) {
    out.push_back(key_from_triple(j, context));
    return out;
  }
  if (!j.is_array()) throw ConfigError(context + ": expected tensors, got " + dump(j));
  for (const auto& e : j) out.push_back(key_from_triple(e, context));
  return out;
}

struct NodeSpec {
  std::vector<TensorKey> args;
  ConnectOptions options;
  std::optional<TensorKey> mask;  // Keras 3: the mask recorded as a call argument
  // Attention call arguments: use_causal_mask / return_attention_scores, and
  // MultiHeadAttention's value (a keyword in tf_keras nodes) / key / attention_mask tensors
  // (keras_config_attention.cpp).
  std::vector<std::pair<std::string, bool>> call_flags;
  std::optional<TensorKey> value, key, attention_mask;
  std::vector<TensorKey> extra_args;  // Keras 3 positional tensors after the first argument
  bool list_format = false;           // tf_keras / Keras 2 node (node indices count differently)
};

// Number of `constants` tensors an RNN / Bidirectional layer takes (tf.keras num_constants).
int64_t num_constants_of(const Json& entry) {
  const Json* cfg = find_key(entry, "config");
  const Json* nc = cfg ? find_key(*cfg, "num_constants") : nullptr;
  return nc && nc->is_number_integer() ? nc->get<int64_t>() : 0;
}

template <class T>
bool is_recurrent_layer(const Layer<T>& layer) {
  return dynamic_cast<const RNN<T>*>(&layer) != nullptr || dynamic_cast<const Bidirectional<T>*>(&layer) != nullptr;
}

// Keyword arguments shared by both formats. `tensors` converts a tensor structure.
template <class Tensors>
void read_call_kwargs(const Json& kwargs, NodeSpec& spec, const std::string& context, const Tensors& tensors) {
  if (kwargs.is_null()) return;
  if (!kwargs.is_object()) throw ConfigError(context + ": call kwargs must be an object, got " + dump(kwargs));
  for (auto it = kwargs.begin(); it != kwargs.end(); ++it) {
    const std::string& k = it.key();
    const Json& v = it.value();
    if (k == "training") continue;  // the run mode decides
    if (all_null(v)) continue;
    if (k == "initial_state") {
      spec.options.initial_state = tensors(v, context + " initial_state");
    } else if (k == "constants") {
      spec.options.constants = tensors(v, context + " constants");
    } else if (k == "mask") {
      const auto keys = tensors(v, context + " mask");
      if (keys.size() != 1) throw ConfigError(context + ": a mask argument with several tensors is not supported");
      spec.mask = keys[0];
    } else if ((k == "use_causal_mask" || k == "return_attention_scores") && v.is_boolean()) {
      spec.call_flags.emplace_back(k, v.get<bool>());
    } else if (k == "value" || k == "key" || k == "attention_mask") {
      const auto keys = tensors(v, context + " " + k);
      if (keys.size() != 1) throw ConfigError(context + ": call argument '" + k + "' must be one tensor");
      (k == "value" ? spec.value : k == "key" ? spec.key : spec.attention_mask) = keys[0];
    } else {
      throw ConfigError(context + ": call argument '" + k + "' = " + dump(v) + " is not supported by rnnx");
    }
  }
}

// The [layer, node, tensor, kwargs] entries of a tf_keras node, flattened: the node mirrors
// the call's first argument (TFK Node.serialize), a list of them, or a dict or nested list
// for a nested model called on such a structure (keras.tree.flatten order, dicts by key).
void tfk_entries_into(const Json& j, const std::string& context, int depth, std::vector<const Json*>& out) {
  if (j.is_array() && !j.empty() && j[0].is_string()) {
    out.push_back(&j);
  } else if (depth < 64 && (j.is_array() || j.is_object()) && !j.empty()) {
    for (const auto& e : j) tfk_entries_into(e, context, depth + 1, out);
  } else {
    throw ConfigError(context + ": expected a list of [layer, node_index, tensor_index, kwargs], got " + dump(j));
  }
}

// One tf_keras / Keras 2 node: [[layer, node, tensor, kwargs], ...].
template <class T>
NodeSpec tfk_node(const Json& node, const Layer<T>& layer, int64_t num_constants, const std::string& context) {
  if (!(node.is_array() || node.is_object()) || node.empty())
    throw ConfigError(context + ": expected a list of [layer, node_index, tensor_index, kwargs], got " + dump(node));
  std::vector<const Json*> entries;
  tfk_entries_into(node, context, 0, entries);
  NodeSpec spec;
  std::vector<TensorKey> tensors;
  for (const Json* e : entries) {
    tensors.push_back(key_from_triple(*e, context));
    if (e->size() >= 4) read_call_kwargs((*e)[3], spec, context, tfk_tensor_list);
  }
  if (is_recurrent_layer(layer) && tensors.size() > 1) {
    // tf.keras RNN.__call__ packs [inputs, *initial_state, *constants] into one list.
    if (num_constants < 0 || static_cast<size_t>(num_constants) >= tensors.size())
      throw ConfigError(context + ": node has " + std::to_string(tensors.size()) +
                        " tensors but num_constants = " + std::to_string(num_constants));
    const size_t n_states = tensors.size() - 1 - static_cast<size_t>(num_constants);
    spec.args = {tensors[0]};
    spec.options.initial_state.assign(tensors.begin() + 1, tensors.begin() + 1 + static_cast<long>(n_states));
    spec.options.constants.assign(tensors.begin() + 1 + static_cast<long>(n_states), tensors.end());
  } else {
    spec.args = std::move(tensors);
  }
  spec.options.pass_mask = true;
  spec.list_format = true;
  return spec;
}

// A tf_keras node that is a dict ({"input_name": [layer, node, tensor, kwargs], ...}: a
// nested model called on a dict), told apart from a Keras 3 node {"args": [...], ...}.
bool is_tfk_dict_node(const Json& node) {
  if (!node.is_object() || node.empty()) return false;
  const auto args = node.find("args");
  if (args != node.end() && !(args->is_array() && !args->empty() && (*args)[0].is_string())) return false;
  for (const auto& v : node)
    if (!v.is_array() && !v.is_object()) return false;
  return true;
}

// One Keras 3 node: {"args": [...], "kwargs": {...}}.
NodeSpec k3_node(const Json& node, const std::string& context) {
  NodeSpec spec;
  const Json* args = find_key(node, "args");
  if (!args || !args->is_array() || args->empty())
    throw ConfigError(context + ": expected {\"args\": [...], \"kwargs\": {...}}, got " + dump(node));
  spec.args = k3_tensor_list((*args)[0], context);
  for (size_t i = 1; i < args->size(); ++i)
    if (!(*args)[i].is_null()) {
      if (!is_k3_tensor((*args)[i]))  // tensors: MultiHeadAttention(query, value), apply_attention_call
        throw ConfigError(context + ": extra positional call argument " + dump((*args)[i]) + " is not supported");
      spec.extra_args.push_back(k3_tensor_list((*args)[i], context)[0]);
    }
  if (const Json* kwargs = find_key(node, "kwargs")) read_call_kwargs(*kwargs, spec, context, k3_tensor_list);
  // Keras 3 passes no mask to a call with tensor keyword arguments unless one is recorded
  // (model.h, "Masks"); a recorded mask is checked against the implicit one later.
  spec.options.pass_mask = spec.mask || (spec.options.initial_state.empty() && spec.options.constants.empty());
  return spec;
}

// Attention call arguments onto the layer and its positional inputs: MultiHeadAttention takes
// [query, value, key, attention_mask] (multi_head_attention.h); flags set the layer's options.
template <class T>
void apply_attention_call(NodeSpec& spec, Layer<T>& layer, const std::string& context) {
  for (const auto& [k, v] : spec.call_flags)
    if (!set_attention_call_flag(layer, k, v))
      throw ConfigError(context + ": call argument '" + k + "' is not supported by rnnx on " + layer.class_name());
  if (!spec.extra_args.empty()) {
    if (layer.class_name() != "MultiHeadAttention" || spec.args.size() != 1 || spec.extra_args.size() > 2)
      throw ConfigError(context + ": extra positional call arguments are not supported on " + layer.class_name());
    if (spec.extra_args.size() == 2 && spec.key)
      throw ConfigError(context + ": the key is given both as a positional and a keyword argument");
    if (spec.extra_args.size() == 2) spec.key = spec.extra_args[1];
    spec.args.push_back(spec.extra_args[0]);
  }
  if (spec.value) {  // tf_keras records MultiHeadAttention(query, value) with value as a keyword
    if (layer.class_name() != "MultiHeadAttention" || spec.args.size() != 1)
      throw ConfigError(context + ": call argument 'value' is supported on MultiHeadAttention(query, value=...) only");
    spec.args.push_back(*spec.value);
  }
  if (!spec.key && !spec.attention_mask) return;
  if (layer.class_name() != "MultiHeadAttention" || spec.args.size() != 2)
    throw ConfigError(context +
                      ": call arguments 'key' / 'attention_mask' are supported on MultiHeadAttention(query, value)");
  spec.args.push_back(spec.key ? *spec.key : spec.args[1]);
  if (spec.attention_mask) spec.args.push_back(*spec.attention_mask);
}

// ---- Keras 3 mask bookkeeping
//
// Keras 3 records the mask a layer received as explicit graph operations: Masking's mask
// as Any(NotEqual(x, mask_value), axis=-1), Embedding(mask_zero)'s as NotEqual(ids, 0), and
// passes the result as the call's `mask` argument. rnnx propagates masks implicitly
// (model.h), so such a recorded mask is accepted when it is exactly the mask rnnx will
// propagate to that call, and the mask operations themselves are dropped.
// Merge layers (Add, Subtract, ...) OR their inputs' masks: Keras 3 records LogicalOr(a, b)
// nodes, rnnx a logical_or expression over the flattened operands, in input order.
struct MaskExpr {
  enum Kind { none, not_equal, any_not_equal, logical_or } kind = none;
  std::string source_layer;  // the tensor compared (layer, node, tensor)
  int64_t source_node = 0, source_tensor = 0;
  double value = 0.0;
  std::vector<MaskExpr> any_of{};  // logical_or: the operands (none of them logical_or)
  bool operator==(const MaskExpr&) const = default;
};

// a OR b, flattened.
MaskExpr mask_or(const MaskExpr& a, const MaskExpr& b) {
  MaskExpr out;
  out.kind = MaskExpr::logical_or;
  for (const MaskExpr* m : {&a, &b}) {
    if (m->kind == MaskExpr::logical_or)
      out.any_of.insert(out.any_of.end(), m->any_of.begin(), m->any_of.end());
    else
      out.any_of.push_back(*m);
  }
  return out;
}

std::string describe(const MaskExpr& m) {
  if (m.kind == MaskExpr::none) return "no mask";
  if (m.kind == MaskExpr::logical_or) {
    std::string s = "or(";
    for (size_t i = 0; i < m.any_of.size(); ++i) s += (i ? ", " : "") + describe(m.any_of[i]);
    return s + ")";
  }
  const std::string src =
      m.source_layer + "[" + std::to_string(m.source_node) + "][" + std::to_string(m.source_tensor) + "]";
  const std::string ne = "not_equal(" + src + ", " + std::to_string(m.value) + ")";
  return m.kind == MaskExpr::not_equal ? ne : "any(" + ne + ", axis=-1)";
}

struct MaskOp {
  std::string cls;  // NotEqual, Any or LogicalOr
  TensorKey input;
  TensorKey input2;    // LogicalOr's second operand
  double value = 0.0;  // NotEqual's scalar
};

// A NotEqual / Any node of Keras 3: {"args": [tensor, scalar?], "kwargs": {...}}.
MaskOp read_mask_op(const KerasConfig& c, const Json& entry, const std::string& context) {
  MaskOp op;
  op.cls = c.class_name();
  const Json* nodes = find_key(entry, "inbound_nodes");
  if (!nodes || !nodes->is_array() || nodes->size() != 1 || !(*nodes)[0].is_object())
    throw ConfigError(context + ": expected exactly one Keras 3 node");
  const Json* args = find_key((*nodes)[0], "args");
  if (!args || !args->is_array() || args->empty() || !is_k3_tensor((*args)[0]))
    throw ConfigError(context + ": expected a tensor argument");
  op.input = key_from_k3_tensor((*args)[0], context);
  if (op.cls == "LogicalOr") {
    if (args->size() != 2 || !is_k3_tensor((*args)[1]))
      throw ConfigError(context + ": only LogicalOr(tensor, tensor) is supported");
    op.input2 = key_from_k3_tensor((*args)[1], context);
  } else if (op.cls == "NotEqual") {
    if (args->size() != 2 || !(*args)[1].is_number())
      throw ConfigError(context + ": only NotEqual(tensor, number) is supported");
    op.value = (*args)[1].get<double>();
  } else if (op.cls == "ConvertToTensor") {  // an attention layer's output mask (K3 Attention.compute_mask)
    if (args->size() != 1) throw ConfigError(context + ": unexpected arguments");
    c.ignore("dtype");
    c.ignore("sparse");
    c.ignore("ragged");
  } else {
    if (args->size() != 1) throw ConfigError(context + ": unexpected arguments");
    if (c.get_int("axis", -1) != -1) c.fail("axis", "must be -1");
    if (c.get_bool("keepdims", false)) c.fail("keepdims", "must be false");
  }
  c.check_all_used();
  return op;
}

// How a nested model's calls are numbered (see "Nested models" below).
struct NestedNumbering {
  int64_t tfk_skip = 0;    // list-format node references and io lists
  int64_t k3_io_skip = 0;  // Keras 3 input_layers / output_layers
};

template <class T>
struct FunctionalBuild {
  std::map<std::string, std::shared_ptr<Layer<T>>> layers;  // by config name
  std::map<std::string, std::vector<NodeSpec>> nodes;       // by config name
  std::map<std::string, MaskOp> mask_ops;                   // by config name
  std::map<std::string, NestedNumbering> nested;            // nested models, by config name
  std::set<std::string> inputs;

  // Converts a reference to a nested model's call to rnnx's numbering (see "Nested models").
  void renumber(TensorKey& k, bool list_format, bool io, const std::string& where) const {
    auto it = nested.find(k.layer);
    if (it == nested.end()) return;
    const int64_t skip = list_format ? it->second.tfk_skip : io ? it->second.k3_io_skip : 0;
    if (k.node_index < skip)
      throw ConfigError(where + ": refers to call " + std::to_string(k.node_index) + " of nested model '" + k.layer +
                        "', whose calls this config numbers from " + std::to_string(skip));
    k.node_index -= skip;
  }

  const NodeSpec* node(const TensorKey& k) const {
    auto it = nodes.find(k.layer);
    if (it == nodes.end() || k.node_index < 0 || static_cast<size_t>(k.node_index) >= it->second.size()) return nullptr;
    return &it->second[static_cast<size_t>(k.node_index)];
  }

  // The mask rnnx attaches to tensor `k` (model.h propagation; spec §3.11, §4).
  MaskExpr implicit_mask(const TensorKey& k, int depth = 0) const {
    if (depth > 10000 || inputs.count(k.layer) || k.tensor_index != 0) return {};
    auto lit = layers.find(k.layer);
    const NodeSpec* n = node(k);
    if (lit == layers.end() || !n || n->args.empty()) return {};
    const Layer<T>& layer = *lit->second;
    const std::string cn = layer.class_name();
    const TensorKey& in = n->args[0];
    if (auto* m = dynamic_cast<const Masking<T>*>(&layer))
      return {MaskExpr::any_not_equal, in.layer, in.node_index, in.tensor_index, m->options().mask_value};
    if (auto* e = dynamic_cast<const Embedding<T>*>(&layer)) {
      if (!e->options().mask_zero) return {};
      return {MaskExpr::not_equal, in.layer, in.node_index, in.tensor_index, 0.0};
    }
    if (!n->options.pass_mask) return {};
    if (auto* r = dynamic_cast<const RNN<T>*>(&layer))
      return r->rnn_options().return_sequences ? implicit_mask(in, depth + 1) : MaskExpr{};
    if (auto* b = dynamic_cast<const Bidirectional<T>*>(&layer))
      return b->forward_layer().rnn_options().return_sequences ? implicit_mask(in, depth + 1) : MaskExpr{};
    if (cn == "Dense" || cn == "Dropout" || cn == "Activation" || cn == "TimeDistributed")
      return implicit_mask(in, depth + 1);
    if (passes_mask_through(cn) || normalization_passes_mask(cn) || is_attention_class(cn))
      return implicit_mask(in, depth + 1);
    if (ors_input_masks(cn)) {  // the OR of the inputs' masks when every input has one
      MaskExpr out = implicit_mask(in, depth + 1);
      for (size_t i = 1; i < n->args.size() && out.kind != MaskExpr::none; ++i) {
        const MaskExpr m = implicit_mask(n->args[i], depth + 1);
        out = m.kind == MaskExpr::none ? MaskExpr{} : mask_or(out, m);
      }
      return out;
    }
    return {};
  }

  MaskExpr recorded_mask(const TensorKey& k) const {
    auto it = mask_ops.find(k.layer);
    if (it == mask_ops.end() || k.node_index != 0 || k.tensor_index != 0) return {};
    const MaskOp& op = it->second;
    if (op.cls == "LogicalOr") {
      const MaskExpr a = recorded_mask(op.input), b = recorded_mask(op.input2);
      return a.kind == MaskExpr::none || b.kind == MaskExpr::none ? MaskExpr{} : mask_or(a, b);
    }
    if (op.cls == "ConvertToTensor") return recorded_mask(op.input);
    if (op.cls == "NotEqual")
      return {MaskExpr::not_equal, op.input.layer, op.input.node_index, op.input.tensor_index, op.value};
    auto inner = mask_ops.find(op.input.layer);
    if (inner == mask_ops.end() || inner->second.cls != "NotEqual") return {};
    const MaskOp& ne = inner->second;
    return {MaskExpr::any_not_equal, ne.input.layer, ne.input.node_index, ne.input.tensor_index, ne.value};
  }
};

// ---- Nested models (a Sequential / Functional model used as a layer)
//
// The inner model is built from its own entry (recursively) and joins the outer graph like
// any layer. Its calls are numbered differently by the writers:
//  - Keras 3 node arguments count only the calls in the outer graph (0, 1, ...), but its
//    input_layers / output_layers count a Functional's own graph as call 0 (K3
//    models/functional.py: get_config kept_nodes = 1 for a Functional, and
//    functional_from_config get_tensor subtracts it again);
//  - tf_keras / Keras 2 count that first call everywhere, for a Functional and for a
//    Sequential that has an input (tf_keras engine/functional.py _should_skip_first_node).

template <class T>
std::unique_ptr<Model<T>> any_model(const std::shared_ptr<const Json>& doc, const Json& entry, const KerasVersion& v,
                                    const std::string& context, std::vector<ConfigLayer<T>>* layers_out, bool nested);

// "<Class> '<name>'" of a model entry, read without a KerasConfig (Keras <= 2.1 Sequential
// entries have a list as config).
std::string model_where(const Json& entry) {
  const Json* cn = find_key(entry, "class_name");
  const Json* cfg = find_key(entry, "config");
  const Json* name = cfg ? find_key(*cfg, "name") : nullptr;
  if (!name) name = find_key(entry, "name");
  return (cn && cn->is_string() ? cn->get<std::string>() : std::string("model")) + " '" +
         (name && name->is_string() ? name->get<std::string>() : std::string("?")) + "'";
}

// The class that names a layer's weights group: a tf.keras "Model" entry is a Functional.
std::string weights_class(const std::string& class_name) { return class_name == "Model" ? "Functional" : class_name; }

bool is_model_entry(const Json* entry) {
  const Json* cn = entry ? find_key(*entry, "class_name") : nullptr;
  return cn && cn->is_string() && is_model_class(cn->get<std::string>());
}

// Builds a nested model; its ConfigErrors are prefixed with where it sits and its name.
template <class T>
std::shared_ptr<Model<T>> nested_model(const std::shared_ptr<const Json>& doc, const Json& entry, const KerasVersion& v,
                                       const std::string& context) {
  try {
    return any_model<T>(doc, entry, v, context, nullptr, true);
  } catch (const ConfigError& e) {
    throw ConfigError(context + ": in nested model " + model_where(entry) + ": " + e.what());
  }
}

template <class T>
NestedNumbering numbering_of(const std::string& class_name, const Model<T>& model) {
  const bool functional = class_name != "Sequential";
  const auto* seq = dynamic_cast<const Sequential<T>*>(&model);
  return {functional || (seq && seq->has_input()) ? 1 : 0, functional ? 1 : 0};
}

// The layer of one layer entry of a model: a built layer, a nested model, or a
// TimeDistributed wrapping a nested model (the only wrapper Keras lets wrap a model).
// `numbering` receives the node numbering of a nested model.
template <class T>
std::shared_ptr<Layer<T>> entry_layer(const std::shared_ptr<const Json>& doc, const Json& entry, const KerasConfig& lc,
                                      const std::string& context, std::optional<NestedNumbering>& numbering) {
  if (is_model_class(lc.class_name())) {
    auto model = nested_model<T>(doc, entry, lc.version(), context);
    numbering = numbering_of(lc.class_name(), *model);
    return model;
  }
  const Json* cfg = find_key(entry, "config");
  const Json* wrapped = cfg ? find_key(*cfg, "layer") : nullptr;
  if (lc.class_name() == "TimeDistributed" && is_model_entry(wrapped)) {
    auto inner = nested_model<T>(doc, *wrapped, lc.version(), lc.where() + ": argument 'layer'");
    lc.ignore("layer");
    if (lc.has("activity_regularizer"))
      lc.fail("activity_regularizer", "is not supported by rnnx on a TimeDistributed wrapper");
    lc.ignore("activity_regularizer");
    lc.check_all_used();
    return std::make_shared<TimeDistributed<T>>(std::move(inner), lc.name());
  }
  for (const char* key : {"layer", "backward_layer", "cell"}) {
    const Json* sub = cfg ? find_key(*cfg, key) : nullptr;
    if (is_model_entry(sub))
      throw ConfigError(lc.where() + ": argument '" + key + "' is a model (" + model_where(*sub) +
                        "); rnnx takes a nested model as a layer of a model or inside TimeDistributed only");
  }
  return build_layer<T>(lc);
}

template <class T>
std::unique_ptr<Model<T>> functional(const std::shared_ptr<const Json>& doc, const Json& entry, const KerasVersion& v,
                                     const std::string& context, std::vector<ConfigLayer<T>>* layers_out) {
  const KerasConfig mc = make_config(doc, entry, v, context);
  const Json& cfg = *find_key(entry, "config");
  auto model = std::make_unique<Model<T>>(mc.get_string("name", "functional"));
  const Json* layers = find_key(cfg, "layers");
  if (!layers || !layers->is_array()) mc.fail("layers", "must be a list of layer entries");
  FunctionalBuild<T> fb;
  std::vector<std::string> order;  // config names of the real layers, in config order
  // Pass 1: create every layer (inputs become model inputs; mask operations are recorded).
  for (size_t i = 0; i < layers->size(); ++i) {
    const Json& le = (*layers)[i];
    const std::string lctx = mc.where() + ": layer " + std::to_string(i);
    KerasConfig lc = make_config(doc, le, v, lctx);
    const std::string lname = lc.name();
    if (fb.layers.count(lname) || fb.mask_ops.count(lname) || fb.inputs.count(lname))
      throw ConfigError(lctx + ": two layers are named '" + lname + "'");
    if (lc.class_name() == "InputLayer") {
      const Shape shape = read_input_layer_config(lc);
      lc.check_all_used();
      model->input(shape, lname);
      fb.inputs.insert(lname);
      continue;
    }
    if (lc.class_name() == "NotEqual" || lc.class_name() == "Any" || lc.class_name() == "LogicalOr" ||
        lc.class_name() == "ConvertToTensor") {
      fb.mask_ops[lname] = read_mask_op(lc, le, lc.where());
      continue;
    }
    std::optional<NestedNumbering> numbering;
    fb.layers[lname] = entry_layer<T>(doc, le, lc, lctx, numbering);
    if (numbering) fb.nested[lname] = *numbering;
    order.push_back(lname);
    if (layers_out) layers_out->push_back({weights_class(lc.class_name()), fb.layers[lname]});
    // Pass 2 material: this layer's calls.
    const std::string nctx0 = lc.where();
    std::vector<NodeSpec>& specs = fb.nodes[lname];
    const Json* nodes = find_key(le, "inbound_nodes");
    if (!nodes) continue;  // a layer that is never called
    if (!nodes->is_array()) throw ConfigError(nctx0 + ": inbound_nodes must be a list, got " + dump(*nodes));
    for (size_t n = 0; n < nodes->size(); ++n) {
      const Json& node = (*nodes)[n];
      const std::string nctx = nctx0 + " inbound node " + std::to_string(n);
      // The node format ({"args", "kwargs"}, or a list / dict of [layer, node, tensor]) tells
      // the writer apart, not the version.
      specs.push_back(node.is_object() && !is_tfk_dict_node(node)
                          ? k3_node(node, nctx)
                          : tfk_node(node, *fb.layers[lname], num_constants_of(le), nctx));
      apply_attention_call(specs.back(), *fb.layers[lname], nctx);
    }
  }
  // Recorded masks must be what rnnx propagates; mask operations feed nothing else.
  auto check_not_mask_op = [&](const TensorKey& k, const std::string& where) {
    if (fb.mask_ops.count(k.layer))
      throw ConfigError(where + ": uses the output of operation '" + k.layer + "' (" + fb.mask_ops.at(k.layer).cls +
                        ") as data, which rnnx does not support");
  };
  // Calls of nested models in rnnx's numbering; the node format also decides how
  // input_layers / output_layers number them.
  bool list_format = false;
  for (const auto& lname : order)
    for (size_t n = 0; n < fb.nodes[lname].size(); ++n) {
      NodeSpec& spec = fb.nodes[lname][n];
      list_format = list_format || spec.list_format;
      const std::string where = "'" + lname + "' inbound node " + std::to_string(n);
      for (auto* keys : {&spec.args, &spec.options.initial_state, &spec.options.constants})
        for (auto& k : *keys) fb.renumber(k, spec.list_format, false, where);
    }
  for (const auto& lname : order) {
    const Layer<T>& layer = *fb.layers[lname];
    for (size_t n = 0; n < fb.nodes[lname].size(); ++n) {
      NodeSpec& spec = fb.nodes[lname][n];
      const std::string where = layer.class_name() + " '" + lname + "' inbound node " + std::to_string(n);
      for (const auto& a : spec.args) check_not_mask_op(a, where);
      for (const auto& a : spec.options.initial_state) check_not_mask_op(a, where);
      for (const auto& a : spec.options.constants) check_not_mask_op(a, where);
      if (!spec.mask) continue;
      const MaskExpr recorded = fb.recorded_mask(*spec.mask);
      const MaskExpr implicit = spec.args.empty() ? MaskExpr{} : fb.implicit_mask(spec.args[0]);
      if (recorded.kind == MaskExpr::none || !(recorded == implicit))
        throw ConfigError(where + ": the recorded mask argument (" +
                          (recorded.kind == MaskExpr::none ? "'" + spec.mask->layer + "'" : describe(recorded)) +
                          ") is not the mask rnnx propagates to this call (" + describe(implicit) +
                          "); explicit masks are not supported");
    }
  }
  // Declare every call in config order (node indices follow that order).
  for (const auto& lname : order)
    for (auto& spec : fb.nodes[lname]) model->connect(fb.layers[lname], std::move(spec.args), std::move(spec.options));
  const Json* in = find_key(cfg, "input_layers");
  const Json* out = find_key(cfg, "output_layers");
  if (!in) mc.fail("input_layers", "is required");
  if (!out) mc.fail("output_layers", "is required");
  const bool keras2 = v.major < 3;
  IoStructure outs = io_structure(*out, mc.where() + ": output_layers", keras2);
  IoStructure ins = io_structure(*in, mc.where() + ": input_layers", keras2);
  for (auto& k : outs.keys) {
    check_not_mask_op(k, mc.where() + ": output_layers");
    fb.renumber(k, list_format, true, mc.where() + ": output_layers");
  }
  for (auto& k : ins.keys) fb.renumber(k, list_format, true, mc.where() + ": input_layers");
  model->set_inputs(ins.keys);
  model->set_outputs(outs.keys);
  model->set_input_structure(std::move(ins.structure));
  model->set_output_structure(std::move(outs.structure));
  for (const char* k : {"layers", "input_layers", "output_layers"}) mc.ignore(k);
  mc.check_all_used();
  return model;
}

// A top-level Sequential becomes the equivalent functional chain; a nested one stays a
// Sequential (Keras names its weights group "sequential" and lists its layers without the
// InputLayer), and may have no input shape yet (it is built when the outer model calls it).
template <class T>
std::unique_ptr<Model<T>> sequential(const std::shared_ptr<const Json>& doc, const Json& entry, const KerasVersion& v,
                                     const std::string& context, std::vector<ConfigLayer<T>>* layers_out, bool nested) {
  const Json* cfg_ptr = find_key(entry, "config");
  // Keras <= 2.1 wrote the layer list itself as the config.
  const Json* layers = cfg_ptr && cfg_ptr->is_array() ? cfg_ptr : (cfg_ptr ? find_key(*cfg_ptr, "layers") : nullptr);
  if (!layers || !layers->is_array()) throw ConfigError(context + ": Sequential config has no \"layers\" list");
  std::string name = "sequential";
  std::optional<Shape> build_shape;
  if (cfg_ptr && cfg_ptr->is_object()) {
    const KerasConfig mc = make_config(doc, entry, v, context);
    name = mc.get_string("name", "sequential");
    if (mc.has("build_input_shape")) build_shape = mc.get_int_list("build_input_shape");
    mc.ignore("build_input_shape");
    mc.ignore("layers");
    mc.check_all_used();
  }
  if (layers->empty()) throw ConfigError(context + ": Sequential model has no layers");
  std::unique_ptr<Sequential<T>> seq = nested ? std::make_unique<Sequential<T>>(name) : nullptr;
  std::unique_ptr<Model<T>> model = nested ? nullptr : std::make_unique<Model<T>>(name);
  std::optional<ModelTensor> x;  // the chain's last tensor (top level)
  auto start = [&](const Shape& shape, const std::string& input_name) {
    if (seq)
      seq->add(std::make_shared<InputLayer<T>>(shape, input_name));
    else
      x = model->input(shape, input_name);
  };
  size_t first = 0;
  KerasConfig lc0 = make_config(doc, (*layers)[0], v, context + ": layer 0");
  if (lc0.class_name() == "InputLayer") {
    const Shape shape = read_input_layer_config(lc0);
    lc0.check_all_used();
    start(shape, lc0.name());
    first = 1;
  } else {
    // Keras 2 / tf.keras: the first layer carries batch_input_shape (or input_dim).
    const Json* lcfg = find_key((*layers)[0], "config");
    if (const Json* b = lcfg ? find_key(*lcfg, "batch_input_shape") : nullptr)
      start(shape_from(*b, lc0.where() + ": batch_input_shape"), "input_layer");
    else if (const Json* b2 = lcfg ? find_key(*lcfg, "batch_shape") : nullptr)
      start(shape_from(*b2, lc0.where() + ": batch_shape"), "input_layer");
    else if (build_shape)
      start(*build_shape, "input_layer");
    else if (!nested)
      throw ConfigError(context +
                        ": Sequential model has no input shape (no InputLayer, batch_input_shape or "
                        "build_input_shape); rnnx needs one to create the weights");
  }
  for (size_t i = first; i < layers->size(); ++i) {
    const std::string lctx = context + ": layer " + std::to_string(i);
    KerasConfig lc = make_config(doc, (*layers)[i], v, lctx);
    if (lc.class_name() == "InputLayer")
      throw ConfigError(lctx + ": an InputLayer inside a Sequential model must be its first layer");
    std::optional<NestedNumbering> numbering;  // a Sequential's calls need no numbering
    std::shared_ptr<Layer<T>> layer = entry_layer<T>(doc, (*layers)[i], lc, lctx, numbering);
    if (layers_out) layers_out->push_back({weights_class(lc.class_name()), layer});
    if (seq) {
      seq->add(layer);
      continue;
    }
    const auto outs = model->call(layer, {*x});
    if (outs.size() != 1)
      throw ConfigError(lc.where() + ": a layer in a Sequential model must return one tensor, this one returns " +
                        std::to_string(outs.size()));
    x = outs[0];
  }
  if (seq) return seq;
  model->set_outputs(std::vector<ModelTensor>{*x});
  return model;
}

template <class T>
std::unique_ptr<Model<T>> any_model(const std::shared_ptr<const Json>& doc, const Json& entry, const KerasVersion& v,
                                    const std::string& context, std::vector<ConfigLayer<T>>* layers_out, bool nested) {
  const Json* cn = find_key(entry, "class_name");
  if (!cn || !cn->is_string()) throw ConfigError(context + ": model entry has no class_name");
  const std::string cls = cn->get<std::string>();
  if (cls == "Sequential") return sequential<T>(doc, entry, v, context, layers_out, nested);
  if (cls == "Functional" || cls == "Model") return functional<T>(doc, entry, v, context, layers_out);
  throw ConfigError(context + ": class '" + cls + "' is not a model (expected Sequential or Functional)");
}

}  // namespace

template <class T>
std::unique_ptr<Model<T>> build_model(const std::shared_ptr<const Json>& doc, const Json& entry,
                                      const KerasVersion& version, const std::string& context,
                                      std::vector<ConfigLayer<T>>* layers_out) {
  return any_model<T>(doc, entry, version, context, layers_out, false);
}

template std::unique_ptr<Model<float>> build_model<float>(const std::shared_ptr<const Json>&, const Json&,
                                                          const KerasVersion&, const std::string&,
                                                          std::vector<ConfigLayer<float>>*);
template std::unique_ptr<Model<double>> build_model<double>(const std::shared_ptr<const Json>&, const Json&,
                                                            const KerasVersion&, const std::string&,
                                                            std::vector<ConfigLayer<double>>*);

}  // namespace rnnx::detail

namespace rnnx {

template <class T>
std::unique_ptr<Model<T>> model_from_config(const std::string& json_text, const std::string& keras_version) {
  const KerasVersion version = KerasVersion::parse(keras_version);
  auto doc = detail::parse_json(json_text, "model config");
  try {
    return detail::build_model<T>(doc, *doc, version, "model config");
  } catch (const nlohmann::json::exception& e) {
    throw ConfigError(std::string("model config: malformed JSON structure: ") + e.what());
  }
}

template std::unique_ptr<Model<float>> model_from_config<float>(const std::string&, const std::string&);
template std::unique_ptr<Model<double>> model_from_config<double>(const std::string&, const std::string&);

}  // namespace rnnx
