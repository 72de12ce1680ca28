"""PyTorch peer of the Microsoft.ML.Vae benchmark: one-layer IWAE of Burda et al. on Fashion-MNIST.

Run: OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=2 /usr/bin/python3 eng/bench/pytorch/iwae_bench.py --json out.json
Measures milliseconds per training batch (batch 100, Adam) at each K, and the seconds of a K=5000 IWAE
log-likelihood estimate over test images (no grad, chunked).
"""
import argparse
import json
import math
import os
import statistics
import sys
import time

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "2")

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import fmnist  # noqa: E402

LOG_2PI = math.log(2 * math.pi)


class Iwae(nn.Module):
    """Encoder 784-200-200 tanh -> (mean, log-variance) of D latents; decoder D-200-200-784 tanh -> Bernoulli logits."""

    def __init__(self, features=784, hidden=200, latent=50):
        super().__init__()
        self.enc = nn.Sequential(nn.Linear(features, hidden), nn.Tanh(), nn.Linear(hidden, hidden), nn.Tanh())
        self.mu = nn.Linear(hidden, latent)
        self.lv = nn.Linear(hidden, latent)
        self.dec = nn.Sequential(nn.Linear(latent, hidden), nn.Tanh(), nn.Linear(hidden, hidden), nn.Tanh(),
                                 nn.Linear(hidden, features))

    def log_weights(self, x, k):
        """log p(x|z) + log p(z) - log q(z|x) for k samples per row: [rows, k]."""
        h = self.enc(x)
        mu, lv = self.mu(h), self.lv(h)
        eps = torch.randn(x.shape[0], k, mu.shape[1], device=x.device)
        z = mu.unsqueeze(1) + torch.exp(0.5 * lv).unsqueeze(1) * eps
        logits = self.dec(z)
        # Bernoulli: x*o - softplus(o), written as -BCE-with-logits.
        log_px = -F.binary_cross_entropy_with_logits(logits, x.unsqueeze(1).expand_as(logits),
                                                     reduction="none").sum(-1)
        log_pz = -0.5 * (z.pow(2) + LOG_2PI).sum(-1)
        log_qz = -0.5 * (eps.pow(2) + lv.unsqueeze(1) + LOG_2PI).sum(-1)
        return log_px + log_pz - log_qz

    def bound(self, x, k):
        return torch.logsumexp(self.log_weights(x, k), dim=1) - math.log(k)


def time_training(model, data, k, batches, warmup, batch_size, rng):
    opt = torch.optim.Adam(model.parameters(), lr=1e-3, eps=1e-4)
    times = []
    for i in range(warmup + batches):
        idx = rng.integers(0, data.shape[0], batch_size)
        x = torch.bernoulli(data[idx])  # dynamic binarisation
        t0 = time.perf_counter()
        opt.zero_grad(set_to_none=True)
        loss = -model.bound(x, k).mean()
        loss.backward()
        opt.step()
        t1 = time.perf_counter()
        if i >= warmup:
            times.append((t1 - t0) * 1000.0)
    return statistics.median(times), statistics.mean(times)


def time_eval(model, data, eval_k, rows_per_chunk, samples_per_chunk):
    """K=eval_k estimate of log p(x) per row, chunked over rows and samples; returns (seconds, mean log p(x))."""
    t0 = time.perf_counter()
    out = []
    with torch.no_grad():
        for r in range(0, data.shape[0], rows_per_chunk):
            x = data[r:r + rows_per_chunk]
            parts = []
            for s in range(0, eval_k, samples_per_chunk):
                parts.append(model.log_weights(x, min(samples_per_chunk, eval_k - s)))
            out.append(torch.logsumexp(torch.cat(parts, 1), 1) - math.log(eval_k))
    seconds = time.perf_counter() - t0
    return seconds, torch.cat(out).mean().item()


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--ks", default="1,5,50", help="comma-separated K values to time training at")
    p.add_argument("--batches", type=int, default=30, help="timed training batches per K")
    p.add_argument("--warmup", type=int, default=5, help="untimed batches before timing")
    p.add_argument("--batch-size", type=int, default=100)
    p.add_argument("--train-batches", type=int, default=600,
                   help="K=5 training batches before the eval timing, so the evaluated model is not random")
    p.add_argument("--eval-rows", type=int, default=1000)
    p.add_argument("--eval-k", type=int, default=5000)
    p.add_argument("--eval-chunk-rows", type=int, default=1)
    p.add_argument("--eval-chunk-samples", type=int, default=1000)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--data-dir", default=fmnist.DEFAULT_DIR)
    p.add_argument("--json", help="write results to this JSON file")
    a = p.parse_args()

    torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)
    rng = np.random.default_rng(a.seed)
    train_x, _ = fmnist.load("train", a.data_dir)
    test_x, _ = fmnist.load("t10k", a.data_dir)
    train = torch.from_numpy(train_x)
    test = torch.bernoulli(torch.from_numpy(test_x[:a.eval_rows]), generator=torch.Generator().manual_seed(a.seed))

    result = {"torch_version": torch.__version__, "threads": torch.get_num_threads(),
              "batch_size": a.batch_size, "timed_batches": a.batches}
    print(f"torch {torch.__version__}, intra-op threads {torch.get_num_threads()}, batch {a.batch_size}")
    print(f"{'K':>6} {'median ms/batch':>16} {'mean ms/batch':>14}")
    for k in [int(s) for s in a.ks.split(",")]:
        torch.manual_seed(a.seed)
        med, mean = time_training(Iwae(), train, k, a.batches, a.warmup, a.batch_size, rng)
        result[f"k{k}_ms"] = med
        result[f"k{k}_mean_ms"] = mean
        print(f"{k:>6} {med:>16.2f} {mean:>14.2f}")

    torch.manual_seed(a.seed)
    model = Iwae()
    opt = torch.optim.Adam(model.parameters(), lr=1e-3, eps=1e-4)
    for _ in range(a.train_batches):
        x = torch.bernoulli(train[rng.integers(0, train.shape[0], a.batch_size)])
        opt.zero_grad(set_to_none=True)
        (-model.bound(x, 5).mean()).backward()
        opt.step()
    seconds, mean_ll = time_eval(model, test, a.eval_k, a.eval_chunk_rows, a.eval_chunk_samples)
    result.update({"eval_seconds": seconds, "eval_rows": a.eval_rows, "eval_k": a.eval_k,
                   "eval_chunk_rows": a.eval_chunk_rows, "eval_chunk_samples": a.eval_chunk_samples,
                   "eval_mean_log_px": mean_ll})
    print(f"K={a.eval_k} log p(x) of {a.eval_rows} test rows (chunks of {a.eval_chunk_rows} rows x "
          f"{a.eval_chunk_samples} samples): {seconds:.2f} s, mean {mean_ll:.2f} nats")
    if a.json:
        with open(a.json, "w") as f:
            json.dump(result, f, indent=2)


if __name__ == "__main__":
    main()
