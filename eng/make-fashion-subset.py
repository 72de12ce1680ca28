#!/usr/bin/env python3
"""Writes data/fashion-mnist-small: the first 3000 training and 1000 test images of Fashion-MNIST (IDX, gzip).

Used so the samples and the command line run on a machine without Debian's dataset-fashion-mnist package.
"""
import gzip, struct, sys, os

SOURCE = sys.argv[1] if len(sys.argv) > 1 else "/usr/share/datasets/fashion-mnist"
TARGET = os.path.join(os.path.dirname(__file__), "..", "data", "fashion-mnist-small")
COUNTS = {"train": 3000, "t10k": 1000}

def subset(name, count):
    with gzip.open(os.path.join(SOURCE, name + ".gz"), "rb") as f:
        data = f.read()
    rank = data[3]
    dims = list(struct.unpack(">" + "I" * rank, data[4:4 + 4 * rank]))
    item = 1
    for d in dims[1:]:
        item *= d
    dims[0] = count
    header = data[:4] + struct.pack(">" + "I" * rank, *dims)
    body = data[4 + 4 * rank: 4 + 4 * rank + count * item]
    with gzip.GzipFile(os.path.join(TARGET, name + ".gz"), "wb", mtime=0) as f:
        f.write(header + body)

for split, count in COUNTS.items():
    subset(f"{split}-images-idx3-ubyte", count)
    subset(f"{split}-labels-idx1-ubyte", count)
