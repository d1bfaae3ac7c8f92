"""Benchmark: the border weight map of Eq. 2, fast vs. the literal definition.

Measures, in one run, milliseconds per image of

- ours: :func:`unet_tutorial.weights.border_weight_map` (two nearest distinct
  instances by a separable distance transform truncated at the cutoff where the
  term drops below 1e-6; memory O(H·W));
- direct: :func:`unet_tutorial.weights.border_weight_map_direct` (one full
  Euclidean distance transform per instance, stacked; memory O(cells·H·W)),

on *synthetic* Voronoi cells with 2-px background gaps
(:func:`unet_tutorial.data.synthetic_voronoi_instances`): 25, 100 and 400 cells
on 512×512, plus one 2048×2048 image with 1024 cells. There the direct version
would need 1024 × 2048² × 8 B ≈ 34 GB, so it is timed on the distance transforms
of a subset of the cells and extrapolated linearly to all of them; that leaves
out the per-pixel sort of the stack, so the extrapolated time is a lower bound.

Goals (issue 4): ≥ 30× faster than direct at 100 cells, ≥ 100× at 400 cells,
with equal results (max |Δ| ≤ 1e-5). Times are medians of several repeats.

    python benchmarks/bench_weights.py [--quick] [--strict]
"""

from __future__ import annotations

import argparse
import platform
import statistics
import sys
import time
import tracemalloc
from dataclasses import dataclass

import numpy as np
import scipy
from scipy import ndimage as ndi
from tqdm.auto import tqdm

from unet_tutorial.data import synthetic_voronoi_instances
from unet_tutorial.weights import border_weight_map, border_weight_map_direct

GOALS = {100: 30.0, 400: 100.0}  # cells -> required speed-up
ATOL = 1e-5


@dataclass
class Row:
    shape: tuple[int, int]
    cells: int
    ours_ms: float
    direct_ms: float
    direct_note: str
    max_diff: float | None
    ours_mb: float
    direct_mb: float | None

    @property
    def ratio(self) -> float:
        return self.direct_ms / self.ours_ms


def median_ms(fn, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append((time.perf_counter() - start) * 1e3)
    return statistics.median(times)


def peak_mb(fn) -> float:
    """Peak memory traced while ``fn`` runs (numpy reports its buffers to tracemalloc)."""
    tracemalloc.start()
    try:
        fn()
        return tracemalloc.get_traced_memory()[1] / 2**20
    finally:
        tracemalloc.stop()


def measure_full(shape: tuple[int, int], cells: int, repeats_ours: int, repeats_direct: int) -> Row:
    inst = synthetic_voronoi_instances(shape, n_cells=cells, gap=2, seed=0)
    ours = border_weight_map(inst)
    direct = border_weight_map_direct(inst)  # also warms up both code paths
    return Row(
        shape=shape,
        cells=int(len(np.unique(inst)) - 1),
        ours_ms=median_ms(lambda: border_weight_map(inst), repeats_ours),
        direct_ms=median_ms(lambda: border_weight_map_direct(inst), repeats_direct),
        direct_note="measured",
        max_diff=float(np.abs(ours.astype(np.float64) - direct).max()),
        ours_mb=peak_mb(lambda: border_weight_map(inst)),
        direct_mb=peak_mb(lambda: border_weight_map_direct(inst)),
    )


def measure_large(shape: tuple[int, int], cells: int, subset: int, repeats_ours: int) -> Row:
    inst = synthetic_voronoi_instances(shape, n_cells=cells, gap=2, seed=0)
    ids = np.unique(inst)
    ids = ids[ids != 0]
    border_weight_map(inst)
    ours_ms = median_ms(lambda: border_weight_map(inst), repeats_ours)
    start = time.perf_counter()
    for k in ids[:subset]:
        ndi.distance_transform_edt(inst != k)
    per_cell_ms = (time.perf_counter() - start) * 1e3 / subset
    return Row(
        shape=shape,
        cells=len(ids),
        ours_ms=ours_ms,
        direct_ms=per_cell_ms * len(ids),
        direct_note=f"extrapolated ≥ (EDTs of {subset} cells × {len(ids) // subset})",
        max_diff=None,
        ours_mb=peak_mb(lambda: border_weight_map(inst)),
        direct_mb=len(ids) * inst.size * 8 / 2**20,  # the float64 stack alone
    )


def table(rows: list[Row]) -> str:
    lines = [
        "| image | cells | ours (ms) | direct (ms) | speed-up | goal | goal met | max abs diff "
        "| ours peak (MB) | direct peak (MB) |",
        "| --- | ---: | ---: | ---: | ---: | ---: | --- | ---: | ---: | ---: |",
    ]
    for r in rows:
        goal = GOALS.get(r.cells) if r.shape == (512, 512) else None
        met = "–" if goal is None else ("yes" if r.ratio >= goal and (r.max_diff or 0) <= ATOL else "no")
        direct = f"{r.direct_ms:,.0f}" + ("" if r.direct_note == "measured" else f" ({r.direct_note})")
        diff = "–" if r.max_diff is None else f"{r.max_diff:.1e}"
        dmb = "–" if r.direct_mb is None else f"{r.direct_mb:,.0f}"
        if r.max_diff is None:
            dmb += " (stack, not run)"
        lines.append(
            f"| {r.shape[0]}×{r.shape[1]} | {r.cells} | {r.ours_ms:.1f} | {direct} | {r.ratio:,.0f}× | "
            f"{'–' if goal is None else f'≥ {goal:.0f}×'} | {met} | {diff} | {r.ours_mb:.0f} | {dmb} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer repeats and a 1024×1024 large image")
    parser.add_argument("--strict", action="store_true", help="exit with status 1 if a goal is not met")
    args = parser.parse_args(argv)

    repeats_ours, repeats_direct = (3, 1) if args.quick else (7, 3)
    large_shape, large_cells, subset = ((1024, 1024), 256, 8) if args.quick else ((2048, 2048), 1024, 16)

    print(
        f"python {platform.python_version()}, numpy {np.__version__}, scipy {scipy.__version__}, "
        f"{platform.machine()} {platform.processor() or ''}".strip()
    )
    print(f"synthetic Voronoi cells (gap 2 px), w0 = 10, sigma = 5; medians of {repeats_ours} (ours) / "
          f"{repeats_direct} (direct) repeats\n")
    rows = []
    for cells in tqdm([25, 100, 400], desc="512×512", leave=False):
        rows.append(measure_full((512, 512), cells, repeats_ours, repeats_direct))
    rows.append(measure_large(large_shape, large_cells, subset, repeats_ours))
    print(table(rows))

    ok = True
    for r in rows:
        goal = GOALS.get(r.cells) if r.shape == (512, 512) else None
        if goal is not None:
            met = r.ratio >= goal and (r.max_diff or 0) <= ATOL
            ok &= met
            print(f"\n{r.cells} cells: {r.ratio:.0f}× (goal ≥ {goal:.0f}×), max |diff| {r.max_diff:.1e} "
                  f"(goal ≤ {ATOL:.0e}) -> goal met: {'yes' if met else 'no'}", end="")
    print()
    return 0 if ok or not args.strict else 1


if __name__ == "__main__":
    sys.exit(main())
