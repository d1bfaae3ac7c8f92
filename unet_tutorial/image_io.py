"""Image files as the network reads them: one decoder policy, one rule for integer images.

:func:`read_image` is used by the ``predict`` command and the folder data sets (so by
``doctor``): TIFF with tifffile, everything else with ``skimage.io``; integer
images scaled to [0, 1] by their dtype's maximum
(:func:`unet_tutorial._checks.as_unit_float`).
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from ._checks import as_unit_float, one_line

__all__ = ["read_image"]


def read_image(path: str | os.PathLike[str], in_channels: int = 1) -> np.ndarray:
    """Read an image file as float32 ``(C, H, W)`` for a model with ``in_channels`` inputs.

    TIFF (``.tif``, ``.tiff``) with tifffile, other formats (PNG, JPEG, …) with
    ``skimage.io``. Integer images are scaled to [0, 1] by their dtype's
    maximum (255, 65535, …), float images are kept as they are, boolean ones
    become 0/1. Gray images are used as they are; RGB/RGBA (alpha ignored) are
    turned into gray by luminance (``skimage.color.rgb2gray``: 0.2125 R +
    0.7154 G + 0.0721 B) when ``in_channels == 1``, or kept as 3 channels when
    ``in_channels == 3``.

    Raises:
        FileNotFoundError: if ``path`` does not exist.
        ValueError: if it cannot be decoded or its shape does not fit the model.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"image file not found: {path}")
    try:
        if path.suffix.lower() in (".tif", ".tiff"):
            import tifffile

            img = tifffile.imread(path)
        else:
            import skimage.io

            img = skimage.io.imread(path)
    except Exception as err:  # decoders raise many types for corrupt files
        raise ValueError(f"cannot read image {path}: {one_line(err)}") from None
    img = as_unit_float(np.asarray(img), f"image {path}")  # the package's one rule for integer images
    if img.ndim == 2:
        img = img[None]
    elif img.ndim == 3 and img.shape[-1] in (3, 4) and in_channels in (1, 3):
        rgb = img[..., :3]
        if in_channels == 1:
            from skimage.color import rgb2gray

            img = rgb2gray(rgb)[None].astype(np.float32)
        else:
            img = np.moveaxis(rgb, -1, 0)
    elif img.ndim == 3 and img.shape[-1] == in_channels:
        img = np.moveaxis(img, -1, 0)
    else:
        raise ValueError(
            f"image {path} has shape {img.shape}: expected a 2-D gray image or an RGB(A) image "
            f"(H, W, 3|4) for a model with {in_channels} input channel(s)"
        )
    if img.shape[0] != in_channels:
        raise ValueError(f"image {path} has {img.shape[0]} channel(s), the model expects {in_channels}")
    if img.shape[1] == 0 or img.shape[2] == 0:
        raise ValueError(f"image {path} is empty (shape {img.shape})")
    if not np.isfinite(img).all():
        raise ValueError(f"image {path} contains NaN or infinite values")
    return np.ascontiguousarray(img)
