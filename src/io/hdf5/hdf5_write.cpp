// In-memory HDF5 writing with the libhdf5 C API (core driver, no backing store).
#include "io/hdf5/hdf5_write.h"

#include <hdf5.h>

#include <mutex>

#include "io/hdf5/hdf5.h"
#include "rnnx/core/error.h"

namespace rnnx::detail {
namespace {

// libhdf5 is not thread-safe in the Debian serial build: every call holds this one lock
// (rnnx's reading path does not use libhdf5; see hdf5.h).
std::recursive_mutex& h5_lock() {
  static std::recursive_mutex m;
  return m;
}

// Silences libhdf5's own error printing (the library never prints; errors become exceptions).
void quiet() { H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr); }

// An hid_t closed by `close` when it goes out of scope.
class Handle {
 public:
  Handle(hid_t id, herr_t (*close)(hid_t)) : id_(id), close_(close) {}
  ~Handle() {
    if (id_ >= 0) close_(id_);
  }
  Handle(const Handle&) = delete;
  Handle& operator=(const Handle&) = delete;
  hid_t get() const { return id_; }
  bool ok() const { return id_ >= 0; }

 private:
  hid_t id_;
  herr_t (*close_)(hid_t);
};

}  // namespace

struct H5MemoryWriter::Impl {
  std::string where;
  hid_t file = -1;

  [[noreturn]] void fail(const std::string& path, const std::string& what) const {
    throw FormatError(where + ": cannot write HDF5 object '" + path + "': " + what);
  }

  // Creates the groups along `path` (all of it when `include_last`).
  void make_groups(const std::string& path, bool include_last) {
    const auto parts = h5::split_path(path);
    std::string cur;
    const size_t n = include_last ? parts.size() : (parts.empty() ? 0 : parts.size() - 1);
    for (size_t i = 0; i < n; ++i) {
      cur += "/" + parts[i];
      const htri_t exists = H5Lexists(file, cur.c_str(), H5P_DEFAULT);
      if (exists > 0) continue;
      if (exists < 0) fail(cur, "link lookup failed");
      Handle g(H5Gcreate2(file, cur.c_str(), H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT), H5Gclose);
      if (!g.ok()) fail(cur, "group creation failed");
    }
  }

  void write(const std::string& path, const Shape& shape, hid_t type, hid_t mem_type, const void* data, int64_t count) {
    int64_t expected = 1;
    for (int64_t d : shape) {
      if (d < 0) fail(path, "negative dimension in shape " + to_string(shape));
      expected *= d;
    }
    if (expected != count)
      fail(path, "shape " + to_string(shape) + " needs " + std::to_string(expected) + " values, got " +
                     std::to_string(count));
    make_groups(path, false);
    std::vector<hsize_t> dims(shape.begin(), shape.end());
    Handle space(
        dims.empty() ? H5Screate(H5S_SCALAR) : H5Screate_simple(static_cast<int>(dims.size()), dims.data(), nullptr),
        H5Sclose);
    if (!space.ok()) fail(path, "dataspace creation failed");
    const std::string full = "/" + path;
    Handle ds(H5Dcreate2(file, full.c_str(), type, space.get(), H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT), H5Dclose);
    if (!ds.ok()) fail(path, "dataset creation failed (does it already exist?)");
    if (count > 0 && H5Dwrite(ds.get(), mem_type, H5S_ALL, H5S_ALL, H5P_DEFAULT, data) < 0) fail(path, "write failed");
  }
};

H5MemoryWriter::H5MemoryWriter(std::string where) : impl_(std::make_unique<Impl>()) {
  std::lock_guard<std::recursive_mutex> lock(h5_lock());
  quiet();
  impl_->where = std::move(where);
  Handle fapl(H5Pcreate(H5P_FILE_ACCESS), H5Pclose);
  // The earliest file format, as h5py (Keras) writes by default. (With newer formats the
  // image H5Fget_file_image returns from libhdf5 1.10 carries a stale superblock checksum.)
  if (!fapl.ok() || H5Pset_fapl_core(fapl.get(), 1 << 16, /*backing_store=*/0) < 0)
    impl_->fail("/", "cannot set up the in-memory driver");
  // The name only identifies the in-memory file; nothing is written to disk.
  static int counter = 0;
  const std::string name = "rnnx_memory_" + std::to_string(++counter) + ".h5";
  impl_->file = H5Fcreate(name.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, fapl.get());
  if (impl_->file < 0) impl_->fail("/", "cannot create the in-memory file");
}

H5MemoryWriter::~H5MemoryWriter() {
  std::lock_guard<std::recursive_mutex> lock(h5_lock());
  if (impl_->file >= 0) H5Fclose(impl_->file);
}

void H5MemoryWriter::group(const std::string& path) {
  std::lock_guard<std::recursive_mutex> lock(h5_lock());
  impl_->make_groups(path, true);
}

void H5MemoryWriter::string_attribute(const std::string& path, const std::string& name, const std::string& value) {
  std::lock_guard<std::recursive_mutex> lock(h5_lock());
  impl_->make_groups(path, true);
  const std::string full = "/" + path;
  Handle obj(H5Oopen(impl_->file, full.c_str(), H5P_DEFAULT), H5Oclose);
  if (!obj.ok()) impl_->fail(path, "cannot open the object");
  // h5py writes Python str attributes as variable-length UTF-8 scalars; so does this.
  Handle type(H5Tcopy(H5T_C_S1), H5Tclose);
  if (!type.ok() || H5Tset_size(type.get(), H5T_VARIABLE) < 0 || H5Tset_cset(type.get(), H5T_CSET_UTF8) < 0)
    impl_->fail(path, "cannot make a string type");
  Handle space(H5Screate(H5S_SCALAR), H5Sclose);
  if (H5Aexists(obj.get(), name.c_str()) > 0) H5Adelete(obj.get(), name.c_str());
  Handle attr(H5Acreate2(obj.get(), name.c_str(), type.get(), space.get(), H5P_DEFAULT, H5P_DEFAULT), H5Aclose);
  if (!attr.ok()) impl_->fail(path, "cannot create attribute '" + name + "'");
  const char* p = value.c_str();
  if (H5Awrite(attr.get(), type.get(), &p) < 0) impl_->fail(path, "cannot write attribute '" + name + "'");
}

void H5MemoryWriter::dataset(const std::string& path, const Shape& shape, std::span<const float> values) {
  std::lock_guard<std::recursive_mutex> lock(h5_lock());
  impl_->write(path, shape, H5T_IEEE_F32LE, H5T_NATIVE_FLOAT, values.data(), static_cast<int64_t>(values.size()));
}

void H5MemoryWriter::dataset(const std::string& path, const Shape& shape, std::span<const double> values) {
  std::lock_guard<std::recursive_mutex> lock(h5_lock());
  impl_->write(path, shape, H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, values.data(), static_cast<int64_t>(values.size()));
}

std::vector<uint8_t> H5MemoryWriter::image() {
  std::lock_guard<std::recursive_mutex> lock(h5_lock());
  if (H5Fflush(impl_->file, H5F_SCOPE_GLOBAL) < 0) impl_->fail("/", "flush failed");
  const ssize_t size = H5Fget_file_image(impl_->file, nullptr, 0);
  if (size <= 0) impl_->fail("/", "cannot size the file image");
  std::vector<uint8_t> out(static_cast<size_t>(size));
  if (H5Fget_file_image(impl_->file, out.data(), out.size()) != size) impl_->fail("/", "cannot copy the file image");
  return out;
}

}  // namespace rnnx::detail
