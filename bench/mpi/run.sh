#!/usr/bin/env bash
# Data-parallel benchmark (issue 12; docs/mpi-scaling.md): one Fashion-MNIST epoch of the
# rnnx tool's default model, LSTM(128) -> Dense(10), Adam, batch 32, trained
#   A.  in one process with 2 threads (the plain Trainer):  rnnx train --threads 2
#   B.  on 2 MPI ranks x 1 thread, 2 shards per batch:      mpirun -np 2 rnnx train --threads 1 --shards 2
#   B8. on 2 MPI ranks x 1 thread, 8 shards (the default):  ... --shards 8
#   C.  on 1 MPI rank x 2 threads, 8 shards:                mpirun -np 1 rnnx train --threads 2
# (B8 and C give the same weights, bit for bit; C prices the 8 shards without communication.)
# Each configuration runs ROUNDS times (default 1), interleaved A B B8 C A B B8 C ..., and the
# script prints every epoch time (settings.json "epoch_seconds": the fit loop only, no data
# loading or test evaluation), the medians, and each MPI run's profile of rank 0 (seconds in
# forward, backward, reduce, gather; bytes sent) from settings.json "data_parallel" (forward
# also counts the test set's evaluation after the epoch).
#
# Usage: bench/mpi/run.sh [BUILD_DIR] [-- extra `rnnx train` options]
#   full:  ROUNDS=3 bench/mpi/run.sh build-mpi
#   smoke: bench/mpi/run.sh build-mpi -- --limit 3000
# Needs Open MPI (scripts/install-deps.sh) and the Debian package dataset-fashion-mnist.
# Run it on a quiet machine: it times CPU work on every core.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
build="$root/build-mpi"
if [[ $# -gt 0 && $1 != -- ]]; then build=$1; shift; fi
[[ $# -gt 0 && $1 == -- ]] && shift
rounds=${ROUNDS:-1}

cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Release -DRNNX_BUILD_TOOLS=ON -DRNNX_USE_MPI=ON >/dev/null
cmake --build "$build" -j"$(nproc)" --target rnnx_cli >/dev/null
rnnx="$build/tools/cli/rnnx"
mpirun=(mpirun --oversubscribe --bind-to none)
[[ $(id -u) -eq 0 ]] && mpirun+=(--allow-run-as-root)
out=$(mktemp -d /tmp/rnnx-bench-mpi.XXXXXX)
trap 'rm -rf "$out"' EXIT
common=(train --epochs 1 --validation-split 0 --no-checkpoint --verbose 2 "$@")

epoch_seconds() { "${PYTHON:-python3}" -c 'import json,sys; print("%.2f" % json.load(open(sys.argv[1]))["epoch_seconds"][0])' "$1"; }

declare -A times
run() {  # run NAME THREADS RANKS [extra options]: RANKS 0 = no mpirun
  local name=$1 threads=$2 ranks=$3
  shift 3
  local cmd=("$rnnx" "${common[@]}" --threads "$threads" "$@" -o "$out/$name")
  ((ranks > 0)) && cmd=("${mpirun[@]}" -np "$ranks" "${cmd[@]}")
  OMP_NUM_THREADS=$threads "${cmd[@]}" >"$out/$name.log" 2>&1
  times[${name%_*}]+="$("${PYTHON:-python3}" -c 'import json,sys; print("%.2f" % json.load(open(sys.argv[1]))["epoch_seconds"][0])' \
    "$out/$name/settings.json") "
}
for ((r = 1; r <= rounds; ++r)); do
  run "A_$r" 2 0
  run "B_$r" 1 2 --shards 2
  run "B8_$r" 1 2 --shards 8
  run "C_$r" 2 1 --shards 8
done

median() { tr ' ' '\n' | grep . | sort -g | awk '{a[NR]=$1} END {print (NR % 2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }
echo "machine: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //'), $(nproc) cores; rounds: $rounds"
echo "data: $(grep -m1 '^data:' "$out/A_1.log" | cut -d' ' -f2-)"
declare -A label=([A]="A  1 process x 2 threads      " [B]="B  2 ranks x 1 thread, 2 shards" [B8]="B8 2 ranks x 1 thread, 8 shards"
  [C]="C  1 rank x 2 threads, 8 shards")
for k in A B B8 C; do echo "${label[$k]}: epoch seconds ${times[$k]}(median $(echo "${times[$k]}" | median))"; done
a=$(echo "${times[A]}" | median)
for k in B B8; do
  echo "speedup of $k over A: $(awk -v a="$a" -v b="$(echo "${times[$k]}" | median)" 'BEGIN {printf "%.2f", a / b}')"
done
for k in B B8 C; do
  echo "$k, rank 0 (round 1): $("${PYTHON:-python3}" -c 'import json,sys; print(json.dumps(json.load(open(sys.argv[1]))["data_parallel"]))' \
    "$out/${k}_1/settings.json")"
done
for k in A B B8 C; do echo "$k $(grep -h '^test' "$out/${k}_1.log")"; done
