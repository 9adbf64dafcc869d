#!/usr/bin/python3
"""mnistcl's optimizers and schedules against PyTorch's, step by step.

For each case below: the same initial weights (He-normal, drawn here, zero biases), the
same batches (the first IMAGES training images in file order, no shuffle), STEPS steps;
PyTorch (float32, torch.optim + torch.optim.lr_scheduler stepped per batch) against
mnistcl on the CPU reference and on the OpenCL device, plain and through the trainer's
unfused and dense-input knobs (bench/optimizer_steps.c). After every step all parameters
are compared, each relative to the size of its tensor: max |a - b| / max |b over the
tensor (W_l or b_l)|, b PyTorch's; a run passes when that stays <= TOL (1e-5) over all its
steps. (Relative to each element instead, the smallest weights, whose last bits are
float32 rounding, dominate: PyTorch float32 misses 1e-5 against its own float64 so.) Also printed: the same against PyTorch in float64 and
PyTorch float32 against float64 (float32's own drift), each step's loss and learning rate
(mnistcl's trainer_lr_at against the scheduler's, and the scheduler against the formula of
kernels/step_rule.h written out in double), and a one-step replay: for every step,
PyTorch's optimizer applied to mnistcl's parameters, optimizer state and gradient
(trainer_gradient) before the step, against mnistcl's after it: the update formula alone,
without the drift of 20 steps of float32 rounding through the network.

PyTorch gets the hyper-parameters as mnistcl holds them, rounded to float32
(OPTIMIZER_CHECK_DECIMAL_HP=1: the decimal values; for Adam the replay is then also shown
with the decimal betas).

Verdicts: PASS (<= TOL at every step); NOISE (above TOL, but the replay is within TOL and
mnistcl is no further from PyTorch-float64 than PyTorch-float32 is, x2: float32 rounding
amplified by the steps, which PyTorch shows as much); FAIL otherwise. Exit status 1 on
any FAIL or NOISE (OPTIMIZER_CHECK_NOISE_OK=1: on FAIL only).

usage: optimizer_check.py BIN OUTDIR [DEVICE]   (bench/optimizer_check.sh runs it)
"""
import math
import os
import subprocess
import sys

import numpy as np
import torch

TOL = 1e-5
DATA = os.environ.get("MNISTCL_DATA", "data/mnist")

# name layers batch images steps epochs optimizer lr momentum wd beta1 beta2 eps
#      schedule warmup final_lr step_epochs gamma
# (epochs: the run's length for the schedule, in epochs of images/batch steps)
CASES = [
    ("sgd",            "784,32,10", 16, 320, 20, 1, "sgd",      0.05, 0.9, 1e-3, 0.9, 0.999, 1e-8, "constant", 0, 0.0, 10, 0.1),
    ("nesterov",       "784,32,10", 16, 320, 20, 1, "nesterov", 0.05, 0.9, 0.0,  0.9, 0.999, 1e-8, "constant", 0, 0.0, 10, 0.1),
    ("nesterov-wd",    "784,32,10", 16, 320, 20, 1, "nesterov", 0.05, 0.9, 1e-3, 0.9, 0.999, 1e-8, "constant", 0, 0.0, 10, 0.1),
    ("adam",           "784,32,10", 16, 320, 20, 1, "adam",     1e-3, 0.0, 0.0,  0.9, 0.999, 1e-8, "constant", 0, 0.0, 10, 0.1),
    ("adam-wd",        "784,32,10", 16, 320, 20, 1, "adam",     1e-3, 0.0, 1e-2, 0.9, 0.999, 1e-8, "constant", 0, 0.0, 10, 0.1),
    ("adamw",          "784,32,10", 16, 320, 20, 1, "adamw",    1e-3, 0.0, 1e-2, 0.9, 0.999, 1e-8, "constant", 0, 0.0, 10, 0.1),
    ("adamw-cosine",   "784,32,10", 16, 320, 20, 1, "adamw",    1e-3, 0.0, 1e-2, 0.9, 0.999, 1e-8, "cosine",   5, 1e-5, 10, 0.1),
    ("adamw-onecycle", "784,32,10", 16, 320, 20, 1, "adamw",    1e-3, 0.0, 1e-2, 0.9, 0.999, 1e-8, "onecycle", 6, 0.0, 10, 0.1),
    ("sgd-onecycle",   "784,32,10", 16, 320, 20, 1, "sgd",      0.05, 0.9, 1e-3, 0.9, 0.999, 1e-8, "onecycle", 6, 0.0, 10, 0.1),
    # extras: two epochs of 10 steps (the step count and bias corrections go on across
    # begin_epoch), a schedule longer than the steps run, a deeper net (the update of later
    # layers as its own stage), batch 1 (OpenCL's per-sample kernel computes the schedule
    # and bias corrections itself)
    ("adam-2epochs",   "784,32,10", 16, 160, 20, 3, "adam",     1e-3, 0.0, 1e-3, 0.9, 0.999, 1e-8, "cosine",   4, 0.0, 10, 0.1),
    ("adamw-deep",     "784,32,16,10", 16, 320, 20, 1, "adamw", 1e-3, 0.0, 1e-2, 0.9, 0.999, 1e-8, "cosine",  5, 1e-5, 10, 0.1),
    ("adam-batch1",    "784,32,10", 1, 20, 20, 1, "adam",       1e-3, 0.0, 1e-3, 0.9, 0.999, 1e-8, "cosine",   5, 1e-5, 10, 0.1),
    ("nesterov-batch1","784,32,10", 1, 20, 20, 1, "nesterov",   0.01, 0.9, 1e-3, 0.9, 0.999, 1e-8, "onecycle", 6, 0.0, 10, 0.1),
]
FIELDS = ["name", "layers", "batch", "images", "steps", "epochs", "optimizer", "lr", "momentum",
          "wd", "beta1", "beta2", "eps", "schedule", "warmup", "final_lr", "step_epochs", "gamma"]
RUNS = ["cpu", "cpu-unfused", "opencl", "opencl-unfused", "opencl-dense"]


def load(path, offset):
    with open(path, "rb") as f:
        return np.frombuffer(f.read(), np.uint8, offset=offset)


def sizes_of(layers):
    return [int(s) for s in layers.split(",")]


def init_params(sizes, seed=7):
    """He-normal weights (in, out) row-major, zero biases, flat as in mnistcl/mlp.h."""
    g = np.random.default_rng(seed)
    parts = []
    for i in range(len(sizes) - 1):
        parts.append((g.standard_normal((sizes[i], sizes[i + 1])) * math.sqrt(2 / sizes[i])).astype(np.float32).ravel())
        parts.append(np.zeros(sizes[i + 1], np.float32))
    return np.concatenate(parts)


def lr_formula(c, t):
    """kernels/step_rule.h's schedule_lr, in double."""
    kind, lr, total, w = c["schedule"], c["lr"], c["total"], c["warmup"]
    if kind == "onecycle":
        up = w if w > 0 else int(0.3 * total)
        initial = lr / 25
        min_lr = initial / 1e4
        end1, end2 = up - 1.0, total - 1.0
        if t <= end1:
            start, end, pct = initial, lr, (t / end1 if end1 > 0 else 1.0)
        else:
            start, end, pct = lr, min_lr, ((t - end1) / (end2 - end1) if end2 > end1 else 1.0)
        pct = min(pct, 1.0)
        return end + (start - end) / 2 * (math.cos(math.pi * pct) + 1)
    if w > 0 and t < w:
        return lr * (t + 1) / w
    if w > 0:
        t, total = t - w, total - w
    if kind == "step":
        every = c["step_epochs"] * c["per_epoch"]
        return lr * c["gamma"] ** (t // every)
    if kind == "cosine":
        pct = min(t / total, 1.0) if total > 0 else 1.0
        return c["final_lr"] + (lr - c["final_lr"]) * (1 + math.cos(math.pi * pct)) / 2
    return lr


def torch_scheduler(c, opt):
    """The torch.optim.lr_scheduler that matches the case, or None (constant)."""
    S = torch.optim.lr_scheduler
    kind, total, w = c["schedule"], c["total"], c["warmup"]
    if kind == "onecycle":
        up = w if w > 0 else int(0.3 * total)
        # cycle_momentum off: mnistcl does not cycle momentum / beta1 as OneCycleLR does by default
        return S.OneCycleLR(opt, max_lr=c["lr"], total_steps=total, pct_start=up / total,
                            anneal_strategy="cos", div_factor=25.0, final_div_factor=1e4,
                            cycle_momentum=False)
    main = None
    rest = total - w
    if kind == "cosine":
        main = S.CosineAnnealingLR(opt, T_max=rest, eta_min=c["final_lr"])
    elif kind == "step":
        main = S.StepLR(opt, step_size=c["step_epochs"] * c["per_epoch"], gamma=c["gamma"])
    if w > 0:
        # lr * (t + 1) / w for t < w: LinearLR from 1/w reaching 1 at t = w - 1
        warm = S.LinearLR(opt, start_factor=1.0 / w, end_factor=1.0, total_iters=max(w - 1, 1))
        if main is None:
            main = S.ConstantLR(opt, factor=1.0, total_iters=0)
        return S.SequentialLR(opt, [warm, main], milestones=[w])
    return main


def make_optimizer(c, params):
    o = c["optimizer"]
    if o in ("sgd", "nesterov"):
        return torch.optim.SGD(params, lr=c["lr"], momentum=c["momentum"],
                               weight_decay=c["wd"], nesterov=(o == "nesterov"))
    if o == "adam":
        return torch.optim.Adam(params, lr=c["lr"], betas=(c["beta1"], c["beta2"]),
                                eps=c["eps"], weight_decay=c["wd"])
    return torch.optim.AdamW(params, lr=c["lr"], betas=(c["beta1"], c["beta2"]),
                             eps=c["eps"], weight_decay=c["wd"])


def torch_run(c, p0, x_all, y_all, dtype=torch.float32):
    """Returns (snapshots (steps, n), losses, lrs) of PyTorch's run."""
    sizes = sizes_of(c["layers"])
    mods, lins, off = [], [], 0
    for i in range(len(sizes) - 1):
        lin = torch.nn.Linear(sizes[i], sizes[i + 1])
        nw = sizes[i] * sizes[i + 1]
        with torch.no_grad():
            lin.weight.copy_(torch.from_numpy(p0[off:off + nw].reshape(sizes[i], sizes[i + 1]).T.copy()))
            lin.bias.copy_(torch.from_numpy(p0[off + nw:off + nw + sizes[i + 1]]))
        off += nw + sizes[i + 1]
        mods.append(lin)
        lins.append(lin)
        if i < len(sizes) - 2:
            mods.append(torch.nn.ReLU())
    net = torch.nn.Sequential(*mods).to(dtype)
    opt = make_optimizer(c, net.parameters())
    sched = torch_scheduler(c, opt)
    loss_fn = torch.nn.CrossEntropyLoss()  # mean over the batch
    x = torch.from_numpy(x_all[:c["images"]]).to(dtype)
    y = torch.from_numpy(y_all[:c["images"]])
    snaps, losses, lrs = [], [], []
    for s in range(c["steps"]):
        k = s % c["per_epoch"]
        xb, yb = x[k * c["batch"]:(k + 1) * c["batch"]], y[k * c["batch"]:(k + 1) * c["batch"]]
        lrs.append(opt.param_groups[0]["lr"])
        opt.zero_grad(set_to_none=True)
        loss = loss_fn(net(xb), yb)
        loss.backward()
        opt.step()
        if sched is not None:
            sched.step()
        losses.append(loss.item())
        with torch.no_grad():
            snaps.append(np.concatenate([np.concatenate([l.weight.T.contiguous().numpy().ravel(),
                                                         l.bias.numpy()]) for l in lins]))
    return np.stack(snaps).astype(np.float64), np.array(losses), np.array(lrs)


def replay(c, p0, snaps, grads, states, lrs, sizes):
    """One-step replay of the update rule: for every step s, PyTorch's optimizer (float32)
    started from mnistcl's parameters and optimizer state before s, given the gradient
    mnistcl computes for s's batch there (trainer_gradient) and mnistcl's rate of step s,
    against mnistcl's parameters and state after s. The optimizers act element by element,
    so one flat tensor stands for all parameters. Returns per step (params max rel, state
    max rel): the parameters as the trajectories (relative to their tensor), the state relative to the
    size of the terms it is the sum of (momentum: |mu v| + |g| + |wd p|; Adam's moments:
    beta1 |m| + (1 - beta1) |g|, beta2 v + (1 - beta2) g^2, Adam's |g| + |wd p| for |g|),
    which is what float rounding scales with when they cancel."""
    n = p0.size
    adam = c["optimizer"] in ("adam", "adamw")
    prel, srel = [], []
    for s in range(c["steps"]):
        before = (p0 if s == 0 else snaps[s - 1]).astype(np.float32)
        prev = states[s - 1] if s > 0 else np.zeros_like(states[0])
        p = torch.nn.Parameter(torch.from_numpy(before.copy()))
        p.grad = torch.from_numpy(grads[s].copy())
        opt = make_optimizer(c, [p])
        opt.param_groups[0]["lr"] = float(lrs[s])
        if s > 0:
            if adam:
                opt.state[p] = {"step": torch.tensor(float(s)),
                                "exp_avg": torch.from_numpy(prev[:n].copy()),
                                "exp_avg_sq": torch.from_numpy(prev[n:2 * n].copy())}
            elif c["momentum"] != 0:
                opt.state[p] = {"momentum_buffer": torch.from_numpy(prev[:n].copy())}
        opt.step()
        got = p.detach().numpy().astype(np.float64)
        prel.append(np.max(np.abs(snaps[s] - got) / tensor_scale(got, sizes)))
        g = grads[s].astype(np.float64)
        pb = before.astype(np.float64)
        if adam:
            ts = np.concatenate([opt.state[p]["exp_avg"].numpy(), opt.state[p]["exp_avg_sq"].numpy()])
            ge = np.abs(g) + (np.abs(c["wd"] * pb) if c["optimizer"] == "adam" else 0)
            scale = np.concatenate([c["beta1"] * np.abs(prev[:n]) + (1 - c["beta1"]) * ge,
                                    c["beta2"] * prev[n:2 * n] + (1 - c["beta2"]) * ge * ge])
        elif c["momentum"] != 0:
            ts = opt.state[p]["momentum_buffer"].numpy()
            scale = c["momentum"] * np.abs(prev[:n]) + np.abs(g) + np.abs(c["wd"] * pb)
        else:
            ts, scale = states[s][:n], np.ones(n)
        ts = ts.astype(np.float64)
        k = ts.size
        srel.append(np.max(np.abs(states[s][:k] - ts) / np.maximum(scale, 1e-30)))
    return np.array(prel), np.array(srel)


def tensor_scale(ref, sizes):
    """Per element of ref (steps x n, or n), max |ref| over the element's tensor (W_l or b_l)
    at the same step: the scale "relative" refers to."""
    ref = np.atleast_2d(np.abs(ref))
    out = np.empty_like(ref)
    off = 0
    for l in range(len(sizes) - 1):
        for count in (sizes[l] * sizes[l + 1], sizes[l + 1]):
            block = ref[:, off:off + count]
            out[:, off:off + count] = np.maximum(block.max(axis=1, keepdims=True), 1e-30)
            off += count
    return out


def where(sizes, i):
    off = 0
    for l in range(len(sizes) - 1):
        nw = sizes[l] * sizes[l + 1]
        if i < off + nw:
            r, col = divmod(i - off, sizes[l + 1])
            return f"W{l + 1}[{r},{col}]"
        off += nw
        if i < off + sizes[l + 1]:
            return f"b{l + 1}[{i - off}]"
        off += sizes[l + 1]
    return f"#{i}"


HP = ["lr", "momentum", "wd", "beta1", "beta2", "eps", "final_lr", "gamma"]


def main():
    if len(sys.argv) < 3:
        print(__doc__, file=sys.stderr)
        return 2
    binary, outdir = sys.argv[1], sys.argv[2]
    device = sys.argv[3] if len(sys.argv) > 3 else "opencl"
    decimal_hp = os.environ.get("OPTIMIZER_CHECK_DECIMAL_HP", "0") not in ("", "0")
    noise_ok = os.environ.get("OPTIMIZER_CHECK_NOISE_OK", "0") not in ("", "0")
    torch.set_num_threads(1)
    os.makedirs(outdir, exist_ok=True)
    cases = []
    for row in CASES:
        c = dict(zip(FIELDS, row))
        c["per_epoch"] = (c["images"] + c["batch"] - 1) // c["batch"]
        c["total"] = c["per_epoch"] * c["epochs"]
        c["decimal"] = dict(c)
        if not decimal_hp:
            # mnistcl holds its hyper-parameters as float32 (train_config): PyTorch gets the
            # same values (1 - beta2 is then 1 - 0.99900001287 = 9.9998713e-4, as in mnistcl)
            for k in HP:
                c[k] = float(np.float32(c[k]))
        cases.append(c)
    with open(f"{outdir}/cases.txt", "w") as f:
        for row in CASES:
            f.write(" ".join(str(v) for v in row) + "\n")
    inits = {}
    for c in cases:
        if c["layers"] not in inits:
            inits[c["layers"]] = init_params(sizes_of(c["layers"]))
            inits[c["layers"]].tofile(f"{outdir}/init-{c['layers'].replace(',', '-')}.f32")
    r = subprocess.run([binary, f"{outdir}/cases.txt", f"{outdir}/init-%s.f32", outdir, device],
                       stdout=subprocess.PIPE, universal_newlines=True)
    with open(f"{outdir}/optimizer_steps.log", "w") as f:
        f.write(r.stdout)
    if r.returncode != 0:
        print(r.stdout)
        print(f"FAIL: {binary} exited with {r.returncode}")
        return 1
    print(r.stdout.splitlines()[0] if device != "none" else "OpenCL: not run")
    x_all = (load(f"{DATA}/train-images-idx3-ubyte", 16).reshape(-1, 784).astype(np.float32) / 255)
    y_all = load(f"{DATA}/train-labels-idx1-ubyte", 8).astype(np.int64)
    runs = RUNS if device != "none" else RUNS[:2]
    print()
    print(f"rel = max |a-b| / max |b| of the tensor, over all parameters, b: PyTorch {torch.__version__} "
          f"float32 ({'decimal' if decimal_hp else 'float32-rounded'} hyper-parameters); "
          f"tolerance {TOL:g} at every step")
    print("  final, all, at: against PyTorch after the last step; at the worst step, and which")
    print("  f64: against PyTorch in float64 (all steps); loss, lr: each step's loss and rate")
    print("  replay: one step of PyTorch's optimizer from mnistcl's parameters, state and gradient:")
    print("          parameters / optimizer state (relative to its terms): the update formula alone")
    print("  PASS: all <= tolerance. NOISE: above it, but the replay is within it and mnistcl is no")
    print("  further from PyTorch-float64 than PyTorch-float32 is (x2): float32 rounding, amplified")
    print(f"{'case':<16} {'run':<15} {'final':>8} {'all':>8} {'at':>3} {'f64':>8} "
          f"{'loss':>8} {'lr':>8} {'replay':>17}  worst parameter (mnistcl / PyTorch)")
    counts = {"PASS": 0, "NOISE": 0, "FAIL": 0}
    for c in cases:
        sizes = sizes_of(c["layers"])
        p0 = inits[c["layers"]]
        ref, ref_loss, ref_lr = torch_run(c, p0, x_all, y_all)
        ref64, _, _ = torch_run(c, p0.astype(np.float64), x_all, y_all, torch.float64)
        n = ref.shape[1]
        torch_noise = (np.abs(ref - ref64) / tensor_scale(ref64, sizes)).max(axis=1)
        formula = np.array([lr_formula(c, t) for t in range(c["steps"])])
        sched_vs_formula = np.max(np.abs(ref_lr - formula) / np.abs(formula))
        notes = []
        for run in runs:
            name = f"{outdir}/{c['name']}.{run}"
            got = np.fromfile(f"{name}.f32", np.float32).reshape(-1, n).astype(np.float64)
            lf = np.loadtxt(f"{name}.loss", ndmin=2)
            rel = np.abs(got - ref) / tensor_scale(ref, sizes)
            per_step = rel.max(axis=1)
            vs64 = (np.abs(got - ref64) / tensor_scale(ref64, sizes)).max()
            worst_step = int(per_step.argmax())
            i = int(rel[worst_step].argmax())
            loss_rel = np.max(np.abs(lf[:, 0] - ref_loss) / np.abs(ref_loss))
            lr_rel = np.max(np.abs(lf[:, 1] - ref_lr) / np.abs(ref_lr))
            rp, replay_ok = "", None
            if os.path.exists(f"{name}.grad.f32"):
                grads = np.fromfile(f"{name}.grad.f32", np.float32).reshape(-1, n)
                states = np.fromfile(f"{name}.state.f32", np.float32).reshape(c["steps"], -1)
                prel, srel = replay(c, p0, got, grads, states, lf[:, 1], sizes)
                # the verdict takes the parameters: a formula off in the state (velocity,
                # moments) shows there too, while the state also carries the difference
                # between the gradient the step used and trainer_gradient's (another kernel
                # on OpenCL: the fused step and the per-sample kernel never store theirs)
                replay_ok = prel.max() <= TOL
                rp = f"{prel.max():8.1e} {srel.max():8.1e}"
                if not replay_ok:
                    notes.append(f"{run}: replayed parameters above {TOL:g} first at step "
                                 f"{int(np.argmax(prel > TOL)) + 1} ({prel.max():.2e})")
                if srel.max() > TOL:
                    notes.append(f"{run}: replayed optimizer state above {TOL:g} first at step "
                                 f"{int(np.argmax(srel > TOL)) + 1} ({srel.max():.2e}; the parameters "
                                 f"{prel.max():.2e}): the step's gradient is not trainer_gradient's")
                if c["optimizer"] in ("adam", "adamw") and not decimal_hp:
                    dp, ds = replay(c["decimal"], p0, got, grads, states, lf[:, 1], sizes)
                    notes.append(f"{run}: replay with the decimal betas (PyTorch's 1 - 0.999 = 1e-3): "
                                 f"params {dp.max():.2e}, state {ds.max():.2e}")
            if per_step.max() <= TOL:
                verdict = "PASS"
            elif replay_ok is not False and vs64 <= 2 * torch_noise.max():
                verdict = "NOISE"
            else:
                verdict = "FAIL"
            counts[verdict] += 1
            tail = "" if verdict == "PASS" else f" (above {TOL:g} from step {int(np.argmax(per_step > TOL)) + 1})"
            print(f"{c['name']:<16} {run:<15} {per_step[-1]:8.2e} {per_step.max():8.2e} "
                  f"{worst_step + 1:3d} {vs64:8.2e} {loss_rel:8.1e} {lr_rel:8.1e} {rp:>17}  "
                  f"{where(sizes, i)} {got[worst_step, i]:.8g} / {ref[worst_step, i]:.8g}  {verdict}{tail}")
        print(f"{'':<16} PyTorch float32 against float64: {torch_noise[-1]:.2e} after the last step, "
              f"{torch_noise.max():.2e} at worst")
        for note in notes:
            print(f"{'':<16} {note}")
        if c["schedule"] != "constant" or c["warmup"] > 0:
            print(f"{'':<16} lr: torch scheduler vs step_rule.h written out (double): max rel "
                  f"{sched_vs_formula:.2e}; lrs {', '.join(f'{v:.4g}' for v in ref_lr)}")
    print()
    print(f"PASS {counts['PASS']}, NOISE {counts['NOISE']}, FAIL {counts['FAIL']} "
          f"(tolerance {TOL:g}; NOISE counts as FAIL unless OPTIMIZER_CHECK_NOISE_OK=1)")
    bad = counts["FAIL"] + (0 if noise_ok else counts["NOISE"])
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
