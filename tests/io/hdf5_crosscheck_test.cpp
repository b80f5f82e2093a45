// rnnx's own HDF5 reader against libhdf5 (issue 11): every HDF5 file in tests/data (the
// *.h5 files and the model.weights.h5 inside every *.keras archive) is walked by both, and
// the descriptions (h5_walk.h: links of every group, every attribute's class, shape and
// values, every dataset's class, element size, shape and raw values) must be equal. The
// float/double conversions of Group::read are checked against libhdf5's H5Dread too.
// Files known to crash libhdf5 (damaged global heaps) are only read by rnnx, which must
// refuse them with a FormatError. libhdf5 is test-only here: the library reads without it.
#include <gtest/gtest.h>
#include <hdf5.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "io/hdf5/h5_walk.h"
#include "io/hdf5/hdf5.h"
#include "io/zip.h"
#include "rnnx/core/error.h"

namespace rnnx::testing {
namespace {

namespace fs = std::filesystem;
using Description = std::map<std::string, std::string>;

std::vector<uint8_t> read_bytes(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return std::vector<uint8_t>((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

// Damaged on purpose (libhdf5 1.10 crashes or hangs on these; tests/data/io/h5/README.md),
// or using what rnnx refuses (external storage, virtual datasets, extensible arrays;
// tests/data/io/h5/formats/README.md): only rnnx reads them, and must refuse them.
bool expect_refusal(const fs::path& p) {
  const std::string name = p.filename().string();
  return name.find("corrupt") != std::string::npos || name.rfind("libhdf5_", 0) == 0 || name.rfind("refused_", 0) == 0;
}

// ---- the same description through libhdf5 ----------------------------------------------

struct H5Walk {
  Description out;
  std::set<haddr_t> seen;
  int groups = 0, datasets = 0, attributes = 0, links = 0;

  static std::string strings_of(hid_t obj, bool attr, hid_t type, hssize_t n) {
    std::vector<std::string> s;
    if (H5Tis_variable_str(type) > 0) {
      hid_t mem = H5Tcopy(H5T_C_S1);
      H5Tset_size(mem, H5T_VARIABLE);
      H5Tset_cset(mem, H5Tget_cset(type));
      std::vector<char*> ptrs(static_cast<size_t>(n), nullptr);
      if (n > 0) {
        if (attr)
          EXPECT_GE(H5Aread(obj, mem, ptrs.data()), 0);
        else
          EXPECT_GE(H5Dread(obj, mem, H5S_ALL, H5S_ALL, H5P_DEFAULT, ptrs.data()), 0);
      }
      for (char* p : ptrs) s.emplace_back(p ? p : "");
      hid_t space = attr ? H5Aget_space(obj) : H5Dget_space(obj);
      if (n > 0) H5Dvlen_reclaim(mem, space, H5P_DEFAULT, ptrs.data());
      H5Sclose(space);
      H5Tclose(mem);
    } else {
      const size_t size = H5Tget_size(type);
      std::vector<char> buf(size * static_cast<size_t>(n) + 1);
      if (n > 0) {
        if (attr)
          EXPECT_GE(H5Aread(obj, type, buf.data()), 0);
        else
          EXPECT_GE(H5Dread(obj, type, H5S_ALL, H5S_ALL, H5P_DEFAULT, buf.data()), 0);
      }
      for (hssize_t i = 0; i < n; ++i) {
        const char* p = buf.data() + static_cast<size_t>(i) * size;
        size_t len = 0;
        while (len < size && p[len] != '\0') ++len;
        if (H5Tget_strpad(type) == H5T_STR_SPACEPAD)
          while (len > 0 && p[len - 1] == ' ') --len;
        s.emplace_back(p, len);
      }
    }
    std::string joined;
    for (size_t i = 0; i < s.size(); ++i) joined += (i ? "\x1f" : "") + s[i];
    return joined;
  }

  static std::string shape_of(hid_t space) {
    if (H5Sget_simple_extent_type(space) == H5S_NULL) return "null";
    const int rank = H5Sget_simple_extent_ndims(space);
    std::vector<hsize_t> dims(static_cast<size_t>(std::max(rank, 0)));
    if (rank > 0) H5Sget_simple_extent_dims(space, dims.data(), nullptr);
    return detail::h5::dims_text(std::vector<uint64_t>(dims.begin(), dims.end()));
  }

  void attributes_of(hid_t obj, const std::string& path) {
    H5O_info_t info;
    H5Oget_info2(obj, &info, H5O_INFO_NUM_ATTRS);
    for (hsize_t i = 0; i < info.num_attrs; ++i) {
      hid_t a = H5Aopen_by_idx(obj, ".", H5_INDEX_NAME, H5_ITER_INC, i, H5P_DEFAULT, H5P_DEFAULT);
      ASSERT_GE(a, 0);
      ++attributes;
      char name[4096] = {0};
      H5Aget_name(a, sizeof name, name);
      hid_t type = H5Aget_type(a);
      hid_t space = H5Aget_space(a);
      const hssize_t n = H5Sget_simple_extent_npoints(space);
      const H5T_class_t cls = H5Tget_class(type);
      std::string v = "class=" + std::to_string(static_cast<int>(cls)) + " shape=" + shape_of(space);
      if (cls == H5T_STRING) {
        v += " strings=" + strings_of(a, true, type, n);
      } else if (cls != H5T_VLEN && cls != H5T_REFERENCE) {
        std::string raw(H5Tget_size(type) * static_cast<size_t>(n), '\0');
        if (!raw.empty()) {
          EXPECT_GE(H5Aread(a, type, raw.data()), 0);
        }
        v += " bytes=" + raw;
      }
      out[path + "@" + name] = v;
      H5Sclose(space);
      H5Tclose(type);
      H5Aclose(a);
    }
  }

  void object(hid_t loc, const std::string& name, const std::string& path, int depth) {
    hid_t obj = H5Oopen(loc, name.c_str(), H5P_DEFAULT);
    ASSERT_GE(obj, 0) << path;
    H5O_info_t info;
    H5Oget_info2(obj, &info, H5O_INFO_BASIC);
    if (depth > 64 || !seen.insert(info.addr).second) {
      H5Oclose(obj);
      return;
    }
    const H5O_type_t t = info.type;
    out[path + " kind"] = t == H5O_TYPE_GROUP            ? "group"
                          : t == H5O_TYPE_DATASET        ? "dataset"
                          : t == H5O_TYPE_NAMED_DATATYPE ? "datatype"
                                                         : "other";
    attributes_of(obj, path);
    if (t == H5O_TYPE_DATASET) {
      ++datasets;
      hid_t type = H5Dget_type(obj);
      hid_t space = H5Dget_space(obj);
      const H5T_class_t cls = H5Tget_class(type);
      const hssize_t n = H5Sget_simple_extent_npoints(space);
      out[path + " dataset"] = "class=" + std::to_string(static_cast<int>(cls)) +
                               " size=" + std::to_string(H5Tget_size(type)) + " shape=" + shape_of(space);
      if (cls == H5T_STRING) {
        out[path + " values"] = strings_of(obj, false, type, n);
      } else if (cls != H5T_VLEN && cls != H5T_REFERENCE) {
        std::string raw(H5Tget_size(type) * static_cast<size_t>(n), '\0');
        if (!raw.empty()) {
          EXPECT_GE(H5Dread(obj, type, H5S_ALL, H5S_ALL, H5P_DEFAULT, raw.data()), 0) << path;
        }
        out[path + " values"] = raw;
      }
      H5Sclose(space);
      H5Tclose(type);
    }
    if (t == H5O_TYPE_GROUP) {
      ++groups;
      H5G_info_t g;
      H5Gget_info(obj, &g);
      std::string v;
      std::vector<std::pair<std::string, H5L_type_t>> children;
      for (hsize_t i = 0; i < g.nlinks; ++i) {
        char lname[65536] = {0};
        H5Lget_name_by_idx(obj, ".", H5_INDEX_NAME, H5_ITER_INC, i, lname, sizeof lname, H5P_DEFAULT);
        H5L_info_t li;
        H5Lget_info(obj, lname, &li, H5P_DEFAULT);
        v += std::string(lname) + ":" + std::to_string(static_cast<int>(li.type)) + ",";
        children.emplace_back(lname, li.type);
      }
      out[path + " links"] = v;
      for (const auto& [c, type] : children) {
        ++links;
        if (type == H5L_TYPE_HARD) object(obj, c, path == "/" ? "/" + c : path + "/" + c, depth + 1);
      }
    }
    H5Oclose(obj);
  }
};

Description describe_with_libhdf5(const std::vector<uint8_t>& bytes, H5Walk& w) {
  static int counter = 0;
  hid_t fapl = H5Pcreate(H5P_FILE_ACCESS);
  H5Pset_fapl_core(fapl, 1 << 16, 0);
  H5Pset_file_image(fapl, const_cast<uint8_t*>(bytes.data()), bytes.size());
  const std::string name = "crosscheck_" + std::to_string(++counter);
  hid_t file = H5Fopen(name.c_str(), H5F_ACC_RDONLY, fapl);
  H5Pclose(fapl);
  EXPECT_GE(file, 0);
  if (file >= 0) {
    w.object(file, "/", "/", 0);
    H5Fclose(file);
  }
  return w.out;
}

// ---- the comparison -----------------------------------------------------------------------

struct Totals {
  int files = 0, damaged = 0, groups = 0, datasets = 0, attributes = 0, links = 0, reads = 0;
};

std::string printable(const std::string& s) {
  std::string o;
  for (unsigned char c : s.substr(0, 200)) {
    if (c >= 32 && c < 127) {
      o += static_cast<char>(c);
    } else {
      static const char* hex = "0123456789abcdef";
      o += "\\x";
      o += hex[c >> 4];
      o += hex[c & 15];
    }
  }
  return o + (s.size() > 200 ? "..." : "");
}

// Group::read<float/double> of every floating dataset equals H5Dread into native types.
void check_conversions(const std::vector<uint8_t>& bytes, const Description& d, const std::string& where,
                       Totals& totals) {
  detail::h5::File file(bytes, where);
  const detail::h5::Group root = file.root();
  hid_t fapl = H5Pcreate(H5P_FILE_ACCESS);
  H5Pset_fapl_core(fapl, 1 << 16, 0);
  H5Pset_file_image(fapl, const_cast<uint8_t*>(bytes.data()), bytes.size());
  static int counter = 0;
  hid_t h5 = H5Fopen(("conv_" + std::to_string(++counter)).c_str(), H5F_ACC_RDONLY, fapl);
  H5Pclose(fapl);
  ASSERT_GE(h5, 0);
  for (const auto& [key, value] : d) {
    const std::string suffix = " dataset";
    if (key.size() <= suffix.size() || key.compare(key.size() - suffix.size(), suffix.size(), suffix) != 0) continue;
    if (value.rfind("class=1 ", 0) != 0) continue;
    const std::string path = key.substr(0, key.size() - suffix.size());
    const auto info = root.dataset_info(path);
    const auto f = root.read<float>(path, info.shape);
    const auto g = root.read<double>(path, info.shape);
    std::vector<float> ef(static_cast<size_t>(f.size()));
    std::vector<double> eg(static_cast<size_t>(g.size()));
    hid_t ds = H5Dopen2(h5, path.c_str(), H5P_DEFAULT);
    ASSERT_GE(ds, 0);
    if (!ef.empty()) {
      ASSERT_GE(H5Dread(ds, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, ef.data()), 0);
      ASSERT_GE(H5Dread(ds, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, eg.data()), 0);
    }
    H5Dclose(ds);
    EXPECT_EQ(0, std::memcmp(ef.data(), f.data(), ef.size() * sizeof(float))) << where << " " << path;
    EXPECT_EQ(0, std::memcmp(eg.data(), g.data(), eg.size() * sizeof(double))) << where << " " << path;
    ++totals.reads;
  }
  H5Fclose(h5);
}

void cross_check(const std::vector<uint8_t>& bytes, const std::string& where, bool refuse, Totals& totals) {
  ++totals.files;
  if (refuse) {
    ++totals.damaged;
    EXPECT_THROW(
        {
          detail::h5::File file(bytes, where);
          detail::h5::walk_file(
              file.reader(), [](const std::string&, const std::string&) {}, false);
        },
        FormatError)
        << where;
    return;
  }
  Description mine;
  detail::h5::File file(bytes, where);
  detail::h5::WalkCounts counts;
  try {
    counts = detail::h5::walk_file(
        file.reader(), [&](const std::string& k, const std::string& v) { mine[k] = v; }, false);
  } catch (const Error& e) {
    ADD_FAILURE() << where << ": rnnx's reader failed: " << e.what();
    return;
  }
  H5Walk w;
  const Description theirs = describe_with_libhdf5(bytes, w);
  EXPECT_EQ(counts.groups, w.groups) << where;
  EXPECT_EQ(counts.datasets, w.datasets) << where;
  EXPECT_EQ(counts.attributes, w.attributes) << where;
  EXPECT_EQ(counts.links, w.links) << where;
  int shown = 0;
  for (const auto& [k, v] : theirs) {
    const auto it = mine.find(k);
    if (it == mine.end()) {
      if (shown++ < 5) ADD_FAILURE() << where << ": rnnx lacks '" << printable(k) << "' = " << printable(v);
    } else if (it->second != v) {
      if (shown++ < 5)
        ADD_FAILURE() << where << ": '" << printable(k) << "': rnnx " << printable(it->second) << ", libhdf5 "
                      << printable(v);
    }
  }
  for (const auto& [k, v] : mine)
    if (!theirs.count(k) && shown++ < 5) ADD_FAILURE() << where << ": only rnnx has '" << printable(k) << "'";
  totals.groups += w.groups;
  totals.datasets += w.datasets;
  totals.attributes += w.attributes;
  totals.links += w.links;
  check_conversions(bytes, theirs, where, totals);
}

TEST(Hdf5CrossCheck, EveryTestFileReadsAsLibhdf5ReadsIt) {
  H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr);
  std::vector<fs::path> files;
  for (const auto& e : fs::recursive_directory_iterator(RNNX_TEST_DATA_DIR))
    if (e.is_regular_file() && (e.path().extension() == ".h5" || e.path().extension() == ".keras"))
      files.push_back(e.path());
  std::sort(files.begin(), files.end());
  Totals totals;
  int h5_files = 0, keras_files = 0;
  for (const auto& p : files) {
    const std::vector<uint8_t> bytes = read_bytes(p);
    const std::string where = p.lexically_relative(RNNX_TEST_DATA_DIR).string();
    if (p.extension() == ".h5") {
      ++h5_files;
      cross_check(bytes, where, expect_refusal(p), totals);
    } else {
      const detail::ZipReader zip(bytes, where);
      if (!zip.contains("model.weights.h5")) continue;
      ++keras_files;
      cross_check(zip.read("model.weights.h5"), where + ": model.weights.h5", false, totals);
    }
  }
  std::printf(
      "HDF5 cross-check: %d files (%d .h5, %d .keras weights; %d refused), %d groups, %d links, "
      "%d datasets, %d attributes compared; %d float/double reads checked\n",
      totals.files, h5_files, keras_files, totals.damaged, totals.groups, totals.links, totals.datasets,
      totals.attributes, totals.reads);
  EXPECT_GE(h5_files, 80);
  EXPECT_GE(keras_files, 140);
}

}  // namespace
}  // namespace rnnx::testing
