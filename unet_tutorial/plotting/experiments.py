"""Figures of recorded experiments: errors against the number of training images, arms side by side,
held-out curves against training time."""

from __future__ import annotations

from typing import Any, Mapping, Sequence

import numpy as np

from ..experiments.summary import arm_summary

__all__ = ["plot_few_images", "plot_arms", "plot_curves_by_time"]

_LABELS = {"rand": "Rand error", "warping_splits_merges": "warping error", "pixel_fscore": "pixel error (1 − F)",
           "dsb": "DSB score", "f1": "F1 at IoU 0.5", "merged": "touching pairs merged", "missed": "nuclei missed",
           "iou": "foreground IoU", "seg": "SEG"}


def plot_few_images(record: Mapping[str, Any], metrics: Sequence[str] = ("rand", "warping_splits_merges"),
                    axes=None):
    """Held-out error against the number of training images, per augmentation (§3.1's claim).

    One panel per metric; x: training images (log scale), one line per ``augment``
    of the arms (e.g. flips only vs flips + elastic deformation), markers at the
    mean over seeds, error bars from the lowest to the highest seed.

    Args:
        record: the ``isbi2012-few-images`` record (arms with their own ``train_by_arm``).
        metrics: recorded metric names, one panel each.
        axes: as many matplotlib ``Axes``; default a new figure's.

    Returns:
        The ``Axes``.
    """
    import matplotlib.pyplot as plt

    if axes is None:
        _, axes = plt.subplots(1, len(metrics), figsize=(5.2 * len(metrics), 3.6), squeeze=False)
        axes = axes[0]
    n_images = {arm: len(ids) for arm, ids in record["split"]["train_by_arm"].items()}
    augment = {arm: record["configs"][arm]["augment"] for arm in record["arms"]}
    for ax, metric in zip(axes, metrics):
        s = arm_summary(record, metric)
        for k, aug in enumerate(dict.fromkeys(augment.values())):
            arms = sorted((a for a in record["arms"] if augment[a] == aug), key=n_images.get)
            x = np.array([n_images[a] for a in arms]) * (1 + 0.04 * (k - 0.5))  # side by side
            mean = np.array([s[a]["mean"] for a in arms])
            err = np.array([[s[a]["mean"] - s[a]["min"] for a in arms], [s[a]["max"] - s[a]["mean"] for a in arms]])
            label = {"flips": "flips + rotations", "elastic": "+ elastic deformation"}.get(aug, aug)
            ax.errorbar(x, mean, yerr=err, marker="o", capsize=4, label=label)
        ticks = sorted(set(n_images.values()))
        ax.set(xscale="log", xticks=ticks, xticklabels=[str(t) for t in ticks], xlabel="training images",
               ylabel=_LABELS.get(metric, metric) + " (held out)", title=_LABELS.get(metric, metric))
        ax.minorticks_off()
        ax.legend(fontsize=8, title=f"mean, range over {len(record['seeds'])} seeds", title_fontsize=8)
    return axes


def plot_arms(record: Mapping[str, Any], metrics: Sequence[str] = ("dsb", "f1", "merged", "iou"), ax=None):
    """Each arm's mean over seeds (± standard deviation) of several metrics, as grouped bars.

    A record with a ``baseline`` (e.g. Otsu on DSB 2018) gets it as a black tick on each group.

    Returns:
        The ``Axes``.
    """
    import matplotlib.pyplot as plt

    if ax is None:
        _, ax = plt.subplots(figsize=(1.9 * len(metrics) + 2, 3.6))
    arms = list(record["arms"])
    width = 0.8 / len(arms)
    x = np.arange(len(metrics))
    for k, arm in enumerate(arms):
        s = {m: arm_summary(record, m)[arm] for m in metrics}
        ax.bar(x + (k - (len(arms) - 1) / 2) * width, [s[m]["mean"] for m in metrics], width,
               yerr=[s[m]["std"] for m in metrics], capsize=3, label=arm)
    base = (record.get("baseline") or {}).get("metrics", {})
    if base:
        ax.scatter([i for i, m in enumerate(metrics) if m in base], [base[m] for m in metrics if m in base],
                   marker="_", s=900, color="k", zorder=3, label=record["baseline"]["method"].split(" (")[0])
    ax.set_xticks(x, [_LABELS.get(m, m) for m in metrics])
    ax.set(ylim=(0, 1), ylabel="held-out score",
           title=f"mean ± s.d. over {len(record['seeds'])} seeds")
    ax.legend(fontsize=8, ncol=2)
    return ax


def plot_curves_by_time(record: Mapping[str, Any], metrics: Sequence[str] = ("rand", "warping_splits_merges"),
                        axes=None, *, reference: str | None = "fp32"):
    """Held-out error of every run against its training time in minutes (an equal wall-clock budget).

    One panel per metric; one colour per arm, one line style per seed; with
    ``reference``, a dotted line at each seed's final value of that arm (the
    quality the other arms must reach, :func:`~unet_tutorial.experiments.summary.time_to_quality`).

    Args:
        record: a record whose runs keep ``curves.validation`` (steps, seconds, metrics).
        metrics: recorded metric names, one panel each.
        axes: as many matplotlib ``Axes``; default a new figure's.
        reference: the arm whose final values are marked, or ``None``.

    Returns:
        The ``Axes``.
    """
    import matplotlib.pyplot as plt

    if axes is None:
        _, axes = plt.subplots(1, len(metrics), figsize=(5.2 * len(metrics), 3.6), squeeze=False)
        axes = axes[0]
    styles = ("-", "--", ":", "-.")
    colours = {arm: f"C{k}" for k, arm in enumerate(record["arms"])}
    for ax, metric in zip(axes, metrics):
        for k, seed in enumerate(record["seeds"]):
            for arm in record["arms"]:
                val = record["runs"][f"{arm}/seed{seed}"]["curves"]["validation"]
                minutes = np.array(val["seconds"], dtype=float) / 60
                ax.plot(minutes, val[metric], styles[k % len(styles)], color=colours[arm], marker="o", ms=3,
                        label=f"{arm}, seed {seed}")
                if arm == reference:
                    ax.axhline(val[metric][-1], color=colours[arm], lw=0.8, ls=":", alpha=0.7)
        ax.set(xlabel="training time (minutes)", ylabel=_LABELS.get(metric, metric) + " (held out)",
               title=_LABELS.get(metric, metric))
        ax.legend(fontsize=8)
    return axes
