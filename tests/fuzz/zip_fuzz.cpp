// libFuzzer target: the ZIP layer of .keras / .npz / torch.save archives (src/io/zip.h).
// Any exception other than rnnx::Error, a crash, a leak or undefined behaviour is a finding.
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "io/zip.h"
#include "rnnx/core/error.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  try {
    rnnx::detail::ZipReader zip(std::span<const uint8_t>(data, size), "<fuzz>");
    for (const auto& entry : zip.entries()) {
      try {
        (void)zip.read(entry);
      } catch (const rnnx::Error&) {
      }
    }
  } catch (const rnnx::Error&) {
  }
  return 0;
}
