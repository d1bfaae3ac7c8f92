"""What an experiment is: its arms, seeds, split, budget, hypothesis and verdict rule, as data.

:mod:`unet_tutorial.experiments.registry` lists the course's experiments with these classes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping

__all__ = ["Arm", "Experiment"]

# --------------------------------------------------------------------------
# What an experiment is
# --------------------------------------------------------------------------


@dataclass(frozen=True)
class Arm:
    """One configuration of an experiment: a name and its changes to the experiment's configuration.

    Attributes:
        name: short identifier, used in metric names (``ARM/seedS/metric``).
        overrides: :class:`~unet_tutorial.train.TrainConfig` fields changed for this arm.
        steps: optimisation steps of this arm [steps]; ``None`` = the experiment's.
        train_ids: training images of this arm; ``None`` = the experiment's.
    """

    name: str
    overrides: Mapping[str, Any] = field(default_factory=dict)
    steps: int | None = None
    train_ids: tuple[int | str, ...] | None = None


@dataclass(frozen=True)
class Experiment:
    """A recorded experiment, as data.

    Attributes:
        name: the folder name under ``results/``.
        summary: one sentence: what it shows.
        config: the base configuration (``"cpu"``, ``"paper"``), see
            :func:`unet_tutorial.train.get_config`.
        overrides: fields changed for every arm.
        arms: the configurations compared (one for a single run).
        seeds: seeds of every arm (initialisation, tiles, augmentation, drop-out).
        train_ids: training images: ISBI 2012 slice numbers, cell tracking frame numbers,
            or DSB 2018 part names of :func:`~unet_tutorial.data.dsb2018_split`.
        held_out: held-out images (evaluation), named the same way.
        validation: images on which each model's foreground threshold is chosen before the
            held-out images are scored (never held-out images); empty: a fixed threshold or,
            for ISBI 2012, the challenge's sweep.
        steps: optimisation steps per run [steps], unless an arm says otherwise.
        val_every: steps between two held-out evaluations (the curves) [steps].
        keep: arm whose first seed's model is kept as ``results/NAME/model.pt``; ``None``: none.
        why_no_model: why no model is kept (for the record), when ``keep`` is ``None``.
        keep_arms: arms whose first seed's model is kept as ``results/NAME/models/ARM.pt``
            (for a chapter that shows the arms' predictions side by side; checked like ``model.pt``).
        data: data set of the split (``"isbi2012"``).
        device: ``"cpu"`` (the recorded CPU runs) or ``"auto"`` (a GPU when present).
        notes: how the budget and the choices were made (for the record and the chapter).
        hypothesis: what the experiment tests, written before it is run.
        verdict_rule: how its outcome becomes a verdict, written before it is run.
        tta: score with test-time augmentation (the 8 flips/rotations, §4); ``False``
            for comparisons whose arms are scored alike and need many cheap validations.
        curve_tta: score the held-out curve's validations with TTA too (when ``tta``); ``False``:
            the curve is scored without TTA (8x cheaper: a long run can afford many points) and
            the final model once more with TTA, which is the recorded result.
    """

    name: str
    summary: str
    config: str
    train_ids: tuple[int | str, ...]
    held_out: tuple[int | str, ...]
    steps: int
    overrides: Mapping[str, Any] = field(default_factory=dict)
    validation: tuple[int | str, ...] = ()
    arms: tuple[Arm, ...] = (Arm("main"),)
    seeds: tuple[int, ...] = (0,)
    val_every: int = 0
    keep: str | None = None
    keep_arms: tuple[str, ...] = ()
    why_no_model: str = ""
    data: str = "isbi2012"
    device: str = "cpu"
    notes: str = ""
    hypothesis: str = ""
    verdict_rule: str = ""
    tta: bool = True
    curve_tta: bool = True

    def scoring_tta(self, smoke: bool = False) -> tuple[bool, bool]:
        """``(result, curve)``: whether the recorded result and the curve's validations use TTA
        (never in a smoke run, which scores a tiny crop)."""
        result = self.tta and not smoke
        return result, result and self.curve_tta

    def runs(self) -> list[tuple[Arm, int]]:
        """Every ``(arm, seed)`` pair, in the order they are run: seed by seed, every arm of a seed.

        Seed-major, so that the arms of one seed (a pair) run close together in time
        (they see the same machine load) and a stopped experiment leaves complete pairs.
        """
        return [(arm, seed) for seed in self.seeds for arm in self.arms]

    def arm_train_ids(self, arm: Arm) -> tuple[int | str, ...]:
        """The training images of ``arm``: its own, else the experiment's."""
        return self.train_ids if arm.train_ids is None else arm.train_ids

    def split_record(self) -> dict[str, Any]:
        """The split as the record lists it (``train_by_arm`` when arms train on different images)."""
        out: dict[str, Any] = {"train": list(self.train_ids), "held_out": list(self.held_out)}
        if self.validation:
            out["validation"] = list(self.validation)
        if any(a.train_ids is not None for a in self.arms):
            out["train_by_arm"] = {a.name: list(self.arm_train_ids(a)) for a in self.arms}
        return out

    def run_key(self, arm: Arm, seed: int) -> str:
        """``"ARM/seedS"``, or ``""`` for an experiment of one arm and one seed."""
        return "" if len(self.arms) == 1 and len(self.seeds) == 1 else f"{arm.name}/seed{seed}"

    def train_config(self, arm: Arm, seed: int, *, smoke: bool = False):
        """The full :class:`~unet_tutorial.train.TrainConfig` of one run (``smoke``: tiny tiles, 3 steps)."""
        from ..architectures import CiresanDense
        from ..config import get_config
        from ..model import valid_input_sizes

        changes: dict[str, Any] = {**self.overrides, **arm.overrides}
        steps = arm.steps or self.steps
        changes.update(seed=seed, steps=steps, holdout=0, device=self.device,
                       val_every=self.val_every if self.val_every < steps else 0,
                       checkpoint_every=max(1, min(steps, self.val_every or steps, 500)))
        if smoke:
            depth = changes.get("depth", get_config(self.config).depth)
            smallest = (2 * CiresanDense.border + 1 if changes.get("architecture") == "ciresan-n4"
                        else valid_input_sizes(depth, "valid", stop=1024)[0])
            changes.update(steps=3, val_every=2, checkpoint_every=2, warmup_steps=0, tile_size=smallest)
        return get_config(self.config).replace(name=f"{self.name}/{arm.name}", **changes)
