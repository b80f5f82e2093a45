#!/usr/bin/env bash
# Installs dependencies (Debian packages, Fashion-MNIST included), builds the rnnx tool
# (Release) and runs the main job: `rnnx train` with its defaults, an LSTM(128) on
# Fashion-MNIST read row by row. Outputs go to ./rnnx-train (model, history, curves).
# Extra arguments are passed to `rnnx train` (e.g. --epochs 3).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release -DRNNX_BUILD_TESTS=OFF
cmake --build build -j"$(nproc)" --target rnnx_cli
./build/tools/cli/rnnx train "$@"
