// libFuzzer target: Keras config JSON (include/rnnx/io/keras_config.h): model_from_config
// and layer_from_config, Keras 3 and tf.keras version strings.
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "rnnx/core/error.h"
#include "rnnx/io/keras_config.h"
#include "rnnx/layers/layer.h"
#include "rnnx/model/model.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  for (const char* version : {"3.3.3", "2.15.0"}) {
    try {
      (void)rnnx::model_from_config<float>(text, version);
    } catch (const rnnx::Error&) {
    }
    try {
      (void)rnnx::layer_from_config<float>(text, version);
    } catch (const rnnx::Error&) {
    }
  }
  return 0;
}
