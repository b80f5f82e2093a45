// rnnx's own HDF5 reader on hostile and unsupported input (issue 11): the files that made
// libhdf5 hang or crash, hand-damaged structures, refused features (external links,
// external storage, virtual datasets, extensible-array chunk indexes), soft links, the
// size limits, and every input the HDF5 fuzzer found (tests/data/io/h5/fuzz). Each gives a
// FormatError naming the file and the damaged structure, quickly. Agreement with libhdf5
// on good files is hdf5_crosscheck_test.cpp.
#include <gtest/gtest.h>

#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iterator>
#include <string>
#include <vector>

#include "io/hdf5/h5_walk.h"
#include "io/hdf5/hdf5.h"
#include "rnnx/core/error.h"
#include "rnnx/io/model_file.h"
#include "rnnx/io/read_limits.h"
#include "support/expect_error.h"

namespace rnnx::testing {
namespace {

using Bytes = std::vector<uint8_t>;
namespace h5 = detail::h5;

std::string data_dir() { return std::string(RNNX_TEST_DATA_DIR); }

Bytes read_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("missing test file " + path);
  return Bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

void walk_all(const Bytes& bytes, const std::string& where, h5::Limits limits = {}) {
  h5::File file(bytes, where, limits);
  h5::walk_file(
      file.reader(), [](const std::string&, const std::string&) {}, false);
}

size_t find(const Bytes& b, const char* sig, size_t from = 0) {
  for (size_t i = from; i + 4 <= b.size(); ++i)
    if (std::memcmp(b.data() + i, sig, 4) == 0) return i;
  ADD_FAILURE() << "no " << sig << " in the file";
  return 0;
}

TEST(Hdf5Reader, FilesThatHungOrCrashedLibhdf5GiveAFormatErrorAtOnce) {
  struct Case {
    std::string file;
    std::vector<std::string> parts;
  };
  const std::vector<Case> cases = {
      {"libhdf5_global_heap_spin.h5", {"libhdf5_global_heap_spin.h5", "symbol table node at offset", "SNOD"}},
      {"libhdf5_segv.h5", {"libhdf5_segv.h5", "attribute 'keras_version'", "global heap collection at offset 2048"}},
      {"corrupt_global_heap.tfk.h5", {"corrupt_global_heap.tfk.h5", "global heap collection"}}};
  for (const auto& c : cases) {
    const auto start = std::chrono::steady_clock::now();
    const Bytes bytes = read_bytes(data_dir() + "/io/h5/" + c.file);
    EXPECT_TRUE(mentions(error_of<FormatError>([&] { load_model_from_memory<float>(bytes, c.file); }), c.parts));
    EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(2)) << c.file;
  }
}

TEST(Hdf5Reader, DamagedStructuresAreNamed) {
  const Bytes good = read_bytes(data_dir() + "/files/lstm_dense.tfk.h5");
  {
    Bytes b = good;  // a global heap collection larger than the file
    const size_t at = find(b, "GCOL");
    b[at + 8 + 5] = 0x7f;
    EXPECT_TRUE(mentions(error_of<FormatError>([&] { load_model_from_memory<float>(b, "heap.h5"); }),
                         {"heap.h5", "global heap collection at offset " + std::to_string(at), "truncated"}));
  }
  {
    Bytes b = good;  // a symbol table node without its signature
    const size_t at = find(b, "SNOD");
    b[at] = 'X';
    EXPECT_TRUE(mentions(error_of<FormatError>([&] { load_model_from_memory<float>(b, "snod.h5"); }),
                         {"snod.h5", "symbol table node at offset " + std::to_string(at), "SNOD"}));
  }
  {
    Bytes b = good;  // a B-tree node of the wrong type
    const size_t at = find(b, "TREE");
    b[at + 4] = 7;
    EXPECT_TRUE(mentions(error_of<FormatError>([&] { load_model_from_memory<float>(b, "tree.h5"); }),
                         {"tree.h5", "group B-tree node at offset " + std::to_string(at), "node type 7"}));
  }
  {
    Bytes b = good;  // an impossible size of offsets in the superblock
    b[13] = 3;
    EXPECT_TRUE(
        mentions(error_of<FormatError>([&] { walk_all(b, "sizes.h5"); }), {"sizes.h5", "superblock", "2, 4 or 8"}));
  }
  {
    const Bytes cut(good.begin(), good.begin() + static_cast<std::ptrdiff_t>(good.size() / 2));
    EXPECT_TRUE(mentions(error_of<FormatError>([&] { walk_all(cut, "cut.h5"); }), {"cut.h5", "truncated"}));
  }
}

TEST(Hdf5Reader, RefusedFeaturesAreNamed) {
  const std::string dir = data_dir() + "/io/h5/formats/";
  EXPECT_TRUE(
      mentions(error_of<FormatError>([&] { walk_all(read_bytes(dir + "refused_external_storage.h5"), "e.h5"); }),
               {"external files"}));
  EXPECT_TRUE(mentions(error_of<FormatError>([&] { walk_all(read_bytes(dir + "refused_virtual.h5"), "v.h5"); }),
                       {"virtual dataset"}));
  EXPECT_TRUE(
      mentions(error_of<FormatError>([&] { walk_all(read_bytes(dir + "refused_extensible_array.h5"), "x.h5"); }),
               {"extensible array"}));
  // Through the Keras-facing API, with the file and the dataset named.
  const Bytes ext = read_bytes(dir + "refused_external_storage.h5");
  const h5::File file(ext, "ext.h5");
  EXPECT_TRUE(mentions(error_of<FormatError>([&] { file.root().read<float>("x", {4}); }),
                       {"ext.h5", "dataset '/x'", "external files"}));
}

TEST(Hdf5Reader, ExternalLinksAreRefusedAndSoftLinksNotFollowed) {
  const Bytes bytes = read_bytes(data_dir() + "/io/h5/formats/variants_v110.h5");
  const h5::File file(bytes, "links.h5");
  const h5::Group root = file.root();
  EXPECT_TRUE(mentions(error_of<FormatError>([&] { (void)root.has_group("external"); }),
                       {"links.h5", "'/external'", "external link"}));
  EXPECT_FALSE(root.has_dataset("soft"));
  EXPECT_TRUE(root.has_dataset("weights/f32"));
  const auto names = root.children();
  EXPECT_NE(std::find(names.begin(), names.end(), "soft"), names.end());
}

TEST(Hdf5Reader, SizeLimitsAreCheckedBeforeAllocating) {
  const Bytes bytes = read_bytes(data_dir() + "/io/h5/formats/variants_v110.h5");
  h5::Limits small;
  small.max_dataset_bytes = 64;
  const h5::File file(bytes, "limits.h5", small);
  EXPECT_NO_THROW(file.root().read<float>("weights/f32", {3, 5}));  // 60 bytes fit, 1628 do not
  EXPECT_TRUE(mentions(error_of<FormatError>([&] {
                         file.root().read<float>("chunked/plain", {37, 11});
                       }),
                       {"limits.h5", "dataset '/chunked/plain'", "1628 bytes", "limit of 64"}));
  // Without explicit Limits the process-wide rnnx::read_limits() apply.
  const ReadLimits saved = read_limits();
  set_read_limits(ReadLimits{64});
  const std::string global = error_of<FormatError>([&] {
    const h5::File f(bytes, "global.h5");
    f.root().read<float>("chunked/plain", {37, 11});
  });
  set_read_limits(saved);
  EXPECT_TRUE(mentions(global, {"global.h5", "limit of 64"}));
  h5::Limits bomb;
  bomb.bomb_floor = 0;
  bomb.max_expansion = 1;
  const h5::File file2(bytes, "bomb.h5", bomb);
  EXPECT_TRUE(mentions(error_of<FormatError>([&] {
                         file2.root().read<float>("chunked/unwritten", {5, 3});
                       }),
                       {"bomb.h5", "dataset '/chunked/unwritten'", "decompression bomb"}));
}

TEST(Hdf5Reader, FuzzerFindingsGiveCleanErrors) {
  const std::filesystem::path dir = data_dir() + "/io/h5/fuzz";
  int n = 0;
  for (const auto& e : std::filesystem::directory_iterator(dir)) {
    if (!e.is_regular_file() || e.path().extension() == ".md") continue;
    ++n;
    const Bytes bytes = read_bytes(e.path().string());
    const std::string name = e.path().filename().string();
    try {
      walk_all(bytes, name);
    } catch (const Error&) {
    }
    try {
      load_model_from_memory<float>(bytes, name);
    } catch (const Error&) {
    }
  }
  EXPECT_GT(n, 0);
}

}  // namespace
}  // namespace rnnx::testing
