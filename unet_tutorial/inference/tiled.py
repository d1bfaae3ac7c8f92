"""Overlap-tile prediction (§2, Fig. 2) with test-time augmentation (§4), and one untiled pass.

:func:`predict_tiled` runs the tiles of a :func:`~unet_tutorial.inference.tiling.plan_tiles`
plan in batches on the compute device and stitches them on a stitching device
(the CPU by default), so an image of any size fits whatever the tile size.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import torch
from torch import nn

from .._checks import as_unit_float, check_planes
from ..hardware import model_device, select_device
from ..normalize import model_normalization, normalize_image
from .modes import eval_mode, prediction_mode, predictor_device
from .speed import fastest_tile_size
from .tiling import SizeRule, TilePlan, memory_budget, mirror_pad, plan_tiles, size_rule, tile_memory_bytes

__all__ = ["DIHEDRAL", "dihedral", "dihedral_inverse", "as_image_tensor", "predict_tiled", "predict_tiled_many",
           "segment", "forward_probabilities", "PREDICTOR_OUTPUTS", "stitching_device"]

#: What a predictor returns for a batch of tiles (its ``outputs`` attribute; default
#: ``"logits"``): logits, to which the soft-max of Eq. 1 is applied, or class probabilities
#: (an exported network that applies the soft-max itself), used as they are.
PREDICTOR_OUTPUTS = ("logits", "probabilities")

# --------------------------------------------------------------------------
# Test-time augmentation: the 8 symmetries of the square (§4)
# --------------------------------------------------------------------------

#: The 8 flips/rotations by 90°: ``(k, flip)`` = flip left-right (if ``flip``),
#: then rotate by ``k`` · 90° counter-clockwise. ``(0, False)`` is the identity.
DIHEDRAL = tuple((k, flip) for flip in (False, True) for k in range(4))


def dihedral(x: torch.Tensor, k: int, flip: bool) -> torch.Tensor:
    """Flip ``(…, H, W)`` left-right if ``flip``, then rotate by ``k · 90°`` (counter-clockwise).

    Raises:
        ValueError: ``x`` not a tensor with at least 2 dimensions, or empty.
    """
    check_planes(x, "x")
    if flip:
        x = torch.flip(x, dims=(-1,))
    return torch.rot90(x, k, dims=(-2, -1))


def dihedral_inverse(x: torch.Tensor, k: int, flip: bool) -> torch.Tensor:
    """Undo :func:`dihedral`: rotate by ``−k · 90°``, then flip back (same checks as :func:`dihedral`)."""
    check_planes(x, "x")
    x = torch.rot90(x, -k, dims=(-2, -1))
    if flip:
        x = torch.flip(x, dims=(-1,))
    return x


# --------------------------------------------------------------------------
# Prediction
# --------------------------------------------------------------------------


def as_image_tensor(image, in_channels: int | None, name: str = "image") -> torch.Tensor:
    """Validate ``image`` and return it as a float32 tensor ``(C, H, W)`` on its own device.

    Integer images are scaled to [0, 1] by their dtype's maximum (uint8 / 255,
    uint16 / 65535), as :func:`unet_tutorial._checks.as_unit_float`, ``read_image``
    and the ``predict`` command do: one image, one set of probabilities.
    """
    if isinstance(image, torch.Tensor):
        x = image.detach()
        if x.dtype == torch.bool or x.dtype.is_complex:
            raise ValueError(f"{name} must be real-valued (integer or float), got dtype {x.dtype}")
        if not x.is_floating_point():
            if x.numel() and x.dtype != torch.uint8 and bool((x < 0).any()):
                raise ValueError(f"{name} is a signed integer image with negative values (min {int(x.min())}); "
                                 "scale it to [0, 1] floats yourself")
            x = x.to(torch.float32) / float(torch.iinfo(x.dtype).max)
    elif isinstance(image, (np.ndarray, list, tuple)):
        arr = np.asarray(image)
        if arr.dtype.kind not in "uif":  # unsigned, signed, float
            raise ValueError(f"{name} must be real-valued (integer or float), got dtype {arr.dtype}")
        x = torch.from_numpy(np.ascontiguousarray(as_unit_float(arr, name)))
    else:
        raise ValueError(f"{name} must be a numpy array or torch tensor, got {type(image).__name__}")
    shape = tuple(x.shape)
    if x.ndim == 2:
        x = x[None]
    elif x.ndim != 3:
        raise ValueError(f"{name} must be 2-D (H, W) or 3-D channels-first (C, H, W), got shape {shape}")
    if x.shape[-2] == 0 or x.shape[-1] == 0 or x.shape[0] == 0:
        raise ValueError(f"{name} is empty (shape {shape})")
    if in_channels is not None and x.shape[0] != in_channels:
        hint = (
            "; for a channels-last image use np.moveaxis(image, -1, 0)"
            if x.ndim == 3 and shape[-1] == in_channels
            else ""
        )
        raise ValueError(
            f"the model expects {in_channels} input channel(s), {name} of shape {shape} has "
            f"{x.shape[0]} (images are (H, W) or channels-first (C, H, W)){hint}"
        )
    x = x.to(torch.float32)
    if not bool(torch.isfinite(x).all()):
        raise ValueError(f"{name} contains NaN or infinite values")
    return x


def _run_tiles(
    model: Callable[[torch.Tensor], torch.Tensor],
    jobs: list[tuple[torch.Tensor, TilePlan]],
    batch_size: int,
    amp: bool,
    step: Callable[[int], None],
    dev: torch.device,
    memory_format: torch.memory_format,
    outputs: str = "logits",
) -> list[torch.Tensor]:
    """Class probabilities ``(K, h, w)`` of each job ``(image (C, h, w), plan)``; one tile size for all.

    The tiles of *all* jobs go through the network in batches of ``batch_size``
    (so many small images, or the 8 transforms of one, share forward passes);
    the padded images and the stitched outputs stay on each image's device
    (the stitching device); only each batch of tiles visits the compute device ``dev``.
    """
    sizes = {plan.tile_size for _, plan in jobs}
    if len(sizes) != 1:
        raise ValueError(f"_run_tiles needs one tile size for all jobs, got {sorted(sizes)}")
    s = sizes.pop()
    home = jobs[0][0].device  # the stitching device, of every job
    padded = [mirror_pad(x, *plan.pad) for x, plan in jobs]
    canvases: list[torch.Tensor | None] = [None] * len(jobs)
    weight_sums = [torch.zeros(plan.canvas, device=home) if plan.blend else None for _, plan in jobs]
    windows = {id(plan): torch.from_numpy(plan.window()).to(home) for _, plan in jobs if plan.blend}
    tiles = [(j, y, x0) for j, (_, plan) in enumerate(jobs) for y, x0 in plan.positions]
    for start in range(0, len(tiles), batch_size):
        batch = tiles[start : start + batch_size]
        inputs = torch.stack([padded[j][:, y : y + s, x0 : x0 + s] for j, y, x0 in batch]).to(dev, non_blocking=True)
        with torch.autocast(dev.type, dtype=torch.bfloat16, enabled=amp):
            out = model(inputs.contiguous(memory_format=memory_format))
        if not isinstance(out, torch.Tensor) or out.ndim != 4 or out.shape[0] != len(batch):
            raise ValueError(f"the predictor must return a tensor (N, K, o, o) for {len(batch)} tiles, got "
                             f"{tuple(out.shape) if isinstance(out, torch.Tensor) else type(out).__name__}")
        # one transfer per batch
        probs = (torch.softmax(out.float(), dim=1) if outputs == "logits" else out.float()).to(home)
        for p, (j, y, x0) in zip(probs, batch):
            plan = jobs[j][1]
            o = plan.out_size
            if p.shape[-2:] != (o, o):
                raise ValueError(f"the model returned maps of {tuple(p.shape[-2:])} px, expected {o}x{o}")
            if p.shape[0] < 2:
                raise ValueError("the model has a single output channel; a softmax needs >= 2 classes (Eq. 1)")
            if canvases[j] is None:
                canvases[j] = torch.zeros((p.shape[0], *plan.canvas), device=home)
            if plan.blend:
                window = windows[id(plan)]
                canvases[j][:, y : y + o, x0 : x0 + o] += p * window
                weight_sums[j][y : y + o, x0 : x0 + o] += window
            else:
                # Overlaps (o mod 2**depth px) hold the same values: overwrite.
                canvases[j][:, y : y + o, x0 : x0 + o] = p
        step(len(batch))
    out = []
    for (_, plan), canvas, weight_sum in zip(jobs, canvases, weight_sums):
        assert canvas is not None
        if plan.blend:
            canvas /= weight_sum
        top, left = plan.crop
        out.append(canvas[:, top : top + plan.height, left : left + plan.width])
    return out


#: Most image pixels (all jobs together) one :func:`_run_tiles` call holds on the stitching device.
_PIXELS_PER_CALL = 2**25

#: On a CPU, a batch holds tiles of at most this many input pixels in all (at least one tile):
#: batching pays for small tiles (per-call overhead) and costs for large ones. Measured on the
#: 2-core course CPU, 30 DSB 2018 images with TTA (444-px tiles, dsb2018-nuclei): 27 s one tile
#: per pass, 28 s two, 42 s six (the memory budget's batch).
_CPU_BATCH_PIXELS = 2**18


def predict_tiled_many(
    model: Any,
    images,
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
    stitch_device: str | torch.device | None = "cpu",
    normalize: str | None = None,
    size_rule: SizeRule | None = None,
) -> list[np.ndarray]:
    """Class probabilities of several images of any sizes, their tiles batched together.

    The same result as :func:`predict_tiled` on each image (up to float
    rounding), faster for many small images: tiles of the same size from
    different images (and the 8 transforms of test-time augmentation) share
    forward passes. Arguments as :func:`predict_tiled`; ``images`` is a sequence of images.

    Returns:
        one float32 array ``(K, H, W)`` per image, in order.
    """
    rule = _rule_of(model, size_rule)
    outputs = getattr(model, "outputs", "logits")
    if outputs not in PREDICTOR_OUTPUTS:
        raise ValueError(f"the predictor's outputs must be one of {PREDICTOR_OUTPUTS}, got {outputs!r}")
    if isinstance(images, (np.ndarray, torch.Tensor)) or not hasattr(images, "__len__"):
        raise ValueError("images must be a list (or tuple) of images; for one image use predict_tiled")
    if batch_size is not None and (not isinstance(batch_size, int) or isinstance(batch_size, bool) or batch_size < 1):
        raise ValueError(f"batch_size must be a positive int, got {batch_size!r}")
    if not isinstance(tta, bool):
        raise ValueError(f"tta must be True or False, got {tta!r}")
    if (rule.num_classes or 2) < 2:
        raise ValueError("the model has a single output class; a softmax needs >= 2 classes (Eq. 1)")
    mode = model_normalization(model) if normalize is None else normalize
    xs = []
    for i, image in enumerate(images):
        x = as_image_tensor(image, rule.in_channels, f"images[{i}]")
        if mode != "none":  # the intensity scale the model was trained on (e.g. nuclei: percentiles)
            x = torch.from_numpy(normalize_image(x.cpu().numpy(), mode)).to(x.device)
        xs.append(x)
    module = isinstance(model, nn.Module)
    dev = predictor_device(model) if device is None else select_device(device)
    if device is not None and module:
        model.to(dev)
    if channels_last is None:
        channels_last = dev.type == "cpu" and module
    home = stitching_device(dev, stitch_device)
    transforms = DIHEDRAL if tta else DIHEDRAL[:1]

    # Every (image, transform) is a job; jobs are grouped by tile size.
    chosen: dict[tuple[int, int], int] = {}
    groups: dict[int, list[tuple[int, int, bool]]] = {}
    for i, x in enumerate(xs):
        hw = tuple(x.shape[-2:])
        if hw not in chosen:
            chosen[hw] = tile_size if tile_size is not None else fastest_tile_size(
                model, hw, dev, amp=amp, channels_last=bool(channels_last), blend=blend, overlap=overlap,
                rule=rule)
        for k, flip in transforms:
            groups.setdefault(chosen[hw], []).append((i, k, flip))
    plans: dict[tuple[int, int, int], TilePlan] = {}

    def plan_of(s: int, h: int, w: int) -> TilePlan:
        if (s, h, w) not in plans:
            plans[(s, h, w)] = plan_tiles(rule, h, w, s, blend=blend, overlap=overlap)
        return plans[(s, h, w)]

    def shape(i: int, k: int) -> tuple[int, int]:
        h, w = xs[i].shape[-2:]
        return (int(w), int(h)) if k % 2 else (int(h), int(w))

    total = sum(plan_of(s, *shape(i, k)).num_tiles for s, js in groups.items() for i, k, _ in js)
    sums: list[torch.Tensor | None] = [None] * len(xs)
    memory_format = torch.channels_last if channels_last else torch.contiguous_format

    from .._progress import progress_bar

    with progress_bar(total=total, desc="tiles", unit="tile", disable=not progress, leave=False) as bar:
        with prediction_mode(model, bool(channels_last)):
            for s, js in groups.items():
                bs = batch_size
                if bs is None:
                    per_tile = tile_memory_bytes(rule, s) if rule.trace is not None else 0
                    most = sum(plan_of(s, *shape(i, k)).num_tiles for i, k, _ in js)
                    bs = most if per_tile == 0 else max(1, min(most, memory_budget(dev) // per_tile))
                    if dev.type == "cpu":  # large batches of large tiles overflow the CPU's caches
                        bs = min(bs, max(1, _CPU_BATCH_PIXELS // (s * s)))
                # chunks of jobs whose images together hold at most _PIXELS_PER_CALL pixels
                chunk: list[tuple[int, int, bool]] = []
                pixels = 0
                for n, job in enumerate(js):
                    chunk.append(job)
                    pixels += xs[job[0]].shape[-1] * xs[job[0]].shape[-2]
                    if pixels < _PIXELS_PER_CALL and n + 1 < len(js):
                        continue
                    views = [dihedral(xs[i].to(home), k, flip) for i, k, flip in chunk]
                    outs = _run_tiles(model, [(v, plan_of(s, *v.shape[-2:])) for v in views], bs, amp,
                                      bar.update, dev, memory_format, outputs)
                    for (i, k, flip), probs in zip(chunk, outs):
                        probs = dihedral_inverse(probs, k, flip)
                        sums[i] = probs if sums[i] is None else sums[i] + probs
                    chunk, pixels = [], 0
    return [(t / len(transforms)).float().cpu().numpy() for t in sums]


def predict_tiled(
    model: Any,
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
    stitch_device: str | torch.device | None = "cpu",
    normalize: str | None = None,
    size_rule: SizeRule | None = None,
) -> np.ndarray:
    """Class probabilities of every pixel of an image of any size (overlap-tile strategy, Fig. 2).

    Args:
        model: the predictor: a :class:`~unet_tutorial.model.UNet`, any module with
            its size interface (``output_size(n)``, ``border``, ``padding``,
            ``depth``, optionally ``in_channels``), or any callable on a batch of
            tiles given with ``size_rule`` (or carrying one as ``size_rule``, like
            :class:`~unet_tutorial.inference.onnx_backend.OnnxPredictor`). It maps
            ``(N, C, s, s)`` to logits ``(N, K, o, o)``, or to probabilities if its
            ``outputs`` attribute says ``"probabilities"`` (:data:`PREDICTOR_OUTPUTS`).
            A module is run in eval mode (drop-out off; its mode is restored
            afterwards); every predictor under ``torch.inference_mode()``.
        image: ``(H, W)`` or channels-first ``(C, H, W)`` numpy array or torch
            tensor, any ``H, W >= 1``. Integer images are scaled to [0, 1] by
            their dtype's maximum (uint8 / 255, uint16 / 65535), as ``read_image``
            and the ``predict`` command do; float images are used as they are.
        tile_size: input tile size (pixels), a valid size of the model; default
            :func:`~unet_tutorial.inference.fastest_tile_size`: the candidate
            sizes that fit in the memory of ``device``, timed once on this
            machine (cached), the fastest for this image.
        tta: average over the 8 flips/rotations by 90° (§4), each mapped back;
            the 8 transforms share batches of tiles.
        batch_size: tiles per forward pass; default as many as fit in
            :func:`memory_budget` (at least 1), and on a CPU at most 2**18 input
            pixels in all (one 444-px tile; more small tiles).
        device: where to compute; default the model's device. The model is moved
            there (in place, like ``model.to``).
        progress: show a tqdm progress bar over tiles.
        blend: same-padded networks only: average overlapping tiles with a
            trapezoid window (True) or use plain tiles that show seams (False).
            Valid networks are exact and need no blending.
        overlap: same-padded networks only: overlap of blended tiles, as a
            fraction of the tile size in (0, 0.5].
        amp: compute in bfloat16 autocast (faster on recent GPUs and on CPUs
            with native bfloat16, ~1e-2 less exact); the default float32 keeps
            the tiling exact and every recorded number as recorded.
        channels_last: run the convolutions on channels-last (NHWC) data; default
            True on CPU, where oneDNN is faster so (measured in
            benchmarks/bench_inference.py). The model's parameters are
            restored afterwards; results differ only by float rounding (~1e-6).
        stitch_device: where the mirror-padded image, the stitched output and
            the test-time-augmentation sum are kept (default the CPU): only the
            batches of tiles use the compute device's memory, so an image of any
            size fits on a GPU whatever the tile size. ``None`` = the compute device.
        normalize: the input normalisation (:func:`unet_tutorial.normalize.normalize_image`,
            after the integer scaling); ``None`` = the one the model was trained with
            (``model.normalize``, saved in its file; ``"none"`` if it has none).
        size_rule: the predictor's :class:`~unet_tutorial.inference.SizeRule` (valid
            tile sizes, border, output size); default read from ``model``.

    Returns:
        float32 numpy array ``(K, H, W)``: the softmax over the ``K`` classes
        (Eq. 1's ``p_k(x)``), summing to 1 at every pixel.

    Raises:
        ValueError: bad image (dimensions, empty, NaN/inf, dtype, channels not
            matching ``model.in_channels``), invalid tile size (the message names
            the nearest valid sizes), bad options, unavailable device.
    """
    rule = _rule_of(model, size_rule)
    as_image_tensor(image, rule.in_channels)  # errors name "image"
    return predict_tiled_many(model, [image], tile_size=tile_size, tta=tta, batch_size=batch_size,
                              device=device, progress=progress, blend=blend, overlap=overlap, amp=amp,
                              channels_last=channels_last, stitch_device=stitch_device, normalize=normalize,
                              size_rule=rule)[0]


def stitching_device(compute: torch.device, stitch_device: str | torch.device | None = "cpu") -> torch.device:
    """Where the padded image, the stitched output and the TTA sum are kept: ``stitch_device``
    (default the CPU, so only tile batches use the compute device's memory), or the compute
    device itself when ``stitch_device`` is ``None``.

    Raises:
        ValueError: ``stitch_device`` is not a usable device.
    """
    return torch.device(compute) if stitch_device is None else select_device(stitch_device)


def _rule_of(model: Any, rule: SizeRule | None) -> SizeRule:
    """The size rule of a predictor (checked to be callable), given or read from it."""
    if not callable(model):
        raise ValueError(f"model must be a torch.nn.Module or a callable on a batch of tiles, "
                         f"got {type(model).__name__}")
    if rule is not None and not isinstance(rule, SizeRule):
        raise ValueError(f"size_rule must be a SizeRule, got {type(rule).__name__}")
    return size_rule(model) if rule is None else rule


def segment(model: nn.Module, image, threshold: float = 0.5, **kwargs) -> np.ndarray:
    """Boolean mask ``(H, W)``: probability of class 1 (the foreground) above ``threshold``.

    ``kwargs`` go to :func:`predict_tiled`.
    """
    if not isinstance(threshold, (int, float)) or not 0.0 <= threshold <= 1.0:
        raise ValueError(f"threshold must be a probability in [0, 1], got {threshold!r}")
    return predict_tiled(model, image, **kwargs)[1] > threshold


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
    x = as_image_tensor(window, getattr(model, "in_channels", None), "window")
    if hasattr(model, "output_size"):
        for n in x.shape[-2:]:
            model.output_size(int(n))  # ValueError naming the nearest valid sizes
    dev = model_device(model) if device is None else select_device(device)
    with eval_mode(model), torch.inference_mode():
        logits = model(x.to(dev)[None])
    return torch.softmax(logits.float(), 1)[0].cpu().numpy()

