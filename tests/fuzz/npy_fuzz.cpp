// libFuzzer target: parse_npy (include/rnnx/io/npy.h), then conversion to each tensor type.
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "rnnx/core/error.h"
#include "rnnx/io/npy.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  try {
    const rnnx::NpyArray array = rnnx::parse_npy(std::span<const uint8_t>(data, size), "<fuzz>");
    try {
      (void)array.as<float>();
    } catch (const rnnx::Error&) {
    }
    try {
      (void)array.as<double>();
    } catch (const rnnx::Error&) {
    }
    try {
      (void)array.as<int32_t>();
    } catch (const rnnx::Error&) {
    }
    try {
      (void)array.as<uint8_t>();
    } catch (const rnnx::Error&) {
    }
  } catch (const rnnx::Error&) {
  }
  return 0;
}
