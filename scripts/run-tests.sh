#!/usr/bin/env bash
# Installs dependencies, builds rnnx twice (Release; and Debug with address and
# undefined-behaviour sanitizers) and runs the whole test suite: every test in the Release
# build, the unit tests again under the sanitizers.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
jobs="$(nproc)"
cmake -S . -B build-test -DCMAKE_BUILD_TYPE=Release -DRNNX_BUILD_TESTS=ON
cmake --build build-test -j"$jobs"
cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=Debug -DRNNX_SANITIZE=ON -DRNNX_BUILD_TESTS=ON -DRNNX_BUILD_TOOLS=OFF
# Only the unit-test binary is needed under the sanitizers (it runs the `unit` label).
cmake --build build-asan -j"$jobs" --target rnnx_unit_tests
ctest --test-dir build-test --output-on-failure -j"$jobs"
ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
  ctest --test-dir build-asan --output-on-failure -j"$jobs" -L unit
