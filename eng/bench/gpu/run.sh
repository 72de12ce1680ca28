#!/usr/bin/env bash
# Issue 12's GPU benchmark in one go, on the GPU machine of docs/libtorch.md (CUDA PyTorch as python3, cmake, g++, no
# .NET): builds the shim against that PyTorch with CUDA graphs of the training step (without them when that build
# fails; a device loop that fails with them is rerun with VAE_CUDA_GRAPHS=0), times this library's device loop
# (VaeTrainerOptions.TrainOnDevice, IwaeBench --device-loop 1) at K = 1, 5, 50 with batches of 100 and 1000 and its
# K=5000 log-likelihood of 1000 test images with the noise drawn on the device, the device loop once more with the
# graphs turned off (VAE_CUDA_GRAPHS=0, batch 100) to show their effect, then the PyTorch peers (eager, whole step in
# one CUDA graph; eng/bench/pytorch/iwae_cuda_bench.py), and prints one table that says which shim ran.
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
# The device loop's step captured in CUDA graphs (native/cmake/CudaGraphs.cmake); if that build fails, one without.
if bash eng/build-native.sh -DVAE_CUDA_GRAPHS=AUTO > "$out/build-native.log" 2>&1; then
  graphs=$(grep -o 'CUDA graphs: .*' "$out/build-native.log" | head -1 || true)
else
  tail -20 "$out/build-native.log"
  echo "the shim with CUDA graphs did not build (above; $out/build-native.log): building it without them"
  bash eng/build-native.sh -DVAE_CUDA_GRAPHS=OFF > "$out/build-native-eager.log" 2>&1 || { tail -20 "$out/build-native-eager.log"; exit 1; }
  graphs="CUDA graphs: off (the build with them failed: $out/build-native.log)"
fi
echo "$graphs"

device_loop() {  # batch, eval rows, json
  "$publish/IwaeBench" --engine libtorch --device "$device" --device-loop 1 --report-interval "$interval" \
    --batches "$batches" --batch "$1" --ks 1,5,50 --data "$data" --eval-rows "$2" --eval-k 5000 --eval-mode device \
    --json "$3"
}
for batch in 100 1000; do
  echo "== device loop, batch $batch"
  eval_rows=$([ "$batch" = 100 ] && echo 1000 || echo 0)
  if ! device_loop "$batch" "$eval_rows" "$out/device-loop-b$batch.json"; then
    [[ "$graphs" == "CUDA graphs: on"* ]] || exit 1
    echo "the device loop failed with CUDA graphs (above): from here on it runs with VAE_CUDA_GRAPHS=0"
    graphs="$graphs, but the capture or replay failed at run time: the device loop ran with VAE_CUDA_GRAPHS=0"
    export VAE_CUDA_GRAPHS=0
    device_loop "$batch" "$eval_rows" "$out/device-loop-b$batch.json"
  fi
done
echo "$graphs" > "$out/graphs.txt"
rm -f "$out/device-loop-eager-b100.json"
if [[ "$graphs" == "CUDA graphs: on"* && "${VAE_CUDA_GRAPHS:-}" != 0 ]]; then
  echo "== device loop, batch 100, CUDA graphs turned off (VAE_CUDA_GRAPHS=0)"
  VAE_CUDA_GRAPHS=0 device_loop 100 0 "$out/device-loop-eager-b100.json"
fi
echo "== PyTorch peers"
$python eng/bench/pytorch/iwae_cuda_bench.py --device "$device" --ks 1,5,50 --batch-sizes 100,1000 --steps 25 \
  --eval-rows 1000 --eval-k 5000 --data-dir "$data" --json "$out/pytorch.json"

$python - "$out" <<'PY'
import json, os, sys
out = sys.argv[1]
torch_peer = json.load(open(os.path.join(out, "pytorch.json")))
graphs = open(os.path.join(out, "graphs.txt")).read().strip()
eager_path = os.path.join(out, "device-loop-eager-b100.json")
ours_eager = json.load(open(eager_path)) if os.path.exists(eager_path) else None
print(f"\nms per training step (means over the timed steps, one synchronisation at the end; device {torch_peer['device']})")
print(f"shim: {graphs}; 'device loop' ran with the graphs when on, 'graphs off' with VAE_CUDA_GRAPHS=0")
print(f"| K | batch | device loop | device loop, graphs off | PyTorch eager | PyTorch CUDA graph | samples/s device loop | samples/s CUDA graph |")
print("|---|---|---|---|---|---|---|---|")
for batch in (100, 1000):
    ours = json.load(open(os.path.join(out, f"device-loop-b{batch}.json")))
    for k in (1, 5, 50):
        mine = ours[f"k{k}_ms"]
        off = f"{ours_eager[f'k{k}_ms']:.3f}" if ours_eager and batch == 100 else "-"
        eager = torch_peer[f"k{k}_b{batch}_eager_mean_ms"]
        graph = torch_peer[f"k{k}_b{batch}_graph_mean_ms"]
        print(f"| {k} | {batch} | {mine:.3f} | {off} | {eager:.3f} | {graph:.3f} | {batch * 1000 / mine:,.0f} | {batch * 1000 / graph:,.0f} |")
if ours_eager:
    # The same seed, options and data: the graphs must train as the eager step does (to float32 rounding at most).
    ours = json.load(open(os.path.join(out, "device-loop-b100.json")))
    for k in (1, 5, 50):
        a, b = ours[f"k{k}_training_bound"], ours_eager[f"k{k}_training_bound"]
        verdict = "identical" if a == b else f"relative difference {abs(a - b) / abs(b):.1e}"
        print(f"K={k}, batch 100: mean training bound {a:.6f} with the graphs, {b:.6f} without ({verdict})")
ours = json.load(open(os.path.join(out, "device-loop-b100.json")))
print(f"\nK=5000 log-likelihood: device scoring {ours['eval_seconds']:.3f} s for {ours['eval_rows']:.0f} images, "
      f"PyTorch eager {torch_peer['eval_seconds']:.3f} s for {torch_peer['eval_rows']} (chunks of {torch_peer['eval_chunk_rows']} rows)")
print(f"engine: {ours.get('engine_name', '?')}")
PY
