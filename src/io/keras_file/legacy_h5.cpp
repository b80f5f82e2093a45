// Legacy HDF5 weights (spec §8.2): Keras' topological loading
// (tf_keras saving/legacy/hdf5_format.py::load_weights_from_hdf5_group) with its weight
// conversions (preprocess_weights_for_loading: Keras 1 layouts, cuDNN layouts; spec §7).
#include <algorithm>

#include "io/keras_file/keras_file_impl.h"
#include "rnnx/cells/gru_cell.h"
#include "rnnx/cells/lstm_cell.h"
#include "rnnx/core/error.h"
#include "rnnx/layers/bidirectional.h"
#include "rnnx/layers/rnn.h"
#include "rnnx/layers/time_distributed.h"
#include "rnnx/model/model.h"

namespace rnnx::detail {

std::optional<std::vector<std::string>> chunked_string_list(const h5::Group& g, const std::string& name) {
  if (auto whole = g.string_list_attr(name)) return whole;
  // Keras splits attributes longer than HDF5's 64 KiB header limit into name0, name1, ...
  std::optional<std::vector<std::string>> out;
  for (int chunk = 0;; ++chunk) {
    auto part = g.string_list_attr(name + std::to_string(chunk));
    if (!part) break;
    if (!out) out.emplace();
    out->insert(out->end(), part->begin(), part->end());
  }
  return out;
}

namespace {

std::string join_names(const std::vector<std::string>& names) {
  std::string s;
  for (size_t i = 0; i < names.size() && i < 12; ++i) s += (i ? ", " : "") + names[i];
  if (names.size() > 12) s += ", ...";
  return s;
}

template <class T>
Tensor<T> concat_columns(const std::vector<const Tensor<T>*>& parts, const std::string& context) {
  // np.concatenate(axis=-1) of arrays with equal leading dimensions.
  const Shape& first = parts.front()->shape();
  if (first.empty()) throw FormatError(context + ": Keras 1 weights must be arrays, got a scalar");
  const int64_t rows = num_elements(first) / std::max<int64_t>(first.back(), 1);
  int64_t cols = 0;
  for (const auto* p : parts) {
    const Shape& s = p->shape();
    if (s.size() != first.size() || !std::equal(s.begin(), s.end() - 1, first.begin()))
      throw FormatError(context + ": Keras 1 per-gate weights of shapes " + to_string(first) + " and " + to_string(s) +
                        " cannot be joined");
    cols += s.back();
  }
  Shape out_shape = first;
  out_shape.back() = cols;
  Tensor<T> out(out_shape);
  int64_t offset = 0;
  for (const auto* p : parts) {
    const int64_t c = p->shape().back();
    for (int64_t r = 0; r < rows; ++r)
      for (int64_t j = 0; j < c; ++j) out[r * cols + offset + j] = (*p)[r * c + j];
    offset += c;
  }
  return out;
}

// The layers of a nested model that own weights, in the model's weight order (a
// TimeDistributed around a model is looked through), each with its number of weights.
template <class T>
using WeightOwners = std::vector<std::pair<Layer<T>*, size_t>>;

template <class T>
void add_weight_owners(Layer<T>& layer, WeightOwners<T>& out) {
  auto* td = dynamic_cast<TimeDistributed<T>*>(&layer);
  Layer<T>* inner = td && dynamic_cast<Model<T>*>(td->layer().get()) ? td->layer().get() : &layer;
  if (auto* m = dynamic_cast<Model<T>*>(inner)) {
    for (const auto& l : m->layers()) add_weight_owners(*l, out);
    return;
  }
  if (const size_t n = inner->params().size()) out.push_back({inner, n});
}

// The weight owners of `layer` if their weights together number `count`, else none.
template <class T>
WeightOwners<T> weight_owners(Layer<T>& layer, size_t count) {
  WeightOwners<T> out;
  add_weight_owners(layer, out);
  size_t total = 0;
  for (const auto& o : out) total += o.second;
  return total == count ? out : WeightOwners<T>{};
}

// A nested model's weights are saved as Keras' model.trainable_weights followed by
// model.non_trainable_weights (_legacy_weights): puts the weights of `frozen` layers back
// in their place in the model's own order. Counts that do not fit are left for the checks.
template <class T>
std::vector<Tensor<T>> from_trainable_first(Layer<T>& layer, std::vector<Tensor<T>> w,
                                            const std::vector<const Layer<T>*>& frozen) {
  const WeightOwners<T> owners = frozen.empty() ? WeightOwners<T>{} : weight_owners(layer, w.size());
  if (owners.empty()) return w;
  auto is_frozen = [&](const Layer<T>* l) { return std::find(frozen.begin(), frozen.end(), l) != frozen.end(); };
  std::vector<Tensor<T>> out(w.size());
  size_t next = 0;
  for (const bool pass_frozen : {false, true}) {
    size_t offset = 0;
    for (const auto& [owner, n] : owners) {
      if (is_frozen(owner) == pass_frozen)
        for (size_t k = 0; k < n; ++k) out[offset + k] = std::move(w[next++]);
      offset += n;
    }
  }
  return out;
}

// preprocess_weights_for_loading for the layers rnnx has: a nested model's weights are
// handed to its layers (convert_nested_model); wrappers split their weights
// among the wrapped layers; Keras 1 LSTM (12 arrays, gates i, c, f, o) and GRU (9 arrays,
// gates z, r, h) become 3 arrays; cuDNN layouts are converted.
template <class T>
std::vector<Tensor<T>> preprocess(Layer<T>& layer, std::vector<Tensor<T>> w, const KerasVersion& version,
                                  const std::string& file, const std::string& who) {
  if (auto* b = dynamic_cast<Bidirectional<T>*>(&layer)) {
    const size_t half = w.size() / 2;
    std::vector<Tensor<T>> fw(std::make_move_iterator(w.begin()), std::make_move_iterator(w.begin() + half));
    std::vector<Tensor<T>> bw(std::make_move_iterator(w.begin() + half), std::make_move_iterator(w.end()));
    fw = preprocess(b->forward_layer(), std::move(fw), version, file, who + " forward layer");
    bw = preprocess(b->backward_layer(), std::move(bw), version, file, who + " backward layer");
    for (auto& t : bw) fw.push_back(std::move(t));
    return fw;
  }
  if (auto* td = dynamic_cast<TimeDistributed<T>*>(&layer))
    return preprocess(*td->layer(), std::move(w), version, file, who);
  if (dynamic_cast<Model<T>*>(&layer)) {
    const WeightOwners<T> owners = weight_owners(layer, w.size());
    if (owners.empty()) return w;  // a count that does not fit: the checks report it
    std::vector<Tensor<T>> out;
    auto it = w.begin();
    for (const auto& [owner, n] : owners) {
      std::vector<Tensor<T>> part(std::make_move_iterator(it), std::make_move_iterator(it + static_cast<long>(n)));
      it += static_cast<long>(n);
      for (auto& t : preprocess(*owner, std::move(part), version, file, who + " layer '" + owner->name() + "'"))
        out.push_back(std::move(t));
    }
    return out;
  }
  auto* rnn = dynamic_cast<RNN<T>*>(&layer);
  if (!rnn) return w;
  const Cell<T>* cell = &rnn->cell();
  const std::string context = file + ": " + who;
  if (version.major <= 1 && w.size() == 12 && dynamic_cast<const LSTMCell<T>*>(cell)) {
    // old: i, c, f, o (W, U, b each); new: i, f, c, o.
    w = {concat_columns<T>({&w[0], &w[6], &w[3], &w[9]}, context),
         concat_columns<T>({&w[1], &w[7], &w[4], &w[10]}, context),
         concat_columns<T>({&w[2], &w[8], &w[5], &w[11]}, context)};
  } else if (version.major <= 1 && w.size() == 9 && dynamic_cast<const GRUCell<T>*>(cell)) {
    w = {concat_columns<T>({&w[0], &w[3], &w[6]}, context), concat_columns<T>({&w[1], &w[4], &w[7]}, context),
         concat_columns<T>({&w[2], &w[5], &w[8]}, context)};
  }
  convert_cudnn_weights(cell, w, file, who);
  return w;
}

}  // namespace

template <class T>
std::vector<PendingWeights<T>> read_legacy_weights(const h5::Group& group, const std::vector<WeightTarget<T>>& layers,
                                                   const KerasVersion& version) {
  const std::string& file = group.where();
  const auto layer_names = chunked_string_list(group, "layer_names");
  if (!layer_names)
    throw FormatError(file + ": group '" + group.path() + "' has no 'layer_names' attribute (not Keras HDF5 weights)");
  // Saved layers that own weights, in file order.
  struct Saved {
    std::string name;
    std::vector<std::string> weight_names;
  };
  std::vector<Saved> saved;
  for (const auto& name : *layer_names) {
    if (!group.has_group(name))
      throw FormatError(file + ": layer_names lists '" + name + "' but group '" + group.join(name) + "' is missing");
    auto weight_names = chunked_string_list(group.group(name), "weight_names");
    if (weight_names && !weight_names->empty()) saved.push_back({name, std::move(*weight_names)});
  }
  std::vector<const WeightTarget<T>*> targets;
  for (const auto& t : layers)
    if (!t.layer->params().empty()) targets.push_back(&t);
  if (targets.size() != saved.size()) {
    std::vector<std::string> model_names, file_names;
    for (const auto* t : targets) model_names.push_back(t->layer->name());
    for (const auto& s : saved) file_names.push_back(s.name);
    throw FormatError(file + ": layer count mismatch: the model has " + std::to_string(targets.size()) +
                      " layers with weights (" + join_names(model_names) + "), the file " +
                      std::to_string(saved.size()) + " (" + join_names(file_names) + ")");
  }
  if (group.has_group("top_level_model_weights")) {
    auto names = chunked_string_list(group.group("top_level_model_weights"), "weight_names");
    if (names && !names->empty())
      throw FormatError(file + ": the file holds top-level model weights (" + join_names(*names) +
                        "), which rnnx models do not have");
  }
  std::vector<PendingWeights<T>> out;
  for (size_t k = 0; k < targets.size(); ++k) {
    const WeightTarget<T>& target = *targets[k];
    const std::string who = describe_layer(target) + " (saved as '" + saved[k].name + "')";
    const h5::Group g = group.group(saved[k].name);
    const std::vector<Param<T>> params = target.layer->params();
    // No dataset may be larger than twice the layer's largest weight (a cuDNN bias is
    // twice the Keras one): anything bigger is refused before it is read.
    int64_t largest = 0;
    for (const auto& p : params) largest = std::max(largest, p.value->size());
    std::vector<WeightSource> sources;
    for (const auto& wn : saved[k].weight_names) {
      if (!g.has_dataset(wn))
        throw FormatError(file + ": " + who + ": dataset '" + g.join(wn) + "' named in weight_names is missing");
      const h5::DatasetInfo info = g.dataset_info(wn);
      if (info.value_class != h5::ValueClass::floating)
        throw FormatError(file + ": " + who + ": dataset '" + g.join(wn) + "' holds " +
                          (info.value_class == h5::ValueClass::integer  ? "integers"
                           : info.value_class == h5::ValueClass::string ? "strings"
                                                                        : "non-numeric values") +
                          ", expected floating-point weights");
      sources.push_back({quoted(g.join(wn)), info.shape});
      if (num_elements(info.shape) > 2 * largest + 64) {
        if (saved[k].weight_names.size() == params.size()) {
          std::vector<WeightSource> so_far = sources;
          for (size_t i = so_far.size(); i < params.size(); ++i) so_far.push_back({"", params[i].value->shape()});
          check_weight_shapes(params, so_far, file, who, quoted(g.path()));
        }
        throw FormatError(file + ": " + who + ": dataset '" + g.join(wn) + "' has shape " + to_string(info.shape) +
                          ", larger than any weight of the layer");
      }
    }
    std::vector<Tensor<T>> values;
    for (size_t i = 0; i < sources.size(); ++i) values.push_back(g.read<T>(saved[k].weight_names[i], sources[i].shape));
    values = preprocess(*target.layer, from_trainable_first(*target.layer, std::move(values), target.frozen), version,
                        file, who);
    std::vector<WeightSource> got;
    for (size_t i = 0; i < values.size(); ++i)
      got.push_back({values.size() == sources.size() ? sources[i].path : "converted", values[i].shape()});
    check_weight_shapes(params, got, file, who, quoted(g.path()));
    out.push_back({target.layer, std::move(values)});
  }
  return out;
}

template std::vector<PendingWeights<float>> read_legacy_weights<float>(const h5::Group&,
                                                                       const std::vector<WeightTarget<float>>&,
                                                                       const KerasVersion&);
template std::vector<PendingWeights<double>> read_legacy_weights<double>(const h5::Group&,
                                                                         const std::vector<WeightTarget<double>>&,
                                                                         const KerasVersion&);

}  // namespace rnnx::detail
