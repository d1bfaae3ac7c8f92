"""How a trained model is meant to be used: the protocol its recorded numbers assume.

A model's weights are not enough to reproduce its numbers: the input
normalisation it was trained with, the foreground threshold chosen for it (and
whether that threshold was chosen on test-time-augmented probabilities), and
what its classes are travel with it, in its file, as one declared
:class:`Protocol`. :func:`unet_tutorial.checkpoint.load_model` reads it back;
``predict``, :func:`~unet_tutorial.inference.predict_tiled` and
:func:`~unet_tutorial.inference.predict_instances` use it unless told otherwise,
so a shipped model predicts as it was recorded.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, Mapping

__all__ = ["Protocol", "WithProtocol", "model_protocol", "default_class_names"]

#: Input normalisations a model may be trained with (see :mod:`unet_tutorial.normalize`).
_NORMALIZE_MODES = ("none", "percentile")


def default_class_names(num_classes: int) -> tuple[str, ...]:
    """``("background", "foreground")`` for 2 classes, else ``("background", "class 1", …)``."""
    if not isinstance(num_classes, int) or num_classes < 2:
        raise ValueError(f"num_classes must be an int >= 2, got {num_classes!r}")
    if num_classes == 2:
        return ("background", "foreground")
    return ("background", *(f"class {k}" for k in range(1, num_classes)))


@dataclass(frozen=True)
class Protocol:
    """What a model's recorded numbers assume.

    Attributes:
        normalize: the input normalisation of training (``"none"``, ``"percentile"``),
            applied to every image it predicts.
        threshold: the foreground probability threshold chosen for it (on
            validation images), or ``None`` (then 0.5).
        tta: whether its threshold and recorded scores come from test-time
            augmentation (the 8 flips/rotations of §4): predictions use it by default.
        class_names: one name per output class (class 0 first).
    """

    normalize: str = "none"
    threshold: float | None = None
    tta: bool = False
    class_names: tuple[str, ...] = ("background", "foreground")

    def __post_init__(self) -> None:
        if self.normalize not in _NORMALIZE_MODES:
            raise ValueError(f"model.normalize must be one of {_NORMALIZE_MODES}, got {self.normalize!r}")
        if self.threshold is not None:
            t = float(self.threshold)
            if not 0.0 <= t <= 1.0:
                raise ValueError(f"protocol threshold must be in [0, 1] or None, got {self.threshold!r}")
            object.__setattr__(self, "threshold", t)
        if not isinstance(self.tta, bool):
            raise ValueError(f"protocol tta must be True or False, got {self.tta!r}")
        names = tuple(str(n) for n in self.class_names)
        if len(names) < 2 or len(set(names)) != len(names):
            raise ValueError(f"class_names must be >= 2 distinct names, got {self.class_names!r}")
        object.__setattr__(self, "class_names", names)

    def replace(self, **changes: Any) -> "Protocol":
        """A copy with some fields changed (validated)."""
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        """Plain data (JSON and ``weights_only`` safe)."""
        return {"normalize": self.normalize, "threshold": self.threshold, "tta": self.tta,
                "class_names": list(self.class_names)}

    @classmethod
    def from_file(cls, blob: Mapping[str, Any]) -> "Protocol":
        """The protocol of a model file's dict: its ``protocol`` entry, else the older top-level
        ``normalize`` and ``threshold`` keys (files written before protocols: no TTA)."""
        saved = blob.get("protocol")
        if isinstance(saved, Mapping):
            return cls(normalize=str(saved.get("normalize") or "none"), threshold=saved.get("threshold"),
                       tta=bool(saved.get("tta", False)),
                       class_names=tuple(saved.get("class_names") or ("background", "foreground")))
        return cls(normalize=str(blob.get("normalize") or "none"), threshold=blob.get("threshold"))


class WithProtocol:
    """A model that carries a :class:`Protocol` (``self.protocol``), with its fields as properties.

    ``model.normalize`` and ``model.threshold`` read (and, replacing the frozen
    protocol, write) the protocol's fields, so older code that sets them keeps working.
    """

    protocol: Protocol = Protocol()

    @property
    def normalize(self) -> str:
        return self.protocol.normalize

    @normalize.setter
    def normalize(self, value: str) -> None:
        self.protocol = self.protocol.replace(normalize=value)

    @property
    def threshold(self) -> float | None:
        return self.protocol.threshold

    @threshold.setter
    def threshold(self, value: float | None) -> None:
        self.protocol = self.protocol.replace(threshold=value)


def model_protocol(model: object) -> Protocol:
    """The protocol of any model: its ``protocol`` if it carries one, else the defaults."""
    found = getattr(model, "protocol", None)
    return found if isinstance(found, Protocol) else Protocol()
