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


# --------------------------------------------------------------------------
# The 3-class target: background / interior / boundary, objects by seeded watershed
# --------------------------------------------------------------------------


def _touching_pair() -> np.ndarray:
    """Two rectangles that share an edge (columns 13|14), and a small one apart."""
    lab = np.zeros((24, 40), np.int32)
    lab[3:17, 3:14], lab[3:17, 14:27], lab[19:22, 32:35] = 1, 2, 3
    return lab


def _hard(classes: np.ndarray) -> np.ndarray:
    """One-hot "probabilities" ``(3, H, W)`` of a class label image."""
    return np.stack([(classes == k).astype(np.float64) for k in range(3)])


def test_boundary_classes_mark_a_rim_of_width_px_inside_every_object():
    from unet_tutorial.since2015 import BOUNDARY_CLASSES, boundary_classes

    lab = _touching_pair()
    for width in (1, 2, 3):
        c = boundary_classes(lab, width=width)
        assert c.dtype == np.uint8 and set(np.unique(c)) <= {0, 1, 2}
        assert ((c > 0) == (lab > 0)).all()  # the target keeps the foreground
        # the left rectangle (rows 3-16, columns 3-13): a rim of `width` px on each side,
        # the shared edge included, so its interior is (14 - 2w) x (11 - 2w)
        assert (c[lab == 1] == 1).sum() == (14 - 2 * width) * (11 - 2 * width)
        # the seam between the two touching objects is boundary on both sides
        assert (c[3 + width:17 - width, 14 - width:14 + width] == 2).all()
    # the 3 x 3 object has no interior at width 2: all rim
    assert (boundary_classes(lab)[lab == 3] == 2).all()
    # the image edge is no boundary: an object cut by it goes on outside
    edge = np.zeros((10, 10), np.int32)
    edge[:, :6] = 1
    assert (boundary_classes(edge, width=1)[:, :5] == 1).all()
    assert BOUNDARY_CLASSES == ("background", "interior", "boundary")
    with pytest.raises(ValueError, match="boolean mask"):
        boundary_classes(lab > 0)
    with pytest.raises(ValueError, match="width"):
        boundary_classes(lab, width=0)


def test_instances_from_classes_separates_touching_objects_and_keeps_small_ones():
    from unet_tutorial.metrics import match_instances
    from unet_tutorial.since2015 import boundary_classes, instances_from_classes

    lab = _touching_pair()
    objects = instances_from_classes(_hard(boundary_classes(lab)), 0.5, min_size=4, gap=0)
    assert objects.dtype == np.int32 and objects.max() == 3
    m = match_instances(objects, lab, 0.5)
    assert (m.tp, m.fp, m.fn) == (3, 0, 0)
    assert m.iou.min() == 1.0  # the watershed cuts exactly at the seam, the rim-only object stays
    # the 2-class reading of the same foreground merges the touching pair into one object
    from unet_tutorial.inference import instances_from_probability

    assert instances_from_probability((lab > 0).astype(float), 0.5, min_size=4, gap=0).max() == 2
    # a threshold above every interior probability leaves no seed: each region is one object
    soft = _hard(boundary_classes(lab)) * 0.8 + 0.2 / 3
    assert instances_from_classes(soft, 0.9, min_size=4).max() == 2
    assert instances_from_classes(soft, 0.5, min_size=4).max() == 3


def test_instances_from_classes_refuses_bad_input():
    from unet_tutorial.since2015 import instances_from_classes

    good = _hard(np.zeros((8, 8), int))
    with pytest.raises(ValueError, match=r"\(3, H, W\)"):
        instances_from_classes(good[:2])
    with pytest.raises(ValueError, match="probs"):
        instances_from_classes(good[0])
    with pytest.raises(ValueError, match="threshold must be in \\[0, 1\\]"):
        instances_from_classes(good, 1.5)
    with pytest.raises(ValueError, match="probability in \\[0, 1\\]"):
        instances_from_classes(good * 2)


def test_the_config_knows_the_boundary_target_and_refuses_it_with_eq2_borders():
    cfg = get_config("cpu", target="boundary", border_weights=False)
    assert cfg.output_classes == 3 and cfg.num_classes == 2
    assert cfg.class_name_list() == ("background", "interior", "boundary")
    assert get_config("cpu").output_classes == 2 and get_config("paper").target == "mask"
    with pytest.raises(ValueError, match="config field 'target'.*border_weights = false"):
        get_config("cpu", target="boundary")
    with pytest.raises(ValueError, match="config field 'target' must be one of"):
        get_config("cpu", target="edges")
    with pytest.raises(ValueError, match="config field 'class_names'"):
        get_config("cpu", target="boundary", border_weights=False, class_names="a,b,c")


def test_training_on_the_boundary_target_gives_a_3_class_model_that_cuts_objects(tmp_path):
    from unet_tutorial.checkpoint import load_model
    from unet_tutorial.data import TrainData, synthetic_em
    from unet_tutorial.data.training import with_target
    from unet_tutorial.experiments.evaluation import evaluate_dsb2018, objects_from
    from unet_tutorial.inference import predict_instances
    from unet_tutorial.since2015 import predicts_boundaries
    from unet_tutorial.train import train

    pairs = [synthetic_em((64, 64), n_cells=6, seed=s) for s in range(3)]
    data = TrainData([p[0] for p in pairs[:2]], [p[1] for p in pairs[:2]], [pairs[2][0]], [pairs[2][1]])
    converted = with_target(data, "boundary")
    assert converted.num_classes == 3 and set(np.unique(converted.labels[0])) == {0, 1, 2}
    assert with_target(data, "mask") is data
    with pytest.raises(ValueError, match="target must be one of"):
        with_target(data, "edges")
    cfg = get_config("cpu", base_channels=4, tile_size=188, steps=2, val_every=0, checkpoint_every=0,
                     holdout=1, target="boundary", border_weights=False, device="cpu", precision="fp32")
    model, history = train(cfg, data=([p[0] for p in pairs], [p[1] for p in pairs]), out_dir=tmp_path,
                           progress=False)
    assert model.num_classes == 3 and predicts_boundaries(model)
    assert set(history.val) >= {"iou_interior", "iou_boundary"}  # validated on the 3-class labels
    again = load_model(tmp_path / "model.pt")
    assert predicts_boundaries(again) and not predicts_boundaries(UNet(base_channels=4))
    objects = predict_instances(again, pairs[2][0], threshold=0.0, tta=False)
    assert objects.dtype == np.int32 and objects.shape == pairs[2][0].shape
    # the experiments' evaluation cuts the same objects from the same probabilities
    assert objects_from(again).__name__ == "instances_from_classes"
    from unet_tutorial.weights import instances_from_binary

    scores = evaluate_dsb2018(again, [pairs[2][0]], [instances_from_binary(pairs[2][1])])
    assert 0.0 <= scores["dsb"] <= 1.0 and scores["threshold"] == 0.5


# --------------------------------------------------------------------------
# Deep supervision
# --------------------------------------------------------------------------


@pytest.mark.parametrize("padding,size", [("valid", 188), ("same", 64)])
def test_deep_supervision_scores_each_coarser_level_at_the_outputs_size(padding, size):
    from unet_tutorial.losses import weighted_cross_entropy
    from unet_tutorial.since2015 import DeepSupervision

    torch.manual_seed(0)
    net = UNet(base_channels=4, depth=3, padding=padding, dropout=0.0).train()
    ds = DeepSupervision(net, 2)
    assert [h.in_channels for h in ds.heads] == [8, 16]  # the levels above the last, finest first
    logits = net(torch.rand(2, 1, size, size))
    aux = ds.outputs(logits)
    assert [a.shape for a in aux] == [logits.shape] * 2
    y = torch.randint(0, 2, logits.shape[:1] + logits.shape[2:])
    expected = (4 * weighted_cross_entropy(logits, y) + 2 * weighted_cross_entropy(aux[0], y)
                + weighted_cross_entropy(aux[1], y)) / 7
    assert torch.allclose(ds.loss(lambda lo, t, w: weighted_cross_entropy(lo, t, w))(logits, y, None), expected)
    # the gradient reaches the heads and the coarse levels through the auxiliary terms
    with pytest.raises(RuntimeError, match="no training forward pass"):
        ds.outputs(logits)  # the loss used this step's features up
    net.eval()
    net(torch.rand(1, 1, size, size))  # predictions keep no features
    with pytest.raises(RuntimeError, match="no training forward pass"):
        ds.outputs(logits)
    ds.remove()
    with pytest.raises(ValueError, match="levels must be 1 … 2"):
        DeepSupervision(net, 3)


def test_training_with_deep_supervision_trains_the_heads_and_saves_the_papers_network(tmp_path):
    from unet_tutorial.checkpoint import load_checkpoint, load_model
    from unet_tutorial.data import synthetic_em
    from unet_tutorial.train import train

    pairs = [synthetic_em((64, 64), n_cells=6, seed=s) for s in range(3)]
    data = ([p[0] for p in pairs], [p[1] for p in pairs])
    cfg = get_config("cpu", base_channels=4, tile_size=188, steps=2, val_every=0, checkpoint_every=1,
                     holdout=1, deep_supervision=2, device="cpu", precision="fp32")
    _, history = train(cfg, data=data, out_dir=tmp_path, progress=False)
    _, plain = train(cfg.replace(deep_supervision=0), data=data, out_dir=tmp_path / "plain", progress=False)
    assert history.loss[0] != plain.loss[0]  # the same first tile, another loss: the heads count
    blob = load_checkpoint(tmp_path / "checkpoint.pt")
    assert {k.split(".")[0] for k in blob["aux"]} == {"heads"}
    # the model file holds the paper's network alone
    assert set(load_model(tmp_path / "model.pt").state_dict()) == set(
        load_model(tmp_path / "plain" / "model.pt").state_dict())
    # resuming restores the heads and continues
    _, resumed = train(cfg, data=data, out_dir=tmp_path, resume=True, steps=3, progress=False)
    assert len(resumed.loss) == 3 and resumed.loss[:2] == history.loss
    with pytest.raises(ValueError, match="config field 'deep_supervision'"):
        get_config("cpu", deep_supervision=4)


# --------------------------------------------------------------------------
# Partial annotations (Table 2 protocol): no loss far from the annotated cells
# --------------------------------------------------------------------------


def test_annotated_region_trusts_cells_and_background_within_the_distance():
    from unet_tutorial.data import annotated_region

    mask = np.zeros((40, 40), np.uint8)
    mask[5:10, 5:10] = 1
    region = annotated_region(mask, 6.0)
    assert region.dtype == np.float32 and region[mask == 1].min() == 1.0
    assert region[9, 15] == 1.0 and region[9, 16] == 0.0  # 6 px right of the cell, then 7
    assert region[30, 30] == 0.0  # far from every annotated cell: a cell may be unlabelled there
    assert not annotated_region(np.zeros((8, 8), np.uint8), 3.0).any()  # nothing annotated, nothing trusted
    with pytest.raises(ValueError, match="distance"):
        annotated_region(mask, 0.0)


def test_unlabelled_beyond_zeroes_the_weights_far_from_annotated_cells_only():
    from unet_tutorial.data import annotated_region, weight_maps

    mask = np.zeros((64, 64), np.uint8)
    mask[10:20, 10:20] = mask[10:20, 22:32] = 1
    plain = weight_maps([mask], get_config("cpu"))[0]
    masked = weight_maps([mask], get_config("cpu", unlabelled_beyond=8.0))[0]
    trusted = annotated_region(mask, 8.0) > 0
    assert np.array_equal(masked[trusted], plain[trusted])  # Eq. 2 unchanged where labels are trusted
    assert (masked[~trusted] == 0).all() and (~trusted).sum() > 1000
    # without any weighting, the mask itself becomes the weight map
    only = weight_maps([mask], get_config("cpu", unlabelled_beyond=8.0, border_weights=False,
                                          class_weights="none"))[0]
    assert np.array_equal(only, trusted.astype(np.float32))
    assert weight_maps([mask], get_config("cpu", border_weights=False, class_weights="none")) is None
    with pytest.raises(ValueError, match="config field 'unlabelled_beyond'"):
        get_config("cpu", unlabelled_beyond=5.0, num_classes=3, border_weights=False)
