"""Figures of recorded experiments: errors against the number of training images, arms side by side,
held-out curves against training time."""

from __future__ import annotations

from typing import Any, Mapping, Sequence

import numpy as np

from ..experiments.summary import arm_summary, change_effects

__all__ = ["plot_few_images", "plot_arms", "plot_curves_by_time", "plot_runs", "plot_threshold_tradeoff",
           "plot_paired", "plot_effects", "plot_loss_by_time"]

_LABELS = {"rand": "Rand error", "warping_splits_merges": "warping error", "pixel_error": "pixel error (1 − F)",
           "pixel_mismatch": "pixel mismatch (1 − accuracy)",
           "dsb": "DSB score", "f1": "F1 at IoU 0.5", "merged": "touching pairs merged", "missed": "nuclei missed",
           "iou": "foreground IoU", "seg": "SEG", "cell_fraction": "pixels predicted 'cell'",
           "loss": "training loss (Eq. 1)", "grad_norm": "gradient norm"}
# the same scores at each run's threshold of best validation foreground IoU (dsb2018-border-weights)
_LABELS.update({f"{m}_at_iou": f"{label}, IoU-matched" for m, label in list(_LABELS.items())
                if m in ("dsb", "f1", "merged", "missed", "iou")})


def plot_few_images(record: Mapping[str, Any], metric: str = "rand", axes=None):
    """The few-images experiment as curves: training loss and held-out error against steps, per arm,
    and the paired difference the verdict reads (§3.1's claim).

    Three panels: (a) the training loss (25-step means) of every arm, the mean over seeds
    bold and each seed thin: an arm whose loss falls far below the others' memorises its
    images; (b) the held-out ``metric`` at every validation, likewise: overfitting shows as
    an error that rises again; (c) per seed, the final held-out ``metric`` of every arm,
    seeds joined by lines (the pairs), so the paired differences can be read off.

    Args:
        record: the ``isbi2012-few-images`` record.
        metric: a recorded held-out error (``"rand"``, ``"warping_splits_merges"``, ``"pixel_error"``).
        axes: three matplotlib ``Axes``; default a new figure's.

    Returns:
        The ``Axes``.
    """
    import matplotlib.pyplot as plt

    if axes is None:
        _, axes = plt.subplots(1, 3, figsize=(15, 4.2))
    seeds, arms = list(record["seeds"]), list(record["arms"])
    colours = {arm: f"C{k}" for k, arm in enumerate(arms)}
    for ax, part, key in ((axes[0], "train", "loss"), (axes[1], "validation", metric)):
        for arm in arms:
            curves = [record["runs"][f"{arm}/seed{s}"]["curves"][part] for s in seeds]
            steps = curves[0]["step"]
            values = np.array([c[key][: len(steps)] for c in curves], dtype=float)
            for v in values:
                ax.plot(steps, v, color=colours[arm], lw=0.6, alpha=0.35)
            ax.plot(steps, values.mean(0), color=colours[arm], lw=2, label=arm)
        ax.set(xlabel="step", ylabel=("training loss (Eq. 1)" if part == "train"
                                      else _LABELS.get(metric, metric) + " (held out)"),
               title="training loss" if part == "train" else "held-out error")
    axes[0].legend(fontsize=8, title=f"mean of {len(seeds)} seeds (thin: each)", title_fontsize=8)
    final = arm_summary(record, metric)
    for i, seed in enumerate(seeds):
        axes[2].plot(range(len(arms)), [final[a]["values"][i] for a in arms], color="0.6", lw=0.8, marker="o",
                     ms=4, label="one seed (paired)" if i == 0 else None)
    axes[2].plot(range(len(arms)), [final[a]["mean"] for a in arms], color="k", lw=0, marker="_", ms=30,
                 mew=2, label="mean")
    axes[2].set(xticks=range(len(arms)), xticklabels=arms, ylabel=_LABELS.get(metric, metric) + " (held out)",
                title="final, seed by seed")
    axes[2].legend(fontsize=8, loc="best", markerscale=0.5)
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


def plot_runs(record: Mapping[str, Any], panels: Sequence[str] = ("loss", "grad_norm", "rand", "cell_fraction"),
              axes=None):
    """Every run of a record as curves against steps: one colour per arm, one line style per seed.

    What diagnoses a comparison of optimisers or networks: ``"loss"`` and ``"grad_norm"`` are
    the training curves (25-step means; the gradient norm on a log scale), any other name a
    held-out metric at every validation (``"cell_fraction"`` with the labels' own fraction as a
    dotted line: a network that predicts one class everywhere sits at 0 or 1). A run that
    diverged ends with a cross at its last logged point.

    Args:
        record: a record with several arms (e.g. ``isbi2012-optimiser``, ``isbi2012-why-u``).
        panels: what each panel shows, in order.
        axes: ``len(panels)`` matplotlib ``Axes``; default a new figure's.

    Returns:
        The ``Axes``.
    """
    import matplotlib.pyplot as plt

    if axes is None:
        _, axes = plt.subplots(1, len(panels), figsize=(4 * len(panels), 3.8), layout="constrained")
    colours = {arm: f"C{k}" for k, arm in enumerate(record["arms"])}
    styles = {seed: ("-", "--", ":", "-.")[k % 4] for k, seed in enumerate(record["seeds"])}
    truth = None
    for run in record["runs"].values():
        for ax, key in zip(axes, panels):
            part = run["curves"]["train" if key in ("loss", "grad_norm") else "validation"]
            values = np.asarray(part.get(key, []), dtype=float)
            steps = np.asarray(part["step"][: values.size])
            label = run["arm"] if run["seed"] == record["seeds"][0] else None
            ax.plot(steps, values, color=colours[run["arm"]], ls=styles[run["seed"]], lw=1.2, label=label)
            if run.get("diverged") and values.size:
                ok = np.isfinite(values)
                if ok.any():
                    ax.plot(steps[ok][-1], values[ok][-1], "x", color=colours[run["arm"]], ms=9, mew=2)
        truth = run["metrics"].get("cell_fraction_truth", truth)
    for ax, key in zip(axes, panels):
        ax.set(xlabel="step", ylabel=_LABELS.get(key, key) + ("" if key in ("loss", "grad_norm") else " (held out)"))
        if key == "grad_norm":
            ax.set_yscale("log")
        if key == "cell_fraction" and truth is not None:
            ax.axhline(truth, color="k", ls=":", lw=1, label="labels")
    seeds = ", ".join(f"seed {s}: {styles[s]}" for s in record["seeds"])
    axes[0].legend(fontsize=8, title=seeds, title_fontsize=7)
    return axes


def plot_threshold_tradeoff(record: Mapping[str, Any], x: str = "iou", y: str = "merged", ax=None, *,
                            chosen: str = "threshold_iou"):
    """How the foreground threshold trades one validation score against another, run by run.

    Each run's validation sweep (``val_<x>@t``, ``val_<y>@t`` of
    :func:`~unet_tutorial.experiments.evaluation.evaluate_dsb2018`) is drawn as one thin line
    over the thresholds t, one colour per arm; the threshold the run chose (``chosen``) is
    marked with a dot. Arms compared at equal ``x`` are read along a vertical line: in
    ``dsb2018-border-weights``, fewer touching pairs merged (lower ``y``) at the same
    foreground IoU (``x``) is separation, not smaller masks.

    Returns:
        The ``Axes``.

    Raises:
        KeyError: the record has no validation sweep (a record from before the sweep was kept).
    """
    import matplotlib.pyplot as plt

    if ax is None:
        _, ax = plt.subplots(figsize=(5.6, 4.2))
    metrics = record["metrics"]
    colours = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    for k, arm in enumerate(record["arms"]):
        for n, seed in enumerate(record["seeds"]):
            prefix = f"{arm}/seed{seed}/"
            ts = sorted(float(key.split("@")[1]) for key in metrics
                        if key.startswith(f"{prefix}val_{x}@"))
            if not ts:
                raise KeyError(f"no validation sweep val_{x}@t for {prefix[:-1]} in the record")
            xs = [metrics[f"{prefix}val_{x}@{t:g}"] for t in ts]
            ys = [metrics[f"{prefix}val_{y}@{t:g}"] for t in ts]
            colour = colours[k % len(colours)]
            ax.plot(xs, ys, "-", color=colour, lw=1, alpha=0.7, label=arm if n == 0 else None)
            t = metrics[prefix + chosen]
            ax.plot(metrics[f"{prefix}val_{x}@{t:g}"], metrics[f"{prefix}val_{y}@{t:g}"], "o", color=colour, ms=5)
    ax.set(xlabel=f"{_LABELS.get(x, x)} (validation)", ylabel=f"{_LABELS.get(y, y)} (validation)",
           title="one line per run over the thresholds; dot: its chosen threshold")
    ax.legend(fontsize=8)
    return ax


def plot_paired(record: Mapping[str, Any], metric: str, control: str, treated: str, ax=None):
    """One metric of two arms, seed by seed: a line per seed from ``control`` to ``treated``.

    Paired seeds share initialisation and tile order, so the slope of each line is the
    effect within a seed (what :func:`~unet_tutorial.experiments.paired_difference`
    averages); a difference of means hides it behind the seeds' spread.

    Returns:
        The ``Axes``.
    """
    import matplotlib.pyplot as plt

    if ax is None:
        _, ax = plt.subplots(figsize=(3.6, 4.2))
    s = arm_summary(record, metric, (control, treated))
    for seed, a, b in zip(record["seeds"], s[control]["values"], s[treated]["values"]):
        ax.plot([0, 1], [a, b], "o-", color="0.4", lw=1)
        ax.annotate(f"seed {seed}", (1, b), xytext=(4, 0), textcoords="offset points", fontsize=7, va="center")
    ax.set_xticks([0, 1], [control, treated])
    ax.set(xlim=(-0.3, 1.45), ylabel=_LABELS.get(metric, metric) + " (held out)", title="paired by seed")
    return ax


_EFFECT_COLOURS = {"helps": "C2", "hurts": "C3", "inconclusive": "0.45"}


def plot_effects(record: Mapping[str, Any], reference: str = "paper", metric: str = "dsb", ax=None, *,
                 lower_is_better: bool = False):
    """Each arm's paired difference from ``reference``: its seeds (dots), mean and 95 % interval (bar).

    Green: the interval lies on the better side of 0 (helps: above for a score, below
    when ``lower_is_better``); red: on the other (hurts); grey: it contains 0
    (:func:`~unet_tutorial.experiments.summary.change_effects`). Each label says the
    arm's steps and its cost per step relative to the reference.

    Returns:
        The ``Axes``.
    """
    import matplotlib.pyplot as plt

    effects = change_effects(record, reference, metric, beside=(), lower_is_better=lower_is_better)
    if ax is None:
        _, ax = plt.subplots(figsize=(6.4, 0.55 * len(effects) + 1.2))
    for y, e in enumerate(effects[::-1]):
        d, colour = e["difference"], _EFFECT_COLOURS[e["effect"]]
        ax.plot([d["low"], d["high"]], [y, y], color=colour, lw=3, solid_capstyle="butt")
        ax.plot(d["mean"], y, "D", color=colour, ms=7)
        ax.plot(d["differences"], [y] * len(d["differences"]), "o", mfc="none", color="k", ms=4)
    ax.axvline(0, color="k", lw=0.8)
    ax.set_yticks(range(len(effects)),
                  [f"{e['arm']}\n{e['steps']} steps, ×{e['cost']:.2f}/step" for e in effects[::-1]], fontsize=8)
    ax.set(xlabel=f"{_LABELS.get(metric, metric)}: arm − {reference} (held out)",
           title=f"paired by seed, 95 % interval ({len(record['seeds'])} seeds)")
    return ax


def plot_loss_by_time(record: Mapping[str, Any], axes=None, *, columns: int = 4):
    """The training loss of every run against its training seconds, one panel per arm, one line per seed.

    Each arm's loss is its own (Eq. 1, + Dice, + auxiliary outputs, 3 classes): the
    panels show where each run flattened within its time, not one loss against another.

    Returns:
        The ``Axes`` (one per arm).
    """
    import matplotlib.pyplot as plt

    arms = list(record["arms"])
    if axes is None:
        rows = -(-len(arms) // columns)
        _, grid = plt.subplots(rows, columns, figsize=(3.3 * columns, 2.6 * rows), sharex=True, squeeze=False)
        for ax in grid.ravel()[len(arms):]:
            ax.set_visible(False)
        axes = grid.ravel()[:len(arms)]
    for ax, arm in zip(axes, arms):
        for k, seed in enumerate(record["seeds"]):
            train = record["runs"][f"{arm}/seed{seed}"]["curves"]["train"]
            ax.plot(train["seconds"], train["loss"], color=f"C{k}", lw=1, label=f"seed {seed}")
        ax.set(title=arm, xlabel="training seconds")
        ax.set_yscale("log")
    axes[0].set_ylabel("training loss (25-step mean)")
    axes[0].legend(fontsize=7)
    return axes
