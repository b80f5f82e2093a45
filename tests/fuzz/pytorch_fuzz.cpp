// libFuzzer target: safetensors, torch.save zips and their pickle (include/rnnx/io/pytorch.h).
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "rnnx/core/error.h"
#include "rnnx/io/pytorch.h"
#include "rnnx/model/model.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::span<const uint8_t> bytes(data, size);
  try {
    (void)rnnx::inspect_pytorch_file_in_memory(bytes, "<fuzz>");
  } catch (const rnnx::Error&) {
  }
  try {
    (void)rnnx::load_pytorch_rnn_from_memory<float>(bytes, {}, "<fuzz>");
  } catch (const rnnx::Error&) {
  }
  return 0;
}
