"""Mirroring: how the overlap-tile strategy extrapolates the context missing beyond an image's border.

"To predict the pixels in the border region of the image, the missing context is
extrapolated by mirroring the input image" (§2, Fig. 2). :func:`fold_mirror` maps any
index into an axis by reflection about the edge pixels (numpy's ``np.pad(mode="reflect")``,
repeated as often as needed); :func:`mirror_indices` extends an axis by mirrored pixels.
Used by the tiled prediction (:func:`unet_tutorial.inference.mirror_pad`) and by the
random training tiles that reach beyond an image (:mod:`unet_tutorial.data.tiles`).
"""

from __future__ import annotations

import numpy as np

__all__ = ["fold_mirror", "mirror_indices"]


def fold_mirror(idx: np.ndarray, n: int) -> np.ndarray:
    """Fold any integer indices into ``[0, n)`` by mirroring about the edge pixels.

    ``… 2 1 | 0 1 2 … n−1 | n−2 n−3 …`` (numpy's ``np.pad(mode="reflect")``),
    repeated as often as needed, so any index maps into an axis of ``n ≥ 1``
    pixels; an axis of one pixel is repeated.
    """
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
        raise ValueError(f"cannot mirror into an axis of {n!r} pixels: need n >= 1")
    idx = np.asarray(idx, dtype=np.int64)
    if n == 1:
        return np.zeros_like(idx)
    period = 2 * (n - 1)  # the mirrored signal is periodic: 0 1 … n−1 … 1 | 0 1 …
    idx = np.mod(idx, period)
    return np.where(idx >= n, period - idx, idx)


def mirror_indices(n: int, before: int, after: int) -> np.ndarray:
    """Indices extending an axis of ``n`` pixels by ``before``/``after`` mirrored pixels (int64, length ``before + n + after``)."""
    if before < 0 or after < 0:
        raise ValueError(f"padding must be >= 0, got before={before}, after={after}")
    return fold_mirror(np.arange(-before, n + after, dtype=np.int64), n)


