"""Records as typed objects: ``load_record(name)`` → :class:`Record` (``record.split.held_out``,
``record.metrics["rand"]``, ``record.runs["fp32/seed0"].curves``).

A record is written as JSON by :func:`~unet_tutorial.experiments.run_experiment`
(``results/NAME/record.json``). Reading it gives a :class:`Record` whose fields are
declared here; it is also a read-only mapping of the JSON (``record["metrics"]``), so
code written for the plain dictionaries keeps working.

``schema`` is the version of the layout (:data:`SCHEMA_VERSION`); a record of an older
version is read in today's layout (:func:`upgrade_record`), the file left as it is:

- version 1 (the records written before the key existed, too): the metric names of
  before issue #24. Version 2 gives each pixel error one name, the metric registry's
  (:data:`unet_tutorial.metrics.FORMER_NAMES`): ``pixel_fscore`` (``1 − F``, the course's
  pixel error) is ``pixel_error``, ``pixel`` (``1 −`` accuracy) is ``pixel_mismatch``, with
  their suffixes (``pixel_fscore_threshold`` → ``pixel_error_threshold``, ``pixel_oracle``
  → ``pixel_mismatch_oracle``, ...). The values are the same numbers.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..metrics.registry import rename_metric_keys

__all__ = ["SCHEMA_VERSION", "Split", "Run", "Record", "load_record", "record_from_dict", "upgrade_record"]

#: The record layout this package writes (and reads every older one in, see :func:`upgrade_record`).
SCHEMA_VERSION = 2


def _rename_run_metrics(run: Mapping[str, Any]) -> dict[str, Any]:
    """One run's entry with its metrics and validation curves under today's metric names."""
    out = dict(run)
    if isinstance(out.get("metrics"), Mapping):
        out["metrics"] = rename_metric_keys(out["metrics"])
    curves = out.get("curves")
    if isinstance(curves, Mapping) and isinstance(curves.get("validation"), Mapping):
        out["curves"] = {**curves, "validation": rename_metric_keys(curves["validation"])}
    return out


def _upgrade_from_1(raw: dict[str, Any]) -> dict[str, Any]:
    """Version 1 → 2: the pixel errors under the registry's names, wherever a record keeps metrics."""
    out = dict(raw)
    if isinstance(out.get("metrics"), Mapping):  # "ARM/seedS/NAME", "baseline/NAME" or "NAME"
        out["metrics"] = rename_metric_keys(out["metrics"])
    if isinstance(out.get("runs"), Mapping):
        out["runs"] = {key: _rename_run_metrics(run) for key, run in out["runs"].items()}
    for entry in ("model", "baseline"):  # the kept model's and the baseline's metrics
        if isinstance(out.get(entry), Mapping):
            out[entry] = _rename_run_metrics(out[entry])
    if isinstance(out.get("arm_models"), Mapping):
        out["arm_models"] = {arm: _rename_run_metrics(m) for arm, m in out["arm_models"].items()}
    if isinstance(out.get("rescored"), list):  # the metrics a rescoring replaced
        out["rescored"] = [{**r, "previous_metrics": rename_metric_keys(r["previous_metrics"])}
                           if isinstance(r, Mapping) and isinstance(r.get("previous_metrics"), Mapping) else r
                           for r in out["rescored"]]
    out["schema"] = 2
    return out


#: version → the function that reads a record of that version in the next one.
_UPGRADES = {1: _upgrade_from_1}


def upgrade_record(raw: Mapping[str, Any]) -> dict[str, Any]:
    """A record's JSON object in today's layout (:data:`SCHEMA_VERSION`), a new dict (``raw`` is not changed).

    Each older version is upgraded one step at a time (see the module docstring); free text
    (``notes``, ``hypothesis``, ``verdict_rule``) is kept as it was written.

    Raises:
        ValueError: not a JSON object with a ``name``, a schema that is not a positive
            integer, a newer schema than this package reads, or two keys naming one metric.
    """
    if not isinstance(raw, Mapping) or "name" not in raw:
        raise ValueError("a record is a JSON object with at least a 'name'")
    schema = raw.get("schema", 1)
    if isinstance(schema, bool) or not isinstance(schema, int) or schema < 1:
        raise ValueError(f"record {raw['name']!r} has schema {schema!r}: expected an integer >= 1")
    if schema > SCHEMA_VERSION:
        raise ValueError(f"record {raw['name']!r} has schema {schema}, newer than this package reads "
                         f"({SCHEMA_VERSION}): update unet_tutorial")
    out = json.loads(json.dumps(dict(raw)))  # a deep copy: the caller's object stays as read
    while schema < SCHEMA_VERSION:
        out = _UPGRADES[schema](out)
        schema = out["schema"]
    return out


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
        name, summary, notes: what it is; schema: layout version it is read in (today's,
        :data:`SCHEMA_VERSION`); schema_read: that of the JSON it was read from; status: ``"complete"`` or
        ``"partial"``; data: data set; split: :class:`Split`; arms, seeds: the design;
        runs: ``{"ARM/seedS" or "main": Run}``; metrics: every run's final metrics as
        ``"ARM/seedS/METRIC"`` (or ``"METRIC"`` for one run); configs: each arm's
        configuration; model: the kept model's entry (``None``: none kept); baseline: a
        method without training scored alike; machine, git, command: where and what ran;
        hypothesis, verdict_rule: written in the registry before the run; evaluation:
        protocol and TTA.
    """

    def __init__(self, raw: Mapping[str, Any]) -> None:
        schema_read = raw.get("schema", 1) if isinstance(raw, Mapping) else None
        raw = upgrade_record(raw)  # checks it, too
        self._raw = raw
        self.schema: int = raw["schema"]  # the layout it is read in: SCHEMA_VERSION
        self.schema_read: int = int(schema_read)  # the layout of the JSON it was read from
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
        """The JSON object this record was read from, in today's layout (a copy)."""
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
