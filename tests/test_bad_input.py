"""The bad-input contract of the package, tested with hypothesis.

Every public function of ``unet_tutorial.model``, ``.augment``, ``.weights``,
``.inference``, ``.metrics`` and ``.data`` that takes an array (their ``__all__``)
rejects a corrupted array argument -- NaN/inf values, a zero-length axis, the wrong
number of dimensions, a wrong dtype (complex, object, bool where ids are needed,
float where integer labels are needed), out-of-range values (0/255 masks, negative
ids, probabilities outside [0, 1]) -- with a ``ValueError`` whose message names the
argument *and* the problem (paths: ``FileNotFoundError`` naming the missing folder).

How: :data:`CASES` is a table of public functions x the argument to corrupt, each
with a valid baseline call (checked to succeed by ``test_baseline_call_is_valid``)
and the corruption kinds that apply to that argument. ``test_bad_array_is_rejected``
runs over every (case, kind) pair; hypothesis draws the details of the corruption
(where the NaN goes and which one, which axis is emptied, which wrong number of
dimensions, which dtype, which out-of-range value and where) and the test asserts
``pytest.raises(ValueError, match=<argument name>)`` and a second regex for the
problem (:data:`PROBLEM`).

Skipped public names (they take no array argument, or are classes/constants):

- model: ``UNet``, ``DoubleConv``, ``Down``, ``Up``, ``LayerShape`` (classes);
  ``output_size``, ``is_valid_input_size``, ``valid_input_sizes``,
  ``nearest_valid_input_sizes``, ``input_size_for``, ``border``,
  ``check_input_size``, ``explain_input_size`` (ints only, tested in test_model.py);
  ``format_trace`` (a list of LayerShape).
- augment: ``ElasticField``, ``Transform``, ``Compose``, ``ElasticDeform``,
  ``RandomFlip``, ``RandomRot90``, ``RandomRotation``, ``RandomShift``, ``GrayValue``
  (classes); ``paper_augmentation``, ``flips_augmentation`` (no array argument).
- weights: ``border_cutoff`` (numbers only).
- inference: ``TilePlan`` (class), ``DIHEDRAL`` (constant); ``plan_tiles``,
  ``min_tile_size``, ``tile_memory_bytes``, ``memory_budget`` (a model and ints);
  ``tile_boxes`` (a TilePlan and an int).
- metrics: ``PixelScores``, ``RandScores``, ``MismatchType``, ``WarpingResult``,
  ``SweepResult``, ``TouchingMerges`` (classes); ``CHALLENGE_THRESHOLDS``,
  ``CHALLENGE_RADIUS``, ``SWEEP_METRICS``, ``MISMATCH_COLORS`` (constants);
  ``simple_point_table`` (no argument); ``summary_table`` (dicts of numbers);
  ``mismatch_rgb``'s ``result`` (a WarpingResult; its ``background`` is tested).
- data: ``DATA_ENV_VAR``, ``ISBI2012_*``, ``DSB2018_*``, ``CTC_*`` (constants);
  ``TrainData`` (class; exercised through ``prepare_data``); ``data_dir`` (a path
  that need not exist: it is not created there); ``fetch_isbi2012`` (downloads);
  ``make_tile_dataset`` (a TrainData, validated when it is built). The loaders
  ``load_isbi2012``, ``load_isbi2012_test_images``, ``dsb2018_ids``, ``load_dsb2018``,
  ``load_ctc`` take a path:
  ``dsb2018_split`` takes ids (tested in test_data.py);
  ``test_missing_data_folder_is_rejected``.

Corruptions legitimately accepted, hence not tested for that argument (see the
``kinds`` column of the table):

- pure re-indexing (``mirror_pad``, ``dihedral``, ``dihedral_inverse``,
  ``model.center_crop``) works on any dtype and any value: NaN, complex, bool and
  object values are only moved, never computed with -- only empty inputs and too
  few dimensions are bad there;
- float images outside [0, 1] are fine (no range check on images; ``mismatch_rgb``
  clips its background); bool is a valid mask; bool labels are valid for the
  augmentation and for ``TileDataset``; negative label values are carried unchanged
  by the augmentation's nearest-neighbour resampling (``elastic_deform``,
  ``apply_displacement``: the label set is the caller's);
- integer images are valid for ``predict_tiled``/``segment``/``forward_probabilities``
  and ``prepare_data`` (scaled by the dtype's maximum), only negative signed integers
  are out of range there; the augmentation and ``TileDataset`` need float images, so
  "bool"/"float" corruptions do not apply to images.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from unet_tutorial import augment, data, inference, metrics, model, weights
from unet_tutorial.config import TrainConfig

SETTINGS = settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# --------------------------------------------------------------------------
# Valid inputs (small: 16 x 16 px)
# --------------------------------------------------------------------------

H = W = 16
_rng = np.random.default_rng(0)
IMAGE = _rng.uniform(0.0, 1.0, (H, W)).astype(np.float32)
INSTANCES = data.synthetic_voronoi_instances((H, W), n_cells=5, gap=1, seed=1)  # int32, ids 0..5
MASK = (INSTANCES > 0).astype(np.uint8)  # 0/1 uint8, has cells and background
PRED = np.roll(MASK, 1, axis=1)
PROB = np.clip(PRED * 0.8 + 0.1 + _rng.uniform(-0.05, 0.05, (H, W)), 0.0, 1.0)  # PROB > 0.5 == PRED
assert np.array_equal(PROB > 0.5, PRED.astype(bool))
LABEL = MASK.astype(np.int64)
FIELD = _rng.normal(0.0, 2.0, (2, H, W)).astype(np.float32)
WEIGHT = np.ones((H, W), np.float32)
THRESHOLDS = np.array([0.3, 0.5, 0.7])

NET = model.UNet(base_channels=2, depth=2, dropout=0.0)  # valid sizes 44, 48, ...; border 20
TILE = 60  # output 20 px: one tile for a 16 x 16 image
WINDOW = _rng.uniform(0.0, 1.0, (44, 44)).astype(np.float32)  # a valid input size of NET
CONFIG = TrainConfig()  # border_weights=True, class_weights="balanced"
WARP = metrics.warping_details(PRED, MASK)

# --------------------------------------------------------------------------
# The problems: one regex per corruption kind, matched against the message
# --------------------------------------------------------------------------

PROBLEM = {
    "nan": r"NaN|infinite",
    "empty": r"empty",
    "ndim": r"shape|-D|dimension",
    "complex": r"dtype|real",
    "object": r"dtype|numeric|object",
    "bool": r"bool",
    "float": r"dtype|integer",
    "range": r"0 and 1|negative|\[0, 1\]|>= 0",
    # scalar / shape-tuple arguments
    "shape": r"\(H, W\)|pair|integer|positive|at least|empty|>= 1",
    "int": r"\bint\b|integer",
    "int_range": r">= ?\d|<= ?\d|at most|at least|positive|pixels",
}

#: Kinds of corruption for each kind of array argument (before per-case exclusions).
ARRAY_KINDS = ("nan", "empty", "ndim", "complex", "object", "bool", "float", "range")


@dataclass
class Case:
    """One row of the table: a public function, a valid call, the argument to corrupt."""

    id: str
    func: Callable[..., Any]
    kwargs: Callable[[], dict[str, Any]]  # the valid call's keyword arguments (fresh copies)
    arg: str  # the argument to corrupt
    kinds: tuple[str, ...]  # corruption kinds tested for it
    name: str | None = None  # regex naming the argument in the message (default: the argument)
    role: str = "image"  # image | mask | instances | labels | prob | int_image | any | shape | int
    bad_ndims: tuple[int, ...] = (0, 1, 3)  # numbers of dimensions the argument must not have
    as_torch: bool = False  # pass the corrupted array as a torch tensor
    in_list: bool = False  # the argument is a list of arrays: corrupt element 0
    empty_means: str | None = None  # regex if an empty array is reported as a shape mismatch
    int_bad: tuple[Any, ...] = ()  # out-of-range ints for role "int"
    bad_lengths: tuple[int, ...] = (0, 1, 3)  # wrong numbers of entries for role "shape"
    extra: dict[str, str] = field(default_factory=dict)  # per-kind overrides of PROBLEM

    def problem(self, kind: str) -> str:
        if kind == "empty" and self.empty_means:
            return self.empty_means
        return self.extra.get(kind, PROBLEM[kind])

    def name_regex(self) -> str:
        return self.name if self.name is not None else rf"\b{re.escape(self.arg)}\b"


def _k(**kw: Any) -> Callable[[], dict[str, Any]]:
    """Keyword arguments as a factory of fresh copies (arrays are copied per call)."""

    def make() -> dict[str, Any]:
        out = {}
        for key, v in kw.items():
            if isinstance(v, np.ndarray):
                v = v.copy()
            elif isinstance(v, torch.Tensor):
                v = v.clone()
            elif isinstance(v, list):
                v = [a.copy() if isinstance(a, np.ndarray) else a for a in v]
            out[key] = v
        return out

    return make


IMAGE_KINDS = ("nan", "empty", "ndim", "complex", "object")
MASK_KINDS = ("empty", "ndim", "complex", "object", "float", "range")  # bool is a valid mask
INSTANCE_KINDS = ("empty", "ndim", "complex", "object", "bool", "float", "range")
PROB_KINDS = ("nan", "empty", "ndim", "complex", "object", "range")
INDEXING_KINDS = ("empty", "ndim")  # re-indexing only: any dtype and value is fine
SHAPE = ("shape",)
SHAPE_MISMATCH = r"empty|shape|match"


def _mask_cases(fname: str, func: Callable, extra_kwargs: dict | None = None) -> list[Case]:
    kw = {"pred": PRED, "truth": MASK, **(extra_kwargs or {})}
    return [
        Case(f"metrics.{fname}[{arg}]", func, _k(**kw), arg, MASK_KINDS, role="mask")
        for arg in ("pred", "truth")
    ]


def _instance_cases(fname: str, func: Callable, **extra: Any) -> Case:
    return Case(f"weights.{fname}[instances]", func, _k(instances=INSTANCES, **extra), "instances",
                INSTANCE_KINDS, role="instances")


CASES: list[Case] = [
    # ---------------------------------------------------------------- model
    Case("model.center_crop[x]", model.center_crop,
         _k(x=torch.from_numpy(IMAGE)[None, None], height=8, width=8), "x", INDEXING_KINDS,
         role="any", as_torch=True, bad_ndims=(0, 1)),
    Case("model.center_crop[height]", model.center_crop,
         _k(x=torch.from_numpy(IMAGE)[None, None], height=8, width=8), "height", ("int", "int_range"),
         role="int", int_bad=(0, -3, H + 1)),
    Case("model.center_crop[width]", model.center_crop,
         _k(x=torch.from_numpy(IMAGE)[None, None], height=8, width=8), "width", ("int", "int_range"),
         role="int", int_bad=(0, -1, W + 5)),
    # ---------------------------------------------------------------- augment
    Case("augment.elastic_displacement[shape]", augment.elastic_displacement, _k(shape=(H, W), rng=0),
         "shape", SHAPE, role="shape"),
    Case("augment.apply_displacement[image]", augment.apply_displacement,
         _k(image=IMAGE, field=FIELD, label=LABEL), "image", IMAGE_KINDS, bad_ndims=(0, 1, 4)),
    Case("augment.apply_displacement[image] (torch)", augment.apply_displacement,
         _k(image=IMAGE, field=FIELD), "image", ("nan", "empty", "ndim", "complex"),
         as_torch=True, bad_ndims=(0, 1, 5)),
    Case("augment.apply_displacement[field]", augment.apply_displacement,
         _k(image=IMAGE, field=FIELD, label=LABEL), "field", IMAGE_KINDS, role="field",
         bad_ndims=(0, 1, 2, 5), empty_means=SHAPE_MISMATCH),
    Case("augment.apply_displacement[label]", augment.apply_displacement,
         _k(image=IMAGE, field=FIELD, label=LABEL), "label", ("empty", "ndim", "complex", "object", "float"),
         role="labels", empty_means=SHAPE_MISMATCH),
    Case("augment.elastic_deform[image]", augment.elastic_deform, _k(image=IMAGE, label=LABEL, rng=0),
         "image", IMAGE_KINDS, bad_ndims=(0, 1, 4)),
    Case("augment.elastic_deform[image] (torch)", augment.elastic_deform,
         _k(image=torch.from_numpy(IMAGE)[None, None], rng=0), "image",
         ("nan", "empty", "ndim", "complex"), as_torch=True, bad_ndims=(0, 1, 5)),
    Case("augment.elastic_deform[label]", augment.elastic_deform, _k(image=IMAGE, label=LABEL, rng=0),
         "label", ("empty", "ndim", "complex", "object", "float"), role="labels", empty_means=SHAPE_MISMATCH),
    # ---------------------------------------------------------------- weights
    _instance_cases("separation_mask", weights.separation_mask),
    _instance_cases("touching_pairs", weights.touching_pairs),
    _instance_cases("contact_pixels", weights.contact_pixels),
    _instance_cases("common_border", weights.common_border, a=1, b=2),
    _instance_cases("border_weight_map", weights.border_weight_map),
    _instance_cases("border_weight_map_direct", weights.border_weight_map_direct),
    Case("weights.instances_from_binary[label]", weights.instances_from_binary, _k(label=MASK), "label",
         MASK_KINDS, role="mask"),
    Case("weights.balanced_class_weights[mask]", weights.balanced_class_weights, _k(mask=MASK), "mask",
         MASK_KINDS, role="mask"),
    Case("weights.class_weight_map[mask]", weights.class_weight_map, _k(mask=MASK), "mask",
         MASK_KINDS, role="mask"),
    # ---------------------------------------------------------------- inference
    Case("inference.mirror_pad[image]", inference.mirror_pad, _k(image=IMAGE, top=2, bottom=3, left=4, right=5),
         "image", INDEXING_KINDS, role="any", bad_ndims=(0, 1)),
    Case("inference.mirror_pad[image] (torch)", inference.mirror_pad,
         _k(image=IMAGE, top=2, bottom=3, left=4, right=5), "image", INDEXING_KINDS, role="any",
         as_torch=True, bad_ndims=(0, 1)),
    *[
        Case(f"inference.mirror_pad[{side}]", inference.mirror_pad,
             _k(image=IMAGE, top=2, bottom=3, left=4, right=5), side, ("int", "int_range"), role="int",
             int_bad=(-1, -7))
        for side in ("top", "bottom", "left", "right")
    ],
    *[
        Case(f"inference.{f.__name__}[x]", f, _k(x=torch.from_numpy(IMAGE)[None], k=1, flip=True), "x",
             INDEXING_KINDS, role="any", as_torch=True, bad_ndims=(0, 1))
        for f in (inference.dihedral, inference.dihedral_inverse)
    ],
    Case("inference.predict_tiled[image]", inference.predict_tiled, _k(model=NET, image=IMAGE, tile_size=TILE),
         "image", (*IMAGE_KINDS, "range"), role="int_image", bad_ndims=(0, 1, 4)),
    Case("inference.predict_tiled[image] (torch)", inference.predict_tiled,
         _k(model=NET, image=IMAGE, tile_size=TILE), "image", ("nan", "empty", "ndim", "complex", "range"),
         role="int_image", as_torch=True, bad_ndims=(0, 1, 4)),
    Case("inference.segment[image]", inference.segment, _k(model=NET, image=IMAGE, tile_size=TILE),
         "image", (*IMAGE_KINDS, "range"), role="int_image", bad_ndims=(0, 1, 4)),
    Case("inference.forward_probabilities[window]", inference.forward_probabilities,
         _k(model=NET, window=WINDOW), "window", (*IMAGE_KINDS, "range"), role="int_image",
         bad_ndims=(0, 1, 4)),
    Case("inference.forward_probabilities[window] (torch)", inference.forward_probabilities,
         _k(model=NET, window=WINDOW), "window", ("nan", "empty", "ndim", "complex", "range"),
         role="int_image", as_torch=True, bad_ndims=(0, 1, 4)),
    Case("inference.choose_tile_size[image_shape]", inference.choose_tile_size,
         _k(model=NET, image_shape=(H, W), memory_bytes=2**30), "image_shape", SHAPE, role="shape",
         bad_lengths=(0, 1, 4)),  # (C, H, W) is valid too
    Case("inference.predict_tiled_many[images]", inference.predict_tiled_many,
         _k(model=NET, images=[IMAGE, IMAGE], tile_size=TILE), "images", (*IMAGE_KINDS, "range"),
         name=r"images\[0\]", role="int_image", bad_ndims=(0, 1, 4), in_list=True),
    *[
        Case(f"inference.{f.__name__}[image_shape]", f, _k(model=NET, image_shape=(H, W), memory_bytes=2**30),
             "image_shape", SHAPE, role="shape", bad_lengths=(0, 1, 4))
        for f in (inference.tile_size_candidates, inference.fastest_tile_size)
    ],
    # ---------------------------------------------------------------- metrics
    *_mask_cases("pixel_error", metrics.pixel_error),
    *_mask_cases("pixel_mismatch", metrics.pixel_mismatch),
    *_mask_cases("pixel_scores", metrics.pixel_scores),
    *_mask_cases("iou", metrics.iou),
    *_mask_cases("rand_scores", metrics.rand_scores),
    *_mask_cases("rand_error", metrics.rand_error),
    *_mask_cases("skimage_adapted_rand_error", metrics.skimage_adapted_rand_error),
    *_mask_cases("warping_error", metrics.warping_error),
    *_mask_cases("warping_details", metrics.warping_details),
    *_mask_cases("error_summary", metrics.error_summary),
    *[
        Case(f"metrics.{f.__name__}[prob]", f, _k(pred=PRED, truth=MASK, prob=PROB), "prob", PROB_KINDS,
             role="prob")
        for f in (metrics.warping_error, metrics.warping_details)
    ],
    Case("metrics.threshold_sweep[prob]", metrics.threshold_sweep,
         _k(prob=PROB, truth=MASK, metrics=("pixel_error", "rand"), progress=False), "prob", PROB_KINDS,
         role="prob", bad_ndims=(0, 1, 4)),
    Case("metrics.threshold_sweep[truth]", metrics.threshold_sweep,
         _k(prob=PROB, truth=MASK, metrics=("pixel_error", "rand"), progress=False), "truth", MASK_KINDS,
         role="mask", bad_ndims=(0, 1, 4)),
    Case("metrics.threshold_sweep[thresholds]", metrics.threshold_sweep,
         _k(prob=PROB, truth=MASK, thresholds=THRESHOLDS, metrics=("pixel_error",), progress=False), "thresholds",
         PROB_KINDS, role="prob", bad_ndims=(0, 2)),
    Case("metrics.touching_merges[pred]", metrics.touching_merges, _k(pred=PRED, instances=INSTANCES), "pred",
         MASK_KINDS, role="mask"),
    Case("metrics.touching_merges[instances]", metrics.touching_merges, _k(pred=PRED, instances=INSTANCES),
         "instances", INSTANCE_KINDS, role="instances"),
    Case("metrics.convex_touching_pairs[instances]", metrics.convex_touching_pairs, _k(instances=INSTANCES),
         "instances", INSTANCE_KINDS, role="instances"),
    Case("metrics.touching_merges[pred-labelled]", metrics.touching_merges,
         _k(pred=INSTANCES, instances=INSTANCES, labelled=True), "pred", INSTANCE_KINDS, role="instances"),
    *(Case(f"data.{f.__name__}[image]", f, _k(image=np.stack([IMAGE] * 3)), "image", IMAGE_KINDS,
           bad_ndims=(0, 2, 4))
      for f in (data.dsb2018_modality, data.dsb2018_gray)),
    Case("metrics.mismatch_rgb[background]", metrics.mismatch_rgb, _k(result=WARP, background=IMAGE),
         "background", IMAGE_KINDS),
    *(Case(f"metrics.{f.__name__}[{arg}]", f, _k(pred=INSTANCES, truth=np.roll(INSTANCES, 1, axis=0)), arg,
           INSTANCE_KINDS, role="instances")
      for f in (metrics.match_instances, metrics.instance_f1, metrics.dsb_score, metrics.seg_score)
      for arg in ("pred", "truth")),
    Case("inference.instances_from_probability[prob]", inference.instances_from_probability, _k(prob=PROB),
         "prob", PROB_KINDS, role="prob"),
    Case("inference.fill_gaps[labels]", inference.fill_gaps, _k(labels=INSTANCES), "labels", INSTANCE_KINDS,
         role="instances"),
    Case("inference.predict_instances[image]", inference.predict_instances,
         _k(model=NET, image=IMAGE, tile_size=TILE), "image", (*IMAGE_KINDS, "range"), role="int_image",
         bad_ndims=(0, 1, 4)),
    # ---------------------------------------------------------------- data
    Case("data.synthetic_voronoi_instances[shape]", data.synthetic_voronoi_instances,
         _k(shape=(H, W), n_cells=3), "shape", SHAPE, role="shape"),
    Case("data.synthetic_em[shape]", data.synthetic_em, _k(shape=(H, W), n_cells=3), "shape", SHAPE,
         role="shape"),
    Case("data.synthetic_nuclei[shape]", data.synthetic_nuclei, _k(shape=(32, 32), n_nuclei=2), "shape",
         SHAPE, role="shape"),
    Case("data.reflect_indices[n]", data.reflect_indices, _k(start=-3, size=10, n=7), "n",
         ("int", "int_range"), role="int", int_bad=(0, -1)),
    Case("data.reflect_indices[size]", data.reflect_indices, _k(start=-3, size=10, n=7), "size",
         ("int", "int_range"), role="int", int_bad=(-1, -10)),
    Case("data.reflect_indices[start]", data.reflect_indices, _k(start=-3, size=10, n=7), "start",
         ("int",), role="int"),
    Case("data.TileDataset[images]", data.TileDataset,
         _k(images=[IMAGE], labels=[LABEL], weights=[WEIGHT], input_size=20, output_size=8), "images",
         IMAGE_KINDS, in_list=True, bad_ndims=(0, 1, 4), name=r"\bimages\b"),
    Case("data.TileDataset[labels]", data.TileDataset,
         _k(images=[IMAGE], labels=[LABEL], weights=[WEIGHT], input_size=20, output_size=8), "labels",
         ("empty", "ndim", "complex", "object", "float", "range"), role="labels", in_list=True,
         name=r"\blabels\b", empty_means=SHAPE_MISMATCH),
    Case("data.TileDataset[weights]", data.TileDataset,
         _k(images=[IMAGE], labels=[LABEL], weights=[WEIGHT], input_size=20, output_size=8), "weights",
         ("nan", "empty", "ndim", "complex", "object", "range"), role="weight", in_list=True,
         name=r"\bweights\b", empty_means=SHAPE_MISMATCH),
    Case("data.prepare_data[data: images]", lambda images, labels: data.prepare_data((images, labels), 0),
         _k(images=[IMAGE], labels=[MASK]), "images", (*IMAGE_KINDS, "range"), role="int_image",
         in_list=True, name=r"training image 0"),
    Case("data.prepare_data[data: labels]", lambda images, labels: data.prepare_data((images, labels), 0),
         _k(images=[IMAGE], labels=[MASK]), "labels", MASK_KINDS, role="mask", in_list=True,
         name=r"training label 0", empty_means=SHAPE_MISMATCH),
    Case("data.weight_maps[labels]", data.weight_maps, _k(labels=[MASK], config=CONFIG), "labels",
         MASK_KINDS, role="mask", in_list=True, name=r"\blabels\b"),
    Case("data.annotated_region[mask]", data.annotated_region, _k(mask=MASK, distance=5.0), "mask",
         MASK_KINDS, role="mask"),
]

# --------------------------------------------------------------------------
# Corruptions (hypothesis strategies)
# --------------------------------------------------------------------------


def _position(draw, a: np.ndarray) -> tuple[int, ...]:
    return tuple(draw(st.integers(0, n - 1)) for n in a.shape)


def _corrupt_array(draw, a: np.ndarray, kind: str, case: Case) -> np.ndarray:
    """A corrupted copy of the valid array ``a``; the shape is kept unless the kind is about the shape."""
    if kind == "nan":
        out = a.astype(draw(st.sampled_from([np.float32, np.float64])))
        out[_position(draw, out)] = draw(st.sampled_from([np.nan, np.inf, -np.inf]))
        return out
    if kind == "empty":
        shape = list(a.shape)
        shape[draw(st.integers(0, a.ndim - 1))] = 0
        return np.zeros(shape, a.dtype)
    if kind == "ndim":
        ndim = draw(st.sampled_from(case.bad_ndims))
        if ndim < a.ndim:
            return np.array(a[(0,) * (a.ndim - ndim)])  # np.array keeps 0-D (ascontiguousarray does not)
        return np.array(a.reshape((1,) * (ndim - a.ndim) + a.shape))
    if kind == "complex":
        out = a.astype(draw(st.sampled_from([np.complex64, np.complex128])))
        if draw(st.booleans()):
            out[_position(draw, out)] += 1j
        return out
    if kind == "object":
        return a.astype(object)
    if kind == "bool":
        return a != 0
    if kind == "float":
        out = a.astype(draw(st.sampled_from([np.float16, np.float32, np.float64])))
        if draw(st.booleans()):
            out[_position(draw, out)] = 0.5
        return out
    if kind == "range":
        pos = _position(draw, a)
        if case.role == "mask":  # 0/255 masks, or labels 2, -1
            bad = draw(st.sampled_from([255, 2, 7, -1]))
            out = a.astype(np.uint8) * 255 if bad == 255 else a.astype(np.int16)
            out[pos] = bad
            return out
        if case.role in ("instances", "labels"):
            out = a.astype(draw(st.sampled_from([np.int8, np.int32, np.int64])))
            out[pos] = -draw(st.integers(1, 100))
            return out
        if case.role == "int_image":  # signed integer image with a negative value
            out = (a * 100).astype(draw(st.sampled_from([np.int16, np.int32, np.int64])))
            out[pos] = -draw(st.integers(1, 100))
            return out
        if case.role == "prob":
            out = a.astype(np.float64)
            lo = draw(st.booleans())
            out[pos] = -draw(st.floats(1e-6, 1e3)) if lo else 1.0 + draw(st.floats(1e-6, 1e3))
            return out
        if case.role == "weight":  # negative loss weights
            out = a.copy()
            out[pos] = -draw(st.floats(1e-3, 1e3))
            return out
    raise AssertionError(f"no corruption {kind!r} for role {case.role!r}")


def _bad_shape(draw, case: Case) -> Any:
    """A bad (H, W) shape argument: wrong length, a size < 1, a non-integer, NaN, a string."""
    which = draw(st.sampled_from(["length", "small", "fraction", "nan", "text"]))
    if which == "length":
        n = draw(st.sampled_from(case.bad_lengths))
        return tuple(draw(st.integers(2, 20)) for _ in range(n))
    good = [draw(st.integers(16, 40)), draw(st.integers(16, 40))]
    i = draw(st.integers(0, 1))
    if which == "small":
        good[i] = draw(st.integers(-5, 0))
    elif which == "fraction":
        good[i] = draw(st.integers(16, 40)) + draw(st.sampled_from([0.25, 0.5, 0.75]))
    elif which == "nan":
        good[i] = draw(st.sampled_from([math.nan, math.inf]))
    else:
        good[i] = "16"
    return tuple(good)


def _bad_int(draw, kind: str, case: Case) -> Any:
    if kind == "int_range":
        return draw(st.sampled_from(case.int_bad))
    return draw(st.sampled_from([2.5, 3.0, math.nan, "3", None]))


def _corrupted_call(draw, case: Case, kind: str) -> dict[str, Any]:
    kwargs = case.kwargs()
    if case.role == "shape":
        kwargs[case.arg] = _bad_shape(draw, case)
        return kwargs
    if case.role == "int":
        kwargs[case.arg] = _bad_int(draw, kind, case)
        return kwargs
    valid = kwargs[case.arg][0] if case.in_list else kwargs[case.arg]
    if isinstance(valid, torch.Tensor):
        valid = valid.numpy()
    bad = _corrupt_array(draw, np.asarray(valid), kind, case)
    if case.as_torch:
        bad = torch.from_numpy(bad)
    if case.in_list:
        kwargs[case.arg] = [bad, *kwargs[case.arg][1:]]
    else:
        kwargs[case.arg] = bad
    return kwargs


# --------------------------------------------------------------------------
# Tests
# --------------------------------------------------------------------------

PAIRS = [pytest.param(case, kind, id=f"{case.id}-{kind}") for case in CASES for kind in case.kinds]


@pytest.mark.parametrize("case", [pytest.param(c, id=c.id) for c in CASES])
def test_baseline_call_is_valid(case: Case) -> None:
    """The valid call of every row succeeds: the corruption alone makes the error."""
    kwargs = case.kwargs()
    if case.as_torch and case.role not in ("int", "shape"):
        v = kwargs[case.arg]
        kwargs[case.arg] = v if isinstance(v, torch.Tensor) else torch.from_numpy(v)
    case.func(**kwargs)


@pytest.mark.parametrize("case, kind", PAIRS)
@SETTINGS
@given(data=st.data())
def test_bad_array_is_rejected(case: Case, kind: str, data: st.DataObject) -> None:
    kwargs = _corrupted_call(data.draw, case, kind)
    with pytest.raises(ValueError, match=case.name_regex()) as err:
        case.func(**kwargs)
    message = str(err.value)
    assert re.search(case.problem(kind), message), (
        f"{case.id}: the message for a {kind!r} corruption does not name the problem "
        f"(/{case.problem(kind)}/): {message!r}"
    )


def test_every_public_array_function_is_in_the_table() -> None:
    """Guard: a new public function of the six modules must be added to the table or to the skip list."""
    covered = {c.id.split("[")[0] for c in CASES}
    skipped = {
        "model": {"UNet", "DoubleConv", "Down", "Up", "LayerShape", "output_size", "is_valid_input_size",
                  "valid_input_sizes", "nearest_valid_input_sizes", "input_size_for", "border",
                  "check_input_size", "explain_input_size", "format_trace"},
        "augment": {"ElasticField", "Transform", "Compose", "ElasticDeform", "RandomFlip", "RandomRot90",
                    "RandomRotation", "RandomShift", "GrayValue", "paper_augmentation", "flips_augmentation",
                    # the interpolation inside elastic_displacement (whose inputs are checked), shown in ch. 2
                    "dense_field",
                    # names, not arrays (tests/test_augment.py: an unknown name is an error)
                    "elastic_augmentation", "AUGMENTATIONS", "augmentation"},
        # the formula of Eq. 2's second term and the distance transform inside border_weight_map
        # (whose inputs are checked); tests/test_weights.py and chapter 3
        "weights": {"border_cutoff", "border_term", "two_nearest_sq",
                    # K-class labels: bad values are named (tests/test_classes.py)
                    "class_label_weight_map"},
        "inference": {"TilePlan", "DIHEDRAL", "plan_tiles", "min_tile_size", "tile_memory_bytes",
                      "memory_budget", "tile_boxes", "DEFAULT_MIN_SIZE",
                      # a size and a cache, not arrays (tests/test_speed.py)
                      "tile_seconds", "clear_tile_timings",
                      # the size rule of a predictor (tests/test_inference.py checks its fields)
                      "SizeRule", "size_rule",
                      # a model in, a function out (tests/test_since2015.py)
                      "objects_from"},
        "metrics": {"PixelScores", "RandScores", "MismatchType", "WarpingResult", "SweepResult",
                    "TouchingMerges", "CHALLENGE_THRESHOLDS", "CHALLENGE_RADIUS", "SWEEP_METRICS",
                    "MISMATCH_COLORS", "simple_point_table", "summary_table", "DSB_THRESHOLDS",
                    "InstanceMatch", "COURSE_METRICS",
                    # the registry: names, not arrays (tests/test_metrics.py registers a toy metric)
                    "METRICS", "Metric", "Thresholded", "register_metric", "get_metric", "sweep_metric_names",
                    # the former names of metrics and their renaming: keys, not arrays (tests/test_metrics.py)
                    "FORMER_NAMES", "METRIC_KEY_SUFFIXES", "current_metric_key",
                    # K-class labels: bad values are named (tests/test_classes.py)
                    "class_iou"},
        "data": {"DATA_ENV_VAR", "data_dir", "ISBI2012_COMMIT", "ISBI2012_BASE_URL", "ISBI2012_SHA256",
                 "fetch_isbi2012", "load_isbi2012", "load_isbi2012_test_images", "DSB2018_REPOSITORY",
                 "DSB2018_COMMIT", "dsb2018_ids",
                 "DSB2018_PARTS", "dsb2018_split",  # ids (strings): tests/test_data.py
                 "load_dsb2018", "CTC_WEBSITE", "CTC_TABLE2_DATASETS", "CTC_PERCENTILES", "load_ctc",
                 "TrainData", "make_tile_dataset",
                 # folders and downloads: paths, not arrays (tests/test_folder.py, tests/test_ctc.py)
                 "fetch_ctc", "load_folder", "folder_train_data",
                 # the verified DSB 2018 download: files, not arrays (tests/test_dsb_download.py)
                 "DSB2018_ARCHIVE_URL", "DSB2018_MANIFEST_SHA256", "fetch_dsb2018", "verify_dsb2018",
                 # the data contract and registry: checked parts and names (tests/test_samples.py)
                 "Samples", "Split", "DataSet", "DATASETS", "get_dataset", "load_samples", "make_split"},
    }
    mods = {"model": model, "augment": augment, "weights": weights, "inference": inference,
            "metrics": metrics, "data": data}
    missing = [f"{m}.{n}" for m, mod in mods.items() for n in mod.__all__
               if f"{m}.{n}" not in covered and n not in skipped[m]]
    assert not missing, f"public names neither tested nor skipped: {missing}"


_LOADERS = [
    pytest.param(lambda root: data.load_isbi2012(root), id="load_isbi2012"),
    pytest.param(lambda root: data.load_isbi2012_test_images(root), id="load_isbi2012_test_images"),
    pytest.param(lambda root: data.dsb2018_ids(root), id="dsb2018_ids"),
    pytest.param(lambda root: data.load_dsb2018(root), id="load_dsb2018"),
    pytest.param(lambda root: data.load_ctc("PhC-C2DH-U373", "01", root=root), id="load_ctc"),
]


@pytest.mark.parametrize("load", _LOADERS)
@settings(max_examples=5, deadline=None)
@given(name=st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789_-", min_size=1, max_size=12))
def test_missing_data_folder_is_rejected(load: Callable, name: str, tmp_path_factory) -> None:
    """A data directory without the data set: FileNotFoundError naming the folder looked in."""
    root = tmp_path_factory.mktemp("data") / name
    with pytest.raises(FileNotFoundError) as err:
        load(root)
    assert str(root.resolve()) in str(err.value)
