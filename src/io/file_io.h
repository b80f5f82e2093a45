#pragma once
// Whole-file reads and atomic whole-file writes (private to rnnx). OS failures raise
// IoError naming the path and the system's reason.
#include <cstdint>
#include <span>
#include <string>
#include <vector>

namespace rnnx::detail {

// The whole content of `path`.
std::vector<uint8_t> read_file(const std::string& path);

// Writes `data` to a temporary file in the same directory, flushes it to disk and renames
// it over `path`, so readers see either the old file or the complete new one. On failure
// the temporary file is removed and `path` is untouched.
void write_file_atomic(const std::string& path, std::span<const uint8_t> data);

}  // namespace rnnx::detail
