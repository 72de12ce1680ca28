#!/usr/bin/env bash
# Issue 12's GPU benchmark in one go, on the GPU machine of docs/libtorch.md (CUDA PyTorch as python3, cmake, g++, no
# .NET): builds the shim against that PyTorch, times this library's device loop (VaeTrainerOptions.TrainOnDevice) at
# K = 1, 5, 50 with batches of 100 and 1000 and its K=5000 log-likelihood of 1000 test images with the noise drawn on
# the device, then the PyTorch peers (eager, whole step in one CUDA graph; eng/bench/pytorch/iwae_cuda_bench.py), and
# prints one table.
#
# Prepare here (with .NET), then carry .publish (git ignores it; with this project's device tool: carry [".publish"])
# to the GPU machine with the working tree (about 25 MB):
#   dotnet publish eng/bench/IwaeBench -c Release -r linux-x64 --self-contained -p:PublishTrimmed=true -o .publish/IwaeBench
# There, in the repository root:
#   bash eng/bench/gpu/run.sh [--device cuda] [--batches 50] [--report-interval 25]
# Results go to ${BENCH_OUT:-artifacts/bench-gpu} (one JSON per run) and the table to stdout.
set -euo pipefail
cd "$(dirname "$0")/../../.."
device=cuda; batches=50; interval=25; publish=.publish/IwaeBench
while [ $# -gt 0 ]; do
  case "$1" in
    --device) device=$2; shift 2;;
    --batches) batches=$2; shift 2;;
    --report-interval) interval=$2; shift 2;;
    --publish) publish=$2; shift 2;;
    *) echo "unknown option $1 (use --device, --batches, --report-interval, --publish)" >&2; exit 2;;
  esac
done
out=${BENCH_OUT:-artifacts/bench-gpu}
mkdir -p "$out"
if [ ! -x "$publish/IwaeBench" ]; then
  echo "error: $publish/IwaeBench is missing: publish it first (see the head of $0)." >&2
  exit 2
fi
data=/usr/share/datasets/fashion-mnist
[ -f "$data/train-images-idx3-ubyte.gz" ] || data=data/fashion-mnist-small
python=${PYTHON:-python3}
echo "machine: $(nproc) cores; $(nvidia-smi --query-gpu=name,driver_version --format=csv,noheader 2>/dev/null || echo 'no nvidia-smi')"
echo "torch: $($python -c 'import torch; print(torch.__version__, "CUDA", torch.version.cuda, "available", torch.cuda.is_available())')"
echo "data: $data"

# Built against, and at run time bound to, the libtorch of $python's CUDA PyTorch (docs/libtorch.md).
export LIBTORCH_USE_PYTORCH=1 PYTHON=$python VAE_NATIVE_PATH=native/build
bash eng/build-native.sh > "$out/build-native.log" 2>&1 || { tail -20 "$out/build-native.log"; exit 1; }

for batch in 100 1000; do
  echo "== device loop, batch $batch"
  "$publish/IwaeBench" --engine libtorch --device "$device" --device-loop 1 --report-interval "$interval" \
    --batches "$batches" --batch "$batch" --ks 1,5,50 --data "$data" \
    --eval-rows "$([ "$batch" = 100 ] && echo 1000 || echo 0)" --eval-k 5000 --eval-mode device \
    --json "$out/device-loop-b$batch.json"
done
echo "== PyTorch peers"
$python eng/bench/pytorch/iwae_cuda_bench.py --device "$device" --ks 1,5,50 --batch-sizes 100,1000 --steps 25 \
  --eval-rows 1000 --eval-k 5000 --data-dir "$data" --json "$out/pytorch.json"

$python - "$out" <<'PY'
import json, os, sys
out = sys.argv[1]
torch_peer = json.load(open(os.path.join(out, "pytorch.json")))
print(f"\nms per training step (means over the timed steps, one synchronisation at the end; device {torch_peer['device']})")
print(f"| K | batch | device loop | PyTorch eager | PyTorch CUDA graph | samples/s device loop | samples/s CUDA graph |")
print("|---|---|---|---|---|---|---|")
for batch in (100, 1000):
    ours = json.load(open(os.path.join(out, f"device-loop-b{batch}.json")))
    for k in (1, 5, 50):
        mine = ours[f"k{k}_ms"]
        eager = torch_peer[f"k{k}_b{batch}_eager_mean_ms"]
        graph = torch_peer[f"k{k}_b{batch}_graph_mean_ms"]
        print(f"| {k} | {batch} | {mine:.3f} | {eager:.3f} | {graph:.3f} | {batch * 1000 / mine:,.0f} | {batch * 1000 / graph:,.0f} |")
ours = json.load(open(os.path.join(out, "device-loop-b100.json")))
print(f"\nK=5000 log-likelihood: device scoring {ours['eval_seconds']:.3f} s for {ours['eval_rows']:.0f} images, "
      f"PyTorch eager {torch_peer['eval_seconds']:.3f} s for {torch_peer['eval_rows']} (chunks of {torch_peer['eval_chunk_rows']} rows)")
print(f"engine: {ours.get('engine_name', '?')}")
PY
