#!/usr/bin/env bash
# Installs dependencies, builds rnnx (Release) and runs the main job.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release -DRNNX_BUILD_TESTS=OFF
cmake --build build -j"$(nproc)"
./build/examples/seed_experiment
