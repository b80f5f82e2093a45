// SoloCommunicator: a parallel job of one process (include/rnnx/train/communicator.h).
#include "rnnx/train/communicator.h"

#include <cstdlib>
#include <cstring>
#include <string>

#include "rnnx/core/error.h"

namespace rnnx {
namespace {

void check_rank(const char* what, int rank) {
  if (rank != 0)
    throw ConfigError(std::string("SoloCommunicator::") + what + ": rank " + std::to_string(rank) +
                      " does not exist (a job of one process has only rank 0)");
}

}  // namespace

void SoloCommunicator::broadcast(std::vector<uint8_t>& /*bytes*/, int root) { check_rank("broadcast", root); }

void SoloCommunicator::exchange(int peer, std::span<const uint8_t> send, std::span<uint8_t> receive) {
  check_rank("exchange", peer);
  if (send.size() != receive.size())
    throw ConfigError("SoloCommunicator::exchange: sending " + std::to_string(send.size()) + " bytes to itself but " +
                      "receiving " + std::to_string(receive.size()));
  if (!send.empty()) std::memmove(receive.data(), send.data(), send.size());
}

std::vector<std::vector<uint8_t>> SoloCommunicator::gather(const std::vector<uint8_t>& mine, int root) {
  check_rank("gather", root);
  return {mine};
}

std::vector<std::vector<uint8_t>> SoloCommunicator::allgather(const std::vector<uint8_t>& mine) { return {mine}; }

void SoloCommunicator::abort(int code) { std::_Exit(code); }

}  // namespace rnnx
