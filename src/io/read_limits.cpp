// The process-wide reader limits (rnnx/io/read_limits.h).
#include "rnnx/io/read_limits.h"

#include <atomic>
#include <string>

#include "rnnx/core/error.h"

namespace rnnx {
namespace {
std::atomic<int64_t> g_max_decoded_bytes{ReadLimits{}.max_decoded_bytes};
}  // namespace

ReadLimits read_limits() {
  ReadLimits l;
  l.max_decoded_bytes = g_max_decoded_bytes.load(std::memory_order_relaxed);
  return l;
}

void set_read_limits(const ReadLimits& limits) {
  if (limits.max_decoded_bytes <= 0)
    throw ConfigError("set_read_limits: max_decoded_bytes must be positive, got " +
                      std::to_string(limits.max_decoded_bytes));
  g_max_decoded_bytes.store(limits.max_decoded_bytes, std::memory_order_relaxed);
}

}  // namespace rnnx
