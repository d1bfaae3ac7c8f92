"""Tests of unet_tutorial.exercises: show_source and the checkers of the chapters' exercises.

Every checker must pass the package's own implementation *and* a from-scratch one written
the way a reader would, fail each common mistake with the message that names it, and never
raise because of the reader's code (an unfinished stub raising NotImplementedError included).
"""

from __future__ import annotations

import doctest

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from scipy import ndimage as ndi
from torch import nn

import unet_tutorial._exercise_kit as kit
import unet_tutorial.exercises as ex
from unet_tutorial.augment.elastic import dense_field
from unet_tutorial.exercises import (
    CheckReport,
    SourceCode,
    check_crop_and_concat,
    check_displacement_field,
    check_double_conv,
    check_weight_map,
    check_weighted_cross_entropy,
    show_source,
)
from unet_tutorial.losses import weighted_cross_entropy
from unet_tutorial.model import DoubleConv, Up, center_crop
from unet_tutorial.weights import border_weight_map, separation_mask, touching_pairs


def _stub(*args, **kwargs):
    raise NotImplementedError


# --------------------------------------------------------------------------
# Reader-like implementations
# --------------------------------------------------------------------------


def conv_block(pad: int = 0, relu1: bool = True, relu2: bool = True, bias: bool = True,
               kernel: int = 3):
    def factory(cin: int, cout: int) -> nn.Module:
        layers = [nn.Conv2d(cin, cout, kernel, padding=pad, bias=bias)]
        layers += [nn.ReLU()] if relu1 else []
        layers += [nn.Conv2d(cout, cout, kernel, padding=pad, bias=bias)]
        layers += [nn.ReLU()] if relu2 else []
        return nn.Sequential(*layers)
    return factory


class MyDoubleConv(nn.Module):
    def __init__(self, cin: int, cout: int) -> None:
        super().__init__()
        self.conv1, self.conv2 = nn.Conv2d(cin, cout, 3), nn.Conv2d(cout, cout, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.relu(self.conv2(F.relu(self.conv1(x))))


def crop(skip, x, round_up=False, x_first=False, dim=1):
    h, w = x.shape[-2:]
    dh, dw = skip.shape[-2] - h, skip.shape[-1] - w
    top, left = ((dh + 1) // 2, (dw + 1) // 2) if round_up else (dh // 2, dw // 2)
    s = skip[:, :, top : top + h, left : left + w]
    return torch.cat([x, s] if x_first else [s, x], dim=dim)


def field(control, shape, mode="bicubic", corners=True, swap=False, transpose=False):
    c = torch.from_numpy(control)[None]
    if transpose:
        c = c.transpose(-1, -2)
    y = F.interpolate(c, size=tuple(shape), mode=mode, align_corners=corners)[0]
    return y.flip(0) if swap else y


def poked_field(control, shape):
    y = field(control, shape).clone()
    y[1, 5, 7] = 0.0
    return y


def numpy_bicubic(control, shape):
    """Separable cubic convolution (a = -0.75, clamped ends) written out in numpy."""
    def kernel(t, a=-0.75):
        t = np.abs(t)
        inner = (a + 2) * t**3 - (a + 3) * t**2 + 1
        outer = a * t**3 - 5 * a * t**2 + 8 * a * t - 4 * a
        return np.where(t <= 1, inner, np.where(t < 2, outer, 0.0))

    def matrix(n_out, n_in):
        pos = np.arange(n_out) * (n_in - 1) / (n_out - 1)
        m, base = np.zeros((n_out, n_in)), np.floor(pos).astype(int)
        for off in (-1, 0, 1, 2):
            np.add.at(m, (np.arange(n_out), np.clip(base + off, 0, n_in - 1)),
                      kernel(pos - base - off))
        return m

    my, mx = matrix(shape[0], control.shape[1]), matrix(shape[1], control.shape[2])
    return np.einsum("yi,cij,xj->cyx", my, control, mx)


def weight_map(instances, w0=10.0, sigma=5.0, *, everywhere=False, cells_bg=False,
               cells_wc=False, square=True, nearest_only=False, two_sigma_sq=True, use_w0=True):
    """Eq. 2 from scratch: hand-made class balancing, one distance transform per cell."""
    target = separation_mask(instances)
    src = (instances > 0).astype(np.uint8) if cells_wc else target
    n, n_fg = src.size, int(src.sum())
    wc = (np.where(src == 1, n / (2 * n_fg), n / (2 * (n - n_fg))) if 0 < n_fg < n
          else np.ones(src.shape))
    ids = [k for k in np.unique(instances) if k != 0]
    if len(ids) < 2:
        return wc
    d = np.sort(np.stack([ndi.distance_transform_edt(instances != k) for k in ids]), axis=0)
    s = d[0] if nearest_only else d[0] + d[1]
    s = s**2 if square else s
    term = (w0 if use_w0 else 1.0) * np.exp(-s / (2 * sigma**2 if two_sigma_sq else sigma**2))
    bg = True if everywhere else (instances == 0) if cells_bg else (target == 0)
    return wc + term * bg


def loss(logits, target, weight):
    log_p = torch.log_softmax(logits, dim=1)
    return -(weight * log_p.gather(1, target[:, None])[:, 0]).mean()


def _ce(l, t, w):
    return F.cross_entropy(l, t, reduction="none") * w


# --------------------------------------------------------------------------
# Correct implementations pass
# --------------------------------------------------------------------------

CORRECT = [
    pytest.param(check_double_conv, lambda i, o: DoubleConv(i, o), id="conv-package"),
    pytest.param(check_double_conv, conv_block(), id="conv-sequential"),
    pytest.param(check_double_conv, MyDoubleConv, id="conv-module"),
    pytest.param(check_crop_and_concat, lambda s, x: torch.cat([center_crop(s, *x.shape[-2:]), x], 1),
                 id="crop-package"),
    pytest.param(check_crop_and_concat, crop, id="crop-slicing"),
    pytest.param(check_displacement_field,
                 lambda c, s: dense_field(torch.from_numpy(c)[None], *s)[0].numpy(), id="field-package"),
    pytest.param(check_displacement_field, field, id="field-interpolate"),
    pytest.param(check_displacement_field, numpy_bicubic, id="field-numpy"),
    pytest.param(check_weight_map, lambda i, w0=10.0, sigma=5.0: border_weight_map(i, w0=w0, sigma=sigma),
                 id="weights-package"),
    pytest.param(check_weight_map, weight_map, id="weights-scratch"),
    pytest.param(check_weight_map, lambda i, w0=10.0, sigma=5.0: torch.from_numpy(weight_map(i, w0, sigma)),
                 id="weights-tensor"),
    pytest.param(check_weighted_cross_entropy, weighted_cross_entropy, id="loss-package"),
    pytest.param(check_weighted_cross_entropy, loss, id="loss-log-softmax"),
    pytest.param(check_weighted_cross_entropy, lambda l, t, w: _ce(l, t, w).mean(), id="loss-F"),
]


@pytest.mark.parametrize("checker, fn", CORRECT)
def test_correct_implementation_passes(checker, fn):
    report = checker(fn)
    assert report.passed, str(report)
    assert report.messages == [] and report.checks >= 6
    assert str(report) == f"✓ {checker.__name__}: all {report.checks} checks passed"
    assert report.raise_if_failed() is report


# --------------------------------------------------------------------------
# Each common mistake fails with the message that names it
# --------------------------------------------------------------------------

WRONG = [
    (check_double_conv, conv_block(pad=1), "output 20→20: expected 20→16"),
    (check_double_conv, conv_block(pad=1), "did you pad?"),
    (check_double_conv, conv_block(relu2=False), "a ReLU is missing after the last convolution"),
    (check_double_conv, conv_block(relu1=False), "the ReLU after the first convolution is missing"),
    (check_double_conv, conv_block(bias=False), "expected 4 parameter tensors of shapes"),
    (check_double_conv, conv_block(kernel=5), "the paper's convolutions are 3×3"),
    (check_double_conv, lambda i, o: nn.Sequential(nn.Conv2d(i, o, 3), nn.BatchNorm2d(o), nn.ReLU(),
                                                   nn.Conv2d(o, o, 3), nn.ReLU()), "no BatchNorm"),
    (check_double_conv, lambda i, o: nn.Sequential(nn.Conv2d(i, o, 3), nn.ReLU(), nn.Conv2d(i, o, 3),
                                                   nn.ReLU()), "expected 4 parameter tensors"),
    (check_double_conv, lambda i, o: "conv", "returned a str, not an nn.Module"),
    (check_crop_and_concat, lambda s, x: crop(s, x, round_up=True), "the crop is off-centre by 1 px"),
    (check_crop_and_concat, lambda s, x: crop(s, x, round_up=True), "round down"),
    (check_crop_and_concat, lambda s, x: torch.cat([s[..., : x.shape[2], : x.shape[3]], x], 1),
     "the crop is off-centre by 2 px up and 2 px left"),
    (check_crop_and_concat, lambda s, x: crop(s, x, x_first=True), "channels in the wrong order (x first)"),
    (check_crop_and_concat, lambda s, x: crop(s, x).reshape(-1), "wrong output shape"),
    (check_crop_and_concat, lambda s, x: torch.cat([s, F.pad(x, (0, s.shape[3] - x.shape[3], 0,
                                                                 s.shape[2] - x.shape[2]))], 1),
     "skip was not cropped"),
    (check_crop_and_concat, lambda s, x: crop(s, x)[:, : s.shape[1]], "only one of the two maps"),
    (check_crop_and_concat, lambda s, x: crop(s, x).numpy(), "returned a ndarray, not a tensor"),
    (check_crop_and_concat, lambda s, x: torch.cat([center_crop(s, *x.shape[-2:]) * 2, x], 1),
     "the first 3 channels are not the centre crop of skip"),
    (check_displacement_field, lambda c, s: field(c, s, mode="bilinear"), "bilinear, not bicubic"),
    (check_displacement_field, lambda c, s: field(c, s, corners=False),
     "corners do not match the control points (align_corners?)"),
    (check_displacement_field, lambda c, s: field(c, s, swap=True), "dy and dx swapped"),
    (check_displacement_field, lambda c, s: field(c, s, transpose=True), "the control grid is transposed"),
    (check_displacement_field, lambda c, s: field(c, s[::-1]), "(height and width swapped)"),
    (check_displacement_field, lambda c, s: field(c, s).permute(1, 2, 0), "channels last"),
    (check_displacement_field, lambda c, s: field(c, s)[None], "remove the batch axis"),
    (check_displacement_field, lambda c, s: None, "returned None (is the return statement missing?)"),
    (check_displacement_field, lambda c, s: poked_field(c, s),
     "px at component 1, row 5, column 7: expected -1.707, got 0 ("),
    (check_weight_map, lambda i, w0=10.0, sigma=5.0: weight_map(i, w0, sigma, everywhere=True),
     "border term everywhere, not only on background"),
    (check_weight_map, lambda i, w0=10.0, sigma=5.0: weight_map(i, w0, sigma, cells_bg=True),
     "the border term is missing on the separation borders"),
    (check_weight_map, lambda i, w0=10.0, sigma=5.0: weight_map(i, w0, sigma, cells_wc=True),
     "w_c computed on instances > 0"),
    (check_weight_map, lambda i, w0=10.0, sigma=5.0: weight_map(i, w0, sigma, square=False),
     "d1 + d2 not squared"),
    (check_weight_map, lambda i, w0=10.0, sigma=5.0: weight_map(i, w0, sigma, nearest_only=True),
     "only the nearest cell used"),
    (check_weight_map, lambda i, w0=10.0, sigma=5.0: weight_map(i, w0, sigma, two_sigma_sq=False),
     "σ² vs 2σ²"),
    (check_weight_map, lambda i, w0=10.0, sigma=5.0: weight_map(i, w0, sigma, use_w0=False), "w0 missing"),
    (check_weight_map, lambda i, w0=10.0, sigma=5.0: weight_map(i), "the arguments are ignored"),
    (check_weight_map, lambda i, w0=10.0, sigma=5.0: weight_map(i, w0, sigma) + (i == 2) * 0.5,
     "max |difference| 0.5 at pixel (row 3, column 11), inside a cell: expected"),
    (check_weight_map, lambda i: weight_map(i), "unexpected keyword argument 'w0'"),
    (check_weighted_cross_entropy, lambda l, t, w: _ce(l, t, w).sum(), "sum instead of mean"),
    (check_weighted_cross_entropy, lambda l, t, w: _ce(l, t, w).sum(), "N·h·w = 84 times"),
    (check_weighted_cross_entropy, lambda l, t, w: F.cross_entropy(l, t), "weights ignored"),
    (check_weighted_cross_entropy, lambda l, t, w: _ce(l, t, w).sum() / w.sum(),
     "divided by the sum of the weights"),
    (check_weighted_cross_entropy, lambda l, t, w: -loss(l, t, w), "sign error"),
    (check_weighted_cross_entropy,
     lambda l, t, w: -(w * torch.log_softmax(l, -1).gather(1, t[:, None])[:, 0]).mean(),
     "softmax over the wrong axis (3)"),
    (check_weighted_cross_entropy, lambda l, t, w: loss(l, (t + 1) % l.shape[1], w),
     "log-probability of the wrong class"),
    (check_weighted_cross_entropy,
     lambda l, t, w: -(w * torch.softmax(l, 1).gather(1, t[:, None])[:, 0]).mean(),
     "probability instead of log-probability"),
    (check_weighted_cross_entropy, lambda l, t, w: -(w * l.gather(1, t[:, None])[:, 0]).mean(),
     "no soft-max"),
    (check_weighted_cross_entropy, lambda l, t, w: loss(l, t, w).item(), "back-propagates"),
    (check_weighted_cross_entropy, _ce, "not a scalar for logits of shape (2, 2, 6, 7): take the mean"),
    (check_weighted_cross_entropy, lambda l, t, w: loss(l, t, w) * float("nan"), "the loss is nan"),
    (check_weighted_cross_entropy, lambda l, t, w: loss(l, t, w) * 1.1, "(ratio 1.1)"),
]


@pytest.mark.parametrize("checker, fn, message", WRONG,
                         ids=[f"{c.__name__[6:]}-{m[:30]}" for c, _, m in WRONG])
def test_wrong_implementation_fails_with_its_message(checker, fn, message):
    report = checker(fn)
    assert not report.passed
    assert any(message in m for m in report.messages), str(report)
    assert str(report).startswith(f"✗ {checker.__name__}: not yet\n  - ")
    with pytest.raises(AssertionError, match="not yet"):
        report.raise_if_failed()


def test_a_problem_seen_in_several_cases_is_reported_once():
    report = check_double_conv(conv_block(pad=1))
    assert len(report.messages) == 1 and report.messages[0].endswith("(and in 2 more cases)")


CHECKERS = [check_double_conv, check_crop_and_concat, check_displacement_field, check_weight_map,
            check_weighted_cross_entropy]


@pytest.mark.parametrize("checker", CHECKERS, ids=lambda c: c.__name__)
def test_a_stub_gives_the_hint_without_raising(checker):
    report = checker(_stub)
    assert not report.passed
    assert report.messages == [
        "your function raised NotImplementedError: write it, then run this cell again"]


@pytest.mark.parametrize("checker", CHECKERS, ids=lambda c: c.__name__)
def test_any_exception_or_odd_value_becomes_a_message(checker):
    def boom(*args, **kwargs):
        raise ValueError("boom")

    report = checker(boom)
    assert not report.passed and "your function raised ValueError('boom') for " in report.messages[0]
    for odd in (None, 3, object(), "text"):
        report = checker(lambda *a, _odd=odd, **k: _odd)
        assert not report.passed and report.messages, odd
    assert checker(42).messages == [f"{checker.__name__} needs your function, got int"]


def test_a_failing_module_call_names_the_input_shape():
    class Broken(nn.Module):
        def forward(self, x):
            raise ValueError("bad")

    report = check_double_conv(lambda i, o: Broken())
    assert "raised ValueError('bad') for input of shape (2, 3, 20, 20)" in report.messages[-1]


def test_reports_are_deterministic_and_leave_the_global_rng_alone():
    torch.manual_seed(0)
    before = torch.rand(3)
    torch.manual_seed(0)
    first = [str(c(f)) for c, f in ((check_double_conv, conv_block(relu1=False, relu2=False)),
                                     (check_weighted_cross_entropy, lambda l, t, w: loss(l, t, w) * 2))]
    assert torch.equal(torch.rand(3), before)
    second = [str(c(f)) for c, f in ((check_double_conv, conv_block(relu1=False, relu2=False)),
                                      (check_weighted_cross_entropy, lambda l, t, w: loss(l, t, w) * 2))]
    assert first == second


def test_the_weight_map_images_have_touching_and_separate_cells():
    a, b, c = ex._instance_images()
    assert touching_pairs(a).tolist() == [[1, 2]] and len(np.unique(a)) == 6
    assert len(touching_pairs(b)) >= 1 and len(np.unique(b)) - 1 > len(touching_pairs(b))
    assert len(np.unique(c)) == 2


def test_report_markdown():
    ok, bad = CheckReport("check_x", True, [], 4), CheckReport("check_x", False, ["a", "b"], 4)
    assert ok._repr_markdown_() == "✓ **check_x**: all 4 checks passed"
    assert bad._repr_markdown_() == "✗ **check_x**: not yet\n\n- a\n- b"
    assert repr(bad) == str(bad) == "✗ check_x: not yet\n  - a\n  - b"


def test_the_docstring_examples_run():
    for module in (ex, kit):
        result = doctest.testmod(module)
        assert result.failed == 0 and result.attempted > 0, module.__name__


# --------------------------------------------------------------------------
# show_source
# --------------------------------------------------------------------------


def _only_a_docstring():
    """Nothing else."""


def test_show_source_gives_the_real_source():
    src = show_source(DoubleConv)
    assert isinstance(src, SourceCode)
    text = str(src)
    assert text.splitlines()[0] == "# unet_tutorial/model.py, DoubleConv"
    assert "class DoubleConv(nn.Sequential):" in text and "nn.ReLU(inplace=True)" in text
    assert '"""Two 3×3 convolutions' in text and repr(src) == text
    assert src._repr_markdown_() == f"```python\n{text}\n```"


def test_show_source_without_docstring_keeps_signature_and_body():
    text = str(show_source(DoubleConv, docstring=False))
    assert '"""' not in text and "class DoubleConv(nn.Sequential):" in text and "def __init__" in text
    own = str(show_source(_only_a_docstring, docstring=False))
    assert own == "# tests/test_exercises.py, _only_a_docstring\ndef _only_a_docstring():\n    ..."


def test_show_source_slices_and_dedents_a_method():
    text = str(show_source(Up.forward, start="skip = center_crop", stop="return"))
    header, *body = text.splitlines()
    assert header.startswith("# unet_tutorial/model.py, Up.forward (lines ")
    assert body == ["skip = center_crop(skip, x.shape[-2], x.shape[-1])",
                    "return self.conv(torch.cat([skip, x], dim=1))"]
    assert str(show_source(Up.forward)).splitlines()[1].startswith("def forward(self")
    assert str(show_source(center_crop, stop="top =")).splitlines()[-1] == "    top = (x.shape[-2] - height) // 2"


def test_show_source_of_several_objects():
    text = str(show_source(center_crop, Up))
    assert "# unet_tutorial/model.py, center_crop\ndef center_crop(" in text
    assert "\n\n# unet_tutorial/model.py, Up\nclass Up(nn.Module):" in text


def test_show_source_errors_name_the_problem():
    with pytest.raises(TypeError, match="a built-in without Python source"):
        show_source(len)
    with pytest.raises(TypeError, match="an instance of DoubleConv .pass the class DoubleConv"):
        show_source(DoubleConv(1, 2))
    with pytest.raises(TypeError, match="the module unet_tutorial.exercises"):
        show_source(ex)
    with pytest.raises(TypeError, match="at least one"):
        show_source()
    with pytest.raises(TypeError, match="start must be a string"):
        show_source(DoubleConv, start=3)
    with pytest.raises(ValueError, match="start text 'no such line' not found in the source of DoubleConv"):
        show_source(DoubleConv, start="no such line")
    with pytest.raises(ValueError, match="stop text 'class' not found .* after the start line"):
        show_source(DoubleConv, start="super", stop="class")
    with pytest.raises(ValueError, match="one object; got 2"):
        show_source(DoubleConv, Up, start="def")
