"""A data set made ready for training (§3): the split, the weight maps of Eq. 2, the tiles.

:class:`TrainData` holds the training and held-out images with their labels and
checks them all when it is built (binary labels, finite images, a cell pixel in
every held-out label) (:func:`~unet_tutorial.data.registry.prepare_data` builds one from
a data set name, a folder or arrays); :func:`weight_maps` pre-computes the per-pixel loss weights of Eq. 2;
:func:`make_tile_dataset` gives the :class:`~unet_tutorial.data.tiles.TileDataset`
of random, augmented tiles a configuration trains on.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import TYPE_CHECKING, Sequence

import numpy as np
from scipy import ndimage as ndi

from .._checks import check_binary, check_image
from ..augment import augmentation
from ..normalize import normalize_image
from .tiles import TileDataset

if TYPE_CHECKING:
    from ..config import TrainConfig

__all__ = ["TrainData", "weight_maps", "make_tile_dataset", "normalized", "with_target", "annotated_region"]


@dataclass
class TrainData:
    """Training and held-out images with their labels.

    Attributes:
        images: float32 ``(n, H, W)`` in [0, 1] (or a list of such 2-D arrays).
        labels: integer ``(n, H, W)``, 1 = cell (foreground), 0 = membrane/background;
            with ``num_classes = K > 2`` class labels ``0..K − 1`` (0 = background).
        val_images, val_labels: the held-out images, same conventions (may be empty).
        name: where the data came from (for the history and messages).
        num_classes: ``K``, the classes of the labels (2: binary masks).
    """

    images: Sequence[np.ndarray]
    labels: Sequence[np.ndarray]
    val_images: Sequence[np.ndarray] = ()
    val_labels: Sequence[np.ndarray] = ()
    name: str = "arrays"
    num_classes: int = 2

    def __post_init__(self) -> None:
        # Every check here runs when the data is built, so that bad labels fail
        # before the first step, not at the first loss or after val_every steps.
        if len(self.images) == 0:
            raise ValueError("no training images")
        for kind, ims, labs in (("training", self.images, self.labels), ("held-out", self.val_images, self.val_labels)):
            if len(ims) != len(labs):
                raise ValueError(f"{len(ims)} {kind} images but {len(labs)} labels")
            for i, (im, lab) in enumerate(zip(ims, labs)):
                check_image(im, f"{kind} image {i}")  # 2-D, non-empty, real, finite
                if np.shape(lab) != np.shape(im):
                    raise ValueError(
                        f"{kind} label {i} has shape {np.shape(lab)}, its image {np.shape(im)}: "
                        "image and label must be 2-D arrays of the same shape (H, W)"
                    )
                if self.num_classes > 2:
                    from .._checks import check_class_labels

                    mask = check_class_labels(lab, self.num_classes, f"{kind} label {i}")
                else:
                    mask = check_binary(lab, f"{kind} label {i}",
                                        hint=" (labels: 1 = cell, 0 = membrane/background)")
                if kind == "held-out" and not mask.any():
                    raise ValueError(f"held-out label {i} has no cell pixel (all 0): the validation "
                                     "metrics (Rand error, IoU) are undefined on it; hold out another image")


def normalized(data: TrainData, mode: str) -> TrainData:
    """``data`` with its *training* images normalised (:func:`~unet_tutorial.normalize.normalize_image`).

    The held-out images stay raw: every prediction normalises its input itself
    (``model.normalize``), exactly as it will for a reader's image.
    """
    if mode == "none":
        return data
    out = copy.copy(data)  # its checks ran when it was built; only the training images change
    out.images = [normalize_image(im, mode) for im in data.images]
    return out


def with_target(data: TrainData, target: str) -> TrainData:
    """``data`` with its labels made the training target ``target`` (``TrainConfig.target``).

    ``"mask"``: unchanged (the paper). ``"boundary"``: each binary separation mask's
    4-connected cells (:func:`~unet_tutorial.weights.instances_from_binary`, as Eq. 2
    finds them) become background / interior / boundary labels
    (:func:`~unet_tutorial.since2015.boundary_classes`), training and held-out alike, so
    the data holds 3 classes.

    Raises:
        ValueError: an unknown target, or ``"boundary"`` on data that is not 2-class.
    """
    from ..since2015 import TARGETS, boundary_classes
    from ..weights import instances_from_binary

    if target not in TARGETS:
        raise ValueError(f"target must be one of {', '.join(TARGETS)}, got {target!r}")
    if target == "mask":
        return data
    if data.num_classes != 2:
        raise ValueError(f"the boundary target is made from binary instance masks, but {data.name} holds "
                         f"{data.num_classes}-class labels")
    hint = " (labels: 1 = cell, 0 = membrane/background)"

    def convert(labels, kind):
        return [boundary_classes(instances_from_binary(check_binary(lab, f"{kind} label {i}", hint=hint)))
                for i, lab in enumerate(labels)]

    return TrainData(list(data.images), convert(data.labels, "training"), list(data.val_images),
                     convert(data.val_labels, "held-out"), name=data.name, num_classes=3)


def annotated_region(mask: np.ndarray, distance: float) -> np.ndarray:
    """Where a partial annotation can be trusted: the cells, and background within ``distance`` px of one.

    The cell tracking challenge's gold truth is *partial* (§4 trains on "partially
    annotated" images): a cell left unannotated looks like background. Near an
    annotated cell, the annotator saw the background; far from every annotated cell,
    an unlabelled pixel may be a cell nobody drew. Multiplying the loss weights by this
    mask ignores those pixels instead of teaching them as background.

    Args:
        mask: ``(H, W)`` 0/1 (or bool) cell mask of one image.
        distance: [pixels] > 0; Euclidean distance to the nearest cell pixel.

    Returns:
        float32 ``(H, W)``: 1 where the label is trusted, 0 elsewhere (all 0 for an
        image without any annotated cell: nothing in it can be trusted).

    Raises:
        ValueError: a mask that is not 0/1, or a distance that is not > 0.

    Examples:
        >>> m = np.zeros((1, 9), np.uint8); m[0, 0] = 1
        >>> annotated_region(m, 3.0)
        array([[1., 1., 1., 1., 0., 0., 0., 0., 0.]], dtype=float32)
    """
    from .._checks import check_positive

    cells = check_binary(mask, "mask").astype(bool)
    d = check_positive(distance, "distance")
    if not cells.any():
        return np.zeros(cells.shape, np.float32)
    return (ndi.distance_transform_edt(~cells) <= d).astype(np.float32)


def weight_maps(labels: Sequence[np.ndarray], config: TrainConfig) -> list[np.ndarray] | None:
    """Pre-computed per-pixel loss weights ``w(x)`` (§3, Eq. 2) for every training label.

    ``K > 2`` classes (``config.output_classes``: class labels, or the boundary target):
    the class-balancing ``w_c`` of each class label
    (:func:`unet_tutorial.weights.class_label_weight_map`), or ``None``.
    ``unlabelled_beyond > 0`` (partial annotations) multiplies each 2-class map by
    :func:`annotated_region` (1 near the annotated cells, 0 beyond).
    ``border_weights=True``: ``w_c + w0 · exp(−(d1 + d2)² / 2σ²)`` on the cell
    instances (4-connected cell regions) of each binary label, with
    :func:`unet_tutorial.weights.border_weight_map`; ``False``: only the
    class-balancing term ``w_c``, or ``None`` (plain cross-entropy) when
    ``class_weights="none"`` too.

    Returns:
        A list of float32 ``(H, W)`` maps, one per label, or ``None``.

    Raises:
        ValueError: a label that is not a non-empty 2-D mask of 0/1 (or bool) values.
    """
    from ..weights import border_weight_map, class_label_weight_map, class_weight_map, instances_from_binary

    if config.output_classes > 2:  # class labels 0..K-1: only w_c (Eq. 2's borders need instances)
        maps = [class_label_weight_map(lab, config.output_classes, config.class_weights == "balanced")
                for lab in labels]
        return maps if config.class_weights == "balanced" else None
    # Binary 0/1 (or bool) labels only: `label == 1` would silently make a 0/255
    # label all background, and a float label would be compared with 1.0.
    hint = " (labels: 1 = cell, 0 = membrane/background)"
    masks = [check_binary(lab, f"labels[{i}]", hint=hint) for i, lab in enumerate(labels)]
    cw = "balanced" if config.class_weights == "balanced" else (1.0, 1.0)
    if config.border_weights:
        maps = [border_weight_map(instances_from_binary(mask), w0=config.w0,
                                  sigma=config.sigma, class_weights=cw).astype(np.float32) for mask in masks]
    elif config.class_weights == "balanced":
        maps = [class_weight_map(mask, "balanced").astype(np.float32) for mask in masks]
    else:
        maps = None
    if config.unlabelled_beyond:  # partial annotations: no loss where a cell may be unlabelled
        trusted = [annotated_region(mask, config.unlabelled_beyond) for mask in masks]
        maps = trusted if maps is None else [w * t for w, t in zip(maps, trusted)]
    return maps




def make_tile_dataset(data: TrainData, config: TrainConfig):
    """The :class:`~unet_tutorial.data.TileDataset` of the training images of ``data``.

    Input tiles of ``config.tile_size`` px, labels and pre-computed weight maps
    (Eq. 2, :func:`weight_maps`) cropped to the output size, augmented as
    ``config.augment`` says, seeded by ``config.seed``.
    """

    weights = weight_maps(data.labels, config)
    return TileDataset(
        [np.asarray(im, dtype=np.float32) for im in data.images],
        [np.asarray(lab) for lab in data.labels],
        input_size=config.tile_size,
        output_size=config.output_size,
        weights=weights,
        augment=augmentation(config.augment),
        seed=config.seed,
    )
