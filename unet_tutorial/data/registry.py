"""The data sets by name: each one's loader (→ :class:`~unet_tutorial.data.Samples`) and split
(→ :class:`~unet_tutorial.data.Split`), the same for ``train --data``, :func:`prepare_data
<unet_tutorial.data.prepare_data>` and the recorded experiments.

======================  ==========================================  ========================================
name                    images (ids)                                default split
======================  ==========================================  ========================================
``isbi2012``            the 30 labelled EM slices (0-29)            train 0-24, held out 25-29 (Table 1)
``dsb2018``             DSB 2018 nuclei, gray (image ids)           the parts of :func:`dsb2018_split`
``ctc-u373``            PhC-U373 sequence 02 (frame numbers)        train 0-74 silver, validation 65-74,
                                                                    held out 85/92/106/112 gold (Table 2)
``ctc-u373-gold``       PhC-U373 sequence 02, gold frames only      train the 13 gold frames 10-59,
                                                                    validation 74/77, held out as ctc-u373
``ctc-hela``            DIC-HeLa sequence 01 (frame numbers)        train 0-51, validation 52-59, held out
                                                                    68-83, all silver truth
``synthetic``           *synthetic* EM-like images (0-9)            train 0-4, held out 5-9
======================  ==========================================  ========================================

Splits take ids: slice and frame numbers, or for DSB 2018 the part names ``"train"``,
``"validation"``, ``"held_out"``. Instance data sets (DSB 2018, the cell tracking data)
train on the separation masks of their instances (Fig. 3c) and keep the instances for
the object scores.
"""

from __future__ import annotations

import functools
import os
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from .ctc import load_ctc
from .dsb2018 import DSB2018_PARTS, dsb2018_gray, dsb2018_ids, dsb2018_modality, dsb2018_split, load_dsb2018
from .folder import folder_train_data
from .isbi2012 import load_isbi2012
from .samples import Samples, Split
from .synthetic import synthetic_em
from .training import TrainData

__all__ = ["DataSet", "DATASETS", "get_dataset", "load_samples", "make_split", "synthetic_samples", "prepare_data",
           "train_data_argument"]


@dataclass(frozen=True)
class DataSet:
    """A registered data set.

    Attributes:
        name: its registry name; description: one line.
        load: ``(root=None, download=False) → Samples``: every labelled image.
        split: ``(train_ids, held_out, validation=()) → Split`` by ids.
        default: the default ``(train_ids, held_out, validation)``.
    """

    name: str
    description: str
    load: Callable[..., Samples]
    split: Callable[..., Split]
    default: tuple[tuple[Any, ...], tuple[Any, ...], tuple[Any, ...]]


def _check_parts(name: str, train_ids: Sequence[Any], held_out: Sequence[Any], validation: Sequence[Any]) -> None:
    ids = [*train_ids, *held_out, *validation]
    if len(set(ids)) != len(ids):
        raise ValueError(f"{name} split: train {list(train_ids)}, held-out {list(held_out)} and validation "
                         f"{list(validation)} overlap")


def _by_ids(samples: Samples, train_ids, held_out, validation=()) -> Split:
    """A split of ``samples`` by ids (ISBI 2012 slices, synthetic images)."""
    _check_parts(samples.name, train_ids, held_out, validation)
    return Split(samples.select(list(train_ids)), samples.select(list(held_out)),
                 samples.select(list(validation)) if validation else None, name=samples.name)


# ISBI 2012 ------------------------------------------------------------------

def _isbi_split(train_ids, held_out, validation=(), *, root=None) -> Split:
    return _by_ids(load_isbi2012(root), train_ids, held_out, validation)


# synthetic ------------------------------------------------------------------

def synthetic_samples(root=None, download: bool = False, count: int = 10, size: int = 256) -> Samples:
    """``count`` *synthetic* EM-like images of ``size`` px (:func:`~unet_tutorial.data.synthetic_em`), never real data."""
    pairs = [synthetic_em((size, size), n_cells=max(4, size**2 // 4400), seed=i) for i in range(count)]
    return Samples(tuple(p[0] for p in pairs), tuple(p[1] for p in pairs), None, tuple(range(count)), "synthetic")


def _synthetic_split(train_ids, held_out, validation=(), *, root=None) -> Split:
    return _by_ids(synthetic_samples(), train_ids, held_out, validation)


# cell tracking (Table 2) ----------------------------------------------------

def _ctc_load(root=None, download: bool = False, *, dataset: str, sequence: str, truth: str = "silver") -> Samples:
    """Every frame of the sequence with a mask of ``truth`` (:func:`~unet_tutorial.data.load_ctc`)."""
    return load_ctc(dataset, sequence, truth=truth, root=root, download=download)


def _ctc_split(train_ids, held_out, validation=(), *, dataset: str, sequence: str, held_out_truth: str,
               train_truth: str = "silver", root=None) -> Split:
    """``train_truth`` of ``train_ids`` and of the ``validation`` frames, ``held_out_truth`` of ``held_out``."""
    def frames(ids, truth: str) -> Samples:
        return load_ctc(dataset, sequence, truth=truth, frames=list(ids), root=root)

    return Split(frames(train_ids, train_truth), frames(held_out, held_out_truth),
                 frames(validation, train_truth) if validation else None, name=f"{dataset}/{sequence}")


# DSB 2018 -------------------------------------------------------------------

@functools.lru_cache(maxsize=1)
def _dsb2018_parts(names: tuple[str, ...], root=None,
                   download: bool = False) -> tuple[dict[str, Samples], dict[str, dict]]:
    """Gray images, separation masks and instances of the parts ``names`` of
    :func:`~unet_tutorial.data.dsb2018_split`, and each part's ids, sizes, modalities and
    nucleus count (read once per process: the experiments and their smoke tests share them)."""
    parts = dsb2018_split(dsb2018_ids(root, download=download))
    bad = [n for n in names if n not in parts]
    if bad or len(set(names)) != len(names):
        raise ValueError(f"DSB 2018 split: parts {list(names)} must be distinct names of {list(parts)}")
    loaded, detail = {}, {}
    for name in names:
        # colour, for the modalities; gray from it exactly as load_dsb2018(gray=True) converts
        colour = load_dsb2018(root, ids=parts[name], gray=False)
        loaded[name] = Samples(tuple(dsb2018_gray(im) for im in colour.images), colour.masks, colour.instances,
                               colour.ids, colour.name)
        detail[name] = {
            "ids": parts[name],
            "sizes": dict(Counter(f"{im.shape[1]}x{im.shape[2]}" for im in colour.images).most_common()),
            "modalities": dict(Counter(dsb2018_modality(im) for im in colour.images).most_common()),
            "nuclei": int(sum(int(i.max()) for i in colour.instances)),
        }
    return loaded, detail


def _join(parts: list[Samples]) -> Samples:
    first = parts[0]
    return Samples(sum((p.images for p in parts), ()), sum((p.masks for p in parts), ()),
                   sum((p.instances for p in parts), ()), sum((p.ids for p in parts), ()), first.name)


def _dsb2018_split(train_parts, held_out, validation=("validation",), *, root=None) -> Split:
    """Parts of :func:`~unet_tutorial.data.dsb2018_split` by name; ``detail`` lists every part's
    ids and its counts per image size and modality."""
    loaded, detail = _dsb2018_parts((*train_parts, *held_out, *validation), root, False)
    return Split(_join([loaded[n] for n in train_parts]), _join([loaded[n] for n in held_out]),
                 _join([loaded[n] for n in validation]) if validation else None, name="dsb2018", detail=detail)


def _dsb2018_load(root=None, download: bool = False) -> Samples:
    """Every image of the parts (held out, validation, train), gray as :func:`_dsb2018_parts` gives them."""
    loaded, _ = _dsb2018_parts(tuple(DSB2018_PARTS), root, download)
    return _join([loaded[n] for n in DSB2018_PARTS])


def _ctc_entry(name: str, dataset: str, sequence: str, held_out_truth: str, description: str,
               default, train_truth: str = "silver") -> DataSet:
    return DataSet(name, description, functools.partial(_ctc_load, dataset=dataset, sequence=sequence,
                                                        truth=train_truth),
                   functools.partial(_ctc_split, dataset=dataset, sequence=sequence, held_out_truth=held_out_truth,
                                     train_truth=train_truth),
                   default)


#: The gold-truth frames of PhC-U373 sequence 02 before frame 74 (its README lists all 19).
U373_GOLD_TRAIN = (10, 17, 19, 20, 22, 26, 35, 36, 41, 49, 51, 52, 59)

#: Every data set by name.
DATASETS: dict[str, DataSet] = {d.name: d for d in (
    DataSet("isbi2012", "ISBI 2012 EM segmentation challenge, 30 labelled 512x512 slices (§4, Table 1)",
            load_isbi2012, _isbi_split, (tuple(range(25)), tuple(range(25, 30)), ())),
    DataSet("dsb2018", "Data Science Bowl 2018 nuclei, one mask per nucleus (gray images)",
            _dsb2018_load, _dsb2018_split, (("train",), ("held_out",), ("validation",))),
    _ctc_entry("ctc-u373", "PhC-C2DH-U373", "02", "gold",
               "PhC-U373 sequence 02 (Table 2): silver truth to train, gold truth held out",
               (tuple(range(75)), (85, 92, 106, 112), tuple(range(65, 75)))),
    # the paper trained on partially annotated gold frames (§4): the gold frames alone, split by time
    _ctc_entry("ctc-u373-gold", "PhC-C2DH-U373", "02", "gold",
               "PhC-U373 sequence 02 (Table 2): gold truth (partial) only, to train and held out",
               (U373_GOLD_TRAIN, (85, 92, 106, 112), (74, 77)), train_truth="gold"),
    _ctc_entry("ctc-hela", "DIC-C2DH-HeLa", "01", "silver",
               "DIC-HeLa sequence 01 (Table 2): silver truth only (no public gold truth)",
               (tuple(range(52)), tuple(range(68, 84)), tuple(range(52, 60)))),
    DataSet("synthetic", "*synthetic* EM-like images (tests and illustrations, never real data)",
            synthetic_samples, _synthetic_split, (tuple(range(5)), tuple(range(5, 10)), ())),
)}


def get_dataset(name: str) -> DataSet:
    """The data set registered as ``name`` (``ValueError`` listing the known names otherwise)."""
    if name not in DATASETS:
        raise ValueError(f"unknown data set {name!r}; known: {', '.join(DATASETS)} (or a folder with images/ "
                         "and masks/)")
    return DATASETS[name]


def load_samples(name: str, root=None, download: bool = False) -> Samples:
    """Every labelled image of data set ``name`` as :class:`~unet_tutorial.data.Samples`."""
    return get_dataset(name).load(root=root, download=download)


def make_split(name: str, train_ids: Sequence[Any] | None = None, held_out: Sequence[Any] | None = None,
               validation: Sequence[Any] | None = None) -> Split:
    """The :class:`~unet_tutorial.data.Split` of data set ``name``: the given ids, or its default split."""
    d = get_dataset(name)
    t, h, v = d.default
    return d.split(tuple(t if train_ids is None else train_ids), tuple(h if held_out is None else held_out),
                   tuple(v if validation is None else validation))


# --------------------------------------------------------------------------
# The `data` argument of training: a name, a folder, arrays or a TrainData
# --------------------------------------------------------------------------


def _split(images: Sequence[np.ndarray], labels: Sequence[np.ndarray], holdout: int, name: str,
           num_classes: int = 2) -> TrainData:
    n = len(images)
    if holdout >= n:
        raise ValueError(f"holdout = {holdout} leaves no training image out of {n} ({name})")
    cut = n - holdout
    return TrainData(list(images[:cut]), list(labels[:cut]), list(images[cut:]), list(labels[cut:]), name,
                     num_classes)


def prepare_data(data: Any, holdout: int = 5, *, synthetic_count: int = 10, synthetic_size: int = 256,
                 val_fraction: float = 0.2, num_classes: int = 2) -> TrainData:
    """Turn ``data`` into a :class:`TrainData`, holding out the last ``holdout`` images.

    Args:
        data: ``"isbi2012"`` (the 30 training slices of ISBI 2012, §4: slices
            ``0 … 29−holdout`` train, the last ``holdout`` validate),
            ``"synthetic"`` (``synthetic_count`` *synthetic* EM-like images of
            ``synthetic_size`` px, see :func:`unet_tutorial.data.synthetic_em`),
            another name of :data:`unet_tutorial.data.DATASETS` (its default split),
            a ``(images, labels)`` pair to split, a :class:`TrainData`
            (used as is), or a folder (a :class:`~pathlib.Path`, or a string
            naming an existing folder) with ``images/`` and ``masks/``, split by
            :func:`~unet_tutorial.data.folder.folder_train_data` (``val_fraction``
            of its images held out; ``holdout`` is not used).
        holdout: images held out for validation.
        val_fraction: for a folder, the fraction of its images held out (in [0, 1)).
        num_classes: ``K``; above 2 the labels (a folder's masks, or arrays) are class labels
            ``0..K − 1`` (a folder is read with ``classes=K``).
    """
    if isinstance(data, TrainData):
        return data
    if isinstance(data, os.PathLike) or (isinstance(data, str) and data not in DATASETS and os.path.isdir(data)):
        return folder_train_data(data, val_fraction=val_fraction, classes=num_classes if num_classes > 2 else None)
    if isinstance(data, str):
        if data == "synthetic":
            samples = synthetic_samples(count=synthetic_count, size=synthetic_size)
            return _split(list(samples.images), list(samples.masks), holdout, "synthetic")
        if data == "isbi2012":  # the last `holdout` slices held out (5: Table 1's 25-29)
            samples = get_dataset(data).load()
            return _split(list(samples.images), list(samples.masks), holdout, "isbi2012")
        if data in DATASETS:  # its registered default split
            return make_split(data).train_data()
        get_dataset(data)  # ValueError naming the known data sets
    if isinstance(data, (tuple, list)) and len(data) == 2:
        return _split(list(data[0]), list(data[1]), holdout, "arrays", num_classes)
    raise ValueError(
        f'data must be "isbi2012", "synthetic", a folder, an (images, labels) pair or a TrainData, '
        f'got {type(data).__name__}'
    )


def train_data_argument(data: str, val_fraction: float | None = None,
                        classes: int | None = None) -> str | TrainData:
    """The ``train`` command's ``--data``/``--val-fraction``: a data set name as is, or a folder's split.

    Raises:
        ValueError: ``--val-fraction`` with a data set name, or ``data`` neither a
            name nor an existing folder (and whatever :func:`folder_train_data` raises).
    """
    if data in DATASETS:
        if classes is not None:
            raise ValueError(f"--classes applies to a folder --data only; {data} has 2 classes")
        if val_fraction is not None:
            raise ValueError(f"--val-fraction applies to a folder --data only; {data} has its own split "
                             "(isbi2012 and synthetic hold out the last `holdout` images: --set holdout=N)")
        return data
    if not Path(data).is_dir():
        raise ValueError(f"--data must be a data set ({', '.join(DATASETS)}) or a folder with images/ and "
                         f"masks/, got {data!r} (no such folder)")
    return folder_train_data(Path(data), val_fraction=0.2 if val_fraction is None else val_fraction,
                             classes=classes)
