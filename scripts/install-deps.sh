#!/usr/bin/env bash
# Installs the Debian packages rnnx needs to build and test (scripts/install-deps.sh [--test]). Idempotent: does nothing when
# everything is already installed.
set -euo pipefail
packages=(g++ cmake make libgtest-dev libgmock-dev nlohmann-json3-dev zlib1g-dev libhdf5-dev libdnnl-dev
  libcli11-dev libcairo2-dev pkg-config dataset-fashion-mnist libopenmpi-dev openmpi-bin)
# `--test`: also the tools of the test command (clang with libFuzzer for the fuzz targets,
# clang-tidy for the static checks).
if [ "${1:-}" = "--test" ]; then
  packages+=(clang libclang-rt-14-dev clang-tidy)
fi
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  sudo_cmd=""
  [ "$(id -u)" -ne 0 ] && sudo_cmd="sudo"
  $sudo_cmd apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq "${missing[@]}"
fi
