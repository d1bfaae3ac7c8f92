"""Training speed on this machine: one step in float32 against the precision ``auto`` picks.

What :func:`unet_tutorial.train.train` does on a CPU since issue 23: ``precision="auto"``
computes in bfloat16 autocast (with channels-last tensors) on a CPU with native
bfloat16 (AVX512-BF16 or AMX; :func:`unet_tutorial.hardware.cpu_has_native_bf16`),
float32 elsewhere. This benchmark times one training step of the reference recipe's
network (``UNet(base_channels=16)``, drop-out, 444 px tile, Adam, the weighted loss of
Eq. 1 through :func:`unet_tutorial.train.train_step`) in four variants, interleaved so
that all see the same load (the median of ``--repeats`` runs counts):

- ``fp32``: float32, contiguous (NCHW) tensors: the course before issue 23;
- ``fp32 + channels-last``; ``bf16``: bfloat16 autocast, contiguous;
- ``bf16 + channels-last``;

and the float32 and bfloat16 2048² matrix products of the same run (the machine's
rates). It prints the CPU's model and the flags that decide ``auto``, a table, and
ends with one line: ``train: auto/fp32 = X.XX× (precision P, channels_last C)``.

Usage: ``python benchmarks/bench_train.py [--quick] [--threads N] [--repeats R] [--tile S]``.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable

import torch

from unet_tutorial.hardware import (cpu_features, cpu_has_native_bf16, cpu_model, precision_name,
                                    resolve_precision, use_channels_last)
from unet_tutorial.model import UNet
from unet_tutorial.train import get_config, make_optimizer, train_step

#: The flags that decide ``precision="auto"`` on a CPU (and a few that say what the CPU is).
FLAGS = ("avx2", "avx512f", "avx512_bf16", "amx_tile", "amx_bf16", "avx512_vnni", "bf16")


def matmul_seconds(dtype: torch.dtype, n: int = 2048) -> Callable[[], float]:
    """A closure timing one ``n × n`` matrix product in ``dtype``; returns seconds."""
    a, b = torch.randn(n, n).to(dtype), torch.randn(n, n).to(dtype)
    torch.mm(a, b)

    def run() -> float:
        t = time.perf_counter()
        torch.mm(a, b)
        return time.perf_counter() - t

    return run


def step_seconds(amp: torch.dtype | None, channels_last: bool, tile: int, base: int) -> Callable[[], float]:
    """A closure running one training step (forward, Eq. 1, backward, Adam); returns seconds."""
    torch.manual_seed(0)
    model = UNet(base_channels=base, dropout=0.5)
    out = model.output_size(tile)
    x = torch.rand(1, 1, tile, tile)
    y = torch.randint(0, 2, (1, out, out))
    w = 1.0 + 9.0 * torch.rand(1, out, out)
    if channels_last:
        model.to(memory_format=torch.channels_last)
        x = x.contiguous(memory_format=torch.channels_last)
    optimizer = make_optimizer(model, get_config("cpu"))  # Adam, as the reference recipe
    model.train()
    for _ in range(2):  # warm-up: allocations, oneDNN primitive creation
        train_step(model, optimizer, x, y, w, amp_dtype=amp)

    def run() -> float:
        t = time.perf_counter()
        train_step(model, optimizer, x, y, w, amp_dtype=amp)
        return time.perf_counter() - t

    return run


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="3 repeats")
    parser.add_argument("--threads", type=int, default=0, help="torch threads (default: torch's choice)")
    parser.add_argument("--repeats", type=int, default=0, help="timed runs per variant (median counts; default 9)")
    parser.add_argument("--tile", type=int, default=444, help="input tile size (default 444, the reference's)")
    parser.add_argument("--base", type=int, default=16, help="base channels (default 16)")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    repeats = args.repeats or (3 if args.quick else 9)
    cpu = torch.device("cpu")
    auto = resolve_precision("auto", cpu)
    auto_cl = use_channels_last(cpu, auto)
    flops = 3 * UNet(base_channels=args.base).flops(args.tile)

    variants = {"fp32": (None, False), "fp32 + channels-last": (None, True),
                "bf16": (torch.bfloat16, False), "bf16 + channels-last": (torch.bfloat16, True)}
    runs: dict[str, Callable[[], float]] = {"matmul fp32": matmul_seconds(torch.float32),
                                            "matmul bf16": matmul_seconds(torch.bfloat16)}
    runs.update({name: step_seconds(amp, cl, args.tile, args.base) for name, (amp, cl) in variants.items()})
    times: dict[str, list[float]] = {k: [] for k in runs}
    for _ in range(repeats):  # interleaved: every variant sees the same load
        for k, run in runs.items():
            times[k].append(run())
    med = {k: statistics.median(v) for k, v in times.items()}
    rate = {k: 2 * 2048**3 / med[f"matmul {k}"] / 1e9 for k in ("fp32", "bf16")}

    flags = cpu_features()
    print(f"\nCPU: {cpu_model()}, {torch.get_num_threads()} threads; torch {torch.__version__}")
    print("flags: " + ", ".join(f"{f} {'yes' if f in flags else 'no'}" for f in FLAGS)
          + f"; native bf16: {'yes' if cpu_has_native_bf16() else 'no'}")
    print(f"matmul 2048²: fp32 {rate['fp32']:.0f} GFLOP/s, bf16 {rate['bf16']:.0f} GFLOP/s\n")
    print(f"One training step, UNet(base_channels={args.base}), {args.tile} px tile, Adam, Eq. 1; "
          f"median of {repeats}; {flops / 1e9:.1f} GFLOP per step\n")
    print("| variant | step (ms) | GFLOP/s | fp32 / this |")
    print("| --- | ---: | ---: | ---: |")
    for name in variants:
        chosen = " (auto)" if variants[name] == (auto, auto_cl) else ""
        print(f"| {name}{chosen} | {med[name] * 1e3:.0f} | {flops / med[name] / 1e9:.0f} "
              f"| {med['fp32'] / med[name]:.2f}× |")
    auto_name = next(n for n, v in variants.items() if v == (auto, auto_cl))
    print(f"\ntrain: auto/fp32 = {med['fp32'] / med[auto_name]:.2f}× "
          f"(precision {precision_name(auto)}, channels_last {auto_cl})")


if __name__ == "__main__":
    main()
