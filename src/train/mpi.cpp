// MPI_COMM_WORLD as a Communicator (include/rnnx/train/mpi.h). Built with MPI only when
// RNNX_USE_MPI is on (RNNX_HAVE_MPI); otherwise mpi_communicator() throws ConfigError.
#include "rnnx/train/mpi.h"

#include <cstdlib>
#include <string>

#include "rnnx/core/error.h"

#if RNNX_HAVE_MPI
#include <mpi.h>

#include <algorithm>
#include <cstring>
#include <exception>
#include <limits>
#include <mutex>
#endif

namespace rnnx {

bool launched_by_mpi() {
  return std::getenv("OMPI_COMM_WORLD_SIZE") != nullptr || std::getenv("PMIX_RANK") != nullptr ||
         std::getenv("PMI_SIZE") != nullptr;
}

#if RNNX_HAVE_MPI

bool mpi_available() { return true; }

namespace {

// MPI counts are int: larger messages go in pieces of this many bytes.
constexpr size_t kPiece = size_t{1} << 30;
constexpr int kTagSize = 11, kTagData = 12, kTagExchange = 13;

std::string mpi_message(int code) {
  char text[MPI_MAX_ERROR_STRING];
  int length = 0;
  if (MPI_Error_string(code, text, &length) != MPI_SUCCESS) return "MPI error code " + std::to_string(code);
  return std::string(text, static_cast<size_t>(length));
}

class MpiWorld final : public Communicator {
 public:
  MpiWorld() {
    int initialized = 0, finalized = 0;
    MPI_Initialized(&initialized);
    MPI_Finalized(&finalized);
    if (finalized) throw ConfigError("mpi_communicator: MPI was already finalized in this process");
    if (!initialized) {
      int provided = 0;
      check(MPI_Init_thread(nullptr, nullptr, MPI_THREAD_FUNNELED, &provided), "MPI_Init_thread", -1);
      owns_mpi_ = true;
    }
    // Failures come back as return codes (turned into CommunicationError) instead of ending
    // the process inside MPI.
    check(MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN), "MPI_Comm_set_errhandler", -1);
    check(MPI_Comm_rank(MPI_COMM_WORLD, &rank_), "MPI_Comm_rank", -1);
    check(MPI_Comm_size(MPI_COMM_WORLD, &size_), "MPI_Comm_size", -1);
  }

  ~MpiWorld() override {
    if (!owns_mpi_) return;
    // Destroyed by an exception that nobody caught: the other ranks may be waiting for this
    // one in a collective, and MPI_Finalize would wait for them: end the job instead.
    if (std::uncaught_exceptions() > 0) MPI_Abort(MPI_COMM_WORLD, 1);
    MPI_Finalize();
  }

  int rank() const override { return rank_; }
  int size() const override { return size_; }

  void broadcast(std::vector<uint8_t>& bytes, int root) override {
    check_rank("broadcast", root);
    uint64_t n = bytes.size();
    check(MPI_Bcast(&n, 1, MPI_UINT64_T, root, MPI_COMM_WORLD), "MPI_Bcast", root);
    if (rank_ != root) bytes.assign(static_cast<size_t>(n), 0);
    for (size_t at = 0; at < bytes.size(); at += kPiece)
      check(MPI_Bcast(bytes.data() + at, count(bytes.size() - at), MPI_BYTE, root, MPI_COMM_WORLD), "MPI_Bcast", root);
  }

  void exchange(int peer, std::span<const uint8_t> send, std::span<uint8_t> receive) override {
    check_rank("exchange", peer);
    if (peer == rank_) {
      if (send.size() != receive.size())
        throw ConfigError("mpi_communicator: exchange with itself sends " + std::to_string(send.size()) +
                          " bytes but receives " + std::to_string(receive.size()));
      if (!send.empty()) std::memmove(receive.data(), send.data(), send.size());
      return;
    }
    // Both sides walk the same pieces: the peer sends what this rank receives and the reverse.
    const size_t total = std::max(send.size(), receive.size());
    for (size_t at = 0; at < total; at += kPiece) {
      const int n_send = at < send.size() ? count(send.size() - at) : 0;
      const int n_recv = at < receive.size() ? count(receive.size() - at) : 0;
      check(MPI_Sendrecv(n_send ? send.data() + at : nullptr, n_send, MPI_BYTE, peer, kTagExchange,
                         n_recv ? receive.data() + at : nullptr, n_recv, MPI_BYTE, peer, kTagExchange, MPI_COMM_WORLD,
                         MPI_STATUS_IGNORE),
            "MPI_Sendrecv", peer);
    }
  }

  std::vector<std::vector<uint8_t>> gather(const std::vector<uint8_t>& mine, int root) override {
    check_rank("gather", root);
    std::vector<std::vector<uint8_t>> all;
    if (rank_ != root) {
      uint64_t n = mine.size();
      check(MPI_Send(&n, 1, MPI_UINT64_T, root, kTagSize, MPI_COMM_WORLD), "MPI_Send", root);
      for (size_t at = 0; at < mine.size(); at += kPiece)
        check(MPI_Send(mine.data() + at, count(mine.size() - at), MPI_BYTE, root, kTagData, MPI_COMM_WORLD), "MPI_Send",
              root);
      return all;
    }
    all.resize(static_cast<size_t>(size_));
    for (int r = 0; r < size_; ++r) {
      std::vector<uint8_t>& part = all[static_cast<size_t>(r)];
      if (r == root) {
        part = mine;
        continue;
      }
      uint64_t n = 0;
      check(MPI_Recv(&n, 1, MPI_UINT64_T, r, kTagSize, MPI_COMM_WORLD, MPI_STATUS_IGNORE), "MPI_Recv", r);
      part.assign(static_cast<size_t>(n), 0);
      for (size_t at = 0; at < part.size(); at += kPiece)
        check(MPI_Recv(part.data() + at, count(part.size() - at), MPI_BYTE, r, kTagData, MPI_COMM_WORLD,
                       MPI_STATUS_IGNORE),
              "MPI_Recv", r);
    }
    return all;
  }

  std::vector<std::vector<uint8_t>> allgather(const std::vector<uint8_t>& mine) override {
    const uint64_t n = mine.size();
    std::vector<uint64_t> sizes(static_cast<size_t>(size_));
    check(MPI_Allgather(&n, 1, MPI_UINT64_T, sizes.data(), 1, MPI_UINT64_T, MPI_COMM_WORLD), "MPI_Allgather", -1);
    uint64_t total = 0;
    for (uint64_t s : sizes) total += s;
    if (total <= static_cast<uint64_t>(std::numeric_limits<int>::max())) {
      // One MPI_Allgatherv: MPI's own algorithm (logarithmic in the rank count for small parts).
      std::vector<int> counts(sizes.size()), offsets(sizes.size());
      for (size_t r = 0, at = 0; r < sizes.size(); at += sizes[r], ++r) {
        counts[r] = static_cast<int>(sizes[r]);
        offsets[r] = static_cast<int>(at);
      }
      std::vector<uint8_t> all(static_cast<size_t>(total));
      check(MPI_Allgatherv(mine.data(), counts[static_cast<size_t>(rank_)], MPI_BYTE, all.data(), counts.data(),
                           offsets.data(), MPI_BYTE, MPI_COMM_WORLD),
            "MPI_Allgatherv", -1);
      std::vector<std::vector<uint8_t>> parts(sizes.size());
      for (size_t r = 0; r < sizes.size(); ++r)
        parts[r].assign(all.begin() + offsets[r], all.begin() + offsets[r] + counts[r]);
      return parts;
    }
    // Too large for int counts: gather on rank 0, then one broadcast of [count, sizes...,
    // bytes...], both in pieces.
    std::vector<std::vector<uint8_t>> parts = gather(mine, 0);
    std::vector<uint8_t> packed;
    if (rank_ == 0) {
      auto put = [&](uint64_t v) {
        const auto* p = reinterpret_cast<const uint8_t*>(&v);
        packed.insert(packed.end(), p, p + sizeof v);
      };
      put(parts.size());
      for (const auto& part : parts) put(part.size());
      for (const auto& part : parts) packed.insert(packed.end(), part.begin(), part.end());
    }
    broadcast(packed, 0);
    if (rank_ == 0) return parts;
    size_t at = 0;
    auto get = [&] {
      uint64_t v = 0;
      std::memcpy(&v, packed.data() + at, sizeof v);
      at += sizeof v;
      return static_cast<size_t>(v);
    };
    std::vector<size_t> part_sizes(get());
    for (size_t& s : part_sizes) s = get();
    parts.assign(part_sizes.size(), {});
    for (size_t r = 0; r < part_sizes.size(); ++r) {
      parts[r].assign(packed.begin() + static_cast<std::ptrdiff_t>(at),
                      packed.begin() + static_cast<std::ptrdiff_t>(at + part_sizes[r]));
      at += part_sizes[r];
    }
    return parts;
  }

  void barrier() override { check(MPI_Barrier(MPI_COMM_WORLD), "MPI_Barrier", -1); }

  [[noreturn]] void abort(int code) override {
    MPI_Abort(MPI_COMM_WORLD, code);
    std::_Exit(code);
  }

 private:
  static int count(size_t remaining) { return static_cast<int>(std::min(remaining, kPiece)); }

  void check(int code, const char* what, int peer) const {
    if (code == MPI_SUCCESS) return;
    throw CommunicationError("MPI rank " + std::to_string(rank_) + ": " + what +
                             (peer >= 0 ? " with rank " + std::to_string(peer) : std::string()) +
                             " failed: " + mpi_message(code));
  }

  void check_rank(const char* what, int r) const {
    if (r < 0 || r >= size_)
      throw ConfigError(std::string("mpi_communicator: ") + what + ": rank " + std::to_string(r) +
                        " does not exist (the job has " + std::to_string(size_) + " ranks)");
  }

  int rank_ = 0, size_ = 1;
  bool owns_mpi_ = false;
};

std::mutex g_world_mutex;
std::weak_ptr<MpiWorld> g_world;

}  // namespace

std::shared_ptr<Communicator> mpi_communicator() {
  const std::lock_guard<std::mutex> lock(g_world_mutex);
  if (auto world = g_world.lock()) return world;
  auto world = std::make_shared<MpiWorld>();
  g_world = world;
  return world;
}

#else

bool mpi_available() { return false; }

std::shared_ptr<Communicator> mpi_communicator() {
  throw ConfigError(
      "mpi_communicator: this rnnx was built without MPI (install libopenmpi-dev and configure with "
      "-DRNNX_USE_MPI=ON)");
}

#endif

}  // namespace rnnx
