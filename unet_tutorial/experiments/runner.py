"""Running an experiment into its record, and reading and checking records (``results/NAME/``)."""

from __future__ import annotations

import json
import math
import os
import platform
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Mapping

import numpy as np
import torch

from ..hardware import cpu_features, cpu_has_native_bf16, cpu_model, resolve_precision, select_device
from ..checkpoint import (RESULTS_ENV_VAR, REPOSITORY, load_checkpoint, load_model, model_config, results_dir,
                          save_model, write_atomic)
from ..model import UNet
from ..protocol import Protocol, model_protocol
from .evaluation import DATA, crop_for_smoke
from .records import SCHEMA_VERSION, load_record, upgrade_record
from .registry import EXPERIMENTS, get_experiment

__all__ = ["TOLERANCE", "RESULTS_ENV_VAR", "results_dir", "machine_info", "run_experiment", "run_pilot", "load_record",
           "load_result_model", "check_experiment", "rescore_experiment"]

TOLERANCE = 1e-3

# --------------------------------------------------------------------------
# Recording
# --------------------------------------------------------------------------


def git_commit() -> dict[str, Any]:
    """The package repository's commit and whether its tracked files had changes."""
    try:
        commit = subprocess.run(["git", "rev-parse", "HEAD"], cwd=REPOSITORY, capture_output=True,
                                text=True, check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no", "--", "unet_tutorial"],
                               cwd=REPOSITORY, capture_output=True, text=True, check=True).stdout.strip()
        return {"commit": commit, "package_modified": bool(dirty)}
    except (OSError, subprocess.CalledProcessError):
        return {"commit": None, "package_modified": None}


def matmul_gflops(n: int = 2048, repeats: int = 3, dtype: torch.dtype = torch.float32) -> float:
    """``n × n`` matrix product rate on the CPU in ``dtype`` [GFLOP/s], best of ``repeats``:
    the machine's speed, for comparisons."""
    a, b = torch.randn(n, n).to(dtype), torch.randn(n, n).to(dtype)
    a @ b
    best = math.inf
    for _ in range(repeats):
        t0 = time.perf_counter()
        a @ b
        best = min(best, time.perf_counter() - t0)
    return 2 * n**3 / best / 1e9


def machine_info(device: str | torch.device) -> dict[str, Any]:
    """Versions, device, threads, CPU model, flags and float32 matmul rate, for a record.

    ``cpu_native_bf16`` and ``cpu_flags`` are what decided ``precision="auto"``
    (:func:`unet_tutorial.hardware.resolve_precision`); ``auto_precision`` is its choice here.
    """
    from ..hardware import precision_name

    dev = torch.device(device)
    info = {
        "python": platform.python_version(), "torch": torch.__version__, "numpy": np.__version__,
        "device": str(device), "threads": torch.get_num_threads(), "cpu": cpu_model(),
        "cpu_count": os.cpu_count(), "matmul_gflops": round(matmul_gflops(), 1),
        "cpu_native_bf16": cpu_has_native_bf16(), "auto_precision": precision_name(resolve_precision("auto", dev)),
        "cpu_flags": " ".join(sorted(cpu_features())),
    }
    if torch.device(device).type == "cuda":
        info["gpu"] = torch.cuda.get_device_name(torch.device(device))
    return info


def _curves(history, every: int = 25) -> dict[str, Any]:
    """The training loss (and gradient norm, when logged) averaged over windows of ``every``
    steps, the largest gradient norm of each window, and the validations."""
    n = len(history.step) // every * every

    def windows(values: list[float], reduce=np.mean) -> list[float]:
        return [round(float(v), 5) for v in reduce(np.asarray(values[:n]).reshape(-1, every), axis=1)] if n else []

    ends = list(range(every - 1, n, every))  # indices of each window's last step
    at = {s: i for i, s in enumerate(history.step)}
    grads = ({"grad_norm": windows(history.grad_norm), "grad_norm_max": windows(history.grad_norm, np.max)}
             if len(history.grad_norm) == len(history.step) else {})
    return {
        "train": {"step": [history.step[i] for i in ends],
                  "seconds": [round(history.time[i], 2) for i in ends],
                  "loss": windows(history.loss), **grads},
        "validation": {"step": list(history.val_step),
                       "seconds": [round(history.time[at[s]], 2) if s in at else None for s in history.val_step],
                       # not the per-image scores (dsb_image0, ...): the final result keeps those
                       **{k: list(v) for k, v in history.val.items() if "_image" not in k}},
    }


def config_changes(recorded: Mapping[str, Any], config: Any) -> list[str]:
    """The fields of ``config`` (a TrainConfig) that differ from ``recorded`` (its dict in a record or checkpoint).

    Fields that ``recorded`` lacks (added to TrainConfig after it was written) are not
    compared: they hold their defaults, which keep the old behaviour.
    """
    now = json.loads(json.dumps(config.to_dict()))  # tuples as lists, as in the file
    return [k for k, v in now.items() if k in recorded and recorded[k] != v]


def write_json(path: Path, obj: Mapping[str, Any]) -> None:
    write_atomic(path, lambda tmp: Path(tmp).write_text(json.dumps(obj, indent=1, sort_keys=False) + "\n"))


def half_copy(model: UNet) -> UNet:
    """The model with float16-rounded weights (what ``model.pt`` holds), back in float32."""
    from ..architectures import build_network

    out = build_network(**model_config(model))
    out.load_state_dict({k: v.detach().cpu().half().float() for k, v in model.state_dict().items()})
    out.protocol = model_protocol(model)
    return out.eval()


def run_experiment(name: str, *, resume: bool = False, results: str | os.PathLike[str] | None = None,
                   work_dir: str | os.PathLike[str] | None = None, smoke: bool = False,
                   progress: bool = True, command: str | None = None) -> dict[str, Any]:
    """Run every arm and seed of experiment ``name`` and write its record (and kept model).

    Each run trains with :func:`unet_tutorial.train.train` into
    ``WORK/NAME/ARM-seedS/`` (checkpoints every validation) and validates with the
    experiment's evaluation, always on the float16-rounded weights (exactly what
    ``model.pt`` ships); the last validation, at the final step, is the run's result. The record is rewritten after
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
    exp = get_experiment(name)
    out = Path(results) if results is not None else results_dir()
    folder = out / exp.name
    work = (Path(work_dir) if work_dir is not None else REPOSITORY / "runs" / "experiments") / exp.name
    record_path = folder / "record.json"
    record: dict[str, Any] = {}
    if resume and record_path.is_file():
        record = upgrade_record(json.loads(record_path.read_text()))  # older runs under today's metric names
        design = {"arms": [a.name for a in exp.arms], "split": exp.split_record()}
        changed = [k for k, v in design.items() if k in record and
                   (record[k] if k != "split" else {n: record[k].get(n) for n in v}) != v]
        if any(config_changes(record.get("configs", {}).get(a.name, {}), exp.train_config(a, exp.seeds[0],
                                                                                       smoke=smoke))
               for a in exp.arms):  # a done run of other steps or recipe is not this experiment's run
            changed.append("configs")
        if not set(record.get("seeds", [])) <= set(exp.seeds):  # more seeds extend a record; others replace it
            changed.append("seeds")
        if changed:  # a record of another design: its runs are not this experiment's (checkpoints still resume)
            print(f"{exp.name}: the record on disk has other {', '.join(changed)} than the registry; "
                  "starting the record over", file=sys.stderr)
            record = {}
    proto = DATA[exp.data]
    splits: dict[tuple[int | str, ...], Any] = {}

    def split_of(arm) -> Any:
        """The split of ``arm``'s training images (loaded once per distinct set)."""
        ids = exp.arm_train_ids(arm)
        if ids not in splits:
            splits[ids] = proto.split(ids, exp.held_out, exp.validation)
            if smoke:
                splits[ids] = crop_for_smoke(splits[ids])
        return splits[ids]

    tta, curve_tta = exp.scoring_tta(smoke)  # the result's, and the curve's validations'
    first_cfg = exp.train_config(exp.arms[0], exp.seeds[0], smoke=smoke)
    device = select_device(first_cfg.device)
    if first_cfg.num_threads:
        torch.set_num_threads(first_cfg.num_threads)
    record.update({
        "name": exp.name, "schema": SCHEMA_VERSION, "summary": exp.summary, "notes": exp.notes, "smoke": smoke,
        "command": command or " ".join(["python -m unet_tutorial", *sys.argv[1:]]),
        "git": git_commit(), "machine": machine_info(device),
        "data": exp.data, "split": exp.split_record(),
        "seeds": list(exp.seeds), "arms": [a.name for a in exp.arms],
        **({"hypothesis": exp.hypothesis} if exp.hypothesis else {}),
        **({"verdict_rule": exp.verdict_rule} if exp.verdict_rule else {}),
        "evaluation": {"protocol": proto.protocol, "tta": tta,
                       **({} if curve_tta == tta else {"curve_tta": curve_tta})},
        "configs": {a.name: exp.train_config(a, exp.seeds[0], smoke=smoke).to_dict() for a in exp.arms},
    })
    record.setdefault("runs", {})
    record.setdefault("metrics", {})
    record["status"] = "partial"
    first = split_of(exp.arms[0])
    if first.detail:
        record["split"]["detail"] = first.detail
    if proto.baseline is not None and "baseline" not in record:  # a method without training, scored alike
        record["baseline"] = {"method": proto.baseline_name, "metrics": proto.baseline(first)}
        record["metrics"].update({f"baseline/{k}": v for k, v in record["baseline"]["metrics"].items()})
    for arm, seed in exp.runs():
        key = exp.run_key(arm, seed) or "main"
        if resume and record["runs"].get(key, {}).get("done"):
            continue
        cfg = exp.train_config(arm, seed, smoke=smoke)
        data = split_of(arm)
        run_dir = work / f"{arm.name}-seed{seed}"
        stale = resume and (run_dir / "checkpoint.pt").is_file() and config_changes(
            load_checkpoint(run_dir / "checkpoint.pt")["config"], cfg)
        if stale:  # train() would resume the checkpoint's own configuration, not this one
            print(f"{exp.name}: {key}: the checkpoint in {run_dir} was made with other {', '.join(stale)}; "
                  "training this run from the start", file=sys.stderr)
        # Every validation scores the float16-rounded weights, exactly what model.pt ships, so the
        # final one (train always validates at the end) is the run's result: no second evaluation,
        # unless the curve is scored without TTA (curve_tta=False), then the result is scored once more.
        validate = lambda m: proto.evaluate(half_copy(m), data, tta=curve_tta, device=device)  # noqa: E731
        cpu0, wall0 = time.process_time(), time.perf_counter()
        model, history, diverged = _train_or_diverge(cfg, data=data.train_data(), out_dir=run_dir,
                                                     resume=resume and not stale, progress=progress,
                                                     evaluate_fn=validate)
        metrics = {} if diverged else {k: float(v[-1]) for k, v in history.val.items()}
        if metrics and curve_tta != tta:  # the curve was scored without TTA: the result once more, with it
            metrics = {k: float(v) for k, v in proto.evaluate(half_copy(model), data, tta=tta, device=device).items()}
        prefix = f"{exp.run_key(arm, seed)}/" if exp.run_key(arm, seed) else ""
        record["metrics"].update({prefix + k: v for k, v in metrics.items()})
        record["runs"][key] = {
            "arm": arm.name, "seed": seed, "done": True, "steps": len(history.step),
            "train_seconds": round(history.time[-1], 1) if history.time else 0.0,
            "cpu_seconds_this_session": round(time.process_time() - cpu0, 1),
            "wall_seconds_this_session": round(time.perf_counter() - wall0, 1),
            "metrics": metrics, "curves": _curves(history), "settings": dict(history.settings),
            **({"diverged": diverged} if diverged else {}),
        }
        if diverged:
            print(f"{exp.name}: {key} diverged at step {diverged['step']} (recorded as such)", file=sys.stderr)
        first = not diverged and seed == exp.seeds[0]

        def ship(file: str) -> dict[str, Any]:
            """Save the float16 weights the metrics were measured on, with the protocol that made them."""
            shipped = half_copy(model)
            # its protocol: how the recorded numbers were made (predict uses it by default)
            shipped.protocol = Protocol(normalize=cfg.normalize, threshold=metrics.get("threshold"), tta=tta,
                                        class_names=cfg.class_name_list())
            save_model(shipped.half(), folder / file, config=cfg.to_dict(), experiment=exp.name, metrics=metrics)
            return {"file": file, "arm": arm.name, "seed": seed, "metrics": metrics, "dtype": "float16",
                    "parameters": sum(p.numel() for p in shipped.parameters() if p.requires_grad)}

        if first and exp.keep == arm.name:
            record["model"] = ship("model.pt")
        elif exp.keep is None:
            record["model"] = None
            record["why_no_model"] = exp.why_no_model
        if first and arm.name in exp.keep_arms:
            record.setdefault("arm_models", {})[arm.name] = ship(f"models/{arm.name}.pt")
        write_json(record_path, record)
    record["status"] = "complete"
    record["wall_seconds"] = round(sum(r["train_seconds"] for r in record["runs"].values()), 1)
    record["finished"] = time.strftime("%Y-%m-%dT%H:%M:%S%z")
    write_json(record_path, record)
    return record


def _train_or_diverge(config, **kwargs) -> tuple[Any, Any, dict[str, Any] | None]:
    """:func:`~unet_tutorial.train.train`, with a divergence as an outcome: ``(model, history, diverged)``.

    A run whose loss becomes NaN or infinite is a result of a comparison (a learning rate too
    high for its optimiser), not a crash of the experiment: ``diverged`` is then
    ``{"step", "loss", "lr"}`` and ``history`` the run up to that step (``model`` ``None``).
    """
    from ..history import TrainingDiverged
    from ..train import train

    try:
        model, history = train(config, **kwargs)
    except TrainingDiverged as err:
        if err.history is None:
            raise
        return None, err.history, {"step": err.step, "loss": str(err.loss), "lr": err.lr}
    return model, history, None


def run_pilot(name: str, steps: int, *, seeds: tuple[int, ...] | None = None,
              results: str | os.PathLike[str] | None = None, progress: bool = True,
              command: str | None = None, smoke: bool = False) -> dict[str, Any]:
    """A short recorded pilot of experiment ``name``: every arm for ``steps`` steps, a few seeds.

    What sizes the real run before it starts: the speed of each arm on this
    machine (steps per second of training), the loss after ``steps``, the held-out
    metrics of the experiment's evaluation at the end (scored as its curve is, so
    without TTA when ``curve_tta`` is ``False``), and their spread over
    ``seeds``. Writes ``RESULTS/NAME/pilot.json`` (machine, commit, command,
    configurations, one entry per run); no checkpoints, no model.

    Args:
        name: a key of :data:`EXPERIMENTS`.
        steps: optimisation steps of every pilot run [steps] (no time budget applies).
        seeds: the seeds to run (default: the experiment's first two, or its one).
        results: folder of the records (default :func:`results_dir`).
        smoke: tiny tiles and a 96 px crop, no TTA (as :func:`run_experiment`): tests the code only.

    Returns:
        The pilot record (also written to ``RESULTS/NAME/pilot.json``).
    """
    exp = get_experiment(name)
    if not isinstance(steps, int) or isinstance(steps, bool) or steps < 1:
        raise ValueError(f"steps must be a positive int, got {steps!r}")
    seeds = tuple(exp.seeds[:2]) if seeds is None else tuple(seeds)
    proto = DATA[exp.data]
    first_cfg = exp.train_config(exp.arms[0], seeds[0])
    device = select_device(first_cfg.device)
    if first_cfg.num_threads:
        torch.set_num_threads(first_cfg.num_threads)
    pilot: dict[str, Any] = {
        # the metric names' layout, as a record's (an older pilot reads through upgrade_record, too)
        "name": exp.name, "kind": "pilot", "schema": SCHEMA_VERSION, "steps": steps, "seeds": list(seeds),
        "smoke": smoke,
        "command": command or " ".join(["python -m unet_tutorial", *sys.argv[1:]]),
        "git": git_commit(), "machine": machine_info(device), "runs": {},
        "started": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    }
    path = (Path(results) if results is not None else results_dir()) / exp.name / "pilot.json"
    splits: dict[tuple[int | str, ...], Any] = {}
    for arm, seed in [(a, s) for s in seeds for a in exp.arms]:
        ids = exp.arm_train_ids(arm)
        if ids not in splits:
            splits[ids] = proto.split(ids, exp.held_out, exp.validation)
            if smoke:
                splits[ids] = crop_for_smoke(splits[ids])
        data = splits[ids]
        cfg = exp.train_config(arm, seed, smoke=smoke)
        # the experiment's validations within the pilot's steps: the curves show where it is heading
        cfg = cfg.replace(steps=steps, val_every=cfg.val_every if 0 < cfg.val_every < steps else 0,
                          checkpoint_every=0, max_minutes=0.0)
        _, history, diverged = _train_or_diverge(
            cfg, data=data.train_data(), progress=progress,
            evaluate_fn=lambda m: proto.evaluate(half_copy(m), data, tta=exp.scoring_tta(smoke)[1], device=device))
        seconds = history.time[-1] if history.time else 0.0
        pilot["runs"][f"{arm.name}/seed{seed}"] = {
            "arm": arm.name, "seed": seed, "steps": len(history.step), "train_seconds": round(seconds, 1),
            "steps_per_second": round(len(history.step) / seconds, 3) if seconds else None,
            "final_loss": round(float(np.mean(history.loss[-25:])), 5), "settings": dict(history.settings),
            "metrics": {} if diverged else {k: float(v[-1]) for k, v in history.val.items()},
            "curves": _curves(history), "config": cfg.to_dict(), **({"diverged": diverged} if diverged else {}),
        }
        write_json(path, pilot)  # after every run: a stopped pilot keeps what it measured
    return pilot


# --------------------------------------------------------------------------
# Reading and checking
# --------------------------------------------------------------------------


def load_result_model(name: str, results: str | os.PathLike[str] | None = None,
                      map_location: str | torch.device = "cpu", *, arm: str | None = None) -> UNet:
    """The model kept by experiment ``name`` (``results/NAME/model.pt``), in float32, eval mode;
    with ``arm``, that arm's kept model (``results/NAME/models/ARM.pt``, see ``keep_arms``).

    Raises:
        FileNotFoundError: the experiment keeps no model, or it was not recorded yet.
    """
    folder = (Path(results) if results is not None else results_dir()) / name
    path = folder / "model.pt" if arm is None else folder / "models" / f"{arm}.pt"
    if arm is not None and not path.is_file():
        raise FileNotFoundError(f"no model of arm {arm!r} of experiment {name!r} at {path}")
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
        then only the record's structure is checked). A timing record
        (:data:`~unet_tutorial.experiments.timing.TIMINGS`) is checked by
        :func:`~unet_tutorial.experiments.timing.check_timing`, without re-timing.

    Raises:
        FileNotFoundError: no record; ValueError: a record that is incomplete or malformed.
    """
    from .timing import TIMINGS, check_timing

    if name in TIMINGS:  # a timing record: checked without re-timing
        return check_timing(name, results)
    rec = load_record(name, results)
    for key in ("split", "metrics", "configs", "git", "machine", "runs", "status"):
        if key not in rec:
            raise ValueError(f"record of {name!r} has no {key!r}")
    if rec["status"] != "complete":
        raise ValueError(f"record of {name!r} is {rec['status']}: finish it with "
                         f"python -m unet_tutorial experiment run {name} --resume")
    kept = {None: rec["model"]} if rec.get("model") else {}
    kept.update(rec.get("arm_models") or {})
    problems = []
    for arm, entry in kept.items():
        model = load_result_model(name, results, arm=arm)
        proto = DATA[rec["data"]]
        train_ids = rec["split"].get("train_by_arm", {}).get(entry.get("arm", arm), rec["split"]["train"])
        data = proto.split(train_ids, rec["split"]["held_out"], rec["split"].get("validation", ()))
        if rec.get("smoke"):
            data = crop_for_smoke(data)
        got = proto.evaluate(model, data, tta=rec["evaluation"]["tta"], device="cpu")
        which = name if arm is None else f"{name} (arm {arm})"
        for metric, want in entry["metrics"].items():
            if metric not in got:
                problems.append(f"{which}: metric {metric!r} is recorded but the evaluation no longer computes it")
            elif not abs(got[metric] - want) <= tolerance:
                problems.append(f"{which}: metric {metric!r} recorded {want:.6g}, re-evaluated {got[metric]:.6g} "
                                f"(tolerance {tolerance:g})")
    return problems




def rescore_experiment(name: str, *, reason: str, results: str | os.PathLike[str] | None = None) -> dict[str, Any]:
    """Score the kept model of a one-run experiment again, under the current protocol and split.

    For a protocol change that needs no training (e.g. a validation part on which the
    threshold is now chosen): the kept ``model.pt`` *is* the evaluated model (float16
    weights), so re-evaluating it gives the numbers the run would have recorded. The
    record keeps its curves (measured under the old protocol) and gets a ``rescored``
    entry: when, why, the commit, and the previous metrics; ``model.pt`` gets the new
    metrics (and threshold) around the same weights.

    Args:
        name: a recorded experiment with one run and a kept model.
        reason: why it is rescored (kept in the record).
        results: folder of the records (default :func:`results_dir`).

    Raises:
        ValueError: not one complete run with a kept model, an empty ``reason``, or a
            changed training or held-out set (that needs a new run).
    """
    exp = get_experiment(name)
    rec = load_record(name, results).to_dict()
    if rec.get("status") != "complete" or not rec.get("model") or len(rec.get("runs", {})) != 1:
        raise ValueError(f"{name}: only a complete record of one run with a kept model can be rescored")
    if not reason.strip():
        raise ValueError("reason must say why the record is rescored")
    split = exp.split_record()
    if (split["train"], split["held_out"]) != (rec["split"]["train"], rec["split"]["held_out"]):
        raise ValueError(f"{name}: the training or held-out images changed since the run: run it again")
    proto = DATA[rec["data"]]
    data = proto.split(split["train"], split["held_out"], split.get("validation", ()))
    if data.detail:  # the parts' ids, sizes and modalities, as the run recorded them
        split["detail"] = data.detail
    if rec.get("smoke"):
        data = crop_for_smoke(data)
    model = load_result_model(name, results)
    model.threshold = None  # chosen anew on the validation part, if the protocol has one
    metrics = proto.evaluate(model, data, tta=rec["evaluation"]["tta"], device="cpu")
    (key, run), = rec["runs"].items()
    rec.setdefault("rescored", []).append({
        "date": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "reason": reason, "git": git_commit(),
        "previous_split": rec["split"], "previous_metrics": rec["metrics"]})
    rec["split"], rec["metrics"], run["metrics"], rec["model"]["metrics"] = split, metrics, metrics, metrics
    if proto.baseline is not None:  # scored again alike (e.g. with the per-image scores the protocol adds)
        rec["rescored"][-1]["previous_baseline"] = rec.get("baseline")
        rec["baseline"] = {"method": proto.baseline_name, "metrics": proto.baseline(data)}
        rec["metrics"] = {**metrics, **{f"baseline/{k}": v for k, v in rec["baseline"]["metrics"].items()}}
    folder = (Path(results) if results is not None else results_dir()) / name
    model.protocol = model.protocol.replace(threshold=metrics.get("threshold"), tta=bool(rec["evaluation"]["tta"]))
    save_model(model.half(), folder / "model.pt", config=rec["configs"][run["arm"]], experiment=name,
               metrics=metrics)
    write_json(folder / "record.json", rec)
    return rec
