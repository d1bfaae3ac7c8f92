"""Summaries for the Evaluation chapter: every error at once, a table, a picture.

- :func:`error_summary`: all the errors of the ISBI 2012 challenge (paper §4,
  Table 1) for one binary proposal, plus the counts of each kind of
  topological mistake, as a flat ``dict``;
- :func:`summary_table`: such dicts side by side as a markdown table;
- :func:`mismatch_rgb`, :data:`MISMATCH_COLORS`: the mistakes left after the
  warping, coloured by kind, as an RGB array (numpy only; the figure with
  four panels is :func:`unet_tutorial.plotting.plot_mistakes`).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from scipy import ndimage as ndi

from .._checks import check_image, check_int
from .pixel import pixel_scores
from .rand import rand_error, skimage_adapted_rand_error
from .sweep import CHALLENGE_RADIUS
from .warping import MismatchType, WarpingResult, warping_details

__all__ = ["COURSE_METRICS", "error_summary", "summary_table", "MISMATCH_COLORS", "mismatch_rgb"]

#: The rows of :func:`error_summary` in the course's conventions (one per metric, the
#: leaderboard's: pixel error ``1 − F``, the challenge's Rand error, the splits-and-merges
#: warping error), then the counts of mistakes. The others (``pixel_mismatch`` = ``1 −``
#: accuracy, ``skimage_rand``, Jain's ``warping``) are for comparison only (chapter 6).
COURSE_METRICS: tuple[str, ...] = (
    "pixel_error", "rand", "warping_splits_merges", "splits", "merges", "holes", "objects",
)

#: RGB colour (in ``[0, 1]``) of each kind of remaining warping mismatch in :func:`mismatch_rgb`.
MISMATCH_COLORS: dict[MismatchType, tuple[float, float, float]] = {
    MismatchType.SPLIT: (1.0, 0.15, 0.15),  # red
    MismatchType.MERGE: (0.15, 0.45, 1.0),  # blue
    MismatchType.HOLE_ADDITION: (1.0, 0.75, 0.0),  # amber
    MismatchType.HOLE_DELETION: (1.0, 0.45, 0.0),  # orange
    MismatchType.OBJECT_ADDITION: (0.2, 0.85, 0.2),  # green
    MismatchType.OBJECT_DELETION: (0.75, 0.2, 0.9),  # violet
}


def error_summary(pred: np.ndarray, truth: np.ndarray, *, radius: int | None = CHALLENGE_RADIUS) -> dict[str, float]:
    """Every error of this package for one binary proposal, as a flat ``dict`` (§4).

    Keys (all errors: 0 is perfect; the names of the metric registry,
    :data:`~unet_tutorial.metrics.METRICS`, for the registered ones):

    * ``pixel_mismatch`` – :func:`~unet_tutorial.metrics.pixel_mismatch` (``1 −``
      accuracy, for comparison);
    * ``pixel_error`` – :func:`~unet_tutorial.metrics.pixel_error`, ``1 −`` the F-score
      of the cell pixels (the course's pixel error);
    * ``rand`` – the challenge's foreground-restricted Rand error
      (:func:`~unet_tutorial.metrics.rand_error`);
    * ``skimage_rand`` – :func:`~unet_tutorial.metrics.skimage_adapted_rand_error`,
      for comparison;
    * ``warping`` – Jain's warping error (:attr:`~unet_tutorial.metrics.WarpingResult.error`);
    * ``warping_splits_merges`` – the split/merge pixels only
      (:attr:`~unet_tutorial.metrics.WarpingResult.split_merge_error`, window ``radius``);
    * ``splits``, ``merges``, ``holes``, ``objects`` – numbers of mistakes of each
      kind (holes added + deleted, objects added + deleted), as floats.

    Parameters
    ----------
    pred : ndarray of bool or {0, 1}, shape (H, W)
        Proposal (1 = cell).
    truth : ndarray of bool or {0, 1}, shape (H, W)
        Ground truth; it needs a cell pixel (Rand).
    radius : int or None, optional
        Classification window of :func:`~unet_tutorial.metrics.warping_details`;
        default the challenge's 20 px (None: whole image).

    Returns
    -------
    errors : dict of str to float

    Raises
    ------
    ValueError
        As :func:`~unet_tutorial.metrics.rand_scores` and
        :func:`~unet_tutorial.metrics.warping_details`.
    """
    w = warping_details(pred, truth, radius=radius)
    pixel = pixel_scores(pred, truth)
    return {
        "pixel_mismatch": pixel.pixel_mismatch,
        "pixel_error": pixel.pixel_error,
        "rand": rand_error(pred, truth),
        "skimage_rand": skimage_adapted_rand_error(pred, truth),
        "warping": w.error,
        "warping_splits_merges": w.split_merge_error,
        "splits": float(w.splits),
        "merges": float(w.merges),
        "holes": float(w.holes),
        "objects": float(w.object_additions + w.object_deletions),
    }


def summary_table(
    columns: dict[str, dict[str, float]],
    digits: int = 4,
    metrics: Sequence[str] | None = None,
) -> str:
    """A markdown table with one row per metric and one column per case.

    Parameters
    ----------
    columns : dict of str to dict of str to float
        Case name → ``{metric: value}`` (e.g. :func:`error_summary` results);
        the rows are the metrics of the first case, in its order.
    digits : int, optional
        Decimals of the values; integral values (counts, exact zeros) print as
        integers.
    metrics : sequence of str, optional
        Only these rows, in this order (e.g. :data:`COURSE_METRICS`, the course's
        one convention per metric); default all metrics of the first case.

    Returns
    -------
    table : str
        The table as text (prints readably, renders as markdown).

    Raises
    ------
    ValueError
        No column, or a column without a metric of the first one (or of
        ``metrics``).
    """
    if not columns:
        raise ValueError("summary_table needs at least one column")
    names = list(columns)
    rows = list(columns[names[0]]) if metrics is None else list(metrics)
    for name in names if metrics is not None else names[1:]:
        missing = [r for r in rows if r not in columns[name]]
        if missing:
            raise ValueError(f"column {name!r} lacks the metric(s) {missing}")

    def cell(v: float) -> str:
        """One value as text: an integer when integral, else ``digits`` decimals."""
        v = float(v)
        return str(int(v)) if v.is_integer() else f"{v:.{digits}f}"

    cells = {n: [cell(columns[n][r]) for r in rows] for n in names}
    widths = {n: max(3, len(n), *(len(c) for c in cells[n])) for n in names}
    width = max(len("metric"), *(len(r) for r in rows))
    lines = [f"| {'metric':<{width}} | " + " | ".join(f"{n:>{widths[n]}}" for n in names) + " |",
             f"| {'-' * width} | " + " | ".join("-" * widths[n] for n in names) + " |"]
    for k, r in enumerate(rows):
        lines.append(f"| {r:<{width}} | " + " | ".join(f"{cells[n][k]:>{widths[n]}}" for n in names) + " |")
    return "\n".join(lines)


def mismatch_rgb(result: WarpingResult, background: np.ndarray | None = None,
                 dilate: int = 0) -> np.ndarray:
    """A picture of the topological mistakes: the warped truth with its mismatches coloured.

    Parameters
    ----------
    result : WarpingResult
        The result of :func:`~unet_tutorial.metrics.warping_details`.
    background : ndarray of float, shape (H, W), optional
        Gray image in ``[0, 1]`` shown under the colours; default the warped
        ground truth, dimmed (cells light gray, membrane dark).
    dilate : int, optional
        Grow every coloured mismatch by this many pixels (a square structuring
        element) so that one-pixel mistakes stay visible in a large image;
        0 = exact pixels.

    Returns
    -------
    rgb : ndarray of float, shape (H, W, 3)
        In ``[0, 1]``; colours as :data:`MISMATCH_COLORS`.

    Raises
    ------
    ValueError
        ``background`` not a finite real 2-D image (NaN, complex, empty …) or of
        another shape, or a ``dilate`` that is not an int >= 0.
    """
    types = np.asarray(result.mismatch_types)
    if background is None:
        bg = 0.25 + 0.5 * np.asarray(result.warped, dtype=float)
    else:
        # finite, real, non-empty 2-D; integer images scaled to [0, 1] (the package's rule)
        bg = check_image(background, "background").astype(float)
    if bg.shape != types.shape:
        raise ValueError(f"background must have the shape {types.shape} of the result, got {bg.shape}")
    dilate = check_int(dilate, "dilate", minimum=0)
    rgb = np.repeat(np.clip(bg, 0.0, 1.0)[..., None], 3, axis=-1)
    for kind, color in MISMATCH_COLORS.items():
        where = types == kind
        if dilate and where.any():
            where = ndi.binary_dilation(where, np.ones((2 * dilate + 1,) * 2, dtype=bool))
        rgb[where] = color
    return rgb
