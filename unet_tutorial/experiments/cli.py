"""``python -m unet_tutorial experiment list|run|pilot|check|rescore``."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from .registry import EXPERIMENTS
from .runner import check_experiment, load_record, rescore_experiment, results_dir, run_experiment, run_pilot
from .timing import TIMINGS, record_speed_512

__all__ = ["add_experiment_command", "run_experiment_command"]

# --------------------------------------------------------------------------
# Command line
# --------------------------------------------------------------------------


def add_experiment_command(subparsers) -> None:
    """Register ``experiment list|run|check|rescore`` on the ``python -m unet_tutorial`` parser."""
    p = subparsers.add_parser("experiment", help="list, run or check the recorded experiments (results/)",
                              description="Recorded experiments: long, reproducible runs whose records "
                              "and weights are committed in results/.")
    sub = p.add_subparsers(dest="action", required=True, metavar="ACTION")
    sub.add_parser("list", help="the registered experiments and whether each is recorded")
    r = sub.add_parser("run", help="run an experiment (or record a timing, e.g. speed-512) and write results/NAME/")
    r.add_argument("name")
    r.add_argument("--resume", action="store_true", help="skip finished runs, continue the last from its checkpoint")
    r.add_argument("--results", type=Path, help="records folder (default: results/ of the repository)")
    r.add_argument("--work-dir", type=Path, help="checkpoints folder (default: runs/experiments/)")
    r.add_argument("--smoke", action="store_true", help="3 steps at tiny tiles: tests the code only")
    r.add_argument("--no-progress", action="store_true")
    pl = sub.add_parser("pilot", help="a short recorded pilot (results/NAME/pilot.json): speed and seed spread")
    pl.add_argument("name")
    pl.add_argument("--steps", type=int, required=True, help="steps of every pilot run")
    pl.add_argument("--seeds", type=int, nargs="+", help="seeds (default: the experiment's first two)")
    pl.add_argument("--results", type=Path)
    pl.add_argument("--no-progress", action="store_true")
    c = sub.add_parser("check", help="re-evaluate committed models against their records")
    c.add_argument("names", nargs="*", help="experiments (default: every recorded one)")
    c.add_argument("--results", type=Path)
    s = sub.add_parser("rescore", help="score a one-run experiment's kept model again under the current protocol")
    s.add_argument("name")
    s.add_argument("--reason", required=True, help="why (kept in the record)")
    s.add_argument("--results", type=Path)
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
            for name, summary in sorted(TIMINGS.items()):
                path = root / name / "record.json"
                state = json.loads(path.read_text()).get("status", "?") if path.is_file() else "not recorded"
                print(f"{name:24s} {state:13s} (timing) {summary}")
            return 0
        if args.action == "run" and args.name in TIMINGS:  # needs an idle machine: see its record's notes
            rec = record_speed_512(results=args.results, smoke=args.smoke, progress=not args.no_progress)
            path = (args.results or results_dir()) / args.name / "record.json"
            print(f"wrote {path} in {rec['wall_seconds']:.0f} s: "
                  + ", ".join(f"{k} {v:.4g}" for k, v in rec["metrics"].items()))
            return 0
        if args.action == "run":
            rec = run_experiment(args.name, resume=args.resume, results=args.results, work_dir=args.work_dir,
                                 smoke=args.smoke, progress=not args.no_progress)
            print(f"wrote {(args.results or results_dir()) / args.name / 'record.json'}: "
                  + ", ".join(f"{k} {v:.4g}" for k, v in rec["metrics"].items()
                              if "threshold" not in k and "@" not in k))  # not the thresholds and sweeps
            return 0
        if args.action == "pilot":
            pilot = run_pilot(args.name, args.steps, seeds=args.seeds, results=args.results,
                              progress=not args.no_progress)
            for key, run in pilot["runs"].items():
                print(f"{key}: {run['steps_per_second']} steps/s, loss {run['final_loss']:.4f}, "
                      + ", ".join(f"{k} {v:.4g}" for k, v in run["metrics"].items() if not k.endswith("threshold")))
            return 0
        if args.action == "rescore":
            rec = rescore_experiment(args.name, reason=args.reason, results=args.results)
            print(f"rescored {args.name}: " + ", ".join(f"{k} {v:.4g}" for k, v in rec["metrics"].items()
                                                       if "_frame" not in k and "_image" not in k))
            return 0
        root = args.results or results_dir()
        names = args.names or sorted(p.parent.name for p in root.glob("*/record.json"))
        failed = 0
        for name in names:
            problems = check_experiment(name, args.results)
            rec = load_record(name, args.results)
            kept = bool(rec.get("model")) or bool(rec.get("arm_models"))  # the arms' models are checked too
            print(f"{name}: " + ("FAILED" if problems else "ok" if kept else "ok (record only, no model kept)"))
            for line in problems:
                print("  " + line)
            failed += bool(problems)
        return 1 if failed else 0
    except (ValueError, FileNotFoundError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2

