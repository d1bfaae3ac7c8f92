"""``python -m unet_tutorial doctor DIR``: every broken case written to a folder, and its finding.

Each test starts from a clean folder of synthetic pairs (8-bit images, 0/255
masks), breaks one thing, and checks the finding's severity, file and a word
of its problem, and the exit code.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from folder_helpers import M, make_folder, rgb, touching_ids, write, write_palette
from unet_tutorial.__main__ import main
from unet_tutorial.checkpoint import save_model
from unet_tutorial.doctor import Finding, diagnose, format_findings, has_errors
from unet_tutorial.model import UNet


@pytest.fixture()
def clean(tmp_path) -> Path:
    return make_folder(tmp_path / "data", n=3, size=64)


def find(findings: list[Finding], file: str, severity: str | None = None) -> list[Finding]:
    """The findings about ``file`` (its name, or the start of a collapsed ``a.png (+2 more)``)."""
    return [f for f in findings if (f.file == file or f.file.startswith(file + " "))
            and (severity is None or f.severity == severity)]


def only(findings: list[Finding], file: str, severity: str, word: str) -> Finding:
    """The one finding of ``severity`` about ``file``, whose problem contains ``word``."""
    hits = [f for f in find(findings, file, severity) if word.lower() in f.problem.lower()]
    assert len(hits) == 1, f"no single {severity} about {file} with {word!r}: {findings}"
    assert hits[0].fix
    return hits[0]


def exit_code(folder: Path, *extra: str) -> int:
    return main(["doctor", str(folder), *extra])


# --------------------------------------------------------------------------
# The clean folder
# --------------------------------------------------------------------------


def test_clean_folder_has_no_error_and_exits_0(clean, capsys):
    findings = diagnose(clean)
    assert not has_errors(findings)
    assert not [f for f in findings if f.severity == "warning"]
    assert exit_code(clean) == 0
    out = capsys.readouterr().out
    assert "SEVERITY" in out and "FIX" in out and "0 error(s)" in out


def test_0_255_masks_are_read_as_binary(clean):
    f = only(diagnose(clean), "masks/img0.png", "info", "binary")
    assert "255 → foreground" in f.problem
    assert "(+2 more)" in f.file  # one row for the three identical findings


def test_tile_sizes_and_mirroring(clean, tmp_path):
    f = only(diagnose(clean), "images/img0.png", "info", "mirrored")
    assert "64×64" in f.problem and "188" in f.problem  # the smallest tile of depth 4, valid padding
    big = make_folder(tmp_path / "big", n=1, size=290)
    f = only(diagnose(big), "images/img0.png", "info", "largest valid tile")
    assert "290×290" in f.problem and "284 px" in f.problem and "output 100 px" in f.problem


# --------------------------------------------------------------------------
# Pairing
# --------------------------------------------------------------------------


def test_image_without_mask(clean):
    write(clean / "images" / "lonely.png", np.zeros((64, 64), np.uint8))
    only(diagnose(clean), "images/lonely.png", "error", "without a mask")
    assert exit_code(clean) == 1


def test_mask_without_image(clean):
    write(clean / "masks" / "orphan.png", M * 255)
    only(diagnose(clean), "masks/orphan.png", "error", "without an image")


def test_misnamed_mask_gets_a_rename_hint(clean):
    (clean / "masks" / "img1.png").rename(clean / "masks" / "img1_mask.png")
    f = only(diagnose(clean), "images/img1.png", "error", "without a mask")
    assert "masks/img1_mask.png" in f.fix


def test_other_file_types_are_listed(clean):
    (clean / "masks" / "img2.jpg").write_bytes(b"jpeg")
    only(diagnose(clean), "masks/img2.jpg", "warning", "ignored")


def test_missing_folder(tmp_path):
    (f,) = diagnose(tmp_path / "nowhere")
    assert f.severity == "error" and f.file == "." and "no folder" in f.problem
    assert exit_code(tmp_path / "nowhere") == 1


def test_single_pair_cannot_be_validated(tmp_path):
    only(diagnose(make_folder(tmp_path, n=1)), ".", "warning", "only one")


# --------------------------------------------------------------------------
# Sizes and values
# --------------------------------------------------------------------------


def test_mask_of_a_different_size(clean):
    write(clean / "masks" / "img1.png", (np.arange(60 * 64).reshape(60, 64) % 2 * 255).astype(np.uint8))
    f = only(diagnose(clean), "masks/img1.png", "error", "size mismatch")
    assert "60×64" in f.problem and "64×64" in f.problem


def test_sixteen_bit_images(clean):
    rng = np.random.default_rng(0)
    write(clean / "images" / "img0.png", rng.integers(0, 3000, (64, 64), dtype=np.uint16))
    write(clean / "images" / "img1.png", rng.integers(0, 65536, (64, 64), dtype=np.uint16))
    findings = diagnose(clean)
    f = only(findings, "images/img0.png", "warning", "black")
    assert "16-bit" in f.problem and "65535" in f.problem
    only(findings, "images/img1.png", "info", "scaled to [0, 1] by 65535")
    assert exit_code(clean) == 0  # a warning does not fail


def test_float_image_outside_unit_range(clean):
    (clean / "images" / "img0.png").unlink()
    write(clean / "images" / "img0.tif", np.full((64, 64), 40.0, np.float32))
    only(diagnose(clean), "images/img0.tif", "warning", "not scaled")


# --------------------------------------------------------------------------
# Mask encodings and labels
# --------------------------------------------------------------------------


def _mask_folder(tmp_path: Path, writer) -> Path:
    """A clean folder of 40×48 images whose first mask is written by ``writer(masks_folder)``."""
    root = tmp_path / "data"
    for i in range(2):
        write(root / "images" / f"a{i}.png", np.random.default_rng(i).integers(0, 256, (40, 48), dtype=np.uint8))
    write(root / "masks" / "a1.png", M)
    writer(root / "masks")
    return root


def test_palette_mask(tmp_path):
    root = _mask_folder(tmp_path, lambda d: write_palette(d / "a0.png", M, [0, 0, 0, 255, 0, 0]))
    f = only(diagnose(root), "masks/a0.png", "info", "palette")
    assert "(255, 0, 0) → foreground" in f.problem


def test_rgb_two_colour_mask(tmp_path):
    root = _mask_folder(tmp_path, lambda d: write(d / "a0.png", rgb(M, (0, 255, 0), (0, 0, 128))))
    f = only(diagnose(root), "masks/a0.png", "info", "RGB")
    assert "(0, 255, 0) → foreground" in f.problem and "darker" in f.problem
    assert exit_code(root) == 0


def test_rgb_mask_with_many_colours(tmp_path):
    rgb = np.random.default_rng(1).integers(0, 256, (40, 48, 3), dtype=np.uint8)
    root = _mask_folder(tmp_path, lambda d: write(d / "a0.png", rgb))
    f = only(diagnose(root), "masks/a0.png", "error", "colours")
    assert "RGB" in f.problem
    assert exit_code(root) == 1


def test_float_tiff_mask(tmp_path):
    root = _mask_folder(tmp_path, lambda d: write(d / "a0.tif", M.astype(np.float32)))
    f = only(diagnose(root), "masks/a0.tif", "error", "floating-point")
    assert "threshold" in f.fix


def test_instance_labels(tmp_path):
    root = _mask_folder(tmp_path, lambda d: write(d / "a0.tif", touching_ids()))
    f = only(diagnose(root), "masks/a0.tif", "info", "instance labels")
    assert "3 objects" in f.problem and "1 touching pairs" in f.problem and "separation borders" in f.problem
    assert exit_code(root) == 0


def test_anti_aliased_mask(tmp_path):
    m = M * 255
    m[17, 4:20] = 128  # a gray rim, as resizing or JPEG leave
    root = _mask_folder(tmp_path, lambda d: write(d / "a0.png", m))
    only(diagnose(root), "masks/a0.png", "warning", "anti-aliasing")


def test_empty_and_full_masks(tmp_path):
    root = _mask_folder(tmp_path, lambda d: write(d / "a0.png", np.zeros((40, 48), np.uint8)))
    only(diagnose(root), "masks/a0.png", "error", "empty mask")
    assert exit_code(root) == 1
    write(root / "masks" / "a0.png", np.full((40, 48), 255, np.uint8))
    only(diagnose(root), "masks/a0.png", "error", "foreground everywhere")


def test_class_balance_warnings(tmp_path):
    sparse = np.zeros((40, 48), np.uint8)
    sparse[3, 3] = 1
    root = _mask_folder(tmp_path, lambda d: write(d / "a0.png", sparse))
    only(diagnose(root), "masks/a0.png", "warning", "only 0.05 %")
    write(root / "masks" / "a0.png", 1 - sparse)
    only(diagnose(root), "masks/a0.png", "warning", "99.95 %")


# --------------------------------------------------------------------------
# Channels against a model
# --------------------------------------------------------------------------


def _model(tmp_path: Path, in_channels: int) -> Path:
    path = tmp_path / f"model{in_channels}.pt"
    save_model(UNet(in_channels=in_channels, base_channels=2, depth=2), path)
    return path


def test_gray_images_for_an_rgb_model(clean, tmp_path):
    weights = _model(tmp_path, 3)
    only(diagnose(clean, weights), "images/img0.png", "error", "expects 3 input channels")
    assert exit_code(clean, "--weights", str(weights)) == 1
    # the tile sizes are those of the model (depth 2: 64 px is a valid tile)
    only(diagnose(clean, weights), "images/img0.png", "info", "depth 2")


def test_rgb_images_for_a_gray_model(clean, tmp_path):
    write(clean / "images" / "img0.png", np.random.default_rng(0).integers(0, 256, (64, 64, 3), dtype=np.uint8))
    findings = diagnose(clean, _model(tmp_path, 1))
    only(findings, "images/img0.png", "info", "luminance")
    assert not has_errors(findings)


def test_unreadable_weights(clean, tmp_path):
    bad = tmp_path / "bad.pt"
    bad.write_bytes(b"nope")
    (f,) = [f for f in diagnose(clean, bad) if f.severity == "error"]
    assert f.file == str(bad) and "cannot load" in f.problem


# --------------------------------------------------------------------------
# The table
# --------------------------------------------------------------------------


def test_table_has_one_row_per_finding_errors_first(clean, capsys):
    write(clean / "masks" / "img0.png", np.zeros((64, 64), np.uint8))
    findings = diagnose(clean)
    assert findings[0].severity == "error"
    assert [f.severity for f in findings] == sorted((f.severity for f in findings),
                                                   key=("error", "warning", "info").index)
    table = format_findings(findings, width=100)
    assert table.splitlines()[0].split() == ["SEVERITY", "FILE", "PROBLEM", "FIX"]
    starts = [line.split()[0] for line in table.splitlines()[1:] if line[:1].strip()]
    assert starts == [f.severity for f in findings]
    assert all(len(line) <= 100 for line in table.splitlines())
    assert exit_code(clean) == 1
    assert "fix the errors" in capsys.readouterr().err
