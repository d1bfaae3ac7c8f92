"""ONNX export, the onnxruntime backend of overlap-tile prediction, and bioimage.io packages."""

from __future__ import annotations

import json
import zipfile

import numpy as np
import pytest
import torch

onnx = pytest.importorskip("onnx", reason="the export needs onnx (requirements.txt)")
pytest.importorskip("onnxruntime", reason="the backend needs onnxruntime (requirements.txt)")

from unet_tutorial.__main__ import main  # noqa: E402
from unet_tutorial.checkpoint import save_model  # noqa: E402
from unet_tutorial.export import export_bioimageio, export_onnx, valid_size_rule, validate_bioimageio  # noqa: E402
from unet_tutorial.inference import predict_tiled  # noqa: E402
from unet_tutorial.inference import size_rule  # noqa: E402
from unet_tutorial.inference.onnx_backend import OnnxPredictor  # noqa: E402
from unet_tutorial.model import UNet  # noqa: E402


@pytest.fixture(scope="module")
def tiny():
    """A small trained-looking network (random weights, no drop-out) with a threshold and a normalisation."""
    torch.manual_seed(0)
    net = UNet(base_channels=4, depth=2, dropout=0.0).eval()
    net.threshold, net.normalize = 0.6, "percentile"
    return net


@pytest.fixture(scope="module")
def onnx_file(tiny, tmp_path_factory):
    return export_onnx(tiny, tmp_path_factory.mktemp("onnx") / "tiny.onnx")


def test_the_size_rule_is_the_networks(tiny):
    first, step = valid_size_rule(tiny)
    assert step == 4 and tiny.output_size(first) >= 1
    assert all(tiny.is_valid_input_size(first + k * step) for k in range(10))
    assert not any(tiny.is_valid_input_size(s) for s in range(1, first))
    assert not any(tiny.is_valid_input_size(first + k * step + 1) for k in range(10))
    assert valid_size_rule(UNet(base_channels=2)) == (188, 16)  # the paper's depth


def test_onnx_probabilities_equal_pytorch_on_every_valid_size(tiny, onnx_file):
    net = OnnxPredictor(onnx_file)
    first, step = valid_size_rule(tiny)
    rng = np.random.default_rng(0)
    for k, batch in ((0, 1), (3, 2), (11, 3)):  # sizes other than the traced example, and batches
        x = torch.from_numpy(rng.random((batch, 1, first + k * step, first + (k + 1) * step)).astype(np.float32))
        with torch.no_grad():
            expected = torch.softmax(tiny(x), dim=1)
        got = net(x)  # the probabilities the file computes, used as they are (outputs = "probabilities")
        assert got.shape == expected.shape
        assert torch.allclose(got, expected, atol=1e-5)


def test_the_onnx_predictor_is_a_plain_callable_with_the_networks_size_rule(tiny, onnx_file):
    net = OnnxPredictor(onnx_file)
    assert not isinstance(net, torch.nn.Module) and net.outputs == "probabilities"
    rule = size_rule(net)
    first, step = valid_size_rule(tiny)
    assert (rule.border, rule.depth, rule.padding) == (tiny.border, tiny.depth, tiny.padding)
    assert [rule.output_size(first + k * step) for k in range(4)] == [tiny.output_size(first + k * step)
                                                                       for k in range(4)]
    with pytest.raises(ValueError, match="valid"):
        rule.output_size(first + 1)


def test_overlap_tile_on_onnxruntime_equals_pytorch(tiny, onnx_file):
    net = OnnxPredictor(onnx_file)
    assert (net.threshold, net.normalize, net.border, net.depth) == (0.6, "percentile", tiny.border, 2)
    image = (np.random.default_rng(1).random((90, 131)) * 0.2).astype(np.float32)
    for tile in (None, 60):
        a = predict_tiled(tiny, image, tile_size=tile)
        b = predict_tiled(net, image, tile_size=tile)
        assert np.abs(a - b).max() <= 1e-4
    with pytest.raises(ValueError, match="valid"):
        predict_tiled(net, image, tile_size=61)


def test_the_backend_rejects_files_it_cannot_tile(tmp_path, tiny):
    with pytest.raises(FileNotFoundError, match="ONNX file not found"):
        OnnxPredictor(tmp_path / "none.onnx")
    save_model(tiny, tmp_path / "model.pt")
    with pytest.raises(ValueError, match="not a readable ONNX file.*export --format onnx"):
        OnnxPredictor(tmp_path / "model.pt")
    from onnx import TensorProto, helper

    graph = helper.make_graph([helper.make_node("Identity", ["x"], ["y"])], "g",
                              [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1])])
    onnx.save(helper.make_model(graph), str(tmp_path / "other.onnx"))
    with pytest.raises(ValueError, match="no 'unet_tutorial' metadata"):
        OnnxPredictor(tmp_path / "other.onnx")
    with pytest.raises(ValueError, match="valid-padding"):
        export_onnx(UNet(base_channels=2, depth=2, padding="same"), tmp_path / "same.onnx")
    with pytest.raises(ValueError, match="expected a unet_tutorial.model.UNet"):
        export_onnx(torch.nn.Conv2d(1, 2, 3), tmp_path / "conv.onnx")


def test_export_and_predict_commands_agree_across_backends(tiny, tmp_path, capsys):
    import tifffile
    from skimage.io import imsave

    save_model(tiny, tmp_path / "m.pt", threshold=tiny.threshold, normalize=tiny.normalize)
    image = (np.random.default_rng(2).random((70, 85)) * 40).astype(np.uint8)
    imsave(tmp_path / "cells.png", image, check_contrast=False)
    assert main(["export", "--format", "onnx", str(tmp_path / "m.pt"), str(tmp_path / "m.onnx")]) == 0
    for backend, weights in (("torch", "m.pt"), ("onnxruntime", "m.onnx")):
        assert main(["predict", str(tmp_path / "cells.png"), "--weights", str(tmp_path / weights),
                     "--backend", backend, "--out", str(tmp_path / backend), "--quiet", "--instances"]) == 0
    a, b = (tifffile.imread(tmp_path / d / "cells_prob.tif") for d in ("torch", "onnxruntime"))
    assert a.shape == image.shape and np.abs(a - b).max() <= 1e-4
    capsys.readouterr()
    assert main(["predict", str(tmp_path / "cells.png"), "--weights", str(tmp_path / "m.pt"),
                 "--backend", "onnxruntime", "--out", str(tmp_path / "x")]) == 2
    assert "not a readable ONNX file" in capsys.readouterr().err


@pytest.fixture(scope="module")
def package(tiny, tmp_path_factory):
    pytest.importorskip("bioimageio.core", reason="the bioimage.io export needs bioimageio.core (requirements.txt)")
    return export_bioimageio(tiny, tmp_path_factory.mktemp("bioimageio") / "tiny.zip", name="tiny test model",
                             description="A tiny U-Net with random weights, for the tests.")


def test_the_bioimageio_package_validates_and_reproduces_its_test_tensors(package):
    summary = validate_bioimageio(package)
    assert summary.status == "passed", summary.format()


def test_the_bioimageio_package_states_the_size_rule_halo_and_preprocessing(tiny, package):
    import yaml

    with zipfile.ZipFile(package) as z:
        names = set(z.namelist())
        rdf = yaml.safe_load(z.read("rdf.yaml"))
        test_in = np.load(z.open("test_input.npy"))
    assert {"weights.onnx", "test_input.npy", "test_output.npy", "README.md"} <= names
    first, step = valid_size_rule(tiny)
    (inp,), (out,) = rdf["inputs"], rdf["outputs"]
    y_in = next(a for a in inp["axes"] if a.get("id") == "y")
    assert y_in["size"] == {"min": first, "step": step}
    y_out = next(a for a in out["axes"] if a.get("id") == "y")
    assert y_out["size"]["offset"] == -2 * tiny.border
    steps = [p["id"] for p in inp["preprocessing"] if p["id"] != "ensure_dtype"]
    assert steps == ["scale_range", "clip"]
    scale = next(p for p in inp["preprocessing"] if p["id"] == "scale_range")
    assert (scale["kwargs"]["min_percentile"], scale["kwargs"]["max_percentile"]) == (1.0, 99.8)
    assert rdf["license"] == "MIT" and rdf["cite"][0]["doi"] == "10.1007/978-3-319-24574-4_28"
    assert test_in.shape[:2] == (1, 1) and tiny.is_valid_input_size(test_in.shape[-1])


def test_the_export_command_validates_the_package(tiny, tmp_path, capsys):
    pytest.importorskip("bioimageio.core")
    net = UNet(base_channels=2, depth=2, dropout=0.0)
    save_model(net, tmp_path / "plain.pt")
    code = main(["export", "--format", "bioimageio", str(tmp_path / "plain.pt"), str(tmp_path / "plain.zip")])
    out = capsys.readouterr().out
    assert code == 0 and "bioimageio.core test: passed" in out
    with zipfile.ZipFile(tmp_path / "plain.zip") as z:
        meta = json.loads(onnx.load_from_string(z.read("weights.onnx")).metadata_props[0].value)
    assert meta["normalize"] == "none" and meta["threshold"] is None
    assert main(["export", "--format", "onnx", "no-such-model", str(tmp_path / "x.onnx")]) == 2
    assert "weights not found" in capsys.readouterr().err
