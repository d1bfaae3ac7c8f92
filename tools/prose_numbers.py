"""Numbers stated in a chapter's prose that nothing in the chapter backs.

A markdown cell may state a number only if it is shown by the chapter (an output, or a
literal of its code), held by a record the chapter reads (``results/NAME/*.json``, whose
curves are left out: a sentence quotes a result, not one point of a curve), or one of the
paper's own numbers (:data:`unet_tutorial.ledger.PAPER_TABLE1`, ``PAPER_TABLE2`` and the
ledger's paper values). A number matches when it equals a candidate rounded to the digits
it is written with (``0.064`` matches ``0.0640``; ``36 %`` matches ``0.36``).

Checked: decimals, numbers with a thousands separator and numbers followed by ``%`` or
``×`` (a ratio; ``2048×2048`` is a size). Not checked: small plain integers (sizes, counts), years, section
numbers (``§3.1``), mathematics (``$...$``), code (backticks, fenced or indented blocks)
and link targets. :data:`ALLOWED` lists the few numbers derived in the text itself, each
with why.

Usage: ``python tools/prose_numbers.py`` prints every unsupported number (exit 1 if any).
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path
from typing import Any, Iterable, Iterator

ROOT = Path(__file__).resolve().parents[1]

#: A number as prose writes it: 0.0640, 15,000, 36 %, 388×, 4.5.
NUMBER = re.compile(r"(?<![\w.$\\{^_-])(\d{1,3}(?:,\d{3})+|\d+\.\d+|\d+)(\s?%|×(?!\d))?")

#: (chapter stem, number as written) → why the prose may state it without an output.
ALLOWED: dict[tuple[str, str], str] = {
    ("02_data_and_augmentation", "7.9"): "30 × 512 × 512 labelled pixels, arithmetic on the paper's sizes",
    ("06_evaluation", "0.95"): "the DSB score's IoU thresholds 0.50-0.95, the competition's definition",
}


def numbers_in(text: str) -> Iterator[tuple[str, str, int]]:
    """``(number as written, unit "%"/"×"/"", position)`` of every number in ``text``."""
    for m in NUMBER.finditer(text):
        yield m.group(1), (m.group(2) or "").strip(), m.start()


def _values(obj: Any, out: list[float]) -> None:
    """Every number in a JSON-like object (strings are searched too), curves and machine facts left out."""
    if isinstance(obj, dict):
        for k, v in obj.items():
            if k not in ("curves", "machine"):
                _values(v, out)
    elif isinstance(obj, list):
        for v in obj:
            _values(v, out)
    elif isinstance(obj, (int, float)) and not isinstance(obj, bool):
        out.append(float(obj))
    elif isinstance(obj, str):
        out.extend(float(s.replace(",", "")) for s, _, _ in numbers_in(obj))


def paper_values() -> list[float]:
    """The paper's numbers as the ledger holds them (Tables 1 and 2, each claim's paper value)."""
    from unet_tutorial.ledger import CLAIMS, PAPER_TABLE1, PAPER_TABLE2

    out: list[float] = []
    _values([list(v) for v in PAPER_TABLE1.values()], out)
    _values([[x for x in v if x is not None] for v in PAPER_TABLE2.values()], out)
    for c in CLAIMS:
        _values([c.paper] if isinstance(c.paper, (int, float, str)) else list(c.paper), out)
    return out


def _prose(text: str) -> str:
    """Markdown without what is not prose: code, mathematics, link targets, citations."""
    text = re.sub(r"```.*?```", " ", text, flags=re.S)
    text = re.sub(r"(?m)^ {4}.*$", " ", text)
    text = re.sub(r"\$\$.*?\$\$", " ", text, flags=re.S)
    text = re.sub(r"\$[^$]*\$", " ", text)
    text = re.sub(r"`[^`]*`", " ", text)
    text = re.sub(r"\]\([^)]*\)", "]", text)
    return re.sub(r"\{\w+\}`[^`]*`", " ", text)


def _matches(written: str, unit: str, candidates: Iterable[float]) -> bool:
    x = float(written.replace(",", ""))
    digits = len(written.split(".")[1]) if "." in written else 0
    half = 0.5 * 10.0 ** -digits + 1e-12
    for v in candidates:
        if abs(v - x) <= half or (unit == "%" and abs(100 * v - x) <= half):
            return True
    return False


def unsupported_numbers(notebook: str | Path, results: str | Path = ROOT / "results",
                        paper: Iterable[float] | None = None) -> list[tuple[int, str, str]]:
    """Numbers of ``notebook``'s markdown that its outputs, code, records and the paper do not hold.

    Returns:
        ``(cell index, number as written, the text around it)`` for each.
    """
    nb = json.loads(Path(notebook).read_text())
    stem = Path(notebook).stem
    candidates = list(paper_values() if paper is None else paper)
    code = ""
    for cell in nb["cells"]:
        if cell["cell_type"] != "code":
            continue
        code += "".join(cell["source"]) + "\n"
        for o in cell.get("outputs", []):
            data = o.get("data", {})
            shown = [o.get("text", ""), *(data.get(k, "") for k in ("text/plain", "text/markdown", "text/html"))]
            _values(["".join(s) for s in shown], candidates)
    _values(code, candidates)
    names = set(re.findall(r"""["']([a-z0-9]+(?:-[a-z0-9]+)+)["']""", code))
    for name in sorted(names):
        for path in sorted((Path(results) / name).glob("*.json")) if (Path(results) / name).is_dir() else ():
            _values(json.loads(path.read_text()), candidates)
    out = []
    for i, cell in enumerate(nb["cells"]):
        if cell["cell_type"] != "markdown":
            continue
        text = _prose("".join(cell["source"]))
        for written, unit, pos in numbers_in(text):
            plain = "." not in written and "," not in written and not unit
            year = not unit and written.isdigit() and 1900 <= int(written) <= 2100
            if plain or year or "§" in text[max(0, pos - 2):pos] or (stem, written) in ALLOWED:
                continue
            if not _matches(written, unit, candidates):
                out.append((i, written + unit, " ".join(text[max(0, pos - 50):pos + 20].split())))
    return out


def main() -> int:
    bad = 0
    for nb in sorted((ROOT / "notebooks").glob("*.ipynb")):
        for cell, number, context in unsupported_numbers(nb):
            print(f"{nb.name} cell {cell}: {number!r} in '…{context}…'")
            bad += 1
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
