// libFuzzer target: rnnx's own HDF5 reader (src/io/hdf5). Opens the image, walks every
// object reachable from the root (links, every attribute decoded, every dataset's values
// read; h5_walk.h), then the Keras-facing Group API (children, string attributes, float
// reads) on every group. Limits are lowered so one input cannot allocate more than a few
// MiB. Only rnnx::Error may escape a call.
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>

#include "io/hdf5/h5_walk.h"
#include "io/hdf5/hdf5.h"
#include "rnnx/core/error.h"

namespace {

namespace h5 = rnnx::detail::h5;

void group_api(const h5::Group& g, int depth) {
  if (depth > 8) return;
  for (const char* name : {"keras_version", "backend", "model_config", "weight_names", "layer_names", "dtype"}) {
    try {
      (void)g.string_list_attr(name);
    } catch (const rnnx::Error&) {
    }
  }
  try {
    (void)g.contains_datasets();
    (void)g.count_dataset_elements();
  } catch (const rnnx::Error&) {
  }
  std::vector<std::string> children;
  try {
    children = g.children();
  } catch (const rnnx::Error&) {
    return;
  }
  for (const auto& c : children) {
    try {
      if (g.has_dataset(c)) {
        const h5::DatasetInfo info = g.dataset_info(c);
        if (info.value_class == h5::ValueClass::floating) {
          (void)g.read<float>(c, info.shape);
          (void)g.read<double>(c, info.shape);
        }
      } else if (g.has_group(c)) {
        group_api(g.group(c), depth + 1);
      }
    } catch (const rnnx::Error&) {
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  h5::Limits limits;
  limits.max_dataset_bytes = uint64_t{16} << 20;
  limits.bomb_floor = uint64_t{1} << 20;
  limits.max_attribute_bytes = uint64_t{4} << 20;
  try {
    const h5::File file(std::span<const uint8_t>(data, size), "<fuzz>", limits);
    h5::walk_file(
        file.reader(), [](const std::string&, const std::string&) {}, true);
    group_api(file.root(), 0);
  } catch (const rnnx::Error&) {
  }
  return 0;
}
