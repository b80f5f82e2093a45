#pragma once
// MPI for data-parallel training (train/data_parallel.h): MPI_COMM_WORLD as a Communicator
// (train/communicator.h). rnnx builds this with the CMake option RNNX_USE_MPI (on when MPI is
// found; Debian: libopenmpi-dev, openmpi-bin). mpi.h itself never reaches rnnx's headers.
//
//   std::shared_ptr<rnnx::Communicator> comm =
//       rnnx::launched_by_mpi() ? rnnx::mpi_communicator() : std::make_shared<rnnx::SoloCommunicator>();
//
// mpi_available(): whether this rnnx was built with MPI.
// launched_by_mpi(): whether this process was started by mpirun / mpiexec (its environment
//   names a rank: OMPI_COMM_WORLD_SIZE, PMIX_RANK or PMI_SIZE), so that a plain run never
//   touches MPI at all.
// mpi_communicator(): MPI_COMM_WORLD. The first call initialises MPI (MPI_Init_thread with
//   MPI_THREAD_FUNNELED: only the calling thread talks MPI; oneDNN's OpenMP threads do not);
//   MPI is finalized when the last communicator it returned is destroyed. Errors come back
//   from MPI as return codes (MPI_ERRORS_RETURN), and a failed call throws
//   CommunicationError naming the operation, the peer and MPI's message. Messages of any
//   size are sent in pieces of at most 1 GiB (MPI counts are int).
//   ConfigError when rnnx was built without MPI, or MPI was already finalized.
//
// A rank that dies: Open MPI's launcher (mpirun) ends the whole job as soon as one process
// exits abnormally (killed, crashed, or exited with a non-zero status before MPI_Finalize),
// so the other ranks stop within a second or two instead of waiting in a collective, and
// mpirun prints which rank failed. Communicator::abort() (MPI_Abort) ends the job at once;
// call it when this rank failed in a way the others cannot see.
#include <memory>

#include "rnnx/train/communicator.h"

namespace rnnx {

bool mpi_available();
bool launched_by_mpi();
std::shared_ptr<Communicator> mpi_communicator();

}  // namespace rnnx
