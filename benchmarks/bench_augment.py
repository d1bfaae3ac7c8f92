"""Benchmark: elastic deformation (paper §3.1) of a 512×512 image and its label.

Ours (:func:`unet_tutorial.augment.elastic_deform`, torch ``grid_sample``) against
``elasticdeform.deform_random_grid([img, lbl], sigma=10, points=3, order=[3, 0])``
(https://github.com/gvtulder/elasticdeform, C implementation), measured in the same
run, interleaved round by round so that a change of machine load hits both sides.

Like with like: both draw a fresh random 3×3 control grid with 10 px standard
deviation for every image, both interpolate the image with a cubic kernel
(elasticdeform: cubic B-spline, ``order=3``; ours: bicubic convolution,
``grid_sample(mode="bicubic")``) and the label with nearest neighbour (``order=0``;
``mode="nearest"``). Nothing random is precomputed; only the deterministic identity
grid and the 3→512 bicubic weight matrix are cached.

GOAL: ours >= 11× elasticdeform's images/s for one image at a time on a 2-core CPU,
with torch limited to 1 thread (elasticdeform uses one core). The table also shows
torch's default thread count, a batch, and the GPU when CUDA is available.

Run: ``python benchmarks/bench_augment.py [--quick]`` (needs ``pip install -r
benchmarks/requirements.txt``).
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable

import numpy as np
import torch

from unet_tutorial.augment import elastic_deform
from unet_tutorial.data import synthetic_em

GOAL = 11.0


def per_image_seconds(fn: Callable[[], object], calls: int, images_per_call: int = 1, sync: bool = False) -> float:
    """Wall time per image of ``calls`` calls of ``fn`` (after one warm-up call)."""
    fn()
    if sync:
        torch.cuda.synchronize()
    start = time.perf_counter()
    for _ in range(calls):
        fn()
    if sync:
        torch.cuda.synchronize()
    return (time.perf_counter() - start) / (calls * images_per_call)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="fewer rounds (a rough figure)")
    args = parser.parse_args()
    try:
        import elasticdeform
    except ImportError:
        raise SystemExit(
            "elasticdeform is missing: pip install -r benchmarks/requirements.txt "
            "(on numpy 2: pip install --no-binary elasticdeform elasticdeform)"
        ) from None

    rounds, calls, batch = (3, 3, 8) if args.quick else (7, 5, 16)
    image, label = synthetic_em((512, 512), seed=0)  # synthetic EM-like data, see unet_tutorial.data
    rng = np.random.default_rng(0)
    np.random.seed(0)  # elasticdeform draws from numpy's global generator
    default_threads = torch.get_num_threads()

    def theirs() -> object:
        return elasticdeform.deform_random_grid([image, label], sigma=10, points=3, order=[3, 0])

    def ours() -> object:
        return elastic_deform(image, label, grid=3, sigma=10.0, rng=rng, interpolation="bicubic")

    images_b = torch.from_numpy(np.repeat(image[None, None], batch, axis=0))
    labels_b = torch.from_numpy(np.repeat(label[None], batch, axis=0))

    def ours_batch() -> object:
        return elastic_deform(images_b, labels_b, grid=3, sigma=10.0, rng=rng)

    cases: dict[str, tuple[Callable[[], object], int, int]] = {
        # name: (function, torch threads, images per call)
        "elasticdeform (C, order=[3, 0])": (theirs, 1, 1),
        "ours, 1 image, numpy in/out": (ours, 1, 1),
        f"ours, 1 image, numpy in/out ({default_threads} threads)": (ours, default_threads, 1),
        f"ours, batch of {batch}, torch (N, 1, H, W)": (ours_batch, 1, batch),
    }
    if default_threads == 1:
        del cases[f"ours, 1 image, numpy in/out ({default_threads} threads)"]
    times: dict[str, list[float]] = {name: [] for name in cases}
    for _ in range(rounds):
        for name, (fn, threads, per_call) in cases.items():
            torch.set_num_threads(threads)
            times[name].append(per_image_seconds(fn, calls, per_call))
    torch.set_num_threads(default_threads)

    rows = [(name, cases[name][1], statistics.median(ts)) for name, ts in times.items()]
    if torch.cuda.is_available():
        dev = torch.cuda.get_device_name()
        for n in (1, 16):
            xg = images_b[:1].repeat(n, 1, 1, 1).cuda()
            yg = labels_b[:1].repeat(n, 1, 1).cuda()
            t = per_image_seconds(lambda: elastic_deform(xg, yg, rng=rng), 20, n, sync=True)
            rows.append((f"ours, batch of {n}, GPU ({dev})", "-", t))

    base = rows[0][2]
    print(f"\nElastic deformation of one 512x512 float32 image + uint8 label "
          f"(median of {rounds} interleaved rounds; torch {torch.__version__}, "
          f"default threads {default_threads})\n")
    print("| method | torch threads | images/s | ms/image | × elasticdeform |")
    print("| --- | --- | ---: | ---: | ---: |")
    for name, threads, t in rows:
        print(f"| {name} | {threads} | {1 / t:.1f} | {1000 * t:.2f} | {base / t:.1f} |")
    ratio = base / rows[1][2]
    print(f"\nGoal: ours (1 image, 1 thread) >= {GOAL:g}x elasticdeform: measured {ratio:.1f}x, "
          f"goal met: {'yes' if ratio >= GOAL else 'no'}")


if __name__ == "__main__":
    main()
