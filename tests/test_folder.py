"""A reader's own images: ``DIR/images`` + ``DIR/masks`` read, decoded, split and trained on.

Every mask encoding is written with Pillow/tifffile into a temporary folder and
the decoded binary mask is compared with the mask that was written.
"""

from __future__ import annotations


import numpy as np
import pytest
import torch
from skimage.color import rgb2gray

from folder_helpers import BLACK, BLUE, M, RED, WHITE, make_folder, one_pair, rgb, touching_ids, write, write_palette
from unet_tutorial.__main__ import main
from unet_tutorial.data import Samples, TrainData, prepare_data
from unet_tutorial.data.folder import (
    decode_mask,
    folder_train_data,
    load_folder,
    pair_files,
    split_names,
)
from unet_tutorial.data.registry import train_data_argument
from unet_tutorial.weights import separation_mask


ENCODINGS = {
    # name: (writer into the masks folder, expected binary mask, expected encoding)
    "0/1 png": (lambda d: write(d / "a.png", M), M, "binary"),
    "0/255 png": (lambda d: write(d / "a.png", M * 255), M, "two-value"),
    "bool png": (lambda d: write(d / "a.png", M.astype(bool)), M, "binary"),
    "0/65535 tif": (lambda d: write(d / "a.tif", M.astype(np.uint16) * 65535), M, "two-value"),
    "1/2 tiff": (lambda d: write(d / "a.tiff", M + 1), M, "two-value"),
    "palette black/red": (lambda d: write_palette(d / "a.png", M, [*BLACK, *RED]), M, "palette"),
    "palette white/black": (lambda d: write_palette(d / "a.png", M, [*WHITE, *BLACK]), 1 - M, "palette"),
    "rgb black/red": (lambda d: write(d / "a.png", rgb(M, RED, BLACK)), M, "rgb"),
    "rgba black/red": (lambda d: write(d / "a.png", rgb(M, RED, BLACK, alpha=True)), M, "rgb"),
    # the rule is "the darker colour is background": white surroundings of blue objects become foreground
    "rgb white/blue": (lambda d: write(d / "a.png", rgb(M, BLUE, WHITE)), 1 - M, "rgb"),
    "rgb gray 0/255": (lambda d: write(d / "a.png", rgb(M, WHITE, BLACK)), M, "two-value"),
}


@pytest.mark.parametrize("name", list(ENCODINGS))
def test_load_folder_decodes_every_binary_encoding(tmp_path, name):
    writer, expected, encoding = ENCODINGS[name]
    samples = load_folder(one_pair(tmp_path, writer))
    assert isinstance(samples, Samples) and samples.ids == ("a",) and samples.num_classes == 2
    (mask,) = samples.masks
    assert mask.dtype == np.uint8 and mask.shape == M.shape
    np.testing.assert_array_equal(mask, expected)
    assert samples.detail["encodings"] == {"a": encoding} and samples.instances is None
    assert samples.detail["mask_paths"]["a"].parent.name == "masks"
    assert samples.detail["image_paths"]["a"] == tmp_path / "images" / "a.png"


@pytest.mark.parametrize("suffix", [".tif", ".png"])
def test_instance_labels_give_the_separation_mask(tmp_path, suffix):
    ids = touching_ids()
    samples = load_folder(one_pair(tmp_path, lambda d: write(d / f"a{suffix}", ids)))
    (instances,), (mask,) = samples.instances, samples.masks
    assert samples.detail["encodings"]["a"] == "instances" and instances.dtype == np.int32
    assert sorted(np.unique(instances)) == [0, 1, 2, 3]  # ids compacted, 0 stays background
    np.testing.assert_array_equal(instances > 0, ids > 0)
    np.testing.assert_array_equal(mask, separation_mask(ids))
    assert mask[5:20, 19:21].sum() == 0  # the 2-px border between the touching objects (Fig. 3c)


def test_instances_only_when_every_mask_holds_them(tmp_path):
    """Object scores need instances of every image: a folder mixing binary and instance masks has none,
    its encodings say which is which; the masks are the training targets of both kinds."""
    root = one_pair(tmp_path, lambda d: write(d / "a.png", touching_ids()))
    one_pair(root, lambda d: write(d / "b.png", M * 255), name="b")
    mixed = load_folder(root)
    assert mixed.ids == ("a", "b") and mixed.instances is None
    assert mixed.detail["encodings"] == {"a": "instances", "b": "two-value"}
    np.testing.assert_array_equal(mixed.masks[0], separation_mask(touching_ids()))
    np.testing.assert_array_equal(mixed.masks[1], M)
    # detail is keyed by id, so it stays right for a selection
    assert mixed.select(["b"]).detail["encodings"]["b"] == "two-value"


def test_palette_with_many_indices_is_instance_labels(tmp_path):
    idx = touching_ids()
    idx = np.select([idx == 7, idx == 300, idx == 9], [1, 2, 3], 0).astype(np.uint8)
    samples = load_folder(one_pair(tmp_path, lambda d: write_palette(d / "a.png", idx, [0, 0, 0] * 4)))
    assert samples.detail["encodings"]["a"] == "instances"
    np.testing.assert_array_equal(samples.instances[0], idx)
    np.testing.assert_array_equal(samples.masks[0], separation_mask(idx))


def test_uniform_masks():
    assert decode_mask(np.zeros((4, 4), np.uint8)).mask.sum() == 0
    assert decode_mask(np.full((4, 4), 255, np.uint8)).mask.all()


@pytest.mark.parametrize("raw, words", [
    (np.zeros((8, 8), np.float32), "floating-point"),
    (np.stack([np.arange(64).reshape(8, 8) % 3 * 100] * 2 + [np.zeros((8, 8))], -1).astype(np.uint8), "3 colours"),
    (rgb(np.eye(8, dtype=np.uint8), (255, 0, 0), (0, 75, 14)), "equally bright"),  # luminance 54.2 vs 54.7
    (-np.ones((8, 8), np.int16), "negative"),
    (np.zeros((2, 8, 8, 5), np.uint8), "shape"),
])
def test_undecodable_masks_are_refused(raw, words):
    with pytest.raises(ValueError, match=words):
        decode_mask(raw, name="mask m.png")


def test_rgb_mask_with_many_colours_names_the_file(tmp_path):
    rgb = np.random.default_rng(1).integers(0, 256, (40, 48, 3), dtype=np.uint8)
    root = one_pair(tmp_path, lambda d: write(d / "a.png", rgb))
    with pytest.raises(ValueError, match=r"a\.png.*RGB mask with \d+ colours"):
        load_folder(root)


def test_float_tiff_mask_names_the_file(tmp_path):
    root = one_pair(tmp_path, lambda d: write(d / "a.tif", M.astype(np.float32)))
    with pytest.raises(ValueError, match=r"a\.tif.*floating-point"):
        load_folder(root)


# --------------------------------------------------------------------------
# Images
# --------------------------------------------------------------------------


def test_images_follow_the_read_image_rules(tmp_path):
    rng = np.random.default_rng(2)
    rgb = rng.integers(0, 256, (40, 48, 3), dtype=np.uint8)
    deep = rng.integers(0, 65536, (40, 48), dtype=np.uint16)
    gray = rng.integers(0, 256, (40, 48), dtype=np.uint8)
    for name, image in (("rgb", rgb), ("deep", deep), ("gray", gray)):
        suffix = ".tif" if name == "deep" else ".png"
        write(tmp_path / "images" / f"{name}{suffix}", image)
        write(tmp_path / "masks" / f"{name}.png", M * 255)
    loaded = load_folder(tmp_path)
    assert loaded.ids == ("deep", "gray", "rgb")  # sorted by name
    images = dict(zip(loaded.ids, loaded.images))
    for image in images.values():
        assert image.dtype == np.float32 and image.shape == (40, 48)
    np.testing.assert_allclose(images["rgb"], rgb2gray(rgb / 255.0), atol=1e-6)
    np.testing.assert_allclose(images["deep"], deep / 65535.0, atol=1e-6)
    np.testing.assert_allclose(images["gray"], gray / 255.0, atol=1e-6)


def test_sixteen_bit_png_image_is_scaled_by_65535(tmp_path):
    deep = (np.arange(40 * 48).reshape(40, 48) * 20).astype(np.uint16)
    (image,) = load_folder(one_pair(tmp_path, lambda d: write(d / "a.png", M), image=deep)).images
    np.testing.assert_allclose(image, deep / 65535.0, atol=1e-6)


# --------------------------------------------------------------------------
# Broken folders
# --------------------------------------------------------------------------


def test_image_without_mask_names_the_file(tmp_path):
    root = make_folder(tmp_path, n=2)
    write(root / "images" / "lonely.png", np.zeros((64, 64), np.uint8))
    with pytest.raises(ValueError, match=r"lonely\.png: no mask"):
        load_folder(root)


def test_mask_without_image_names_the_file(tmp_path):
    root = make_folder(tmp_path, n=2)
    write(root / "masks" / "orphan.tif", M)
    with pytest.raises(ValueError, match=r"orphan\.tif: no image"):
        load_folder(root)


def test_size_mismatch_names_both_files(tmp_path):
    root = make_folder(tmp_path, n=2)
    write(root / "masks" / "img1.png", np.zeros((60, 64), np.uint8))
    with pytest.raises(ValueError, match=r"img1\.png is 64×64 px but its mask .*img1\.png is 60×64"):
        load_folder(root)


def test_unreadable_file_names_it(tmp_path):
    root = make_folder(tmp_path, n=2)
    (root / "masks" / "img0.png").write_bytes(b"not a png at all")
    with pytest.raises(ValueError, match=r"img0\.png"):
        load_folder(root)


def test_missing_folders_and_duplicate_names(tmp_path):
    with pytest.raises(FileNotFoundError, match="no folder"):
        load_folder(tmp_path / "nowhere")
    write(tmp_path / "images" / "a.png", np.zeros((4, 4), np.uint8))
    with pytest.raises(FileNotFoundError, match="masks"):
        load_folder(tmp_path)
    write(tmp_path / "masks" / "a.png", M[:4, :4])
    write(tmp_path / "masks" / "a.tif", M[:4, :4])
    with pytest.raises(ValueError, match="same name 'a'"):
        load_folder(tmp_path)


def test_empty_folder_and_ignored_files(tmp_path):
    (tmp_path / "images").mkdir()
    (tmp_path / "masks").mkdir()
    (tmp_path / "images" / "notes.txt").write_text("hello")
    (tmp_path / "images" / ".DS_Store").write_text("")
    assert [p.name for p in pair_files(tmp_path).ignored] == ["notes.txt"]
    with pytest.raises(ValueError, match="no image/mask pairs"):
        load_folder(tmp_path)


# --------------------------------------------------------------------------
# The split
# --------------------------------------------------------------------------


def test_split_is_deterministic_and_keeps_both_sides():
    names = [f"n{i}" for i in range(10)]
    train, held = split_names(names, 0.2, seed=0)
    assert len(held) == 2 and sorted(train + held) == names
    assert split_names(list(reversed(names)), 0.2, seed=0) == (train, held)  # order does not matter
    assert split_names(names, 0.2, seed=1) != (train, held)
    assert split_names(["a", "b"], 0.01)[1] != [] and split_names(["a", "b"], 0.99)[0] != []
    assert split_names(["a"], 0.5) == (["a"], [])
    assert split_names(names, 0.0) == (names, [])


@pytest.mark.parametrize("bad", [-0.1, 1.0, 1.5, float("nan"), "0.2", True])
def test_val_fraction_is_validated(tmp_path, bad):
    with pytest.raises(ValueError, match="val_fraction"):
        folder_train_data(tmp_path, val_fraction=bad)


def test_folder_train_data(tmp_path):
    root = make_folder(tmp_path, n=5)
    data = folder_train_data(root, val_fraction=0.2)
    assert isinstance(data, TrainData) and len(data.images) == 4 and len(data.val_images) == 1
    assert all(lab.dtype == np.uint8 and set(np.unique(lab)) <= {0, 1} for lab in data.labels)
    again = folder_train_data(root, val_fraction=0.2)
    np.testing.assert_array_equal(again.val_images[0], data.val_images[0])
    assert len(folder_train_data(root, val_fraction=0.0).val_images) == 0
    # prepare_data dispatches Paths and folder strings
    assert len(prepare_data(root).val_images) == 1
    assert len(prepare_data(str(root), val_fraction=0.5).val_images) == 2


def test_empty_masks_are_never_held_out(tmp_path):
    root = make_folder(tmp_path, n=2)
    write(root / "masks" / "img0.png", np.zeros((64, 64), np.uint8))
    write(root / "masks" / "img1.png", np.zeros((64, 64), np.uint8))
    write(root / "images" / "img2.png", np.zeros((64, 64), np.uint8))
    write(root / "masks" / "img2.png", np.pad(np.ones((10, 10), np.uint8), 27))
    for seed in range(4):
        data = folder_train_data(root, val_fraction=0.4, seed=seed)
        assert len(data.val_labels) == 1 and data.val_labels[0].sum() == 100


def test_train_data_argument():
    assert train_data_argument("synthetic") == "synthetic"
    with pytest.raises(ValueError, match="--val-fraction applies to a folder"):
        train_data_argument("isbi2012", 0.3)
    with pytest.raises(ValueError, match="no such folder"):
        train_data_argument("/no/such/folder")


# --------------------------------------------------------------------------
# python -m unet_tutorial train --data DIR
# --------------------------------------------------------------------------


TINY = ["base_channels=2", "depth=2", "tile_size=60", "steps=2", "val_every=0", "checkpoint_every=0",
        "batch_size=1", "num_threads=1", 'augment="flips"', "warmup_steps=0"]


def test_train_command_on_a_folder_writes_a_model(tmp_path, capsys):
    root = make_folder(tmp_path / "data", n=3, size=48)
    out = tmp_path / "run"
    argv = ["train", "--data", str(root), "--val-fraction", "0.34", "--out", str(out), "--device", "cpu",
            "--no-progress"]
    for s in TINY:
        argv += ["--set", s]
    threads = torch.get_num_threads()
    try:
        assert main(argv) == 0, capsys.readouterr().err
    finally:
        torch.set_num_threads(threads)
    assert (out / "model.pt").is_file()
    assert "done: 2 steps" in capsys.readouterr().out


def test_train_command_refuses_a_missing_folder(tmp_path, capsys):
    assert main(["train", "--data", str(tmp_path / "nope"), "--out", str(tmp_path / "o"), "--no-progress"]) == 2
    assert "no such folder" in capsys.readouterr().err
