#!/usr/bin/env python3
"""Writes an MNIST-format training set of N images: MNIST's training set repeated (and cut).

usage: make_big_mnist.py N OUT_DIR [SRC_DIR]
Writes OUT_DIR/train-images-idx3-ubyte and train-labels-idx1-ubyte (N images), and links
the test files of SRC_DIR (default data/mnist) beside them, so `mnistcl train --data OUT_DIR`
trains on the big set and tests on MNIST's test set. The benchmarks of docs/BENCHMARKS.md
(60 K to 10 M images) use it; the repeated images make the set no harder than MNIST.
"""
import os
import struct
import sys


def main():
    if len(sys.argv) not in (3, 4):
        sys.exit(__doc__)
    n = int(sys.argv[1])
    out = sys.argv[2]
    src = sys.argv[3] if len(sys.argv) == 4 else os.path.join(os.path.dirname(__file__), "..", "data", "mnist")
    with open(os.path.join(src, "train-images-idx3-ubyte"), "rb") as f:
        head = f.read(16)
        magic, count, rows, cols = struct.unpack(">IIII", head)
        images = f.read()
    with open(os.path.join(src, "train-labels-idx1-ubyte"), "rb") as f:
        f.read(8)
        labels = f.read()
    if magic != 0x803 or len(images) != count * rows * cols or len(labels) != count:
        sys.exit("make_big_mnist.py: %s is not an MNIST training set" % src)
    os.makedirs(out, exist_ok=True)
    dim = rows * cols
    with open(os.path.join(out, "train-images-idx3-ubyte"), "wb") as f:
        f.write(struct.pack(">IIII", 0x803, n, rows, cols))
        left = n
        while left > 0:
            k = min(left, count)
            f.write(images[: k * dim])
            left -= k
    with open(os.path.join(out, "train-labels-idx1-ubyte"), "wb") as f:
        f.write(struct.pack(">II", 0x801, n))
        left = n
        while left > 0:
            k = min(left, count)
            f.write(labels[:k])
            left -= k
    for name in ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"):
        link = os.path.join(out, name)
        if not os.path.exists(link):
            os.symlink(os.path.abspath(os.path.join(src, name)), link)


if __name__ == "__main__":
    main()
