#!/usr/bin/python3
"""PyTorch (CPU) MLP trainer that prints mnistcl's epoch lines, for bench/time_to_accuracy.sh.

The network is LAYERS with ReLU hidden layers, softmax + cross-entropy (mean over the batch),
He-normal weights and zero biases as mnistcl's default; the training set is shuffled every
epoch. After every epoch it evaluates the test set and prints, flushed, a line as
`mnistcl train` does (header "epoch loss train% test% seconds images/s"): the mean
training loss and accuracy measured during the epoch, the test accuracy after it, the
epoch's seconds. The MNIST IDX files are read whole and wrapped by numpy.frombuffer.

usage: pytorch_time_to_acc.py LAYERS EPOCHS BATCH OPTIMIZER LR MOMENTUM THREADS [DATA_DIR]
       OPTIMIZER: sgd (torch.optim.SGD with MOMENTUM; nesterov: with nesterov=True) or
       adam (torch.optim.Adam, default betas; MOMENTUM ignored)
"""
import sys
import time

import numpy as np
import torch


def load(path, offset):
    with open(path, "rb") as f:  # a bytearray, so that torch gets a writable array
        return np.frombuffer(bytearray(f.read()), np.uint8, offset=offset)


def main():
    if len(sys.argv) < 8:
        print(__doc__, file=sys.stderr)
        return 2
    layers = [int(s) for s in sys.argv[1].split(",")]
    epochs, batch, optimizer = int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
    lr, momentum, threads = float(sys.argv[5]), float(sys.argv[6]), int(sys.argv[7])
    data = sys.argv[8] if len(sys.argv) > 8 else "data/mnist"
    torch.set_num_threads(threads)
    torch.manual_seed(1)
    x = torch.from_numpy(load(f"{data}/train-images-idx3-ubyte", 16).reshape(-1, 784)).float().div_(255)
    y = torch.from_numpy(load(f"{data}/train-labels-idx1-ubyte", 8).astype(np.int64))
    xt = torch.from_numpy(load(f"{data}/t10k-images-idx3-ubyte", 16).reshape(-1, 784)).float().div_(255)
    yt = torch.from_numpy(load(f"{data}/t10k-labels-idx1-ubyte", 8).astype(np.int64))
    modules = []
    for i in range(len(layers) - 1):
        lin = torch.nn.Linear(layers[i], layers[i + 1])
        torch.nn.init.kaiming_normal_(lin.weight, nonlinearity="relu")
        torch.nn.init.zeros_(lin.bias)
        modules.append(lin)
        if i < len(layers) - 2:
            modules.append(torch.nn.ReLU())
    net = torch.nn.Sequential(*modules)
    if optimizer in ("sgd", "nesterov"):
        opt = torch.optim.SGD(net.parameters(), lr=lr, momentum=momentum,
                              nesterov=optimizer == "nesterov")
    elif optimizer == "adam":
        opt = torch.optim.Adam(net.parameters(), lr=lr)
    else:
        print(f"unknown optimizer {optimizer}", file=sys.stderr)
        return 2
    loss_fn = torch.nn.CrossEntropyLoss()
    n = x.shape[0]
    print(f"network {'-'.join(map(str, layers))}, torch {torch.__version__}, {threads} thread(s); "
          f"batch {batch}, {optimizer} lr {lr:g}" + (f" momentum {momentum:g}" if optimizer != "adam" else ""))
    print(f"{'epoch':>5} {'loss':>9} {'train%':>8} {'test%':>8} {'seconds':>8} {'images/s':>10}", flush=True)
    for epoch in range(1, epochs + 1):
        t0 = time.perf_counter()
        perm = torch.randperm(n)
        loss_sum, correct = 0.0, 0
        for s in range(0, n, batch):
            idx = perm[s:s + batch]
            xb, yb = x[idx], y[idx]
            opt.zero_grad(set_to_none=True)
            out = net(xb)
            loss = loss_fn(out, yb)
            loss.backward()
            opt.step()
            loss_sum += loss.item() * len(idx)
            correct += (out.argmax(1) == yb).sum().item()
        with torch.no_grad():
            test = (net(xt).argmax(1) == yt).float().mean().item()
        seconds = time.perf_counter() - t0
        print(f"{epoch:5d} {loss_sum / n:9.4f} {100 * correct / n:8.2f} {100 * test:8.2f} "
              f"{seconds:8.3f} {n / seconds:10.0f}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
