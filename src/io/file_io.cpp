#include "io/file_io.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "rnnx/core/error.h"

namespace rnnx::detail {
namespace {

std::string os_reason() { return std::strerror(errno); }

class Fd {
 public:
  explicit Fd(int fd) : fd_(fd) {}
  ~Fd() {
    if (fd_ >= 0) ::close(fd_);
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  int get() const { return fd_; }
  int release() {
    const int fd = fd_;
    fd_ = -1;
    return fd;
  }

 private:
  int fd_;
};

long test_write_pause_ms() {
  const char* v = std::getenv("RNNX_TEST_WRITE_PAUSE_MS");
  return v ? std::strtol(v, nullptr, 10) : 0;
}

// Best effort: a file system that cannot sync directories still has the renamed file.
void sync_parent_directory(const std::string& path) {
  const size_t slash = path.find_last_of('/');
  const std::string dir = slash == std::string::npos ? "." : (slash == 0 ? "/" : path.substr(0, slash));
  Fd fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (fd.get() >= 0) (void)::fsync(fd.get());
}

}  // namespace

std::vector<uint8_t> read_file(const std::string& path) {
  Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (fd.get() < 0) throw IoError("cannot open '" + path + "' for reading: " + os_reason());
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) throw IoError("cannot stat '" + path + "': " + os_reason());
  if (S_ISDIR(st.st_mode)) throw IoError("cannot read '" + path + "': it is a directory");
  std::vector<uint8_t> data;
  if (S_ISREG(st.st_mode) && st.st_size > 0) data.reserve(static_cast<size_t>(st.st_size));
  uint8_t buf[1 << 16];
  for (;;) {
    const ssize_t n = ::read(fd.get(), buf, sizeof buf);
    if (n < 0) {
      if (errno == EINTR) continue;
      throw IoError("cannot read '" + path + "': " + os_reason());
    }
    if (n == 0) break;
    data.insert(data.end(), buf, buf + n);
  }
  return data;
}

void write_file_atomic(const std::string& path, std::span<const uint8_t> data) {
  // A fresh name per call (pid + counter); O_EXCL never reuses an existing file, and the
  // 0666 mode is reduced by the umask as for any new file.
  static std::atomic<uint64_t> counter{0};
  std::string tmp;
  int raw_fd = -1;
  for (int attempt = 0; attempt < 100 && raw_fd < 0; ++attempt) {
    tmp = path + ".tmp." + std::to_string(::getpid()) + "." + std::to_string(counter.fetch_add(1));
    raw_fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
    if (raw_fd < 0 && errno != EEXIST) break;
  }
  Fd fd(raw_fd);
  if (fd.get() < 0) throw IoError("cannot create a temporary file next to '" + path + "': " + os_reason());
  auto fail = [&](const std::string& what) {
    const std::string reason = os_reason();
    ::close(fd.release());
    ::unlink(tmp.c_str());
    throw IoError("cannot write '" + path + "' (" + what + "): " + reason);
  };
  auto write_range = [&](size_t pos, size_t end) {
    while (pos < end) {
      const ssize_t n = ::write(fd.get(), data.data() + pos, end - pos);
      if (n < 0) {
        if (errno == EINTR) continue;
        fail("write");
      }
      pos += static_cast<size_t>(n);
    }
  };
  static const long pause_ms = test_write_pause_ms();
  if (pause_ms > 0) {
    write_range(0, data.size() / 2);
    ::usleep(static_cast<useconds_t>(pause_ms) * 1000);
    write_range(data.size() / 2, data.size());
  } else {
    write_range(0, data.size());
  }
  if (::fsync(fd.get()) != 0) fail("fsync");
  if (::close(fd.release()) != 0) {
    const std::string reason = os_reason();
    ::unlink(tmp.c_str());
    throw IoError("cannot write '" + path + "' (close): " + reason);
  }
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    const std::string reason = os_reason();
    ::unlink(tmp.c_str());
    throw IoError("cannot write '" + path + "' (rename): " + reason);
  }
  sync_parent_directory(path);
}

}  // namespace rnnx::detail
