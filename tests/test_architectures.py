"""Why a U (§1): the networks U-Net is compared with, at the U-Net's interface."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from unet_tutorial import architectures as A
from unet_tutorial.baseline import classify_pixels
from unet_tutorial.checkpoint import load_model, save_model
from unet_tutorial.config import TrainConfig
from unet_tutorial.data import synthetic_em
from unet_tutorial.data import prepare_data
from unet_tutorial.inference import predict_tiled
from unet_tutorial.inference.tiling import mirror_pad
from unet_tutorial.model import UNet
from unet_tutorial.train import train


def small(name: str) -> torch.nn.Module:
    torch.manual_seed(0)
    if name == "ciresan-n4":
        return A.build_network(name).eval()
    return A.build_network(name, base_channels=4, depth=2, dropout=0.0).eval()


def test_the_dense_classifier_is_the_window_classifier_on_every_pixel():
    net = small("ciresan-n4")
    image = torch.from_numpy(synthetic_em((130, 130), n_cells=5, seed=2)[0])
    with torch.no_grad():
        dense = torch.softmax(net(image[None, None]), 1)[0]  # (2, 36, 36): windows at corners 0..35
    ys, xs = np.meshgrid(np.arange(47, 83), np.arange(47, 83), indexing="ij")
    windows = classify_pixels(net.patch_classifier().eval(), image.numpy(), ys.ravel(), xs.ravel())
    assert dense.shape == (2, 36, 36)
    np.testing.assert_allclose(dense.permute(1, 2, 0).reshape(-1, 2).numpy(), windows, atol=1e-5)


@pytest.mark.parametrize("name", sorted(A.ARCHITECTURES))
def test_every_network_takes_and_returns_the_tiles_of_its_rule(name):
    net = small(name)
    size = 140 if name == "ciresan-n4" else 92
    out = net(torch.rand(2, 1, size, size))
    assert out.shape == (2, 2, net.output_size(size), net.output_size(size))
    cfg = TrainConfig(architecture=name, tile_size=size, depth=2)
    assert cfg.output_size == net.output_size(size)


def test_the_decoders_differ_from_the_unets_where_they_should():
    unet, no_skip, fcn = UNet(base_channels=4, depth=2), small("no-skip"), small("fcn")
    count = lambda m: sum(p.numel() for p in m.parameters())  # noqa: E731
    assert count(no_skip) < count(unet) and count(fcn) < count(no_skip)
    x, skip = torch.rand(1, 8, 10, 10), torch.rand(1, 4, 24, 24)
    up = no_skip.ups[-1]  # the skip map is not used: any other one gives the same output
    torch.testing.assert_close(up(x, skip), up(x, torch.rand_like(skip)))


@pytest.mark.parametrize("name", sorted(A.ARCHITECTURES))
def test_a_model_file_keeps_the_architecture(name, tmp_path):
    net = small(name)
    save_model(net, tmp_path / "m.pt")
    back = load_model(tmp_path / "m.pt")
    assert type(back) is type(net) and A.architecture_of(back) == name
    x = torch.rand(1, 1, 140, 140) if name == "ciresan-n4" else torch.rand(1, 1, 92, 92)
    with torch.no_grad():
        torch.testing.assert_close(back(x), net(x))


def test_tiled_prediction_of_the_dense_classifier_is_one_pass_over_the_mirrored_image():
    net = small("ciresan-n4")
    image = synthetic_em((150, 170), n_cells=6, seed=4)[0]
    tiled = predict_tiled(net, image, tile_size=120)
    padded = mirror_pad(torch.from_numpy(image), 47, 47, 47, 47)
    with torch.no_grad():
        whole = torch.softmax(net(padded[None, None]), 1)[0].numpy()
    np.testing.assert_allclose(tiled, whole, atol=1e-5)


@pytest.mark.parametrize("name", ["no-skip", "fcn", "ciresan-n4"])
def test_train_runs_every_architecture(name):
    pairs = [synthetic_em((100, 100), n_cells=6, seed=s) for s in range(3)]
    data = prepare_data(([p[0] for p in pairs], [p[1] for p in pairs]), holdout=1)
    tile = 120 if name == "ciresan-n4" else 92
    cfg = TrainConfig(name="t", architecture=name, base_channels=4, depth=2, dropout=0.0, tile_size=tile,
                      augment="flips", optimizer="adam", lr=1e-3, steps=3, val_every=0, checkpoint_every=0,
                      device="cpu", num_threads=1)
    model, history = train(cfg, data=data, progress=False)
    assert A.architecture_of(model) == name and len(history.loss) == 3 and np.isfinite(history.loss).all()


def test_bad_architectures_and_tiles_are_named():
    with pytest.raises(ValueError, match="architecture.*'unet', 'no-skip'"):
        TrainConfig(architecture="resnet")
    with pytest.raises(ValueError, match="at least 95 px"):
        TrainConfig(architecture="ciresan-n4", tile_size=90)
    with pytest.raises(ValueError, match="unknown architecture 'x'"):
        A.build_network("x")
    with pytest.raises(ValueError, match="2 classes"):
        A.CiresanDense(num_classes=3)
    with pytest.raises(ValueError, match="smaller than the 95 px window"):
        small("ciresan-n4")(torch.rand(1, 1, 60, 60))
