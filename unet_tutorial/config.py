"""Training configurations (§3): :class:`TrainConfig`, the named ones, TOML files.

Everything one training run needs is one frozen :class:`TrainConfig`. Its
fields are validated in one table (:data:`FIELDS`: type, rule, message), so a
bad value fails where it is written — in a TOML file, a ``--set`` option or a
``replace()`` call — with a message naming the field, never steps later.

Named configurations live in ``unet_tutorial/configs/<name>.toml``: ``paper``
(the network and training of §3, for a GPU) and ``cpu`` (a 16-channel network
that learns something in a few CPU minutes).
"""

from __future__ import annotations

import dataclasses
import difflib
import math
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, NamedTuple

import torch

from .augment import AUGMENTATIONS
from .architectures import ARCHITECTURES, check_architecture_input
from .losses import LOSSES
from .normalize import NORMALIZE_MODES
from .since2015 import BOUNDARY_CLASSES, NORMS, TARGETS

__all__ = ["TrainConfig", "FIELDS", "CONFIG_NAMES", "get_config", "load_config", "read_toml",
           "parse_override", "config_table"]

#: Names of the configurations shipped in ``unet_tutorial/configs/<name>.toml``.
CONFIG_NAMES = ("paper", "cpu")

_CONFIG_DIR = Path(__file__).resolve().parent / "configs"


@dataclass(frozen=True)
class TrainConfig:
    """Everything one training run needs (units in brackets). Defaults: the paper (§3).

    Model (§2, see :class:`~unet_tutorial.model.UNet`):
        base_channels: feature channels of the first level [channels]; 64 in the paper.
        depth: number of 2×2 max-poolings; 4 in the paper.
        dropout: probability of the drop-out layers at the end of the contracting path (§3.1).
        num_classes: output classes ``K`` (2: background/foreground, the paper's; more for
            masks holding class labels 0..K−1, e.g. a folder trained with ``--classes K``).
        class_names: the ``K`` class names separated by commas (class 0 first), saved with
            the model; empty: ``background, foreground`` or ``background, class 1, …``.
        architecture: ``"unet"`` (the paper's network); the networks §1 argues against, for
            the comparison ``isbi2012-why-u`` (:mod:`unet_tutorial.architectures`):
            ``"no-skip"``, ``"fcn"``, ``"ciresan-n4"`` (2 classes; ``base_channels``,
            ``depth`` and ``dropout`` do not apply to it).
        norm: ``"none"`` (the paper) or a normalisation layer after every 3×3
            convolution of the U-Net: ``"batch"``, ``"instance"``, ``"group"``
            (:mod:`unet_tutorial.since2015`; architecture ``"unet"`` only).

    Tiles and data:
        tile_size: input tile edge [pixels], a valid size of the network
            (572 → 388 output in the paper); invalid sizes raise ``ValueError``
            naming the nearest valid sizes.
        batch_size: tiles per optimisation step per process [tiles]; 1 in the paper.
        holdout: images at the end of the stack kept for validation [images]
            (5: ISBI 2012 slices 25–29 held out, 0–24 trained on).
        augment: ``"paper"`` (flips and 90° rotations, the elastic deformation of
            §3.1 and gray-value changes: :func:`unet_tutorial.augment.paper_augmentation`),
            ``"elastic"`` (the same without the gray-value changes), ``"flips"``
            (flips and 90° rotations only) or ``"none"``. Shifts come
            from the random tile positions in every case.
        normalize: input normalisation of every image, in training and (saved with
            the model) at prediction: ``"none"`` or ``"percentile"`` (each image's
            1st/99.8th percentiles to 0/1; :func:`unet_tutorial.normalize.normalize_image`).

    Loss (§3, Eqs. 1–2):
        border_weights: weight pixels by Eq. 2 (class balance + separation
            borders); ``False`` keeps only the class-balancing term ``w_c``
            (or none, see ``class_weights``).
        w0: weight of the separation-border term of Eq. 2 [dimensionless]; 10.
        sigma: width σ of the separation-border term [pixels]; 5.
        class_weights: ``"balanced"`` (``w_c`` = inverse class frequency,
            normalised) or ``"none"`` (``w_c ≡ 1``).
        unlabelled_beyond: for *partial* annotations (the challenge's gold truth, §4):
            background pixels farther than this from every annotated cell [pixels] carry
            no loss (weight 0), since an unannotated cell may lie there
            (:func:`unet_tutorial.data.training.annotated_region`); 0 = every pixel
            counts (complete labels, the default).
        loss: ``"ce"`` (Eq. 1, the paper) or ``"dice+ce"`` (Eq. 1 plus the soft Dice
            loss of the foreground classes, nnU-Net's default:
            :func:`unet_tutorial.losses.dice_cross_entropy`).
        target: ``"mask"`` (the paper: background/foreground, borders weighted by Eq. 2)
            or ``"boundary"`` (background / interior / boundary, objects cut by a seeded
            watershed: :func:`unet_tutorial.since2015.boundary_classes`; 2-class instance
            data, ``border_weights = false``; the network gets 3 output classes).
        deep_supervision: supervise this many coarser levels of the expanding path too
            (:class:`unet_tutorial.since2015.DeepSupervision`, nnU-Net's default); 0 = off
            (the paper). U-Net only, at most ``depth − 1``.

    Optimisation:
        optimizer: ``"sgd"`` (the paper: SGD with momentum) or ``"adam"``.
        lr: learning rate at the start of the schedule (after warm-up).
        momentum: SGD momentum μ (0.99 in the paper); Adam uses ``betas``.
        betas: Adam's (β1, β2).
        weight_decay: L2 penalty coefficient (0 in the paper's description).
        ema_decay: keep an exponential moving average of the weights,
            ``w̄ ← d·w̄ + (1 − d)·w`` after every step, and validate, save and return
            it instead of the last weights (Polyak averaging; it smooths the
            step-to-step swing of the held-out errors); 0 = off (the paper).
        schedule: ``"constant"`` (the paper) or ``"cosine"`` (decays to
            ``lr · lr_min_fraction`` at the last step).
        lr_min_fraction: final learning rate of the cosine schedule, as a fraction of ``lr``.
        warmup_steps: linear warm-up from 0 to ``lr`` over this many steps [steps].
        grad_clip: clip the global gradient norm to this value; 0 = off.
        steps: optimisation steps of the whole run [steps].
        max_minutes: stop early (with a checkpoint) after this much training
            time [minutes], resumed sessions added up, validations not counted;
            0 = no limit. Makes a run's length depend on the machine: an
            equal wall-clock budget (``isbi2012-precision``), not a step budget.

    Bookkeeping:
        val_every: validate on the held-out images every this many steps [steps]; 0 = only at the end.
        val_tta: validate with test-time augmentation (8 flips/rotations, §4).
        checkpoint_every: write ``checkpoint.pt`` every this many steps [steps]; 0 = only at the end.
        seed: seed of everything random (initialisation, tiles, augmentation, drop-out).

    Hardware:
        device: ``"auto"`` (CUDA, then Apple MPS, then CPU) or a torch device string.
        precision: ``"auto"`` (bf16 autocast on CUDA where supported, else fp16
            with a gradient scaler; bf16 on a CPU with native bfloat16, AVX512-BF16
            or AMX; fp32 elsewhere), ``"fp32"``, ``"bf16"`` or ``"fp16"``. Master
            weights, optimiser state, loss and checkpoints are float32 in every case.
        channels_last: use the ``channels_last`` memory format where it is faster
            (CUDA, and a CPU computing in bf16); ``False`` = never.
        num_threads: CPU threads for torch [threads]; 0 = torch's default (``OMP_NUM_THREADS``).
        num_workers: DataLoader worker processes preparing tiles; 0 = in the
            training process. The tiles do not depend on it.
    """

    name: str = "custom"
    # model
    base_channels: int = 64
    depth: int = 4
    dropout: float = 0.5
    num_classes: int = 2
    class_names: str = ""
    architecture: str = "unet"
    norm: str = "none"
    # tiles and data
    tile_size: int = 572
    batch_size: int = 1
    holdout: int = 5
    augment: str = "paper"
    normalize: str = "none"
    # loss
    border_weights: bool = True
    w0: float = 10.0
    sigma: float = 5.0
    class_weights: str = "balanced"
    unlabelled_beyond: float = 0.0
    loss: str = "ce"
    target: str = "mask"
    deep_supervision: int = 0
    # optimisation
    optimizer: str = "sgd"
    lr: float = 0.01
    momentum: float = 0.99
    betas: tuple[float, float] = (0.9, 0.999)
    weight_decay: float = 0.0
    ema_decay: float = 0.0
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
        for f in dataclasses.fields(self):
            rule = FIELDS[f.name]
            value = rule.kind.coerce(getattr(self, f.name), f.name)
            if not rule.ok(value):
                raise ValueError(f"config field {f.name!r} {rule.says}, got {value!r}")
            object.__setattr__(self, f.name, value)  # frozen: set once, here
        try:
            check_architecture_input(self.architecture, self.tile_size, self.depth)
        except ValueError as err:
            raise ValueError(f"config field 'tile_size': {err}") from None
        if self.num_classes > 2 and self.border_weights:
            raise ValueError(f"config field 'border_weights': Eq. 2's separation borders need instance masks "
                             f"(2 classes); with num_classes = {self.num_classes} set border_weights = false "
                             "(the class-balancing weights w_c still apply)")
        if self.unlabelled_beyond and (self.num_classes > 2 or self.target != "mask"):
            raise ValueError("config field 'unlabelled_beyond': the loss mask of partial annotations applies to "
                             "2-class cell masks (target = \"mask\", num_classes = 2)")
        if self.target == "boundary" and self.class_names.strip():
            raise ValueError("config field 'class_names': the boundary target's classes are fixed "
                             f"({', '.join(BOUNDARY_CLASSES)}); leave class_names empty")
        if self.target == "boundary" and (self.num_classes != 2 or self.border_weights):
            raise ValueError("config field 'target': the 3-class boundary target is made from 2-class instance "
                             f"masks and replaces Eq. 2's border term; got num_classes = {self.num_classes}, "
                             f"border_weights = {self.border_weights} (set num_classes = 2, border_weights = false)")
        if self.deep_supervision and (self.architecture != "unet" or self.deep_supervision >= self.depth):
            raise ValueError(f"config field 'deep_supervision': a U-Net of depth {self.depth} has "
                             f"{self.depth - 1} coarser levels to supervise (architecture 'unet' only), "
                             f"got {self.deep_supervision} with architecture {self.architecture!r}")
        if self.norm != "none" and self.architecture != "unet":
            raise ValueError(f"config field 'norm': a normalisation layer is an option of the U-Net only, "
                             f"not of architecture {self.architecture!r}; set norm = \"none\"")
        names = self.class_name_list()
        if self.class_names.strip() and (len(names) != self.num_classes or len(set(names)) != len(names)):
            raise ValueError(f"config field 'class_names' must list {self.num_classes} distinct names separated "
                             f"by commas (class 0 first), got {self.class_names!r}")

    @property
    def output_classes(self) -> int:
        """The network's output classes: 3 for ``target = "boundary"``, else ``num_classes``."""
        return len(BOUNDARY_CLASSES) if self.target == "boundary" else self.num_classes

    def class_name_list(self) -> tuple[str, ...]:
        """The names of the ``num_classes`` classes: ``class_names`` split at commas, else the defaults
        (:func:`unet_tutorial.protocol.default_class_names`)."""
        from .protocol import default_class_names

        if self.target == "boundary":
            return BOUNDARY_CLASSES
        if not self.class_names.strip():
            return default_class_names(self.num_classes)
        return tuple(n.strip() for n in self.class_names.split(","))

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
        return check_architecture_input(self.architecture, self.tile_size, self.depth)


# --------------------------------------------------------------------------
# The validation table
# --------------------------------------------------------------------------


class _Kind(NamedTuple):
    """A field type: its name and how a value is checked and normalised."""

    name: str
    coerce: Callable[[Any, str], Any]


def _coerce(test: Callable[[Any], bool], convert: Callable[[Any], Any], kind: str) -> _Kind:
    def coerce(value: Any, field_name: str) -> Any:
        if not test(value):
            raise ValueError(f"config field {field_name!r} must be of type {kind}, "
                             f"got {value!r} ({type(value).__name__})")
        return convert(value)

    return _Kind(kind, coerce)


def _is_number(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


_BOOL = _coerce(lambda v: isinstance(v, bool), bool, "bool")
_INT = _coerce(lambda v: isinstance(v, int) and not isinstance(v, bool), int, "int")
_FLOAT = _coerce(_is_number, float, "float")
_STR = _coerce(lambda v: isinstance(v, str), str, "str")
_PAIR = _coerce(lambda v: isinstance(v, (list, tuple)) and len(v) == 2 and all(map(_is_number, v)),
                lambda v: (float(v[0]), float(v[1])), "a pair of floats")


class Rule(NamedTuple):
    """One row of :data:`FIELDS`: the field's type, the test its value must pass, and the message."""

    kind: _Kind
    ok: Callable[[Any], bool]
    says: str


def _device_ok(v: str) -> bool:
    if v == "auto":
        return True
    try:
        torch.device(v)
    except (RuntimeError, TypeError):
        return False
    return True


def _choice(*options: str) -> tuple[Callable[[Any], bool], str]:
    return (lambda v: v in options), "must be one of " + ", ".join(map(repr, options))


def _finite(lo: float, hi: float | None = None, *, open_lo: bool = False, open_hi: bool = True) -> Callable:
    def ok(v: float) -> bool:
        if not math.isfinite(v):
            return False
        above = v > lo if open_lo else v >= lo
        below = True if hi is None else (v < hi if open_hi else v <= hi)
        return above and below

    return ok


_AT_LEAST_1 = (lambda v: v >= 1, "must be >= 1")
_AT_LEAST_0 = (lambda v: v >= 0, "must be >= 0")

#: Every field of :class:`TrainConfig`: type, rule, and the message when the rule fails.
FIELDS: dict[str, Rule] = {
    "name": Rule(_STR, lambda v: bool(v.strip()), "must be a non-empty string"),
    "base_channels": Rule(_INT, *_AT_LEAST_1),
    "depth": Rule(_INT, *_AT_LEAST_1),
    "dropout": Rule(_FLOAT, _finite(0.0, 1.0), "must be in [0, 1)"),
    "num_classes": Rule(_INT, lambda v: 2 <= v <= 255, "must be in [2, 255] (class labels are stored as uint8)"),
    "class_names": Rule(_STR, lambda v: True, ""),
    "architecture": Rule(_STR, *_choice(*ARCHITECTURES)),
    "norm": Rule(_STR, *_choice(*NORMS)),
    "tile_size": Rule(_INT, *_AT_LEAST_1),  # and a valid size of the network (checked after the table)
    "batch_size": Rule(_INT, *_AT_LEAST_1),
    "holdout": Rule(_INT, *_AT_LEAST_0),
    "augment": Rule(_STR, *_choice(*AUGMENTATIONS)),
    "normalize": Rule(_STR, *_choice(*NORMALIZE_MODES)),
    "border_weights": Rule(_BOOL, lambda v: True, ""),
    "w0": Rule(_FLOAT, _finite(0.0), "must be a finite number >= 0"),
    "sigma": Rule(_FLOAT, _finite(0.0, open_lo=True), "must be a finite number > 0 (pixels)"),
    "class_weights": Rule(_STR, *_choice("balanced", "none")),
    "unlabelled_beyond": Rule(_FLOAT, _finite(0.0), "must be a finite number >= 0 [pixels] (0 = off)"),
    "loss": Rule(_STR, *_choice(*LOSSES)),
    "target": Rule(_STR, *_choice(*TARGETS)),
    "deep_supervision": Rule(_INT, lambda v: 0 <= v <= 8, "must be in [0, 8] (supervised levels; 0 = off)"),
    "optimizer": Rule(_STR, *_choice("sgd", "adam")),
    "lr": Rule(_FLOAT, _finite(0.0, open_lo=True), "must be a positive finite number"),
    "momentum": Rule(_FLOAT, _finite(0.0, 1.0), "must be in [0, 1)"),
    "betas": Rule(_PAIR, lambda v: all(0.0 <= b < 1.0 for b in v), "must both be in [0, 1)"),
    "weight_decay": Rule(_FLOAT, _finite(0.0), "must be a finite number >= 0"),
    "ema_decay": Rule(_FLOAT, _finite(0.0, 1.0), "must be in [0, 1) (0 = off)"),
    "schedule": Rule(_STR, *_choice("constant", "cosine")),
    "lr_min_fraction": Rule(_FLOAT, _finite(0.0, 1.0, open_hi=False), "must be in [0, 1]"),
    "warmup_steps": Rule(_INT, *_AT_LEAST_0),
    "grad_clip": Rule(_FLOAT, _finite(0.0), "must be >= 0 (0 = off)"),
    "steps": Rule(_INT, *_AT_LEAST_1),
    "max_minutes": Rule(_FLOAT, _finite(0.0), "must be >= 0 (0 = no limit)"),
    "val_every": Rule(_INT, *_AT_LEAST_0),
    "val_tta": Rule(_BOOL, lambda v: True, ""),
    "checkpoint_every": Rule(_INT, *_AT_LEAST_0),
    "seed": Rule(_INT, *_AT_LEAST_0),
    "device": Rule(_STR, _device_ok, "must be 'auto' or a torch device such as 'cpu' or 'cuda:0'"),
    "precision": Rule(_STR, *_choice("auto", "fp32", "bf16", "fp16")),
    "channels_last": Rule(_BOOL, lambda v: True, ""),
    "num_threads": Rule(_INT, *_AT_LEAST_0),
    "num_workers": Rule(_INT, *_AT_LEAST_0),
}


def _check_keys(d: dict[str, Any], source: str) -> None:
    names = [f.name for f in dataclasses.fields(TrainConfig)]
    unknown = [k for k in d if k not in names]
    if unknown:
        hints = []
        for k in unknown:
            close = difflib.get_close_matches(k, names, n=1)
            hints.append(f"{k!r}" + (f" (did you mean {close[0]!r}?)" if close else ""))
        raise ValueError(f"unknown configuration key(s) in {source}: {', '.join(hints)}; "
                         f"valid keys: {', '.join(names)}")


# --------------------------------------------------------------------------
# TOML files and named configurations
# --------------------------------------------------------------------------


def _tomllib():
    try:
        import tomllib
    except ModuleNotFoundError:  # Python 3.10
        import tomli as tomllib  # type: ignore[no-redef]
    return tomllib


def read_toml(path: str | os.PathLike[str] | None = None, *, text: str | None = None) -> dict[str, Any]:
    """Parse a TOML file (or ``text``); ``ValueError`` naming the file when it is not valid TOML."""
    toml = _tomllib()
    try:
        if text is not None:
            return toml.loads(text)
        with open(path, "rb") as f:
            return toml.load(f)
    except toml.TOMLDecodeError as err:
        raise ValueError(f"{path or repr(text)} is not valid TOML: {err}") from None


def parse_override(text: str) -> tuple[str, Any]:
    """``"key=value"`` → ``(key, value)`` with the value read as TOML (``lr=1e-3``, ``augment="none"``).

    A bare word that is not TOML (``augment=none``) is taken as a string.
    """
    if "=" not in text:
        raise ValueError(f"--set expects KEY=VALUE, got {text!r}")
    key, raw = (s.strip() for s in text.split("=", 1))
    try:
        return key, read_toml(text=f"v = {raw}")["v"]
    except ValueError:
        return key, raw


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
    d = read_toml(path)
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
