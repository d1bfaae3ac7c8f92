"""Drop the outputs that show nothing from executed notebooks.

A progress bar of ``tqdm.auto`` is a Jupyter widget: executed headless (``nbconvert``,
nbval), the notebook keeps a ``display_data`` output whose only content was the widget,
whose state is not saved, so the book shows an empty box. This removes such outputs
(``display_data`` without any data) and nothing else.

Usage: ``python tools/drop_empty_outputs.py notebooks/*.ipynb`` (after executing them).
"""

from __future__ import annotations

import sys
from pathlib import Path

import nbformat


def empty_outputs(nb) -> list[tuple[int, int]]:
    """``(cell index, output index)`` of every output that shows nothing."""
    return [(i, k) for i, c in enumerate(nb.cells) if c.cell_type == "code"
            for k, o in enumerate(c.get("outputs", []))
            if o.output_type == "display_data" and not {m for m in o.get("data", {})
                                                         if not m.startswith("application/vnd.jupyter.widget")}]


def drop_empty_outputs(path: str | Path) -> int:
    """Remove the outputs of :func:`empty_outputs` from the notebook at ``path``; returns how many."""
    nb = nbformat.read(path, as_version=4)
    found = empty_outputs(nb)
    for i, k in sorted(found, reverse=True):
        del nb.cells[i].outputs[k]
    if found:
        nbformat.write(nb, path)
    return len(found)


if __name__ == "__main__":
    for arg in sys.argv[1:]:
        print(f"{arg}: {drop_empty_outputs(arg)} empty outputs dropped")
