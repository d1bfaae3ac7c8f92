"""One contract for every data set: labelled images as :class:`Samples`, and a :class:`Split`.

Whatever a data set's files look like (ISBI 2012 PNG stacks, DSB 2018 one mask per
nucleus, cell tracking sequences, a reader's folder), what the course trains and scores
on is the same: images, their class masks (0..K−1; for the paper's 2-class task
1 = cell), their instance labels where objects are annotated one by one, and the ids
that name each image in its data set (slice or frame numbers, DSB image ids, file
names). A :class:`Split` holds the training, validation (for thresholds, never scored)
and held-out (scored) parts, named data instead of attributes added on the way.
:mod:`unet_tutorial.data.registry` maps each data set's name to its loader and split.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

__all__ = ["Samples", "Split"]


@dataclass(frozen=True)
class Samples:
    """Labelled images of one data set.

    Attributes:
        images: float32 ``(H, W)`` (or ``(C, H, W)``) images in [0, 1], sizes may differ.
        masks: integer ``(H, W)`` class labels ``0..num_classes − 1`` (2 classes: 1 =
            cell/foreground); for instance data, the separation masks (Fig. 3c).
        instances: int ``(H, W)`` instance ids (0 = background) per image, or ``None``
            when the data set has no object annotations.
        ids: one id per image, as the data set names it (slice/frame number, image id, file name).
        name: the data set (for messages and records).
        num_classes: ``K``.
        detail: what a record should keep about the images (sizes, modalities, …).
    """

    images: tuple[np.ndarray, ...]
    masks: tuple[np.ndarray, ...]
    instances: tuple[np.ndarray, ...] | None
    ids: tuple[Any, ...]
    name: str = ""
    num_classes: int = 2
    detail: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for f in ("images", "masks", "ids"):
            object.__setattr__(self, f, tuple(getattr(self, f)))
        if self.instances is not None:
            object.__setattr__(self, "instances", tuple(self.instances))
        n = len(self.images)
        counts = {"masks": len(self.masks), "ids": len(self.ids),
                  **({"instances": len(self.instances)} if self.instances is not None else {})}
        bad = {k: v for k, v in counts.items() if v != n}
        if bad:
            raise ValueError(f"{self.name or 'samples'}: {n} images but " +
                             ", ".join(f"{v} {k}" for k, v in bad.items()))
        if len(set(self.ids)) != n:
            raise ValueError(f"{self.name or 'samples'}: ids must be distinct, got {list(self.ids)}")
        for i, (im, m) in enumerate(zip(self.images, self.masks)):
            if np.shape(im)[-2:] != np.shape(m):
                raise ValueError(f"{self.name or 'samples'}: image {self.ids[i]!r} is {np.shape(im)}, its mask "
                                 f"{np.shape(m)}: they must be the same size")

    def __len__(self) -> int:
        return len(self.images)

    def select(self, ids: Sequence[Any]) -> "Samples":
        """The samples of ``ids``, in that order.

        Raises:
            ValueError: an id that is not in these samples (the message names it).
        """
        where = {i: k for k, i in enumerate(self.ids)}
        missing = [i for i in ids if i not in where]
        if missing:
            raise ValueError(f"{self.name or 'samples'}: no image with id {missing[:5]} "
                             f"(ids: {list(self.ids)[:10]}{' …' if len(self.ids) > 10 else ''})")
        k = [where[i] for i in ids]
        return Samples(tuple(self.images[j] for j in k), tuple(self.masks[j] for j in k),
                       None if self.instances is None else tuple(self.instances[j] for j in k),
                       tuple(ids), self.name, self.num_classes, self.detail)


@dataclass(frozen=True)
class Split:
    """The parts of a data set an experiment uses: train on ``train``, choose thresholds on
    ``validation`` (never scored), score ``held_out``.

    Attributes:
        train, held_out: :class:`Samples`; validation: :class:`Samples` or ``None``.
        name: the data set; detail: what the record keeps about the parts (DSB 2018: ids,
            sizes, modalities per part).
    """

    train: Samples
    held_out: Samples
    validation: Samples | None = None
    name: str = ""
    detail: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        # Held-out images are never trained on nor used to choose a threshold. (A validation
        # part inside the training part is allowed: ctc2015-u373 was recorded so, and says so.)
        held = set(self.held_out.ids)
        for part, s in (("train", self.train), ("validation", self.validation)):
            both = sorted(held & set(s.ids), key=str) if s is not None else []
            if both:
                raise ValueError(f"{self.name or 'split'}: images {both[:5]} are both held out and in {part}")

    def ids(self) -> dict[str, list[Any]]:
        """The ids of each part (for a record)."""
        out = {"train": list(self.train.ids), "held_out": list(self.held_out.ids)}
        if self.validation is not None:
            out["validation"] = list(self.validation.ids)
        return out

    def train_data(self):
        """The :class:`~unet_tutorial.data.TrainData` the training loop takes: training images and
        masks, the held-out ones for the curves."""
        from .training import TrainData

        return TrainData(list(self.train.images), list(self.train.masks), list(self.held_out.images),
                         list(self.held_out.masks), name=self.name, num_classes=self.train.num_classes)
