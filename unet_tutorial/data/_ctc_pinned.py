"""The pinned public copies of the Table 2 data sets: shipped manifests and :func:`fetch_ctc`.

Part of :mod:`unet_tutorial.data.ctc` (which re-exports :func:`fetch_ctc`), kept apart
to keep that module short. A manifest ``ctc_manifests/<dataset>.tsv.gz`` (gzip, tab
separated: ``path, sha256, source_repo, source_commit, source_path``) lists every file
of a pinned copy: where it lands under ``<data dir>/<dataset>/``, its SHA-256, and the
public GitHub commit it is downloaded from. The manifests are package data
(``pyproject.toml``), written from a verified copy's ``PROVENANCE.tsv`` (path, sha256 and
source columns, gzip without name or time); ``tests/test_ctc.py`` checks them against the
shared copies.
"""

from __future__ import annotations

import csv
import gzip
import io
import os
from functools import cache
from importlib import resources
from pathlib import Path
from typing import NamedTuple
from urllib.parse import quote

from ._store import retrieve_verified, file_sha256, data_dir

__all__ = ["fetch_ctc"]

# Where the Cell Tracking Challenge distributes the official archives (= ctc.CTC_WEBSITE).
_WEBSITE = "https://celltrackingchallenge.net"

# truth -> suffix of its folder <sequence>_<suffix>/SEG: the challenge's gold truth
# (GT, manual, some frames, partial) and silver truth (ST, computer generated).
TRUTH_SUFFIX = {"gold": "GT", "silver": "ST"}
_MANIFEST_COLUMNS = ("path", "sha256", "source_repo", "source_commit", "source_path")


# --------------------------------------------------------------------------------------
# The pinned public copies: manifests shipped with the package
# --------------------------------------------------------------------------------------


class _CTCFile(NamedTuple):
    """One row of a shipped manifest: a file of a pinned copy and where it comes from."""

    path: str  # relative to <data dir>/<dataset>/
    sha256: str
    source_repo: str
    source_commit: str
    source_path: str

    @property
    def url(self) -> str:
        return (
            f"https://raw.githubusercontent.com/{self.source_repo}/{self.source_commit}/"
            + quote(self.source_path)
        )


def _manifest_dir():
    return resources.files(__package__) / "ctc_manifests"


def _pinned_datasets() -> tuple[str, ...]:
    """The data sets with a shipped manifest (a pinned public copy :func:`fetch_ctc` can download)."""
    names = (p.name for p in _manifest_dir().iterdir())
    return tuple(sorted(n[: -len(".tsv.gz")] for n in names if n.endswith(".tsv.gz")))


@cache
def _ctc_manifest(dataset: str) -> tuple[_CTCFile, ...]:
    """The files of the pinned copy of ``dataset``; ValueError when the package has none."""
    if not isinstance(dataset, str) or dataset not in _pinned_datasets():
        raise ValueError(
            f"no pinned public copy of {dataset!r} is known: fetch_ctc can download "
            f"{', '.join(map(repr, _pinned_datasets()))}. Download the official archive from "
            f"{_WEBSITE} and unzip it into the data directory instead."
        )
    entry = _manifest_dir() / f"{dataset}.tsv.gz"
    text = gzip.decompress(entry.read_bytes()).decode("utf-8")
    rows = list(csv.reader(io.StringIO(text), delimiter="\t"))
    if tuple(rows[0]) != _MANIFEST_COLUMNS:
        raise ValueError(f"bad header of the shipped manifest {entry}: {rows[0]}")
    return tuple(_CTCFile(*row) for row in rows[1:])


def pinned_contents(dataset: str) -> dict[str, set[str]]:
    """``{sequence: {"gold", "silver"} present}`` of the pinned copy of ``dataset`` ({} if none)."""
    if dataset not in _pinned_datasets():
        return {}
    out: dict[str, set[str]] = {}
    for row in _ctc_manifest(dataset):
        top = row.path.split("/")[0]
        seq, _, suffix = top.partition("_")
        kinds = out.setdefault(seq, set())
        kinds.update(t for t, s in TRUTH_SUFFIX.items() if s == suffix)
    return out


def describe_pinned(contents: dict[str, set[str]]) -> str:
    return "; ".join(
        f"sequence {seq} with {' and '.join(t for t in TRUTH_SUFFIX if t in kinds) or 'no'} truth"
        for seq, kinds in sorted(contents.items())
    )


def fetch_ctc(
    dataset: str,
    root: str | os.PathLike[str] | None = None,
    *,
    downloader=None,
    progressbar: bool = False,
) -> Path:
    """Download the pinned public copy of a Table 2 data set into ``<data dir>/<dataset>/``.

    Every file listed in the package's manifest of ``dataset`` is downloaded from its
    pinned commit, ``https://raw.githubusercontent.com/<repo>/<commit>/<path>``, with
    pooch and checked against its SHA-256; a file whose checksum does not match is not
    kept (pooch downloads to a temporary file). The files land in the challenge's
    layout, e.g. ``PhC-C2DH-U373/02/t000.tif``, ``02_GT/SEG/man_seg010.tif``,
    ``02_ST/SEG/man_seg000.tif`` (see the module docstring for what each copy holds).
    Files already present with the right checksum are not downloaded again.

    Args:
        dataset: ``"PhC-C2DH-U373"`` or ``"DIC-C2DH-HeLa"``.
        root: the data directory, resolved by :func:`data_dir`.
        downloader: a pooch downloader, e.g. ``pooch.HTTPDownloader(timeout=60)``;
            ``None`` lets pooch choose one from the URL.
        progressbar: show pooch's progress bar of every file.

    Returns:
        The folder ``<data dir>/<dataset>``.

    Raises:
        ValueError: no pinned copy of ``dataset`` is known, or a downloaded file does
            not match its checksum (the message names the file).
        FileExistsError: a file of the copy is already there with other bytes (e.g.
            from the official archive); nothing is overwritten or downloaded then.
    """
    rows = _ctc_manifest(dataset)
    folder = data_dir(root) / dataset
    differing = [r.path for r in rows if (folder / r.path).is_file() and file_sha256(folder / r.path) != r.sha256]
    if differing:
        raise FileExistsError(
            f"{len(differing)} file(s) in {folder} differ from the pinned copy of {dataset} "
            f"(e.g. {', '.join(differing[:3])}); they may come from the official archive. Nothing "
            "was downloaded: remove them, or pass another root=..."
        )
    missing = {r.path: (r.url, r.sha256) for r in rows if not (folder / r.path).is_file()}
    retrieve_verified(missing, folder, downloader=downloader, progressbar=progressbar)
    return folder
