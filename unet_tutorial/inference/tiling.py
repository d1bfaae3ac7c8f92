"""Where the tiles go (§2, Fig. 2): mirroring, the tile plan, the tile sizes that fit in memory.

See :mod:`unet_tutorial.inference` for the exactness argument (tiles step along the
``2**depth`` pooling grid, all context from one mirror padding of the image).
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import nn

from .._checks import check_int, check_shape
from ..mirror import mirror_indices
from ..hardware import select_device

__all__ = ["SizeRule", "size_rule", "mirror_pad", "TilePlan", "plan_tiles", "min_tile_size", "tile_memory_bytes", "memory_budget",
           "choose_tile_size", "tile_size_candidates", "tile_boxes", "model_geometry"]

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
# What a predictor takes and gives: its size rule (§2)
# --------------------------------------------------------------------------


@dataclass(frozen=True)
class SizeRule:
    """The sizes of a tiled predictor: which tiles it takes, what it returns, in pixels (§2).

    Everything :func:`plan_tiles` and :func:`~unet_tutorial.inference.predict_tiled`
    need to know of a network besides calling it, so that any callable on a batch
    of tiles ``(N, C, s, s) → (N, K, o, o)`` can be tiled (an exported ONNX network,
    a network of another library), not only a :class:`~unet_tutorial.model.UNet`.

    Attributes:
        output_size: input tile edge ``s`` → output tile edge ``o`` [pixels]; raises
            ``ValueError`` for a size the predictor cannot take (ideally naming the
            nearest valid ones). ``572 → 388`` for the paper's network.
        border: context consumed on each side [pixels], ``(s − o) / 2`` (92 for the
            paper's network; 0 for a same-padded one).
        padding: ``"valid"`` (tiles are exact, §2) or ``"same"`` (tiles are blended).
        depth: number of 2×2 poolings: tiles step along the ``2**depth`` pooling grid.
        in_channels, num_classes: ``C`` and ``K`` (``None``: not checked).
        trace: feature-map shapes of one tile (:meth:`UNet.trace
            <unet_tutorial.model.UNet.trace>`), for the memory estimate of a tile;
            ``None``: unknown (every tile size is taken to fit).
        base_channels: width of the first level (part of the timing and memory cache
            keys; ``None`` if not a U-Net).

    Examples:
        >>> rule = SizeRule.for_unet(depth=4, padding="valid")
        >>> rule.output_size(572), rule.border
        (388, 92)
    """

    output_size: Callable[[int], int]
    border: int
    padding: str = "valid"
    depth: int = 0
    in_channels: int | None = None
    num_classes: int | None = None
    trace: Callable[[Any], list] | None = None
    base_channels: int | None = None

    def __post_init__(self) -> None:
        if not callable(self.output_size):
            raise ValueError(f"output_size must be a function of the tile size, got {self.output_size!r}")
        if self.padding not in ("valid", "same"):
            raise ValueError(f"padding must be 'valid' or 'same', got {self.padding!r}")
        for name in ("border", "depth"):
            v = getattr(self, name)
            if not isinstance(v, (int, np.integer)) or isinstance(v, bool) or v < 0:
                raise ValueError(f"{name} must be a non-negative int (pixels / poolings), got {v!r}")

    @classmethod
    def for_unet(cls, depth: int = 4, padding: str = "valid", in_channels: int | None = None,
                 num_classes: int | None = None, base_channels: int | None = None) -> "SizeRule":
        """The rule of a U-Net of this shape (the arithmetic of :mod:`unet_tutorial.model`);
        with ``base_channels`` it can also trace a tile (memory estimates) on the meta device."""
        from .. import model as unet

        unet.check_input_size(unet.valid_input_sizes(depth, padding, stop=4096)[0], depth, padding)
        trace = None
        if base_channels is not None:
            def trace(size):
                with torch.device("meta"):
                    net = unet.UNet(in_channels or 1, num_classes or 2, base_channels, depth, padding, 0.0)
                return net.trace(size)
        return cls(output_size=lambda s: unet.output_size(s, depth, padding), border=unet.border(depth, padding),
                   padding=padding, depth=depth, in_channels=in_channels, num_classes=num_classes,
                   trace=trace, base_channels=base_channels)


def size_rule(model: Any) -> SizeRule:
    """The :class:`SizeRule` of a predictor: ``model`` itself if it is one, its ``size_rule``
    attribute if it has one, else read from its size interface (``output_size(n)``,
    ``border``, ``padding``, ``depth``, ``in_channels``, ``num_classes``, ``trace``, as
    :class:`~unet_tutorial.model.UNet` has them).

    Raises:
        ValueError: none of these (the message says how to give one).
    """
    if isinstance(model, SizeRule):
        return model
    own = getattr(model, "size_rule", None)
    if isinstance(own, SizeRule):
        return own
    for attr in ("output_size", "border"):
        if not hasattr(model, attr):
            raise ValueError(
                f"the model has no {attr!r}: predict_tiled needs a UNet, a module with output_size(n), border, "
                "padding and depth like unet_tutorial.model.UNet, or any callable with size_rule=SizeRule(...)")
    return SizeRule(output_size=model.output_size, border=int(model.border),
                    padding=getattr(model, "padding", "valid"), depth=int(getattr(model, "depth", 0)),
                    in_channels=getattr(model, "in_channels", None), num_classes=getattr(model, "num_classes", None),
                    trace=getattr(model, "trace", None), base_channels=getattr(model, "base_channels", None))


# --------------------------------------------------------------------------
# Devices and memory
# --------------------------------------------------------------------------


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
    dev = select_device(device)
    if dev.type == "cuda":
        free, _total = torch.cuda.mem_get_info(dev)
        return int(free * _CUDA_FRACTION)
    return int(min(_available_ram_bytes() / 4, _CPU_BUDGET_CAP))


# --------------------------------------------------------------------------
# Mirroring (the extrapolation of §1 / Fig. 2)
# --------------------------------------------------------------------------


def mirror_pad(image, top: int, bottom: int, left: int, right: int):
    """Mirror-pad the last two axes ``(…, H, W)`` of a numpy array or torch tensor.

    Same values as ``np.pad(image, …, mode="reflect")`` (for any padding width),
    returned as the input's type, on the input's device. Any dtype: values are only moved.

    Raises:
        ValueError: an image with fewer than 2 dimensions or an empty last axis
            (nothing to mirror), or a padding that is not an int >= 0.
    """
    if not isinstance(image, torch.Tensor):
        image = np.asarray(image)
    if image.ndim < 2:
        raise ValueError(f"image must have shape (…, H, W) (at least 2-D), got shape {tuple(image.shape)}")
    h, w = image.shape[-2], image.shape[-1]
    if h == 0 or w == 0:
        raise ValueError(f"image is empty (shape {tuple(image.shape)}): there is nothing to mirror")
    top, bottom, left, right = (
        check_int(v, n, minimum=0) for v, n in ((top, "top"), (bottom, "bottom"), (left, "left"), (right, "right"))
    )
    rows = mirror_indices(h, top, bottom)
    cols = mirror_indices(w, left, right)
    if isinstance(image, torch.Tensor):
        r = torch.from_numpy(rows).to(image.device)
        c = torch.from_numpy(cols).to(image.device)
        return image.index_select(-2, r).index_select(-1, c)
    return image[..., rows[:, None], cols[None, :]]


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


def model_geometry(model: Any) -> tuple[int, str, int]:
    """``(border, padding, period)`` of a predictor's :func:`size_rule` (see :func:`predict_tiled`)."""
    rule = size_rule(model)
    return int(rule.border), rule.padding, 2**int(rule.depth)


def _axis_tiles(n: int, span: int, stride: int) -> int:
    """Tiles of ``span`` px at ``stride`` px needed to cover ``n`` px (at least 1)."""
    return 1 if n <= span else 1 + math.ceil((n - span) / stride)


def min_tile_size(model: nn.Module, *, blend: bool = True, overlap: float = 0.25) -> int:
    """Smallest tile size :func:`predict_tiled` accepts for ``model`` (pixels).

    Valid networks: the smallest valid size whose output is at least
    ``2**depth`` pixels (so tiles can step along the pooling grid). Blended
    same-padded networks: ``2 · 2**depth`` (room for an overlap).
    """
    border, padding, period = model_geometry(model)
    _check_overlap(overlap)
    output = size_rule(model).output_size  # read once: the loop below asks it for many sizes
    s = _next_valid(model, 0)
    while True:
        if padding == "same" and blend and border == 0:
            if s >= 2 * period:
                return s
        elif output(s) >= period:
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
    border, padding, period = model_geometry(model)
    out = size_rule(model).output_size(tile_size)  # ValueError naming the nearest valid sizes
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
    rule = size_rule(model)
    if rule.trace is None:
        raise ValueError("the model has no trace(): pass tile_size explicitly")
    rule.output_size(tile_size)  # ValueError naming the nearest valid sizes
    ref_size, records = _reference_trace(rule)
    delta = tile_size - ref_size
    maps = 0
    for r in records:
        grow = delta // 2**r.level
        maps += r.channels * (r.height + grow) * (r.width + grow)
    return int(maps * _F32 * _MEMORY_FACTOR)


_TRACES: dict[tuple, tuple[int, list]] = {}


def _reference_trace(rule: SizeRule) -> tuple[int, list]:
    """``(size, rule.trace(size))`` at the smallest valid size, cached per architecture."""
    key = (rule.in_channels, rule.num_classes, rule.base_channels, rule.depth, rule.padding, rule.border)
    if key not in _TRACES or None in key:
        size = _next_valid(rule, 0)
        _TRACES[key] = (size, rule.trace(size))
    return _TRACES[key]


def _fitting_sizes(model: nn.Module, height: int, width: int, budget: int, *, blend: bool,
                   overlap: float) -> tuple[list[int], list[int]]:
    """Valid tile sizes from the smallest usable one up to one covering the image that fit in
    ``budget`` bytes (at least the smallest), and each one's compute (tiles × tile area, pixels)."""
    # Candidates: every valid size from the smallest usable one up to the first
    # that covers the image in one tile (larger ones only cost more).
    candidates = [min_tile_size(model, blend=blend, overlap=overlap)]
    while plan_tiles(model, height, width, candidates[-1], blend=blend, overlap=overlap).num_tiles > 1:
        candidates.append(_next_valid(model, candidates[-1]))
    # Memory grows with the size: binary search for the last size that fits.
    lo, hi = 0, len(candidates) - 1
    if size_rule(model).trace is None:  # no memory estimate: every size is taken to fit
        lo = hi
    elif tile_memory_bytes(model, candidates[0]) > budget:
        hi = 0
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if tile_memory_bytes(model, candidates[mid]) <= budget:
            lo = mid
        else:
            hi = mid - 1
    sizes = candidates[: lo + 1]
    costs = [plan_tiles(model, height, width, s, blend=blend, overlap=overlap).num_tiles * s * s for s in sizes]
    return sizes, costs


def choose_tile_size(
    model: nn.Module,
    image_shape: Sequence[int],
    device: str | torch.device | None = None,
    memory_bytes: int | None = None,
    *,
    blend: bool = True,
    overlap: float = 0.25,
) -> int:
    """The valid tile size (pixels) of least compute for an image of ``image_shape`` ``(H, W)`` or ``(C, H, W)``.

    Among the valid sizes whose :func:`tile_memory_bytes` fits in
    ``memory_bytes`` (default :func:`memory_budget` of ``device``, itself
    defaulting to :func:`unet_tutorial.hardware.select_device`), picks the largest whose total
    input area (tiles × tile area: the compute) is within 5 % of the least
    (larger tiles have less per-tile overhead and, for blended same-padded
    networks, fewer seams). No tile larger than one covering the whole image
    is considered. If even the smallest usable tile does not fit, that one is
    returned. :func:`~unet_tutorial.inference.fastest_tile_size` (what
    :func:`~unet_tutorial.inference.predict_tiled` uses) times the candidates instead.
    """
    dims = check_shape(image_shape, "image_shape", lengths=(2, 3))
    budget = memory_budget(device) if memory_bytes is None else int(memory_bytes)
    sizes, costs = _fitting_sizes(model, dims[-2], dims[-1], budget, blend=blend, overlap=overlap)
    cheapest = min(costs)
    # Fewer, larger tiles have less per-tile overhead (and fewer blended seams):
    # take the largest size within 5 % of the least compute.
    return max(s for s, c in zip(sizes, costs) if c <= _COST_SLACK * cheapest)


def tile_size_candidates(
    model: nn.Module,
    image_shape: Sequence[int],
    device: str | torch.device | None = None,
    memory_bytes: int | None = None,
    *,
    blend: bool = True,
    overlap: float = 0.25,
    max_cost: float = 1.5,
    most: int = 5,
) -> list[int]:
    """The tile sizes (pixels) worth timing for an image of ``image_shape``, ascending.

    For every number of tiles the valid sizes that fit in memory (as
    :func:`choose_tile_size`) allow, the smallest size giving that number (the
    least compute for it); of those, the ones whose compute is at most
    ``max_cost`` × the least, at most ``most`` of them (the cheapest), plus
    :func:`choose_tile_size`'s answer. One entry when only one size is worth it.
    """
    dims = check_shape(image_shape, "image_shape", lengths=(2, 3))
    if not max_cost >= 1.0 or not isinstance(most, int) or most < 1:
        raise ValueError(f"max_cost must be >= 1 and most a positive int, got {max_cost!r}, {most!r}")
    budget = memory_budget(device) if memory_bytes is None else int(memory_bytes)
    sizes, costs = _fitting_sizes(model, dims[-2], dims[-1], budget, blend=blend, overlap=overlap)
    first: dict[int, tuple[int, int]] = {}  # tiles -> (cost, size), the smallest size for that count
    for s, c in zip(sizes, costs):
        n = c // (s * s)
        if n not in first:
            first[n] = (c, s)
    cheapest = min(costs)
    worth = sorted(v for v in first.values() if v[0] <= max_cost * cheapest)[:most]
    flops_choice = choose_tile_size(model, dims, memory_bytes=budget, blend=blend, overlap=overlap)
    return sorted({s for _, s in worth} | {flops_choice})


def _next_valid(model: nn.Module, size: int) -> int:
    """Smallest valid input size of ``model`` above ``size`` (with a non-empty output)."""
    if hasattr(model, "nearest_valid_input_sizes"):
        return int(model.nearest_valid_input_sizes(size + 1)[1])
    rule = size_rule(model)
    s = size + 1
    while True:
        try:
            if rule.output_size(s) >= 1:
                return s
        except ValueError:
            pass
        s += 1


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


