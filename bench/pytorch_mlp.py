#!/usr/bin/python3
"""PyTorch (CPU) twin of `mnistcl train` for the side-by-side benchmark.

Same network (ReLU hidden layers, softmax + cross-entropy), batch, optimizer (SGD with
momentum, PyTorch's convention, which mnistcl follows) and epochs; He-normal weights and
zero biases as mnistcl's default. The training set is in memory as one float tensor
(mnistcl keeps it on the device as bytes), shuffled each epoch.

usage: pytorch_mlp.py LAYERS EPOCHS BATCH LR MOMENTUM THREADS [DATA_DIR]
prints one line per epoch ("epoch N seconds S") and "test accuracy A"
"""
import sys
import time

import numpy as np
import torch


def load(path, offset):
    with open(path, "rb") as f:
        return np.frombuffer(f.read(), np.uint8, offset=offset)


layers, epochs, batch = [int(s) for s in sys.argv[1].split(",")], int(sys.argv[2]), int(sys.argv[3])
lr, momentum, threads = float(sys.argv[4]), float(sys.argv[5]), int(sys.argv[6])
data = sys.argv[7] if len(sys.argv) > 7 else "data/mnist"
torch.set_num_threads(threads)
torch.manual_seed(1)
x = torch.tensor(load(f"{data}/train-images-idx3-ubyte", 16).reshape(-1, 784).astype(np.float32) / 255)
y = torch.tensor(load(f"{data}/train-labels-idx1-ubyte", 8).astype(np.int64))
xt = torch.tensor(load(f"{data}/t10k-images-idx3-ubyte", 16).reshape(-1, 784).astype(np.float32) / 255)
yt = torch.tensor(load(f"{data}/t10k-labels-idx1-ubyte", 8).astype(np.int64))
modules = []
for i in range(len(layers) - 1):
    lin = torch.nn.Linear(layers[i], layers[i + 1])
    torch.nn.init.kaiming_normal_(lin.weight, nonlinearity="relu")
    torch.nn.init.zeros_(lin.bias)
    modules.append(lin)
    if i < len(layers) - 2:
        modules.append(torch.nn.ReLU())
net = torch.nn.Sequential(*modules)
opt = torch.optim.SGD(net.parameters(), lr=lr, momentum=momentum)
loss_fn = torch.nn.CrossEntropyLoss()
n = x.shape[0]
for epoch in range(1, epochs + 1):
    t0 = time.perf_counter()
    perm = torch.randperm(n)
    for s in range(0, n, batch):
        idx = perm[s:s + batch]
        opt.zero_grad(set_to_none=True)
        loss = loss_fn(net(x[idx]), y[idx])
        loss.backward()
        opt.step()
    print(f"epoch {epoch} seconds {time.perf_counter() - t0:.4f}", flush=True)
with torch.no_grad():
    acc = (net(xt).argmax(1) == yt).float().mean().item()
print(f"test accuracy {100 * acc:.2f}")
