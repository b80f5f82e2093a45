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
// The directory is synced after the rename, so the new name survives a power cut too.
//
// Crash tests (tests/cli) need a SIGKILL to land inside a write: with the environment
// variable RNNX_TEST_WRITE_PAUSE_MS=N the writer pauses N ms after the first half of the
// data (read once per process; unset in normal use).
void write_file_atomic(const std::string& path, std::span<const uint8_t> data);

}  // namespace rnnx::detail
