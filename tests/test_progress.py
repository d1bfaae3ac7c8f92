"""Progress bars: tqdm outside Jupyter; in a kernel the stored output is the finished bar."""

from __future__ import annotations

import io
import json
import subprocess
import sys
import textwrap

import pytest
from tqdm.auto import tqdm as auto_tqdm

from unet_tutorial._progress import WIDGET_VIEW, bar_class, finished_text, notebook_bar_class, progress_bar


def test_outside_jupyter_it_is_tqdm_auto_on_the_given_file():
    assert bar_class() is auto_tqdm
    out = io.StringIO()
    assert list(progress_bar(range(4), desc="steps", file=out)) == [0, 1, 2, 3]
    assert "steps: 100%" in out.getvalue() and "4/4" in out.getvalue()


def test_outside_jupyter_disable_prints_nothing():
    out = io.StringIO()
    with progress_bar(total=3, file=out, disable=True) as bar:
        bar.update(3)
    assert out.getvalue() == ""


def test_outside_jupyter_the_default_file_is_stderr(capsys):
    for _ in progress_bar(range(2), desc="here"):
        pass
    captured = capsys.readouterr()
    assert captured.out == "" and "here: 100%" in captured.err


class FakeDisplay:
    """``IPython.display.display`` as nbclient sees it: outputs, updated by display id."""

    def __init__(self):
        self.outputs: list[dict] = []  # the cell's stored outputs, in order
        self._where: dict[str, int] = {}

    def __call__(self, obj, *, raw=False, display_id=None, update=False):
        assert raw and isinstance(obj, dict)
        if display_id is True:
            display_id = f"id{len(self._where)}"
        if update:
            self.outputs[self._where[display_id]] = dict(obj)
        else:
            self._where[display_id] = len(self.outputs)
            self.outputs.append(dict(obj))
        return FakeHandle(self, display_id)


class FakeHandle:
    def __init__(self, display, display_id):
        self.display, self.display_id = display, display_id

    def update(self, obj, **kwargs):
        self.display(obj, display_id=self.display_id, update=True, **kwargs)


@pytest.fixture
def notebook_bar(monkeypatch):
    """The kernel's bar class, with the display recorded by a :class:`FakeDisplay`."""
    pytest.importorskip("ipywidgets")
    import IPython.display
    from tqdm.notebook import tqdm as notebook_tqdm

    fake = FakeDisplay()
    monkeypatch.setattr(IPython.display, "display", fake)
    return notebook_bar_class(notebook_tqdm), fake


def test_a_finished_bar_is_stored_at_100_percent_with_its_widget(notebook_bar):
    cls, shown = notebook_bar
    bar = cls(range(5), desc="train cpu", unit="step")
    assert len(shown.outputs) == 1 and "0%" in shown.outputs[0]["text/plain"]  # as displayed
    for _ in bar:
        pass
    (out,) = shown.outputs
    assert out["text/plain"].startswith("train cpu: 100%|██████████| 5/5 ")
    assert "step/s" in out["text/plain"]
    assert out[WIDGET_VIEW]["model_id"] == bar.container._model_id  # the live widget still renders


def test_postfix_and_a_manual_bar_closed_by_the_context_manager(notebook_bar):
    cls, shown = notebook_bar
    with cls(total=8, desc="train", dynamic_ncols=True) as bar:
        bar.update(8)
        bar.set_postfix(loss="0.2100", refresh=False)
    text = shown.outputs[0]["text/plain"]
    assert "100%|██████████| 8/8" in text and "loss=0.2100" in text and "…" not in text


def test_leave_false_leaves_nothing(notebook_bar):
    cls, shown = notebook_bar
    with cls(total=3, desc="tiles", leave=False) as bar:
        bar.update(3)
    assert shown.outputs == [{}]


def test_a_bar_that_stops_early_keeps_where_it_stopped(notebook_bar):
    cls, shown = notebook_bar
    bar = cls(total=10, desc="broken", leave=False)
    bar.update(3)
    bar.close()
    bar.close()  # a second close (tqdm's __del__ does one) changes nothing
    assert shown.outputs[0]["text/plain"].startswith("broken:  30%|███")


def test_a_disabled_notebook_bar_displays_nothing(notebook_bar):
    cls, shown = notebook_bar
    for _ in cls(range(3), disable=True):
        pass
    assert shown.outputs == []


def test_finished_text_uses_blocks_and_a_fixed_width():
    bar = auto_tqdm(total=4, desc="x", file=io.StringIO(), dynamic_ncols=True)
    bar.update(2)
    assert "50%|█████     | 2/4" in finished_text(bar)
    bar.close()


@pytest.mark.slow
def test_in_a_kernel_executed_by_nbclient_the_stored_text_is_the_finished_bar(tmp_path):
    """The real path: a notebook executed like `jupyter nbconvert --execute`."""
    for name in ("nbclient", "nbformat", "ipykernel", "ipywidgets"):
        pytest.importorskip(name)
    code = textwrap.dedent(f"""
        import json, nbformat
        from nbclient import NotebookClient
        nb = nbformat.v4.new_notebook()
        nb.cells = [nbformat.v4.new_code_cell(c) for c in (
            "from unet_tutorial._progress import progress_bar",
            "for _ in progress_bar(range(30), desc='loop', unit='step'): pass",
            "with progress_bar(total=4, desc='tiles', leave=False) as b: b.update(4)",
        )]
        NotebookClient(nb, kernel_name="python3", timeout=120,
                       resources={{"metadata": {{"path": {str(tmp_path)!r}}}}}).execute()
        print(json.dumps([c.outputs for c in nb.cells]))
    """)
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300, check=False)
    assert run.returncode == 0, run.stderr[-2000:]
    _, loop, tiles = json.loads(run.stdout.strip().splitlines()[-1])
    (out,) = loop
    assert out["data"]["text/plain"].startswith("loop: 100%|██████████| 30/30"), out
    assert WIDGET_VIEW in out["data"]
    assert [o["data"] for o in tiles if o["output_type"] == "display_data"] == [{}]
