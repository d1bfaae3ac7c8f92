"""Put the Colab set-up cell at the top of every chapter, with the repository URL of _config.yml.

The repository URL is set in one place, ``repository.url`` in ``_config.yml``; the book's
launch buttons read it from there, and this script copies it into the first code cell of
each notebook (the cell that, on Colab only, installs the package from the repository).
Run it after changing the URL: ``make colab-setup``. ``tests/test_notebooks.py`` checks that
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


def setup_source(url: str) -> str:
    """Source of the set-up cell for a repository at ``url``."""
    return (
        "# Set-up. On Colab only: install the course package from the repository and download\n"
        "# the ISBI 2012 data (checksummed) into the cache; choose a GPU runtime to train faster\n"
        "# (Runtime > Change runtime type). The DSB 2018 nuclei have no checksummed download:\n"
        "# see the README. Elsewhere this cell does nothing: run `make lab` in a clone instead.\n"
        "import sys\n"
        "\n"
        'if "google.colab" in sys.modules:\n'
        f'    %pip install -q "unet-tutorial @ git+{url}"\n'
        "    from unet_tutorial.data import fetch_isbi2012\n"
        "\n"
        "    fetch_isbi2012()\n"
    )


def apply(path: Path, url: str) -> bool:
    """Insert or update the set-up cell of one notebook; return whether it changed."""
    nb = nbformat.read(path, as_version=4)
    source = setup_source(url)
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
