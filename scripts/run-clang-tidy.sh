#!/usr/bin/env bash
# clang-tidy (configuration: .clang-tidy) on every source file of the library (src/), which
# also checks the public headers they include (include/rnnx). Needs a configured build folder
# with compile_commands.json (default build-test; the test command configures it).
# Usage: scripts/run-clang-tidy.sh [build-dir]. Exit status non-zero on any finding.
set -uo pipefail
cd "$(dirname "$0")/.."
build="${1:-build-test}"
if [ ! -f "$build/compile_commands.json" ]; then
  cmake -S . -B "$build" -DCMAKE_EXPORT_COMPILE_COMMANDS=ON >/dev/null || exit 1
fi
runner="$(command -v run-clang-tidy-14 || command -v run-clang-tidy)"
tidy="$(command -v clang-tidy-14 || command -v clang-tidy)"
log="$build/clang-tidy.log"
# Only the library's own translation units (not tests, tools or generated files).
"$runner" -quiet -p "$build" -j "$(nproc)" -clang-tidy-binary "$tidy" "$PWD/src/.*\.cpp$" >"$log" 2>&1
status=$?
# Findings only (not the per-file "N warnings generated" chatter).
grep -E "(warning|error): " "$log" | sort -u || true
if [ "$status" -ne 0 ]; then
  echo "clang-tidy: findings above (full log: $log)" >&2
  exit 1
fi
echo "clang-tidy: no findings in $(grep -c '"file"' "$build/compile_commands.json") translation units listed, src/ checked"
