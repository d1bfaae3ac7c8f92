"""The Cell Tracking Challenge layout: the light-microscopy data sets of Table 2 (§4).

The paper's second and third experiments use two 2D training sets of the
Cell Tracking Challenge (:data:`CTC_TABLE2_DATASETS`): "PhC-U373" (phase contrast,
glioblastoma-astrocytoma U373 cells) and "DIC-HeLa" (differential interference
contrast, HeLa cells). The challenge distributes them from :data:`CTC_WEBSITE`
after accepting its terms; the checksums of its archives are not known, so the course
never downloads those. It can download *pinned public copies* instead: byte-identical
copies of the challenge's files kept in public GitHub repositories, each file checked
against the SHA-256 listed in the manifest the package ships
(``ctc_manifests/<dataset>.tsv.gz``):

- PhC-C2DH-U373: sequence 02, 115 frames, gold truth of 19 frames (``02_GT/SEG``,
  partial annotations) and silver truth of every frame (``02_ST/SEG``);
- DIC-C2DH-HeLa: one sequence (``01``), 84 frames, silver truth only (``01_ST/SEG``):
  no public copy of the gold masks was found.

- :data:`CTC_WEBSITE`, :data:`CTC_TABLE2_DATASETS`, :data:`CTC_PERCENTILES`.
- :func:`load_ctc`: the frames of one sequence that have a gold or a silver mask, as
  :class:`~unet_tutorial.data.Samples` (ids: the frame numbers; which truth, in ``detail``).
- :func:`fetch_ctc`: the checksummed download of a pinned copy.

If you use these data sets, cite:

- V. Ulman et al., "An objective comparison of cell-tracking algorithms", Nature
  Methods 14, 1141-1152 (2017), https://doi.org/10.1038/nmeth.4473.
- M. Maška et al., "A benchmark for comparison of cell tracking algorithms",
  Bioinformatics 30(11), 1609-1617 (2014), https://doi.org/10.1093/bioinformatics/btu080.
- M. Maška et al., "The Cell Tracking Challenge: 10 years of objective benchmarking",
  Nature Methods 20, 1010-1020 (2023), https://doi.org/10.1038/s41592-023-01879-y.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable
from pathlib import Path

import numpy as np

from ._ctc_pinned import TRUTH_SUFFIX, describe_pinned, pinned_contents, fetch_ctc
from ..normalize import NORMALIZE_PERCENTILES, normalize_image
from ..image_io import read_pixels, to_unit_float
from ..weights import separation_mask
from ._store import DATA_ENV_VAR, data_dir
from .samples import Samples

__all__ = ["CTC_WEBSITE", "CTC_TABLE2_DATASETS", "CTC_PERCENTILES", "fetch_ctc", "load_ctc"]


#: Where the Cell Tracking Challenge distributes its training data sets (free, after
#: accepting the challenge's terms). The checksums of these archives are not known, so
#: the course never downloads them (:func:`fetch_ctc` downloads pinned public copies).
CTC_WEBSITE = "https://celltrackingchallenge.net"

#: The two data sets of the paper's Table 2 under their Cell Tracking Challenge names:
#: "PhC-U373" (phase contrast, glioblastoma-astrocytoma U373 cells) and "DIC-HeLa"
#: (differential interference contrast, HeLa cells).
CTC_TABLE2_DATASETS = ("PhC-C2DH-U373", "DIC-C2DH-HeLa")

# t000.tif / t0000.tif (raw frames) and man_seg000.tif / man_seg0000.tif (segmentation
# masks): the challenge numbers frames with 3 digits, or 4 for long sequences.
_CTC_FRAME = re.compile(r"^t(\d{3,4})\.tiff?$")
_CTC_MASK = re.compile(r"^man_seg(\d{3,4})\.tiff?$")

#: Percentiles mapped to 0 and 1 by the ``"percentile"`` normalisation of :func:`load_ctc`.
CTC_PERCENTILES = NORMALIZE_PERCENTILES


# --------------------------------------------------------------------------------------
# Reading the layout
# --------------------------------------------------------------------------------------


def _ctc_layout(dataset: str, sequence: str, truth: str = "gold") -> str:
    suffix = TRUTH_SUFFIX[truth]
    return (
        f"<data dir>/{dataset}/{sequence}/t000.tif, t001.tif, ... (raw frames) and "
        f"<data dir>/{dataset}/{sequence}_{suffix}/SEG/man_seg000.tif, ... ({truth} truth: "
        "instance labels; 3- or 4-digit frame numbers)"
    )


def _ctc_missing_message(path: Path, root: Path, dataset: str, sequence: str, truth: str) -> str:
    pinned = pinned_contents(dataset)
    if truth in pinned.get(sequence, ()):
        fetch = (
            f"  - the pinned public copy ({describe_pinned(pinned)}; every file checked "
            f"against its SHA-256), with one call: unet_tutorial.data.fetch_ctc({dataset!r}), "
            "or load_ctc(..., download=True);\n"
        )
    elif pinned:
        fetch = (
            f"  - (the pinned public copy of {dataset}, fetch_ctc({dataset!r}), has "
            f"{describe_pinned(pinned)}: not sequence {sequence} with {truth} truth;)\n"
        )
    else:
        fetch = ""
    return (
        f"Cell Tracking Challenge data not found: {path} does not exist.\n"
        f"Expected layout: {_ctc_layout(dataset, sequence, truth)}.\n"
        f"The data directory is {root}: set {DATA_ENV_VAR} or pass root=... to use another one.\n"
        f"Get the data:\n{fetch}"
        f"  - the official archive {dataset}.zip from {CTC_WEBSITE} (section 'Datasets', 2D "
        "training data), unzipped into the data directory so that "
        f"<data dir>/{dataset}/ holds 01/, 01_GT/, 01_ST/, 02/, ...; the checksums of the "
        "challenge's archives are not known, so the course does not download them."
    )


def _only_silver_message(base: Path, dataset: str, sequence: str, local_silver: bool) -> str:
    gold, silver = base / f"{sequence}_GT" / "SEG", base / f"{sequence}_ST" / "SEG"
    where = (
        f"{silver} exists, {gold} does not"
        if local_silver
        else f"{gold} does not exist, and the pinned public copy of {dataset} "
        f"(fetch_ctc({dataset!r})) has {sequence}_ST/SEG only"
    )
    note = ""
    if "gold" not in pinned_contents(dataset).get(sequence, {"gold"}):
        note = (
            f" For {dataset} no public copy of the gold masks was found; they come with the "
            f"official archive from {CTC_WEBSITE}."
        )
    return (
        f"no gold truth of {dataset} sequence {sequence}: only silver truth exists ({where}). "
        "Pass truth='silver' and report numbers as measured against silver truth." + note
    )


def _ctc_numbered(folder: Path, pattern: re.Pattern[str]) -> dict[int, Path]:
    """``{frame number: path}`` of the files of ``folder`` matching ``pattern``.

    Raises ValueError when two files carry the same frame number (``t001.tif`` and
    ``t0001.tif``): pairing by number would be ambiguous.
    """
    found: dict[int, Path] = {}
    for path in sorted(folder.iterdir()):
        m = pattern.match(path.name)
        if m is None or not path.is_file():
            continue
        frame = int(m.group(1))
        if frame in found:
            raise ValueError(f"frame {frame} appears twice in {folder}: {found[frame].name} and {path.name}")
        found[frame] = path
    return found


def _read_tiff(path: Path) -> np.ndarray:
    """One frame as stored (:func:`~unet_tutorial.image_io.read_pixels`); a multi-page file is an error."""
    a = read_pixels(path)[0]
    if a.ndim == 3 and a.shape[-1] not in (3, 4):
        raise ValueError(f"{path}: expected a 2-D gray frame (H, W), the file holds {a.shape[0]} pages")
    return a


def _ctc_normalize(raw: np.ndarray, mode: str, what: str) -> np.ndarray:
    """A raw frame ``(H, W)`` to float32 in ``[0, 1]`` (see :func:`load_ctc`)."""
    if raw.ndim != 2:
        raise ValueError(f"{what}: expected a 2-D gray frame (H, W), got shape {raw.shape}")
    if not (np.issubdtype(raw.dtype, np.integer) or np.issubdtype(raw.dtype, np.floating)):
        raise ValueError(f"{what}: expected an integer or float image, got dtype {raw.dtype}")
    if np.issubdtype(raw.dtype, np.floating) and not np.isfinite(raw).all():
        raise ValueError(f"{what}: the frame contains NaN or infinite values")
    if mode == "auto":
        mode = "dtype" if raw.dtype == np.uint8 else "percentile"
    if mode == "dtype":
        return to_unit_float(raw, what)
    return normalize_image(raw, "percentile", CTC_PERCENTILES)  # a constant frame becomes zeros


def _ctc_instances(raw: np.ndarray, what: str, shape: tuple[int, ...]) -> np.ndarray:
    """Validate a ``man_seg`` label image and return it as int32 ``(H, W)``."""
    if not np.issubdtype(raw.dtype, np.integer):
        raise ValueError(f"{what}: instance labels must be integers, got dtype {raw.dtype}")
    if raw.shape != shape:
        raise ValueError(f"{what}: labels have shape {raw.shape}, the raw frame {shape}; they must match")
    if raw.size and (int(raw.min()) < 0 or int(raw.max()) > np.iinfo(np.int32).max):
        raise ValueError(
            f"{what}: instance ids must lie in [0, {np.iinfo(np.int32).max}], got "
            f"[{int(raw.min())}, {int(raw.max())}]"
        )
    return raw.astype(np.int32)


def _check_arguments(dataset: object, sequence: object, truth: str, normalize: str,
                     frames: Iterable[int] | None) -> tuple[str, list[int] | None]:
    """The sequence as its folder name (``1`` → ``"01"``) and the wanted frame numbers, after checking
    every argument of :func:`load_ctc`."""
    if isinstance(dataset, os.PathLike) or (isinstance(dataset, str) and ("/" in dataset or os.sep in dataset)):
        raise ValueError(f"dataset must be a folder name such as 'PhC-C2DH-U373', got the path {str(dataset)!r}: "
                         "pass the data directory as root=..., e.g. load_ctc('PhC-C2DH-U373', '02', root=...)")
    if not isinstance(dataset, str) or not dataset:
        raise ValueError(f"dataset must be a folder name such as 'PhC-C2DH-U373', got {dataset!r}")
    if isinstance(sequence, (int, np.integer)) and not isinstance(sequence, bool):
        sequence = f"{int(sequence):02d}"
    if not isinstance(sequence, str) or not sequence.isdigit():
        raise ValueError(f"sequence must be a string of digits such as '01' or '02', got {sequence!r}")
    if normalize not in ("auto", "dtype", "percentile"):
        raise ValueError(f"normalize must be 'auto', 'dtype' or 'percentile', got {normalize!r}")
    if truth not in TRUTH_SUFFIX:
        raise ValueError(f"truth must be 'gold' or 'silver', got {truth!r}")
    wanted = None
    if frames is not None:
        wanted = [int(k) for k in frames]
        if any(k < 0 for k in wanted) or len(set(wanted)) != len(wanted):
            raise ValueError(f"frames must be distinct frame numbers >= 0, got {wanted}")
    return sequence, wanted


def load_ctc(
    dataset: str,
    sequence: str | int,
    *,
    truth: str = "gold",
    root: str | os.PathLike[str] | None = None,
    frames: Iterable[int] | None = None,
    normalize: str = "auto",
    download: bool = False,
) -> Samples:
    """Load the annotated frames of one Cell Tracking Challenge 2D training sequence (Table 2 of §4).

    The paper's light-microscopy experiments (PhC-U373, DIC-HeLa: :data:`CTC_TABLE2_DATASETS`)
    use the challenge's layout, which this reads as it comes out of the challenge's
    zip file from :data:`CTC_WEBSITE` or from :func:`fetch_ctc`::

        <data dir>/<dataset>/<sequence>/t000.tif, t001.tif, ...        raw frames
        <data dir>/<dataset>/<sequence>_GT/SEG/man_seg000.tif, ...     gold truth
        <data dir>/<dataset>/<sequence>_ST/SEG/man_seg000.tif, ...     silver truth

    Only the frames with a mask of the chosen ``truth`` are returned (gold masks exist
    for some frames only; the pinned copy of PhC-C2DH-U373 has 19 in sequence 02).
    Frames and masks are paired by frame *number*, so 3-digit (``t007.tif``) and
    4-digit (``t0007.tif``) names both work. The TIFFs (LZW-compressed ones too) are
    read with Pillow.

    Normalisation of the raw frames to float32 ``[0, 1]``:

    - ``"dtype"``: divide by the dtype's maximum (255 for 8-bit, 65535 for 16-bit).
    - ``"percentile"``: map the :data:`CTC_PERCENTILES` (1st and 99.8th) percentile
      of each frame to 0 and 1 and clip; 16-bit microscopy rarely uses the full range
      (12-bit cameras), where ``"dtype"`` would give nearly black images.
    - ``"auto"`` (default): ``"dtype"`` for 8-bit frames (both Table 2 data sets are
      8-bit, so their frames are divided by 255), ``"percentile"`` otherwise.

    Args:
        dataset: the challenge's name of the data set, ``"PhC-C2DH-U373"`` or
            ``"DIC-C2DH-HeLa"`` (any other challenge data set in this layout works).
        sequence: ``"01"`` or ``"02"`` (an int is formatted with two digits).
        truth: ``"gold"`` (``<sequence>_GT/SEG``, the paper's ground truth) or
            ``"silver"`` (``<sequence>_ST/SEG``: computed by the challenge, usually for
            every frame; report numbers measured against it as such).
        root: the data directory (the folder holding ``<dataset>/``), resolved by
            :func:`data_dir`.
        frames: the frame numbers to load (in this order); each must have a mask.
            ``None``: every frame with a mask, in increasing order.
        normalize: ``"auto"``, ``"dtype"`` or ``"percentile"`` (see above).
        download: when the sequence's frames or masks are missing, download the pinned
            public copy first with :func:`fetch_ctc` (all of it, about 22 MB for
            PhC-C2DH-U373 and 20 MB for DIC-C2DH-HeLa; checksums verified). Nothing is
            downloaded when the copy lacks this sequence or truth.

    Returns:
        :class:`~unet_tutorial.data.Samples` named ``"<dataset>/<sequence>"``: ``images``
        float32 ``(H, W)`` in ``[0, 1]``, all of one size; ``instances`` int32 ``(H, W)``
        (0 = background, each cell its own id as in the mask file; ids need not be
        consecutive); ``masks`` their separation masks uint8 0/1
        (:func:`~unet_tutorial.weights.separation_mask`, Fig. 3c); ``ids`` the frame
        numbers (``t<NNN>.tif``); ``detail`` ``{"truth": truth, "partial": truth == "gold"}``:
        the challenge's gold masks are *partial* annotations (some cells of an annotated
        frame, e.g. at the border, are left unlabelled, so background pixels are not all
        known to be background).

    Raises:
        FileNotFoundError: the sequence folder or its mask folder is missing (the message
            gives the layout, the one call that fetches the pinned copy, and where the
            official archives are), gold truth asked for where only silver truth exists
            (DIC-C2DH-HeLa), a requested frame has no mask, or a mask has no raw frame.
        ValueError: bad ``truth``, ``sequence``, ``frames`` or ``normalize``, a path as
            ``dataset`` (the data directory is ``root``), two files with the same frame
            number, frames that are not 2-D or differ in shape, labels that are not
            integers, are negative, or differ in shape from their frame.
    """
    sequence, wanted = _check_arguments(dataset, sequence, truth, normalize, frames)
    top = data_dir(root)
    base = top / dataset
    raw_dir = base / sequence
    seg_dir = base / f"{sequence}_{TRUTH_SUFFIX[truth]}" / "SEG"

    if truth == "gold" and not seg_dir.is_dir():
        # gold asked for where only silver exists (here, or in the pinned copy): say so
        local_silver = (base / f"{sequence}_ST" / "SEG").is_dir()
        if local_silver or (not raw_dir.is_dir() and pinned_contents(dataset).get(sequence) == {"silver"}):
            raise FileNotFoundError(_only_silver_message(base, dataset, sequence, local_silver))
    missing = not (raw_dir.is_dir() and seg_dir.is_dir())
    if download and missing and truth in pinned_contents(dataset).get(sequence, ()):
        fetch_ctc(dataset, top)
    for folder in (raw_dir, seg_dir):
        if not folder.is_dir():
            raise FileNotFoundError(_ctc_missing_message(folder, top, dataset, sequence, truth))

    raws = _ctc_numbered(raw_dir, _CTC_FRAME)
    masks = _ctc_numbered(seg_dir, _CTC_MASK)
    if not raws:
        raise FileNotFoundError(
            f"no raw frame t<NNN>.tif in {raw_dir}; expected layout: {_ctc_layout(dataset, sequence, truth)}"
        )
    orphans = sorted(set(masks) - set(raws))
    if orphans:
        raise FileNotFoundError(
            f"labels without a raw frame in {raw_dir}: "
            + ", ".join(masks[k].name for k in orphans[:5])
            + ("..." if len(orphans) > 5 else "")
        )
    if wanted is None:
        numbers = sorted(masks)
    else:
        absent = [k for k in wanted if k not in masks]
        if absent:
            raise FileNotFoundError(
                f"frames without a {truth} mask in {seg_dir}: {absent}; those with one: {sorted(masks)[:40]}"
            )
        numbers = wanted
    if not numbers:
        raise FileNotFoundError(f"no mask man_seg<NNN>.tif in {seg_dir}")

    images: list[np.ndarray] = []
    instances: list[np.ndarray] = []
    for k in numbers:
        raw = _read_tiff(raws[k])
        images.append(_ctc_normalize(raw, normalize, str(raws[k])))
        instances.append(_ctc_instances(_read_tiff(masks[k]), str(masks[k]), raw.shape))
    shapes = sorted({im.shape for im in images})
    if len(shapes) > 1:
        raise ValueError(f"the frames of {raw_dir} differ in shape: {shapes}")
    return Samples(tuple(images), tuple(separation_mask(i) for i in instances), tuple(instances), tuple(numbers),
                   f"{dataset}/{sequence}", detail={"truth": truth, "partial": truth == "gold"})
