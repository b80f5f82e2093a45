#!/usr/bin/env bash
# Installs dependencies and runs the whole test suite (also the CI command):
#  1. Release build: every test (labels unit, parity, gradcheck, io, cli, concurrency, mpi,
#     package, bench-smoke);
#  2. Debug build with address and undefined-behaviour sanitizers: the unit tests;
#  3. ThreadSanitizer build: the concurrency tests (one model predicting on 8 threads);
#  4. the fuzz targets (clang, libFuzzer, ASan+UBSan): every seed corpus replayed, then each
#     target fuzzed briefly (RNNX_FUZZ_SECONDS, default 10);
#  5. clang-tidy on the library (.clang-tidy).
# Each build compiles only the targets its step needs.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh --test
jobs="$(nproc)"
cmake -S . -B build-test -DCMAKE_BUILD_TYPE=Release -DRNNX_BUILD_TESTS=ON -DCMAKE_EXPORT_COMPILE_COMMANDS=ON
cmake --build build-test -j"$jobs"
cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=Debug -DRNNX_SANITIZE=ON -DRNNX_BUILD_TESTS=ON -DRNNX_BUILD_TOOLS=OFF \
  -DRNNX_USE_MPI=OFF
# Only the unit-test binaries are needed under the sanitizers (they run the `unit` label).
cmake --build build-asan -j"$jobs" --target rnnx_unit_tests rnnx_workspace_tests
# Tests are listed when ctest runs (the TSan binary is not run at link time).
cmake -S . -B build-tsan -DCMAKE_BUILD_TYPE=Release -DRNNX_SANITIZE_THREAD=ON -DRNNX_BUILD_TESTS=ON \
  -DRNNX_BUILD_TOOLS=OFF -DRNNX_USE_MPI=OFF -DCMAKE_GTEST_DISCOVER_TESTS_DISCOVERY_MODE=PRE_TEST
cmake --build build-tsan -j"$jobs" --target rnnx_concurrency_tests
ctest --test-dir build-test --output-on-failure -j"$jobs"
ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
  ctest --test-dir build-asan --output-on-failure -j"$jobs" -L unit
TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1 OMP_NUM_THREADS=1 \
  ctest --test-dir build-tsan --output-on-failure -L concurrency
bash scripts/run-fuzz.sh "${RNNX_FUZZ_SECONDS:-10}"
bash scripts/run-clang-tidy.sh build-test
