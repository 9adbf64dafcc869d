#!/usr/bin/python3
"""Tutorial 000/001 (Bot Academy) as its NumPy program, timed per epoch.

The training loop is the tutorial's, line for line (784-20-10 sigmoid, per-sample SGD,
lr 0.01, delta o - l, the hidden delta computed with the already-updated w_h_o). Only
data loading differs: the tutorial's get_mnist() read an .npz; this reads the same MNIST
training set from the IDX files in data/mnist and scales it to [0, 1] the same way.

usage: seed000_numpy.py [EPOCHS] [DATA_DIR]    prints one line per epoch and the seconds
"""
import sys
import time

import numpy as np


def get_mnist(data_dir):
    with open(f"{data_dir}/train-images-idx3-ubyte", "rb") as f:
        images = np.frombuffer(f.read(), np.uint8, offset=16).reshape(-1, 784)
    with open(f"{data_dir}/train-labels-idx1-ubyte", "rb") as f:
        labels = np.frombuffer(f.read(), np.uint8, offset=8)
    images = images.astype("float32") / 255
    return images, np.eye(10)[labels]


epochs = int(sys.argv[1]) if len(sys.argv) > 1 else 3
images, labels = get_mnist(sys.argv[2] if len(sys.argv) > 2 else "data/mnist")
np.random.seed(1)
w_i_h = np.random.uniform(-0.5, 0.5, (20, 784))
w_h_o = np.random.uniform(-0.5, 0.5, (10, 20))
b_i_h = np.zeros((20, 1))
b_h_o = np.zeros((10, 1))

learn_rate = 0.01
nr_correct = 0
for epoch in range(epochs):
    t0 = time.perf_counter()
    for img, l in zip(images, labels):
        img.shape += (1,)
        l.shape += (1,)
        # Forward propagation input -> hidden
        h_pre = b_i_h + w_i_h @ img
        h = 1 / (1 + np.exp(-h_pre))
        # Forward propagation hidden -> output
        o_pre = b_h_o + w_h_o @ h
        o = 1 / (1 + np.exp(-o_pre))
        # Cost / Error calculation
        e = 1 / len(o) * np.sum((o - l) ** 2, axis=0)
        nr_correct += int(np.argmax(o) == np.argmax(l))
        # Backpropagation output -> hidden (cost function derivative)
        delta_o = o - l
        w_h_o += -learn_rate * delta_o @ np.transpose(h)
        b_h_o += -learn_rate * delta_o
        # Backpropagation hidden -> input (activation function derivative)
        delta_h = np.transpose(w_h_o) @ delta_o * (h * (1 - h))
        w_i_h += -learn_rate * delta_h @ np.transpose(img)
        b_i_h += -learn_rate * delta_h
    seconds = time.perf_counter() - t0
    print(f"Epoch : {epoch}, Précision : {round((nr_correct / images.shape[0]) * 100, 2)}%"
          f"  ({seconds:.2f} s)", flush=True)
    nr_correct = 0
