"""The energy function of §3 (Eq. 1): weighted pixel-wise soft-max cross-entropy."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from unet_tutorial.losses import weighted_cross_entropy


def formula_loss(logits: np.ndarray, target: np.ndarray, weight: np.ndarray) -> float:
    """−(1/|Ω|) Σ_x w(x) log p_ℓ(x)(x), written out with loops, exp, sum and log.

    ``target`` and ``weight`` are already cropped to the logits' size.
    """
    n, k, h, w = logits.shape
    total = 0.0
    for b in range(n):
        for i in range(h):
            for j in range(w):
                denom = sum(math.exp(float(logits[b, c, i, j])) for c in range(k))
                p_true = math.exp(float(logits[b, int(target[b, i, j]), i, j])) / denom
                total += float(weight[b, i, j]) * math.log(p_true)
    return -total / (n * h * w)


@pytest.fixture
def small():
    rng = np.random.default_rng(0)
    logits = rng.normal(0, 2, size=(2, 3, 4, 5))
    # target/weight larger than the output map by 3 px on each side (like the
    # input tile of the unpadded network), with an odd difference in width
    target = rng.integers(0, 3, size=(2, 10, 12))
    weight = rng.uniform(0.1, 5.0, size=(2, 10, 12))
    return logits, target, weight


def test_matches_the_formula_with_center_crop(small):
    logits, target, weight = small
    top, left = (10 - 4) // 2, (12 - 5) // 2
    t_c = target[:, top : top + 4, left : left + 5]
    w_c = weight[:, top : top + 4, left : left + 5]
    expected = formula_loss(logits, t_c, w_c)
    got = weighted_cross_entropy(
        torch.tensor(logits), torch.tensor(target, dtype=torch.int64), torch.tensor(weight)
    )
    assert got.dtype == torch.float32
    assert got.item() == pytest.approx(expected, rel=1e-5)


def test_sum_and_none_reductions(small):
    logits, target, weight = small
    args = torch.tensor(logits), torch.tensor(target), torch.tensor(weight)
    per_pixel = weighted_cross_entropy(*args, reduction="none")
    assert per_pixel.shape == (2, 4, 5)
    assert weighted_cross_entropy(*args, reduction="sum").item() == pytest.approx(per_pixel.sum().item(), rel=1e-6)
    assert (per_pixel >= 0).all()


def test_unit_weights_equal_plain_cross_entropy(small):
    logits, target, _ = small
    lg = torch.tensor(logits, dtype=torch.float32)
    t = torch.tensor(target[:, 3:7, 3:8])
    assert weighted_cross_entropy(lg, t, None).item() == pytest.approx(F.cross_entropy(lg, t).item(), rel=1e-6)
    ones = torch.ones(t.shape)
    assert weighted_cross_entropy(lg, t, ones).item() == pytest.approx(F.cross_entropy(lg, t).item(), rel=1e-6)


def test_weights_scale_pixel_contributions():
    logits = torch.zeros(1, 2, 1, 2)
    target = torch.tensor([[[0, 1]]])
    # both pixels have p = 1/2; weights 3 and 1 give −(3 + 1)·log(1/2) / 2
    loss = weighted_cross_entropy(logits, target, torch.tensor([[[3.0, 1.0]]]))
    assert loss.item() == pytest.approx(2 * math.log(2), rel=1e-6)


def test_gradient_is_correct():
    torch.manual_seed(0)
    logits = torch.randn(1, 2, 3, 3, dtype=torch.float64, requires_grad=True)
    target = torch.randint(0, 2, (1, 5, 5))
    weight = torch.rand(1, 5, 5, dtype=torch.float64) + 0.5

    # logits are computed in float32 inside; compare against the analytic gradient
    # of the mean weighted cross-entropy: w (p − onehot) / |Ω|
    loss = weighted_cross_entropy(logits, target, weight)
    loss.backward()
    p = torch.softmax(logits.detach(), 1)
    onehot = F.one_hot(target[:, 1:4, 1:4], 2).permute(0, 3, 1, 2).double()
    expected = weight[:, None, 1:4, 1:4] * (p - onehot) / 9
    assert torch.allclose(logits.grad, expected, atol=1e-6)


def test_bfloat16_logits_give_float32_loss(small):
    logits, target, weight = small
    loss = weighted_cross_entropy(torch.tensor(logits).bfloat16(), torch.tensor(target), torch.tensor(weight))
    exact = weighted_cross_entropy(torch.tensor(logits).float(), torch.tensor(target), torch.tensor(weight))
    assert loss.dtype == torch.float32
    assert math.isfinite(loss.item())
    # bf16 rounds the logits (8 bits of mantissa), the loss is computed in float32 from them:
    # close to the float32 loss, not equal to it
    assert loss.item() != exact.item() and abs(loss.item() - exact.item()) <= 1e-2 * abs(exact.item())


def test_labels_outside_the_output_window_are_ignored():
    logits = torch.zeros(1, 2, 2, 2)
    target = torch.full((1, 4, 4), 7)  # invalid everywhere except the centre
    target[:, 1:3, 1:3] = 1
    assert weighted_cross_entropy(logits, target).item() == pytest.approx(math.log(2), rel=1e-6)




@pytest.mark.parametrize(
    "logits, target, weight, match",
    [
        (torch.zeros(2, 4, 4), torch.zeros(1, 4, 4, dtype=torch.long), None, "4-D"),
        (torch.zeros(1, 2, 4, 4, dtype=torch.long), torch.zeros(1, 4, 4, dtype=torch.long), None, "floating"),
        (torch.zeros(1, 1, 4, 4), torch.zeros(1, 4, 4, dtype=torch.long), None, "at least 2 classes"),
        (torch.zeros(1, 2, 4, 4), torch.zeros(4, 4, dtype=torch.long), None, "3-D"),
        (torch.zeros(1, 2, 4, 4), torch.zeros(1, 4, 4), None, "integer"),
        (torch.zeros(1, 2, 4, 4), torch.zeros(2, 4, 4, dtype=torch.long), None, "batch sizes"),
        (torch.zeros(1, 2, 4, 4), torch.zeros(1, 3, 4, dtype=torch.long), None, "smaller"),
        (torch.zeros(1, 2, 4, 4), torch.zeros(1, 4, 4, dtype=torch.long), torch.ones(1, 5, 5), "shape"),
        (torch.zeros(1, 2, 4, 4), torch.zeros(1, 4, 4, dtype=torch.long), torch.ones(1, 4, 4, dtype=torch.long), "floating"),
        (torch.zeros(1, 2, 4, 4), torch.zeros(1, 4, 4, dtype=torch.long), -torch.ones(1, 4, 4), "non-negative"),
        (torch.zeros(1, 2, 4, 4), torch.zeros(1, 4, 4, dtype=torch.long), torch.full((1, 4, 4), float("nan")), "NaN"),
    ],
)
def test_bad_inputs_raise(logits, target, weight, match):
    with pytest.raises(ValueError, match=match):
        weighted_cross_entropy(logits, target, weight)


@pytest.mark.parametrize("bad", [-1, 2, 5])
def test_labels_outside_range_raise(bad):
    target = torch.zeros(1, 3, 3, dtype=torch.long)
    target[0, 1, 1] = bad
    with pytest.raises(ValueError, match=r"\[0, 2\)"):
        weighted_cross_entropy(torch.zeros(1, 2, 3, 3), target)


def test_unknown_reduction_raises():
    with pytest.raises(ValueError, match="reduction"):
        weighted_cross_entropy(torch.zeros(1, 2, 1, 1), torch.zeros(1, 1, 1, dtype=torch.long), reduction="avg")


def test_value_checks_can_be_skipped_but_shapes_cannot():
    logits = torch.zeros(1, 2, 4, 4)
    bad_labels = torch.full((1, 4, 4), 5, dtype=torch.long)
    with pytest.raises(ValueError, match=r"target labels must lie in \[0, 2\)"):
        weighted_cross_entropy(logits, bad_labels)
    with pytest.raises(ValueError, match="weight contains NaN"):
        weighted_cross_entropy(logits, torch.zeros(1, 4, 4, dtype=torch.long), torch.full((1, 4, 4), float("nan")))
    # check_values=False: the training loop's data set already validated the values
    weighted_cross_entropy(logits, torch.zeros(1, 4, 4, dtype=torch.long), torch.ones(1, 4, 4), check_values=False)
    with pytest.raises(ValueError, match="4-D tensor"):
        weighted_cross_entropy(logits[0], bad_labels, check_values=False)
