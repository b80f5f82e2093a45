// libFuzzer target: native training checkpoints (parse_checkpoint, include/rnnx/io/checkpoint.h).
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "rnnx/core/error.h"
#include "rnnx/io/checkpoint.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::vector<uint8_t> bytes(data, data + size);
  try {
    (void)rnnx::parse_checkpoint<float>(bytes, "<fuzz>");
  } catch (const rnnx::Error&) {
  }
  try {
    (void)rnnx::parse_checkpoint<double>(bytes, "<fuzz>");
  } catch (const rnnx::Error&) {
  }
  return 0;
}
