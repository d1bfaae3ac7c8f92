"""Write book/claims.md, the claims ledger, from unet_tutorial.ledger.CLAIMS.

The measured column is a myst-nb glue reference into the chapter that records the value
(``unet_tutorial.ledger.record``), so the book shows the numbers of the executed notebooks.
Run ``make claims`` after changing CLAIMS; ``tests/test_notebooks.py`` checks that the page
is up to date and that every claim is recorded by its chapter.
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from unet_tutorial.ledger import CLAIMS  # noqa: E402

HEADER = """\
# The claims ledger

Every checkable claim of {cite}`ronneberger2015unet`, next to the value the course measures.
The *measured* column is not typed in: each chapter records its measurements at its end
(`unet_tutorial.ledger.record`), and this page pastes them from the executed notebooks.
Ours are measured on a CPU, with small networks and minutes of training, on held-out
training slices; the paper's Table 1 is on the challenge's secret test set after
10 GPU hours. Read the chapter for the set-up of each number.

| claim | paper | section | measured in the course | chapter |
| --- | --- | --- | --- | --- |
"""


def render() -> str:
    """The Markdown of book/claims.md."""
    rows = []
    for c in CLAIMS:
        if not (ROOT / "notebooks" / f"{c.notebook}.ipynb").exists():
            # The chapter that will measure it is not written yet: say so, measure nothing.
            rows.append(f"| {c.statement} | {c.paper} | {c.section} | not measured yet | {c.notebook} (to come) |")
            continue
        rows.append(
            f"| {c.statement} | {c.paper} | {c.section} "
            f"| {{glue:}}`/notebooks/{c.notebook}.ipynb::{c.key}` "
            f"| {{doc}}`/notebooks/{c.notebook}` |"
        )
    return HEADER + "\n".join(rows) + "\n"


def main() -> int:
    path = ROOT / "book" / "claims.md"
    text = render()
    if "--check" in sys.argv:
        if not path.exists() or path.read_text() != text:
            print(f"{path.relative_to(ROOT)} is out of date: run `make claims`")
            return 1
        return 0
    path.write_text(text)
    print(f"wrote {path.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
