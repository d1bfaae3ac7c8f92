"""The method the paper replaces: per-pixel sliding-window classification (Ciresan et al. 2012, §1).

Ciresan et al. won ISBI 2012 with a network that classifies each pixel from a
95×95 window around it, run once per pixel. §1 of the U-Net paper names its two
drawbacks: it is slow (one forward pass per pixel, heavily redundant) and it
trades localisation against context. :class:`CiresanN4` is that network,
:func:`classify_pixels` runs it on a window of an image and
:func:`time_per_pixel_classifier` measures its cost per pixel, for the speed
comparison of the inference chapter and ``benchmarks/bench_inference.py``.

:func:`otsu_instances` is the classical baseline any reader can run on nuclei
images: Otsu's global threshold and connected components (about 0.4 DSB score on
the Data Science Bowl 2018 images, Caicedo et al. 2019).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
from torch import nn

from .hardware import model_device
from .inference.modes import eval_mode
from .inference.tiled import as_image_tensor
from .inference.tiling import mirror_pad

__all__ = ["CiresanN4", "classify_pixels", "time_per_pixel_classifier", "otsu_instances"]


class CiresanN4(nn.Sequential):
    """Network N4 of Ciresan et al. (NIPS 2012): a 95×95 window → the centre pixel's 2 class scores.

    The per-pixel classifier that won ISBI 2012 and that the U-Net paper
    replaces (§1): four convolution + 2×2 max-pooling layers with 48 maps
    (kernels 4, 5, 4, 4), a fully connected layer of 200 units and 2 outputs.
    Input ``(N, 1, 95, 95)``, output logits ``(N, 2)``. Used with
    :func:`classify_pixels`, which runs it once per pixel.
    """

    #: Side of the square input window (pixels); the classified pixel is its centre.
    window = 95

    def __init__(self) -> None:
        super().__init__(
            nn.Conv2d(1, 48, 4), nn.ReLU(), nn.MaxPool2d(2),  # 92 → 46
            nn.Conv2d(48, 48, 5), nn.ReLU(), nn.MaxPool2d(2),  # 42 → 21
            nn.Conv2d(48, 48, 4), nn.ReLU(), nn.MaxPool2d(2),  # 18 → 9
            nn.Conv2d(48, 48, 4), nn.ReLU(), nn.MaxPool2d(2),  # 6 → 3
            nn.Flatten(), nn.Linear(48 * 3 * 3, 200), nn.ReLU(), nn.Linear(200, 2),
        )  # fmt: skip


def classify_pixels(
    net: nn.Module,
    image,
    ys: Sequence[int] | np.ndarray,
    xs: Sequence[int] | np.ndarray,
    *,
    batch_size: int = 256,
) -> np.ndarray:
    """Class probabilities of the pixels ``(ys[i], xs[i])``, each from the window around it (§1).

    The sliding-window approach of Ciresan et al. (2012): every pixel is
    classified by a separate forward pass of ``net`` on the ``net.window``-px
    square centred on it (the image mirrored beyond its border), so
    overlapping windows repeat their work — the slowness the paper names.

    Args:
        net: a window classifier with an int attribute ``window`` (odd, pixels),
            mapping ``(N, 1, window, window)`` to logits ``(N, K)``, e.g.
            :class:`CiresanN4`. Run in eval mode on its own device.
        image: gray ``(H, W)`` or ``(1, H, W)`` numpy array or tensor.
        ys, xs: row and column (pixels) of each pixel to classify, same length.
        batch_size: windows per forward pass.

    Returns:
        float32 ``(N, K)``: the softmax of each pixel's logits.

    Raises:
        ValueError: no odd ``window`` attribute, bad image, pixel lists of
            different lengths or outside the image, bad ``batch_size``.
    """
    window = getattr(net, "window", None)
    if not isinstance(window, int) or window < 1 or window % 2 == 0:
        raise ValueError(f"net needs an odd int attribute 'window' (pixels), got {window!r}")
    x = as_image_tensor(image, 1)
    ys, xs = np.asarray(ys, dtype=np.int64).ravel(), np.asarray(xs, dtype=np.int64).ravel()
    h, w = x.shape[-2:]
    if ys.shape != xs.shape:
        raise ValueError(f"ys and xs must have the same length, got {ys.size} and {xs.size}")
    if ys.size == 0:
        raise ValueError("no pixels to classify: ys and xs are empty")
    if (ys.min() < 0 or ys.max() >= h or xs.min() < 0 or xs.max() >= w):
        raise ValueError(f"pixel coordinates must lie inside the {h}x{w} image")
    if not isinstance(batch_size, int) or isinstance(batch_size, bool) or batch_size < 1:
        raise ValueError(f"batch_size must be a positive int, got {batch_size!r}")
    r = window // 2
    padded = mirror_pad(x[0], r, r, r, r).to(model_device(net))
    out = []
    with eval_mode(net), torch.inference_mode():
        for i in range(0, ys.size, batch_size):
            windows = torch.stack(
                [padded[y : y + window, x0 : x0 + window] for y, x0 in zip(ys[i : i + batch_size], xs[i : i + batch_size])]
            )[:, None]
            out.append(torch.softmax(net(windows).float(), 1).cpu())
    return torch.cat(out).numpy()


def time_per_pixel_classifier(
    net: nn.Module,
    image,
    samples: int = 1024,
    *,
    batch_size: int = 256,
    seed: int = 0,
) -> float:
    """Seconds per pixel of :func:`classify_pixels` on ``image``, measured on a random sample.

    Classifying all ``H · W`` pixels takes minutes to hours on a CPU, so
    ``samples`` random pixels (seeded) are classified after one warm-up batch
    and the wall-clock time is divided by ``samples``; multiply by ``H · W``
    for the whole image (the windows are independent, so the time is linear
    in the number of pixels). A GPU is synchronised before reading the clock.

    Returns:
        Seconds per pixel (float).

    Raises:
        ValueError: ``samples`` not a positive int, or as :func:`classify_pixels`.
    """
    import time

    if not isinstance(samples, int) or isinstance(samples, bool) or samples < 1:
        raise ValueError(f"samples must be a positive int, got {samples!r}")
    x = as_image_tensor(image, 1)
    rng = np.random.default_rng(seed)
    ys = rng.integers(0, x.shape[-2], samples)
    xs = rng.integers(0, x.shape[-1], samples)
    dev = model_device(net)
    classify_pixels(net, x, ys[:batch_size], xs[:batch_size], batch_size=batch_size)  # warm-up
    if dev.type == "cuda":
        torch.cuda.synchronize(dev)
    t0 = time.perf_counter()
    classify_pixels(net, x, ys, xs, batch_size=batch_size)
    if dev.type == "cuda":
        torch.cuda.synchronize(dev)
    return (time.perf_counter() - t0) / samples


def otsu_instances(image, *, min_size: int | None = None) -> np.ndarray:
    """Classical nuclei segmentation: Otsu's threshold, then connected components.

    The side of the threshold that covers less of the image is foreground, so that
    bright nuclei on a dark background (fluorescence) and dark nuclei on a bright one
    (bright field, stained tissue) both work; its 4-connected components of at least
    ``min_size`` pixels are the objects (the post-processing of
    :func:`unet_tutorial.inference.instances_from_probability` without the gap filling:
    nothing separates touching nuclei).

    Args:
        image: gray ``(H, W)`` image (any real dtype; not constant).
        min_size: smallest object kept [pixels]; ``None``: the default of
            :func:`~unet_tutorial.inference.instances_from_probability`.

    Returns:
        int32 ``(H, W)`` labels, 0 = background.

    Raises:
        ValueError: an image that is not 2-D, holds NaN/inf, or is constant.

    Examples:
        >>> im = np.zeros((32, 32)); im[4:12, 4:12] = 1; im[20:28, 18:30] = 1
        >>> int(otsu_instances(im).max())
        2
    """
    from skimage.filters import threshold_otsu

    from ._checks import check_image
    from .inference.instances import DEFAULT_MIN_SIZE, instances_from_probability

    im = check_image(image, "image", ndims=(2,)).astype(np.float64)
    if im.min() == im.max():
        raise ValueError("image is constant: Otsu's threshold needs two gray values")
    fg = im > threshold_otsu(im)
    if fg.mean() > 0.5:  # the objects are the minority: dark nuclei on a bright background
        fg = ~fg
    size = DEFAULT_MIN_SIZE if min_size is None else min_size
    return instances_from_probability(fg.astype(np.float32), 0.5, min_size=size, gap=0)
