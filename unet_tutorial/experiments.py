"""Recorded experiments: long, reproducible training runs whose records ship with the course.

The chapters train small models in minutes, because CI re-executes them. The
paper's results need longer runs, so those are *recorded experiments*: each is
data (:class:`Experiment`: configuration, arms, seeds, data split, budget,
evaluation), run once with ``python -m unet_tutorial experiment run NAME``
(progress bar, checkpoints, ``--resume`` after a kill), and leaves in
``results/NAME/``:

- ``record.json``: the command, the package's git commit, versions, device,
  threads, CPU model, the machine's float32 matmul rate, seeds, every arm's full
  configuration, the split (``split.train``, ``split.held_out``: slice numbers),
  steps, wall and CPU time, the final ``metrics`` (a flat mapping
  ``name → value``; ``ARM/seedS/name`` where there are several runs) and the
  curves (step, seconds, training loss, held-out metrics at each validation);
- ``model.pt``: the kept model in float16 (≤ 10 MB), where the experiment keeps one.

``experiment check NAME`` re-evaluates the committed model on the recorded
held-out images and fails, naming the metric, when a recorded number is not
reproduced (``make test`` checks every record), so the book's numbers cannot
drift from the weights that ship with it. Chapters read the numbers with
:func:`load_record` and the models with :func:`load_result_model`.

Example::

    >>> from unet_tutorial.experiments import EXPERIMENTS, load_record
    >>> sorted(EXPERIMENTS)[:2]
    ['isbi2012-paper', 'isbi2012-pilot']
    >>> load_record("isbi2012-reference")["metrics"]["rand"]  # doctest: +SKIP
"""

from __future__ import annotations

import copy
import json
import math
import os
import platform
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence

import numpy as np
import torch

from .model import UNet, load_model, save_model, write_atomic

__all__ = [
    "Arm",
    "Experiment",
    "EXPERIMENTS",
    "TOLERANCE",
    "results_dir",
    "evaluate_isbi2012",
    "run_experiment",
    "check_experiment",
    "load_record",
    "load_result_model",
    "machine_info",
]

#: Absolute tolerance of :func:`check_experiment` on every recorded metric.
TOLERANCE = 1e-3

#: Environment variable overriding where ``results/`` is (default: the repository's).
RESULTS_ENV_VAR = "UNET_TUTORIAL_RESULTS"

_REPO = Path(__file__).resolve().parents[1]


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
    """

    name: str
    overrides: Mapping[str, Any] = field(default_factory=dict)
    steps: int | None = None


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
        train_ids: training slices (ISBI 2012 slice numbers).
        held_out: held-out slices (evaluation).
        steps: optimisation steps per run [steps], unless an arm says otherwise.
        val_every: steps between two held-out evaluations (the curves) [steps].
        keep: arm whose first seed's model is kept as ``results/NAME/model.pt``; ``None``: none.
        why_no_model: why no model is kept (for the record), when ``keep`` is ``None``.
        data: data set of the split (``"isbi2012"``).
        device: ``"cpu"`` (the recorded CPU runs) or ``"auto"`` (a GPU when present).
        notes: how the budget and the choices were made (for the record and the chapter).
    """

    name: str
    summary: str
    config: str
    train_ids: tuple[int, ...]
    held_out: tuple[int, ...]
    steps: int
    overrides: Mapping[str, Any] = field(default_factory=dict)
    arms: tuple[Arm, ...] = (Arm("main"),)
    seeds: tuple[int, ...] = (0,)
    val_every: int = 0
    keep: str | None = None
    why_no_model: str = ""
    data: str = "isbi2012"
    device: str = "cpu"
    notes: str = ""

    def runs(self) -> list[tuple[Arm, int]]:
        """Every ``(arm, seed)`` pair, in the order they are run."""
        return [(arm, seed) for arm in self.arms for seed in self.seeds]

    def run_key(self, arm: Arm, seed: int) -> str:
        """``"ARM/seedS"``, or ``""`` for an experiment of one arm and one seed."""
        return "" if len(self.arms) == 1 and len(self.seeds) == 1 else f"{arm.name}/seed{seed}"

    def train_config(self, arm: Arm, seed: int, *, smoke: bool = False):
        """The full :class:`~unet_tutorial.train.TrainConfig` of one run (``smoke``: tiny tiles, 3 steps)."""
        from .model import valid_input_sizes
        from .train import get_config

        changes: dict[str, Any] = {**self.overrides, **arm.overrides}
        steps = arm.steps or self.steps
        changes.update(seed=seed, steps=steps, holdout=0, device=self.device,
                       val_every=self.val_every if self.val_every < steps else 0,
                       checkpoint_every=max(1, min(steps, self.val_every or steps, 500)))
        if smoke:
            depth = changes.get("depth", get_config(self.config).depth)
            changes.update(steps=3, val_every=2, checkpoint_every=2, warmup_steps=0,
                           tile_size=valid_input_sizes(depth, "valid", stop=1024)[0])
        return get_config(self.config).replace(name=f"{self.name}/{arm.name}", **changes)


# --------------------------------------------------------------------------
# The registry
# --------------------------------------------------------------------------

_ISBI_TRAIN = tuple(range(25))
_ISBI_HELD_OUT = tuple(range(25, 30))
# The paper's recipe on top of the ``cpu`` configuration: elastic deformation
# (§3.1) with flips and rotations, Eq. 2 border weights *with* the
# class-balancing term w_c, drop-out 0.5, He initialisation (always on).
_PAPER_RECIPE = {"augment": "paper", "border_weights": True, "class_weights": "balanced",
                 "w0": 10.0, "sigma": 5.0, "dropout": 0.5, "num_threads": 2}


def _equal_cost_steps(steps: int, base: tuple[int, int], other: tuple[int, int]) -> int:
    """Steps of ``other`` (base channels, tile) costing as many FLOPs as ``steps`` of ``base``."""
    cost = {bt: UNet(base_channels=bt[0]).flops(bt[1]) for bt in (base, other)}
    return int(round(steps * cost[base] / cost[other]))


_PILOT_STEPS = 700

EXPERIMENTS: dict[str, Experiment] = {
    e.name: e
    for e in (
        Experiment(
            name="isbi2012-pilot",
            summary="Which width, tile size and optimiser give the best held-out errors per CPU hour "
            "(equal FLOP budget per arm).",
            config="cpu",
            overrides=_PAPER_RECIPE,
            arms=(
                Arm("b16-t444-adam"),
                Arm("b16-t572-adam", {"tile_size": 572}, _equal_cost_steps(_PILOT_STEPS, (16, 444), (16, 572))),
                Arm("b32-t444-adam", {"base_channels": 32},
                    _equal_cost_steps(_PILOT_STEPS, (16, 444), (32, 444))),
                Arm("b16-t444-sgd", {"optimizer": "sgd", "lr": 0.01, "momentum": 0.99,
                                     "schedule": "constant", "warmup_steps": 0}),
            ),
            train_ids=_ISBI_TRAIN,
            held_out=_ISBI_HELD_OUT,
            steps=_PILOT_STEPS,
            val_every=350,
            notes="Every arm gets the FLOPs of 700 steps of the 16-channel network on 444 px tiles "
            "(steps scaled by UNet.flops); the SGD arm is the paper's optimiser (momentum 0.99, "
            "constant lr 0.01) at the same budget.",
        ),
        Experiment(
            name="isbi2012-reference",
            summary="The course's reference model for ISBI 2012: the paper's recipe (elastic deformation, "
            "Eq. 2 weights with w_c, drop-out, He init) at 16 channels on 444 px tiles, trained for about "
            "an hour on 2 CPU cores; the model behind Table 1.",
            config="cpu",
            overrides=_PAPER_RECIPE,
            train_ids=_ISBI_TRAIN,
            held_out=_ISBI_HELD_OUT,
            steps=15000,
            val_every=1500,
            keep="main",
            notes="Width, tile and optimiser from the isbi2012-pilot record (best held-out Rand and "
            "warping errors at equal FLOPs: 16 channels, 444 px tiles, Adam with a cosine schedule); "
            "15,000 steps ~ 1 hour on the 2-core CPU at ~5 steps/s, half the 2-hour budget.",
        ),
        Experiment(
            name="isbi2012-paper",
            summary="The paper's configuration exactly (64 channels, 572 px tiles, batch 1, SGD momentum "
            "0.99, elastic deformation, Eq. 2 with w0 = 10 and sigma = 5 px, He init, drop-out), for a GPU.",
            config="paper",
            train_ids=_ISBI_TRAIN,
            held_out=_ISBI_HELD_OUT,
            steps=20000,
            val_every=1000,
            device="auto",
            why_no_model="the 64-channel network is 62 MB in float16, over the 10 MB limit of results/; "
            "the record keeps its metrics and curves",
            notes="The paper trained about 10 hours on a 6 GB Titan GPU and gives no step count; "
            "20,000 steps of one 572 px tile is the configuration's own estimate.",
        ),
    )
}


def results_dir() -> Path:
    """The folder of the records: ``$UNET_TUTORIAL_RESULTS``, else ``results/`` of the repository."""
    env = os.environ.get(RESULTS_ENV_VAR)
    return Path(env).expanduser().resolve() if env else _REPO / "results"


def _experiment(name: str) -> Experiment:
    if name not in EXPERIMENTS:
        raise ValueError(f"unknown experiment {name!r}; known: {', '.join(sorted(EXPERIMENTS))}")
    return EXPERIMENTS[name]


# --------------------------------------------------------------------------
# Data and evaluation
# --------------------------------------------------------------------------


def _isbi_split(train_ids: Sequence[int], held_out: Sequence[int]):
    """:class:`~unet_tutorial.train.TrainData` of ISBI 2012 slices ``train_ids`` and ``held_out``."""
    from .data import load_isbi2012
    from .train import TrainData

    images, labels = load_isbi2012(split="train")
    bad = sorted((set(train_ids) | set(held_out)) - set(range(len(images))))
    if bad or set(train_ids) & set(held_out):
        raise ValueError(f"ISBI 2012 split: slices {bad} do not exist, or train and held-out overlap")
    return TrainData([images[i] for i in train_ids], [labels[i] for i in train_ids],
                     [images[i] for i in held_out], [labels[i] for i in held_out], name="isbi2012")


def evaluate_isbi2012(model: UNet, images: Sequence[np.ndarray], labels: Sequence[np.ndarray], *,
                      tta: bool = True, device: str | torch.device | None = None) -> dict[str, float]:
    """The Table 1 protocol on held-out slices: TTA, the challenge's 10 thresholds, each metric's best.

    The probability of "cell" (overlap-tile, averaged over the 8 flips/rotations
    when ``tta``) is thresholded at 0.0, 0.1, …, 0.9; counts are pooled over the
    slices; each error keeps its best threshold (§4, ``../shared/PAPER.md``).

    Args:
        model: the network; images: float ``(H, W)`` slices in [0, 1];
            labels: their ``(H, W)`` labels, 1 = cell.

    Returns:
        The leaderboard's conventions ``warping_splits_merges`` (splits and
        merges per pixel), ``rand`` (foreground-restricted Rand error),
        ``pixel_fscore`` (1 − F of the cell pixels), the others ``pixel``
        (1 − accuracy) and ``warping`` (Jain's, all mismatches), and for each
        ``<name>_threshold``.
    """
    from .inference import predict_tiled
    from .metrics import SWEEP_METRICS, threshold_sweep

    prob = np.stack([predict_tiled(model, im, tta=tta, device=device)[1] for im in images])
    truth = np.stack([np.asarray(lab) == 1 for lab in labels])
    sweep = threshold_sweep(prob, truth, metrics=SWEEP_METRICS, progress=False)
    out = {m: float(sweep.best[m]) for m in SWEEP_METRICS}
    out.update({f"{m}_threshold": float(sweep.best_threshold[m]) for m in SWEEP_METRICS})
    return out


#: data set name → (split loader, evaluation), so that later data sets plug in.
_DATA: dict[str, tuple[Callable, Callable]] = {"isbi2012": (_isbi_split, evaluate_isbi2012)}


def _crop_for_smoke(data):
    """A tiny version of the split for the smoke test: 96 px corners of one held-out image."""
    from .train import TrainData

    return TrainData(data.images, data.labels, [data.val_images[0][:96, :96]],
                     [data.val_labels[0][:96, :96]], name=data.name)


# --------------------------------------------------------------------------
# Recording
# --------------------------------------------------------------------------


def _git_commit() -> dict[str, Any]:
    """The package repository's commit and whether its tracked files had changes."""
    try:
        commit = subprocess.run(["git", "rev-parse", "HEAD"], cwd=_REPO, capture_output=True,
                                text=True, check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no", "--", "unet_tutorial"],
                               cwd=_REPO, capture_output=True, text=True, check=True).stdout.strip()
        return {"commit": commit, "package_modified": bool(dirty)}
    except (OSError, subprocess.CalledProcessError):
        return {"commit": None, "package_modified": None}


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _matmul_gflops(n: int = 2048, repeats: int = 3) -> float:
    """float32 ``n × n`` matrix product rate on the CPU [GFLOP/s]: the machine's speed, for comparisons."""
    a, b = torch.randn(n, n), torch.randn(n, n)
    a @ b
    best = math.inf
    for _ in range(repeats):
        t0 = time.perf_counter()
        a @ b
        best = min(best, time.perf_counter() - t0)
    return 2 * n**3 / best / 1e9


def machine_info(device: str | torch.device) -> dict[str, Any]:
    """Versions, device, threads, CPU model and float32 matmul rate, for a record."""
    info = {
        "python": platform.python_version(), "torch": torch.__version__, "numpy": np.__version__,
        "device": str(device), "threads": torch.get_num_threads(), "cpu": _cpu_model(),
        "cpu_count": os.cpu_count(), "matmul_gflops": round(_matmul_gflops(), 1),
    }
    if torch.device(device).type == "cuda":
        info["gpu"] = torch.cuda.get_device_name(torch.device(device))
    return info


def _curves(history, every: int = 25) -> dict[str, Any]:
    """The training loss averaged over windows of ``every`` steps, and the validations."""
    n = len(history.step) // every * every
    loss = np.asarray(history.loss[:n]).reshape(-1, every).mean(1) if n else np.zeros(0)
    ends = list(range(every - 1, n, every))  # indices of each window's last step
    at = {s: i for i, s in enumerate(history.step)}
    return {
        "train": {"step": [history.step[i] for i in ends],
                  "seconds": [round(history.time[i], 2) for i in ends],
                  "loss": [round(float(v), 5) for v in loss]},
        "validation": {"step": list(history.val_step),
                       "seconds": [round(history.time[at[s]], 2) if s in at else None for s in history.val_step],
                       **{k: list(v) for k, v in history.val.items()}},
    }


def _write_json(path: Path, obj: Mapping[str, Any]) -> None:
    write_atomic(path, lambda tmp: Path(tmp).write_text(json.dumps(obj, indent=1, sort_keys=False) + "\n"))


def _half_copy(model: UNet) -> UNet:
    """The model with float16-rounded weights (what ``model.pt`` holds), back in float32."""
    half = copy.deepcopy(model).cpu().half()
    out = UNet(**{k: getattr(model, k) for k in ("in_channels", "num_classes", "base_channels", "depth", "padding")},
               dropout=model.dropout.p if hasattr(model.dropout, "p") else 0.0)
    out.load_state_dict({k: v.float() for k, v in half.state_dict().items()})
    return out.eval()


def run_experiment(name: str, *, resume: bool = False, results: str | os.PathLike[str] | None = None,
                   work_dir: str | os.PathLike[str] | None = None, smoke: bool = False,
                   progress: bool = True, command: str | None = None) -> dict[str, Any]:
    """Run every arm and seed of experiment ``name`` and write its record (and kept model).

    Each run trains with :func:`unet_tutorial.train.train` into
    ``WORK/NAME/ARM-seedS/`` (checkpoints every validation), validates with the
    experiment's evaluation, and is evaluated at the end on float16-rounded
    weights (exactly the shipped ``model.pt``). The record is rewritten after
    every run (``"status": "partial"`` until the last), so a kill loses at most
    the run in progress, and ``resume=True`` skips finished runs and continues
    the unfinished one from its checkpoint.

    Args:
        name: a key of :data:`EXPERIMENTS`.
        resume: continue a killed run (see above); else start over.
        results: folder of the records (default :func:`results_dir`).
        work_dir: folder of the checkpoints (default ``runs/experiments`` of the repository).
        smoke: 3 steps at the smallest valid tile, evaluation on a 96 px crop of
            one held-out image, without TTA: tests the experiment code, records nothing meaningful.
        progress: show progress bars.
        command: the command line to record (default ``sys.argv``).

    Returns:
        The record (also written to ``RESULTS/NAME/record.json``).
    """
    from .train import train

    exp = _experiment(name)
    out = Path(results) if results is not None else results_dir()
    folder = out / exp.name
    work = (Path(work_dir) if work_dir is not None else _REPO / "runs" / "experiments") / exp.name
    record_path = folder / "record.json"
    record: dict[str, Any] = {}
    if resume and record_path.is_file():
        record = json.loads(record_path.read_text())
    split_fn, eval_fn = _DATA[exp.data]
    data = split_fn(exp.train_ids, exp.held_out)
    if smoke:
        data = _crop_for_smoke(data)
    tta = not smoke
    first_cfg = exp.train_config(exp.arms[0], exp.seeds[0], smoke=smoke)
    from .train import select_device

    device = select_device(first_cfg.device)
    if first_cfg.num_threads:
        torch.set_num_threads(first_cfg.num_threads)
    record.update({
        "name": exp.name, "summary": exp.summary, "notes": exp.notes, "smoke": smoke,
        "command": command or " ".join(["python -m unet_tutorial", *sys.argv[1:]]),
        "git": _git_commit(), "machine": machine_info(device),
        "data": exp.data, "split": {"train": list(exp.train_ids), "held_out": list(exp.held_out)},
        "seeds": list(exp.seeds), "arms": [a.name for a in exp.arms],
        "evaluation": {"protocol": f"{exp.data}-table1", "tta": tta},
        "configs": {a.name: exp.train_config(a, exp.seeds[0], smoke=smoke).to_dict() for a in exp.arms},
    })
    record.setdefault("runs", {})
    record.setdefault("metrics", {})
    record["status"] = "partial"
    for arm, seed in exp.runs():
        key = exp.run_key(arm, seed) or "main"
        if resume and record["runs"].get(key, {}).get("done"):
            continue
        cfg = exp.train_config(arm, seed, smoke=smoke)
        run_dir = work / f"{arm.name}-seed{seed}"
        validate = lambda m: eval_fn(m, data.val_images, data.val_labels, tta=tta, device=device)  # noqa: E731
        cpu0, wall0 = time.process_time(), time.perf_counter()
        model, history = train(cfg, data=data, out_dir=run_dir, resume=resume, progress=progress,
                               evaluate_fn=validate)
        shipped = _half_copy(model)
        metrics = eval_fn(shipped, data.val_images, data.val_labels, tta=tta, device=device)
        prefix = f"{exp.run_key(arm, seed)}/" if exp.run_key(arm, seed) else ""
        record["metrics"].update({prefix + k: v for k, v in metrics.items()})
        record["runs"][key] = {
            "arm": arm.name, "seed": seed, "done": True, "steps": len(history.step),
            "train_seconds": round(history.time[-1], 1) if history.time else 0.0,
            "cpu_seconds_this_session": round(time.process_time() - cpu0, 1),
            "wall_seconds_this_session": round(time.perf_counter() - wall0, 1),
            "metrics": metrics, "curves": _curves(history),
        }
        if exp.keep == arm.name and seed == exp.seeds[0]:
            save_model(shipped.half(), folder / "model.pt", config=cfg.to_dict(), experiment=exp.name,
                       metrics=metrics)
            record["model"] = {"file": "model.pt", "arm": arm.name, "seed": seed, "metrics": metrics,
                               "dtype": "float16", "parameters": shipped.count_parameters()}
        elif exp.keep is None:
            record["model"] = None
            record["why_no_model"] = exp.why_no_model
        _write_json(record_path, record)
    record["status"] = "complete"
    record["wall_seconds"] = round(sum(r["train_seconds"] for r in record["runs"].values()), 1)
    record["finished"] = time.strftime("%Y-%m-%dT%H:%M:%S%z")
    _write_json(record_path, record)
    return record


# --------------------------------------------------------------------------
# Reading and checking
# --------------------------------------------------------------------------


def load_record(name: str, results: str | os.PathLike[str] | None = None) -> dict[str, Any]:
    """The record ``results/NAME/record.json`` as a dict.

    Raises:
        FileNotFoundError: no record (the message gives the command that writes it).
    """
    path = (Path(results) if results is not None else results_dir()) / name / "record.json"
    if not path.is_file():
        raise FileNotFoundError(f"no record of experiment {name!r} at {path}; "
                                f"record it with: python -m unet_tutorial experiment run {name}")
    return json.loads(path.read_text())


def load_result_model(name: str, results: str | os.PathLike[str] | None = None,
                      map_location: str | torch.device = "cpu") -> UNet:
    """The model kept by experiment ``name`` (``results/NAME/model.pt``), in float32, eval mode.

    Raises:
        FileNotFoundError: the experiment keeps no model, or it was not recorded yet.
    """
    path = (Path(results) if results is not None else results_dir()) / name / "model.pt"
    if not path.is_file():
        why = EXPERIMENTS[name].why_no_model if name in EXPERIMENTS else ""
        raise FileNotFoundError(f"no model of experiment {name!r} at {path}" + (f" ({why})" if why else ""))
    return load_model(path, map_location=map_location).float().eval()


def check_experiment(name: str, results: str | os.PathLike[str] | None = None, *,
                     tolerance: float = TOLERANCE) -> list[str]:
    """Re-evaluate the committed model of ``name`` on its recorded held-out data.

    Returns:
        One line per recorded metric that is not reproduced within ``tolerance``
        (absolute), naming it; empty when all hold (or when no model is kept,
        then only the record's structure is checked).

    Raises:
        FileNotFoundError: no record; ValueError: a record that is incomplete or malformed.
    """
    rec = load_record(name, results)
    for key in ("split", "metrics", "configs", "git", "machine", "runs", "status"):
        if key not in rec:
            raise ValueError(f"record of {name!r} has no {key!r}")
    if rec["status"] != "complete":
        raise ValueError(f"record of {name!r} is {rec['status']}: finish it with "
                         f"python -m unet_tutorial experiment run {name} --resume")
    if not rec.get("model"):
        return []
    model = load_result_model(name, results)
    split_fn, eval_fn = _DATA[rec["data"]]
    data = split_fn(rec["split"]["train"], rec["split"]["held_out"])
    got = eval_fn(model, data.val_images, data.val_labels, tta=rec["evaluation"]["tta"], device="cpu")
    problems = []
    for metric, want in rec["model"]["metrics"].items():
        if metric not in got:
            problems.append(f"{name}: metric {metric!r} is recorded but the evaluation no longer computes it")
        elif not abs(got[metric] - want) <= tolerance:
            problems.append(f"{name}: metric {metric!r} recorded {want:.6g}, re-evaluated {got[metric]:.6g} "
                            f"(tolerance {tolerance:g})")
    return problems


# --------------------------------------------------------------------------
# Command line
# --------------------------------------------------------------------------


def add_experiment_command(subparsers) -> None:
    """Register ``experiment list|run|check`` on the ``python -m unet_tutorial`` parser."""
    p = subparsers.add_parser("experiment", help="list, run or check the recorded experiments (results/)",
                              description="Recorded experiments: long, reproducible runs whose records "
                              "and weights are committed in results/.")
    sub = p.add_subparsers(dest="action", required=True, metavar="ACTION")
    sub.add_parser("list", help="the registered experiments and whether each is recorded")
    r = sub.add_parser("run", help="run an experiment and write results/NAME/")
    r.add_argument("name")
    r.add_argument("--resume", action="store_true", help="skip finished runs, continue the last from its checkpoint")
    r.add_argument("--results", type=Path, help="records folder (default: results/ of the repository)")
    r.add_argument("--work-dir", type=Path, help="checkpoints folder (default: runs/experiments/)")
    r.add_argument("--smoke", action="store_true", help="3 steps at tiny tiles: tests the code only")
    r.add_argument("--no-progress", action="store_true")
    c = sub.add_parser("check", help="re-evaluate committed models against their records")
    c.add_argument("names", nargs="*", help="experiments (default: every recorded one)")
    c.add_argument("--results", type=Path)
    p.set_defaults(func=run_experiment_command)


def run_experiment_command(args) -> int:
    """``experiment …``: 0 on success, 1 when a check fails, 2 on bad input."""
    try:
        if args.action == "list":
            root = results_dir()
            for name, exp in sorted(EXPERIMENTS.items()):
                path = root / name / "record.json"
                state = json.loads(path.read_text()).get("status", "?") if path.is_file() else "not recorded"
                print(f"{name:24s} {state:13s} {exp.summary}")
            return 0
        if args.action == "run":
            rec = run_experiment(args.name, resume=args.resume, results=args.results, work_dir=args.work_dir,
                                 smoke=args.smoke, progress=not args.no_progress)
            print(f"wrote {(args.results or results_dir()) / args.name / 'record.json'}: "
                  + ", ".join(f"{k} {v:.4g}" for k, v in rec["metrics"].items() if not k.endswith("threshold")))
            return 0
        root = args.results or results_dir()
        names = args.names or sorted(p.parent.name for p in root.glob("*/record.json"))
        failed = 0
        for name in names:
            problems = check_experiment(name, args.results)
            kept = bool(load_record(name, args.results).get("model"))
            print(f"{name}: " + ("FAILED" if problems else "ok" if kept else "ok (record only, no model kept)"))
            for line in problems:
                print("  " + line)
            failed += bool(problems)
        return 1 if failed else 0
    except (ValueError, FileNotFoundError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
