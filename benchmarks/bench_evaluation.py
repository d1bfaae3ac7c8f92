"""Benchmark: one DSB 2018 evaluation (202 images) before and after batched, timed tiling.

``evaluate_dsb2018`` of the ``dsb2018-nuclei`` model on its recorded split: the
threshold chosen on the 57 validation images, the 145 held-out images scored at
it (the work of every DSB run of the experiments). Two ways, in one run, on the
same machine, in float32 (as the records are):

- **before** (the course until issue 23): every image predicted on its own by
  :func:`~unet_tutorial.inference.predict_tiled` at the tile size of fewest FLOPs
  (:func:`~unet_tutorial.inference.choose_tile_size`), the tiles of one transform's
  plan per batch, the 8 transforms of test-time augmentation one after the other;
- **after**: :func:`~unet_tutorial.experiments.evaluation.evaluate_dsb2018` as it
  is: :func:`~unet_tutorial.inference.predict_tiled_many` (tiles of many images in
  one batch, the tile size timed on this machine).

Both use test-time augmentation, as the record was scored (``evaluation.tta``), and
must give the same metrics (the valid network's tiling is exact); the
benchmark prints the time of each part (prediction, objects and scores) and ends
with one line: ``dsb evaluation: before X s, after Y s, Z.ZZ×``.

Run: ``UNET_TUTORIAL_DATA=... python benchmarks/bench_evaluation.py`` (needs the
DSB 2018 images and ``results/dsb2018-nuclei``).
"""

from __future__ import annotations

import time

import numpy as np
import torch

from unet_tutorial.experiments import load_record, load_result_model
from unet_tutorial.experiments.evaluation import DATA, DSB_THRESHOLD_SWEEP, choose_threshold, nuclei_metrics
from unet_tutorial.hardware import cpu_features, cpu_model
from unet_tutorial.inference import (DIHEDRAL, choose_tile_size, dihedral, dihedral_inverse, instances_from_probability,
                                     plan_tiles, predict_tiled, predict_tiled_many)


def _one_image(model, image, tta: bool):
    """Foreground probability as before: fewest-FLOP tiles, one transform's tiles per batch."""
    s = choose_tile_size(model, image.shape)
    h, w = image.shape[-2:]
    n = max(plan_tiles(model, h, w, s).num_tiles, plan_tiles(model, w, h, s).num_tiles)
    if not tta:
        return predict_tiled(model, image, tile_size=s, batch_size=n)[1]
    out = 0
    for k, flip in DIHEDRAL:  # the transforms one after the other
        t = dihedral(torch.from_numpy(image), k, flip).numpy()
        out = out + dihedral_inverse(torch.from_numpy(predict_tiled(model, t, tile_size=s, batch_size=n)), k,
                                     flip).numpy()
    return out[1] / len(DIHEDRAL)


def before(model, data, tta: bool) -> tuple[dict[str, float], float]:
    """The evaluation as the course ran it before issue 23; returns metrics and prediction seconds."""
    t0 = time.perf_counter()
    val = [_one_image(model, im, tta) for im in data.validation.images]
    test = [_one_image(model, im, tta) for im in data.held_out.images]
    seconds = time.perf_counter() - t0
    threshold = choose_threshold(val, data.validation.instances, DSB_THRESHOLD_SWEEP, score="dsb")
    preds = [instances_from_probability(p, threshold) for p in test]
    return {**nuclei_metrics(preds, list(data.held_out.instances)), "threshold": threshold}, seconds


def main() -> None:
    torch.manual_seed(0)
    rec = load_record("dsb2018-nuclei")
    model = load_result_model("dsb2018-nuclei")
    proto = DATA["dsb2018"]
    data = proto.split(rec["split"]["train"], rec["split"]["held_out"], rec["split"].get("validation", ()))
    n = len(data.validation) + len(data.held_out)
    flags = cpu_features()
    print(f"\nCPU: {cpu_model()} ({torch.get_num_threads()} threads; avx512_bf16 "
          f"{'yes' if 'avx512_bf16' in flags else 'no'}); torch {torch.__version__}; float32")
    predict_tiled(model, data.held_out.images[0])  # warm-up: oneDNN primitives, the memory trace

    tta = bool(rec["evaluation"]["tta"])
    t0 = time.perf_counter()
    old, old_predict = before(model, data, tta)
    old_total = time.perf_counter() - t0
    t0 = time.perf_counter()
    new = proto.evaluate(model, data, tta=tta, device="cpu")
    new_total = time.perf_counter() - t0
    t0 = time.perf_counter()  # the prediction part of 'after', on its own
    predict_tiled_many(model, [*data.validation.images, *data.held_out.images], tta=tta)
    new_predict = time.perf_counter() - t0

    worst = max(abs(old[k] - new[k]) for k in old)
    print(f"\nDSB 2018 evaluation of dsb2018-nuclei: {n} images ({len(data.validation)} validation, "
          f"{len(data.held_out)} held out), TTA {'on' if tta else 'off'} (as recorded)\n")
    print("| way | total (s) | prediction (s) | DSB score | threshold |")
    print("| --- | ---: | ---: | ---: | ---: |")
    print(f"| before: one image at a time, fewest-FLOP tiles | {old_total:.1f} | {old_predict:.1f} "
          f"| {old['dsb']:.4f} | {old['threshold']:.2f} |")
    print(f"| after: predict_tiled_many, timed tiles | {new_total:.1f} | {new_predict:.1f} | {new['dsb']:.4f} | "
          f"{new['threshold']:.2f} |")
    print(f"\nlargest metric difference: {worst:.2g} ({'same' if worst <= 1e-6 else 'DIFFERENT'} results)")
    print(f"dsb evaluation: before {old_total:.0f} s, after {new_total:.0f} s, {old_total / new_total:.2f}×")
    if not np.isfinite(worst) or worst > 1e-3:
        raise SystemExit("the two evaluations disagree")


if __name__ == "__main__":
    main()
