"""The two pixel errors (the course's ``1 − F`` and ``1 −`` accuracy), precision / recall, and the IoU.

The pixel error is the first of the three errors of the ISBI 2012 EM
segmentation challenge (paper §4, Table 1), computed as the challenge's
reference code does (Fiji's ``trainableSegmentation/metrics/PixelError.java``,
cell pixels = the positive class). The IoU is the measure of the ISBI 2015 cell
tracking results (paper §4, Table 2).

Two conventions, two names (each registered once, beside its definition, in
:data:`unet_tutorial.metrics.METRICS`):

* ``pixel_error`` (:func:`pixel_error`) – the course's pixel error, the one of the
  challenge's leaderboard and of Table 1 (``../shared/PAPER.md``, "Metrics"): ``1 −``
  the F-score of the cell pixels. The leaderboard reports its best over the
  challenge's 10 thresholds 0.0, 0.1, …, 0.9 (``threshold_sweep(...).best["pixel_error"]``).
* ``pixel_mismatch`` (:func:`pixel_mismatch`) – the older textbook definition,
  ``1 −`` accuracy, the fraction of pixels whose label is wrong
  (``PixelError.getMetricValue``). Chapter 6 shows it once, for comparison: it gives
  other numbers and must not be set beside Table 1's.

The two are related through the counts (cell pixels positive, ``n`` pixels)::

    pixel_error    = (fp + fn) / (2 tp + fp + fn)    (0 when fp + fn = 0, even without a cell pixel)
    pixel_mismatch = (fp + fn) / n

so they count the same wrong pixels and differ in what they divide them by:
``2 tp + fp + fn = |P| + |T|``, the cell pixels of proposal and truth together, against all
pixels. ``pixel_error`` is the smaller where the cells cover most of the image (``|P| + |T| > n``,
as on the ISBI slices, about 80 % cell), the larger where they are sparse.
Records written before schema 2 named them ``pixel_fscore`` and ``pixel``
(:func:`unet_tutorial.metrics.current_metric_key` reads them under today's names).

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

__all__ = ["pixel_error", "pixel_mismatch", "PixelScores", "pixel_scores", "iou", "class_iou"]


def pixel_counts(pred: np.ndarray, truth: np.ndarray) -> tuple[int, int, int, int]:
    """``(tp, fp, fn, n_pixels)`` of two bool masks, cell pixels as the positive class (unchecked)."""
    tp = int(np.count_nonzero(pred & truth))
    fp = int(np.count_nonzero(pred & ~truth))
    fn = int(np.count_nonzero(~pred & truth))
    return tp, fp, fn, pred.size


def _thresholded_counts(t: Thresholded) -> dict[str, float]:
    """The additive pixel counts of one thresholded image, computed once for both pixel errors."""
    tp, fp, fn, _ = t.shared("pixel_counts", lambda x: pixel_counts(x.pred, x.truth))
    return {"tp": tp, "fp": fp, "fn": fn}


def _error_from_counts(tp: float, fp: float, fn: float) -> float:
    """``1 − F`` of the cell pixels (``ClassificationStatistics``: no positive at all is F = 1)."""
    return 1.0 - f_score(tp, fp, fn)[2]


def pixel_error(pred: np.ndarray, truth: np.ndarray) -> float:
    """The course's pixel error: ``1 −`` the F-score of the cell pixels (§4, Table 1).

    The ISBI 2012 leaderboard's pixel error (``PixelError.precisionRecallStats`` of
    the challenge code, cell = the positive class) at this one binary proposal:
    ``1 − 2 tp / (2 tp + fp + fn)``. The leaderboard, and Table 1, report the best
    value over the challenge's 10 thresholds:
    ``threshold_sweep(prob, truth).best["pixel_error"]``.

    Not ``1 −`` accuracy: that is :func:`pixel_mismatch` (the same numerator
    ``fp + fn``, divided by all pixels instead of ``2 tp + fp + fn``).

    Parameters
    ----------
    pred : ndarray of bool or {0, 1}, shape (H, W)
        Proposal (1 = cell).
    truth : ndarray of bool or {0, 1}, shape (H, W)
        Ground truth.

    Returns
    -------
    error : float
        In ``[0, 1]``; 0 means the same cell pixels (also when neither mask has one).

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
    tp, fp, fn, _ = pixel_counts(p, t)
    return _error_from_counts(tp, fp, fn)


register_metric(Metric(
    "pixel_error", "the course's pixel error, the leaderboard's (Table 1): 1 - the F-score of the cell pixels",
    counts=_thresholded_counts, from_counts=lambda c, n: _error_from_counts(c["tp"], c["fp"], c["fn"])))


def pixel_mismatch(pred: np.ndarray, truth: np.ndarray) -> float:
    """``1 −`` accuracy: the fraction of pixels whose label is wrong (§4, for comparison only).

    ``PixelError.getMetricValue`` of the challenge code (the mean squared
    difference of the two binary masks), the older textbook "pixel error". The
    challenge's leaderboard, and Table 1, used :func:`pixel_error` (``1 − F``)
    instead; this one gives other numbers and is not to be set beside Table 1's.

    Parameters
    ----------
    pred : ndarray of bool or {0, 1}, shape (H, W)
        Proposal (1 = cell).
    truth : ndarray of bool or {0, 1}, shape (H, W)
        Ground truth.

    Returns
    -------
    mismatch : float
        In ``[0, 1]``; 0 means identical masks.

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
    return float(np.count_nonzero(p != t)) / p.size


register_metric(Metric(
    "pixel_mismatch", "1 - accuracy, the fraction of mislabelled pixels (the textbook pixel error, "
    "not the leaderboard's: for comparison only)",
    counts=_thresholded_counts, from_counts=lambda c, n: (c["fp"] + c["fn"]) / n))


@dataclass(frozen=True)
class PixelScores:
    """Pixel statistics of a proposal, cell pixels counted as positives.

    Attributes
    ----------
    pixel_error : float
        ``1 −`` the F-score, as :func:`pixel_error` (the course's pixel error).
    precision : float
        ``tp / (tp + fp)`` (1 when there is no false positive).
    recall : float
        ``tp / (tp + fn)`` (1 when there is no false negative).
    pixel_mismatch : float
        ``1 −`` accuracy, as :func:`pixel_mismatch` (for comparison).
    """

    pixel_error: float
    precision: float
    recall: float
    pixel_mismatch: float


def pixel_scores(pred: np.ndarray, truth: np.ndarray) -> PixelScores:
    """Both pixel errors, precision and recall of the cell pixels.

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
    return PixelScores(pixel_error=1.0 - f, precision=precision, recall=recall, pixel_mismatch=(fp + fn) / n)


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
