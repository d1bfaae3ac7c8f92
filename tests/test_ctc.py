"""Tests of unet_tutorial.data.load_ctc on small Cell Tracking Challenge-like folders.

The files are written here with tifffile into ``tmp_path`` (tiny synthetic frames and
labels); the real challenge data is never needed.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import tifffile

from unet_tutorial.data import CTC_WEBSITE, DATA_ENV_VAR, load_ctc

DATASET = "PhC-C2DH-U373"


def _frame(k: int, shape=(12, 16), dtype=np.uint8) -> np.ndarray:
    """A frame whose pixels all encode its frame number (to check the pairing)."""
    return np.full(shape, 10 * k + 5, dtype=dtype)


def _labels(k: int, shape=(12, 16), dtype=np.uint16) -> np.ndarray:
    """Instance labels with ``k + 1`` cells: cell ids 1..k+1 in the first row."""
    lab = np.zeros(shape, dtype=dtype)
    lab[0, : k + 1] = np.arange(1, k + 2)
    return lab


def _write_sequence(root: Path, frames: dict[str, np.ndarray], masks: dict[str, np.ndarray],
                    dataset: str = DATASET, sequence: str = "01") -> Path:
    raw = root / dataset / sequence
    seg = root / dataset / f"{sequence}_GT" / "SEG"
    raw.mkdir(parents=True)
    seg.mkdir(parents=True)
    for name, a in frames.items():
        tifffile.imwrite(raw / name, a, photometric="minisblack")
    for name, a in masks.items():
        tifffile.imwrite(seg / name, a, photometric="minisblack")
    return root


@pytest.fixture
def ctc_root(tmp_path: Path) -> Path:
    """Five frames t000..t004, of which frames 1 and 3 are annotated (partial annotation)."""
    frames = {f"t{k:03d}.tif": _frame(k) for k in range(5)}
    masks = {f"man_seg{k:03d}.tif": _labels(k) for k in (3, 1)}
    return _write_sequence(tmp_path, frames, masks)


def _frame_number(image: np.ndarray) -> int:
    value = int(round(float(image[0, 0]) * 255))
    return (value - 5) // 10


def test_pairs_annotated_frames_by_number(ctc_root):
    pairs = load_ctc(ctc_root, DATASET, "01")
    assert [_frame_number(im) for im, _ in pairs] == [1, 3]
    for (image, inst), k in zip(pairs, (1, 3)):
        assert image.dtype == np.float32 and image.shape == (12, 16)
        assert inst.dtype == np.int32 and inst.shape == (12, 16)
        # the label of frame k has k + 1 cells: frame and label belong together
        assert inst.max() == k + 1 and len(np.unique(inst)) == k + 2


def test_all_frames_with_none_for_unannotated(ctc_root):
    pairs = load_ctc(ctc_root, DATASET, "01", annotated_only=False)
    assert [_frame_number(im) for im, _ in pairs] == [0, 1, 2, 3, 4]
    assert [inst is not None for _, inst in pairs] == [False, True, False, True, False]
    assert pairs[3][1].max() == 4


def test_8bit_is_divided_by_255(ctc_root):
    image, _ = load_ctc(ctc_root, DATASET, "01")[0]
    np.testing.assert_allclose(image, 15 / 255, rtol=1e-6)


def test_four_digit_names_and_mixed_widths(tmp_path):
    frames = {"t0000.tif": _frame(0), "t0001.tif": _frame(1), "t012.tif": _frame(12)}
    masks = {"man_seg0012.tif": _labels(12), "man_seg001.tif": _labels(1)}
    root = _write_sequence(tmp_path, frames, masks, sequence="02")
    pairs = load_ctc(root, DATASET, 2)  # an int sequence is formatted as "02"
    assert [_frame_number(im) for im, _ in pairs] == [1, 12]
    assert [inst.max() for _, inst in pairs] == [2, 13]


def test_numeric_not_lexicographic_order(tmp_path):
    frames = {f"t{k:03d}.tif": _frame(k) for k in (2, 10, 9)}
    masks = {f"man_seg{k:03d}.tif": _labels(k) for k in (10, 2, 9)}
    pairs = load_ctc(_write_sequence(tmp_path, frames, masks), DATASET)
    assert [_frame_number(im) for im, _ in pairs] == [2, 9, 10]


def test_16bit_percentile_and_dtype_normalisation(tmp_path):
    ramp = (np.arange(12 * 16, dtype=np.uint16).reshape(12, 16) * 10 + 1000)  # 1000..2910, 12-bit-like
    root = _write_sequence(tmp_path, {"t000.tif": ramp}, {"man_seg000.tif": _labels(0)})
    auto, _ = load_ctc(root, DATASET)[0]
    assert auto.dtype == np.float32
    assert auto.min() == 0.0 and auto.max() == 1.0  # stretched, clipped at the percentiles
    assert np.all(np.diff(auto.ravel()) >= 0)  # monotone in the raw value
    lo, hi = np.percentile(ramp, (1.0, 99.8))
    np.testing.assert_allclose(auto[5, 5], (ramp[5, 5] - lo) / (hi - lo), rtol=1e-5)
    by_dtype, _ = load_ctc(root, DATASET, normalize="dtype")[0]
    np.testing.assert_allclose(by_dtype, ramp / 65535.0, rtol=1e-6)


def test_missing_data_names_layout_and_website(tmp_path):
    with pytest.raises(FileNotFoundError) as err:
        load_ctc(tmp_path, "DIC-C2DH-HeLa", "01")
    msg = str(err.value)
    assert "DIC-C2DH-HeLa" in msg and "01_GT/SEG/man_seg000.tif" in msg
    assert CTC_WEBSITE in msg and "checksum" in msg


def test_missing_ground_truth_folder(tmp_path):
    (tmp_path / DATASET / "01").mkdir(parents=True)
    tifffile.imwrite(tmp_path / DATASET / "01" / "t000.tif", _frame(0))
    with pytest.raises(FileNotFoundError, match="SEG"):
        load_ctc(tmp_path, DATASET)
    # a sequence without ground truth still loads its frames when not restricted to them
    pairs = load_ctc(tmp_path, DATASET, annotated_only=False)
    assert len(pairs) == 1 and pairs[0][1] is None


def test_label_without_frame(tmp_path):
    root = _write_sequence(tmp_path, {"t000.tif": _frame(0)}, {"man_seg005.tif": _labels(5)})
    with pytest.raises(FileNotFoundError, match="man_seg005.tif"):
        load_ctc(root, DATASET)


def test_empty_sequence(tmp_path):
    root = _write_sequence(tmp_path, {}, {})
    with pytest.raises(FileNotFoundError, match="no raw frame"):
        load_ctc(root, DATASET)


def test_duplicate_frame_number(tmp_path):
    frames = {"t001.tif": _frame(1), "t0001.tif": _frame(1)}
    root = _write_sequence(tmp_path, frames, {"man_seg001.tif": _labels(1)})
    with pytest.raises(ValueError, match="appears twice"):
        load_ctc(root, DATASET)


def test_shape_mismatch(tmp_path):
    root = _write_sequence(tmp_path, {"t000.tif": _frame(0)}, {"man_seg000.tif": _labels(0, shape=(12, 15))})
    with pytest.raises(ValueError, match="shape"):
        load_ctc(root, DATASET)


def test_float_labels_rejected(tmp_path):
    labels = _labels(1).astype(np.float32)
    root = _write_sequence(tmp_path, {"t001.tif": _frame(1)}, {"man_seg001.tif": labels})
    with pytest.raises(ValueError, match="integers"):
        load_ctc(root, DATASET)


def test_negative_labels_rejected(tmp_path):
    labels = _labels(1, dtype=np.int16)
    labels[5, 5] = -3
    root = _write_sequence(tmp_path, {"t001.tif": _frame(1)}, {"man_seg001.tif": labels})
    with pytest.raises(ValueError, match="instance ids"):
        load_ctc(root, DATASET)


def test_3d_frame_rejected(tmp_path):
    stack = np.zeros((3, 12, 16), np.uint8)
    root = _write_sequence(tmp_path, {"t000.tif": stack}, {"man_seg000.tif": np.zeros((3, 12, 16), np.uint16)})
    with pytest.raises(ValueError, match="2-D"):
        load_ctc(root, DATASET)


@pytest.mark.parametrize("kwargs, match", [
    ({"sequence": "1a"}, "sequence"),
    ({"sequence": None}, "sequence"),
    ({"normalize": "minmax"}, "normalize"),
    ({"dataset": "a/b"}, "dataset"),
])
def test_bad_arguments(ctc_root, kwargs, match):
    with pytest.raises(ValueError, match=match):
        load_ctc(ctc_root, **{"dataset": DATASET, **kwargs})


def test_data_dir_from_environment(ctc_root, monkeypatch):
    monkeypatch.setenv(DATA_ENV_VAR, str(ctc_root))
    assert len(load_ctc(dataset=DATASET)) == 2
