"""What is wrong with a folder of your own images, before training on it (``doctor``).

``python -m unet_tutorial doctor DIR [--weights W]`` reads a folder in the layout of
:mod:`unet_tutorial.data.folder` (``DIR/images/<name>.png|tif`` and
``DIR/masks/<name>.png|tif``) the way training reads it, and prints one row per
finding: severity, file, problem, fix. It exits with 1 when there is an
**error** (training would fail, or silently learn something wrong), else 0
(warnings and info are allowed).

The checks, and what each catches:

- pairing: images without masks, masks without images, files of other types;
- sizes: an image and its mask of different sizes; the valid tile sizes the
  image sizes allow for the U-Net (depth 4, valid padding, or the ``--weights``
  model's), and that images smaller than a tile are mirrored (Fig. 2);
- mask encodings: 0/255 (read as binary), palette and two-colour RGB masks
  (which colour becomes foreground), RGB with more colours and float masks
  (errors), 8-bit masks with stray gray values (anti-aliasing, JPEG);
- label values: instance labels (separation borders will be carved, Fig. 3c);
- class balance: foreground fraction under 1 % or over 99 % (warning), an empty
  or all-foreground mask (error: it would teach one class only);
- image values: 16-bit images (scaled by 65535) and integer images using a tiny
  part of their range (they would look black), float images outside [0, 1];
- channels: RGB images become gray; gray images for a 3-channel ``--weights`` model.

:func:`diagnose` returns the findings as :class:`Finding` dataclasses.
"""

from __future__ import annotations

import argparse
import os
import sys
import textwrap
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import zip_longest
from pathlib import Path

import numpy as np

from .data.folder import DecodedMask, FolderPairs, decode_mask, pair_files, read_folder_image, read_raw

__all__ = ["Finding", "SEVERITIES", "diagnose", "has_errors", "format_findings",
           "add_doctor_command", "run_doctor_command"]

#: Severities, most serious first.
SEVERITIES = ("error", "warning", "info")

#: Foreground fractions below / above these are warned about.
LOW_FOREGROUND, HIGH_FOREGROUND = 0.01, 0.99

#: An integer image whose maximum is below this fraction of its dtype's maximum
#: (4096 of 65535, 16 of 255) is nearly black once scaled to [0, 1].
TINY_RANGE = 1 / 16


@dataclass(frozen=True)
class Finding:
    """One row of the doctor's table.

    Attributes:
        severity: ``"error"`` (training or prediction would fail or be silently
            wrong), ``"warning"`` (probably wrong) or ``"info"`` (how it is read).
        file: the file, relative to the folder (``masks/a.png``); ``"."`` for
            the folder itself; the ``--weights`` path as given.
        problem: what was found. fix: what to do about it.
    """

    severity: str
    file: str
    problem: str
    fix: str


@dataclass
class _Model:
    """What the doctor needs of a model: its input channels and architecture."""

    in_channels: int = 1
    depth: int = 4
    padding: str = "valid"


# --------------------------------------------------------------------------
# Pairing and the model
# --------------------------------------------------------------------------


def _rel(path: Path, root: Path) -> str:
    try:
        return path.relative_to(root).as_posix()
    except ValueError:
        return str(path)


def _pairing(found: FolderPairs) -> list[Finding]:
    """Unpaired files and files of other types."""
    root, out = found.root, []
    mask_stems = {p.stem: p for p in found.masks_only}
    for p in found.images_only:
        near = [m for s, m in mask_stems.items() if s.startswith(p.stem) and s != p.stem]
        hint = f"; did you mean {_rel(near[0], root)}? rename it masks/{p.stem}{near[0].suffix}" if near else ""
        out.append(Finding("error", _rel(p, root), "image without a mask",
                           f"add masks/{p.stem}.png (or .tif), or remove the image{hint}"))
    for p in found.masks_only:
        out.append(Finding("error", _rel(p, root), "mask without an image",
                           f"add images/{p.stem}.png (or .tif), or remove the mask"))
    for p in found.ignored:
        out.append(Finding("warning", _rel(p, root), f"not a .png/.tif/.tiff file ({p.suffix or 'no suffix'}): ignored",
                           "convert it to PNG or TIFF (never JPEG for masks: its artefacts add false labels)"))
    if not found.pairs:
        out.append(Finding("error", ".", "no image/mask pairs",
                           "put DIR/images/<name>.png|tif and DIR/masks/<name>.png|tif with the same <name>"))
    elif len(found.pairs) == 1:
        out.append(Finding("warning", ".", "only one image/mask pair: nothing can be held out for validation",
                           "add images, or validate on other annotated images"))
    return out


def _load_model(weights: str | os.PathLike[str] | None) -> tuple[_Model, list[Finding]]:
    """The model's channels and architecture (defaults without ``weights``), and a finding if unreadable."""
    if weights is None:
        return _Model(), []
    from .checkpoint import load_model

    try:
        model = load_model(weights)
    except (FileNotFoundError, ValueError, RuntimeError) as err:
        msg = " ".join(str(err).split())
        return _Model(), [Finding("error", str(weights), f"cannot load the model: {msg}",
                                  "pass a model.pt written by training (python -m unet_tutorial train)")]
    return _Model(model.in_channels, model.depth, model.padding), []


# --------------------------------------------------------------------------
# Images
# --------------------------------------------------------------------------


def _channels(raw: np.ndarray, file: str, model: _Model) -> list[Finding]:
    """Gray or RGB, against the model's input channels."""
    if raw.ndim == 2:
        if model.in_channels == 3:
            return [Finding("error", file, "gray image, but the model expects 3 input channels (RGB)",
                            "save the images as RGB, or use a 1-channel model")]
        return []
    if raw.ndim == 3 and raw.shape[-1] in (3, 4):
        if model.in_channels == 1:
            alpha = " (alpha ignored)" if raw.shape[-1] == 4 else ""
            return [Finding("info", file, f"RGB image: converted to gray by luminance{alpha}",
                            "nothing to do; prediction converts the same way")]
        return []
    return [Finding("error", file, f"shape {raw.shape}: not a gray (H, W) or RGB (H, W, 3|4) image",
                    "save one 2-D gray or RGB image per file")]


def _unreadable_fix(err: Exception) -> str:
    """How to make an unreadable file readable (compressed TIFFs need a codec package)."""
    if "imagecodecs" in str(err):
        return "pip install imagecodecs (compressed TIFF), or re-save it uncompressed / as PNG"
    return "re-save it as PNG or TIFF"


def _values(raw: np.ndarray, file: str) -> list[Finding]:
    """16-bit scaling, tiny used ranges, floats outside [0, 1], negative or non-finite values."""
    a = raw[..., :3] if raw.ndim == 3 else raw
    if a.dtype.kind == "f":
        if not np.isfinite(a).all():
            return [Finding("error", file, "NaN or infinite values", "replace them before training")]
        lo, hi = float(a.min()), float(a.max())
        if lo < 0 or hi > 1:
            return [Finding("warning", file, f"float image with values in [{lo:.4g}, {hi:.4g}]: used as is, "
                            "not scaled to [0, 1]", "scale every image the same way to [0, 1], or save integers")]
        return []
    if a.dtype.kind not in "biu":
        return [Finding("error", file, f"dtype {a.dtype}: not a real-valued image", "save 8- or 16-bit images")]
    if a.dtype.kind == "i" and a.min() < 0:
        return [Finding("error", file, f"signed image with negative values (min {a.min()})",
                        "save unsigned 8- or 16-bit images")]
    if a.dtype == bool:
        return []
    top, hi = int(np.iinfo(a.dtype).max), int(a.max())
    bits = 8 * a.dtype.itemsize
    if hi < TINY_RANGE * top:
        return [Finding("warning", file, f"{bits}-bit image using only 0–{hi} of 0–{top}: scaled by {top} its "
                        f"maximum is {hi / top:.4f}, so it looks black to the network",
                        "stretch all images by one common factor (train and predict alike), or save 8-bit")]
    if bits > 8:
        return [Finding("info", file, f"{bits}-bit image: scaled to [0, 1] by {top}", "nothing to do")]
    return []


def _image(path: Path, root: Path, model: _Model) -> tuple[tuple[int, int] | None, list[Finding]]:
    """The image's ``(H, W)`` (``None`` when unusable) and its findings."""
    file = _rel(path, root)
    try:
        raw, _ = read_raw(path)
    except (FileNotFoundError, ValueError) as err:
        return None, [Finding("error", file, f"unreadable image: {err}", _unreadable_fix(err))]
    found = _channels(raw, file, model) + _values(raw, file)
    shape = tuple(raw.shape[:2]) if raw.ndim in (2, 3) else None
    if any(f.severity == "error" for f in found):
        return shape, found
    try:
        read_folder_image(path, model.in_channels)
    except (FileNotFoundError, ValueError) as err:
        return None, found + [Finding("error", file, f"not readable as the network's input: {err}",
                                      "re-save it as a gray or RGB PNG/TIFF")]
    return shape, found


# --------------------------------------------------------------------------
# Masks
# --------------------------------------------------------------------------


def _encoding(decoded: DecodedMask, raw: np.ndarray, file: str) -> list[Finding]:
    """How the mask is read: 0/255, palette, two-colour RGB, instance labels, stray gray values."""
    if decoded.encoding in ("two-value", "palette", "rgb"):
        return [Finding("info", file, f"read as binary: {decoded.note}",
                        "nothing to do if that colour/value is the object; else swap them")]
    if decoded.encoding != "instances":
        return []
    ids = decoded.instances
    assert ids is not None
    if raw.dtype == np.uint8 and raw.ndim == 2 and int(raw.max()) == 255:
        stray = np.count_nonzero((raw != 0) & (raw != 255))
        if stray < 0.05 * np.count_nonzero(raw):
            return [Finding("warning", file, f"8-bit 0/255 mask with {stray} pixels of other gray values: read as "
                            f"{int(ids.max())} instance labels (anti-aliasing or JPEG artefacts?)",
                            "threshold it (mask > 127) and save it as 0/255 PNG")]
    from .weights import touching_pairs

    pairs = len(touching_pairs(ids))
    return [Finding("info", file, f"instance labels ({int(ids.max())} objects, {pairs} touching pairs): "
                    "separation borders will be carved between touching objects (Fig. 3c)",
                    "nothing to do; the weights of Eq. 2 are computed on the separated objects")]


def _balance(mask: np.ndarray, file: str) -> list[Finding]:
    """Foreground fraction: empty or full masks are errors, extremes warnings."""
    frac = float(mask.mean())
    if frac == 0:
        return [Finding("error", file, "empty mask: no foreground pixel; it would teach \"all background\"",
                        "annotate the objects, check the mask's encoding, or remove the pair")]
    if frac == 1:
        return [Finding("error", file, "mask is foreground everywhere; it would teach \"all foreground\"",
                        "check the encoding: the background must be 0 or the darker colour")]
    if frac < LOW_FOREGROUND:
        return [Finding("warning", file, f"foreground is only {100 * frac:.2f} % of the pixels",
                        "fine for sparse objects (class weights balance it); else check the encoding")]
    if frac > HIGH_FOREGROUND:
        return [Finding("warning", file, f"foreground is {100 * frac:.2f} % of the pixels",
                        "check that foreground and background are not swapped")]
    return []


def _classes(labels: np.ndarray, classes: int, file: str) -> list[Finding]:
    """Class labels 0..K-1: a mask of background only is an error, absent classes are info."""
    counts = np.bincount(labels.ravel().astype(np.int64), minlength=classes)
    if counts[1:].sum() == 0:
        return [Finding("error", file, "only class 0 (background): it would teach \"all background\"",
                        "annotate the objects, check --classes and the mask's values, or remove the pair")]
    absent = [k for k in range(1, classes) if counts[k] == 0]
    share = ", ".join(f"{k}: {100 * c / labels.size:.1f} %" for k, c in enumerate(counts.tolist()))
    return [Finding("info", file, f"class labels ({share})" + (f"; classes {absent} absent" if absent else ""),
                    "nothing to do; w_c balances the classes over each image")]


def _mask(path: Path, root: Path, image_shape: tuple[int, int] | None, image_file: str,
          classes: int | None = None) -> list[Finding]:
    """Decoding, size against the image, encoding and class balance of one mask."""
    file = _rel(path, root)
    try:
        raw, palette = read_raw(path)
    except (FileNotFoundError, ValueError) as err:
        return [Finding("error", file, f"unreadable mask: {err}", _unreadable_fix(err))]
    try:
        decoded = decode_mask(raw, palette, name="mask", classes=classes)
    except ValueError as err:
        fix = (f"save the class labels 0..{classes - 1} as a gray or palette PNG (uint8)" if classes
               else _mask_fix(raw))
        return [Finding("error", file, str(err), fix)]
    found: list[Finding] = []
    if image_shape is not None and decoded.mask.shape != tuple(image_shape):
        (h, w), (mh, mw) = image_shape, decoded.mask.shape
        found.append(Finding("error", file, f"size mismatch: mask {mh}×{mw} px, image {image_file} {h}×{w} px",
                             "save the mask at the image's size (nearest-neighbour resizing only)"))
    if classes is not None:
        return found + _classes(decoded.mask, classes, file)
    return found + _encoding(decoded, raw, file) + _balance(decoded.mask, file)


def _mask_fix(raw: np.ndarray) -> str:
    """How to re-save a mask that cannot be decoded."""
    if raw.dtype.kind == "f":
        return "threshold it and save integers, e.g. ((prob > 0.5) * 255).astype(uint8)"
    if raw.ndim == 3:
        return "save binary masks as 0/255 gray, instance labels as 16-bit gray ids"
    return "save a 0/255 gray PNG, or 16-bit instance ids"


# --------------------------------------------------------------------------
# Tile sizes
# --------------------------------------------------------------------------


def _tiles(shapes: dict[tuple[int, int], list[str]], model: _Model) -> list[Finding]:
    """One info per image size: the largest valid tile it allows, or that it is mirrored."""
    from .model import border, nearest_valid_input_sizes, output_size

    out = []
    net = f"the U-Net (depth {model.depth}, {model.padding} padding)"
    for (h, w), files in sorted(shapes.items()):
        file = files[0] + (f" (+{len(files) - 1} more)" if len(files) > 1 else "")
        below, smallest = nearest_valid_input_sizes(min(h, w), model.depth, model.padding)
        if below is None:
            out.append(Finding("info", file, f"{h}×{w} px is smaller than the smallest tile of {net}, {smallest} px: "
                               "the image is mirrored to fill it (Fig. 2)",
                               "nothing to do; bigger images give more context"))
        else:
            out.append(Finding("info", file, f"{h}×{w} px: the largest valid tile of {net} within it is {below} px "
                               f"(output {output_size(below, model.depth, model.padding)} px, "
                               f"{border(model.depth, model.padding)} px context mirrored at the edges)",
                               f"nothing to do; training tiles (tile_size) larger than {below} px are "
                               "filled by mirroring"))
    return out


# --------------------------------------------------------------------------
# The whole folder
# --------------------------------------------------------------------------


def _collapse(findings: list[Finding]) -> list[Finding]:
    """Merge identical info rows of several files into the first one (``images/a.tif (+3 more)``)."""
    counts: dict[tuple[str, str], int] = {}
    for f in findings:
        if f.severity == "info":
            counts[f.problem, f.fix] = counts.get((f.problem, f.fix), 0) + 1
    out, seen = [], set()
    for f in findings:
        key = (f.problem, f.fix)
        if f.severity != "info" or counts[key] == 1:
            out.append(f)
        elif key not in seen:
            seen.add(key)
            out.append(Finding(f.severity, f"{f.file} (+{counts[key] - 1} more)", f.problem, f.fix))
    return out


def diagnose(path: str | os.PathLike[str], weights: str | os.PathLike[str] | None = None, *,
             classes: int | None = None) -> list[Finding]:
    """Check a folder ``DIR/images`` + ``DIR/masks`` for training (and ``weights`` for prediction).

    ``classes=K``: the masks must hold class labels ``0..K − 1`` (``train --classes K``).

    Never raises for a problem of the data: every problem is a :class:`Finding`.

    Returns:
        The findings, errors first, then warnings, then info.
    """
    root = Path(path)
    try:
        found = pair_files(root)
    except (FileNotFoundError, ValueError) as err:
        return [Finding("error", ".", str(err), "use the layout DIR/images/<name>.png|tif and "
                        "DIR/masks/<name>.png|tif, one file per name")]
    model, findings = _load_model(weights)
    findings += _pairing(found)
    shapes: dict[tuple[int, int], list[str]] = {}
    for _, image_path, mask_path in found.pairs:
        shape, image_findings = _image(image_path, root, model)
        findings += image_findings
        if shape is not None:
            shapes.setdefault(tuple(shape), []).append(_rel(image_path, root))
        findings += _mask(mask_path, root, shape, _rel(image_path, root), classes)
    findings += _tiles(shapes, model)
    findings = _collapse(findings)
    return sorted(findings, key=lambda f: SEVERITIES.index(f.severity))


def has_errors(findings: Sequence[Finding]) -> bool:
    """Whether any finding is an error (the ``doctor`` command then exits with 1)."""
    return any(f.severity == "error" for f in findings)


def format_findings(findings: Sequence[Finding], width: int = 120) -> str:
    """The findings as a text table (severity, file, problem, fix), long cells wrapped."""
    header = ("SEVERITY", "FILE", "PROBLEM", "FIX")
    rows = [(f.severity, f.file, f.problem, f.fix) for f in findings]
    sev = max(len(header[0]), *(len(r[0]) for r in rows)) if rows else len(header[0])
    file = min(32, max(len(header[1]), *(len(r[1]) for r in rows))) if rows else len(header[1])
    rest = max(40, width - sev - file - 6)
    widths = (sev, file, rest * 3 // 5, rest - rest * 3 // 5)
    lines = []
    for row in (header, *rows):
        cells = [textwrap.wrap(text, w, break_on_hyphens=False) or [""] for text, w in zip(row, widths)]
        for parts in zip_longest(*cells, fillvalue=""):
            lines.append("  ".join(p.ljust(w) for p, w in zip(parts, widths)).rstrip())
    return "\n".join(lines)


# --------------------------------------------------------------------------
# Command line
# --------------------------------------------------------------------------


def add_doctor_command(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Register ``doctor`` on the ``python -m unet_tutorial`` sub-command parser."""
    p = subparsers.add_parser(
        "doctor",
        help="check a folder of your own images and masks before training on it",
        description="Check DIR/images/<name>.png|tif and DIR/masks/<name>.png|tif: pairing, sizes, "
        "mask encodings, labels, class balance, 16-bit ranges, channels. Prints one row per "
        "finding; exits 1 when there is an error, 0 otherwise.",
    )
    p.add_argument("folder", metavar="DIR", help="folder with images/ and masks/")
    p.add_argument("--weights", help="a model file: check the images' channels against its in_channels")
    p.add_argument("--classes", type=int, metavar="K",
                   help="the masks hold class labels 0..K-1 (as train --classes K reads them)")
    p.set_defaults(func=run_doctor_command)
    return p


def run_doctor_command(args: argparse.Namespace) -> int:
    """Run ``doctor``: print the table and a summary; 1 when there is an error, else 0."""
    if args.classes is not None and args.classes < 2:
        print(f"doctor: --classes must be >= 2, got {args.classes}", file=sys.stderr)
        return 2
    findings = diagnose(args.folder, args.weights, classes=args.classes)
    if findings:
        print(format_findings(findings))
    counts = {s: sum(f.severity == s for f in findings) for s in SEVERITIES}
    summary = f"{counts['error']} error(s), {counts['warning']} warning(s), {counts['info']} info"
    if has_errors(findings):
        print(f"doctor: {summary}: fix the errors before training on {args.folder}", file=sys.stderr)
        return 1
    extra = f" --classes {args.classes}" if args.classes is not None else ""
    print(f"doctor: {summary}: ready for python -m unet_tutorial train --data {args.folder}{extra}")
    return 0
