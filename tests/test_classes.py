"""K-class segmentation from a folder, end to end: the seams of data, training, prediction,
metrics and export hold for more than two classes (masks with class labels 0..K-1)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import tifffile
from PIL import Image

from folder_helpers import write, write_palette
from unet_tutorial.__main__ import main
from unet_tutorial.checkpoint import load_model
from unet_tutorial.data.folder import decode_mask, folder_train_data
from unet_tutorial.doctor import diagnose, has_errors
from unet_tutorial.metrics import class_iou
from unet_tutorial.weights import class_label_weight_map

K = 3
NAMES = "background,disc,square"


def three_class_pair(seed: int, size: int = 72) -> tuple[np.ndarray, np.ndarray]:
    """A *synthetic* image with bright discs (class 1) and mid-gray squares (class 2) on a dark
    background, and its label mask (uint8 0/1/2)."""
    rng = np.random.default_rng(seed)
    labels = np.zeros((size, size), np.uint8)
    yy, xx = np.mgrid[:size, :size]
    for _ in range(3):
        cy, cx = rng.integers(10, size - 10, 2)
        labels[(yy - cy) ** 2 + (xx - cx) ** 2 <= 36] = 1
    for _ in range(2):
        y, x = rng.integers(4, size - 14, 2)
        labels[y:y + 10, x:x + 10] = 2
    image = np.array([0.1, 0.9, 0.5])[labels] + rng.normal(0, 0.03, labels.shape)
    return (np.clip(image, 0, 1) * 255).astype(np.uint8), labels


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    for i in range(6):
        image, labels = three_class_pair(i)
        write(tmp_path / "data" / "images" / f"im{i}.png", image)
        write(tmp_path / "data" / "masks" / f"im{i}.png", labels)
    return tmp_path / "data"


def test_class_masks_are_decoded_as_labels_and_bad_values_are_named():
    labels = np.array([[0, 1], [2, 2]], np.uint8)
    decoded = decode_mask(labels, classes=3)
    assert decoded.encoding == "classes" and np.array_equal(decoded.mask, labels) and decoded.instances is None
    with pytest.raises(ValueError, match=r"values \[3\] outside the class labels 0..2"):
        decode_mask(np.array([[0, 3]], np.uint8), classes=3)
    with pytest.raises(ValueError, match="0/255 mask is binary"):
        decode_mask(np.array([[0, 255]], np.uint8), classes=3)
    with pytest.raises(ValueError, match="colour"):
        decode_mask(np.stack([labels, labels * 0, labels], -1), classes=3)
    # without classes the same file is read as instance labels (the binary/instance rules)
    assert decode_mask(labels).encoding == "instances"


def test_palette_class_masks(tmp_path):
    labels = np.array([[0, 1, 2]] * 4, np.uint8)
    path = write_palette(tmp_path / "m.png", labels, [0, 0, 0, 255, 0, 0, 0, 255, 0])
    from unet_tutorial.data.folder import read_mask

    assert np.array_equal(read_mask(path, classes=3).mask, labels)


def test_class_weights_balance_every_class():
    labels = np.array([[0, 0, 0, 1], [0, 0, 0, 2]], np.uint8)
    w = class_label_weight_map(labels, 3)
    assert w.mean() == pytest.approx(1.0)
    assert [w[labels == k].sum() for k in range(3)] == pytest.approx([8 / 3] * 3)  # equal share per class
    assert np.all(class_label_weight_map(labels, 3, balanced=False) == 1)


def test_class_iou_pools_counts_and_marks_absent_classes():
    truth = np.array([[0, 1], [1, 1]])
    pred = np.array([[0, 1], [0, 1]])
    iou = class_iou([pred, pred], [truth, truth], 3)
    assert iou[0] == pytest.approx(1 / 2) and iou[1] == pytest.approx(2 / 3) and np.isnan(iou[2])
    with pytest.raises(ValueError, match="outside the class labels"):
        class_iou(pred + 2, truth, 3)


def test_doctor_checks_class_masks(folder, tmp_path):
    findings = diagnose(folder, classes=K)
    assert not has_errors(findings)
    assert any("class labels (0:" in f.problem for f in findings)
    write(folder / "masks" / "im0.png", np.full((72, 72), 7, np.uint8))
    errors = [f for f in diagnose(folder, classes=K) if f.severity == "error"]
    assert errors and "outside the class labels 0..2" in errors[0].problem
    assert main(["doctor", str(folder), "--classes", "3"]) == 1


def test_folder_split_holds_class_labels(folder):
    data = folder_train_data(folder, val_fraction=0.34, classes=K)
    assert data.num_classes == K and len(data.val_images) == 2
    assert {int(v) for lab in data.labels for v in np.unique(lab)} == {0, 1, 2}


def test_three_classes_train_predict_and_export_end_to_end(folder, tmp_path):
    """train --classes 3 → model.pt with the class names → predict (label map, K probabilities) → ONNX."""
    out = tmp_path / "run"
    args = ["train", "--data", str(folder), "--classes", "3", "--class-names", NAMES, "--out", str(out),
            "--steps", "150", "--no-progress", "--val-fraction", "0.34", "--set", "class_weights='balanced'",
            "--set", "base_channels=8", "--set", "depth=2", "--set", "tile_size=92",
            "--set", "optimizer='adam'", "--set", "lr=0.003", "--set", "dropout=0.0", "--set", "val_every=50",
            "--set", "augment='flips'", "--set", "precision='fp32'", "--set", "device='cpu'"]
    assert main(args) == 0
    import json

    history = json.loads((out / "history.json").read_text())
    assert {"iou_background", "iou_disc", "iou_square", "miou"} <= set(history["val"])
    model = load_model(out / "model.pt")
    assert model.num_classes == K and model.protocol.class_names == tuple(NAMES.split(","))
    # after 150 steps the network tells the three gray levels apart on held-out images
    assert history["val"]["miou"][-1] > 0.5, history["val"]

    image, labels = three_class_pair(99)
    write(tmp_path / "new" / "new.png", image)
    pred_dir = tmp_path / "pred"
    assert main(["predict", str(tmp_path / "new" / "new.png"), "--weights", str(out / "model.pt"),
                 "--out", str(pred_dir), "--quiet"]) == 0
    label_map = np.asarray(Image.open(pred_dir / "new_labels.png"))
    probs = tifffile.imread(pred_dir / "new_prob.tif")
    assert label_map.shape == labels.shape and probs.shape == (K, *labels.shape)
    assert np.allclose(probs.sum(0), 1, atol=1e-4) and np.array_equal(label_map, probs.argmax(0))
    assert class_iou(label_map, labels, K)[1:].mean() > 0.5
    # a threshold or instances make no sense for a K-class label map: refused with a reason
    assert main(["predict", str(tmp_path / "new" / "new.png"), "--weights", str(out / "model.pt"),
                 "--out", str(pred_dir), "--instances", "--quiet"]) == 2

    pytest.importorskip("onnxruntime")
    from unet_tutorial.export import export_onnx
    from unet_tutorial.inference import predict_tiled
    from unet_tutorial.inference.onnx_backend import OnnxPredictor

    onnx = OnnxPredictor(export_onnx(model, tmp_path / "m.onnx"))
    assert onnx.protocol.class_names == tuple(NAMES.split(",")) and onnx.num_classes == K
    x = image.astype(np.float32) / 255
    assert np.allclose(predict_tiled(onnx, x), predict_tiled(model, x), atol=1e-4)


def test_class_configuration_errors(folder, tmp_path):
    from unet_tutorial.config import get_config

    with pytest.raises(ValueError, match="border_weights = false"):
        get_config("cpu", num_classes=3, border_weights=True)
    with pytest.raises(ValueError, match="must list 3 distinct names"):
        get_config("cpu", num_classes=3, border_weights=False, class_names="a,b")
    # a binary configuration on a 3-class folder says how to fix it
    from unet_tutorial.train import train

    with pytest.raises(ValueError, match="--classes 3"):
        train(get_config("cpu", steps=1, base_channels=2, depth=2, tile_size=92),
              data=folder_train_data(folder, classes=K), progress=False)
    assert main(["train", "--data", "synthetic", "--classes", "3", "--out", str(tmp_path / "o")]) == 2
