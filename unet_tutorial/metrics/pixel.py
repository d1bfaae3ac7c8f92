"""Pixel error, pixel precision / recall / F-score, and the IoU.

The pixel error is the first of the three errors of the ISBI 2012 EM
segmentation challenge (paper §4, Table 1), computed as the challenge's
reference code does (Fiji's ``trainableSegmentation/metrics/PixelError.java``,
cell pixels = the positive class). The IoU is the measure of the ISBI 2015 cell
tracking results (paper §4, Table 2).

The course's *pixel error* is the leaderboard's (the glossary, chapter 6): ``1 −``
the maximal F-score of the cell pixels over the challenge's 10 thresholds 0.0, 0.1,
…, 0.9 (:attr:`PixelScores.fscore_error` at one threshold, ``"pixel_fscore"`` in
:func:`unet_tutorial.metrics.threshold_sweep` for the best over the thresholds).
:func:`pixel_error` computes the older textbook definition, ``1 −`` accuracy
(``PixelError.getMetricValue``), which chapter 6 shows once for comparison: it
gives other numbers and must not be set beside Table 1's.

References
----------
.. [1] O. Ronneberger, P. Fischer, T. Brox, "U-Net: Convolutional networks for
       biomedical image segmentation", MICCAI 2015, LNCS 9351, pp. 234–241.
.. [2] I. Arganda-Carreras et al., "Crowdsourcing the creation of image
       segmentation algorithms for connectomics", Frontiers in Neuroanatomy 9:142,
       2015. doi:10.3389/fnana.2015.00142
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ._common import f_score, mask_pair
from .registry import Metric, Thresholded, register_metric

__all__ = ["pixel_error", "PixelScores", "pixel_scores", "iou", "class_iou"]


def pixel_error(pred: np.ndarray, truth: np.ndarray) -> float:
    """Pixel error: ``1 −`` the fraction of pixels whose label matches (§4).

    ``PixelError.getMetricValue`` of the challenge code: the mean squared
    difference of the two binary masks.

    Parameters
    ----------
    pred : ndarray of bool or {0, 1}, shape (H, W)
        Proposal (1 = cell).
    truth : ndarray of bool or {0, 1}, shape (H, W)
        Ground truth.

    Returns
    -------
    error : float
        In ``[0, 1]``; 0 means identical masks.

    Raises
    ------
    ValueError
        Non-binary masks, not 2-D, empty or of different shapes.

    References
    ----------
    .. [1] I. Arganda-Carreras et al., "Crowdsourcing the creation of image
           segmentation algorithms for connectomics", Front. Neuroanat. 9:142, 2015.
    """
    p, t = mask_pair(pred, truth)
    return float(np.count_nonzero(p != t)) / p.size


@dataclass(frozen=True)
class PixelScores:
    """Pixel statistics of a proposal, cell pixels counted as positives.

    Attributes
    ----------
    error : float
        ``1 −`` accuracy, as :func:`pixel_error`.
    precision : float
        ``tp / (tp + fp)`` (1 when there is no false positive).
    recall : float
        ``tp / (tp + fn)`` (1 when there is no false negative).
    fscore_error : float
        ``1 −`` the F-score: the challenge leaderboard's "pixel error" (after
        taking the best threshold).
    """

    error: float
    precision: float
    recall: float
    fscore_error: float


def pixel_counts(p: np.ndarray, t: np.ndarray) -> tuple[int, int, int, int]:
    """``(tp, fp, fn, n_pixels)`` with cell pixels as the positive class."""
    tp = int(np.count_nonzero(p & t))
    fp = int(np.count_nonzero(p & ~t))
    fn = int(np.count_nonzero(~p & t))
    return tp, fp, fn, p.size


def pixel_scores(pred: np.ndarray, truth: np.ndarray) -> PixelScores:
    """Pixel error, precision, recall and ``1 − F`` of the cell pixels.

    ``PixelError.precisionRecallStats``: cell (1) is the positive class; the
    challenge ranked by ``1 −`` the best F-score over thresholds.

    Parameters
    ----------
    pred : ndarray of bool or {0, 1}, shape (H, W)
        Proposal (1 = cell).
    truth : ndarray of bool or {0, 1}, shape (H, W)
        Ground truth.

    Returns
    -------
    scores : PixelScores

    Raises
    ------
    ValueError
        As :func:`pixel_error`.

    References
    ----------
    .. [1] I. Arganda-Carreras et al., "Crowdsourcing the creation of image
           segmentation algorithms for connectomics", Front. Neuroanat. 9:142, 2015.
    """
    p, t = mask_pair(pred, truth)
    tp, fp, fn, n = pixel_counts(p, t)
    precision, recall, f = f_score(tp, fp, fn)
    return PixelScores(error=(fp + fn) / n, precision=precision, recall=recall,
                       fscore_error=1.0 - f)


def iou(pred: np.ndarray, truth: np.ndarray) -> float:
    """Intersection over union (Jaccard index) of the cell pixels (Table 2).

    ``|P ∩ G| / |P ∪ G|`` with P, G the pixels equal to 1. Symmetric in its
    arguments. When neither mask has a cell pixel the two masks agree
    everywhere, so the IoU is defined as 1.0 (not 0/0).

    Parameters
    ----------
    pred : ndarray of bool or {0, 1}, shape (H, W)
        Proposal (1 = cell / object).
    truth : ndarray of bool or {0, 1}, shape (H, W)
        Ground truth.

    Returns
    -------
    iou : float
        In ``[0, 1]``; 1 means identical foregrounds.

    Raises
    ------
    ValueError
        As :func:`pixel_error`.

    References
    ----------
    .. [1] P. Jaccard, "The distribution of the flora in the alpine zone",
           New Phytologist 11(2):37–50, 1912.
    .. [2] O. Ronneberger, P. Fischer, T. Brox, "U-Net: Convolutional networks
           for biomedical image segmentation", MICCAI 2015 (Table 2).
    """
    p, t = mask_pair(pred, truth)
    union = np.count_nonzero(p | t)
    if union == 0:
        return 1.0
    return float(np.count_nonzero(p & t)) / union


def class_iou(preds, truths, num_classes: int) -> np.ndarray:
    """IoU (Jaccard index) of every class of K-class label maps, counts pooled over the images.

    Parameters
    ----------
    preds, truths : ndarray of int, shape (H, W), or sequences of them (pairwise the same shape)
        Class labels ``0..num_classes − 1``.
    num_classes : int
        ``K >= 2``.

    Returns
    -------
    iou : ndarray of float, shape (K,)
        ``|pred_k ∩ truth_k| / |pred_k ∪ truth_k|`` per class; NaN for a class in
        neither (no evidence either way).

    Raises
    ------
    ValueError
        Different numbers or shapes of maps, or labels outside ``0..K − 1``.
    """
    from .._checks import check_class_labels

    if isinstance(preds, np.ndarray) and preds.ndim == 2:
        preds, truths = [preds], [truths]
    preds, truths = list(preds), list(truths)
    if len(preds) != len(truths) or not preds:
        raise ValueError(f"need as many predictions as truths (>= 1), got {len(preds)} and {len(truths)}")
    inter = np.zeros(num_classes)
    union = np.zeros(num_classes)
    for i, (p, t) in enumerate(zip(preds, truths)):
        p = check_class_labels(p, num_classes, f"preds[{i}]")
        t = check_class_labels(t, num_classes, f"truths[{i}]")
        if p.shape != t.shape:
            raise ValueError(f"preds[{i}] has shape {p.shape}, truths[{i}] {t.shape}: they must match")
        inter += np.bincount(t[p == t].ravel(), minlength=num_classes)
        union += np.bincount(p.ravel(), minlength=num_classes) + np.bincount(t.ravel(), minlength=num_classes)
    union -= inter
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(union > 0, inter / np.maximum(union, 1), np.nan)


# --------------------------------------------------------------------------
# Registered for the threshold sweep (one name, one meaning: see .registry)
# --------------------------------------------------------------------------


def _pixel_counts(t: Thresholded) -> dict[str, float]:
    tp, fp, fn, _ = t.shared("pixel_counts", lambda x: pixel_counts(x.pred, x.truth))
    return {"tp": tp, "fp": fp, "fn": fn}


register_metric(Metric(
    "pixel_fscore", "the course's pixel error, the leaderboard's: 1 - the F-score of the cell pixels",
    counts=_pixel_counts, from_counts=lambda c, n: 1.0 - f_score(c["tp"], c["fp"], c["fn"])[2]))
register_metric(Metric(
    "pixel", "the other pixel error convention: 1 - accuracy, the fraction of mislabelled pixels "
    "(pixel_error())", counts=_pixel_counts, from_counts=lambda c, n: (c["fp"] + c["fn"]) / n))
