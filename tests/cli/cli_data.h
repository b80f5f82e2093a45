#pragma once
// Small data sets and model readers shared by the `rnnx` tool tests: an MNIST-format IDX
// folder a small LSTM learns in a few epochs, and the weights of a written model.
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <string>
#include <utility>
#include <vector>

#include "rnnx/core/rng.h"
#include "rnnx/io/model_file.h"
#include "rnnx/model/model.h"

namespace rnnx::testing {

inline void write_bytes(const std::string& path, const std::vector<uint8_t>& bytes) {
  std::ofstream f(path, std::ios::binary);
  f.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
}

inline std::vector<uint8_t> idx_header(uint8_t rank, const std::vector<uint32_t>& dims) {
  std::vector<uint8_t> b = {0, 0, 0x08, rank};
  for (uint32_t d : dims)
    for (int s = 24; s >= 0; s -= 8) b.push_back(static_cast<uint8_t>(d >> s));
  return b;
}

// An MNIST-format directory of n_train / n_test 6x6 images in 3 classes: class k has a
// bright row 2k (plus noise), so a small LSTM learns it in a few epochs.
inline void write_tiny_idx(const std::string& dir, int n_train, int n_test, uint64_t seed = 3) {
  std::filesystem::create_directories(dir);
  Rng rng(seed);
  for (auto [prefix, n] : {std::pair<std::string, int>{"train", n_train}, {"t10k", n_test}}) {
    auto images = idx_header(3, {static_cast<uint32_t>(n), 6, 6});
    auto labels = idx_header(1, {static_cast<uint32_t>(n)});
    for (int i = 0; i < n; ++i) {
      const int k = i % 3;
      labels.push_back(static_cast<uint8_t>(k));
      for (int r = 0; r < 6; ++r)
        for (int c = 0; c < 6; ++c)
          images.push_back(static_cast<uint8_t>((r == 2 * k ? 200 : 0) + static_cast<int>(rng.uniform() * 50)));
    }
    write_bytes(dir + "/" + prefix + "-images-idx3-ubyte", images);
    write_bytes(dir + "/" + prefix + "-labels-idx1-ubyte", labels);
  }
}

inline std::vector<std::vector<float>> weights_of(const std::string& model_path) {
  auto m = load_model<float>(model_path);
  std::vector<std::vector<float>> w;
  for (auto& p : m->params()) w.emplace_back(p.value->values().begin(), p.value->values().end());
  return w;
}

}  // namespace rnnx::testing
