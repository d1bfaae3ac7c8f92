"""Tests of unet_tutorial.metrics: the ISBI 2012 metrics (§4) and the IoU.

Expected values are worked out by hand in the comments, or come from
independent, deliberately naive re-implementations written here from the
definitions and from the challenge's Java code (Fiji Trainable Segmentation:
RandError.java, WarpingError.java): a pixel-pair double loop for the Rand
error, a literal port of the 3-D simple-point test ``simple3d``, the literal
pass loop of ``simplePointWarp2d`` and of ``classifyMismatches2d``.
"""

from __future__ import annotations

import os
from functools import lru_cache

import numpy as np
import pytest
from scipy import ndimage as ndi

from unet_tutorial import metrics as M

C4 = ndi.generate_binary_structure(2, 1)
C8 = ndi.generate_binary_structure(2, 2)


# ----------------------------------------------------------------------------
# Small hand-made cases (7×7 = 49 pixels)
# ----------------------------------------------------------------------------
def two_cells() -> np.ndarray:
    """Rows 0-2 and 4-6 are two cells (21 px each), row 3 a membrane."""
    t = np.ones((7, 7), dtype=bool)
    t[3, :] = False
    return t


def merge_case() -> tuple[np.ndarray, np.ndarray]:
    """The proposal bridges the membrane with one pixel: a merge."""
    truth = two_cells()
    pred = truth.copy()
    pred[3, 3] = True
    return pred, truth


def split_case() -> tuple[np.ndarray, np.ndarray]:
    """One cell (all 49 px); the proposal cuts it with a membrane row: a split."""
    truth = np.ones((7, 7), dtype=bool)
    pred = truth.copy()
    pred[3, :] = False
    return pred, truth


def hole_case() -> tuple[np.ndarray, np.ndarray]:
    """One cell; the proposal has a one-pixel hole in its middle."""
    truth = np.ones((7, 7), dtype=bool)
    pred = truth.copy()
    pred[3, 3] = False
    return pred, truth


def shift_case() -> tuple[np.ndarray, np.ndarray]:
    """8×8: cells rows 0-3 and 5-7; the proposal moves the membrane to row 5."""
    truth = np.zeros((8, 8), dtype=bool)
    truth[:4] = True
    truth[5:] = True
    pred = np.zeros((8, 8), dtype=bool)
    pred[:5] = True
    pred[6:] = True
    return pred, truth


def random_blobs(rng: np.random.Generator, shape=(20, 20), sigma=1.5, level=0.0) -> np.ndarray:
    """Random smooth blobs: thresholded blurred white noise."""
    return ndi.gaussian_filter(rng.standard_normal(shape), sigma) > level


def random_pair(seed: int, shape=(20, 20)) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A truth, a correlated proposal and the probability map that made it."""
    rng = np.random.default_rng(seed)
    field = ndi.gaussian_filter(rng.standard_normal(shape), 1.5)
    truth = field > 0
    noisy = field + 0.6 * ndi.gaussian_filter(rng.standard_normal(shape), 1.0)
    prob = 1.0 / (1.0 + np.exp(-8.0 * noisy))
    return prob > 0.5, truth, prob


# ----------------------------------------------------------------------------
# Independent reference implementations
# ----------------------------------------------------------------------------
def flood_label4(mask: np.ndarray) -> np.ndarray:
    """4-connected labelling by breadth-first flood fill (no scipy)."""
    lab = np.zeros(mask.shape, dtype=int)
    h, w = mask.shape
    nxt = 0
    for y in range(h):
        for x in range(w):
            if mask[y, x] and lab[y, x] == 0:
                nxt += 1
                lab[y, x] = nxt
                queue = [(y, x)]
                while queue:
                    cy, cx = queue.pop()
                    for ny, nx in ((cy - 1, cx), (cy + 1, cx), (cy, cx - 1), (cy, cx + 1)):
                        if 0 <= ny < h and 0 <= nx < w and mask[ny, nx] and lab[ny, nx] == 0:
                            lab[ny, nx] = nxt
                            queue.append((ny, nx))
    return lab


def brute_rand_error(pred: np.ndarray, truth: np.ndarray) -> float:
    """Count ordered pixel pairs (self-pairs included) straight from the definition.

    Only pixels inside ground-truth cells count. Two pixels are "together" in
    A if they share a ground-truth cell, and in B if they share a proposal
    cell; a proposal membrane pixel is together only with itself.
    """
    a = flood_label4(truth).ravel()
    b = flood_label4(pred).ravel()
    idx = np.flatnonzero(a > 0)
    sum_a = sum_b = sum_ab = 0
    for i in idx:
        for j in idx:
            same_a = a[i] == a[j]
            same_b = i == j or (b[i] == b[j] and b[i] != 0)
            sum_a += same_a
            sum_b += same_b
            sum_ab += same_a and same_b
    precision, recall = sum_ab / sum_b, sum_ab / sum_a
    return 1.0 - 2.0 * precision * recall / (precision + recall)


# -- literal port of WarpingError.simple3d (Bertrand & Malandain 3-D test) ----
_A6 = np.array([[[0, 1, 0], [1, 5, 1], [0, 1, 0]], np.zeros((3, 3)), np.zeros((3, 3))])
_A18 = np.array([[[0, 0, 0], [0, 1, 1], [0, 0, 0]], [[0, 0, 0], [0, 0, 1], [0, 0, 0]], np.zeros((3, 3))])
_A26 = np.array([[[0, 0, 0], [0, 1, 1], [0, 1, 1]], [[0, 0, 0], [0, 0, 1], [0, 1, 1]], np.zeros((3, 3))])
_B18 = np.array([[[0, 1, 0], [0, 1, 9], [0, 1, 0]], [[0, 1, 1], [0, 0, 1], [0, 1, 1]], np.zeros((3, 3))])
_B26 = np.array([[[0, 0, 0], [0, 1, 1], [0, 1, 7]], [[0, 0, 0], [0, 0, 1], [0, 1, 1]], np.zeros((3, 3))])


def _nca(v: list[float], con: int, space: int) -> int:
    idx = {6: (4, 10, 12, 14, 16, 22),
           18: (1, 3, 4, 5, 7, 9, 10, 11, 12, 14, 15, 16, 17, 19, 21, 22, 23, 25),
           26: tuple(i for i in range(27) if i != 13)}[con]
    t = sum(int(v[i]) for i in idx)
    return con * space - t if space == 1 else t


def _sums(m: np.ndarray, v: list[float], maps) -> list[float]:
    out = []
    for f in maps:
        out.append(sum(m[f(x, y, z)] * v[x + 3 * y + 9 * z]
                       for x in range(3) for y in range(3) for z in range(3)))
    return out


_MAPS6 = [lambda x, y, z: (x, y, z), lambda x, y, z: (2 - x, y, z), lambda x, y, z: (y, x, z),
          lambda x, y, z: (2 - y, x, z), lambda x, y, z: (z, y, x), lambda x, y, z: (2 - z, y, x)]
_MAPS18 = [lambda x, y, z: (x, y, z), lambda x, y, z: (x, y, 2 - z), lambda x, y, z: (2 - x, y, z),
           lambda x, y, z: (2 - x, y, 2 - z), lambda x, y, z: (y, x, z), lambda x, y, z: (y, x, 2 - z),
           lambda x, y, z: (2 - y, x, z), lambda x, y, z: (2 - y, x, 2 - z), lambda x, y, z: (x, z, y),
           lambda x, y, z: (x, z, 2 - y), lambda x, y, z: (2 - x, z, y), lambda x, y, z: (2 - x, z, 2 - y)]
_MAPS26 = [lambda x, y, z: (x, y, z), lambda x, y, z: (2 - x, y, z), lambda x, y, z: (x, 2 - y, z),
           lambda x, y, z: (x, y, 2 - z), lambda x, y, z: (2 - x, 2 - y, z), lambda x, y, z: (x, 2 - y, 2 - z),
           lambda x, y, z: (2 - x, y, 2 - z), lambda x, y, z: (2 - x, 2 - y, 2 - z)]


def _ncb(v: list[float], ctyp: str, con: int, space: int) -> int:
    if ctyp == "a" and con == 6:
        return sum(s == 5 - space for s in _sums(_A6, v, _MAPS6))
    if ctyp == "a" and con == 18:
        return sum(s == 3 - 3 * space for s in _sums(_A18, v, _MAPS18))
    if ctyp == "a" and con == 26:
        return sum(s == 7 - 7 * space for s in _sums(_A26, v, _MAPS26))
    if ctyp == "b" and con == 18:
        return sum(s == 9 - space for s in _sums(_B18, v, _MAPS18))
    if ctyp == "b" and con == 26:
        return sum(s == 7 - space for s in _sums(_B26, v, _MAPS26))
    return 0


@lru_cache(maxsize=None)
def java_simple2d(patch: tuple[int, ...]) -> bool:
    """``simple2DBertrand(patch, 4)``: the 3×3 patch (row-major) as the middle
    slice of an empty 3×3×3 cube, complemented, then ``simple3d(…, 26)``."""
    v = [0.0] * 27
    v[9:18] = [float(p) for p in patch]
    v = [0.0 if x == 1.0 else 1.0 for x in v]  # region 6: test the complement
    if _nca(v, 6, 1) == 1 or _nca(v, 26, 0) == 1:
        return True
    if _ncb(v, "b", 26, 0) == 0:
        if _nca(v, 18, 0) == 1:
            return True
        if (_ncb(v, "a", 6, 1) == 0 and _ncb(v, "b", 18, 0) == 0
                and _nca(v, 6, 1) - _ncb(v, "a", 18, 1) + _ncb(v, "a", 26, 1) == 1):
            return True
    return False


def patch_of(img: np.ndarray, y: int, x: int) -> tuple[int, ...]:
    """The 3×3 patch around (y, x) of a 0/1 image, zero outside."""
    p = np.pad(img.astype(int), 1)
    return tuple(p[y:y + 3, x:x + 3].ravel().tolist())


def naive_java_warp(
    truth: np.ndarray, pred: np.ndarray, key: np.ndarray | None
) -> tuple[np.ndarray, list[list[int]]]:
    """The literal pass loop of ``simplePointWarp2d`` with the ported 3-D test.

    Returns the warped truth and the flipped pixels ``[row, col]`` in order.
    """
    src = truth.astype(int).copy()
    h, w = truth.shape
    flips: list[list[int]] = []
    diff = float("nan")
    while True:
        before, diff = diff, int(np.count_nonzero(src != pred))
        if diff == 0 or diff == before:
            break
        # x outer, y inner, then a stable sort by decreasing key.
        pts = [(x, y) for x in range(w) for y in range(h) if src[y, x] != pred[y, x]]
        if key is not None:
            pts.sort(key=lambda pt: -float(key[pt[1], pt[0]]))
        for x, y in pts:
            if java_simple2d(patch_of(src, y, x)):
                src[y, x] = 1 - src[y, x]
                flips.append([y, x])
    return src.astype(bool), flips


def naive_classify(warped: np.ndarray, pred: np.ndarray, radius: int | None) -> np.ndarray:
    """Literal ``classifyMismatches2d``: per pixel, relabel after removing it."""
    types = np.zeros(warped.shape, dtype=np.uint8)
    comps, _ = ndi.label(warped, structure=C4)
    h, w = warped.shape
    for y, x in zip(*np.nonzero(warped != pred)):
        ids = {int(comps[j, i]) for j in range(y - 1, y + 2) for i in range(x - 1, x + 2)
               if (j, i) != (y, x) and 0 <= j < h and 0 <= i < w}
        fg = comps[y, x] != 0
        if ids == {0}:
            t = M.MismatchType.OBJECT_DELETION if fg else M.MismatchType.OBJECT_ADDITION
        elif len(ids) == 1:
            t = M.MismatchType.HOLE_ADDITION if fg else M.MismatchType.HOLE_DELETION
        elif len(ids) == 2:
            if not fg:
                t = M.MismatchType.HOLE_ADDITION
            else:
                if radius is None:
                    img, cy, cx = warped.copy(), y, x
                else:
                    img = np.zeros((2 * radius + 1,) * 2, dtype=bool)
                    for j in range(-radius, radius + 1):
                        for i in range(-radius, radius + 1):
                            if 0 <= y + j < h and 0 <= x + i < w:
                                img[j + radius, i + radius] = warped[y + j, x + i]
                    cy = cx = radius
                img[cy, cx] = False
                lab2, _ = ndi.label(img, structure=C4)
                ids2 = {int(lab2[j, i]) for j in range(cy - 1, cy + 2) for i in range(cx - 1, cx + 2)
                        if (j, i) != (cy, cx) and 0 <= j < img.shape[0] and 0 <= i < img.shape[1]}
                t = M.MismatchType.SPLIT if len(ids2) > 2 else M.MismatchType.HOLE_DELETION
        else:
            t = M.MismatchType.SPLIT if fg else M.MismatchType.MERGE
        types[y, x] = t
    return types


def simple_by_definition(img: np.ndarray, y: int, x: int) -> bool:
    """(4, 8) simple point: one 4-touching cell group and one membrane group."""
    p = np.pad(img, 1)[y:y + 3, x:x + 3].astype(bool).copy()
    p[1, 1] = False
    lab, _ = ndi.label(p, structure=C4)
    t4 = len({lab[0, 1], lab[1, 0], lab[1, 2], lab[2, 1]} - {0})
    bg = ~p
    bg[1, 1] = False
    return t4 == 1 and ndi.label(bg, structure=C8)[1] == 1


# ----------------------------------------------------------------------------
# Input validation: every public function, every error path
# ----------------------------------------------------------------------------
MASK_FUNCS = [M.pixel_error, M.pixel_mismatch, M.pixel_scores, M.iou, M.rand_scores, M.rand_error,
              M.skimage_adapted_rand_error, M.warping_error, M.warping_details]


@pytest.mark.parametrize("func", MASK_FUNCS)
@pytest.mark.parametrize(
    "bad, match",
    [
        (np.ones((2, 4, 4), dtype=bool), r"shape \(H, W\)"),
        (np.ones(16, dtype=bool), r"shape \(H, W\)"),
        (np.ones((0, 4), dtype=bool), "empty"),
        (np.ones((4, 4), dtype=np.float32), "dtype"),
        (np.full((4, 4), 255, dtype=np.uint8), "only 0"),
        (np.full((4, 4), -1, dtype=np.int64), "only 0"),
    ],
)
def test_bad_masks_raise(func, bad, match):
    good = np.ones(bad.shape if bad.ndim == 2 and bad.size else (4, 4), dtype=bool)
    with pytest.raises(ValueError, match=match):
        func(bad, good)
    with pytest.raises(ValueError, match=match):
        func(good, bad)


@pytest.mark.parametrize("func", MASK_FUNCS)
def test_shape_mismatch_raises(func):
    with pytest.raises(ValueError, match="same shape"):
        func(np.ones((4, 4), bool), np.ones((4, 5), bool))


def test_integer_masks_are_accepted():
    pred, truth = merge_case()
    assert M.pixel_error(pred.astype(np.uint8), truth.astype(np.int64)) == M.pixel_error(pred, truth)
    assert M.pixel_mismatch(pred.astype(np.uint8), truth.astype(np.int64)) == M.pixel_mismatch(pred, truth)
    assert M.rand_error(pred.astype(np.int32), truth.astype(np.uint8)) == M.rand_error(pred, truth)


def test_rand_needs_cells_in_truth():
    empty = np.zeros((5, 5), bool)
    with pytest.raises(ValueError, match="no cell pixel"):
        M.rand_scores(np.ones((5, 5), bool), empty)
    with pytest.raises(ValueError, match="no cell pixel"):
        M.skimage_adapted_rand_error(np.ones((5, 5), bool), empty)


@pytest.mark.parametrize(
    "prob, match",
    [
        (np.full((7, 7), np.nan), "NaN"),
        (np.full((7, 7), 1.5), r"\[0, 1\]"),
        (np.full((7, 8), 0.9), "shape of pred"),
        (np.full((1, 7, 7), 0.9), r"\(H, W\)"),
        (np.full((7, 7), 0.9, dtype=complex), "real-valued"),
        (np.full((7, 7), 0.2), "prob > threshold"),  # says all membrane, pred has cells
    ],
)
def test_bad_prob_for_warping_raises(prob, match):
    pred, truth = merge_case()
    with pytest.raises(ValueError, match=match):
        M.warping_details(pred, truth, prob=prob)
    with pytest.raises(ValueError, match=match):
        M.warping_error(pred, truth, prob=prob)


def test_bad_radius_raises():
    pred, truth = merge_case()
    with pytest.raises(ValueError, match="radius"):
        M.warping_details(pred, truth, radius=2.5)
    with pytest.raises(ValueError, match="radius"):
        M.warping_details(pred, truth, radius=True)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(metrics=("pixel_error", "dice")), "subset"),
        (dict(metrics=("pixel_fscore",)), "'pixel_fscore' is now 'pixel_error'"),  # a former name
        (dict(metrics=()), "subset"),
        (dict(thresholds=[]), "empty"),
        (dict(thresholds=[[0.1, 0.2]]), "1-D"),
        (dict(thresholds=[0.5, 1.2]), r"\[0, 1\]"),
        (dict(thresholds=[np.nan]), "NaN"),
    ],
)
def test_threshold_sweep_bad_arguments(kwargs, match):
    _, truth = merge_case()
    with pytest.raises(ValueError, match=match):
        M.threshold_sweep(np.full((7, 7), 0.7), truth, progress=False, **kwargs)


def test_threshold_sweep_bad_inputs():
    _, truth = merge_case()
    with pytest.raises(ValueError, match="shape of prob"):
        M.threshold_sweep(np.full((7, 8), 0.7), truth, progress=False)
    with pytest.raises(ValueError, match="shape"):
        M.threshold_sweep(np.full((1, 1, 7, 7), 0.7), truth[None, None], progress=False)
    with pytest.raises(ValueError, match="NaN"):
        M.threshold_sweep(np.full((7, 7), np.nan), truth, progress=False)
    with pytest.raises(ValueError, match="only 0"):
        M.threshold_sweep(np.full((7, 7), 0.7), truth * 255, progress=False)
    with pytest.raises(ValueError, match="no cell pixel"):
        M.threshold_sweep(np.full((7, 7), 0.7), np.zeros((7, 7), bool), metrics=("rand",))


# ----------------------------------------------------------------------------
# Pixel error and IoU
# ----------------------------------------------------------------------------
def test_pixel_error_and_scores_by_hand():
    pred, truth = merge_case()
    s = M.pixel_scores(pred, truth)
    # tp = 42 cell pixels, fp = 1 (the bridge), fn = 0; one pixel of 49 differs.
    assert M.pixel_error(pred, truth) == s.pixel_error == pytest.approx(1 - 2 * 42 / (2 * 42 + 1))  # 1 − F
    assert M.pixel_mismatch(pred, truth) == s.pixel_mismatch == pytest.approx(1 / 49)  # 1 − accuracy
    assert s.precision == pytest.approx(42 / 43)
    assert s.recall == 1.0
    assert M.pixel_error(truth, truth) == M.pixel_mismatch(truth, truth) == 0.0
    empty = np.zeros((3, 3), bool)  # no cell pixel anywhere: nothing is wrong
    assert M.pixel_error(empty, empty) == M.pixel_mismatch(empty, empty) == 0.0


def test_the_two_pixel_error_conventions_differ_on_a_small_example():
    """The course's pixel error is 1 − F of the cell pixels; 1 − accuracy is pixel_mismatch.

    A 4×4 image with 4 cell pixels (a 2×2 block); the proposal gets 2 of them and
    adds 2 false cells: tp = 2, fp = 2, fn = 2, tn = 10 of n = 16 pixels.
    """
    truth = np.zeros((4, 4), bool)
    truth[:2, :2] = True
    pred = np.zeros((4, 4), bool)
    pred[0, :2] = True  # 2 true positives (row 1 of the block missed: 2 false negatives)
    pred[3, 2:] = True  # 2 false positives
    precision, recall = 2 / 4, 2 / 4
    f = 2 * precision * recall / (precision + recall)  # 0.5
    assert M.pixel_error(pred, truth) == pytest.approx(1 - f) == pytest.approx(0.5)
    assert M.pixel_mismatch(pred, truth) == pytest.approx(4 / 16) == pytest.approx(1 - 12 / 16)
    # the same wrong pixels (fp + fn = 4), divided by |P| + |T| = 2tp + fp + fn = 8 or by n = 16
    assert M.pixel_error(pred, truth) * 8 == pytest.approx(M.pixel_mismatch(pred, truth) * 16)
    # The sweep and error_summary use the same two names with the same meanings.
    res = M.threshold_sweep(pred.astype(float), truth, thresholds=[0.5],
                            metrics=("pixel_error", "pixel_mismatch"), progress=False)
    assert res.best == {"pixel_error": pytest.approx(0.5), "pixel_mismatch": pytest.approx(0.25)}
    summary = M.error_summary(pred, truth)
    assert (summary["pixel_error"], summary["pixel_mismatch"]) == (pytest.approx(0.5), pytest.approx(0.25))
    # Where cells cover most of the image (as in the ISBI slices), 1 − F is the smaller one.
    assert M.pixel_error(~pred, ~truth) < M.pixel_mismatch(~pred, ~truth) == pytest.approx(0.25)
    assert "1 - the F-score" in M.get_metric("pixel_error").convention
    assert "1 - accuracy" in M.get_metric("pixel_mismatch").convention


def test_iou_by_hand_and_symmetric():
    pred, truth = split_case()
    # |P ∩ G| = 42 (the proposal's cells), |P ∪ G| = 49.
    assert M.iou(pred, truth) == pytest.approx(42 / 49)
    assert M.iou(truth, pred) == M.iou(pred, truth)
    a = np.zeros((4, 4), bool)
    a[:2, :2] = True
    b = np.zeros((4, 4), bool)
    b[1:3, 1:3] = True
    # 1 common pixel, 4 + 4 − 1 = 7 in the union.
    assert M.iou(a, b) == pytest.approx(1 / 7)
    assert M.iou(a, ~a) == 0.0


def test_iou_of_two_empty_masks_is_one():
    empty = np.zeros((3, 3), bool)
    assert M.iou(empty, empty) == 1.0


# ----------------------------------------------------------------------------
# Rand error
# ----------------------------------------------------------------------------
def test_rand_merge_by_hand():
    pred, truth = merge_case()
    r = M.rand_scores(pred, truth)
    # n = 42 truth-cell pixels, two truth cells of 21: ΣA = 21² + 21² = 882.
    # The proposal is one cell holding all 42: ΣB = 42² = 1764, ΣAB = 882.
    assert (r.sum_a, r.sum_b, r.sum_ab) == (882, 1764, 882)
    # precision = 882/1764 = 1/2, recall = 1, error = 1 − 2·(1/2)/(3/2) = 1/3.
    assert r.precision == pytest.approx(0.5)
    assert r.recall == 1.0
    assert r.error == pytest.approx(1 / 3)


def test_rand_split_by_hand():
    pred, truth = split_case()
    r = M.rand_scores(pred, truth)
    # n = 49, ΣA = 49² = 2401. Proposal: cells of 21 and 21 plus 7 membrane
    # pixels, each a singleton: ΣB = 441 + 441 + 7 = 889 = ΣAB.
    assert (r.sum_a, r.sum_b, r.sum_ab) == (2401, 889, 889)
    # precision 1, recall 889/2401, error = 1 − 2·889/(2401 + 889) = 1512/3290.
    assert r.precision == 1.0
    assert r.recall == pytest.approx(889 / 2401)
    assert r.error == pytest.approx(1512 / 3290)


def test_rand_hole_by_hand():
    pred, truth = hole_case()
    # ΣA = 2401; ΣB = ΣAB = 48² + 1 = 2305; error = 1 − 4610/4706 = 96/4706.
    assert M.rand_error(pred, truth) == pytest.approx(96 / 4706)


def test_rand_zero_for_identical_and_asymmetric():
    pred, truth = merge_case()
    assert M.rand_error(truth, truth) == 0.0
    # The truth's membrane is left out, the proposal's is not: not symmetric.
    assert M.rand_error(pred, truth) != pytest.approx(M.rand_error(truth, pred))


@pytest.mark.parametrize("seed", range(6))
def test_rand_matches_pair_counting(seed):
    rng = np.random.default_rng(seed)
    truth = random_blobs(rng, (8, 8), sigma=0.8)
    pred = random_blobs(rng, (8, 8), sigma=0.8) if seed % 2 else rng.random((8, 8)) > 0.4
    if not truth.any():
        truth[0, 0] = True
    assert M.rand_error(pred, truth) == pytest.approx(brute_rand_error(pred, truth), abs=1e-12)


@pytest.mark.parametrize("seed", range(3))
def test_rand_and_pixel_invariant_to_transpose_and_flips(seed):
    pred, truth, _ = random_pair(seed, (32, 32))
    for f in (np.transpose, np.fliplr, np.flipud, lambda a: np.rot90(a, 1)):
        assert M.rand_error(f(pred), f(truth)) == pytest.approx(M.rand_error(pred, truth), abs=1e-12)
        assert M.pixel_error(f(pred), f(truth)) == M.pixel_error(pred, truth)
        assert M.pixel_mismatch(f(pred), f(truth)) == M.pixel_mismatch(pred, truth)


def test_skimage_adapted_rand_differs_as_documented():
    from skimage.metrics import adapted_rand_error

    pred, truth = split_case()
    # scikit-image: the 7 proposal membrane pixels form one segment and the
    # self-pairs are dropped: Σp² − n = 441 + 441 + 49 − 49 = 882,
    # Σa² − n = 2401 − 49 = 2352, Σb² − n = 882; error = 1 − 2·882/(2352 + 882).
    assert M.skimage_adapted_rand_error(pred, truth) == pytest.approx(1 - 1764 / 3234)
    direct = adapted_rand_error(flood_label4(truth), flood_label4(pred))[0]
    assert M.skimage_adapted_rand_error(pred, truth) == pytest.approx(direct)
    assert M.rand_error(pred, truth) == pytest.approx(1512 / 3290)  # not the same number


# ----------------------------------------------------------------------------
# Simple points
# ----------------------------------------------------------------------------
def test_simple_point_table_matches_java_3d_test():
    table = M.simple_point_table()
    assert table.shape == (256,) and table.dtype == bool
    for code in range(256):
        bits = [(code >> k) & 1 for k in range(8)]
        for centre in (0, 1):  # the centre value must not matter
            patch = tuple(bits[:4] + [centre] + bits[4:])
            assert table[code] == java_simple2d(patch), (code, centre)


def test_simple_point_table_by_hand():
    table = M.simple_point_table()
    # Bits: 1=(-1,-1) 2=(-1,0) 4=(-1,1) 8=(0,-1) 16=(0,1) 32=(1,-1) 64=(1,0) 128=(1,1).
    assert not table[0]        # isolated pixel: deleting/adding it changes the count
    assert not table[255]      # surrounded by cells: a hole would appear/disappear
    assert table[2]            # end of a vertical line (one cell neighbour above)
    assert not table[2 | 64]   # middle of a vertical line: a bridge
    assert table[1 | 2 | 4]    # the edge of a region (full row above)
    assert not table[1]        # only a diagonal cell: 4-connectivity does not touch it
    assert not table[2 | 16 | 64 | 8]  # four 4-neighbours without corners: four cells meet


# ----------------------------------------------------------------------------
# Warping error: hand-made cases
# ----------------------------------------------------------------------------
def test_warping_boundary_shift_is_not_an_error():
    pred, truth = shift_case()
    # Rows 4 and 5 differ: 16 of 64 pixels wrong, but it is the same topology.
    assert M.pixel_mismatch(pred, truth) == 0.25
    res = M.warping_details(pred, truth)
    assert res.error == 0.0 and res.n_mismatches == 0
    assert np.array_equal(res.warped, pred)
    # Pass 1 can only shrink the lower cell (adding row 4 first would merge);
    # pass 2 then grows the upper one: all 16 pixels flip.
    assert len(res.flips) == 16
    assert M.warping_error(pred, truth) == 0.0


def test_warping_identical_is_zero():
    _, truth = merge_case()
    res = M.warping_details(truth, truth)
    assert res.error == 0.0 and len(res.flips) == 0 and res.split_merge_error == 0.0


def test_warping_merge_by_hand():
    pred, truth = merge_case()
    res = M.warping_details(pred, truth)
    # The bridge pixel would merge two cells: not simple, it stays: 1/49.
    assert res.error == pytest.approx(1 / 49)
    assert res.merges == 1 and res.splits == 0 and res.holes == 0
    assert res.mismatch_types[3, 3] == M.MismatchType.MERGE
    assert res.split_merge_error == pytest.approx(1 / 49)
    assert M.rand_error(pred, truth) > 0 and M.warping_error(pred, truth) > 0


def test_warping_split_by_hand_and_java_order():
    pred, truth = split_case()
    res = M.warping_details(pred, truth)
    # Without a probability map the Java order is column by column: (3,0)
    # first. Removing row-3 pixels from the left only dents the cell until the
    # last one, (3,6), which would cut it in two: it stays, a split.
    assert res.flips.tolist() == [[3, c] for c in range(6)]
    assert res.warped[3].tolist() == [False] * 6 + [True]
    assert res.error == pytest.approx(1 / 49)
    assert res.splits == 1 and res.merges == 0
    assert res.mismatch_types[3, 6] == M.MismatchType.SPLIT


def test_warping_hole_by_hand():
    pred, truth = hole_case()
    res = M.warping_details(pred, truth)
    # Removing the centre of a full cell creates a hole: not simple.
    assert res.error == pytest.approx(1 / 49)
    assert res.holes == 1 and res.hole_additions == 1
    assert res.splits == res.merges == 0
    assert res.split_merge_error == 0.0


def test_warping_merge_clusters_into_one_mistake():
    # 8×9: cells rows 0-2 and 5-7, a 2-row membrane; the proposal bridges it
    # with a block of 2 rows × 3 columns. Row 3 of the block grows the upper
    # cell (simple); row 4 would then merge: 3 merge pixels in one 8-connected
    # cluster, so one merger.
    truth = np.zeros((8, 9), bool)
    truth[:3] = True
    truth[5:] = True
    pred = truth.copy()
    pred[3:5, 3:6] = True
    res = M.warping_details(pred, truth)
    assert res.pixel_counts()["merge"] == 3
    assert res.merges == 1
    assert res.error == pytest.approx(3 / 72)
    assert np.array_equal(np.argwhere(res.mismatch_types), [[4, 3], [4, 4], [4, 5]])


def test_diagonal_merge_pixels_form_one_8_connected_merger():
    # Two cells separated by the main diagonal (a membrane that only 8-connects,
    # which is enough to separate 4-connected cells). The proposal fills two
    # diagonal neighbours (3,3) and (4,4): each would merge the cells, and the
    # two pixels touch only by a corner: one merger with 8-connectivity.
    truth = ~np.eye(7, dtype=bool)
    pred = truth.copy()
    pred[3, 3] = pred[4, 4] = True
    res = M.warping_details(pred, truth)
    assert res.pixel_counts()["merge"] == 2
    assert res.merges == 1
    assert res.error == pytest.approx(2 / 49)


def test_warping_ignores_eroded_and_dilated_cells():
    # Rectangular cells separated by 3-px membranes: moving every boundary by
    # one pixel (erosion or dilation of the cells) keeps the topology.
    truth = np.zeros((30, 30), bool)
    for r0 in (0, 10, 20):
        for c0 in (0, 10, 20):
            truth[r0 + 1:r0 + 8, c0 + 1:c0 + 8] = True
    for pred in (ndi.binary_erosion(truth, C4), ndi.binary_dilation(truth, C4)):
        assert M.pixel_mismatch(pred, truth) > 0.1 and M.pixel_error(pred, truth) > 0.1
        assert M.warping_error(pred, truth) == 0.0


# ----------------------------------------------------------------------------
# Warping error: agreement with the literal Java loop, validity
# ----------------------------------------------------------------------------
@pytest.mark.parametrize("seed", range(5))
@pytest.mark.parametrize("with_prob", [False, True])
def test_warping_equals_literal_java_loop(seed, with_prob):
    pred, truth, prob = random_pair(seed, (18, 18))
    key = np.abs(prob - 0.5).astype(np.float32) if with_prob else None
    expected, flips = naive_java_warp(truth, pred, key)
    res = M.warping_details(pred, truth, prob=prob if with_prob else None)
    # Same warped truth and the very same flips in the same order.
    assert np.array_equal(res.warped, expected)
    assert res.flips.tolist() == flips
    assert len(flips) > 10
    assert res.error == pytest.approx(np.count_nonzero(expected != pred) / pred.size)


def test_probability_changes_the_flip_order():
    pred, truth, prob = random_pair(1, (24, 24))
    with_prob = M.warping_details(pred, truth, prob=prob).flips.tolist()
    scan = M.warping_details(pred, truth).flips.tolist()
    assert with_prob != scan
    # Pass 1 starts with the most confident mismatch that is simple.
    conf = np.abs(prob - 0.5)
    y, x = with_prob[0]
    mism = np.argwhere(pred != truth)
    more_confident = [tuple(q) for q in mism if conf[q[0], q[1]] > conf[y, x]]
    assert all(not simple_by_definition(truth, a, b) for a, b in more_confident)


@pytest.mark.parametrize("seed", range(4))
def test_warping_is_a_valid_topology_preserving_warp(seed):
    pred, truth, prob = random_pair(10 + seed, (40, 40))
    res = M.warping_details(pred, truth, prob=prob)
    # Replay: every flip is simple at the moment it is made, and flips only
    # mismatched pixels toward the proposal.
    img = truth.copy()
    for y, x in res.flips.tolist():
        assert img[y, x] != pred[y, x]
        assert simple_by_definition(img, y, x)
        img[y, x] = ~img[y, x]
    assert np.array_equal(img, res.warped)
    # Same topology as the truth: cells (4-conn.) and membrane pieces (8-conn.),
    # the outside of the image counting as membrane (as the Java padding does).
    assert ndi.label(res.warped, C4)[1] == ndi.label(truth, C4)[1]
    assert ndi.label(~np.pad(res.warped, 1), C8)[1] == ndi.label(~np.pad(truth, 1), C8)[1]
    # Nothing simple is left among the remaining mismatches.
    for y, x in np.argwhere(res.warped != pred).tolist():
        assert not simple_by_definition(res.warped, y, x)
    assert res.n_mismatches == np.count_nonzero(res.warped != pred)


@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize("radius", [None, 3])
def test_classification_equals_literal_java(seed, radius):
    pred, truth, prob = random_pair(20 + seed, (28, 28))
    res = M.warping_details(pred, truth, prob=prob, radius=radius)
    assert np.array_equal(res.mismatch_types, naive_classify(res.warped, pred, radius))


@pytest.mark.parametrize("seed", range(6))
def test_articulation_pixels_equal_relabelling(seed):
    # Private helper behind the whole-image split test, checked against the
    # literal recipe (remove the pixel, relabel, count the cell labels among
    # its 8 neighbours) on random thin cells and random sets of tested pixels,
    # in the situation where the helper is used: all cell neighbours of the
    # pixel belong to its own cell.
    rng = np.random.default_rng(seed)
    cells = random_blobs(rng, (20, 20), sigma=0.8, level=0.2)
    lab0, _ = ndi.label(cells, structure=C4)
    hood = lambda lab, y, x: set(np.unique(np.pad(lab, 1)[y:y + 3, x:x + 3]).tolist()) - {0}
    fg = [(y, x) for y, x in np.argwhere(cells).tolist() if hood(lab0, y, x) == {lab0[y, x]}]
    pick = np.array([q for q in fg if rng.random() < 0.4])
    got = M.articulation_pixels(cells, pick[:, 0], pick[:, 1])
    for (y, x), split in zip(pick.tolist(), got.tolist()):
        img = cells.copy()
        img[y, x] = False
        lab, _ = ndi.label(img, structure=C4)
        assert split == (len(hood(lab, y, x)) >= 2), (y, x)
    assert got.any() and not got.all()


def test_window_radius_can_call_a_long_loop_a_split():
    # A ring-shaped cell (a 1-px wide square loop); the proposal cuts the ring
    # at (1, 6). Removing that pixel from the truth is not simple (its two cell
    # neighbours are not 4-connected around it), so it stays a mismatch.
    truth = np.zeros((13, 13), bool)
    truth[1:12, 1:12] = True
    truth[2:11, 2:11] = False
    pred = truth.copy()
    pred[1, 6] = False
    whole = M.warping_details(pred, truth)
    window = M.warping_details(pred, truth, radius=2)
    # Opening the ring merges the hole with the outside: the whole image sees
    # the loop still connected (a hole deletion), a 5×5 window sees two arms.
    assert whole.mismatch_types[1, 6] == M.MismatchType.HOLE_DELETION
    assert window.mismatch_types[1, 6] == M.MismatchType.SPLIT
    assert whole.error == window.error == pytest.approx(1 / 169)


def test_warping_error_equals_details():
    pred, truth, prob = random_pair(3, (30, 30))
    assert M.warping_error(pred, truth) == M.warping_details(pred, truth).error
    assert M.warping_error(pred, truth, prob=prob) == M.warping_details(pred, truth, prob=prob).error


# ----------------------------------------------------------------------------
# Threshold sweep
# ----------------------------------------------------------------------------
def test_threshold_sweep_matches_single_metrics():
    pred, truth, prob = random_pair(5, (24, 24))
    th = [0.2, 0.5, 0.8]
    res = M.threshold_sweep(prob, truth, thresholds=th, metrics=M.SWEEP_METRICS, progress=False)
    assert res.thresholds.tolist() == th
    for k, t in enumerate(th):
        p = prob > t
        assert res.values["pixel_mismatch"][k] == M.pixel_mismatch(p, truth)
        assert res.values["pixel_error"][k] == pytest.approx(M.pixel_error(p, truth))
        assert res.values["rand"][k] == pytest.approx(M.rand_error(p, truth))
        assert res.values["warping"][k] == M.warping_error(p, truth, prob=prob, threshold=t)
        assert res.values["warping_splits_merges"][k] == M.warping_details(
            p, truth, prob=prob, threshold=t, radius=M.CHALLENGE_RADIUS).split_merge_error
    for m, v in res.values.items():
        assert res.best[m] == v.min()
        assert res.best_threshold[m] == th[int(np.argmin(v))]


def test_threshold_sweep_default_thresholds_and_ties():
    pred, truth = merge_case()
    res = M.threshold_sweep(pred.astype(float), truth, progress=False)
    # Ten levels 0.0 … 0.9; a binary map gives the same mask at each: the
    # first threshold wins the tie.
    assert np.allclose(res.thresholds, np.arange(10) / 10)
    assert set(res.best) == {"pixel_error", "rand", "warping"}  # the default: 1 − F, not 1 − accuracy
    assert all(res.best_threshold[m] == 0.0 for m in ("pixel_error", "rand", "warping"))
    assert res.best["pixel_error"] == pytest.approx(1 / 85)  # tp 42, fp 1: 1 − 84/85


def test_threshold_sweep_pools_a_stack():
    (p1, t1), (p2, t2) = merge_case(), split_case()
    prob = np.stack([p1, p2]).astype(float)
    truth = np.stack([t1, t2])
    res = M.threshold_sweep(prob, truth, thresholds=[0.5],
                            metrics=("pixel_mismatch", "rand", "warping"), progress=False)
    # Pixels: (1 + 7) / 98. Warping: (1 + 1) / 98. Rand, pooled pair counts:
    # ΣA = 882 + 2401, ΣB = 1764 + 889, ΣAB = 882 + 889.
    assert res.best["pixel_mismatch"] == pytest.approx(8 / 98)
    assert res.best["warping"] == pytest.approx(2 / 98)
    assert res.best["rand"] == pytest.approx(1 - 2 * 1771 / (3283 + 2653))


def test_sweep_result_table():
    _, truth = merge_case()
    res = M.threshold_sweep(np.full((7, 7), 0.7), truth, thresholds=[0.5], metrics=("pixel_mismatch",),
                            progress=False)
    assert res.rows() == [{"metric": "pixel_mismatch", "best": pytest.approx(7 / 49), "threshold": 0.5}]
    assert res.to_markdown().splitlines()[2] == "| pixel_mismatch | 0.142857 | 0.50 |"
    two = M.threshold_sweep(np.full((7, 7), 0.7), truth, thresholds=[0.5],
                            metrics=("pixel_mismatch", "pixel_error"), progress=False)
    assert [line.split("|")[1].strip() for line in two.to_markdown(["pixel_error"]).splitlines()[2:]] == [
        "pixel_error"]
    with pytest.raises(ValueError, match="not swept"):
        two.to_markdown(["rand"])


# ----------------------------------------------------------------------------
# Real data (skipped without UNET_TUTORIAL_DATA)
# ----------------------------------------------------------------------------
@pytest.mark.data
def test_otsu_baseline_on_isbi_slices_25_to_29():
    if not os.environ.get("UNET_TUTORIAL_DATA"):
        pytest.skip("UNET_TUTORIAL_DATA is not set: no real ISBI 2012 data")
    from skimage.filters import gaussian, threshold_otsu

    from unet_tutorial.data import load_isbi2012

    slices = load_isbi2012()
    images, labels = slices.images, slices.masks
    pix, rand = [], []
    for i in range(25, 30):
        blurred = gaussian(images[i].astype(np.float64), sigma=1)
        pred = blurred > threshold_otsu(blurred)
        pix.append(M.pixel_mismatch(pred, labels[i]))
        rand.append(M.rand_error(pred, labels[i]))
    # The course's reference numbers for this classical baseline: 0.28 (1 − accuracy) and 0.39.
    assert np.mean(pix) == pytest.approx(0.28, abs=0.01)
    assert np.mean(rand) == pytest.approx(0.39, abs=0.01)


# ----------------------------------------------------------------------------
# touching_merges: touching ground-truth objects merged by a prediction
# ----------------------------------------------------------------------------
def two_touching_squares() -> np.ndarray:
    """Objects 1 (cols 1-4) and 2 (cols 5-8) share an edge; object 3 stands apart."""
    inst = np.zeros((10, 14), dtype=np.int32)
    inst[2:7, 1:5] = 1
    inst[2:7, 5:9] = 2
    inst[2:7, 11:13] = 3
    return inst


def test_touching_merges_union_merges_and_gap_separates():
    from unet_tutorial.weights import separation_mask

    inst = two_touching_squares()
    merged = M.touching_merges(inst > 0, inst)
    assert merged.pairs.tolist() == [[1, 2]]  # object 3 touches nobody
    assert merged.n_pairs == 1 and merged.n_merged == 1
    separated = M.touching_merges(separation_mask(inst), inst)
    assert separated.n_merged == 0
    # every object is found, each in its own component
    assert len(set(separated.component[1:].tolist())) == 3 and separated.component[1:].min() > 0


def test_touching_merges_of_a_label_image_keeps_touching_objects_apart():
    """predict_instances gives touching objects back their border: as labels they stay two objects."""
    inst = two_touching_squares()
    labelled = M.touching_merges(inst, inst, labelled=True)
    assert labelled.n_pairs == 1 and labelled.n_merged == 0  # the same pixels as a mask merge (above)
    one = np.where(inst > 0, 7, 0).astype(np.int32)  # both squares under one predicted id
    assert M.touching_merges(one, inst, labelled=True).n_merged == 1
    with pytest.raises(ValueError, match="pred.*boolean"):
        M.touching_merges(inst > 0, inst, labelled=True)


def test_touching_merges_connectivity():
    inst = two_touching_squares()
    pred = inst > 0
    pred[:, 4:6] = False  # cut the contact ...
    pred[4, 4] = True  # ... but leave a diagonal link (4,4)-(5,5)
    pred[5, 5] = True
    assert M.touching_merges(pred, inst, connectivity=4).n_merged == 0
    assert M.touching_merges(pred, inst, connectivity=8).n_merged == 1


def test_touching_merges_majority_not_any_overlap():
    inst = two_touching_squares()
    pred = np.zeros(inst.shape, dtype=bool)
    pred[2:7, 1:6] = True  # object 1 and one column (5 of 20 px) of object 2
    pred[2:7, 7:9] = True  # the rest of object 2's majority: a separate component
    res = M.touching_merges(pred, inst)
    assert res.component[1] != res.component[2] and res.n_merged == 0
    pred[2:7, 6] = True  # now one component covers both entirely
    assert M.touching_merges(pred, inst).n_merged == 1


def test_touching_merges_missed_objects_are_not_merged():
    inst = two_touching_squares()
    res = M.touching_merges(np.zeros(inst.shape, dtype=bool), inst)
    assert res.n_pairs == 1 and res.n_merged == 0 and res.component.tolist() == [0, 0, 0, 0]


def _naive_merges(pred: np.ndarray, inst: np.ndarray) -> list[bool]:
    """Literal definition: loops over touching pairs and component overlaps."""
    comp, _ = ndi.label(pred, structure=C4)
    ids = [int(i) for i in np.unique(inst) if i > 0]
    major = {}
    for i in ids:
        labels, counts = np.unique(comp[(inst == i) & (comp > 0)], return_counts=True)
        major[i] = int(labels[np.argmax(counts)]) if counts.size else 0  # argmax: lowest label on ties
    pairs = set()
    h, w = inst.shape
    for y in range(h):
        for x in range(w):
            for dy in (-1, 0, 1):
                for dx in (-1, 0, 1):
                    yy, xx = y + dy, x + dx
                    if 0 <= yy < h and 0 <= xx < w:
                        a, b = int(inst[y, x]), int(inst[yy, xx])
                        if a and b and a != b:
                            pairs.add((min(a, b), max(a, b)))
    return [major[a] == major[b] and major[a] > 0 for a, b in sorted(pairs)]


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_touching_merges_matches_naive_definition(seed):
    from unet_tutorial.data import synthetic_nuclei

    image, inst = synthetic_nuclei((48, 48), n_nuclei=9, seed=seed)
    rng = np.random.default_rng(seed)
    # a noisy threshold of the image: some contacts survive, some are cut
    pred = ndi.gaussian_filter(image + rng.normal(0, 0.05, image.shape), 1.0) > 0.5
    res = M.touching_merges(pred, inst)
    assert res.merged.tolist() == _naive_merges(pred, inst)
    assert 0 < res.n_merged < res.n_pairs  # both outcomes occur, so the comparison means something


@pytest.mark.parametrize("pred, inst, match", [
    (np.ones((4, 4), bool), np.ones((4, 5), np.int32), "same shape"),
    (np.ones((4, 4)) * 0.5, np.ones((4, 4), np.int32), "dtype"),
    (np.ones((4, 4), bool), np.ones((4, 4), bool), "boolean mask"),
    (np.ones((4, 4), bool), -np.ones((4, 4), np.int32), "negative"),
])
def test_touching_merges_bad_input(pred, inst, match):
    with pytest.raises(ValueError, match=match):
        M.touching_merges(pred, inst)


def test_touching_merges_bad_connectivity():
    inst = two_touching_squares()
    with pytest.raises(ValueError, match="connectivity"):
        M.touching_merges(inst > 0, inst, connectivity=6)


# ----------------------------------------------------------------------------
# error_summary and mismatch_rgb
# ----------------------------------------------------------------------------
@pytest.mark.parametrize("case", [merge_case, split_case, hole_case, shift_case])
def test_error_summary_agrees_with_the_single_metrics(case):
    pred, truth = case()
    s = M.error_summary(pred, truth, radius=None)
    w = M.warping_details(pred, truth)
    assert s["pixel_mismatch"] == M.pixel_mismatch(pred, truth)
    assert s["pixel_error"] == M.pixel_error(pred, truth)
    assert s["rand"] == M.rand_error(pred, truth)
    assert s["skimage_rand"] == M.skimage_adapted_rand_error(pred, truth)
    assert s["warping"] == w.error and s["warping_splits_merges"] == w.split_merge_error
    assert (s["splits"], s["merges"], s["holes"]) == (w.splits, w.merges, w.holes)


def test_error_summary_counts_the_kind_of_mistake():
    assert M.error_summary(*merge_case())["merges"] == 1
    assert M.error_summary(*split_case())["splits"] == 1
    hole = M.error_summary(*hole_case())
    assert hole["holes"] == 1 and hole["splits"] == hole["merges"] == 0
    shift = M.error_summary(*shift_case())
    assert shift["warping"] == 0 and shift["pixel_mismatch"] > 0 and shift["pixel_error"] > 0


def test_mismatch_rgb_colours_each_kind():
    pred, truth = merge_case()
    res = M.warping_details(pred, truth)
    rgb = M.mismatch_rgb(res)
    assert rgb.shape == truth.shape + (3,) and rgb.min() >= 0 and rgb.max() <= 1
    merge_px = res.mismatch_types == M.MismatchType.MERGE
    assert merge_px.any()
    assert np.all(rgb[merge_px] == M.MISMATCH_COLORS[M.MismatchType.MERGE])
    # elsewhere: gray (R = G = B), lighter on cells than on membrane
    rest = rgb[~merge_px]
    assert np.all(rest[:, 0] == rest[:, 1]) and np.all(rest[:, 1] == rest[:, 2])
    assert rgb[0, 0, 0] > rgb[3, 0, 0]
    grown = M.mismatch_rgb(res, dilate=1)
    assert np.count_nonzero(np.all(grown == M.MISMATCH_COLORS[M.MismatchType.MERGE], axis=-1)) == 9


def test_mismatch_rgb_bad_input():
    res = M.warping_details(*hole_case())
    with pytest.raises(ValueError, match="shape"):
        M.mismatch_rgb(res, background=np.zeros((3, 3)))
    with pytest.raises(ValueError, match="dilate"):
        M.mismatch_rgb(res, dilate=-1)


def test_plot_mistakes_draws_four_panels_with_legend():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from unet_tutorial.plotting import plot_mistakes

    pred, truth = merge_case()
    fig = plot_mistakes(pred, truth, title="merge")
    axes = fig.axes
    assert len(axes) == 4
    assert "differ: 1" in axes[2].get_title()  # one pixel bridges the membrane
    legend = axes[3].get_legend()
    assert legend is not None and [t.get_text() for t in legend.get_texts()] == ["merge"]
    plt.close(fig)
    fig, ax = plt.subplots(1, 3)
    with pytest.raises(ValueError, match="4 Axes"):
        plot_mistakes(pred, truth, axes=ax)
    plt.close(fig)


def test_summary_table_layout_and_values():
    text = M.summary_table({"a": {"pixel_error": 0.125, "splits": 2.0}, "bb": {"pixel_error": 0.5, "splits": 0.0}},
                           digits=3)
    lines = text.splitlines()
    assert len(lines) == 4
    assert [c.strip() for c in lines[0].strip("|").split("|")] == ["metric", "a", "bb"]
    assert len({len(line) for line in lines}) == 1  # columns aligned
    assert [c.strip() for c in lines[2].strip("|").split("|")] == ["pixel_error", "0.125", "0.500"]
    assert [c.strip() for c in lines[3].strip("|").split("|")] == ["splits", "2", "0"]
    with pytest.raises(ValueError, match="lacks"):
        M.summary_table({"a": {"pixel_error": 0.1}, "b": {"rand": 0.2}})
    with pytest.raises(ValueError, match="at least one"):
        M.summary_table({})


def test_summary_table_selects_the_course_metrics():
    truth = np.ones((20, 20), dtype=bool)
    truth[:, 9:11] = False
    shift = np.ones_like(truth)
    shift[:, 10:12] = False
    text = M.summary_table({"shift": M.error_summary(shift, truth)}, metrics=M.COURSE_METRICS)
    rows = [line.strip("|").split("|")[0].strip() for line in text.splitlines()[2:]]
    assert rows == list(M.COURSE_METRICS)
    assert rows[0] == "pixel_error"  # the course's pixel error, 1 − F
    assert "pixel_mismatch" not in rows and "skimage_rand" not in rows  # the comparison conventions
    with pytest.raises(ValueError, match="lacks"):
        M.summary_table({"a": {"pixel_error": 0.1}, "b": {"pixel_error": 0.2}}, metrics=["rand"])
    with pytest.raises(ValueError, match="'a' lacks"):
        M.summary_table({"a": {"pixel_error": 0.1}}, metrics=["pixel_error", "rand"])


# --------------------------------------------------------------------------
# The registry: one name, one meaning; adding a metric is one function and one registration
# --------------------------------------------------------------------------


def test_a_registered_toy_metric_is_swept_like_the_course_metrics():
    """Register 'false positive rate' (a toy): the sweep computes it, pooled, without other changes."""
    from unet_tutorial.metrics import registry

    def counts(t: M.Thresholded) -> dict:
        return {"fp": int(np.count_nonzero(t.pred & ~t.truth)), "neg": int(np.count_nonzero(~t.truth))}

    toy = M.Metric("toy_fpr", "false positives over true negatives", counts=counts,
                   from_counts=lambda c, n: c["fp"] / c["neg"])
    M.register_metric(toy)
    try:
        rng = np.random.default_rng(0)
        prob = rng.random((2, 20, 30))
        truth = rng.random((2, 20, 30)) > 0.6
        res = M.threshold_sweep(prob, truth, metrics=("toy_fpr", "pixel_error"), progress=False)
        for k, t in enumerate(res.thresholds):
            fp = np.count_nonzero((prob > t) & ~truth)
            assert res.values["toy_fpr"][k] == pytest.approx(fp / np.count_nonzero(~truth))
        assert res.best["toy_fpr"] == res.values["toy_fpr"].min()
        assert "toy_fpr" in M.sweep_metric_names() and M.get_metric("toy_fpr") is toy
        # the sweep's table rows carry it under its registered name, beside the course's metrics
        assert [r["metric"] for r in res.rows()] == ["toy_fpr", "pixel_error"]
        assert res.to_markdown(["toy_fpr"]).splitlines()[2].startswith("| toy_fpr | ")
        with pytest.raises(ValueError, match="registered already"):
            M.register_metric(toy)
    finally:
        registry.METRICS.pop("toy_fpr")
    with pytest.raises(ValueError, match="registered sweep metrics"):
        M.threshold_sweep(prob, truth, metrics=("toy_fpr",), progress=False)
    with pytest.raises(ValueError, match="unknown metric 'toy_fpr'"):
        M.get_metric("toy_fpr")


def test_a_registered_toy_instance_metric_chooses_the_threshold_in_its_direction():
    """The experiments' threshold choice reads the metric and its direction from the registry."""
    from unet_tutorial.experiments.evaluation import choose_threshold
    from unet_tutorial.metrics import registry

    truth = np.zeros((12, 24), np.int32)  # two 8 × 8 squares sharing an edge
    truth[2:10, 2:10], truth[2:10, 10:18] = 1, 2
    prob = np.where(truth > 0, 0.8, 0.05).astype(np.float32)
    prob[:, 9:11] = np.where(truth[:, 9:11] > 0, 0.55, 0.05)  # the contact: merged at 0.5, apart at 0.6

    def n_objects(preds, truths) -> float:
        return float(np.mean([np.unique(p[p > 0]).size for p in preds]))

    fewest = M.register_metric(M.Metric("toy_fewest_objects", "objects per image", objects=n_objects))
    most = M.register_metric(M.Metric("toy_most_objects", "objects per image", lower_is_better=False,
                                      objects=n_objects))
    try:
        assert choose_threshold([prob], [truth], (0.5, 0.6), score=fewest.name) == 0.5  # 1 object
        assert choose_threshold([prob], [truth], (0.5, 0.6), score=most.name) == 0.6  # 2 objects
    finally:
        registry.METRICS.pop("toy_fewest_objects")
        registry.METRICS.pop("toy_most_objects")
    with pytest.raises(ValueError, match="registered instance metric"):
        choose_threshold([prob], [truth], (0.5, 0.6), score="toy_most_objects")


def test_current_metric_key_reads_the_former_names():
    """Record schema 1 keys → today's: the name changes, its prefix and suffix stay, others are kept."""
    renamed = {
        "pixel_fscore": "pixel_error", "pixel": "pixel_mismatch",
        "pixel_fscore_threshold": "pixel_error_threshold", "pixel_oracle": "pixel_mismatch_oracle",
        "pixel_fscore_validation": "pixel_error_validation", "pixel_best": "pixel_mismatch_best",
        "fcn/seed2/pixel_fscore_oracle": "fcn/seed2/pixel_error_oracle", "baseline/pixel": "baseline/pixel_mismatch",
    }
    kept = ["pixel_error", "pixel_mismatch_threshold", "rand", "rand_threshold", "warping_splits_merges",
            "pixel_errors", "a/seed0/pixel_count", "cell_fraction", "val_iou@0.5", "pixel/seed0/rand"]
    for old, new in renamed.items():
        assert M.current_metric_key(old) == new and M.current_metric_key(new) == new  # idempotent
    for key in kept:
        assert M.current_metric_key(key) == key
    from unet_tutorial.metrics.registry import rename_metric_keys

    assert list(rename_metric_keys({"pixel": 1.0, "rand": 2.0, "pixel_fscore": 3.0})) == [
        "pixel_mismatch", "rand", "pixel_error"]  # the order is kept
    with pytest.raises(ValueError, match="both name 'pixel_error'"):
        rename_metric_keys({"pixel_fscore": 0.1, "pixel_error": 0.1})
    with pytest.raises(ValueError, match="string"):
        M.current_metric_key(3)


def test_a_score_registered_higher_is_better_keeps_its_maximum():
    from unet_tutorial.metrics import registry

    M.register_metric(M.Metric("toy_tp", "true positives", lower_is_better=False,
                               counts=lambda t: {"tp": int(np.count_nonzero(t.pred & t.truth))},
                               from_counts=lambda c, n: c["tp"] / n))
    try:
        prob = np.linspace(0, 1, 100).reshape(10, 10)
        res = M.threshold_sweep(prob, prob > 0.3, metrics=("toy_tp",), progress=False)
        assert res.best["toy_tp"] == res.values["toy_tp"].max() and res.best_threshold["toy_tp"] == 0.0
    finally:
        registry.METRICS.pop("toy_tp")


def test_every_metric_has_one_name_and_a_convention():
    names = set(M.METRICS)
    assert set(M.SWEEP_METRICS) <= names and {"dsb", "seg"} <= names
    assert all(m.convention and m.name == n for n, m in M.METRICS.items())
    assert "1 - the F-score" in M.get_metric("pixel_error").convention
    assert "1 - accuracy" in M.get_metric("pixel_mismatch").convention
    assert not set(M.FORMER_NAMES) & names  # a former name is never registered again
    with pytest.raises(ValueError, match="'pixel' is now 'pixel_mismatch'"):
        M.get_metric("pixel")
    with pytest.raises(ValueError, match="former name of 'pixel_error'"):
        M.register_metric(M.Metric("pixel_fscore", "x", objects=lambda p, t: 0.0))
    with pytest.raises(ValueError, match="counts and from_counts"):
        M.Metric("half", "x", counts=lambda t: {})
    with pytest.raises(ValueError, match="identifier"):
        M.Metric("two words", "x", objects=lambda p, t: 0.0)
