"""Overlap-tile inference: segment images of any size with the U-Net (§1, §2, Fig. 2, §4).

The unpadded ("valid") U-Net turns an input tile of ``s`` pixels into an output
map of ``o = s − 2·border`` pixels (572 → 388, border 92, for the paper's
network). An image of any size is segmented tile by tile (Fig. 2): the output
tiles cover the image, each input tile is its output tile plus ``border``
pixels of context on every side, and the context missing beyond the image
border is extrapolated by **mirroring** the image (§1).

Exactness. The valid U-Net is translation-equivariant only for shifts by a
multiple of ``P = 2**depth`` pixels (the pooling grid moves with the tile).
The output tile size is not such a multiple (``o ≡ 4 mod 16`` for depth 4),
so :func:`plan_tiles` steps the tiles by ``o`` rounded down to a multiple of
``P`` (388 − 4 = 384 px: a 4-px overlap whose values agree) and pads the far
side of the image with more mirrored pixels so the last tile fits; the
result is cropped back to the image. All context comes from **one** mirror
padding of the whole image, so the tiled prediction equals a single forward
pass over the whole mirror-padded image (up to float rounding, ~1e-6), for
every tile size whose output is at least ``P`` pixels.

"Same"-padded networks (zero-padded convolutions, border 0) see zeros at every
tile edge, so plain tiles show seams. With ``blend=True`` tiles overlap by a
fraction ``overlap`` of their size (rounded to a multiple of ``P``) and are
averaged with a separable trapezoid window (weight 1 in the middle, ramping
linearly to ~0 over the overlap at every edge); the ramps of neighbouring
tiles sum to exactly 1, and the sum of weights divides the result anyway.
The image is mirror-padded by the overlap width, so image-border pixels get
mirrored context rather than zeros too. Blending makes the seams much fainter
(about 5x smaller errors against a whole-image pass in the tests) but cannot
remove them exactly: a tile's zero-padded edge still contributes with a small
weight. Only the valid network is seamless by construction. ``blend=False``
gives plain, non-overlapping tiles (to show the seams).

Test-time augmentation (``tta=True``) averages the class probabilities over the
8 flips/rotations by 90° of the input — the identity plus the paper's "7
rotated versions" (§4, EM segmentation) — each mapped back by the inverse
transform before averaging.

The command line ``python -m unet_tutorial predict`` (see
:func:`add_predict_command`) segments image files with a saved model.

For teaching: :func:`forward_probabilities` runs one untiled forward pass (the
reference tiling must reproduce); :func:`tile_boxes` and :func:`draw_tile_plan`
draw Fig. 2 from a :class:`TilePlan`; :class:`CiresanN4`, :func:`classify_pixels` and
:func:`time_per_pixel_classifier` are the per-pixel sliding-window classifier
of Ciresan et al. (2012) that the paper replaces (§1), for speed comparisons.
"""

from __future__ import annotations

import argparse
import math
import os
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn

from .model import write_atomic

__all__ = [
    "default_device",
    "mirror_indices",
    "mirror_pad",
    "TilePlan",
    "plan_tiles",
    "min_tile_size",
    "tile_memory_bytes",
    "memory_budget",
    "choose_tile_size",
    "DIHEDRAL",
    "dihedral",
    "dihedral_inverse",
    "predict_tiled",
    "segment",
    "read_image",
    "add_predict_command",
    "run_predict",
    "tile_boxes",
    "draw_tile_plan",
    "CiresanN4",
    "classify_pixels",
    "time_per_pixel_classifier",
    "forward_probabilities",
]

#: Bytes per float32 value.
_F32 = 4
#: Peak memory of one tile relative to the sum of all its float32 feature maps:
#: convolution workspaces, the logits/softmax copies and the allocator's slack.
_MEMORY_FACTOR = 2.0
#: choose_tile_size takes the largest tile costing at most this much more compute than the cheapest.
_COST_SLACK = 1.05
#: Fraction of the free GPU memory a tile batch may use.
_CUDA_FRACTION = 0.5
#: CPU budget: at most this much, and at most a quarter of the available RAM.
_CPU_BUDGET_CAP = 2 * 1024**3


# --------------------------------------------------------------------------
# Devices and memory
# --------------------------------------------------------------------------


def default_device() -> torch.device:
    """``cuda`` when a GPU is available, else ``cpu``."""
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def _available_ram_bytes() -> int:
    """Available RAM (bytes): ``MemAvailable`` of /proc/meminfo, else free pages, else 4 GiB."""
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        return 4 * 1024**3


def memory_budget(device: str | torch.device | None = None) -> int:
    """Bytes that one batch of tiles may use on ``device``.

    CUDA: half of the free memory (``torch.cuda.mem_get_info``). CPU: a
    conservative ``min(available RAM / 4, 2 GiB)``, since the CPU is usually
    shared with the rest of the session.
    """
    dev = _resolve_device(device)
    if dev.type == "cuda":
        free, _total = torch.cuda.mem_get_info(dev)
        return int(free * _CUDA_FRACTION)
    return int(min(_available_ram_bytes() / 4, _CPU_BUDGET_CAP))


def _resolve_device(device: str | torch.device | None) -> torch.device:
    if device is None:
        return default_device()
    try:
        dev = torch.device(device)
    except (RuntimeError, TypeError) as err:
        raise ValueError(f"not a valid torch device: {device!r} ({err})") from None
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"device {str(dev)!r} requested but CUDA is not available on this machine")
    return dev


def _model_device(model: nn.Module) -> torch.device:
    for p in model.parameters():
        return p.device
    for b in model.buffers():
        return b.device
    return torch.device("cpu")


# --------------------------------------------------------------------------
# Mirroring (the extrapolation of §1 / Fig. 2)
# --------------------------------------------------------------------------


def mirror_indices(n: int, before: int, after: int) -> np.ndarray:
    """Indices that extend an axis of ``n`` pixels by mirroring, ``before``/``after`` px each side.

    Mirroring is about the edge pixels without repeating them (numpy's
    ``np.pad(mode="reflect")``: ``… 2 1 | 0 1 2 … n−1 | n−2 n−3 …``), repeated as
    often as needed, so any padding works on any image, even one narrower than
    the padding (a 5-px image with 92 px of context). An axis of one pixel is
    repeated. Returns an int64 array of length ``before + n + after``.
    """
    if n < 1 or before < 0 or after < 0:
        raise ValueError(f"need n >= 1 and non-negative padding, got n={n}, before={before}, after={after}")
    idx = np.arange(-before, n + after, dtype=np.int64)
    if n == 1:
        return np.zeros_like(idx)
    period = 2 * (n - 1)  # the mirrored signal is periodic: 0 1 … n−1 … 1 | 0 1 …
    idx = np.mod(idx, period)
    return np.where(idx >= n, period - idx, idx)


def mirror_pad(image, top: int, bottom: int, left: int, right: int):
    """Mirror-pad the last two axes ``(…, H, W)`` of a numpy array or torch tensor.

    Same values as ``np.pad(image, …, mode="reflect")`` (for any padding width),
    returned as the input's type, on the input's device.
    """
    h, w = image.shape[-2], image.shape[-1]
    rows = mirror_indices(h, top, bottom)
    cols = mirror_indices(w, left, right)
    if isinstance(image, torch.Tensor):
        r = torch.from_numpy(rows).to(image.device)
        c = torch.from_numpy(cols).to(image.device)
        return image.index_select(-2, r).index_select(-1, c)
    return np.asarray(image)[..., rows[:, None], cols[None, :]]


# --------------------------------------------------------------------------
# Planning the tiles (Fig. 2)
# --------------------------------------------------------------------------


@dataclass(frozen=True)
class TilePlan:
    """Where the tiles of :func:`predict_tiled` go, for one image of ``height × width`` px.

    Coordinates: the image is mirror-padded by ``pad = (top, bottom, left,
    right)`` pixels; tile ``(y, x)`` of ``ys × xs`` reads the input window
    ``padded[y : y + tile_size, x : x + tile_size]`` and its output map
    (``out_size`` px) lands on the output canvas at ``[y : y + out_size, x :
    x + out_size]``. The image occupies canvas ``[crop[0] : crop[0] + height,
    crop[1] : crop[1] + width]``.

    Attributes:
        height, width: image size (pixels).
        tile_size: input tile size ``s`` (pixels, a valid size of the model).
        out_size: output tile size ``o`` (pixels).
        stride: distance between tile origins (pixels, a multiple of ``2**depth``).
        pad: mirror padding ``(top, bottom, left, right)`` of the image (pixels).
        crop: ``(top, left)`` of the image on the output canvas (pixels).
        canvas: ``(height, width)`` of the output canvas (pixels).
        ys, xs: tile origins along each axis.
        blend: whether overlapping outputs are averaged with :attr:`window` weights
            (same-padded networks) or simply written (valid networks, plain tiles).
        ramp: length (pixels) of the blending ramps at each tile edge (0 = no blending).
    """

    height: int
    width: int
    tile_size: int
    out_size: int
    stride: int
    pad: tuple[int, int, int, int]
    crop: tuple[int, int]
    canvas: tuple[int, int]
    ys: tuple[int, ...]
    xs: tuple[int, ...]
    blend: bool
    ramp: int

    @property
    def num_tiles(self) -> int:
        """Number of tiles (forward passes of one tile)."""
        return len(self.ys) * len(self.xs)

    @property
    def positions(self) -> list[tuple[int, int]]:
        """All tile origins ``(y, x)``, row by row."""
        return [(y, x) for y in self.ys for x in self.xs]

    def window(self) -> np.ndarray:
        """Blending weights ``(out_size, out_size)`` float32: a separable trapezoid.

        1 in the middle, ``(i + ½) / ramp`` over the ``ramp`` pixels next to every
        edge. Overlapping by ``ramp`` pixels, the ramps of two neighbouring tiles
        add up to exactly 1. All ones without blending.
        """
        if not self.blend:
            return np.ones((self.out_size, self.out_size), np.float32)
        i = np.arange(self.out_size, dtype=np.float64) + 0.5
        w1 = np.minimum(1.0, np.minimum(i, self.out_size - i) / self.ramp)
        return np.outer(w1, w1).astype(np.float32)


def _geometry(model: nn.Module) -> tuple[int, str, int]:
    """``(border, padding, period)`` of a U-Net-like model (see :func:`predict_tiled`)."""
    for attr in ("output_size", "border"):
        if not hasattr(model, attr):
            raise ValueError(
                f"the model has no {attr!r}: predict_tiled needs a UNet or a module with "
                "output_size(n), border, padding and depth like unet_tutorial.model.UNet"
            )
    padding = getattr(model, "padding", "valid")
    depth = int(getattr(model, "depth", 0))
    return int(model.border), padding, 2**depth


def _axis_tiles(n: int, span: int, stride: int) -> int:
    """Tiles of ``span`` px at ``stride`` px needed to cover ``n`` px (at least 1)."""
    return 1 if n <= span else 1 + math.ceil((n - span) / stride)


def min_tile_size(model: nn.Module, *, blend: bool = True, overlap: float = 0.25) -> int:
    """Smallest tile size :func:`predict_tiled` accepts for ``model`` (pixels).

    Valid networks: the smallest valid size whose output is at least
    ``2**depth`` pixels (so tiles can step along the pooling grid). Blended
    same-padded networks: ``2 · 2**depth`` (room for an overlap).
    """
    border, padding, period = _geometry(model)
    _check_overlap(overlap)
    s = _next_valid(model, 0)
    while True:
        if padding == "same" and blend and border == 0:
            if s >= 2 * period:
                return s
        elif model.output_size(s) >= period:
            return s
        s = _next_valid(model, s)


def _check_overlap(overlap: float) -> None:
    if not isinstance(overlap, (int, float)) or not 0.0 < overlap <= 0.5:
        raise ValueError(f"overlap must be a fraction of the tile size in (0, 0.5], got {overlap!r}")


def plan_tiles(
    model: nn.Module,
    height: int,
    width: int,
    tile_size: int,
    *,
    blend: bool = True,
    overlap: float = 0.25,
) -> TilePlan:
    """Plan the overlap-tile prediction of a ``height × width`` image (Fig. 2).

    See the module docstring for the rules; :class:`TilePlan` for the result.

    Raises:
        ValueError: if ``tile_size`` is not a valid input size of the model (the
            message names the nearest valid sizes), or too small to tile with
            (output smaller than ``2**depth`` px; the message names the minimum).
    """
    for name, v in (("height", height), ("width", width)):
        if not isinstance(v, (int, np.integer)) or v < 1:
            raise ValueError(f"image {name} must be a positive number of pixels, got {v!r}")
    if not isinstance(tile_size, (int, np.integer)) or isinstance(tile_size, bool):
        raise ValueError(f"tile_size must be an int (pixels), got {tile_size!r}")
    tile_size = int(tile_size)
    _check_overlap(overlap)
    border, padding, period = _geometry(model)
    out = model.output_size(tile_size)  # ValueError naming the nearest valid sizes
    blending = padding == "same" and border == 0 and blend
    if blending:
        ramp = max(period, round(overlap * tile_size / period) * period)
        if tile_size < 2 * period or ramp > tile_size // 2:
            raise ValueError(
                f"tile size {tile_size} px is too small to blend overlapping tiles "
                f"(the overlap must be a multiple of 2**depth = {period} px and at most half a tile); "
                f"use a tile size of at least {min_tile_size(model, blend=True, overlap=overlap)} px"
            )
        stride = tile_size - ramp
        # Mirror context of one ramp on every side: image pixels then lie where
        # the weights of the tiles covering them sum to exactly 1.
        ny, nx = (_axis_tiles(n + 2 * ramp, tile_size, stride) for n in (height, width))
        canvas = ((ny - 1) * stride + tile_size, (nx - 1) * stride + tile_size)
        pad = (ramp, canvas[0] - height - ramp, ramp, canvas[1] - width - ramp)
        crop = (ramp, ramp)
    else:
        ramp = 0
        stride = out - out % period  # step along the pooling grid (exactness)
        if stride < 1:
            raise ValueError(
                f"tile size {tile_size} px gives {out}-px output tiles, smaller than the pooling "
                f"period 2**depth = {period} px, so tiles could not follow the pooling grid; use a "
                f"tile size of at least {min_tile_size(model, blend=blend, overlap=overlap)} px"
            )
        ny, nx = _axis_tiles(height, out, stride), _axis_tiles(width, out, stride)
        canvas = ((ny - 1) * stride + out, (nx - 1) * stride + out)
        pad = (border, border + canvas[0] - height, border, border + canvas[1] - width)
        crop = (0, 0)
    return TilePlan(
        height=int(height),
        width=int(width),
        tile_size=tile_size,
        out_size=out,
        stride=stride,
        pad=pad,
        crop=crop,
        canvas=canvas,
        ys=tuple(range(0, canvas[0] - out + 1, stride)),
        xs=tuple(range(0, canvas[1] - out + 1, stride)),
        blend=blending,
        ramp=ramp,
    )


# --------------------------------------------------------------------------
# Choosing the tile size from the memory available
# --------------------------------------------------------------------------


def tile_memory_bytes(model: nn.Module, tile_size: int) -> int:
    """Estimated peak memory (bytes) of one forward pass on one ``tile_size`` tile.

    The sum of all feature maps of :meth:`UNet.trace` (float32, 4 bytes per
    value) times a safety factor of 2 for convolution workspaces and copies.

    The trace is taken once per architecture: a map at pooling level ``l``
    grows by exactly ``Δs / 2**l`` pixels when the tile grows by ``Δs`` (a
    multiple of ``2**depth`` between valid sizes), so every other size
    follows without re-tracing.
    """
    if not hasattr(model, "trace"):
        raise ValueError("the model has no trace(): pass tile_size explicitly")
    model.output_size(tile_size)  # ValueError naming the nearest valid sizes
    ref_size, records = _reference_trace(model)
    delta = tile_size - ref_size
    maps = 0
    for r in records:
        grow = delta // 2**r.level
        maps += r.channels * (r.height + grow) * (r.width + grow)
    return int(maps * _F32 * _MEMORY_FACTOR)


_TRACES: dict[tuple, tuple[int, list]] = {}


def _reference_trace(model: nn.Module) -> tuple[int, list]:
    """``(size, model.trace(size))`` at the smallest valid size, cached per architecture."""
    names = ("in_channels", "num_classes", "base_channels", "depth", "padding")
    key = (type(model).__qualname__, *(getattr(model, n, None) for n in names))
    if key not in _TRACES or None in key:
        size = _next_valid(model, 0)
        _TRACES[key] = (size, model.trace(size))
    return _TRACES[key]


def choose_tile_size(
    model: nn.Module,
    image_shape: Sequence[int],
    device: str | torch.device | None = None,
    memory_bytes: int | None = None,
    *,
    blend: bool = True,
    overlap: float = 0.25,
) -> int:
    """A valid tile size (pixels) for an image of ``image_shape`` ``(H, W)`` or ``(C, H, W)``.

    Among the valid sizes whose :func:`tile_memory_bytes` fits in
    ``memory_bytes`` (default :func:`memory_budget` of ``device``, itself
    defaulting to :func:`default_device`), picks the largest whose total
    input area (tiles × tile area: the compute) is within 5 % of the least
    (larger tiles have less per-tile overhead and, for blended same-padded
    networks, fewer seams). No tile larger than one covering the whole image
    is considered. If even the smallest usable tile does not fit, that one is
    returned.
    """
    if len(image_shape) not in (2, 3):
        raise ValueError(f"image_shape must be (H, W) or (C, H, W), got {tuple(image_shape)}")
    height, width = int(image_shape[-2]), int(image_shape[-1])
    if height < 1 or width < 1:
        raise ValueError(f"empty image shape {tuple(image_shape)}")
    budget = memory_budget(device) if memory_bytes is None else int(memory_bytes)
    # Candidates: every valid size from the smallest usable one up to the first
    # that covers the image in one tile (larger ones only cost more).
    candidates = [min_tile_size(model, blend=blend, overlap=overlap)]
    while plan_tiles(model, height, width, candidates[-1], blend=blend, overlap=overlap).num_tiles > 1:
        candidates.append(_next_valid(model, candidates[-1]))
    # Memory grows with the size: binary search for the last size that fits.
    lo, hi = 0, len(candidates) - 1
    if tile_memory_bytes(model, candidates[0]) > budget:
        return candidates[0]
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if tile_memory_bytes(model, candidates[mid]) <= budget:
            lo = mid
        else:
            hi = mid - 1
    costs = [
        plan_tiles(model, height, width, s, blend=blend, overlap=overlap).num_tiles * s * s
        for s in candidates[: lo + 1]
    ]
    cheapest = min(costs)
    # Fewer, larger tiles have less per-tile overhead (and fewer blended seams):
    # take the largest size within 5 % of the least compute.
    return max(s for s, c in zip(candidates, costs) if c <= _COST_SLACK * cheapest)


def _next_valid(model: nn.Module, size: int) -> int:
    """Smallest valid input size of ``model`` above ``size`` (with a non-empty output)."""
    if hasattr(model, "nearest_valid_input_sizes"):
        return int(model.nearest_valid_input_sizes(size + 1)[1])
    s = size + 1
    while True:
        try:
            if model.output_size(s) >= 1:
                return s
        except ValueError:
            pass
        s += 1


# --------------------------------------------------------------------------
# Test-time augmentation: the 8 symmetries of the square (§4)
# --------------------------------------------------------------------------

#: The 8 flips/rotations by 90°: ``(k, flip)`` = flip left-right (if ``flip``),
#: then rotate by ``k`` · 90° counter-clockwise. ``(0, False)`` is the identity.
DIHEDRAL = tuple((k, flip) for flip in (False, True) for k in range(4))


def dihedral(x: torch.Tensor, k: int, flip: bool) -> torch.Tensor:
    """Flip ``(…, H, W)`` left-right if ``flip``, then rotate by ``k · 90°`` (counter-clockwise)."""
    if flip:
        x = torch.flip(x, dims=(-1,))
    return torch.rot90(x, k, dims=(-2, -1))


def dihedral_inverse(x: torch.Tensor, k: int, flip: bool) -> torch.Tensor:
    """Undo :func:`dihedral`: rotate by ``−k · 90°``, then flip back."""
    x = torch.rot90(x, -k, dims=(-2, -1))
    if flip:
        x = torch.flip(x, dims=(-1,))
    return x


# --------------------------------------------------------------------------
# Prediction
# --------------------------------------------------------------------------


def _as_image(image, in_channels: int | None) -> torch.Tensor:
    """Validate ``image`` and return it as a float32 tensor ``(C, H, W)`` on its own device."""
    if isinstance(image, torch.Tensor):
        x = image.detach()
        dtype, real = x.dtype, not (x.dtype == torch.bool or x.dtype.is_complex)
    elif isinstance(image, (np.ndarray, list, tuple)):
        arr = np.asarray(image)
        dtype, real = arr.dtype, arr.dtype.kind in "uif"  # unsigned, signed, float
        x = torch.from_numpy(np.ascontiguousarray(arr, dtype=np.float32)) if real else None
    else:
        raise ValueError(f"image must be a numpy array or torch tensor, got {type(image).__name__}")
    if not real:
        raise ValueError(f"image must be real-valued (integer or float), got dtype {dtype}")
    shape = tuple(x.shape)
    if x.ndim == 2:
        x = x[None]
    elif x.ndim != 3:
        raise ValueError(f"image must be 2-D (H, W) or 3-D channels-first (C, H, W), got shape {shape}")
    if x.shape[-2] == 0 or x.shape[-1] == 0 or x.shape[0] == 0:
        raise ValueError(f"image is empty (shape {shape})")
    if in_channels is not None and x.shape[0] != in_channels:
        hint = (
            "; for a channels-last image use np.moveaxis(image, -1, 0)"
            if x.ndim == 3 and shape[-1] == in_channels
            else ""
        )
        raise ValueError(
            f"the model expects {in_channels} input channel(s), image of shape {shape} has "
            f"{x.shape[0]} (images are (H, W) or channels-first (C, H, W)){hint}"
        )
    x = x.to(torch.float32)
    if not bool(torch.isfinite(x).all()):
        raise ValueError("image contains NaN or infinite values")
    return x


class _ChannelsLast:
    """Temporarily store a module's 4-D parameters channels-last (NHWC), then restore them.

    oneDNN's CPU convolutions are 1.6-2x faster on channels-last data
    (measured in benchmarks/bench_inference.py); the original tensors are put
    back afterwards, so the caller's model is left exactly as it was.
    """

    def __init__(self, model: nn.Module, enabled: bool) -> None:
        self.model, self.enabled = model, enabled
        self.saved: list[tuple[torch.Tensor, torch.Tensor]] = []

    def __enter__(self) -> None:
        if not self.enabled:
            return
        with torch.no_grad():
            for p in self.model.parameters():
                if p.ndim == 4:
                    self.saved.append((p, p.data))
                    p.data = p.data.contiguous(memory_format=torch.channels_last)

    def __exit__(self, *exc: object) -> None:
        with torch.no_grad():
            for p, data in self.saved:
                p.data = data
        self.saved.clear()


class _TrainingMode:
    """Put a module in eval mode for the duration of a ``with`` block, then restore it."""

    def __init__(self, model: nn.Module) -> None:
        self.model = model

    def __enter__(self) -> None:
        self.was_training = self.model.training
        self.model.eval()

    def __exit__(self, *exc: object) -> None:
        self.model.train(self.was_training)


def _predict_once(
    model: nn.Module,
    x: torch.Tensor,
    plan: TilePlan,
    batch_size: int,
    amp: bool,
    step: Callable[[int], None],
) -> torch.Tensor:
    """Class probabilities ``(K, H, W)`` of one image ``(C, H, W)`` (on its device) following ``plan``."""
    padded = mirror_pad(x, *plan.pad)
    s, o = plan.tile_size, plan.out_size
    dev = x.device
    canvas: torch.Tensor | None = None
    weight_sum = torch.zeros(plan.canvas, device=dev) if plan.blend else None
    window = torch.from_numpy(plan.window()).to(dev) if plan.blend else None
    positions = plan.positions
    for start in range(0, len(positions), batch_size):
        batch_pos = positions[start : start + batch_size]
        tiles = torch.stack([padded[:, y : y + s, x0 : x0 + s] for y, x0 in batch_pos])
        with torch.autocast(dev.type, dtype=torch.bfloat16, enabled=amp):
            logits = model(tiles)
        probs = torch.softmax(logits.float(), dim=1)
        if probs.shape[-2:] != (o, o):
            raise ValueError(f"the model returned maps of {tuple(probs.shape[-2:])} px, expected {o}x{o}")
        if probs.shape[1] < 2:
            raise ValueError("the model has a single output channel; a softmax needs >= 2 classes (Eq. 1)")
        if canvas is None:
            canvas = torch.zeros((probs.shape[1], *plan.canvas), device=dev)
        for p, (y, x0) in zip(probs, batch_pos):
            if plan.blend:
                canvas[:, y : y + o, x0 : x0 + o] += p * window
                weight_sum[y : y + o, x0 : x0 + o] += window
            else:
                # Overlaps (o mod 2**depth px) hold the same values: overwrite.
                canvas[:, y : y + o, x0 : x0 + o] = p
        step(len(batch_pos))
    assert canvas is not None
    if plan.blend:
        canvas /= weight_sum
    top, left = plan.crop
    return canvas[:, top : top + plan.height, left : left + plan.width]


def predict_tiled(
    model: nn.Module,
    image,
    *,
    tile_size: int | None = None,
    tta: bool = False,
    batch_size: int | None = None,
    device: str | torch.device | None = None,
    progress: bool = False,
    blend: bool = True,
    overlap: float = 0.25,
    amp: bool = False,
    channels_last: bool | None = None,
) -> np.ndarray:
    """Class probabilities of every pixel of an image of any size (overlap-tile strategy, Fig. 2).

    Args:
        model: a :class:`~unet_tutorial.model.UNet`, or any module with its size
            interface: ``output_size(n)``, ``border`` (pixels), ``padding``
            ("valid" or "same"; default "valid"), ``depth`` (tiles step along the
            ``2**depth`` pooling grid; default 0) and optionally ``in_channels``.
            Its forward maps ``(N, C, s, s)`` to logits ``(N, K, o, o)``. It is
            run in eval mode (drop-out off; its mode is restored afterwards)
            under ``torch.inference_mode()``.
        image: ``(H, W)`` or channels-first ``(C, H, W)`` numpy array or torch
            tensor, any ``H, W >= 1``. Integers are converted to float32 as they
            are (not rescaled): scale them as the training images were.
        tile_size: input tile size (pixels), a valid size of the model; default
            :func:`choose_tile_size` from the memory of ``device``.
        tta: average over the 8 flips/rotations by 90° (§4), each mapped back.
        batch_size: tiles per forward pass; default as many as fit in
            :func:`memory_budget` (at least 1).
        device: where to compute; default the model's device. The model is moved
            there (in place, like ``model.to``).
        progress: show a tqdm progress bar over tiles.
        blend: same-padded networks only: average overlapping tiles with a
            trapezoid window (True) or use plain tiles that show seams (False).
            Valid networks are exact and need no blending.
        overlap: same-padded networks only: overlap of blended tiles, as a
            fraction of the tile size in (0, 0.5].
        amp: compute in bfloat16 autocast (faster on recent GPUs, ~1e-2 less
            exact); the default float32 keeps the tiling exact.
        channels_last: run the convolutions on channels-last (NHWC) data; default
            True on CPU, where oneDNN is about 1.6-2x faster so (measured in
            benchmarks/bench_inference.py). The model's parameters are
            restored afterwards; results differ only by float rounding (~1e-6).

    Returns:
        float32 numpy array ``(K, H, W)``: the softmax over the ``K`` classes
        (Eq. 1's ``p_k(x)``), summing to 1 at every pixel.

    Raises:
        ValueError: bad image (dimensions, empty, NaN/inf, dtype, channels not
            matching ``model.in_channels``), invalid tile size (the message names
            the nearest valid sizes), bad options, unavailable device.
    """
    if not isinstance(model, nn.Module):
        raise ValueError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    _geometry(model)
    x = _as_image(image, getattr(model, "in_channels", None))
    if batch_size is not None and (not isinstance(batch_size, int) or isinstance(batch_size, bool) or batch_size < 1):
        raise ValueError(f"batch_size must be a positive int, got {batch_size!r}")
    if not isinstance(tta, bool):
        raise ValueError(f"tta must be True or False, got {tta!r}")
    if getattr(model, "num_classes", 2) < 2:
        raise ValueError("the model has a single output class; a softmax needs >= 2 classes (Eq. 1)")
    dev = _model_device(model) if device is None else _resolve_device(device)
    if device is not None:
        model.to(dev)
    height, width = x.shape[-2:]
    if tile_size is None:
        tile_size = choose_tile_size(model, (height, width), dev, blend=blend, overlap=overlap)
    transforms = DIHEDRAL if tta else DIHEDRAL[:1]
    plans = {}
    for k, flip in transforms:
        hw = (width, height) if k % 2 else (height, width)
        if hw not in plans:
            plans[hw] = plan_tiles(model, *hw, tile_size, blend=blend, overlap=overlap)
    if batch_size is None:
        per_tile = tile_memory_bytes(model, tile_size) if hasattr(model, "trace") else 0
        most = max(p.num_tiles for p in plans.values())
        batch_size = most if per_tile == 0 else max(1, min(most, memory_budget(dev) // per_tile))

    from tqdm.auto import tqdm

    total = sum(plans[(width, height) if k % 2 else (height, width)].num_tiles for k, _ in transforms)
    x = x.to(dev)
    if channels_last is None:
        channels_last = dev.type == "cpu"
    with tqdm(total=total, desc="tiles", unit="tile", disable=not progress, leave=False) as bar:
        with _TrainingMode(model), _ChannelsLast(model, bool(channels_last)), torch.inference_mode():
            result = None
            for k, flip in transforms:
                xt = dihedral(x, k, flip)
                probs = _predict_once(model, xt, plans[tuple(xt.shape[-2:])], batch_size, amp, bar.update)
                probs = dihedral_inverse(probs, k, flip)
                result = probs if result is None else result + probs
            result = result / len(transforms)
    return result.float().cpu().numpy()


def segment(model: nn.Module, image, threshold: float = 0.5, **kwargs) -> np.ndarray:
    """Boolean mask ``(H, W)``: probability of class 1 (the foreground) above ``threshold``.

    ``kwargs`` go to :func:`predict_tiled`.
    """
    if not isinstance(threshold, (int, float)) or not 0.0 <= threshold <= 1.0:
        raise ValueError(f"threshold must be a probability in [0, 1], got {threshold!r}")
    return predict_tiled(model, image, **kwargs)[1] > threshold


# --------------------------------------------------------------------------
# Image files and the command line
# --------------------------------------------------------------------------


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
        raise ValueError(f"cannot read image {path}: {_one_line(err)}") from None
    img = np.asarray(img)
    if img.dtype == np.bool_:
        img = img.astype(np.float32)
    elif img.dtype.kind in "ui":
        img = img.astype(np.float32) / np.iinfo(img.dtype).max
    elif img.dtype.kind == "f":
        img = img.astype(np.float32)
    else:
        raise ValueError(f"image {path} has unsupported dtype {img.dtype}")
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


def _one_line(err: BaseException) -> str:
    return " ".join(str(err).split()) or type(err).__name__


def _write_atomic(path: Path, write: Callable[[str], None]) -> None:
    """Write ``path`` through a temporary file in its folder renamed into place."""
    write_atomic(path, write)


def add_predict_command(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Register the ``predict`` subcommand (``python -m unet_tutorial predict …``)."""
    p = subparsers.add_parser(
        "predict",
        help="segment image files with a trained U-Net (overlap-tile strategy)",
        description=(
            "Segment PNG/TIFF/... images of any size with a saved U-Net (overlap-tile "
            "strategy, mirrored borders). Writes <stem>_prob.tif (float32 foreground "
            "probability) and <stem>_mask.png (uint8 0/255) per image into --out. Integer "
            "images are scaled to [0, 1] by their dtype's maximum; RGB(A) images are turned "
            "into gray by luminance for 1-channel models."
        ),
    )
    p.add_argument("images", nargs="+", metavar="IMAGE", help="image files to segment")
    p.add_argument("--weights", required=True, help="model file written by unet_tutorial.model.save_model or training")
    p.add_argument("--out", required=True, help="output folder (created if missing)")
    p.add_argument("--tile-size", type=int, default=None, help="input tile size in pixels (default: from memory)")
    p.add_argument("--tta", action="store_true", help="average over the 8 flips/rotations (paper §4)")
    p.add_argument("--threshold", type=float, default=0.5, help="foreground probability threshold of the mask")
    p.add_argument("--device", default=None, help="torch device, e.g. cpu or cuda (default: cuda if available)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=run_predict)
    return p


def run_predict(args: argparse.Namespace) -> int:
    """Run the ``predict`` subcommand; returns the exit code (2 with a one-line message on error)."""
    try:
        _predict_files(args)
    except (FileNotFoundError, ValueError, OSError) as err:
        print(f"unet_tutorial predict: error: {_one_line(err)}", file=sys.stderr)
        return 2
    return 0


def _predict_files(args: argparse.Namespace) -> None:
    from tqdm.auto import tqdm

    from .model import load_model

    if not 0.0 <= args.threshold <= 1.0:
        raise ValueError(f"--threshold must be in [0, 1], got {args.threshold}")
    device = _resolve_device(args.device)
    weights = Path(args.weights)
    if not weights.is_file():
        raise FileNotFoundError(f"weights file not found: {weights}")
    try:
        model = load_model(weights, map_location=device)
    except Exception as err:  # torch/our loader raise several types for a wrong file
        raise ValueError(f"cannot load weights {weights}: {_one_line(err)}") from None
    if args.tile_size is not None:
        plan_tiles(model, 1, 1, args.tile_size)  # ValueError naming valid sizes, before any output

    # Validate every input before writing anything.
    paths = [Path(p) for p in args.images]
    stems: dict[str, Path] = {}
    for path in paths:
        read_image(path, model.in_channels)
        if path.stem in stems and stems[path.stem] != path:
            raise ValueError(f"inputs {stems[path.stem]} and {path} share the name {path.stem!r}: outputs would collide")
        stems[path.stem] = path
    out = Path(args.out)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise OSError(f"cannot create output folder {out}: {_one_line(err)}") from None

    import skimage.io
    import tifffile

    for path in tqdm(dict.fromkeys(paths), desc="images", unit="image", disable=args.quiet):
        prob = predict_tiled(model, read_image(path, model.in_channels), tile_size=args.tile_size, tta=args.tta)[1]
        mask = np.where(prob > args.threshold, 255, 0).astype(np.uint8)
        _write_atomic(out / f"{path.stem}_prob.tif", lambda f: tifffile.imwrite(f, prob.astype(np.float32)))
        _write_atomic(
            out / f"{path.stem}_mask.png", lambda f: skimage.io.imsave(f, mask, check_contrast=False)
        )


# --------------------------------------------------------------------------
# Fig. 2: drawing a tile plan
# --------------------------------------------------------------------------


def tile_boxes(plan: TilePlan, index: int = 0) -> dict[str, tuple[int, int, int, int]]:
    """The rectangles of Fig. 2 for tile ``index`` of ``plan``, in image coordinates.

    Coordinates are ``(top, left, height, width)`` in pixels, with ``(0, 0)``
    the image's top-left pixel; negative or too large values lie in the
    mirrored extension of the image.

    Returns:
        ``{"image": …, "input": …, "output": …}``: the image itself, the input
        window the network reads for this tile (the *blue* area of Fig. 2,
        ``tile_size`` px) and the output area it predicts (the *yellow* area,
        ``out_size`` px). For a valid network the output area is the input
        area shrunk by ``border`` px on every side.

    Raises:
        ValueError: if ``index`` is not in ``[0, plan.num_tiles)``.
    """
    if not isinstance(index, (int, np.integer)) or isinstance(index, bool) or not 0 <= index < plan.num_tiles:
        raise ValueError(f"tile index must be an int in [0, {plan.num_tiles}), got {index!r}")
    y, x = plan.positions[int(index)]
    s, o = plan.tile_size, plan.out_size
    return {
        "image": (0, 0, plan.height, plan.width),
        "input": (y - plan.pad[0], x - plan.pad[2], s, s),
        "output": (y - plan.crop[0], x - plan.crop[1], o, o),
    }


def draw_tile_plan(
    plan: TilePlan,
    image,
    ax=None,
    *,
    tile: int = 0,
    grid: bool = True,
    veil: float = 0.3,
):
    """Draw Fig. 2 of the paper for ``plan``: the overlap-tile strategy on ``image``.

    Shows the image mirror-padded as :func:`predict_tiled` pads it (the mirrored
    part under a white veil of opacity ``veil``, the image border dashed), the
    output area of every tile (thin white lines, if ``grid``), and for tile
    ``tile`` its input area (blue) and output area (yellow). Axes are in
    image pixels (negative: the mirrored extension).

    Args:
        plan: from :func:`plan_tiles` for this image's size.
        image: gray ``(H, W)`` or ``(1, H, W)`` numpy array or tensor, ``H × W``
            as planned; gray values in ``[0, 1]`` are shown as they are.
        ax: a matplotlib ``Axes``; default a new figure's.
        tile: which tile to highlight (index into :attr:`TilePlan.positions`).
        grid: draw the output areas of all tiles.
        veil: opacity in ``[0, 1]`` of the white veil over the mirrored part.

    Returns:
        The ``Axes``.

    Raises:
        ValueError: if the image is not gray, or its size differs from the plan's,
            or ``tile``/``veil`` is out of range.
    """
    import matplotlib.pyplot as plt
    from matplotlib.patches import Rectangle

    img = image.detach().cpu().numpy() if isinstance(image, torch.Tensor) else np.asarray(image)
    if img.ndim == 3 and img.shape[0] == 1:
        img = img[0]
    if img.ndim != 2 or img.shape != (plan.height, plan.width):
        raise ValueError(
            f"image must be gray (H, W) = ({plan.height}, {plan.width}) as planned, got shape {np.shape(image)}"
        )
    if not 0.0 <= veil <= 1.0:
        raise ValueError(f"veil must be an opacity in [0, 1], got {veil!r}")
    boxes = tile_boxes(plan, tile)
    if ax is None:
        _, ax = plt.subplots(figsize=(6, 6))
    top, bottom, left, right = plan.pad
    padded = mirror_pad(img.astype(np.float32), top, bottom, left, right)
    extent = (-left - 0.5, plan.width + right - 0.5, plan.height + bottom - 0.5, -top - 0.5)
    ax.imshow(padded, cmap="gray", vmin=0, vmax=1, extent=extent, interpolation="nearest")
    if veil > 0:
        outside = np.ones(padded.shape, bool)
        outside[top : top + plan.height, left : left + plan.width] = False
        rgba = np.zeros((*padded.shape, 4), np.float32)
        rgba[outside] = (1.0, 1.0, 1.0, veil)
        ax.imshow(rgba, extent=extent, interpolation="nearest")

    def rect(box, **kw):
        t, l, h, w = box
        ax.add_patch(Rectangle((l - 0.5, t - 0.5), w, h, fill=False, **kw))

    if grid:
        for i in range(plan.num_tiles):
            rect(tile_boxes(plan, i)["output"], edgecolor="white", linewidth=0.8, alpha=0.8)
    rect(boxes["image"], edgecolor="black", linewidth=1.5, linestyle="--", label="image border")
    rect(boxes["input"], edgecolor="tab:blue", linewidth=2.5, label=f"input tile {plan.tile_size} px")
    rect(boxes["output"], edgecolor="gold", linewidth=2.5, label=f"output tile {plan.out_size} px")
    ax.legend(loc="upper right", fontsize=8, framealpha=0.9)
    ax.set_xlim(extent[0], extent[1])
    ax.set_ylim(extent[2], extent[3])
    ax.set_xlabel("x (px, image coordinates)")
    ax.set_ylabel("y (px)")
    return ax


# --------------------------------------------------------------------------
# The baseline the paper replaces: per-pixel sliding-window classification (§1)
# --------------------------------------------------------------------------


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
    x = _as_image(image, 1)
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
    padded = mirror_pad(x[0], r, r, r, r).to(_model_device(net))
    out = []
    with _TrainingMode(net), torch.inference_mode():
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
    x = _as_image(image, 1)
    rng = np.random.default_rng(seed)
    ys = rng.integers(0, x.shape[-2], samples)
    xs = rng.integers(0, x.shape[-1], samples)
    dev = _model_device(net)
    classify_pixels(net, x, ys[:batch_size], xs[:batch_size], batch_size=batch_size)  # warm-up
    if dev.type == "cuda":
        torch.cuda.synchronize(dev)
    t0 = time.perf_counter()
    classify_pixels(net, x, ys, xs, batch_size=batch_size)
    if dev.type == "cuda":
        torch.cuda.synchronize(dev)
    return (time.perf_counter() - t0) / samples


# --------------------------------------------------------------------------
# One forward pass without tiling (the reference tiling must reproduce)
# --------------------------------------------------------------------------


def forward_probabilities(model: nn.Module, window, *, device: str | torch.device | None = None) -> np.ndarray:
    """Class probabilities of ONE forward pass over ``window``: no tiling, no padding added.

    The reference the overlap-tile prediction is compared with (§2: tiling is
    seamless when the stitched output equals this pass over the whole
    mirror-padded image), and the tool to run a single hand-placed tile.

    Args:
        model: a network mapping ``(1, C, h, w)`` to logits ``(1, K, h', w')``;
            if it has ``output_size`` (a :class:`~unet_tutorial.model.UNet`), the
            window's height and width must be valid input sizes. Run in eval
            mode (its mode is restored afterwards).
        window: ``(h, w)`` or channels-first ``(C, h, w)`` numpy array or tensor.
        device: where to compute; default the model's device (the model is not moved).

    Returns:
        float32 numpy array ``(K, h', w')``: the softmax over the classes (Eq. 1),
        e.g. ``(2, 388, 388)`` for a 572-px window and the paper's network.

    Raises:
        ValueError: bad window (as :func:`predict_tiled`), or a size the model
            cannot take (the message names the nearest valid sizes).
    """
    if not isinstance(model, nn.Module):
        raise ValueError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    x = _as_image(window, getattr(model, "in_channels", None))
    if hasattr(model, "output_size"):
        for n in x.shape[-2:]:
            model.output_size(int(n))  # ValueError naming the nearest valid sizes
    dev = _model_device(model) if device is None else _resolve_device(device)
    with _TrainingMode(model), torch.inference_mode():
        logits = model(x.to(dev)[None])
    return torch.softmax(logits.float(), 1)[0].cpu().numpy()
