"""Small plotting helpers shared by the course's chapters.

They return arrays or draw into a given matplotlib ``Axes`` and never call
``plt.show()``, so that notebooks stay short and figures stay composable.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from .style import tidy_layout

__all__ = [
    "overlay",
    "color_instances",
    "grid_image",
    "outline_overlay",
    "plot_displacement",
    "show_images",
    "plot_weight_figure",
]


def overlay(
    image: np.ndarray,
    mask: np.ndarray,
    color: tuple[float, float, float] = (1.0, 0.2, 0.2),
    alpha: float = 0.5,
) -> np.ndarray:
    """Gray image with the pixels of ``mask`` tinted in ``color``.

    Args:
        image: gray image ``(H, W)``, values in ``[0, 1]``.
        mask: boolean (or 0/1) mask ``(H, W)`` of the pixels to tint.
        color: RGB colour in ``[0, 1]``.
        alpha: opacity of the tint, ``0`` (invisible) to ``1`` (opaque).

    Returns:
        float RGB image ``(H, W, 3)`` in ``[0, 1]``.

    Raises:
        ValueError: shapes differ, or ``alpha`` outside ``[0, 1]``.
    """
    image, mask = np.asarray(image, dtype=float), np.asarray(mask).astype(bool)
    if image.ndim != 2 or mask.shape != image.shape:
        raise ValueError(f"need a gray image (H, W) and a mask of the same shape, got {image.shape} and {mask.shape}")
    if not 0.0 <= alpha <= 1.0:
        raise ValueError(f"alpha must be in [0, 1], got {alpha}")
    rgb = np.repeat(np.clip(image, 0.0, 1.0)[..., None], 3, axis=-1)
    rgb[mask] = (1 - alpha) * rgb[mask] + alpha * np.asarray(color, dtype=float)
    return rgb


def color_instances(
    instances: np.ndarray,
    image: np.ndarray | None = None,
    alpha: float = 0.6,
    seed: int = 0,
) -> np.ndarray:
    """Colour every instance id with its own random bright colour (0 = background stays dark).

    Colours are drawn per id from a seeded generator (HSV with random hue), so
    neighbouring instances almost never share a colour and the same id gets the
    same colour in every figure.

    Args:
        instances: integer instance labels ``(H, W)``, 0 = background.
        image: optional gray image ``(H, W)`` in ``[0, 1]`` to blend under the colours.
        alpha: opacity of the colours over ``image``.
        seed: seed of the colour table.

    Returns:
        float RGB image ``(H, W, 3)`` in ``[0, 1]``.
    """
    from matplotlib.colors import hsv_to_rgb

    instances = np.asarray(instances)
    if instances.ndim != 2 or not np.issubdtype(instances.dtype, np.integer):
        raise ValueError(f"instances must be an integer array (H, W), got {instances.dtype} {instances.shape}")
    if instances.min(initial=0) < 0:
        raise ValueError("instance ids must be >= 0")
    n = int(instances.max(initial=0))
    rng = np.random.default_rng(seed)
    hsv = np.stack([rng.random(n + 1), rng.uniform(0.6, 1.0, n + 1), rng.uniform(0.75, 1.0, n + 1)], axis=1)
    table = hsv_to_rgb(hsv)
    table[0] = 0.0
    rgb = table[instances]
    if image is None:
        return rgb
    base = np.repeat(np.clip(np.asarray(image, dtype=float), 0, 1)[..., None], 3, axis=-1)
    fg = (instances > 0)[..., None]
    return np.where(fg, (1 - alpha) * base + alpha * rgb, base)


def outline_overlay(image: np.ndarray, pred: np.ndarray, truth: np.ndarray,
                    outline: tuple[float, float, float] = (1.0, 1.0, 0.0)) -> np.ndarray:
    """Fig. 4 of the paper: predicted objects in colours over the image, the true objects' outlines on top.

    Args:
        image: gray image ``(H, W)`` in ``[0, 1]``.
        pred: predicted instance labels ``(H, W)`` (0 = background), coloured by :func:`color_instances`.
        truth: true instance labels ``(H, W)``; the inner boundary of every object is drawn in ``outline``.

    Returns:
        float RGB image ``(H, W, 3)`` in ``[0, 1]``.
    """
    from skimage.segmentation import find_boundaries

    truth = np.asarray(truth)
    if truth.shape != np.shape(pred) or truth.shape != np.shape(image):
        raise ValueError(f"image, pred and truth must have one shape, got {np.shape(image)}, {np.shape(pred)}, "
                         f"{truth.shape}")
    rgb = color_instances(pred, image, alpha=0.45)
    rgb[find_boundaries(truth, mode="inner") & (truth > 0)] = outline
    return rgb


def grid_image(shape: tuple[int, int], spacing: int = 32, width: int = 2) -> np.ndarray:
    """A regular grid of white lines on black, float32 ``(H, W)``, to make a warp visible.

    Lines are ``width`` px wide every ``spacing`` px, starting at row/column 0.
    """
    h, w = shape
    img = np.zeros((h, w), np.float32)
    for start in range(0, max(h, w), spacing):
        img[start : start + width, :] = 1.0
        img[:, start : start + width] = 1.0
    return img


def plot_displacement(
    ax,
    field: np.ndarray,
    control: np.ndarray | None = None,
    step: int = 32,
    magnify: float = 1.0,
    color: str = "tab:blue",
    control_color: str = "tab:red",
) -> None:
    """Draw a displacement field as arrows into ``ax`` (image coordinates, lengths in px).

    Args:
        ax: a matplotlib ``Axes``.
        field: ``(2, H, W)`` displacements ``(dy, dx)`` in pixels; an arrow from pixel
            ``p`` points to where the output pixel ``p`` takes its value from.
        control: optional ``(2, g, g)`` control-point displacements, drawn as thick
            arrows at the control points (rows/columns ``linspace(0, H - 1, g)``).
        step: spacing of the dense arrows in pixels.
        magnify: draw arrows this many times longer than the displacement (say so
            in the figure's title when it is not 1).
    """
    field = np.asarray(field)
    if field.ndim != 3 or field.shape[0] != 2:
        raise ValueError(f"field must have shape (2, H, W), got {field.shape}")
    _, h, w = field.shape
    rows, cols = np.mgrid[step // 2 : h : step, step // 2 : w : step]
    # angles="xy", scale_units="xy": arrow lengths in image pixels, times `magnify`
    kw = dict(angles="xy", scale_units="xy", scale=1.0 / magnify)
    ax.quiver(cols, rows, field[1, rows, cols], field[0, rows, cols], color=color, width=0.003, **kw)
    if control is not None:
        g = control.shape[-1]
        cr, cc = np.meshgrid(np.linspace(0, h - 1, g), np.linspace(0, w - 1, g), indexing="ij")
        ax.quiver(cc, cr, control[1], control[0], color=control_color, width=0.008, **kw)
        ax.plot(cc.ravel(), cr.ravel(), "o", color=control_color, ms=5)
    ax.set_xlim(-0.5, w - 0.5)
    ax.set_ylim(h - 0.5, -0.5)
    ax.set_aspect("equal")


def show_images(
    images: Sequence[np.ndarray],
    titles: Sequence[str] | None = None,
    ncols: int | None = None,
    size: float = 3.0,
    cmap: str = "gray",
    suptitle: str | None = None,
    autoscale: bool = False,
):
    """Show images side by side without axes: gray ``(H, W)`` or RGB ``(H, W, 3)``.

    Gray images are shown on the fixed range [0, 1], or, with ``autoscale``, each
    from its own minimum to maximum (a contrast stretch for dim images).

    Returns:
        The matplotlib ``Figure``.
    """
    import matplotlib.pyplot as plt

    n = len(images)
    ncols = ncols or n
    nrows = -(-n // ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(size * ncols, size * nrows), squeeze=False)
    for k, ax in enumerate(axes.ravel()):
        ax.axis("off")
        if k < n:
            im = images[k]
            gray = np.ndim(im) == 2
            vmin, vmax = (None, None) if autoscale or not gray else (0, 1)
            ax.imshow(im, cmap=cmap if gray else None, vmin=vmin, vmax=vmax, interpolation="nearest")
            if titles is not None:
                ax.set_title(titles[k], fontsize=9)
    if suptitle:
        fig.suptitle(suptitle)
    tidy_layout(fig)
    return fig


def plot_weight_figure(
    image: np.ndarray,
    instances: np.ndarray,
    target: np.ndarray,
    weights: np.ndarray,
    title: str | None = None,
):
    """The four panels of the paper's Fig. 3, two by two; returns the matplotlib ``Figure``.

    (a) the raw image, (b) the instances in colours, (c) the training target with
    separation borders, (d) the weight map ``w(x)`` of Eq. 2 with a colour bar. All
    arrays are ``(H, W)`` of the same size (pixels).
    """
    import matplotlib.pyplot as plt
    from skimage.color import label2rgb

    shapes = {a.shape for a in (image, instances, target, weights)}
    if len(shapes) != 1 or len(next(iter(shapes))) != 2:
        raise ValueError(f"expected four (H, W) arrays of one shape, got shapes {sorted(shapes)}")
    # two by two: each panel about half the book's column wide, large enough to see
    # the two-pixel separation borders
    h, w = image.shape
    fig, grid = plt.subplots(2, 2, figsize=(10, 8.4 * h / w + 1.2))
    axes = grid.ravel()
    panels = [
        (image, "gray", "(a) raw image"),
        (label2rgb(instances, bg_label=0), None, "(b) instances (colours)"),
        (target, "gray", "(c) target with separation borders"),
        (weights, "jet", "(d) weight map w(x)"),
    ]
    for ax, (data, cmap, name) in zip(axes, panels):
        shown = ax.imshow(data, cmap=cmap, interpolation="nearest")
        ax.set_title(name)
    for ax in grid[1]:
        ax.set_xlabel("x (px)")
    for ax in grid[:, 0]:
        ax.set_ylabel("y (px)")
    fig.colorbar(shown, ax=axes[3], fraction=0.046, label="weight")
    if title:
        fig.suptitle(title)
    return fig
