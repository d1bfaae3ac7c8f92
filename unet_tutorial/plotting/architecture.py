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



def draw_architecture(trace: list[LayerShape], ax=None, *, title: str | None = None):
    """Draw the U-shaped diagram of Fig. 1 from a :meth:`UNet.trace`.

    Every box is one feature map of the trace: its height grows with the x-y
    size, its width with the number of channels (log scale), and the numbers
    written on the drawing (channels above, size beside) are read from the
    trace, i.e. from the real layers. Arrows follow Fig. 1: blue = 3×3
    convolution + ReLU, red = 2×2 max-pool, green = 2×2 up-convolution,
    grey = copy and crop, teal = the final 1×1 convolution. White boxes are
    the cropped copies concatenated from the contracting path.

    Returns the matplotlib ``Axes``.
    """
    import matplotlib.pyplot as plt
    from matplotlib.patches import FancyArrowPatch, Patch, Rectangle

    if ax is None:
        _, ax = plt.subplots(figsize=(14, 7))
    max_ch = max(r.channels for r in trace)
    max_hw = max(r.height for r in trace)
    depth = max(r.level for r in trace)
    level_gap = 2.6

    def box_w(ch: int) -> float:
        return 0.12 + 0.5 * math.log2(ch + 1) / math.log2(max_ch + 1)

    def box_h(hw: int) -> float:
        return 0.45 + 1.45 * hw / max_hw

    def arrow(x0: float, y0: float, x1: float, y1: float, kind: str) -> None:
        ax.add_patch(
            FancyArrowPatch((x0, y0), (x1, y1), arrowstyle="-|>", mutation_scale=9,
                            color=_ARROW_COLOURS[kind], lw=1.4, shrinkA=0, shrinkB=0)
        )

    x = 0.0
    placed: dict[str, tuple[float, float, float, float]] = {}  # name -> (x, y_centre, w, h)
    for i, r in enumerate(trace):
        prev = trace[i - 1] if i else None
        y = -r.level * level_gap
        w, h = box_w(r.channels), box_h(r.height)
        fill = "#d6e4f5"
        if r.kind == "input":
            fill = "#f5f5f5"
        elif r.kind in ("conv3x3", "conv1x1", "upconv"):
            px, py, pw, ph = placed[prev.name]
            x = px + pw + 0.4
            if r.kind == "upconv":
                # leave room on the left for the white copied half (Fig. 1)
                nxt = trace[i + 1] if i + 1 < len(trace) else None
                if nxt is not None and nxt.kind == "concat":
                    x += box_w(nxt.channels - r.channels)
                arrow(px + pw / 2, py + ph / 2, x + w / 2, y - h / 2, "upconv")
            else:
                arrow(px + pw, py, x, y, r.kind)
        elif r.kind == "maxpool":
            px, py, pw, ph = placed[prev.name]
            x = px
            arrow(px + pw / 2, py - ph / 2, px + pw / 2, y + h / 2, "maxpool")
        elif r.kind == "concat":
            # the cropped copy from the contracting path, left of the up-convolved half
            px, py, pw, ph = placed[prev.name]
            w = box_w(r.channels - prev.channels)
            x = px - w
            fill = "white"
            sx, sy, sw, _ = placed[f"enc{r.level}.conv2"]
            arrow(sx + sw, sy, x, y, "copy")
        ax.add_patch(Rectangle((x, y - h / 2), w, h, facecolor=fill, edgecolor="black", lw=0.8))
        channels = r.channels - prev.channels if r.kind == "concat" else r.channels
        ax.text(x + w / 2, y + h / 2 + 0.05, str(channels), ha="center", va="bottom", fontsize=7)
        if r.kind != "concat":
            ax.text(x + 0.02, y - h / 2 - 0.04, f"{r.height}×{r.width}", ha="right", va="top",
                    fontsize=6, rotation=90)
        placed[r.name] = (x, y, w, h)
        if r.kind == "concat":  # the next convolution reads both halves
            placed[r.name] = (x, y, w + placed[prev.name][2], h)
        x_end = x + w
    ax.set_xlim(-0.6, x_end + 0.6)
    ax.set_ylim(-depth * level_gap - 1.6, 1.4)
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
        loc="lower right", fontsize=8, frameon=False,
    )
    if title:
        ax.set_title(title)
    return ax
