"""PyTorch peer of `npm run bench` (run by bench.ts only when `import torch` works).

The same models (MLP 784-256-10, MLP 784-512-512-10, CNN 16-32: conv3x3 same → ReLU → maxpool2,
twice, → dense), batch 128 of random inputs, SGD lr 0.05 momentum 0.9, and SAM ρ 0.05 the way
PyTorch users write it (davda54/sam's two-step pattern: ε = ρ g/(‖g‖ + 1e-12) added in place,
second forward-backward, ε subtracted, base step). Timing protocol as ours: the median over
blocks of 5 steps of the mean ms per step, one warm-up block, optimizers interleaved.
Prints one JSON line: {"torch": version, "results": [{model, threads, ms: {sgd, sam}}]}.
"""
import json
import sys
import time

import torch
from torch import nn

BATCH = 128
BLOCK = 5


def mlp(sizes):
    layers = []
    for i in range(len(sizes) - 1):
        layers.append(nn.Linear(sizes[i], sizes[i + 1]))
        if i < len(sizes) - 2:
            layers.append(nn.ReLU())
    return nn.Sequential(*layers)


def cnn():
    return nn.Sequential(
        nn.Unflatten(1, (1, 28, 28)),
        nn.Conv2d(1, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(16, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(7 * 7 * 32, 10),
    )


def stepper(model, kind, x, y):
    opt = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    loss_fn = nn.CrossEntropyLoss()
    params = [p for p in model.parameters()]

    def sgd_step():
        opt.zero_grad()
        loss = loss_fn(model(x), y)
        loss.backward()
        opt.step()
        return loss.item()

    def sam_step(rho=0.05):
        opt.zero_grad()
        loss = loss_fn(model(x), y)
        loss.backward()
        with torch.no_grad():
            norm = torch.norm(torch.stack([p.grad.norm(2) for p in params]), 2)
            scale = rho / (norm + 1e-12)
            eps = [p.grad * scale for p in params]
            for p, e in zip(params, eps):
                p.add_(e)
        opt.zero_grad()
        loss_fn(model(x), y).backward()
        with torch.no_grad():
            for p, e in zip(params, eps):
                p.sub_(e)
        opt.step()
        return loss.item()

    step = sgd_step if kind == "sgd" else sam_step

    def block():
        t0 = time.perf_counter()
        for _ in range(BLOCK):
            step()
        return (time.perf_counter() - t0) * 1000 / BLOCK

    return block


def median(xs):
    s = sorted(xs)
    n = len(s)
    return s[n // 2] if n % 2 else (s[n // 2 - 1] + s[n // 2]) / 2


def main():
    torch.manual_seed(0)
    x = torch.rand(BATCH, 784)
    y = torch.arange(BATCH) % 10
    models = [("mlp 784-256-10", lambda: mlp([784, 256, 10]), 12), ("mlp 784-512-512-10", lambda: mlp([784, 512, 512, 10]), 6), ("cnn 16-32", cnn, 4)]
    results = []
    for threads in (1, 2):
        torch.set_num_threads(threads)
        for name, make, reps in models:
            blocks = {k: stepper(make(), k, x, y) for k in ("sgd", "sam")}
            times = {k: [] for k in blocks}
            for i in range(1 + reps):
                for k, b in blocks.items():
                    t = b()
                    if i >= 1:
                        times[k].append(t)
            results.append({"model": name, "threads": threads, "ms": {k: median(v) for k, v in times.items()}})
    print(json.dumps({"torch": torch.__version__, "results": results}))


if __name__ == "__main__":
    sys.exit(main())
