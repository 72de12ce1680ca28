"""PyTorch peers of the libtorch device loop (issue 12) on a GPU: eager, and the whole training step captured in one
CUDA graph, on the one-layer IWAE of Burda et al. (784-200-200-50 tanh, Bernoulli, Adam lr 1e-3 eps 1e-4, dynamic
binarisation), with the training rows on the device and the noise drawn there, as the device loop does.

Run (GPU machine): python3 eng/bench/pytorch/iwae_cuda_bench.py --ks 1,5,50 --batch-sizes 100,1000 --json out.json
Per (K, batch): the median ms of a step with a synchronisation after each (latency) and the mean ms per step over the
timed steps with one synchronisation at the end (throughput, what the device loop's number is), for eager and for the
CUDA graph; then the seconds of the K=5000 log-likelihood of --eval-rows test images (eager, chunks of rows).
--device cpu runs the eager parts on the CPU (a smoke test; CUDA graphs need a GPU).
This library's side (IwaeBench --device-loop 1, with and without its own CUDA graphs of the step) is timed beside
these by eng/bench/gpu/run.sh, which runs this script too and prints both in one table.
"""
import argparse
import json
import math
import os
import statistics
import sys
import time

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import fmnist  # noqa: E402
from iwae_bench import Iwae  # noqa: E402


def synchronize(device):
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def batch_order(rows, batch_size, device, generator=None):
    """Start indices of full batches of one shuffled epoch, as slices of a device permutation."""
    order = torch.randperm(rows, device=device, generator=generator)
    return [order[s:s + batch_size] for s in range(0, rows - batch_size + 1, batch_size)]


def time_steps(run_step, data, batch_size, steps, warmup, device):
    """run_step(index) trains one batch; returns (median ms with a sync per step, mean ms with one sync at the end)."""
    batches = []
    while len(batches) < warmup + 2 * steps:
        batches += batch_order(data.shape[0], batch_size, device)
    for i in range(warmup):
        run_step(batches[i])
    synchronize(device)
    latencies = []
    for i in range(warmup, warmup + steps):
        t0 = time.perf_counter()
        run_step(batches[i])
        synchronize(device)
        latencies.append((time.perf_counter() - t0) * 1000.0)
    t0 = time.perf_counter()
    for i in range(warmup + steps, warmup + 2 * steps):
        run_step(batches[i])
    synchronize(device)
    return statistics.median(latencies), (time.perf_counter() - t0) * 1000.0 / steps


def eager_runner(data, k, device):
    model = Iwae().to(device)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3, eps=1e-4)

    def step(index):
        x = torch.bernoulli(data[index])
        opt.zero_grad(set_to_none=True)
        (-model.bound(x, k).mean()).backward()
        opt.step()
    return step


def graph_runner(data, k, batch_size, device):
    """The whole step (gather, binarisation, noise, forward, backward, capturable Adam) replayed from one CUDA graph;
    the batch's row indices are copied into a static buffer before each replay."""
    model = Iwae().to(device)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3, eps=1e-4, capturable=True)
    static_index = torch.zeros(batch_size, dtype=torch.long, device=device)

    def body():
        x = torch.bernoulli(data[static_index])
        loss = -model.bound(x, k).mean()
        loss.backward()
        opt.step()

    side = torch.cuda.Stream()
    side.wait_stream(torch.cuda.current_stream())
    with torch.cuda.stream(side):
        for _ in range(3):  # warm-up on a side stream, as torch.cuda.graphs requires
            opt.zero_grad(set_to_none=True)
            body()
    torch.cuda.current_stream().wait_stream(side)
    graph = torch.cuda.CUDAGraph()
    opt.zero_grad(set_to_none=True)
    with torch.cuda.graph(graph):
        body()

    def step(index):
        static_index.copy_(index)
        graph.replay()
    return step


def time_eval(model, data, eval_k, chunk_rows, device):
    """K=eval_k estimate of log p(x) per row, chunk_rows rows x all samples per pass; (seconds, mean log p(x))."""
    synchronize(device)
    t0 = time.perf_counter()
    out = []
    with torch.no_grad():
        for r in range(0, data.shape[0], chunk_rows):
            out.append(model.bound(data[r:r + chunk_rows], eval_k))
        mean = torch.cat(out).mean().item()
    return time.perf_counter() - t0, mean


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--ks", default="1,5,50")
    p.add_argument("--batch-sizes", default="100,1000")
    p.add_argument("--steps", type=int, default=25, help="timed steps per measurement")
    p.add_argument("--warmup", type=int, default=10)
    p.add_argument("--eval-rows", type=int, default=1000)
    p.add_argument("--eval-k", type=int, default=5000)
    p.add_argument("--eval-chunk-rows", type=int, default=50)
    p.add_argument("--device", default="cuda")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--data-dir", default=fmnist.DEFAULT_DIR)
    p.add_argument("--json", help="write results to this JSON file")
    a = p.parse_args()

    device = torch.device(a.device)
    torch.manual_seed(a.seed)
    train_x, _ = fmnist.load("train", a.data_dir)
    test_x, _ = fmnist.load("t10k", a.data_dir)
    data = torch.from_numpy(train_x).to(device)
    test = torch.bernoulli(torch.from_numpy(test_x[:a.eval_rows]).to(device))
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else "cpu"
    result = {"torch_version": torch.__version__, "device": name, "steps": a.steps, "train_rows": data.shape[0]}
    print(f"torch {torch.__version__} on {name}; {data.shape[0]} training rows on the device")
    print(f"{'K':>4} {'batch':>6} {'eager median':>13} {'eager mean':>11} {'graph median':>13} {'graph mean':>11}  (ms per step)")
    for batch_size in [int(s) for s in a.batch_sizes.split(",")]:
        for k in [int(s) for s in a.ks.split(",")]:
            torch.manual_seed(a.seed)
            eager = time_steps(eager_runner(data, k, device), data, batch_size, a.steps, a.warmup, device)
            graph = (math.nan, math.nan)
            if device.type == "cuda":
                torch.manual_seed(a.seed)
                graph = time_steps(graph_runner(data, k, batch_size, device), data, batch_size, a.steps, a.warmup, device)
            key = f"k{k}_b{batch_size}"
            result.update({f"{key}_eager_median_ms": eager[0], f"{key}_eager_mean_ms": eager[1],
                           f"{key}_graph_median_ms": graph[0], f"{key}_graph_mean_ms": graph[1]})
            print(f"{k:>4} {batch_size:>6} {eager[0]:>13.3f} {eager[1]:>11.3f} {graph[0]:>13.3f} {graph[1]:>11.3f}")

    torch.manual_seed(a.seed)
    model = Iwae().to(device)
    time_eval(model, test[:a.eval_chunk_rows], a.eval_k, a.eval_chunk_rows, device)  # warm-up
    seconds, mean_ll = time_eval(model, test, a.eval_k, a.eval_chunk_rows, device)
    result.update({"eval_seconds": seconds, "eval_rows": a.eval_rows, "eval_k": a.eval_k,
                   "eval_chunk_rows": a.eval_chunk_rows, "eval_mean_log_px": mean_ll})
    print(f"K={a.eval_k} log p(x) of {a.eval_rows} test rows (eager, chunks of {a.eval_chunk_rows} rows): "
          f"{seconds:.3f} s (untrained model, mean {mean_ll:.1f} nats)")
    if a.json:
        with open(a.json, "w") as f:
            json.dump(result, f, indent=2)


if __name__ == "__main__":
    main()
