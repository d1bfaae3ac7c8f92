"""*Synthetic* images for unit tests and illustrations: never real data.

Small, seeded generators that imitate the look of the paper's data sets (§4), so
that tests and figures run without any download:

- :func:`synthetic_voronoi_instances`: tightly packed cells separated by thin
  background gaps (a stand-in for the touching cells of §3, Fig. 3).
- :func:`synthetic_em`: an EM-like image with its membrane label, in the
  convention of the ISBI 2012 data (:mod:`unet_tutorial.data.isbi2012`).
- :func:`synthetic_nuclei`: fluorescence-like touching nuclei with instance
  labels, like the DSB 2018 data (:mod:`unet_tutorial.data.dsb2018`).

Everything here is generated; results computed on it are labelled as synthetic
wherever the course shows them. No data set is cited because none is used.
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage
from scipy.spatial import cKDTree

from .._checks import check_positive

__all__ = ["synthetic_voronoi_instances", "synthetic_em", "synthetic_nuclei"]


def _check_shape(shape: tuple[int, int]) -> tuple[int, int]:
    """Validate a 2-D image shape ``(H, W)`` of positive integers."""
    try:
        h, w = (int(s) for s in shape)
    except (TypeError, ValueError, OverflowError):  # OverflowError: int(inf)
        raise ValueError(f"shape must be a pair (H, W) of integers, got {shape!r}") from None
    if h < 1 or w < 1 or (h, w) != tuple(shape):
        raise ValueError(f"shape must be two positive integers (H, W), got {shape!r}")
    return h, w


def _spread_points(
    h: int, w: int, n: int, rng: np.random.Generator, min_dist: float
) -> np.ndarray:
    """``n`` distinct pixel centres ``(row + 0.5, col + 0.5)``, pairwise >= ``min_dist`` apart.

    Dart throwing; when the points do not fit, ``min_dist`` shrinks, and below 1 px
    any distinct pixels are taken, so the call always succeeds when ``n <= h * w``.
    Seeds on pixel centres guarantee that every Voronoi cell owns at least its seed
    pixel.
    """
    points: list[np.ndarray] = []
    while min_dist >= 1.0:
        tries = 0
        while len(points) < n and tries < 50 * n:
            p = np.floor(rng.uniform((0, 0), (h, w))) + 0.5
            tries += 1
            if points and np.min(np.hypot(*(np.asarray(points) - p).T)) < min_dist:
                continue
            points.append(p)
        if len(points) == n:
            return np.asarray(points)
        min_dist *= 0.7
    flat = rng.choice(h * w, size=n, replace=False)
    return np.stack(np.unravel_index(flat, (h, w)), axis=1).astype(float) + 0.5


def _voronoi_labels(
    coords: np.ndarray, points: np.ndarray, gap: float
) -> np.ndarray:
    """Label every coordinate with its nearest point (1-based), 0 within ``gap/2`` of a bisector.

    Args:
        coords: ``(..., 2)`` pixel coordinates (row, col), in pixels.
        points: ``(n, 2)`` seed points.
        gap: width of the background band between two cells, in pixels.

    Returns:
        int32 labels of shape ``coords.shape[:-1]``.
    """
    flat = coords.reshape(-1, 2)
    tree = cKDTree(points)
    if len(points) == 1 or gap <= 0:
        _, idx = tree.query(flat, k=1)
        labels = idx.astype(np.int32) + 1
        return labels.reshape(coords.shape[:-1])
    dist, idx = tree.query(flat, k=2)
    # Distance of x to the bisector of its two nearest seeds a, b:
    # (|x-b|^2 - |x-a|^2) / (2 |a-b|). A band of width `gap` around every bisector
    # becomes background, which gives gaps of constant width.
    sep = np.linalg.norm(points[idx[:, 0]] - points[idx[:, 1]], axis=1)
    to_bisector = (dist[:, 1] ** 2 - dist[:, 0] ** 2) / (2 * sep)
    labels = np.where(to_bisector < gap / 2, 0, idx[:, 0] + 1).astype(np.int32)
    return labels.reshape(coords.shape[:-1])


def synthetic_voronoi_instances(
    shape: tuple[int, int] = (512, 512), n_cells: int = 100, gap: float = 2, seed: int = 0
) -> np.ndarray:
    """A *synthetic* instance label image of Voronoi cells separated by background gaps.

    ``n_cells`` seed points are spread at random over the image (dart throwing with a
    minimum distance, so no cell is tiny); every pixel belongs to the cell of its
    nearest seed, except a band of width ``gap`` px along every cell border, which is
    background. Useful as a stand-in for tightly packed cells with separation borders
    (paper §3, Fig. 3) in tests and figures.

    Args:
        shape: image size ``(H, W)`` in pixels.
        n_cells: number of cells, ``1 <= n_cells <= H * W``.
        gap: width of the background (0) band between neighbouring cells, in pixels;
            ``0`` makes the cells touch (no background at all).
        seed: seed of :func:`numpy.random.default_rng`.

    Returns:
        int32 array ``(H, W)``: 0 = background, cells numbered ``1 .. n_cells``
        (numbered in row-major order of their seed points). Every id occurs as long
        as ``gap`` is smaller than the distance between seed points (always for
        ``gap=0``; seeds are at least ``0.6 * sqrt(H * W / n_cells)`` px apart
        whenever they fit).

    Raises:
        ValueError: bad ``shape``, ``n_cells`` outside ``[1, H * W]``, negative or
            non-finite ``gap``.
    """
    h, w = _check_shape(shape)
    n_cells = int(n_cells)
    if not 1 <= n_cells <= h * w:
        raise ValueError(f"n_cells must be in [1, H*W] = [1, {h * w}], got {n_cells}")
    gap = check_positive(gap, "gap", allow_zero=True)
    rng = np.random.default_rng(seed)
    points = _spread_points(h, w, n_cells, rng, min_dist=0.6 * np.sqrt(h * w / n_cells))
    # number the cells in reading order: easier to follow in figures
    points = points[np.lexsort((points[:, 1], points[:, 0]))]
    rows, cols = np.mgrid[0:h, 0:w].astype(float) + 0.5
    return _voronoi_labels(np.stack([rows, cols], axis=-1), points, gap)


def _smooth_field(
    shape: tuple[int, int], scale: float, amplitude: float, rng: np.random.Generator
) -> np.ndarray:
    """Smooth random field ``(H, W)``: white noise blurred by ``scale`` px, std ``amplitude``."""
    f = ndimage.gaussian_filter(rng.standard_normal(shape), scale, mode="wrap")
    return f * (amplitude / (f.std() + 1e-12))


def synthetic_em(
    shape: tuple[int, int] = (512, 512), n_cells: int = 60, seed: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """A *synthetic* EM-like image with its membrane label, imitating ISBI 2012 (§4).

    Curved Voronoi cells (the Voronoi diagram of a smoothly warped grid, so
    membranes bend) with bright, slightly textured interiors, separated by dark thin
    membranes (about 3 px), blurred and with Gaussian noise. The label follows the
    ISBI convention of :func:`load_isbi2012`: 1 = cell (white), 0 = membrane (black).

    Args:
        shape: image size ``(H, W)`` in pixels.
        n_cells: number of cells (>= 2 so that there are membranes).
        seed: seed of :func:`numpy.random.default_rng`.

    Returns:
        ``(image, label)``: image float32 ``(H, W)`` in ``[0, 1]``; label uint8
        ``(H, W)`` with values in ``{0, 1}``.

    Raises:
        ValueError: bad ``shape`` or ``n_cells < 2``.
    """
    h, w = _check_shape(shape)
    n_cells = int(n_cells)
    if not 2 <= n_cells <= h * w:
        raise ValueError(f"n_cells must be in [2, H*W] = [2, {h * w}], got {n_cells}")
    rng = np.random.default_rng(seed)
    cell = np.sqrt(h * w / n_cells)  # typical cell diameter, pixels
    points = _spread_points(h, w, n_cells, rng, min_dist=0.6 * cell)
    rows, cols = np.mgrid[0:h, 0:w].astype(float) + 0.5
    # A smooth warp of the query coordinates bends the straight Voronoi edges into
    # membrane-like curves; its gradient is small, so the gap width stays ~3 px.
    amp = 0.12 * cell
    coords = np.stack(
        [rows + _smooth_field((h, w), cell / 2, amp, rng),
         cols + _smooth_field((h, w), cell / 2, amp, rng)],
        axis=-1,
    )
    instances = _voronoi_labels(coords, points, gap=3.0)
    label = (instances > 0).astype(np.uint8)

    brightness = rng.uniform(0.6, 0.85, size=n_cells + 1)
    brightness[0] = 0.12  # membranes
    image = brightness[instances]
    # cytoplasm texture and a few dark vesicles make the cells less uniform
    image = image + label * _smooth_field((h, w), 2.0, 0.05, rng)
    n_vesicles = max(1, (h * w) // 900)
    vr = rng.integers(0, h, n_vesicles)
    vc = rng.integers(0, w, n_vesicles)
    dots = np.zeros((h, w))
    dots[vr, vc] = 1.0
    dots = ndimage.gaussian_filter(dots, 1.5)
    image = image - 0.35 * dots / (dots.max() + 1e-12)
    image = ndimage.gaussian_filter(image, 1.0)
    image = image + rng.normal(0.0, 0.05, size=(h, w))
    return np.clip(image, 0.0, 1.0).astype(np.float32), label


def synthetic_nuclei(
    shape: tuple[int, int] = (256, 256), n_nuclei: int = 20, seed: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """A *synthetic* fluorescence-like image of roundish nuclei, many of them touching.

    Nuclei are discs of random radius (about 4-7 % of the image side); most are
    placed next to an already placed nucleus, overlapping it slightly, so that
    they touch (as in the DSB 2018 data and the HeLa cells of Fig. 3). Where two
    discs overlap, a pixel belongs to the nucleus it is relatively closest to
    (smallest distance / radius), which splits them along a straight contact line.
    Each nucleus is bright in the middle and dimmer at its rim, so touching nuclei
    show a faint dip at the contact, as in real fluorescence images.

    Args:
        shape: image size ``(H, W)`` in pixels (at least 16 x 16).
        n_nuclei: number of nuclei (>= 1).
        seed: seed of :func:`numpy.random.default_rng`.

    Returns:
        ``(image, instances)``: image float32 ``(H, W)`` in ``[0, 1]``; instances
        int32 ``(H, W)``, 0 = background, nuclei ``1 .. n_nuclei`` (each id occurs).

    Raises:
        ValueError: bad ``shape`` (smaller than 16 px), ``n_nuclei < 1``, or more
            nuclei than fit into the image.
    """
    h, w = _check_shape(shape)
    if min(h, w) < 16:
        raise ValueError(f"shape must be at least 16 x 16 pixels, got {shape!r}")
    n_nuclei = int(n_nuclei)
    if n_nuclei < 1:
        raise ValueError(f"n_nuclei must be >= 1, got {n_nuclei}")
    rng = np.random.default_rng(seed)
    side = min(h, w)
    r_lo, r_hi = 0.04 * side, 0.07 * side
    too_many = ValueError(
        f"could not place {n_nuclei} nuclei in a {h}x{w} image; use fewer nuclei or a larger shape"
    )
    if n_nuclei * np.pi * (0.75 * r_lo) ** 2 > h * w:
        raise too_many  # they cannot fit even when packed as tightly as allowed
    centers: list[np.ndarray] = []
    radii: list[float] = []
    failures = 0
    while len(centers) < n_nuclei:
        if failures > 1000:
            raise too_many
        failures += 1
        r = rng.uniform(r_lo, r_hi)
        if centers and rng.random() < 0.6:
            # touch an existing nucleus: centre distance a bit below r_i + r
            i = rng.integers(len(centers))
            angle = rng.uniform(0, 2 * np.pi)
            d = (radii[i] + r) * rng.uniform(0.8, 0.95)
            c = centers[i] + d * np.array([np.sin(angle), np.cos(angle)])
        else:
            c = rng.uniform((r, r), (h - r, w - r))
        if not (0 <= c[0] < h and 0 <= c[1] < w):
            continue
        if centers:
            gaps = np.hypot(*(np.asarray(centers) - c).T) / (np.asarray(radii) + r)
            if gaps.min() < 0.75:  # too much overlap: a nucleus would be hidden
                continue
        centers.append(c)
        radii.append(r)
        failures = 0
    c_arr = np.asarray(centers)
    r_arr = np.asarray(radii)
    rows, cols = np.mgrid[0:h, 0:w].astype(float)
    # relative distance of every pixel to every nucleus: (n, H, W); n is small
    rel = np.hypot(rows[None] - c_arr[:, 0, None, None], cols[None] - c_arr[:, 1, None, None])
    rel /= r_arr[:, None, None]
    nearest = rel.argmin(axis=0)
    rel_min = rel.min(axis=0)
    instances = np.where(rel_min <= 1.0, nearest + 1, 0).astype(np.int32)

    brightness = rng.uniform(0.55, 0.9, size=n_nuclei)
    profile = np.clip(1.0 - 0.45 * rel_min**2, 0.0, None)
    image = np.where(instances > 0, brightness[nearest] * profile, 0.0) + 0.06
    image = image + (instances > 0) * _smooth_field((h, w), 1.5, 0.03, rng)
    image = ndimage.gaussian_filter(image, 1.2)
    image = image + rng.normal(0.0, 0.03, size=(h, w))
    return np.clip(image, 0.0, 1.0).astype(np.float32), instances
