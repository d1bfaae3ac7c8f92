"""Tests of unet_tutorial.data: synthetic generators, data directory, loaders, tiles."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
from scipy import ndimage

from unet_tutorial.data import (
    data_dir,
    synthetic_em,
    synthetic_nuclei,
    synthetic_voronoi_instances,
)


# ---------------------------------------------------------------------- synthetic data


def _touching_pairs(instances: np.ndarray) -> set[tuple[int, int]]:
    """Pairs of different nonzero ids that are 4-adjacent somewhere."""
    pairs = set()
    for a, b in (
        (instances[:, :-1], instances[:, 1:]),
        (instances[:-1, :], instances[1:, :]),
    ):
        m = (a != b) & (a > 0) & (b > 0)
        pairs |= {tuple(sorted(p)) for p in zip(a[m].tolist(), b[m].tolist())}
    return pairs


@pytest.mark.parametrize("gap", [0, 2, 4])
def test_voronoi_ids_dtype_and_gap(gap):
    lab = synthetic_voronoi_instances((128, 160), n_cells=25, gap=gap, seed=3)
    assert lab.dtype == np.int32 and lab.shape == (128, 160)
    assert set(np.unique(lab)) - {0} == set(range(1, 26))
    if gap == 0:
        assert lab.min() == 1  # no background: cells touch
        assert len(_touching_pairs(lab)) > 0
    else:
        # different cells never touch across a gap
        assert _touching_pairs(lab) == set()
        bg = (lab == 0).mean()
        assert 0 < bg < 0.5
    if gap == 4:
        # gaps are about `gap` px wide: the background band survives an erosion by
        # 1 px but not by 3 px (the widest part of a 4 px band is at most ~4-5 px)
        bg = lab == 0
        assert ndimage.binary_erosion(bg, iterations=1).any()
        assert not ndimage.binary_erosion(bg, iterations=3).any()


def test_voronoi_seeded():
    a = synthetic_voronoi_instances((64, 64), 10, seed=1)
    b = synthetic_voronoi_instances((64, 64), 10, seed=1)
    c = synthetic_voronoi_instances((64, 64), 10, seed=2)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)


def test_voronoi_many_cells_fall_back():
    lab = synthetic_voronoi_instances((8, 8), n_cells=64, gap=0, seed=0)
    assert np.array_equal(np.sort(lab.ravel()), np.arange(1, 65))


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"shape": (0, 10)}, "shape"),
        ({"shape": (10,)}, "shape"),
        ({"shape": (10.5, 10)}, "shape"),
        ({"n_cells": 0}, "n_cells"),
        ({"shape": (4, 4), "n_cells": 17}, "n_cells"),
        ({"gap": -1}, "gap"),
        ({"gap": float("nan")}, "gap"),
    ],
)
def test_voronoi_errors(kwargs, match):
    with pytest.raises(ValueError, match=match):
        synthetic_voronoi_instances(**kwargs)


def test_synthetic_em():
    img, lab = synthetic_em((200, 240), n_cells=20, seed=0)
    assert img.dtype == np.float32 and img.shape == (200, 240)
    assert lab.dtype == np.uint8 and lab.shape == (200, 240)
    assert 0.0 <= img.min() and img.max() <= 1.0
    assert set(np.unique(lab)) == {0, 1}
    # membranes (0) are a thin minority and darker than the cells (1)
    assert 0.02 < (lab == 0).mean() < 0.3
    assert img[lab == 0].mean() < img[lab == 1].mean() - 0.2
    np.testing.assert_array_equal(synthetic_em((64, 64), 5, seed=4)[0], synthetic_em((64, 64), 5, seed=4)[0])
    with pytest.raises(ValueError, match="n_cells"):
        synthetic_em(n_cells=1)


def test_synthetic_nuclei():
    img, inst = synthetic_nuclei((128, 128), n_nuclei=12, seed=0)
    assert img.dtype == np.float32 and inst.dtype == np.int32
    assert img.shape == inst.shape == (128, 128)
    assert 0.0 <= img.min() and img.max() <= 1.0
    assert set(np.unique(inst)) == set(range(0, 13))
    # many nuclei touch another one
    touching = {i for p in _touching_pairs(inst) for i in p}
    assert len(touching) >= 12 // 2
    assert img[inst > 0].mean() > img[inst == 0].mean() + 0.3
    np.testing.assert_array_equal(synthetic_nuclei((64, 64), 3, seed=7)[1], synthetic_nuclei((64, 64), 3, seed=7)[1])


def test_synthetic_nuclei_errors():
    with pytest.raises(ValueError, match="n_nuclei"):
        synthetic_nuclei(n_nuclei=0)
    with pytest.raises(ValueError, match="16"):
        synthetic_nuclei((8, 64))
    with pytest.raises(ValueError, match="could not place"):
        synthetic_nuclei((32, 32), n_nuclei=500)
    with pytest.raises(ValueError, match="could not place"):
        synthetic_nuclei((64, 64), n_nuclei=150, seed=0)  # fits by area, not by packing


# ---------------------------------------------------------------------- data directory


def test_data_dir_resolution(tmp_path, monkeypatch):
    monkeypatch.setenv("UNET_TUTORIAL_DATA", str(tmp_path / "env"))
    assert data_dir(tmp_path / "explicit") == (tmp_path / "explicit").resolve()
    assert data_dir() == (tmp_path / "env").resolve()
    monkeypatch.delenv("UNET_TUTORIAL_DATA")
    import pooch

    assert data_dir() == Path(pooch.os_cache("unet_tutorial")).resolve()
    monkeypatch.setenv("HOME", str(tmp_path))
    assert data_dir("~/d") == (tmp_path / "d").resolve()


def test_data_dir_falls_back_to_the_user_cache_dir(monkeypatch):
    from unet_tutorial.cache import user_cache_dir

    monkeypatch.delenv("UNET_TUTORIAL_DATA", raising=False)
    assert user_cache_dir().is_absolute()
    assert data_dir() == user_cache_dir()


# ---------------------------------------------------------------------- TileDataset

import torch  # noqa: E402

from unet_tutorial.augment import paper_augmentation  # noqa: E402
from unet_tutorial.data import TileDataset, reflect_indices  # noqa: E402


def _pairs(n=3, shape=(70, 90)):
    return [synthetic_em(shape, n_cells=8, seed=s) for s in range(n)]


def test_reflect_indices_match_numpy_pad():
    a = np.arange(7)
    for start, size in [(-3, 13), (-20, 50), (4, 3)]:
        ref = np.pad(a, 40, mode="reflect")[40 + start : 40 + start + size]
        np.testing.assert_array_equal(a[reflect_indices(start, size, 7)], ref)
    np.testing.assert_array_equal(reflect_indices(-2, 5, 1), np.zeros(5, int))


@pytest.mark.parametrize("n", [0, -1])
def test_reflect_indices_reject_an_empty_axis(n):
    with pytest.raises(ValueError, match=rf"axis of {n} pixels"):
        reflect_indices(0, 3, n)


@pytest.mark.parametrize("start, size, n", [(0, 3, 2), (-5, 12, 2), (-1, 1, 5), (3, 20, 5), (-30, 70, 9), (8, 4, 9)])
def test_reflect_indices_match_numpy_pad_and_the_inference_mirror(start, size, n):
    from unet_tutorial.mirror import mirror_indices

    a = np.arange(n)
    pad = 100
    ref = np.pad(a, pad, mode="reflect")[pad + start : pad + start + size]
    got = reflect_indices(start, size, n)
    np.testing.assert_array_equal(got, ref)
    # the same mirroring rule as the overlap-tile inference (one implementation)
    before, after = max(0, -start), max(0, start + size - n)
    np.testing.assert_array_equal(got, mirror_indices(n, before, after)[before + start : before + start + size])


def test_tiles_shapes_and_dtypes():
    pairs = _pairs()
    ds = TileDataset([p[0] for p in pairs], [p[1] for p in pairs], input_size=60, output_size=20)
    assert len(ds) == 3 and ds.border == 20
    x, y, w = ds[1]
    assert x.dtype == torch.float32 and x.shape == (1, 60, 60)
    assert y.dtype == torch.int64 and y.shape == (20, 20)
    assert w.dtype == torch.float32 and w.shape == (20, 20) and torch.all(w == 1)
    # an array (N, C, H, W) of 3-channel images works too
    rgb = np.stack([np.stack([p[0]] * 3) for p in pairs])
    x3, _, _ = TileDataset(rgb, np.stack([p[1] for p in pairs]), input_size=60, output_size=20)[0]
    assert x3.shape == (3, 60, 60)


def test_tiles_geometry_without_augmentation():
    pairs = _pairs()
    imgs, labs = [p[0] for p in pairs], [p[1] for p in pairs]
    wts = [np.arange(l.size, dtype=np.float32).reshape(l.shape) for l in labs]
    ds = TileDataset(imgs, labs, input_size=60, output_size=20, weights=wts, samples_per_epoch=12, seed=3)
    assert len(ds) == 12
    for i in range(12):
        x, y, w = ds[i]
        k, r, c = ds.tile_position(i)
        assert k == i % 3
        assert 0 <= r <= 70 - 20 and 0 <= c <= 90 - 20
        # the centre of the input tile is the image region of the label tile
        np.testing.assert_array_equal(x[0, 20:40, 20:40].numpy(), imgs[k][r : r + 20, c : c + 20])
        np.testing.assert_array_equal(y.numpy(), labs[k][r : r + 20, c : c + 20])
        np.testing.assert_array_equal(w.numpy(), wts[k][r : r + 20, c : c + 20])
        # the whole input tile is the mirrored image around it
        padded = np.pad(imgs[k], 20, mode="reflect")
        np.testing.assert_array_equal(x[0].numpy(), padded[r : r + 60, c : c + 60])


def test_tiles_mirror_at_image_corners():
    img, lab = synthetic_em((40, 40), n_cells=5, seed=1)
    # the output tile is the whole image: the input tile is the image mirrored by 10 px
    ds = TileDataset([img], [lab], input_size=60, output_size=40)
    x, y, _ = ds[0]
    assert ds.tile_position(0) == (0, 0, 0)
    np.testing.assert_array_equal(x[0].numpy(), np.pad(img, 10, mode="reflect"))
    np.testing.assert_array_equal(y.numpy(), lab)
    # an image smaller than the output tile: label and image mirrored alike
    small_img, small_lab = img[:30, :30], lab[:30, :30]
    ds = TileDataset([small_img], [small_lab], input_size=60, output_size=40, samples_per_epoch=5)
    for i in range(5):
        x, y, _ = ds[i]
        _, r, c = ds.tile_position(i)
        assert -10 <= r <= 0 and -10 <= c <= 0
        pad_lab = np.pad(small_lab, 40, mode="reflect")
        np.testing.assert_array_equal(y.numpy(), pad_lab[40 + r : 40 + r + 40, 40 + c : 40 + c + 40])
        pad_img = np.pad(small_img, 40, mode="reflect")
        np.testing.assert_array_equal(x[0].numpy(), pad_img[30 + r : 30 + r + 60, 30 + c : 30 + c + 60])


def test_tiles_with_augmentation_get_a_margin_and_keep_labels():
    pairs = _pairs(2)
    seen = []

    def spy(image, label, weight, rng):
        seen.append((image.shape, label.shape, weight is None))
        return paper_augmentation()(image, label, weight, rng)

    ds = TileDataset([p[0] for p in pairs], [p[1] for p in pairs], input_size=44, output_size=20, augment=spy, margin=8)
    x, y, w = ds[0]
    assert seen == [((1, 60, 60), (60, 60), True)]
    assert x.shape == (1, 44, 44) and y.shape == (20, 20) and torch.all(w == 1)
    assert set(y.unique().tolist()) <= {0, 1}
    assert TileDataset([pairs[0][0]], [pairs[0][1]], input_size=44, output_size=20, augment=spy).margin == 32


def test_tiles_reproducible_epochs_and_seeds():
    pairs = _pairs(2)
    make = lambda seed: TileDataset(  # noqa: E731
        [p[0] for p in pairs], [p[1] for p in pairs], input_size=44, output_size=20,
        augment=paper_augmentation(), seed=seed,
    )
    a, b = make(0), make(0)
    for u, v in zip(a[1], b[1]):
        assert torch.equal(u, v)
    first = a[1]
    a.set_epoch(1)
    assert not torch.equal(a[1][0], first[0])
    a.set_epoch(0)
    assert torch.equal(a[1][0], first[0])
    assert not torch.equal(make(1)[1][0], first[0])


def test_tiles_independent_of_worker_count():
    pairs = _pairs(2, shape=(50, 50))
    ds = TileDataset(
        [p[0] for p in pairs], [p[1] for p in pairs], input_size=44, output_size=20,
        augment=paper_augmentation(), samples_per_epoch=6, seed=5,
    )
    ds.set_epoch(2)

    def collect(workers):
        loader = torch.utils.data.DataLoader(ds, batch_size=2, num_workers=workers)
        return [t for batch in loader for t in batch]

    for u, v in zip(collect(0), collect(2)):
        assert torch.equal(u, v)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"labels": []}, "labels"),
        ({"images": []}, "empty"),
        ({"output_size": 21}, "even"),
        ({"output_size": 70}, "output_size"),
        ({"margin": -1}, "margin"),
        ({"augment": 3}, "callable"),
        ({"samples_per_epoch": 0}, "samples_per_epoch"),
        ({"images": [np.zeros((30, 30), np.float32)]}, "label 0 has shape"),
        ({"images": [np.zeros((40, 40), np.uint8)]}, "floating point"),
        ({"images": [np.full((40, 40), np.nan, np.float32)]}, "NaN"),
        ({"images": [np.zeros((2, 2, 40, 40), np.float32)]}, r"\(H, W\) or \(C, H, W\)"),
        ({"labels": [np.zeros((40, 40), np.float32)]}, "integer"),
        ({"weights": [np.ones((40, 40), np.float32)] * 2}, "weight maps"),
        ({"weights": [np.ones((40, 41), np.float32)]}, "weight map 0 has shape"),
        ({"weights": [-np.ones((40, 40), np.float32)]}, "negative"),
        ({"weights": [np.ones((40, 40), np.int64)]}, "floating point"),
        ({"images": "abc"}, "list of arrays"),
    ],
)
def test_tiles_errors(kwargs, match):
    args = {
        "images": [np.zeros((40, 40), np.float32)],
        "labels": [np.zeros((40, 40), np.uint8)],
        "input_size": 60,
        "output_size": 20,
    }
    args.update(kwargs)
    with pytest.raises(ValueError, match=match):
        TileDataset(args.pop("images"), args.pop("labels"), **args)


def test_tiles_runtime_errors():
    img, lab = synthetic_em((40, 40), 4, seed=0)
    ds = TileDataset([img], [lab], input_size=60, output_size=20)
    with pytest.raises(IndexError):
        ds[1]
    bad = TileDataset([img], [lab], input_size=60, output_size=20, augment=lambda x, y, w, rng: (x[:, 1:], y, w))
    with pytest.raises(ValueError, match="changed the tile shape"):
        bad[0]
    ch = [np.zeros((40, 40), np.float32), np.zeros((3, 40, 40), np.float32)]
    with pytest.raises(ValueError, match="channels"):
        TileDataset(ch, [lab, lab], input_size=60, output_size=20)


# ---------------------------------------------------------------------- ISBI 2012 files

import hashlib  # noqa: E402
import shutil  # noqa: E402

import tifffile  # noqa: E402
from PIL import Image  # noqa: E402

from unet_tutorial.data import isbi2012 as isbi2012_module  # noqa: E402
from unet_tutorial.data._store import retrieve_verified  # noqa: E402
from unet_tutorial.weights import separation_mask  # noqa: E402
from unet_tutorial.data import (  # noqa: E402
    ISBI2012_BASE_URL,
    ISBI2012_COMMIT,
    ISBI2012_SHA256,
    DSB2018_PARTS,
    dsb2018_gray,
    dsb2018_ids,
    dsb2018_modality,
    dsb2018_split,
    Samples,
    fetch_isbi2012,
    load_dsb2018,
    load_isbi2012,
    load_isbi2012_test_images,
)

REAL = os.environ.get("UNET_TUTORIAL_DATA")
needs_real = pytest.mark.skipif(
    not (REAL and (Path(REAL) / "isbi2012").is_dir()), reason="UNET_TUTORIAL_DATA with isbi2012/ not set"
)
needs_real_dsb = pytest.mark.skipif(
    not (REAL and (Path(REAL) / "dsb2018").is_dir()), reason="UNET_TUTORIAL_DATA with dsb2018/ not set"
)



# Checksums (digest) of the real data as the loaders returned it before they returned Samples
# (tuples, lists of pairs): the data must stay bit-identical, in the same order.
ISBI_TRAIN_IMAGES_SHA256 = "f195e57097c2a89b3366469a8c18a8de1bfbdbb29412f22c79c62a160137aca3"
ISBI_TRAIN_MASKS_SHA256 = "f516c1ac66a313848d154951ac29e924ecb46469bd5e8b223e33d84677a5a3b8"
ISBI_TEST_IMAGES_SHA256 = "d0515e87c8688b1fd9bb883f529cc447b4ddfe4c0ef5f061dc71b78cc52fd88b"
#: the first 5 DSB 2018 ids: colour images (8-bit / 255), instances, their separation masks
DSB_FIRST5_COLOUR_SHA256 = "203611463a09e43253762fcecd6997adf1adb8afc6ac9abb5e34e74dbb620cd1"
DSB_FIRST5_INSTANCES_SHA256 = "5c8691edb9ec5af3edb200eef8ef0498414e3ef096d2f211e242bf16822056c2"
DSB_FIRST5_MASKS_SHA256 = "49971eab9e6816c92c17a94f21e1dfecfeac4703b7592cfbacb4b683234de536"


def _isbi_stacks(n=12, shape=(16, 24)):
    """Small uint8 stacks: slice i is filled with gray value 10 * i (tells the order)."""
    rng = np.random.default_rng(0)
    images = np.stack([np.full(shape, 10 * i, np.uint8) for i in range(n)])
    labels = np.where(rng.random((n, *shape)) < 0.8, 255, 0).astype(np.uint8)
    return images, labels


def _write_png_layout(root, images, labels, test=None):
    for split, stack, kind in (("train", images, "image"), ("train", labels, "label"), ("test", test, "image")):
        if stack is None:
            continue
        folder = root / "isbi2012" / split / kind
        folder.mkdir(parents=True, exist_ok=True)
        for i, sl in enumerate(stack):
            Image.fromarray(sl).save(folder / f"{i}.png")


def test_isbi_png_layout_sorted_numerically(tmp_path):
    images, labels = _isbi_stacks()
    _write_png_layout(tmp_path, images, labels, test=images[:3])
    s = load_isbi2012(tmp_path)
    assert isinstance(s, Samples) and s.name == "isbi2012" and s.instances is None and s.num_classes == 2
    assert s.ids == tuple(range(12))
    x, y = np.stack(s.images), np.stack(s.masks)
    assert x.dtype == np.float32 and x.shape == (12, 16, 24)
    assert y.dtype == np.uint8 and set(np.unique(y)) <= {0, 1}
    # 0, 1, ..., 11 and not 0, 1, 10, 11, 2, ...
    np.testing.assert_allclose(x[:, 0, 0], np.arange(12) * 10 / 255, atol=1e-7)
    np.testing.assert_array_equal(y, (labels == 255).astype(np.uint8))
    t = load_isbi2012_test_images(tmp_path)
    assert isinstance(t, np.ndarray) and t.shape == (3, 16, 24) and t.dtype == np.float32
    np.testing.assert_allclose(t[:, 0, 0], np.arange(3) * 10 / 255, atol=1e-7)


def test_isbi_tiff_layout(tmp_path, monkeypatch):
    images, labels = _isbi_stacks(5)
    folder = tmp_path / "isbi2012"
    folder.mkdir()
    for name, stack in (("train-volume", images), ("train-labels", labels), ("test-volume", images[:2])):
        tifffile.imwrite(folder / f"{name}.tif", stack, photometric="minisblack")
    monkeypatch.setenv("UNET_TUTORIAL_DATA", str(tmp_path))  # root from the environment
    s = load_isbi2012()
    np.testing.assert_allclose(np.stack(s.images), images / 255, atol=1e-7)
    np.testing.assert_array_equal(np.stack(s.masks), labels == 255)
    assert s.ids == (0, 1, 2, 3, 4)
    assert load_isbi2012_test_images().shape == (2, 16, 24)


def test_isbi_png_wins_over_tiff(tmp_path):
    images, labels = _isbi_stacks(3)
    _write_png_layout(tmp_path, images, labels)
    tifffile.imwrite(tmp_path / "isbi2012" / "train-volume.tif", images[:1], photometric="minisblack")
    assert len(load_isbi2012(tmp_path)) == 3


def test_isbi_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="UNET_TUTORIAL_DATA") as err:
        load_isbi2012(tmp_path)
    assert "fetch_isbi2012" in str(err.value) and "download=True" in str(err.value)
    with pytest.raises(FileNotFoundError, match="UNET_TUTORIAL_DATA"):
        load_isbi2012_test_images(tmp_path)
    images, labels = _isbi_stacks(4)
    bad = labels.copy()
    bad[0, 0, 0] = 128
    _write_png_layout(tmp_path / "a", images, bad)
    with pytest.raises(ValueError, match=r"0 \(membrane\) or 255 \(cell\)"):
        load_isbi2012(tmp_path / "a")
    _write_png_layout(tmp_path / "b", images, labels[:3])
    with pytest.raises(FileNotFoundError, match=r"missing: \['3'\]"):
        load_isbi2012(tmp_path / "b")
    _write_png_layout(tmp_path / "c", images, labels[:, :8])
    with pytest.raises(ValueError, match="must match"):
        load_isbi2012(tmp_path / "c")
    odd = [images[0], images[1][:8]]
    _write_png_layout(tmp_path / "d", odd, labels[:2])
    with pytest.raises(ValueError, match="differ in shape"):
        load_isbi2012(tmp_path / "d")
    (tmp_path / "e" / "isbi2012").mkdir(parents=True)
    tifffile.imwrite(tmp_path / "e" / "isbi2012" / "train-volume.tif", images, photometric="minisblack")
    with pytest.raises(FileNotFoundError, match="train-labels.tif"):
        load_isbi2012(tmp_path / "e")
    (tmp_path / "f" / "isbi2012").mkdir(parents=True)
    tifffile.imwrite(tmp_path / "f" / "isbi2012" / "test-volume.tif", images.astype(np.float32) / 255, photometric="minisblack")
    with pytest.raises(ValueError, match="8- or 16-bit"):
        load_isbi2012_test_images(tmp_path / "f")


# ---------------------------------------------------------------------- download (no network)


def _copy_downloader(source_root: Path, log: list):
    """A pooch downloader that serves raw.githubusercontent URLs from a local folder."""

    def download(url, output_file, pooch_obj=None, check_only=False):
        log.append(url)
        rel = url[len(ISBI2012_BASE_URL):]
        # the repository's test/{i}.png is test/image/{i}.png locally
        rel = rel.replace("test/", "test/image/") if rel.startswith("test/") else rel
        shutil.copyfile(source_root / "isbi2012" / rel, output_file)

    return download


def _corrupting_downloader(url, output_file, pooch_obj=None, check_only=False):
    Path(output_file).write_bytes(b"not the file you are looking for")


def test_registry_names_every_slice_at_the_pinned_commit():
    assert len(ISBI2012_SHA256) == 90
    expected = {f"{s}/{i}.png" for s in ("train/image", "train/label", "test/image") for i in range(30)}
    assert set(ISBI2012_SHA256) == expected
    assert all(len(h) == 64 and int(h, 16) >= 0 for h in ISBI2012_SHA256.values())
    assert ISBI2012_BASE_URL == (
        f"https://raw.githubusercontent.com/zhixuhao/unet/{ISBI2012_COMMIT}/data/membrane/"
    )
    assert ISBI2012_COMMIT == "b45af4d458437d8281cc218a07fd4380818ece4a"


def test_fetch_rejects_corrupted_download(tmp_path):
    with pytest.raises(ValueError, match="checksum mismatch for train/image/0.png"):
        fetch_isbi2012(tmp_path, downloader=_corrupting_downloader)
    assert not (tmp_path / "isbi2012" / "train" / "image" / "0.png").exists()


def test_retrieve_verified_on_local_files(tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    files = {}
    for name in ("a/x.png", "b/y.png"):
        content = name.encode() * 50
        (src / name.replace("/", "_")).write_bytes(content)
        files[name] = (f"https://example.invalid/{name.replace('/', '_')}", hashlib.sha256(content).hexdigest())
    log = []

    def download(url, output_file, pooch_obj=None, check_only=False):
        log.append(url)
        shutil.copyfile(src / url.rsplit("/", 1)[1], output_file)

    dest = tmp_path / "dest"
    paths = retrieve_verified(files, dest, downloader=download)
    assert [p.read_bytes() for p in paths] == [n.encode() * 50 for n in files]
    assert len(log) == 2
    retrieve_verified(files, dest, downloader=download)
    assert len(log) == 2  # verified files are not fetched again
    (dest / "a" / "x.png").write_bytes(b"tampered")
    retrieve_verified(files, dest, downloader=download)
    assert len(log) == 3 and (dest / "a" / "x.png").read_bytes() == b"a/x.png" * 50
    (src / "b_y.png").write_bytes(b"changed at the source")
    (dest / "b" / "y.png").unlink()
    with pytest.raises(ValueError, match="checksum mismatch for b/y.png"):
        retrieve_verified(files, dest, downloader=download)


@needs_real
def test_fetch_from_local_mirror_verifies_real_checksums(tmp_path):
    log = []
    folder = fetch_isbi2012(tmp_path, downloader=_copy_downloader(Path(REAL), log))
    assert folder == tmp_path / "isbi2012" and len(log) == 90
    assert ISBI2012_BASE_URL + "test/0.png" in log and ISBI2012_BASE_URL + "train/label/29.png" in log
    got, real = load_isbi2012(tmp_path), load_isbi2012(REAL)
    assert got.ids == real.ids and len(got) == 30
    assert all(np.array_equal(a, b) for a, b in zip(got.images + got.masks, real.images + real.masks))
    assert np.array_equal(load_isbi2012_test_images(tmp_path), load_isbi2012_test_images(REAL))


def test_load_with_download(tmp_path, monkeypatch):
    calls = []

    def fake_fetch(root=None, **kwargs):
        calls.append(root)
        images, labels = _isbi_stacks(2)
        _write_png_layout(Path(root), images, labels)

    monkeypatch.setattr(isbi2012_module, "fetch_isbi2012", fake_fetch)
    s = load_isbi2012(tmp_path, download=True)
    assert calls == [tmp_path] and len(s) == 2 and s.images[0].shape == (16, 24)


# ---------------------------------------------------------------------- ISBI real data


@needs_real
def test_real_isbi2012(digest):
    s = load_isbi2012()
    x, y = np.stack(s.images), np.stack(s.masks)
    assert x.shape == (30, 512, 512) and x.dtype == np.float32
    assert y.shape == (30, 512, 512) and y.dtype == np.uint8
    assert 0.0 <= x.min() and x.max() <= 1.0
    assert set(np.unique(y)) == {0, 1}
    assert 0.1 < (y == 0).mean() < 0.4  # membranes are the minority
    t = load_isbi2012_test_images()
    assert t.shape == (30, 512, 512)
    # the very pixels of the files, in slice order (PNG slices: gray value / 255, label 255 = cell)
    folder = Path(REAL) / "isbi2012"
    for i in (0, 17, 29):
        np.testing.assert_array_equal(x[i], np.asarray(Image.open(folder / f"train/image/{i}.png"), np.float32) / 255)
        np.testing.assert_array_equal(y[i], np.asarray(Image.open(folder / f"train/label/{i}.png")) == 255)
    np.testing.assert_array_equal(t[29], np.asarray(Image.open(folder / "test/image/29.png"), np.float32) / 255)
    # checksums of everything, as loaded before load_isbi2012 returned Samples
    assert digest(s.images) == ISBI_TRAIN_IMAGES_SHA256 and digest(s.masks) == ISBI_TRAIN_MASKS_SHA256
    assert digest(t) == ISBI_TEST_IMAGES_SHA256
    # the embedded registry is the data set's own SHA256SUMS
    sums = dict(
        reversed(line.split()) for line in (Path(REAL) / "isbi2012" / "SHA256SUMS").read_text().splitlines()
    )
    assert sums == ISBI2012_SHA256


# ---------------------------------------------------------------------- DSB 2018


def _write_dsb(root: Path, n_images=2, base="dsb2018/stage1_train"):
    """Tiny DSB-style folders; image k has 3 masks, masks 'b' and 'c' overlap in one pixel."""
    ids = [f"img{k:02d}" for k in range(n_images)]
    for k, image_id in enumerate(ids):
        d = root / base / image_id
        (d / "images").mkdir(parents=True)
        (d / "masks").mkdir()
        rgba = np.zeros((12, 14, 4), np.uint8)
        rgba[..., 0] = 10 * k
        rgba[..., 1] = 100
        rgba[..., 2] = 200
        rgba[..., 3] = 255
        Image.fromarray(rgba, "RGBA").save(d / "images" / f"{image_id}.png")
        masks = {"c": (slice(5, 8), slice(5, 9)), "a": (slice(0, 2), slice(0, 3)), "b": (slice(3, 6), slice(2, 6))}
        for name, (rs, cs) in masks.items():
            m = np.zeros((12, 14), np.uint8)
            m[rs, cs] = 255
            Image.fromarray(m).save(d / "masks" / f"{name}.png")
    return ids


def test_dsb_instances_from_masks(tmp_path):
    ids = _write_dsb(tmp_path, 3)
    assert dsb2018_ids(tmp_path) == ids
    nuclei = load_dsb2018(tmp_path)
    assert isinstance(nuclei, Samples) and len(nuclei) == 3 and nuclei.ids == tuple(ids) and nuclei.name == "dsb2018"
    image, inst, mask = nuclei.images[1], nuclei.instances[1], nuclei.masks[1]
    assert image.dtype == np.float32 and image.shape == (12, 14)
    assert inst.dtype == np.int32 and inst.shape == (12, 14)
    # ids in sorted mask-name order: a=1, b=2, c=3; b and c overlap at (5, 5): c (later) wins
    assert inst[0, 0] == 1 and inst[3, 2] == 2 and inst[7, 8] == 3
    assert inst[5, 5] == 3 and inst[5, 4] == 2
    assert (inst == 0).sum() == 12 * 14 - (6 + 12 + 12 - 1)
    # the training target: the separation mask (Fig. 3c), b and c touch and are kept apart
    assert mask.dtype == np.uint8 and np.array_equal(mask, separation_mask(inst))
    assert mask[5, 5] == 0 and mask[0, 0] == 1 and mask[5, 3] == 1
    from skimage.color import rgb2gray

    np.testing.assert_allclose(image[0, 0], rgb2gray(np.array([[[10, 100, 200]]]) / 255.0)[0, 0], atol=1e-6)
    (rgb,) = load_dsb2018(tmp_path, ids=[ids[2]], gray=False).images
    assert rgb.shape == (3, 12, 14)
    np.testing.assert_allclose(rgb[:, 0, 0], np.array([20, 100, 200]) / 255, atol=1e-6)


def test_dsb_ids_limit_and_layouts(tmp_path):
    ids = _write_dsb(tmp_path / "x", 3, base="stage1_train")  # a clone's layout
    assert dsb2018_ids(tmp_path / "x") == ids
    # images come in the order of ids; image k has red = 10 * k
    some = load_dsb2018(tmp_path / "x", ids=[ids[2], ids[0]], gray=False)
    np.testing.assert_allclose([rgb[0, 0, 0] * 255 for rgb in some.images], [20, 0], atol=1e-4)
    assert some.ids == (ids[2], ids[0])
    assert load_dsb2018(tmp_path / "x", limit=2).ids == tuple(ids[:2])
    assert len(load_dsb2018(tmp_path / "x", limit=0)) == 0


def test_dsb_many_images_thread_pool(tmp_path):
    ids = _write_dsb(tmp_path, 22)
    many = load_dsb2018(tmp_path)
    assert len(many) == 22 and many.ids == tuple(ids)
    for image_id, image, inst, mask in zip(ids, many.images, many.instances, many.masks):
        one = load_dsb2018(tmp_path, ids=[image_id])
        assert np.array_equal(image, one.images[0]) and np.array_equal(inst, one.instances[0])
        assert np.array_equal(mask, one.masks[0])


def test_dsb_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="fetch_dsb2018") as err:
        dsb2018_ids(tmp_path)
    assert "30354551efef351c1241da7c6d48cf938d76f02a" in str(err.value)
    with pytest.raises(FileNotFoundError, match="fetch_dsb2018"):
        load_dsb2018(tmp_path)
    ids = _write_dsb(tmp_path, 1)
    with pytest.raises(FileNotFoundError, match="nope"):
        load_dsb2018(tmp_path, ids=["nope"])
    with pytest.raises(ValueError, match="limit"):
        load_dsb2018(tmp_path, limit=-1)
    with pytest.raises(ValueError, match=r"ids repeat: \['img00'\]"):
        load_dsb2018(tmp_path, ids=[ids[0], ids[0]])
    Image.fromarray(np.zeros((5, 5), np.uint8)).save(tmp_path / "dsb2018/stage1_train" / ids[0] / "masks" / "d.png")
    with pytest.raises(ValueError, match="mask .* has shape"):
        load_dsb2018(tmp_path)
    (tmp_path / "empty" / "stage1_train").mkdir(parents=True)
    with pytest.raises(FileNotFoundError, match="no <id>/images"):
        dsb2018_ids(tmp_path / "empty")


@needs_real_dsb
def test_real_dsb2018(digest):
    ids = dsb2018_ids()
    assert len(ids) >= 3 and ids == sorted(ids)
    nuclei = load_dsb2018(ids=ids[:3])
    assert nuclei.ids == tuple(ids[:3])
    for image_id, image, inst in zip(ids[:3], nuclei.images, nuclei.instances):
        assert image.dtype == np.float32 and image.ndim == 2 and 0 <= image.min() and image.max() <= 1
        assert inst.dtype == np.int32 and inst.shape == image.shape
        n_masks = len(list((Path(REAL) / "dsb2018/stage1_train" / image_id / "masks").glob("*.png")))
        assert set(np.unique(inst)) == set(range(n_masks + 1))
    # checksums of the first 5 images as loaded before load_dsb2018 returned Samples
    colour = load_dsb2018(ids=ids[:5], gray=False)
    assert digest(colour.images) == DSB_FIRST5_COLOUR_SHA256
    assert digest(colour.instances) == DSB_FIRST5_INSTANCES_SHA256
    assert digest(colour.masks) == DSB_FIRST5_MASKS_SHA256


# ---------------------------------------------------------------------- plotting helpers


def test_overlay_and_color_instances():
    from unet_tutorial.plotting import color_instances, overlay

    img = np.full((4, 5), 0.5)
    mask = np.zeros((4, 5), bool)
    mask[1, 2] = True
    rgb = overlay(img, mask, color=(1, 0, 0), alpha=1.0)
    assert rgb.shape == (4, 5, 3)
    np.testing.assert_allclose(rgb[1, 2], [1, 0, 0])
    np.testing.assert_allclose(rgb[0, 0], [0.5, 0.5, 0.5])
    with pytest.raises(ValueError, match="alpha"):
        overlay(img, mask, alpha=2)
    with pytest.raises(ValueError, match="same shape"):
        overlay(img, mask[:2])
    inst = synthetic_voronoi_instances((30, 30), n_cells=6, gap=1, seed=0)
    col = color_instances(inst)
    assert col.shape == (30, 30, 3) and (col[inst == 0] == 0).all()
    # one colour per id, the same for every pixel of that id, and distinct ids differ
    colours = {i: np.unique(col[inst == i], axis=0) for i in range(1, 7)}
    assert all(len(c) == 1 for c in colours.values())
    assert len({tuple(c[0]) for c in colours.values()}) == 6
    blended = color_instances(inst, image=np.zeros((30, 30)), alpha=0.5)
    np.testing.assert_allclose(blended[inst > 0], 0.5 * col[inst > 0])
    with pytest.raises(ValueError, match="integer"):
        color_instances(inst.astype(float))


def test_dsb_split_depends_on_each_id_alone():
    ids = [hashlib.sha256(str(k).encode()).hexdigest() for k in range(2000)]
    parts = dsb2018_split(ids)
    assert list(parts) == list(DSB2018_PARTS)
    assert sorted(i for p in parts.values() for i in p) == sorted(ids)  # a partition
    for name, (lo, hi) in DSB2018_PARTS.items():  # each part gets about its share
        assert abs(len(parts[name]) / len(ids) - (hi - lo)) < 0.03, name
    # a subset of the ids (a copy with fewer images) puts every id in the same part
    sub = dsb2018_split(ids[::7])
    where = {i: n for n, p in parts.items() for i in p}
    assert all(where[i] == n for n, p in sub.items() for i in p)
    # a hand-computed case: the first 8 bytes of sha256("a") as a fraction of 2**64
    u = int(hashlib.sha256(b"a").hexdigest()[:16], 16) / 2**64
    assert [n for n, p in dsb2018_split(["a"]).items() if p] == [
        n for n, (lo, hi) in DSB2018_PARTS.items() if lo <= u < hi]


def test_dsb_split_rejects_bad_ids():
    with pytest.raises(ValueError, match="repeat.*x"):
        dsb2018_split(["x", "y", "x"])
    with pytest.raises(ValueError, match="non-empty strings"):
        dsb2018_split(["x", ""])
    with pytest.raises(ValueError, match="non-empty strings"):
        dsb2018_split([3])


def test_dsb_modality_and_gray(tmp_path):
    _write_dsb(tmp_path, 2)
    colour = load_dsb2018(tmp_path, gray=False)
    gray = load_dsb2018(tmp_path)
    assert len(colour) == len(gray) == 2
    for c, g in zip(colour.images, gray.images):
        assert np.array_equal(dsb2018_gray(c), g)  # exactly the loader's conversion
        assert dsb2018_modality(c) == "colour"
    dark = np.full((3, 8, 8), 0.1, np.float32)
    dark[:, 2:4, 2:4] = 0.9
    assert dsb2018_modality(dark) == "fluorescence"
    assert dsb2018_modality(1 - dark) == "bright field"
    with pytest.raises(ValueError, match=r"image.*\(3, H, W\)"):
        dsb2018_modality(np.zeros((4, 8, 8)))


@needs_real_dsb
def test_dsb_gray_equals_the_loader_on_real_images():
    ids = dsb2018_ids(REAL)[:12]
    colour, gray = load_dsb2018(REAL, ids=ids, gray=False), load_dsb2018(REAL, ids=ids)
    assert len(gray) == 12 and colour.ids == gray.ids == tuple(ids)
    for c, g in zip(colour.images, gray.images):
        assert np.array_equal(dsb2018_gray(c), g)
    assert all(np.array_equal(a, b) for a, b in zip(colour.instances + colour.masks, gray.instances + gray.masks))
