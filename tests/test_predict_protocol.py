"""A model file carries its protocol (normalisation, threshold, TTA, class names), and prediction follows it."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from unet_tutorial.checkpoint import load_model, save_model
from unet_tutorial.inference import predict_instances, predict_tiled
from unet_tutorial.protocol import Protocol, model_protocol


def test_protocol_is_declared_saved_and_loaded(tmp_path, tiny_unet):
    net = tiny_unet(base_channels=2)
    assert net.protocol == Protocol()  # declared by the constructor, the defaults
    net.protocol = Protocol(normalize="percentile", threshold=0.7, tta=True, class_names=("bg", "nucleus"))
    save_model(net, tmp_path / "m.pt")
    back = load_model(tmp_path / "m.pt")
    assert back.protocol == net.protocol
    assert (back.threshold, back.normalize) == (0.7, "percentile")  # the fields, as properties


def test_older_files_without_a_protocol_keep_their_threshold_and_normalisation(tmp_path, tiny_unet):
    net = tiny_unet(base_channels=2)
    blob = {"unet": {"in_channels": 1, "num_classes": 2, "base_channels": 2, "depth": 2, "padding": "valid",
                     "dropout": 0.0}, "state_dict": net.state_dict(), "threshold": 0.6, "normalize": "percentile"}
    torch.save(blob, tmp_path / "old.pt")
    assert load_model(tmp_path / "old.pt").protocol == Protocol(normalize="percentile", threshold=0.6, tta=False)


@pytest.mark.parametrize("changes, match", [({"threshold": 1.5}, "threshold"), ({"normalize": "zscore"}, "normalize"),
                                            ({"class_names": ("a",)}, "class_names"), ({"tta": "yes"}, "tta")])
def test_a_bad_protocol_is_refused_where_it_is_written(changes, match):
    with pytest.raises(ValueError, match=match):
        Protocol(**changes)


def test_predict_instances_follows_the_protocols_tta_and_threshold(monkeypatch, tiny_unet):
    net = tiny_unet(base_channels=2)
    image = np.random.default_rng(0).random((30, 30)).astype(np.float32)
    seen = {}
    import unet_tutorial.inference.instances as I

    def spy(model, image, *, tta, **kw):
        seen["tta"] = tta
        return predict_tiled(model, image, tta=tta, **kw)

    monkeypatch.setattr(I, "predict_tiled", spy)
    net.protocol = Protocol(threshold=0.3, tta=True)
    with_protocol = predict_instances(net, image)
    assert seen["tta"] is True
    assert np.array_equal(with_protocol, predict_instances(net, image, threshold=0.3, tta=True))
    predict_instances(net, image, tta=False)
    assert seen["tta"] is False
    assert model_protocol(object()) == Protocol()
