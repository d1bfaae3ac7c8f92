"""Where the data lives, which files a folder numbers, and checksummed downloads.

Shared by the data set modules of :mod:`unet_tutorial.data`:

- :data:`DATA_ENV_VAR`, :func:`data_dir`: the data directory, the folder holding
  ``isbi2012/``, ``dsb2018/`` and the Cell Tracking Challenge folders.
- ``numeric_pngs``: the numbered image files of a folder, in order (the pixels are read
  by :mod:`unet_tutorial.image_io`, the package's one decoder policy).
- ``retrieve_verified``: downloads with pooch, every file checked against its SHA-256.

No data set is defined here; see the other modules of the package.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path


from ..cache import user_cache_dir

__all__ = ["DATA_ENV_VAR", "data_dir"]


#: Environment variable naming the data directory (the folder holding ``isbi2012/``
#: and ``dsb2018/``).
DATA_ENV_VAR = "UNET_TUTORIAL_DATA"


# --------------------------------------------------------------------------------------
# Data directory
# --------------------------------------------------------------------------------------


def data_dir(root: str | os.PathLike[str] | None = None) -> Path:
    """Return the data directory: the folder that holds ``isbi2012/`` and ``dsb2018/``.

    Resolution order: ``root`` if given; else the environment variable
    ``UNET_TUTORIAL_DATA``; else the per-user cache folder,
    ``pooch.os_cache("unet_tutorial")`` (e.g. ``~/.cache/unet_tutorial`` on Linux,
    :func:`unet_tutorial.cache.user_cache_dir`), where
    :func:`~unet_tutorial.data.isbi2012.fetch_isbi2012` downloads to. The folder is
    not created here.

    Args:
        root: an explicit data directory, or ``None``.

    Returns:
        The resolved directory as an absolute :class:`pathlib.Path` (``~`` expanded).
    """
    if root is not None:
        return Path(root).expanduser().resolve()
    env = os.environ.get(DATA_ENV_VAR)
    if env:
        return Path(env).expanduser().resolve()
    return user_cache_dir()


# --------------------------------------------------------------------------------------
# Image files
# --------------------------------------------------------------------------------------


def numeric_pngs(folder: Path) -> list[Path]:
    """The ``<int>.png`` files of ``folder``, sorted numerically (0, 1, 2, ..., 10, not 0, 1, 10)."""
    files = [p for p in folder.glob("*.png") if p.stem.isdigit()]
    return sorted(files, key=lambda p: int(p.stem))


# --------------------------------------------------------------------------------------
# Checksummed downloads
# --------------------------------------------------------------------------------------


def file_sha256(path: Path) -> str:
    """The sha256 of a file, hex (read in 1 MiB blocks)."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def retrieve_verified(
    files: dict[str, tuple[str, str]],
    folder: Path,
    *,
    downloader=None,
    progressbar: bool = False,
) -> list[Path]:
    """Fetch ``{relative path: (url, sha256)}`` into ``folder`` with pooch, verifying each file.

    Returns the local paths in the order of ``files``. Raises ``ValueError`` naming the
    file when a checksum does not match.
    """
    import pooch
    from .._progress import progress_bar

    paths = []
    items = list(files.items())
    iterator = progress_bar(items, desc="files", unit="file") if len(items) > 1 else items
    for rel, (url, sha) in iterator:
        target = folder / rel
        try:
            local = pooch.retrieve(
                url,
                known_hash=f"sha256:{sha}",
                fname=target.name,
                path=target.parent,
                downloader=downloader,
                progressbar=progressbar,
            )
        except ValueError as err:
            raise ValueError(
                f"checksum mismatch for {rel} downloaded from {url}: the file is corrupted "
                f"or the source changed; expected sha256 {sha}. ({err})"
            ) from err
        paths.append(Path(local))
    return paths
