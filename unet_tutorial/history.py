"""What happened during a training run (§3): the :class:`History` of losses and validations, and divergence."""

from __future__ import annotations

import dataclasses
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .checkpoint import write_atomic

__all__ = ["History", "TrainingDiverged"]


@dataclass
class History:
    """What happened during training, one entry per step (and per validation).

    Attributes:
        step: optimisation step (1-based) of each ``loss``/``lr``/``time`` entry.
        loss: training loss (Eq. 1, pixel mean; averaged over processes) at that step.
        lr: learning rate used at that step.
        time: wall-clock training time since the start of the run [s], summed over
            resumed sessions; validations and checkpoint writes are not counted
            (records made before 2026-12-06 counted them).
        val_step: steps at which the held-out images were evaluated.
        val: metric name → values at ``val_step`` (registry names: ``pixel_error``, ``iou``,
            ``rand``, … see :func:`evaluate`).
        settings: how the run computed: ``precision`` (``"fp32"``, ``"bf16"``,
            ``"fp16"``), ``channels_last``, ``device`` (of the last session).
        grad_norm: the global gradient norm (L2 over every parameter, before any
            clipping and unscaled) at each step; empty for runs recorded before it was
            logged (2026-12-06). What diagnoses a collapse or a divergence.
    """

    step: list[int] = field(default_factory=list)
    loss: list[float] = field(default_factory=list)
    lr: list[float] = field(default_factory=list)
    time: list[float] = field(default_factory=list)
    val_step: list[int] = field(default_factory=list)
    val: dict[str, list[float]] = field(default_factory=dict)
    settings: dict[str, Any] = field(default_factory=dict)
    grad_norm: list[float] = field(default_factory=list)

    def log_step(self, step: int, loss: float, lr: float, seconds: float,
                 grad_norm: float | None = None) -> None:
        self.step.append(int(step))
        self.loss.append(float(loss))
        self.lr.append(float(lr))
        self.time.append(float(seconds))
        if grad_norm is not None:
            self.grad_norm.append(float(grad_norm))

    def log_validation(self, step: int, metrics: dict[str, float]) -> None:
        self.val_step.append(int(step))
        for k, v in metrics.items():
            self.val.setdefault(k, []).append(float(v))

    def to_dict(self) -> dict[str, Any]:
        """Plain lists and dicts (JSON and ``weights_only`` safe)."""
        return {k: (dict(v) if isinstance(v, dict) else list(v)) for k, v in dataclasses.asdict(self).items()}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "History":
        """The history of :meth:`to_dict`'s output; validation metrics under today's registry names.

        A history saved before record schema 2 (a checkpoint of an older run, resumed) named
        the pixel errors ``pixel_fscore`` (``1 − F``) and ``pixel`` (``1 −`` accuracy): they
        are read as ``pixel_error`` and ``pixel_mismatch``, so a resumed run appends to the
        same curves (:func:`unet_tutorial.metrics.current_metric_key`).
        """
        from .metrics.registry import rename_metric_keys  # lazy: a history needs no metric code otherwise

        fields = {f.name: d.get(f.name, {} if f.name in ("val", "settings") else []) for f in dataclasses.fields(cls)}
        fields["val"] = rename_metric_keys(fields["val"])
        return cls(**fields)

    def save(self, path: str | os.PathLike[str]) -> None:
        """Write the history as JSON, atomically."""
        payload = json.dumps(self.to_dict(), indent=1)
        write_atomic(Path(path), lambda tmp: Path(tmp).write_text(payload))

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


class TrainingDiverged(RuntimeError):
    """The loss became NaN or infinite; training stopped and the last good checkpoint is kept."""

    def __init__(self, step: int, loss: float, lr: float, checkpoint: Path | None = None,
                 history: "History | None" = None) -> None:
        # ``history``: the run up to the divergence (its losses and gradient norms show how it came)
        self.step, self.loss, self.lr, self.checkpoint, self.history = step, loss, lr, checkpoint, history
        where = f"the last good checkpoint is {checkpoint}" if checkpoint else "no checkpoint was written"
        super().__init__(
            f"training diverged: the loss became {loss} at step {step} (learning rate {lr:g}); "
            f"training stopped and {where}. Try a lower learning rate (e.g. lr = {lr / 10:g}), "
            "warm-up steps or gradient clipping (grad_clip)."
        )
