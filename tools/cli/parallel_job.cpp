// The MPI job of a command (parallel_job.h).
#include "parallel_job.h"

#include <chrono>
#include <iostream>
#include <streambuf>
#include <thread>

#include "rnnx/train/mpi.h"

namespace rnnx::cli {
namespace {

std::shared_ptr<Communicator>& job() {
  static std::shared_ptr<Communicator> comm;
  return comm;
}

// Accepts and drops every character.
class NullBuffer : public std::streambuf {
 protected:
  int overflow(int c) override { return traits_type::not_eof(c); }
  std::streamsize xsputn(const char* /*s*/, std::streamsize n) override { return n; }
};

}  // namespace

std::shared_ptr<Communicator> parallel_job() {
  if (!job() && launched_by_mpi()) job() = mpi_communicator();
  return job();
}

std::ostream& rank0_out() {
  static NullBuffer null_buffer;
  static std::ostream null_stream(&null_buffer);
  return job() && job()->rank() != 0 ? null_stream : std::cout;
}

void end_parallel_job(int code) {
  std::shared_ptr<Communicator> comm = std::move(job());
  if (!comm) return;
  if (code != 0 && comm->size() > 1) {
    // When every rank fails alike (bad data, say), rank 0's MPI_Abort alone should end the
    // job: Open MPI 4.1 prints internal errors when several ranks abort at the same moment.
    if (comm->rank() != 0) std::this_thread::sleep_for(std::chrono::milliseconds(500));
    comm->abort(code);
  }
  comm.reset();  // the last reference: MPI_Finalize
}

}  // namespace rnnx::cli
