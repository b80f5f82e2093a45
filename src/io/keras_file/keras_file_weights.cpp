// Weights of the Keras 3 / .keras layout (spec §8.1: K3 keras/src/saving/saving_lib.py,
// H5IOStore), the shared weight checks, and the cuDNN weight layouts (spec §7).
#include <map>
#include <set>

#include "io/keras_file/keras_file_impl.h"
#include "rnnx/cells/gru_cell.h"
#include "rnnx/cells/lstm_cell.h"
#include "rnnx/cells/stacked_cells.h"
#include "rnnx/core/error.h"
#include "rnnx/layers/bidirectional.h"
#include "rnnx/layers/multi_head_attention.h"
#include "rnnx/layers/rnn.h"
#include "rnnx/layers/time_distributed.h"
#include "rnnx/model/model.h"

namespace rnnx::detail {

// ---------------------------------------------------------------------------------------
// Checks shared by both layouts

template <class T>
void check_weight_shapes(const std::vector<Param<T>>& params, const std::vector<WeightSource>& got,
                         const std::string& file, const std::string& who, const std::string& container) {
  if (params.size() != got.size()) {
    std::string expected;
    for (const auto& p : params)
      expected += (expected.empty() ? "" : ", ") + p.name + " " + to_string(p.value->shape());
    throw FormatError(file + ": " + who + " expects " + std::to_string(params.size()) + " weights (" + expected +
                      "), the file has " + std::to_string(got.size()) + " in " + container +
                      " (weight count mismatch)");
  }
  for (size_t i = 0; i < params.size(); ++i) {
    const Shape& want = params[i].value->shape();
    if (got[i].shape != want)
      throw FormatError(file + ": " + who + ": weight '" + params[i].name + "' has shape " + to_string(got[i].shape) +
                        " in the file (" + got[i].path + "), expected " + to_string(want) + " from the config");
  }
}

template <class T>
void apply_weights(std::vector<PendingWeights<T>>& pending) {
  for (auto& p : pending) p.layer->set_weights(p.values);
}

// ---------------------------------------------------------------------------------------
// cuDNN layouts

template <class T>
Tensor<T> cudnn_kernel_to_keras(const Tensor<T>& kernel, int64_t gates) {
  // Per gate block k (D x U): kernel.T.reshape((D, U), order="F"), i.e. out[i][j] is
  // element i + j*D of k in C order.
  const int64_t d = kernel.dim(0), u = kernel.dim(1) / gates, cols = kernel.dim(1);
  Tensor<T> out(kernel.shape());
  for (int64_t g = 0; g < gates; ++g)
    for (int64_t i = 0; i < d; ++i)
      for (int64_t j = 0; j < u; ++j) {
        const int64_t flat = i + j * d;
        out[i * cols + g * u + j] = kernel[(flat / u) * cols + g * u + flat % u];
      }
  return out;
}

template <class T>
Tensor<T> cudnn_recurrent_to_keras(const Tensor<T>& recurrent, int64_t gates) {
  // Per gate block (U x U): transposed.
  const int64_t u = recurrent.dim(0), cols = recurrent.dim(1);
  Tensor<T> out(recurrent.shape());
  for (int64_t g = 0; g < gates; ++g)
    for (int64_t i = 0; i < u; ++i)
      for (int64_t j = 0; j < u; ++j) out[i * cols + g * u + j] = recurrent[j * cols + g * u + i];
  return out;
}

template <class T>
bool is_cudnn_bias(const Cell<T>* cell, const Shape& bias_shape) {
  if (auto* lstm = dynamic_cast<const LSTMCell<T>*>(cell))
    return lstm->options().use_bias && bias_shape == Shape{8 * lstm->units()};
  if (auto* gru = dynamic_cast<const GRUCell<T>*>(cell))
    return gru->options().use_bias && bias_shape == Shape{6 * gru->units()};
  return false;
}

template <class T>
void convert_cudnn_weights(const Cell<T>* cell, std::vector<Tensor<T>>& values, const std::string& file,
                           const std::string& who) {
  if (values.size() != 3 || !is_cudnn_bias(cell, values[2].shape())) return;
  if (values[0].rank() != 2 || values[1].rank() != 2) return;  // the shape check reports it
  if (auto* lstm = dynamic_cast<const LSTMCell<T>*>(cell)) {
    const int64_t u = lstm->units();
    if (values[0].dim(1) != 4 * u || values[1].shape() != Shape{u, 4 * u}) return;
    // CuDNNLSTM: separate input and recurrent biases; Keras LSTM uses their sum.
    Tensor<T> bias(Shape{4 * u});
    for (int64_t i = 0; i < 4 * u; ++i) bias[i] = values[2][i] + values[2][4 * u + i];
    values = {cudnn_kernel_to_keras(values[0], 4), cudnn_recurrent_to_keras(values[1], 4), std::move(bias)};
    return;
  }
  auto* gru = dynamic_cast<const GRUCell<T>*>(cell);
  const int64_t u = gru->units();
  if (!gru->options().reset_after)
    throw FormatError(file + ": " + who + ": the file holds CuDNNGRU weights (bias of shape [" + std::to_string(6 * u) +
                      "]), which only fit a GRU with reset_after=True; the config has reset_after=False");
  if (values[0].dim(1) != 3 * u || values[1].shape() != Shape{u, 3 * u}) return;
  values = {cudnn_kernel_to_keras(values[0], 3), cudnn_recurrent_to_keras(values[1], 3),
            values[2].reshaped(Shape{2, 3 * u})};
}

// ---------------------------------------------------------------------------------------
// The .keras path rule

namespace {

// An object that owns variables in the file: its group path and its own params.
template <class T>
struct SavedObject {
  std::string path;
  std::vector<Param<T>> params;
  const Cell<T>* cell = nullptr;  // set for cells (cuDNN layouts)
};

template <class T>
class PathWalker {
 public:
  explicit PathWalker(bool keras3) : keras3_(keras3) {}

  // The objects of one list entry (a top-level layer) at `path`, in weight order.
  void layer(Layer<T>& l, const std::string& path) {
    if (auto* m = dynamic_cast<Model<T>*>(&l)) {
      objects_.push_back({path, {}, nullptr});
      std::map<std::string, int> used;
      for (const auto& child : m->layers()) layer(*child, path + "/layers/" + next_name(used, child->class_name()));
    } else if (auto* b = dynamic_cast<Bidirectional<T>*>(&l)) {
      objects_.push_back({path, {}, nullptr});
      layer(b->forward_layer(), path + "/forward_layer");
      layer(b->backward_layer(), path + "/backward_layer");
    } else if (auto* td = dynamic_cast<TimeDistributed<T>*>(&l)) {
      objects_.push_back({path, {}, nullptr});
      layer(*td->layer(), path + "/layer");
    } else if (auto* r = dynamic_cast<RNN<T>*>(&l)) {
      objects_.push_back({path, {}, nullptr});
      cell(r->cell(), path + "/cell");
    } else if (auto* mha = dynamic_cast<MultiHeadAttention<T>*>(&l)) {  // EinsumDense sublayers
      objects_.push_back({path, {}, nullptr});
      // tf_keras saves them under their attribute names: _query_dense, ..., _output_dense.
      for (auto& [sub, ps] : mha->saved_parts()) objects_.push_back({path + (keras3_ ? "/" : "/_") + sub, ps, nullptr});
    } else {
      objects_.push_back({path, l.params(), nullptr});
    }
  }

  void cell(Cell<T>& c, const std::string& path) {
    if (auto* s = dynamic_cast<StackedCells<T>*>(&c)) {
      objects_.push_back({path, {}, nullptr});
      std::map<std::string, int> used;
      for (size_t k = 0; k < s->size(); ++k)
        cell(s->cell(k), path + "/cells/" + next_name(used, s->cell(k).class_name()));
    } else {
      objects_.push_back({path, c.params(), &c});
    }
  }

  // saving_lib._save_container_state: snake_case class name, then _1, _2, ... on repeats.
  std::string next_name(std::map<std::string, int>& used, const std::string& class_name) const {
    const std::string base = keras_snake_case(class_name, keras3_);
    auto it = used.find(base);
    if (it == used.end()) {
      used[base] = 0;
      return base;
    }
    return base + "_" + std::to_string(++it->second);
  }

  std::vector<SavedObject<T>> take() { return std::move(objects_); }

 private:
  bool keras3_;
  std::vector<SavedObject<T>> objects_;
};

// tf.keras 2.13-era files keep the layer list under _layer_checkpoint_dependencies/
// instead of layers/ (K3 H5IOStore.get falls back the same way).
std::string fallback_path(const std::string& path) {
  std::string out;
  size_t start = 0;
  while (start <= path.size()) {
    size_t end = path.find('/', start);
    if (end == std::string::npos) end = path.size();
    const std::string part = path.substr(start, end - start);
    out += (out.empty() ? "" : "/") + (part == "layers" ? std::string("_layer_checkpoint_dependencies") : part);
    start = end + 1;
  }
  return out;
}

}  // namespace

template <class T>
std::vector<PendingWeights<T>> read_keras_weights(const h5::Group& root, const std::vector<WeightTarget<T>>& layers,
                                                  bool keras3) {
  const std::string& file = root.where();
  const bool has_fallback = !root.has_group("layers") && root.has_group("_layer_checkpoint_dependencies");
  const std::string container = has_fallback ? "_layer_checkpoint_dependencies" : "layers";
  PathWalker<T> names(keras3);
  std::map<std::string, int> used;
  std::set<std::string> assigned;
  std::vector<PendingWeights<T>> out;
  for (const auto& target : layers) {
    const std::string name = names.next_name(used, target.class_name);
    assigned.insert(name);
    PathWalker<T> walker(keras3);
    walker.layer(*target.layer, "layers/" + name);
    const std::string who = describe_layer(target);
    PendingWeights<T> pending{target.layer, {}};
    for (auto& obj : walker.take()) {
      const std::string path = has_fallback ? fallback_path(obj.path) : obj.path;
      const std::string vars_path = path + "/vars";
      const bool has_vars = root.has_group(vars_path);
      if (obj.params.empty()) {
        if (has_vars && root.group(vars_path).contains_datasets())
          throw FormatError(file + ": " + who + ": '" + root.join(vars_path) +
                            "' holds weights, but this object has none (weight count mismatch)");
        continue;
      }
      if (!has_vars)
        throw FormatError(file + ": " + who + ": the weights group '" + root.join(vars_path) +
                          "' is missing (expected " + std::to_string(obj.params.size()) + " weights there)");
      const h5::Group vars = root.group(vars_path);
      // Exactly vars/0 .. vars/n-1 (K3 load_own_variables checks the count the same way).
      std::vector<WeightSource> sources;
      for (size_t k = 0; k < obj.params.size(); ++k) {
        const std::string rel = vars_path + "/" + std::to_string(k);
        if (!root.has_dataset(rel))
          throw FormatError(file + ": " + who + ": weight '" + obj.params[k].name + "' (dataset '" + root.join(rel) +
                            "') is missing");
        const h5::DatasetInfo info = root.dataset_info(rel);
        if (info.value_class != h5::ValueClass::floating)
          throw FormatError(file + ": " + who + ": weight '" + obj.params[k].name + "' (dataset '" + root.join(rel) +
                            "') holds " +
                            (info.value_class == h5::ValueClass::integer  ? "integers"
                             : info.value_class == h5::ValueClass::string ? "strings"
                                                                          : "non-numeric values") +
                            ", expected floating-point weights");
        if (!info.dtype_attr.empty())
          throw FormatError(file + ": " + who + ": dataset '" + root.join(rel) + "' is stored as '" + info.dtype_attr +
                            "', which rnnx does not read (float16/32/64 only)");
        sources.push_back({quoted(root.join(rel)), info.shape});
      }
      if (vars.children().size() != obj.params.size())
        throw FormatError(file + ": " + who + ": '" + root.join(vars_path) + "' holds " +
                          std::to_string(vars.children().size()) + " entries, expected exactly the " +
                          std::to_string(obj.params.size()) + " weights 0.." + std::to_string(obj.params.size() - 1) +
                          " (weight count mismatch)");
      // A cuDNN bias shape means converted weights (spec §7); the other shapes must fit.
      std::vector<Param<T>> expect = obj.params;
      std::vector<Tensor<T>> bias_holder;
      const bool cudnn = obj.cell && sources.size() == 3 && is_cudnn_bias(obj.cell, sources[2].shape);
      if (cudnn) {
        bias_holder.emplace_back(sources[2].shape);
        expect[2].value = &bias_holder.back();
      }
      check_weight_shapes(expect, sources, file, who, quoted(root.join(vars_path)));
      std::vector<Tensor<T>> values;
      for (size_t k = 0; k < sources.size(); ++k)
        values.push_back(root.read<T>(vars_path + "/" + std::to_string(k), sources[k].shape));
      if (cudnn) convert_cudnn_weights(obj.cell, values, file, who);
      for (auto& v : values) pending.values.push_back(std::move(v));
    }
    // The objects' params together are the layer's params (same order); a mismatch here
    // would be an rnnx bug, but the count check keeps set_weights from seeing it.
    if (pending.values.size() != target.layer->params().size())
      throw FormatError(file + ": " + who + ": found " + std::to_string(pending.values.size()) +
                        " weights, the layer has " + std::to_string(target.layer->params().size()));
    out.push_back(std::move(pending));
  }
  // Weights the model has no layer for: an architecture that does not match the file.
  if (root.has_group(container)) {
    const h5::Group list = root.group(container);
    for (const auto& child : list.children())
      if (!assigned.count(child) && list.has_group(child) && list.group(child).contains_datasets())
        throw FormatError(file + ": '" + list.join(child) +
                          "' holds weights, but the model has no layer stored under that name (the model has " +
                          std::to_string(layers.size()) + " layers; layer count mismatch)");
  } else if (!layers.empty()) {
    bool any = false;
    for (const auto& t : layers) any = any || !t.layer->params().empty();
    if (any) throw FormatError(file + ": the weights file has no 'layers' group");
  }
  return out;
}

template void check_weight_shapes<float>(const std::vector<Param<float>>&, const std::vector<WeightSource>&,
                                         const std::string&, const std::string&, const std::string&);
template void check_weight_shapes<double>(const std::vector<Param<double>>&, const std::vector<WeightSource>&,
                                          const std::string&, const std::string&, const std::string&);
template void apply_weights<float>(std::vector<PendingWeights<float>>&);
template void apply_weights<double>(std::vector<PendingWeights<double>>&);
template Tensor<float> cudnn_kernel_to_keras<float>(const Tensor<float>&, int64_t);
template Tensor<double> cudnn_kernel_to_keras<double>(const Tensor<double>&, int64_t);
template Tensor<float> cudnn_recurrent_to_keras<float>(const Tensor<float>&, int64_t);
template Tensor<double> cudnn_recurrent_to_keras<double>(const Tensor<double>&, int64_t);
template bool is_cudnn_bias<float>(const Cell<float>*, const Shape&);
template bool is_cudnn_bias<double>(const Cell<double>*, const Shape&);
template void convert_cudnn_weights<float>(const Cell<float>*, std::vector<Tensor<float>>&, const std::string&,
                                           const std::string&);
template void convert_cudnn_weights<double>(const Cell<double>*, std::vector<Tensor<double>>&, const std::string&,
                                            const std::string&);
template std::vector<PendingWeights<float>> read_keras_weights<float>(const h5::Group&,
                                                                      const std::vector<WeightTarget<float>>&, bool);
template std::vector<PendingWeights<double>> read_keras_weights<double>(const h5::Group&,
                                                                        const std::vector<WeightTarget<double>>&, bool);

}  // namespace rnnx::detail
