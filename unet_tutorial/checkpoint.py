"""The package's file formats: model files, training checkpoints, the model cache.

- :func:`write_atomic`: every file the package writes (models, checkpoints,
  ``history.json``, records, ``predict`` outputs) appears all at once, with the
  permissions the user's umask gives, and survives a power cut once written.
- :func:`save_model` / :func:`load_model`: a U-Net's constructor arguments and
  weights, read back with ``torch.load(weights_only=True)`` (no code runs).
- :func:`save_checkpoint` / :func:`load_checkpoint`: a model file plus what an
  exact resume needs (optimiser, schedule, random states, step, configuration, history).
- The model cache (:func:`models_dir`, :func:`save_pretrained`, :func:`load_pretrained`):
  where chapters keep the models they train, ``$UNET_TUTORIAL_MODELS`` or the user's cache.
- :func:`results_dir`: where the recorded experiments keep their records and models
  (``results/``), so that a model named like ``isbi2012-reference`` resolves without
  importing the experiment code.
"""

from __future__ import annotations

import os
import random
import tempfile
from pathlib import Path
from typing import Any, Callable

import numpy as np
import torch
from torch import nn

from .model import UNet
from .protocol import default_class_names, Protocol, model_protocol

__all__ = [
    "write_atomic",
    "model_config",
    "save_model",
    "read_package_file",
    "load_model",
    "save_checkpoint",
    "load_checkpoint",
    "MODELS_ENV_VAR",
    "models_dir",
    "pretrained_path",
    "save_pretrained",
    "load_pretrained",
    "RESULTS_ENV_VAR",
    "REPOSITORY",
    "results_dir",
]

#: Environment variable naming the model cache folder.
MODELS_ENV_VAR = "UNET_TUTORIAL_MODELS"

#: Environment variable overriding where ``results/`` is (default: the repository's).
RESULTS_ENV_VAR = "UNET_TUTORIAL_RESULTS"

#: The repository the package lives in (its ``results/`` holds the recorded experiments).
REPOSITORY = Path(__file__).resolve().parents[1]


def results_dir() -> Path:
    """The folder of the records: ``$UNET_TUTORIAL_RESULTS``, else ``results/`` of the repository."""
    env = os.environ.get(RESULTS_ENV_VAR)
    return Path(env).expanduser().resolve() if env else REPOSITORY / "results"

_CHECKPOINT_KEYS = ("unet", "state_dict", "optimizer", "scheduler", "step", "config", "history", "rng")


# --------------------------------------------------------------------------
# Writing files
# --------------------------------------------------------------------------


def _umask() -> int:
    """The process's umask (read by setting and restoring it: there is no getter)."""
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def _fsync_dir(folder: Path) -> None:
    """Flush a folder's entries (the rename) to disk; a no-op where folders cannot be opened (Windows)."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def write_atomic(path: str | os.PathLike[str], write: Callable[[str], None]) -> None:
    """Create or replace the file ``path`` all at once, never half-written.

    ``write(tmp)`` fills a temporary file beside ``path`` (same folder, same suffix, so
    writers that infer the format from the name work); it is flushed to disk, given the
    mode a new file gets under the user's umask (``0666 & ~umask``, e.g. ``0644``: not
    the ``0600`` of a temporary file, so others sharing a folder can read it), renamed
    over ``path``, and the folder is flushed so the rename survives a crash. On any
    error the temporary file is removed and an existing ``path`` is left untouched.
    Parent folders are created.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.stem}.", suffix=f".tmp{path.suffix}", dir=path.parent)
    os.close(fd)
    try:
        write(tmp)
        with open(tmp, "rb+") as f:
            os.fsync(f.fileno())
        os.chmod(tmp, 0o666 & ~_umask())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    _fsync_dir(path.parent)


# --------------------------------------------------------------------------
# Model files
# --------------------------------------------------------------------------


def model_config(model: UNet) -> dict:
    """The constructor arguments of ``model`` (a plain dict, safe for ``weights_only`` loading;
    ``architecture`` added for the networks of :mod:`unet_tutorial.architectures`)."""
    from .architectures import network_config

    return network_config(model)


def save_model(model: UNet, path: str | os.PathLike[str], **extra: object) -> None:
    """Write ``{"unet": model_config(model), "state_dict": ..., **extra}`` to ``path`` atomically.

    ``extra`` values must be plain Python/tensor data (they are loaded with
    ``weights_only=True``). The weights are stored in the model's dtype (a
    ``model.half()`` gives a float16 file half the size). The model's
    :class:`~unet_tutorial.protocol.Protocol` is saved as ``protocol``; ``threshold=``
    and ``normalize=`` in ``extra`` change those fields of it.
    """
    protocol = model_protocol(model)
    for key in ("threshold", "normalize"):
        if key in extra:
            protocol = protocol.replace(**{key: extra.pop(key)})
    if len(protocol.class_names) != model.num_classes:  # one name per output class, always
        protocol = protocol.replace(class_names=default_class_names(model.num_classes))
    blob = {"unet": model_config(model), "state_dict": {k: v.detach().cpu() for k, v in model.state_dict().items()},
            "protocol": protocol.to_dict()}

    def write(tmp: str) -> None:
        with open(tmp, "wb") as f:
            torch.save({**blob, **extra}, f)

    write_atomic(path, write)


def read_package_file(path: str | os.PathLike[str], map_location: str | torch.device, *, what: str,
                      keys: tuple[str, ...], kind: str, read_as: str | None = None, hint: str = "") -> dict:
    """Load a dict written by this package with ``torch.load(weights_only=True)`` and check its keys.

    Shared by :func:`load_model` and :func:`load_checkpoint`, so that every file the
    package reads back fails the same way.

    Args:
        path: the file.
        map_location: where tensors are loaded (``torch.load``'s argument).
        what: name of the file in the messages (``"model file"``, ``"checkpoint"``).
        keys: keys the dict must hold.
        kind: what the file must be, for the message.
        read_as: what an unreadable file is not, for the message; ``what`` by default.
        hint: how to write such a file, appended to the message.

    Raises:
        FileNotFoundError: no file at ``path``.
        ValueError: unreadable file, or not a dict with ``keys``.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{what} not found: {path}")
    try:
        blob = torch.load(path, map_location=map_location, weights_only=True)
    except Exception as err:  # torch raises several types for corrupt files
        raise ValueError(f"{path} is not a readable {read_as or what}: {err}") from None
    missing = [k for k in keys if not isinstance(blob, dict) or k not in blob]
    if missing:
        expected = ", ".join(repr(k) for k in keys)
        raise ValueError(f"{path} is not {kind} (missing {', '.join(missing)}; expected the keys {expected}"
                         + (f"; {hint})" if hint else ")"))
    return blob


def load_model(path: str | os.PathLike[str], map_location: str | torch.device = "cpu") -> UNet:
    """Rebuild a :class:`~unet_tutorial.model.UNet` from a file of :func:`save_model` (or a checkpoint).

    The weights are loaded into a float32 network whatever the file's dtype;
    ``model.protocol`` is the file's :class:`~unet_tutorial.protocol.Protocol` (input
    normalisation, foreground threshold, whether it was chosen with TTA, class
    names); files written before protocols give their ``threshold`` and
    ``normalize`` (no TTA), or the defaults.

    Raises:
        FileNotFoundError: if ``path`` does not exist.
        ValueError: if the file is not a U-Net model file of this package.
    """
    blob = read_package_file(path, map_location, what="model file", read_as="PyTorch file",
                             keys=("unet", "state_dict"), kind="a U-Net model file of unet_tutorial",
                             hint="write it with save_model")
    from .architectures import build_network

    model = build_network(**blob["unet"])
    model.load_state_dict(blob["state_dict"])  # copies (and casts) into the float32 parameters
    model.protocol = Protocol.from_file(blob)  # how its recorded numbers were made (predictions use it)
    return model.to(map_location)


# --------------------------------------------------------------------------
# Training checkpoints
# --------------------------------------------------------------------------


def _rng_state() -> dict[str, Any]:
    """torch, CUDA, numpy and Python RNG states as tensors and plain data (``weights_only`` safe)."""
    np_state = np.random.get_state()
    py_state = random.getstate()
    return {
        "torch": torch.get_rng_state(),
        "cuda": list(torch.cuda.get_rng_state_all()) if torch.cuda.is_available() else [],
        "numpy": {"keys": torch.from_numpy(np.asarray(np_state[1], dtype=np.int64)), "pos": int(np_state[2]),
                  "has_gauss": int(np_state[3]), "cached_gaussian": float(np_state[4])},
        "python": {"version": int(py_state[0]), "state": torch.tensor(py_state[1], dtype=torch.int64),
                   "gauss_next": py_state[2]},
    }


def set_rng_state(state: dict[str, Any]) -> None:
    """Restore the random states saved in a checkpoint (the inverse of what :func:`save_checkpoint` stores)."""
    torch.set_rng_state(state["torch"])
    if state.get("cuda") and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])
    n = state["numpy"]
    np.random.set_state(("MT19937", n["keys"].numpy().astype(np.uint32), n["pos"], n["has_gauss"],
                         n["cached_gaussian"]))
    p = state["python"]
    random.setstate((p["version"], tuple(int(v) for v in p["state"].tolist()), p["gauss_next"]))


def save_checkpoint(path: str | os.PathLike[str], model: UNet, optimizer: torch.optim.Optimizer,
                    scheduler: torch.optim.lr_scheduler.LRScheduler, *, step: int, config: Any, history: Any,
                    scaler: torch.amp.GradScaler | None = None, ema: nn.Module | None = None,
                    aux: nn.Module | None = None) -> None:
    """Write a resumable checkpoint atomically.

    The file is a model file of :func:`save_model` (keys ``unet`` and
    ``state_dict``, so :func:`load_model` and ``predict`` read it) plus
    ``optimizer``, ``scheduler``, ``scaler``, ``ema`` (the averaged weights, when kept), ``aux``
    (training-only modules such as deep supervision's heads, when used), ``rng``, ``step`` (steps done),
    ``config`` (a :class:`~unet_tutorial.config.TrainConfig`) and ``history``
    (a :class:`~unet_tutorial.train.History`), all tensors and plain data so that
    it loads with ``torch.load(weights_only=True)``.
    """
    save_model(model, path, optimizer=optimizer.state_dict(), scheduler=scheduler.state_dict(),
               scaler=scaler.state_dict() if scaler is not None and scaler.is_enabled() else {},
               rng=_rng_state(), step=int(step), config=config.to_dict(), history=history.to_dict(),
               **({"ema": ema.state_dict()} if ema is not None else {}),
               **({"aux": aux.state_dict()} if aux is not None else {}))


def load_checkpoint(path: str | os.PathLike[str], map_location: str | torch.device = "cpu") -> dict[str, Any]:
    """Read a checkpoint of :func:`save_checkpoint` with ``torch.load(weights_only=True)``.

    Raises:
        FileNotFoundError: no file at ``path``.
        ValueError: unreadable file, or not a training checkpoint of this package.
    """
    return read_package_file(path, map_location, what="checkpoint", keys=_CHECKPOINT_KEYS,
                             kind="a training checkpoint of unet_tutorial")


# --------------------------------------------------------------------------
# The model cache
# --------------------------------------------------------------------------


def models_dir() -> Path:
    """Cache folder of trained weights: ``$UNET_TUTORIAL_MODELS``, else ``<user cache>/models``."""
    env = os.environ.get(MODELS_ENV_VAR)
    if env:
        return Path(env).expanduser().resolve()
    from .cache import user_cache_dir

    return user_cache_dir() / "models"


def pretrained_path(name: str = "isbi2012_cpu") -> Path:
    """Where the weights of the named model are cached (they may not exist yet)."""
    if not isinstance(name, str) or not name or "/" in name or os.sep in name or name.startswith("."):
        raise ValueError(f"model name must be a plain file name, got {name!r}")
    return models_dir() / f"{name}.pt"


def save_pretrained(model: UNet, name: str, *, config: Any, history: Any = None) -> Path:
    """Cache ``model`` as :func:`pretrained_path` ``(name)`` with its configuration and last metrics."""
    extra: dict[str, Any] = {"config": config.to_dict()}
    if history is not None:
        extra["step"] = history.step[-1] if history.step else 0
        if history.val_step:
            extra["val"] = {k: v[-1] for k, v in history.val.items()}
    path = pretrained_path(name)
    save_model(model, path, **extra)
    return path


def load_pretrained(name: str, map_location: str | torch.device = "cpu") -> UNet:
    """The cached model ``name`` in eval mode.

    Raises:
        FileNotFoundError: not cached yet (train a model and keep it with :func:`save_pretrained`;
            the course's trained models are in ``results/``: :func:`~unet_tutorial.experiments.load_result_model`).
    """
    path = pretrained_path(name)
    if not path.is_file():
        raise FileNotFoundError(f"no cached model {name!r} at {path}: train one and keep it with "
                                f"save_pretrained(model, {name!r}, config=...), or use a recorded model "
                                "(unet_tutorial.experiments.load_result_model)")
    return load_model(path, map_location=map_location).eval()
