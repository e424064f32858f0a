#!/usr/bin/python3
"""Golden fixture for anima's optimisers, learning-rate schedules and gradient clipping, computed by
PyTorch 1.13's torch.optim, torch.optim.lr_scheduler and torch.nn.utils.clip_grad_norm_.

Run with Debian's interpreter (torch 1.13):

    /usr/bin/python3 tools/golden/optim.py [OUT_DIR]   # -> OUT_DIR/optim.safetensors (default tests/golden/data)

Checked by tests/nn/optim_golden_test.cpp. Everything is float64 and deterministic (fixed values, no
random numbers).

The model: W [2, 3] and b [2] (a Linear 3 -> 2) and a separate vector v [2], starting from the fixed
values below. "Flat" vectors are [W row-major (6), b (2), v (2)] = 10 values. With fixed x [4, 3] and
y [4, 2] the loss is
    L = mean((tanh(x W^T + b) - y)^2) + 0.5 * sum((v - t)^2 * (1 + v^2)) + 0.1 * (v0 * W00 + v1 * b1)
(smooth; t fixed). Each optimiser configuration runs 20 steps of zero_grad, backward(L), step. The
gradients each step saw are stored, so the C++ test feeds the same gradients and checks the
optimiser's arithmetic alone (no autograd in between).

tensors
  model/init                     [10]     the starting flat parameters
  <config>/grads                 [20, 10] the flat gradient given to step k (row k = step k + 1)
  <config>/params                [3, 10]  the flat parameters after steps 1, 5 and 20
  <config>/state/<name>          [10]     the optimiser state after step 20, flattened like the
                                          parameters (Adam: exp_avg, exp_avg_sq, max_exp_avg_sq with
                                          amsgrad; RMSprop: square_avg, grad_avg when centered,
                                          momentum_buffer when momentum > 0)
  sched/<name>/lr                [31, 2]  the learning rates of the 2 groups (initial lr 0.1 and 0.02)
                                          after the scheduler is built (row 0) and after each of its
                                          30 step() calls
  sched/plateau_metrics          [30]     the metric fed to ReduceLROnPlateau.step at each step
  clip/<case>/grads_in           [12]     gradients of 3 tensors of shapes [2, 3], [2], [4], flattened
  clip/<case>/grads_out          [12]     the gradients after clip_grad_norm_
  clip/<case>/total_norm         []       its return value
metadata
  "<config>", "sched/<name>", "clip/<case>"   JSON: the torch call's arguments
  "generator", "torch"                        provenance

Optimiser configurations (group 0 = [W, b], group 1 = [v] where two groups are listed):
  adam               Adam(lr=0.01); group 1 lr 0.05
  adam_amsgrad_wd    Adam(lr=0.02, betas=(0.8, 0.95), eps=1e-6, weight_decay=0.1, amsgrad=True)
  adamw              AdamW(lr=0.01, weight_decay=0.05)
  adamw_amsgrad      AdamW(lr=0.03, betas=(0.85, 0.99), weight_decay=0.2, amsgrad=True)
  rmsprop            RMSprop(lr=0.01)
  rmsprop_centered   RMSprop(lr=0.005, alpha=0.9, eps=1e-6, weight_decay=0.01, momentum=0.8,
                     centered=True); group 1 lr 0.002
Schedules (an SGD optimiser with two groups, lr 0.1 and 0.02; torch's recursive get_lr path, i.e.
scheduler.step() without an epoch argument):
  step         StepLR(step_size=7, gamma=0.5)
  multistep    MultiStepLR(milestones=[3, 8, 8, 20], gamma=0.3)   (8 twice: gamma^2 there)
  cosine       CosineAnnealingLR(T_max=10, eta_min=0.001)         (30 steps: past T_max and back up)
  linear_up    LinearLR(start_factor=0.25, end_factor=1.0, total_iters=8)
  linear_down  LinearLR(start_factor=1.0, end_factor=0.1, total_iters=5)
  plateau_min  ReduceLROnPlateau(mode='min', factor=0.5, patience=2, threshold=0.01,
               threshold_mode='rel', cooldown=1, min_lr=[0.01, 0.001])
  plateau_max  ReduceLROnPlateau(mode='max', factor=0.3, patience=1, threshold=0.05,
               threshold_mode='abs', cooldown=0, min_lr=0.0, eps=1e-3); fed -metric
Clipping cases: norm2_clipped (max_norm 1.0), norm2_unclipped (max_norm 100.0), inf_clipped
(norm_type inf, max_norm 0.5).
"""
import json
import math
import os
import sys

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

from ops import DATA, save_safetensors  # noqa: E402

F64 = torch.float64
STEPS = 20
RECORD = (1, 5, 20)

W0 = [[0.3, -0.2, 0.5], [-0.4, 0.1, 0.25]]
B0 = [0.05, -0.1]
V0 = [1.5, -0.7]
X = [[0.5, -1.0, 2.0], [1.5, 0.25, -0.5], [-0.75, 0.8, 0.3], [0.2, -0.4, -1.2]]
Y = [[0.1, -0.3], [0.6, 0.2], [-0.5, 0.4], [0.0, -0.8]]
T = [0.4, 0.9]


def model():
    w = torch.tensor(W0, dtype=F64, requires_grad=True)
    b = torch.tensor(B0, dtype=F64, requires_grad=True)
    v = torch.tensor(V0, dtype=F64, requires_grad=True)
    return w, b, v


def loss_fn(w, b, v):
    x = torch.tensor(X, dtype=F64)
    y = torch.tensor(Y, dtype=F64)
    t = torch.tensor(T, dtype=F64)
    fit = ((torch.tanh(x @ w.t() + b) - y) ** 2).mean()
    return fit + 0.5 * ((v - t) ** 2 * (1 + v ** 2)).sum() + 0.1 * (v[0] * w[0, 0] + v[1] * b[1])


def flat(ts):
    return torch.cat([t.detach().reshape(-1) for t in ts]).clone()


CONFIGS = {
    "adam": (torch.optim.Adam, {"lr": 0.01}, {"group1_lr": 0.05}),
    "adam_amsgrad_wd": (torch.optim.Adam, {"lr": 0.02, "betas": (0.8, 0.95), "eps": 1e-6, "weight_decay": 0.1,
                                           "amsgrad": True}, {}),
    "adamw": (torch.optim.AdamW, {"lr": 0.01, "weight_decay": 0.05}, {}),
    "adamw_amsgrad": (torch.optim.AdamW, {"lr": 0.03, "betas": (0.85, 0.99), "weight_decay": 0.2, "amsgrad": True},
                      {}),
    "rmsprop": (torch.optim.RMSprop, {"lr": 0.01}, {}),
    "rmsprop_centered": (torch.optim.RMSprop, {"lr": 0.005, "alpha": 0.9, "eps": 1e-6, "weight_decay": 0.01,
                                               "momentum": 0.8, "centered": True}, {"group1_lr": 0.002}),
}

STATE_NAMES = {
    torch.optim.Adam: ["exp_avg", "exp_avg_sq", "max_exp_avg_sq"],
    torch.optim.AdamW: ["exp_avg", "exp_avg_sq", "max_exp_avg_sq"],
    torch.optim.RMSprop: ["square_avg", "grad_avg", "momentum_buffer"],
}


def run_optimiser(name, cls, kwargs, extra, tensors, meta):
    w, b, v = model()
    if "group1_lr" in extra:
        opt = cls([{"params": [w, b]}, {"params": [v], "lr": extra["group1_lr"]}], **kwargs)
    else:
        opt = cls([w, b, v], **kwargs)
    grads, params = [], []
    for k in range(1, STEPS + 1):
        opt.zero_grad()
        loss_fn(w, b, v).backward()
        grads.append(flat([w.grad, b.grad, v.grad]))
        opt.step()
        if k in RECORD:
            params.append(flat([w, b, v]))
    tensors[name + "/grads"] = torch.stack(grads)
    tensors[name + "/params"] = torch.stack(params)
    for s in STATE_NAMES[cls]:
        if all(s in opt.state[p] for p in (w, b, v)):
            tensors[name + "/state/" + s] = flat([opt.state[p][s] for p in (w, b, v)])
    meta[name] = json.dumps({"optimizer": cls.__name__, **{k: list(a) if isinstance(a, tuple) else a
                                                            for k, a in kwargs.items()}, **extra})


PLATEAU_METRICS = [1.0, 0.9, 0.85, 0.849, 0.86, 0.848, 0.847, 0.7, 0.71, 0.72, 0.7, 0.69, 0.695, 0.65, 0.66,
                   0.67, 0.68, 0.5, 0.5, 0.5, 0.5, 0.499, 0.3, 0.31, 0.32, 0.33, 0.34, 0.35, 0.2, 0.21]

SCHEDULES = {
    "step": (torch.optim.lr_scheduler.StepLR, {"step_size": 7, "gamma": 0.5}),
    "multistep": (torch.optim.lr_scheduler.MultiStepLR, {"milestones": [3, 8, 8, 20], "gamma": 0.3}),
    "cosine": (torch.optim.lr_scheduler.CosineAnnealingLR, {"T_max": 10, "eta_min": 0.001}),
    "linear_up": (torch.optim.lr_scheduler.LinearLR, {"start_factor": 0.25, "end_factor": 1.0, "total_iters": 8}),
    "linear_down": (torch.optim.lr_scheduler.LinearLR, {"start_factor": 1.0, "end_factor": 0.1, "total_iters": 5}),
    "plateau_min": (torch.optim.lr_scheduler.ReduceLROnPlateau,
                    {"mode": "min", "factor": 0.5, "patience": 2, "threshold": 0.01, "threshold_mode": "rel",
                     "cooldown": 1, "min_lr": [0.01, 0.001]}),
    "plateau_max": (torch.optim.lr_scheduler.ReduceLROnPlateau,
                    {"mode": "max", "factor": 0.3, "patience": 1, "threshold": 0.05, "threshold_mode": "abs",
                     "cooldown": 0, "min_lr": 0.0, "eps": 1e-3}),
}


def run_schedule(name, cls, kwargs, tensors, meta):
    p0 = torch.zeros(1, dtype=F64, requires_grad=True)
    p1 = torch.zeros(1, dtype=F64, requires_grad=True)
    opt = torch.optim.SGD([{"params": [p0], "lr": 0.1}, {"params": [p1], "lr": 0.02}], lr=0.1)
    sched = cls(opt, **kwargs)
    lrs = [[g["lr"] for g in opt.param_groups]]
    for k in range(30):
        opt.step()  # no gradients: nothing changes, but torch expects optimizer.step() first
        if cls is torch.optim.lr_scheduler.ReduceLROnPlateau:
            m = PLATEAU_METRICS[k]
            sched.step(m if kwargs["mode"] == "min" else -m)
        else:
            sched.step()
        lrs.append([g["lr"] for g in opt.param_groups])
    tensors["sched/" + name + "/lr"] = torch.tensor(lrs, dtype=F64)
    meta["sched/" + name] = json.dumps({"scheduler": cls.__name__, **kwargs})


CLIP_GRADS = [[0.3, -0.6, 0.2, 0.05, -0.4, 0.9], [0.7, -0.1], [0.25, -0.35, 0.5, -0.05]]
CLIP_CASES = {"norm2_clipped": (1.0, 2.0), "norm2_unclipped": (100.0, 2.0), "inf_clipped": (0.5, math.inf)}


def run_clip(name, max_norm, norm_type, tensors, meta):
    shapes = [(2, 3), (2,), (4,)]
    ps = []
    for g, s in zip(CLIP_GRADS, shapes):
        p = torch.zeros(s, dtype=F64, requires_grad=True)
        p.grad = torch.tensor(g, dtype=F64).reshape(s)
        ps.append(p)
    tensors["clip/" + name + "/grads_in"] = flat([p.grad for p in ps])
    total = torch.nn.utils.clip_grad_norm_(ps, max_norm, norm_type)
    tensors["clip/" + name + "/grads_out"] = flat([p.grad for p in ps])
    tensors["clip/" + name + "/total_norm"] = total.detach().clone().to(F64)
    meta["clip/" + name] = json.dumps({"max_norm": max_norm,
                                       "norm_type": "inf" if math.isinf(norm_type) else norm_type})


def generate(out_dir=DATA):
    torch.set_grad_enabled(True)
    tensors, meta = {}, {}
    w, b, v = model()
    tensors["model/init"] = flat([w, b, v])
    for name, (cls, kwargs, extra) in CONFIGS.items():
        run_optimiser(name, cls, kwargs, extra, tensors, meta)
    for name, (cls, kwargs) in SCHEDULES.items():
        run_schedule(name, cls, kwargs, tensors, meta)
    tensors["sched/plateau_metrics"] = torch.tensor(PLATEAU_METRICS, dtype=F64)
    for name, (max_norm, norm_type) in CLIP_CASES.items():
        run_clip(name, max_norm, norm_type, tensors, meta)
    meta["generator"] = "tools/golden/optim.py"
    meta["torch"] = torch.__version__
    os.makedirs(out_dir, exist_ok=True)
    path = os.path.join(out_dir, "optim.safetensors")
    save_safetensors(path, tensors, meta)
    return path


if __name__ == "__main__":
    print(generate(sys.argv[1] if len(sys.argv) > 1 else DATA))
