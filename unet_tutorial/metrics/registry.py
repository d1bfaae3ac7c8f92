"""One registry of metrics: each registered once, beside its definition, under the one name
that the threshold sweep, the training history, the records, the threshold choice and the
tables all use.

A :class:`Metric` says what the number is (its convention, in a sentence), which way is
better, and how it is computed where it is needed:

- ``counts`` / ``from_counts``: for the threshold sweep of the challenge (§4, Table 1):
  additive counts of one image at one threshold (``Thresholded``), pooled over the
  images, and the value from the pooled counts (the challenge's Java code pools a
  stack's counts before forming a score);
- ``objects``: for instance metrics (DSB 2018, the cell tracking SEG): the value over a
  list of predicted and true label images, used to choose a foreground threshold on
  validation images.

Adding a metric is one function and one :func:`register_metric` call; a name can be
registered once. The course's own metrics are registered in :mod:`.pixel`,
:mod:`.rand`, :mod:`.warping` and :mod:`.instances`.

Names given up: :data:`FORMER_NAMES` maps a name that once meant a metric to the name it
has now (record schema 2 renamed ``pixel_fscore`` → ``pixel_error``, ``pixel`` →
``pixel_mismatch``); :func:`current_metric_key` renames a recorded key (``pixel_fscore``,
``fcn/seed0/pixel_threshold``) to today's name, so older records and histories are read
under one name per meaning. A former name is never registered again.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

__all__ = ["Metric", "Thresholded", "METRICS", "register_metric", "get_metric", "sweep_metric_names",
           "FORMER_NAMES", "METRIC_KEY_SUFFIXES", "current_metric_key", "rename_metric_keys",
           "renamed_hint"]


class Thresholded:
    """One probability map thresholded at one level, with what several metrics share computed once.

    Attributes:
        prob: float ``(H, W)`` cell probability in [0, 1]; truth: bool ``(H, W)`` mask (1 = cell);
        threshold: the level; pred: ``prob > threshold`` (strictly greater, as the Java code).
    """

    def __init__(self, prob: np.ndarray, truth: np.ndarray, threshold: float) -> None:
        self.prob, self.truth, self.threshold = prob, truth, float(threshold)
        self.pred = prob > threshold
        self._shared: dict[str, Any] = {}

    def shared(self, key: str, compute: Callable[["Thresholded"], Any]) -> Any:
        """``compute(self)``, computed once per image and threshold for every metric asking ``key``
        (the pixel counts, the warped proposal)."""
        if key not in self._shared:
            self._shared[key] = compute(self)
        return self._shared[key]


@dataclass(frozen=True)
class Metric:
    """A registered metric.

    Attributes:
        name: the one name (sweep results, histories, records, tables).
        convention: what the number is, in one sentence (for tables and the glossary).
        lower_is_better: ``True`` for errors, ``False`` for scores.
        counts: additive counts of one :class:`Thresholded` image (sweep metrics).
        from_counts: the value from counts pooled over images, and the pooled number of pixels.
        objects: the value over lists of predicted and true label images (instance metrics).
        expensive: a sweep over it shows a progress bar (the warping errors).
    """

    name: str
    convention: str
    lower_is_better: bool = True
    counts: Callable[[Thresholded], Mapping[str, float]] | None = None
    from_counts: Callable[[Mapping[str, float], int], float] | None = None
    objects: Callable[[Sequence[np.ndarray], Sequence[np.ndarray]], float] | None = None
    expensive: bool = False

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name.isidentifier():
            raise ValueError(f"a metric name must be an identifier, got {self.name!r}")
        if (self.counts is None) != (self.from_counts is None):
            raise ValueError(f"metric {self.name!r}: give both counts and from_counts (a sweep metric) or neither")
        if self.counts is None and self.objects is None:
            raise ValueError(f"metric {self.name!r} needs counts/from_counts or objects")

    def better(self, a: float, b: float) -> bool:
        """Whether value ``a`` is strictly better than ``b``."""
        return a < b if self.lower_is_better else a > b


#: Every registered metric by name.
METRICS: dict[str, Metric] = {}

#: A name given up → the registered name of the same metric (record schema 2, issue #24: before it,
#: ``pixel_fscore`` was the course's pixel error ``1 − F`` and ``pixel`` was ``1 −`` accuracy).
FORMER_NAMES: Mapping[str, str] = {"pixel_fscore": "pixel_error", "pixel": "pixel_mismatch"}

#: What evaluations append to a metric's name: the threshold reaching it, its best over the
#: thresholds, the challenge's best-of-10 beside a value at a threshold chosen on validation
#: images, and the validation images' own value (:mod:`unet_tutorial.validation`,
#: :mod:`unet_tutorial.experiments.evaluation`).
METRIC_KEY_SUFFIXES: tuple[str, ...] = ("_threshold", "_best", "_oracle", "_validation")


def register_metric(metric: Metric) -> Metric:
    """Register ``metric`` under its name (once) and return it.

    Raises:
        ValueError: the name is registered already.
    """
    if metric.name in METRICS:
        raise ValueError(f"a metric named {metric.name!r} is registered already")
    if metric.name in FORMER_NAMES:  # an older record's key of that name means another metric
        raise ValueError(f"{metric.name!r} is the former name of {FORMER_NAMES[metric.name]!r}: choose another name")
    METRICS[metric.name] = metric
    return metric


def get_metric(name: str) -> Metric:
    """The metric registered as ``name``.

    Raises:
        ValueError: no such metric (the message lists the registered names).
    """
    if name not in METRICS:
        raise ValueError(f"unknown metric {name!r}{renamed_hint([name])}; registered: {', '.join(sorted(METRICS))}")
    return METRICS[name]


def sweep_metric_names() -> tuple[str, ...]:
    """The names of the metrics a threshold sweep can compute (those with counts), sorted."""
    return tuple(sorted(m.name for m in METRICS.values() if m.counts is not None))


def current_metric_key(key: str) -> str:
    """A recorded metric key under today's name: a former name (:data:`FORMER_NAMES`) is renamed.

    A key is ``[PREFIX/]NAME[SUFFIX]``: an optional ``/``-separated prefix (``ARM/seedS/``,
    ``baseline/``), a metric name and an optional suffix of :data:`METRIC_KEY_SUFFIXES`.
    Only ``NAME`` changes; keys of other metrics come back unchanged, so the function can
    be applied to a key of any age (it is idempotent).

    Examples:
        >>> current_metric_key("fcn/seed0/pixel_fscore_threshold")
        'fcn/seed0/pixel_error_threshold'
        >>> current_metric_key("pixel"), current_metric_key("pixel_error"), current_metric_key("rand_best")
        ('pixel_mismatch', 'pixel_error', 'rand_best')
    """
    if not isinstance(key, str):
        raise ValueError(f"a metric key is a string, got {key!r}")
    prefix, _, last = key.rpartition("/")
    for old, new in FORMER_NAMES.items():
        for suffix in ("", *METRIC_KEY_SUFFIXES):
            if last == old + suffix:
                return f"{prefix}/{new}{suffix}" if prefix else new + suffix
    return key


def rename_metric_keys(values: Mapping[str, Any]) -> dict[str, Any]:
    """``values`` with every key under today's name (:func:`current_metric_key`), in the same order.

    Raises:
        ValueError: two keys that name the same metric (a former and a current name side by side).
    """
    out: dict[str, Any] = {}
    read_as: dict[str, str] = {}  # today's key → the key it was read from (for the message)
    for key, value in values.items():
        new = current_metric_key(key)
        if new in out:
            raise ValueError(f"metric keys {read_as[new]!r} and {key!r} both name {new!r}: keep one")
        out[new], read_as[new] = value, key
    return out


def renamed_hint(names: Sequence[str]) -> str:
    """``" (renamed: 'pixel' is now 'pixel_mismatch')"`` for the former names among ``names``, else ``""``."""
    renamed = [f"{n!r} is now {FORMER_NAMES[n]!r}" for n in names if n in FORMER_NAMES]
    return f" (renamed: {', '.join(renamed)})" if renamed else ""
