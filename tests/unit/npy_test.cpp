// .npy / .npz reading and writing: NumPy-made fixtures (tests/data/io/npy), round trips, and
// hand-broken inputs that must raise FormatError (never crash or read out of bounds).
#include "rnnx/io/npy.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "rnnx/core/error.h"

namespace rnnx {
namespace {

namespace fs = std::filesystem;

std::string fixture(const std::string& name) { return std::string(RNNX_TEST_DATA_DIR) + "/io/npy/" + name; }

std::vector<uint8_t> bytes_of(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>()};
}

// A fresh, empty scratch directory per test.
class NpyTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    dir_ = fs::temp_directory_path() / ("rnnx_npy_test_" + std::to_string(::getpid()) + "_" + info->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  std::string path(const std::string& name) const { return (dir_ / name).string(); }
  fs::path dir_;
};

// Expects FormatError whose message contains `needle`.
#define EXPECT_FORMAT_ERROR(stmt, needle)                                                          \
  do {                                                                                             \
    try {                                                                                          \
      stmt;                                                                                        \
      ADD_FAILURE() << "expected FormatError containing '" << needle << "'";                       \
    } catch (const FormatError& e) {                                                               \
      EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << "message: " << e.what(); \
    }                                                                                              \
  } while (0)

TEST_F(NpyTest, ReadsNumpyFilesOfEveryDtype) {
  auto a = read_npy(fixture("f4_2x3.npy"));
  EXPECT_EQ(a.dtype, "f4");
  EXPECT_EQ(a.shape, (Shape{2, 3}));
  auto t = a.as<float>();
  for (int64_t i = 0; i < 6; ++i) EXPECT_EQ(t[i], float(i) * 0.5f - 1.0f);

  auto s = read_npy(fixture("f8_scalar.npy"));
  EXPECT_EQ(s.dtype, "f8");
  EXPECT_TRUE(s.shape.empty());
  EXPECT_EQ(s.as<double>()[0], 3.25);

  auto i4 = read_npy(fixture("i4_vec.npy")).as<int32_t>();
  EXPECT_EQ(i4.storage(), (std::vector<int32_t>{-3, 0, 7, 2147483647}));
  auto i8 = read_npy(fixture("i8_vec.npy"));
  EXPECT_EQ(i8.dtype, "i8");
  auto i8d = i8.as<double>();
  EXPECT_EQ(i8d[0], -1099511627776.0);
  EXPECT_EQ(i8d[1], 5.0);

  auto u1 = read_npy(fixture("u1_2x2.npy")).as<uint8_t>();
  EXPECT_EQ(u1.storage(), (std::vector<uint8_t>{0, 1, 254, 255}));
  auto b1 = read_npy(fixture("b1_2x3.npy"));
  EXPECT_EQ(b1.dtype, "b1");
  EXPECT_EQ(b1.as<uint8_t>().storage(), (std::vector<uint8_t>{1, 0, 1, 0, 0, 1}));
  EXPECT_EQ(b1.as<float>().storage(), (std::vector<float>{1, 0, 1, 0, 0, 1}));

  auto e = read_npy(fixture("f4_empty_0x3.npy"));
  EXPECT_EQ(e.shape, (Shape{0, 3}));
  EXPECT_EQ(e.as<float>().size(), 0);
}

// Found by tests/fuzz/npy_fuzz (tests/fuzz/corpus/npy/ub_negative_to_uint8.npy): as<uint8_t>()
// of an f4 array holding -1 cast the float out of range (undefined behaviour). Integer
// conversions must now be exact, as IdxArray::as() requires.
TEST_F(NpyTest, IntegerConversionsMustBeExact) {
  const auto f = read_npy(fixture("f4_2x3.npy"));  // -1, -0.5, 0, 0.5, 1, 1.5
  try {
    (void)f.as<uint8_t>();
    FAIL() << "-1 converted to uint8";
  } catch (const FormatError& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find("value -1"), std::string::npos) << what;
    EXPECT_NE(what.find("flat index 0"), std::string::npos) << what;
    EXPECT_NE(what.find("f4"), std::string::npos) << what;
    EXPECT_NE(what.find("[0, 255]"), std::string::npos) << what;
  }
  EXPECT_THROW((void)f.as<int32_t>(), FormatError);                                // -0.5
  EXPECT_THROW((void)read_npy(fixture("i8_vec.npy")).as<int32_t>(), FormatError);  // -2^40
  EXPECT_THROW((void)read_npy(fixture("i4_vec.npy")).as<uint8_t>(), FormatError);  // -3
  NpyArray nan{"f8", Shape{1}, std::vector<uint8_t>{0, 0, 0, 0, 0, 0, 0xf8, 0x7f}};
  EXPECT_THROW((void)nan.as<int32_t>(), FormatError);
  EXPECT_TRUE(std::isnan(nan.as<double>()[0]));
  // Exact values still convert; i8 to float is unchanged.
  EXPECT_EQ(read_npy(fixture("u1_2x2.npy")).as<int32_t>().storage(), (std::vector<int32_t>{0, 1, 254, 255}));
  EXPECT_EQ(read_npy(fixture("i8_vec.npy")).as<float>()[0], -1099511627776.0f);
}

TEST_F(NpyTest, ReadsVersion2And3Headers) {
  const auto v1 = read_npy(fixture("f4_2x3.npy"));
  for (const char* name : {"f4_2x3_v2.npy", "f4_2x3_v3.npy"}) {
    const auto v = read_npy(fixture(name));
    EXPECT_EQ(v.dtype, v1.dtype) << name;
    EXPECT_EQ(v.shape, v1.shape) << name;
    EXPECT_EQ(v.bytes, v1.bytes) << name;
  }
}

TEST_F(NpyTest, RejectsFortranOrderAndBigEndian) {
  EXPECT_FORMAT_ERROR(read_npy(fixture("f4_fortran.npy")), "Fortran order");
  EXPECT_FORMAT_ERROR(read_npy(fixture("f4_big_endian.npy")), "little-endian");
}

TEST_F(NpyTest, WritesBytesNumpyWrites) {
  // For these shapes NumPy's header padding gives the same bytes as ours.
  for (const char* name : {"f4_2x3.npy", "i4_vec.npy", "b1_2x3.npy"}) {
    const auto original = bytes_of(fixture(name));
    EXPECT_EQ(serialize_npy(parse_npy(original)), original) << name;
  }
}

TEST_F(NpyTest, ReadsNpzStoredAndCompressed) {
  for (const char* name : {"savez.npz", "savez_compressed.npz"}) {
    const auto arrays = read_npz(fixture(name));
    ASSERT_EQ(arrays.size(), 4u) << name;
    EXPECT_EQ(arrays.at("w0").as<float>().storage(), read_npy(fixture("f4_2x3.npy")).as<float>().storage());
    EXPECT_EQ(arrays.at("ids").dtype, "i4");
    EXPECT_EQ(arrays.at("ids").as<int32_t>().storage(), (std::vector<int32_t>{1, 2, 0}));
    EXPECT_EQ(arrays.at("mask").as<uint8_t>().storage(), (std::vector<uint8_t>{1, 0}));
    const auto big = arrays.at("big").as<float>();
    ASSERT_EQ(big.shape(), (Shape{200, 100}));
    for (int64_t i = 0; i < big.size(); i += 37) EXPECT_NEAR(big[i], std::sin(float(i) * 0.01f), 1e-6) << i;
  }
}

TEST_F(NpyTest, RoundTripsTensorsAndArchives) {
  Tensor<float> f({2, 1, 3}, {1.5f, -2.0f, 3.0f, 1e-30f, -0.0f, 7.25f});
  Tensor<double> d({}, {2.5});
  Tensor<int32_t> i({3}, {-1, 0, 1 << 30});
  Tensor<uint8_t> u({1, 2}, {0, 200});
  write_npy(path("f.npy"), f);
  write_npy(path("d.npy"), d);
  write_npy(path("i.npy"), i);
  write_npy(path("u.npy"), u);
  EXPECT_EQ(read_npy(path("f.npy")).as<float>().storage(), f.storage());
  EXPECT_EQ(read_npy(path("f.npy")).shape, f.shape());
  EXPECT_EQ(read_npy(path("d.npy")).as<double>().storage(), d.storage());
  EXPECT_TRUE(read_npy(path("d.npy")).shape.empty());
  EXPECT_EQ(read_npy(path("i.npy")).as<int32_t>().storage(), i.storage());
  EXPECT_EQ(read_npy(path("u.npy")).as<uint8_t>().storage(), u.storage());
  EXPECT_EQ(bytes_of(path("f.npy")).size() % 64, 24u);  // 64-aligned header + 24 data bytes

  std::map<std::string, NpyArray> arrays{{"f", NpyArray::from(f)}, {"i", NpyArray::from(i)}, {"u", NpyArray::from(u)}};
  Tensor<float> big({300, 40});
  for (int64_t k = 0; k < big.size(); ++k) big[k] = float(k % 17) * 0.25f;
  arrays["big"] = NpyArray::from(big);
  for (bool compress : {false, true}) {
    const std::string p = path(compress ? "c.npz" : "s.npz");
    write_npz(p, arrays, compress);
    const auto back = read_npz(p);
    ASSERT_EQ(back.size(), arrays.size());
    for (const auto& [k, v] : arrays) {
      EXPECT_EQ(back.at(k).dtype, v.dtype) << k;
      EXPECT_EQ(back.at(k).shape, v.shape) << k;
      EXPECT_EQ(back.at(k).bytes, v.bytes) << k;
    }
  }
  EXPECT_LT(fs::file_size(path("c.npz")), fs::file_size(path("s.npz")));
}

TEST_F(NpyTest, AtomicWriteReplacesAndLeavesNoTemporaries) {
  Tensor<float> a({2}, {1, 2}), b({3}, {3, 4, 5});
  write_npy(path("x.npy"), a);
  write_npy(path("x.npy"), b);
  EXPECT_EQ(read_npy(path("x.npy")).as<float>().storage(), b.storage());
  int files = 0;
  for (const auto& entry : fs::directory_iterator(dir_)) {
    ++files;
    EXPECT_EQ(entry.path().filename(), "x.npy");
  }
  EXPECT_EQ(files, 1);
}

TEST_F(NpyTest, OperatingSystemFailuresAreIoErrors) {
  EXPECT_THROW(read_npy(path("missing.npy")), IoError);
  EXPECT_THROW(read_npz(path("missing.npz")), IoError);
  EXPECT_THROW(read_npy(dir_.string()), IoError);
  EXPECT_THROW(write_npy(path("no/such/dir/x.npy"), Tensor<float>({1})), IoError);
  EXPECT_THROW(write_npz(path("no/such/dir/x.npz"), {}), IoError);
}

// ---- broken .npy content

std::vector<uint8_t> npy_with_header(const std::string& header, size_t data_bytes, uint8_t major = 1) {
  std::vector<uint8_t> out{0x93, 'N', 'U', 'M', 'P', 'Y', major, 0};
  const size_t n = header.size();
  out.push_back(uint8_t(n & 0xff));
  out.push_back(uint8_t(n >> 8));
  if (major != 1) {
    out.push_back(uint8_t(n >> 16));
    out.push_back(uint8_t(n >> 24));
  }
  out.insert(out.end(), header.begin(), header.end());
  out.resize(out.size() + data_bytes, 0);
  return out;
}

TEST_F(NpyTest, TruncatedNpyAtEveryLength) {
  const auto good = bytes_of(fixture("f4_2x3.npy"));
  for (size_t n = 0; n < good.size(); ++n) {
    std::vector<uint8_t> cut(good.begin(), good.begin() + static_cast<long>(n));
    EXPECT_THROW(parse_npy(cut, "cut"), FormatError) << "length " << n;
  }
  std::vector<uint8_t> cut(good.begin(), good.end() - 1);
  EXPECT_FORMAT_ERROR(parse_npy(cut, "'x.npy'"), "needs 24 data bytes, got 23 (truncated?)");
  auto longer = good;
  longer.push_back(0);
  EXPECT_FORMAT_ERROR(parse_npy(longer, "'x.npy'"), "got 25");
}

TEST_F(NpyTest, WrongMagicAndVersion) {
  auto b = bytes_of(fixture("f4_2x3.npy"));
  auto wrong = b;
  wrong[1] = 'n';
  EXPECT_FORMAT_ERROR(parse_npy(wrong, "'w.npy'"), "wrong magic");
  auto version = b;
  version[6] = 4;
  EXPECT_FORMAT_ERROR(parse_npy(version, "'w.npy'"), "format version 4.0");
  EXPECT_FORMAT_ERROR(parse_npy(bytes_of(fixture("savez.npz")), "'w.npy'"), "wrong magic");
}

TEST_F(NpyTest, BadHeaders) {
  const std::pair<std::string, std::string> cases[] = {
      {"{'descr': '<f4', 'shape': (2,), }", "keys"},
      {"{'descr': '<f4', 'fortran_order': False, 'shape': (2,), 'x': 1}", "unexpected key"},
      {"{'descr': '<f4', 'fortran_order': False, 'shape': (2 3), }", "shape"},
      {"{'descr': '<f4', 'fortran_order': False, 'shape': (2), }", "trailing comma"},
      {"{'descr': '<f4', 'fortran_order': False, 'shape': (-2,), }", "non-negative"},
      {"{'descr': '<f4', 'fortran_order': Maybe, 'shape': (2,), }", "True or False"},
      {"{'descr': '<f4, 'fortran_order': False, 'shape': (2,), }", "bad header"},
      {"{'descr': '<f4', 'fortran_order': False, 'shape': (2,), } junk", "after the header"},
      {"{'descr': '<f4', 'descr': '<f4', 'fortran_order': False, 'shape': (2,), }", "twice"},
      {"{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': (2,), }", "structured"},
      {"{'descr': '<c8', 'fortran_order': False, 'shape': (2,), }", "unsupported dtype '<c8'"},
      {"{'descr': '<U3', 'fortran_order': False, 'shape': (2,), }", "unsupported dtype"},
      {"{'descr': '|O', 'fortran_order': False, 'shape': (2,), }", "unsupported dtype"},
      {"{'descr': '>i8', 'fortran_order': False, 'shape': (2,), }", "little-endian"},
      {"{'descr': '<f4', 'fortran_order': False, 'shape': (99999999999999999999,), }", "too large"},
      {"", "bad header"},
  };
  for (const auto& [header, needle] : cases)
    EXPECT_FORMAT_ERROR(parse_npy(npy_with_header(header, 8), "'h.npy'"), needle);
  // A header length beyond the end of the file.
  auto b = npy_with_header("{'descr': '<f4', 'fortran_order': False, 'shape': (2,), }", 8);
  b[8] = 0xff;
  b[9] = 0xff;
  EXPECT_FORMAT_ERROR(parse_npy(b, "'h.npy'"), "runs past the end");
  // Fortran order is the same layout for rank <= 1 and is accepted there.
  auto f = npy_with_header("{'descr': '<f4', 'fortran_order': True, 'shape': (2,), }", 8);
  EXPECT_EQ(parse_npy(f).shape, (Shape{2}));
  // A 1-byte dtype may carry any byte-order mark.
  auto u = npy_with_header("{'descr': '<u1', 'fortran_order': False, 'shape': (3,), }", 3);
  EXPECT_EQ(parse_npy(u).dtype, "u1");
  // Version 2 header, double-quoted strings, Python 2 longs.
  auto v2 = npy_with_header("{\"descr\": \"<f8\", \"fortran_order\": False, \"shape\": (1L, 2L)}\n", 16, 2);
  EXPECT_EQ(parse_npy(v2).shape, (Shape{1, 2}));
}

TEST_F(NpyTest, AbsurdShapesNeverAllocate) {
  const std::string huge =
      "{'descr': '<f8', 'fortran_order': False, 'shape': (4611686018427387904, 4611686018427387904), }";
  EXPECT_FORMAT_ERROR(parse_npy(npy_with_header(huge, 8), "'a.npy'"), "absurdly large");
  const std::string big = "{'descr': '<f8', 'fortran_order': False, 'shape': (1000000000000,), }";
  EXPECT_FORMAT_ERROR(parse_npy(npy_with_header(big, 8), "'a.npy'"), "truncated");
  // An empty array (a zero dimension) is read when its other dimensions multiply within
  // int64, as NumPy requires; otherwise Tensor's element count would overflow (found by
  // tests/fuzz/npy_fuzz, tests/fuzz/corpus/npy/ub_zero_dim_count_overflow.npy).
  const std::string zero = "{'descr': '<f8', 'fortran_order': False, 'shape': (1000000000, 0, 1000000000), }";
  const NpyArray empty = parse_npy(npy_with_header(zero, 0));
  EXPECT_EQ(empty.bytes.size(), 0u);
  EXPECT_EQ(empty.as<double>().size(), 0);
  const std::string zero_huge =
      "{'descr': '<f8', 'fortran_order': False, 'shape': (4611686018427387904, 0, 9223372036854775807), }";
  EXPECT_FORMAT_ERROR(parse_npy(npy_with_header(zero_huge, 0), "'z.npy'"), "nonzero dimensions");
  std::string deep = "{'descr': '<f4', 'fortran_order': False, 'shape': (";
  for (int k = 0; k < 70; ++k) deep += "1, ";
  deep += "), }";
  EXPECT_FORMAT_ERROR(parse_npy(npy_with_header(deep, 4), "'a.npy'"), "dimensions");
}

TEST_F(NpyTest, InconsistentArraysAreRejected) {
  NpyArray a{"f4", {2, 2}, std::vector<uint8_t>(15)};
  EXPECT_THROW(a.as<float>(), FormatError);
  EXPECT_THROW(serialize_npy(a), FormatError);
  NpyArray c{"c8", {1}, std::vector<uint8_t>(8)};
  EXPECT_THROW(c.as<float>(), FormatError);
  EXPECT_THROW(write_npz(path("e.npz"), {{"", NpyArray::from(Tensor<float>({1}))}}), FormatError);
}

// ---- broken .npz content

std::vector<uint8_t> small_npz(bool compress, const std::string& dir) {
  const std::string p = dir + "/small.npz";
  write_npz(p,
            {{"a", NpyArray::from(Tensor<float>({2, 3}, {1, 2, 3, 4, 5, 6}))},
             {"b", NpyArray::from(Tensor<int32_t>({2}, {7, 8}))}},
            compress);
  return bytes_of(p);
}

TEST_F(NpyTest, TruncatedNpzAtEveryLength) {
  for (bool compress : {false, true}) {
    const auto good = small_npz(compress, dir_.string());
    ASSERT_EQ(parse_npz(good).size(), 2u);
    for (size_t n = 0; n < good.size(); ++n) {
      std::vector<uint8_t> cut(good.begin(), good.begin() + static_cast<long>(n));
      EXPECT_THROW(parse_npz(cut, "cut"), FormatError) << "length " << n << " compress " << compress;
    }
  }
  const auto numpy_made = bytes_of(fixture("savez_compressed.npz"));
  for (size_t n = 0; n < numpy_made.size(); n += 4999) {
    std::vector<uint8_t> cut(numpy_made.begin(), numpy_made.begin() + static_cast<long>(n));
    EXPECT_THROW(parse_npz(cut, "cut"), FormatError) << "length " << n;
  }
}

TEST_F(NpyTest, NpzCrcMismatch) {
  auto stored = bytes_of(fixture("savez.npz"));
  // The last data byte of the first member (w0.npy, 152 bytes after its local header).
  const size_t name_len = stored[26] | (stored[27] << 8), extra_len = stored[28] | (stored[29] << 8);
  stored[30 + name_len + extra_len + 151] ^= 0x01;
  EXPECT_FORMAT_ERROR(parse_npz(stored, "'s.npz'"), "CRC-32 mismatch");

  auto packed = small_npz(true, dir_.string());
  packed[40] ^= 0x10;  // inside the first deflate stream
  EXPECT_THROW(parse_npz(packed, "'c.npz'"), FormatError);
}

TEST_F(NpyTest, NpzStructuralDamage) {
  const auto good = small_npz(false, dir_.string());
  auto not_zip = good;
  not_zip[good.size() - 22] = 'X';  // end-of-central-directory signature
  EXPECT_FORMAT_ERROR(parse_npz(not_zip, "'z.npz'"), "end-of-central-directory");
  EXPECT_FORMAT_ERROR(parse_npz(bytes_of(fixture("f4_2x3.npy")), "'z.npz'"), "end-of-central-directory");

  auto bad_local = good;
  bad_local[0] = 'Q';
  EXPECT_FORMAT_ERROR(parse_npz(bad_local, "'z.npz'"), "local header signature");

  auto bad_offset = good;  // central directory offset beyond the file
  bad_offset[good.size() - 22 + 16] = 0xff;
  bad_offset[good.size() - 22 + 19] = 0x7f;
  EXPECT_FORMAT_ERROR(parse_npz(bad_offset, "'z.npz'"), "outside the archive");

  auto bad_count = good;  // more entries than the directory can hold
  bad_count[good.size() - 22 + 10] = 0xff;
  bad_count[good.size() - 22 + 8] = 0xff;
  EXPECT_FORMAT_ERROR(parse_npz(bad_count, "'z.npz'"), "entries");

  auto bad_method = good;  // compression method of the first central entry -> 12 (bzip2)
  const size_t cd = good[good.size() - 22 + 16] | (good[good.size() - 22 + 17] << 8);
  bad_method[cd + 10] = 12;
  EXPECT_FORMAT_ERROR(parse_npz(bad_method, "'z.npz'"), "compression method 12");

  auto bad_size = good;  // stored entry whose size runs past the archive
  bad_size[cd + 20] = 0xff;
  bad_size[cd + 21] = 0xff;
  bad_size[cd + 24] = 0xff;
  bad_size[cd + 25] = 0xff;
  EXPECT_THROW(parse_npz(bad_size, "'z.npz'"), FormatError);

  // A member that is not an array.
  const std::string p = path("other.npz");
  write_npz(p, {{"a", NpyArray::from(Tensor<float>({1}))}});
  auto renamed = bytes_of(p);
  for (size_t k = 0; k + 5 <= renamed.size(); ++k)
    if (std::string(renamed.begin() + long(k), renamed.begin() + long(k) + 5) == "a.npy") renamed[k + 4] = 'x';
  EXPECT_FORMAT_ERROR(parse_npz(renamed, "'z.npz'"), "not a .npy array");
}

TEST_F(NpyTest, NpzSingleByteCorruptionNeverCrashes) {
  for (bool compress : {false, true}) {
    const auto good = small_npz(compress, dir_.string());
    for (size_t k = 0; k < good.size(); ++k) {
      for (uint8_t x : {uint8_t(0xff), uint8_t(0x55)}) {
        auto bad = good;
        bad[k] ^= x;
        try {
          parse_npz(bad, "fuzz");
        } catch (const FormatError&) {
        }
      }
    }
  }
  // NumPy's own archive (zip64 local headers): the headers at both ends of the file.
  const auto numpy_made = bytes_of(fixture("savez_compressed.npz"));
  ASSERT_GT(numpy_made.size(), 1024u);
  std::vector<size_t> positions;
  for (size_t k = 0; k < 256; ++k) positions.push_back(k);
  for (size_t k = numpy_made.size() - 512; k < numpy_made.size(); ++k) positions.push_back(k);
  for (size_t k : positions) {
    auto bad = numpy_made;
    bad[k] ^= 0xa5;
    try {
      parse_npz(bad, "fuzz");
    } catch (const FormatError&) {
    }
  }
}

}  // namespace
}  // namespace rnnx
