"""Tests of unet_tutorial.data.load_ctc and fetch_ctc (Cell Tracking Challenge, Table 2).

Most tests write tiny synthetic sequences with tifffile into ``tmp_path``. The tests
marked ``data`` read the pinned copies of PhC-C2DH-U373 and DIC-C2DH-HeLa (a folder
``<data dir>/<dataset>/`` holding ``PROVENANCE.tsv``, from ``UNET_TUTORIAL_DATA`` or
``/work/shared/data``) and are skipped without them. No test touches the network: the
downloads get a pooch downloader that copies from the local copy (or writes wrong
bytes), and pooch's HTTP downloader is disabled.
"""

from __future__ import annotations

import csv
import hashlib
import os
from pathlib import Path

import numpy as np
import pooch
import pytest
import tifffile

from unet_tutorial.data import (
    CTC_WEBSITE,
    DATA_ENV_VAR,
    Samples,
    fetch_ctc,
    load_ctc,
)
from unet_tutorial.data import ctc as ctc_module
from unet_tutorial.data._ctc_pinned import _WEBSITE, _ctc_manifest, _pinned_datasets
from unet_tutorial.weights import separation_mask

DATASET = "PhC-C2DH-U373"
U373, HELA = "PhC-C2DH-U373", "DIC-C2DH-HeLa"
U373_GOLD_FRAMES = (10, 17, 19, 20, 22, 26, 35, 36, 41, 49, 51, 52, 59, 74, 77, 85, 92, 106, 112)
# Checksums (digest) of the pinned copies as load_ctc returned them before it returned Samples
# (a CTCSequence of stacked frames): the data must stay bit-identical, in the same order.
U373_GOLD_IMAGES_SHA256 = "34f4c1d172746ec4c1c44aeb86aa7b026281cab31178150f22d9c2a4335ac3a2"
U373_GOLD_INSTANCES_SHA256 = "5ea4128c53f6c2567e99a0b5b09fc954df05cd2cbfd9a701a6f7ba80740a636d"
U373_GOLD_MASKS_SHA256 = "5748f720f9d4c5d7de6ecc1f2410029cef2f97eda5d747e4fdfec440170cb1ac"  # separation masks
HELA_0_40_83_IMAGES_SHA256 = "6ec03c666a6706c923da295a4ded74740fea25d255fec1cd64d5a44f3547deeb"
HELA_0_40_83_INSTANCES_SHA256 = "a5ea76e68700953edd215b6daf0d68ebe9179ae0acbce2ed40cc69e9f22c4286"
_METADATA = {"README.md", "PROVENANCE.tsv", "SHA256SUMS"}


@pytest.fixture(autouse=True)
def _no_network(monkeypatch):
    """Any HTTP download by pooch fails the test."""

    def refuse(self, url, output_file, pooch_instance, check_only=False):
        raise AssertionError(f"a test tried to download {url}")

    monkeypatch.setattr(pooch.HTTPDownloader, "__call__", refuse)


# ---------------------------------------------------------------------- synthetic sequences


def _frame(k: int, shape=(12, 16), dtype=np.uint8) -> np.ndarray:
    """A frame whose pixels all encode its frame number (to check the pairing)."""
    return np.full(shape, 10 * k + 5, dtype=dtype)


def _labels(k: int, shape=(12, 16), dtype=np.uint16) -> np.ndarray:
    """Instance labels with ``k + 1`` cells: cell ids 1..k+1 in the first row."""
    lab = np.zeros(shape, dtype=dtype)
    lab[0, : k + 1] = np.arange(1, k + 2)
    return lab


def _write_sequence(root: Path, frames: dict[str, np.ndarray], masks: dict[str, np.ndarray],
                    dataset: str = DATASET, sequence: str = "01", suffix: str = "GT") -> Path:
    raw = root / dataset / sequence
    seg = root / dataset / f"{sequence}_{suffix}" / "SEG"
    raw.mkdir(parents=True, exist_ok=True)
    seg.mkdir(parents=True, exist_ok=True)
    for name, a in frames.items():
        tifffile.imwrite(raw / name, a, photometric="minisblack")
    for name, a in masks.items():
        tifffile.imwrite(seg / name, a, photometric="minisblack")
    return root


@pytest.fixture
def ctc_root(tmp_path: Path) -> Path:
    """Five frames t000..t004; gold masks of frames 1 and 3 (partial), silver masks of 0..4."""
    frames = {f"t{k:03d}.tif": _frame(k) for k in range(5)}
    _write_sequence(tmp_path, frames, {f"man_seg{k:03d}.tif": _labels(k) for k in (3, 1)})
    return _write_sequence(tmp_path, {}, {f"man_seg{k:03d}.tif": _labels(k) for k in range(5)}, suffix="ST")


def _frame_number(image: np.ndarray) -> int:
    value = int(round(float(image[0, 0]) * 255))
    return (value - 5) // 10



def test_gold_pairs_annotated_frames_by_number(ctc_root):
    seq = load_ctc(DATASET, "01", root=ctc_root)
    assert isinstance(seq, Samples) and seq.name == f"{DATASET}/01" and seq.num_classes == 2
    assert seq.detail == {"truth": "gold", "partial": True}
    assert seq.ids == (1, 3) and len(seq) == 2
    assert [_frame_number(im) for im in seq.images] == [1, 3]
    assert all(im.dtype == np.float32 and im.shape == (12, 16) for im in seq.images)
    assert all(inst.dtype == np.int32 and inst.shape == (12, 16) for inst in seq.instances)
    for image, inst, mask, k in zip(seq.images, seq.instances, seq.masks, (1, 3)):
        # the label of frame k has k + 1 cells: frame and label belong together
        assert _frame_number(image) == k and inst.max() == k + 1 and len(np.unique(inst)) == k + 2
        # the training target: the separation mask of the instances (Fig. 3c)
        assert mask.dtype == np.uint8 and np.array_equal(mask, separation_mask(inst))
    assert seq.masks[1][0, :4].tolist() == [0, 0, 0, 0]  # cells 1..4 of frame 3 touch in a row: all border
    with pytest.raises(AttributeError):
        seq.detail = {}  # frozen


def test_silver_truth_and_frames(ctc_root):
    seq = load_ctc(DATASET, "01", truth="silver", root=ctc_root)
    assert seq.detail == {"truth": "silver", "partial": False}
    assert seq.ids == (0, 1, 2, 3, 4)
    assert [int(m.max()) for m in seq.instances] == [1, 2, 3, 4, 5]
    some = load_ctc(DATASET, "01", truth="silver", root=ctc_root, frames=[4, 0])
    assert some.ids == (4, 0) and [_frame_number(im) for im in some.images] == [4, 0]
    with pytest.raises(FileNotFoundError, match=r"without a gold mask.*\[2\]"):
        load_ctc(DATASET, "01", root=ctc_root, frames=[1, 2])
    with pytest.raises(ValueError, match="distinct"):
        load_ctc(DATASET, "01", root=ctc_root, frames=[1, 1])


def test_8bit_is_divided_by_255(ctc_root):
    seq = load_ctc(DATASET, 1, root=ctc_root)  # an int sequence is formatted as "01"
    np.testing.assert_allclose(seq.images[0], 15 / 255, rtol=1e-6)


def test_four_digit_names_and_mixed_widths(tmp_path):
    frames = {"t0000.tif": _frame(0), "t0001.tif": _frame(1), "t012.tif": _frame(12)}
    masks = {"man_seg0012.tif": _labels(12), "man_seg001.tif": _labels(1)}
    root = _write_sequence(tmp_path, frames, masks, sequence="02")
    seq = load_ctc(DATASET, 2, root=root)
    assert seq.ids == (1, 12) and [_frame_number(im) for im in seq.images] == [1, 12] and seq.name == f"{DATASET}/02"
    assert [inst.max() for inst in seq.instances] == [2, 13]


def test_numeric_not_lexicographic_order(tmp_path):
    frames = {f"t{k:03d}.tif": _frame(k) for k in (2, 10, 9)}
    masks = {f"man_seg{k:03d}.tif": _labels(k) for k in (10, 2, 9)}
    seq = load_ctc(DATASET, "01", root=_write_sequence(tmp_path, frames, masks))
    assert seq.ids == (2, 9, 10)


def test_16bit_percentile_and_dtype_normalisation(tmp_path):
    ramp = (np.arange(12 * 16, dtype=np.uint16).reshape(12, 16) * 10 + 1000)  # 1000..2910, 12-bit-like
    root = _write_sequence(tmp_path, {"t000.tif": ramp}, {"man_seg000.tif": _labels(0)})
    auto = load_ctc(DATASET, "01", root=root).images[0]
    assert auto.dtype == np.float32
    assert auto.min() == 0.0 and auto.max() == 1.0  # stretched, clipped at the percentiles
    assert np.all(np.diff(auto.ravel()) >= 0)  # monotone in the raw value
    lo, hi = np.percentile(ramp, (1.0, 99.8))
    np.testing.assert_allclose(auto[5, 5], (ramp[5, 5] - lo) / (hi - lo), rtol=1e-5)
    by_dtype = load_ctc(DATASET, "01", root=root, normalize="dtype").images[0]
    np.testing.assert_allclose(by_dtype, ramp / 65535.0, rtol=1e-6)


def test_missing_data_names_layout_website_and_fetch(tmp_path):
    with pytest.raises(FileNotFoundError) as err:
        load_ctc(U373, "02", root=tmp_path)
    msg = str(err.value)
    assert str(tmp_path.resolve()) in msg and "02_GT/SEG/man_seg000.tif" in msg
    assert CTC_WEBSITE in msg and "checksums" in msg and "not known" in msg
    assert "fetch_ctc('PhC-C2DH-U373')" in msg and "download=True" in msg
    # a sequence the pinned copy lacks: the message says what the copy has
    with pytest.raises(FileNotFoundError, match="sequence 02 with gold and silver truth") as err:
        load_ctc(U373, "01", root=tmp_path)
    assert "01_GT/SEG/man_seg000.tif" in str(err.value)
    # a data set without a pinned copy: only the official archive
    with pytest.raises(FileNotFoundError, match=CTC_WEBSITE) as err:
        load_ctc("Fluo-N2DH-GOWT1", "01", root=tmp_path)
    assert "fetch_ctc" not in str(err.value)


def test_gold_where_only_silver_exists(tmp_path):
    root = _write_sequence(tmp_path, {"t000.tif": _frame(0)}, {"man_seg000.tif": _labels(0)}, suffix="ST")
    with pytest.raises(FileNotFoundError, match="only silver truth exists"):
        load_ctc(DATASET, "01", root=root)
    assert load_ctc(DATASET, "01", root=root, truth="silver").ids == (0,)
    # HeLa without any data: the pinned copy has silver truth only, nothing is downloaded
    with pytest.raises(FileNotFoundError, match="no public copy of the gold masks was found") as err:
        load_ctc(HELA, "01", root=tmp_path, download=True)
    assert "only silver truth" in str(err.value) and not (tmp_path / HELA).exists()


def test_missing_silver_folder(tmp_path):
    root = _write_sequence(tmp_path, {"t000.tif": _frame(0)}, {"man_seg000.tif": _labels(0)})
    with pytest.raises(FileNotFoundError, match="01_ST"):
        load_ctc(DATASET, "01", truth="silver", root=root)


def test_label_without_frame(tmp_path):
    root = _write_sequence(tmp_path, {"t000.tif": _frame(0)}, {"man_seg005.tif": _labels(5)})
    with pytest.raises(FileNotFoundError, match="man_seg005.tif"):
        load_ctc(DATASET, "01", root=root)


def test_empty_sequence_and_no_masks(tmp_path):
    root = _write_sequence(tmp_path, {}, {})
    with pytest.raises(FileNotFoundError, match="no raw frame"):
        load_ctc(DATASET, "01", root=root)
    tifffile.imwrite(root / DATASET / "01" / "t000.tif", _frame(0))
    with pytest.raises(FileNotFoundError, match="no mask"):
        load_ctc(DATASET, "01", root=root)


def test_duplicate_frame_number(tmp_path):
    frames = {"t001.tif": _frame(1), "t0001.tif": _frame(1)}
    root = _write_sequence(tmp_path, frames, {"man_seg001.tif": _labels(1)})
    with pytest.raises(ValueError, match="appears twice"):
        load_ctc(DATASET, "01", root=root)


def test_shape_mismatch(tmp_path):
    root = _write_sequence(tmp_path, {"t000.tif": _frame(0)}, {"man_seg000.tif": _labels(0, shape=(12, 15))})
    with pytest.raises(ValueError, match="shape"):
        load_ctc(DATASET, "01", root=root)


def test_frames_of_different_shapes(tmp_path):
    frames = {"t000.tif": _frame(0), "t001.tif": _frame(1, shape=(12, 15))}
    masks = {"man_seg000.tif": _labels(0), "man_seg001.tif": _labels(1, shape=(12, 15))}
    with pytest.raises(ValueError, match="differ in shape"):
        load_ctc(DATASET, "01", root=_write_sequence(tmp_path, frames, masks))


def test_float_labels_rejected(tmp_path):
    labels = _labels(1).astype(np.float32)
    root = _write_sequence(tmp_path, {"t001.tif": _frame(1)}, {"man_seg001.tif": labels})
    with pytest.raises(ValueError, match="integers"):
        load_ctc(DATASET, "01", root=root)


def test_negative_labels_rejected(tmp_path):
    labels = _labels(1, dtype=np.int16)
    labels[5, 5] = -3
    root = _write_sequence(tmp_path, {"t001.tif": _frame(1)}, {"man_seg001.tif": labels})
    with pytest.raises(ValueError, match="instance ids"):
        load_ctc(DATASET, "01", root=root)


def test_3d_frame_rejected(tmp_path):
    stack = np.zeros((3, 12, 16), np.uint8)
    root = _write_sequence(tmp_path, {"t000.tif": stack}, {"man_seg000.tif": np.zeros((3, 12, 16), np.uint16)})
    with pytest.raises(ValueError, match="2-D"):
        load_ctc(DATASET, "01", root=root)


@pytest.mark.parametrize("kwargs, match", [
    ({"sequence": "1a"}, "sequence"),
    ({"normalize": "minmax"}, "normalize"),
    ({"dataset": ""}, "dataset"),
    ({"dataset": 3}, "dataset"),
    ({"truth": "bronze"}, "truth must be 'gold' or 'silver'"),
])
def test_bad_arguments(ctc_root, kwargs, match):
    args = {"dataset": DATASET, "sequence": "01", **kwargs}
    with pytest.raises(ValueError, match=match):
        load_ctc(args.pop("dataset"), args.pop("sequence"), root=ctc_root, **args)


def test_bad_call_forms(ctc_root):
    with pytest.raises(TypeError):
        load_ctc(DATASET, root=ctc_root)  # the sequence is needed
    with pytest.raises(TypeError):
        load_ctc(DATASET, "01", root=ctc_root, annotated_only=False)  # of the earlier form, gone
    with pytest.raises(TypeError):
        load_ctc(DATASET, "01", "02", root=ctc_root)


@pytest.mark.parametrize("path", [lambda root: root, str])
def test_a_path_as_data_set_says_to_pass_root(ctc_root, path):
    """The earlier form load_ctc(root, dataset, sequence) is refused, one type is returned."""
    with pytest.raises(ValueError, match=r"got the path .*pass the data directory as root="):
        load_ctc(path(ctc_root), DATASET)


def test_data_dir_from_environment(ctc_root, monkeypatch):
    monkeypatch.setenv(DATA_ENV_VAR, str(ctc_root))
    assert load_ctc(DATASET, "01").ids == (1, 3)


# ---------------------------------------------------------------------- the real (pinned) copies


def _shared(dataset: str) -> Path | None:
    """The folder of a pinned copy of ``dataset``, or None."""
    for top in (os.environ.get(DATA_ENV_VAR), "/work/shared/data"):
        if top and (Path(top) / dataset / "PROVENANCE.tsv").is_file():
            return Path(top) / dataset
    return None


def needs(dataset: str):
    return pytest.mark.skipif(
        _shared(dataset) is None,
        reason=f"no pinned copy of {dataset} (<data dir>/{dataset}/PROVENANCE.tsv) in "
        f"{DATA_ENV_VAR} or /work/shared/data",
    )


@pytest.mark.data
@needs(U373)
def test_real_u373_gold(digest):
    folder = _shared(U373)
    seq = load_ctc(U373, "02", truth="gold", root=folder.parent)
    assert seq.detail == {"truth": "gold", "partial": True} and seq.name == f"{U373}/02"
    assert seq.ids == U373_GOLD_FRAMES
    images, instances = np.stack(seq.images), np.stack(seq.instances)
    assert images.shape == (19, 520, 696) and images.dtype == np.float32
    assert instances.shape == (19, 520, 696) and instances.dtype == np.int32
    assert 0.0 <= images.min() and images.max() <= 1.0
    assert digest(seq.images) == U373_GOLD_IMAGES_SHA256 and digest(seq.instances) == U373_GOLD_INSTANCES_SHA256
    assert digest(seq.masks) == U373_GOLD_MASKS_SHA256
    for inst in seq.instances:
        assert 3 <= len(np.unique(inst[inst > 0])) <= 7
    # images are the 8-bit frames / 255; ids are those of the file
    from PIL import Image

    with Image.open(folder / "02" / "t010.tif") as im:
        np.testing.assert_allclose(seq.images[0], np.asarray(im) / 255.0, atol=1e-7)
    with Image.open(folder / "02_GT" / "SEG" / "man_seg010.tif") as im:
        np.testing.assert_array_equal(seq.instances[0], np.asarray(im))


@pytest.mark.data
@needs(U373)
def test_real_u373_silver():
    seq = load_ctc(U373, "02", truth="silver", root=_shared(U373).parent)
    assert seq.detail == {"truth": "silver", "partial": False}
    assert seq.ids == tuple(range(115)) and np.stack(seq.images).shape == (115, 520, 696)
    assert seq.instances[0].dtype == np.int32 and max(int(i.max()) for i in seq.instances) > 0


@pytest.mark.data
@needs(HELA)
def test_real_hela_silver_and_no_gold(digest):
    root = _shared(HELA).parent
    seq = load_ctc(HELA, "01", truth="silver", root=root, frames=range(84))
    assert seq.ids == tuple(range(84)) and seq.detail["truth"] == "silver"
    images, instances = np.stack(seq.images), np.stack(seq.instances)
    assert images.shape == (84, 512, 512) and instances.shape == (84, 512, 512)
    assert images.dtype == np.float32 and instances.dtype == np.int32
    some = seq.select([0, 40, 83])
    assert digest(some.images) == HELA_0_40_83_IMAGES_SHA256
    assert digest(some.instances) == HELA_0_40_83_INSTANCES_SHA256
    with pytest.raises(FileNotFoundError, match="only silver truth exists") as err:
        load_ctc(HELA, "01", root=root)
    assert "no public copy of the gold masks was found" in str(err.value)


# ---------------------------------------------------------------------- manifests and download


def test_shipped_manifests():
    assert set(_pinned_datasets()) == {U373, HELA}
    assert _WEBSITE == CTC_WEBSITE
    u373, hela = _ctc_manifest(U373), _ctc_manifest(HELA)
    assert len(u373) == 115 + 19 + 115 and len(hela) == 84 + 84
    for row in u373 + hela:
        assert row.url == (
            f"https://raw.githubusercontent.com/{row.source_repo}/{row.source_commit}/"
            + row.source_path.replace(" ", "%20")
        )
        assert " " not in row.url and len(row.sha256) == 64 and len(row.source_commit) == 40
    assert {r.path.split("/")[0] for r in hela} == {"01", "01_ST"}
    with pytest.raises(ValueError, match="no pinned public copy"):
        fetch_ctc("Fluo-N2DH-GOWT1")


@pytest.mark.data
@pytest.mark.parametrize("dataset", [pytest.param(U373, marks=needs(U373)), pytest.param(HELA, marks=needs(HELA))])
def test_shipped_manifest_equals_shared_provenance(dataset):
    folder = _shared(dataset)
    with open(folder / "PROVENANCE.tsv", newline="", encoding="utf-8") as f:
        provenance = [
            (r["path"], r["sha256"], r["source_repo"], r["source_commit"], r["source_path"])
            for r in csv.DictReader(f, delimiter="\t")
        ]
    shipped = [tuple(r) for r in _ctc_manifest(dataset)]
    assert shipped == provenance
    sums = dict(reversed(line.split(None, 1)) for line in (folder / "SHA256SUMS").read_text().splitlines())
    assert sums == {r[0]: r[1] for r in shipped}
    files = {p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file()} - _METADATA
    assert files == {r[0] for r in shipped}  # exactly the files of the shared copy


def _copying_downloader(dataset: str, corrupt: frozenset[str] = frozenset()):
    """A pooch downloader serving the shared copy (wrong bytes for the paths in ``corrupt``)."""
    source = _shared(dataset)
    by_url = {r.url: r.path for r in _ctc_manifest(dataset)}
    calls: list[str] = []

    def download(url, output_file, pooch_instance):
        rel = by_url[url]
        calls.append(rel)
        data = (source / rel).read_bytes()
        if rel in corrupt:
            data = data[:-1] + bytes([data[-1] ^ 0xFF])
        Path(output_file).write_bytes(data)

    download.calls = calls
    return download


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.mark.data
@needs(HELA)
def test_fetch_lands_in_layout(tmp_path):
    downloader = _copying_downloader(HELA)
    folder = fetch_ctc(HELA, tmp_path, downloader=downloader)
    assert folder == tmp_path.resolve() / HELA
    rows = _ctc_manifest(HELA)
    assert sorted(downloader.calls) == sorted(r.path for r in rows)
    landed = {p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file()}
    assert landed == {r.path for r in rows}  # e.g. "Sequence 1/t000.tif" lands as 01/t000.tif
    assert all(_sha256(folder / r.path) == r.sha256 for r in rows)
    # again: everything is there and verified, nothing is downloaded
    again = _copying_downloader(HELA)
    fetch_ctc(HELA, tmp_path, downloader=again)
    assert again.calls == []
    assert load_ctc(HELA, "01", truth="silver", root=tmp_path).ids == tuple(range(84))


@pytest.mark.data
@needs(U373)
def test_load_downloads_when_missing(tmp_path, monkeypatch):
    real_fetch = ctc_module.fetch_ctc
    downloader = _copying_downloader(U373)
    monkeypatch.setattr(ctc_module, "fetch_ctc", lambda d, root: real_fetch(d, root, downloader=downloader))
    seq = load_ctc(U373, "02", root=tmp_path, download=True)
    assert seq.ids == U373_GOLD_FRAMES and len(downloader.calls) == 249
    assert (tmp_path / U373 / "02_ST" / "SEG" / "man_seg114.tif").is_file()


@pytest.mark.data
@needs(U373)
def test_checksum_mismatch_keeps_no_file(tmp_path):
    rows = _ctc_manifest(U373)
    bad = rows[2].path
    with pytest.raises(ValueError, match=f"checksum mismatch for {bad}"):
        fetch_ctc(U373, tmp_path, downloader=_copying_downloader(U373, corrupt=frozenset({bad})))
    landed = sorted(p.relative_to(tmp_path / U373).as_posix() for p in (tmp_path / U373).rglob("*") if p.is_file())
    assert landed == [rows[0].path, rows[1].path]  # the verified ones before it, not the bad one


def test_wrong_bytes_leave_no_file(tmp_path):
    def garbage(url, output_file, pooch_instance):
        Path(output_file).write_bytes(b"not a tiff")

    with pytest.raises(ValueError, match="checksum mismatch"):
        fetch_ctc(HELA, tmp_path, downloader=garbage)
    assert [p for p in tmp_path.rglob("*") if p.is_file()] == []


def test_fetch_never_overwrites_other_files(tmp_path):
    first = _ctc_manifest(U373)[0].path
    target = tmp_path / U373 / first
    target.parent.mkdir(parents=True)
    target.write_bytes(b"a frame from the official archive")
    calls = []
    with pytest.raises(FileExistsError, match=first):
        fetch_ctc(U373, tmp_path, downloader=lambda *a: calls.append(a))
    assert calls == [] and target.read_bytes() == b"a frame from the official archive"


def test_no_pinned_copy_for_the_sequence_downloads_nothing(tmp_path, monkeypatch):
    monkeypatch.setattr(ctc_module, "fetch_ctc", lambda *a, **k: pytest.fail("fetch_ctc called"))
    with pytest.raises(FileNotFoundError, match="not sequence 01"):
        load_ctc(U373, "01", root=tmp_path, download=True)
