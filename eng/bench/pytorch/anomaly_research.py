"""One-class Fashion-MNIST anomaly-score research with VAE/IWAE models (PyTorch reference for Microsoft.ML.Vae).

Protocol: for each class c, train on the training images of class c (the last --calib of them are held out for
calibration), score all 10,000 test images, anomalies = the other nine classes, AUROC per class.
Every score is computable by the C# library: encoder mean/log-variance, decoder outputs, IWAE log weights,
per-feature log p(x|z) terms, and extra models trained on perturbed inputs.

Run: OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=2 /usr/bin/python3 eng/bench/pytorch/anomaly_research.py \
        --models gauss,bern --out /tmp/anomaly
Writes per-class raw scores (npz) and AUROC tables (json) under --out; combine.py-style analysis is in --combine.
"""
import argparse
import json
import math
import os
import sys
import time

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "2")

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from sklearn.decomposition import PCA
from sklearn.metrics import roc_auc_score

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import fmnist  # noqa: E402

LOG_2PI = math.log(2 * math.pi)


class Vae(nn.Module):
    """MLP VAE: encoder F-h..-h tanh -> (mean, log-variance); decoder D-h..-h tanh -> logits (Bernoulli) or
    means (Gaussian, identity output) with a learned log-variance per feature, floored at lv_floor."""

    def __init__(self, decoder, features=784, hidden=(200, 200), latent=50, lv_floor=-9.0, lv_init=-2.0, glorot=False):
        super().__init__()
        self.decoder = decoder
        layers, n = [], features
        for h in hidden:
            layers += [nn.Linear(n, h), nn.Tanh()]
            n = h
        self.enc = nn.Sequential(*layers)
        self.mu, self.lv = nn.Linear(n, latent), nn.Linear(n, latent)
        layers, n = [], latent
        for h in reversed(hidden):
            layers += [nn.Linear(n, h), nn.Tanh()]
            n = h
        layers.append(nn.Linear(n, features))
        self.dec = nn.Sequential(*layers)
        if decoder == "gauss":
            self.dec_lv = nn.Parameter(torch.full((features,), lv_init))
            self.lv_floor = lv_floor
        if glorot:  # the C# library's default initialisation; PyTorch's own is U(+-1/sqrt(fan_in)) for weights and biases
            for m in self.modules():
                if isinstance(m, nn.Linear):
                    nn.init.xavier_uniform_(m.weight)
                    nn.init.zeros_(m.bias)

    def encode(self, x):
        h = self.enc(x)
        return self.mu(h), self.lv(h)

    def out_logvar(self):
        return torch.clamp(self.dec_lv, min=self.lv_floor)

    def log_px_terms(self, x, o):
        """Per-feature log p(x|z): [..., F]."""
        if self.decoder == "bern":
            return -F.binary_cross_entropy_with_logits(o, x.expand_as(o), reduction="none")
        lv = self.out_logvar()
        return -0.5 * ((x - o).pow(2) * torch.exp(-lv) + lv + LOG_2PI)

    def log_weights(self, x, k, eps=None):
        mu, lv = self.encode(x)
        if eps is None:
            eps = torch.randn(x.shape[0], k, mu.shape[1])
        z = mu.unsqueeze(1) + torch.exp(0.5 * lv).unsqueeze(1) * eps
        log_px = self.log_px_terms(x.unsqueeze(1), self.dec(z)).sum(-1)
        log_pz = -0.5 * (z.pow(2) + LOG_2PI).sum(-1)
        log_qz = -0.5 * (eps.pow(2) + lv.unsqueeze(1) + LOG_2PI).sum(-1)
        return log_px + log_pz - log_qz

    def bound(self, x, k):
        return torch.logsumexp(self.log_weights(x, k), 1) - math.log(k)


def perturb(x, rate, gen):
    """Ren et al. (2019) background perturbation: each feature replaced by a uniform value with probability rate."""
    mask = torch.rand(x.shape, generator=gen) < rate
    return torch.where(mask, torch.rand(x.shape, generator=gen), x)


def train(model, data, epochs, k, batch, seed, binarize=False, perturb_rate=0.0, noise=0.0):
    gen = torch.Generator().manual_seed(seed)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3, eps=1e-4)
    n = data.shape[0]
    for _ in range(epochs):
        perm = torch.randperm(n, generator=gen)
        for s in range(0, n - batch + 1, batch):
            x = data[perm[s:s + batch]]
            if binarize:
                x = torch.bernoulli(x, generator=gen)
            if perturb_rate > 0:
                x = perturb(x, perturb_rate, gen)
            if noise > 0:
                x = x + noise * torch.rand(x.shape, generator=gen)
            opt.zero_grad(set_to_none=True)
            (-model.bound(x, k).mean()).backward()
            opt.step()
    return model


@torch.no_grad()
def score_model(model, x, eval_k, res_var, floors, chunk=50):
    """Per-row quantities of one model, oriented so that larger = more anomalous: IWAE -log p(x), -log p(x|z=mu),
    squared error at the posterior mean (plain and divided by the learned variance), KL(q||prior); plus posterior
    means/log-variances (for latent densities)."""
    keys = ["nll", "rec_nll", "sq_err", "w_sq_err", "kl"] + [f"rv{f:g}_err" for f in floors]
    out = {k: [] for k in keys}
    mus, lvs = [], []
    for r in range(0, x.shape[0], chunk):
        xb = x[r:r + chunk]
        out["nll"].append(math.log(eval_k) - torch.logsumexp(model.log_weights(xb, eval_k), 1))
        mu, lv = model.encode(xb)
        o = model.dec(mu)
        mean = torch.sigmoid(o) if model.decoder == "bern" else o
        out["rec_nll"].append(-model.log_px_terms(xb, o).sum(-1))
        err = (xb - mean).pow(2)
        out["sq_err"].append(err.sum(-1))
        if model.decoder == "gauss":
            out["w_sq_err"].append((err * torch.exp(-model.out_logvar())).sum(-1))
        else:
            out["w_sq_err"].append(err.sum(-1))
        for f in floors:
            out[f"rv{f:g}_err"].append((err / (res_var + f)).sum(-1))
        out["kl"].append(0.5 * (mu.pow(2) + lv.exp() - 1 - lv).sum(-1))
        mus.append(mu)
        lvs.append(lv)
    res = {k: torch.cat(v).numpy().astype(np.float64) for k, v in out.items()}
    res["mu"] = torch.cat(mus).numpy().astype(np.float64)
    res["lv"] = torch.cat(lvs).numpy().astype(np.float64)
    return res


@torch.no_grad()
def residual_variance(model, x):
    """Per-feature mean squared residual of the posterior-mean reconstruction over x: the maximum-likelihood
    per-feature Gaussian variance given the decoder means."""
    mu, _ = model.encode(x)
    o = model.dec(mu)
    mean = torch.sigmoid(o) if model.decoder == "bern" else o
    return (x - mean).pow(2).mean(0)


def mahalanobis(fit, x, ridge=1e-3):
    m = fit.mean(0)
    cov = np.cov(fit - m, rowvar=False) + ridge * np.eye(fit.shape[1])
    prec = np.linalg.inv(cov)
    d = x - m
    return np.einsum("ij,jk,ik->i", d, prec, d)


def knn_dist(fit, x, k=5):
    """Mean distance to the k nearest fit rows (brute force)."""
    ft = torch.from_numpy(fit).float()
    out = []
    for r in range(0, x.shape[0], 1000):
        d = torch.cdist(torch.from_numpy(x[r:r + 1000]).float(), ft)
        out.append(d.topk(k, largest=False).values.mean(1))
    return torch.cat(out).numpy().astype(np.float64)


def auroc(is_anomaly, score):
    return float(roc_auc_score(is_anomaly, score))


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--classes", default="0,1,2,3,4,5,6,7,8,9")
    p.add_argument("--models", default="gauss,bern,bg",
                   help="gauss: Gaussian decoder, learned per-pixel variance, grey values; bern: Bernoulli on grey "
                        "values; bg: Gaussian background model on perturbed inputs (likelihood ratio)")
    p.add_argument("--epochs", type=int, default=20)
    p.add_argument("--train-k", type=int, default=5)
    p.add_argument("--eval-k", type=int, default=100)
    p.add_argument("--latent", type=int, default=50)
    p.add_argument("--hidden", default="200,200")
    p.add_argument("--lv-floor", type=float, default=-9.0, help="floor of the Gaussian decoder log-variance")
    p.add_argument("--lv-init", type=float, default=-2.0, help="initial Gaussian decoder log-variance")
    p.add_argument("--glorot", action="store_true", help="Glorot-uniform weights and zero biases instead of PyTorch's default")
    p.add_argument("--var-floors", default="0.0001,0.001,0.01",
                   help="floors added to the residual variance in the rv<floor>_err scores")
    p.add_argument("--noise", type=float, default=0.0, help="uniform dequantisation noise added to training inputs")
    p.add_argument("--perturb-rate", type=float, default=0.2)
    p.add_argument("--calib", type=int, default=600, help="training images of the class held out for calibration")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--out", required=True)
    a = p.parse_args()
    torch.set_num_threads(1)
    os.makedirs(a.out, exist_ok=True)
    hidden = tuple(int(h) for h in a.hidden.split(","))
    floors = [float(f) for f in a.var_floors.split(",")]

    train_x, train_y = fmnist.load("train")
    test_x, test_y = fmnist.load("t10k")
    test = torch.from_numpy(test_x)
    table = {}
    for c in [int(s) for s in a.classes.split(",")]:
        t0 = time.time()
        cls = train_x[train_y == c]
        fit_x, cal_x = cls[:len(cls) - a.calib], cls[len(cls) - a.calib:]
        fit, cal = torch.from_numpy(fit_x), torch.from_numpy(cal_x)
        anomaly = (test_y != c).astype(int)
        scores = {}
        pca = PCA(20, random_state=a.seed).fit(fit_x)
        for name, xs in (("cal", cal_x), ("test", test_x), ("fit", fit_x)):
            rec = pca.inverse_transform(pca.transform(xs))
            scores[f"pca20_err/{name}"] = ((xs - rec) ** 2).sum(1)
            scores[f"knn_pixel/{name}"] = knn_dist(fit_x, xs) if name != "fit" else np.zeros(len(xs))
        for m in a.models.split(","):
            torch.manual_seed(a.seed + c)
            dec = "bern" if m == "bern" else "gauss"
            model = Vae(dec, hidden=hidden, latent=a.latent, lv_floor=a.lv_floor, lv_init=a.lv_init, glorot=a.glorot)
            train(model, fit, a.epochs, a.train_k, 100, a.seed * 1000 + c,
                  perturb_rate=a.perturb_rate if m == "bg" else 0.0, noise=a.noise)
            if dec == "gauss":
                q = np.quantile(model.out_logvar().detach().numpy(), [0, 0.1, 0.5, 0.9, 1])
                print(f"  {m}: decoder log-variance quantiles 0/10/50/90/100% = {np.round(q, 2)}", flush=True)
            res_var = residual_variance(model, fit)
            for name, xs in (("cal", cal), ("test", test), ("fit", fit)):
                torch.manual_seed(a.seed + 7)
                s = score_model(model, xs, a.eval_k if name != "fit" else 1, res_var, floors)
                for key, v in s.items():
                    scores[f"{m}_{key}/{name}"] = v
            for name in ("cal", "test"):
                mu_fit, mu = scores[f"{m}_mu/fit"], scores[f"{m}_mu/{name}"]
                scores[f"{m}_maha/{name}"] = mahalanobis(mu_fit, mu)
                scores[f"{m}_knn_latent/{name}"] = knn_dist(mu_fit, mu)
        np.savez_compressed(os.path.join(a.out, f"class{c}.npz"), test_y=test_y, **scores)
        row = {}
        for key in scores:
            if key.endswith("/test") and scores[key].ndim == 1:
                row[key[:-5]] = auroc(anomaly, scores[key])
        table[c] = row
        print(f"class {c} ({time.time() - t0:.0f} s): " +
              ", ".join(f"{k}={v:.3f}" for k, v in sorted(row.items())), flush=True)
    with open(os.path.join(a.out, "raw_auroc.json"), "w") as f:
        json.dump(table, f, indent=1)


if __name__ == "__main__":
    main()
