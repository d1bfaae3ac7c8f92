"""The course's figure defaults: one call, :func:`setup_figures`, in each chapter's import cell.

The book shows a chapter's figures in a column about 750 px wide (the browser test's
1280-px window), a notebook a little wider. matplotlib's defaults were made for neither:
10-pt text that becomes 6 px when a wide figure is scaled into the column, titles and
colour bars that collide, thin membranes that vanish or alias when a 512-px image is
shown in a 250-px panel. :data:`FIGURE_DEFAULTS` lists what :func:`setup_figures` sets.

The notebooks' inline backend already saves every figure with ``bbox_inches="tight"``
(nothing is cut off); nothing here changes that.
"""

from __future__ import annotations

from typing import Any

__all__ = ["FIGURE_DEFAULTS", "setup_figures", "tidy_layout"]

FIGURE_DEFAULTS: dict[str, Any] = {
    # 100 dots per inch: a figure of 8 inches is 800 px, the width of the book's column
    "figure.dpi": 100,
    "figure.figsize": (8.0, 4.5),
    # files written with savefig: sharper than the screen, trimmed to what is drawn
    "savefig.dpi": 150,
    "savefig.bbox": "tight",
    # titles, colour bars, axis labels and suptitles make room for each other
    "figure.constrained_layout.use": True,
    # text readable at the column's width (a 14-inch figure is shown at about half size)
    "font.size": 11,
    "axes.titlesize": 12,
    "axes.labelsize": 11,
    "xtick.labelsize": 10,
    "ytick.labelsize": 10,
    "legend.fontsize": 10,
    "figure.titlesize": 13,
    # images shown smaller than their pixels are filtered (no aliasing of thin lines), shown
    # much larger stay crisp pixels; matplotlib >= 3.10 calls this "auto", before "antialiased"
    "image.interpolation": "auto",
}


def setup_figures(rc: dict[str, Any] | None = None) -> dict[str, Any]:
    """Set the course's matplotlib defaults (:data:`FIGURE_DEFAULTS`) for this session.

    Call it once, after ``import matplotlib.pyplot as plt``, in a chapter's import cell
    (it imports pyplot itself first, so that the inline backend's own settings, applied
    when pyplot is first imported, do not replace these). ``rc``: further rcParams,
    or other values for these (``setup_figures({"font.size": 12})``).

    With ``figure.constrained_layout.use`` the figures lay themselves out: do not call
    ``fig.tight_layout()`` after it (matplotlib then changes the layout engine with a
    warning, or raises when the figure has a colour bar); the package's figure
    functions use :func:`tidy_layout`.

    Returns the rcParams set, by name.
    """
    import matplotlib
    import matplotlib.pyplot  # the backend's rcParams first, then ours

    settings = dict(FIGURE_DEFAULTS)
    if "auto" not in _interpolations():  # matplotlib < 3.10
        settings["image.interpolation"] = "antialiased"
    settings.update(rc or {})
    matplotlib.rcParams.update(settings)
    return settings


def tidy_layout(fig) -> None:
    """``fig.tight_layout()``, unless the figure already has a layout engine (such as
    the constrained layout of :func:`setup_figures`), which then does the job."""
    if fig.get_layout_engine() is None:
        fig.tight_layout()


def _interpolations() -> set[str]:
    from matplotlib.image import interpolations_names

    return set(interpolations_names)
