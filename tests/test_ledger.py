"""The claims ledger: every measure computed, every verdict as declared, the rules as documented.

``test_every_verdict_is_the_declared_one`` is the drift check: it computes each claim's
measure (from the package and the committed records in ``results/``) and fails, naming
the claim, the measured value and the rule, when the rule's verdict is not the one the
claim declares (``expected``), in either direction.
"""

from __future__ import annotations

import doctest
import json
import math
import os
from pathlib import Path

import pytest

from unet_tutorial import ledger, measures
from unet_tutorial.ledger import (
    CLAIMS,
    VERDICTS,
    AtLeast,
    AtMost,
    ClaimsTable,
    Exact,
    Holds,
    NotComparable,
    Tolerance,
    assess,
    claims_of,
    record,
)

ROOT = Path(__file__).resolve().parents[1]
ORIGINAL_KEYS = {
    "tile_output", "conv_layers", "border", "tiling_rule", "he_init", "deform_grid", "isbi_train_size", "w0_sigma",
    "momentum", "few_images", "seamless", "sliding_window", "table1_warping", "table1_rand", "table1_pixel",
    "touching_separation", "table2_u373", "table2_hela",
}


def _data_missing(claim) -> list[str]:
    from unet_tutorial.data import data_dir

    return [name for name in claim.data if not (data_dir() / name).is_dir()]


def _assessed(claim):
    missing = _data_missing(claim)
    if missing:
        pytest.skip(f"{claim.key}: needs the data sets {missing} (UNET_TUTORIAL_DATA)")
    return assess(claim)


@pytest.mark.parametrize("claim", CLAIMS, ids=lambda c: c.key)
def test_every_verdict_is_the_declared_one(claim):
    a = _assessed(claim)
    assert a.verdict in VERDICTS
    what = (f"claim {claim.key!r} ({claim.statement}): measured {a.measured.value!r} ({a.measured.text}); "
            f"rule: {claim.rule.describe()}")
    if claim.expected in ("reproduced", "close"):
        assert a.verdict == claim.expected, f"{what}: declared {claim.expected!r}, no longer: now {a.verdict!r}"
    assert a.verdict == claim.expected, (f"{what}: the verdict is now {a.verdict!r}, the ledger declares "
                                         f"{claim.expected!r}; update `expected` if the course stands by it")


def test_the_claims_keep_their_keys_and_add_the_speed_claim():
    keys = [c.key for c in CLAIMS]
    assert len(keys) == len(set(keys))
    assert ORIGINAL_KEYS | {"speed_512"} <= set(keys)  # none lost; new claims may join
    speed = ledger._BY_KEY["speed_512"]
    assert speed.section == "abstract" and "512×512" in speed.statement and "less than a second" in speed.statement
    assert set(measures.MEASURES) == set(keys)


@pytest.mark.parametrize("claim", CLAIMS, ids=lambda c: c.key)
def test_every_claim_is_well_formed(claim):
    assert (ROOT / "notebooks" / f"{claim.notebook}.ipynb").exists(), claim.notebook
    assert claim.measure is measures.MEASURES[claim.key]
    assert claim.rule.describe().strip()
    assert claim.paper_shown.strip()
    # A numeric paper value is the one the rule compares with.
    target = getattr(claim.rule, "target", getattr(claim.rule, "value", None))
    if isinstance(claim.paper, (int, float)) and isinstance(target, (int, float)):
        assert math.isclose(claim.paper, target), (claim.paper, target)


def test_the_rules_give_the_documented_verdicts():
    assert Exact((30, 512, 512)).verdict((30, 512, 512)) == "reproduced"
    assert Exact(23).verdict(None) == "not reproduced"
    rule = Tolerance(10.0, within=0.02, close=0.10)
    assert [rule.verdict(v) for v in (9.99, 10.5, 12.0, float("nan"), None)] == [
        "reproduced", "close", "not reproduced", "not reproduced", "not reproduced"]
    assert Tolerance(0.5, within=0.01, relative=False).verdict(0.509) == "reproduced"
    assert Tolerance(0.5, within=0.01).verdict(0.509) == "not reproduced"  # relative: 1 % of 0.5
    assert [AtLeast(100, close=10).verdict(v) for v in (100, 50, 5)] == ["reproduced", "close", "not reproduced"]
    assert [AtMost(1.0, close=2.0).verdict(v) for v in (1.0, 1.5, 3)] == ["reproduced", "close", "not reproduced"]
    assert Holds("x").verdict(True) == "reproduced" and Holds("x").verdict(False) == "not reproduced"
    with pytest.raises(ValueError, match="bool"):
        Holds("x").verdict(0.3)
    assert NotComparable("other images").verdict(0.1) == "not comparable"
    with pytest.raises(ValueError, match="reason"):
        NotComparable(" ")
    with pytest.raises(ValueError, match="within"):
        Tolerance(1.0, within=0.2, close=0.1)


def test_the_docstring_examples_run():
    for module in (ledger, measures):
        failed, attempted = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
        assert attempted and not failed, module.__name__


def test_a_verdict_that_drifts_is_shown_and_named():
    claim = ledger._BY_KEY["conv_layers"]
    drifted = ledger.Assessment(claim, measures.Measured(22, "22"), claim.rule.verdict(22))
    assert drifted.drifted and drifted.verdict_shown == "not reproduced (the ledger expects reproduced)"
    table = ClaimsTable("01_architecture", (drifted,))
    assert table.drifted == [drifted]
    assert "**not reproduced (the ledger expects reproduced)**" in table._repr_markdown_()


def test_record_shows_a_chapters_claims_as_markdown_and_text():
    table = record("01_architecture")
    assert [r.claim.key for r in table.rows] == [c.key for c in claims_of("01_architecture")]
    md = table._repr_markdown_()
    assert md.splitlines()[0] == ClaimsTable.HEADER == "| claim | paper | measured | rule | verdict |"
    assert "| A 572×572 input tile gives an output map of | 388×388 | 388×388 | exactly 388 px | **reproduced** |" in md
    assert "max \\|crop − whole\\|" in md  # pipes in a cell are escaped
    text = repr(table)
    assert text == str(table) and text.startswith("claims of 01_architecture")
    assert "Number of convolutional layers" in text and "rule:     exactly 23" in text
    assert "|" not in text.splitlines()[1]


@pytest.mark.parametrize("bad", ["01", "01_architecture.ipynb", "99_nothing", 1, None])
def test_record_rejects_an_unknown_chapter(bad):
    with pytest.raises(ValueError, match="unknown chapter .* the chapters with claims are 01_architecture"):
        record(bad)
    with pytest.raises(ValueError, match="unknown claim key"):
        assess("nope")


def test_the_ledger_imports_what_it_measures_only_when_it_measures():
    import subprocess
    import sys

    code = "import sys, unet_tutorial.ledger; print(' '.join(sorted(sys.modules)))"
    modules = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    assert "matplotlib" not in modules
    assert not {"unet_tutorial.data", "unet_tutorial.inference", "unet_tutorial.experiments", "unet_tutorial.model",
                "myst_nb"} & set(modules)


def test_the_speed_record_reads_as_the_ledger_needs_and_checks_without_timing(tmp_path, monkeypatch):
    from unet_tutorial.experiments import MIN_SPEEDUP, check_timing, load_record

    rec = load_record("speed-512")
    assert rec["status"] == "complete" and not rec["smoke"] and rec["load_average_at_start"]
    assert {"cpu", "threads", "matmul_gflops", "torch"} <= set(rec["machine"]) and rec["git"]["commit"]
    assert check_timing("speed-512") == []
    # A tampered copy: the check names what is wrong, without timing anything.
    bad = rec.to_dict()
    bad["timings"]["cpu"]["ciresan-n4"]["seconds"] = bad["timings"]["cpu"]["reference"]["seconds"] * 10
    del bad["timings"]["cpu"]["paper-unet"]
    (tmp_path / "speed-512").mkdir()
    (tmp_path / "speed-512" / "record.json").write_text(json.dumps(bad))
    problems = "\n".join(check_timing("speed-512", tmp_path))
    assert "no 'paper-unet' timing" in problems
    assert "speedup_vs_per_pixel" in problems and f">= {MIN_SPEEDUP:g}x" in problems
    assert ledger._BY_KEY["sliding_window"].rule.bound == MIN_SPEEDUP


@pytest.mark.slow
@pytest.mark.skipif(not os.environ.get("UNET_TUTORIAL_DATA"), reason="needs UNET_TUTORIAL_DATA (isbi2012)")
def test_the_speed_record_is_written_and_checked(tmp_path):
    from unet_tutorial.experiments import check_timing, record_speed_512

    rec = record_speed_512(tmp_path, smoke=True, progress=False)
    assert rec["smoke"] and rec["image"]["shape"] == [64, 64]
    assert set(rec["timings"]["cpu"]) == {"paper-unet", "reference", "ciresan-n4", "speedup_vs_per_pixel"}
    assert rec["timings"]["cpu"]["paper-unet"]["base_channels"] == 64
    assert check_timing("speed-512", tmp_path) == []
