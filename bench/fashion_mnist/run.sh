#!/usr/bin/env bash
# Fashion-MNIST convergence benchmark: builds fashion_mnist_bench and runs it (10 epochs of
# LSTM(128) -> Dense(10), Adam, batch 32), printing test accuracy and time per epoch.
# Usage: bench/fashion_mnist/run.sh [BUILD_DIR] [--keras] [-- extra fashion_mnist_bench options]
#   e.g. bench/fashion_mnist/run.sh build -- --epochs 1 --train-limit 6000
# With --keras, also runs the same model in Keras (python/venv with keras + tensorflow;
# PYTHON defaults to /work/venv-oracle/bin/python) for comparison: keras_reference.py.
# Needs the IDX files of the Debian package dataset-fashion-mnist (or --data DIR).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
build="$root/build"
keras=0
if [[ $# -gt 0 && $1 != -- && $1 != --keras ]]; then build=$1; shift; fi
if [[ $# -gt 0 && $1 == --keras ]]; then keras=1; shift; fi
[[ $# -gt 0 && $1 == -- ]] && shift

cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Release -DRNNX_BUILD_TOOLS=ON >/dev/null
cmake --build "$build" -j"$(nproc)" --target fashion_mnist_bench >/dev/null
echo "== rnnx"
"$build/bench/fashion_mnist/fashion_mnist_bench" "$@"
if [[ $keras == 1 ]]; then
  echo "== keras"
  KERAS_BACKEND=tensorflow "${PYTHON:-/work/venv-oracle/bin/python}" "$here/keras_reference.py" "$@"
fi
