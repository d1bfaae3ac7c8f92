"""The tile size that segments an image fastest on this machine: a short timed probe, cached.

The fewest FLOPs (:func:`~unet_tutorial.inference.choose_tile_size`) is not the
least time: convolutions run at different rates at different sizes (cache
sizes, oneDNN's blocking, the per-tile overhead), and a sliding window of small
tiles may beat one large tile that does fewer FLOPs. :func:`fastest_tile_size`
times one forward pass of each of a few candidate sizes
(:func:`~unet_tutorial.inference.tile_size_candidates`) and picks the size whose
*tiles × seconds per tile* is least. Each timing is cached per architecture,
device, precision, memory format and size for the life of the process, so the
probe is paid once (about one forward pass per candidate).
"""

from __future__ import annotations

import time
from collections.abc import Sequence

import torch
from torch import nn

from typing import Any

from .._checks import check_shape
from ..hardware import select_device
from .modes import prediction_mode, predictor_device
from .tiling import plan_tiles, size_rule, tile_size_candidates

__all__ = ["tile_seconds", "fastest_tile_size", "clear_tile_timings"]

_TIMINGS: dict[tuple, float] = {}


def _arch_key(predictor: Any) -> tuple:
    """What a tile's time depends on besides its size: the architecture, not the weights
    (a predictor that is not a module: that very object)."""
    if not isinstance(predictor, nn.Module):
        return (type(predictor).__qualname__, id(predictor))
    names = ("in_channels", "num_classes", "base_channels", "depth", "padding")
    return (type(predictor).__qualname__, *(getattr(predictor, n, None) for n in names),
            sum(p.numel() for p in predictor.parameters()))


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def tile_seconds(model: Any, tile_size: int, device: str | torch.device | None = None, *,
                 amp: bool = False, channels_last: bool = False, repeats: int = 2,
                 rule: Any = None) -> float:
    """Seconds of one forward pass of ``model`` on one ``tile_size`` tile (batch 1), cached.

    The best of ``repeats`` timed passes after one warm-up pass (allocation,
    oneDNN primitive creation), in eval mode, under ``torch.inference_mode()``,
    with bfloat16 autocast when ``amp`` and NHWC weights when ``channels_last``,
    as :func:`~unet_tutorial.inference.predict_tiled` runs them. ``model`` is any
    predictor; ``rule`` its :class:`~unet_tutorial.inference.SizeRule` (default
    :func:`~unet_tutorial.inference.size_rule` of it).
    """
    dev = predictor_device(model) if device is None else select_device(device)
    in_channels = size_rule(model if rule is None else rule).in_channels or 1
    key = (*_arch_key(model), str(dev), bool(amp), bool(channels_last), int(tile_size))
    if key not in _TIMINGS:
        x = torch.rand(1, int(in_channels), tile_size, tile_size, device=dev)
        if channels_last:
            x = x.contiguous(memory_format=torch.channels_last)
        best = float("inf")
        with prediction_mode(model, channels_last):
            for i in range(1 + repeats):
                _sync(dev)
                t0 = time.perf_counter()
                with torch.autocast(dev.type, dtype=torch.bfloat16, enabled=amp):
                    model(x)
                _sync(dev)
                if i:  # the first pass is the warm-up
                    best = min(best, time.perf_counter() - t0)
        _TIMINGS[key] = best
    return _TIMINGS[key]


def fastest_tile_size(
    model: Any,
    image_shape: Sequence[int],
    device: str | torch.device | None = None,
    *,
    amp: bool = False,
    channels_last: bool = False,
    memory_bytes: int | None = None,
    blend: bool = True,
    overlap: float = 0.25,
    rule: Any = None,
) -> int:
    """The valid tile size (pixels) that predicts an ``(H, W)`` or ``(C, H, W)`` image fastest here.

    Candidates: :func:`~unet_tutorial.inference.tile_size_candidates` (sizes
    that fit in memory, within 1.5× of the least compute); each is timed by
    :func:`tile_seconds` (cached), and the size with the least ``tiles ×
    seconds per tile`` wins. A single candidate is returned without timing.

    Args:
        model: the network (see :func:`~unet_tutorial.inference.predict_tiled`).
        image_shape: ``(H, W)`` or ``(C, H, W)`` of the image.
        device: where it will run (default the model's device).
        amp, channels_last: how it will run (they change the timings).
        memory_bytes, blend, overlap: as :func:`~unet_tutorial.inference.choose_tile_size`.
        rule: the predictor's :class:`~unet_tutorial.inference.SizeRule` (default read from it).
    """
    dims = check_shape(image_shape, "image_shape", lengths=(2, 3))
    dev = predictor_device(model) if device is None else select_device(device)
    rule = size_rule(model if rule is None else rule)
    sizes = tile_size_candidates(rule, dims, dev, memory_bytes, blend=blend, overlap=overlap)
    if len(sizes) == 1:
        return sizes[0]
    height, width = dims[-2], dims[-1]

    def seconds(s: int) -> float:
        tiles = plan_tiles(rule, height, width, s, blend=blend, overlap=overlap).num_tiles
        return tiles * tile_seconds(model, s, dev, amp=amp, channels_last=channels_last, rule=rule)

    return min(sizes, key=seconds)


def clear_tile_timings() -> None:
    """Forget every cached timing (e.g. after the machine's load changed)."""
    _TIMINGS.clear()
