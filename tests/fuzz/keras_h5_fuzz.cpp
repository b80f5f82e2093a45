// libFuzzer target: the whole Keras .h5 load path (rnnx::load_model_from_memory on an HDF5
// image: file kind detection, legacy model_config and weights, Keras 3 .weights.h5
// layouts), seeded with the HDF5 corpus (tests/fuzz/corpus/keras_h5). Only rnnx::Error may
// escape.
#include <cstddef>
#include <cstdint>
#include <span>

#include "rnnx/core/error.h"
#include "rnnx/io/model_file.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  try {
    (void)rnnx::load_model_from_memory<float>(std::span<const uint8_t>(data, size), "<fuzz>");
  } catch (const rnnx::Error&) {
  }
  return 0;
}
