#pragma once
// Model: a Keras functional graph (K3 keras/src/models/functional.py, ops/function.py).
//
// Building reads like Keras:
//   Model<float> m;
//   auto enc_in = m.input({-1, 5, 3}, "enc_in");          // keras.Input(batch_shape=...)
//   auto dec_in = m.input({-1, 4, 2}, "dec_in");
//   auto enc = m.call(encoder, {enc_in});                 // [out, h, c] with return_state
//   auto dec = m.call(decoder, {dec_in}, {.initial_state = {enc[1], enc[2]}});
//   auto y = m.call(dense, {dec[0]});
//   m.set_outputs({y[0]});
//   std::vector<Tensor<float>> out = m.predict({x_enc, x_dec});
//
// A node is one call of a layer: positional tensors (several for Concatenate/Add) plus the
// keyword tensors `initial_state` and `constants`. A layer may be called several times
// (shared weights); its calls are numbered 0, 1, ... in this model (Keras node_index), and
// a node's outputs are numbered like Keras tensor_index (LSTM with return_state: out, h, c).
// call() builds the layer for the argument shapes and returns handles to its outputs.
//
// Rebuilding from a Keras config (loaders): create the inputs with input(), then declare every
// node in config order with connect(layer, {TensorKey...}), where a TensorKey is a Keras
// keras_history triple [layer_name, node_index, tensor_index]; nodes may refer to nodes
// declared later. set_inputs()/set_outputs() with keys (model input_layers / output_layers)
// resolve the declared nodes in dependency order, reporting unknown references and cycles.
//
// Masks: each node's output 0 may carry a mask (LayerOutputs::mask); a call receives the
// masks of its positional inputs (LayerInputs::mask for the first, input_masks for all).
// Keras 3 passes no mask to a call that also has tensor keyword arguments (its
// Layer.__call__ fills `mask` only when the call has a single tensor argument); tf.keras
// passes it. pass_mask=false on a node reproduces Keras 3 for calls with initial_state /
// constants; the default (true) is the tf.keras behaviour.
//
// Layer names are unique in a model: a layer that still has its default name ("dense", or
// "dense_3") is renamed to the first free "dense", "dense_1", ... when it joins; two layers
// with the same chosen name are a ConfigError. A layer that is not built yet and has seed 0
// gets a seed derived from the model's seed and the layer's position, so two identical
// layers start from different weights; the same model seed gives the same weights.
//
// Weight order (params/get_weights/set_weights) is Keras model.get_weights(): layer by layer
// in layers() order, each layer's own order, a shared layer once (params() also carries
// each weight's gradient; zero_grads() clears them all). layers() is Keras
// `model.layers`: ordered by depth from the inputs, ties by first visit of a depth-first walk
// from the outputs (ops/function.py map_graph), InputLayers included.
//
// Training: a run in Mode::training calls every layer in training mode, so each layer keeps
// (on its own tape) what its backward needs; the model keeps only the run's plan and shapes.
// backward(grad_outputs) undoes the most recent training run not yet undone (runs are kept
// last-in first-out, like a layer's calls, so a model used as a layer of several nodes of
// another model works): it walks the nodes in reverse execution order, calls each node's
// layer's backward once (so a shared layer's calls are undone in reverse, as its tape
// requires), sums the gradients of a tensor read by several nodes (positional, initial_state
// and constants arguments alike, so the decoder's initial_state gradients reach the
// encoder's returned states), and returns one gradient per model input (zero for an input
// the outputs do not depend on). An inference run keeps nothing. After a training run or a
// backward that threw, call clear_tape() before the next one.
//
// Threads: once a model is built (load_model builds it; else after its first call), several
// threads may call predict() / call(Mode::inference) on it at once, and get the results of
// one thread, bit for bit (tests/concurrency, also under ThreadSanitizer). What is shared is
// read-only: the graph, the plan and the weights; every call keeps its own activations and
// scratch. Not concurrent with anything else on the same model: training runs, backward,
// set_weights, building, reset_states, and the calls of a model with stateful layers (their
// states belong to the model instance: concurrent calls would race on them). activity_loss()
// then reports one of the concurrent runs.
//
// Activity regularizers (spec §3.9): every run sums, over the nodes whose layer has an active
// Layer::activity_regularizer(), the penalty on all the tensors that node returned (each
// divided by the batch size), plus the activity_loss() of any model called as a layer;
// activity_loss() reports it (Keras adds it to the loss in fit and evaluate). A training
// run keeps those nodes' outputs, and backward adds the penalty's gradient to the gradients
// of the node's outputs before calling the layer's backward.
#include <atomic>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "rnnx/layers/input_layer.h"
#include "rnnx/layers/layer.h"
#include "rnnx/model/summary.h"
#include "rnnx/model/tensor_structure.h"

namespace rnnx {

// A symbolic tensor of a model (Keras KerasTensor): output `index` of graph node `node`.
struct ModelTensor {
  uint64_t model = 0;  // which model made it (handles from another model are rejected)
  int64_t node = -1;
  int64_t index = 0;
  bool operator==(const ModelTensor&) const = default;
};

// A Keras keras_history reference: output `tensor_index` of the `node_index`-th call of the
// layer called `layer` (an InputLayer's tensor is {name, 0, 0}).
struct TensorKey {
  std::string layer{};
  int64_t node_index = 0;
  int64_t tensor_index = 0;
};

struct CallOptions {
  std::vector<ModelTensor> initial_state{};  // Keras initial_state=[...]
  std::vector<ModelTensor> constants{};      // Keras constants=[...]
  bool pass_mask = true;                     // see "Masks" above
};

struct ConnectOptions {
  std::vector<TensorKey> initial_state{};
  std::vector<TensorKey> constants{};
  bool pass_mask = true;
};

template <class T>
struct ModelOutputs {
  std::vector<Tensor<T>> outputs;  // in set_outputs order
  std::vector<Mask> masks;         // parallel to outputs; empty Mask = none
};

// One call of a layer that the model's outputs depend on (a Keras inbound node), for
// serializers: the layer, which of its calls this is, and the tensors it reads.
template <class T>
struct ModelNode {
  std::shared_ptr<Layer<T>> layer;
  int64_t node_index = 0;  // as numbered by this model (calls the outputs do not use count too)
  std::vector<ModelTensor> args, initial_state, constants;
  bool pass_mask = true;
};

template <class T>
class Model : public Layer<T> {
 public:
  explicit Model(std::string name = "functional");
  ~Model() override;

  std::string class_name() const override { return "Functional"; }

  // ---- building ---------------------------------------------------------------------------
  // Adds an input (an InputLayer) of the given batch shape (-1 = None). An empty name gives
  // "input_layer", "input_layer_1", ... Model inputs are in creation order unless set_inputs.
  ModelTensor input(Shape batch_shape, std::string name = "");
  // Adds an existing InputLayer as an input (loaders rebuilding a config's InputLayer).
  ModelTensor input(std::shared_ptr<InputLayer<T>> layer);

  // Calls `layer` on `args` now: builds it for their shapes and returns its output handles.
  // The shapes given to the layer's build() / compute_output_shapes() are those of `args`
  // followed by those of `constants` (the RNN convention, layers/rnn.h).
  // Throws ConfigError for a null layer or an unknown tensor, ShapeError (from the layer) for
  // incompatible shapes.
  std::vector<ModelTensor> call(std::shared_ptr<Layer<T>> layer, const std::vector<ModelTensor>& args,
                                const CallOptions& options = {});

  // Declares the layer's next call on tensors named by keys. Declared nodes are resolved
  // (created in dependency order) by tensor(), set_inputs() and set_outputs(); until then
  // running or listing the model throws StateError.
  void connect(std::shared_ptr<Layer<T>> layer, std::vector<TensorKey> args, ConnectOptions options = {});

  // The handle of a declared tensor. Throws ConfigError for an unknown layer, node or tensor
  // index, or declared nodes that form a cycle.
  ModelTensor tensor(const TensorKey& key);

  void set_inputs(const std::vector<ModelTensor>& inputs);
  void set_inputs(const std::vector<TensorKey>& inputs);
  void set_outputs(const std::vector<ModelTensor>& outputs);
  void set_outputs(const std::vector<TensorKey>& outputs);
  // How Keras nests the inputs / outputs (tensor_structure.h; the loaders keep the config's
  // input_layers / output_layers, the writer writes them back). Unset (nullopt) unless set;
  // set_inputs / set_outputs unset it. Throws ConfigError when the structure's leaf count
  // differs from the number of inputs / outputs.
  void set_input_structure(TensorStructure structure);
  void set_output_structure(TensorStructure structure);
  const std::optional<TensorStructure>& input_structure() const { return input_structure_; }
  const std::optional<TensorStructure>& output_structure() const { return output_structure_; }

  // ---- running ----------------------------------------------------------------------------
  // Runs the graph in inference mode. Throws ShapeError for a wrong number of inputs or an
  // input whose shape does not fit its declared shape (naming the input), StateError when no
  // outputs are set, and whatever the layers throw.
  std::vector<Tensor<T>> predict(const std::vector<Tensor<T>>& inputs);
  std::vector<Tensor<T>> call(const std::vector<Tensor<T>>& inputs, Mode mode = Mode::inference);
  // As call(), also returning the output masks; `input_masks` (parallel to inputs, entries may
  // be null) attaches masks to the inputs, as Keras model(x, mask=...).
  ModelOutputs<T> run(const std::vector<Tensor<T>>& inputs, Mode mode = Mode::inference,
                      const std::vector<const Mask*>& input_masks = {});
  // The activity-regularization loss of the most recent run (0 when no layer has an
  // activity_regularizer, or before any run); see "Activity regularizers" above.
  T activity_loss() const { return activity_loss_.load(std::memory_order_relaxed); }

  // ---- Layer interface (a model can be a layer of another model) --------------------------
  // build() checks the shapes against the declared inputs; nothing else to create.
  void build(const std::vector<Shape>& input_shapes) override;
  std::vector<Shape> compute_output_shapes(const std::vector<Shape>& input_shapes) const override;
  LayerOutputs<T> call(const LayerInputs<T>& in) override;
  // See "Training" above. grad_outputs is parallel to the outputs (an empty Tensor: no
  // gradient). Throws StateError without a training run to undo, ShapeError for a wrong
  // count or shape (the run's output shapes), and whatever the layers' backward throws.
  LayerGrads<T> backward(const std::vector<Tensor<T>>& grad_outputs) override;
  // Drops this model's stored training runs and the tapes of all its layers.
  void clear_tape() override;
  std::vector<Param<T>> params() override;
  void reset_states() override;

  // ---- introspection ----------------------------------------------------------------------
  // Keras model.layers (see above); before set_outputs, every layer in order of first use.
  virtual std::vector<std::shared_ptr<Layer<T>>> layers() const;
  // Keras get_layer(name); throws ConfigError if no layer has that name.
  std::shared_ptr<Layer<T>> layer(const std::string& name) const;
  std::vector<ModelTensor> inputs() const;
  std::vector<ModelTensor> outputs() const;
  std::vector<std::string> input_names() const;
  // Shape of a tensor as built (batch -1 unless declared); ConfigError for an unknown handle.
  const Shape& shape(const ModelTensor& t) const;
  // The Keras-style table: layers, output shapes, parameter counts, connections, totals.
  virtual std::string summary();
  // Rows of summary(), one per layers() entry ("?" shapes for layers not called yet).
  std::vector<SummaryRow> summary_rows();
  // The calls the outputs depend on, InputLayers excluded, in an order where each call comes
  // after the calls it reads (src/model/model_graph.cpp). StateError without outputs.
  std::vector<ModelNode<T>> graph_nodes() const;
  // The keras_history of a tensor: {layer name, node_index, tensor_index} (ConfigError for
  // an unknown handle).
  TensorKey key_of(const ModelTensor& t) const;

 protected:
  // Called at the start of every run with the input tensors (Sequential builds lazily).
  virtual void prepare_run(const std::vector<const Tensor<T>*>& /*inputs*/) {}

 private:
  struct Node;
  struct Pending;
  struct Plan;
  struct Run;

  const Node& node_of(const ModelTensor& t, const std::string& context) const;
  // Before a layer's first node: gives it a unique name and, if unbuilt with seed 0, a
  // derived seed. Throws ConfigError for a null layer or a clashing chosen name.
  void prepare_layer(const std::shared_ptr<Layer<T>>& layer);
  // Counts a node of the layer (adding it to the registry at its first); returns its index.
  int64_t register_layer(const std::shared_ptr<Layer<T>>& layer);
  void changed();
  // Builds the layer for the arguments' shapes and appends the node; returns its id.
  int64_t add_node(std::shared_ptr<Layer<T>> layer, int64_t node_index, std::vector<ModelTensor> args,
                   std::vector<ModelTensor> initial_state, std::vector<ModelTensor> constants, bool pass_mask);
  std::optional<ModelTensor> find(const TensorKey& key) const;
  void resolve_pending();
  const Plan& plan() const;
  void check_input_shapes(const std::vector<Shape>& shapes) const;
  ModelOutputs<T> run_graph(const std::vector<const Tensor<T>*>& inputs, const std::vector<const Mask*>& masks,
                            Mode mode);

  uint64_t id_;
  std::vector<Node> nodes_;
  std::vector<Pending> pending_;
  std::vector<Run> runs_;             // training runs not yet undone by backward (a stack)
  std::vector<int64_t> input_nodes_;  // every InputLayer node, in creation order
  std::optional<std::vector<ModelTensor>> inputs_;
  std::vector<ModelTensor> outputs_;
  std::optional<TensorStructure> input_structure_, output_structure_;
  std::vector<std::shared_ptr<Layer<T>>> registry_;     // distinct layers, order of first use
  std::unordered_map<const Layer<T>*, int64_t> calls_;  // layer -> number of nodes declared
  mutable std::shared_ptr<const Plan> plan_;            // derived; reset on every change
  std::atomic<T> activity_loss_{T(0)};                  // of the most recent run (atomic: concurrent predicts)
};

extern template class Model<float>;
extern template class Model<double>;

}  // namespace rnnx
