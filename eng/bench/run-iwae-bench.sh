#!/usr/bin/env bash
# The issue-2 benchmark in one run: this library (managed engine, and libtorch CPU with --libtorch) against PyTorch
# (Debian's python3-torch) on the Burda et al. one-layer IWAE, Fashion-MNIST, batch 100: ms per training batch at
# K = 1, 5, 50 and the seconds of the K=5000 log-likelihood of 1000 test images; then the GEMM rates vs OpenBLAS.
# Usage: eng/bench/run-iwae-bench.sh [--batches N] [--eval-rows N] [--libtorch] [--no-gemm]
set -euo pipefail
cd "$(dirname "$0")/../.."
batches=30; eval_rows=1000; libtorch=0; gemm=1
while [ $# -gt 0 ]; do
  case "$1" in
    --batches) batches=$2; shift 2;;
    --eval-rows) eval_rows=$2; shift 2;;
    --libtorch) libtorch=1; shift;;
    --no-gemm) gemm=0; shift;;
    *) echo "unknown option $1" >&2; exit 2;;
  esac
done
out=${BENCH_OUT:-artifacts/bench}
mkdir -p "$out"
bash eng/install-deps.sh --bench
dotnet build eng/bench/IwaeBench -c Release -m:1 -v q -nologo
echo "machine: $(nproc) cores, $(lscpu | sed -n 's/^Model name: *//p'), load average $(cut -d' ' -f1-3 /proc/loadavg)"

run_dotnet() { dotnet eng/bench/IwaeBench/bin/Release/net10.0/IwaeBench.dll --batches "$batches" --eval-rows "$eval_rows" "$@"; }
echo "== Microsoft.ML.Vae, managed engine"
run_dotnet --engine managed --json "$out/managed.json"
if [ "$libtorch" = 1 ]; then
  bash eng/build-native.sh >/dev/null
  echo "== Microsoft.ML.Vae, libtorch engine (CPU)"
  # One intra-op (OpenMP) thread: Debian's libtorch pays milliseconds per op with two; OpenBLAS still uses both cores.
  run_dotnet --engine libtorch --threads 1 --json "$out/libtorch.json"
fi
echo "== PyTorch $(/usr/bin/python3 -c 'import torch; print(torch.__version__)') (OMP_NUM_THREADS=1, OPENBLAS_NUM_THREADS=2)"
OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=2 /usr/bin/python3 eng/bench/pytorch/iwae_bench.py \
  --batches "$batches" --eval-rows "$eval_rows" --json "$out/pytorch.json"

/usr/bin/python3 - "$out" "$libtorch" <<'PY'
import json, sys, os
out, libtorch = sys.argv[1], sys.argv[2] == "1"
m = json.load(open(os.path.join(out, "managed.json")))
p = json.load(open(os.path.join(out, "pytorch.json")))
l = json.load(open(os.path.join(out, "libtorch.json"))) if libtorch else None
print("\n| measure | PyTorch | managed | speed-up |" + (" libtorch (CPU) | speed-up |" if l else ""))
print("|---|---|---|---|" + ("---|---|" if l else ""))
rows = [("K=1 ms/batch", "k1_ms"), ("K=5 ms/batch", "k5_ms"), ("K=50 ms/batch", "k50_ms"), ("K=5000 eval, s", "eval_seconds")]
for label, key in rows:
    if key not in m or key not in p: continue
    line = f"| {label} | {p[key]:.2f} | {m[key]:.2f} | {p[key] / m[key]:.2f}x |"
    if l and key in l: line += f" {l[key]:.2f} | {p[key] / l[key]:.2f}x |"
    print(line)
PY
if [ "$gemm" = 1 ]; then
  dotnet build eng/bench/GemmBench -c Release -m:1 -v q -nologo
  echo "== GEMM, managed vs OpenBLAS (2 threads, wall clock)"
  dotnet eng/bench/GemmBench/bin/Release/net10.0/Microsoft.ML.Vae.Benchmarks.dll --threads 2
fi
