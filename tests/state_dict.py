#!/usr/bin/env python3
"""A plain PyTorch nn.Sequential state_dict, saved as safetensors, through mnistcl.

usage: state_dict.py MNISTCL DATA_DIR

Writes safetensors files exactly as safetensors.torch.save_file lays out a state_dict
(header JSON padded to 8 bytes, F32 tensors in row-major (out, in) order) with the
standard library alone, and checks that `mnistcl eval --probabilities` gives the outputs
of the network computed here in double precision (|x - ref| <= 1e-5 + 1e-4 |ref|) for:
  nn.Sequential(Linear(784,64), ReLU(), Dropout(), Linear(64,32), ReLU(), Linear(32,10))
    keys 0.*, 3.*, 5.* (module indices with gaps), no metadata;
  the same with metadata {"format": "pt"} (safetensors.torch.save_model, Hugging Face);
  tanh between the layers (--activation tanh), keys "net.0.*", "net.2.*", the last Linear
    without bias (zeros);
  sigmoid with --output sigmoid-mse (sigmoid outputs, not softmax).
and that `eval --predictions` equals the argmax. Malformed state_dicts are refused with
exit code 3 and a message naming the tensor: a stray BatchNorm buffer, layers that do not
chain, a bias without its weight, a 3-D weight. When PyTorch is importable, the file is
also checked against torch.nn.Sequential itself (its orientation and its outputs).
"""
import json
import math
import os
import random
import struct
import subprocess
import sys
import tempfile

MNISTCL, DATA = sys.argv[1], sys.argv[2]
N_CHECK = 8
fails = 0


def fail(msg):
    global fails
    fails += 1
    print("FAIL:", msg)


def ok(msg):
    print("ok ", msg)


def save_safetensors(path, tensors, metadata=None):
    """tensors: list of (name, shape, flat float list) in the order written."""
    header, blobs, offset = {}, [], 0
    if metadata is not None:
        header["__metadata__"] = metadata
    for name, shape, data in tensors:
        blob = struct.pack("<%df" % len(data), *data)
        header[name] = {"dtype": "F32", "shape": list(shape),
                        "data_offsets": [offset, offset + len(blob)]}
        blobs.append(blob)
        offset += len(blob)
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * ((8 - len(text) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)) + text + b"".join(blobs))


def test_images():
    with open(os.path.join(DATA, "t10k-images-idx3-ubyte"), "rb") as f:
        raw = f.read(16 + 784 * N_CHECK)
    return [list(raw[16 + 784 * i:16 + 784 * (i + 1)]) for i in range(N_CHECK)]


ACT = {"relu": lambda v: max(v, 0.0), "tanh": math.tanh,
       "sigmoid": lambda v: 1 / (1 + math.exp(-v))}


def forward(layers, act, output, image):
    """layers: list of (out, in, weights row-major (out, in), bias or None)."""
    a = [p / 255.0 for p in image]
    for l, (n_out, n_in, w, b) in enumerate(layers):
        z = [sum(w[o * n_in + i] * a[i] for i in range(n_in)) + (b[o] if b else 0.0)
             for o in range(n_out)]
        a = [ACT[act](v) for v in z] if l < len(layers) - 1 else z
    if output == "softmax":
        m = max(a)
        e = [math.exp(v - m) for v in a]
        return [v / sum(e) for v in e]
    return [1 / (1 + math.exp(-v)) for v in a]


def random_layers(rng, sizes, bias_last=True):
    layers = []
    for l in range(len(sizes) - 1):
        n_in, n_out = sizes[l], sizes[l + 1]
        bound = 1 / math.sqrt(n_in)  # nn.Linear's default init range
        w = [rng.uniform(-bound, bound) for _ in range(n_in * n_out)]
        w = list(struct.unpack("<%df" % len(w), struct.pack("<%df" % len(w), *w)))  # as F32
        has_bias = bias_last or l < len(sizes) - 2
        b = [rng.uniform(-bound, bound) for _ in range(n_out)] if has_bias else None
        if b:
            b = list(struct.unpack("<%df" % len(b), struct.pack("<%df" % len(b), *b)))
        layers.append((n_out, n_in, w, b))
    return layers


def tensors_of(layers, names):
    out = []
    for (n_out, n_in, w, b), name in zip(layers, names):
        out.append((name + ".weight", (n_out, n_in), w))
        if b:
            out.append((name + ".bias", (n_out,), b))
    return out


def run(*args):
    p = subprocess.run([MNISTCL, *args], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                       stdin=subprocess.DEVNULL, text=True)
    return p.returncode, p.stdout


def check_case(tmp, what, layers, names, act, output, metadata, extra_args):
    path = os.path.join(tmp, "".join(c if c.isalnum() else "_" for c in what) + ".safetensors")
    save_safetensors(path, tensors_of(layers, names), metadata)
    probs, preds = path + ".probs.csv", path + ".preds.csv"
    rc, out = run("eval", "--model", path, "--device", "cpu", "--data", DATA,
                  "--probabilities", probs, "--predictions", preds, *extra_args)
    if rc != 0:
        fail("%s: eval exit %d:\n%s" % (what, rc, out))
        return
    with open(probs) as f:
        rows = [line.strip().split(",") for line in f][1:N_CHECK + 1]
    with open(preds) as f:
        guesses = [int(line.strip().split(",")[1]) for line in list(f)[1:N_CHECK + 1]]
    worst = 0.0
    for i, image in enumerate(test_images()):
        ref = forward(layers, act, output, image)
        got = [float(v) for v in rows[i][1:]]
        if len(got) != len(ref):
            fail("%s: image %d has %d outputs, want %d" % (what, i, len(got), len(ref)))
            return
        for g, r in zip(got, ref):
            worst = max(worst, abs(g - r) - 1e-4 * abs(r))
        if guesses[i] != max(range(len(got)), key=lambda k: (got[k], -k)):
            fail("%s: image %d: --predictions says %d, the outputs' argmax differs" %
                 (what, i, guesses[i]))
    if worst > 1e-5:
        fail("%s: outputs differ from the network's by %.3g" % (what, worst))
    else:
        ok("%s: %d images' outputs within 1e-5 + 1e-4|ref| of the network's" % (what, N_CHECK))


def check_refused(tmp, what, tensors, needle):
    path = os.path.join(tmp, "bad.safetensors")
    save_safetensors(path, tensors)
    rc, out = run("eval", "--model", path, "--device", "cpu", "--data", DATA)
    if rc == 3 and needle in out and out.count("mnistcl: ") == 1:
        ok("%s: exit 3, %s" % (what, out.strip().splitlines()[-1][:110]))
    else:
        fail("%s: want exit 3 and '%s', got exit %d:\n%s" % (what, needle, rc, out))


def check_torch(tmp):
    try:
        import torch
    except ImportError:
        print("(PyTorch not importable: its own check skipped)")
        return
    torch.manual_seed(3)
    net = torch.nn.Sequential(torch.nn.Linear(784, 48), torch.nn.ReLU(), torch.nn.Dropout(0.2),
                              torch.nn.Linear(48, 10)).eval()
    sd = net.state_dict()
    path = os.path.join(tmp, "torch.safetensors")
    save_safetensors(path, [(k, tuple(v.shape), v.flatten().tolist()) for k, v in sd.items()])
    probs = path + ".csv"
    rc, out = run("eval", "--model", path, "--device", "cpu", "--data", DATA,
                  "--probabilities", probs)
    if rc != 0:
        fail("torch: eval exit %d:\n%s" % (rc, out))
        return
    with open(probs) as f:
        got = torch.tensor([[float(v) for v in line.split(",")[1:]]
                            for line in list(f)[1:N_CHECK + 1]])
    x = torch.tensor(test_images(), dtype=torch.float32) / 255
    with torch.no_grad():
        ref = torch.softmax(net(x), dim=1)
    err = (got - ref).abs().max().item()
    if err > 1e-5:
        fail("torch: mnistcl's outputs differ from torch.nn.Sequential's by %.3g" % err)
    else:
        ok("torch: outputs equal torch.nn.Sequential's within %.2g" % err)


def main():
    rng = random.Random(5)
    with tempfile.TemporaryDirectory() as tmp:
        relu = random_layers(rng, [784, 64, 32, 10])
        check_case(tmp, "relu 0/3/5 no metadata", relu, ["0", "3", "5"], "relu", "softmax",
                   None, [])
        check_case(tmp, "relu format pt", relu, ["0", "3", "5"], "relu", "softmax",
                   {"format": "pt"}, [])
        tanh = random_layers(rng, [784, 40, 10], bias_last=False)
        check_case(tmp, "tanh net.0/net.2 no last bias", tanh, ["net.0", "net.2"], "tanh",
                   "softmax", None, ["--activation", "tanh"])
        sig = random_layers(rng, [784, 20, 10])
        check_case(tmp, "sigmoid sigmoid-mse", sig, ["0", "2"], "sigmoid", "sigmoid-mse", None,
                   ["--activation", "sigmoid", "--output", "sigmoid-mse"])
        t = tensors_of(relu, ["0", "3", "5"])
        check_refused(tmp, "BatchNorm buffer", t + [("1.running_mean", (64,), [0.0] * 64)],
                      "1.running_mean")
        check_refused(tmp, "no chain", tensors_of(relu, ["0", "3", "5"])[:2] + t[4:],
                      "not a chain of Linear layers")
        check_refused(tmp, "bias alone", t + [("7.bias", (10,), [0.0] * 10)], "7.bias")
        check_refused(tmp, "3-D weight", [("0.weight", (10, 28, 28), [0.0] * 7840)], "0.weight")
        check_torch(tmp)
    print("%d failure%s" % (fails, "" if fails == 1 else "s"))
    return 1 if fails else 0


if __name__ == "__main__":
    sys.exit(main())
