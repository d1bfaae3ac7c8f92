"""Private helpers shared by the metric modules (not part of the public API).

- :func:`mask_pair`: the input check of every metric, a proposal and a ground
  truth in the ISBI convention (1 = cell, 0 = membrane), through the package's
  one validator :func:`unet_tutorial._checks.check_binary`.
- :func:`label4`, ``C4``, ``C8``: the 4-connected labelling of cells used
  throughout the challenge's Fiji code, and the two connectivities.
- :func:`f_score`: precision, recall and F-score as Fiji's
  ``ClassificationStatistics`` forms them (pixel and Rand scores, §4).
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage as ndi

from .._checks import check_binary

#: Appended to the messages of :func:`~unet_tutorial._checks.check_binary` for metric inputs.
MASK_HINT = "; ISBI convention: 1 = cell, 0 = membrane"

# 4-connectivity (the cross) and 8-connectivity for scipy.ndimage.label.
C4 = ndi.generate_binary_structure(2, 1)
C8 = ndi.generate_binary_structure(2, 2)


def mask_pair(pred, truth) -> tuple[np.ndarray, np.ndarray]:
    """Validate a proposal and a ground truth of the same shape ``(H, W)``.

    Parameters
    ----------
    pred, truth : array_like
        Binary masks ``(H, W)``: bool, or integers holding only 0 and 1.

    Returns
    -------
    pred, truth : ndarray of bool
        The two masks as bool arrays.

    Raises
    ------
    ValueError
        As :func:`unet_tutorial._checks.check_binary` (not 2-D, empty, a float
        dtype, values other than 0/1), or masks of different shapes.
    """
    p = check_binary(pred, "pred", hint=MASK_HINT)
    t = check_binary(truth, "truth", hint=MASK_HINT)
    if p.shape != t.shape:
        raise ValueError(f"pred and truth must have the same shape, got {p.shape} and {t.shape}")
    return p, t


def label4(mask: np.ndarray) -> tuple[np.ndarray, int]:
    """4-connected components of a mask (0 = background), as the Java code labels cells."""
    lab, n = ndi.label(mask, structure=C4)
    return lab, int(n)


def f_score(tp: float, fp: float, fn: float) -> tuple[float, float, float]:
    """Precision, recall and F-score as ``ClassificationStatistics`` defines them.

    No false positives means precision 1 and no false negatives recall 1 (even
    when there is no positive at all); F is 0 when precision + recall is 0.
    """
    precision = 1.0 if fp == 0 else tp / (tp + fp)
    recall = 1.0 if fn == 0 else tp / (tp + fn)
    f = 2.0 * precision * recall / (precision + recall) if precision + recall > 0 else 0.0
    return precision, recall, f
