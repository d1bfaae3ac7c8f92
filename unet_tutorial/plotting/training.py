"""Figures of training (§3): the loss and validation curves, predictions beside the ground truth."""

from __future__ import annotations

from typing import Sequence

import numpy as np

from .style import tidy_layout

__all__ = ["plot_history", "plot_predictions"]


def plot_history(history, metrics: Sequence[str] = ("pixel_error", "rand"), axes=None,
                 label: str | None = None):
    """Loss (raw and smoothed) and validation metrics of a :class:`~unet_tutorial.train.History` against the step.

    Args:
        history: the history of a run.
        metrics: names of ``history.val`` to draw in the right panel.
        axes: two matplotlib ``Axes``; default a new figure's.
        label: legend label of this run (to overlay several runs on the same axes).

    Returns:
        The two ``Axes``.
    """
    import matplotlib.pyplot as plt

    if axes is None:
        _, axes = plt.subplots(1, 2, figsize=(11, 3.6))
    ax0, ax1 = axes
    (line,) = ax0.plot(history.step, history.loss, alpha=0.25)
    ax0.plot(history.step, history.smoothed_loss(), color=line.get_color(), label=label)
    ax0.set(xlabel="step", ylabel="weighted cross-entropy (Eq. 1)", title="training loss", yscale="log")
    from ..metrics import METRICS  # each metric's direction, registered beside its definition

    lower = {m: METRICS[m].lower_is_better if m in METRICS else None for m in metrics}
    for m in metrics:
        if m in history.val:
            arrow = {True: " (lower is better)", False: " (higher is better)"}.get(lower[m], "")
            ax1.plot(history.val_step, history.val[m], marker="o", ms=3,
                     label=f"{label + ': ' if label else ''}{m}{arrow}")
    shown = {lower[m] for m in metrics if m in history.val}
    ylabel = {frozenset({True}): "error on held-out images", frozenset({False}): "score on held-out images"}.get(
        frozenset(shown), "held-out metric (see legend)")
    ax1.set(xlabel="step", ylabel=ylabel, title="validation")
    if label is not None:
        ax0.legend()
    if ax1.lines:
        ax1.legend(fontsize=8)
    return axes


def plot_predictions(
    images: Sequence[np.ndarray],
    probs: Sequence[np.ndarray],
    labels: Sequence[np.ndarray],
    *,
    threshold: float = 0.5,
    titles: Sequence[str] | None = None,
    crop: int | None = 256,
):
    """One row per image: input, cell probability, thresholded prediction, ground truth, errors.

    Args:
        images, probs, labels: ``(H, W)`` arrays (probability of the cell class, label 1 = cell).
        threshold: a pixel is "cell" where ``prob > threshold``.
        titles: a row label per image.
        crop: show the top-left ``crop × crop`` pixels (details are visible); ``None`` = all.

    Returns:
        The matplotlib figure.
    """
    import matplotlib.pyplot as plt

    n = len(images)
    fig, axes = plt.subplots(n, 5, figsize=(15, 3.1 * n), squeeze=False)
    sl = (slice(None, crop), slice(None, crop))
    for i, (im, pr, lab) in enumerate(zip(images, probs, labels)):
        pred = np.asarray(pr) > threshold
        truth = np.asarray(lab) == 1
        err = np.zeros(truth.shape + (3,))
        err[pred & ~truth] = (1.0, 0.2, 0.2)  # predicted cell, truly membrane: a gap in a membrane
        err[~pred & truth] = (0.2, 0.4, 1.0)  # predicted membrane inside a cell
        panels = [(im, "gray", "input"), (pr, "magma", "p(cell)"), (pred, "gray", f"p(cell) > {threshold:g}"),
                  (truth, "gray", "ground truth"), (err, None, "errors: red = missed membrane, blue = extra")]
        for ax, (data, cmap, title) in zip(axes[i], panels):
            ax.imshow(np.asarray(data)[sl], cmap=cmap, vmin=0 if cmap else None, vmax=1 if cmap else None,
                      interpolation="nearest")
            ax.set_title(title, fontsize=9)
            ax.set_xticks([])
            ax.set_yticks([])
        if titles is not None:
            axes[i, 0].set_ylabel(titles[i])
    tidy_layout(fig)
    return fig
