// libFuzzer target: parse_csv (include/rnnx/io/csv.h) with ',' and ';' separators and a
// small cell cap.
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "rnnx/core/error.h"
#include "rnnx/io/csv.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::span<const uint8_t> bytes(data, size);
  try {
    (void)rnnx::parse_csv(bytes, "<fuzz>", ',', 1 << 20);
  } catch (const rnnx::Error&) {
  }
  try {
    (void)rnnx::parse_csv(bytes, "<fuzz>", ';', 1 << 20);
  } catch (const rnnx::Error&) {
  }
  return 0;
}
