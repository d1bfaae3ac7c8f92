"""What practice added since 2015, as options: normalisation layers and Dice + cross-entropy.

The paper's network and loss stay the defaults; these tests check that each option does
what its reference says and that models with it save, load and export like the paper's.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from unet_tutorial.architectures import build_network, network_config
from unet_tutorial.config import get_config
from unet_tutorial.losses import LOSSES, dice_cross_entropy, loss_function, soft_dice_loss, weighted_cross_entropy
from unet_tutorial.model import UNet
from unet_tutorial.since2015 import NORMS, norm_layer


@pytest.mark.parametrize("norm", [n for n in NORMS if n != "none"])
def test_a_norm_layer_sits_between_every_3x3_convolution_and_its_relu(norm):
    net = UNet(base_channels=8, norm=norm)
    plain = UNet(base_channels=8)
    assert net.num_conv_layers == plain.num_conv_layers == 23
    kinds = {"batch": nn.BatchNorm2d, "instance": nn.InstanceNorm2d, "group": nn.GroupNorm}
    for block in [net.inc, *[d[1] for d in net.downs], *[u.conv for u in net.ups]]:
        layers = list(block)
        assert [type(m) for m in layers] == [nn.Conv2d, kinds[norm], nn.ReLU] * 2
    # the sizes and the trace are the paper's: a norm changes no shape
    assert net.output_size(188) == plain.output_size(188)
    assert [(t.name, t.channels, t.height) for t in net.trace(188)] == [
        (t.name, t.channels, t.height) for t in plain.trace(188)]
    # two affine parameters per normalised channel, nothing else added
    extra = net.count_parameters() - plain.count_parameters()
    assert extra == 2 * sum(m.num_features if hasattr(m, "num_features") else m.num_channels
                            for m in net.modules() if isinstance(m, tuple(kinds.values())))


def test_instance_norm_makes_the_output_independent_of_the_input_scale():
    torch.manual_seed(0)
    net = UNet(base_channels=4, norm="instance", dropout=0.0).eval()
    x = torch.rand(1, 1, 188, 188)
    with torch.no_grad():
        a, b = net(x), net(10 * x + 3)
    # each feature map is normalised per image and channel: an affine change of the input
    # (gray values) is undone by the first normalisation (up to its eps)
    assert torch.allclose(a, b, atol=1e-3)
    plain = UNet(base_channels=4, dropout=0.0).eval()
    with torch.no_grad():
        assert not torch.allclose(plain(x), plain(10 * x + 3), atol=1e-3)


def test_group_norm_uses_groups_of_eight_channels_and_norm_layer_refuses_nonsense():
    assert norm_layer("group", 64).num_groups == 8
    assert norm_layer("group", 4).num_groups == 1
    with pytest.raises(ValueError, match="norm must be one of batch, instance, group"):
        norm_layer("layer", 8)
    with pytest.raises(ValueError, match="channels must be a positive int"):
        norm_layer("batch", 0)
    with pytest.raises(ValueError, match="norm must be one of none, batch, instance, group"):
        UNet(norm="layer")


def test_a_normalised_model_saves_its_norm_and_is_rebuilt_with_it():
    net = UNet(base_channels=4, norm="group")
    cfg = network_config(net)
    assert cfg["norm"] == "group"
    again = build_network(**cfg)
    again.load_state_dict(net.state_dict())  # same layers, same names
    assert "norm" not in network_config(UNet(base_channels=4))  # the paper's files are unchanged


def test_the_config_carries_norm_and_loss_and_refuses_a_norm_for_other_architectures():
    cfg = get_config("cpu", norm="instance", loss="dice+ce")
    assert (cfg.norm, cfg.loss) == ("instance", "dice+ce")
    assert (get_config("paper").norm, get_config("paper").loss) == ("none", "ce")
    with pytest.raises(ValueError, match="'norm'"):
        get_config("cpu", norm="layer")
    with pytest.raises(ValueError, match="'loss'"):
        get_config("cpu", loss="focal")
    with pytest.raises(ValueError, match="option of the U-Net only"):
        get_config("cpu", architecture="no-skip", norm="batch")


def _logits_for(target: torch.Tensor, k: int, margin: float = 20.0) -> torch.Tensor:
    return torch.nn.functional.one_hot(target, k).permute(0, 3, 1, 2).float() * margin - margin / 2


def test_soft_dice_is_zero_for_a_perfect_prediction_and_one_minus_the_dice_of_a_hard_one():
    target = torch.zeros(1, 10, 10, dtype=torch.long)
    target[0, 2:6, 2:6] = 1  # 16 foreground pixels
    assert float(soft_dice_loss(_logits_for(target, 2), target)) == pytest.approx(0.0, abs=1e-6)
    pred = torch.zeros_like(target)
    pred[0, 2:6, 2:8] = 1  # 24 pixels, 16 of them right: Dice = 2*16 / (24 + 16) = 0.8
    got = float(soft_dice_loss(_logits_for(pred, 2), target, smooth=1e-6))
    assert got == pytest.approx(0.2, abs=1e-5)
    # the background class is left out: inverting the roles changes the value
    assert float(soft_dice_loss(_logits_for(1 - pred, 2), 1 - target, smooth=1e-6)) != pytest.approx(got)


def test_soft_dice_crops_a_larger_target_and_checks_its_inputs():
    target = torch.randint(0, 3, (2, 12, 12))
    logits = torch.randn(2, 3, 8, 8, requires_grad=True)
    loss = soft_dice_loss(logits, target)
    loss.backward()
    assert 0 <= float(loss.detach()) <= 1 and logits.grad is not None and torch.isfinite(logits.grad).all()
    with pytest.raises(ValueError, match="smooth must be positive"):
        soft_dice_loss(logits, target, smooth=0)
    with pytest.raises(ValueError, match="target must hold integer class labels"):
        soft_dice_loss(logits, target.float())


def test_dice_plus_ce_is_the_sum_and_the_registry_names_its_losses():
    target = torch.randint(0, 2, (1, 9, 9))
    logits = torch.randn(1, 2, 9, 9)
    weight = torch.rand(1, 9, 9) + 0.5
    total = dice_cross_entropy(logits, target, weight)
    assert float(total) == pytest.approx(float(weighted_cross_entropy(logits, target, weight)
                                               + soft_dice_loss(logits, target)))
    assert set(LOSSES) == {"ce", "dice+ce"} and loss_function("dice+ce") is dice_cross_entropy
    with pytest.raises(ValueError, match="unknown loss 'focal'; known: ce, dice\\+ce"):
        loss_function("focal")


def test_training_with_norm_and_dice_ce_runs_and_saves_both(tmp_path):
    from unet_tutorial.checkpoint import load_model
    from unet_tutorial.data import synthetic_em
    from unet_tutorial.train import train

    pairs = [synthetic_em((64, 64), n_cells=6, seed=s) for s in range(3)]  # synthetic EM-like images
    data = ([p[0] for p in pairs], [p[1] for p in pairs])
    cfg = get_config("cpu", base_channels=4, tile_size=188, steps=3, val_every=0, checkpoint_every=0,
                     holdout=1, norm="instance", loss="dice+ce", device="cpu", precision="fp32")
    model, history = train(cfg, data=data, out_dir=tmp_path, progress=False)
    assert np.isfinite(history.loss).all() and len(history.loss) == 3
    # the same seed with Eq. 1 alone: the first step sees the same tile and weights, so the
    # Dice term is what separates the two losses (a loss option that were ignored would not)
    _, ce_history = train(cfg.replace(loss="ce"), data=data, out_dir=tmp_path / "ce", progress=False)
    assert history.loss[0] > ce_history.loss[0]
    again = load_model(tmp_path / "model.pt")
    assert again.norm == "instance"
    assert any(isinstance(m, nn.InstanceNorm2d) for m in again.modules())
