#!/usr/bin/env bash
# The side-by-side recurrent benchmark: rnnx against oneDNN's LSTM/GRU primitives (Debian
# libdnnl 2.6, and the newest oneDNN from PyPI's onednn-devel when it installs and runs),
# ONNX Runtime (CPU provider), Keras 3 on TensorFlow (graph and XLA) and PyTorch, interleaved
# in rounds, outputs and gradients checked against a float64 reference, plus the FMA peak and
# the Fashion-MNIST LSTM(128) epoch against Keras `fit`. See bench/README.md.
#
# Usage: bench/recurrent/run.sh [--quick | --full] [--build DIR] [--work DIR] [--out FILE]
#                               [--rounds N] [--only REGEX] [--no-onednn-pypi] [--no-fashion]
#   --quick (default)  a few cases, one round, 3 reps: proves every peer runs and agrees
#                      (1-2 minutes; writes WORK/RESULTS-quick.md unless --out)
#   --full             every case, 3 rounds (~20-25 minutes on a quiet 2-core machine,
#                      never more: a round that would pass 25 minutes is not started;
#                      writes bench/RESULTS.md unless --out). Run it on a quiet machine.
#   --build DIR        CMake build folder (default build-bench), configured and built here
#   --work DIR         data, dumps and raw results (default DIR/bench-work)
#   --only REGEX       only the cases whose id matches, e.g. 'lstm train (B|C) 2T'
#   Re-render a report from a run's raw results: py/report.py WORK/raw.json OUT.md
# Installs what it needs, idempotently: Debian libdnnl-dev (and dataset-fashion-mnist) when
# missing, and a venv OUTSIDE the repo from requirements-bench.txt (RNNX_BENCH_VENV, default
# ~/.cache/rnnx-bench-venv; requirements-onednn.txt adds the PyPI oneDNN).
# Exit status: 0, or 3 when an implementation disagrees with the reference or fails.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
mode=quick build="$root/build-bench" work="" out="" rounds="" only="" pypi=1 fashion=1
while [[ $# -gt 0 ]]; do
  case $1 in
    --quick) mode=quick ;;
    --full) mode=full ;;
    --build) build=$2; shift ;;
    --work) work=$2; shift ;;
    --out) out=$2; shift ;;
    --rounds) rounds=$2; shift ;;
    --only) only=$2; shift ;;
    --no-onednn-pypi) pypi=0 ;;
    --no-fashion) fashion=0 ;;
    -h|--help) sed -n '2,24p' "$0"; exit 0 ;;
    *) echo "run.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
  esac
  shift
done
build=$(mkdir -p "$build" && cd "$build" && pwd)
work=${work:-$build/bench-work}
mkdir -p "$work"
if [[ -z $out ]]; then
  if [[ $mode == full ]]; then out="$root/bench/RESULTS.md"; else out="$work/RESULTS-quick.md"; fi
fi

# --- system packages (Debian) ---
missing=()
dpkg -s libdnnl-dev >/dev/null 2>&1 || missing+=(libdnnl-dev)
if [[ $fashion == 1 && ! -d /usr/share/datasets/fashion-mnist ]]; then missing+=(dataset-fashion-mnist); fi
if [[ ${#missing[@]} -gt 0 ]]; then
  echo "== installing ${missing[*]}"
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}"
fi

# --- the peers' venv (outside the repo), rebuilt when the pins change ---
venv=${RNNX_BENCH_VENV:-$HOME/.cache/rnnx-bench-venv}
stamp="$venv/.rnnx-bench-requirements"
want=$(cat "$here/requirements-bench.txt" | sha256sum)
if [[ ! -x $venv/bin/python || ! -f $stamp || $(cat "$stamp") != "$want" ]]; then
  echo "== creating $venv from requirements-bench.txt (downloads several GB the first time)"
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q -r "$here/requirements-bench.txt"
  echo "$want" > "$stamp"
fi
py="$venv/bin/python"

# --- the C++ peers ---
echo "== building the C++ peers in $build"
cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$build" -j"$(nproc)" --target rnnx_peer onednn_peer bench_peak fashion_mnist_bench >/dev/null

# --- optional: the newest oneDNN from PyPI (onednn-devel) ---
pypi_args=()
if [[ $pypi == 1 ]]; then
  pstamp="$venv/.rnnx-bench-onednn"
  pwant=$(cat "$here/requirements-onednn.txt" | sha256sum)
  exe="$build/bench/recurrent/onednn_peer_pypi"
  why=""
  if [[ ! -f $pstamp || $(cat "$pstamp") != "$pwant" ]]; then
    echo "== installing PyPI oneDNN (requirements-onednn.txt)"
    if "$venv/bin/pip" install -q -r "$here/requirements-onednn.txt"; then echo "$pwant" > "$pstamp"; else why="pip install failed"; fi
  fi
  if [[ -z $why ]]; then
    # The wheel's oneDNN is a SYCL build threaded by TBB: its CPU engine needs Intel's OpenCL
    # CPU runtime (shipped in the same venv) and a tbb::global_control for the thread count.
    stale=$(find "$here" -maxdepth 1 \( -name '*.cpp' -o -name '*.h' \) -newer "$exe" 2>/dev/null || true)
    if [[ -x $exe && -z $stale ]] || g++ -O2 -std=c++20 -pthread -DRNNX_BENCH_TBB -I"$here" -I"$venv/include" "$here/onednn_peer.cpp" \
        "$here/onednn_runner.cpp" "$here/bench_support.cpp" "$here/peak.cpp" -L"$venv/lib" -ldnnl -ltbb \
        -Wl,--disable-new-dtags,-rpath,"$venv/lib" -o "$exe" 2>"$work/onednn_pypi_build.log"; then
      # The peer runs a tiny training step when it starts and exits 1 (saying why) if it cannot.
      if probe=$(echo quit | OCL_ICD_FILENAMES="$venv/lib/libintelocl.so" OMP_NUM_THREADS=1 "$exe" 2>&1); then
        pypi_args=(--onednn-pypi "$exe" --onednn-pypi-env "OCL_ICD_FILENAMES=$venv/lib/libintelocl.so")
      else
        why="the peer does not start: ${probe:0:300}"
      fi
    else
      why="it does not compile or link (see $work/onednn_pypi_build.log)"
    fi
  fi
  if [[ -n $why ]]; then echo "== PyPI oneDNN left out: $why" >&2; fi
fi

args=(--mode "$mode" --build "$build" --work "$work" --out "$out" "${pypi_args[@]}")
[[ -n $rounds ]] && args+=(--rounds "$rounds")
[[ -n $only ]] && args+=(--only "$only")
[[ $fashion == 0 ]] && args+=(--no-fashion)
echo "== running the $mode benchmark (peers interleaved in rounds)"
exec "$py" "$here/py/driver.py" "${args[@]}"
