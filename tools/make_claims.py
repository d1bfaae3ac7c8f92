"""Write book/claims.md, the claims ledger, from unet_tutorial.ledger.CLAIMS and their measures.

Every measured value and verdict is computed here by the claim's measure and rule
(``unet_tutorial.ledger.assess``) and written as static text: the page depends on no
notebook output. ``--check`` fails (exit 1) when the page on disk differs from what the
measures give now, which is how drift shows in CI
(``tests/test_notebooks.py::test_claims_page_is_generated_from_the_ledger``).

The page is not written when a computed verdict differs from the one a claim declares
(``expected``): change the claim's ``expected`` in ``unet_tutorial/ledger.py`` if the
course now stands by the new verdict, or find what changed.

Run ``make claims`` (needs the data: ``UNET_TUTORIAL_DATA``).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from unet_tutorial.ledger import CLAIMS, assess, table_cell  # noqa: E402

PAGE = ROOT / "book" / "claims.md"

HEADER = """\
# The claims ledger

Every checkable claim of {cite}`ronneberger2015unet`, next to the value the course measures
and a verdict. Nothing in the *measured* column is typed in: each claim has a *measure*
(`unet_tutorial/measures.py`) that computes the value from the package (size arithmetic,
initialisation statistics, default parameters, small deterministic computations) or
reads it from a committed record in `results/` (training results, timings), and a
*rule* (`unet_tutorial/ledger.py`) that turns it into the verdict. `make claims` writes
this page; the tests fail when a verdict changes, so the page cannot drift silently.
Ours are measured on a CPU, with small networks and minutes to an hour of training, on
held-out training images; the paper's tables are the challenges' secret test sets after
10 GPU hours. Read the chapter for the set-up of each number.

The verdicts:

- **reproduced**: the course measures what the paper says (for a setting: the package
  implements the paper's value);
- **close**: near it, within the rule's looser margin;
- **inconclusive**: a recorded experiment that can answer neither way: the 95 % interval of
  its paired difference (seeds paired across arms) contains 0, or its precondition failed;
  the measured column gives the interval;
- **not reproduced**: the measurement does not support the claim (at the course's budget;
  for an experiment: its interval lies on the other side of 0);
- **not comparable**: the course's number is not measured like the paper's (other images,
  other hardware); it is shown for information, and the rule says why.

The rules: *exactly* (the value equals the paper's), *within x % of* (reproduced within x,
close within the second margin), *≥* / *≤* a bound (qualitative claims measured by a
number), *holds* (a yes/no measured from a record), *paired interval* (an experiment's
mean paired difference and its 95 % interval, against the sign the paper predicts), *not
comparable* (with the reason).
Each claim's rule is listed under the table.

| claim | paper | section | measured in the course | verdict | chapter |
| --- | --- | --- | --- | --- | --- |
"""


def render() -> str:
    """The Markdown of book/claims.md, every measure computed now."""
    rows, rules = [], []
    for i, c in enumerate(CLAIMS, 1):
        a = assess(c)
        rows.append(f"| {table_cell(c.statement)} | {table_cell(c.paper_shown)} | {c.section} | {table_cell(a.measured.text)} "
                    f"| **{a.verdict_shown}** (rule {i}) | {{doc}}`/notebooks/{c.notebook}` |")
        rules.append(f"{i}. {c.statement}: {c.rule.describe()}.")
    return HEADER + "\n".join(rows) + "\n\nThe rules:\n\n" + "\n".join(rules) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="fail when the page is out of date; write nothing")
    parser.add_argument("--page", type=Path, default=PAGE, help="the page (default book/claims.md)")
    args = parser.parse_args(argv)
    text = render()
    drifted = [assess(c) for c in CLAIMS if assess(c).drifted]
    for a in drifted:
        print(f"{a.claim.key}: verdict {a.verdict!r}, the ledger declares {a.claim.expected!r} "
              f"(measured {a.measured.text}; rule: {a.claim.rule.describe()})", file=sys.stderr)
    if args.check:
        if not args.page.exists() or args.page.read_text() != text:
            print(f"{args.page} is out of date: run `make claims`", file=sys.stderr)
            return 1
        return 1 if drifted else 0
    if drifted:
        print("not written: update `expected` in unet_tutorial/ledger.py where the course stands by the new "
              "verdict", file=sys.stderr)
        return 1
    args.page.write_text(text)
    print(f"wrote {args.page}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
