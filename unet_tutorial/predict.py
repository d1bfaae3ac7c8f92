"""Image files and the ``predict`` command: segment files with a saved U-Net (§2, Fig. 2).

:func:`read_image` reads PNG/TIFF/… files as the network's input (integer images
scaled to [0, 1] by their dtype's maximum, RGB turned into gray by luminance);
``python -m unet_tutorial predict`` runs :func:`unet_tutorial.inference.predict_tiled`
on each and writes the probability map and the mask, atomically, after checking
every input first (nothing is written when one input is bad).
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import numpy as np
import torch

from ._checks import one_line
from .hardware import resolve_precision, select_device
from .checkpoint import results_dir, write_atomic
from .image_io import read_image
from .inference import DEFAULT_MIN_SIZE, instances_from_probability, objects_from, plan_tiles, predict_tiled
from .protocol import model_protocol

__all__ = ["read_image", "resolve_weights", "add_predict_command", "run_predict"]



def resolve_weights(spec: str | os.PathLike[str]) -> Path:
    """A model file: ``spec`` itself when it is a file, else the model of the recorded experiment
    named ``spec`` (``results/<spec>/model.pt``, see :mod:`unet_tutorial.experiments`).

    Raises:
        FileNotFoundError: neither; the message lists the models committed in ``results/``.
    """
    path = Path(spec)
    if path.is_file():
        return path
    root = results_dir()
    named = root / str(spec) / "model.pt"
    if path.name == str(spec) and named.is_file():
        return named
    known = ", ".join(sorted(p.parent.name for p in root.glob("*/model.pt"))) or "none"
    if path.name != str(spec) or path.suffix:  # written as a path: say so first
        raise FileNotFoundError(f"weights file not found: {spec} (or give the name of a model in {root}: {known})")
    raise FileNotFoundError(f"weights not found: {spec} is neither a file nor the name of a model in {root} "
                            f"(models there: {known})")


def add_predict_command(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Register the ``predict`` subcommand (``python -m unet_tutorial predict …``)."""
    p = subparsers.add_parser(
        "predict",
        help="segment image files with a trained U-Net (overlap-tile strategy)",
        description=(
            "Segment PNG/TIFF/... images of any size with a saved U-Net (overlap-tile "
            "strategy, mirrored borders). Writes <stem>_prob.tif (float32 foreground "
            "probability) and <stem>_mask.png (uint8 0/255) per image into --out, and with "
            "--instances <stem>_instances.tif (int32 labels of the separated objects). A model of K > 2 "
            "classes writes <stem>_labels.png (uint8, the most probable class 0..K-1) and <stem>_prob.tif "
            "(float32 (K, H, W), every class's probability, the class names in its metadata). Integer "
            "images are scaled to [0, 1] by their dtype's maximum; RGB(A) images are turned "
            "into gray by luminance for 1-channel models."
        ),
    )
    p.add_argument("images", nargs="+", metavar="IMAGE", help="image files to segment")
    p.add_argument("--weights", required=True, metavar="FILE|NAME",
                   help="a model file (written by training or unet_tutorial.checkpoint.save_model), or the name "
                   "of a model committed in results/, e.g. isbi2012-reference")
    p.add_argument("--out", required=True, help="output folder (created if missing)")
    p.add_argument("--tile-size", type=int, default=None,
                   help="input tile size in pixels (default: the fastest that fits in memory, timed once)")
    p.add_argument("--precision", choices=("fp32", "bf16", "auto"), default="fp32",
                   help="fp32 (default: the numbers the course records), bf16 autocast (faster on GPUs and on CPUs "
                   "with native bf16, ~1e-2 less exact), or auto (bf16 where the machine has it)")
    p.add_argument("--tta", action=argparse.BooleanOptionalAction, default=None,
                   help="average over the 8 flips/rotations (paper §4); default: as the model's protocol says "
                   "(a model whose threshold was chosen with TTA predicts with it)")
    p.add_argument("--threshold", type=float, default=None,
                   help="foreground probability threshold (default: the model's protocol, else 0.5)")
    p.add_argument("--instances", action="store_true",
                   help="also write <stem>_instances.tif: separated objects (connected components, "
                   "separation borders given back, small specks removed)")
    p.add_argument("--min-size", type=int, default=None,
                   help="with --instances: remove objects smaller than this many pixels (default 16)")
    p.add_argument("--device", default=None, help="torch device, e.g. cpu or cuda (default: cuda if available)")
    p.add_argument("--backend", choices=("torch", "onnxruntime"), default="torch",
                   help="torch (a model file) or onnxruntime (an .onnx file of: python -m unet_tutorial export "
                   "--format onnx); the tiling is the same")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=run_predict)
    return p


def run_predict(args: argparse.Namespace) -> int:
    """Run the ``predict`` subcommand; returns the exit code (2 with a one-line message on error)."""
    try:
        _predict_files(args)
    except (FileNotFoundError, ValueError, OSError) as err:
        print(f"unet_tutorial predict: error: {one_line(err)}", file=sys.stderr)
        return 2
    return 0


def _predict_files(args: argparse.Namespace) -> None:
    from ._progress import progress_bar

    from .checkpoint import load_model

    if args.threshold is not None and not 0.0 <= args.threshold <= 1.0:
        raise ValueError(f"--threshold must be in [0, 1], got {args.threshold}")
    if args.min_size is not None and args.min_size < 0:
        raise ValueError(f"--min-size must be >= 0, got {args.min_size}")
    if args.precision == "bf16" and args.backend == "onnxruntime":
        raise ValueError("--precision bf16 needs --backend torch (the ONNX file computes in float32)")
    device = select_device(args.device)
    weights = resolve_weights(args.weights)
    if args.backend == "onnxruntime":
        from .inference.onnx_backend import OnnxPredictor

        if args.device is not None and device.type != "cpu":  # the default device (a GPU if any) is not asked for
            raise ValueError(f"--backend onnxruntime runs on the CPU here, got --device {args.device}")
        model = OnnxPredictor(weights)  # ValueError for a file that is not an export of this package
    else:
        try:
            model = load_model(weights, map_location=device)
        except Exception as err:  # torch/our loader raise several types for a wrong file
            raise ValueError(f"cannot load weights {weights}: {one_line(err)}") from None
    if args.tile_size is not None:
        plan_tiles(model, 1, 1, args.tile_size)  # ValueError naming valid sizes, before any output
    amp = args.backend == "torch" and resolve_precision(args.precision, device) == torch.bfloat16
    protocol = model_protocol(model)
    from .since2015 import predicts_boundaries

    if model.num_classes > 2 and not predicts_boundaries(model) and (args.instances or args.threshold is not None):
        raise ValueError(f"the model has {model.num_classes} classes: its label map is the most probable class "
                         "(no --threshold), and --instances separates the objects of a 2-class model (or of "
                         "the boundary target) only")
    threshold = next(t for t in (args.threshold, protocol.threshold, 0.5) if t is not None)
    tta = protocol.tta if args.tta is None else bool(args.tta)
    min_size = DEFAULT_MIN_SIZE if args.min_size is None else args.min_size

    # Validate every input before writing anything.
    paths = [Path(p) for p in args.images]
    stems: dict[str, Path] = {}
    for path in paths:
        read_image(path, model.in_channels)
        if path.stem in stems and stems[path.stem] != path:
            raise ValueError(f"inputs {stems[path.stem]} and {path} share the name {path.stem!r}: outputs would collide")
        stems[path.stem] = path
    out = Path(args.out)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise OSError(f"cannot create output folder {out}: {one_line(err)}") from None

    if not args.quiet:  # say how the numbers are made: the model's protocol, or what was overridden
        told = [k for k, v in (("threshold", args.threshold), ("tta", args.tta)) if v is not None]
        print(f"predicting with threshold {threshold:g}, TTA {'on' if tta else 'off'}, normalisation "
              f"{protocol.normalize}, {'bf16' if amp else 'fp32'}"
              + (f" (the model's protocol, except {', '.join(told)})" if told else " (the model's protocol)"),
              file=sys.stderr)

    import skimage.io
    import tifffile

    for path in progress_bar(dict.fromkeys(paths), desc="images", unit="image", disable=args.quiet):
        probs = predict_tiled(model, read_image(path, model.in_channels), tile_size=args.tile_size, tta=tta,
                              amp=amp)
        if probs.shape[0] > 2:  # K classes: the most probable class, and every class's probability
            labels = probs.argmax(0).astype(np.uint8)
            write_atomic(out / f"{path.stem}_prob.tif",
                         lambda f: tifffile.imwrite(f, probs.astype(np.float32), metadata={
                             "axes": "CYX", "Labels": list(protocol.class_names)}))
            write_atomic(out / f"{path.stem}_labels.png",
                         lambda f: skimage.io.imsave(f, labels, check_contrast=False))
            if args.instances and predicts_boundaries(model):  # the boundary target: seeded watershed
                objects = objects_from(model)(probs, threshold, min_size=min_size)
                write_atomic(out / f"{path.stem}_instances.tif", lambda f: tifffile.imwrite(f, objects))
            continue
        prob = probs[1]
        mask = np.where(prob > threshold, 255, 0).astype(np.uint8)
        write_atomic(out / f"{path.stem}_prob.tif", lambda f: tifffile.imwrite(f, prob.astype(np.float32)))
        write_atomic(
            out / f"{path.stem}_mask.png", lambda f: skimage.io.imsave(f, mask, check_contrast=False)
        )
        if args.instances:
            labels = instances_from_probability(prob, threshold, min_size=min_size)
            write_atomic(out / f"{path.stem}_instances.tif", lambda f: tifffile.imwrite(f, labels))
