"""How an experiment's data is split and its models evaluated (the Table 1 protocol for ISBI 2012)."""

from __future__ import annotations

from typing import Callable, Sequence

import numpy as np
import torch

from ..model import UNet

__all__ = ["evaluate_isbi2012", "evaluate_ctc", "DATA", "eval_labels"]

# --------------------------------------------------------------------------
# Data and evaluation
# --------------------------------------------------------------------------


def _isbi_split(train_ids: Sequence[int], held_out: Sequence[int]):
    """:class:`~unet_tutorial.train.TrainData` of ISBI 2012 slices ``train_ids`` and ``held_out``."""
    from ..data import load_isbi2012
    from ..data import TrainData

    images, labels = load_isbi2012(split="train")
    bad = sorted((set(train_ids) | set(held_out)) - set(range(len(images))))
    if bad or set(train_ids) & set(held_out):
        raise ValueError(f"ISBI 2012 split: slices {bad} do not exist, or train and held-out overlap")
    return TrainData([images[i] for i in train_ids], [labels[i] for i in train_ids],
                     [images[i] for i in held_out], [labels[i] for i in held_out], name="isbi2012")


def evaluate_isbi2012(model: UNet, images: Sequence[np.ndarray], labels: Sequence[np.ndarray], *,
                      tta: bool = True, device: str | torch.device | None = None) -> dict[str, float]:
    """The Table 1 protocol on held-out slices: TTA, the challenge's 10 thresholds, each metric's best.

    The probability of "cell" (overlap-tile, averaged over the 8 flips/rotations
    when ``tta``) is thresholded at 0.0, 0.1, …, 0.9; counts are pooled over the
    slices; each error keeps its best threshold (§4, ``../shared/PAPER.md``).

    Args:
        model: the network; images: float ``(H, W)`` slices in [0, 1];
            labels: their ``(H, W)`` labels, 1 = cell.

    Returns:
        The leaderboard's conventions ``warping_splits_merges`` (splits and
        merges per pixel), ``rand`` (foreground-restricted Rand error),
        ``pixel_fscore`` (1 − F of the cell pixels), the others ``pixel``
        (1 − accuracy) and ``warping`` (Jain's, all mismatches), and for each
        ``<name>_threshold``.
    """
    from ..inference import predict_tiled
    from ..metrics import SWEEP_METRICS, threshold_sweep

    prob = np.stack([predict_tiled(model, im, tta=tta, device=device)[1] for im in images])
    truth = np.stack([np.asarray(lab) == 1 for lab in labels])
    sweep = threshold_sweep(prob, truth, metrics=SWEEP_METRICS, progress=False)
    out = {m: float(sweep.best[m]) for m in SWEEP_METRICS}
    out.update({f"{m}_threshold": float(sweep.best_threshold[m]) for m in SWEEP_METRICS})
    return out


def _ctc_u373_split(train_ids: Sequence[int], held_out: Sequence[int]):
    """PhC-U373 sequence 02 split by time: silver-truth labels of ``train_ids``, gold truth of ``held_out``.

    The training targets are the silver masks with separation borders (Fig. 3c);
    the held-out frames keep their gold instance labels in ``val_instances`` for SEG.
    """
    from ..data import TrainData, load_ctc
    from ..weights import separation_mask

    if set(train_ids) & set(held_out):
        raise ValueError("PhC-U373 split: train and held-out frames overlap")
    train = load_ctc("PhC-C2DH-U373", "02", truth="silver", frames=list(train_ids))
    gold = load_ctc("PhC-C2DH-U373", "02", truth="gold", frames=list(held_out))
    data = TrainData(list(train.images), [separation_mask(i) for i in train.instances], list(gold.images),
                     [separation_mask(i) for i in gold.instances], name="PhC-C2DH-U373/02")
    data.val_instances = list(gold.instances)
    data.val_frames = list(gold.frames)
    return data


def evaluate_ctc(model: UNet, images: Sequence[np.ndarray], instances: Sequence[np.ndarray], *,
                 tta: bool = True, device: str | torch.device | None = None,
                 frames: Sequence[int] | None = None) -> dict[str, float]:
    """Table 2's measure on held-out frames: SEG of the separated objects, and the foreground IoU.

    Objects come from :func:`unet_tutorial.inference.predict_instances` (threshold 0.5,
    the default speck size, TTA over the 8 flips/rotations when ``tta``). ``seg`` pools
    the per-object scores of all frames, as the challenge does; ``iou`` is the mean over
    frames of the foreground IoU (predicted objects vs labelled cells: unlabelled cells of
    a partial annotation count against it); ``seg_frameNNN``/``iou_frameNNN`` per frame.
    """
    from ..inference import predict_instances
    from ..metrics import iou, seg_score

    out: dict[str, float] = {}
    per_object, ious = [], []
    for k, (im, truth) in enumerate(zip(images, instances)):
        pred = predict_instances(model, im, tta=tta, device=device)
        scores = seg_score(pred, truth, per_object=True)
        per_object.append(scores)
        ious.append(iou(pred > 0, np.asarray(truth) > 0))
        tag = f"frame{frames[k]:03d}" if frames is not None else f"image{k}"
        out[f"seg_{tag}"], out[f"iou_{tag}"] = float(scores.mean()), float(ious[-1])
    out["seg"] = float(np.concatenate(per_object).mean())
    out["iou"] = float(np.mean(ious))
    return out


#: data set name → (split loader, evaluation), so that later data sets plug in. A split may
#: carry ``val_instances`` (instance labels of the held-out images): the evaluation gets
#: those instead of the binary ``val_labels``.
DATA: dict[str, tuple[Callable, Callable]] = {
    "isbi2012": (_isbi_split, evaluate_isbi2012),
    "ctc-u373": (_ctc_u373_split, evaluate_ctc),
}


def eval_labels(data):
    """What the evaluation of a split compares with: instance labels where the split has them."""
    return getattr(data, "val_instances", None) or data.val_labels


def _crop_for_smoke(data):
    """A tiny version of the split for the smoke test: a 96 px window of one held-out image, on a cell."""
    from ..data import TrainData

    lab = np.asarray(data.val_labels[0])
    ys, xs = np.nonzero(lab)
    y0 = int(min(max(ys[0] - 48, 0), max(lab.shape[0] - 96, 0))) if ys.size else 0
    x0 = int(min(max(xs[0] - 48, 0), max(lab.shape[1] - 96, 0))) if xs.size else 0
    win = (slice(y0, y0 + 96), slice(x0, x0 + 96))
    small = TrainData(data.images, data.labels, [data.val_images[0][win]], [lab[win]], name=data.name)
    if getattr(data, "val_instances", None):
        small.val_instances = [data.val_instances[0][win]]
    return small


