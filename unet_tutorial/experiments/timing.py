"""Recorded timings: how long inference takes, measured once on an idle machine and committed.

``results/speed-512/record.json`` holds the time to segment one 512×512 ISBI 2012 slice
with overlap-tile prediction (:func:`~unet_tutorial.inference.predict_tiled`) for the
paper's network ``UNet()`` (64 channels; untrained: the time does not depend on the
weights) and for the course's reference model, on the CPU (and on CUDA when a GPU is
present), next to the per-pixel sliding-window classifier of Ciresan et al. (chapter 5)
on the same slice. The claims ledger reads its numbers (``sliding_window``,
``speed_512``) instead of timing anything.

Record (or re-record) it with ``python -m unet_tutorial experiment run speed-512`` on an
otherwise idle machine; ``experiment check speed-512`` (part of ``make test-results``)
does not re-time: it checks that the record is complete and consistent and that its
speed ratio satisfies the ledger's rule (at least :data:`MIN_SPEEDUP`).
"""

from __future__ import annotations

import os
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ..ledger import SLIDING_WINDOW_SPEEDUP
from .runner import git_commit, write_json, load_record, load_result_model, machine_info, results_dir

__all__ = ["TIMINGS", "MIN_SPEEDUP", "record_speed_512", "check_timing"]

#: The registered timing records: name → what it measures.
TIMINGS: dict[str, str] = {
    "speed-512": "Seconds to segment one 512×512 ISBI 2012 slice by overlap-tile prediction (the paper's 64-channel "
    "network and the course's reference model) and by per-pixel sliding-window classification (Ciresan N4), "
    "on the CPU and on CUDA when present."
}

#: The ledger's rule for "much faster than the sliding window" (claim ``sliding_window``).
MIN_SPEEDUP = SLIDING_WINDOW_SPEEDUP
#: The timed slice: ISBI 2012 training slice 25 (held out by the reference model).
SLICE = 25
_NETS = ("paper-unet", "reference")
_NOTES = (
    "Each U-Net time is the median of {repeats} calls of predict_tiled on the slice (float32, no TTA, the tile "
    "size predict_tiled chooses from memory), after one warm-up call. The paper's network UNet() (64 channels) "
    "is untrained: the time does not depend on the weights. The per-pixel time of Ciresan et al.'s N4 "
    "(CiresanN4, untrained, as in chapter 5) is the median of {repeats} runs of time_per_pixel_classifier on "
    "{samples} random pixels (after its own warm-up), multiplied by the 512 x 512 pixels of the slice. "
    "Re-record on an idle machine (the record keeps the load average at start): "
    "python -m unet_tutorial experiment run speed-512; check without re-timing: "
    "python -m unet_tutorial experiment check speed-512."
)


def _timed_runs(fn, repeats: int) -> list[float]:
    """Seconds of each of ``repeats`` calls of ``fn``."""
    out = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t0)
    return out


def _time_unet(model, image: np.ndarray, device: torch.device, repeats: int) -> dict[str, Any]:
    from ..inference import choose_tile_size, plan_tiles, predict_tiled

    model = model.to(device).eval()
    tile = choose_tile_size(model, image.shape, device)
    run = lambda: predict_tiled(model, image, tile_size=tile, device=device)  # noqa: E731 (returns numpy: synced)
    run()  # warm-up
    runs = _timed_runs(run, repeats)
    return {"seconds": round(statistics.median(runs), 4), "runs": [round(t, 4) for t in runs], "tile_size": tile,
            "tiles": plan_tiles(model, *image.shape, tile).num_tiles, "base_channels": model.base_channels,
            "parameters": model.count_parameters(), "flops_per_tile": model.flops(tile)}


def _time_ciresan(image: np.ndarray, device: torch.device, repeats: int, samples: int) -> dict[str, Any]:
    from ..baseline import CiresanN4, time_per_pixel_classifier

    torch.manual_seed(0)
    net = CiresanN4().to(device)
    per_pixel = [time_per_pixel_classifier(net, image, samples=samples) for _ in range(repeats)]
    return {"seconds": round(statistics.median(per_pixel) * image.size, 2),
            "seconds_per_pixel": [float(f"{t:.4g}") for t in per_pixel], "samples": samples,
            "parameters": sum(p.numel() for p in net.parameters()), "weights": "untrained"}


def record_speed_512(results: str | os.PathLike[str] | None = None, *, repeats: int = 3, smoke: bool = False,
                     command: str | None = None, progress: bool = True) -> dict[str, Any]:
    """Time the segmentation of one 512×512 slice and write ``RESULTS/speed-512/record.json``.

    Args:
        results: folder of the records (default :func:`~unet_tutorial.experiments.results_dir`).
        repeats: timed calls per entry (the median counts), after one warm-up call.
        smoke: a 64×64 crop, one repeat, 8 pixels of N4: tests the code, records nothing meaningful.
        command: the command line to record (default ``sys.argv``).
        progress: print each entry as it is measured.

    Returns:
        The record.
    """
    from ..data import load_isbi2012
    from ..model import UNet

    load_start = [round(v, 2) for v in os.getloadavg()]
    wall0 = time.perf_counter()
    if smoke:
        repeats = 1
    image = np.ascontiguousarray(load_isbi2012().images[SLICE])
    if smoke:
        image = np.ascontiguousarray(image[:64, :64])
    devices = [torch.device("cpu")] + ([torch.device("cuda")] if torch.cuda.is_available() else [])
    timings: dict[str, Any] = {}
    for dev in devices:
        entry: dict[str, Any] = {}
        torch.manual_seed(0)
        nets = {"paper-unet": UNet(), "reference": load_result_model("isbi2012-reference")}
        for name in _NETS:
            entry[name] = _time_unet(nets[name], image, dev, repeats)
            if progress:
                print(f"{dev.type} {name}: {entry[name]['seconds']:.3f} s", file=sys.stderr)
        entry["paper-unet"]["weights"] = "untrained (He init, seed 0): the time does not depend on the weights"
        entry["reference"]["weights"] = "results/isbi2012-reference/model.pt (float16 weights run in float32)"
        samples = 8 if smoke else (4096 if dev.type == "cuda" else 256)
        entry["ciresan-n4"] = _time_ciresan(image, dev, repeats, samples)
        entry["speedup_vs_per_pixel"] = round(entry["ciresan-n4"]["seconds"] / entry["reference"]["seconds"], 1)
        if progress:
            print(f"{dev.type} ciresan-n4: {entry['ciresan-n4']['seconds']:.1f} s "
                  f"({entry['speedup_vs_per_pixel']:,.0f}x the reference U-Net)", file=sys.stderr)
        timings[dev.type] = entry
    machine = machine_info("cpu")
    if "cuda" in timings:
        machine["gpu"] = torch.cuda.get_device_name(0)
    record = {
        "name": "speed-512", "kind": "timing", "summary": TIMINGS["speed-512"],
        "notes": _NOTES.format(repeats=repeats, samples="256 (CPU) or 4096 (CUDA)"),
        "smoke": smoke, "status": "complete",
        "command": command or " ".join(["python -m unet_tutorial", *sys.argv[1:]]),
        "git": git_commit(), "machine": machine, "load_average_at_start": load_start,
        "image": {"data": "isbi2012", "split": "train", "slice": SLICE, "shape": list(image.shape)},
        "protocol": {"repeats": repeats, "statistic": "median", "warm_up_calls": 1, "tta": False,
                     "dtype": "float32", "inference": "predict_tiled (overlap-tile, mirrored border)"},
        "timings": timings,
        "metrics": {f"{d}/{k}/seconds": e[k]["seconds"] for d, e in timings.items() for k in (*_NETS, "ciresan-n4")}
        | {f"{d}/speedup_vs_per_pixel": e["speedup_vs_per_pixel"] for d, e in timings.items()},
        "model": None, "why_no_model": "a timing record; the timed reference model is results/isbi2012-reference",
        "load_average_at_end": [round(v, 2) for v in os.getloadavg()],
        "wall_seconds": round(time.perf_counter() - wall0, 1),
        "finished": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    }
    folder = (Path(results) if results is not None else results_dir()) / "speed-512"
    write_json(folder / "record.json", record)
    return record


def check_timing(name: str, results: str | os.PathLike[str] | None = None) -> list[str]:
    """Check a timing record without re-timing: complete, consistent, and its speed ratio rule holds.

    Returns:
        One line per problem, naming it; empty when the record is sound.

    Raises:
        FileNotFoundError: no record; ValueError: not a registered timing.
    """
    if name not in TIMINGS:
        raise ValueError(f"unknown timing record {name!r}; known: {', '.join(TIMINGS)}")
    rec = load_record(name, results)
    problems = [f"{name}: record has no {k!r}" for k in ("git", "machine", "load_average_at_start", "protocol",
                                                          "timings", "notes") if k not in rec]
    if rec.get("status") != "complete":
        problems.append(f"{name}: record is {rec.get('status')!r}, not complete: python -m unet_tutorial "
                        f"experiment run {name}")
    if problems:
        return problems
    if "cpu" not in rec["timings"]:
        problems.append(f"{name}: no CPU timings")
    repeats = rec["protocol"]["repeats"]
    for dev, entry in rec["timings"].items():
        for net in (*_NETS, "ciresan-n4"):
            if net not in entry:
                problems.append(f"{name}: {dev}: no {net!r} timing")
                continue
            runs = entry[net].get("runs", entry[net].get("seconds_per_pixel", []))
            if len(runs) != repeats:
                problems.append(f"{name}: {dev}/{net}: {len(runs)} timed runs, the protocol says {repeats}")
            elif net in _NETS and abs(statistics.median(runs) - entry[net]["seconds"]) > 1e-3:
                problems.append(f"{name}: {dev}/{net}: seconds {entry[net]['seconds']} is not the median of {runs}")
        if any(net not in entry for net in ("reference", "ciresan-n4")):
            continue
        ratio = entry["ciresan-n4"]["seconds"] / entry["reference"]["seconds"]
        if abs(ratio - entry.get("speedup_vs_per_pixel", float("nan"))) > 0.01 * ratio:
            problems.append(f"{name}: {dev}: speedup_vs_per_pixel {entry.get('speedup_vs_per_pixel')} is not "
                            f"ciresan-n4 / reference = {ratio:.1f}")
        if not rec.get("smoke") and not ratio >= MIN_SPEEDUP:
            problems.append(f"{name}: {dev}: overlap-tile is {ratio:.1f}x faster than per-pixel classification, "
                            f"the ledger's rule needs >= {MIN_SPEEDUP:g}x")
    return problems
