"""Instance-level metrics and instance prediction, against hand-made cases and brute-force definitions."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import ndimage

from unet_tutorial.metrics import DSB_THRESHOLDS, dsb_score, instance_f1, match_instances, seg_score


def two_cells() -> np.ndarray:
    truth = np.zeros((6, 10), np.int32)
    truth[1:5, 1:5] = 1
    truth[1:5, 5:9] = 2
    return truth


# --------------------------------------------------------------------------
# Brute-force definitions, written from ../shared/PAPER.md, one object at a time
# --------------------------------------------------------------------------


def brute_iou(a: np.ndarray, b: np.ndarray) -> float:
    return np.logical_and(a, b).sum() / np.logical_or(a, b).sum()


def brute_counts(pred, truth, t):
    """TP/FP/FN at IoU > t, for t >= 0.5 where each object matches at most one other."""
    p_ids, t_ids = [i for i in np.unique(pred) if i], [j for j in np.unique(truth) if j]
    tp = sum(1 for i in p_ids for j in t_ids if brute_iou(pred == i, truth == j) > t)
    return tp, len(p_ids) - tp, len(t_ids) - tp


def brute_dsb(pred, truth) -> float:
    scores = []
    for t in np.arange(0.5, 1.0, 0.05):
        tp, fp, fn = brute_counts(pred, truth, t)
        scores.append(tp / (tp + fp + fn) if tp + fp + fn else 1.0)
    return float(np.mean(scores))


def brute_seg(pred, truth) -> float:
    scores = []
    for j in [j for j in np.unique(truth) if j]:
        r = truth == j
        best = 0.0
        for i in [i for i in np.unique(pred) if i]:
            s = pred == i
            if np.logical_and(r, s).sum() > 0.5 * r.sum():
                best = brute_iou(r, s)
        scores.append(best)
    return float(np.mean(scores))


@st.composite
def label_pairs(draw):
    """Two label images of rectangles (possibly overlapping each other, later ids on top)."""
    h, w = draw(st.integers(6, 24)), draw(st.integers(6, 24))
    out = []
    for _ in range(2):
        lab = np.zeros((h, w), np.int32)
        for k in range(1, draw(st.integers(0, 5)) + 1):
            y, x = draw(st.integers(0, h - 2)), draw(st.integers(0, w - 2))
            lab[y : y + draw(st.integers(1, h)), x : x + draw(st.integers(1, w))] = k * 3  # ids need not be 1..n
        out.append(lab)
    return out


@settings(max_examples=60, deadline=None)
@given(label_pairs())
def test_matches_the_brute_force_definitions(pair):
    pred, truth = pair
    assert dsb_score(pred, truth) == pytest.approx(brute_dsb(pred, truth))
    for t in (0.5, 0.75, 0.9):
        m = match_instances(pred, truth, t)
        assert (m.tp, m.fp, m.fn) == brute_counts(pred, truth, t)
        assert np.all(m.iou > t)
    if truth.any():
        assert seg_score(pred, truth) == pytest.approx(brute_seg(pred, truth))


def test_hand_made_cases():
    truth = two_cells()
    assert dsb_score(truth, truth) == 1.0 and instance_f1(truth, truth) == 1.0 and seg_score(truth, truth) == 1.0
    merged = (truth > 0).astype(np.int32)
    m = match_instances(merged, truth)
    assert (m.tp, m.fp, m.fn) == (0, 1, 2)  # IoU 0.5 with each cell: not above 0.5
    assert dsb_score(merged, truth) == 0.0 and instance_f1(merged, truth) == 0.0
    assert seg_score(merged, truth) == 0.5  # each cell is covered entirely, Jaccard 16 / 32
    shrunk = truth.copy()
    shrunk[1, 1:5] = 0  # cell 1 loses a quarter: IoU 0.75
    m = match_instances(shrunk, truth, 0.7)
    assert m.tp == 2 and sorted(m.iou.round(2).tolist()) == [0.75, 1.0]
    # DSB: cell 1 matches at thresholds 0.50-0.70 (TP 2: score 1), not from 0.75 on
    # (IoU 0.75 is not above 0.75: TP 1, FP 1, FN 1: score 1/3)
    expected = np.mean([1.0 if t < 0.75 else 1 / 3 for t in DSB_THRESHOLDS])
    assert dsb_score(shrunk, truth) == pytest.approx(expected)
    # an extra predicted object costs DSB and F1, not SEG (unlabelled parts are ignored)
    extra = truth.copy()
    extra[5, :] = 7
    assert seg_score(extra, truth) == 1.0 and instance_f1(extra, truth) == pytest.approx(4 / 5)
    assert dsb_score(np.zeros_like(truth), np.zeros_like(truth)) == 1.0
    assert seg_score(np.zeros_like(truth), truth, per_object=True).tolist() == [0.0, 0.0]


def test_below_half_the_matching_is_one_to_one():
    """At a low threshold one predicted object may overlap two true ones; it matches only one."""
    truth = two_cells()
    pred = np.zeros_like(truth)
    pred[1:5, 2:8] = 1
    m = match_instances(pred, truth, 0.1)
    assert (m.tp, m.fp, m.fn) == (1, 0, 1) and len(set(m.pairs[:, 1])) == 1


def test_agrees_with_scikit_image_contingency():
    from skimage.metrics import contingency_table

    rng = np.random.default_rng(0)
    truth = rng.integers(0, 4, (20, 20)).astype(np.int32)
    pred = rng.integers(0, 4, (20, 20)).astype(np.int32)
    table = contingency_table(truth, pred).toarray()
    from unet_tutorial.metrics.instances import _overlaps

    p_ids, t_ids, inter, _, _ = _overlaps(pred, truth)
    assert np.array_equal(inter, table[np.ix_(t_ids, p_ids)].T)


@pytest.mark.parametrize("bad,match", [
    (dict(pred=np.zeros((4, 4), bool)), "pred is a boolean mask"),
    (dict(pred=np.zeros((4, 4), np.float32)), "pred must hold integer"),
    (dict(truth=-np.ones((4, 4), np.int32)), "truth has negative ids"),
    (dict(truth=np.zeros((4, 5), np.int32)), "same shape"),
    (dict(pred=np.zeros((0, 4), np.int32)), "pred is empty"),
])
def test_bad_input_is_named(bad, match):
    args = {"pred": np.zeros((4, 4), np.int32), "truth": np.ones((4, 4), np.int32), **bad}
    for f in (dsb_score, seg_score, instance_f1):
        with pytest.raises(ValueError, match=match):
            f(**args)
    with pytest.raises(ValueError, match="iou_threshold"):
        match_instances(np.ones((4, 4), np.int32), np.ones((4, 4), np.int32), 1.0)
    with pytest.raises(ValueError, match="truth has no object"):
        seg_score(np.ones((4, 4), np.int32), np.zeros((4, 4), np.int32))


# --------------------------------------------------------------------------
# Instances from probabilities, and from a model
# --------------------------------------------------------------------------


def test_separation_borders_are_given_back_and_isolated_cells_do_not_grow():
    from unet_tutorial.inference import instances_from_probability
    from unet_tutorial.weights import separation_mask

    truth = np.zeros((12, 20), np.int32)
    truth[2:10, 2:8] = 1      # two cells sharing an edge ...
    truth[2:10, 8:14] = 2
    truth[3:7, 17:20] = 3     # ... and an isolated one, 3 px away
    target = separation_mask(truth).astype(np.float32)  # what the network learns: a 2-px gap
    labels = instances_from_probability(target, 0.5, min_size=1)
    assert len(np.unique(labels)) == 4  # background + 3 objects: the touching cells stay apart
    assert np.array_equal(labels > 0, truth > 0)  # the gap is given back, nothing else grows
    assert seg_score(labels, truth) == 1.0 and dsb_score(labels, truth) == 1.0
    plain = instances_from_probability(target, 0.5, min_size=1, gap=0)
    assert seg_score(plain, truth) < 1.0  # without giving the border back the cells are thinner


def test_small_specks_are_removed_and_labels_are_consecutive():
    from unet_tutorial.inference import instances_from_probability

    prob = np.zeros((10, 10))
    prob[0:5, 0:5] = 0.9
    prob[8, 8] = 0.9  # a one-pixel speck
    labels = instances_from_probability(prob, 0.5, min_size=4)
    assert labels.dtype == np.int32 and np.unique(labels).tolist() == [0, 1]
    with pytest.raises(ValueError, match="threshold must be in"):
        instances_from_probability(prob, 1.5)
    with pytest.raises(ValueError, match="min_size"):
        instances_from_probability(prob, 0.5, min_size=-1)
    with pytest.raises(ValueError, match="prob must be a probability"):
        instances_from_probability(prob * 2, 0.5)


def test_predict_instances_uses_the_saved_threshold(tmp_path):
    import torch

    from unet_tutorial.checkpoint import load_model, save_model
    from unet_tutorial.inference import instances_from_probability, predict_instances, predict_tiled
    from unet_tutorial.model import UNet

    torch.manual_seed(0)
    net = UNet(base_channels=2, depth=2, dropout=0.0)
    image = np.random.default_rng(0).random((40, 40)).astype(np.float32)
    prob = predict_tiled(net, image)[1]
    t = float(np.median(prob))  # a threshold that splits the pixels in half
    save_model(net, tmp_path / "m.pt", threshold=t)
    loaded = load_model(tmp_path / "m.pt")
    assert loaded.threshold == pytest.approx(t)
    got = predict_instances(loaded, image, min_size=1)
    assert np.array_equal(got, instances_from_probability(prob, t, min_size=1))
    assert load_model(tmp_path / "m.pt").threshold is not None
    save_model(net, tmp_path / "plain.pt")
    assert load_model(tmp_path / "plain.pt").threshold is None


def test_predict_command_writes_instances(tmp_path):
    import tifffile
    import torch

    from unet_tutorial.__main__ import main
    from unet_tutorial.checkpoint import save_model
    from unet_tutorial.inference import predict_instances
    from unet_tutorial.model import UNet

    torch.manual_seed(0)
    net = UNet(base_channels=2, depth=2, dropout=0.0)
    save_model(net, tmp_path / "m.pt")
    image = (np.random.default_rng(1).random((30, 36)) * 255).astype(np.uint8)
    tifffile.imwrite(tmp_path / "cells.tif", image)
    assert main(["predict", "--weights", str(tmp_path / "m.pt"), "--out", str(tmp_path / "out"), "--quiet",
                 "--instances", "--min-size", "2", str(tmp_path / "cells.tif")]) == 0
    labels = tifffile.imread(tmp_path / "out" / "cells_instances.tif")
    assert labels.dtype == np.int32
    assert np.array_equal(labels, predict_instances(net, image, min_size=2))
    assert main(["predict", "--weights", str(tmp_path / "m.pt"), "--out", str(tmp_path / "o2"),
                 "--instances", "--min-size", "-3", str(tmp_path / "cells.tif")]) == 2


# --------------------------------------------------------------------------
# The nuclei protocol of dsb2018-border-weights: scores, threshold choice, Otsu baseline
# --------------------------------------------------------------------------


def touching_squares(n: int = 3) -> np.ndarray:
    """``n`` pairs of 8 x 8 squares, the two of each pair sharing an edge."""
    truth = np.zeros((12, 24 * n), np.int32)
    for k in range(n):
        truth[2:10, 24 * k + 2:24 * k + 10] = 2 * k + 1
        truth[2:10, 24 * k + 10:24 * k + 18] = 2 * k + 2
    return truth


def test_nuclei_metrics_count_merges_misses_and_pool_f1():
    from unet_tutorial.experiments.evaluation import nuclei_metrics

    truth = touching_squares(2)
    perfect = nuclei_metrics([truth], [truth])
    assert perfect == {"dsb": 1.0, "f1": 1.0, "merged": 0.0, "missed": 0.0, "iou": 1.0, "pairs": 2.0,
                       "nuclei": 4.0}
    pred = truth.copy()
    pred[pred == 2] = 1  # the first pair merged into one object ...
    pred[pred == 4] = 0  # ... and one nucleus of the second pair missed
    got = nuclei_metrics([pred, truth], [truth, truth])
    assert got["merged"] == 1 / 4 and got["missed"] == 1 / 8 and got["pairs"] == 4
    # image 1: 1 TP (object 3), FP 1 (the merge: IoU 0.5, not above), FN 3; image 2 perfect
    assert got["f1"] == pytest.approx(2 * 5 / (2 * 5 + 1 + 3))
    assert got["dsb"] == pytest.approx((dsb_score(pred, truth) + 1.0) / 2)
    with pytest.raises(ValueError, match="as many"):
        nuclei_metrics([pred], [])
    each = nuclei_metrics([pred, truth], [truth, truth], per_image=True)  # the spread of one run
    assert [each["dsb_image0"], each["dsb_image1"]] == [dsb_score(pred, truth), 1.0]
    assert "dsb_image0" not in got and {k: each[k] for k in got} == got


def test_the_threshold_is_chosen_by_the_objects_it_gives():
    """The contact column at p = 0.55 merges the pairs at 0.5 and separates them at 0.6."""
    from unet_tutorial.experiments.evaluation import choose_threshold

    truth = touching_squares(3)
    prob = np.where(truth > 0, 0.8, 0.05).astype(np.float32)
    prob[:, [9, 10, 33, 34, 57, 58]] = np.where(truth[:, [9, 10, 33, 34, 57, 58]] > 0, 0.55, 0.05)
    assert choose_threshold([prob], [truth], (0.5, 0.6)) == 0.6
    assert choose_threshold([prob], [truth], (0.3, 0.5)) == 0.5  # a tie: the one nearest 0.5
    with pytest.raises(ValueError, match="thresholds is empty"):
        choose_threshold([prob], [truth], ())
    # SEG (the cell tracking protocol) prefers the separated objects too: a merged pair scores 0.5 each
    assert choose_threshold([prob], [truth], (0.5, 0.6), score="seg") == 0.6
    with pytest.raises(ValueError, match="score must be a registered instance metric"):
        choose_threshold([prob], [truth], (0.5,), score="iou")


@pytest.mark.parametrize("bright", [True, False])
def test_otsu_baseline_finds_bright_and_dark_nuclei(bright):
    from unet_tutorial.baseline import otsu_instances

    truth = touching_squares(2)
    truth[truth % 2 == 0] = 0  # apart: one square of each pair
    rng = np.random.default_rng(0)
    image = np.where(truth > 0, 0.8, 0.2) + rng.normal(0, 0.02, truth.shape)
    got = otsu_instances(image if bright else 1 - image, min_size=4)
    assert match_instances(got, truth, 0.9).tp == 2 and got.max() == 2
    merged = otsu_instances(np.where(touching_squares(1) > 0, 0.8, 0.2))
    assert merged.max() == 1  # touching nuclei stay one object: nothing separates them
    with pytest.raises(ValueError, match="constant"):
        otsu_instances(np.ones((8, 8)))


def test_dsb_protocol_scores_at_the_dsb_and_the_iou_threshold_chosen_on_validation(monkeypatch):
    """Validation: the pairs' contact columns (p = 0.55) merge them below 0.6, a halo of p = 0.45
    around the nuclei widens them below 0.5: DSB prefers 0.6, foreground IoU 0.5 (the halo is not
    nucleus, the contact columns are). The held-out image is scored at each, as recorded."""
    from unet_tutorial.experiments import evaluation
    from unet_tutorial.inference import instances_from_probability

    truth = touching_squares(3)
    prob = np.where(truth > 0, 0.8, 0.05).astype(np.float32)
    halo = (ndimage.binary_dilation(truth > 0, iterations=1)) & (truth == 0)
    prob[halo] = 0.45
    contact = [9, 10, 33, 34, 57, 58]
    prob[:, contact] = np.where(truth[:, contact] > 0, 0.55, prob[:, contact])
    held = truth[:, :48].copy()  # another image: two of the pairs
    held_prob = prob[:, :48].copy()
    maps = {id(truth): prob, id(held): held_prob}
    monkeypatch.setattr(evaluation, "_class_probabilities",
                        lambda m, ims, **kw: [np.stack([1 - maps[id(im)], maps[id(im)]]) for im in ims])
    got = evaluation.evaluate_dsb2018(None, [held], [held], threshold_images=[truth],
                                      threshold_instances=[truth], thresholds=(0.4, 0.5, 0.6))
    assert got["threshold"] == 0.6 and got["threshold_iou"] == 0.5
    assert got["val_iou@0.5"] == 1.0 and got["val_iou@0.4"] < 1.0 and got["val_merged@0.5"] == 1.0
    assert got["val_merged@0.6"] == 0.0 and got["val_dsb@0.6"] > got["val_dsb@0.5"]
    at_iou = evaluation.nuclei_metrics([instances_from_probability(held_prob, 0.5)], [held])
    assert got["merged_at_iou"] == at_iou["merged"] == 1.0 and got["iou_at_iou"] == at_iou["iou"]
    assert got["merged"] == 0.0 and got["pairs"] == 2
    with pytest.raises(ValueError, match="one instance label per threshold image"):
        evaluation.evaluate_dsb2018(None, [held], [held], threshold_images=[truth], threshold_instances=[])


def test_convex_touching_pairs_keeps_two_discs_and_drops_fragments_of_one_blob():
    from unet_tutorial.metrics import convex_touching_pairs

    yy, xx = np.mgrid[:40, :60]
    inst = np.zeros((40, 60), dtype=np.int32)
    inst[(yy - 10) ** 2 + (xx - 9) ** 2 <= 49] = 1  # two discs that touch: a neck
    inst[((yy - 10) ** 2 + (xx - 23) ** 2 <= 49) & (inst == 0)] = 2
    blob = (yy - 28) ** 2 / 64 + (xx - 40) ** 2 / 256 <= 1  # one ellipse cut in three
    inst[blob & (xx < 34)] = 3
    inst[blob & (xx >= 34) & (xx < 46)] = 4
    inst[blob & (xx >= 46)] = 5
    from unet_tutorial.weights import touching_pairs

    assert touching_pairs(inst).tolist() == [[1, 2], [3, 4], [4, 5]]
    assert convex_touching_pairs(inst, min_area=20).tolist() == [[1, 2]]
    # the middle fragment is small: with a larger min_area nothing is left but the discs
    assert convex_touching_pairs(inst, min_area=200).tolist() == []
    with pytest.raises(ValueError, match="max_union_solidity"):
        convex_touching_pairs(inst, max_union_solidity=1.5)
    with pytest.raises(ValueError, match="min_area"):
        convex_touching_pairs(inst, min_area=0)
    assert convex_touching_pairs(np.zeros((5, 5), dtype=np.int32)).shape == (0, 2)


def test_isbi_protocol_gives_each_held_out_slice_its_error_at_the_pooled_threshold(monkeypatch):
    """Two held-out slices, one predicted perfectly and one with a gap in a membrane (merging two
    cells) at every threshold: the per-slice Rand errors are 0 and the second slice's own error,
    each at the threshold the pooled score chose (on validation slices, or the challenge's best)."""
    from unet_tutorial.experiments import evaluation
    from unet_tutorial.metrics import threshold_sweep

    truth = np.ones((32, 32), np.uint8)
    truth[:, 15:17] = 0  # a membrane: two cells
    perfect = np.where(truth == 1, 0.9, 0.05).astype(np.float32)
    gap = perfect.copy()
    gap[10:14, 15:17] = 0.95  # the membrane broken: the cells merge
    maps = {0: perfect, 1: gap, 2: perfect}
    monkeypatch.setattr(evaluation, "_probabilities", lambda m, ims, **kw: [maps[int(im[0, 0])] for im in ims])
    images = [np.full((32, 32), k, np.float32) for k in (0, 1)]
    for val in (None, [np.full((32, 32), 2, np.float32)]):
        got = evaluation.evaluate_isbi2012(None, images, [truth, truth], threshold_images=val,
                                           threshold_labels=None if val is None else [truth])
        for m in evaluation.PER_SLICE_METRICS:
            assert got[f"{m}_image0"] == 0.0
            one = threshold_sweep(gap, truth, [got[f"{m}_threshold"]], metrics=(m,), progress=False)
            assert got[f"{m}_image1"] == float(one.values[m][0])
        assert got["rand_image1"] > 0 and 0 < got["rand"] < got["rand_image1"]  # pooled between the two
