// libFuzzer target: parse_idx (include/rnnx/io/idx.h), gzip or raw, with a small inflate cap.
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "rnnx/core/error.h"
#include "rnnx/io/idx.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  try {
    const rnnx::IdxArray array = rnnx::parse_idx(std::span<const uint8_t>(data, size), "<fuzz>", uint64_t{1} << 24);
    try {
      (void)array.as<float>();
    } catch (const rnnx::Error&) {
    }
    try {
      (void)array.as<int32_t>();
    } catch (const rnnx::Error&) {
    }
  } catch (const rnnx::Error&) {
  }
  return 0;
}
