"""Pixel-wise loss weights of the U-Net paper (Ronneberger et al. 2015, §3, Eq. 2, Fig. 3).

The loss of Eq. 1 weights the cross-entropy of every pixel ``x`` by

    w(x) = w_c(x) + w0 · exp( −(d1(x) + d2(x))² / (2σ²) )            (Eq. 2)

where ``w_c`` balances the class frequencies, ``d1`` is the distance to the
nearest cell and ``d2`` the distance to the second-nearest cell (paper: w0 = 10,
σ ≈ 5 pixels). The second term is large only in the narrow background gaps
between two cells, so the network is pushed hardest to get exactly those thin
separation borders right. This module computes, from an instance label image
(``(H, W)`` integers, 0 = background, every cell its own id):

- :func:`separation_mask`: the binary training target of Fig. 3c, in which
  touching cells are separated by background pixels (morphology, §3);
- :func:`balanced_class_weights` and :func:`class_weight_map`: ``w_c``;
- :func:`border_weight_map`: the full ``w`` of Eq. 2 (Fig. 3d), fast;
- :func:`border_weight_map_direct`: the slow literal definition (one Euclidean
  distance transform per cell), kept as the reference for the tests and the
  benchmark;
- :func:`instances_from_binary` and :func:`touching_pairs`: helpers to get
  instances from a binary label (ISBI 2012) and to find touching cells.

Conventions shared by every function here (the paper does not fix them):

- Distances are Euclidean, in pixels, between pixel centres. ``d_k(x)`` is the
  distance from ``x`` to the *nearest pixel* of instance ``k`` (0 inside ``k``),
  exactly what ``scipy.ndimage.distance_transform_edt(instances != k)`` gives.
- Only pixels inside the image count: no mirroring or padding at the image
  edge, so a cell cut by the edge is only the part that is visible.
- The border term is added at the pixels that are *background of the target*
  (``separation_mask(instances) == 0``): the gaps between cells and the
  separation borders carved out of touching cells (as in Fig. 3d, where cells
  carry ``w_c`` only). With fewer than two instances it is zero.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Literal

import numpy as np
from scipy import ndimage as ndi

from ._checks import check_binary, check_class_labels, check_instances, check_positive

__all__ = [
    "separation_mask",
    "contact_pixels",
    "touching_pairs",
    "common_border",
    "balanced_class_weights",
    "class_weight_map",
    "class_label_weight_map",
    "border_cutoff",
    "border_weight_map",
    "border_weight_map_direct",
    "border_term",
    "two_nearest_sq",
    "instances_from_binary",
]

ClassWeights = Literal["balanced"] | tuple[float, float] | Sequence[float]

#: The 4 offsets ``(dy, dx)`` that, with their opposites, make the 8-neighbourhood.
_HALF_NEIGHBOURHOOD = ((0, 1), (1, 0), (1, 1), (1, -1))

#: Default truncation of the border term (see :func:`border_cutoff`).
DEFAULT_TOL = 1e-6


# -- Separation borders (Fig. 3c) ----------------------------------------------


def _shifted(dy: int, dx: int, h: int, w: int) -> tuple[tuple[slice, slice], tuple[slice, slice]]:
    """Slices ``(a, b)`` such that ``x[b]`` is ``x[a]`` moved by ``(dy, dx)``."""
    ya, yb = (slice(0, h - dy), slice(dy, h)) if dy >= 0 else (slice(-dy, h), slice(0, h + dy))
    xa, xb = (slice(0, w - dx), slice(dx, w)) if dx >= 0 else (slice(-dx, w), slice(0, w + dx))
    return (ya, xa), (yb, xb)


def contact_pixels(instances: np.ndarray) -> np.ndarray:
    """Bool ``(H, W)``: the pixels of an instance with an 8-neighbour of a different instance.

    ``instances`` is an ``(H, W)`` integer id image (0 = background); :func:`separation_mask`
    moves exactly these pixels to the background (Fig. 3c).
    """
    instances = check_instances(instances)
    h, w = instances.shape
    contact = np.zeros((h, w), dtype=bool)
    for dy, dx in _HALF_NEIGHBOURHOOD:
        a, b = _shifted(dy, dx, h, w)
        p, q = instances[a], instances[b]
        # Both sides of a contact are marked, so the rule is symmetric in the ids.
        touching = (p != q) & (p != 0) & (q != 0)
        contact[a] |= touching
        contact[b] |= touching
    return contact


def separation_mask(instances: np.ndarray) -> np.ndarray:
    """Binary training target with separation borders between touching cells (Fig. 3c).

    A pixel is foreground (1) when it belongs to an instance and none of its
    8 neighbours (the 3×3 neighbourhood) belongs to a *different* instance;
    every other pixel is background (0). This is a morphological operation on
    the id image (the paper, §3, computes the border "using morphological
    operations"): a 3×3 erosion of each instance restricted to where another
    instance is near.

    Consequences of the rule, all tested:

    - two instances that share an edge get a gap of **2 pixels** (each loses
      its one-pixel rim facing the other); a contact only at a corner loses
      both corner pixels; a pixel where three cells meet is removed too;
    - afterwards no two instances are 8-adjacent, so even 8-connected
      labelling of the mask keeps them apart;
    - instances that do not touch (8-connectivity) are unchanged, and the
      image edge is not a border (pixels outside the image are ignored).

    Args:
        instances: ``(H, W)`` integer instance ids, 0 = background.

    Returns:
        ``(H, W)`` uint8, 1 = foreground (cell), 0 = background (gap or border).

    Raises:
        ValueError: if ``instances`` is not a non-empty 2-D array of
            non-negative integers (a bool mask is refused: it has no ids).
    """
    inst = check_instances(instances)
    return ((inst != 0) & ~contact_pixels(inst)).astype(np.uint8)


def touching_pairs(instances: np.ndarray) -> np.ndarray:
    """Pairs of instance ids that touch (are 8-adjacent), as an ``(K, 2)`` array.

    Each pair ``(i, j)`` has ``i < j`` and appears once; rows are sorted.
    Useful to find images with many touching cells and to check that
    :func:`separation_mask` removed every contact.

    Raises:
        ValueError: on the same inputs as :func:`separation_mask`.
    """
    inst = check_instances(instances)
    h, w = inst.shape
    pairs = [np.empty((0, 2), dtype=np.int64)]
    for dy, dx in _HALF_NEIGHBOURHOOD:
        a, b = _shifted(dy, dx, h, w)
        p, q = inst[a], inst[b]
        touching = (p != q) & (p != 0) & (q != 0)
        if touching.any():
            pp, qq = p[touching].astype(np.int64), q[touching].astype(np.int64)
            pairs.append(np.stack([np.minimum(pp, qq), np.maximum(pp, qq)], axis=1))
    return np.unique(np.concatenate(pairs), axis=0)


def common_border(instances: np.ndarray, a: int, b: int) -> np.ndarray:
    """Boolean mask ``(H, W)`` of the contact between instances ``a`` and ``b``.

    The pixels of ``a`` that are 8-adjacent to ``b`` and of ``b`` that are 8-adjacent to
    ``a``: exactly what :func:`separation_mask` turns into background between the two (§3).
    Empty when they do not touch.

    Raises:
        ValueError: on the same inputs as :func:`separation_mask`, or if ``a == b``.
    """
    inst = check_instances(instances)
    if a == b:
        raise ValueError(f"common_border needs two different instance ids, got {a} twice")
    near = np.ones((3, 3), dtype=bool)
    in_a, in_b = inst == a, inst == b
    return (in_a & ndi.binary_dilation(in_b, near)) | (in_b & ndi.binary_dilation(in_a, near))


def instances_from_binary(label: np.ndarray, connectivity: int = 1) -> np.ndarray:
    """Instance ids from a binary label: every connected foreground region is one instance.

    For the ISBI 2012 labels (1 = cell, 0 = membrane) this turns the cells
    into instances, so that :func:`border_weight_map` can weight the thin
    membranes between them.

    Args:
        label: ``(H, W)`` bool or integer 0/1 image, 1 = foreground.
        connectivity: 1 for 4-connected regions (edge neighbours, the
            convention of the ISBI Rand error), 2 for 8-connected ones. With
            4-connectivity two regions may still touch at a corner;
            :func:`separation_mask` then removes those two corner pixels.

    Returns:
        ``(H, W)`` int32, 0 = background, regions numbered 1..n in raster order.

    Raises:
        ValueError: if ``label`` is not a non-empty 2-D array of 0/1 values or
            ``connectivity`` is not 1 or 2.
    """
    fg = check_binary(label, "label")
    if connectivity not in (1, 2) or isinstance(connectivity, bool):
        raise ValueError(f"connectivity must be 1 (4-connected) or 2 (8-connected), got {connectivity!r}")
    structure = ndi.generate_binary_structure(2, connectivity)
    out = np.zeros(fg.shape, dtype=np.int32)
    ndi.label(fg, structure=structure, output=out)
    return out


# -- Class balancing w_c -------------------------------------------------------


def balanced_class_weights(mask: np.ndarray) -> tuple[float, float]:
    """Class-balancing weights ``(w_bg, w_fg)`` of a binary target (the ``w_c`` of Eq. 2).

    The paper only says that ``w_c`` is "the weight map to balance the class
    frequencies". We use inverse class frequency, normalised so that the mean
    weight over the image is 1::

        w_c = N / (C · N_c)

    with ``N`` the number of pixels, ``N_c`` the number of pixels of class
    ``c`` and ``C`` the number of classes present (2, or 1 for an image of a
    single class, which then gets weight 1). Each class thus carries half of
    the total weight, and the weighted loss keeps the scale of the unweighted
    one. Example: 75 % background gives ``w_bg = 2/3``, ``w_fg = 2``.

    Args:
        mask: ``(H, W)`` binary target, bool or integer 0/1, 1 = foreground;
            normally :func:`separation_mask` of the instances.

    Returns:
        ``(w_bg, w_fg)`` as Python floats. An absent class gets weight 1.0
        (no pixel uses it).

    Raises:
        ValueError: if ``mask`` is not a non-empty 2-D array of 0/1 values.
    """
    fg = check_binary(mask)
    n = fg.size
    n_fg = int(np.count_nonzero(fg))
    n_bg = n - n_fg
    if n_fg == 0 or n_bg == 0:
        return 1.0, 1.0
    return n / (2.0 * n_bg), n / (2.0 * n_fg)


def _resolve_class_weights(mask: np.ndarray, class_weights: ClassWeights) -> tuple[float, float]:
    """``(w_bg, w_fg)`` from ``"balanced"`` or an explicit pair, validated."""
    if isinstance(class_weights, str):
        if class_weights != "balanced":
            raise ValueError(
                f'class_weights must be "balanced" or a pair (w_bg, w_fg), got {class_weights!r}'
            )
        return balanced_class_weights(mask)
    try:
        pair = tuple(class_weights)
    except TypeError:
        raise ValueError(
            f'class_weights must be "balanced" or a pair (w_bg, w_fg), got {class_weights!r}'
        ) from None
    if len(pair) != 2:
        raise ValueError(f"class_weights must be a pair (w_bg, w_fg), got {len(pair)} values")
    w_bg = check_positive(pair[0], "class_weights[0] (background)", allow_zero=True)
    w_fg = check_positive(pair[1], "class_weights[1] (foreground)", allow_zero=True)
    return w_bg, w_fg


def class_weight_map(mask: np.ndarray, class_weights: ClassWeights = "balanced") -> np.ndarray:
    """The map ``w_c(x)`` of Eq. 2: the weight of the class of every pixel.

    Args:
        mask: ``(H, W)`` binary target, bool or integer 0/1, 1 = foreground.
        class_weights: ``"balanced"`` (:func:`balanced_class_weights` of
            ``mask``) or an explicit pair ``(w_bg, w_fg)`` of finite weights
            ``>= 0``; ``(1.0, 1.0)`` gives all ones (no class balancing).

    Returns:
        ``(H, W)`` float32.

    Raises:
        ValueError: on a bad mask or bad ``class_weights``.
    """
    fg = check_binary(mask)
    w_bg, w_fg = _resolve_class_weights(fg, class_weights)
    return np.where(fg, np.float32(w_fg), np.float32(w_bg))


def class_label_weight_map(labels: np.ndarray, num_classes: int, balanced: bool = True) -> np.ndarray:
    """``w_c(x)`` of Eq. 2 for ``K`` classes: the inverse frequency of each pixel's class.

    ``w_c = N / (C · N_c)`` as :func:`balanced_class_weights` (``C`` the classes present),
    so the mean weight over the image is 1 and each present class carries the same total
    weight; ``balanced=False`` gives all ones. For ``K = 2`` this is :func:`class_weight_map`.

    Args:
        labels: ``(H, W)`` integer class labels ``0..num_classes − 1``.
        num_classes: ``K >= 2``.

    Returns:
        ``(H, W)`` float32.
    """
    a = check_class_labels(labels, num_classes)
    if not balanced:
        return np.ones(a.shape, np.float32)
    counts = np.bincount(a.ravel(), minlength=num_classes).astype(np.float64)
    present = int(np.count_nonzero(counts))
    w = np.where(counts > 0, a.size / (present * np.maximum(counts, 1)), 1.0)
    return w[a].astype(np.float32)


# -- The border term of Eq. 2 (Fig. 3d) ----------------------------------------


def border_cutoff(w0: float = 10.0, sigma: float = 5.0, tol: float = DEFAULT_TOL) -> float:
    """Distance sum ``D`` (pixels) beyond which the border term is below ``tol``.

    ``w0 · exp(−s² / (2σ²)) < tol``  ⇔  ``s > D = σ · sqrt(2 · ln(w0 / tol))``.
    For the paper's ``w0 = 10, σ = 5`` and ``tol = 1e-6``: ``D ≈ 28.4`` px.
    Returns 0 when ``w0 <= tol`` (the whole term is negligible).

    Raises:
        ValueError: if ``sigma`` or ``tol`` is not finite and > 0, or ``w0``
            not finite and >= 0.
    """
    w0 = check_positive(w0, "w0", allow_zero=True)
    sigma = check_positive(sigma, "sigma")
    tol = check_positive(tol, "tol")
    if w0 <= tol:
        return 0.0
    return sigma * math.sqrt(2.0 * math.log(w0 / tol))


def _compact_ids(inst: np.ndarray) -> np.ndarray:
    """Instance ids renumbered 1..n (0 stays 0) when the largest id is >= 2**15.

    Small ids make small packed keys in :func:`two_nearest_sq`; only the
    equality of ids matters there, so renumbering changes nothing else.
    """
    top = int(inst.max())
    if top < 2**15:
        return inst.astype(np.int32, copy=False)
    if top <= 4 * inst.size + 2**16:
        present = np.bincount(inst.ravel().astype(np.intp, copy=False), minlength=top + 1) > 0
        present[0] = False
        lut = np.cumsum(present, dtype=np.int64)
        lut[~present] = 0
        return lut[inst]
    _, inverse = np.unique(inst, return_inverse=True)
    has_bg = bool((inst == 0).any())  # np.unique puts 0 first when present
    return inverse.reshape(inst.shape).astype(np.int64) + (0 if has_bg else 1)


def _int_dtype(largest: int) -> type[np.signedinteger]:
    """The smallest of int16/int32/int64 that holds ``±largest``."""
    for dtype in (np.int16, np.int32):
        if largest <= np.iinfo(dtype).max:
            return dtype
    return np.int64


def _row_scan_left(
    ids: np.ndarray, far: int, id_bits: int, key_dtype: type[np.signedinteger]
) -> tuple[np.ndarray, ...]:
    """Nearest instance pixel at or left of every pixel, and the nearest of another id.

    Returns ``(dist1, id1, dist2, id2)``: column distances (capped at ``far``)
    and ids (0 = none) of the nearest instance pixel in the same row at or
    left of each pixel, and of the nearest one further left whose id differs
    from ``id1``. A key ``column << id_bits | id`` lets one running maximum
    carry both the column and the id of the latest instance pixel.
    """
    h, w = ids.shape
    id_mask = key_dtype((1 << id_bits) - 1)
    # "No pixel": column -(far + 1), id 0, below every real key, decodes to a
    # distance >= far + 1 that the cap turns into far.
    none = key_dtype(-((far + 1) << id_bits))
    cols = np.arange(w, dtype=key_dtype)
    key = (cols << id_bits) | ids.astype(key_dtype)
    np.copyto(key, none, where=ids == 0)
    last = np.maximum.accumulate(key, axis=1)
    before = np.empty_like(last)
    before[:, 0] = none
    before[:, 1:] = last[:, :-1]
    # A "run start" is an instance pixel whose previous instance pixel in the
    # row has another id (or none); the pixel before the latest run start is
    # then the nearest pixel of a different id, as all pixels after it share one id.
    run_start = (before & id_mask) != (key & id_mask)
    run_start &= ids != 0
    other = np.full_like(before, none)
    np.copyto(other, before, where=run_start)
    last_other = np.maximum.accumulate(other, axis=1)
    dist1 = np.minimum(cols - (last >> id_bits), far)
    dist2 = np.minimum(cols - (last_other >> id_bits), far)
    return dist1, last & id_mask, dist2, last_other & id_mask


def _row_two_nearest(
    ids: np.ndarray, far: int, id_bits: int, key_dtype: type[np.signedinteger]
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per row: distance and id of the nearest instance pixel, and the nearest of another id.

    Returns ``(g1, id1, g2)``: ``g1`` the column distance to the nearest
    instance pixel in the same row, ``id1`` its id (0 if none), ``g2`` the
    column distance to the nearest pixel in the row whose id is not ``id1``.
    Distances are capped at ``far``.
    """
    dl1, il1, dl2, il2 = _row_scan_left(ids, far, id_bits, key_dtype)
    dr1, ir1, dr2, ir2 = (
        a[:, ::-1] for a in _row_scan_left(ids[:, ::-1], far, id_bits, key_dtype)
    )
    left_first = dl1 <= dr1
    g1 = np.minimum(dl1, dr1)
    id1 = ir1.copy()
    np.copyto(id1, il1, where=left_first)
    # Nearest pixel of an id other than id1 on each side: the nearest one if
    # its id differs, else the nearest of another id than that one.
    left_other = dl2.copy()
    np.copyto(left_other, dl1, where=il1 != id1)
    right_other = dr2.copy()
    np.copyto(right_other, dr1, where=ir1 != id1)
    g2 = np.minimum(left_other, right_other)
    return g1, id1, g2


def two_nearest_sq(ids: np.ndarray, cutoff: float) -> tuple[np.ndarray, np.ndarray]:
    """Squared distances ``(d1², d2²)`` to the nearest and second-nearest instance.

    Exact wherever ``d1 + d2 <= cutoff``; elsewhere both returned values are
    ``>=`` the true ones and ``d1 + d2 > cutoff`` still holds, which is all
    the truncated border term needs.

    A separable exact Euclidean distance transform (as in Felzenszwalb &
    Huttenlocher, 2012) extended to two *different* instances: along each row
    keep the nearest instance pixel and the nearest one of another id; then
    down the columns ``d² = min over dy of dy² + g²(y + dy)``, where the
    column pass for ``d2`` takes the row's nearest pixel unless it belongs to
    the pixel's own nearest instance, and then the row's nearest of another
    id. This is exact: the nearest pixel of an instance other than ``k``
    lies, in its own row, at the row distance of the nearest pixel whose id
    is not ``k``. Only ``|dy| <= cutoff`` can matter, so the column pass is a
    minimum over ~2·cutoff shifted copies of the image: O(H·W·cutoff) time,
    O(H·W) memory, independent of the number of instances.
    """
    h, w = ids.shape
    r2 = min(math.ceil(cutoff), h - 1)  # d2 <= cutoff needs |dy| <= cutoff
    r1 = min(math.ceil(cutoff / 2.0), h - 1)  # d1 <= d2 and d1 + d2 <= cutoff: d1 <= cutoff/2
    far = math.ceil(cutoff) + 1  # a capped row distance already exceeds the cutoff
    id_bits = max(int(ids.max()).bit_length(), 1)
    key_dtype = _int_dtype(max(w, far + 1) << id_bits)
    g1, id1, g2 = _row_two_nearest(ids, far, id_bits, key_dtype)

    # Squared distances need their own dtype: the keys' dtype (int16 for small
    # images) holds a distance, not its square (far > 181 px overflows int16).
    # Column candidates reach g² + dy² <= 2·far², so 3·far² leaves headroom.
    sq_dtype = _int_dtype(3 * far * far)
    id_dtype = _int_dtype(int(ids.max()))
    g1 = g1.astype(sq_dtype)
    g2 = g2.astype(sq_dtype)
    s1 = g1 * g1
    extra = g2 * g2 - s1  # d2 candidate minus d1 candidate, >= 0
    id1 = id1.astype(id_dtype)

    # Column pass for d1 and the id of the nearest instance, packed into one
    # key (d² << id_bits | id) so that a single minimum updates both; ties go
    # to the smaller id.
    packed_dtype = _int_dtype((3 * far * far) << id_bits)
    packed = (s1.astype(packed_dtype) << id_bits) | id1.astype(packed_dtype)
    best = packed.copy()
    for dy in range(1, r1 + 1):
        step = packed_dtype(dy * dy << id_bits)
        for dst, src in ((slice(0, h - dy), slice(dy, h)), (slice(dy, h), slice(0, h - dy))):
            np.minimum(best[dst], packed[src] + step, out=best[dst])
    nearest = (best & packed_dtype((1 << id_bits) - 1)).astype(id_dtype)
    d1_sq = best >> id_bits

    # Column pass for d2: the row candidate of an id other than the pixel's nearest.
    d2_sq = s1 + extra * (id1 == nearest)
    for dy in range(1, r2 + 1):
        step = sq_dtype(dy * dy)
        for dst, src in ((slice(0, h - dy), slice(dy, h)), (slice(dy, h), slice(0, h - dy))):
            cand = s1[src] + step
            cand += extra[src] * (id1[src] == nearest[dst])  # faster than where=
            np.minimum(d2_sq[dst], cand, out=d2_sq[dst])
    return d1_sq, d2_sq


def _check_weight_args(w0: float, sigma: float, tol: float) -> tuple[float, float, float]:
    """Validated ``(w0, sigma, tol)``: w0 >= 0, sigma > 0, tol > 0, all finite."""
    return (
        check_positive(w0, "w0", allow_zero=True),
        check_positive(sigma, "sigma"),
        check_positive(tol, "tol"),
    )


def _has_two_instances(inst: np.ndarray) -> bool:
    """Whether ``inst`` holds at least two different non-zero ids."""
    nonzero = inst[inst != 0]
    return nonzero.size > 0 and bool((nonzero != nonzero[0]).any())


def border_term(d1: np.ndarray, d2: np.ndarray, w0: float, sigma: float) -> np.ndarray:
    """The second term of Eq. 2 from the distances ``d1``, ``d2`` (pixels, float64)."""
    return w0 * np.exp(-((d1 + d2) ** 2) / (2.0 * sigma * sigma))


def border_weight_map(
    instances: np.ndarray,
    *,
    w0: float = 10.0,
    sigma: float = 5.0,
    class_weights: ClassWeights = "balanced",
    tol: float = DEFAULT_TOL,
) -> np.ndarray:
    """The pixel-wise loss weight map of Eq. 2 (Fig. 3d).

    ``w(x) = w_c(x) + w0 · exp(−(d1(x) + d2(x))² / (2σ²))`` where

    - ``w_c`` is :func:`class_weight_map` of the target
      ``separation_mask(instances)`` (the mask *with* separation borders, the
      thing the network is trained to output);
    - ``d1(x)``, ``d2(x)`` are the Euclidean distances (pixels) from ``x`` to
      the nearest pixel of the nearest and of the second-nearest instance
      (two different instances; 0 inside an instance), measured inside the
      image only (no mirroring at the edge);
    - the exponential term is added only at background pixels of the target
      (gaps and separation borders), and is zero with fewer than two instances.

    Terms smaller than ``tol`` are dropped: only pixels with
    ``d1 + d2 <= D = border_cutoff(w0, sigma, tol)`` (28.4 px for the paper's
    values) are computed exactly, so the result differs from the literal
    definition (:func:`border_weight_map_direct`) by less than ``tol`` plus
    float32 rounding. Time O(H·W·D) and memory O(H·W), independent of the
    number of instances (see ``two_nearest_sq``).

    Args:
        instances: ``(H, W)`` integer instance ids, 0 = background. Ids need
            not be consecutive.
        w0: weight of the border term (paper: 10); ``0`` keeps only ``w_c``.
        sigma: width σ of the border term, in pixels (paper: ≈ 5).
        class_weights: ``"balanced"`` (see :func:`balanced_class_weights`) or
            an explicit pair ``(w_bg, w_fg)``; ``(1.0, 1.0)`` makes ``w_c = 1``.
        tol: truncation of the border term (absolute weight), > 0.

    Returns:
        ``(H, W)`` float32 weights, ``>= min(w_bg, w_fg)``.

    Raises:
        ValueError: if ``instances`` is not a non-empty 2-D array of
            non-negative integers, ``w0`` is not finite and ``>= 0``,
            ``sigma`` or ``tol`` is not finite and ``> 0``, or
            ``class_weights`` is neither "balanced" nor a pair of finite
            weights ``>= 0``.
    """
    inst = check_instances(instances)
    w0, sigma, tol = _check_weight_args(w0, sigma, tol)
    target = separation_mask(inst)
    weights = class_weight_map(target, class_weights)
    cutoff = border_cutoff(w0, sigma, tol)
    if cutoff == 0.0 or not _has_two_instances(inst):
        return weights
    d1_sq, d2_sq = two_nearest_sq(_compact_ids(inst), cutoff)
    bg = target == 0
    d1 = np.sqrt(d1_sq[bg].astype(np.float64))
    d2 = np.sqrt(d2_sq[bg].astype(np.float64))
    term = border_term(d1, d2, w0, sigma)
    weights[bg] = (weights[bg] + term).astype(np.float32)
    return weights


def border_weight_map_direct(
    instances: np.ndarray,
    *,
    w0: float = 10.0,
    sigma: float = 5.0,
    class_weights: ClassWeights = "balanced",
) -> np.ndarray:
    """Eq. 2 computed literally: the slow reference for the tests and the benchmark.

    One full-image Euclidean distance transform per instance,
    ``distance_transform_edt(instances != k)``, stacked into an
    ``(n_instances, H, W)`` float64 array; ``d1`` and ``d2`` are the two
    smallest values per pixel. Same conventions and arguments as
    :func:`border_weight_map` (no truncation). Time and memory grow as
    ``n_instances · H · W`` (400 cells on 512×512: 0.8 GB), which is why
    :func:`border_weight_map` exists.
    """
    inst = check_instances(instances)
    w0 = check_positive(w0, "w0", allow_zero=True)
    sigma = check_positive(sigma, "sigma")
    target = separation_mask(inst)
    weights = class_weight_map(target, class_weights)
    ids = np.unique(inst)
    ids = ids[ids != 0]
    if ids.size < 2:
        return weights
    dist = np.stack([ndi.distance_transform_edt(inst != k) for k in ids])
    two = np.partition(dist, 1, axis=0)[:2]
    bg = target == 0
    term = border_term(two[0][bg], two[1][bg], w0, sigma)
    weights[bg] = (weights[bg] + term).astype(np.float32)
    return weights
