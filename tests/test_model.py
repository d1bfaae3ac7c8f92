"""Tests of unet_tutorial.model: the network of Fig. 1 and its size arithmetic (§2)."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from unet_tutorial.checkpoint import load_model, model_config, save_model
from unet_tutorial.model import (
    UNet,
    border,
    input_size_for,
    is_valid_input_size,
    nearest_valid_input_sizes,
    output_size,
    valid_input_sizes,
)


def brute_force_output(size: int, depth: int) -> int | None:
    """Walk the network by hand: 2 unpadded convs (-4), pool (/2, even only), ..."""
    s = size
    for _ in range(depth):
        s -= 4
        if s < 1 or s % 2:
            return None
        s //= 2
    s -= 4
    if s < 1:
        return None
    for _ in range(depth):
        s = 2 * s - 4
        if s < 1:
            return None
    return s


# --------------------------------------------------------------------------
# Size arithmetic
# --------------------------------------------------------------------------


def test_paper_sizes_of_fig1():
    assert output_size(572) == 388
    assert input_size_for(388) == 572
    assert border() == 92
    sizes = [(r.height, r.kind) for r in UNet(base_channels=2).trace(572)]
    # Fig. 1, contracting then expanding path (pooled maps and up-convolutions included).
    expected = [572, 570, 568, 284, 282, 280, 140, 138, 136, 68, 66, 64, 32, 30, 28]
    expected += [56, 56, 54, 52, 104, 104, 102, 100, 200, 200, 198, 196, 392, 392, 390, 388, 388]
    assert [h for h, _ in sizes] == expected


@pytest.mark.parametrize("depth", [1, 2, 3, 4, 5])
def test_output_size_matches_hand_walk_for_every_size(depth):
    for size in range(1, 700):
        expected = brute_force_output(size, depth)
        assert is_valid_input_size(size, depth) == (expected is not None)
        if expected is None:
            with pytest.raises(ValueError, match="nearest valid sizes"):
                output_size(size, depth)
        else:
            assert output_size(size, depth) == expected


@pytest.mark.parametrize("depth", [1, 2, 3, 4, 5])
def test_valid_sizes_are_one_residue_class_and_border_is_constant(depth):
    sizes = valid_input_sizes(depth, stop=1500)
    assert sizes, "some valid size below 1500"
    assert all(b - a == 2**depth for a, b in zip(sizes, sizes[1:]))
    for s in sizes:
        assert (s - output_size(s, depth)) == 2 * border(depth)


@pytest.mark.parametrize("depth", [2, 4])
def test_nearest_valid_sizes_bracket_the_request(depth):
    valid = set(valid_input_sizes(depth, stop=2000))
    for size in range(1, 1500):
        below, above = nearest_valid_input_sizes(size, depth)
        assert above in valid and above >= size
        assert not any(v in valid for v in range(size, above))
        if below is None:
            assert not any(v in valid for v in range(1, size + 1))
        else:
            assert below in valid and below <= size
            assert not any(v in valid for v in range(below + 1, size + 1))


@pytest.mark.parametrize("depth", [1, 3, 4])
def test_input_size_for_is_the_smallest_sufficient_valid_size(depth):
    valid = valid_input_sizes(depth, stop=3000)
    for want in range(1, 1000, 7):
        got = input_size_for(want, depth)
        assert got in valid and output_size(got, depth) >= want
        smaller = [v for v in valid if v < got]
        assert all(output_size(v, depth) < want for v in smaller)


def test_invalid_size_message_names_nearest_valid_sizes():
    with pytest.raises(ValueError, match=r"500 px is not valid.*nearest valid sizes: 492 or 508"):
        UNet().output_size(500)
    with pytest.raises(ValueError, match=r"nearest valid sizes: 188 \(the smallest\)"):
        output_size(100)


def test_same_padding_sizes():
    assert output_size(64, 4, "same") == 64
    assert border(4, "same") == 0
    assert valid_input_sizes(3, "same", stop=40) == [8, 16, 24, 32, 40]
    with pytest.raises(ValueError, match="multiple of 2\\*\\*depth = 16"):
        output_size(72, 4, "same")


@pytest.mark.parametrize("bad", [dict(depth=0), dict(padding="full"), dict(dropout=1.0), dict(base_channels=0)])
def test_bad_constructor_arguments(bad):
    with pytest.raises(ValueError):
        UNet(**bad)


# --------------------------------------------------------------------------
# The real network
# --------------------------------------------------------------------------


def paper_parameter_count(in_ch: int = 1, classes: int = 2, base: int = 64, depth: int = 4) -> int:
    """Parameters of Fig. 1 from the layer shapes: weights k*k*Cin*Cout plus Cout biases."""

    def conv(cin: int, cout: int, k: int) -> int:
        return k * k * cin * cout + cout

    ch = [base * 2**i for i in range(depth + 1)]
    total = conv(in_ch, ch[0], 3) + conv(ch[0], ch[0], 3)
    for i in range(1, depth + 1):
        total += conv(ch[i - 1], ch[i], 3) + conv(ch[i], ch[i], 3)
    for i in reversed(range(depth)):
        total += conv(ch[i + 1], ch[i], 2)  # up-convolution halves the channels
        total += conv(2 * ch[i], ch[i], 3) + conv(ch[i], ch[i], 3)  # after concatenation
    return total + conv(ch[0], classes, 1)


def test_paper_network_structure():
    net = UNet()
    assert net.num_conv_layers == 23
    assert net.count_parameters() == paper_parameter_count()
    convs = [m for m in net.modules() if isinstance(m, nn.Conv2d)]
    assert all(m.padding == (0, 0) for m in convs)
    assert sum(m.kernel_size == (3, 3) for m in convs) == 18
    ups = [m for m in net.modules() if isinstance(m, nn.ConvTranspose2d)]
    assert [(m.in_channels, m.out_channels, m.kernel_size, m.stride) for m in ups] == [
        (1024, 512, (2, 2), (2, 2)),
        (512, 256, (2, 2), (2, 2)),
        (256, 128, (2, 2), (2, 2)),
        (128, 64, (2, 2), (2, 2)),
    ]
    pools = [m for m in net.modules() if isinstance(m, nn.MaxPool2d)]
    assert len(pools) == 4 and all(m.kernel_size == 2 and m.stride == 2 for m in pools)
    assert isinstance(net.dropout, nn.Dropout) and net.dropout.p == 0.5


@pytest.mark.parametrize("base,depth,classes,in_ch", [(4, 2, 3, 1), (8, 3, 2, 3), (2, 5, 2, 1)])
def test_parameter_count_from_layer_shapes(base, depth, classes, in_ch):
    net = UNet(in_ch, classes, base, depth)
    assert net.count_parameters() == paper_parameter_count(in_ch, classes, base, depth)


@pytest.mark.parametrize("depth,size", [(1, 30), (2, 60), (3, 124), (4, 188), (4, 220), (5, 380)])
def test_forward_output_shape_equals_formula(depth, size):
    net = UNet(in_channels=2, num_classes=3, base_channels=2, depth=depth).eval()
    with torch.no_grad():
        y = net(torch.randn(2, 2, size, size + 2**depth))
    assert y.shape == (2, 3, output_size(size, depth), output_size(size + 2**depth, depth))


def test_trace_matches_real_feature_maps():
    net = UNet(base_channels=4, depth=3).eval()
    trace = net.trace((124, 140))
    assert trace[0].name == "input" and trace[-1].name == "head"
    with torch.no_grad():
        y = net(torch.zeros(1, 1, 124, 140))
    assert (trace[-1].channels, trace[-1].height, trace[-1].width) == tuple(y.shape[1:])
    convs = [r for r in trace if r.kind == "conv3x3"]
    assert len(convs) == 2 * (2 * 3 + 1)
    assert max(r.channels for r in trace) == 4 * 2**3
    # Concatenation doubles the channels of the up-convolution's output.
    for up, cat in zip(
        [r for r in trace if r.kind == "upconv"], [r for r in trace if r.kind == "concat"]
    ):
        assert cat.channels == 2 * up.channels and cat.height == up.height


def test_flops_of_one_layer_by_hand():
    net = UNet(base_channels=4, depth=1, num_classes=2)
    # enc0.conv1 on a 30x30 input: 28x28 outputs, each 3*3*1 MACs per output channel, 4 channels.
    first = 2 * 9 * 1 * 4 * 28 * 28
    assert net.flops(30) > first
    t = net.trace(30)
    total = 0
    for prev, rec in zip(t, t[1:]):
        k2 = {"conv3x3": 9, "conv1x1": 1, "upconv": 1}.get(rec.kind, 0)
        total += 2 * k2 * prev.channels * rec.channels * rec.height * rec.width
    assert net.flops(30) == total


def test_same_padding_preserves_size():
    net = UNet(base_channels=4, depth=3, padding="same").eval()
    with torch.no_grad():
        y = net(torch.randn(1, 1, 64, 40))
    assert y.shape == (1, 2, 64, 40)


def test_he_initialisation_statistics():
    torch.manual_seed(0)
    net = UNet(base_channels=32)
    checked = 0
    for m in net.modules():
        if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d)):
            w = m.weight.detach()
            fan_in = UNet.fan_in(m)
            expected = math.sqrt(2.0 / fan_in)
            if w.numel() >= 2000:  # enough samples for a 10 % tolerance
                assert abs(w.mean().item()) < 0.1 * expected
                assert w.std().item() == pytest.approx(expected, rel=0.1)
                checked += 1
            assert torch.count_nonzero(m.bias) == 0
    assert checked >= 20
    # The N of §3: a 3x3 kernel over 64 input channels has 576 incoming nodes.
    assert UNet.fan_in(nn.Conv2d(64, 64, 3)) == 576
    assert UNet.fan_in(nn.ConvTranspose2d(128, 64, 2, stride=2)) == 128


def test_gradients_reach_every_parameter():
    torch.manual_seed(0)
    net = UNet(base_channels=4, depth=3, dropout=0.5).train()
    x = torch.randn(1, 1, 124, 124)
    net(x).square().mean().backward()
    for name, p in net.named_parameters():
        assert p.grad is not None, name
        assert torch.count_nonzero(p.grad) > 0, name


def test_dropout_only_in_training_mode():
    torch.manual_seed(0)
    net = UNet(base_channels=4, depth=2)
    x = torch.randn(1, 1, 60, 60)
    net.eval()
    with torch.no_grad():
        a, b = net(x), net(x)
    assert torch.equal(a, b)
    net.train()
    with torch.no_grad():
        c, d = net(x), net(x)
    assert not torch.equal(c, d)


def test_dropout_is_elementwise_at_the_end_of_the_contracting_path():
    """§3.1 "drop-out layers" (plural) at the end of the contracting path, element-wise
    as Caffe's Dropout: on the last level before the bottleneck and on the bottleneck."""
    torch.manual_seed(0)
    net = UNet(base_channels=4, depth=3, dropout=0.5).train()
    seen = []
    net.dropout.register_forward_hook(lambda m, args, out: seen.append((args[0], out)))
    net(torch.randn(1, 1, 124, 124))
    assert [inp.shape[1] for inp, _ in seen] == [16, 32]  # level depth-1 (4 * 2**2), bottleneck (4 * 2**3)
    for inp, out in seen:
        alive = (inp != 0).flatten(2)
        dropped = ((out == 0).flatten(2) & alive).float().sum(-1) / alive.float().sum(-1).clamp(min=1)
        # element-wise: about half of every channel's non-zero values dropped;
        # channel-wise (Dropout2d) would give 0 or 1 per channel
        busy = alive.float().sum(-1) >= 20
        assert torch.all((dropped[busy] > 0.2) & (dropped[busy] < 0.8))


@pytest.mark.parametrize(
    "x,match",
    [
        (torch.zeros(1, 188, 188), r"4-D tensor \(N, C, H, W\)"),
        (torch.zeros(1, 3, 188, 188), "expected 1 input channel"),
        (torch.zeros(1, 1, 188, 189), r"input width: .*189 px is not valid.*188 or 204"),
        (torch.zeros(1, 1, 100, 188), r"input height: .*nearest valid sizes: 188 \(the smallest\)"),
        (torch.zeros(1, 1, 188, 188, dtype=torch.int64), "floating-point"),
    ],
)
def test_forward_errors_name_the_problem(x, match):
    with pytest.raises(ValueError, match=match):
        UNet(base_channels=2)(x)


def test_save_and_load_round_trip(tmp_path):
    net = UNet(in_channels=3, num_classes=4, base_channels=4, depth=2, dropout=0.2)
    path = tmp_path / "sub" / "model.pt"
    save_model(net, path, note="test")
    loaded = load_model(path)
    assert model_config(loaded) == model_config(net)
    for (k, a), (_, b) in zip(net.state_dict().items(), loaded.state_dict().items()):
        assert torch.equal(a, b), k
    assert [p.name for p in path.parent.iterdir()] == ["model.pt"]  # no temp file left


def test_load_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="model file not found"):
        load_model(tmp_path / "missing.pt")
    junk = tmp_path / "junk.pt"
    junk.write_bytes(b"not a torch file")
    with pytest.raises(ValueError, match="not a readable PyTorch file"):
        load_model(junk)
    other = tmp_path / "other.pt"
    torch.save({"weights": torch.zeros(1)}, other)
    with pytest.raises(ValueError, match="not a U-Net model file"):
        load_model(other)
