"""All figure code of the package (the numerical modules never import matplotlib).

One module per kind of figure; every name is exported here, so chapters write
``from unet_tutorial.plotting import ...``. Functions draw into a given (or
new) matplotlib ``Axes`` and never call ``plt.show()``.

- :mod:`.images`: overlays, instance colours, warped grids, displacement fields, weight maps (§3, §3.1).
- :mod:`.metrics`: the mistakes left after the warping error's warping, beside the pixel errors (§4).
- :mod:`.architecture`: Fig. 1 from a trace of the network (§2).
- :mod:`.tiles`: Fig. 2, the overlap-tile strategy (§2).
- :mod:`.training`: loss and validation curves, predictions beside the truth (§3).
- :mod:`.experiments`: recorded experiments: error against the number of training images (§3.1), arms side by side,
  held-out curves against training time.
- :mod:`.style`: :func:`setup_figures`, the course's figure defaults (size, dpi, text, layout),
  called once in each chapter's import cell.
"""

from __future__ import annotations

from .architecture import draw_architecture
from .experiments import (plot_arms, plot_curves_by_time, plot_effects, plot_few_images, plot_loss_by_time,
                          plot_paired, plot_runs,
                          plot_threshold_tradeoff)
from .images import (color_instances, grid_image, outline_overlay, overlay, plot_displacement, plot_weight_figure,
                     show_images)
from .metrics import plot_mistakes
from .style import FIGURE_DEFAULTS, setup_figures, tidy_layout
from .tiles import draw_tile_plan
from .training import plot_history, plot_predictions

__all__ = [
    "setup_figures",
    "tidy_layout",
    "FIGURE_DEFAULTS",
    "overlay",
    "color_instances",
    "outline_overlay",
    "grid_image",
    "plot_displacement",
    "show_images",
    "plot_weight_figure",
    "plot_mistakes",
    "draw_architecture",
    "draw_tile_plan",
    "plot_history",
    "plot_predictions",
    "plot_few_images",
    "plot_runs",
    "plot_threshold_tradeoff",
    "plot_paired",
    "plot_effects",
    "plot_loss_by_time",
    "plot_arms",
    "plot_curves_by_time",
]
