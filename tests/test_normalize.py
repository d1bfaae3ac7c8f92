"""Input normalisation: the function, its rules, and that a model carries it from training to prediction."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from unet_tutorial.checkpoint import load_model, save_model
from unet_tutorial.inference import predict_tiled
from unet_tutorial.model import UNet
from unet_tutorial.normalize import NORMALIZE_PERCENTILES, model_normalization, normalize_image


def test_percentiles_go_to_0_and_1_and_the_rest_is_clipped():
    rng = np.random.default_rng(0)
    im = rng.random((50, 60)) * 0.1 + 0.02  # a faint image
    out = normalize_image(im)
    lo, hi = np.percentile(im, NORMALIZE_PERCENTILES)
    assert out.dtype == np.float32 and out.shape == im.shape
    assert np.allclose(out, np.clip((im - lo) / (hi - lo), 0, 1), atol=1e-6)
    assert out.min() == 0.0 and out.max() == 1.0
    assert (out == 1.0).mean() == pytest.approx(0.002, abs=0.001)  # the top 0.2 % clipped
    # an affine change of the intensities does not change the result
    assert np.allclose(normalize_image(3 * im + 7), out, atol=1e-5)


def test_integer_images_use_their_raw_percentiles():
    im = np.arange(1000, dtype=np.uint16).reshape(20, 50) * 60
    out = normalize_image(im, percentiles=(0.0, 100.0))
    assert out[0, 0] == 0.0 and out[-1, -1] == 1.0 and np.allclose(np.diff(out.ravel()), 1 / 999, atol=1e-6)


def test_none_leaves_the_values_and_a_constant_image_becomes_zeros():
    im = np.full((8, 8), 0.3)
    assert np.array_equal(normalize_image(im, "none"), im.astype(np.float32))
    assert not normalize_image(im).any()


@pytest.mark.parametrize("kwargs, match", [
    ({"mode": "zscore"}, "normalize must be one of"),
    ({"percentiles": (50.0, 10.0)}, "percentiles must satisfy"),
    ({"percentiles": (-1.0, 99.0)}, "percentiles must satisfy"),
])
def test_bad_arguments_are_named(kwargs, match):
    with pytest.raises(ValueError, match=match):
        normalize_image(np.ones((4, 4)), **kwargs)


def test_bad_images_are_named():
    with pytest.raises(ValueError, match="NaN or infinite"):
        normalize_image(np.array([[0.0, np.nan]]))
    with pytest.raises(ValueError, match="non-empty real array"):
        normalize_image(np.zeros((0, 3)))
    with pytest.raises(ValueError, match="non-empty real array"):
        normalize_image(np.ones((2, 2), dtype=bool))


def test_the_model_file_carries_the_normalisation_and_prediction_applies_it(tmp_path):
    torch.manual_seed(0)
    net = UNet(base_channels=2, depth=2, dropout=0.0).eval()
    rng = np.random.default_rng(1)
    faint = (rng.random((40, 40)) * 0.05).astype(np.float32)
    assert model_normalization(net) == "none"  # a bare network has none
    save_model(net, tmp_path / "m.pt", normalize="percentile")
    loaded = load_model(tmp_path / "m.pt")
    assert loaded.normalize == "percentile"
    expected = predict_tiled(net, normalize_image(faint))
    assert np.allclose(predict_tiled(loaded, faint), expected, atol=1e-6)
    assert not np.allclose(predict_tiled(loaded, faint, normalize="none"), expected, atol=1e-3)
    save_model(net, tmp_path / "plain.pt")
    assert load_model(tmp_path / "plain.pt").normalize == "none"
    with pytest.raises(ValueError, match="model.normalize must be one of"):
        loaded.normalize = "unit-variance"  # the protocol refuses it where it is written
    assert loaded.normalize == "percentile"
