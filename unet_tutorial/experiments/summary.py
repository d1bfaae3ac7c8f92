"""Numbers of a record, per arm: the mean and spread over seeds that the chapters quote and plot.

- :func:`arm_summary`, :func:`summary_rows`: mean, s.d. and range over seeds, per arm;
- :func:`paired_difference`: arm B − arm A seed by seed (paired seeds), its mean and 95 % interval;
- :func:`time_to_quality`: when one arm reaches another's final held-out error, in training seconds;
- :func:`overfitting`: does an arm memorise its training images (the precondition of a regulariser's effect)?
- :func:`run_outcomes`, :func:`optimiser_outcome`: did each run train, collapse or diverge, and does
  SGD with momentum 0.99 train at some learning rate (``isbi2012-optimiser``)?
- :func:`comparison_to`: every arm against one reference arm, paired, with the verdict of each
  (``isbi2012-why-u``);
- :func:`matched_outcome`: a paired difference that counts only where a guard metric stays matched
  (merged nuclei at matched foreground IoU, ``dsb2018-border-weights``);
- :func:`pooled_seed_sd`: the seed-to-seed spread of one metric pooled over several records' arms
  (the noise floor of a one-seed number);
- :func:`image_spread`: the spread of a one-run record's score over its held-out images (Table 2);
- :func:`change_effects`, :func:`best_recipe`: what each change of ``unet-since-2015-dsb`` did against
  the paper's recipe (helps / hurts / inconclusive, its cost per step), and the recipe it supports.
"""

from __future__ import annotations

from typing import Any, Mapping, Sequence

import numpy as np

__all__ = ["arm_summary", "summary_rows", "paired_difference", "interval_text", "time_to_quality", "overfitting",
           "run_outcomes", "optimiser_outcome", "comparison_to", "interval_verdict", "matched_outcome",
           "pooled_seed_sd", "image_spread", "EFFECT_WORDS", "change_effects", "effect_text",
           "best_recipe"]

#: A network "collapsed" when it predicts one class on (nearly) every held-out pixel: its
#: predicted cell fraction at probability 0.5 lies outside this range (ISBI labels: ~0.78 cell).
COLLAPSE_RANGE = (0.03, 0.97)


def arm_summary(record: Mapping[str, Any], metric: str,
                arms: Sequence[str] | None = None) -> dict[str, dict[str, Any]]:
    """Mean, standard deviation and range over seeds of one metric, for each arm of a record.

    Args:
        record: a record (:func:`~unet_tutorial.experiments.load_record`) whose
            metrics are named ``ARM/seedS/METRIC``.
        metric: e.g. ``"rand"``, ``"dsb"``.
        arms: the arms to summarise (default: all; a run that diverged has no metrics).

    Returns:
        ``{arm: {"mean", "std" (ddof=1; 0 for one seed), "min", "max", "values", "n"}}``
        in the record's arm order.

    Raises:
        KeyError: the metric is not recorded for an arm (the message names both).

    Examples:
        >>> rec = {"arms": ["a"], "seeds": [0, 1], "metrics": {"a/seed0/x": 1.0, "a/seed1/x": 3.0}}
        >>> arm_summary(rec, "x")["a"]["mean"], arm_summary(rec, "x")["a"]["max"]
        (2.0, 3.0)
    """
    out = {}
    for arm in record["arms"] if arms is None else arms:
        if arm not in record["arms"]:
            raise KeyError(f"arm {arm!r} is not in the record (arms: {list(record['arms'])})")
        keys = [f"{arm}/seed{s}/{metric}" for s in record["seeds"]]
        missing = [k for k in keys if k not in record["metrics"]]
        if missing:
            raise KeyError(f"metric {metric!r} of arm {arm!r} is not in the record ({missing[0]} missing)")
        v = np.array([record["metrics"][k] for k in keys], dtype=float)
        out[arm] = {"mean": float(v.mean()), "std": float(v.std(ddof=1)) if v.size > 1 else 0.0,
                    "min": float(v.min()), "max": float(v.max()), "values": v.tolist(), "n": int(v.size)}
    return out


def summary_rows(record: Mapping[str, Any], metrics: Sequence[str], *, digits: int = 3,
                 baseline: bool = True) -> list[list[str]]:
    """Table rows ``[arm, "mean ± std", ...]`` for ``metrics`` (and the record's baseline row, if any).

    The spread is the standard deviation over the seeds (``n`` seeds shown in the arm name).
    """
    sums = {m: arm_summary(record, m) for m in metrics}
    rows = [[f"{arm} (n={sums[metrics[0]][arm]['n']})",
             *(f"{sums[m][arm]['mean']:.{digits}f} ± {sums[m][arm]['std']:.{digits}f}" for m in metrics)]
            for arm in record["arms"]]
    if baseline and record.get("baseline"):
        b = record["baseline"]["metrics"]
        rows.append([record["baseline"]["method"],
                     *(f"{b[m]:.{digits}f}" if m in b else "" for m in metrics)])
    return rows


def paired_difference(record: Mapping[str, Any], metric: str, arm_a: str, arm_b: str) -> dict[str, Any]:
    """``arm_b − arm_a`` of one metric, seed by seed, with its mean and a 95 % paired t interval.

    Seeds are paired across arms (same initialisation and tile order), so the
    per-seed differences remove what the seeds share. The interval is
    ``mean ± t(0.975, n − 1) · s.d. / √n`` (no interval for one seed).

    Returns:
        ``{"differences", "mean", "low", "high", "n"}`` (``low``/``high`` NaN for ``n < 2``).

    Examples:
        >>> rec = {"arms": ["a", "b"], "seeds": [0, 1, 2],
        ...        "metrics": {"a/seed0/x": 1.0, "a/seed1/x": 2.0, "a/seed2/x": 3.0,
        ...                    "b/seed0/x": 1.5, "b/seed1/x": 2.5, "b/seed2/x": 3.0}}
        >>> d = paired_difference(rec, "x", "a", "b")
        >>> round(d["mean"], 3), d["n"], round(d["low"], 3), round(d["high"], 3)
        (0.333, 3, -0.384, 1.05)
    """
    from scipy import stats

    sums = arm_summary(record, metric, (arm_a, arm_b))
    d = np.array(sums[arm_b]["values"]) - np.array(sums[arm_a]["values"])
    n = int(d.size)
    mean = float(d.mean())
    if n < 2:
        return {"differences": d.tolist(), "mean": mean, "low": float("nan"), "high": float("nan"), "n": n}
    half = float(stats.t.ppf(0.975, n - 1) * d.std(ddof=1) / np.sqrt(n))
    return {"differences": d.tolist(), "mean": mean, "low": mean - half, "high": mean + half, "n": n}


def interval_text(difference: Mapping[str, Any], digits: int = 3) -> str:
    """A :func:`paired_difference` as ``"+0.012 [-0.034, +0.058]"`` (mean and 95 % interval, signed).

    Examples:
        >>> interval_text({"mean": -0.011, "low": -0.139, "high": 0.117})
        '-0.011 [-0.139, +0.117]'
    """
    d = difference
    return f"{d['mean']:+.{digits}f} [{d['low']:+.{digits}f}, {d['high']:+.{digits}f}]"


def time_to_quality(record: Mapping[str, Any], *, fast: str = "fast", base: str = "fp32",
                    metric: str = "rand", smooth: int = 1) -> list[dict[str, Any]]:
    """When arm ``fast`` reaches arm ``base``'s final ``metric`` (lower is better), per seed pair.

    Reads each run's curves: the held-out ``metric`` at every validation
    (``runs[ARM/seedS].curves.validation``), or, for ``metric="loss"``, the training
    loss (``curves.train``: the mean of every 25 steps). With ``smooth = k`` both
    curves are first averaged over their last ``k`` points (a running mean), so a
    single lucky dip cannot decide; the base arm's final value is then the mean of
    its last ``k`` points.

    Returns:
        One entry per seed: ``base_final`` (the base arm's final value),
        ``base_seconds`` (its training seconds), ``fast_seconds`` (training seconds at
        which the fast arm's curve is first at or below ``base_final``; ``None`` if
        never), ``ratio`` (``fast_seconds / base_seconds``), ``step`` (the last step
        both arms have a point at), ``base_at_step``/``fast_at_step`` (their values
        there), the speeds ``base_steps_per_second``/``fast_steps_per_second``.
    """
    if not isinstance(smooth, int) or smooth < 1:
        raise ValueError(f"smooth must be a positive int, got {smooth!r}")
    part = "train" if metric == "loss" else "validation"
    out = []
    for seed in record["seeds"]:
        runs = {arm: record["runs"][f"{arm}/seed{seed}"] for arm in (base, fast)}
        curve = {}
        for arm, r in runs.items():
            c = r["curves"][part]
            v = np.asarray(c[metric], dtype=float)
            kernel = np.ones(min(smooth, v.size)) / min(smooth, v.size)
            running = np.convolve(v, kernel, mode="valid")  # mean of each window of k points, ending there
            k = v.size - running.size
            curve[arm] = {"step": list(c["step"])[k:], "seconds": list(c["seconds"])[k:], "value": running.tolist()}
        b_final = curve[base]["value"][-1]
        b_seconds = runs[base]["train_seconds"]
        reached = [t for t, v in zip(curve[fast]["seconds"], curve[fast]["value"]) if v <= b_final]
        common = sorted(set(curve[base]["step"]) & set(curve[fast]["step"]))
        step = common[-1] if common else None
        at = {arm: c["value"][c["step"].index(step)] if step is not None else None for arm, c in curve.items()}
        out.append({
            "seed": seed, "base_final": b_final, "base_seconds": b_seconds,
            "fast_seconds": reached[0] if reached else None,
            "ratio": reached[0] / b_seconds if reached else None,
            "step": step, "base_at_step": at[base], "fast_at_step": at[fast],
            **{f"{arm}_steps_per_second": runs[a]["steps"] / runs[a]["train_seconds"]
               for arm, a in (("base", base), ("fast", fast))},
        })
    return out


def overfitting(record: Mapping[str, Any], arm: str, reference: str, *, metric: str = "rand",
                last: int = 4) -> list[dict[str, Any]]:
    """Does ``arm`` overfit, seed by seed? Its training loss ends below ``reference``'s while its
    held-out ``metric`` (an error) ends above its own minimum over the validations.

    The training losses are the means of the last ``last`` points of each run's loss curve
    (``curves.train``: 25-step means), so one lucky window cannot decide.

    Returns:
        One entry per seed: ``train_loss`` and ``reference_train_loss``, ``held_out_final``,
        ``held_out_min`` and ``min_step`` (where the held-out error was lowest), and
        ``overfits`` (both conditions hold).
    """
    out = []
    for seed in record["seeds"]:
        run, ref = (record["runs"][f"{a}/seed{seed}"]["curves"] for a in (arm, reference))
        loss = float(np.mean(run["train"]["loss"][-last:]))
        ref_loss = float(np.mean(ref["train"]["loss"][-last:]))
        held = np.asarray(run["validation"][metric], dtype=float)
        k = int(np.argmin(held))
        out.append({"seed": seed, "train_loss": loss, "reference_train_loss": ref_loss,
                    "held_out_final": float(held[-1]), "held_out_min": float(held[k]),
                    "min_step": int(run["validation"]["step"][k]),
                    "overfits": bool(loss < ref_loss and held[-1] > held[k])})
    return out


def run_outcomes(record: Mapping[str, Any]) -> list[dict[str, Any]]:
    """What became of each run: ``"diverged"`` (the loss became NaN/inf: the step), ``"collapsed"``
    (one class nearly everywhere, :data:`COLLAPSE_RANGE` of the predicted cell fraction) or
    ``"trained"``, with its final metrics and the median gradient norm of its last 250 steps.

    Returns:
        One entry per run, in the record's order: ``arm``, ``seed``, ``outcome``, ``step``
        (the divergence's, else the last), ``metrics`` (empty when diverged), ``grad_norm``.
    """
    out = []
    for run in record["runs"].values():
        metrics = dict(run["metrics"])
        grads = run["curves"]["train"].get("grad_norm", [])
        entry = {"arm": run["arm"], "seed": run["seed"], "metrics": metrics,
                 "grad_norm": float(np.median(grads[-10:])) if len(grads) else None}
        if run.get("diverged"):
            entry.update(outcome="diverged", step=int(run["diverged"]["step"]))
        else:
            fraction = metrics.get("cell_fraction")
            low, high = COLLAPSE_RANGE
            collapsed = fraction is not None and not low <= fraction <= high
            entry.update(outcome="collapsed" if collapsed else "trained", step=int(run["steps"]))
        out.append(entry)
    return out


def optimiser_outcome(record: Mapping[str, Any], *, reference: str = "adam-0.001", metric: str = "rand",
                      margin: float = 0.05) -> dict[str, Any]:
    """The verdict of ``isbi2012-optimiser`` by its registered rule.

    The best SGD rate is the arm (other than ``reference``) whose runs all trained with the
    lowest mean ``<metric>_validation`` (the validation slice, never scored). Reproduced
    (SGD 0.99 trains): at the best rate every seed trained and ended at most ``margin`` above
    the same seed's ``reference`` run in held-out ``metric``; not reproduced: no SGD run
    anywhere did, and either no rate trained in every seed or the 95 % interval of (best −
    reference) lies above 0 ("not reproduced" needs an interval that says so); inconclusive
    otherwise.

    Returns:
        ``outcomes`` (:func:`run_outcomes`), ``best`` (arm or ``None``), ``difference``
        (:func:`paired_difference` best − reference, or ``None``), ``within_margin`` (per seed),
        ``verdict`` (``"reproduced"``, ``"not reproduced"``, ``"inconclusive"``).
    """
    outcomes = run_outcomes(record)
    sgd_arms = [a for a in record["arms"] if a != reference]
    by_arm = {a: [o for o in outcomes if o["arm"] == a] for a in record["arms"]}
    ref = {o["seed"]: o["metrics"].get(metric) for o in by_arm[reference]}
    trained = [a for a in sgd_arms if by_arm[a] and all(o["outcome"] == "trained" for o in by_arm[a])]
    best = min(trained, key=lambda a: np.mean([o["metrics"][f"{metric}_validation"] for o in by_arm[a]]),
               default=None)

    def close(o: dict[str, Any]) -> bool:
        return o["outcome"] == "trained" and ref.get(o["seed"]) is not None and \
            o["metrics"][metric] <= ref[o["seed"]] + margin

    within = [close(o) for o in by_arm[best]] if best else []
    difference = paired_difference(record, metric, reference, best) if best else None
    if best and all(within):
        verdict = "reproduced"
    elif not any(close(o) for a in sgd_arms for o in by_arm[a]) and (difference is None or difference["low"] > 0):
        verdict = "not reproduced"  # no rate trained, or the interval says the best one is worse than Adam
    else:
        verdict = "inconclusive"
    return {"outcomes": outcomes, "best": best, "difference": difference, "within_margin": within,
            "verdict": verdict}


def interval_verdict(difference: Mapping[str, Any], predicted: str = "positive") -> str:
    """``"reproduced"`` when the 95 % interval lies wholly on the ``predicted`` side of 0,
    ``"not reproduced"`` when wholly on the other, ``"inconclusive"`` when it contains 0.

    Examples:
        >>> interval_verdict({"low": 0.01, "high": 0.2}), interval_verdict({"low": -0.1, "high": 0.2})
        ('reproduced', 'inconclusive')
    """
    low, high = float(difference["low"]), float(difference["high"])
    if not (np.isfinite(low) and np.isfinite(high)):
        return "inconclusive"
    above, below = low > 0, high < 0
    if predicted == "positive":
        return "reproduced" if above else "not reproduced" if below else "inconclusive"
    return "reproduced" if below else "not reproduced" if above else "inconclusive"


def comparison_to(record: Mapping[str, Any], reference: str, metrics: Sequence[str] = ("rand",), *,
                  predicted: str = "positive") -> list[dict[str, Any]]:
    """Every other arm against ``reference``, paired by seed: ``arm − reference`` of each metric with
    its 95 % interval and the verdict of :func:`interval_verdict` (``predicted="positive"``: the
    reference's errors are predicted lower).

    Returns:
        One entry per other arm: ``arm``, and per metric ``{metric: {"difference", "verdict"}}``.
    """
    out = []
    for arm in record["arms"]:
        if arm == reference:
            continue
        entry: dict[str, Any] = {"arm": arm}
        for m in metrics:
            d = paired_difference(record, m, reference, arm)
            entry[m] = {"difference": d, "verdict": interval_verdict(d, predicted)}
        out.append(entry)
    return out


def matched_outcome(record: Mapping[str, Any], metric: str, guard: str, control: str, treated: str, *,
                    predicted: str = "negative", guard_margin: float = 0.05) -> dict[str, Any]:
    """A paired difference whose verdict also asks that a second metric did not pay for it.

    ``treated − control`` of ``metric`` decides as :func:`interval_verdict`, except that
    "reproduced" also needs the 95 % interval of ``treated − control`` in ``guard`` (higher
    is better) to lie above ``−guard_margin``; otherwise the effect may have been bought by
    a worse ``guard`` and the verdict is "inconclusive". In ``dsb2018-border-weights``:
    fewer touching pairs merged (``merged_at_iou``) only counts if the foreground IoU
    (``iou_at_iou``) is at most 0.05 lower, so that smaller masks cannot pass for separation.

    Returns:
        ``{"difference", "guard_difference"`` (:func:`paired_difference`), ``"guard_ok"``,
        ``"verdict"}``.

    Examples:
        >>> rec = {"arms": ["a", "b"], "seeds": [0, 1, 2], "metrics": {
        ...     **{f"a/seed{s}/m": 0.8 for s in range(3)}, **{f"b/seed{s}/m": 0.5 + 0.01 * s for s in range(3)},
        ...     **{f"a/seed{s}/g": 0.70 for s in range(3)}, **{f"b/seed{s}/g": v for s, v in enumerate((0.5, 0.6, 0.4))}}}
        >>> matched_outcome(rec, "m", "g", "a", "b")["verdict"]  # fewer merges, but masks much worse
        'inconclusive'
    """
    diff = paired_difference(record, metric, control, treated)
    guard_diff = paired_difference(record, guard, control, treated)
    guard_ok = bool(np.isfinite(guard_diff["low"]) and guard_diff["low"] > -guard_margin)
    verdict = interval_verdict(diff, predicted)
    if verdict == "reproduced" and not guard_ok:
        verdict = "inconclusive"
    return {"difference": diff, "guard_difference": guard_diff, "guard_ok": guard_ok, "verdict": verdict}


def pooled_seed_sd(sources: Sequence[tuple[Mapping[str, Any], str]], metric: str) -> dict[str, Any]:
    """The seed-to-seed standard deviation of ``metric``, pooled over several (record, arm) pairs.

    Each pair contributes its variance over seeds (ddof=1) with weight ``n − 1``; the pooled
    s.d. is the square root of the weighted mean (the usual pooled estimate, which assumes
    the arms share one seed spread). It estimates how much a one-seed number (e.g. the
    reference's Table 1 row) would move with another seed, from cheaper seed-paired runs.

    Returns:
        ``{"sd", "df"`` (degrees of freedom, Σ(n − 1)), ``"per_source"`` (s.d. of each pair)``}``.

    Examples:
        >>> rec = {"arms": ["a"], "seeds": [0, 1, 2], "metrics": {"a/seed0/x": 1.0, "a/seed1/x": 2.0, "a/seed2/x": 3.0}}
        >>> pooled_seed_sd([(rec, "a"), (rec, "a")], "x")["sd"], pooled_seed_sd([(rec, "a")], "x")["df"]
        (1.0, 2)
    """
    if not sources:
        raise ValueError("sources is empty: give at least one (record, arm) pair")
    sds, dfs = [], []
    for record, arm in sources:
        summ = arm_summary(record, metric, [arm])[arm]
        if summ["n"] < 2:
            raise ValueError(f"arm {arm!r} of {record.get('name', 'a record')} has one seed: no spread to pool")
        sds.append(summ["std"])
        dfs.append(summ["n"] - 1)
    var = float(np.dot(np.square(sds), dfs) / sum(dfs))
    return {"sd": float(np.sqrt(var)), "df": int(sum(dfs)), "per_source": sds}


def image_spread(record: Mapping[str, Any], metric: str) -> dict[str, Any]:
    """The spread of a one-run record's score over its held-out images (frames).

    A cell tracking record (``ctc2015-u373``, ``ctc2015-hela``) trains one seed and keeps
    the score of each held-out frame as ``METRIC_imageK``. Their spread says how much the
    mean rests on single frames; it is not a seed spread (which one run cannot give).

    Args:
        record: a record with top-level metrics ``METRIC`` and ``METRIC_image0``, ``_image1``, ...
        metric: e.g. ``"seg"``.

    Returns:
        ``{"value"`` (the record's own score), ``"values"`` (per image, in order), ``"sd"``
        (ddof=1), ``"min"``, ``"max"``, ``"n"}``.

    Raises:
        KeyError: the record keeps fewer than two per-image scores of ``metric``.

    Examples:
        >>> rec = {"metrics": {"seg": 0.8, "seg_image0": 0.7, "seg_image1": 0.9}}
        >>> round(image_spread(rec, "seg")["sd"], 4), image_spread(rec, "seg")["n"]
        (0.1414, 2)
    """
    from .convergence import per_image_values

    metrics = record["metrics"]
    values = per_image_values(metrics, metric)
    if len(values) < 2:
        raise KeyError(f"the record keeps {len(values)} per-image {metric!r} scores ({metric}_image0, ...): "
                       "a spread needs two or more")
    v = np.array(values)
    return {"value": float(metrics[metric]), "values": values, "sd": float(v.std(ddof=1)),
            "min": float(v.min()), "max": float(v.max()), "n": int(v.size)}


#: A change's verdict in the words of ``unet-since-2015-dsb``'s rule, from :func:`interval_verdict`
#: with a higher-is-better metric predicted to rise.
EFFECT_WORDS = {"reproduced": "helps", "not reproduced": "hurts", "inconclusive": "inconclusive"}


def _seconds_per_step(record: Mapping[str, Any], arm: str) -> float:
    """Median training seconds per step of ``arm``'s runs (from each run's ``train_seconds``): the
    median, so that one run slowed by other work on the machine does not move the arm's cost."""
    runs = [r for r in record["runs"].values() if r["arm"] == arm and r.get("steps")]
    return float(np.median([r["train_seconds"] / r["steps"] for r in runs])) if runs else float("nan")


def change_effects(record: Mapping[str, Any], reference: str = "paper", metric: str = "dsb", *,
                   beside: Sequence[str] = ("merged_at_iou", "iou"),
                   lower_is_better: bool = False) -> list[dict[str, Any]]:
    """Every other arm against ``reference``: the paired difference that decides, and what it cost.

    Args:
        lower_is_better: ``metric`` is an error (Rand error: an arm helps when its
            interval lies below 0); else a score (DSB score: above 0).

    Returns:
        One entry per other arm, in the record's order: ``arm``; ``difference``
        (:func:`paired_difference` of ``metric``, arm − reference); ``effect``
        (:data:`EFFECT_WORDS`: ``"helps"`` when the 95 % interval lies on the better side
        of 0, ``"hurts"`` on the other, else ``"inconclusive"``); ``beside``: the same difference of each metric
        in ``beside`` (reported, not deciding); ``steps`` (of its first run) and
        ``cost``: its training seconds per step ÷ the reference's (medians over the seeds).
    """
    ref_cost = _seconds_per_step(record, reference)
    out = []
    predicted = "negative" if lower_is_better else "positive"
    for row in comparison_to(record, reference, (metric, *beside), predicted=predicted):
        arm = row["arm"]
        steps = next(r["steps"] for r in record["runs"].values() if r["arm"] == arm)
        out.append({"arm": arm, "difference": row[metric]["difference"],
                    "effect": EFFECT_WORDS[row[metric]["verdict"]],
                    "beside": {m: row[m]["difference"] for m in beside}, "steps": int(steps),
                    "cost": _seconds_per_step(record, arm) / ref_cost})
    return out


def effect_text(entry: Mapping[str, Any], metric: str = "DSB score", reference: str = "paper") -> str:
    """One :func:`change_effects` entry as a sentence: the decision, its interval, what was beside it, the cost.

    Examples:
        >>> e = {"arm": "a", "effect": "helps", "steps": 600, "cost": 1.3,
        ...      "difference": {"mean": 0.11, "low": 0.08, "high": 0.14, "n": 3},
        ...      "beside": {"merged_at_iou": {"mean": -0.02, "low": -0.1, "high": 0.06}}}
        >>> effect_text(e)  # doctest: +NORMALIZE_WHITESPACE
        'a helps: DSB score a − paper = +0.110 [+0.080, +0.140] (3 paired seeds); merged_at_iou
        -0.020 [-0.100, +0.060]; 600 steps at 1.30× the seconds per step of paper.'
    """
    d = entry["difference"]
    beside = "".join(f"; {m} {interval_text(v)}" for m, v in entry.get("beside", {}).items())
    return (f"{entry['arm']} {entry['effect']}: {metric} {entry['arm']} − {reference} = {interval_text(d)} "
            f"({d['n']} paired seeds){beside}; {entry['steps']} steps at {entry['cost']:.2f}× the seconds "
            f"per step of {reference}.")


def best_recipe(record: Mapping[str, Any], reference: str = "paper", metric: str = "dsb", *,
                lower_is_better: bool = False) -> dict[str, Any]:
    """The recipe a record supports: the arm of best mean ``metric`` (highest, or lowest when
    ``lower_is_better``) among those that *help* (:func:`change_effects`), else ``reference``,
    with its configuration's differences.

    Returns:
        ``{"arm", "overrides"}``: the :class:`~unet_tutorial.config.TrainConfig` fields in
        which that arm's configuration differs from the reference's (``steps``, ``seed`` and
        ``name`` left out); empty for the reference.
    """
    helping = [e["arm"] for e in change_effects(record, reference, metric, beside=(),
                                                lower_is_better=lower_is_better) if e["effect"] == "helps"]
    means = {arm: v["mean"] for arm, v in arm_summary(record, metric, helping).items()} if helping else {}
    arm = (min if lower_is_better else max)(means, key=means.get) if means else reference
    ref, cfg = record["configs"][reference], record["configs"][arm]
    overrides = {k: v for k, v in cfg.items() if ref.get(k) != v and k not in ("steps", "seed", "name")}
    return {"arm": arm, "overrides": overrides}
