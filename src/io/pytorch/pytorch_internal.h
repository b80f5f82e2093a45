#pragma once
// PyTorch weight files (private to rnnx): one reader for safetensors and torch.save zip
// files (spec pytorch-files.md §1-§3, §5), deciding the format from the content.
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "io/pytorch/pickle.h"
#include "io/zip.h"
#include "rnnx/core/shape.h"
#include "rnnx/core/tensor.h"

namespace rnnx::detail {

// One tensor of a file: a strided view into a storage (safetensors: the tensor's own bytes,
// contiguous, offset 0).
struct RawTensor {
  std::string dtype;  // safetensors dtype name: "F32", "F16", "BF16", "F64", "I64", ...
  int64_t element_bits = 32;
  Shape shape;
  std::vector<int64_t> stride;  // in elements
  int64_t offset = 0;           // in elements
  // safetensors: absolute byte range of the tensor in the file; torch zip: storage key.
  uint64_t file_begin = 0, file_end = 0;
  std::string storage_key;
};

class TensorFile {
 public:
  // Parses `bytes` (kept). Throws FormatError naming `where` for anything malformed or not
  // a state_dict file (legacy torch.save, TorchScript, whole pickled modules, .keras, ...).
  TensorFile(std::vector<uint8_t> bytes, std::string where);
  TensorFile(const TensorFile&) = delete;
  TensorFile& operator=(const TensorFile&) = delete;

  const std::string& where() const { return where_; }
  // "safetensors" or "torch.save zip".
  const std::string& format() const { return format_; }
  // Tensors in file order.
  const std::vector<std::pair<std::string, RawTensor>>& tensors() const { return tensors_; }
  const RawTensor* find(const std::string& name) const;
  // The values of tensor `name`, widened exactly to double (F32, F16, BF16, F64 only;
  // FormatError naming the tensor for other dtypes or a missing name).
  Tensor<double> read_float(const std::string& name) const;

 private:
  void parse_safetensors();
  void parse_torch_zip();
  std::span<const uint8_t> storage(const std::string& key) const;

  std::vector<uint8_t> bytes_;
  std::string where_, format_;
  std::vector<std::pair<std::string, RawTensor>> tensors_;
  std::map<std::string, size_t> index_;
  // torch zip only
  std::optional<ZipReader> zip_;
  std::string prefix_;
  mutable std::map<std::string, std::vector<uint8_t>> storages_;
};

}  // namespace rnnx::detail
