// IDX reading (include/rnnx/io/idx.h): every type, plain and gzip, and hand-broken inputs
// that must raise FormatError (never crash, read out of bounds or allocate absurdly).
#include "rnnx/io/idx.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "rnnx/core/error.h"

namespace rnnx {
namespace {

using Bytes = std::vector<uint8_t>;

Bytes be32(uint32_t v) {
  return {static_cast<uint8_t>(v >> 24), static_cast<uint8_t>(v >> 16), static_cast<uint8_t>(v >> 8),
          static_cast<uint8_t>(v)};
}

// An IDX file: magic, dimensions, then `data` as given.
Bytes idx(uint8_t type, const std::vector<uint32_t>& dims, const Bytes& data) {
  Bytes out{0, 0, type, static_cast<uint8_t>(dims.size())};
  for (uint32_t d : dims) {
    const Bytes b = be32(d);
    out.insert(out.end(), b.begin(), b.end());
  }
  out.insert(out.end(), data.begin(), data.end());
  return out;
}

// Python: gzip.compress(bytes([0,0,8,2, 0,0,0,2, 0,0,0,3, 0,1,2,253,254,255]), mtime=0)
const Bytes kGzipU8x2x3 = {0x1f, 0x8b, 0x08, 0x00, 0x00, 0x00, 0x00, 0x00, 0x02, 0x03, 0x63, 0x60,
                           0xe0, 0x60, 0x62, 0x60, 0x60, 0x00, 0x61, 0x66, 0x06, 0x46, 0xa6, 0xbf,
                           0xff, 0xfe, 0x03, 0x00, 0xc9, 0x60, 0x42, 0x58, 0x12, 0x00, 0x00, 0x00};
// Python: gzip.compress(bytes([0,0,8,1]) + struct.pack('>I', 1000) + bytes(1000), mtime=0)
const Bytes kGzipU8Zeros1000 = {0x1f, 0x8b, 0x08, 0x00, 0x00, 0x00, 0x00, 0x00, 0x02, 0x03, 0x63, 0x60,
                                0xe0, 0x60, 0x64, 0x60, 0x60, 0x7e, 0xc1, 0x30, 0x0a, 0x46, 0xc1, 0x28,
                                0x18, 0xf6, 0x00, 0x00, 0xbb, 0x9d, 0x23, 0xf2, 0xf0, 0x03, 0x00, 0x00};

TEST(IdxTest, ReadsPlainUint8) {
  const IdxArray a = parse_idx(idx(0x08, {2, 3}, {0, 1, 2, 253, 254, 255}));
  EXPECT_EQ(a.type, IdxType::u8);
  EXPECT_EQ(a.shape, (Shape{2, 3}));
  const Tensor<float> f = a.as<float>();
  EXPECT_EQ(f.shape(), (Shape{2, 3}));
  EXPECT_EQ(f.at({1, 0}), 253.0f);
  EXPECT_EQ(a.as<uint8_t>()[5], 255);
  EXPECT_EQ(a.as<int32_t>()[2], 2);
}

TEST(IdxTest, GzipGivesTheSameArray) {
  const IdxArray plain = parse_idx(idx(0x08, {2, 3}, {0, 1, 2, 253, 254, 255}));
  const IdxArray gz = parse_idx(kGzipU8x2x3, "gz");
  EXPECT_EQ(gz.shape, plain.shape);
  EXPECT_EQ(gz.bytes, plain.bytes);
}

TEST(IdxTest, DecodesEveryTypeBigEndian) {
  // int8 -2, 5
  EXPECT_EQ(parse_idx(idx(0x09, {2}, {0xfe, 0x05})).as<float>()[0], -2.0f);
  // int16 -300 = 0xFED4, 258 = 0x0102
  const Tensor<int32_t> s = parse_idx(idx(0x0B, {2}, {0xfe, 0xd4, 0x01, 0x02})).as<int32_t>();
  EXPECT_EQ(s[0], -300);
  EXPECT_EQ(s[1], 258);
  // int32 -70000 = 0xFFFEEE90
  EXPECT_EQ(parse_idx(idx(0x0C, {1}, {0xff, 0xfe, 0xee, 0x90})).as<double>()[0], -70000.0);
  // float32 -1.5 = 0xBFC00000
  EXPECT_EQ(parse_idx(idx(0x0D, {1, 1}, {0xbf, 0xc0, 0x00, 0x00})).as<float>()[0], -1.5f);
  // float64 0.1 = 0x3FB999999999999A
  EXPECT_EQ(parse_idx(idx(0x0E, {1}, {0x3f, 0xb9, 0x99, 0x99, 0x99, 0x99, 0x99, 0x9a})).as<double>()[0], 0.1);
  // A zero-sized dimension is a valid, empty array.
  EXPECT_EQ(parse_idx(idx(0x0D, {0, 4}, {})).as<float>().size(), 0);
}

TEST(IdxTest, IntegerConversionsMustBeExact) {
  EXPECT_THROW(parse_idx(idx(0x09, {1}, {0xff})).as<uint8_t>(), FormatError);                    // -1
  EXPECT_THROW(parse_idx(idx(0x0D, {1}, {0x3f, 0xc0, 0x00, 0x00})).as<int32_t>(), FormatError);  // 1.5
}

TEST(IdxTest, MalformedHeadersAreFormatErrors) {
  EXPECT_THROW(parse_idx(Bytes{}), FormatError);
  EXPECT_THROW(parse_idx(Bytes{0, 0, 8}), FormatError);
  EXPECT_THROW(parse_idx(Bytes{1, 0, 8, 1, 0, 0, 0, 1, 7}), FormatError);  // magic not 0, 0
  EXPECT_THROW(parse_idx(idx(0x0A, {1}, {7})), FormatError);               // unknown type byte
  EXPECT_THROW(parse_idx(idx(0x08, {}, {7})), FormatError);                // rank 0
  try {
    parse_idx(Bytes{0, 0, 0x77, 1, 0, 0, 0, 1, 0}, "'x.idx'");
    FAIL() << "unknown type accepted";
  } catch (const FormatError& e) {
    EXPECT_NE(std::string(e.what()).find("'x.idx'"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("119"), std::string::npos) << e.what();
  }
}

TEST(IdxTest, TruncatedAtEveryLength) {
  const Bytes good = idx(0x0C, {2, 2}, Bytes(16, 1));
  for (size_t n = 0; n < good.size(); ++n) {
    const Bytes cut(good.begin(), good.begin() + static_cast<std::ptrdiff_t>(n));
    EXPECT_THROW(parse_idx(cut, "cut"), FormatError) << "length " << n;
  }
  Bytes longer = good;
  longer.push_back(0);
  EXPECT_THROW(parse_idx(longer), FormatError);  // trailing bytes
}

TEST(IdxTest, AbsurdShapesNeverAllocate) {
  // 2^32-1 cubed times 8 bytes overflows 64 bits; 2^32-1 squared does not but is far more
  // than the 8 data bytes present.
  EXPECT_THROW(parse_idx(idx(0x0E, {0xffffffffu, 0xffffffffu, 0xffffffffu}, Bytes(8, 0))), FormatError);
  EXPECT_THROW(parse_idx(idx(0x08, {0xffffffffu, 0xffffffffu}, Bytes(8, 0))), FormatError);
}

// Found by tests/fuzz/idx_fuzz (tests/fuzz/corpus/idx/ub_zero_dim_size_overflow.idx.gz): a
// zero dimension hid huge others from the overflow check, and size() then overflowed int64.
TEST(IdxTest, ZeroDimensionDoesNotHideAnOverflowingShape) {
  try {
    parse_idx(idx(0x0E, {0, 0xffffffffu, 0xffffffffu, 0xffffffffu}, {}), "'z.idx'");
    FAIL() << "overflowing empty shape accepted";
  } catch (const FormatError& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find("'z.idx'"), std::string::npos) << what;
    EXPECT_NE(what.find("nonzero dimensions"), std::string::npos) << what;
    EXPECT_NE(what.find("dimension 2 at header offset 12"), std::string::npos) << what;
  }
  // An empty array whose other dimensions are sane is still read.
  const IdxArray empty = parse_idx(idx(0x0D, {0, 5, 7}, {}));
  EXPECT_EQ(empty.size(), 0);
  EXPECT_EQ(empty.as<float>().size(), 0);
}

TEST(IdxTest, BrokenGzipIsFormatError) {
  for (size_t n = 2; n < kGzipU8x2x3.size(); ++n) {
    const Bytes cut(kGzipU8x2x3.begin(), kGzipU8x2x3.begin() + static_cast<std::ptrdiff_t>(n));
    EXPECT_THROW(parse_idx(cut, "cut.gz"), FormatError) << "length " << n;
  }
  Bytes corrupt = kGzipU8x2x3;
  corrupt[12] ^= 0xff;  // inside the deflate data
  EXPECT_THROW(parse_idx(corrupt), FormatError);
  Bytes bad_crc = kGzipU8x2x3;
  bad_crc[kGzipU8x2x3.size() - 8] ^= 0x01;  // CRC-32 trailer
  EXPECT_THROW(parse_idx(bad_crc), FormatError);
  Bytes trailing = kGzipU8x2x3;
  trailing.push_back(0);
  EXPECT_THROW(parse_idx(trailing), FormatError);
}

TEST(IdxTest, GzipCannotInflatePastTheCap) {
  EXPECT_EQ(parse_idx(kGzipU8Zeros1000, "zeros", 2000).size(), 1000);
  EXPECT_THROW(parse_idx(kGzipU8Zeros1000, "zeros", 500), FormatError);
}

TEST(IdxTest, MissingFileIsIoError) { EXPECT_THROW(read_idx("/nonexistent/rnnx/idx/file"), IoError); }

// The Fashion-MNIST files of the Debian package dataset-fashion-mnist, when installed.
TEST(IdxTest, ReadsFashionMnistTestLabelsWhenInstalled) {
  const std::string path = "/usr/share/datasets/fashion-mnist/t10k-labels-idx1-ubyte.gz";
  if (!std::filesystem::exists(path)) GTEST_SKIP() << path << " not installed (apt install dataset-fashion-mnist)";
  const Tensor<int32_t> labels = read_idx(path).as<int32_t>();
  ASSERT_EQ(labels.shape(), (Shape{10000}));
  std::vector<int> count(10, 0);
  for (int64_t i = 0; i < labels.size(); ++i) {
    ASSERT_GE(labels[i], 0);
    ASSERT_LT(labels[i], 10);
    ++count[static_cast<size_t>(labels[i])];
  }
  for (int c : count) EXPECT_EQ(c, 1000);  // the test set is balanced
}

}  // namespace
}  // namespace rnnx
