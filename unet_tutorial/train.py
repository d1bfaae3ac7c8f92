"""Training the U-Net (§3): the weighted loss, the paper's optimiser, checkpoints, scale-out.

What the paper prescribes (§3), and where it lives here:

- **Energy function** (Eq. 1): pixel-wise soft-max and cross-entropy weighted
  per pixel by a pre-computed weight map (Eq. 2, w0 = 10, σ = 5 px):
  :func:`weighted_cross_entropy` (in :mod:`unet_tutorial.losses`) and
  :func:`unet_tutorial.weights.border_weight_map`.
- **Optimiser**: stochastic gradient descent (Caffe's) with a single tile per
  step and a high momentum of **0.99**, "so that a large number of the
  previously seen training samples determine the update in the current
  optimization step". The paper gives neither the learning rate nor the
  number of iterations (only "about 10 hours" on a 6 GB Titan); the ``paper``
  configuration uses a constant 0.01, which is stable with the
  pixel-normalised loss and momentum 0.99 (effective step ``lr/(1−μ) = 1``).
- **Large tiles over large batches**: 572×572 input tiles, batch 1.

Everything a run needs is one :class:`TrainConfig` (a dataclass, loadable from
TOML; named configurations ``paper`` and ``cpu`` in ``unet_tutorial/configs``).
:func:`train` runs it on CUDA (mixed precision, ``channels_last``), Apple MPS
or the CPU, shows a progress bar, validates periodically on held-out images,
and writes atomic, resumable checkpoints: a run killed at any moment and
resumed produces bit-identically the same losses as an uninterrupted run
(on the same device and thread count), because every random choice — which
tile, which augmentation, which drop-out mask — is a pure function of
``(seed, step, rank)``. Under ``torchrun`` the same code trains data-parallel
with :class:`~torch.nn.parallel.DistributedDataParallel` (NCCL on GPUs, gloo
on CPUs), each process seeing its own shard of the samples.

Command line: ``python -m unet_tutorial train --config cpu --data isbi2012 --out runs/x``.
"""

from __future__ import annotations

import argparse
import dataclasses
import difflib
import hashlib
import json
import math
import os
import random
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np
import torch
from torch import nn

from .losses import weighted_cross_entropy
from .model import UNet, check_input_size, load_model, model_config, read_package_file, save_model, write_atomic

__all__ = [
    "weighted_cross_entropy",
    "TrainConfig",
    "CONFIG_NAMES",
    "get_config",
    "load_config",
    "TrainData",
    "prepare_data",
    "History",
    "TrainingDiverged",
    "select_device",
    "resolve_precision",
    "build_model",
    "make_optimizer",
    "make_scheduler",
    "lr_factor",
    "train_step",
    "sample_numbers",
    "weight_maps",
    "make_tile_dataset",
    "predict_probabilities",
    "evaluate",
    "save_checkpoint",
    "load_checkpoint",
    "train",
    "config_table",
    "plot_predictions",
    "models_dir",
    "pretrained_path",
    "load_or_train",
    "save_pretrained",
    "add_train_command",
    "run_train_command",
    "main",
]

#: Names of the configurations shipped in ``unet_tutorial/configs/<name>.toml``.
CONFIG_NAMES = ("paper", "cpu")

_CONFIG_DIR = Path(__file__).resolve().parent / "configs"


# --------------------------------------------------------------------------
# Configuration
# --------------------------------------------------------------------------


@dataclass
class TrainConfig:
    """Everything one training run needs (units in brackets). Defaults: the paper (§3).

    Model (§2, see :class:`~unet_tutorial.model.UNet`):
        base_channels: feature channels of the first level [channels]; 64 in the paper.
        depth: number of 2×2 max-poolings; 4 in the paper.
        dropout: drop-out probability at the end of the contracting path (§3.1).

    Tiles and data:
        tile_size: input tile edge [pixels], a valid size of the network
            (572 → 388 output in the paper); invalid sizes raise the model's
            ``ValueError`` naming the nearest valid sizes.
        batch_size: tiles per optimisation step per process [tiles]; 1 in the paper.
        holdout: images at the end of the stack kept for validation [images]
            (5: ISBI 2012 slices 25–29 held out, 0–24 trained on).
        augment: ``"paper"`` (flips and 90° rotations, the elastic
            deformation of §3.1, gray-value changes:
            :func:`unet_tutorial.augment.paper_augmentation`), ``"flips"``
            (flips and 90° rotations only) or ``"none"``. Shifts come from the
            random tile positions in every case.

    Loss (§3, Eqs. 1–2):
        border_weights: weight pixels by Eq. 2 (class balance + separation
            borders); ``False`` keeps only the class-balancing term ``w_c``
            (or none, see ``class_weights``).
        w0: weight of the separation-border term of Eq. 2 [dimensionless]; 10.
        sigma: width σ of the separation-border term [pixels]; 5.
        class_weights: ``"balanced"`` (``w_c`` = inverse class frequency,
            normalised) or ``"none"`` (``w_c ≡ 1``).

    Optimisation:
        optimizer: ``"sgd"`` (the paper: SGD with momentum) or ``"adam"``.
        lr: learning rate at the start of the schedule (after warm-up).
        momentum: SGD momentum μ (0.99 in the paper); Adam uses ``betas``.
        betas: Adam's (β1, β2).
        weight_decay: L2 penalty coefficient (0 in the paper's description).
        schedule: ``"constant"`` (the paper) or ``"cosine"`` (decays to
            ``lr · lr_min_fraction`` at the last step).
        lr_min_fraction: final learning rate of the cosine schedule, as a fraction of ``lr``.
        warmup_steps: linear warm-up from 0 to ``lr`` over this many steps [steps].
        grad_clip: clip the global gradient norm to this value; 0 = off.
        steps: optimisation steps of the whole run [steps].
        max_minutes: stop early (with a checkpoint) after this much training
            time [minutes]; 0 = no limit. Makes a run's length depend on the
            machine, so it is a safety net, not a budget.

    Bookkeeping:
        val_every: validate on the held-out images every this many steps
            [steps]; 0 = only at the end.
        val_tta: validate with test-time augmentation (8 flips/rotations, §4).
        checkpoint_every: write ``checkpoint.pt`` every this many steps [steps];
            0 = only at the end.
        seed: seed of everything random (initialisation, tiles, augmentation, drop-out).

    Hardware:
        device: ``"auto"`` (CUDA, then Apple MPS, then CPU) or a torch device string.
        precision: ``"auto"`` (bf16 autocast on CUDA where supported, else fp16
            with a gradient scaler; fp32 elsewhere), ``"fp32"``, ``"bf16"`` or ``"fp16"``.
        channels_last: use the ``channels_last`` memory format on CUDA (faster
            convolutions with tensor cores); ignored on other devices.
        num_threads: CPU threads for torch [threads]; 0 = leave torch's default
            (which follows ``OMP_NUM_THREADS``).
        num_workers: DataLoader worker processes preparing tiles; 0 = in the
            training process. The tiles do not depend on it.
    """

    name: str = "custom"
    # model
    base_channels: int = 64
    depth: int = 4
    dropout: float = 0.5
    # tiles and data
    tile_size: int = 572
    batch_size: int = 1
    holdout: int = 5
    augment: str = "paper"
    # loss
    border_weights: bool = True
    w0: float = 10.0
    sigma: float = 5.0
    class_weights: str = "balanced"
    # optimisation
    optimizer: str = "sgd"
    lr: float = 0.01
    momentum: float = 0.99
    betas: tuple[float, float] = (0.9, 0.999)
    weight_decay: float = 0.0
    schedule: str = "constant"
    lr_min_fraction: float = 0.0
    warmup_steps: int = 0
    grad_clip: float = 0.0
    steps: int = 20000
    max_minutes: float = 0.0
    # bookkeeping
    val_every: int = 500
    val_tta: bool = False
    checkpoint_every: int = 500
    seed: int = 0
    # hardware
    device: str = "auto"
    precision: str = "auto"
    channels_last: bool = True
    num_threads: int = 0
    num_workers: int = 0

    def __post_init__(self) -> None:
        self._coerce_types()
        self._check_values()

    # -- validation ------------------------------------------------------------

    def _coerce_types(self) -> None:
        """Check every field's type (ints accepted for floats, lists for tuples)."""
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            kind = f.type if isinstance(f.type, str) else getattr(f.type, "__name__", str(f.type))
            if kind == "bool":
                ok = isinstance(value, bool)
            elif kind == "int":
                ok = isinstance(value, int) and not isinstance(value, bool)
            elif kind == "float":
                ok = isinstance(value, (int, float)) and not isinstance(value, bool)
                if ok:
                    value = float(value)
            elif kind == "str":
                ok = isinstance(value, str)
            else:  # tuple[float, float]
                ok = (
                    isinstance(value, (list, tuple))
                    and len(value) == 2
                    and all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in value)
                )
                if ok:
                    value = (float(value[0]), float(value[1]))
            if not ok:
                raise ValueError(
                    f"config field {f.name!r} must be of type {kind}, got {value!r} ({type(value).__name__})"
                )
            object.__setattr__(self, f.name, value)

    def _check_values(self) -> None:
        """Raise ``ValueError`` naming the field for every out-of-range value."""

        def need(cond: bool, name: str, rule: str) -> None:
            if not cond:
                raise ValueError(f"config field {name!r} {rule}, got {getattr(self, name)!r}")

        def choice(name: str, options: Sequence[str]) -> None:
            need(getattr(self, name) in options, name, "must be one of " + ", ".join(map(repr, options)))

        for name in ("base_channels", "depth", "batch_size", "steps"):
            need(getattr(self, name) >= 1, name, "must be >= 1")
        for name in ("holdout", "warmup_steps", "val_every", "checkpoint_every", "num_threads", "num_workers"):
            need(getattr(self, name) >= 0, name, "must be >= 0")
        need(0.0 <= self.dropout < 1.0, "dropout", "must be in [0, 1)")
        need(math.isfinite(self.lr) and self.lr > 0, "lr", "must be a positive finite number")
        need(0.0 <= self.momentum < 1.0, "momentum", "must be in [0, 1)")
        need(all(0.0 <= b < 1.0 for b in self.betas), "betas", "must both be in [0, 1)")
        need(self.weight_decay >= 0, "weight_decay", "must be >= 0")
        need(0.0 <= self.lr_min_fraction <= 1.0, "lr_min_fraction", "must be in [0, 1]")
        need(self.grad_clip >= 0, "grad_clip", "must be >= 0 (0 = off)")
        need(self.max_minutes >= 0, "max_minutes", "must be >= 0 (0 = no limit)")
        need(self.w0 >= 0, "w0", "must be >= 0")
        need(self.sigma > 0, "sigma", "must be > 0 (pixels)")
        choice("augment", ("paper", "flips", "none"))
        choice("class_weights", ("balanced", "none"))
        choice("optimizer", ("sgd", "adam"))
        choice("schedule", ("constant", "cosine"))
        choice("precision", ("auto", "fp32", "bf16", "fp16"))
        try:
            torch.device(self.device) if self.device != "auto" else None
        except (RuntimeError, TypeError):
            raise ValueError(
                f"config field 'device' must be 'auto' or a torch device such as 'cpu' or 'cuda:0', "
                f"got {self.device!r}"
            ) from None
        try:
            check_input_size(self.tile_size, self.depth, "valid")
        except ValueError as err:
            raise ValueError(f"config field 'tile_size': {err}") from None

    # -- conversions -------------------------------------------------------------

    def replace(self, **changes: Any) -> "TrainConfig":
        """A copy with some fields changed (validated; unknown names raise ``ValueError``)."""
        _check_keys(changes, "replace()")
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        """Plain ``dict`` of the fields (TOML/JSON/``weights_only`` safe)."""
        d = dataclasses.asdict(self)
        d["betas"] = list(self.betas)
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any], *, source: str = "dict") -> "TrainConfig":
        """Build from a plain ``dict``; unknown keys raise ``ValueError`` with suggestions."""
        _check_keys(d, source)
        return cls(**d)

    @property
    def output_size(self) -> int:
        """Edge of the network's output map for one tile [pixels] (388 for 572)."""
        from .model import output_size

        return output_size(self.tile_size, self.depth, "valid")


def _check_keys(d: dict[str, Any], source: str) -> None:
    names = [f.name for f in dataclasses.fields(TrainConfig)]
    unknown = [k for k in d if k not in names]
    if unknown:
        hints = []
        for k in unknown:
            close = difflib.get_close_matches(k, names, n=1)
            hints.append(f"{k!r}" + (f" (did you mean {close[0]!r}?)" if close else ""))
        raise ValueError(
            f"unknown configuration key(s) in {source}: {', '.join(hints)}; "
            f"valid keys: {', '.join(names)}"
        )


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        import tomllib
    except ModuleNotFoundError:  # Python 3.10
        import tomli as tomllib  # type: ignore[no-redef]
    try:
        with open(path, "rb") as f:
            return tomllib.load(f)
    except tomllib.TOMLDecodeError as err:
        raise ValueError(f"{path} is not valid TOML: {err}") from None


def load_config(path: str | os.PathLike[str]) -> TrainConfig:
    """Read a :class:`TrainConfig` from a TOML file of ``key = value`` lines.

    The optional key ``extends = "cpu"`` (or ``"paper"``) starts from that named
    configuration, so a file only lists what it changes.

    Raises:
        FileNotFoundError: ``path`` does not exist.
        ValueError: invalid TOML, unknown keys (with a "did you mean"), wrong
            types or invalid values (e.g. a tile size the network cannot take:
            the message names the nearest valid sizes).
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"configuration file not found: {path}")
    d = _read_toml(path)
    base: dict[str, Any] = {}
    parent = d.pop("extends", None)
    if parent is not None:
        if parent not in CONFIG_NAMES:
            raise ValueError(f"{path}: extends = {parent!r} is not one of {CONFIG_NAMES}")
        base = get_config(parent).to_dict()
    _check_keys(d, str(path))
    if "name" not in d and parent is None:
        d["name"] = path.stem
    try:
        return TrainConfig(**{**base, **d})
    except ValueError as err:
        raise ValueError(f"{path}: {err}") from None


def get_config(name: str = "cpu", **overrides: Any) -> TrainConfig:
    """A named configuration (``"paper"`` or ``"cpu"``), optionally with fields overridden.

    ``paper``: the network and training of §3 for a GPU: 64 base channels,
    572 tiles, batch 1, SGD with momentum 0.99, w0 = 10, σ = 5 px.
    ``cpu``: a 16-base-channel network on smaller tiles, trained with Adam and
    a cosine schedule, useful on ISBI 2012 after a few CPU minutes.
    A path to a ``.toml`` file is passed to :func:`load_config`.
    """
    if name not in CONFIG_NAMES:
        if str(name).endswith(".toml"):
            config = load_config(name)
        else:
            raise ValueError(f"unknown configuration {name!r}; named ones: {', '.join(CONFIG_NAMES)} "
                             "(or give the path of a .toml file)")
    else:
        config = load_config(_CONFIG_DIR / f"{name}.toml")
    return config.replace(**overrides) if overrides else config


# --------------------------------------------------------------------------
# Data
# --------------------------------------------------------------------------


@dataclass
class TrainData:
    """Training and held-out images with their labels.

    Attributes:
        images: float32 ``(n, H, W)`` in [0, 1] (or a list of such 2-D arrays).
        labels: integer ``(n, H, W)``, 1 = cell (foreground), 0 = membrane/background.
        val_images, val_labels: the held-out images, same conventions (may be empty).
        name: where the data came from (for the history and messages).
    """

    images: Sequence[np.ndarray]
    labels: Sequence[np.ndarray]
    val_images: Sequence[np.ndarray] = ()
    val_labels: Sequence[np.ndarray] = ()
    name: str = "arrays"

    def __post_init__(self) -> None:
        if len(self.images) == 0:
            raise ValueError("no training images")
        for kind, ims, labs in (("training", self.images, self.labels), ("held-out", self.val_images, self.val_labels)):
            if len(ims) != len(labs):
                raise ValueError(f"{len(ims)} {kind} images but {len(labs)} labels")
            for i, (im, lab) in enumerate(zip(ims, labs)):
                if np.ndim(im) != 2 or np.shape(im) != np.shape(lab):
                    raise ValueError(
                        f"{kind} image {i}: image {np.shape(im)} and label {np.shape(lab)} "
                        "must be 2-D arrays of the same shape (H, W)"
                    )


def _split(images: Sequence[np.ndarray], labels: Sequence[np.ndarray], holdout: int, name: str) -> TrainData:
    n = len(images)
    if holdout >= n:
        raise ValueError(f"holdout = {holdout} leaves no training image out of {n} ({name})")
    cut = n - holdout
    return TrainData(list(images[:cut]), list(labels[:cut]), list(images[cut:]), list(labels[cut:]), name)


def prepare_data(data: Any, holdout: int = 5, *, synthetic_count: int = 10, synthetic_size: int = 256) -> TrainData:
    """Turn ``data`` into a :class:`TrainData`, holding out the last ``holdout`` images.

    Args:
        data: ``"isbi2012"`` (the 30 training slices of ISBI 2012, §4: slices
            ``0 … 29−holdout`` train, the last ``holdout`` validate),
            ``"synthetic"`` (``synthetic_count`` *synthetic* EM-like images of
            ``synthetic_size`` px, see :func:`unet_tutorial.data.synthetic_em`),
            a ``(images, labels)`` pair to split, or a :class:`TrainData`
            (used as is).
        holdout: images held out for validation.
    """
    if isinstance(data, TrainData):
        return data
    if isinstance(data, str):
        if data == "isbi2012":
            from .data import load_isbi2012

            images, labels = load_isbi2012(split="train")
            return _split(list(images), list(labels), holdout, "isbi2012")
        if data == "synthetic":
            from .data import synthetic_em

            pairs = [
                synthetic_em((synthetic_size, synthetic_size), n_cells=max(4, synthetic_size**2 // 4400), seed=i)
                for i in range(synthetic_count)
            ]
            return _split([p[0] for p in pairs], [p[1] for p in pairs], holdout, "synthetic")
        raise ValueError(f'unknown data set {data!r}: use "isbi2012", "synthetic" or (images, labels) arrays')
    if isinstance(data, (tuple, list)) and len(data) == 2:
        return _split(list(data[0]), list(data[1]), holdout, "arrays")
    raise ValueError(
        f'data must be "isbi2012", "synthetic", an (images, labels) pair or a TrainData, got {type(data).__name__}'
    )


def weight_maps(labels: Sequence[np.ndarray], config: TrainConfig) -> list[np.ndarray] | None:
    """Pre-computed per-pixel loss weights ``w(x)`` (§3, Eq. 2) for every training label.

    ``border_weights=True``: ``w_c + w0 · exp(−(d1 + d2)² / 2σ²)`` on the cell
    instances (4-connected cell regions) of each binary label, with
    :func:`unet_tutorial.weights.border_weight_map`; ``False``: only the
    class-balancing term ``w_c``, or ``None`` (plain cross-entropy) when
    ``class_weights="none"`` too.

    Returns:
        A list of float32 ``(H, W)`` maps, one per label, or ``None``.
    """
    from .weights import border_weight_map, class_weight_map, instances_from_binary

    cw = "balanced" if config.class_weights == "balanced" else (1.0, 1.0)
    if config.border_weights:
        return [
            border_weight_map(instances_from_binary(np.asarray(lab) == 1), w0=config.w0,
                              sigma=config.sigma, class_weights=cw).astype(np.float32)
            for lab in labels
        ]
    if config.class_weights == "balanced":
        return [class_weight_map(np.asarray(lab) == 1, "balanced").astype(np.float32) for lab in labels]
    return None


# --------------------------------------------------------------------------
# History and errors
# --------------------------------------------------------------------------


@dataclass
class History:
    """What happened during training, one entry per step (and per validation).

    Attributes:
        step: optimisation step (1-based) of each ``loss``/``lr``/``time`` entry.
        loss: training loss (Eq. 1, pixel mean; averaged over processes) at that step.
        lr: learning rate used at that step.
        time: wall-clock time since the start of the run [s] (validation included),
            summed over resumed sessions.
        val_step: steps at which the held-out images were evaluated.
        val: metric name → values at ``val_step`` (``pixel_error``, ``iou``,
            ``rand_error``, … see :func:`evaluate`).
    """

    step: list[int] = field(default_factory=list)
    loss: list[float] = field(default_factory=list)
    lr: list[float] = field(default_factory=list)
    time: list[float] = field(default_factory=list)
    val_step: list[int] = field(default_factory=list)
    val: dict[str, list[float]] = field(default_factory=dict)

    def log_step(self, step: int, loss: float, lr: float, seconds: float) -> None:
        self.step.append(int(step))
        self.loss.append(float(loss))
        self.lr.append(float(lr))
        self.time.append(float(seconds))

    def log_validation(self, step: int, metrics: dict[str, float]) -> None:
        self.val_step.append(int(step))
        for k, v in metrics.items():
            self.val.setdefault(k, []).append(float(v))

    def to_dict(self) -> dict[str, Any]:
        """Plain lists and dicts (JSON and ``weights_only`` safe)."""
        return {k: (dict(v) if isinstance(v, dict) else list(v)) for k, v in dataclasses.asdict(self).items()}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "History":
        return cls(**{f.name: d.get(f.name, {} if f.name == "val" else []) for f in dataclasses.fields(cls)})

    def save(self, path: str | os.PathLike[str]) -> None:
        """Write the history as JSON, atomically."""
        _write_atomic(Path(path), json.dumps(self.to_dict(), indent=1).encode())

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> "History":
        path = Path(path)
        if not path.is_file():
            raise FileNotFoundError(f"history file not found: {path}")
        return cls.from_dict(json.loads(path.read_text()))

    def smoothed_loss(self, window: int = 50) -> np.ndarray:
        """Running mean of the loss over ``window`` steps (same length as ``loss``)."""
        loss = np.asarray(self.loss, dtype=float)
        if loss.size == 0:
            return loss
        c = np.cumsum(np.insert(loss, 0, 0.0))
        idx = np.arange(1, loss.size + 1)
        lo = np.maximum(0, idx - window)
        return (c[idx] - c[lo]) / (idx - lo)

    def plot(self, metrics: Sequence[str] = ("pixel_error", "rand_error"), axes=None, label: str | None = None):
        """Loss (raw and smoothed) and validation metrics against the step; returns the axes."""
        import matplotlib.pyplot as plt

        if axes is None:
            _, axes = plt.subplots(1, 2, figsize=(11, 3.6))
        ax0, ax1 = axes
        (line,) = ax0.plot(self.step, self.loss, alpha=0.25)
        ax0.plot(self.step, self.smoothed_loss(), color=line.get_color(), label=label)
        ax0.set(xlabel="step", ylabel="weighted cross-entropy (Eq. 1)", title="training loss", yscale="log")
        for m in metrics:
            if m in self.val:
                ax1.plot(self.val_step, self.val[m], marker="o", ms=3, label=f"{label + ': ' if label else ''}{m}")
        ax1.set(xlabel="step", ylabel="error on held-out images", title="validation")
        if label is not None:
            ax0.legend()
        if ax1.lines:
            ax1.legend(fontsize=8)
        return axes


class TrainingDiverged(RuntimeError):
    """The loss became NaN or infinite; training stopped and the last good checkpoint is kept."""

    def __init__(self, step: int, loss: float, lr: float, checkpoint: Path | None = None) -> None:
        self.step, self.loss, self.lr, self.checkpoint = step, loss, lr, checkpoint
        where = f"the last good checkpoint is {checkpoint}" if checkpoint else "no checkpoint was written"
        super().__init__(
            f"training diverged: the loss became {loss} at step {step} (learning rate {lr:g}); "
            f"training stopped and {where}. Try a lower learning rate (e.g. lr = {lr / 10:g}), "
            "warm-up steps or gradient clipping (grad_clip)."
        )


# --------------------------------------------------------------------------
# Device, precision, model, optimiser
# --------------------------------------------------------------------------


def _mps_available() -> bool:
    mps = getattr(torch.backends, "mps", None)
    return bool(mps is not None and mps.is_available())


def select_device(device: str | torch.device | None = "auto") -> torch.device:
    """The device to train on: ``"auto"`` picks CUDA, then Apple MPS, then the CPU.

    Under ``torchrun`` with CUDA, ``"auto"``/``"cuda"`` mean ``cuda:LOCAL_RANK``.

    Raises:
        ValueError: an unknown device string, or a device that is not available.
    """
    local_rank = int(os.environ.get("LOCAL_RANK", "0"))
    if device is None or device == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda", local_rank % max(1, torch.cuda.device_count()))
        if _mps_available():
            return torch.device("mps")
        return torch.device("cpu")
    try:
        dev = torch.device(device)
    except (RuntimeError, TypeError) as err:
        raise ValueError(f"not a valid torch device: {device!r} ({err})") from None
    if dev.type == "cuda":
        if not torch.cuda.is_available():
            raise ValueError(f"device {str(dev)!r} requested but CUDA is not available on this machine")
        if dev.index is None:
            dev = torch.device("cuda", local_rank % torch.cuda.device_count())
    if dev.type == "mps" and not _mps_available():
        raise ValueError("device 'mps' requested but Apple MPS is not available on this machine")
    return dev


def resolve_precision(precision: str, device: torch.device) -> torch.dtype | None:
    """The autocast dtype for ``precision`` on ``device`` (``None`` = plain float32).

    ``"auto"``: bfloat16 on CUDA GPUs that support it (no gradient scaler
    needed), float16 on older GPUs (with a :class:`torch.amp.GradScaler`),
    float32 on MPS and CPU.
    """
    if precision == "fp32":
        return None
    if precision == "bf16":
        return torch.bfloat16
    if precision == "fp16":
        return torch.float16
    if precision != "auto":
        raise ValueError(f'precision must be "auto", "fp32", "bf16" or "fp16", got {precision!r}')
    if device.type == "cuda":
        return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
    return None


def build_model(config: TrainConfig) -> UNet:
    """The :class:`UNet` of ``config`` (1 input channel, 2 classes, valid padding), seeded."""
    torch.manual_seed(config.seed)
    return UNet(in_channels=1, num_classes=2, base_channels=config.base_channels,
                depth=config.depth, padding="valid", dropout=config.dropout)


def make_optimizer(model: nn.Module, config: TrainConfig) -> torch.optim.Optimizer:
    """SGD with momentum (§3; ``config.momentum`` = 0.99 in the paper) or Adam."""
    params = [p for p in model.parameters() if p.requires_grad]
    if config.optimizer == "sgd":
        return torch.optim.SGD(params, lr=config.lr, momentum=config.momentum, weight_decay=config.weight_decay)
    return torch.optim.Adam(params, lr=config.lr, betas=config.betas, weight_decay=config.weight_decay)


def lr_factor(step: int, config: TrainConfig) -> float:
    """Learning-rate multiplier for 0-based ``step``: linear warm-up, then constant or cosine.

    Cosine: ``f = m + (1 − m)·(1 + cos(π·t))/2`` with ``t`` going from 0 after the
    warm-up to 1 at the last step and ``m = lr_min_fraction``.
    """
    if config.warmup_steps and step < config.warmup_steps:
        return (step + 1) / config.warmup_steps
    if config.schedule == "constant":
        return 1.0
    span = max(1, config.steps - config.warmup_steps - 1)
    t = min(1.0, (step - config.warmup_steps) / span)
    m = config.lr_min_fraction
    return m + (1.0 - m) * 0.5 * (1.0 + math.cos(math.pi * t))


def make_scheduler(optimizer: torch.optim.Optimizer, config: TrainConfig) -> torch.optim.lr_scheduler.LambdaLR:
    """A :class:`~torch.optim.lr_scheduler.LambdaLR` applying :func:`lr_factor`, stepped once per step."""
    return torch.optim.lr_scheduler.LambdaLR(optimizer, lambda s: lr_factor(s, config))


# --------------------------------------------------------------------------
# Samples: a pure function of (seed, step, rank)
# --------------------------------------------------------------------------


def sample_numbers(step: int, batch_size: int, rank: int = 0, world_size: int = 1) -> list[int]:
    """Global sample numbers used by process ``rank`` at 0-based ``step``.

    Step ``s`` consumes samples ``s·B·R … (s+1)·B·R − 1`` (``B`` tiles per
    process, ``R`` processes); process ``r`` takes its own contiguous block of
    ``B``. Every sample number is used exactly once across processes, so the
    processes see disjoint shards, and the numbers depend on nothing but the
    step: a resumed run draws exactly what the uninterrupted run drew.
    """
    first = (step * world_size + rank) * batch_size
    return list(range(first, first + batch_size))


class _NumberedSamples(torch.utils.data.Dataset):
    """Sample number ``g`` → a tile of a :class:`~unet_tutorial.data.TileDataset`, shuffled per epoch.

    Epoch ``e = g // n`` visits the ``n`` items in the order of a permutation
    drawn from ``(seed, e)``; the tile dataset seeds every item from
    ``(seed, epoch, index)``. A sample is thus a pure function of its number,
    also inside DataLoader workers.
    """

    def __init__(self, tiles, seed: int) -> None:
        self.tiles = tiles
        self.n = len(tiles)
        self.seed = int(seed)

    def __len__(self) -> int:  # large enough for any run
        return 2**62

    def __getitem__(self, g: int):
        epoch, pos = divmod(int(g), self.n)
        order = np.random.default_rng([self.seed, epoch, 7919]).permutation(self.n)
        self.tiles.set_epoch(epoch)
        return self.tiles[int(order[pos])]


def _step_seed(seed: int, step: int, rank: int) -> int:
    """A 63-bit seed for the drop-out masks of one step of one process."""
    digest = hashlib.blake2b(f"{seed}/{step}/{rank}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "little") >> 1


def _augmentation(config: TrainConfig):
    """The augmentation callable given to :class:`~unet_tutorial.data.TileDataset`."""
    if config.augment == "none":
        return None
    from . import augment

    if config.augment == "paper":
        return augment.paper_augmentation()
    return augment.flips_augmentation()


def make_tile_dataset(data: TrainData, config: TrainConfig):
    """The :class:`~unet_tutorial.data.TileDataset` of the training images of ``data``.

    Input tiles of ``config.tile_size`` px, labels and pre-computed weight maps
    (Eq. 2, :func:`weight_maps`) cropped to the output size, augmented as
    ``config.augment`` says, seeded by ``config.seed``.
    """
    from .data import TileDataset

    weights = weight_maps(data.labels, config)
    return TileDataset(
        [np.asarray(im, dtype=np.float32) for im in data.images],
        [np.asarray(lab) for lab in data.labels],
        input_size=config.tile_size,
        output_size=config.output_size,
        weights=weights,
        augment=_augmentation(config),
        seed=config.seed,
    )


# --------------------------------------------------------------------------
# Validation
# --------------------------------------------------------------------------


def predict_probabilities(
    model: UNet,
    images: Sequence[np.ndarray],
    *,
    tta: bool = False,
    device: str | torch.device | None = None,
    tile_size: int | None = None,
) -> np.ndarray:
    """Cell probabilities ``p_1(x)`` of whole images, float32 ``(N, H, W)`` (overlap-tile, Fig. 2).

    Uses :func:`unet_tutorial.inference.predict_tiled` on each image; ``tta``
    averages the 8 flips/rotations (§4: "averaged over 7 rotated versions").
    """
    from .inference import predict_tiled

    return np.stack([predict_tiled(model, im, tile_size=tile_size, tta=tta, device=device)[1] for im in images])


def evaluate(
    model: UNet,
    images: Sequence[np.ndarray],
    labels: Sequence[np.ndarray],
    *,
    tta: bool = False,
    threshold: float = 0.5,
    sweep: bool = False,
    device: str | torch.device | None = None,
    tile_size: int | None = None,
) -> dict[str, float]:
    """Metrics of whole-image predictions on held-out images, as the ISBI challenge scores a stack (§4).

    Each image is segmented with the overlap-tile strategy
    (:func:`predict_probabilities`); a pixel is "cell" when ``p_cell > threshold``.
    Counts are pooled over the images (:func:`unet_tutorial.metrics.threshold_sweep`).

    Returns:
        ``pixel_error`` (fraction of wrong pixels), ``rand_error`` (the ISBI
        foreground-restricted Rand error) and ``iou`` (Jaccard index of the
        cells, class 1, mean over images) at ``threshold``. With ``sweep``
        also ``pixel_error_best``/``rand_error_best``: the best over the
        challenge's 10 thresholds 0.0, 0.1, …, 0.9, and the thresholds reaching
        them (``pixel_threshold``, ``rand_threshold``).
    """
    from .metrics import iou, threshold_sweep

    if len(images) == 0 or len(images) != len(labels):
        raise ValueError(f"evaluate() needs as many labels as images (>= 1), got {len(images)} and {len(labels)}")
    prob = predict_probabilities(model, images, tta=tta, device=device, tile_size=tile_size)
    truth = np.stack([np.asarray(lab) == 1 for lab in labels])
    at = threshold_sweep(prob, truth, thresholds=[threshold], metrics=("pixel", "rand"), progress=False)
    out = {
        "pixel_error": float(at.best["pixel"]),
        "rand_error": float(at.best["rand"]),
        "iou": float(np.mean([iou(p > threshold, t) for p, t in zip(prob, truth)])),
    }
    if sweep:
        sw = threshold_sweep(prob, truth, metrics=("pixel", "rand"), progress=False)
        out.update(pixel_error_best=float(sw.best["pixel"]), rand_error_best=float(sw.best["rand"]),
                   pixel_threshold=float(sw.best_threshold["pixel"]), rand_threshold=float(sw.best_threshold["rand"]))
    return out


# --------------------------------------------------------------------------
# Checkpoints
# --------------------------------------------------------------------------


def _write_atomic(path: Path, payload: bytes) -> None:
    """Write bytes to ``path`` via a temporary file in the same folder and a rename."""
    write_atomic(path, lambda tmp: Path(tmp).write_bytes(payload))


def _rng_state() -> dict[str, Any]:
    """torch, CUDA, numpy and Python RNG states as tensors and plain data (``weights_only`` safe)."""
    np_state = np.random.get_state()
    py_state = random.getstate()
    return {
        "torch": torch.get_rng_state(),
        "cuda": [s for s in torch.cuda.get_rng_state_all()] if torch.cuda.is_available() else [],
        "numpy": {"keys": torch.from_numpy(np.asarray(np_state[1], dtype=np.int64)), "pos": int(np_state[2]),
                  "has_gauss": int(np_state[3]), "cached_gaussian": float(np_state[4])},
        "python": {"version": int(py_state[0]), "state": torch.tensor(py_state[1], dtype=torch.int64),
                   "gauss_next": py_state[2]},
    }


def _set_rng_state(state: dict[str, Any]) -> None:
    torch.set_rng_state(state["torch"])
    if state.get("cuda") and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])
    n = state["numpy"]
    np.random.set_state(("MT19937", n["keys"].numpy().astype(np.uint32), n["pos"], n["has_gauss"], n["cached_gaussian"]))
    p = state["python"]
    random.setstate((p["version"], tuple(int(v) for v in p["state"].tolist()), p["gauss_next"]))


def save_checkpoint(
    path: str | os.PathLike[str],
    model: UNet,
    optimizer: torch.optim.Optimizer,
    scheduler: torch.optim.lr_scheduler.LRScheduler,
    *,
    step: int,
    config: TrainConfig,
    history: History,
    scaler: torch.amp.GradScaler | None = None,
) -> None:
    """Write a resumable checkpoint atomically (temporary file + rename).

    The file is a model file of :func:`unet_tutorial.model.save_model` (keys
    ``unet`` and ``state_dict``, so :func:`~unet_tutorial.model.load_model` and
    ``predict`` read it) plus ``optimizer``, ``scheduler``, ``scaler``,
    ``rng``, ``step`` (steps done), ``config`` and ``history``, all tensors
    and plain data so that it loads with ``torch.load(weights_only=True)``.
    """
    save_model(
        model,
        path,
        optimizer=optimizer.state_dict(),
        scheduler=scheduler.state_dict(),
        scaler=scaler.state_dict() if scaler is not None and scaler.is_enabled() else {},
        rng=_rng_state(),
        step=int(step),
        config=config.to_dict(),
        history=history.to_dict(),
    )


def load_checkpoint(path: str | os.PathLike[str], map_location: str | torch.device = "cpu") -> dict[str, Any]:
    """Read a checkpoint of :func:`save_checkpoint` with ``torch.load(weights_only=True)``.

    Raises:
        FileNotFoundError: no file at ``path``.
        ValueError: unreadable file, or not a training checkpoint of this package.
    """
    return read_package_file(
        path, map_location, what="checkpoint",
        keys=("unet", "state_dict", "optimizer", "scheduler", "step", "config", "history", "rng"),
        kind="a training checkpoint of unet_tutorial",
    )


# --------------------------------------------------------------------------
# The training loop
# --------------------------------------------------------------------------


def _distributed(dev: torch.device) -> tuple[int, int, bool]:
    """``(rank, world_size, initialised_here)``; starts the process group under torchrun.

    NCCL when training on CUDA (each process on its own GPU, ``cuda:LOCAL_RANK``), gloo otherwise.
    """
    import torch.distributed as dist

    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world <= 1 or not dist.is_available():
        return 0, 1, False
    if dist.is_initialized():
        return dist.get_rank(), dist.get_world_size(), False
    if dev.type == "cuda":
        torch.cuda.set_device(dev)  # before NCCL starts, so that it does not pile onto GPU 0
        dist.init_process_group("nccl")
    else:
        dist.init_process_group("gloo")
    return dist.get_rank(), dist.get_world_size(), True


def _collate(items: list[tuple]) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor | None]:
    xs, ys, ws = zip(*items)
    x = torch.stack([torch.as_tensor(v) for v in xs])
    y = torch.stack([torch.as_tensor(v) for v in ys]).long()
    w = None if ws[0] is None else torch.stack([torch.as_tensor(v) for v in ws]).float()
    return x, y, w


def _batches(samples: _NumberedSamples, config: TrainConfig, start: int, rank: int, world: int):
    """Iterator of collated batches for steps ``start, start+1, …`` (workers optional)."""
    if config.num_workers == 0:
        for step in range(start, config.steps):
            yield _collate([samples[g] for g in sample_numbers(step, config.batch_size, rank, world)])
        return
    order = [sample_numbers(s, config.batch_size, rank, world) for s in range(start, config.steps)]
    loader = torch.utils.data.DataLoader(samples, batch_sampler=order, num_workers=config.num_workers,
                                         collate_fn=_collate, pin_memory=torch.cuda.is_available(),
                                         persistent_workers=False)
    yield from loader


def train_step(
    net: nn.Module,
    optimizer: torch.optim.Optimizer,
    x: torch.Tensor,
    y: torch.Tensor,
    w: torch.Tensor | None,
    *,
    scaler: torch.amp.GradScaler | None = None,
    amp_dtype: torch.dtype | None = None,
    grad_clip: float = 0.0,
    world_size: int = 1,
) -> float:
    """One optimisation step on a batch; returns the loss (averaged over processes).

    Forward pass (under autocast when ``amp_dtype`` is set), the loss of Eq. 1
    in float32, backward pass (scaled when ``scaler`` is enabled), optional
    gradient clipping, optimiser step. When the loss is NaN or infinite the
    parameters are left untouched and the loss is returned for the caller to
    stop (see :class:`TrainingDiverged`).

    Args:
        net: the network (possibly wrapped in DistributedDataParallel), in train mode.
        x: input tiles ``(N, C, s, s)``; y: labels ``(N, s', s')`` (int64);
            w: weights ``(N, s', s')`` or ``None``; ``s' >=`` the output size.
    """
    optimizer.zero_grad(set_to_none=True)
    device_type = x.device.type
    with torch.autocast(device_type, dtype=amp_dtype or torch.float32, enabled=amp_dtype is not None):
        logits = net(x)
    loss = weighted_cross_entropy(logits.float(), y, w)
    value = loss.detach()
    if world_size > 1:
        import torch.distributed as dist

        dist.all_reduce(value)  # every process gets the same value, so all stop together
        value = value / world_size
    value = float(value)
    if not math.isfinite(value):
        return value
    if scaler is not None and scaler.is_enabled():
        scaler.scale(loss).backward()
        if grad_clip > 0:
            scaler.unscale_(optimizer)
            torch.nn.utils.clip_grad_norm_(net.parameters(), grad_clip)
        scaler.step(optimizer)
        scaler.update()
    else:
        loss.backward()
        if grad_clip > 0:
            torch.nn.utils.clip_grad_norm_(net.parameters(), grad_clip)
        optimizer.step()
    return value


def train(
    config: TrainConfig | str = "cpu",
    *,
    data: Any = "isbi2012",
    out_dir: str | os.PathLike[str] | None = None,
    resume: bool = False,
    progress: bool = True,
    steps: int | None = None,
    device: str | torch.device | None = None,
    init: UNet | None = None,
    evaluate_fn: Callable[[UNet], dict[str, float]] | None = None,
) -> tuple[UNet, History]:
    """Train a U-Net as §3 describes; return the trained model and its :class:`History`.

    Args:
        config: a :class:`TrainConfig`, a configuration name (``"cpu"``,
            ``"paper"``) or a TOML path.
        data: what :func:`prepare_data` accepts (default ``"isbi2012"``; the
            last ``config.holdout`` images are held out for validation).
        out_dir: folder for ``checkpoint.pt`` (latest, resumable),
            ``model.pt`` (final weights, :func:`~unet_tutorial.model.save_model`)
            and ``history.json``; ``None`` writes nothing.
        resume: continue from ``out_dir/checkpoint.pt`` if it exists (its
            configuration wins, except ``steps``/``device`` given here).
        progress: show a tqdm progress bar (loss, learning rate, speed).
        steps: override ``config.steps``.
        device: override ``config.device``.
        init: start from these weights instead of a fresh initialisation.
        evaluate_fn: how to validate: called with the model (eval mode) at every
            validation, returns metric name → value; default :func:`evaluate`
            on the held-out images of ``data`` at threshold 0.5.

    Returns:
        ``(model, history)``; the model is on the training device, in eval mode.

    Raises:
        TrainingDiverged: the loss became NaN/inf; the last good checkpoint stays.
        ValueError: bad configuration or data.
        FileNotFoundError: missing data files.
    """
    if isinstance(config, str):
        config = get_config(config)
    out = Path(out_dir) if out_dir is not None else None
    ckpt_path = out / "checkpoint.pt" if out is not None else None
    blob = None
    if resume:
        if ckpt_path is None:
            raise ValueError("resume=True needs out_dir (where checkpoint.pt is)")
        if ckpt_path.is_file():
            blob = load_checkpoint(ckpt_path)
            config = TrainConfig.from_dict(blob["config"], source=str(ckpt_path))
    overrides = {k: v for k, v in (("steps", steps), ("device", None if device is None else str(device))) if v is not None}
    if overrides:
        config = config.replace(**overrides)

    dev = select_device(config.device)
    amp_dtype = resolve_precision(config.precision, dev)
    # fp16 needs loss scaling (its exponent range is narrow); bf16 and fp32 do not
    scaler = torch.amp.GradScaler(dev.type, enabled=(amp_dtype == torch.float16 and dev.type == "cuda"))
    memory_format = torch.channels_last if (config.channels_last and dev.type == "cuda") else torch.contiguous_format
    train_data = prepare_data(data, config.holdout)

    threads_before = torch.get_num_threads()
    own_group = False
    try:
        if config.num_threads:
            torch.set_num_threads(config.num_threads)
        rank, world, own_group = _distributed(dev)
        model = build_model(config)
        if init is not None:
            model.load_state_dict(init.state_dict())
        model.to(dev, memory_format=memory_format)
        optimizer = make_optimizer(model, config)
        scheduler = make_scheduler(optimizer, config)
        history = History()
        start = 0
        if blob is not None:
            model.load_state_dict(blob["state_dict"])
            optimizer.load_state_dict(blob["optimizer"])
            scheduler.load_state_dict(blob["scheduler"])
            if blob.get("scaler") and scaler.is_enabled():
                scaler.load_state_dict(blob["scaler"])
            _set_rng_state(blob["rng"])
            history = History.from_dict(blob["history"])
            start = int(blob["step"])
        net: nn.Module = model
        if world > 1:
            from torch.nn.parallel import DistributedDataParallel

            net = DistributedDataParallel(model, device_ids=[dev.index] if dev.type == "cuda" else None)

        samples = _NumberedSamples(make_tile_dataset(train_data, config), config.seed)
        _loop(net, model, optimizer, scheduler, scaler, samples, train_data, config, history,
              start=start, dev=dev, amp_dtype=amp_dtype, memory_format=memory_format,
              rank=rank, world=world, out=out, progress=progress, evaluate_fn=evaluate_fn)
    finally:
        torch.set_num_threads(threads_before)
        if own_group:
            import torch.distributed as dist

            dist.destroy_process_group()
    model.eval()
    return model, history


def _time_is_up(mine: bool, world: int, dev: torch.device) -> bool:
    """Whether any process ran out of time: all processes must stop at the same step."""
    if world == 1:
        return mine
    import torch.distributed as dist

    flag = torch.tensor([1.0 if mine else 0.0], device=dev)
    dist.all_reduce(flag, op=dist.ReduceOp.MAX)
    return bool(flag.item())


def _loop(net, model, optimizer, scheduler, scaler, samples, data, config, history, *,
          start, dev, amp_dtype, memory_format, rank, world, out, progress, evaluate_fn=None) -> None:
    """The optimisation steps ``start … config.steps − 1`` (see :func:`train`)."""
    from tqdm.auto import tqdm

    main_proc = rank == 0
    ckpt_path = out / "checkpoint.pt" if out is not None else None
    # Only a checkpoint of *this* run (resumed from it) is a good one to name: a file
    # left by an earlier run in the same folder is not, when resume=False.
    last_good: Path | None = ckpt_path if (ckpt_path is not None and start > 0 and ckpt_path.is_file()) else None
    time_offset = history.time[-1] if history.time else 0.0
    t0 = time.perf_counter()
    step = start

    def checkpoint(done: int) -> None:
        nonlocal last_good
        if main_proc and ckpt_path is not None:
            save_checkpoint(ckpt_path, model, optimizer, scheduler, step=done, config=config,
                            history=history, scaler=scaler)
            history.save(out / "history.json")
            last_good = ckpt_path

    def validate(done: int) -> None:
        if main_proc and (evaluate_fn is not None or len(data.val_images)):
            model.eval()
            if evaluate_fn is not None:
                metrics = {k: float(v) for k, v in evaluate_fn(model).items()}
            else:
                metrics = evaluate(model, data.val_images, data.val_labels, tta=config.val_tta, device=dev)
            history.log_validation(done, metrics)
            if progress:
                bar.write(f"step {done}: held-out " + ", ".join(f"{k} {v:.4f}" for k, v in metrics.items()))
            model.train()

    bar = tqdm(total=config.steps, initial=start, desc=f"train {config.name}", unit="step",
               disable=not (progress and main_proc), dynamic_ncols=True)
    net.train()
    try:
        for x, y, w in _batches(samples, config, start, rank, world):
            torch.manual_seed(_step_seed(config.seed, step, rank))  # drop-out masks: pure function of the step
            x = x.to(dev, non_blocking=True).contiguous(memory_format=memory_format)
            y = y.to(dev, non_blocking=True)
            w = w.to(dev, non_blocking=True) if w is not None else None
            lr = optimizer.param_groups[0]["lr"]
            value = train_step(net, optimizer, x, y, w, scaler=scaler, amp_dtype=amp_dtype,
                               grad_clip=config.grad_clip, world_size=world)
            if not math.isfinite(value):
                raise TrainingDiverged(step + 1, value, lr, last_good)
            scheduler.step()
            step += 1
            seconds = time_offset + time.perf_counter() - t0
            history.log_step(step, value, lr, seconds)
            bar.update(1)
            if step % 10 == 0 or step == config.steps:
                bar.set_postfix(loss=f"{np.mean(history.loss[-10:]):.4f}", lr=f"{lr:.2g}", refresh=False)
            if config.val_every and step % config.val_every == 0 and step < config.steps:
                validate(step)
            if config.checkpoint_every and step % config.checkpoint_every == 0 and step < config.steps:
                checkpoint(step)
            if config.max_minutes and _time_is_up(seconds - time_offset > 60 * config.max_minutes, world, dev):
                if progress and main_proc:
                    bar.write(f"stopping after {step} steps: max_minutes = {config.max_minutes} reached")
                break
    finally:
        bar.close()
    if not history.val_step or history.val_step[-1] != step:
        validate(step)
    checkpoint(step)
    if main_proc and out is not None:
        extra = {"config": config.to_dict(), "step": step}
        if history.val_step:
            extra["val"] = {k: v[-1] for k, v in history.val.items()}
        save_model(model, out / "model.pt", **extra)


# --------------------------------------------------------------------------
# Pictures and tables for the Training chapter
# --------------------------------------------------------------------------


def config_table(*configs: TrainConfig) -> str:
    """A markdown table of the fields of several configurations side by side (differences in bold)."""
    if not configs:
        raise ValueError("config_table() needs at least one configuration")
    names = [f.name for f in dataclasses.fields(TrainConfig) if f.name != "name"]
    lines = ["| field | " + " | ".join(c.name for c in configs) + " |", "| --- |" + " --- |" * len(configs)]
    for n in names:
        values = [getattr(c, n) for c in configs]
        differ = len({repr(v) for v in values}) > 1
        cells = [f"**{v}**" if differ else str(v) for v in values]
        lines.append(f"| {n} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def plot_predictions(
    images: Sequence[np.ndarray],
    probs: Sequence[np.ndarray],
    labels: Sequence[np.ndarray],
    *,
    threshold: float = 0.5,
    titles: Sequence[str] | None = None,
    crop: int | None = 256,
):
    """One row per image: input, cell probability, thresholded prediction, ground truth, errors.

    Args:
        images, probs, labels: ``(H, W)`` arrays (probability of the cell class, label 1 = cell).
        threshold: a pixel is "cell" where ``prob > threshold``.
        titles: a row label per image.
        crop: show the top-left ``crop × crop`` pixels (details are visible); ``None`` = all.

    Returns:
        The matplotlib figure.
    """
    import matplotlib.pyplot as plt

    n = len(images)
    fig, axes = plt.subplots(n, 5, figsize=(15, 3.1 * n), squeeze=False)
    sl = (slice(None, crop), slice(None, crop))
    for i, (im, pr, lab) in enumerate(zip(images, probs, labels)):
        pred = np.asarray(pr) > threshold
        truth = np.asarray(lab) == 1
        err = np.zeros(truth.shape + (3,))
        err[pred & ~truth] = (1.0, 0.2, 0.2)  # predicted cell, truly membrane: a gap in a membrane
        err[~pred & truth] = (0.2, 0.4, 1.0)  # predicted membrane inside a cell
        panels = [(im, "gray", "input"), (pr, "magma", "p(cell)"), (pred, "gray", f"p(cell) > {threshold:g}"),
                  (truth, "gray", "ground truth"), (err, None, "errors: red = missed membrane, blue = extra")]
        for ax, (data, cmap, title) in zip(axes[i], panels):
            ax.imshow(np.asarray(data)[sl], cmap=cmap, vmin=0 if cmap else None, vmax=1 if cmap else None,
                      interpolation="nearest")
            ax.set_title(title, fontsize=9)
            ax.set_xticks([])
            ax.set_yticks([])
        if titles is not None:
            axes[i, 0].set_ylabel(titles[i])
    fig.tight_layout()
    return fig


# --------------------------------------------------------------------------
# Pre-trained weights for the later chapters
# --------------------------------------------------------------------------

#: Named pre-trained models: name → (configuration, data set).
PRETRAINED = {"isbi2012_cpu": ("cpu", "isbi2012"), "isbi2012_paper": ("paper", "isbi2012")}


def models_dir() -> Path:
    """Cache folder of trained weights: ``$UNET_TUTORIAL_MODELS``, else ``<user cache>/unet_tutorial/models``."""
    env = os.environ.get("UNET_TUTORIAL_MODELS")
    if env:
        return Path(env).expanduser().resolve()
    import pooch

    return Path(pooch.os_cache("unet_tutorial")).expanduser().resolve() / "models"


def pretrained_path(name: str = "isbi2012_cpu") -> Path:
    """Where the weights of the named model are cached (they may not exist yet)."""
    if not name or "/" in name or os.sep in name or name.startswith("."):
        raise ValueError(f"model name must be a plain file name, got {name!r}")
    return models_dir() / f"{name}.pt"


def load_or_train(
    name: str = "isbi2012_cpu",
    *,
    config: TrainConfig | str | None = None,
    data: Any = None,
    retrain: bool = False,
    progress: bool = True,
    device: str | torch.device | None = None,
) -> UNet:
    """The cached model ``name`` if it exists, else train it (and cache it); eval mode.

    For the names of :data:`PRETRAINED` the configuration and data are known
    (``isbi2012_cpu``: the ``cpu`` configuration on ISBI 2012 slices 0–24);
    other names need ``config`` and ``data``.
    """
    path = pretrained_path(name)
    if path.is_file() and not retrain:
        return load_model(path, map_location=select_device(device)).eval()
    if config is None or data is None:
        if name not in PRETRAINED:
            raise ValueError(f"no cached model {path} and no recipe for {name!r}: pass config= and data=")
        config = config or PRETRAINED[name][0]
        data = data or PRETRAINED[name][1]
    model, history = train(config, data=data, progress=progress, device=device)
    save_pretrained(model, name, config=config, history=history)
    return model


def save_pretrained(model: UNet, name: str, *, config: TrainConfig | str, history: History | None = None) -> Path:
    """Cache ``model`` as :func:`pretrained_path` ``(name)`` (with its configuration and last metrics)."""
    cfg = config if isinstance(config, TrainConfig) else get_config(config)
    extra: dict[str, Any] = {"config": cfg.to_dict()}
    if history is not None:
        extra["step"] = history.step[-1] if history.step else 0
        if history.val_step:
            extra["val"] = {k: v[-1] for k, v in history.val.items()}
    path = pretrained_path(name)
    save_model(model, path, **extra)
    return path


# --------------------------------------------------------------------------
# Command line
# --------------------------------------------------------------------------


def _parse_override(text: str) -> tuple[str, Any]:
    """``"key=value"`` → ``(key, value)`` with the value read as TOML (``lr=1e-3``, ``augment="none"``)."""
    if "=" not in text:
        raise ValueError(f"--set expects KEY=VALUE, got {text!r}")
    key, raw = (s.strip() for s in text.split("=", 1))
    try:
        import tomllib
    except ModuleNotFoundError:  # Python 3.10
        import tomli as tomllib  # type: ignore[no-redef]
    try:
        value = tomllib.loads(f"v = {raw}")["v"]
    except tomllib.TOMLDecodeError:
        value = raw  # a bare word: a string
    return key, value


def add_train_command(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Register ``train`` on the ``python -m unet_tutorial`` sub-command parser."""
    p = subparsers.add_parser(
        "train",
        help="train a U-Net (§3) and write checkpoint.pt, model.pt and history.json",
        description="Train a U-Net as §3 of the paper describes. Writes OUT/checkpoint.pt (latest, "
        "resumable with --resume), OUT/model.pt (final weights) and OUT/history.json. "
        "Runs data-parallel under torchrun.",
    )
    p.add_argument("--config", default="cpu", help="'paper', 'cpu' or a TOML file (default: cpu)")
    p.add_argument("--data", default="isbi2012", choices=["isbi2012", "synthetic"],
                   help="isbi2012 (slices 0-24 train, 25-29 validate) or synthetic EM-like images")
    p.add_argument("--out", required=True, type=Path, help="output folder")
    p.add_argument("--resume", action="store_true",
                   help="continue from OUT/checkpoint.pt if it exists (with the checkpoint's configuration; "
                   "only --steps and --device still apply)")
    p.add_argument("--steps", type=int, help="total optimisation steps (overrides the configuration)")
    p.add_argument("--device", help="auto (default), cpu, cuda, cuda:1, mps")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                   help="override a configuration field, e.g. --set lr=1e-3 (repeatable)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.set_defaults(func=run_train_command)
    return p


def run_train_command(args: argparse.Namespace) -> int:
    """Run ``train`` from parsed arguments; returns the exit status (2 for bad input, 3 if diverged)."""
    try:
        config = get_config(args.config)
        overrides = dict(_parse_override(s) for s in args.set)
        if overrides:
            config = config.replace(**overrides)
        _, history = train(config, data=args.data, out_dir=args.out, resume=args.resume,
                           progress=not args.no_progress, steps=args.steps, device=args.device)
    except TrainingDiverged as err:
        print(f"error: {err}", file=sys.stderr)
        return 3
    except (ValueError, FileNotFoundError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    if int(os.environ.get("RANK", "0")) == 0:
        last = f"final loss {np.mean(history.loss[-20:]):.4f}" if history.loss else "no steps run"
        val = ", ".join(f"{k} {v[-1]:.4f}" for k, v in history.val.items())
        print(f"done: {len(history.step)} steps, {last}" + (f"; held-out {val}" if val else "") + f"; wrote {args.out}")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m unet_tutorial.train …``: the ``train`` command on its own."""
    parser = argparse.ArgumentParser(prog="python -m unet_tutorial.train")
    sub = parser.add_subparsers(dest="command", required=True)
    add_train_command(sub)
    args = parser.parse_args(["train", *(sys.argv[1:] if argv is None else argv)])
    return args.func(args)


if __name__ == "__main__":
    raise SystemExit(main())
