"""Instance-level metrics: objects matched by IoU, the DSB 2018 score, F1, and the Cell Tracking Challenge's SEG.

The pixel, Rand and warping errors (Table 1) score a binary segmentation of
membranes. For separated *objects* — the touching cells of §3 (Eq. 2, Fig. 3)
and the light-microscopy results of Table 2 — what matters is whether each cell
comes out as exactly one object. Every function here takes two instance label
images of the same shape ``(H, W)``: integer ids, 0 = background, each id one
object (checked by :func:`unet_tutorial._checks.check_instances`).

- :func:`match_instances`: one-to-one matching of predicted and true objects
  whose IoU exceeds a threshold: true positives, false positives, false negatives.
- :func:`instance_f1`: ``2·TP / (2·TP + FP + FN)`` at one IoU threshold.
- :func:`dsb_score`: the 2018 Data Science Bowl score, the mean over the IoU
  thresholds 0.50, 0.55, …, 0.95 of ``TP / (TP + FP + FN)``.
- :func:`seg_score`: the SEG measure of the Cell Tracking Challenge (Table 2's
  "IOU"): each true object's Jaccard index with the predicted object covering
  more than half of it, 0 when none does, averaged over the true objects.

References
----------
.. [1] J. C. Caicedo et al., "Nucleus segmentation across imaging experiments: the
       2018 Data Science Bowl", Nature Methods 16, 1247–1253, 2019.
.. [2] M. Maška et al., "A benchmark for comparison of cell tracking algorithms",
       Bioinformatics 30(11), 1609–1617, 2014.
.. [3] V. Ulman et al., "An objective comparison of cell-tracking algorithms",
       Nature Methods 14, 1141–1152, 2017.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.optimize import linear_sum_assignment

from .._checks import check_instances, check_positive
from .registry import Metric, register_metric

__all__ = ["DSB_THRESHOLDS", "InstanceMatch", "match_instances", "instance_f1", "dsb_score", "seg_score"]

#: The IoU thresholds of the 2018 Data Science Bowl score: 0.50, 0.55, …, 0.95.
DSB_THRESHOLDS: np.ndarray = np.round(np.arange(0.5, 1.0, 0.05), 2)


@dataclass(frozen=True)
class InstanceMatch:
    """The one-to-one matching of predicted and true objects at one IoU threshold.

    Attributes
    ----------
    tp, fp, fn : int
        Matched pairs; predicted objects left unmatched; true objects left unmatched.
    pairs : ndarray of int, shape (tp, 2)
        ``(predicted id, true id)`` of each matched pair.
    iou : ndarray of float, shape (tp,)
        Their IoU (each above the threshold).
    threshold : float
        The IoU threshold (a pair matches when its IoU is strictly above it).
    """

    tp: int
    fp: int
    fn: int
    pairs: np.ndarray
    iou: np.ndarray
    threshold: float


def _pair(pred, truth) -> tuple[np.ndarray, np.ndarray]:
    p = check_instances(pred, "pred")
    t = check_instances(truth, "truth")
    if p.shape != t.shape:
        raise ValueError(f"pred and truth must have the same shape, got {p.shape} and {t.shape}")
    return p, t


def _present_ids(a: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The ids present in ``a`` (ascending) and each pixel's index among them, flattened.

    ``np.unique(a, return_inverse=True)``'s result, in linear time by one ``bincount``
    when the ids are not much larger than the pixel count (a sort otherwise): the
    sort dominated every object metric on 0.4-megapixel images.
    """
    flat = a.ravel()
    top = int(flat.max()) if flat.size else 0
    if a.dtype == np.uint64 or top > 4 * flat.size + 1024:
        ids, inv = np.unique(flat, return_inverse=True)
        return ids, inv.ravel()
    present = np.bincount(flat, minlength=1) > 0
    index = np.cumsum(present) - 1
    return np.flatnonzero(present).astype(a.dtype), index[flat]


def _overlaps(p: np.ndarray, t: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Ids present and the intersection counts: ``(pred_ids, true_ids, inter, pred_area, true_area)``.

    ``inter[i, j]`` is the number of pixels of predicted object ``pred_ids[i]``
    inside true object ``true_ids[j]``, from one ``bincount`` over the pixel pairs.
    """
    p_ids, p_inv = _present_ids(p)
    t_ids, t_inv = _present_ids(t)
    counts = np.bincount(p_inv * t_ids.size + t_inv, minlength=p_ids.size * t_ids.size)
    table = counts.reshape(p_ids.size, t_ids.size)
    p_area, t_area = table.sum(1), table.sum(0)
    keep_p, keep_t = p_ids != 0, t_ids != 0  # drop the background row and column
    return (p_ids[keep_p], t_ids[keep_t], table[np.ix_(keep_p, keep_t)], p_area[keep_p], t_area[keep_t])


def _iou_matrix(p: np.ndarray, t: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    p_ids, t_ids, inter, p_area, t_area = _overlaps(p, t)
    union = p_area[:, None] + t_area[None, :] - inter
    return p_ids, t_ids, np.where(union > 0, inter / np.maximum(union, 1), 0.0)


def _match(p_ids, t_ids, iou: np.ndarray, threshold: float) -> InstanceMatch:
    candidate = iou > threshold
    if threshold >= 0.5:
        # Above an IoU of 0.5 an object can overlap at most one other that much: the
        # matching is unique, no assignment problem to solve.
        rows, cols = np.nonzero(candidate)
    else:
        rows, cols = linear_sum_assignment(np.where(candidate, iou, 0.0), maximize=True)
        ok = candidate[rows, cols]
        rows, cols = rows[ok], cols[ok]
    tp = int(rows.size)
    pairs = np.stack([p_ids[rows], t_ids[cols]], axis=1) if tp else np.zeros((0, 2), dtype=np.int64)
    return InstanceMatch(tp=tp, fp=int(p_ids.size) - tp, fn=int(t_ids.size) - tp, pairs=pairs,
                         iou=iou[rows, cols].astype(float), threshold=float(threshold))


def _check_threshold(iou_threshold: float) -> float:
    t = check_positive(iou_threshold, "iou_threshold", allow_zero=True)
    if t >= 1.0:
        raise ValueError(f"iou_threshold must be in [0, 1) (a pair matches when its IoU is above it), got {t}")
    return t


def match_instances(pred, truth, iou_threshold: float = 0.5) -> InstanceMatch:
    """Match predicted and true objects one-to-one by their IoU.

    A pair matches when its IoU is strictly above ``iou_threshold``. At 0.5 and
    above the matching is unique (two objects overlapping one third that much
    would need more than its whole area); below 0.5 the pairs are chosen to
    maximise the summed IoU (``scipy.optimize.linear_sum_assignment``).

    Parameters
    ----------
    pred, truth : ndarray of int, shape (H, W)
        Instance labels, 0 = background.
    iou_threshold : float
        In ``[0, 1)``.

    Returns
    -------
    InstanceMatch

    Raises
    ------
    ValueError
        Labels that are not integer ``(H, W)`` images with ids ``>= 0``, shapes
        that differ, or a threshold outside ``[0, 1)``.

    Examples
    --------
    >>> truth = np.zeros((4, 6), int); truth[:, :3] = 1; truth[:, 3:] = 2
    >>> merged = (truth > 0).astype(int)            # the two cells as one object
    >>> m = match_instances(merged, truth)
    >>> (m.tp, m.fp, m.fn)
    (0, 1, 2)
    """
    p, t = _pair(pred, truth)
    th = _check_threshold(iou_threshold)
    return _match(*_iou_matrix(p, t), th)


def instance_f1(pred, truth, iou_threshold: float = 0.5) -> float:
    """Object-level F1 score ``2·TP / (2·TP + FP + FN)`` at one IoU threshold (1.0 when both are empty)."""
    m = match_instances(pred, truth, iou_threshold)
    total = 2 * m.tp + m.fp + m.fn
    return 1.0 if total == 0 else 2 * m.tp / total


def dsb_score(pred, truth) -> float:
    """The 2018 Data Science Bowl score of one image [1]_.

    At each IoU threshold ``t`` in 0.50, 0.55, …, 0.95 (:data:`DSB_THRESHOLDS`),
    ``TP(t) / (TP(t) + FP(t) + FN(t))``; the score is their mean. A data set's
    score is the mean over its images. An image with no object in either label
    scores 1 (nothing to find, nothing found).

    Parameters
    ----------
    pred, truth : ndarray of int, shape (H, W)
        Instance labels, 0 = background.

    Returns
    -------
    score : float
        In ``[0, 1]``.

    Examples
    --------
    >>> truth = np.zeros((4, 6), int); truth[:, :3] = 1; truth[:, 3:] = 2
    >>> dsb_score(truth, truth), dsb_score((truth > 0).astype(int), truth)
    (1.0, 0.0)
    """
    p, t = _pair(pred, truth)
    p_ids, t_ids, iou = _iou_matrix(p, t)
    if p_ids.size == 0 and t_ids.size == 0:
        return 1.0
    scores = []
    for th in DSB_THRESHOLDS:
        m = _match(p_ids, t_ids, iou, float(th))
        scores.append(m.tp / (m.tp + m.fp + m.fn))
    return float(np.mean(scores))


def seg_score(pred, truth, *, per_object: bool = False) -> float | np.ndarray:
    """The Cell Tracking Challenge's SEG measure (Table 2's "IOU") [2]_ [3]_.

    Each true object ``R`` is matched to the predicted object ``S`` with
    ``|R ∩ S| > 0.5 · |R|`` (at most one exists); its score is the Jaccard index
    ``|R ∩ S| / |R ∪ S|``, or 0 when no predicted object covers more than half
    of it. SEG is the mean over the true objects. Predicted objects that cover
    no true object cost nothing, so partially annotated frames can be scored
    (unlabelled cells are ignored). For several frames, average the per-object
    scores of all frames (``per_object=True``), as the challenge does.

    Parameters
    ----------
    pred, truth : ndarray of int, shape (H, W)
        Instance labels, 0 = background; ``truth`` needs at least one object.
    per_object : bool
        Return the score of every true object (in the order of their ids) instead of the mean.

    Returns
    -------
    float, or ndarray of float, shape (number of true objects,)

    Raises
    ------
    ValueError
        As :func:`match_instances`, or a ``truth`` without objects (SEG is undefined).

    Examples
    --------
    >>> truth = np.zeros((4, 6), int); truth[:, :3] = 1; truth[:, 3:] = 2
    >>> float(seg_score(truth, truth)), float(seg_score((truth > 0).astype(int), truth))
    (1.0, 0.5)
    """
    p, t = _pair(pred, truth)
    p_ids, t_ids, inter, p_area, t_area = _overlaps(p, t)
    if t_ids.size == 0:
        raise ValueError("truth has no object: SEG is the mean over the true objects and is undefined")
    scores = np.zeros(t_ids.size)
    if p_ids.size:
        best = inter.argmax(0)  # for each true object, the predicted object covering most of it
        cover = inter[best, np.arange(t_ids.size)]
        hit = 2 * cover > t_area
        union = t_area + p_area[best] - cover
        scores[hit] = cover[hit] / union[hit]
    return scores if per_object else float(scores.mean())


def _mean_dsb(preds, truths) -> float:
    """The DSB score averaged over images, as the competition averages it."""
    return float(np.mean([dsb_score(p, t) for p, t in zip(preds, truths)]))


def _pooled_seg(preds, truths) -> float:
    """SEG pooled over the objects of several frames, as the challenge averages it."""
    return float(np.concatenate([seg_score(p, t, per_object=True) for p, t in zip(preds, truths)]).mean())


register_metric(Metric("dsb", "the Data Science Bowl 2018 score: mean over images of the average precision "
                       "over IoU thresholds 0.5-0.95", lower_is_better=False, objects=_mean_dsb))
register_metric(Metric("seg", "the Cell Tracking Challenge's SEG: mean Jaccard index of the true objects "
                       "with their matched predictions (0 when none), pooled over frames",
                       lower_is_better=False, objects=_pooled_seg))
