"""Tests of unet_tutorial.weights: separation borders and the weight map of Eq. 2 (§3, Fig. 3).

The fast :func:`border_weight_map` is compared with the literal definition
(:func:`border_weight_map_direct`, one distance transform per instance) and with
distances worked out by hand on small drawings.
"""

from __future__ import annotations

import math
import os

import numpy as np
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from scipy import ndimage as ndi

from unet_tutorial.weights import (
    common_border,
    balanced_class_weights,
    border_cutoff,
    border_weight_map,
    border_weight_map_direct,
    class_weight_map,
    contact_pixels,
    instances_from_binary,
    separation_mask,
    touching_pairs,
)

ATOL = 1e-5  # the exactness required of the fast map against the direct one


def _border(d1: float, d2: float, w0: float = 10.0, sigma: float = 5.0) -> float:
    """The exponential term of Eq. 2, written out for the hand-computed cases."""
    return w0 * math.exp(-((d1 + d2) ** 2) / (2 * sigma**2))


def _touching_cells(shape: tuple[int, int], n: int, seed: int) -> np.ndarray:
    """Voronoi cells of ``n`` random seeds that touch each other, plus some background."""
    rng = np.random.default_rng(seed)
    seeds = np.zeros(shape, dtype=np.int32)
    rows = rng.integers(0, shape[0], n)
    cols = rng.integers(0, shape[1], n)
    seeds[rows, cols] = np.arange(1, n + 1)
    _, (ir, ic) = ndi.distance_transform_edt(seeds == 0, return_indices=True)
    cells = seeds[ir, ic]
    cells[rng.random(shape) < 0.15] = 0  # holes and ragged borders
    return cells


def _two_squares(gap_cols: int = 3) -> np.ndarray:
    """Two 8×8 squares in a 16×30 image, ``gap_cols`` background columns apart."""
    inst = np.zeros((16, 30), dtype=np.int32)
    inst[4:12, 4:12] = 1  # columns 4..11
    inst[4:12, 12 + gap_cols : 20 + gap_cols] = 2
    return inst


# --------------------------------------------------------------------------
# Fast map == direct definition
# --------------------------------------------------------------------------


@pytest.mark.parametrize("seed", range(40))
def test_matches_direct_on_random_images(seed: int) -> None:
    rng = np.random.default_rng(seed)
    h, w = (int(v) for v in rng.integers(1, 48, 2))
    if seed % 2:
        inst = _touching_cells((h, w), int(rng.integers(1, 12)), seed)
    else:  # speckle: many tiny instances, touching at edges and corners
        inst = rng.integers(0, int(rng.integers(2, 9)), (h, w)).astype(np.int32)
    kwargs = {
        "w0": float(rng.uniform(0.0, 20.0)),
        "sigma": float(rng.uniform(0.3, 12.0)),
        "class_weights": "balanced" if seed % 3 else (float(rng.uniform(0, 3)), float(rng.uniform(0, 3))),
    }
    fast = border_weight_map(inst, **kwargs)
    direct = border_weight_map_direct(inst, **kwargs)
    assert fast.dtype == np.float32 and fast.shape == inst.shape
    np.testing.assert_allclose(fast, direct, rtol=0, atol=ATOL)


@settings(max_examples=120, deadline=None)
@given(
    inst=arrays(np.int32, st.tuples(st.integers(1, 14), st.integers(1, 14)), elements=st.integers(0, 5)),
    sigma=st.floats(0.5, 10.0),
)
def test_matches_direct_hypothesis(inst: np.ndarray, sigma: float) -> None:
    np.testing.assert_allclose(
        border_weight_map(inst, sigma=sigma), border_weight_map_direct(inst, sigma=sigma), rtol=0, atol=ATOL
    )


@pytest.mark.parametrize("sigma", [2.0, 5.0, 12.0])
def test_matches_direct_on_packed_cells(sigma: float) -> None:
    inst = _touching_cells((96, 128), 40, seed=7)
    np.testing.assert_allclose(
        border_weight_map(inst, sigma=sigma), border_weight_map_direct(inst, sigma=sigma), rtol=0, atol=ATOL
    )


def test_matches_direct_with_cells_at_every_edge() -> None:
    inst = np.zeros((40, 50), dtype=np.int32)
    inst[0:6, 10:20] = 1  # top edge
    inst[34:40, 12:22] = 2  # bottom edge
    inst[15:25, 0:4] = 3  # left edge
    inst[14:26, 46:50] = 4  # right edge
    inst[0:3, 0:3] = 5  # a corner
    inst[18:22, 20:30] = 6  # middle
    np.testing.assert_allclose(border_weight_map(inst), border_weight_map_direct(inst), rtol=0, atol=ATOL)


def test_truncation_error_is_below_tol() -> None:
    # Cells ~15-40 px apart: with sigma = 10 many dropped terms are not tiny.
    inst = np.zeros((60, 120), dtype=np.int32)
    inst[10:50, 5:15] = 1
    inst[10:50, 30:40] = 2
    inst[10:50, 80:90] = 3
    direct = border_weight_map_direct(inst, sigma=10.0)
    for tol in (1e-1, 1e-3):
        fast = border_weight_map(inst, sigma=10.0, tol=tol)
        diff = np.abs(fast.astype(np.float64) - direct).max()
        assert 0 < diff <= tol + 1e-6  # something was dropped, and no more than tol


# --------------------------------------------------------------------------
# Large sigma: squared distances beyond int16 (regression)
# --------------------------------------------------------------------------
# For sigma >~ 32 px the cutoff exceeds 181 px, and the squared row distances
# overflowed the int16 dtype of the row keys (NaN or wrong weights).


@st.composite
def _few_instances(draw) -> np.ndarray:
    """A label image of 8-200 px per side with 1-3 instances: rectangles or discs.

    Instances never overlap (a later shape only fills background); a "touching"
    rectangle is placed right next to the previous shape, sharing its edge.
    """
    h, w = draw(st.integers(8, 200)), draw(st.integers(8, 200))
    inst = np.zeros((h, w), dtype=np.int32)
    rows, cols = np.ogrid[:h, :w]
    box = None  # bounding box (y0, y1, x0, x1) of the previous shape
    for k in range(1, draw(st.sampled_from([1, 2, 3, 3])) + 1):  # mostly 2 or 3 (a border term)
        kind = draw(st.sampled_from(["rectangle", "disc", "touching"] if box else ["rectangle", "disc"]))
        if kind == "disc":
            cy, cx = draw(st.integers(0, h - 1)), draw(st.integers(0, w - 1))
            r = draw(st.integers(1, max(1, min(h, w) // 3)))
            shape = (rows - cy) ** 2 + (cols - cx) ** 2 <= r * r
            box = (max(cy - r, 0), min(cy + r + 1, h), max(cx - r, 0), min(cx + r + 1, w))
        else:
            if kind == "touching" and box[3] < w:  # right of the previous shape, same rows
                y0, y1, x0 = box[0], box[1], box[3]
                x1 = draw(st.integers(x0 + 1, w))
            elif kind == "touching" and box[1] < h:  # below it, same columns
                y0, x0, x1 = box[1], box[2], box[3]
                y1 = draw(st.integers(y0 + 1, h))
            else:
                y0, x0 = draw(st.integers(0, h - 1)), draw(st.integers(0, w - 1))
                y1 = draw(st.integers(y0 + 1, min(h, y0 + h // 2 + 1)))
                x1 = draw(st.integers(x0 + 1, min(w, x0 + w // 2 + 1)))
            shape = np.zeros((h, w), dtype=bool)
            shape[y0:y1, x0:x1] = True
            box = (y0, y1, x0, x1)
        inst[shape & (inst == 0)] = k
    return inst


@settings(max_examples=40, deadline=None)
@given(inst=_few_instances(), sigma=st.floats(1.0, 100.0))
@example(inst=_two_squares(gap_cols=3), sigma=32.0)
@example(inst=_two_squares(gap_cols=3), sigma=80.0)
@example(inst=np.pad(_two_squares(gap_cols=0), ((0, 60), (0, 170))), sigma=32.0)
@example(inst=np.pad(_two_squares(gap_cols=0), ((0, 60), (0, 170))), sigma=80.0)
def test_matches_direct_for_large_sigma(inst: np.ndarray, sigma: float) -> None:
    fast = border_weight_map(inst, w0=10, sigma=sigma)
    direct = border_weight_map_direct(inst, w0=10, sigma=sigma)
    assert np.isfinite(fast).all()
    assert np.abs(fast.astype(np.float64) - direct).max() <= 1e-4


@pytest.mark.parametrize("sigma", [32.0, 80.0])
def test_synthetic_nuclei_with_large_sigma(sigma: float) -> None:
    # The reported case: NaN (sigma = 32) or wrong weights with int16 squares.
    from unet_tutorial.data import synthetic_nuclei

    _, inst = synthetic_nuclei((200, 200), n_nuclei=6, seed=1)
    fast = border_weight_map(inst, w0=10, sigma=sigma)
    direct = border_weight_map_direct(inst, w0=10, sigma=sigma)
    assert not np.isnan(fast).any()
    assert np.abs(fast.astype(np.float64) - direct).max() <= 1e-4


# --------------------------------------------------------------------------
# Hand-computed distances
# --------------------------------------------------------------------------


def test_two_squares_gap_centre() -> None:
    # Squares end at column 11 and start at column 15: three background columns
    # 12..14 between them; the distance between the squares is 4 px, so every
    # pixel on a row through both squares, between them, has d1 + d2 = 4
    # (at the centre column 13: d1 = d2 = 2).
    inst = _two_squares(gap_cols=3)
    w = border_weight_map(inst)
    n = inst.size
    n_fg = 2 * 64
    w_bg = n / (2 * (n - n_fg))
    for col in (12, 13, 14):
        assert w[8, col] == pytest.approx(w_bg + _border(2, 2), abs=1e-5)
    assert w[8, 13] == pytest.approx(w_bg + 10 * math.exp(-16 / 50), abs=1e-5)
    # Three rows above the squares, above the gap centre: the nearest pixels are
    # the squares' top corners (4, 11) and (4, 15): d1 = d2 = sqrt(3² + 2²).
    assert w[1, 13] == pytest.approx(w_bg + _border(math.sqrt(13), math.sqrt(13)), abs=1e-5)
    # Left of square 1 at column 1, row 8: d1 = 3, d2 = distance to column 15 = 14.
    assert w[8, 1] == pytest.approx(w_bg + _border(3, 14), abs=1e-5)


def test_distances_are_measured_inside_the_image() -> None:
    # Two cells cut by the top edge; the pixel (0, 5) between them sees only
    # their visible parts: d1 = d2 = 2. Nothing is mirrored or assumed beyond the edge.
    inst = np.zeros((6, 11), dtype=np.int32)
    inst[0:4, 0:4] = 1
    inst[0:4, 7:11] = 2
    w = border_weight_map(inst, class_weights=(1.0, 1.0))
    assert w[0, 5] == pytest.approx(1 + _border(2, 2), abs=1e-5)
    # Bottom-right corner (5, 10): nearest pixels (3, 10) of cell 2 and (3, 3) of cell 1.
    assert w[5, 10] == pytest.approx(1 + _border(2, math.hypot(2, 7)), abs=1e-5)


def test_border_term_on_separation_borders_of_touching_cells() -> None:
    # Two cells sharing an edge: column 5 of cell 1 and column 6 of cell 2 become
    # background; there d1 = 0 (inside the own cell) and d2 = 1.
    inst = np.zeros((10, 12), dtype=np.int32)
    inst[2:8, 1:6] = 1
    inst[2:8, 6:11] = 2
    w = border_weight_map(inst, class_weights=(1.0, 1.0))
    assert w[4, 5] == pytest.approx(1 + _border(0, 1), abs=1e-5)
    assert w[4, 6] == pytest.approx(1 + _border(0, 1), abs=1e-5)
    assert w[4, 4] == 1.0  # cell interior: foreground of the target, w_c only


def test_border_term_only_on_target_background() -> None:
    inst = _touching_cells((40, 40), 12, seed=3)
    target = separation_mask(inst)
    w_bg, w_fg = balanced_class_weights(target)
    w = border_weight_map(inst)
    np.testing.assert_array_equal(w[target == 1], np.float32(w_fg))
    assert (w[target == 0] >= np.float32(w_bg)).all()
    assert (w[target == 0] > np.float32(w_bg) + 1).any()


def test_one_instance_has_no_border_term() -> None:
    inst = np.zeros((20, 20), dtype=np.int64)
    inst[5:9, 3:7] = 4
    inst[12:15, 12:18] = 4  # same id in two pieces: still one instance
    w = border_weight_map(inst)
    np.testing.assert_array_equal(w, class_weight_map(inst > 0))
    np.testing.assert_array_equal(border_weight_map_direct(inst), w)


def test_no_instance_gives_only_class_weights() -> None:
    empty = np.zeros((7, 9), dtype=np.uint8)
    np.testing.assert_array_equal(border_weight_map(empty), np.ones((7, 9), np.float32))
    np.testing.assert_array_equal(
        border_weight_map(empty, class_weights=(0.25, 3.0)), np.full((7, 9), 0.25, np.float32)
    )


def test_unit_class_weights_and_zero_w0() -> None:
    inst = _two_squares()
    w = border_weight_map(inst, class_weights=(1.0, 1.0))
    np.testing.assert_array_equal(w[inst > 0], 1.0)
    assert (w[inst == 0] >= 1.0).all()
    np.testing.assert_array_equal(border_weight_map(inst, w0=0.0, class_weights=(1.0, 1.0)), 1.0)


def test_ids_need_not_be_consecutive_or_small() -> None:
    inst = _touching_cells((30, 40), 9, seed=11)
    expected = border_weight_map(inst)
    for big in (np.int64(40_000), np.int64(2**40), np.uint64(2**63)):
        relabelled = np.where(inst > 0, inst.astype(np.uint64) * 7 + np.uint64(big), 0)
        relabelled = relabelled.astype(np.uint64 if big.dtype == np.uint64 else np.int64)
        np.testing.assert_array_equal(border_weight_map(relabelled), expected)


def test_input_is_not_modified_and_lists_are_accepted() -> None:
    inst = _two_squares()
    before = inst.copy()
    w = border_weight_map(inst)
    np.testing.assert_array_equal(inst, before)
    np.testing.assert_array_equal(border_weight_map(inst.tolist()), w)


def test_border_cutoff() -> None:
    d = border_cutoff(10.0, 5.0, 1e-6)
    assert d == pytest.approx(5.0 * math.sqrt(2 * math.log(1e7)))
    assert 10.0 * math.exp(-(d**2) / 50.0) == pytest.approx(1e-6)
    assert border_cutoff(1e-7, 5.0, 1e-6) == 0.0


# --------------------------------------------------------------------------
# Class weights w_c
# --------------------------------------------------------------------------


def test_balanced_class_weights_formula() -> None:
    mask = np.zeros((8, 8), dtype=np.uint8)
    mask[:4, :4] = 1  # 16 of 64 pixels foreground
    w_bg, w_fg = balanced_class_weights(mask)
    assert w_bg == pytest.approx(64 / (2 * 48))
    assert w_fg == pytest.approx(64 / (2 * 16))
    cw = class_weight_map(mask)
    assert cw.dtype == np.float32
    assert cw.mean() == pytest.approx(1.0)  # each class carries half the weight
    assert cw[mask == 1].sum() == pytest.approx(cw[mask == 0].sum())


def test_balanced_class_weights_single_class() -> None:
    assert balanced_class_weights(np.ones((3, 3), bool)) == (1.0, 1.0)
    assert balanced_class_weights(np.zeros((3, 3), bool)) == (1.0, 1.0)


def test_class_weights_computed_on_target_with_borders() -> None:
    inst = np.zeros((10, 12), dtype=np.int32)
    inst[2:8, 1:6] = 1
    inst[2:8, 6:11] = 2  # touching: 12 border pixels leave the foreground
    w = border_weight_map(inst)
    n_fg = 60 - 12
    assert w[4, 3] == pytest.approx(120 / (2 * n_fg))


def test_explicit_class_weights_map() -> None:
    mask = np.array([[0, 1], [1, 1]])
    np.testing.assert_array_equal(class_weight_map(mask, (0.5, 2.0)), [[0.5, 2.0], [2.0, 2.0]])


# --------------------------------------------------------------------------
# Separation mask and touching pairs
# --------------------------------------------------------------------------


def _separation_by_loops(inst: np.ndarray) -> np.ndarray:
    """Independent, slow statement of the rule: no other id in the 3×3 neighbourhood."""
    h, w = inst.shape
    out = np.zeros((h, w), dtype=np.uint8)
    for y in range(h):
        for x in range(w):
            own = inst[y, x]
            if own == 0:
                continue
            window = inst[max(y - 1, 0) : y + 2, max(x - 1, 0) : x + 2]
            out[y, x] = not ((window != 0) & (window != own)).any()
    return out


@pytest.mark.parametrize("seed", range(6))
def test_separation_mask_rule(seed: int) -> None:
    inst = _touching_cells((23, 31), 10, seed)
    mask = separation_mask(inst)
    assert mask.dtype == np.uint8
    np.testing.assert_array_equal(mask, _separation_by_loops(inst))


@pytest.mark.parametrize("seed", range(6))
def test_separation_mask_leaves_no_contact(seed: int) -> None:
    inst = _touching_cells((40, 40), 15, seed)
    assert len(touching_pairs(inst)) > 0
    separated = inst * separation_mask(inst)
    assert len(touching_pairs(separated)) == 0
    # Even 8-connected labelling of the mask no longer merges two instances.
    components, _ = ndi.label(separation_mask(inst), structure=np.ones((3, 3)))
    for k in np.unique(components[components > 0]):
        assert len(np.unique(inst[components == k])) == 1


def test_contact_pixels_marks_both_rims_of_a_shared_edge_and_nothing_next_to_background() -> None:
    inst = np.zeros((5, 8), dtype=np.int32)
    inst[1:4, 1:4] = 1  # columns 1-3
    inst[1:4, 4:7] = 2  # columns 4-6: shares the edge between columns 3 and 4
    contact = contact_pixels(inst)
    expected = np.zeros_like(contact)
    expected[1:4, 3:5] = True
    np.testing.assert_array_equal(contact, expected)
    # the target is exactly the instances without their contact pixels
    np.testing.assert_array_equal(separation_mask(inst), ((inst > 0) & ~contact).astype(np.uint8))
    inst[inst == 2] = 0  # one cell alone: no contact anywhere
    assert not contact_pixels(inst).any()


def test_separation_mask_gap_widths() -> None:
    inst = np.zeros((8, 12), dtype=np.int32)
    inst[1:7, 1:6] = 1
    inst[1:7, 6:11] = 2  # shared edge between columns 5 and 6
    mask = separation_mask(inst)
    assert (mask[1:7, 5] == 0).all() and (mask[1:7, 6] == 0).all()  # 2-px gap
    assert (mask[1:7, 1:5] == 1).all() and (mask[1:7, 7:11] == 1).all()

    diagonal = np.zeros((6, 6), dtype=np.int32)
    diagonal[0:3, 0:3] = 1
    diagonal[3:6, 3:6] = 2  # touch only at the corner (2, 2)-(3, 3)
    mask = separation_mask(diagonal)
    assert mask[2, 2] == 0 and mask[3, 3] == 0
    assert mask.sum() == 9 + 9 - 2


def test_separation_mask_keeps_separate_instances() -> None:
    inst = _two_squares(gap_cols=1)  # one background column: not 8-adjacent
    np.testing.assert_array_equal(separation_mask(inst), (inst > 0).astype(np.uint8))
    assert len(touching_pairs(inst)) == 0


def test_touching_pairs() -> None:
    inst = np.array(
        [
            [1, 1, 0, 3],
            [2, 0, 0, 0],
            [0, 0, 4, 0],
            [5, 0, 0, 4],
        ]
    )
    # Only 1 and 2 touch; 3 and 5 touch nothing; 4 at (2, 2) and (3, 3) is one instance.
    np.testing.assert_array_equal(touching_pairs(inst), [[1, 2]])
    inst[1, 1] = 6  # 6 touches 1 (edge), 2 (edge) and 4 (corner)
    np.testing.assert_array_equal(touching_pairs(inst), [[1, 2], [1, 6], [2, 6], [4, 6]])


# --------------------------------------------------------------------------
# Instances from a binary label (ISBI 2012)
# --------------------------------------------------------------------------


def test_instances_from_binary_connectivity() -> None:
    label = np.array([[1, 1, 0, 0], [0, 0, 1, 0], [1, 0, 0, 0]], dtype=np.uint8)
    four = instances_from_binary(label)
    eight = instances_from_binary(label, connectivity=2)
    assert four.dtype == np.int32
    assert four.max() == 3 and eight.max() == 2
    np.testing.assert_array_equal(four > 0, label.astype(bool))
    assert eight[0, 0] == eight[1, 2] != eight[2, 0]


def test_isbi_membranes_get_the_border_term() -> None:
    # Three cells separated by 1-px membranes, as in an EM label (1 = cell).
    label = np.ones((12, 15), dtype=np.uint8)
    label[:, 5] = 0
    label[6, 6:] = 0
    inst = instances_from_binary(label)
    assert inst.max() == 3
    np.testing.assert_array_equal(separation_mask(inst), label)
    w = border_weight_map(inst, class_weights=(1.0, 1.0))
    assert w[2, 5] == pytest.approx(1 + _border(1, 1), abs=1e-5)  # between two cells
    np.testing.assert_allclose(w, border_weight_map_direct(inst, class_weights=(1.0, 1.0)), atol=ATOL)


def test_isbi_real_label_matches_direct() -> None:
    if not os.environ.get("UNET_TUTORIAL_DATA"):
        pytest.skip("UNET_TUTORIAL_DATA is not set: no ISBI 2012 data")
    from unet_tutorial.data import load_isbi2012

    labels = load_isbi2012().masks
    inst = instances_from_binary(labels[0][:128, :128])
    assert inst.max() > 10  # many cells in the crop
    np.testing.assert_allclose(border_weight_map(inst), border_weight_map_direct(inst), rtol=0, atol=ATOL)


# --------------------------------------------------------------------------
# Bad input
# --------------------------------------------------------------------------

_GOOD = np.array([[1, 0, 2]], dtype=np.int32)


@pytest.mark.parametrize(
    ("instances", "message"),
    [
        (np.array([[1.0, 0.0]]), "integer"),
        (np.array([[1, -1]]), "negative"),
        (np.zeros((2, 2, 2), dtype=np.int32), r"must have shape \(H, W\), got shape \(2, 2, 2\)"),
        (np.zeros(5, dtype=np.int32), r"must have shape \(H, W\), got shape \(5,\)"),
        (np.zeros((0, 4), dtype=np.int32), "empty"),
        (np.array([[True, False]]), "boolean"),
        (np.array([["a", "b"]]), "integer"),
    ],
)
@pytest.mark.parametrize(
    "func", [border_weight_map, border_weight_map_direct, separation_mask, touching_pairs]
)
def test_bad_instances(func, instances: np.ndarray, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        func(instances)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"sigma": float("nan")}, "sigma must be finite"),
        ({"sigma": 0.0}, "sigma must be > 0"),
        ({"sigma": -2.0}, "sigma must be > 0"),
        ({"sigma": float("inf")}, "sigma must be finite"),
        ({"sigma": "five"}, "sigma must be a number"),
        ({"w0": float("nan")}, "w0 must be finite"),
        ({"w0": -1.0}, "w0 must be >= 0"),
        ({"class_weights": "inverse"}, "balanced"),
        ({"class_weights": (1.0,)}, "pair"),
        ({"class_weights": (1.0, 2.0, 3.0)}, "pair"),
        ({"class_weights": 3.0}, "pair"),
        ({"class_weights": (float("nan"), 1.0)}, r"class_weights\[0\]"),
        ({"class_weights": (1.0, -1.0)}, r"class_weights\[1\]"),
    ],
)
@pytest.mark.parametrize("func", [border_weight_map, border_weight_map_direct])
def test_bad_parameters(func, kwargs: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        func(_GOOD, **kwargs)


def test_bad_tol() -> None:
    for tol in (0.0, -1e-6, float("nan")):
        with pytest.raises(ValueError, match="tol"):
            border_weight_map(_GOOD, tol=tol)


@pytest.mark.parametrize(
    ("mask", "message"),
    [
        (np.array([[0, 2]]), "only 0"),
        (np.array([[0, 255]], dtype=np.uint8), "only 0"),
        (np.array([[0.0, 1.0]]), "bool or integer"),
        (np.zeros((2, 2, 1), dtype=np.uint8), r"must have shape \(H, W\), got shape \(2, 2, 1\)"),
        (np.zeros((3, 0), dtype=np.uint8), "empty"),
    ],
)
@pytest.mark.parametrize("func", [balanced_class_weights, class_weight_map, instances_from_binary])
def test_bad_masks(func, mask: np.ndarray, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        func(mask)


@pytest.mark.parametrize("connectivity", [0, 3, True, "4"])
def test_bad_connectivity(connectivity) -> None:
    with pytest.raises(ValueError, match="connectivity"):
        instances_from_binary(np.ones((3, 3), np.uint8), connectivity=connectivity)


def test_common_border_is_what_separation_removes_between_two_cells():
    inst = np.zeros((8, 10), dtype=np.int32)
    inst[1:7, 1:5] = 1  # columns 1-4
    inst[1:7, 5:9] = 2  # columns 5-8: shares an edge with 1
    border = common_border(inst, 1, 2)
    # The last column of cell 1 and the first column of cell 2, rows 1-6.
    expected = np.zeros_like(border)
    expected[1:7, 4:6] = True
    np.testing.assert_array_equal(border, expected)
    np.testing.assert_array_equal(border, (inst > 0) & (separation_mask(inst) == 0))
    assert not common_border(inst, 1, 3).any()
    with pytest.raises(ValueError, match="two different instance ids"):
        common_border(inst, 2, 2)


def test_plot_weight_figure_draws_the_four_panels_of_fig3():
    import matplotlib

    matplotlib.use("Agg")
    from unet_tutorial.plotting import plot_weight_figure

    inst = np.zeros((20, 20), dtype=np.int32)
    inst[2:10, 2:10], inst[2:10, 10:18] = 1, 2
    target = separation_mask(inst)
    fig = plot_weight_figure(inst.astype(float), inst, target, border_weight_map(inst), "t")
    titles = [ax.get_title() for ax in fig.axes[:4]]
    assert titles[0].startswith("(a)") and titles[3].startswith("(d)")
    assert len(fig.axes) == 5  # four panels and the colour bar
    with pytest.raises(ValueError, match="four \\(H, W\\) arrays of one shape"):
        plot_weight_figure(inst, inst, target[:5], inst, None)
