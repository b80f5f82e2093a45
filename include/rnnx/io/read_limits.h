#pragma once
// Limits the file readers check before they allocate (issue 11: files from strangers).
//
// Every size a file declares is checked against the file itself first: data stored as-is
// (npy, HDF5 contiguous datasets, safetensors, checkpoints) must lie inside the file, so a
// small file cannot make a reader allocate much. Compressed data (zip members of .keras,
// .npz and torch.save files, gzip IDX files, deflated HDF5 chunks) can legitimately expand
// about 1000-fold, so its decoded size is also checked against max_decoded_bytes, before
// anything is allocated for it:
//
//   rnnx::ReadLimits limits = rnnx::read_limits();
//   limits.max_decoded_bytes = int64_t{512} << 20;    // a server that takes uploads
//   rnnx::set_read_limits(limits);
//
// Exceeding a limit is a FormatError naming the file, the member or dataset, the declared
// size and the limit. Structural limits (nesting depth of JSON, pickle and HDF5 groups;
// numbers of dimensions) are fixed and documented with each reader.
//
// Thread safety: the limits are process-wide; set_read_limits may be called from any
// thread and applies to reads that start afterwards.
#include <cstdint>

namespace rnnx {

struct ReadLimits {
  // Largest decoded (decompressed) size of one compressed member, stream or dataset.
  // Default 16 GiB: well above any recurrent model or data set rnnx is meant for.
  int64_t max_decoded_bytes = int64_t{16} << 30;
};

ReadLimits read_limits();
// ConfigError if max_decoded_bytes <= 0.
void set_read_limits(const ReadLimits& limits);

}  // namespace rnnx
