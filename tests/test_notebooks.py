"""The chapters as files: executed, teachable, launchable, and feeding the claims ledger.

nbval re-executes the notebooks (`make test-nb`); these checks are about what is
committed: outputs stored for the book, the Colab set-up cell, no library code in the
notebooks, every claim of the ledger recorded by its chapter.
"""

from __future__ import annotations

import ast
import json
import importlib.util
import re
import sys
from pathlib import Path

import nbformat
import pytest
import yaml

from unet_tutorial.ledger import CLAIMS, ClaimsTable

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))


def load_tool(name: str):
    spec = importlib.util.spec_from_file_location(name, ROOT / "tools" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def code_cells(nb) -> list:
    return [c for c in nb.cells if c.cell_type == "code" and c.source.strip()]


def test_every_chapter_is_in_the_table_of_contents_and_vice_versa():
    toc = (ROOT / "_toc.yml").read_text()
    listed = set(re.findall(r"file:\s*(notebooks/[\w-]+)", toc))
    assert listed == {f"notebooks/{p.stem}" for p in NOTEBOOKS}
    assert yaml.safe_load(toc)["root"] == "book/intro"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_committed_executed_without_errors(path):
    nb = nbformat.read(path, as_version=4)
    assert nb.metadata["kernelspec"]["name"] == "python3"
    cells = [c for c in code_cells(nb) if "colab-setup" not in c.metadata.get("tags", [])]
    unexecuted = [c.source.splitlines()[0] for c in cells if c.execution_count is None]
    assert not unexecuted, f"cells without stored execution: {unexecuted}"
    errors = [o.get("ename") for c in cells for o in c.outputs if o.output_type == "error"]
    assert not errors, f"stored error outputs: {errors}"
    counts = [c.execution_count for c in cells]
    assert counts == sorted(counts), "cells were executed out of order"
    assert any(o.output_type == "display_data" and "image/png" in o.data for c in cells for o in c.outputs), (
        "a chapter shows at least one figure"
    )


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_starts_with_a_title_and_the_colab_setup_cell(path):
    nb = nbformat.read(path, as_version=4)
    assert nb.cells[0].cell_type == "markdown" and nb.cells[0].source.startswith("# ")
    tool = load_tool("colab_setup")
    first_code = code_cells(nb)[0]
    assert "colab-setup" in first_code.metadata.get("tags", []), "the first code cell is the Colab set-up"
    assert first_code.source == tool.setup_source(tool.repository_url(), tool.downloads_for(nb)), (
        "the set-up cell does not carry _config.yml's repository URL or the chapter's downloads: "
        "run `make colab-setup`"
    )


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_the_colab_setup_cell_downloads_what_the_chapter_reads(path, monkeypatch):
    """Run the set-up cell as on Colab (``%pip`` left out, the network mocked): it calls only
    downloads the package implements, one for every data set the chapter's code reads."""
    import types

    import unet_tutorial.data as data

    nb = nbformat.read(path, as_version=4)
    setup = code_cells(nb)[0].source
    calls = []
    for name in ("fetch_isbi2012", "fetch_dsb2018", "fetch_ctc"):
        assert callable(getattr(data, name))
        monkeypatch.setattr(data, name, lambda *a, _n=name, **k: calls.append((_n, a)))
    monkeypatch.setitem(sys.modules, "google.colab", types.ModuleType("google.colab"))
    # %pip is IPython syntax: a no-op in its place
    exec("\n".join(line.split("%")[0] + "pass" if line.strip().startswith("%pip") else line
                   for line in setup.splitlines()), {})
    code = "\n".join(c.source for c in code_cells(nb)[1:])
    wanted = {("fetch_isbi2012", ()) if "load_isbi2012" in code else None,
              ("fetch_dsb2018", ()) if ("load_dsb2018" in code or "dsb2018_ids" in code) else None,
              *{("fetch_ctc", (d,)) for d in ("PhC-C2DH-U373", "DIC-C2DH-HeLa") if d in code}} - {None}
    assert set(calls) == wanted and len(calls) == len(wanted)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_no_library_code_in_notebooks(path):
    nb = nbformat.read(path, as_version=4)
    for cell in code_cells(nb):
        source = "\n".join(  # IPython magics and shell lines: a no-op in their place
            line.split(line.lstrip()[0])[0] + "pass" if line.lstrip().startswith(("%", "!")) else line
            for line in cell.source.splitlines()
        )
        tree = ast.parse(source)
        defined = [n.name for n in ast.walk(tree) if isinstance(n, (ast.FunctionDef, ast.ClassDef))]
        # the one exception: an exercise, the reader's my_* functions handed to a checker
        # of unet_tutorial.exercises in the same cell
        checked = re.findall(r"\bcheck_\w+\((my_\w+)\)", cell.source)
        defined = [name for name in defined if name not in checked]
        assert not defined, f"{defined} defined in a notebook: move it into unet_tutorial/"


@pytest.mark.parametrize("claim", CLAIMS, ids=lambda c: c.key)
def test_every_claim_is_recorded_by_its_chapter(claim):
    """The chapter ends with ``record("<stem>")`` and its stored output shows the claim with its declared verdict."""
    path = ROOT / "notebooks" / f"{claim.notebook}.ipynb"
    assert path.exists(), f"{claim.key}: chapter {path.name} does not exist"
    nb = nbformat.read(path, as_version=4)
    call = re.compile(r"""\brecord\(\s*["']""" + re.escape(claim.notebook) + r"""["']\s*\)""")
    recording = [c for c in code_cells(nb) if call.search(c.source)]
    assert recording, f'{path.name} does not call record("{claim.notebook}")'
    shown = [o for o in recording[-1].outputs if o.output_type in ("execute_result", "display_data")
             and "text/markdown" in o.get("data", {})]
    assert shown, (f'{path.name}: the output of record("{claim.notebook}") is not stored as a Markdown table '
                   "(make the call the cell's last expression and re-execute the chapter)")
    table = "".join(shown[-1].data["text/markdown"])
    assert table.splitlines()[0] == ClaimsTable.HEADER, f"{path.name}: not the ledger's claims table"
    rows = [line for line in table.splitlines() if line.startswith(f"| {claim.statement} |")]
    assert rows, f"{path.name}: claim {claim.key!r} is not in the stored claims table: re-execute the chapter"
    verdict = rows[0].rstrip(" |").rsplit("|", 1)[-1].strip()
    assert verdict == f"**{claim.expected}**", (f"{path.name}: the stored table says {verdict} for {claim.key!r}, "
                                                f"the ledger declares {claim.expected!r}: re-execute the chapter")


def _data_missing() -> list[str]:
    from unet_tutorial.data import data_dir

    return sorted({d for c in CLAIMS for d in c.data if not (data_dir() / d).is_dir()})


def test_claims_page_is_generated_from_the_ledger():
    """book/claims.md is what the measures and rules give now (``make claims``): no drift."""
    if _data_missing():
        pytest.skip(f"the measures need the data sets {_data_missing()} (UNET_TUTORIAL_DATA)")
    make_claims = load_tool("make_claims")
    assert (ROOT / "book" / "claims.md").read_text() == make_claims.render(), "run `make claims`"
    assert make_claims.main(["--check"]) == 0


def test_claims_check_fails_on_an_out_of_date_page(tmp_path):
    if _data_missing():
        pytest.skip(f"the measures need the data sets {_data_missing()} (UNET_TUTORIAL_DATA)")
    make_claims = load_tool("make_claims")
    page = tmp_path / "claims.md"
    page.write_text((ROOT / "book" / "claims.md").read_text().replace("**reproduced**", "**close**", 1))
    assert make_claims.main(["--check", "--page", str(page)]) == 1
    assert make_claims.main(["--page", str(page)]) == 0 and page.read_text() == make_claims.render()


#: The longest code line the book's content column shows without a scroll bar
#: (`_static/custom.css` widens the column for it; tests/book checks it in the browser).
MAX_CODE_LINE = 88


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_code_cells_fit_the_column_and_carry_nbval_tags_not_comments(path):
    nb = nbformat.read(path, as_version=4)
    long = [(i, line) for i, c in enumerate(nb.cells) if c.cell_type == "code"
            for line in c.source.splitlines() if len(line) > MAX_CODE_LINE]
    assert not long, f"code lines over {MAX_CODE_LINE} characters (cell, line): {long[:5]}"
    marked = [i for i, c in enumerate(nb.cells) if c.cell_type == "code"
              and re.search(r"^\s*#\s*NBVAL_", c.source, re.M)]
    assert not marked, f"cells {marked}: nbval markers go in cell tags (nbval-check-output)"
    checked = [c for c in nb.cells if "nbval-check-output" in c.metadata.get("tags", [])]
    assert checked, "a chapter checks the output of its deterministic cells"
    timed = [c.source.splitlines()[0] for c in checked if "perf_counter" in c.source]
    assert not timed, f"checked cells print timings, which differ on every run: {timed}"


@pytest.mark.parametrize("path", NOTEBOOKS[:4], ids=lambda p: p.stem)
def test_chapters_1_to_4_show_the_code_and_an_exercise_with_a_hidden_solution(path):
    """Each of chapters 1-4 shows package code and has a checked exercise (issue #17)."""
    nb = nbformat.read(path, as_version=4)
    sources = [c.source for c in code_cells(nb)]
    assert any("show_source(" in s for s in sources), "the chapter shows the package's code"
    stubs = [c for c in code_cells(nb) if "raise NotImplementedError" in c.source and "check_" in c.source]
    solutions = [c for c in code_cells(nb) if "hide-input" in c.metadata.get("tags", [])
                 and "check_" in c.source]
    assert stubs, "an exercise cell: a stub for the reader and its checker"
    assert solutions, "the solution is in a hidden (dropdown) cell"
    for cell in solutions:
        printed = "".join(o.get("text", "") for o in cell.outputs if o.output_type == "stream")
        assert "✓" in printed and "✗" not in printed, f"the stored solution does not pass: {printed!r}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_prose_states_only_numbers_that_the_chapter_or_its_records_hold(path):
    """A sentence's number comes from an output, the code, a record the chapter reads or the paper."""
    unsupported = load_tool("prose_numbers").unsupported_numbers(path)
    assert not unsupported, "numbers typed into the prose that nothing in the chapter shows: " + "; ".join(
        f"cell {i}: {n!r} in '{ctx}'" for i, n, ctx in unsupported)


def test_prose_number_check_flags_a_typed_number(tmp_path):
    tool = load_tool("prose_numbers")
    nb = nbformat.v4.new_notebook()
    code = nbformat.v4.new_code_cell('print(rand, frac)\nrecord = load_record("isbi2012-reference")')
    code.outputs = [nbformat.v4.new_output("stream", name="stdout", text="0.06401 0.3612\n")]
    nb.cells = [code, nbformat.v4.new_markdown_cell(
        "Rand error 0.0640 (36 % of pairs; the paper: 0.0382, §3.1, 2015), 388×388 tiles, $0.123$, `0.777`; "
        "typed: 0.0512, 4,859× faster, 73.4 %.")]
    path = tmp_path / "chapter.ipynb"
    nbformat.write(nb, path)
    got = [n for _, n, _ in tool.unsupported_numbers(path)]
    assert got == ["0.0512", "4,859×", "73.4%"]
    # a number of a record the chapter reads is backed by it (its curves are not)
    steps = json.loads((ROOT / "results" / "isbi2012-reference" / "record.json").read_text())["runs"]["main"]["steps"]
    nb.cells[1] = nbformat.v4.new_markdown_cell(f"trained for {steps:,} steps")
    nbformat.write(nb, path)
    assert tool.unsupported_numbers(path) == []


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_no_committed_output_shows_nothing(path):
    """A headless progress bar leaves an empty box in the book: tools/drop_empty_outputs.py removes it."""
    found = load_tool("drop_empty_outputs").empty_outputs(nbformat.read(path, as_version=4))
    assert not found, f"empty outputs (cell, output): {found}; run python tools/drop_empty_outputs.py {path}"


def test_drop_empty_outputs_keeps_everything_else(tmp_path):
    tool = load_tool("drop_empty_outputs")
    nb = nbformat.v4.new_notebook()
    cell = nbformat.v4.new_code_cell("x")
    cell.outputs = [nbformat.v4.new_output("display_data", data={}),
                    nbformat.v4.new_output("stream", name="stdout", text="kept\n"),
                    nbformat.v4.new_output("display_data", data={"text/plain": "kept too"})]
    nb.cells = [cell]
    path = tmp_path / "n.ipynb"
    nbformat.write(nb, path)
    assert tool.drop_empty_outputs(path) == 1
    kept = nbformat.read(path, as_version=4).cells[0].outputs
    assert [o.output_type for o in kept] == ["stream", "display_data"]
