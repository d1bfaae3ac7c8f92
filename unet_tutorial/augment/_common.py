"""Shared helpers of :mod:`unet_tutorial.augment`: input checks and type aliases.

Numbers (``grid``, ``sigma``, ``max_shift``, the gray-value ranges) are checked
with the package's validators (:mod:`unet_tutorial._checks`); what is special to
augmentation lives here: the random generator argument, the interpolation
modes, and :func:`to_batch`, which views a numpy image or a torch batch
(any device) as one ``(N, C, H, W)`` tensor.
"""

from __future__ import annotations

from typing import TypeVar

import numpy as np
import torch

from .._checks import check_int, check_positive

ArrayT = TypeVar("ArrayT", np.ndarray, torch.Tensor)
RngLike = np.random.Generator | int | None

IMAGE_MODES = ("bicubic", "bilinear", "nearest")


# --------------------------------------------------------------------------------------
# Validation
# --------------------------------------------------------------------------------------


def as_rng(rng: RngLike) -> np.random.Generator:
    """A numpy Generator from a Generator, an int seed or ``None``; anything else: ValueError."""
    if rng is None or isinstance(rng, (np.random.Generator, int, np.integer)):
        return np.random.default_rng(rng)
    raise ValueError(f"rng must be a numpy Generator, an int seed or None, got {type(rng).__name__}")


def check_grid_sigma(grid: int, sigma: float) -> None:
    """``grid``: an int >= 2 (control points per side); ``sigma``: finite, >= 0 (pixels)."""
    check_int(grid, "grid", minimum=2)
    check_positive(sigma, "sigma", allow_zero=True)


def check_mode(interpolation: str) -> None:
    """``interpolation`` must be one of :data:`IMAGE_MODES` (the image's; labels: nearest)."""
    if interpolation not in IMAGE_MODES:
        raise ValueError(f"interpolation must be one of {IMAGE_MODES}, got {interpolation!r}")


def is_float(x: np.ndarray | torch.Tensor) -> bool:
    return x.is_floating_point() if isinstance(x, torch.Tensor) else np.issubdtype(x.dtype, np.floating)


def is_integer(x: np.ndarray | torch.Tensor) -> bool:
    if isinstance(x, torch.Tensor):
        return not x.is_floating_point() and not x.is_complex()
    return np.issubdtype(x.dtype, np.integer) or x.dtype == np.bool_


def non_finite(x: np.ndarray | torch.Tensor) -> bool:
    """True if ``x`` holds a NaN or an infinity.

    One float64 sum instead of an elementwise test: float32 values cannot overflow a
    float64 sum, so the sum is finite exactly when every element is.
    """
    if isinstance(x, torch.Tensor):
        return not bool(torch.isfinite(x.sum(dtype=torch.float64)))
    return not np.isfinite(np.sum(x, dtype=np.float64))


def to_batch(
    image: ArrayT, label: ArrayT | None, name: str = "image"
) -> tuple[torch.Tensor, torch.Tensor | None, tuple[torch.Tensor, torch.Tensor]]:
    """Validate ``image``/``label`` and view them as ``(N, C, H, W)`` / ``(N, 1, H, W)`` tensors.

    Also returns the value range ``(min, max)`` of every channel, ``(N, C)`` each
    (one pass over the image that also detects NaN and infinities).

    numpy: image ``(H, W)`` or ``(C, H, W)``, label ``(H, W)`` -> N = 1.
    torch: image ``(N, C, H, W)`` (or ``(H, W)`` / ``(C, H, W)`` as one sample),
    label ``(N, H, W)`` or ``(N, 1, H, W)`` (``(H, W)`` for one sample).
    """
    is_torch = isinstance(image, torch.Tensor)
    if not is_torch and not isinstance(image, np.ndarray):
        raise ValueError(f"{name} must be a numpy array or a torch tensor, got {type(image).__name__}")
    if label is not None and isinstance(label, torch.Tensor) != is_torch:
        raise ValueError("image and label must both be numpy arrays or both torch tensors")
    allowed = (2, 3, 4) if is_torch else (2, 3)
    if image.ndim not in allowed:
        shapes = "(N, C, H, W), (C, H, W) or (H, W)" if is_torch else "(H, W) or (C, H, W)"
        raise ValueError(f"{name} must have shape {shapes}, got {tuple(image.shape)}")
    if not is_float(image):
        raise ValueError(f"{name} must have a floating-point dtype, got {image.dtype}")
    if 0 in tuple(image.shape):
        raise ValueError(f"{name} is empty (shape {tuple(image.shape)})")
    h, w = image.shape[-2:]
    if h < 2 or w < 2:
        raise ValueError(f"{name} must be at least 2x2 pixels, got {tuple(image.shape)}")
    x = image if is_torch else torch.from_numpy(np.ascontiguousarray(image))
    x = x.reshape((1,) * (4 - x.ndim) + tuple(x.shape))
    # NaN propagates into min and max, an infinity shows up in one of them
    # (amin and amax over dims are much faster on the CPU than aminmax with a dim)
    lo, hi = x.amin(dim=(2, 3)), x.amax(dim=(2, 3))
    if not (bool(torch.isfinite(lo).all()) and bool(torch.isfinite(hi).all())):
        raise ValueError(f"{name} contains NaN or infinite values")
    if label is None:
        return x, None, (lo, hi)
    if not is_integer(label):
        raise ValueError(f"label must have an integer (or bool) dtype, got {label.dtype}")
    n = x.shape[0]
    allowed_labels = {(n, h, w), (n, 1, h, w)} if image.ndim == 4 else {(h, w)}
    if tuple(label.shape) not in allowed_labels:
        raise ValueError(
            f"label shape {tuple(label.shape)} does not match image shape {tuple(image.shape)}; "
            f"expected one of {sorted(allowed_labels)}"
        )
    y = label if is_torch else torch.from_numpy(np.ascontiguousarray(label))
    return x, y.reshape(n, 1, h, w), (lo, hi)
