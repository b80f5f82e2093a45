#pragma once
// The fixture of the `rnnx` executable tests: a fresh temporary folder per test and run()
// of the tool as a separate process, capturing exit code, stdout and stderr.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

namespace rnnx::testing {

namespace fs = std::filesystem;

struct Result {
  int code = -1;
  std::string out, err;
};

class Cli : public ::testing::Test {
 protected:
  void SetUp() override {
#ifndef RNNX_CLI
    GTEST_SKIP() << "the rnnx tool is not built (RNNX_BUILD_TOOLS=OFF)";
#endif
    dir_ = fs::temp_directory_path() / ("rnnx_cli_test_" + std::to_string(::getpid()) + "_" +
                                        ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  std::string file(const std::string& name) const { return (dir_ / name).string(); }

  static std::string read(const std::string& path) {
    std::ifstream f(path, std::ios::binary);
    std::stringstream s;
    s << f.rdbuf();
    return s.str();
  }

  // Runs `rnnx <args>` (args are shell words, quoted by the caller where needed).
  Result run(const std::string& args) const {
#ifdef RNNX_CLI
    const std::string out = file("stdout.txt"), err = file("stderr.txt");
    const std::string cmd = std::string("'") + RNNX_CLI + "' " + args + " >'" + out + "' 2>'" + err + "'";
    const int status = std::system(cmd.c_str());
    Result r;
    r.code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    r.out = read(out);
    r.err = read(err);
    return r;
#else
    (void)args;
    return {};
#endif
  }

  static std::string written(const std::string& name) {
    return std::string(RNNX_TEST_DATA_DIR) + "/rnnx_written/" + name;
  }
  static std::string keras_file(const std::string& name) { return std::string(RNNX_TEST_DATA_DIR) + "/files/" + name; }
  static std::string pytorch_file(const std::string& name) {
    return std::string(RNNX_TEST_DATA_DIR) + "/pytorch/" + name;
  }

  // Width and height from a PNG file's signature and IHDR chunk; {0, 0} if it is not a PNG.
  static std::pair<int, int> png_size(const std::string& path) {
    const std::string b = read(path);
    static const char sig[] = "\x89PNG\r\n\x1a\n";
    if (b.size() < 24 || b.compare(0, 8, std::string(sig, 8)) != 0 || b.compare(12, 4, "IHDR") != 0) return {0, 0};
    auto be32 = [&](size_t at) {
      return (static_cast<int>(static_cast<unsigned char>(b[at])) << 24) |
             (static_cast<int>(static_cast<unsigned char>(b[at + 1])) << 16) |
             (static_cast<int>(static_cast<unsigned char>(b[at + 2])) << 8) | static_cast<unsigned char>(b[at + 3]);
    };
    return {be32(16), be32(20)};
  }

  fs::path dir_;
};

}  // namespace rnnx::testing
