"""The course's figure defaults (setup_figures) and Fig. 1's layout (draw_architecture)."""

from __future__ import annotations

import inspect

import matplotlib
import matplotlib.pyplot as plt
import pytest
from matplotlib.patches import FancyArrowPatch, Rectangle
from matplotlib.path import Path

from unet_tutorial.model import UNet
from unet_tutorial.plotting import FIGURE_DEFAULTS, draw_architecture, setup_figures, tidy_layout


@pytest.fixture(autouse=True)
def agg():
    matplotlib.use("Agg")


@pytest.fixture
def course_rc():
    """The course's defaults for one test, matplotlib's own again afterwards."""
    with matplotlib.rc_context():
        yield setup_figures()
    plt.close("all")


def test_setup_figures_sets_what_it_documents(course_rc):
    assert course_rc == FIGURE_DEFAULTS
    for key, value in FIGURE_DEFAULTS.items():
        got = matplotlib.rcParams[key]
        assert (list(got) if isinstance(value, tuple) else got) == (list(value) if isinstance(value, tuple) else value), key
    assert matplotlib.rcParams["figure.dpi"] >= 100
    assert matplotlib.rcParams["image.interpolation"] in ("auto", "antialiased")


def test_a_figure_made_after_it_has_the_defaults(course_rc):
    fig, _ = plt.subplots()
    assert fig.dpi == 100
    assert type(fig.get_layout_engine()).__name__ == "ConstrainedLayoutEngine"
    assert tuple(fig.get_size_inches()) == FIGURE_DEFAULTS["figure.figsize"]


def test_setup_figures_takes_further_rc_params():
    with matplotlib.rc_context():
        settings = setup_figures({"font.size": 13, "axes.grid": True})
        assert settings["font.size"] == 13 and matplotlib.rcParams["font.size"] == 13
        assert matplotlib.rcParams["axes.grid"] is True
        assert matplotlib.rcParams["figure.constrained_layout.use"] is True
    with pytest.raises(KeyError):
        setup_figures({"no.such.param": 1})


def test_tidy_layout_leaves_a_constrained_figure_with_a_colour_bar_alone(course_rc):
    fig, axes = plt.subplots(1, 2)
    fig.colorbar(axes[0].imshow([[0, 1], [2, 3]]), ax=axes[0])
    tidy_layout(fig)  # fig.tight_layout() would raise here
    assert type(fig.get_layout_engine()).__name__ == "ConstrainedLayoutEngine"


def test_tidy_layout_is_tight_layout_without_an_engine():
    fig, _ = plt.subplots(1, 2, layout="none")
    tidy_layout(fig)
    assert type(fig.get_layout_engine()).__name__ in ("TightLayoutEngine", "PlaceHolderLayoutEngine")
    plt.close(fig)


def _hits(path, bbox) -> bool:
    return any(Path(p).intersects_bbox(bbox, filled=False) for p in path.to_polygons(closed_only=False))


def collisions(ax, pad: float = 2.0) -> list[str]:
    """Every number of the drawing that touches an arrow, a box (other than by ``pad``
    pixels) or another number, and what the legend covers."""
    fig = ax.figure
    fig.canvas.draw()
    r = fig.canvas.get_renderer()
    texts = [(t.get_text(), t.get_window_extent(r).padded(pad)) for t in ax.texts]
    arrows = [a.get_transform().transform_path(a.get_path()) for a in ax.patches if isinstance(a, FancyArrowPatch)]
    boxes = [b.get_window_extent(r) for b in ax.patches if isinstance(b, Rectangle)]
    found = []
    for name, bb in texts:
        found += [f"{name!r} on an arrow" for path in arrows if _hits(path, bb)]
        found += [f"{name!r} on a box" for box in boxes if bb.overlaps(box)]
    for i, (a, bb) in enumerate(texts):
        found += [f"{a!r} on {b!r}" for b, other in texts[i + 1:] if bb.overlaps(other)]
    legend = ax.get_legend().get_window_extent(r)
    found += [f"legend on {name!r}" for name, bb in texts if legend.overlaps(bb)]
    found += ["legend on an arrow" for path in arrows if _hits(path, legend)]
    return found


def test_fig1_numbers_are_clear_of_arrows_boxes_and_each_other(course_rc):
    _, ax = plt.subplots(figsize=(14, 7))
    draw_architecture(UNet().trace(572), ax, title="U-Net for a 572×572 tile, traced from the model")
    assert collisions(ax) == []


def test_fig1_without_an_axes_makes_its_own_clean_figure():
    ax = draw_architecture(UNet().trace(572))
    assert tuple(ax.figure.get_size_inches()) == (14, 7)
    assert collisions(ax) == []
    plt.close(ax.figure)


def test_fig1_writes_the_traced_numbers(course_rc):
    trace = UNet().trace(572)
    ax = draw_architecture(trace)
    written = [t.get_text() for t in ax.texts]
    sizes = [f"{r.height}×{r.width}" for r in trace if r.kind != "concat"]
    assert sorted(w for w in written if "×" in w) == sorted(sizes)
    channels = [str(r.channels) for i, r in enumerate(trace)
                if r.kind not in ("maxpool", "upconv")]  # pooled: as above; up-conv: in its concat
    assert sorted(w for w in written if "×" not in w) == sorted(channels)
    assert min(t.get_fontsize() for t in ax.texts) >= 12  # readable at half size in the book


def test_draw_architecture_keeps_its_signature():
    params = inspect.signature(draw_architecture).parameters
    assert list(params)[:2] == ["trace", "ax"]  # the chapters' positional calls keep working
    assert params["title"].kind is inspect.Parameter.KEYWORD_ONLY
    later = list(params)[2:]  # new parameters may join, keyword-only or with a default
    assert all(params[p].kind is inspect.Parameter.KEYWORD_ONLY or params[p].default is not inspect._empty
               for p in later)


def test_plot_history_calls_an_axis_of_errors_an_error_axis_only():
    from unet_tutorial.history import History
    from unet_tutorial.plotting import plot_history

    h = History(step=[1, 2], loss=[1.0, 0.5], val_step=[2], val={"pixel_error": [0.1], "rand": [0.2], "iou": [0.8]})
    _, ax = plot_history(h, metrics=("pixel_error", "rand"))
    assert ax.get_ylabel() == "error on held-out images"
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["pixel_error (lower is better)",
                                                                    "rand (lower is better)"]
    _, ax = plot_history(h, metrics=("pixel_error", "iou"))
    assert ax.get_ylabel() == "held-out metric (see legend)"
    plt.close("all")
