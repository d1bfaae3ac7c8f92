"""End-to-end tests of ``python -m unet_tutorial predict`` on files the tests write.

The images are synthetic noise and the model is a tiny untrained U-Net: what is
tested is reading, conversion, tiling, writing and the error handling.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import skimage.io
import tifffile
import torch
from skimage.color import rgb2gray

from unet_tutorial.__main__ import main
from unet_tutorial.checkpoint import save_model
from unet_tutorial.inference import predict_tiled
from unet_tutorial.model import UNet
from unet_tutorial.predict import read_image

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture()
def model() -> UNet:
    torch.manual_seed(0)
    return UNet(base_channels=2, depth=2, dropout=0.0).eval()


@pytest.fixture()
def weights(tmp_path: Path, model: UNet) -> Path:
    path = tmp_path / "unet.pt"
    save_model(model, path)
    return path


@pytest.fixture()
def images(tmp_path: Path) -> dict[str, Path]:
    """A gray 8-bit PNG, an RGB PNG, an RGBA PNG and a 16-bit TIFF of odd sizes."""
    rng = np.random.default_rng(0)
    folder = tmp_path / "in"
    folder.mkdir()
    files = {
        "gray": (folder / "gray.png", rng.integers(0, 256, (37, 45), dtype=np.uint8)),
        "rgb": (folder / "rgb.png", rng.integers(0, 256, (30, 21, 3), dtype=np.uint8)),
        "rgba": (folder / "rgba.png", rng.integers(0, 256, (19, 26, 4), dtype=np.uint8)),
        "tiff16": (folder / "deep.tif", rng.integers(0, 65536, (41, 33), dtype=np.uint16)),
    }
    for path, data in files.values():
        if path.suffix == ".tif":
            tifffile.imwrite(path, data)
        else:
            skimage.io.imsave(path, data, check_contrast=False)
    return {k: p for k, (p, _) in files.items()}


def expected_input(path: Path) -> np.ndarray:
    """The conversion the CLI documents, written out independently: [0, 1] by dtype max, gray by luminance."""
    raw = tifffile.imread(path) if path.suffix == ".tif" else skimage.io.imread(path)
    img = raw.astype(np.float64) / np.iinfo(raw.dtype).max
    if img.ndim == 3:
        img = rgb2gray(img[..., :3])
    return img.astype(np.float32)


def listing(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


def test_predict_writes_probability_and_mask_per_image(tmp_path, weights, images, model, capsys) -> None:
    out = tmp_path / "out" / "nested"
    code = main(["predict", "--weights", str(weights), "--out", str(out), "--threshold", "0.4", "--quiet", *map(str, images.values())])
    assert code == 0, capsys.readouterr().err
    stems = [p.stem for p in images.values()]
    assert listing(out) == sorted([f"{s}_mask.png" for s in stems] + [f"{s}_prob.tif" for s in stems])
    for path in images.values():
        img = expected_input(path)
        prob = tifffile.imread(out / f"{path.stem}_prob.tif")
        mask = skimage.io.imread(out / f"{path.stem}_mask.png")
        assert prob.dtype == np.float32 and prob.shape == img.shape
        assert mask.dtype == np.uint8 and mask.shape == img.shape
        assert set(np.unique(mask)) <= {0, 255}
        assert np.array_equal(mask == 255, prob > 0.4)
        assert np.abs(prob - predict_tiled(model, img)[1]).max() <= 1e-5


def test_tile_size_and_tta_options(tmp_path, weights, images, model) -> None:
    out = tmp_path / "out"
    assert main(["predict", "--weights", str(weights), "--out", str(out), "--tile-size", "52", "--tta", "--device", "cpu", "--quiet", str(images["gray"])]) == 0
    prob = tifffile.imread(out / "gray_prob.tif")
    assert np.abs(prob - predict_tiled(model, expected_input(images["gray"]), tile_size=52, tta=True)[1]).max() <= 1e-5


def test_the_models_protocol_decides_tta_and_threshold_unless_told(tmp_path, model, images, capsys) -> None:
    from unet_tutorial.protocol import Protocol

    model.protocol = Protocol(threshold=0.45, tta=True)
    save_model(model, tmp_path / "p.pt")
    img = expected_input(images["gray"])
    for extra, tta, threshold in (([], True, 0.45), (["--no-tta"], False, 0.45), (["--threshold", "0.6"], True, 0.6)):
        out = tmp_path / f"out{len(extra)}{tta}"
        assert main(["predict", "--weights", str(tmp_path / "p.pt"), "--out", str(out), *extra,
                     str(images["gray"])]) == 0
        err = capsys.readouterr().err
        assert f"threshold {threshold:g}, TTA {'on' if tta else 'off'}" in err
        assert ("except" in err) == bool(extra)
        prob = tifffile.imread(out / "gray_prob.tif")
        assert np.abs(prob - predict_tiled(model, img, tta=tta)[1]).max() <= 1e-5
        mask = skimage.io.imread(out / "gray_mask.png")
        assert np.array_equal(mask == 255, prob > threshold)


def test_precision_option(tmp_path, weights, images, model, capsys) -> None:
    out = tmp_path / "bf16"
    assert main(["predict", "--weights", str(weights), "--out", str(out), "--precision", "bf16",
                 str(images["gray"])]) == 0
    assert "bf16" in capsys.readouterr().err
    prob = tifffile.imread(out / "gray_prob.tif")
    exact = predict_tiled(model, expected_input(images["gray"]))[1]
    assert 0 < np.abs(prob - exact).max() <= 0.05  # bf16: close to float32, not equal
    onnx = main(["predict", "--weights", str(weights), "--out", str(out), "--precision", "bf16",
                 "--backend", "onnxruntime", str(images["gray"])])
    assert onnx == 2 and "--backend torch" in capsys.readouterr().err


def test_read_image_conversions(images, tmp_path) -> None:
    for path in images.values():
        img = read_image(path)
        assert img.dtype == np.float32 and img.shape == (1, *expected_input(path).shape)
        assert np.allclose(img[0], expected_input(path), atol=1e-6)
    rgb = read_image(images["rgb"], in_channels=3)
    assert rgb.shape == (3, 30, 21) and np.allclose(rgb, np.moveaxis(skimage.io.imread(images["rgb"]), -1, 0) / 255)
    floats = tmp_path / "float.tif"
    tifffile.imwrite(floats, np.full((4, 5), 3.5, np.float32))  # floats are kept as they are
    assert np.array_equal(read_image(floats), np.full((1, 4, 5), 3.5, np.float32))


def run_cli(*args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    return subprocess.run([sys.executable, "-m", "unet_tutorial", *args], capture_output=True, text=True, env=env, timeout=120)


def test_subprocess_smoke(tmp_path, weights, images) -> None:
    out = tmp_path / "out"
    result = run_cli("predict", "--weights", str(weights), "--out", str(out), "--tile-size", "52", str(images["tiff16"]))
    assert result.returncode == 0, result.stderr
    assert listing(out) == ["deep_mask.png", "deep_prob.tif"]


def test_subprocess_error_is_one_line_without_traceback(tmp_path, weights) -> None:
    result = run_cli("predict", "--weights", str(weights), "--out", str(tmp_path / "out"), str(tmp_path / "missing.png"))
    assert result.returncode == 2
    assert result.stderr.strip().count("\n") == 0 and "Traceback" not in result.stderr
    assert "missing.png" in result.stderr and "not found" in result.stderr


def check_error(capsys, argv: list[str], *fragments: str) -> None:
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("unet_tutorial predict: error:") and err.count("\n") == 1, err
    for fragment in fragments:
        assert fragment in err, err


def test_missing_image_writes_nothing(tmp_path, weights, images, capsys) -> None:
    out = tmp_path / "out"
    argv = ["predict", "--weights", str(weights), "--out", str(out), str(images["gray"]), str(tmp_path / "nope.png")]
    check_error(capsys, argv, "nope.png", "not found")
    assert listing(out) == []


def test_unreadable_image_writes_nothing(tmp_path, weights, images, capsys) -> None:
    bad = tmp_path / "broken.png"
    bad.write_bytes(b"\x89PNG\r\n\x1a\n this is not a png")
    out = tmp_path / "out"
    check_error(capsys, ["predict", "--weights", str(weights), "--out", str(out), str(images["gray"]), str(bad)], "cannot read image", "broken.png")
    assert listing(out) == []


def test_image_stack_is_rejected(tmp_path, weights, capsys) -> None:
    stack = tmp_path / "stack.tif"
    tifffile.imwrite(stack, np.zeros((5, 20, 20), np.uint8))
    check_error(capsys, ["predict", "--weights", str(weights), "--out", str(tmp_path / "o"), str(stack)], "stack.tif", "shape (5, 20, 20)")


def test_missing_and_corrupt_weights(tmp_path, images, capsys) -> None:
    out = tmp_path / "out"
    check_error(capsys, ["predict", "--weights", str(tmp_path / "none.pt"), "--out", str(out), str(images["gray"])], "weights file not found", "none.pt")
    corrupt = tmp_path / "corrupt.pt"
    corrupt.write_bytes(os.urandom(200))
    check_error(capsys, ["predict", "--weights", str(corrupt), "--out", str(out), str(images["gray"])], "cannot load weights", "corrupt.pt")
    other = tmp_path / "other.pt"
    torch.save({"something": 1}, other)
    check_error(capsys, ["predict", "--weights", str(other), "--out", str(out), str(images["gray"])], "cannot load weights", "'unet'")
    assert listing(out) == []


def test_output_folder_that_cannot_be_created(tmp_path, weights, images, capsys) -> None:
    blocker = tmp_path / "a_file"
    blocker.write_text("not a folder")
    check_error(capsys, ["predict", "--weights", str(weights), "--out", str(blocker / "out"), str(images["gray"])], "cannot create output folder")


def test_bad_options(tmp_path, weights, images, capsys) -> None:
    base = ["predict", "--weights", str(weights), "--out", str(tmp_path / "out")]
    check_error(capsys, [*base, "--tile-size", "50", str(images["gray"])], "nearest valid sizes")
    check_error(capsys, [*base, "--threshold", "2", str(images["gray"])], "--threshold")
    check_error(capsys, [*base, "--device", "abacus", str(images["gray"])], "not a valid torch device")
    twin = tmp_path / "twin"
    twin.mkdir()
    skimage.io.imsave(twin / "gray.png", np.zeros((8, 8), np.uint8), check_contrast=False)
    check_error(capsys, [*base, str(images["gray"]), str(twin / "gray.png")], "share the name 'gray'")
    assert listing(tmp_path / "out") == []


def test_usage_errors_exit_2(capsys) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["predict"])
    assert exc.value.code == 2
    with pytest.raises(SystemExit) as exc:
        main([])
    assert exc.value.code == 2


def test_failed_write_leaves_no_partial_file(tmp_path, weights, images, capsys, monkeypatch) -> None:
    def half_write(path, data, **kwargs):
        Path(path).write_bytes(b"II*\x00 half a tiff")
        raise OSError("disk full")

    monkeypatch.setattr(tifffile, "imwrite", half_write)
    out = tmp_path / "out"
    check_error(capsys, ["predict", "--weights", str(weights), "--out", str(out), "--quiet", str(images["gray"])], "disk full")
    assert listing(out) == []  # neither the half-written file nor its temporary name


def test_api_and_command_line_agree_on_integer_images(tmp_path, weights, model, images):
    """The same 8- and 16-bit files give the same probabilities through predict_tiled (raw arrays)
    and the predict command: integers are scaled by their dtype's maximum in both."""
    out = tmp_path / "out"
    assert main(["predict", "--weights", str(weights), "--out", str(out), "--quiet",
                 str(images["gray"]), str(images["tiff16"])]) == 0
    for key, stem in (("gray", "gray"), ("tiff16", "deep")):
        raw = tifffile.imread(images[key]) if key == "tiff16" else skimage.io.imread(images[key])
        assert raw.dtype.kind == "u"
        api = predict_tiled(model, raw)[1]  # the integer array as it is in the file
        cli = tifffile.imread(out / f"{stem}_prob.tif")
        assert np.abs(api - cli).max() <= 1e-6


def test_weights_by_the_name_of_a_committed_model(tmp_path, monkeypatch, model, images):
    """--weights accepts the name of a model in results/ as well as a path."""
    from unet_tutorial.predict import resolve_weights

    results = tmp_path / "results"
    (results / "my-model").mkdir(parents=True)
    save_model(model, results / "my-model" / "model.pt")
    monkeypatch.setenv("UNET_TUTORIAL_RESULTS", str(results))
    assert resolve_weights("my-model") == results / "my-model" / "model.pt"
    out = tmp_path / "out"
    assert main(["predict", "--weights", "my-model", "--out", str(out), "--quiet", str(images["gray"])]) == 0
    assert (out / "gray_prob.tif").is_file()
    with pytest.raises(FileNotFoundError, match=r"neither a file nor the name of a model.*models there: my-model"):
        resolve_weights("no-such-model")
