"""The random elastic deformation of the U-Net paper (§3.1).

"We generate smooth deformations using random displacement vectors on a coarse
3 by 3 grid. The displacements are sampled from a Gaussian distribution with 10
pixels standard deviation. Per-pixel displacements are then computed using
bicubic interpolation."

- :func:`elastic_displacement`: the random field (control displacements on the
  ``grid × grid`` control grid and their bicubic interpolation), for figures;
- :func:`apply_displacement`: resample an image (smoothly) and its label (nearest
  neighbour) with a given per-pixel field, mirroring beyond the border;
- :func:`elastic_deform`: both in one call, on numpy arrays or torch batches on
  any device (every sample its own field).

The resampling helpers (:func:`resample` and the grids it samples at) are shared
with the training transforms of :mod:`.transforms`.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence
from typing import NamedTuple

import numpy as np
import torch
import torch.nn.functional as F

from .._checks import check_shape
from ._common import (
    ArrayT,
    RngLike,
    as_rng,
    check_grid_sigma,
    check_mode,
    non_finite,
    to_batch,
)

__all__ = ["ElasticField", "elastic_displacement", "dense_field", "apply_displacement", "elastic_deform",
           "grid_from_control", "grid_from_field", "field_margin", "resample", "field_gain", "restore_type"]


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


def dense_field(control: torch.Tensor, height: int, width: int) -> torch.Tensor:
    """Bicubic interpolation ``(N, 2, g, g) -> (N, 2, H, W)``, control points on corners.

    Equal to ``F.interpolate(control, (H, W), mode="bicubic", align_corners=True)``,
    computed separably (along x, then along y: much faster on the CPU).
    ``align_corners=True`` puts the outer control points on the corner pixels, so
    the field passes exactly through the control values.
    """
    g = control.shape[-1]
    wy = _bicubic_matrix(height, g).to(control.device)
    wx = _bicubic_matrix(width, g).to(control.device)
    # along x first: (N, 2, g, g) -> (N, 2, g, W), then along y -> (N, 2, H, W)
    along_x = _weighted_sum(wx, control.transpose(-1, -2)).transpose(-1, -2)
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
    check_grid_sigma(grid, sigma)
    h, w = check_shape(shape, "shape", minimum=2)
    control = as_rng(rng).normal(0.0, sigma, size=(1, 2, grid, grid))
    control = control.astype(np.float32)
    field = dense_field(torch.from_numpy(control), h, w)[0].numpy()
    return ElasticField(field, control[0])


# --------------------------------------------------------------------------------------
# Resampling with a displacement field
# --------------------------------------------------------------------------------------


def field_margin(max_displacement: float, h: int, w: int) -> int:
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


def grid_from_field(field: torch.Tensor, margin: int) -> torch.Tensor:
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
def field_gain(h: int, w: int, g: int) -> float:
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


def grid_from_control(control: torch.Tensor, h: int, w: int, margin: int) -> torch.Tensor:
    """Control displacements ``(N, 2, g, g)`` (px) -> grid_sample's normalized ``(N, H, W, 2)``.

    The same numbers as :func:`grid_from_field` of :func:`dense_field` (up to
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


def resample(
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


def restore_type(out: torch.Tensor, like: ArrayT) -> ArrayT:
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
    check_mode(interpolation)
    x, y, value_range = to_batch(image, label)
    if isinstance(field, torch.Tensor):
        f = field
    else:
        f_np = np.asarray(field)
        if f_np.dtype.kind != "f":  # torch.from_numpy refuses object arrays with a TypeError
            raise ValueError(f"field must be a floating-point array, got dtype {f_np.dtype}")
        f = torch.from_numpy(f_np)
    h, w = x.shape[-2:]
    if f.ndim == 3:
        f = f.unsqueeze(0).expand(x.shape[0], -1, -1, -1)
    if f.ndim != 4 or tuple(f.shape[1:]) != (2, h, w) or f.shape[0] != x.shape[0]:
        raise ValueError(f"field must have shape (2, {h}, {w}) or (N, 2, {h}, {w}), got {tuple(field.shape)}")
    if not f.is_floating_point():
        raise ValueError(f"field must be a floating-point array, got dtype {f.dtype}")
    if non_finite(f):
        raise ValueError("field contains NaN or infinite values")
    f = f.to(device=x.device, dtype=torch.float32)
    margin = field_margin(float(f.abs().max()), h, w)
    out, others = resample(x, grid_from_field(f, margin), margin, interpolation, [] if y is None else [y], value_range)
    if label is None:
        return restore_type(out, image)
    return restore_type(out, image), restore_type(others[0], label)


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
    check_grid_sigma(grid, sigma)
    check_mode(interpolation)
    x, y, value_range = to_batch(image, label)
    if sigma == 0:  # no displacement at all: return copies, bit for bit
        copy = (lambda a: a.clone()) if isinstance(image, torch.Tensor) else np.copy
        return copy(image) if label is None else (copy(image), copy(label))
    n = x.shape[0]
    control = torch.from_numpy(as_rng(rng).normal(0.0, sigma, size=(n, 2, grid, grid)).astype(np.float32))
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
        return restore_type(out, image)
    return restore_type(out, image), restore_type(new_label, label)


def _elastic(
    x: torch.Tensor,
    y: torch.Tensor | None,
    control: torch.Tensor,
    interpolation: str,
    value_range: tuple[torch.Tensor, torch.Tensor],
) -> tuple[torch.Tensor, torch.Tensor | None]:
    """Deform a batch with the fields of ``control`` ``(N, 2, g, g)`` (px); see :func:`elastic_deform`."""
    _, _, h, w = x.shape
    margin = field_margin(float(control.abs().max()) * field_gain(h, w, control.shape[-1]), h, w)
    samp = grid_from_control(control, h, w, margin)
    out, others = resample(x, samp, margin, interpolation, [] if y is None else [y], value_range)
    return out, (others[0] if y is not None else None)

