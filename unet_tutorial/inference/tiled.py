"""Overlap-tile prediction (§2, Fig. 2) with test-time augmentation (§4), and one untiled pass.

:func:`predict_tiled` runs the tiles of a :func:`~unet_tutorial.inference.tiling.plan_tiles`
plan in batches on the compute device and stitches them on a stitching device
(the CPU by default), so an image of any size fits whatever the tile size.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch
from torch import nn

from .._checks import as_unit_float, check_planes
from ..hardware import model_device, select_device
from ..normalize import model_normalization, normalize_image
from .tiling import TilePlan, _geometry, choose_tile_size, memory_budget, mirror_pad, plan_tiles, tile_memory_bytes

__all__ = ["DIHEDRAL", "dihedral", "dihedral_inverse", "predict_tiled", "segment", "forward_probabilities"]

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


def _as_image(image, in_channels: int | None, name: str = "image") -> torch.Tensor:
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
    dev: torch.device,
) -> torch.Tensor:
    """Class probabilities ``(K, H, W)`` of one image ``(C, H, W)`` following ``plan``.

    The padded image and the stitched output stay on ``x``'s device (the
    stitching device); only each batch of tiles goes to the compute device ``dev``
    and its probabilities come back, so the compute device holds one batch at a time.
    """
    padded = mirror_pad(x, *plan.pad)
    s, o = plan.tile_size, plan.out_size
    home = x.device
    canvas: torch.Tensor | None = None
    weight_sum = torch.zeros(plan.canvas, device=home) if plan.blend else None
    window = torch.from_numpy(plan.window()).to(home) if plan.blend else None
    positions = plan.positions
    for start in range(0, len(positions), batch_size):
        batch_pos = positions[start : start + batch_size]
        tiles = torch.stack([padded[:, y : y + s, x0 : x0 + s] for y, x0 in batch_pos]).to(dev, non_blocking=True)
        with torch.autocast(dev.type, dtype=torch.bfloat16, enabled=amp):
            logits = model(tiles)
        probs = torch.softmax(logits.float(), dim=1).to(home)
        if probs.shape[-2:] != (o, o):
            raise ValueError(f"the model returned maps of {tuple(probs.shape[-2:])} px, expected {o}x{o}")
        if probs.shape[1] < 2:
            raise ValueError("the model has a single output channel; a softmax needs >= 2 classes (Eq. 1)")
        if canvas is None:
            canvas = torch.zeros((probs.shape[1], *plan.canvas), device=home)
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
    stitch_device: str | torch.device | None = "cpu",
    normalize: str | None = None,
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
            tensor, any ``H, W >= 1``. Integer images are scaled to [0, 1] by
            their dtype's maximum (uint8 / 255, uint16 / 65535), as ``read_image``
            and the ``predict`` command do; float images are used as they are.
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
        stitch_device: where the mirror-padded image, the stitched output and
            the test-time-augmentation sum are kept (default the CPU): only the
            batches of tiles use the compute device's memory, so an image of any
            size fits on a GPU whatever the tile size. ``None`` = the compute device.
        normalize: the input normalisation (:func:`unet_tutorial.normalize.normalize_image`,
            after the integer scaling); ``None`` = the one the model was trained with
            (``model.normalize``, saved in its file; ``"none"`` if it has none).

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
    mode = model_normalization(model) if normalize is None else normalize
    if mode != "none":  # the intensity scale the model was trained on (e.g. nuclei: percentiles)
        x = torch.from_numpy(normalize_image(x.cpu().numpy(), mode)).to(x.device)
    if batch_size is not None and (not isinstance(batch_size, int) or isinstance(batch_size, bool) or batch_size < 1):
        raise ValueError(f"batch_size must be a positive int, got {batch_size!r}")
    if not isinstance(tta, bool):
        raise ValueError(f"tta must be True or False, got {tta!r}")
    if getattr(model, "num_classes", 2) < 2:
        raise ValueError("the model has a single output class; a softmax needs >= 2 classes (Eq. 1)")
    dev = model_device(model) if device is None else select_device(device)
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

    from .._progress import progress_bar

    total = sum(plans[(width, height) if k % 2 else (height, width)].num_tiles for k, _ in transforms)
    home = dev if stitch_device is None else select_device(stitch_device)
    x = x.to(home)
    if channels_last is None:
        channels_last = dev.type == "cpu"
    with progress_bar(total=total, desc="tiles", unit="tile", disable=not progress, leave=False) as bar:
        with _TrainingMode(model), _ChannelsLast(model, bool(channels_last)), torch.inference_mode():
            result = None
            for k, flip in transforms:
                xt = dihedral(x, k, flip)
                probs = _predict_once(model, xt, plans[tuple(xt.shape[-2:])], batch_size, amp, bar.update, dev)
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
    x = _as_image(window, getattr(model, "in_channels", None), "window")
    if hasattr(model, "output_size"):
        for n in x.shape[-2:]:
            model.output_size(int(n))  # ValueError naming the nearest valid sizes
    dev = model_device(model) if device is None else select_device(device)
    with _TrainingMode(model), torch.inference_mode():
        logits = model(x.to(dev)[None])
    return torch.softmax(logits.float(), 1)[0].cpu().numpy()

