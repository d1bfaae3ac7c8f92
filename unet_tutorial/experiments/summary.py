"""Numbers of a record, per arm: the mean and spread over seeds that the chapters quote and plot."""

from __future__ import annotations

from typing import Any, Mapping, Sequence

import numpy as np

__all__ = ["arm_summary", "summary_rows"]


def arm_summary(record: Mapping[str, Any], metric: str) -> dict[str, dict[str, Any]]:
    """Mean, standard deviation and range over seeds of one metric, for each arm of a record.

    Args:
        record: a record (:func:`~unet_tutorial.experiments.load_record`) whose
            metrics are named ``ARM/seedS/METRIC``.
        metric: e.g. ``"rand"``, ``"dsb"``.

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
    for arm in record["arms"]:
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
