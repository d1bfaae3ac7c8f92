"""Put the Colab set-up cell at the top of every chapter: the repository URL of _config.yml, the data it reads.

The repository URL is set in one place, ``repository.url`` in ``_config.yml``; the book's
launch buttons read it from there, and this script copies it into the first code cell of
each notebook (the cell that, on Colab only, installs the package from the repository).
Run it after changing the URL or what a chapter reads: ``make colab-setup``. ``tests/test_notebooks.py`` checks that
every notebook carries the current cell.
"""

from __future__ import annotations

import sys
from pathlib import Path

import nbformat
import yaml

ROOT = Path(__file__).resolve().parents[1]
TAG = "colab-setup"


def repository_url() -> str:
    """``repository.url`` from ``_config.yml``."""
    config = yaml.safe_load((ROOT / "_config.yml").read_text())
    return config["repository"]["url"].rstrip("/")


#: What a chapter's code calls -> the download (in ``unet_tutorial.data``) that provides it.
DOWNLOADS: dict[str, tuple[str, ...]] = {
    "fetch_isbi2012()": ("load_isbi2012",),
    "fetch_dsb2018()": ("load_dsb2018", "dsb2018_ids"),
    'fetch_ctc("PhC-C2DH-U373")': ("PhC-C2DH-U373",),
    'fetch_ctc("DIC-C2DH-HeLa")': ("DIC-C2DH-HeLa",),
}


def downloads_for(nb) -> list[str]:
    """The downloads a notebook needs: those whose loaders (or data set names) its code cells use."""
    code = "\n".join(c.source for c in nb.cells if c.cell_type == "code" and TAG not in c.metadata.get("tags", []))
    return [call for call, needles in DOWNLOADS.items() if any(n in code for n in needles)]


def setup_source(url: str, downloads: list[str]) -> str:
    """Source of the set-up cell for a repository at ``url`` that makes ``downloads``."""
    names = sorted({d.split("(")[0] for d in downloads})
    lines = [
        "# Set-up. On Colab only: install the course package from the repository and download",
        "# the data this chapter reads (every file checked against its sha256) into the cache;",
        "# choose a GPU runtime to train faster (Runtime > Change runtime type).",
        "# Elsewhere this cell does nothing: run `make lab` in a clone instead.",
        "import sys",
        "",
        'if "google.colab" in sys.modules:',
        f'    %pip install -q "git+{url}"',
    ]
    if downloads:
        lines += [f"    from unet_tutorial.data import {', '.join(names)}", ""]
        lines += [f"    {d}" for d in downloads]
    return "\n".join(lines)  # no final newline: as ruff format leaves a cell


def apply(path: Path, url: str) -> bool:
    """Insert or update the set-up cell of one notebook; return whether it changed."""
    nb = nbformat.read(path, as_version=4)
    source = setup_source(url, downloads_for(nb))
    cells = [c for c in nb.cells if TAG in c.get("metadata", {}).get("tags", [])]
    if cells:
        if cells[0].source == source:
            return False
        cells[0].source = source
    else:
        cell = nbformat.v4.new_code_cell(source, metadata={"tags": [TAG]})
        cell.outputs = []
        cell.execution_count = None
        first_code = next((i for i, c in enumerate(nb.cells) if c.cell_type == "code"), len(nb.cells))
        nb.cells.insert(first_code, cell)
    nbformat.write(nb, path)
    return True


def main() -> int:
    url = repository_url()
    for path in sorted((ROOT / "notebooks").glob("*.ipynb")):
        if apply(path, url):
            print(f"updated {path.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
