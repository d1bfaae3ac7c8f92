"""Fig. 1 drawn from a trace of the real network (:meth:`unet_tutorial.model.UNet.trace`)."""

from __future__ import annotations

import math

from ..model import LayerShape

__all__ = ["draw_architecture"]

_ARROW_COLOURS = {
    "conv3x3": "#1f5fbf",  # blue: conv 3x3, ReLU
    "maxpool": "#c0392b",  # red: max pool 2x2
    "upconv": "#1e8449",  # green: up-conv 2x2
    "conv1x1": "#17a2b8",  # teal: conv 1x1
    "copy": "#7f8c8d",  # grey: copy and crop
}

# Text sizes (points) for the figure size the chapters use, (14, 7) inches = 1400 px: the
# book shows it at about half size (a 750-px column), where 13 pt are still 9 px.
CHANNEL_FONTSIZE = 14
SIZE_FONTSIZE = 13
LEGEND_FONTSIZE = 13
TITLE_FONTSIZE = 15


def draw_architecture(trace: list[LayerShape], ax=None, *, title: str | None = None):
    """Draw the U-shaped diagram of Fig. 1 from a :meth:`UNet.trace`.

    Every box is one feature map of the trace: its height grows with the x-y
    size, its width with the number of channels (log scale), and the numbers
    written on the drawing (channels above, x-y size below each box, rotated)
    are read from the trace, i.e. from the real layers. As in Fig. 1, a
    max-pooled map (which keeps the channels of the map above it) has no
    channel number, and a white box (the cropped copy from the contracting
    path) with the up-convolved map beside it carries one number: the channels
    of their concatenation, which the next convolution reads. Arrows follow
    Fig. 1: blue = 3×3 convolution + ReLU, red = 2×2 max-pool, green = 2×2
    up-convolution, grey = copy and crop, teal = the final 1×1 convolution.
    No arrow crosses a number, and no number another, in a figure of 14 × 7
    inches with a constrained layout (:func:`~unet_tutorial.plotting.setup_figures`
    sets it; the figure made when ``ax`` is ``None`` has it), as in chapter 1.

    Returns the matplotlib ``Axes``.
    """
    import matplotlib.pyplot as plt
    from matplotlib.patches import FancyArrowPatch, Patch, Rectangle

    if ax is None:
        _, ax = plt.subplots(figsize=(14, 7), layout="constrained")
    max_ch = max(r.channels for r in trace)
    max_hw = max(r.height for r in trace)
    depth = max(r.level for r in trace)
    level_gap = 3.0  # vertical distance of two levels (their box centres)
    gap = 0.45  # horizontal space between the boxes of a level
    # An up-convolved box stands right of the box it comes from, its size label (hanging
    # below its left edge) clear of that box's channel number.
    up_clearance = 0.95

    def box_w(ch: int) -> float:
        return 0.12 + 0.5 * math.log2(ch + 1) / math.log2(max_ch + 1)

    def box_h(hw: int) -> float:
        return 0.45 + 1.45 * hw / max_hw

    def arrow(x0: float, y0: float, x1: float, y1: float, kind: str, elbow: bool = False) -> None:
        style = "angle,angleA=0,angleB=90,rad=0" if elbow else "arc3"
        ax.add_patch(
            FancyArrowPatch((x0, y0), (x1, y1), arrowstyle="-|>", mutation_scale=12,
                            color=_ARROW_COLOURS[kind], lw=1.6, shrinkA=0, shrinkB=0,
                            connectionstyle=style)
        )

    def channels_label(x: float, top: float, channels: int) -> None:
        ax.text(x, top + 0.06, str(channels), ha="center", va="bottom", fontsize=CHANNEL_FONTSIZE)

    x = 0.0
    placed: dict[str, tuple[float, float, float, float]] = {}  # name -> (x, y_centre, w, h)
    for i, r in enumerate(trace):
        prev = trace[i - 1] if i else None
        nxt = trace[i + 1] if i + 1 < len(trace) else None
        y = -r.level * level_gap
        w, h = box_w(r.channels), box_h(r.height)
        fill = "#d6e4f5"
        if r.kind == "input":
            fill = "#f5f5f5"
        elif r.kind in ("conv3x3", "conv1x1"):
            px, py, pw, ph = placed[prev.name]
            x = px + pw + gap
            arrow(px + pw, py, x, y, r.kind)
        elif r.kind == "upconv":
            # up and to the right of the box it comes from: out of its right side, then up
            px, py, pw, ph = placed[prev.name]
            x = max(px + pw + gap, px + pw / 2 + up_clearance)
            arrow(px + pw, py, x + w / 2, y - h / 2, "upconv", elbow=True)
        elif r.kind == "maxpool":
            # straight down from the box above (which has its size label at its left edge)
            px, py, pw, ph = placed[prev.name]
            x = px + (pw - w) / 2
            arrow(px + pw / 2, py - ph / 2, x + w / 2, y + h / 2, "maxpool")
        elif r.kind == "concat":
            # the cropped copy from the contracting path, left of the up-convolved half
            px, py, pw, ph = placed[prev.name]
            w = box_w(r.channels - prev.channels)
            x = px - w
            fill = "white"
            sx, sy, sw, _ = placed[f"enc{r.level}.conv2"]
            arrow(sx + sw, sy, x, y, "copy")
        ax.add_patch(Rectangle((x, y - h / 2), w, h, facecolor=fill, edgecolor="black", lw=0.8))
        if r.kind == "concat":
            channels_label(x + (w + placed[prev.name][2]) / 2, y + h / 2, r.channels)
        elif r.kind != "maxpool" and not (nxt is not None and nxt.kind == "concat"):
            channels_label(x + w / 2, y + h / 2, r.channels)
        if r.kind != "concat":
            ax.text(x - 0.06, y - h / 2 - 0.06, f"{r.height}×{r.width}", ha="right", va="top",
                    fontsize=SIZE_FONTSIZE, rotation=90)
        placed[r.name] = (x, y, w, h)
        if r.kind == "concat":  # the next convolution reads both halves
            placed[r.name] = (x, y, w + placed[prev.name][2], h)
        x_end = x + w
    ax.set_xlim(-0.7, x_end + 0.3)
    ax.set_ylim(-depth * level_gap - 1.9, 1.5)
    ax.set_aspect("auto")
    ax.axis("off")
    ax.legend(
        handles=[Patch(color=c, label=l) for c, l in [
            (_ARROW_COLOURS["conv3x3"], "conv 3×3, ReLU"),
            (_ARROW_COLOURS["copy"], "copy and crop"),
            (_ARROW_COLOURS["maxpool"], "max pool 2×2"),
            (_ARROW_COLOURS["upconv"], "up-conv 2×2"),
            (_ARROW_COLOURS["conv1x1"], "conv 1×1"),
        ]],
        loc="lower right", fontsize=LEGEND_FONTSIZE, frameon=False,
    )
    if title:
        ax.set_title(title, fontsize=TITLE_FONTSIZE)
    return ax
