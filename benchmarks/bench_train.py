"""Training speed on the CPU: one step of the 16-base U-Net vs. the machine's matmul rate.

Goal (issue 5): one training step (forward + backward + SGD update) of
``UNet(base_channels=16)`` on a 572×572 tile runs at >= 70 % of the FLOP rate
of a large float32 matrix product measured in the same run, with the same
thread count. FLOPs are counted analytically: ``model.flops(572)`` for the
forward pass and twice that for the backward pass (gradients with respect to
the inputs and to the weights), i.e. ``3 · model.flops(572)`` per step.

Variants timed, interleaved with the matrix product so that both see the
same machine load (the best of ``--repeats`` runs counts):

- ``plain``: a textbook PyTorch step (NCHW tensors, ``F.cross_entropy``);
- ``train_step``: :func:`unet_tutorial.train.train_step` with the weighted
  loss of Eq. 1, as :func:`unet_tutorial.train.train` runs it on a CPU;
- ``channels_last``: the same step with NHWC memory format;
- ``compiled`` (``--compile``): the network wrapped in ``torch.compile``.

Usage: ``python benchmarks/bench_train.py [--quick] [--threads N] [--repeats R]``.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable

import torch
import torch.nn.functional as F

from unet_tutorial.model import UNet
from unet_tutorial.train import get_config, make_optimizer, train_step

GOAL = 0.70


def matmul_gflops(n: int) -> Callable[[], float]:
    """A closure timing one ``n × n`` float32 ``torch.mm``; returns GFLOP/s (2·n³ FLOPs)."""
    a, b = torch.randn(n, n), torch.randn(n, n)
    torch.mm(a, b)

    def run() -> float:
        t = time.perf_counter()
        torch.mm(a, b)
        return 2 * n**3 / (time.perf_counter() - t) / 1e9

    return run


def step_gflops(variant: str, tile: int, base: int, flops: int) -> Callable[[], float]:
    """A closure running one training step of ``variant``; returns GFLOP/s."""
    torch.manual_seed(0)
    model = UNet(base_channels=base)
    out = model.output_size(tile)
    x = torch.rand(1, 1, tile, tile)
    y = torch.randint(0, 2, (1, out, out))
    w = 1.0 + 9.0 * torch.rand(1, out, out)
    optimizer = make_optimizer(model, get_config("paper"))  # SGD, momentum 0.99
    net: torch.nn.Module = model
    if variant == "channels_last":
        model.to(memory_format=torch.channels_last)
        x = x.contiguous(memory_format=torch.channels_last)
    if variant == "compiled":
        net = torch.compile(model)
    model.train()

    def plain() -> None:
        optimizer.zero_grad(set_to_none=True)
        F.cross_entropy(model(x), y).backward()
        optimizer.step()

    def ours() -> None:
        train_step(net, optimizer, x, y, w)

    fn = plain if variant == "plain" else ours
    fn()  # warm-up: allocations, oneDNN primitive creation, compilation

    def run() -> float:
        t = time.perf_counter()
        fn()
        return flops / (time.perf_counter() - t) / 1e9

    return run


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="fewer repeats, 380 px tiles")
    parser.add_argument("--threads", type=int, default=0, help="torch threads (default: torch's choice)")
    parser.add_argument("--repeats", type=int, default=0, help="timed runs per variant (best counts)")
    parser.add_argument("--tile", type=int, default=0, help="input tile size (default 572)")
    parser.add_argument("--base", type=int, default=16, help="base channels (default 16)")
    parser.add_argument("--compile", action="store_true", help="also time torch.compile")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    tile = args.tile or (380 if args.quick else 572)
    repeats = args.repeats or (3 if args.quick else 8)
    model = UNet(base_channels=args.base)
    flops = 3 * model.flops(tile)

    variants = ["plain", "train_step", "channels_last"] + (["compiled"] if args.compile else [])
    runs = {"matmul": matmul_gflops(2048)}
    runs.update({v: step_gflops(v, tile, args.base, flops) for v in variants})
    best = {k: 0.0 for k in runs}
    for _ in range(repeats):  # interleaved, so every variant sees the same load
        for k, run in runs.items():
            best[k] = max(best[k], run())

    mm = best["matmul"]
    print(f"\nCPU training step, UNet(base_channels={args.base}), {tile}x{tile} tile, "
          f"{torch.get_num_threads()} threads, best of {repeats}; "
          f"{flops / 1e9:.1f} GFLOP per step (3 x forward)\n")
    print("| what | GFLOP/s | step (ms) | ratio to matmul | goal >= 70 % |")
    print("| --- | ---: | ---: | ---: | --- |")
    print(f"| matmul 2048x2048 float32 | {mm:.1f} | | 1.00 | |")
    for v in variants:
        ratio = best[v] / mm
        print(f"| step: {v} | {best[v]:.1f} | {flops / best[v] / 1e6:.0f} | {ratio:.2f} | "
              f"{'yes' if ratio >= GOAL else 'no'} |")
    ours = best["train_step"] / mm
    print(f"\ntrain_step vs plain step: {best['train_step'] / best['plain']:.2f}x; "
          f"goal ({GOAL:.0%} of matmul) met: {'yes' if ours >= GOAL else 'no'} ({ours:.0%})")


if __name__ == "__main__":
    main()
