"""Composable, seeded training transforms (§3.1), on numpy arrays, one sample at a time.

A transform is a callable ``t(image, label, weight, rng) -> (image, label,
weight)``: image ``(H, W)`` or ``(C, H, W)`` float, label and weight ``(H, W)`` or
``None``; every random draw comes from ``rng``, so a seeded generator gives the
same sample again (also in a DataLoader worker). Labels and weight maps are
resampled by nearest neighbour at the same positions as the image, so every
output pixel takes its label and its weight from the same input pixel.

- :class:`Compose`: apply transforms in order, one generator for all;
- :class:`ElasticDeform`: the paper's elastic deformation (:mod:`.elastic`);
- :class:`RandomFlip`, :class:`RandomRot90`: the exact symmetries (no resampling);
- :class:`RandomRotation`, :class:`RandomShift`: shift and rotation invariance;
- :class:`GrayValue`: gray-value variations (gamma, contrast, brightness);
- :func:`paper_augmentation`, :func:`flips_augmentation`: the course's defaults.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Protocol

import numpy as np
import torch

from .._checks import check_int, check_positive
from ._common import (
    RngLike,
    as_rng,
    check_grid_sigma,
    check_mode,
    non_finite,
    to_batch,
)
from .elastic import (
    field_gain,
    grid_from_control,
    grid_from_field,
    field_margin,
    resample,
    restore_type,
)

__all__ = [
    "Transform",
    "Compose",
    "ElasticDeform",
    "RandomFlip",
    "RandomRot90",
    "RandomRotation",
    "RandomShift",
    "GrayValue",
    "paper_augmentation",
    "flips_augmentation",
    "AUGMENTATIONS",
    "augmentation",
]

# --------------------------------------------------------------------------------------
# Composable training transforms (numpy, one sample)
# --------------------------------------------------------------------------------------

Sample = tuple[np.ndarray, np.ndarray | None, np.ndarray | None]


class Transform(Protocol):
    """A training transform: ``(image, label, weight, rng) -> (image, label, weight)``."""

    def __call__(
        self,
        image: np.ndarray,
        label: np.ndarray | None,
        weight: np.ndarray | None,
        rng: np.random.Generator,
    ) -> Sample: ...


def _check_weight(image: np.ndarray, weight: np.ndarray | None) -> None:
    if weight is None:
        return
    if weight.shape != image.shape[-2:]:
        raise ValueError(f"weight shape {weight.shape} does not match image shape {image.shape}")
    if not np.issubdtype(weight.dtype, np.floating) or non_finite(weight):
        raise ValueError(f"weight must be floating point without NaN or infinite values (dtype {weight.dtype})")


def _warp_sample(
    image: np.ndarray,
    label: np.ndarray | None,
    weight: np.ndarray | None,
    interpolation: str,
    *,
    field: np.ndarray | None = None,
    control: np.ndarray | None = None,
) -> Sample:
    """Resample image, label and weight with one field (weight by nearest neighbour).

    The field is given densely, ``(2, H, W)`` px, or by its control displacements
    ``(2, g, g)`` px (bicubic interpolation, the fast path of :func:`elastic_deform`).
    The weight map is sampled like the label, so every output pixel takes its label
    and its weight from the same input pixel (the class-balancing part of Eq. 2
    stays consistent with the label).
    """
    _check_weight(image, weight)
    x, y, value_range = to_batch(image, label)
    extra = [] if y is None else [y]
    if weight is not None:
        extra.append(torch.from_numpy(np.ascontiguousarray(weight))[None, None])
    h, w = x.shape[-2:]
    if control is not None:
        c = torch.from_numpy(np.ascontiguousarray(control, dtype=np.float32))[None]
        margin = field_margin(float(c.abs().max()) * field_gain(h, w, c.shape[-1]), h, w)
        grid = grid_from_control(c, h, w, margin)
    else:
        f = torch.from_numpy(np.ascontiguousarray(field, dtype=np.float32))[None]
        margin = field_margin(float(f.abs().max()), h, w)
        grid = grid_from_field(f, margin)
    out, others = resample(x, grid, margin, interpolation, extra, value_range)
    new_label = None if label is None else restore_type(others.pop(0), label)
    new_weight = None if weight is None else restore_type(others.pop(0), weight)
    return restore_type(out, image), new_label, new_weight


class Compose:
    """Apply transforms in order, all drawing from the same generator.

    Args:
        transforms: callables ``(image, label, weight, rng) -> (image, label, weight)``.
    """

    def __init__(self, transforms: Sequence[Transform]) -> None:
        self.transforms = list(transforms)

    def __call__(
        self,
        image: np.ndarray,
        label: np.ndarray | None = None,
        weight: np.ndarray | None = None,
        rng: RngLike = None,
    ) -> Sample:
        rng = as_rng(rng)
        for t in self.transforms:
            image, label, weight = t(image, label, weight, rng)
        return image, label, weight

    def __repr__(self) -> str:
        inner = ",\n".join(f"    {t!r}" for t in self.transforms)
        return f"Compose([\n{inner}\n])"


class ElasticDeform:
    """The paper's random elastic deformation (§3.1) as a training transform.

    Args:
        grid: control points per side (paper: 3).
        sigma: standard deviation of the control displacements in pixels (paper: 10).
        interpolation: image interpolation (labels and weights: nearest neighbour).
        p: probability to deform a sample at all.
    """

    def __init__(
        self, grid: int = 3, sigma: float = 10.0, interpolation: str = "bicubic", p: float = 1.0
    ) -> None:
        check_grid_sigma(grid, sigma)
        check_mode(interpolation)
        self.grid, self.sigma, self.interpolation, self.p = int(grid), float(sigma), interpolation, p

    def __call__(self, image, label=None, weight=None, rng=None) -> Sample:
        rng = as_rng(rng)
        if rng.random() >= self.p:
            return image, label, weight
        # the same draws as elastic_displacement(image.shape[-2:], grid, sigma, rng)
        control = rng.normal(0.0, self.sigma, size=(2, self.grid, self.grid)).astype(np.float32)
        return _warp_sample(image, label, weight, self.interpolation, control=control)

    def __repr__(self) -> str:
        return f"ElasticDeform(grid={self.grid}, sigma={self.sigma}, interpolation={self.interpolation!r}, p={self.p})"


class RandomFlip:
    """Mirror left-right and/or up-down, each with its own probability (exact, no resampling)."""

    def __init__(self, horizontal: float = 0.5, vertical: float = 0.5) -> None:
        self.horizontal, self.vertical = horizontal, vertical

    def __call__(self, image, label=None, weight=None, rng=None) -> Sample:
        rng = as_rng(rng)
        for axis, p in ((-1, self.horizontal), (-2, self.vertical)):
            if rng.random() < p:
                image = np.flip(image, axis)
                label = None if label is None else np.flip(label, axis)
                weight = None if weight is None else np.flip(weight, axis)
        return image, label, weight

    def __repr__(self) -> str:
        return f"RandomFlip(horizontal={self.horizontal}, vertical={self.vertical})"


class RandomRot90:
    """Rotate by a random multiple of 90° (k = 0..3, equally likely; exact, no resampling).

    For non-square images k = 1, 3 swap height and width.
    """

    def __call__(self, image, label=None, weight=None, rng=None) -> Sample:
        k = int(as_rng(rng).integers(4))
        rot = lambda a: None if a is None else np.rot90(a, k, axes=(-2, -1))  # noqa: E731
        return rot(image), rot(label), rot(weight)

    def __repr__(self) -> str:
        return "RandomRot90()"


def affine_field(shape: tuple[int, int], angle_deg: float, shift: tuple[float, float]) -> np.ndarray:
    """Displacement field ``(2, H, W)`` of a rotation about the image centre plus a shift (px)."""
    h, w = shape
    cy, cx = (h - 1) / 2, (w - 1) / 2
    rows, cols = np.mgrid[0:h, 0:w].astype(np.float32)
    a = np.deg2rad(angle_deg)
    # output pixel p samples the input at R(p - c) + c - shift
    src_y = np.cos(a) * (rows - cy) - np.sin(a) * (cols - cx) + cy - shift[0]
    src_x = np.sin(a) * (rows - cy) + np.cos(a) * (cols - cx) + cx - shift[1]
    return np.stack([src_y - rows, src_x - cols]).astype(np.float32)


class RandomRotation:
    """Rotate by a random angle uniform in ``[-degrees, degrees]`` about the centre.

    Corners that would come from outside the image are filled by mirroring; to avoid
    them in training, rotate a larger crop and cut the centre (as
    :class:`unet_tutorial.data.TileDataset` does with its ``margin``).
    """

    def __init__(self, degrees: float = 180.0, interpolation: str = "bilinear") -> None:
        check_mode(interpolation)
        self.degrees, self.interpolation = float(degrees), interpolation

    def __call__(self, image, label=None, weight=None, rng=None) -> Sample:
        angle = as_rng(rng).uniform(-self.degrees, self.degrees)
        field = affine_field(image.shape[-2:], angle, (0.0, 0.0))
        return _warp_sample(image, label, weight, self.interpolation, field=field)

    def __repr__(self) -> str:
        return f"RandomRotation(degrees={self.degrees}, interpolation={self.interpolation!r})"


class RandomShift:
    """Shift by a random whole number of pixels in ``[-max_shift, max_shift]`` per axis.

    The content moves by ``(dy, dx)``; mirrored content fills the uncovered border.
    """

    def __init__(self, max_shift: int = 16) -> None:
        self.max_shift = check_int(max_shift, "max_shift", minimum=0)  # pixels

    def __call__(self, image, label=None, weight=None, rng=None) -> Sample:
        dy, dx = as_rng(rng).integers(-self.max_shift, self.max_shift + 1, size=2)
        # whole-pixel shifts: nearest neighbour is exact for the image too
        field = affine_field(image.shape[-2:], 0.0, (float(dy), float(dx)))
        return _warp_sample(image, label, weight, "nearest", field=field)

    def __repr__(self) -> str:
        return f"RandomShift(max_shift={self.max_shift})"


class GrayValue:
    """Random gray-value variation: gamma, contrast and brightness (image only).

    ``out = clip(c * (image**g - m) + m + b, 0, 1)`` with ``g = exp(U(-gamma, gamma))``,
    ``c = U(1 - contrast, 1 + contrast)``, ``b = U(-brightness, brightness)`` and ``m``
    the mean of ``image**g``. The image must lie in ``[0, 1]``.
    """

    def __init__(self, brightness: float = 0.1, contrast: float = 0.1, gamma: float = 0.1) -> None:
        brightness = check_positive(brightness, "brightness", allow_zero=True)
        contrast = check_positive(contrast, "contrast", allow_zero=True)
        gamma = check_positive(gamma, "gamma", allow_zero=True)
        if contrast >= 1:
            raise ValueError(f"contrast must be < 1 (the factor must stay positive), got {contrast}")
        self.brightness, self.contrast, self.gamma = brightness, contrast, gamma

    def __call__(self, image, label=None, weight=None, rng=None) -> Sample:
        rng = as_rng(rng)
        if non_finite(image):
            raise ValueError("image contains NaN or infinite values")
        if image.min() < 0 or image.max() > 1:
            raise ValueError(
                f"GrayValue needs an image in [0, 1], got values in [{image.min()}, {image.max()}]"
            )
        g = np.exp(rng.uniform(-self.gamma, self.gamma))
        c = rng.uniform(1 - self.contrast, 1 + self.contrast)
        b = rng.uniform(-self.brightness, self.brightness)
        x = image**g
        out = np.clip(c * (x - x.mean()) + x.mean() + b, 0.0, 1.0)
        return out.astype(image.dtype, copy=False), label, weight

    def __repr__(self) -> str:
        return f"GrayValue(brightness={self.brightness}, contrast={self.contrast}, gamma={self.gamma})"


def paper_augmentation(
    grid: int = 3, sigma: float = 10.0, gray_value: float = 0.1
) -> Compose:
    """The course's default training augmentation, after the paper's §3.1.

    Random flips and 90° rotations (exact, the 8 symmetries of the square), the
    elastic deformation (``grid × grid`` control points, ``sigma`` px), then small
    gray-value changes (brightness, contrast and gamma, each ``± gray_value``;
    ``gray_value=0`` leaves them out: flips, rotations and the deformation only).
    Shifts come from the random tile position in
    :class:`unet_tutorial.data.TileDataset`.
    """
    steps: list[Transform] = [RandomFlip(), RandomRot90(), ElasticDeform(grid=grid, sigma=sigma)]
    if gray_value:
        steps.append(GrayValue(gray_value, gray_value, gray_value))
    return Compose(steps)


def flips_augmentation() -> Compose:
    """Only the exact symmetries: random flips and 90° rotations (no resampling)."""
    return Compose([RandomFlip(), RandomRot90()])


def elastic_augmentation() -> Compose:
    """Flips, 90° rotations and the elastic deformation of §3.1, without gray-value changes."""
    return paper_augmentation(gray_value=0.0)


#: The training augmentations by name (``TrainConfig.augment``): each a function returning the
#: transform (``None``: no augmentation). Registering a new one here makes it a valid
#: configuration value.
AUGMENTATIONS: dict[str, Callable[[], Transform | None]] = {
    "none": lambda: None,
    "flips": flips_augmentation,  # "rigid": the exact symmetries (shifts: the random tile positions)
    "elastic": elastic_augmentation,
    "paper": paper_augmentation,
}


def augmentation(name: str) -> Transform | None:
    """The training augmentation registered as ``name`` in :data:`AUGMENTATIONS` (``None`` for ``"none"``).

    Raises:
        ValueError: an unknown name (the message lists the known ones).
    """
    if name not in AUGMENTATIONS:
        raise ValueError(f"unknown augmentation {name!r}; known: {', '.join(AUGMENTATIONS)}")
    return AUGMENTATIONS[name]()
