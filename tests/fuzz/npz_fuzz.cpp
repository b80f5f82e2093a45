// libFuzzer target: parse_npz (include/rnnx/io/npy.h), then conversion of each array.
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "rnnx/core/error.h"
#include "rnnx/io/npy.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  try {
    const auto arrays = rnnx::parse_npz(std::span<const uint8_t>(data, size), "<fuzz>");
    for (const auto& [name, array] : arrays) {
      try {
        (void)array.as<double>();
      } catch (const rnnx::Error&) {
      }
    }
  } catch (const rnnx::Error&) {
  }
  return 0;
}
