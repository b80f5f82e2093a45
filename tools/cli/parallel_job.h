#pragma once
// The MPI job a command runs in: `mpirun -np N rnnx train ...` (or predict) trains or
// predicts data-parallel (include/rnnx/train/data_parallel.h); a command started any other
// way never touches MPI.
#include <memory>
#include <ostream>

#include "rnnx/train/communicator.h"

namespace rnnx::cli {

// MPI_COMM_WORLD when this process was started by mpirun / mpiexec (launched_by_mpi()),
// created on the first call; null otherwise. ConfigError when rnnx was built without MPI.
std::shared_ptr<Communicator> parallel_job();

// Where a command's normal output goes: std::cout on rank 0 (and outside a job), a sink that
// drops everything on the other ranks, so a job prints one progress display.
std::ostream& rank0_out();

// Ends the job's use of MPI before the process exits with `code`: MPI_Finalize after success;
// after a failure in a job of several ranks, MPI_Abort, so the other ranks (which may be
// waiting for this one) stop now instead of hanging (ranks other than 0 wait half a second
// first, so that a failure every rank shares ends the job through rank 0 alone). Does
// nothing outside a job.
void end_parallel_job(int code);

}  // namespace rnnx::cli
