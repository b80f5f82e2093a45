#include "rnnx/model/tensor_structure.h"

#include <algorithm>

#include "rnnx/core/error.h"

namespace rnnx {
namespace {

void append(const TensorStructure& s, size_t& next, std::string& out) {
  switch (s.kind) {
    case TensorStructure::Kind::leaf:
      out += std::to_string(next++);
      return;
    case TensorStructure::Kind::list:
      out += '[';
      for (size_t i = 0; i < s.items.size(); ++i) {
        if (i) out += ", ";
        append(s.items[i], next, out);
      }
      out += ']';
      return;
    case TensorStructure::Kind::dict:
      out += '{';
      for (size_t i = 0; i < s.items.size(); ++i) {
        if (i) out += ", ";
        out += "'" + (i < s.keys.size() ? s.keys[i] : std::string("?")) + "': ";
        append(s.items[i], next, out);
      }
      out += '}';
      return;
  }
}

}  // namespace

TensorStructure TensorStructure::flat_list(size_t n) {
  TensorStructure s;
  s.kind = Kind::list;
  s.items.resize(n);
  return s;
}

size_t TensorStructure::leaf_count() const {
  if (kind == Kind::leaf) return 1;
  size_t n = 0;
  for (const auto& item : items) n += item.leaf_count();
  return n;
}

std::string TensorStructure::to_string() const {
  std::string out;
  size_t next = 0;
  append(*this, next, out);
  return out;
}

void TensorStructure::validate(const std::string& where) const {
  if (kind == Kind::dict) {
    if (keys.size() != items.size())
      throw ConfigError(where + ": a dict structure needs one key per item, got " + std::to_string(keys.size()) +
                        " keys for " + std::to_string(items.size()) + " items");
    for (size_t i = 1; i < keys.size(); ++i)
      if (!(keys[i - 1] < keys[i]))
        throw ConfigError(where + ": dict keys must be distinct and sorted (keras.tree.flatten order), got '" +
                          keys[i - 1] + "' before '" + keys[i] + "'");
  } else if (!keys.empty()) {
    throw ConfigError(where + ": only a dict structure has keys, got " + std::to_string(keys.size()));
  }
  if (kind == Kind::leaf && !items.empty())
    throw ConfigError(where + ": a leaf has no items, got " + std::to_string(items.size()));
  for (const auto& item : items) item.validate(where);
}

bool TensorStructure::operator==(const TensorStructure& other) const {
  return kind == other.kind && keys == other.keys && items == other.items;
}

}  // namespace rnnx
