"""The data contract: Samples and Split, and the registry every data set is reached through."""

from __future__ import annotations

import numpy as np
import pytest

from unet_tutorial.data import DATASETS, Samples, Split, data_dir, get_dataset, make_split, prepare_data


def _samples(ids=(0, 1, 2), name="toy") -> Samples:
    return Samples(tuple(np.zeros((4, 5), np.float32) + i for i in ids), tuple(np.ones((4, 5), np.uint8) for _ in ids),
                   None, tuple(ids), name)


def test_samples_check_their_parts():
    s = _samples()
    assert len(s) == 3 and s.select([2, 0]).ids == (2, 0) and s.select([2]).images[0][0, 0] == 2
    with pytest.raises(ValueError, match="3 images but 2 masks"):
        Samples(s.images, s.masks[:2], None, s.ids, "toy")
    with pytest.raises(ValueError, match="ids must be distinct"):
        Samples(s.images, s.masks, None, (0, 0, 1), "toy")
    with pytest.raises(ValueError, match="same size"):
        Samples(s.images, (np.ones((3, 5), np.uint8),) * 3, None, s.ids, "toy")
    with pytest.raises(ValueError, match=r"no image with id \[7\]"):
        s.select([7])


def test_a_split_never_holds_out_a_training_or_validation_image():
    s = _samples((0, 1, 2, 3))
    split = Split(s.select([0, 1]), s.select([3]), s.select([2]), "toy")
    assert split.ids() == {"train": [0, 1], "held_out": [3], "validation": [2]}
    data = split.train_data()
    assert len(data.images) == 2 and len(data.val_images) == 1 and data.num_classes == 2
    with pytest.raises(ValueError, match=r"images \[1\] are both held out and in train"):
        Split(s.select([0, 1]), s.select([1]), None, "toy")


def test_every_data_set_is_registered_with_a_default_split():
    assert set(DATASETS) == {"isbi2012", "dsb2018", "ctc-u373", "ctc-u373-gold", "ctc-hela", "synthetic"}
    for d in DATASETS.values():
        train, held, val = d.default
        assert not set(held) & (set(train) | set(val)), d.name
    with pytest.raises(ValueError, match="unknown data set 'isbi'; known: isbi2012"):
        get_dataset("isbi")
    synthetic = make_split("synthetic")
    assert synthetic.ids() == {"train": [0, 1, 2, 3, 4], "held_out": [5, 6, 7, 8, 9]}
    assert "synthetic" in synthetic.train.name and synthetic.train.instances is None


@pytest.mark.skipif(not (data_dir() / "isbi2012").is_dir(), reason="needs the ISBI 2012 data")
def test_isbi2012_through_the_registry_is_table_1s_split():
    split = make_split("isbi2012")
    assert split.ids()["held_out"] == [25, 26, 27, 28, 29] and len(split.train) == 25
    old = prepare_data("isbi2012", 5)  # the training loop's view: the same images
    assert all(np.array_equal(a, b) for a, b in zip(old.val_images, split.held_out.images))
    with pytest.raises(ValueError, match="overlap"):
        make_split("isbi2012", [0, 1], [1, 25])


@pytest.mark.skipif(not (data_dir() / "DIC-C2DH-HeLa").is_dir(), reason="needs the DIC-HeLa data")
def test_cell_tracking_split_keeps_instances_and_frames():
    split = make_split("ctc-hela", [0, 1], [70], [60])
    assert split.held_out.ids == (70,) and split.held_out.instances[0].max() > 5
    assert set(np.unique(split.train.masks[0])) <= {0, 1}  # separation masks (Fig. 3c) to train on


@pytest.mark.skipif(not (data_dir() / "isbi2012").is_dir(), reason="needs the ISBI 2012 data")
def test_the_registry_returns_what_the_isbi2012_loader_returns():
    from unet_tutorial.data import load_isbi2012, load_samples

    registered, loaded = load_samples("isbi2012"), load_isbi2012()
    assert registered.name == loaded.name == "isbi2012" and registered.ids == loaded.ids == tuple(range(30))
    assert all(np.array_equal(a, b) for a, b in zip(registered.images + registered.masks, loaded.images + loaded.masks))


@pytest.mark.skipif(not (data_dir() / "PhC-C2DH-U373").is_dir(), reason="needs the PhC-U373 data")
def test_the_u373_split_keeps_which_truth_each_part_is_scored_against():
    from unet_tutorial.data import load_ctc

    split = make_split("ctc-u373", [0, 1], [85], [65])
    assert split.held_out.detail == {"truth": "gold", "partial": True}
    assert split.train.detail == split.validation.detail == {"truth": "silver", "partial": False}
    gold = load_ctc("PhC-C2DH-U373", "02", truth="gold", frames=[85])
    assert np.array_equal(split.held_out.instances[0], gold.instances[0])
    assert np.array_equal(split.held_out.masks[0], gold.masks[0])


@pytest.mark.skipif(not (data_dir() / "PhC-C2DH-U373").is_dir(), reason="needs the PhC-U373 data")
def test_the_gold_only_u373_split_trains_and_validates_on_gold_frames_alone():
    from unet_tutorial.data import load_ctc
    from unet_tutorial.data.registry import U373_GOLD_TRAIN

    split = make_split("ctc-u373-gold")
    assert split.train.ids == U373_GOLD_TRAIN and split.validation.ids == (74, 77)
    assert split.held_out.ids == (85, 92, 106, 112)
    assert split.train.detail == split.validation.detail == split.held_out.detail == {"truth": "gold",
                                                                                       "partial": True}
    gold = load_ctc("PhC-C2DH-U373", "02", truth="gold", frames=[10])
    assert np.array_equal(split.train.instances[0], gold.instances[0])
    # every gold frame of the sequence is in exactly one part
    assert set(load_ctc("PhC-C2DH-U373", "02", truth="gold").ids) == set(
        split.train.ids + split.validation.ids + split.held_out.ids)
