"""Training tiles for the unpadded network (§2, §3; overlap-tile strategy, Fig. 2).

- :func:`reflect_indices`: a range of pixel indices mirrored into an axis, as
  ``np.pad(..., mode="reflect")`` (the one mirroring rule of the package,
  :func:`unet_tutorial.mirror.fold_mirror`).
- :class:`TileDataset`: random input/output tiles of images, labels and weight
  maps; the input tile is the output tile plus the context border, mirrored
  beyond the image edge.

Works on any images; the data sets themselves are in the other modules of
:mod:`unet_tutorial.data`.
"""

from __future__ import annotations

import numpy as np
import torch

from .._checks import check_int
from ..mirror import fold_mirror

__all__ = ["reflect_indices", "TileDataset"]


def reflect_indices(start: int, size: int, n: int) -> np.ndarray:
    """Indices ``start .. start + size - 1`` mirrored into ``[0, n)``.

    Mirroring about the edge pixels (``-1 -> 1``, ``n -> n - 2``), as ``np.pad(...,
    mode="reflect")`` and the overlap-tile strategy of Fig. 2; repeated for ranges
    longer than the image.

    Raises:
        ValueError: ``n < 1`` (an empty axis has nothing to mirror), ``size < 0``, or
            an argument that is not an int.
    """
    start = check_int(start, "start")
    size = check_int(size, "size", minimum=0)
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)):
        check_int(n, "n")  # raises: not an int
    return fold_mirror(np.arange(start, start + size), n)


def _as_image_list(images, name: str) -> list[np.ndarray]:
    if isinstance(images, np.ndarray) and images.ndim in (3, 4):
        return list(images)
    if isinstance(images, (list, tuple)):
        return list(images)
    raise ValueError(
        f"{name} must be a list of arrays or an array (N, H, W) / (N, C, H, W), got "
        f"{type(images).__name__}{getattr(images, 'shape', '')}"
    )


class TileDataset(torch.utils.data.Dataset):
    """Random training tiles for the unpadded U-Net (§2, §3; overlap-tile, Fig. 2).

    Item ``i`` picks image ``i mod len(images)`` and a random output-tile position
    in it (the output tile may cover the whole image or be smaller; images smaller
    than the tile are mirrored). The input tile is the output tile plus the context
    border of ``(input_size - output_size) // 2`` px on each side, mirrored beyond
    the image edges; the label and the weight map are cropped to the output tile.

    With ``augment``, a region ``margin`` px larger on each side than the input tile
    is cut (mirrored where needed), augmented, and its centre cut out, so that the
    deformation pulls real neighbouring image content into the tile rather than
    the augmentation's own border handling.

    Every item is a pure function of ``(seed, epoch, index)``: its generator is
    ``np.random.default_rng([seed, epoch, index])``. Items are thus identical for
    any number of DataLoader workers, and the dataset holds no mutable random state.
    Call :meth:`set_epoch` before creating the DataLoader iterator of each epoch
    (workers receive a copy of the dataset when the iterator starts).

    Args:
        images: images ``(H, W)`` or ``(C, H, W)``, float (values as the network
            should see them, e.g. ``[0, 1]``); a list, or an array ``(N, H, W)`` /
            ``(N, C, H, W)``. Sizes may differ between images.
        labels: class labels ``(H, W)`` per image, integer >= 0 (e.g. 0 = membrane,
            1 = cell for ISBI 2012).
        input_size: edge of the input tile in pixels (e.g. 572).
        output_size: edge of the output tile in pixels (e.g. 388); ``input_size -
            output_size`` must be even (the network's border on both sides).
        weights: optional per-pixel loss weight maps ``(H, W)`` (Eq. 2), float.
        augment: optional callable ``(image (C, S, S), label (S, S), weight (S, S) or
            None, rng) -> (image, label, weight)``, e.g.
            :func:`unet_tutorial.augment.paper_augmentation`; it must keep the shapes.
        samples_per_epoch: the dataset length; default ``len(images)``.
        seed: base seed.
        margin: extra context (px per side) cut around the input tile for
            ``augment``; default 0 without augmentation, else 32 (the paper's
            elastic deformation moves pixels by about 10 px, rarely more than 30 px).

    Returns (per item):
        ``(x, y, w)``: ``x`` float32 tensor ``(C, input_size, input_size)``; ``y``
        int64 ``(output_size, output_size)``; ``w`` float32 ``(output_size,
        output_size)``, all ones without ``weights``.
    """

    def __init__(
        self,
        images,
        labels,
        *,
        input_size: int,
        output_size: int,
        weights=None,
        augment=None,
        samples_per_epoch: int | None = None,
        seed: int = 0,
        margin: int | None = None,
    ) -> None:
        imgs = _as_image_list(images, "images")
        labs = _as_image_list(labels, "labels") if isinstance(labels, np.ndarray) else list(labels)
        if not imgs:
            raise ValueError("images is empty")
        if len(labs) != len(imgs):
            raise ValueError(f"got {len(imgs)} images but {len(labs)} labels")
        wts = None if weights is None else (list(weights) if not isinstance(weights, np.ndarray) else list(weights))
        if wts is not None and len(wts) != len(imgs):
            raise ValueError(f"got {len(imgs)} images but {len(wts)} weight maps")
        input_size, output_size = int(input_size), int(output_size)
        if output_size < 1 or input_size < output_size:
            raise ValueError(
                f"need 1 <= output_size <= input_size, got input_size={input_size}, output_size={output_size}"
            )
        if (input_size - output_size) % 2:
            raise ValueError(
                f"input_size - output_size must be even (a border on both sides), got {input_size} - {output_size}"
            )
        if margin is None:
            margin = 0 if augment is None else 32
        if int(margin) != margin or margin < 0:
            raise ValueError(f"margin must be an integer >= 0 (pixels), got {margin!r}")
        if augment is not None and not callable(augment):
            raise ValueError(f"augment must be callable or None, got {type(augment).__name__}")
        if samples_per_epoch is not None and int(samples_per_epoch) < 1:
            raise ValueError(f"samples_per_epoch must be >= 1, got {samples_per_epoch}")

        self.images: list[np.ndarray] = []
        self.labels: list[np.ndarray] = []
        self.weights: list[np.ndarray] | None = None if wts is None else []
        channels = None
        for k, (im, lab) in enumerate(zip(imgs, labs)):
            im, lab = np.asarray(im), np.asarray(lab)
            if im.ndim not in (2, 3):
                raise ValueError(f"images[{k}] must have shape (H, W) or (C, H, W), got {im.shape}")
            if im.size == 0:
                raise ValueError(f"images[{k}] is empty (shape {im.shape})")
            if not np.issubdtype(im.dtype, np.floating):
                raise ValueError(f"images[{k}] must be floating point, got dtype {im.dtype}")
            if not np.isfinite(im).all():
                raise ValueError(f"images[{k}] contains NaN or infinite values")
            im = np.ascontiguousarray(im.reshape((1,) * (3 - im.ndim) + im.shape), dtype=np.float32)
            if channels is None:
                channels = im.shape[0]
            elif im.shape[0] != channels:
                raise ValueError(f"images[{k}] has {im.shape[0]} channels, images[0] has {channels}")
            if lab.shape != im.shape[1:]:
                raise ValueError(f"label {k} has shape {lab.shape}, its image {im.shape[1:]}: "
                                 f"labels[{k}] must have the shape (H, W) of images[{k}]")
            if not (np.issubdtype(lab.dtype, np.integer) or lab.dtype == np.bool_):
                raise ValueError(f"labels[{k}] must have an integer dtype, got {lab.dtype}")
            if lab.dtype.kind == "i" and lab.min() < 0:
                # the training loss skips its label check (it trusts this one)
                raise ValueError(f"labels[{k}] has negative values (min {lab.min()}); class labels must be >= 0")
            self.images.append(im)
            self.labels.append(lab)
            if wts is not None:
                wt = np.asarray(wts[k])
                if wt.shape != lab.shape:
                    raise ValueError(f"weight map {k} has shape {wt.shape}, its label {lab.shape}: "
                                     f"weights[{k}] must have the shape of labels[{k}]")
                if not np.issubdtype(wt.dtype, np.floating):
                    raise ValueError(f"weights[{k}] must be floating point, got dtype {wt.dtype}")
                if not np.isfinite(wt).all():
                    raise ValueError(f"weights[{k}] contains NaN or infinite values")
                if (wt < 0).any():
                    raise ValueError(f"weights[{k}] has negative values (min {wt.min()}); loss weights must be >= 0")
                self.weights.append(np.ascontiguousarray(wt, dtype=np.float32))
        self.channels = channels
        self.input_size, self.output_size = input_size, output_size
        self.border = (input_size - output_size) // 2
        self.margin = int(margin)
        self.augment = augment
        self.samples_per_epoch = len(self.images) if samples_per_epoch is None else int(samples_per_epoch)
        self.seed = int(seed)
        self.epoch = 0

    def __len__(self) -> int:
        return self.samples_per_epoch

    def set_epoch(self, epoch: int) -> None:
        """Select the epoch: items of other epochs get other random tiles and augmentations."""
        self.epoch = int(epoch)

    def _rng(self, index: int) -> np.random.Generator:
        return np.random.default_rng([self.seed, self.epoch, index])

    def _position(self, index: int, rng: np.random.Generator) -> tuple[int, int, int]:
        if not 0 <= index < len(self):
            raise IndexError(f"index {index} out of range for {len(self)} samples")
        k = index % len(self.images)
        h, w = self.labels[k].shape
        out = self.output_size
        # the tile stays inside the image when it fits, else it is centred at random
        row = int(rng.integers(min(0, h - out), max(0, h - out) + 1))
        col = int(rng.integers(min(0, w - out), max(0, w - out) + 1))
        return k, row, col

    def tile_position(self, index: int) -> tuple[int, int, int]:
        """``(image index, row, col)`` of the output tile's top-left pixel for item ``index``.

        In image pixels; negative or beyond-the-edge positions mean mirrored content.
        The input tile starts ``border`` px further up and left.
        """
        return self._position(index, self._rng(index))

    def __getitem__(self, index: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        rng = self._rng(index)
        k, row, col = self._position(index, rng)
        m, b = self.margin, self.border
        size = self.input_size + 2 * m
        image, label = self.images[k], self.labels[k]
        rows = reflect_indices(row - b - m, size, label.shape[0])
        cols = reflect_indices(col - b - m, size, label.shape[1])
        x = image[:, rows[:, None], cols[None, :]]
        y = label[rows[:, None], cols[None, :]]
        w = None if self.weights is None else self.weights[k][rows[:, None], cols[None, :]]
        if self.augment is not None:
            x, y, w = self.augment(x, y, w, rng)
            if x.shape != (self.channels, size, size) or y.shape != (size, size):
                raise ValueError(
                    f"augment changed the tile shape: got image {x.shape}, label {y.shape}, "
                    f"expected {(self.channels, size, size)} and {(size, size)}"
                )
        inner = slice(m + b, m + b + self.output_size)
        x = x[:, m : m + self.input_size, m : m + self.input_size]
        y = y[inner, inner]
        w = np.ones(y.shape, np.float32) if w is None else w[inner, inner]
        return (
            torch.from_numpy(np.ascontiguousarray(x, dtype=np.float32)),
            torch.from_numpy(np.ascontiguousarray(y, dtype=np.int64)),
            torch.from_numpy(np.ascontiguousarray(w, dtype=np.float32)),
        )

    def __repr__(self) -> str:
        return (
            f"TileDataset({len(self.images)} images, input_size={self.input_size}, "
            f"output_size={self.output_size}, samples_per_epoch={self.samples_per_epoch}, "
            f"margin={self.margin}, augment={self.augment!r}, seed={self.seed}, epoch={self.epoch})"
        )
