"""Fig. 2 drawn from a tile plan: the overlap-tile strategy (§2)."""

from __future__ import annotations

import numpy as np
import torch

from ..inference.tiling import TilePlan, mirror_pad, tile_boxes

__all__ = ["draw_tile_plan"]


def draw_tile_plan(
    plan: TilePlan,
    image,
    ax=None,
    *,
    tile: int = 0,
    grid: bool = True,
    veil: float = 0.3,
):
    """Draw Fig. 2 of the paper for ``plan``: the overlap-tile strategy on ``image``.

    Shows the image mirror-padded as :func:`predict_tiled` pads it (the mirrored
    part under a white veil of opacity ``veil``, the image border dashed), the
    output area of every tile (thin white lines, if ``grid``), and for tile
    ``tile`` its input area (blue) and output area (yellow). Axes are in
    image pixels (negative: the mirrored extension).

    Args:
        plan: from :func:`plan_tiles` for this image's size.
        image: gray ``(H, W)`` or ``(1, H, W)`` numpy array or tensor, ``H × W``
            as planned; gray values in ``[0, 1]`` are shown as they are.
        ax: a matplotlib ``Axes``; default a new figure's.
        tile: which tile to highlight (index into :attr:`TilePlan.positions`).
        grid: draw the output areas of all tiles.
        veil: opacity in ``[0, 1]`` of the white veil over the mirrored part.

    Returns:
        The ``Axes``.

    Raises:
        ValueError: if the image is not gray, or its size differs from the plan's,
            or ``tile``/``veil`` is out of range.
    """
    import matplotlib.pyplot as plt
    from matplotlib.patches import Rectangle

    img = image.detach().cpu().numpy() if isinstance(image, torch.Tensor) else np.asarray(image)
    if img.ndim == 3 and img.shape[0] == 1:
        img = img[0]
    if img.ndim != 2 or img.shape != (plan.height, plan.width):
        raise ValueError(
            f"image must be gray (H, W) = ({plan.height}, {plan.width}) as planned, got shape {np.shape(image)}"
        )
    if not 0.0 <= veil <= 1.0:
        raise ValueError(f"veil must be an opacity in [0, 1], got {veil!r}")
    boxes = tile_boxes(plan, tile)
    if ax is None:
        _, ax = plt.subplots(figsize=(6, 6))
    top, bottom, left, right = plan.pad
    padded = mirror_pad(img.astype(np.float32), top, bottom, left, right)
    extent = (-left - 0.5, plan.width + right - 0.5, plan.height + bottom - 0.5, -top - 0.5)
    ax.imshow(padded, cmap="gray", vmin=0, vmax=1, extent=extent, interpolation="nearest")
    if veil > 0:
        outside = np.ones(padded.shape, bool)
        outside[top : top + plan.height, left : left + plan.width] = False
        rgba = np.zeros((*padded.shape, 4), np.float32)
        rgba[outside] = (1.0, 1.0, 1.0, veil)
        ax.imshow(rgba, extent=extent, interpolation="nearest")

    def rect(box, **kw):
        t, l, h, w = box
        ax.add_patch(Rectangle((l - 0.5, t - 0.5), w, h, fill=False, **kw))

    if grid:
        for i in range(plan.num_tiles):
            rect(tile_boxes(plan, i)["output"], edgecolor="white", linewidth=0.8, alpha=0.8)
    rect(boxes["image"], edgecolor="black", linewidth=1.5, linestyle="--", label="image border")
    rect(boxes["input"], edgecolor="tab:blue", linewidth=2.5, label=f"input tile {plan.tile_size} px")
    rect(boxes["output"], edgecolor="gold", linewidth=2.5, label=f"output tile {plan.out_size} px")
    ax.legend(loc="upper right", fontsize=8, framealpha=0.9)
    ax.set_xlim(extent[0], extent[1])
    ax.set_ylim(extent[2], extent[3])
    ax.set_xlabel("x (px, image coordinates)")
    ax.set_ylabel("y (px)")
    return ax
