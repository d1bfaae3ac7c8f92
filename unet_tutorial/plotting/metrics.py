"""Figures of the evaluation metrics (paper §4, the Evaluation chapter).

- :func:`plot_mistakes`: ground truth, proposal, pixel disagreements and the
  topological mistakes left after the warping of the ISBI 2012 challenge's
  warping error, side by side (the numbers are in :mod:`unet_tutorial.metrics`).

matplotlib is imported inside the function, as in :mod:`.images`.
"""

from __future__ import annotations

import numpy as np

from ..metrics import MISMATCH_COLORS, WarpingResult, mismatch_rgb, warping_details
from ..metrics._common import mask_pair
from .style import tidy_layout

__all__ = ["plot_mistakes"]


def plot_mistakes(
    pred: np.ndarray,
    truth: np.ndarray,
    *,
    result: WarpingResult | None = None,
    image: np.ndarray | None = None,
    dilate: int = 0,
    title: str | None = None,
    axes=None,
):
    """Ground truth, proposal, pixel disagreements and topological mistakes side by side.

    Four panels: the ground truth, the proposal (white = cell), the pixels where
    they differ (what the pixel error counts) and the mismatches left after the
    warping (what the warping error counts), coloured by kind as
    :data:`unet_tutorial.metrics.MISMATCH_COLORS` with a legend of the kinds present.

    Parameters
    ----------
    pred : ndarray of bool or {0, 1}, shape (H, W)
        Proposal (1 = cell).
    truth : ndarray of bool or {0, 1}, shape (H, W)
        Ground truth.
    result : WarpingResult, optional
        ``warping_details(pred, truth)`` if already computed.
    image : ndarray of float, shape (H, W), optional
        Gray image in ``[0, 1]`` shown under the mistakes instead of the warped truth.
    dilate : int, optional
        Grow the coloured mistakes by this many pixels (see
        :func:`unet_tutorial.metrics.mismatch_rgb`).
    title : str, optional
        Figure title.
    axes : sequence of 4 matplotlib Axes, optional
        Where to draw; default a new figure.

    Returns
    -------
    fig : matplotlib.figure.Figure

    Raises
    ------
    ValueError
        As :func:`unet_tutorial.metrics.warping_details`, or not exactly four ``axes``.
    """
    import matplotlib.pyplot as plt
    from matplotlib.patches import Patch

    p, t = mask_pair(pred, truth)
    if result is None:
        result = warping_details(p, t)
    if axes is None:
        fig, axes = plt.subplots(1, 4, figsize=(13, 3.6))
    else:
        axes = list(np.ravel(axes))
        if len(axes) != 4:
            raise ValueError(f"axes must hold 4 Axes, got {len(axes)}")
        fig = axes[0].figure
    diff = p != t
    panels = [
        (t, "ground truth (white: cell)"),
        (p, "proposal"),
        (diff, f"pixels that differ: {np.count_nonzero(diff)}"),
        (mismatch_rgb(result, image, dilate), f"after warping: {result.n_mismatches} px left"),
    ]
    for ax, (data, name) in zip(axes, panels):
        ax.imshow(data, cmap="gray", vmin=0, vmax=1, interpolation="nearest")
        ax.set_title(name, fontsize=9)
        ax.set_xlabel("x (px)")
    axes[0].set_ylabel("y (px)")
    present = [k for k in MISMATCH_COLORS if np.any(result.mismatch_types == k)]
    if present:
        axes[3].legend(handles=[Patch(color=MISMATCH_COLORS[k], label=k.name.lower().replace("_", " "))
                                for k in present], loc="upper left", bbox_to_anchor=(1.02, 1.0),
                       fontsize=8, frameon=False)
    if title:
        fig.suptitle(title)
    tidy_layout(fig)
    return fig
