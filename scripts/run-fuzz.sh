#!/usr/bin/env bash
# Builds the libFuzzer targets (tests/fuzz/*_fuzz.cpp) with clang, ASan and UBSan in
# build-fuzz, replays each seed corpus (tests/fuzz/corpus/<reader>/), then fuzzes each
# target for N seconds (default 20) from a scratch copy of its corpus, so the committed
# corpus is never modified. Findings are written to build-fuzz/findings/<reader>/.
#   scripts/run-fuzz.sh [seconds] [target ...]     e.g. scripts/run-fuzz.sh 60 npy csv
# Installs clang and libFuzzer's runtime (Debian: clang, libclang-rt-14-dev) when missing.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
seconds="${1:-20}"
shift || true
# RNNX_FUZZ_BUILD_DIR picks another build folder (default build-fuzz).
build="${RNNX_FUZZ_BUILD_DIR:-$root/build-fuzz}"

if ! command -v clang++ >/dev/null 2>&1 || ! ls /usr/lib/llvm-*/lib/clang/*/lib/linux/libclang_rt.fuzzer-x86_64.a >/dev/null 2>&1; then
  sudo_cmd=""
  [ "$(id -u)" -ne 0 ] && sudo_cmd="sudo"
  $sudo_cmd apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq clang libclang-rt-14-dev || \
    DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq clang
fi

cmake -S "$root" -B "$build" -DCMAKE_CXX_COMPILER=clang++ -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DRNNX_BUILD_FUZZERS=ON -DRNNX_BUILD_TESTS=OFF -DRNNX_BUILD_TOOLS=OFF -DRNNX_INSTALL=OFF -DRNNX_USE_MPI=OFF >/dev/null
cmake --build "$build" --target rnnx_fuzzers -j "$(nproc)"

if (($#)); then
  targets=("$@")
else
  targets=()
  for f in "$root"/tests/fuzz/*_fuzz.cpp; do
    n="$(basename "$f" .cpp)"
    targets+=("${n%_fuzz}")
  done
fi

export ASAN_OPTIONS="detect_leaks=1:allocator_may_return_null=1:${ASAN_OPTIONS:-}"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1:${UBSAN_OPTIONS:-}"
status=0
for t in "${targets[@]}"; do
  bin="$build/tests/fuzz/${t}_fuzz"
  corpus="$root/tests/fuzz/corpus/$t"
  echo "== $t: replaying $(ls "$corpus" | wc -l) corpus inputs"
  mkdir -p "$build/replay"
  if ! "$bin" -rss_limit_mb=4096 -timeout=10 "$corpus"/* >"$build/replay/$t.log" 2>&1; then
    echo "!! $t: corpus replay failed"; tail -n 40 "$build/replay/$t.log"; status=1; continue
  fi
  if ((seconds > 0)); then
    work="$build/corpus/$t"
    findings="$build/findings/$t"
    mkdir -p "$work" "$findings"
    cp -n "$corpus"/* "$work"/ 2>/dev/null || true
    echo "== $t: fuzzing for ${seconds}s"
    if ! "$bin" -max_total_time="$seconds" -rss_limit_mb=4096 -timeout=10 -max_len=65536 \
        -artifact_prefix="$findings/" -print_final_stats=1 "$work" 2>"$build/$t.log"; then
      echo "!! $t: finding, see $build/$t.log and $findings/"; tail -n 40 "$build/$t.log"; status=1
    else
      grep -E "stat::number_of_executed_units|stat::peak_rss_mb" "$build/$t.log" || true
    fi
  fi
done
exit $status
