"""Image files as the package reads them: one decoder policy, one rule for integer images.

Every loader of :mod:`unet_tutorial.data` (ISBI 2012, DSB 2018, the cell tracking
sequences, folders of your own images), ``doctor`` and the ``predict`` command read
pixels through this module:

- :func:`read_pixels`: a file's pixels *as stored* (and the palette of a palette PNG):
  TIFF with tifffile (Pillow where tifffile lacks the codec), every other format with
  Pillow, never converted: a palette PNG gives its indices, a 16-bit PNG ``uint16``,
  a 1-bit PNG ``bool``; multi-page TIFFs give ``(pages, H, W)``;
- :func:`read_stack`: several files into one ``(N, …)`` array;
- :func:`to_unit_float`: the one integer-to-[0, 1] rule (divide by the dtype's maximum:
  255, 65535, …; :func:`unet_tutorial._checks.as_unit_float`), for 8- and 16-bit data;
- :func:`read_image`: a file as the network reads it, float32 ``(C, H, W)`` in [0, 1].
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from ._checks import as_unit_float, one_line

__all__ = ["read_pixels", "read_stack", "to_unit_float", "read_image"]

_TIFF = (".tif", ".tiff")


def _native(a: np.ndarray) -> np.ndarray:
    """``a`` in the machine's byte order (big-endian TIFFs are read as stored)."""
    return a if a.dtype.isnative else a.astype(a.dtype.newbyteorder("="))


def _pillow(path: Path) -> tuple[np.ndarray, list[int] | None]:
    from PIL import Image  # Pillow comes with matplotlib and scikit-image

    with Image.open(path) as im:
        palette = im.getpalette() if im.mode == "P" else None
        pages = getattr(im, "n_frames", 1)
        if pages == 1:
            return np.asarray(im), palette
        frames = []
        for k in range(pages):
            im.seek(k)
            frames.append(np.asarray(im))
        return np.stack(frames), palette


def read_pixels(path: str | os.PathLike[str], what: str = "") -> tuple[np.ndarray, list[int] | None]:
    """A file's pixels as stored, and its palette (flat ``[r, g, b, …]``) for palette PNGs.

    TIFF (``.tif``, ``.tiff``) with tifffile, and with Pillow when tifffile cannot decode
    it (e.g. LZW without imagecodecs); PNG, JPEG and the rest with Pillow. No conversion
    of mode or dtype; multi-page files give ``(pages, H, W)``. ``what`` names the file's
    role in the messages (``"image "`` gives "cannot read image …").

    Raises:
        FileNotFoundError: no such file.
        ValueError: the file cannot be decoded (the message names it and each reader's reason).
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"file not found: {path}")
    if path.suffix.lower() in _TIFF:
        try:
            import tifffile

            return _native(np.asarray(tifffile.imread(path))), None
        except Exception as err:  # noqa: BLE001 - decoders raise many types; Pillow may still read it
            first = one_line(err)
        try:
            a, palette = _pillow(path)
            return _native(a), palette
        except Exception as err:  # noqa: BLE001
            raise ValueError(f"cannot read {what}{path}: tifffile: {first}; Pillow: {one_line(err)}") from None
    try:
        a, palette = _pillow(path)
        return _native(a), palette
    except Exception as err:  # decoders raise many types for corrupt files
        raise ValueError(f"cannot read {what}{path}: {one_line(err)}") from None


def read_stack(files: Sequence[str | os.PathLike[str]]) -> np.ndarray:
    """Read image files into one ``(N, …)`` array (pixels as stored).

    Raises:
        ValueError: no files, or files that differ in shape or dtype (named).
    """
    if not files:
        raise ValueError("read_stack needs at least one file")
    arrays = [read_pixels(p)[0] for p in files]
    kinds = {(a.shape, str(a.dtype)) for a in arrays}
    if len(kinds) != 1:
        raise ValueError(f"images in {Path(files[0]).parent} differ in shape or dtype: {sorted(kinds)}")
    return np.stack(arrays)


def to_unit_float(image: np.ndarray, what: str) -> np.ndarray:
    """An 8- or 16-bit image as float32 in ``[0, 1]``, divided by its dtype's maximum (255, 65535).

    Raises:
        ValueError: another dtype (the data sets store 8- and 16-bit images; ``what`` names the file).
    """
    if image.dtype not in (np.uint8, np.uint16):
        raise ValueError(f"{what}: expected an 8- or 16-bit image, got dtype {image.dtype}")
    return as_unit_float(image, what)


def read_image(path: str | os.PathLike[str], in_channels: int = 1) -> np.ndarray:
    """Read an image file as float32 ``(C, H, W)`` for a model with ``in_channels`` inputs.

    Decoded by :func:`read_pixels` (a palette image is looked up in its palette).
    Integer images are scaled to [0, 1] by their dtype's maximum (255, 65535, …),
    float images are kept as they are, boolean ones become 0/1. Gray images are used
    as they are; RGB/RGBA (alpha ignored) are turned into gray by luminance
    (``skimage.color.rgb2gray``: 0.2125 R + 0.7154 G + 0.0721 B) when
    ``in_channels == 1``, or kept as 3 channels when ``in_channels == 3``.

    Raises:
        FileNotFoundError: if ``path`` does not exist.
        ValueError: if it cannot be decoded or its shape does not fit the model.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"image file not found: {path}")
    raw, palette = read_pixels(path, "image ")
    if palette is not None:  # indices → their colours
        colours = np.asarray(palette, dtype=np.uint8).reshape(-1, 3)
        raw = colours[np.clip(raw, 0, len(colours) - 1)]
    img = as_unit_float(raw, f"image {path}")  # the package's one rule for integer images
    if img.ndim == 3 and img.shape[-1] == 2:  # gray + alpha: the alpha is ignored, as for RGBA
        img = img[..., 0]
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
