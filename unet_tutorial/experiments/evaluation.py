"""How an experiment's data is split and its models evaluated (the Table 1 protocol for ISBI 2012)."""

from __future__ import annotations

from typing import Callable, Sequence

import numpy as np
import torch

from ..model import UNet

__all__ = ["evaluate_isbi2012", "DATA"]

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


#: data set name → (split loader, evaluation), so that later data sets plug in.
DATA: dict[str, tuple[Callable, Callable]] = {"isbi2012": (_isbi_split, evaluate_isbi2012)}


def _crop_for_smoke(data):
    """A tiny version of the split for the smoke test: 96 px corners of one held-out image."""
    from ..data import TrainData

    return TrainData(data.images, data.labels, [data.val_images[0][:96, :96]],
                     [data.val_labels[0][:96, :96]], name=data.name)


