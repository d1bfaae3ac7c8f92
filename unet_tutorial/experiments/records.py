"""Records as typed objects: ``load_record(name)`` → :class:`Record` (``record.split.held_out``,
``record.metrics["rand"]``, ``record.runs["fp32/seed0"].curves``).

A record is written as JSON by :func:`~unet_tutorial.experiments.run_experiment`
(``results/NAME/record.json``). Reading it gives a :class:`Record` whose fields are
declared here; it is also a read-only mapping of the JSON (``record["metrics"]``), so
code written for the plain dictionaries keeps working. ``schema`` is the version of
the layout: records written before it was introduced are version 1, which is today's
layout (they load unchanged).
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = ["SCHEMA_VERSION", "Split", "Run", "Record", "load_record", "record_from_dict"]

#: The record layout this package writes and reads.
SCHEMA_VERSION = 1


@dataclass(frozen=True)
class Split:
    """The images of an experiment, named as its data set names them (slice/frame numbers, part names).

    Attributes:
        train: training images; held_out: scored images; validation: images on which
            thresholds are chosen (never scored; empty: none); train_by_arm: each arm's
            training images when arms differ; detail: per part ids, sizes, modalities (DSB 2018).
    """

    train: tuple = ()
    held_out: tuple = ()
    validation: tuple = ()
    train_by_arm: Mapping[str, tuple] = field(default_factory=dict)
    detail: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Run:
    """One trained (arm, seed) of a record.

    Attributes:
        arm, seed: which; steps: optimisation steps done; train_seconds: training time
            (validations and checkpoints excluded) [s]; metrics: its final held-out
            metrics (registry names); curves: ``{"train": {"step", "seconds", "loss"},
            "validation": {"step", "seconds", METRIC: [...]}}``; settings: precision,
            memory format, device.
    """

    arm: str
    seed: int
    steps: int
    train_seconds: float
    metrics: Mapping[str, float]
    curves: Mapping[str, Any] = field(default_factory=dict)
    settings: Mapping[str, Any] = field(default_factory=dict)


class Record(Mapping):
    """A recorded experiment: declared fields, and the JSON it was read from as a read-only mapping.

    Attributes:
        name, summary, notes: what it is; schema: layout version; status: ``"complete"`` or
        ``"partial"``; data: data set; split: :class:`Split`; arms, seeds: the design;
        runs: ``{"ARM/seedS" or "main": Run}``; metrics: every run's final metrics as
        ``"ARM/seedS/METRIC"`` (or ``"METRIC"`` for one run); configs: each arm's
        configuration; model: the kept model's entry (``None``: none kept); baseline: a
        method without training scored alike; machine, git, command: where and what ran;
        hypothesis, verdict_rule: written in the registry before the run; evaluation:
        protocol and TTA.
    """

    def __init__(self, raw: Mapping[str, Any]) -> None:
        if not isinstance(raw, Mapping) or "name" not in raw:
            raise ValueError("a record is a JSON object with at least a 'name'")
        schema = int(raw.get("schema", 1))
        if schema > SCHEMA_VERSION:
            raise ValueError(f"record {raw['name']!r} has schema {schema}, newer than this package reads "
                             f"({SCHEMA_VERSION}): update unet_tutorial")
        self._raw = dict(raw)
        self.schema = schema
        self.name: str = raw["name"]
        self.summary: str = raw.get("summary", "")
        self.notes: str = raw.get("notes", "")
        self.status: str = raw.get("status", "")
        self.data: str = raw.get("data", "")
        split = raw.get("split", {})
        self.split = Split(tuple(split.get("train", ())), tuple(split.get("held_out", ())),
                           tuple(split.get("validation", ())),
                           {k: tuple(v) for k, v in split.get("train_by_arm", {}).items()},
                           split.get("detail", {}))
        self.arms: tuple[str, ...] = tuple(raw.get("arms", ()))
        self.seeds: tuple[int, ...] = tuple(raw.get("seeds", ()))
        self.runs: dict[str, Run] = {
            key: Run(r.get("arm", ""), int(r.get("seed", 0)), int(r.get("steps", 0)),
                     float(r.get("train_seconds", 0.0)), r.get("metrics", {}), r.get("curves", {}),
                     r.get("settings", {}))
            for key, r in raw.get("runs", {}).items()}
        self.metrics: Mapping[str, float] = raw.get("metrics", {})
        self.configs: Mapping[str, Any] = raw.get("configs", {})
        self.model: Mapping[str, Any] | None = raw.get("model")
        self.arm_models: Mapping[str, Any] = raw.get("arm_models") or {}  # arm → its kept model (models/ARM.pt)
        self.baseline: Mapping[str, Any] | None = raw.get("baseline")
        self.machine: Mapping[str, Any] = raw.get("machine", {})
        self.git: Mapping[str, Any] = raw.get("git", {})
        self.command: str = raw.get("command", "")
        self.hypothesis: str = raw.get("hypothesis", "")
        self.verdict_rule: str = raw.get("verdict_rule", "")
        self.evaluation: Mapping[str, Any] = raw.get("evaluation", {})

    def run(self, arm: str, seed: int) -> Run:
        """The run of ``arm`` and ``seed`` (``KeyError`` naming the recorded runs otherwise)."""
        for key in (f"{arm}/seed{seed}", "main"):
            if key in self.runs and self.runs[key].arm == arm and self.runs[key].seed == seed:
                return self.runs[key]
        raise KeyError(f"{self.name}: no run of arm {arm!r} seed {seed}; recorded: {sorted(self.runs)}")

    def to_dict(self) -> dict[str, Any]:
        """The JSON object this record was read from (a copy)."""
        return json.loads(json.dumps(self._raw))

    # the read-only mapping of the JSON (code written for the plain dictionaries)
    def __getitem__(self, key: str) -> Any:
        return self._raw[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._raw)

    def __len__(self) -> int:
        return len(self._raw)

    def __repr__(self) -> str:
        return f"Record({self.name!r}, status={self.status!r}, arms={list(self.arms)}, seeds={list(self.seeds)})"


def record_from_dict(raw: Mapping[str, Any]) -> Record:
    """A :class:`Record` of a record's JSON object (as written by the runner)."""
    return Record(raw)


def load_record(name: str, results: str | os.PathLike[str] | None = None) -> Record:
    """The record ``results/NAME/record.json`` as a :class:`Record`.

    Raises:
        FileNotFoundError: no record (the message gives the command that writes it).
        ValueError: not a record, or a newer schema than this package reads.
    """
    from ..checkpoint import results_dir

    path = (Path(results) if results is not None else results_dir()) / name / "record.json"
    if not path.is_file():
        raise FileNotFoundError(f"no record of experiment {name!r} at {path}; "
                                f"record it with: python -m unet_tutorial experiment run {name}")
    return Record(json.loads(path.read_text()))
