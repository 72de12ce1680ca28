#!/usr/bin/env bash
# Installs the Debian packages the tests and benchmarks need (run as root, or with sudo available).
#   libopenblas0-pthread  optimised BLAS: libtorch (and the optional OpenBLAS GEMM) use it; without it BLAS is the
#                         reference one, ~30x slower
#   libtorch-dev          libtorch 1.13 (CPU) for the native shim of the libtorch engine
#   cmake g++             to build that shim
#   chromium              headless rendering of the HTML reports (eng/render-report.sh and its test)
# Benchmarks also want: python3-torch python3-sklearn dataset-fashion-mnist (pass --bench).
set -euo pipefail
packages=(libopenblas0-pthread libtorch-dev cmake g++ chromium)
if [ "${1:-}" = "--bench" ]; then packages+=(python3-torch python3-sklearn dataset-fashion-mnist); fi
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
sudo=""; [ "$(id -u)" -ne 0 ] && sudo="sudo"
echo "Installing: ${missing[*]}"
$sudo apt-get update -q
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q --no-install-recommends "${missing[@]}"
