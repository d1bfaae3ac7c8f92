"""Exercises of the chapters: show the package's code, then check the reader's own version.

A chapter shows a piece of the package with :func:`show_source` (a highlighted
block in the book), then asks the reader to write it in a cell. A checker runs the
reader's function and the package's on the same random inputs, drawn with fixed
seeds (the report is the same on every run), and says in plain words what differs.
A checker never raises because of the reader's code: an exception, the
``NotImplementedError`` of an unfinished stub included, becomes a message of a
failed :class:`CheckReport`.

The checkers and the chapters that use them:

- :func:`check_double_conv` (chapter 1): two unpadded 3×3 convolutions + ReLU (§2).
- :func:`check_crop_and_concat` (chapter 1): the skip connection of Fig. 1 (§2).
- :func:`check_displacement_field` (chapter 2): the bicubic elastic field (§3.1).
- :func:`check_weight_map` (chapter 3): the weight map of Eq. 2 (§3, Fig. 3d).
- :func:`check_weighted_cross_entropy` (chapter 4): the energy of Eq. 1 (§3).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from scipy import ndimage as ndi
from torch import nn

from ._exercise_kit import (
    FAILED_MARK,
    CheckReport,
    SourceCode,
    close_enough,
    is_array,
    kind_of,
    as_numpy,
    CheckRun,
    run_check,
    size_of,
    show_source,
)
from .augment.elastic import elastic_displacement
from .losses import weighted_cross_entropy
from .model import DoubleConv, center_crop
from .weights import border_weight_map_direct, class_weight_map, separation_mask

__all__ = [
    "SourceCode",
    "show_source",
    "CheckReport",
    "check_double_conv",
    "check_crop_and_concat",
    "check_displacement_field",
    "check_weight_map",
    "check_weighted_cross_entropy",
]

# --------------------------------------------------------------------------
# Chapter 1: the blocks of Fig. 1
# --------------------------------------------------------------------------

_CONV_CASES = ((3, 5, (2, 3, 20, 20)), (1, 4, (1, 1, 17, 22)), (6, 2, (2, 6, 12, 12)))


def _param_hint(got: list[tuple[int, ...]], want: list[tuple[int, ...]]) -> str:
    kernels = {s[2:] for s in got if len(s) == 4}
    if kernels - {(3, 3)}:
        return f" (kernel {sorted(kernels)}: the paper's convolutions are 3×3)"
    if len(got) == len(want) // 2 and all(len(s) == 4 for s in got):
        return " (no biases: leave bias=True)"
    if len(got) > len(want):
        return " (the block has only the two convolutions: no BatchNorm or other layers)"
    return ""


def _double_conv_body(run: CheckRun, factory: Callable) -> None:
    for index, (cin, cout, shape) in enumerate(_CONV_CASES):
        gen = torch.Generator().manual_seed(index)  # the same draws whatever failed before
        where = f"for factory({cin}, {cout})"
        with torch.random.fork_rng(devices=[]):  # the reader's RNG state is left as it was
            module = run.call(factory, cin, cout, where=where)
            ref = DoubleConv(cin, cout)
        if module is FAILED_MARK or not run.check(
            isinstance(module, nn.Module),
            f"factory({cin}, {cout}) returned {kind_of(module)}, not an nn.Module "
            "(e.g. nn.Sequential(...))", "module"):
            continue
        want = [tuple(p.shape) for p in ref.parameters()]
        got = [tuple(p.shape) for p in module.parameters()]
        same = run.check(got == want, f"{where}: expected {len(want)} parameter tensors of shapes "
                         f"{want}, got {len(got)}: {got}{_param_hint(got, want)}", "params")
        with torch.no_grad():
            for p in ref.parameters():
                p.copy_(torch.randn(p.shape, generator=gen) * 0.4)
            if same:  # the reader's block gets the package block's weights
                for mine, theirs in zip(module.parameters(), ref.parameters()):
                    mine.copy_(theirs)
            x = torch.randn(shape, generator=gen)
            expected = ref(x.clone())
            y = run.call(module, x.clone(), where=f"for input of shape {shape}")
            if y is FAILED_MARK:
                continue
            y = _is_tensor(run, y, tuple(expected.shape), shape)
            if y is None or not same:
                continue
            no_first_relu = torch.relu(ref[2](ref[0](x)))
            run.check(torch.allclose(y, expected, atol=1e-4, rtol=1e-4), lambda: (
                "negative values in the output: a ReLU is missing after the last convolution"
                if bool((y < 0).any()) else
                "the ReLU after the first convolution is missing"
                if torch.allclose(y, no_first_relu, atol=1e-4, rtol=1e-4) else
                f"with the package's weights the values differ: max |difference| "
                f"{float((y - expected).abs().max()):.3g} for input {shape}: "
                "is the order conv, ReLU, conv, ReLU?"))


def _is_tensor(run: CheckRun, y: Any, want: tuple[int, ...], shape: tuple[int, ...]) -> Any:
    """The reader's DoubleConv output if it is a tensor of the right shape (checked)."""
    if not run.check(isinstance(y, torch.Tensor),
                     f"the module returned {kind_of(y)}, not a tensor", "type"):
        return None
    got = tuple(y.shape)
    if got[:2] != want[:2]:
        run.check(False, f"wrong output shape for input {shape}: expected {want}, got "
                  f"{got}: the second convolution maps out_channels → out_channels")
        return None
    h, w = shape[2:]
    if got != want:
        why = ("did you pad?" if len(got) == 4 and got[2] > want[2] else
               "a larger kernel, or more than two convolutions?")
        run.check(False, f"output {size_of(h, w)}→{size_of(*got[2:])}: expected "
                  f"{size_of(h, w)}→{size_of(*want[2:])}: each unpadded 3×3 convolution "
                  f"removes one pixel per side; {why}")
        return None
    run.check(True)
    return y.detach().float()


def check_double_conv(factory: Callable[[int, int], nn.Module]) -> CheckReport:
    """Check the reader's block of two unpadded 3×3 convolutions, each followed by a ReLU.

    The reader writes ``factory(in_channels, out_channels) -> nn.Module``: a module
    that maps ``(N, in_channels, H, W)`` to ``(N, out_channels, H − 4, W − 4)`` with
    ``Conv2d(in, out, 3)``, ReLU, ``Conv2d(out, out, 3)``, ReLU (unpadded, with
    biases; §2, one level of Fig. 1; the package's :class:`~unet_tutorial.model.DoubleConv`).
    For three channel pairs the package block's weights are copied into the
    reader's module (matching the parameter tensors' shapes in order), and both
    run on the same random input: output shape, then values.

    Examples:
        >>> from unet_tutorial.model import DoubleConv
        >>> check_double_conv(lambda i, o: DoubleConv(i, o)).passed
        True
    """
    return run_check("check_double_conv", _double_conv_body, factory)


_CROP_CASES = (((2, 3, 20, 20), (2, 4, 16, 16)), ((1, 2, 17, 21), (1, 3, 12, 14)),
               ((1, 2, 9, 10), (1, 1, 8, 10)))


def _crop_hint(y: torch.Tensor, skip: torch.Tensor, x: torch.Tensor) -> str:
    """What a wrong crop-and-concat output equals, in words."""
    (h1, w1), (h2, w2) = skip.shape[-2:], x.shape[-2:]
    t0, l0 = (h1 - h2) // 2, (w1 - w2) // 2
    if close_enough(y, torch.cat([x, center_crop(skip, h2, w2)], 1), 1e-6):
        return "channels in the wrong order (x first): the package concatenates [skip, x]"
    for top in range(h1 - h2 + 1):
        for left in range(w1 - w2 + 1):
            cand = torch.cat([skip[..., top : top + h2, left : left + w2], x], 1)
            if (top, left) != (t0, l0) and close_enough(y, cand, 1e-6):
                off = [f"{abs(d)} px {word[d > 0]}" for d, word in
                       ((top - t0, ("up", "down")), (left - l0, ("left", "right"))) if d]
                odd = " (an odd difference: round down)" if (h1 - h2) % 2 or (w1 - w2) % 2 else ""
                return (f"the crop is off-centre by {' and '.join(off)}: the package takes top = "
                        f"(H1 − H2) // 2 = {t0}, left = (W1 − W2) // 2 = {l0}; yours {top}, "
                        f"{left}{odd}")
    c1 = skip.shape[1]
    if close_enough(y[:, c1:], x, 1e-6):
        return f"the first {c1} channels are not the centre crop of skip"
    return f"values differ: max |difference| {float((y - _crop_ref(skip, x)).abs().max()):.3g}"


def _crop_ref(skip: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    return torch.cat([center_crop(skip, x.shape[-2], x.shape[-1]), x], dim=1)


def _crop_shape_hint(got: tuple[int, ...], skip: torch.Tensor, x: torch.Tensor) -> str:
    (n, c1, h1, w1), c2 = skip.shape, x.shape[1]
    if got[2:] == (h1, w1):
        return ": skip was not cropped to x's height and width"
    if got[:1] == (2 * n,):
        return ": concatenated along dim 0 (the batch); the channels are dim 1"
    if len(got) == 4 and got[1] in (c1, c2):
        return ": only one of the two maps; concatenate both along the channels (dim 1)"
    return ""


def _crop_body(run: CheckRun, fn: Callable) -> None:
    gen = torch.Generator().manual_seed(1)
    for skip_shape, x_shape in _CROP_CASES:
        skip, x = torch.randn(skip_shape, generator=gen), torch.randn(x_shape, generator=gen)
        where = f"for skip {skip_shape} and x {x_shape}"
        y = run.call(fn, skip.clone(), x.clone(), where=where)
        if y is FAILED_MARK or not run.check(isinstance(y, torch.Tensor), lambda: f"your function "
                                         f"returned {kind_of(y)}, not a tensor", "type"):
            continue
        want = _crop_ref(skip, x)
        got = tuple(y.shape)
        if not run.check(got == tuple(want.shape), lambda: f"wrong output shape {where}: expected "
                         f"{tuple(want.shape)}, got {got}{_crop_shape_hint(got, skip, x)}"):
            continue
        y = y.detach().float()
        run.check(close_enough(y, want, 1e-6), lambda: f"{_crop_hint(y, skip, x)} ({where})")


def check_crop_and_concat(fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor]) -> CheckReport:
    """Check the reader's skip connection: centre crop of ``skip``, concatenated with ``x``.

    The reader writes ``fn(skip, x) -> tensor``: ``skip`` ``(N, C1, H1, W1)`` is the
    larger map copied from the contracting path, ``x`` ``(N, C2, H2, W2)`` the
    up-sampled one; the result ``(N, C1 + C2, H2, W2)`` is the central ``H2 × W2``
    window of ``skip`` (``top = (H1 − H2) // 2``, ``left = (W1 − W2) // 2``)
    followed by ``x`` along the channels (§2, the grey arrows of Fig. 1; the
    package's :meth:`~unet_tutorial.model.Up.forward` with
    :func:`~unet_tutorial.model.center_crop`). Tested with even and odd size differences.

    Examples:
        >>> from unet_tutorial.model import center_crop
        >>> def crop_and_concat(skip, x):
        ...     return torch.cat([center_crop(skip, x.shape[2], x.shape[3]), x], dim=1)
        >>> check_crop_and_concat(crop_and_concat).passed
        True
    """
    return run_check("check_crop_and_concat", _crop_body, fn)


# --------------------------------------------------------------------------
# Chapter 2: the elastic displacement field
# --------------------------------------------------------------------------

_FIELD_CASES = (((20, 20), 3, 1), ((17, 30), 3, 2), ((25, 19), 4, 3))


def _interp(control: np.ndarray, shape: tuple[int, int], mode: str, corners: bool) -> np.ndarray:
    t = torch.from_numpy(control.astype(np.float64))[None]
    return F.interpolate(t, size=shape, mode=mode, align_corners=corners)[0].numpy()


def _field_hint(y: np.ndarray, ref: np.ndarray, control: np.ndarray, shape: tuple[int, int]) -> str:
    corners = np.ix_([0, 1], [0, -1], [0, -1])
    if close_enough(y, ref[::-1], 1e-4):
        return "dy and dx swapped: component 0 is dy (rows), 1 is dx (columns), as in control"
    if close_enough(y, _interp(control, shape, "bilinear", True), 1e-4):
        return 'bilinear, not bicubic: mode="bicubic"'
    if close_enough(y, _interp(control.transpose(0, 2, 1), shape, "bicubic", True), 1e-4):
        return "the control grid is transposed: control[c, i, j] is at row i, column j"
    if not close_enough(y[corners], control[corners], 1e-4):
        return ("corners do not match the control points (align_corners?): the field passes "
                "through control[:, 0, 0] at pixel (0, 0) and control[:, -1, -1] at (H-1, W-1)")
    err = np.abs(y - ref)
    c, r, k = np.unravel_index(int(np.argmax(err)), err.shape)
    return (f"max |difference| {err.max():.3g} px at component {c}, row {r}, column {k}: "
            f"expected {ref[c, r, k]:.4g}, got {y[c, r, k]:.4g}")


def _field_body(run: CheckRun, fn: Callable) -> None:
    for shape, grid, seed in _FIELD_CASES:
        ref_field, control = elastic_displacement(shape, grid=grid, sigma=10.0, rng=seed)
        where = f"for a {grid}×{grid} control grid and shape {shape}"
        y = run.call(fn, control.copy(), shape, where=where)
        if y is FAILED_MARK:
            continue
        a = is_array(run, y, (2, *shape), where)
        if a is not None:
            run.check(close_enough(a, ref_field, 1e-4),
                      lambda: f"{_field_hint(a, ref_field, control, shape)} ({where})")


def check_displacement_field(fn: Callable[[np.ndarray, tuple[int, int]], Any]) -> CheckReport:
    """Check the reader's per-pixel displacement field of the elastic deformation (§3.1).

    The reader writes ``fn(control, shape) -> (2, H, W)`` (numpy array or tensor):
    ``control`` is a float32 numpy array ``(2, g, g)`` of displacements ``(dy, dx)``
    in pixels on a coarse ``g × g`` grid, ``shape`` the image size ``(H, W)``; the
    result is their bicubic interpolation at every pixel, with the outer control
    points on the corner pixels (control point ``(i, j)`` at row
    ``i·(H − 1)/(g − 1)``, column ``j·(W − 1)/(g − 1)``): torch's
    ``F.interpolate(..., mode="bicubic", align_corners=True)``, as the package's
    ``dense_field`` (:func:`~unet_tutorial.augment.elastic_displacement`). Tested
    on square and non-square shapes, grids of 3 and 4, control values of σ = 10 px.

    Examples:
        >>> def field(control, shape):
        ...     c = torch.from_numpy(control)[None]
        ...     return F.interpolate(c, size=shape, mode="bicubic", align_corners=True)[0]
        >>> check_displacement_field(field).passed
        True
    """
    return run_check("check_displacement_field", _field_body, fn)


# --------------------------------------------------------------------------
# Chapter 3: the weight map of Eq. 2
# --------------------------------------------------------------------------


def _instance_images() -> list[np.ndarray]:
    """Small label images: touching and separate cells, cells cut by the edge, one cell."""
    a = np.zeros((24, 30), np.int32)
    a[3:12, 2:10], a[3:12, 10:17] = 1, 2  # two cells sharing an edge
    a[15:22, 4:11] = 7  # 3 px below them (ids need not be consecutive)
    yy, xx = np.mgrid[:24, :30]
    a[(yy - 17) ** 2 + (xx - 23) ** 2 <= 20] = 4
    a[0:5, 24:30] = 5  # cut by the image edge
    rng = np.random.default_rng(3)
    b = np.zeros((20, 26), np.int32)
    yy, xx = np.mgrid[:20, :26]
    for k in range(1, 6):  # random discs: later ones cover earlier ones, so some touch
        cy, cx, r = rng.integers(2, 18), rng.integers(2, 24), rng.integers(3, 6)
        b[(yy - cy) ** 2 + (xx - cx) ** 2 <= r * r] = k
    c = np.zeros((12, 14), np.int32)
    c[3:8, 4:10] = 1
    return [a, b, c]


def _weight_alternatives(inst: np.ndarray, w0: float, sigma: float) -> list[tuple[str, Any]]:
    """Common wrong versions of Eq. 2 on ``inst``: ``[(message, map)]``."""
    ids = np.unique(inst)[1:] if inst.min() == 0 else np.unique(inst)
    if ids.size < 2:
        return []
    d = np.sort(np.stack([ndi.distance_transform_edt(inst != k) for k in ids]), axis=0)
    d1, d2 = d[0], d[1]
    target = separation_mask(inst)
    wc, bg = class_weight_map(target), target == 0
    wc_cells, bg_cells = class_weight_map(inst > 0), inst == 0

    def term(s2: np.ndarray, den: float = 2 * sigma**2, a: float = w0) -> np.ndarray:
        return a * np.exp(-s2 / den)

    s2 = (d1 + d2) ** 2
    target_msg = "use the target separation_mask(instances), not instances > 0"
    return [
        ("border term everywhere, not only on background pixels of the target "
         "(separation_mask(instances) == 0)", wc + term(s2)),
        ("the border term is missing on the separation borders: add it wherever "
         "separation_mask(instances) == 0, not only where instances == 0",
         wc + term(s2) * bg_cells),
        (f"w_c computed on instances > 0: {target_msg}", wc_cells + term(s2) * bg),
        (f"w_c and the background taken from instances > 0: {target_msg}",
         wc_cells + term(s2) * bg_cells),
        ("w_c missing: w(x) = w_c(x) + w0·exp(...), with w_c the balanced class weights",
         1 + term(s2) * bg),
        ("w_c missing: w(x) = w_c(x) + w0·exp(...)", term(s2) * bg),
        ("d1 + d2 not squared: exp(−(d1 + d2)² / (2σ²))", wc + term(d1 + d2) * bg),
        ("d1² + d2² instead of (d1 + d2)²", wc + term(d1**2 + d2**2) * bg),
        ("only the nearest cell used: d2 is the distance to the second-nearest cell",
         wc + term(d1**2) * bg),
        ("only the nearest cell used (d1 + d1): d2 is the distance to the second-nearest cell",
         wc + term(4 * d1**2) * bg),
        ("σ² vs 2σ²: the denominator is 2σ²", wc + term(s2, sigma**2) * bg),
        ("2σ vs 2σ²: the denominator is 2σ²", wc + term(s2, 2 * sigma) * bg),
        ("w0 missing: the border term is w0·exp(...)", wc + term(s2, a=1.0) * bg),
    ]


def _weight_hint(y: np.ndarray, ref: np.ndarray, inst: np.ndarray, w0: float, sigma: float) -> str:
    for message, alt in _weight_alternatives(inst, w0, sigma):
        if close_enough(y, alt, 1e-4) and not close_enough(ref, alt, 1e-4):
            return message
    if (w0, sigma) != (10.0, 5.0) and close_enough(y, border_weight_map_direct(inst), 1e-4):
        return f"the arguments are ignored: this is the map for w0 = 10, σ = 5, not {w0}, {sigma}"
    bad = ~np.isfinite(y)
    if bad.any():
        r, c = np.argwhere(bad)[0]
        return (f"NaN or infinite values at {int(bad.sum())} pixels, the first at "
                f"(row {r}, column {c})")
    err = np.abs(y - ref)
    r, c = np.unravel_index(int(np.argmax(err)), err.shape)
    kind = ("inside a cell" if separation_mask(inst)[r, c] else
            "on a separation border" if inst[r, c] else "in the background")
    one = np.unique(inst[inst > 0]).size < 2
    few = " (fewer than two cells: the border term is zero, w = w_c)" if one else ""
    return (f"max |difference| {err.max():.3g} at pixel (row {r}, column {c}), {kind}: "
            f"expected {ref[r, c]:.4g}, got {y[r, c]:.4g}{few}")


def _weight_body(run: CheckRun, fn: Callable) -> None:
    a, b, c = _instance_images()
    for inst, w0, sigma in ((a, 10.0, 5.0), (b, 10.0, 5.0), (a, 5.0, 3.0), (c, 10.0, 5.0)):
        cells = len(np.unique(inst)) - 1
        where = f"for instances of shape {inst.shape} with {cells} cell(s), w0={w0}, sigma={sigma}"
        y = run.call(fn, inst.copy(), w0=w0, sigma=sigma, where=where)
        if y is FAILED_MARK:
            continue
        arr = is_array(run, y, inst.shape, where)
        if arr is not None:
            ref = border_weight_map_direct(inst, w0=w0, sigma=sigma)
            run.check(close_enough(arr, ref, 1e-4), lambda: f"{_weight_hint(arr, ref, inst, w0, sigma)} "
                      f"({where})")


def check_weight_map(fn: Callable[..., Any]) -> CheckReport:
    """Check the reader's weight map of Eq. 2 (§3, Fig. 3d), as the package defines it.

    The reader writes ``fn(instances, w0=10.0, sigma=5.0) -> (H, W)`` (numpy array
    or tensor; the arguments must be called ``w0`` and ``sigma``): ``instances``
    is an ``(H, W)`` integer label image (0 = background, each cell its own id,
    ids not necessarily consecutive), and the result is::

        target = separation_mask(instances)        # Fig. 3c, from unet_tutorial.weights
        w(x) = w_c(x) + w0 · exp(−(d1(x) + d2(x))² / (2σ²))   where target == 0
        w(x) = w_c(x)                                          where target == 1

    with ``w_c = class_weight_map(target)`` (balanced: ``N / (2 N_c)`` for the
    class of the pixel in the *target*), ``d1``/``d2`` the Euclidean distances in
    pixels to the nearest pixel of the nearest and second-nearest cell (two
    different cells; 0 inside a cell), e.g. from
    ``scipy.ndimage.distance_transform_edt(instances != k)`` per cell, measured
    inside the image only. With fewer than two cells the border term is zero:
    ``w = w_c``. The reader may call the package's ``separation_mask`` and
    ``class_weight_map``; the exercise is the border term. The reference is
    :func:`~unet_tutorial.weights.border_weight_map_direct`; tolerance 1e-4.
    Tested on small images with touching and separate cells, cells cut by the
    image edge, other ``w0``/``sigma`` values and a single cell.

    Examples:
        >>> from unet_tutorial.weights import border_weight_map
        >>> def weight_map(instances, w0=10.0, sigma=5.0):
        ...     return border_weight_map(instances, w0=w0, sigma=sigma)
        >>> check_weight_map(weight_map).passed
        True
    """
    return run_check("check_weight_map", _weight_body, fn)


# --------------------------------------------------------------------------
# Chapter 4: the energy of Eq. 1
# --------------------------------------------------------------------------

_LOSS_CASES = ((2, 2, 6, 7), (1, 3, 5, 4), (3, 2, 4, 4))


def _loss_alternatives(logits: torch.Tensor, target: torch.Tensor,
                       weight: torch.Tensor) -> list[tuple[str, torch.Tensor]]:
    """Common wrong versions of Eq. 1: ``[(message, value)]``."""
    n, k, h, w = logits.shape
    lab = target.unsqueeze(1)
    log_p = F.log_softmax(logits, dim=1)
    per = -weight * log_p.gather(1, lab).squeeze(1)
    wrong_axis = [(f"softmax over the wrong axis ({d}): the classes are axis 1",
                   (-weight * F.log_softmax(logits, dim=d).gather(1, lab).squeeze(1)).mean())
                  for d in (0, 2, 3)]
    return [
        (f"sum instead of mean: yours is N·h·w = {n * h * w} times the package's value; divide "
         "by the number of pixels", per.sum()),
        ("divided by the sum of the weights; the package divides by the number of pixels N·h·w",
         per.sum() / weight.sum()),
        ("weights ignored: multiply each pixel's −log p by w(x)",
         (-log_p.gather(1, lab).squeeze(1)).mean()),
        ("sign error: the loss is −mean(w · log p_ℓ(x)), >= 0 since log p <= 0",
         -per.mean()),
        *wrong_axis,
        ("log-probability of the wrong class / sign error: take log p of the true label "
         "target[n, y, x]", (-weight * log_p.gather(1, (lab + 1) % k).squeeze(1)).mean()),
        ("probability instead of log-probability: take log p (F.log_softmax)",
         (-weight * log_p.exp().gather(1, lab).squeeze(1)).mean()),
        ("no soft-max: the logits are raw scores; take F.log_softmax over the class axis",
         (-weight * logits.gather(1, lab).squeeze(1)).mean()),
    ]


def _loss_body(run: CheckRun, fn: Callable) -> None:
    gen = torch.Generator().manual_seed(4)
    for n, k, h, w in _LOSS_CASES:
        logits = (torch.randn(n, k, h, w, generator=gen) * 2).requires_grad_(True)
        target = torch.randint(0, k, (n, h, w), generator=gen)
        weight = torch.rand(n, h, w, generator=gen) * 2.5 + 0.5
        where = f"for logits of shape {(n, k, h, w)}"
        y = run.call(fn, logits, target.clone(), weight.clone(), where=where)
        if y is FAILED_MARK:
            continue
        a = as_numpy(y)
        if not run.check(a is not None and a.size == 1, lambda: (
                f"your function returned {kind_of(y)}, not a number {where}" if a is None
                else f"your function returned shape {a.shape}, not a scalar {where}" +
                (": take the mean over all pixels" if a.shape == (n, h, w) else "")), "scalar"):
            continue
        run.check(isinstance(y, torch.Tensor) and y.requires_grad,
                  "the loss must be a torch tensor that back-propagates (loss.backward()): "
                  "keep the computation in torch, no .item(), no numpy", "grad")
        value = float(a.reshape(()))
        with torch.no_grad():
            ref = float(weighted_cross_entropy(logits, target, weight))
            alts = [(m, float(v)) for m, v in _loss_alternatives(logits, target, weight)]
        if not np.isfinite(value):
            run.check(False, f"the loss is {value} {where}: a log of 0? use F.log_softmax", "nan")
            continue
        hint = next((m for m, v in alts if abs(value - v) <= 1e-5 * abs(v) + 1e-6),
                    f"expected {ref:.6g}, got {value:.6g} (ratio {value / ref:.4g})")
        run.check(abs(value - ref) <= 1e-5 * abs(ref) + 1e-6, f"{hint} ({where})")


def check_weighted_cross_entropy(fn: Callable[..., Any]) -> CheckReport:
    """Check the reader's weighted pixel-wise cross-entropy of Eq. 1 (§3).

    The reader writes ``fn(logits, target, weight) -> scalar tensor``: ``logits``
    ``(N, K, h, w)`` float32 raw scores, ``target`` ``(N, h, w)`` int64 labels in
    ``[0, K)``, ``weight`` ``(N, h, w)`` float32 weights ``w(x) > 0``; the result is
    ``−(1/(N·h·w)) Σ_x w(x) log p_ℓ(x)(x)`` with ``p`` the soft-max of the logits
    over the class axis 1 and ``ℓ(x) = target`` (the *mean* over all pixels, as
    :func:`~unet_tutorial.losses.weighted_cross_entropy`), a tensor that
    back-propagates. Relative tolerance 1e-5.

    Examples:
        >>> from unet_tutorial.losses import weighted_cross_entropy
        >>> check_weighted_cross_entropy(weighted_cross_entropy).passed
        True
    """
    return run_check("check_weighted_cross_entropy", _loss_body, fn)
