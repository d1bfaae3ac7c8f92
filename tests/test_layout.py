"""The package's layout rules: small modules, figure code only in plotting, the network knows no data."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "unet_tutorial"
NUMERICAL = ["model", "augment", "weights", "losses", "inference", "metrics", "data", "config", "checkpoint",
             "train", "history", "experiments", "baseline", "predict", "_checks", "exercises"]


@pytest.mark.parametrize("path", sorted(PACKAGE.rglob("*.py")), ids=lambda p: str(p.relative_to(PACKAGE)))
def test_no_module_is_over_600_lines(path):
    assert len(path.read_text().splitlines()) <= 600, f"{path.name}: split it along the paper's ideas"


def _imported_after(statement: str) -> set[str]:
    code = f"import sys; {statement}; print('\\n'.join(sorted(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    return set(out.split())


def test_numerical_modules_do_not_import_matplotlib():
    modules = _imported_after("; ".join(f"import unet_tutorial.{m}" for m in NUMERICAL))
    assert "matplotlib" not in modules


def test_the_network_knows_no_data_and_no_training():
    modules = _imported_after("import unet_tutorial.model")
    own = {m for m in modules if m.startswith("unet_tutorial.")}
    assert own <= {"unet_tutorial.model", "unet_tutorial._checks"}, own


def test_prediction_needs_no_trainer():
    modules = _imported_after("import unet_tutorial.inference, unet_tutorial.predict")
    assert not {"unet_tutorial.train", "unet_tutorial.config", "unet_tutorial.data"} & modules
