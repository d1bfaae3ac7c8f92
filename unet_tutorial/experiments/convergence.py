"""Where a recorded model stops improving, and how far it stands from the course's goals.

A one-run record cannot give a seed spread, but it can say whether its training had
run its course:

- :data:`COURSE_GOALS`: the numbers the course set its recorded models (issue "The
  paper's numbers approached"), beside which the chapters draw the learning curves;
- :func:`curve_slope`: the least-squares slope of the last points of a held-out learning
  curve, per 1,000 steps, with its 95 % interval (flat: an interval around 0);
- :func:`image_difference`: two scorings of the same held-out images compared image by
  image (``METRIC_image0``, ``_image1``, ...: a model and its baseline, or two models),
  the mean difference with a 95 % paired t interval *over images*;
- :func:`budget_outcome`: ``isbi2012-budget``'s verdict: what the second half of the
  reference's training budget bought, by the rule registered before the run.
"""

from __future__ import annotations

from typing import Any, Mapping, Sequence

import numpy as np

__all__ = ["COURSE_GOALS", "curve_slope", "per_image_values", "image_difference", "budget_outcome"]

#: The course's goals for its recorded models, by data set and metric: errors (ISBI 2012,
#: Table 1's conventions) are goals at most, scores (SEG, DSB score) at least.
COURSE_GOALS: dict[str, dict[str, float]] = {
    "isbi2012": {"rand": 0.050, "warping_splits_merges": 0.0010, "pixel_error": 0.045},
    "ctc-u373": {"seg": 0.88},
    "ctc-hela": {"seg": 0.75},
    "dsb2018": {"dsb": 0.55},
}


def _t_interval(values: Sequence[float]) -> dict[str, Any]:
    """Mean of ``values`` with its 95 % t interval (NaN bounds for fewer than two)."""
    from scipy import stats

    v = np.asarray(values, dtype=float)
    mean, n = float(v.mean()), int(v.size)
    if n < 2:
        return {"mean": mean, "low": float("nan"), "high": float("nan"), "n": n}
    half = float(stats.t.ppf(0.975, n - 1) * v.std(ddof=1) / np.sqrt(n))
    return {"mean": mean, "low": mean - half, "high": mean + half, "n": n}


def curve_slope(steps: Sequence[float], values: Sequence[float], last: int) -> dict[str, Any]:
    """The slope of a learning curve's last ``last`` points, per 1,000 steps, with a 95 % interval.

    An ordinary least-squares line through the points ``(step, value)``; the interval is
    ``slope ± t(0.975, n − 2) · se`` (its standard error from the residuals). Where the
    interval contains 0 the curve is flat *within its own noise* (the scatter of its
    points about the line); a single run's curve can say no more.

    Args:
        steps: the validation steps [steps], increasing.
        values: the held-out metric at each step.
        last: how many of the last points to fit (at least 3: a slope and a spread).

    Returns:
        ``{"slope", "low", "high"`` (per 1,000 steps), ``"n"``, ``"steps"`` (first and last fitted)``}``.

    Raises:
        ValueError: fewer than 3 points to fit, or ``steps`` and ``values`` of different lengths.

    Examples:
        >>> s = curve_slope([0, 1000, 2000, 3000], [0.3, 0.2, 0.21, 0.19], last=3)
        >>> round(s["slope"], 3), s["steps"]
        (-0.005, (1000, 3000))
    """
    from scipy import stats

    if len(steps) != len(values):
        raise ValueError(f"steps and values differ in length ({len(steps)} and {len(values)})")
    if not 3 <= last <= len(steps):
        raise ValueError(f"last must be between 3 and the number of points ({len(steps)}), got {last}")
    x = np.asarray(steps[-last:], dtype=float) / 1000
    y = np.asarray(values[-last:], dtype=float)
    fit = stats.linregress(x, y)
    half = float(stats.t.ppf(0.975, last - 2) * fit.stderr)
    return {"slope": float(fit.slope), "low": float(fit.slope) - half, "high": float(fit.slope) + half,
            "n": last, "steps": (int(steps[-last]), int(steps[-1]))}


def per_image_values(metrics: Mapping[str, float], metric: str) -> list[float]:
    """The per-image values ``METRIC_image0``, ``_image1``, ... of a metrics mapping, in order
    (empty when it keeps none)."""
    values = []
    while f"{metric}_image{len(values)}" in metrics:
        values.append(float(metrics[f"{metric}_image{len(values)}"]))
    return values


def image_difference(a: Mapping[str, float], b: Mapping[str, float], metric: str) -> dict[str, Any]:
    """``b − a`` of one metric image by image, with its mean and a 95 % paired t interval over images.

    ``a`` and ``b`` are two scorings of the same held-out images, each keeping its
    per-image values ``METRIC_image0``, ``_image1``, ... (e.g. a record's model metrics and
    its baseline's, or two records' metrics). The interval speaks for *these* models on
    other images like these; it is not a seed spread.

    Returns:
        ``{"differences", "mean", "low", "high", "n"}`` (as
        :func:`~unet_tutorial.experiments.paired_difference`).

    Raises:
        KeyError: either keeps no per-image values of ``metric``.
        ValueError: they keep different numbers of images.

    Examples:
        >>> a = {"x_image0": 0.5, "x_image1": 0.7, "x_image2": 0.6}
        >>> b = {"x_image0": 0.6, "x_image1": 0.9, "x_image2": 0.7}
        >>> d = image_difference(a, b, "x")
        >>> round(d["mean"], 3), d["n"], round(d["low"], 3)
        (0.133, 3, -0.01)
    """
    va, vb = per_image_values(a, metric), per_image_values(b, metric)
    if not va or not vb:
        raise KeyError(f"per-image {metric!r} scores ({metric}_image0, ...) are missing from "
                       f"{'both' if not va and not vb else 'the first' if not va else 'the second'}")
    if len(va) != len(vb):
        raise ValueError(f"the two scorings keep {len(va)} and {len(vb)} images: not the same images")
    d = np.subtract(vb, va)
    return {"differences": d.tolist(), **_t_interval(d)}


def budget_outcome(shorter: Mapping[str, Any], longer: Mapping[str, Any], metric: str = "rand", *,
                   margin: float = 0.01) -> dict[str, Any]:
    """What the second half of a training budget bought: ``isbi2012-budget``'s registered rule.

    ``d_k`` = error of held-out image ``k`` after the shorter run − after the longer one
    (positive: the longer run is better there); 95 % paired t interval of the mean over
    the images. *Flattened*: the interval lies below ``margin``; *still improving*: it lies
    above ``margin``; otherwise *inconclusive*.

    Args:
        shorter, longer: the two records (one run each, scored on the same images,
            with per-image values of ``metric``).
        metric: an error (lower is better), e.g. ``"rand"``.
        margin: the gain that would still count as improving [metric units].

    Returns:
        :func:`image_difference`'s entries for ``shorter − longer``, ``"verdict"``,
        ``"margin"``, and the pooled values ``"shorter"``, ``"longer"`` and their steps.
    """
    d = image_difference(longer["metrics"], shorter["metrics"], metric)
    verdict = ("flattened" if d["high"] < margin else "still improving" if d["low"] > margin
               else "inconclusive")
    steps = [next(iter(r["runs"].values()))["steps"] for r in (shorter, longer)]
    return {**d, "verdict": verdict, "margin": margin, "shorter": float(shorter["metrics"][metric]),
            "longer": float(longer["metrics"][metric]), "steps": tuple(steps)}
