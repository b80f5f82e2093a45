// The configurable cap on decoded sizes (rnnx/io/read_limits.h): a compressed member that
// would inflate past read_limits().max_decoded_bytes is refused before it is inflated.
#include <gtest/gtest.h>

#include <vector>

#include "io/zip.h"
#include "rnnx/core/error.h"
#include "rnnx/io/npy.h"
#include "rnnx/io/read_limits.h"

namespace rnnx::testing {
namespace {

// Restores the process-wide limits when a test ends.
struct LimitsGuard {
  ReadLimits saved = read_limits();
  ~LimitsGuard() { set_read_limits(saved); }
};

TEST(ReadLimits, CompressedMemberLargerThanTheCapIsRefused) {
  LimitsGuard guard;
  const std::vector<uint8_t> archive = detail::zip_write({{"big.bin", std::vector<uint8_t>(100000, 7)}}, true);
  ASSERT_LT(archive.size(), 10000u);  // deflate shrinks the zeros: the file alone bounds nothing
  const detail::ZipReader zip(archive, "test.zip");
  EXPECT_EQ(zip.read("big.bin").size(), 100000u);  // the default cap is far above

  set_read_limits({.max_decoded_bytes = 50000});
  try {
    (void)zip.read("big.bin");
    ADD_FAILURE() << "no error";
  } catch (const FormatError& e) {
    const std::string m = e.what();
    EXPECT_NE(m.find("test.zip"), std::string::npos) << m;
    EXPECT_NE(m.find("entry 'big.bin' inflates to 100000 bytes, more than the limit of 50000"), std::string::npos)
        << m;
  }
}

TEST(ReadLimits, CompressedNpzMemberFollowsTheCap) {
  LimitsGuard guard;
  Tensor<float> x({100, 100});  // 40 kB of zeros
  const NpyArray a = NpyArray::from(x);
  std::vector<uint8_t> npy = serialize_npy(a);
  const std::vector<uint8_t> archive = detail::zip_write({{"x.npy", npy}}, true);
  set_read_limits({.max_decoded_bytes = 1000});
  EXPECT_THROW((void)parse_npz(archive, "x.npz"), FormatError);
  set_read_limits({.max_decoded_bytes = 1 << 20});
  EXPECT_EQ(parse_npz(archive, "x.npz").at("x").shape, (Shape{100, 100}));
}

TEST(ReadLimits, NonPositiveCapIsAConfigError) {
  LimitsGuard guard;
  EXPECT_THROW(set_read_limits({.max_decoded_bytes = 0}), ConfigError);
  EXPECT_EQ(read_limits().max_decoded_bytes, guard.saved.max_decoded_bytes);
}

}  // namespace
}  // namespace rnnx::testing
