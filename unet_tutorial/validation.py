"""Validation of a training run: whole held-out images predicted (overlap-tile, Fig. 2) and scored.

- :func:`evaluate`: the ISBI conventions for a 2-class network (the course's pixel error
  ``1 − F``, the Rand error, the IoU; with the challenge's 10-threshold sweep on demand);
- :func:`evaluate_classes`: per-class IoU of a K-class network;
- :func:`predict_probabilities`: the cell probabilities of whole images.

The training loop (:mod:`unet_tutorial.train`) calls :func:`evaluate` unless it is given
its own ``evaluate_fn``; the names are those of the metric registry
(:mod:`unet_tutorial.metrics.registry`).
"""

from __future__ import annotations

from typing import Sequence

import numpy as np
import torch

from .model import UNet

__all__ = ["predict_probabilities", "evaluate", "evaluate_classes"]


# --------------------------------------------------------------------------
# Validation
# --------------------------------------------------------------------------


def predict_probabilities(
    model: UNet,
    images: Sequence[np.ndarray],
    *,
    tta: bool = False,
    device: str | torch.device | None = None,
    tile_size: int | None = None,
) -> np.ndarray | list[np.ndarray]:
    """Cell probabilities ``p_1(x)`` of whole images, float32 ``(N, H, W)`` (overlap-tile, Fig. 2).

    Uses :func:`unet_tutorial.inference.predict_tiled` on each image; ``tta``
    averages the 8 flips/rotations (§4: "averaged over 7 rotated versions").
    Images of different sizes (a folder of your own) give a list of ``(H_i, W_i)`` maps.
    """
    from .inference import predict_tiled

    probs = [predict_tiled(model, im, tile_size=tile_size, tta=tta, device=device)[1] for im in images]
    return np.stack(probs) if len({p.shape for p in probs}) == 1 else probs


def evaluate(
    model: UNet,
    images: Sequence[np.ndarray],
    labels: Sequence[np.ndarray],
    *,
    tta: bool = False,
    threshold: float = 0.5,
    sweep: bool = False,
    device: str | torch.device | None = None,
    tile_size: int | None = None,
) -> dict[str, float]:
    """Metrics of whole-image predictions on held-out images, as the ISBI challenge scores a stack (§4).

    Each image is segmented with the overlap-tile strategy
    (:func:`predict_probabilities`); a pixel is "cell" when ``p_cell > threshold``.
    Counts are pooled over the images (:func:`unet_tutorial.metrics.threshold_sweep`).

    Returns:
        Under the names of the metric registry (:mod:`unet_tutorial.metrics.registry`):
        ``pixel_error`` (the course's pixel error, the leaderboard's: ``1 −`` the
        F-score of the cell pixels, :func:`~unet_tutorial.metrics.pixel_error`),
        ``rand`` (the ISBI foreground-restricted Rand error) and ``iou`` (Jaccard
        index of the cells, class 1, mean over images) at ``threshold``. With
        ``sweep`` also ``pixel_error_best``/``rand_best``: the best over the
        challenge's 10 thresholds 0.0, 0.1, …, 0.9 (Table 1's convention), and the
        thresholds reaching them (``pixel_error_threshold``, ``rand_threshold``).
    """
    from .metrics import iou, threshold_sweep

    if len(images) == 0 or len(images) != len(labels):
        raise ValueError(f"evaluate() needs as many labels as images (>= 1), got {len(images)} and {len(labels)}")
    if model.num_classes > 2:
        return evaluate_classes(model, images, labels, tta=tta, device=device, tile_size=tile_size)
    prob = predict_probabilities(model, images, tta=tta, device=device, tile_size=tile_size)
    truth = [np.asarray(lab) == 1 for lab in labels]
    truth = np.stack(truth) if isinstance(prob, np.ndarray) else truth
    metrics = ("pixel_error", "rand")
    at = threshold_sweep(prob, truth, thresholds=[threshold], metrics=metrics, progress=False)
    out = {m: float(at.best[m]) for m in metrics}
    out["iou"] = float(np.mean([iou(p > threshold, t) for p, t in zip(prob, truth)]))
    if sweep:
        sw = threshold_sweep(prob, truth, metrics=metrics, progress=False)
        out.update({f"{m}_best": float(sw.best[m]) for m in metrics})
        out.update({f"{m}_threshold": float(sw.best_threshold[m]) for m in metrics})
    return out


def evaluate_classes(model: UNet, images: Sequence[np.ndarray], labels: Sequence[np.ndarray], *,
                     tta: bool = False, device: str | torch.device | None = None,
                     tile_size: int | None = None) -> dict[str, float]:
    """Per-class IoU of a K-class network on held-out images: the label map is the most probable class.

    Returns:
        ``iou_<class name>`` for every class (pooled over the images:
        :func:`unet_tutorial.metrics.class_iou`; a class absent from both truth and
        prediction is left out) and ``miou``, their mean over the classes that are not background.
    """
    from .inference import predict_tiled
    from .metrics import class_iou
    from .protocol import default_class_names, model_protocol

    k = model.num_classes
    preds = [predict_tiled(model, im, tile_size=tile_size, tta=tta, device=device).argmax(0) for im in images]
    ious = class_iou(preds, [np.asarray(lab) for lab in labels], k)
    names = model_protocol(model).class_names
    names = names if len(names) == k else default_class_names(k)
    out = {f"iou_{names[c].replace(' ', '_')}": float(ious[c]) for c in range(k) if np.isfinite(ious[c])}
    out["miou"] = float(np.nanmean(ious[1:])) if np.isfinite(ious[1:]).any() else float("nan")
    return out
