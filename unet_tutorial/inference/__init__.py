"""Overlap-tile inference: segment images of any size with the U-Net (§1, §2, Fig. 2, §4).

The unpadded ("valid") U-Net turns an input tile of ``s`` pixels into an output
map of ``o = s − 2·border`` pixels (572 → 388, border 92, for the paper's
network). An image of any size is segmented tile by tile (Fig. 2): the output
tiles cover the image, each input tile is its output tile plus ``border``
pixels of context on every side, and the context missing beyond the image
border is extrapolated by **mirroring** the image (§1).

Exactness. The valid U-Net is translation-equivariant only for shifts by a
multiple of ``P = 2**depth`` pixels (the pooling grid moves with the tile).
The output tile size is not such a multiple (``o ≡ 4 mod 16`` for depth 4),
so :func:`plan_tiles` steps the tiles by ``o`` rounded down to a multiple of
``P`` (388 − 4 = 384 px: a 4-px overlap whose values agree) and pads the far
side of the image with more mirrored pixels so the last tile fits; the
result is cropped back to the image. All context comes from **one** mirror
padding of the whole image, so the tiled prediction equals a single forward
pass over the whole mirror-padded image (up to float rounding, ~1e-6), for
every tile size whose output is at least ``P`` pixels.

"Same"-padded networks (zero-padded convolutions, border 0) see zeros at every
tile edge, so plain tiles show seams. With ``blend=True`` tiles overlap by a
fraction ``overlap`` of their size (rounded to a multiple of ``P``) and are
averaged with a separable trapezoid window (weight 1 in the middle, ramping
linearly to ~0 over the overlap at every edge); the ramps of neighbouring
tiles sum to exactly 1, and the sum of weights divides the result anyway.
The image is mirror-padded by the overlap width, so image-border pixels get
mirrored context rather than zeros too. Blending makes the seams much fainter
(about 5x smaller errors against a whole-image pass in the tests) but cannot
remove them exactly: a tile's zero-padded edge still contributes with a small
weight. Only the valid network is seamless by construction. ``blend=False``
gives plain, non-overlapping tiles (to show the seams).

Test-time augmentation (``tta=True``) averages the class probabilities over the
8 flips/rotations by 90° of the input — the identity plus the paper's "7
rotated versions" (§4, EM segmentation) — each mapped back by the inverse
transform before averaging.

The command line ``python -m unet_tutorial predict`` (see
:mod:`unet_tutorial.predict`) segments image files with a saved model.

For teaching: :func:`forward_probabilities` runs one untiled forward pass (the
reference tiling must reproduce); :func:`tile_boxes` (and
:func:`unet_tutorial.plotting.draw_tile_plan`) draw Fig. 2 from a :class:`TilePlan`;
the per-pixel sliding-window classifier of Ciresan et al. (2012) that the paper
replaces (§1) is in :mod:`unet_tutorial.baseline`.

Tile size. Without ``tile_size``, :func:`predict_tiled` takes the fastest size on
this machine: :func:`tile_size_candidates` lists the sizes that fit in memory and
cost at most 1.5× the least compute, :func:`fastest_tile_size` times one forward
pass of each (once per architecture, device and precision in a process) and keeps
the least *tiles × seconds*. :func:`predict_tiled_many` predicts many images with
their tiles batched together (many small images, e.g. DSB 2018, share forward passes).

Prediction over a predictor. :func:`predict_tiled` takes any predictor: a
:class:`~unet_tutorial.model.UNet`, or any callable on a batch of tiles with its
:class:`SizeRule` (valid tile sizes, border, output size; :func:`size_rule` reads
it from a U-Net-like module). :class:`.onnx_backend.OnnxPredictor` is such a
callable around an exported ONNX file.

Modules: :mod:`.tiling` (where the tiles go, mirroring, the tile sizes that fit
in memory), :mod:`.speed` (the timed choice of the tile size), :mod:`.modes`
(eval mode and channels-last, restored afterwards), :mod:`.tiled` (prediction:
tiles, test-time augmentation, stitching) and :mod:`.instances` (separated
objects from the probabilities, Fig. 3).
"""

from __future__ import annotations

from .instances import DEFAULT_MIN_SIZE, fill_gaps, instances_from_probability, objects_from, predict_instances
from .speed import clear_tile_timings, fastest_tile_size, tile_seconds
from .tiled import DIHEDRAL, dihedral, dihedral_inverse, forward_probabilities, predict_tiled, predict_tiled_many, segment
from .tiling import (
    SizeRule,
    size_rule,
    TilePlan,
    choose_tile_size,
    memory_budget,
    tile_size_candidates,
    min_tile_size,
    mirror_pad,
    plan_tiles,
    tile_boxes,
    tile_memory_bytes,
)

__all__ = [
    "SizeRule",
    "size_rule",
    "mirror_pad",
    "TilePlan",
    "plan_tiles",
    "min_tile_size",
    "tile_memory_bytes",
    "memory_budget",
    "choose_tile_size",
    "tile_size_candidates",
    "fastest_tile_size",
    "tile_seconds",
    "clear_tile_timings",
    "DIHEDRAL",
    "dihedral",
    "dihedral_inverse",
    "predict_tiled",
    "predict_tiled_many",
    "segment",
    "tile_boxes",
    "forward_probabilities",
    "DEFAULT_MIN_SIZE",
    "instances_from_probability",
    "fill_gaps",
    "objects_from",
    "predict_instances",
]
