"""Speed (and a sanity check) of the ISBI 2012 metrics of :mod:`unet_tutorial.metrics`.

Times every metric on 512×512 label images against two proposals:

* ``otsu``: Otsu's threshold of the Gaussian-blurred (σ = 1 px) EM image, a
  classical baseline with many topological errors;
* ``perturbed``: the label with every cell eroded by one pixel plus 10 random
  merges (membrane bridged by a disk) and 10 random splits (a cell cut by a
  2-px membrane line).

Baselines, measured in the same run: scikit-image's ``adapted_rand_error``
(a related Rand score, see the module docs) for the Rand error, and the
literal pass loop of the challenge's Java code (every pass re-tests every
remaining mismatch, with the same simple-point table) for the warping error.
The goal is one 512×512 warping error in at most 1 s on this 2-core CPU.

With ``UNET_TUTORIAL_DATA`` set the real ISBI 2012 training slices 25–29 are
used, and the Otsu baseline is checked against the course's reference numbers
(pixel mismatch, 1 − accuracy, 0.28; Rand error 0.39); otherwise synthetic EM-like images from
:func:`unet_tutorial.data.synthetic_em` stand in (labelled as synthetic).

Run: ``.venv/bin/python benchmarks/bench_metrics.py [--quick]``. Timings are
the best of several repeats; other processes on the machine slow them down.
"""

from __future__ import annotations

import argparse
import os
import time
from typing import Callable

import numpy as np
from scipy import ndimage as ndi
from skimage.filters import gaussian, threshold_otsu
from tqdm.auto import tqdm

from unet_tutorial import metrics as M

GOAL_WARPING_S = 1.0
SLICES = (25, 26, 27, 28, 29)
REFERENCE = {"pixel_mismatch": 0.28, "rand": 0.39}


def best_time(fn: Callable[[], object], repeats: int) -> tuple[float, object]:
    """Best wall time (s) of ``repeats`` calls, and the last result."""
    best, out = float("inf"), None
    for _ in range(repeats):
        t0 = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t0)
    return best, out


def load_images(quick: bool) -> tuple[str, np.ndarray, np.ndarray]:
    """``(source, images float (N, H, W), labels bool (N, H, W))``, real if available."""
    if os.environ.get("UNET_TUTORIAL_DATA"):
        from unet_tutorial.data import load_isbi2012

        slices = load_isbi2012().select(list(SLICES[:1] if quick else SLICES))
        return ("ISBI 2012 train slices " + ", ".join(map(str, slices.ids)), np.stack(slices.images),
                np.stack(slices.masks) > 0)
    from unet_tutorial.data import synthetic_em

    pairs = [synthetic_em((512, 512), n_cells=250, seed=s) for s in range(1 if quick else 3)]
    images = np.stack([p[0] for p in pairs])
    labels = np.stack([p[1] for p in pairs]) > 0
    return f"SYNTHETIC EM-like images (synthetic_em, {len(pairs)} seeds)", images, labels


def otsu_proposal(image: np.ndarray, sigma: float = 1.0) -> np.ndarray:
    """Cells = pixels brighter than Otsu's threshold of the blurred image."""
    blurred = gaussian(image.astype(np.float64), sigma=sigma)
    return blurred > threshold_otsu(blurred)


def perturbed_proposal(label: np.ndarray, rng: np.random.Generator, n: int = 10) -> np.ndarray:
    """Cells eroded by 1 px, plus ``n`` random merges and ``n`` random splits."""
    cells, _ = ndi.label(label)
    pred = ndi.binary_erosion(label, ndi.generate_binary_structure(2, 1))
    # Merges: membrane pixels whose 5×5 window touches two cells get a disk.
    touch = ndi.maximum_filter(cells, 5) != ndi.minimum_filter(np.where(cells > 0, cells, 1 << 30), 5)
    bridges = np.argwhere(~label & touch)
    yy, xx = np.mgrid[-2:3, -2:3]
    disk = yy**2 + xx**2 <= 5
    for y, x in bridges[rng.choice(len(bridges), n, replace=False)]:
        ys, xs = y + yy[disk], x + xx[disk]
        ok = (ys >= 0) & (ys < label.shape[0]) & (xs >= 0) & (xs < label.shape[1])
        pred[ys[ok], xs[ok]] = True
    # Splits: cut a cell along a row through a deep interior pixel.
    depth = ndi.distance_transform_edt(label)
    deep = np.argwhere(depth > 6)
    for y, x in deep[rng.choice(len(deep), n, replace=False)]:
        cut = np.zeros_like(label)
        cut[y:y + 2] = cells[y:y + 2] == cells[y, x]
        pred &= ~cut
    return pred


def java_literal_warp(truth: np.ndarray, pred: np.ndarray) -> float:
    """Baseline: the Java ``simplePointWarp2d`` loop as written (binary proposal).

    Every pass lists all remaining mismatches in scan order (x, then y) and
    tests each one with the simple-point table; stops when a pass flips nothing.
    """
    h, w = truth.shape
    wp = w + 2
    lut = M.simple_point_table().tolist()
    padded = np.zeros((h + 2, wp), dtype=np.uint8)
    padded[1:-1, 1:-1] = truth
    target = np.zeros_like(padded)
    target[1:-1, 1:-1] = pred
    s = bytearray(padded.tobytes())
    offs = [dr * wp + dc for dr in (-1, 0, 1) for dc in (-1, 0, 1) if dr or dc]
    while True:
        cur = np.frombuffer(bytes(s), dtype=np.uint8).reshape(padded.shape)
        ys, xs = np.nonzero(cur != target)
        order = np.lexsort((ys, xs))
        flipped = 0
        for p in (ys[order] * wp + xs[order]).tolist():
            code = 0
            for k, o in enumerate(offs):
                code |= s[p + o] << k
            if lut[code]:
                s[p] ^= 1
                flipped += 1
        if flipped == 0:
            return len(ys) / (h * w)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="one image, one repeat")
    args = parser.parse_args()
    repeats = 1 if args.quick else 3
    source, images, labels = load_images(args.quick)
    rng = np.random.default_rng(0)
    print(f"# bench_metrics ({source}; {images.shape[-2]}×{images.shape[-1]})\n")

    # -- the Otsu baseline, checked against the course's reference numbers --------
    pix, rand = [], []
    for image, label in zip(images, labels):
        pred = otsu_proposal(image)
        pix.append(M.pixel_mismatch(pred, label))
        rand.append(M.rand_error(pred, label))
    print("## Otsu of the Gaussian-blurred image (σ = 1 px), mean over the images\n")
    print("| metric | ours | course reference (slices 25–29) |")
    print("| --- | --- | --- |")
    print(f"| pixel mismatch (1 − accuracy) | {np.mean(pix):.3f} | {REFERENCE['pixel_mismatch']:.2f} |")
    print(f"| Rand error | {np.mean(rand):.3f} | {REFERENCE['rand']:.2f} |\n")

    # -- timings on the first image -------------------------------------------------
    image, label = images[0], labels[0]
    cases = {"otsu": otsu_proposal(image), "perturbed": perturbed_proposal(label, rng)}
    rows = []
    runs = [(c, m) for c in cases for m in ("pixel_error", "pixel_mismatch", "iou", "rand", "warping",
                                            "warping_details")]
    for case, metric in tqdm(runs, desc="timing", leave=False):
        pred = cases[case]
        if metric in ("pixel_error", "pixel_mismatch"):  # 1 − F (the course's), 1 − accuracy
            fn = getattr(M, metric)
            t, v = best_time(lambda: fn(pred, label), repeats)
            rows.append((case, metric, t, v, "–", None, None))
        elif metric == "iou":
            t, v = best_time(lambda: M.iou(pred, label), repeats)
            rows.append((case, "iou", t, v, "–", None, None))
        elif metric == "rand":
            t, v = best_time(lambda: M.rand_error(pred, label), repeats)
            tb, vb = best_time(lambda: M.skimage_adapted_rand_error(pred, label), repeats)
            rows.append((case, "rand_error", t, v, f"skimage adapted_rand_error = {vb:.4f}", tb, None))
        elif metric == "warping":
            t, v = best_time(lambda: M.warping_error(pred, label), repeats)
            tb, vb = best_time(lambda: java_literal_warp(label, pred), 1)
            assert vb == v, (vb, v)  # the same warping, computed the literal way
            rows.append((case, "warping_error", t, v, "Java-literal pass loop", tb, t <= GOAL_WARPING_S))
        else:
            t, res = best_time(lambda: M.warping_details(pred, label), repeats)
            extra = f"splits {res.splits}, merges {res.merges}, holes {res.holes}"
            rows.append((case, "warping_details", t, res.error, extra, None, t <= GOAL_WARPING_S))

    print(f"## Time per 512×512 image (best of {repeats}); goal: warping ≤ {GOAL_WARPING_S:.0f} s\n")
    print("| proposal | metric | value | ours (s) | baseline | baseline (s) | speed-up | goal met |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- |")
    for case, name, t, v, base, tb, goal in rows:
        tb_s = f"{tb:.4f}" if tb is not None else "–"
        ratio = f"{tb / t:.1f}×" if tb is not None else "–"
        goal_s = "–" if goal is None else ("goal met" if goal else "NOT met")
        print(f"| {case} | {name} | {v:.5f} | {t:.4f} | {base} | {tb_s} | {ratio} | {goal_s} |")

    if not args.quick:
        prob = gaussian(image.astype(np.float64), sigma=1)
        prob = (prob - prob.min()) / (prob.max() - prob.min())
        t, res = best_time(lambda: M.threshold_sweep(prob, label, progress=False), 1)
        print("\n## Challenge protocol on one image: the blurred image as a cell probability\n")
        print(f"threshold_sweep, 10 thresholds, pixel + Rand + warping: {t:.1f} s\n")
        print(res.to_markdown())


if __name__ == "__main__":
    main()
