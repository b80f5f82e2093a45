#pragma once
// Internal: LoadOptions::verify_test_vector, run by load_model right after the weights are
// in (defined in save_model.cpp, next to the test-vector format).
#include <cstdint>
#include <span>
#include <string>

#include "rnnx/io/model_file.h"
#include "rnnx/model/model.h"

namespace rnnx::detail {

// `archive` is the .keras file's bytes; `where` names it in the message. Throws
// VerificationError when the archive has no test vector or an output is out of tolerance.
template <class T>
void check_test_vector(Model<T>& model, std::span<const uint8_t> archive, const std::string& where,
                       const LoadOptions& options);

}  // namespace rnnx::detail
