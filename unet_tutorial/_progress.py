"""Progress bars that are stored finished, not at 0 %, in executed notebooks.

Every loop of the package that shows a bar calls :func:`progress_bar` (``tqdm``'s arguments)
instead of ``tqdm.auto.tqdm``. Outside a Jupyter kernel it *is* ``tqdm.auto.tqdm``: a
text bar on stderr, ``disable=`` respected.

In a kernel ``tqdm`` draws an ipywidgets bar. A widget's output is stored in the
notebook (by nbclient/nbconvert, by JupyterLab's save) as a widget view plus a
``text/plain`` fallback, and that fallback is the bar's text at the moment it was
*displayed*: ``"0%|          | 0/800"``. The book (which has no widget state) renders the
fallback, so every bar would read 0 %. Here the widget is displayed with a display id;
when the bar closes, that display is updated (``update_display_data``, which nbclient
and the front ends apply to the stored output) with the same widget view and the
finished text, e.g. ``"train cpu: 100%|██████████| 800/800 [02:10<00:00, 6.1step/s]"``.
A bar with ``leave=False`` is replaced by an empty display: it leaves nothing behind,
in the live notebook as in the book. A bar that stops early (an error, an interrupt)
keeps its last text, so the stored output tells where it stopped.

No matplotlib, no torch: numerical modules import this.
"""

from __future__ import annotations

import functools
import sys
from typing import Any

__all__ = ["progress_bar"]

WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"


def progress_bar(iterable: Any = None, *args: Any, **kwargs: Any):
    """A ``tqdm`` progress bar: ``tqdm.auto.tqdm(iterable, *args, **kwargs)``.

    The same arguments, return value and behaviour as ``tqdm.auto.tqdm`` (iterate over
    it, or ``update``/``close`` it by hand, or use it as a context manager), except that
    in a Jupyter kernel the notebook output it leaves is the finished bar (see the
    module's docstring).
    """
    return bar_class()(iterable, *args, **kwargs)


def bar_class() -> type:
    """The class :func:`progress_bar` instantiates: ``tqdm.auto.tqdm``, or in a Jupyter kernel
    (where ``tqdm.auto`` picks the ipywidgets bar) its subclass that finishes its output."""
    from tqdm.auto import tqdm as auto

    notebook = sys.modules.get("tqdm.notebook")  # imported by tqdm.auto only in a kernel
    if notebook is not None and issubclass(auto, notebook.tqdm_notebook):
        return notebook_bar_class(auto)
    return auto


def finished_text(bar) -> str:
    """The bar's line as text, with a 10-character bar of Unicode blocks (as in a terminal)."""
    d = dict(bar.format_dict)
    d.update(ncols=None, nrows=None, ascii=False)
    return bar.format_meter(**d)


@functools.cache
def notebook_bar_class(base: type) -> type:
    """The subclass of ``base`` (a ``tqdm.notebook.tqdm``) that displays its widget with a
    display id and, on ``close``, updates that display to the finished bar (or to nothing
    for ``leave=False``)."""
    import IPython.display

    class NotebookBar(base):
        _handle = None  # the DisplayHandle once the widget is shown

        def __init__(self, *args: Any, **kwargs: Any) -> None:
            show = kwargs.pop("display", True)
            kwargs["display"] = False  # shown below, with a display id
            super().__init__(*args, **kwargs)
            if show and not self.disable and self.delay <= 0:
                self._show()

        def _bundle(self) -> dict:
            return {"text/plain": finished_text(self),
                    WIDGET_VIEW: {"version_major": 2, "version_minor": 0,
                                  "model_id": self.container._model_id}}

        def _show(self) -> None:
            self._handle = IPython.display.display(self._bundle(), raw=True, display_id=True)
            self.displayed = True

        def display(self, msg=None, pos=None, close=False, bar_style=None, check_delay=True):
            super().display(msg, pos, close=close, bar_style=bar_style, check_delay=False)
            if check_delay and self.delay > 0 and not self.displayed:
                self._show()

        def close(self) -> None:
            if self.disable:  # never shown, or closed already
                return
            super().close()
            if self._handle is None:
                return
            failed = self.container.children[1].bar_style == "danger"
            self._handle.update(self._bundle() if (self.leave or failed) else {}, raw=True)

    NotebookBar.__name__ = NotebookBar.__qualname__ = "NotebookBar"
    return NotebookBar
