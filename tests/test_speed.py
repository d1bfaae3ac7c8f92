"""The tile size chosen by measured time, many images predicted together, and the summaries of a record."""

from __future__ import annotations

import numpy as np
import pytest

from unet_tutorial.experiments import paired_difference, time_to_quality
from unet_tutorial.inference import (choose_tile_size, clear_tile_timings, fastest_tile_size, plan_tiles,
                                     predict_tiled, predict_tiled_many, tile_seconds, tile_size_candidates)
from unet_tutorial.inference import speed as S


def _image(h: int, w: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).random((h, w)).astype(np.float32)


def test_candidates_fit_are_cheap_and_include_the_fewest_flops_size(tiny_unet):
    net = tiny_unet()
    for shape in ((40, 50), (300, 200), (1000, 1000)):
        sizes = tile_size_candidates(net, shape)
        assert sizes == sorted(sizes) and choose_tile_size(net, shape) in sizes
        costs = [plan_tiles(net, *shape, s).num_tiles * s * s for s in sizes]
        assert max(costs) <= 1.5 * min(costs) * 1.05  # (the FLOP rule's own choice may be 5 % above)
        assert len(sizes) <= 6
    with pytest.raises(ValueError, match="max_cost"):
        tile_size_candidates(net, (40, 50), max_cost=0.5)


def test_fastest_tile_size_minimises_tiles_times_seconds(monkeypatch, tiny_unet):
    net = tiny_unet()
    shape = (600, 600)
    sizes = tile_size_candidates(net, shape)
    assert len(sizes) > 1
    for slow in sizes:  # make each candidate in turn the only fast one per pixel
        fake = {s: (1.0 if s == slow else 100.0) * s * s for s in sizes}
        monkeypatch.setattr(S, "tile_seconds", lambda m, s, d, **kw: fake[s])
        want = min(sizes, key=lambda s: plan_tiles(net, *shape, s).num_tiles * fake[s])
        assert fastest_tile_size(net, shape) == want == slow


def test_a_single_candidate_is_not_timed(monkeypatch, tiny_unet):
    net = tiny_unet()
    monkeypatch.setattr(S, "tile_seconds", lambda *a, **k: pytest.fail("timed a single candidate"))
    assert fastest_tile_size(net, (20, 20)) in tile_size_candidates(net, (20, 20))


def test_tile_timings_are_cached_per_shape_precision_and_layout(tiny_unet):
    net = tiny_unet()
    clear_tile_timings()
    t = tile_seconds(net, 76)
    assert t > 0 and tile_seconds(net, 76) == t  # cached: the same number
    assert len(S._TIMINGS) == 1
    tile_seconds(net, 76, channels_last=True)
    tile_seconds(tiny_unet(), 76)  # another model of the same architecture: the same entry
    assert len(S._TIMINGS) == 2
    assert net.training is False
    clear_tile_timings()
    assert not S._TIMINGS


@pytest.mark.parametrize("padding", ["valid", "same"])
@pytest.mark.parametrize("tta", [False, True])
def test_many_images_give_what_each_gives_alone(padding, tta, tiny_unet):
    net = tiny_unet(padding=padding)
    images = [_image(40, 50, 1), _image(70, 33, 2), _image(40, 50, 3), _image(9, 120, 4)]
    # A valid network is exact at any tile size: the timed choice may differ from the one alone.
    # Blended same-padded tiles depend on the size: both sides get the same one.
    size = None if padding == "valid" else 64
    together = predict_tiled_many(net, images, tta=tta, batch_size=5, tile_size=size)
    for im, got in zip(images, together):
        alone = predict_tiled(net, im, tta=tta, tile_size=size or choose_tile_size(net, im.shape))
        assert got.shape == (2, *im.shape)
        assert np.abs(got - alone).max() <= 1e-5
        assert np.allclose(got.sum(0), 1.0, atol=1e-5)


def test_many_images_are_batched_across_images(monkeypatch, tiny_unet):
    net = tiny_unet()
    calls = []
    original = net.forward

    def counting(x):
        calls.append(x.shape[0])
        return original(x)

    monkeypatch.setattr(net, "forward", counting)
    images = [_image(30, 30, k) for k in range(6)]
    predict_tiled_many(net, images, tile_size=76)  # one 76-px tile covers a 30-px image
    assert calls == [6]  # one forward pass for all six


def test_many_images_refuse_a_single_array(tiny_unet):
    with pytest.raises(ValueError, match="list"):
        predict_tiled_many(tiny_unet(), _image(30, 30))
    with pytest.raises(ValueError, match=r"images\[1\]"):
        predict_tiled_many(tiny_unet(), [_image(30, 30), np.full((30, 30), np.nan, np.float32)])


def _record(curves: dict, seconds: dict) -> dict:
    runs = {}
    for key, (steps, secs, rand) in curves.items():
        runs[key] = {"steps": steps[-1], "train_seconds": seconds[key],
                     "curves": {"validation": {"step": steps, "seconds": secs, "rand": rand}}}
    return {"seeds": [0], "arms": ["fp32", "fast"], "runs": runs}


def test_time_to_quality_reads_the_curves():
    rec = _record({"fp32/seed0": ([1000, 2000, 2500], [300.0, 600.0, 750.0], [0.2, 0.1, 0.08]),
                   "fast/seed0": ([1000, 2000, 3000, 4000], [150.0, 300.0, 450.0, 600.0], [0.2, 0.09, 0.075, 0.07])},
                  {"fp32/seed0": 750.0, "fast/seed0": 600.0})
    (t,) = time_to_quality(rec)
    assert t["base_final"] == 0.08 and t["fast_seconds"] == 450.0 and t["ratio"] == pytest.approx(0.6)
    assert t["step"] == 2000 and (t["base_at_step"], t["fast_at_step"]) == (0.1, 0.09)
    assert t["fast_steps_per_second"] == pytest.approx(4000 / 600)
    never = _record({"fp32/seed0": ([1000], [300.0], [0.05]), "fast/seed0": ([1000], [150.0], [0.2])},
                    {"fp32/seed0": 300.0, "fast/seed0": 150.0})
    assert time_to_quality(never)[0]["ratio"] is None


def test_paired_difference_interval():
    rec = {"arms": ["a", "b"], "seeds": [0, 1, 2, 3],
           "metrics": {**{f"a/seed{s}/x": v for s, v in enumerate([1.0, 2.0, 3.0, 4.0])},
                       **{f"b/seed{s}/x": v for s, v in enumerate([1.1, 2.1, 3.1, 4.1])}}}
    d = paired_difference(rec, "x", "a", "b")
    # identical differences: the seeds' own spread (1 to 4) is paired away, the interval is a point
    assert d["mean"] == pytest.approx(0.1) and d["high"] - d["low"] == pytest.approx(0.0, abs=1e-12)
    with pytest.raises(KeyError, match="arm 'c'"):
        paired_difference(rec, "x", "a", "c")


def test_time_to_quality_can_smooth_and_read_the_training_loss():
    rec = _record({"fp32/seed0": ([1000, 2000, 3000], [300.0, 600.0, 900.0], [0.2, 0.1, 0.12]),
                   "fast/seed0": ([1000, 2000, 3000], [150.0, 300.0, 450.0], [0.05, 0.2, 0.1])},
                  {"fp32/seed0": 900.0, "fast/seed0": 450.0})
    assert time_to_quality(rec)[0]["fast_seconds"] == 150.0  # one lucky dip decides without smoothing
    (t,) = time_to_quality(rec, smooth=2)  # running means: fp32 .15, .11; fast .125, .15
    assert t["base_final"] == pytest.approx(0.11) and t["fast_seconds"] is None
    for key in rec["runs"]:
        v = rec["runs"][key]["curves"]["validation"]
        rec["runs"][key]["curves"]["train"] = {"step": v["step"], "seconds": v["seconds"], "loss": v["rand"]}
    assert time_to_quality(rec, metric="loss")[0]["fast_seconds"] == 150.0
    with pytest.raises(ValueError, match="smooth"):
        time_to_quality(rec, smooth=0)
