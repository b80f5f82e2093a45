// Read-only HDF5 access for the Keras loaders (see hdf5.h), on rnnx's own parser
// (h5_object.h). Every Damage from below becomes a FormatError naming the file and the
// object or attribute that was being read.
#include "io/hdf5/hdf5.h"

#include <algorithm>
#include <cfloat>
#include <cmath>
#include <limits>
#include <map>
#include <set>

#include "io/hdf5/h5_object.h"
#include "io/hdf5/h5_walk.h"
#include "rnnx/core/error.h"
#include "rnnx/io/read_limits.h"

namespace rnnx::detail::h5 {

namespace {

// Runs `f`, turning Damage into FormatError("<where>: <context>: <damage>").
template <class F>
auto guarded(const std::string& where, const std::string& context, F&& f) -> decltype(f()) {
  try {
    return f();
  } catch (const Damage& e) {
    throw FormatError(where + ": " + context + ": " + e.what());
  }
}

std::string quoted_path(const std::string& p) { return "'" + p + "'"; }

ValueClass value_class_of(const Datatype& t) {
  switch (t.cls) {
    case TypeClass::floating:
      return ValueClass::floating;
    case TypeClass::fixed_point:
      return ValueClass::integer;
    case TypeClass::string:
      return ValueClass::string;
    case TypeClass::vlen:
      return t.vlen_string ? ValueClass::string : ValueClass::other;
    default:
      return ValueClass::other;
  }
}

const Attribute* find_attr(const std::vector<Attribute>& attrs, const std::string& name) {
  for (const auto& a : attrs)
    if (a.name == name) return &a;
  return nullptr;
}

// libhdf5's double -> float conversion: values beyond FLT_MAX become infinities.
float to_float(double v) {
  if (std::isfinite(v) && std::fabs(v) > static_cast<double>(FLT_MAX))
    return v > 0 ? std::numeric_limits<float>::infinity() : -std::numeric_limits<float>::infinity();
  return static_cast<float>(v);
}

}  // namespace

// ---------------------------------------------------------------------------------------
// File

File::File(std::span<const uint8_t> image, std::string where, Limits limits) : where_(std::move(where)) {
  if (image.empty() || !has_hdf5_signature(image)) throw FormatError(where_ + ": not an HDF5 file (no HDF5 signature)");
  reader_ = guarded(where_, "cannot open the HDF5 file", [&] { return std::make_unique<Reader>(image, limits); });
}

File::File(std::span<const uint8_t> image, std::string where)
    : File(image, std::move(where), [] {
        Limits limits;
        limits.max_dataset_bytes = static_cast<uint64_t>(read_limits().max_decoded_bytes);
        return limits;
      }()) {}

File::~File() = default;

Group File::root() const {
  const uint64_t root = reader_->root();
  const ObjectKind kind = guarded(where_, "HDF5 root group", [&] { return reader_->kind(root); });
  if (kind != ObjectKind::group) throw FormatError(where_ + ": the HDF5 root object is not a group");
  return Group(this, root, "/");
}

std::vector<std::string> split_path(const std::string& path) {
  std::vector<std::string> parts;
  std::string cur;
  for (char c : path) {
    if (c == '/') {
      if (!cur.empty()) parts.push_back(cur);
      cur.clear();
    } else {
      cur += c;
    }
  }
  if (!cur.empty()) parts.push_back(cur);
  return parts;
}

bool has_hdf5_signature(std::span<const uint8_t> data) { return find_signature(data).has_value(); }

// ---------------------------------------------------------------------------------------
// Group

const std::string& Group::where() const { return file_->where(); }

std::string Group::join(const std::string& rel) const {
  if (path_ == "/" || path_.empty()) return "/" + rel;
  return path_ + "/" + rel;
}

std::optional<uint64_t> Group::resolve(const std::string& rel) const {
  Reader& r = file_->reader();
  uint64_t cur = addr_;
  std::string at = path_;
  for (const auto& p : split_path(rel)) {
    if (p == "." || p == "..") return std::nullopt;
    const auto found = guarded(where(), "HDF5 group " + quoted_path(at), [&]() -> std::optional<Link> {
      if (r.kind(cur) != ObjectKind::group) return std::nullopt;
      const Link* l = r.find_link(cur, p);
      return l ? std::optional<Link>(*l) : std::nullopt;
    });
    at = at == "/" ? "/" + p : at + "/" + p;
    if (!found) return std::nullopt;
    if (found->type == Link::external)
      throw FormatError(where() + ": " + quoted_path(at) +
                        " is an HDF5 external link (to another file), which rnnx refuses to follow");
    if (found->type != Link::hard) return std::nullopt;  // soft links are not followed
    cur = found->address;
  }
  return cur;
}

bool Group::is_kind(const std::string& rel, int kind) const {
  const auto addr = resolve(rel);
  if (!addr) return false;
  const ObjectKind k =
      guarded(where(), "HDF5 object " + quoted_path(join(rel)), [&] { return file_->reader().kind(*addr); });
  return static_cast<int>(k) == kind;
}

bool Group::has_group(const std::string& rel) const { return is_kind(rel, static_cast<int>(ObjectKind::group)); }

bool Group::has_dataset(const std::string& rel) const { return is_kind(rel, static_cast<int>(ObjectKind::dataset)); }

Group Group::group(const std::string& rel) const {
  if (!has_group(rel)) throw FormatError(where() + ": HDF5 group '" + join(rel) + "' is missing");
  return Group(file_, *resolve(rel), split_path(rel).empty() ? path_ : join(rel));
}

std::vector<std::string> Group::children() const {
  const auto& links = guarded(where(), "HDF5 group " + quoted_path(path_),
                              [&]() -> const std::vector<Link>& { return file_->reader().links(addr_); });
  std::vector<std::string> names;
  for (const auto& l : links) names.push_back(l.name);
  return names;
}

// Both walks below visit each group once (hard links may form cycles or share subtrees).
bool Group::contains_datasets() const {
  std::set<uint64_t> seen{addr_};
  auto any = [&](auto&& self, const Group& g, int depth) -> bool {
    if (depth > kMaxGroupDepth) return false;
    for (const auto& c : g.children()) {
      if (g.has_dataset(c)) return true;
      if (!g.has_group(c)) continue;
      const Group child = g.group(c);
      if (seen.insert(child.addr_).second && self(self, child, depth + 1)) return true;
    }
    return false;
  };
  return any(any, *this, 0);
}

int64_t Group::count_dataset_elements() const {
  constexpr int64_t cap = int64_t{1} << 62;
  std::map<uint64_t, int64_t> memo;  // group address -> elements (0 while being counted)
  auto count = [&](auto&& self, const Group& g, int depth) -> int64_t {
    if (depth > kMaxGroupDepth) return 0;
    if (auto it = memo.find(g.addr_); it != memo.end()) return it->second;
    memo[g.addr_] = 0;
    int64_t total = 0;
    for (const auto& c : g.children()) {
      int64_t n = 0;
      if (g.has_dataset(c)) {
        n = 1;
        for (int64_t d : g.dataset_info(c).shape) n = d == 0 ? 0 : (n > cap / d ? cap : n * d);
      } else if (g.has_group(c)) {
        n = self(self, g.group(c), depth + 1);
      }
      total = total > cap - n ? cap : total + n;
    }
    memo[g.addr_] = total;
    return total;
  };
  return count(count, *this, 0);
}

bool Group::has_attr(const std::string& name) const {
  return guarded(where(), "attributes of " + quoted_path(path_),
                 [&] { return find_attr(file_->reader().attributes(addr_), name) != nullptr; });
}

std::optional<std::string> Group::string_attr(const std::string& name) const {
  auto list = string_list_attr(name);
  if (!list) return std::nullopt;
  if (list->size() != 1)
    throw FormatError(where() + ": attribute '" + name + "' of '" + path_ + "' should hold one string, it holds " +
                      std::to_string(list->size()));
  return (*list)[0];
}

std::optional<std::vector<std::string>> Group::string_list_attr(const std::string& name) const {
  const std::string what = "attribute '" + name + "' of '" + path_ + "'";
  Reader& r = file_->reader();
  return guarded(where(), what, [&]() -> std::optional<std::vector<std::string>> {
    const auto attrs = r.attributes(addr_);
    const Attribute* a = find_attr(attrs, name);
    if (!a) return std::nullopt;
    if (a->space.dims.size() > 1)
      throw FormatError(where() + ": " + what + " should be a list of strings, it has rank " +
                        std::to_string(a->space.dims.size()));
    const ValueClass vc = value_class_of(a->type);
    const uint64_t n = a->space.count();
    if (vc != ValueClass::string) {
      if (n == 0) return std::vector<std::string>{};
      throw FormatError(where() + ": " + what + " should hold strings, it holds " +
                        (vc == ValueClass::floating  ? "floating-point numbers"
                         : vc == ValueClass::integer ? "integers"
                                                     : "values of another type"));
    }
    return r.strings(a->type, a->data, n);
  });
}

DatasetInfo Group::dataset_info(const std::string& rel) const {
  if (!has_dataset(rel)) throw FormatError(where() + ": HDF5 dataset '" + join(rel) + "' is missing");
  const uint64_t addr = *resolve(rel);
  Reader& r = file_->reader();
  const std::string what = "dataset " + quoted_path(join(rel));
  return guarded(where(), what, [&] {
    const DatasetParts d = r.dataset(addr);
    DatasetInfo info;
    info.value_class = value_class_of(d.type);
    info.element_size = static_cast<int64_t>(reported_size(d.type));
    // Callers multiply the dimensions (num_elements): the count must fit comfortably.
    uint64_t count = 1;
    for (uint64_t dim : d.space.dims) {
      count = dim == 0 || count == 0 ? 0 : (count > (uint64_t{1} << 62) / dim ? (uint64_t{1} << 62) + 1 : count * dim);
      if (dim > (uint64_t{1} << 62) || count > (uint64_t{1} << 62))
        throw FormatError(where() + ": " + what + " has an absurd shape " + dims_text(d.space.dims));
      info.shape.push_back(static_cast<int64_t>(dim));
    }
    const auto attrs = r.attributes(addr);
    if (const Attribute* a = find_attr(attrs, "dtype")) {
      if (value_class_of(a->type) == ValueClass::string && a->space.count() == 1)
        info.dtype_attr = r.strings(a->type, a->data, 1).at(0);
      else
        info.dtype_attr.assign(1, '?');  // present but not a string
    }
    return info;
  });
}

template <class T>
Tensor<T> Group::read(const std::string& rel, const Shape& expected) const {
  const DatasetInfo info = dataset_info(rel);
  if (info.value_class != ValueClass::floating || info.shape != expected)
    throw FormatError(where() + ": dataset '" + join(rel) + "' is not a floating-point array of shape " +
                      to_string(expected));
  if (std::find(expected.begin(), expected.end(), 0) != expected.end()) return Tensor<T>(expected);
  const uint64_t addr = *resolve(rel);
  Reader& r = file_->reader();
  return guarded(where(), "dataset " + quoted_path(join(rel)), [&] {
    const DatasetParts d = r.dataset(addr);
    check_float_layout(d.type);
    // The values first: their size is checked against the file and the limits there,
    // before the tensor is allocated.
    const std::vector<uint8_t> raw = r.values(d);
    const uint64_t n = static_cast<uint64_t>(num_elements(expected));
    if (raw.size() / d.type.size != n)  // a null dataspace has no values at all
      damaged("it holds " + std::to_string(raw.size() / d.type.size) + " values, its shape " + to_string(expected) +
              " needs " + std::to_string(n));
    Tensor<T> out(expected);
    for (int64_t i = 0; i < out.size(); ++i) {
      const double v = float_at(d.type, raw, static_cast<uint64_t>(i));
      if constexpr (std::is_same_v<T, float>)
        out[i] = to_float(v);
      else
        out[i] = static_cast<T>(v);
    }
    return out;
  });
}

template Tensor<float> Group::read<float>(const std::string&, const Shape&) const;
template Tensor<double> Group::read<double>(const std::string&, const Shape&) const;

}  // namespace rnnx::detail::h5
