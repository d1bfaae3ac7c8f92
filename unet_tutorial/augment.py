"""Data augmentation of the U-Net paper (§3.1): elastic deformations and friends.

With very few annotated images (30 for ISBI 2012), the paper teaches the network
the invariances it needs by augmentation: shift and rotation invariance,
robustness to deformations and to gray-value variations. Random *elastic*
deformations are "the key concept": displacement vectors on a coarse 3×3 grid,
drawn from a Gaussian with 10 px standard deviation, interpolated bicubically to
a smooth per-pixel displacement field.

Two levels of API:

- functions: :func:`elastic_displacement` (the random field, for figures),
  :func:`apply_displacement` (resample an image/label with a given field) and
  :func:`elastic_deform` (both in one call). They accept numpy ``(H, W)`` /
  ``(C, H, W)`` arrays or torch tensors ``(N, C, H, W)`` on any device (every
  sample its own field) and return the same type.
- transforms for training: callables ``t(image, label, weight, rng) -> (image,
  label, weight)`` on numpy arrays (image ``(H, W)`` or ``(C, H, W)``, label and
  weight ``(H, W)`` or ``None``), composable with :class:`Compose`;
  :func:`paper_augmentation` returns the default used in the course.

Conventions: displacements are in pixels, channel 0 is the row (y) and channel 1
the column (x) displacement; the output pixel ``(y, x)`` takes the input value at
``(y + dy, x + dx)``. Images are interpolated smoothly, labels (and weight maps)
by nearest neighbour so that label values stay in the label set (instance ids
stay ids). Beyond the image border the input is mirrored (reflection about the
edge pixels), as in the overlap-tile strategy (§2, Fig. 2).
"""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence
from typing import NamedTuple, Protocol, TypeVar

import numpy as np
import torch
import torch.nn.functional as F

__all__ = [
    "ElasticField",
    "elastic_displacement",
    "apply_displacement",
    "elastic_deform",
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
]

ArrayT = TypeVar("ArrayT", np.ndarray, torch.Tensor)
RngLike = np.random.Generator | int | None

_IMAGE_MODES = ("bicubic", "bilinear", "nearest")


# --------------------------------------------------------------------------------------
# Validation
# --------------------------------------------------------------------------------------


def _as_rng(rng: RngLike) -> np.random.Generator:
    if rng is None or isinstance(rng, (np.random.Generator, int, np.integer)):
        return np.random.default_rng(rng)
    raise ValueError(f"rng must be a numpy Generator, an int seed or None, got {type(rng).__name__}")


def _check_grid_sigma(grid: int, sigma: float) -> None:
    if int(grid) != grid or grid < 2:
        raise ValueError(f"grid must be an integer >= 2 (control points per side), got {grid!r}")
    if not np.isfinite(sigma) or sigma < 0:
        raise ValueError(f"sigma must be a finite number >= 0 (pixels), got {sigma!r}")


def _check_mode(interpolation: str) -> None:
    if interpolation not in _IMAGE_MODES:
        raise ValueError(f"interpolation must be one of {_IMAGE_MODES}, got {interpolation!r}")


def _is_float(x: np.ndarray | torch.Tensor) -> bool:
    return x.is_floating_point() if isinstance(x, torch.Tensor) else np.issubdtype(x.dtype, np.floating)


def _is_integer(x: np.ndarray | torch.Tensor) -> bool:
    if isinstance(x, torch.Tensor):
        return not x.is_floating_point() and not x.is_complex()
    return np.issubdtype(x.dtype, np.integer) or x.dtype == np.bool_


def _non_finite(x: np.ndarray | torch.Tensor) -> bool:
    """True if ``x`` holds a NaN or an infinity.

    One float64 sum instead of an elementwise test: float32 values cannot overflow a
    float64 sum, so the sum is finite exactly when every element is.
    """
    if isinstance(x, torch.Tensor):
        return not bool(torch.isfinite(x.sum(dtype=torch.float64)))
    return not np.isfinite(np.sum(x, dtype=np.float64))


def _to_batch(
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
    if not _is_float(image):
        raise ValueError(f"{name} must have a floating-point dtype, got {image.dtype}")
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
    if not _is_integer(label):
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


# --------------------------------------------------------------------------------------
# The random displacement field
# --------------------------------------------------------------------------------------


class ElasticField(NamedTuple):
    """A random elastic displacement field and the control-point values it interpolates."""

    #: float32 ``(2, H, W)``: per-pixel displacement ``(dy, dx)`` in pixels.
    field: np.ndarray
    #: float32 ``(2, grid, grid)``: the random displacements at the control points,
    #: which sit at rows/columns ``linspace(0, H - 1, grid)`` / ``linspace(0, W - 1, grid)``.
    control: np.ndarray


@functools.lru_cache(maxsize=64)
def _bicubic_matrix(n_out: int, n_in: int) -> torch.Tensor:
    """``(n_out, n_in)`` weights of 1-D bicubic up-sampling with ``align_corners=True``.

    Column ``i`` is ``F.interpolate`` of the ``i``-th unit vector, so ``M @ v`` equals
    torch's bicubic interpolation of ``v`` (cubic convolution, a = -0.75, clamped ends).
    """
    deltas = torch.eye(n_in, dtype=torch.float64).view(n_in, 1, n_in, 1)
    cols = F.interpolate(deltas, size=(n_out, 1), mode="bicubic", align_corners=True)
    return cols[:, 0, :, 0].T.to(torch.float32).contiguous()


def _weighted_sum(weights: torch.Tensor, terms: torch.Tensor) -> torch.Tensor:
    """``out[..., a, b] = sum_k weights[a, k] * terms[..., k, b]`` as a fixed sequence of elementwise ops.

    A matrix product with an inner size of 3 to 5, written out: unlike a BLAS
    product, its rounding does not depend on the number of threads, so a sample
    deformed in a DataLoader worker (1 thread) is bit-identical to the same sample
    deformed in the main process.
    """
    out = weights[:, 0:1] * terms[..., 0:1, :]
    for k in range(1, weights.shape[1]):
        out.addcmul_(weights[:, k : k + 1], terms[..., k : k + 1, :])
    return out


def _dense_field(control: torch.Tensor, height: int, width: int) -> torch.Tensor:
    """Bicubic interpolation ``(N, 2, g, g) -> (N, 2, H, W)``; control points on the corners.

    Equal to ``F.interpolate(control, (H, W), mode="bicubic", align_corners=True)``,
    computed separably (along x, then along y: much faster on the CPU).
    ``align_corners=True`` puts the outer control points on the corner pixels, so
    the field passes exactly through the control values.
    """
    g = control.shape[-1]
    wy = _bicubic_matrix(height, g).to(control.device)
    wx = _bicubic_matrix(width, g).to(control.device)
    along_x = _weighted_sum(wx, control.transpose(-1, -2)).transpose(-1, -2)  # (N, 2, g, W)
    return _weighted_sum(wy, along_x)


def elastic_displacement(
    shape: tuple[int, int], grid: int = 3, sigma: float = 10.0, rng: RngLike = None
) -> ElasticField:
    """Draw the paper's random elastic displacement field (§3.1).

    Displacement vectors on a coarse ``grid × grid`` control grid spanning the image
    are drawn from N(0, sigma²) (independently for the row and the column
    component); the per-pixel displacements are their bicubic interpolation.

    Args:
        shape: image size ``(H, W)`` in pixels.
        grid: control points per side (paper: 3).
        sigma: standard deviation of the control displacements in pixels (paper: 10).
        rng: numpy Generator or seed.

    Returns:
        :class:`ElasticField` ``(field, control)``: ``field`` float32 ``(2, H, W)``
        (``dy``, ``dx``) in pixels, ``control`` float32 ``(2, grid, grid)``.
    """
    _check_grid_sigma(grid, sigma)
    h, w = (int(s) for s in shape)
    if h < 2 or w < 2:
        raise ValueError(f"shape must be at least (2, 2), got {tuple(shape)}")
    control = _as_rng(rng).normal(0.0, sigma, size=(1, 2, grid, grid)).astype(np.float32)
    field = _dense_field(torch.from_numpy(control), h, w)[0].numpy()
    return ElasticField(field, control[0])


# --------------------------------------------------------------------------------------
# Resampling with a displacement field
# --------------------------------------------------------------------------------------


def _margin(max_displacement: float, h: int, w: int) -> int:
    """Mirror padding (px) covering ``max_displacement`` plus the bicubic footprint; 0 if too large.

    Rounded up to a multiple of 8 so that the cached identity grids get reused.
    """
    margin = 8 * math.ceil((max_displacement + 3) / 8)
    return margin if margin < min(h, w) else 0


@functools.lru_cache(maxsize=8)
def _identity_grid(h: int, w: int, margin: int, device: torch.device) -> torch.Tensor:
    """grid_sample coordinates ``(H, W, 2)`` (x, y) of the unmoved pixels of an image padded by ``margin``."""
    sy, sx = 2.0 / (h + 2 * margin - 1), 2.0 / (w + 2 * margin - 1)
    # align_corners=True: -1 and +1 are the centres of the first and last (padded) pixels
    rows = (torch.arange(h, device=device, dtype=torch.float32) + margin) * sy - 1.0
    cols = (torch.arange(w, device=device, dtype=torch.float32) + margin) * sx - 1.0
    return torch.stack(torch.meshgrid(cols, rows, indexing="xy"), dim=-1).contiguous()


def _grid_from_field(field: torch.Tensor, margin: int) -> torch.Tensor:
    """Pixel displacements ``(N, 2, H, W)`` -> grid_sample's normalized ``(N, H, W, 2)`` (x, y).

    The coordinates refer to the image padded by ``margin`` px on every side.
    """
    _, _, h, w = field.shape
    scale = torch.tensor(
        [2.0 / (w + 2 * margin - 1), 2.0 / (h + 2 * margin - 1)], device=field.device
    )
    # field channels are (dy, dx); grid_sample wants (x, y)
    return _identity_grid(h, w, margin, field.device) + field.flip(1).permute(0, 2, 3, 1) * scale


@functools.lru_cache(maxsize=16)
def _field_gain(h: int, w: int, g: int) -> float:
    """Bound on ``max |field| / max |control|``: the product of the largest row sums of |weights|."""
    return float(_bicubic_matrix(h, g).abs().sum(1).max() * _bicubic_matrix(w, g).abs().sum(1).max())


@functools.lru_cache(maxsize=16)
def _col_terms(w: int, margin: int, device: torch.device) -> torch.Tensor:
    """``(2, 2W)`` in the interleaved (x, y) layout: "1 in the y slots", the column coordinate in the x slots."""
    sx = 2.0 / (w + 2 * margin - 1)
    terms = torch.zeros(2, w, 2)
    terms[0, :, 1] = 1.0
    terms[1, :, 0] = (torch.arange(w, dtype=torch.float32) + margin) * sx - 1.0
    return terms.view(2, 2 * w).to(device)


@functools.lru_cache(maxsize=16)
def _row_factors(h: int, g: int, margin: int, device: torch.device) -> torch.Tensor:
    """``(H, g + 2)``: the bicubic weights of the control rows, the normalized row coordinate, 1."""
    sy = 2.0 / (h + 2 * margin - 1)
    rows = (torch.arange(h, dtype=torch.float32) + margin) * sy - 1.0
    return torch.cat([_bicubic_matrix(h, g), rows[:, None], torch.ones(h, 1)], dim=1).to(device)


def _grid_from_control(control: torch.Tensor, h: int, w: int, margin: int) -> torch.Tensor:
    """Control displacements ``(N, 2, g, g)`` (px) -> grid_sample's normalized ``(N, H, W, 2)``.

    The same numbers as :func:`_grid_from_field` of :func:`_dense_field` (up to
    rounding), computed as one small "matrix product" that writes the (x, y) layout
    directly. Along x the control grid is interpolated first (tiny); the product
    with the row factors then does the interpolation along y and adds the identity
    grid: two extra rank-1 terms, the row coordinate times "1 in the y slots" and 1
    times the column coordinate in the x slots. No dense field or identity grid is
    read or written on its own.
    """
    n, _, g, _ = control.shape
    sy, sx = 2.0 / (h + 2 * margin - 1), 2.0 / (w + 2 * margin - 1)
    wx = _bicubic_matrix(w, g).to(control.device)
    c = torch.stack((control[:, 1] * sx, control[:, 0] * sy), dim=-1)  # (N, g, g, 2): [n, i, j, xy]
    t = _weighted_sum(wx, c).reshape(n, g, 2 * w)  # interpolated along x: [n, i, (x, xy)]
    t = torch.cat((t, _col_terms(w, margin, control.device).expand(n, 2, 2 * w)), dim=1)  # (N, g + 2, 2W)
    return _weighted_sum(_row_factors(h, g, margin, control.device), t).view(n, h, w, 2)


def _label_as_float(y: torch.Tensor) -> torch.Tensor:
    """Labels as floats for grid_sample: float32 holds integers exactly up to 2**24."""
    small = y.dtype in (torch.bool, torch.uint8, torch.int8, torch.int16)
    big = not small and y.numel() > 0 and max(-int(y.min()), int(y.max())) >= 2**24
    return y.to(torch.float64 if big else torch.float32)


def _warp(
    x: torch.Tensor,
    grid: torch.Tensor,
    margin: int,
    mode: str,
    nearest: Sequence[torch.Tensor] = (),
    value_range: tuple[torch.Tensor, torch.Tensor] | None = None,
) -> tuple[torch.Tensor, list[torch.Tensor]]:
    """Resample with grid_sample, mirroring the borders.

    Args:
        x: image batch ``(N, C, H, W)``, float, interpolated with ``mode``.
        grid: sampling positions ``(N, H, W, 2)`` for the image padded by ``margin``.
        margin: mirror padding in pixels; ``0``: use grid_sample's reflection mode.
        mode: ``"bicubic"``, ``"bilinear"`` or ``"nearest"``.
        nearest: further ``(N, 1, H, W)`` tensors (labels, weights) resampled with
            nearest neighbour at the same positions; returned with their dtypes.
        value_range: ``(min, max)`` of every channel, ``(N, C)`` each, if known.

    Returns:
        The resampled image (bicubic results clipped to the input range of each channel of each sample:
        bicubic interpolation overshoots at sharp edges) and the list of resampled
        ``nearest`` tensors.
    """
    # Explicit mirror padding gives the same values as grid_sample's "reflection"
    # mode (both reflect about the edge pixels' centres), but that mode reflects each
    # of the 16 bicubic taps separately, which doubles the cost on the CPU. The margin
    # covers every tap, so the "border" mode below is never reached.
    pad = (margin,) * 4
    padding_mode = "border" if margin else "reflection"

    def sample(t: torch.Tensor, m: str) -> torch.Tensor:
        t_pad = F.pad(t, pad, mode="reflect") if margin else t
        return F.grid_sample(t_pad, grid.to(t.dtype), mode=m, padding_mode=padding_mode, align_corners=True)

    out = sample(x, mode)
    if mode == "bicubic":
        lo, hi = value_range if value_range is not None else (x.amin(dim=(2, 3)), x.amax(dim=(2, 3)))
        if lo.numel() == 1:  # scalar bounds: a cheaper kernel
            out = out.clamp_(min=float(lo), max=float(hi))
        else:
            out = out.clamp_(min=lo[..., None, None], max=hi[..., None, None])
    others = []
    for t in nearest:
        if t.is_floating_point():
            others.append(sample(t, "nearest"))
        else:
            # nearest neighbour copies values: the floats are exact integers again
            others.append(sample(_label_as_float(t), "nearest").to(t.dtype))
    return out, others


def _restore(out: torch.Tensor, like: ArrayT) -> ArrayT:
    """Give ``out`` (a batch) the shape and type (numpy/torch) of ``like``."""
    out = out.reshape(like.shape)
    if isinstance(like, torch.Tensor):
        return out
    return out.numpy().astype(like.dtype, copy=False)


def apply_displacement(
    image: ArrayT,
    field: ArrayT,
    label: ArrayT | None = None,
    *,
    interpolation: str = "bicubic",
) -> ArrayT | tuple[ArrayT, ArrayT]:
    """Resample ``image`` (and ``label``) with a given per-pixel displacement field.

    Output pixel ``(y, x)`` takes the input at ``(y + dy, x + dx)``; beyond the border
    the input is mirrored. The image is interpolated with ``interpolation`` (bicubic
    results are clipped to the input's value range, because bicubic interpolation
    overshoots at sharp edges), the label with nearest neighbour.

    Args:
        image: numpy ``(H, W)`` / ``(C, H, W)`` or torch ``(N, C, H, W)``, float.
        field: displacements in pixels, ``(2, H, W)`` (numpy) or ``(N, 2, H, W)``
            (torch; ``(2, H, W)`` is used for every sample).
        label: integer labels ``(H, W)`` (numpy) or ``(N, H, W)`` / ``(N, 1, H, W)``.
        interpolation: ``"bicubic"``, ``"bilinear"`` or ``"nearest"`` for the image.

    Returns:
        The resampled image, or ``(image, label)``, of the input types and shapes.
    """
    _check_mode(interpolation)
    x, y, value_range = _to_batch(image, label)
    f = field if isinstance(field, torch.Tensor) else torch.from_numpy(np.asarray(field))
    h, w = x.shape[-2:]
    if f.ndim == 3:
        f = f.unsqueeze(0).expand(x.shape[0], -1, -1, -1)
    if f.ndim != 4 or tuple(f.shape[1:]) != (2, h, w) or f.shape[0] != x.shape[0]:
        raise ValueError(f"field must have shape (2, {h}, {w}) or (N, 2, {h}, {w}), got {tuple(field.shape)}")
    if not f.is_floating_point() or _non_finite(f):
        raise ValueError("field must be a floating-point array without NaN or infinite values")
    f = f.to(device=x.device, dtype=torch.float32)
    margin = _margin(float(f.abs().max()), h, w)
    out, others = _warp(x, _grid_from_field(f, margin), margin, interpolation, [] if y is None else [y], value_range)
    if label is None:
        return _restore(out, image)
    return _restore(out, image), _restore(others[0], label)


def elastic_deform(
    image: ArrayT,
    label: ArrayT | None = None,
    *,
    grid: int = 3,
    sigma: float = 10.0,
    rng: RngLike = None,
    interpolation: str = "bicubic",
) -> ArrayT | tuple[ArrayT, ArrayT]:
    """Random elastic deformation of the paper (§3.1) of an image and its label.

    A fresh random field (:func:`elastic_displacement`: ``grid × grid`` control
    displacements ~ N(0, sigma²) px, bicubic interpolation) is drawn for every
    sample, then :func:`apply_displacement` resamples the image smoothly and the
    label by nearest neighbour, both with mirrored borders.

    Args:
        image: numpy ``(H, W)`` / ``(C, H, W)``, or a torch batch ``(N, C, H, W)`` on
            any device (each sample gets its own field), floating point.
        label: integer labels ``(H, W)`` (numpy) or ``(N, H, W)`` / ``(N, 1, H, W)``
            (torch); class indices or instance ids, whose values are preserved.
        grid: control points per side (paper: 3).
        sigma: standard deviation of the control displacements in pixels (paper: 10);
            ``sigma=0`` returns the input unchanged.
        rng: numpy Generator or seed; the control values of sample ``n`` are the
            ``n``-th draw, so a numpy image and a one-sample torch batch deformed with
            equal seeds agree.
        interpolation: image interpolation, ``"bicubic"`` (default), ``"bilinear"``
            or ``"nearest"``.

    Returns:
        The deformed image, or ``(image, label)``; same types, shapes and dtypes.

    Raises:
        ValueError: wrong dimensions, image/label shape mismatch, NaN in the image,
            a non-integer label dtype, ``grid < 2``, negative ``sigma``.
    """
    _check_grid_sigma(grid, sigma)
    _check_mode(interpolation)
    x, y, value_range = _to_batch(image, label)
    if sigma == 0:  # no displacement at all: return copies, bit for bit
        copy = (lambda a: a.clone()) if isinstance(image, torch.Tensor) else np.copy
        return copy(image) if label is None else (copy(image), copy(label))
    n = x.shape[0]
    control = torch.from_numpy(_as_rng(rng).normal(0.0, sigma, size=(n, 2, grid, grid)).astype(np.float32))
    lo, hi = value_range
    if x.device.type == "cpu" and n > 1:
        # one sample at a time: its grid and padded copy stay in the CPU caches
        parts = [
            _elastic(x[i : i + 1], None if y is None else y[i : i + 1], control[i : i + 1], interpolation,
                     (lo[i : i + 1], hi[i : i + 1]))
            for i in range(n)
        ]
        out = torch.cat([p[0] for p in parts])
        new_label = None if y is None else torch.cat([p[1] for p in parts])
    else:
        out, new_label = _elastic(x, y, control.to(x.device), interpolation, value_range)
    if label is None:
        return _restore(out, image)
    return _restore(out, image), _restore(new_label, label)


def _elastic(
    x: torch.Tensor,
    y: torch.Tensor | None,
    control: torch.Tensor,
    interpolation: str,
    value_range: tuple[torch.Tensor, torch.Tensor],
) -> tuple[torch.Tensor, torch.Tensor | None]:
    """Deform a batch with the fields of ``control`` ``(N, 2, g, g)`` (px); see :func:`elastic_deform`."""
    _, _, h, w = x.shape
    margin = _margin(float(control.abs().max()) * _field_gain(h, w, control.shape[-1]), h, w)
    samp = _grid_from_control(control, h, w, margin)
    out, others = _warp(x, samp, margin, interpolation, [] if y is None else [y], value_range)
    return out, (others[0] if y is not None else None)


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
    if not np.issubdtype(weight.dtype, np.floating) or _non_finite(weight):
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
    x, y, value_range = _to_batch(image, label)
    extra = [] if y is None else [y]
    if weight is not None:
        extra.append(torch.from_numpy(np.ascontiguousarray(weight))[None, None])
    h, w = x.shape[-2:]
    if control is not None:
        c = torch.from_numpy(np.ascontiguousarray(control, dtype=np.float32))[None]
        margin = _margin(float(c.abs().max()) * _field_gain(h, w, c.shape[-1]), h, w)
        grid = _grid_from_control(c, h, w, margin)
    else:
        f = torch.from_numpy(np.ascontiguousarray(field, dtype=np.float32))[None]
        margin = _margin(float(f.abs().max()), h, w)
        grid = _grid_from_field(f, margin)
    out, others = _warp(x, grid, margin, interpolation, extra, value_range)
    new_label = None if label is None else _restore(others.pop(0), label)
    new_weight = None if weight is None else _restore(others.pop(0), weight)
    return _restore(out, image), new_label, new_weight


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
        rng = _as_rng(rng)
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
        _check_grid_sigma(grid, sigma)
        _check_mode(interpolation)
        self.grid, self.sigma, self.interpolation, self.p = int(grid), float(sigma), interpolation, p

    def __call__(self, image, label=None, weight=None, rng=None) -> Sample:
        rng = _as_rng(rng)
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
        rng = _as_rng(rng)
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
        k = int(_as_rng(rng).integers(4))
        rot = lambda a: None if a is None else np.rot90(a, k, axes=(-2, -1))  # noqa: E731
        return rot(image), rot(label), rot(weight)

    def __repr__(self) -> str:
        return "RandomRot90()"


def _affine_field(shape: tuple[int, int], angle_deg: float, shift: tuple[float, float]) -> np.ndarray:
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
        _check_mode(interpolation)
        self.degrees, self.interpolation = float(degrees), interpolation

    def __call__(self, image, label=None, weight=None, rng=None) -> Sample:
        angle = _as_rng(rng).uniform(-self.degrees, self.degrees)
        field = _affine_field(image.shape[-2:], angle, (0.0, 0.0))
        return _warp_sample(image, label, weight, self.interpolation, field=field)

    def __repr__(self) -> str:
        return f"RandomRotation(degrees={self.degrees}, interpolation={self.interpolation!r})"


class RandomShift:
    """Shift by a random whole number of pixels in ``[-max_shift, max_shift]`` per axis.

    The content moves by ``(dy, dx)``; mirrored content fills the uncovered border.
    """

    def __init__(self, max_shift: int = 16) -> None:
        if int(max_shift) != max_shift or max_shift < 0:
            raise ValueError(f"max_shift must be an integer >= 0 (pixels), got {max_shift!r}")
        self.max_shift = int(max_shift)

    def __call__(self, image, label=None, weight=None, rng=None) -> Sample:
        dy, dx = _as_rng(rng).integers(-self.max_shift, self.max_shift + 1, size=2)
        # whole-pixel shifts: nearest neighbour is exact for the image too
        field = _affine_field(image.shape[-2:], 0.0, (float(dy), float(dx)))
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
        for name, v in (("brightness", brightness), ("contrast", contrast), ("gamma", gamma)):
            if not np.isfinite(v) or v < 0:
                raise ValueError(f"{name} must be a finite number >= 0, got {v!r}")
        if contrast >= 1:
            raise ValueError(f"contrast must be < 1 (the factor must stay positive), got {contrast}")
        self.brightness, self.contrast, self.gamma = brightness, contrast, gamma

    def __call__(self, image, label=None, weight=None, rng=None) -> Sample:
        rng = _as_rng(rng)
        if _non_finite(image):
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
    gray-value changes (brightness, contrast and gamma, each ``± gray_value``).
    Shifts come from the random tile position in
    :class:`unet_tutorial.data.TileDataset`.
    """
    return Compose(
        [
            RandomFlip(),
            RandomRot90(),
            ElasticDeform(grid=grid, sigma=sigma),
            GrayValue(gray_value, gray_value, gray_value),
        ]
    )


def flips_augmentation() -> Compose:
    """Only the exact symmetries: random flips and 90° rotations (no resampling)."""
    return Compose([RandomFlip(), RandomRot90()])
