"""From probabilities to separated objects (§3, Eq. 2, Fig. 3): one label per cell.

A network trained on targets with separation borders (Fig. 3c,
:func:`unet_tutorial.weights.separation_mask`) predicts background in the thin
gap it was taught between touching cells. The objects are then the connected
components of the foreground — and each is thinner than the cell by the border
that the target carved. :func:`instances_from_probability` gives that border
back: a background pixel lying between two different objects — the sum of its
distances to the nearest and the second-nearest object, Eq. 2's ``d1 + d2``, at most
``gap + 1`` — joins the nearer one. Background that borders only one object (the
outline of an isolated cell) is left alone, so isolated cells do not grow. A real gap
of at most ``gap`` pixels between two cells is closed too: the network cannot tell it
from a carved one. Components smaller than ``min_size`` pixels
are removed first (speckle).
"""

from __future__ import annotations

import numpy as np
import torch
from scipy import ndimage as ndi
from torch import nn

from .._checks import check_instances, check_int, check_positive, check_probability
from ..protocol import model_protocol
from .tiled import predict_tiled

__all__ = ["DEFAULT_MIN_SIZE", "instances_from_probability", "fill_gaps", "objects_from", "predict_instances"]

#: Components smaller than this many pixels are removed by default (speckle).
DEFAULT_MIN_SIZE = 16

# 4-connectivity: two objects that touch only at a corner stay two objects.
_C4 = ndi.generate_binary_structure(2, 1)


def instances_from_probability(prob, threshold: float = 0.5, *, min_size: int = DEFAULT_MIN_SIZE,
                               gap: int = 2) -> np.ndarray:
    """Instance labels ``(H, W)`` int32 (0 = background) from a foreground probability ``(H, W)``.

    1. foreground = ``prob > threshold``; its 4-connected components are the objects;
    2. components of fewer than ``min_size`` pixels are removed;
    3. the carved separation borders are given back: every background pixel between
       two objects (``d1 + d2 <= gap + 1``, Euclidean distances to the nearest and the
       second-nearest object) joins the nearest one. ``separation_mask`` leaves a 2-px
       gap between two touching cells (1 px from each), which ``gap=2`` closes; 0 skips
       the step.

    Objects are numbered 1…n in raster order of their first pixel.

    Raises:
        ValueError: a probability map that is not ``(H, W)`` in [0, 1], a threshold
            outside [0, 1], or a negative ``min_size``/``gap``.
    """
    p = check_probability(prob, "prob")
    t = check_positive(threshold, "threshold", allow_zero=True)
    if t > 1:
        raise ValueError(f"threshold must be in [0, 1], got {threshold!r}")
    min_size = check_int(min_size, "min_size", minimum=0)
    gap = check_int(gap, "gap", minimum=0)
    labels, n = ndi.label(p > t, structure=_C4)
    if n and min_size > 1:
        sizes = np.bincount(labels.ravel())
        small = sizes < min_size
        small[0] = False
        labels[small[labels]] = 0
        labels, n = ndi.label(labels > 0, structure=_C4)
    if n > 1 and gap > 0:
        labels = _fill_gaps(labels, gap)
    return labels.astype(np.int32)


def fill_gaps(labels, gap: int = 2) -> np.ndarray:
    """Give the background pixels of gaps up to ``gap`` px wide between two objects to the nearer one.

    The last step of :func:`instances_from_probability` and of
    :func:`~unet_tutorial.since2015.instances_from_classes`: a separation mask (Fig. 3c)
    carves a 2-px gap between touching cells, which a prediction reproduces.

    Args:
        labels: int ``(H, W)`` object ids, 0 = background.
        gap: the widest gap to close [pixels], >= 0 (0: unchanged).

    Returns:
        The labels with those pixels filled (a copy).

    Raises:
        ValueError: ``labels`` not an instance label image, or a negative ``gap``.
    """
    lab = check_instances(labels, "labels")
    gap = check_int(gap, "gap", minimum=0)
    if gap == 0 or np.unique(lab).size <= 2:  # no gap, or fewer than two objects
        return lab.copy()
    return _fill_gaps(lab, gap)


def _fill_gaps(labels: np.ndarray, gap: int) -> np.ndarray:
    """Give each background pixel that lies *between* two objects to the nearer one.

    A background pixel at distance ``d1`` from its nearest object and ``d2`` from
    the nearest *other* object lies in a gap of width ``w`` exactly when
    ``d1 + d2 = w + 1`` along the line joining them (and more off that line), so
    ``d1 + d2 <= gap + 1`` selects the pixels of gaps up to ``gap`` px wide —
    the quantity ``d1 + d2`` of Eq. 2, computed by the same two-nearest-instance
    distance transform as the weight map.
    """
    from ..weights import two_nearest_sq

    limit = gap + 1
    d1_sq, d2_sq = two_nearest_sq(labels, float(limit))
    between = (labels == 0) & (np.sqrt(d1_sq) + np.sqrt(d2_sq) <= limit + 1e-9)
    if not between.any():
        return labels
    _, (rows, cols) = ndi.distance_transform_edt(labels == 0, return_indices=True)  # nearest object pixel
    out = labels.copy()
    out[between] = labels[rows[between], cols[between]]
    return out


def predict_instances(model: nn.Module, image, *, threshold: float | None = None, tta: bool | None = None,
                      min_size: int = DEFAULT_MIN_SIZE, gap: int = 2,
                      device: str | torch.device | None = None, **kwargs) -> np.ndarray:
    """Segment an image into separated objects: int32 labels ``(H, W)``, 0 = background.

    The foreground probability (class 1) comes from :func:`predict_tiled`
    (overlap-tile; ``tta`` averages the 8 flips/rotations of §4); the objects from
    :func:`instances_from_probability`. A model trained on the 3-class boundary target
    (its classes :data:`~unet_tutorial.since2015.BOUNDARY_CLASSES`) cuts them with
    :func:`~unet_tutorial.since2015.instances_from_classes` instead, ``threshold``
    then applying to the interior probability.

    Args:
        model: a U-Net with 2 classes (1 = foreground), or one of the boundary target.
        image: ``(H, W)`` or ``(C, H, W)``, as :func:`predict_tiled` takes it.
        threshold: foreground where the probability is above it; ``None`` = the
            threshold of the model's protocol (:class:`~unet_tutorial.protocol.Protocol`,
            read from its file by :func:`unet_tutorial.checkpoint.load_model`), else 0.5.
        tta: average the 8 flips/rotations; ``None`` = as the model's protocol says
            (a threshold chosen with TTA is used with TTA).
        min_size, gap: see :func:`instances_from_probability`.
        device, kwargs: passed to :func:`predict_tiled`.
    """
    protocol = model_protocol(model)
    if threshold is None:
        threshold = 0.5 if protocol.threshold is None else protocol.threshold
    if tta is None:
        tta = protocol.tta
    probs = predict_tiled(model, image, tta=tta, device=device, **kwargs)
    return objects_from(model)(probs, threshold, min_size=min_size, gap=gap)


def objects_from(model: nn.Module):
    """How ``model``'s objects are cut from its ``(K, H, W)`` probabilities: ``(probs, threshold, *,
    min_size, gap) → int32 labels``.

    The paper's 2-class model: foreground above the threshold, its connected components
    (:func:`instances_from_probability` of ``probs[1]``); a model of the 3-class boundary
    target (its protocol names :data:`~unet_tutorial.since2015.BOUNDARY_CLASSES`): interior
    seeds above the threshold grown by a watershed
    (:func:`~unet_tutorial.since2015.instances_from_classes`). The one place that decides:
    :func:`predict_instances`, ``predict --instances`` and the experiments' evaluation use it.
    """
    from ..since2015 import instances_from_classes, predicts_boundaries

    if predicts_boundaries(model):
        return instances_from_classes

    def components(probs, threshold: float = 0.5, *, min_size: int = DEFAULT_MIN_SIZE, gap: int = 2):
        return instances_from_probability(probs[1], threshold, min_size=min_size, gap=gap)

    return components
