"""The challenge protocol: threshold a probability map, keep each metric's best.

The organisers of the ISBI 2012 challenge thresholded each submitted
cell-probability map at several levels and reported the best value of each
error (paper §4, Table 1). :func:`threshold_sweep` does the same, with the
conventions of the challenge's evaluation script (Fiji wiki, "Segmentation
evaluation metrics – Script", and the challenge's evaluation page).

What the challenge ranked (and the paper's Table 1 reports)
----------------------------------------------------------
* *pixel error* = ``1 −`` the maximal F-score of the cell pixels over the
  thresholds – not ``1 −`` accuracy. Both are here: ``"pixel_error"`` is the
  course's pixel error, ``"pixel_mismatch"`` (``1 −`` accuracy) is kept for comparison.
* *warping error* = "minimum splits and mergers" warping error: only the
  remaining mismatch pixels classified as a split or a merger are counted
  (``WarpingError.getMinimumSplitsAndMergersErrorValue(0.0, 0.9, 0.1, false,
  20)``: thresholds 0.0…0.9, classification window radius 20 px). Jain's
  classic warping error counts every remaining mismatch. Both are here
  (``"warping_splits_merges"`` and ``"warping"``).
* *Rand error* = ``1 −`` the maximal F-score of the foreground-restricted Rand
  index over the thresholds (``"rand"``).
* *The thresholds*: the course uses the 10 levels 0.0, 0.1, …, 0.9
  (:data:`CHALLENGE_THRESHOLDS`) for every metric. The challenge's pixel and Rand
  loops also ran at 1.0, where ``prob > 1.0`` leaves no cell pixel: a level that is
  never the best, so the two conventions give the same best values.
* For a stack the Java code pools the pair / pixel counts of all slices
  before forming precision, recall and F-score (it does not average per-slice
  F-scores); :func:`threshold_sweep` does the same.

References
----------
.. [1] I. Arganda-Carreras et al., "Crowdsourcing the creation of image
       segmentation algorithms for connectomics", Frontiers in Neuroanatomy 9:142,
       2015. doi:10.3389/fnana.2015.00142
.. [2] ISBI 2012 challenge: segmentation of neuronal structures in EM stacks,
       http://brainiac2.mit.edu/isbi_challenge/
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from .._checks import check_binary, check_probability
from .._progress import progress_bar
from ._common import MASK_HINT
from .registry import Thresholded, get_metric, renamed_hint, sweep_metric_names
from .warping import CHALLENGE_RADIUS

__all__ = ["CHALLENGE_THRESHOLDS", "CHALLENGE_RADIUS", "SWEEP_METRICS", "SweepResult", "threshold_sweep"]

#: The 10 thresholds 0.0, 0.1, …, 0.9 of the challenge's warping sweep (the Java
#: loop ``for (th = 0.0; th <= 0.9; th += 0.1)``). The pixel and Rand sweeps of
#: the challenge also ran at 1.0, where ``prob > 1.0`` leaves no cell pixel.
CHALLENGE_THRESHOLDS: np.ndarray = np.round(np.arange(10) * 0.1, 1)

#: The metrics of the Table 1 protocol (every registered sweep metric works:
#: :func:`~unet_tutorial.metrics.registry.sweep_metric_names`).
SWEEP_METRICS: tuple[str, ...] = ("pixel_mismatch", "pixel_error", "rand", "warping", "warping_splits_merges")


@dataclass(frozen=True)
class SweepResult:
    """Metric values of a thresholded probability map at several thresholds.

    Attributes
    ----------
    thresholds : ndarray of float, shape (T,)
        The thresholds (cell where ``prob > t``).
    values : dict of str to ndarray of float, shape (T,)
        Metric name → error at each threshold (for a stack, computed from the
        counts pooled over all images).
    best : dict of str to float
        Metric name → lowest error over the thresholds.
    best_threshold : dict of str to float
        Metric name → the first threshold reaching it.
    """

    thresholds: np.ndarray
    values: dict[str, np.ndarray]
    best: dict[str, float]
    best_threshold: dict[str, float]

    def rows(self) -> list[dict[str, float | str]]:
        """One row per metric: ``{"metric", "best", "threshold"}`` (table-friendly)."""
        return [{"metric": m, "best": self.best[m], "threshold": self.best_threshold[m]}
                for m in self.values]

    def to_markdown(self, metrics: Sequence[str] | None = None) -> str:
        """The best values as a markdown table: every metric swept, or only ``metrics``
        (e.g. the course's conventions ``("pixel_error", "rand", "warping_splits_merges")``).

        Raises:
            ValueError: a name of ``metrics`` that was not swept.
        """
        rows = {r["metric"]: r for r in self.rows()}
        names = list(rows) if metrics is None else list(metrics)
        missing = [m for m in names if m not in rows]
        if missing:
            raise ValueError(f"metrics {missing} were not swept; swept: {sorted(rows)}")
        lines = ["| metric | best error | threshold |", "| --- | --- | --- |"]
        lines += [f"| {m} | {rows[m]['best']:.6f} | {rows[m]['threshold']:.2f} |" for m in names]
        return "\n".join(lines)


def _check_thresholds(thresholds: Iterable[float] | None) -> np.ndarray:
    """The thresholds as a non-empty 1-D float64 array in [0, 1] (default :data:`CHALLENGE_THRESHOLDS`)."""
    if thresholds is None:
        return CHALLENGE_THRESHOLDS.copy()
    th = list(thresholds) if not isinstance(thresholds, np.ndarray) else thresholds
    return check_probability(th, "thresholds", ndims=(1,))


def threshold_sweep(
    prob: np.ndarray,
    truth: np.ndarray,
    thresholds: Iterable[float] | None = None,
    metrics: Sequence[str] = ("pixel_error", "rand", "warping"),
    progress: bool = True,
) -> SweepResult:
    """The challenge protocol: threshold the probability map, keep each metric's best.

    The organisers thresholded each submitted map at 10 levels and reported
    the best value of each metric (§4). For every threshold ``t`` the proposal
    is ``prob > t`` (strictly greater, as the Java code) and the metric is
    computed; each metric then gets its own best threshold.

    Metrics: any name registered with counts in :mod:`unet_tutorial.metrics.registry`
    (each keeps its best: the lowest error, or the highest score); the course's five
    (:data:`SWEEP_METRICS`, all errors) are:

    * ``"pixel_mismatch"`` – :func:`~unet_tutorial.metrics.pixel_mismatch` (``1 −``
      accuracy, for comparison);
    * ``"pixel_error"`` – :func:`~unet_tutorial.metrics.pixel_error`, ``1 −`` the F-score
      of the cell pixels (the leaderboard's pixel error, the course's);
    * ``"rand"`` – :func:`~unet_tutorial.metrics.rand_error` (the leaderboard's
      Rand error);
    * ``"warping"`` – :func:`~unet_tutorial.metrics.warping_error` (Jain's: all
      remaining mismatches), flips ordered by ``|prob − t|``;
    * ``"warping_splits_merges"`` –
      :attr:`~unet_tutorial.metrics.WarpingResult.split_merge_error` with the
      challenge's classification radius of 20 px (the leaderboard's warping error).

    For a stack ``(N, H, W)`` the counts (mismatching pixels, true/false
    positives, Rand pair sums, warping mismatches) are summed over the images
    before the error is formed, as the Java code scores a stack; for
    ``pixel_mismatch`` and the warping errors this equals the pixel-weighted mean
    over images (for ``pixel_error`` and ``rand``, F-scores, it does not).
    Images of different sizes are given as lists (pooled the same way).

    Parameters
    ----------
    prob : ndarray of float, shape (H, W) or (N, H, W), or a list of (H_i, W_i)
        Cell probability in ``[0, 1]`` (1 = cell).
    truth : ndarray of bool or {0, 1}, same shape as ``prob`` (a list: pairwise)
        Ground truth mask(s) (1 = cell).
    thresholds : iterable of float, optional
        Thresholds in ``[0, 1]``; default :data:`CHALLENGE_THRESHOLDS`
        (0.0, 0.1, …, 0.9: 10 levels).
    metrics : sequence of str, optional
        Registered sweep metrics, e.g. from :data:`SWEEP_METRICS`; default the pixel
        error (``1 − F``), the Rand error and Jain's warping error.
    progress : bool, optional
        Show a tqdm bar when a warping metric is computed.

    Returns
    -------
    result : SweepResult

    Raises
    ------
    ValueError
        Bad shapes, non-binary truth, probabilities outside [0, 1] or NaN,
        unknown metric names, bad thresholds, or a ground truth without any
        cell pixel when ``"rand"`` is asked for.

    References
    ----------
    .. [1] I. Arganda-Carreras et al., "Crowdsourcing the creation of image
           segmentation algorithms for connectomics", Front. Neuroanat. 9:142, 2015.
    """
    metrics = tuple(metrics)
    known = sweep_metric_names()
    unknown = [m for m in metrics if m not in known]
    if not metrics or unknown:
        raise ValueError(f"metrics must be a non-empty subset of the registered sweep metrics {known}, got "
                         f"{metrics}{renamed_hint(unknown)}")
    registered = {m: get_metric(m) for m in metrics}
    if isinstance(prob, (list, tuple)):  # images of different sizes
        if not isinstance(truth, (list, tuple)) or len(truth) != len(prob) or not prob:
            raise ValueError(f"a list prob needs a list truth of the same length (>= 1), got {len(prob)} "
                             f"probability maps and {len(truth) if isinstance(truth, (list, tuple)) else 'an array'}")
        q = [check_probability(p, f"prob[{i}]", ndims=(2,)) for i, p in enumerate(prob)]
        truths = [check_binary(t, f"truth[{i}]", ndims=(2,), hint=MASK_HINT) for i, t in enumerate(truth)]
        bad = [i for i, (p, t) in enumerate(zip(q, truths)) if p.shape != t.shape]
        if bad:
            raise ValueError(f"truth[{bad[0]}] must have the shape of prob[{bad[0]}] {q[bad[0]].shape}, "
                             f"got {truths[bad[0]].shape}")
    else:
        q = check_probability(prob, "prob", ndims=(2, 3))
        t_arr = check_binary(truth, "truth", ndims=(2, 3), hint=MASK_HINT)
        if t_arr.shape != q.shape:
            raise ValueError(f"truth must have the shape of prob {q.shape}, got {t_arr.shape}")
        if q.ndim == 2:
            q, t_arr = q[None], t_arr[None]
        truths = list(t_arr)
    th = _check_thresholds(thresholds)
    n_pixels = sum(qi.size for qi in q)

    values = {m: np.zeros(th.size) for m in metrics}
    steps = th.size * len(truths)
    slow = any(registered[m].expensive for m in metrics)
    bar = progress_bar(total=steps, desc="threshold sweep", leave=False) if progress and slow else None
    try:
        for k, t in enumerate(th.tolist()):
            pooled: dict[str, dict[str, float]] = {m: {} for m in metrics}
            for qi, ti in zip(q, truths):
                image = Thresholded(qi, ti, t)  # what several metrics share is computed once
                for m in metrics:
                    for key, v in registered[m].counts(image).items():
                        pooled[m][key] = pooled[m].get(key, 0) + v
                if bar is not None:
                    bar.update(1)
            for m in metrics:
                values[m][k] = registered[m].from_counts(pooled[m], n_pixels)
    finally:
        if bar is not None:
            bar.close()

    # np.argmin keeps the first minimum, like the Java loops' strict comparisons.
    best_idx = {m: int(np.argmin(v) if registered[m].lower_is_better else np.argmax(v)) for m, v in values.items()}
    return SweepResult(
        thresholds=th,
        values=values,
        best={m: float(values[m][i]) for m, i in best_idx.items()},
        best_threshold={m: float(th[i]) for m, i in best_idx.items()},
    )
