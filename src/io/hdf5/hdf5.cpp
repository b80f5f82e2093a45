// Read-only HDF5 access for the Keras loaders (see hdf5.h). Every HDF5 call is checked;
// failures become FormatError with HDF5's innermost error description appended.
#include "io/hdf5/hdf5.h"

#include <hdf5.h>

#include <cstring>

#include "rnnx/core/error.h"

namespace rnnx::detail::h5 {

std::recursive_mutex& library_mutex() {
  static std::recursive_mutex m;
  return m;
}

namespace {

// Attribute payloads above this are malformed for Keras files (HDF5 itself caps compact
// attributes at 64 KiB; Keras chunks longer lists).
constexpr int64_t kMaxAttrBytes = int64_t{1} << 26;
// Deepest group nesting walked by contains_datasets (hard links can form cycles).
constexpr int kMaxDepth = 64;

// The innermost description on HDF5's error stack (then cleared), e.g. "truncated file:
// eof = 1000, sblock->base_addr = 0, stored_eof = 2000".
std::string hdf5_reason() {
  std::string reason;
  auto walk = [](unsigned, const H5E_error2_t* err, void* data) -> herr_t {
    if (err && err->desc && *err->desc) *static_cast<std::string*>(data) = err->desc;
    return 0;
  };
  H5Ewalk2(H5E_DEFAULT, H5E_WALK_DOWNWARD, walk, &reason);
  H5Eclear2(H5E_DEFAULT);
  return reason;
}

[[noreturn]] void fail(const std::string& where, const std::string& what) {
  const std::string reason = hdf5_reason();
  throw FormatError(where + ": " + what + (reason.empty() ? "" : " (HDF5: " + reason + ")"));
}

// Opens the object at `rel` below `loc` if every component is a hard link (soft and
// external links are not followed: an external link could name any file on the machine).
// Returns an invalid Id when anything is missing.
Id open_object(hid_t loc, const std::string& rel) {
  const auto parts = split_path(rel);
  if (parts.empty()) return Id(H5Oopen(loc, ".", H5P_DEFAULT));
  std::string prefix;
  Id cur;
  for (const auto& p : parts) {
    if (p == "." || p == "..") return Id();
    prefix += (prefix.empty() ? "" : "/") + p;
    if (H5Lexists(loc, prefix.c_str(), H5P_DEFAULT) <= 0) {
      H5Eclear2(H5E_DEFAULT);
      return Id();
    }
    H5L_info_t info;
    if (H5Lget_info(loc, prefix.c_str(), &info, H5P_DEFAULT) < 0 || info.type != H5L_TYPE_HARD) {
      H5Eclear2(H5E_DEFAULT);
      return Id();
    }
  }
  Id obj(H5Oopen(loc, prefix.c_str(), H5P_DEFAULT));
  if (obj.get() < 0) H5Eclear2(H5E_DEFAULT);
  return obj;
}

ValueClass value_class_of(hid_t type) {
  switch (H5Tget_class(type)) {
    case H5T_FLOAT:
      return ValueClass::floating;
    case H5T_INTEGER:
      return ValueClass::integer;
    case H5T_STRING:
      return ValueClass::string;
    default:
      return ValueClass::other;
  }
}

// Reads every string of a string-typed attribute.
std::vector<std::string> read_strings(hid_t attr, hid_t type, hid_t space, int64_t n, const std::string& where,
                                      const std::string& what) {
  std::vector<std::string> out;
  if (n == 0) return out;
  const htri_t vlen = H5Tis_variable_str(type);
  if (vlen < 0) fail(where, what + ": cannot read its string type");
  if (vlen > 0) {
    Id mem(H5Tcopy(H5T_C_S1));
    if (mem.get() < 0 || H5Tset_size(mem.get(), H5T_VARIABLE) < 0 || H5Tset_cset(mem.get(), H5Tget_cset(type)) < 0)
      fail(where, what + ": cannot set up a string type");
    std::vector<char*> ptrs(static_cast<size_t>(n), nullptr);
    if (H5Aread(attr, mem.get(), ptrs.data()) < 0) fail(where, what + ": cannot read it");
    int64_t total = 0;
    for (char* p : ptrs) {
      const size_t len = p ? std::strlen(p) : 0;
      total += static_cast<int64_t>(len);
      if (total <= kMaxAttrBytes) out.emplace_back(p ? p : "", len);
    }
    H5Dvlen_reclaim(mem.get(), space, H5P_DEFAULT, ptrs.data());
    if (total > kMaxAttrBytes) throw FormatError(where + ": " + what + " is implausibly large");
    return out;
  }
  const size_t size = H5Tget_size(type);
  if (size == 0 || static_cast<int64_t>(size) > kMaxAttrBytes / n)
    throw FormatError(where + ": " + what + " is implausibly large");
  std::vector<char> buf(size * static_cast<size_t>(n));
  if (H5Aread(attr, type, buf.data()) < 0) fail(where, what + ": cannot read it");
  for (int64_t i = 0; i < n; ++i) {
    const char* s = buf.data() + static_cast<size_t>(i) * size;
    size_t len = 0;
    while (len < size && s[len] != '\0') ++len;
    // Space-padded fixed strings (H5T_STR_SPACEPAD) keep their trailing spaces out.
    if (H5Tget_strpad(type) == H5T_STR_SPACEPAD)
      while (len > 0 && s[len - 1] == ' ') --len;
    out.emplace_back(s, len);
  }
  return out;
}

}  // namespace

// ---------------------------------------------------------------------------------------
// Id

Id::~Id() {
  if (id_ >= 0) {
    std::lock_guard<std::recursive_mutex> lock(library_mutex());
    H5Idec_ref(id_);
    H5Eclear2(H5E_DEFAULT);
  }
}

Id& Id::operator=(Id&& other) noexcept {
  if (this != &other) {
    Id tmp(std::move(*this));
    id_ = other.id_;
    other.id_ = -1;
  }
  return *this;
}

// ---------------------------------------------------------------------------------------
// File

namespace {
// HDF5's automatic error printing, saved while a File is open and restored after.
struct AutoPrint {
  H5E_auto2_t func = nullptr;
  void* data = nullptr;
  int depth = 0;
};
AutoPrint& auto_print() {
  static AutoPrint a;
  return a;
}
}  // namespace

namespace {
// The caller's image lent to HDF5's core driver without copies: what H5LTopen_file_image
// does with DONT_COPY | DONT_RELEASE, without the bookkeeping it leaks on every open. Every
// "allocation" is the image itself, copies between it and itself do nothing, frees do
// nothing; the file is read-only, so HDF5 never resizes it (realloc fails).
void* loan_malloc(size_t size, H5FD_file_image_op_t, void* udata) {
  auto* loan = static_cast<File::Loan*>(udata);
  return size == loan->size ? loan->data : nullptr;
}
void* loan_memcpy(void* dest, const void* src, size_t size, H5FD_file_image_op_t, void* udata) {
  auto* loan = static_cast<File::Loan*>(udata);
  return dest == loan->data && src == loan->data && size == loan->size ? dest : nullptr;
}
void* loan_realloc(void*, size_t, H5FD_file_image_op_t, void*) { return nullptr; }
herr_t loan_free(void*, H5FD_file_image_op_t, void*) { return 0; }
void* loan_udata_copy(void* udata) { return udata; }
herr_t loan_udata_free(void*) { return 0; }
}  // namespace

File::File(std::span<const uint8_t> image, std::string where) : lock_(library_mutex()), where_(std::move(where)) {
  AutoPrint& ap = auto_print();
  if (ap.depth++ == 0) {
    H5Eget_auto2(H5E_DEFAULT, &ap.func, &ap.data);
    H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr);
  }
  try {
    if (image.empty() || !has_hdf5_signature(image))
      throw FormatError(where_ + ": not an HDF5 file (no HDF5 signature)");
    loan_ = Loan{const_cast<uint8_t*>(image.data()), image.size()};
    H5FD_file_image_callbacks_t callbacks = {loan_malloc,     loan_memcpy,     loan_realloc, loan_free,
                                             loan_udata_copy, loan_udata_free, &loan_};
    Id fapl(H5Pcreate(H5P_FILE_ACCESS));
    if (fapl.get() < 0 || H5Pset_fapl_core(fapl.get(), 1 << 16, /*backing_store=*/0) < 0 ||
        H5Pset_file_image_callbacks(fapl.get(), &callbacks) < 0 ||
        H5Pset_file_image(fapl.get(), loan_.data, loan_.size) < 0)
      fail(where_, "cannot set up reading the HDF5 image");
    // The core driver tells open files apart by name.
    static uint64_t counter = 0;
    const std::string name = "rnnx_image_" + std::to_string(++counter);
    id_ = Id(H5Fopen(name.c_str(), H5F_ACC_RDONLY, fapl.get()));
    if (id_.get() < 0) fail(where_, "cannot open the HDF5 file (truncated or corrupt)");
  } catch (...) {
    id_ = Id();
    if (--ap.depth == 0) H5Eset_auto2(H5E_DEFAULT, ap.func, ap.data);
    throw;
  }
}

File::~File() {
  id_ = Id();
  AutoPrint& ap = auto_print();
  if (--ap.depth == 0) H5Eset_auto2(H5E_DEFAULT, ap.func, ap.data);
}

Group File::root() const {
  Id g(H5Gopen2(id_.get(), "/", H5P_DEFAULT));
  if (g.get() < 0) fail(where_, "cannot open the root group");
  return Group(this, std::move(g), "/");
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

bool has_hdf5_signature(std::span<const uint8_t> data) {
  static const uint8_t sig[8] = {0x89, 'H', 'D', 'F', '\r', '\n', 0x1a, '\n'};
  auto at = [&](size_t off) { return data.size() >= off + 8 && std::memcmp(data.data() + off, sig, 8) == 0; };
  if (at(0)) return true;
  for (size_t off = 512; off + 8 <= data.size() && off <= (size_t{1} << 40); off *= 2)
    if (at(off)) return true;
  return false;
}

// ---------------------------------------------------------------------------------------
// Group

const std::string& Group::where() const { return file_->where(); }

std::string Group::join(const std::string& rel) const {
  if (path_ == "/" || path_.empty()) return "/" + rel;
  return path_ + "/" + rel;
}

bool Group::link_exists(const std::string& rel) const { return open_object(id_.get(), rel).get() >= 0; }

bool Group::has_group(const std::string& rel) const {
  Id obj = open_object(id_.get(), rel);
  return obj.get() >= 0 && H5Iget_type(obj.get()) == H5I_GROUP;
}

bool Group::has_dataset(const std::string& rel) const {
  Id obj = open_object(id_.get(), rel);
  return obj.get() >= 0 && H5Iget_type(obj.get()) == H5I_DATASET;
}

Group Group::group(const std::string& rel) const {
  Id obj = open_object(id_.get(), rel);
  if (obj.get() < 0 || H5Iget_type(obj.get()) != H5I_GROUP)
    throw FormatError(where() + ": HDF5 group '" + join(rel) + "' is missing");
  return Group(file_, std::move(obj), join(rel));
}

std::vector<std::string> Group::children() const {
  H5G_info_t info;
  if (H5Gget_info(id_.get(), &info) < 0) fail(where(), "cannot list HDF5 group '" + path_ + "'");
  std::vector<std::string> names;
  for (hsize_t i = 0; i < info.nlinks; ++i) {
    const ssize_t len = H5Lget_name_by_idx(id_.get(), ".", H5_INDEX_NAME, H5_ITER_INC, i, nullptr, 0, H5P_DEFAULT);
    if (len < 0 || len > 65536) fail(where(), "cannot list HDF5 group '" + path_ + "'");
    std::string name(static_cast<size_t>(len) + 1, '\0');
    if (H5Lget_name_by_idx(id_.get(), ".", H5_INDEX_NAME, H5_ITER_INC, i, name.data(), name.size(), H5P_DEFAULT) < 0)
      fail(where(), "cannot list HDF5 group '" + path_ + "'");
    name.resize(static_cast<size_t>(len));
    names.push_back(std::move(name));
  }
  return names;
}

namespace {
bool any_dataset(const Group& g, int depth) {
  if (depth > kMaxDepth) return false;
  for (const auto& c : g.children()) {
    if (g.has_dataset(c)) return true;
    if (g.has_group(c) && any_dataset(g.group(c), depth + 1)) return true;
  }
  return false;
}
}  // namespace

bool Group::contains_datasets() const { return any_dataset(*this, 0); }

namespace {
int64_t sum_elements(const Group& g, int depth) {
  constexpr int64_t cap = int64_t{1} << 62;
  if (depth > kMaxDepth) return 0;
  int64_t total = 0;
  for (const auto& c : g.children()) {
    int64_t n = 0;
    if (g.has_dataset(c)) {
      n = 1;
      for (int64_t d : g.dataset_info(c).shape) n = d == 0 ? 0 : (n > cap / d ? cap : n * d);
    } else if (g.has_group(c)) {
      n = sum_elements(g.group(c), depth + 1);
    }
    total = total > cap - n ? cap : total + n;
  }
  return total;
}
}  // namespace

int64_t Group::count_dataset_elements() const { return sum_elements(*this, 0); }

bool Group::has_attr(const std::string& name) const {
  const htri_t e = H5Aexists(id_.get(), name.c_str());
  if (e < 0) fail(where(), "cannot look up attribute '" + name + "' of '" + path_ + "'");
  return e > 0;
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
  if (!has_attr(name)) return std::nullopt;
  const std::string what = "attribute '" + name + "' of '" + path_ + "'";
  Id attr(H5Aopen(id_.get(), name.c_str(), H5P_DEFAULT));
  if (attr.get() < 0) fail(where(), "cannot open " + what);
  Id type(H5Aget_type(attr.get()));
  Id space(H5Aget_space(attr.get()));
  if (type.get() < 0 || space.get() < 0) fail(where(), "cannot read the type of " + what);
  const int ndims = H5Sget_simple_extent_ndims(space.get());
  const hssize_t n = H5Sget_simple_extent_npoints(space.get());
  if (ndims < 0 || n < 0) fail(where(), "cannot read the shape of " + what);
  if (ndims > 1)
    throw FormatError(where() + ": " + what + " should be a list of strings, it has rank " + std::to_string(ndims));
  const ValueClass vc = value_class_of(type.get());
  if (vc != ValueClass::string) {
    if (n == 0) return std::vector<std::string>{};
    throw FormatError(where() + ": " + what + " should hold strings, it holds " +
                      (vc == ValueClass::floating  ? "floating-point numbers"
                       : vc == ValueClass::integer ? "integers"
                                                   : "values of another type"));
  }
  return read_strings(attr.get(), type.get(), space.get(), static_cast<int64_t>(n), where(), what);
}

DatasetInfo Group::dataset_info(const std::string& rel) const {
  Id obj = open_object(id_.get(), rel);
  if (obj.get() < 0 || H5Iget_type(obj.get()) != H5I_DATASET)
    throw FormatError(where() + ": HDF5 dataset '" + join(rel) + "' is missing");
  DatasetInfo info;
  Id type(H5Dget_type(obj.get()));
  Id space(H5Dget_space(obj.get()));
  if (type.get() < 0 || space.get() < 0) fail(where(), "cannot read the type of dataset '" + join(rel) + "'");
  info.value_class = value_class_of(type.get());
  info.element_size = static_cast<int64_t>(H5Tget_size(type.get()));
  const int ndims = H5Sget_simple_extent_ndims(space.get());
  if (ndims < 0 || ndims > H5S_MAX_RANK) fail(where(), "cannot read the shape of dataset '" + join(rel) + "'");
  std::vector<hsize_t> dims(static_cast<size_t>(ndims));
  if (ndims > 0 && H5Sget_simple_extent_dims(space.get(), dims.data(), nullptr) < 0)
    fail(where(), "cannot read the shape of dataset '" + join(rel) + "'");
  for (hsize_t d : dims) {
    if (d > static_cast<hsize_t>(int64_t{1} << 62))
      throw FormatError(where() + ": dataset '" + join(rel) + "' has an absurd dimension " + std::to_string(d));
    info.shape.push_back(static_cast<int64_t>(d));
  }
  if (H5Aexists(obj.get(), "dtype") > 0) {
    Id attr(H5Aopen(obj.get(), "dtype", H5P_DEFAULT));
    Id atype(attr.get() >= 0 ? H5Aget_type(attr.get()) : -1);
    Id aspace(attr.get() >= 0 ? H5Aget_space(attr.get()) : -1);
    if (atype.get() >= 0 && aspace.get() >= 0 && value_class_of(atype.get()) == ValueClass::string &&
        H5Sget_simple_extent_npoints(aspace.get()) == 1) {
      const auto s = read_strings(attr.get(), atype.get(), aspace.get(), 1, where(), "attribute 'dtype'");
      info.dtype_attr = s.at(0);
    } else {
      info.dtype_attr.assign(1, '?');  // present but not a string
    }
  }
  H5Eclear2(H5E_DEFAULT);
  return info;
}

template <class T>
Tensor<T> Group::read(const std::string& rel, const Shape& expected) const {
  const DatasetInfo info = dataset_info(rel);
  if (info.value_class != ValueClass::floating || info.shape != expected)
    throw FormatError(where() + ": dataset '" + join(rel) + "' is not a floating-point array of shape " +
                      to_string(expected));
  Tensor<T> out(expected);
  if (out.size() == 0) return out;
  Id obj = open_object(id_.get(), rel);
  const hid_t mem = std::is_same_v<T, double> ? H5T_NATIVE_DOUBLE : H5T_NATIVE_FLOAT;
  if (obj.get() < 0 || H5Dread(obj.get(), mem, H5S_ALL, H5S_ALL, H5P_DEFAULT, out.data()) < 0)
    fail(where(), "cannot read dataset '" + join(rel) + "' (truncated or corrupt file)");
  return out;
}

template Tensor<float> Group::read<float>(const std::string&, const Shape&) const;
template Tensor<double> Group::read<double>(const std::string&, const Shape&) const;

}  // namespace rnnx::detail::h5
