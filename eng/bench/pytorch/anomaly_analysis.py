"""AUROC tables for the scores saved by anomaly_research.py, plus derived scores and standardized combinations.

Run: /usr/bin/python3 eng/bench/pytorch/anomaly_analysis.py /tmp/anomaly [--md] [--combos "a+b,c+d+e"]
Derived scores (larger = more anomalous):
  <m>_lr        Ren et al. likelihood ratio: nll of model m minus nll of the background model bg
  <m>_knn<k>_white mean distance to the k nearest training posterior means, whitened by their covariance
  <m>_knn<k>_white_mulv  the same on the encoder outputs [mean, log-variance] (2D features)
  <m>_typical   |nll - median nll of the calibration rows| (two-sided typicality)
Combinations: each component is log-transformed if it is positive, then standardized with the mean and standard
deviation of the held-out calibration rows of the normal class (training data only), and the z-scores are summed.
"""
import argparse
import glob
import os
import re

import numpy as np
import torch
from sklearn.metrics import roc_auc_score


def load(directory):
    per_class = {}
    for path in sorted(glob.glob(os.path.join(directory, "class*.npz"))):
        c = int(re.search(r"class(\d+)", path).group(1))
        z = np.load(path)
        d = {k: z[k] for k in z.files}
        names = {k.split("/")[0] for k in d if k.endswith("/test") and d[k].ndim == 1}
        scores = {n: (d[f"{n}/cal"], d[f"{n}/test"]) for n in names if f"{n}/cal" in d}
        if "bg_nll" in scores:
            for m in ("gauss", "bern"):
                if f"{m}_nll" in scores:
                    scores[f"{m}_lr"] = tuple(scores[f"{m}_nll"][i] - scores["bg_nll"][i] for i in (0, 1))
        for m in ("gauss", "bern", "bg"):
            if f"{m}_mu/fit" in d:
                mulv = {part: np.hstack([d[f"{m}_mu/{part}"], d[f"{m}_lv/{part}"]]) for part in ("fit", "cal", "test")}
                for k in KNN_KS:
                    scores[f"{m}_knn{k}_white"] = tuple(
                        knn_whitened(d[f"{m}_mu/fit"], d[f"{m}_mu/{part}"], k) for part in ("cal", "test"))
                    scores[f"{m}_knn{k}_white_mulv"] = tuple(
                        knn_whitened(mulv["fit"], mulv[part], k) for part in ("cal", "test"))
            if f"{m}_nll" in scores:
                cal, test = scores[f"{m}_nll"]
                med = np.median(cal)
                scores[f"{m}_typical"] = (np.abs(cal - med), np.abs(test - med))
        per_class[c] = (scores, d["test_y"] != c)
    return per_class


KNN_KS = (1, 5, 20, 50)


def knn_whitened(fit, x, k=5):
    """Mean Euclidean distance to the k nearest training posterior means after whitening with their covariance."""
    m = fit.mean(0)
    cov = np.cov(fit - m, rowvar=False) + 1e-3 * np.eye(fit.shape[1])
    w = np.linalg.cholesky(np.linalg.inv(cov))
    f, q = torch.from_numpy((fit - m) @ w).float(), torch.from_numpy((x - m) @ w).float()
    return torch.cdist(q, f).topk(k, largest=False).values.mean(1).double().numpy()


def standardized(cal, test):
    if cal.min() > 0 and test.min() > 0:
        cal, test = np.log(cal), np.log(test)
    m, s = cal.mean(), cal.std() + 1e-12
    return (test - m) / s


def combo(scores, parts):
    return sum(standardized(*scores[p]) for p in parts)


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("dirs", nargs="+")
    p.add_argument("--combos", default="", help="comma-separated combinations, components joined by +")
    p.add_argument("--only", default="", help="regular expression selecting the single scores to print")
    p.add_argument("--ensemble", default="",
                   help="comma-separated scores to also average over all the given directories (seeds/models): "
                        "each directory's score is standardized on its calibration rows, then the z-scores summed")
    p.add_argument("--md", action="store_true", help="print a markdown table")
    a = p.parse_args()
    rows = {}
    loaded = {}
    for directory in a.dirs:
        tag = os.path.basename(os.path.normpath(directory))
        data = loaded[tag] = load(directory)
        classes = sorted(data)
        names = sorted(set.intersection(*(set(data[c][0]) for c in classes)))
        for n in names:
            if a.only and not re.search(a.only, n):
                continue
            rows[f"{tag}:{n}"] = [roc_auc_score(data[c][1], data[c][0][n][1]) for c in classes]
        for cmb in filter(None, a.combos.split(",")):
            parts = cmb.split("+")
            if all(pt in names for pt in parts):
                rows[f"{tag}:{cmb}"] = [roc_auc_score(data[c][1], combo(data[c][0], parts)) for c in classes]
    for n in filter(None, a.ensemble.split(",")):
        tags = "+".join(loaded)
        rows[f"ensemble({tags}):{n}"] = [
            roc_auc_score(loaded[next(iter(loaded))][c][1],
                          sum(standardized(*loaded[t][c][0][n]) for t in loaded)) for c in classes]
    if a.md:
        print("| score | " + " | ".join(str(c) for c in classes) + " | mean |")
        print("|---" * (len(classes) + 2) + "|")
        for n, v in rows.items():
            print(f"| {n} | " + " | ".join(f"{x:.3f}" for x in v) + f" | **{np.mean(v):.4f}** |")
    else:
        print(f"{'score':<45}" + "".join(f"{c:>7}" for c in classes) + f"{'mean':>8}")
        for n, v in sorted(rows.items(), key=lambda kv: -np.mean(kv[1])):
            print(f"{n:<45}" + "".join(f"{x:7.3f}" for x in v) + f"{np.mean(v):8.3f}")


if __name__ == "__main__":
    main()
