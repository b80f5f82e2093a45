#pragma once
// Communicator: the processes ("ranks") of one parallel job and the few collective operations
// data-parallel training needs (train/data_parallel.h). Bytes in, bytes out: the callers
// decide what the bytes mean, so no MPI type appears in rnnx's public headers.
//
//   SoloCommunicator      a job of one process (no MPI needed): every operation is a copy
//   mpi_communicator()    Open MPI's MPI_COMM_WORLD (train/mpi.h; rnnx built with MPI)
//
// Contract: every rank calls the same collective operations in the same order (broadcast,
// exchange with the matching peer, gather, allgather, barrier); a rank that skips one leaves
// the others waiting. Sizes are in bytes; buffers may be empty. abort() ends every process
// of the job at once: call it when this rank failed in a way the others cannot see (an
// exception on one rank only), so they do not wait forever.
// Errors: CommunicationError when the transport reports a failure (a peer that disappeared,
// for instance); ConfigError for an invalid rank argument.
#include <cstdint>
#include <span>
#include <vector>

namespace rnnx {

class Communicator {
 public:
  virtual ~Communicator() = default;

  virtual int rank() const = 0;
  virtual int size() const = 0;

  // `bytes` of rank `root` on every rank (the others' `bytes` are replaced, size included).
  virtual void broadcast(std::vector<uint8_t>& bytes, int root) = 0;
  // Sends `send` to `peer` and receives `receive` (its size known in advance) from it, at
  // once; `peer` calls exchange with this rank. peer == rank() copies.
  virtual void exchange(int peer, std::span<const uint8_t> send, std::span<uint8_t> receive) = 0;
  // Every rank's `mine`, in rank order, on rank `root`; empty on the others.
  virtual std::vector<std::vector<uint8_t>> gather(const std::vector<uint8_t>& mine, int root) = 0;
  // Every rank's `mine`, in rank order, on every rank.
  virtual std::vector<std::vector<uint8_t>> allgather(const std::vector<uint8_t>& mine) = 0;
  virtual void barrier() = 0;
  // Ends every process of the job with exit status `code`; does not return.
  [[noreturn]] virtual void abort(int code) = 0;
};

// A job of one process.
class SoloCommunicator final : public Communicator {
 public:
  int rank() const override { return 0; }
  int size() const override { return 1; }
  void broadcast(std::vector<uint8_t>& bytes, int root) override;
  void exchange(int peer, std::span<const uint8_t> send, std::span<uint8_t> receive) override;
  std::vector<std::vector<uint8_t>> gather(const std::vector<uint8_t>& mine, int root) override;
  std::vector<std::vector<uint8_t>> allgather(const std::vector<uint8_t>& mine) override;
  void barrier() override {}
  [[noreturn]] void abort(int code) override;
};

}  // namespace rnnx
