"""The Rand error of the ISBI 2012 challenge, and scikit-image's for comparison.

The second of the three errors of the challenge (paper §4, Table 1): the
*foreground-restricted* Rand error with N² normalisation, as the challenge's
reference code computes it (Fiji's
``RandError.getForegroundRestrictedRandIndexStatsN2``): ``1 −`` the F-score of
the Rand precision and recall, cells labelled with 4-connectivity. The
challenge reported the best (lowest) value over its 10 thresholds 0.0, 0.1,
…, 0.9 (:func:`unet_tutorial.metrics.threshold_sweep`, ``"rand"``).

Rand error vs. :func:`skimage.metrics.adapted_rand_error`
---------------------------------------------------------
scikit-image's "adapted Rand error" has the same name in the literature but is
not the challenge's number: (1) it treats the proposal's label 0 (its membrane
pixels) as *one* segment, whereas the challenge counts every proposal
background pixel inside a ground-truth cell as a singleton, (2) it drops the
self-pairs (``n(n−1)`` normalisation instead of ``n²``), and (3) what it calls
*precision* is ``ΣAB/ΣA`` (the challenge's *recall*) and vice versa. Use
:func:`skimage_adapted_rand_error` to get scikit-image's value on the same
4-connected labelling for comparison.

References
----------
.. [1] W. M. Rand, "Objective criteria for the evaluation of clustering
       methods", J. Am. Stat. Assoc. 66(336):846–850, 1971.
.. [2] I. Arganda-Carreras et al., "Crowdsourcing the creation of image
       segmentation algorithms for connectomics", Frontiers in Neuroanatomy 9:142,
       2015. doi:10.3389/fnana.2015.00142
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from skimage.metrics import adapted_rand_error

from ._common import f_score, label4, mask_pair
from .registry import Metric, Thresholded, register_metric

__all__ = ["RandScores", "rand_scores", "rand_error", "skimage_adapted_rand_error"]


@dataclass(frozen=True)
class RandScores:
    """Foreground-restricted Rand statistics with N² normalisation.

    Only the pixels inside ground-truth cells count (``n`` of them). ``ΣA`` is
    the number of ordered pixel pairs (self-pairs included) in the same
    ground-truth cell, ``ΣB`` the number in the same proposal cell – a proposal
    membrane pixel is a singleton, paired only with itself – and ``ΣAB`` the
    number in the same cell in both.

    Attributes
    ----------
    error : float
        ``1 − F`` with ``F = 2·precision·recall / (precision + recall)
        = 2ΣAB / (ΣA + ΣB)``; the challenge's Rand error (at one threshold).
    precision : float
        ``ΣAB / ΣB``; merges of ground-truth cells lower it.
    recall : float
        ``ΣAB / ΣA``; splits of ground-truth cells lower it.
    sum_a, sum_b, sum_ab : int
        ``ΣA``, ``ΣB``, ``ΣAB`` (pairs).
    """

    error: float
    precision: float
    recall: float
    sum_a: int
    sum_b: int
    sum_ab: int


def rand_sums(p: np.ndarray, t: np.ndarray) -> tuple[int, int, int]:
    """``(ΣA, ΣB, ΣAB)`` of validated masks; all 0 when ``truth`` has no cell."""
    a, _ = label4(t)
    b, nb = label4(p)
    inside = a > 0
    ai = a[inside].astype(np.int64)
    if ai.size == 0:
        return 0, 0, 0
    bi = b[inside].astype(np.int64)
    on = bi > 0
    # Proposal membrane pixels inside truth cells: each one a singleton pair.
    n0 = int(ai.size - np.count_nonzero(on))
    sum_a = int(np.sum(np.bincount(ai) ** 2))
    sum_b = int(np.sum(np.bincount(bi[on]) ** 2)) + n0
    # Sparse contingency table p_ij (i, j >= 1) through unique pair keys.
    _, c_ij = np.unique(ai[on] * (nb + 1) + bi[on], return_counts=True)
    sum_ab = int(np.sum(c_ij.astype(np.int64) ** 2)) + n0
    return sum_a, sum_b, sum_ab


def rand_from_sums(sum_a: int, sum_b: int, sum_ab: int) -> RandScores:
    """Precision, recall and error from pair counts (``ClassificationStatistics``)."""
    precision, recall, f = f_score(sum_ab, sum_b - sum_ab, sum_a - sum_ab)
    return RandScores(error=1.0 - f, precision=precision, recall=recall,
                      sum_a=sum_a, sum_b=sum_b, sum_ab=sum_ab)


def rand_scores(pred: np.ndarray, truth: np.ndarray) -> RandScores:
    """Foreground-restricted Rand error with its precision and recall (§4).

    ``RandError.getForegroundRestrictedRandIndexStatsN2`` of the challenge:
    label the 4-connected cells of the ground truth (A, membrane = 0) and of
    the proposal (B, membrane = 0); keep only the ``n`` pixels with A > 0; with
    the contingency counts ``p_ij`` (A = i ≥ 1, B = j ≥ 0)::

        ΣA  = Σ_i (Σ_j p_ij)²
        ΣB  = Σ_{j≥1} (Σ_i p_ij)² + Σ_i p_i0
        ΣAB = Σ_{i, j≥1} p_ij²     + Σ_i p_i0

    precision = ΣAB/ΣB, recall = ΣAB/ΣA, error = 1 − 2PR/(P + R). The sums are
    built with ``np.bincount`` and ``np.unique`` on pair keys (a sparse
    contingency table), a few ms for 512×512.

    Parameters
    ----------
    pred : ndarray of bool or {0, 1}, shape (H, W)
        Proposal (1 = cell).
    truth : ndarray of bool or {0, 1}, shape (H, W)
        Ground truth.

    Returns
    -------
    scores : RandScores

    Raises
    ------
    ValueError
        Invalid masks (see :func:`unet_tutorial.metrics.pixel_error`), or a
        ground truth without any cell pixel (the foreground-restricted index is 0/0).

    References
    ----------
    .. [1] W. M. Rand, "Objective criteria for the evaluation of clustering
           methods", J. Am. Stat. Assoc. 66(336):846–850, 1971.
    .. [2] I. Arganda-Carreras et al., "Crowdsourcing the creation of image
           segmentation algorithms for connectomics", Front. Neuroanat. 9:142, 2015.
    """
    p, t = mask_pair(pred, truth)
    sums = rand_sums(p, t)
    if sums[0] == 0:
        raise ValueError("truth has no cell pixel: the foreground-restricted Rand error is undefined")
    return rand_from_sums(*sums)


def rand_error(pred: np.ndarray, truth: np.ndarray) -> float:
    """Foreground-restricted Rand error, ``rand_scores(pred, truth).error``.

    See :func:`rand_scores` for the definition and :mod:`unet_tutorial.metrics.rand`
    for how it differs from :func:`skimage.metrics.adapted_rand_error`.
    Not symmetric: the ground truth's membrane is left out, the proposal's is not.

    Parameters
    ----------
    pred : ndarray of bool or {0, 1}, shape (H, W)
        Proposal (1 = cell).
    truth : ndarray of bool or {0, 1}, shape (H, W)
        Ground truth; it needs a cell pixel.

    Returns
    -------
    error : float
        In ``[0, 1]``; 0 means the same cells.
    """
    return rand_scores(pred, truth).error


def skimage_adapted_rand_error(pred: np.ndarray, truth: np.ndarray) -> float:
    """scikit-image's adapted Rand error on the same 4-connected labelling.

    Recipe: label the cells of both masks with 4-connectivity and call
    ``skimage.metrics.adapted_rand_error(truth_labels, pred_labels)`` (its
    default ``ignore_labels=(0,)`` drops the ground-truth membrane, as the
    challenge does). It is *not* the challenge's value (see the module
    docstring): the proposal membrane is one segment and self-pairs are dropped.

    Parameters
    ----------
    pred : ndarray of bool or {0, 1}, shape (H, W)
        Proposal (1 = cell).
    truth : ndarray of bool or {0, 1}, shape (H, W)
        Ground truth; it needs a cell pixel.

    Returns
    -------
    are : float
        The first value returned by scikit-image.

    Raises
    ------
    ValueError
        Invalid masks, or a ground truth without any cell pixel.
    """
    p, t = mask_pair(pred, truth)
    if not t.any():
        raise ValueError("truth has no cell pixel: the adapted Rand error is undefined")
    are, _, _ = adapted_rand_error(label4(t)[0], label4(p)[0])
    return float(are)


def _rand_counts(t: Thresholded) -> dict[str, float]:
    sa, sb, sab = rand_sums(t.pred, t.truth)
    return {"sa": sa, "sb": sb, "sab": sab}


def _rand_from_counts(c, n: int) -> float:
    if c["sa"] == 0:
        raise ValueError("truth has no cell pixel: the foreground-restricted Rand error is undefined")
    return rand_from_sums(c["sa"], c["sb"], c["sab"]).error


register_metric(Metric(
    "rand", "the leaderboard's Rand error: 1 - the F-score of the foreground-restricted Rand index",
    counts=_rand_counts, from_counts=_rand_from_counts))
