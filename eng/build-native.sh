#!/usr/bin/env bash
# Builds the libtorch engine's native shim into native/build (libvae_torch.so), where the C# side finds it.
# libtorch comes from LIBTORCH=<folder>, LIBTORCH_USE_PYTORCH=1 (torch of PYTHON, default python3), or the system's
# (Debian/Ubuntu: apt-get install libtorch-dev); see docs/libtorch.md. VAE_NATIVE_BUILD overrides the build folder.
# Arguments go to CMake's configure step, e.g. -DVAE_CUDA_GRAPHS=OFF (native/cmake/CudaGraphs.cmake).
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="${VAE_NATIVE_BUILD:-$repo/native/build}"

for tool in cmake c++; do
  if ! command -v "$tool" >/dev/null; then
    echo "error: '$tool' was not found; the shim needs CMake 3.21+ and a C++17 compiler (Debian/Ubuntu: apt-get install cmake g++)." >&2
    exit 1
  fi
done

generator=()
if command -v ninja >/dev/null && [[ ! -f "$build/CMakeCache.txt" ]]; then generator=(-G Ninja); fi

cmake -S "$repo/native" -B "$build" "${generator[@]}" -DCMAKE_BUILD_TYPE=Release "$@"
cmake --build "$build"
echo "Built the libtorch engine's shim in $build, where Microsoft.ML.Vae finds it (elsewhere: set VAE_NATIVE_PATH)."
