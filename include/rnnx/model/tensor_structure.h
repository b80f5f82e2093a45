#pragma once
// TensorStructure: how a Keras model nests its inputs or outputs (K3 ops/function.py
// _inputs_struct / _outputs_struct, written as the config's input_layers / output_layers).
// Keras allows any nesting of lists and dicts: `keras.Model(x, [a, [b, c]])`,
// `keras.Model(x, {"y": a, "z": b})`, or an RNN over stacked cells with return_state,
// whose states come grouped per cell ([out, [h1, c1], [h2, c2]]).
//
// rnnx models take and return flat lists, in keras.tree.flatten order: lists in order,
// dicts by sorted key (K3 keras/src/tree/tree_api.py flatten; optree and dm-tree sort
// dict keys). A structure only records the nesting, so that a saved model keeps it; its
// leaves are numbered 0, 1, ... in that same flatten order.
#include <cstddef>
#include <string>
#include <vector>

namespace rnnx {

struct TensorStructure {
  enum class Kind { leaf, list, dict };
  Kind kind = Kind::leaf;
  std::vector<std::string> keys{};       // dict: the keys, sorted (flatten order)
  std::vector<TensorStructure> items{};  // list: the elements; dict: the values, parallel to keys

  // A list of n leaves (Keras `outputs=[a, b, ...]`).
  static TensorStructure flat_list(size_t n);
  // Number of leaves (tensors) in flatten order.
  size_t leaf_count() const;
  // Python-like text with the leaves numbered in flatten order: "[0, [1, 2]]",
  // "{'a_out': 0, 'z_out': 1}", "0" (a single tensor).
  std::string to_string() const;
  // Throws ConfigError (prefixed with `where`) unless every dict has one key per item, the
  // keys distinct and sorted.
  void validate(const std::string& where) const;
  bool operator==(const TensorStructure& other) const;
};

}  // namespace rnnx
