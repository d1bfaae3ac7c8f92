"""Shared input validation of the package.

Every public function of the package checks its inputs here, so that bad input
fails the same way everywhere: a ``ValueError`` whose message names the
argument and the problem (never a silent wrong answer, never a NaN far away).

- :func:`check_binary`, :func:`check_instances`, :func:`check_class_labels`: masks (0/1),
  instance labels and class labels (0..K − 1).
- :func:`check_image`, :func:`as_unit_float`: images, and the one rule for
  integer images (scaled to [0, 1] by the dtype's maximum, wherever they enter).
- :func:`check_probability`: probability maps in [0, 1].
- :func:`check_positive`, :func:`check_int`: numbers; :func:`check_shape`: image shapes ``(H, W)``.
- :func:`one_line`: an error message on one line (the commands print errors so).
"""

from __future__ import annotations

import math
from typing import Sequence

import numpy as np
import torch

__all__ = [
    "check_binary",
    "check_class_labels",
    "check_instances",
    "check_image",
    "as_unit_float",
    "check_probability",
    "check_planes",
    "check_positive",
    "check_int",
    "check_shape",
    "one_line",
]

_SHAPES = {2: "(H, W)", 3: "(N, H, W)", 4: "(N, C, H, W)"}


def _shape_text(ndims: Sequence[int]) -> str:
    return " or ".join(_SHAPES.get(d, f"{d}-D") for d in ndims)


def _array(x, name: str, ndims: Sequence[int]) -> np.ndarray:
    """``x`` as a numpy array with ``ndim`` in ``ndims`` and no zero-length axis."""
    if isinstance(x, torch.Tensor):
        x = x.detach().cpu().numpy()
    try:
        a = np.asarray(x)
    except (TypeError, ValueError) as err:
        raise ValueError(f"{name} must be an array, got {type(x).__name__} ({err})") from None
    if a.dtype == object:
        raise ValueError(f"{name} must be a numeric array, got {type(x).__name__} of Python objects")
    if a.ndim not in ndims:
        raise ValueError(f"{name} must have shape {_shape_text(ndims)}, got shape {a.shape}")
    if a.size == 0:
        raise ValueError(f"{name} is empty (shape {a.shape})")
    return a


def check_binary(mask, name: str = "mask", *, ndims: Sequence[int] = (2,), hint: str = "") -> np.ndarray:
    """``mask`` as a bool array; values must be ``False/True`` or integer ``0/1``.

    Raises:
        ValueError: wrong dimensions, empty, a non-integer dtype (a probability
            map: threshold it first) or values other than 0 and 1 (e.g. 0/255:
            divide by 255 or compare with 0).
    """
    a = _array(mask, name, ndims)
    if a.dtype == bool:
        return a
    if a.dtype.kind not in "iu":
        raise ValueError(f"{name} must be a bool or integer 0/1 mask, got dtype {a.dtype}; "
                         "threshold a probability map first, e.g. prob > 0.5" + hint)
    lo, hi = int(a.min()), int(a.max())
    if lo < 0 or hi > 1:
        fix = "; 0/255 masks: use mask > 0" if hi == 255 else "; binarise it first, e.g. label > 0"
        raise ValueError(f"{name} must hold only 0 and 1, got values in [{lo}, {hi}]{fix}" + hint)
    return a.astype(bool)


def check_instances(instances, name: str = "instances", *, ndims: Sequence[int] = (2,)) -> np.ndarray:
    """``instances`` as an integer label image (0 = background, ids ≥ 1).

    Raises:
        ValueError: wrong dimensions, empty, boolean (a mask, not labels),
            non-integer dtype, or negative ids.
    """
    a = _array(instances, name, ndims)
    if a.dtype == bool:
        raise ValueError(f"{name} is a boolean mask, not an instance label image; "
                         "use weights.instances_from_binary(mask) to label its connected regions")
    if a.dtype.kind not in "iu":
        raise ValueError(f"{name} must hold integer instance ids (0 = background), got dtype {a.dtype}")
    if a.dtype.kind == "i" and a.min() < 0:
        raise ValueError(f"{name} has negative ids (min {a.min()}); ids must be >= 0")
    return a


def as_unit_float(image: np.ndarray, name: str = "image") -> np.ndarray:
    """An image as float32 in the package's one convention.

    Integer images are scaled to [0, 1] by their dtype's maximum (uint8 / 255,
    uint16 / 65535), booleans become 0/1, floats are kept as they are: the same
    rule for :func:`unet_tutorial.inference.predict_tiled`, ``read_image`` and the
    ``predict`` command, so an image gives the same probabilities through all three.
    """
    a = np.asarray(image)
    if a.dtype == bool:
        return a.astype(np.float32)
    if a.dtype.kind == "u":
        return (a / np.float32(np.iinfo(a.dtype).max)).astype(np.float32)
    if a.dtype.kind == "i":
        if a.size and a.min() < 0:
            raise ValueError(f"{name} is a signed integer image with negative values (min {a.min()}); "
                             "scale it to [0, 1] floats yourself")
        return (a / np.float32(np.iinfo(a.dtype).max)).astype(np.float32)
    if a.dtype.kind == "f":
        return a.astype(np.float32, copy=False)
    raise ValueError(f"{name} must be real-valued (integer, bool or float), got dtype {a.dtype}")


def check_image(image, name: str = "image", *, ndims: Sequence[int] = (2,)) -> np.ndarray:
    """A real-valued, finite, non-empty image as float32 (integers scaled by :func:`as_unit_float`).

    Raises:
        ValueError: wrong dimensions, empty, complex or object dtype, NaN or infinite values.
    """
    a = as_unit_float(_array(image, name, ndims), name)
    if not np.isfinite(a).all():
        raise ValueError(f"{name} contains NaN or infinite values")
    return a


def check_probability(prob, name: str = "prob", *, ndims: Sequence[int] = (2,)) -> np.ndarray:
    """A probability map as float64, values in [0, 1], no NaN.

    Raises:
        ValueError: wrong dimensions, empty, non-real dtype, NaN/inf, values outside [0, 1].
    """
    a = _array(prob, name, ndims)
    if a.dtype.kind not in "biuf":
        raise ValueError(f"{name} must be a real-valued probability map, got dtype {a.dtype}")
    a = a.astype(np.float64)
    if not np.isfinite(a).all():
        raise ValueError(f"{name} contains NaN or infinite values")
    if a.min() < 0.0 or a.max() > 1.0:
        raise ValueError(f"{name} must be a probability in [0, 1], got values in [{a.min():.4g}, {a.max():.4g}]")
    return a


def check_planes(x, name: str = "x") -> None:
    """``x`` must be a non-empty torch tensor ``(…, H, W)`` (any dtype: for functions that only move values)."""
    if not isinstance(x, torch.Tensor):
        raise ValueError(f"{name} must be a torch.Tensor (…, H, W), got {type(x).__name__}")
    if x.ndim < 2:
        raise ValueError(f"{name} must have shape (…, H, W) (at least 2-D), got shape {tuple(x.shape)}")
    if x.numel() == 0:
        raise ValueError(f"{name} is empty (shape {tuple(x.shape)})")


def check_positive(value, name: str, *, allow_zero: bool = False) -> float:
    """``value`` as a finite float > 0 (or ≥ 0 with ``allow_zero``), else ``ValueError`` naming ``name``."""
    if isinstance(value, bool):
        raise ValueError(f"{name} must be a number, got {value!r}")
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a number, got {value!r}") from None
    if not math.isfinite(v):
        raise ValueError(f"{name} must be finite, got {value!r}")
    if v < 0 or (v == 0 and not allow_zero):
        raise ValueError(f"{name} must be {'>= 0' if allow_zero else '> 0'}, got {value!r}")
    return v


def check_int(value, name: str, *, minimum: int | None = None) -> int:
    """``value`` as an ``int`` (not a bool, not a float), at least ``minimum``."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise ValueError(f"{name} must be an int, got {value!r} ({type(value).__name__})")
    if minimum is not None and value < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {value!r}")
    return int(value)


_SHAPE_WORDS = {2: "(H, W)", 3: "(C, H, W)"}


def check_shape(shape, name: str = "shape", *, lengths: Sequence[int] = (2,), minimum: int = 1) -> tuple[int, ...]:
    """An image shape such as ``(H, W)`` as a tuple of ints, each at least ``minimum`` pixels.

    ``lengths``: the allowed numbers of entries (2: ``(H, W)``, 3: ``(C, H, W)``).

    Raises:
        ValueError: not a sequence, the wrong number of entries, an entry that is
            not an int (floats, NaN, strings, bools), or an entry below ``minimum``.
    """
    what = " or ".join(_SHAPE_WORDS.get(n, f"{n} ints") for n in lengths)
    try:
        dims = tuple(shape)
    except TypeError:
        raise ValueError(f"{name} must be a tuple {what} of integers, got {shape!r}") from None
    if len(dims) not in lengths or any(isinstance(d, bool) or not isinstance(d, (int, np.integer)) for d in dims):
        raise ValueError(f"{name} must be a tuple {what} of integers, got {shape!r}")
    dims = tuple(int(d) for d in dims)
    if min(dims) < minimum:
        raise ValueError(f"{name} must be at least {minimum} pixel(s) along every axis, got {dims}")
    return dims


def one_line(err: BaseException) -> str:
    """An exception's message on one line (whitespace runs collapsed), else its type's name."""
    return " ".join(str(err).split()) or type(err).__name__


def check_class_labels(labels: np.ndarray, num_classes: int, name: str = "labels") -> np.ndarray:
    """``labels`` as an integer ``(H, W)`` map of class labels ``0..num_classes − 1``.

    Raises:
        ValueError: not a non-empty 2-D integer (or bool) array, or a value outside
            ``0..num_classes − 1`` (the message names the values found).
    """
    a = np.asarray(labels)
    if a.ndim != 2 or a.size == 0:
        raise ValueError(f"{name} must be a non-empty 2-D (H, W) map of class labels, got shape {a.shape}")
    if a.dtype.kind not in "biu":
        raise ValueError(f"{name} must hold integer class labels 0..{num_classes - 1}, got dtype {a.dtype}")
    bad = np.unique(a[(a < 0) | (a >= num_classes)])
    if bad.size:
        raise ValueError(f"{name} holds values {bad[:5].tolist()} outside the class labels 0..{num_classes - 1} "
                         f"({num_classes} classes)")
    return a.astype(np.int64, copy=False)
