"""Fashion-MNIST IDX reader shared by the PyTorch reference scripts."""
import gzip
import os

import numpy as np

DEFAULT_DIR = "/usr/share/datasets/fashion-mnist"


def _read_idx(path):
    with gzip.open(path, "rb") as f:
        data = f.read()
    magic = int.from_bytes(data[0:4], "big")
    ndim = magic & 0xFF
    dims = [int.from_bytes(data[4 + 4 * i:8 + 4 * i], "big") for i in range(ndim)]
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * ndim).reshape(dims)


def load(split, directory=DEFAULT_DIR):
    """Returns (images as float32 [n, 784] grey/255, labels as int64 [n]) for split 'train' or 't10k'."""
    images = _read_idx(os.path.join(directory, f"{split}-images-idx3-ubyte.gz"))
    labels = _read_idx(os.path.join(directory, f"{split}-labels-idx1-ubyte.gz"))
    return images.reshape(len(images), -1).astype(np.float32) / 255.0, labels.astype(np.int64)
