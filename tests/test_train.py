"""Training (§3): configurations, devices, checkpoints, exact resume, divergence, the CLI."""

from __future__ import annotations

import dataclasses

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch

from unet_tutorial import hardware as X
from unet_tutorial import checkpoint as K
from unet_tutorial import config as C
from unet_tutorial import train as T
import unet_tutorial.data as D
from unet_tutorial.losses import weighted_cross_entropy
from unet_tutorial.data import synthetic_em
from unet_tutorial.checkpoint import load_model
from unet_tutorial.model import UNet

REPO = Path(__file__).resolve().parents[1]


def tiny_config(**changes) -> C.TrainConfig:
    """A network and tiles small enough for a CPU step of a few milliseconds."""
    base = dict(
        name="tiny", base_channels=4, depth=2, dropout=0.2, tile_size=60, batch_size=2, holdout=1,
        augment="flips", optimizer="adam", lr=3e-3, schedule="cosine", warmup_steps=2, steps=12,
        val_every=0, checkpoint_every=4, seed=3, device="cpu", num_threads=1,
    )
    base.update(changes)
    return C.TrainConfig(**base)


@pytest.fixture(autouse=True)
def one_thread():
    """Tiny networks run fastest on one thread, and a busy machine makes more threads slower."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="module")
def tiny_data() -> D.TrainData:
    """Three *synthetic* EM-like 64×64 images: two to train on, one held out."""
    pairs = [synthetic_em((64, 64), n_cells=6, seed=s) for s in range(3)]
    return D.prepare_data(([p[0] for p in pairs], [p[1] for p in pairs]), holdout=1)


# --------------------------------------------------------------------------
# Configurations
# --------------------------------------------------------------------------


def test_named_configurations():
    paper = C.get_config("paper")
    assert (paper.base_channels, paper.tile_size, paper.batch_size) == (64, 572, 1)
    assert (paper.optimizer, paper.momentum) == ("sgd", 0.99)
    assert (paper.w0, paper.sigma, paper.border_weights) == (10.0, 5.0, True)
    assert paper.output_size == 388
    cpu = C.get_config("cpu")
    assert cpu.base_channels < paper.base_channels and cpu.tile_size < paper.tile_size
    assert C.get_config("cpu", steps=7).steps == 7


def test_load_config_extends_and_round_trips(tmp_path):
    path = tmp_path / "mine.toml"
    path.write_text('extends = "cpu"\nlr = 0.0005\nname = "mine"\n')
    cfg = C.load_config(path)
    assert cfg.lr == 0.0005 and cfg.name == "mine"
    assert cfg.tile_size == C.get_config("cpu").tile_size
    assert C.TrainConfig.from_dict(cfg.to_dict()) == cfg


def test_unknown_key_is_named_with_a_suggestion(tmp_path):
    path = tmp_path / "typo.toml"
    path.write_text("learning_rate = 0.1\ntile_sise = 572\n")
    with pytest.raises(ValueError, match=r"'tile_sise' \(did you mean 'tile_size'\?\)"):
        C.load_config(path)


def test_invalid_tile_size_names_the_nearest_valid_sizes(tmp_path):
    path = tmp_path / "tile.toml"
    path.write_text("tile_size = 570\n")
    with pytest.raises(ValueError, match=r"tile_size.*570.*556 or 572"):
        C.load_config(path)


@pytest.mark.parametrize(
    "changes, match",
    [
        ({"lr": -0.1}, "'lr' must be a positive"),
        ({"lr": float("nan")}, "'lr' must be a positive"),
        ({"momentum": 1.0}, "'momentum'"),
        ({"batch_size": 0}, "'batch_size' must be >= 1"),
        ({"optimizer": "rmsprop"}, "'optimizer' must be one of"),
        ({"precision": "fp8"}, "'precision'"),
        ({"steps": 2.5}, "'steps' must be of type int"),
        ({"border_weights": "yes"}, "'border_weights' must be of type bool"),
        ({"device": "gpu0"}, "'device'"),
        ({"sigma": 0}, "'sigma'"),
    ],
)
def test_invalid_values_raise(changes, match):
    with pytest.raises(ValueError, match=match):
        C.get_config("cpu").replace(**changes)


def test_config_file_errors(tmp_path):
    with pytest.raises(FileNotFoundError):
        C.load_config(tmp_path / "missing.toml")
    bad = tmp_path / "bad.toml"
    bad.write_text("lr = = 1\n")
    with pytest.raises(ValueError, match="not valid TOML"):
        C.load_config(bad)
    with pytest.raises(ValueError, match="unknown configuration"):
        C.get_config("gpu")


# --------------------------------------------------------------------------
# Device, precision, schedule, sample order
# --------------------------------------------------------------------------


def test_device_selection_prefers_cuda_then_mps_then_cpu(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 2)
    monkeypatch.setenv("LOCAL_RANK", "1")
    assert X.select_device("auto") == torch.device("cuda", 1)
    assert X.select_device("cuda") == torch.device("cuda", 1)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(X, "mps_available", lambda: True)
    assert X.select_device("auto") == torch.device("mps")
    monkeypatch.setattr(X, "mps_available", lambda: False)
    assert X.select_device(None) == torch.device("cpu")
    assert X.select_device("cpu") == torch.device("cpu")
    with pytest.raises(ValueError, match="CUDA is not available"):
        X.select_device("cuda")
    with pytest.raises(ValueError, match="MPS is not available"):
        X.select_device("mps")
    with pytest.raises(ValueError, match="not a valid torch device"):
        X.select_device("tpu-ish")


def test_precision_choice(monkeypatch):
    cuda, cpu = torch.device("cuda", 0), torch.device("cpu")
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda: True)
    assert T.resolve_precision("auto", cuda) is torch.bfloat16
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda: False)
    assert T.resolve_precision("auto", cuda) is torch.float16
    assert T.resolve_precision("fp32", cuda) is None
    # a CPU: bf16 exactly when its flags say it computes bf16 in hardware
    monkeypatch.setattr(X.platform, "machine", lambda: "x86_64")
    for flags, want in ((set(), None), ({"avx2", "avx512f"}, None), ({"avx512_bf16"}, torch.bfloat16),
                        ({"amx_bf16", "amx_tile"}, torch.bfloat16), ({"bf16"}, None)):
        monkeypatch.setattr(X, "cpu_features", lambda f=frozenset(flags): f)
        assert T.resolve_precision("auto", cpu) is want, flags
        assert T.resolve_precision("fp32", cpu) is None
    monkeypatch.setattr(X.platform, "machine", lambda: "aarch64")
    monkeypatch.setattr(X, "cpu_features", lambda: frozenset({"fp", "asimd", "bf16"}))
    assert T.resolve_precision("auto", cpu) is torch.bfloat16
    with pytest.raises(ValueError, match="precision must be"):
        T.resolve_precision("float32", cpu)


def test_bf16_without_native_support_warns_in_one_line(monkeypatch):
    monkeypatch.setattr(X, "cpu_features", lambda: frozenset({"avx2"}))
    with pytest.warns(RuntimeWarning, match="without native bfloat16.*slower") as caught:
        assert X.resolve_precision("bf16", "cpu") is torch.bfloat16
    assert "\n" not in str(caught[0].message)
    monkeypatch.setattr(X, "cpu_features", lambda: frozenset({"avx512_bf16"}))
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert X.resolve_precision("bf16", "cpu") is torch.bfloat16


def test_cpu_features_are_read_from_cpuinfo(monkeypatch):
    X.cpu_features.cache_clear()
    try:
        monkeypatch.setattr(X, "_cpuinfo", lambda: "processor\t: 0\nmodel name\t: Test CPU\n"
                                                   "flags\t\t: fpu AVX2 avx512_bf16\n")
        assert X.cpu_features() == {"fpu", "avx2", "avx512_bf16"}
        assert X.cpu_model() == "Test CPU"
    finally:
        X.cpu_features.cache_clear()


def test_channels_last_rule():
    cpu, cuda, mps = torch.device("cpu"), torch.device("cuda", 0), torch.device("mps")
    assert X.use_channels_last(cpu, torch.bfloat16) and not X.use_channels_last(cpu, None)
    assert X.use_channels_last(cuda, None) and X.use_channels_last(cuda, torch.float16)
    assert not X.use_channels_last(mps, None)
    assert not X.use_channels_last(cpu, torch.bfloat16, requested=False)
    assert not X.use_channels_last(cuda, None, requested=False)


def test_learning_rate_schedule():
    cfg = C.get_config("cpu").replace(steps=101, warmup_steps=10, lr_min_fraction=0.1)
    f = [T.lr_factor(s, cfg) for s in range(cfg.steps)]
    assert f[0] == pytest.approx(0.1) and f[9] == pytest.approx(1.0)  # linear warm-up
    assert f[10] == pytest.approx(1.0) and f[-1] == pytest.approx(0.1)  # cosine to the floor
    assert all(a >= b for a, b in zip(f[10:], f[11:]))
    paper = C.get_config("paper")
    assert {T.lr_factor(s, paper) for s in (0, 5000, 19999)} == {1.0}


def test_processes_see_disjoint_shards():
    seen = [g for step in range(5) for rank in range(3) for g in T.sample_numbers(step, 2, rank, 3)]
    assert sorted(seen) == list(range(30))  # every sample once, none shared


def test_optimizer_is_the_papers_sgd():
    model = UNet(base_channels=4, depth=2)
    opt = T.make_optimizer(model, C.get_config("paper"))
    assert isinstance(opt, torch.optim.SGD)
    assert opt.param_groups[0]["momentum"] == 0.99 and opt.param_groups[0]["lr"] == 0.01
    assert isinstance(T.make_optimizer(model, C.get_config("cpu")), torch.optim.Adam)


# --------------------------------------------------------------------------
# Checkpoints
# --------------------------------------------------------------------------


def _checkpoint_parts(steps_done: int):
    cfg = tiny_config()
    model = T.build_model(cfg)
    opt = T.make_optimizer(model, cfg)
    sched = T.make_scheduler(opt, cfg)
    hist = T.History()
    for s in range(steps_done):
        hist.log_step(s + 1, 1.0 / (s + 1), 1e-3, 0.1 * s)
    return cfg, model, opt, sched, hist


def test_checkpoint_round_trip_with_weights_only(tmp_path):
    cfg, model, opt, sched, hist = _checkpoint_parts(3)
    path = tmp_path / "checkpoint.pt"
    K.save_checkpoint(path, model, opt, sched, step=3, config=cfg, history=hist)
    blob = torch.load(path, weights_only=True)  # the file holds only tensors and plain data
    assert blob["step"] == 3 and C.TrainConfig.from_dict(blob["config"]) == cfg
    assert T.History.from_dict(blob["history"]) == hist
    assert set(blob["rng"]) >= {"torch", "numpy", "python"}
    restored = load_model(path)  # a checkpoint is also a model file
    for a, b in zip(restored.state_dict().values(), model.state_dict().values()):
        assert torch.equal(a, b)


def test_crash_while_writing_keeps_the_old_checkpoint(tmp_path, monkeypatch):
    cfg, model, opt, sched, hist = _checkpoint_parts(2)
    path = tmp_path / "checkpoint.pt"
    K.save_checkpoint(path, model, opt, sched, step=2, config=cfg, history=hist)
    before = path.read_bytes()

    def crashing_save(obj, f, *args, **kwargs):
        f.write(b"half a checkpoint")
        raise OSError("disk full (simulated)")

    monkeypatch.setattr(torch, "save", crashing_save)
    with torch.no_grad():
        for p in model.parameters():
            p.add_(1.0)
    with pytest.raises(OSError, match="simulated"):
        K.save_checkpoint(path, model, opt, sched, step=4, config=cfg, history=hist)
    monkeypatch.undo()
    assert path.read_bytes() == before
    assert K.load_checkpoint(path)["step"] == 2
    assert sorted(p.name for p in tmp_path.iterdir()) == ["checkpoint.pt"]  # no temporary files left


def test_load_checkpoint_errors(tmp_path):
    with pytest.raises(FileNotFoundError):
        K.load_checkpoint(tmp_path / "nope.pt")
    (tmp_path / "junk.pt").write_bytes(b"not a checkpoint")
    with pytest.raises(ValueError, match="not a readable checkpoint"):
        K.load_checkpoint(tmp_path / "junk.pt")
    torch.save({"unet": {}, "state_dict": {}}, tmp_path / "model_only.pt")
    with pytest.raises(ValueError, match="missing optimizer"):
        K.load_checkpoint(tmp_path / "model_only.pt")


def test_history_json_round_trip(tmp_path):
    hist = T.History()
    hist.log_step(1, 0.7, 1e-3, 0.5)
    hist.log_validation(1, {"pixel_error": 0.2, "rand": 0.3})
    hist.save(tmp_path / "h.json")
    assert T.History.load(tmp_path / "h.json") == hist
    assert json.loads((tmp_path / "h.json").read_text())["val"]["pixel_error"] == [0.2]


def test_a_history_of_the_former_metric_names_is_read_under_todays(tmp_path):
    """A checkpoint's history from before record schema 2 resumes under the registry's names."""
    old = {"step": [1, 2], "loss": [0.7, 0.6], "lr": [1e-3, 1e-3], "time": [0.5, 1.0], "val_step": [2],
           "val": {"pixel_fscore": [0.05], "pixel": [0.08], "pixel_fscore_threshold": [0.3], "rand": [0.1]}}
    hist = T.History.from_dict(old)
    assert hist.val == {"pixel_error": [0.05], "pixel_mismatch": [0.08], "pixel_error_threshold": [0.3],
                        "rand": [0.1]}
    hist.log_validation(3, {"pixel_error": 0.04, "pixel_mismatch": 0.07, "pixel_error_threshold": 0.4, "rand": 0.09})
    assert hist.val["pixel_error"] == [0.05, 0.04]  # one curve, not two names of one metric
    assert T.History.from_dict(hist.to_dict()) == hist  # today's names are read as they are


# --------------------------------------------------------------------------
# Training
# --------------------------------------------------------------------------


def test_a_few_steps_reduce_the_loss_on_a_fixed_batch():
    torch.manual_seed(0)
    model = UNet(base_channels=8, depth=2, dropout=0.0)
    cfg = C.get_config("cpu")
    opt = T.make_optimizer(model, cfg)
    image, label = synthetic_em((76, 76), n_cells=6, seed=1)
    x = torch.from_numpy(image)[None, None]
    y = torch.from_numpy(label.astype(np.int64))[None]
    w = torch.from_numpy(D.weight_maps([label], cfg)[0])[None]
    losses = [T.train_step(model, opt, x, y, w) for _ in range(20)]
    assert np.mean(losses[-3:]) < 0.75 * np.mean(losses[:3])


def test_step_reports_the_unclipped_gradient_norm():
    torch.manual_seed(0)
    model = UNet(base_channels=4, depth=2, dropout=0.0)
    opt = T.make_optimizer(model, C.get_config("cpu"))
    image, label = synthetic_em((76, 76), n_cells=6, seed=1)
    x = torch.from_numpy(image)[None, None]
    y = torch.from_numpy(label.astype(np.int64))[None]
    T.weighted_cross_entropy(model(x), y, None).backward()  # the same gradient, computed by hand
    want = torch.sqrt(sum((p.grad.double() ** 2).sum() for p in model.parameters()))
    stats: dict[str, float] = {}
    T.train_step(model, opt, x, y, None, grad_clip=1e-6, stats=stats)
    assert stats["grad_norm"] == pytest.approx(float(want), rel=1e-4)
    assert stats["grad_norm"] > 1e-3  # the norm before clipping to 1e-6


def test_train_writes_outputs_and_validates(tiny_data, tmp_path):
    cfg = tiny_config(val_every=6)
    model, hist = T.train(cfg, data=tiny_data, out_dir=tmp_path, progress=False)
    assert hist.step == list(range(1, 13)) and all(np.isfinite(hist.loss))
    assert len(hist.grad_norm) == 12 and all(np.isfinite(hist.grad_norm)) and min(hist.grad_norm) > 0
    assert hist.val_step == [6, 12] and set(hist.val) >= {"pixel_error", "iou", "rand"}
    assert all(0.0 <= v <= 1.0 for vals in hist.val.values() for v in vals)
    assert hist.lr[0] == pytest.approx(cfg.lr / 2)  # warm-up
    assert {p.name for p in tmp_path.iterdir()} == {"checkpoint.pt", "model.pt", "history.json"}
    assert T.History.load(tmp_path / "history.json") == hist
    assert K.load_checkpoint(tmp_path / "checkpoint.pt")["step"] == 12
    final = load_model(tmp_path / "model.pt")
    for a, b in zip(final.state_dict().values(), model.state_dict().values()):
        assert torch.equal(a, b.cpu())


def test_same_seed_same_losses_other_seed_other_losses(tiny_data):
    a = T.train(tiny_config(steps=4), data=tiny_data, progress=False)[1].loss
    b = T.train(tiny_config(steps=4), data=tiny_data, progress=False)[1].loss
    c = T.train(tiny_config(steps=4, seed=4), data=tiny_data, progress=False)[1].loss
    assert a == b and a != c


def test_dataloader_workers_do_not_change_the_samples(tiny_data):
    a = T.train(tiny_config(steps=4), data=tiny_data, progress=False)[1].loss
    b = T.train(tiny_config(steps=4, num_workers=1), data=tiny_data, progress=False)[1].loss
    assert a == b


def test_max_minutes_stops_early_with_outputs(tiny_data, tmp_path):
    _, hist = T.train(tiny_config(max_minutes=1e-9), data=tiny_data, out_dir=tmp_path, progress=False)
    assert hist.step == [1]
    assert K.load_checkpoint(tmp_path / "checkpoint.pt")["step"] == 1 and (tmp_path / "model.pt").is_file()


@pytest.mark.parametrize("optimizer", ["adam", "sgd"])
@pytest.mark.filterwarnings("ignore:precision bf16 on a CPU without native")
@pytest.mark.parametrize("precision", ["fp32", "bf16"])
def test_resume_in_process_is_bit_identical(tiny_data, tmp_path, optimizer, precision):
    cfg = tiny_config(optimizer=optimizer, lr=0.01 if optimizer == "sgd" else 3e-3, val_every=4,
                      precision=precision)
    full_model, full = T.train(cfg, data=tiny_data, out_dir=tmp_path / "full", progress=False)
    model, resumed = _interrupted_then_resumed(cfg, tiny_data, tmp_path / "resumed", stop_after=8)
    assert resumed.step == full.step
    assert resumed.loss == full.loss  # bit-identical floats
    assert resumed.lr == full.lr
    assert resumed.val == full.val
    for a, b in zip(model.state_dict().values(), full_model.state_dict().values()):
        assert torch.equal(a, b)


@pytest.mark.filterwarnings("ignore:precision bf16 on a CPU without native")
def test_bf16_keeps_float32_weights_optimiser_state_loss_and_checkpoints(tiny_data, tmp_path):
    """Autocast computes the convolutions in bf16; what is stored and updated stays float32."""
    runs = {}
    for precision in ("fp32", "bf16"):
        cfg = tiny_config(optimizer="adam", lr=3e-3, steps=6, precision=precision)
        model, history = T.train(cfg, data=tiny_data, out_dir=tmp_path / precision, progress=False)
        runs[precision] = history
        blob = K.load_checkpoint(tmp_path / precision / "checkpoint.pt")
        assert all(v.dtype == torch.float32 for v in model.state_dict().values())
        assert all(v.dtype == torch.float32 for v in blob["state_dict"].values())
        moments = [t for st in blob["optimizer"]["state"].values() for t in st.values()
                   if isinstance(t, torch.Tensor) and t.ndim > 0]
        assert moments and all(t.dtype == torch.float32 for t in moments)
        assert history.settings["precision"] == precision
        assert history.settings["channels_last"] == (precision == "bf16")
    # the first step (same weights, same tile) gives nearly, not exactly, the float32 loss;
    # the trajectories then drift apart by bf16's rounding, a few per cent in 6 steps
    fp32, bf16 = np.array(runs["fp32"].loss), np.array(runs["bf16"].loss)
    assert fp32[0] != bf16[0] and abs(bf16[0] - fp32[0]) <= 0.01 * fp32[0]
    assert np.abs(bf16 - fp32).max() <= 0.05 * fp32.max()


def test_train_takes_its_loss(tiny_data):
    """train(loss_fn=) replaces Eq. 1; the default is Eq. 1."""
    seen = []

    def doubled(logits, y, w):
        seen.append((logits.dtype, tuple(y.shape)))
        return 2 * weighted_cross_entropy(logits, y, w)

    cfg = tiny_config(steps=1, precision="fp32")
    _, plain = T.train(cfg, data=tiny_data, progress=False)
    _, twice = T.train(cfg, data=tiny_data, progress=False, loss_fn=doubled)
    assert seen and seen[0][0] == torch.float32
    assert twice.loss[0] == 2 * plain.loss[0]


def test_weight_average_is_validated_saved_and_returned(tiny_data, tmp_path):
    """ema_decay = d: after two steps the returned weights are d·w1 + (1 − d)·w2 (w1, w2: the plain run's)."""
    d = 0.75
    cfg = tiny_config(precision="fp32", schedule="constant", warmup_steps=0, val_every=0)
    w1 = T.train(cfg.replace(steps=1), data=tiny_data, progress=False)[0].state_dict()
    w2 = T.train(cfg.replace(steps=2), data=tiny_data, progress=False)[0].state_dict()
    averaged, history = T.train(cfg.replace(steps=2, ema_decay=d), data=tiny_data, out_dir=tmp_path,
                                progress=False)
    for k, v in averaged.state_dict().items():
        assert torch.allclose(v, d * w1[k] + (1 - d) * w2[k], atol=1e-6), k
    saved = load_model(tmp_path / "model.pt").state_dict()
    assert all(torch.equal(saved[k], v.cpu()) for k, v in averaged.state_dict().items())
    assert "ema" in K.load_checkpoint(tmp_path / "checkpoint.pt")


def test_resume_with_a_weight_average_is_bit_identical(tiny_data, tmp_path):
    cfg = tiny_config(ema_decay=0.9, val_every=4, precision="fp32")
    full_model, full = T.train(cfg, data=tiny_data, out_dir=tmp_path / "full", progress=False)
    model, resumed = _interrupted_then_resumed(cfg, tiny_data, tmp_path / "resumed", stop_after=8)
    assert resumed.loss == full.loss and resumed.val == full.val
    for a, b in zip(model.state_dict().values(), full_model.state_dict().values()):
        assert torch.equal(a, b)


def _interrupted_then_resumed(cfg, data, out, stop_after):
    """Train until the checkpoint of step ``stop_after`` exists, 'crash', then resume."""

    class Crash(Exception):
        pass

    original = T.save_checkpoint  # the name the training loop calls

    def save_then_crash(*args, step, **kwargs):
        original(*args, step=step, **kwargs)
        if step == stop_after:
            raise Crash

    T.save_checkpoint = save_then_crash
    try:
        with pytest.raises(Crash):
            T.train(cfg, data=data, out_dir=out, progress=False)
    finally:
        T.save_checkpoint = original
    assert K.load_checkpoint(out / "checkpoint.pt")["step"] == stop_after
    return T.train(cfg, data=data, out_dir=out, resume=True, progress=False)


def test_nan_loss_raises_and_keeps_the_last_good_checkpoint(tiny_data, tmp_path, monkeypatch):
    cfg = tiny_config(steps=12, checkpoint_every=4)
    original = weighted_cross_entropy
    calls = {"n": 0}

    def loss_that_breaks(*args, **kwargs):
        calls["n"] += 1
        loss = original(*args, **kwargs)
        return loss * float("nan") if calls["n"] == 7 else loss

    monkeypatch.setattr(T, "weighted_cross_entropy", loss_that_breaks)
    with pytest.raises(T.TrainingDiverged, match=r"nan at step 7.*lower learning rate") as err:
        T.train(cfg, data=tiny_data, out_dir=tmp_path, progress=False)
    assert err.value.step == 7 and err.value.checkpoint == tmp_path / "checkpoint.pt"
    blob = K.load_checkpoint(tmp_path / "checkpoint.pt")
    assert blob["step"] == 4
    assert all(torch.isfinite(v).all() for v in blob["state_dict"].values())


def test_huge_learning_rate_diverges(tiny_data, tmp_path):
    cfg = tiny_config(optimizer="sgd", lr=1e6, momentum=0.99, warmup_steps=0, schedule="constant",
                      steps=40, checkpoint_every=1)
    with pytest.raises(T.TrainingDiverged, match="lower learning rate") as err:
        T.train(cfg, data=tiny_data, out_dir=tmp_path, progress=False)
    blob = K.load_checkpoint(tmp_path / "checkpoint.pt")
    assert blob["step"] == err.value.step - 1  # the last step whose loss was finite
    assert all(np.isfinite(blob["history"]["loss"]))
    history = err.value.history  # the run up to the divergence, its last loss the bad one
    assert history.step[-1] == err.value.step and not np.isfinite(history.loss[-1])
    assert len(history.grad_norm) == len(history.step)


# --------------------------------------------------------------------------
# Command line, killed from outside
# --------------------------------------------------------------------------


def _cli(out: Path, *extra: str) -> list[str]:
    sets = ["base_channels=4", "depth=2", "tile_size=60", "batch_size=2", "holdout=2", 'augment="flips"',
            "num_threads=1", "val_every=0", "checkpoint_every=25", "lr=3e-3", "warmup_steps=5"]
    cmd = [sys.executable, "-m", "unet_tutorial", "train", "--config", "cpu", "--data", "synthetic",
           "--out", str(out), "--device", "cpu", "--no-progress", "--steps", "300"]
    for s in sets:
        cmd += ["--set", s]
    return cmd + list(extra)


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(REPO) + os.pathsep + env.get("PYTHONPATH", "")
    env["OMP_NUM_THREADS"] = "1"
    return env


@pytest.mark.slow
def test_cli_run_killed_with_sigkill_resumes_exactly(tmp_path):
    full, cut = tmp_path / "full", tmp_path / "cut"
    proc = subprocess.Popen(_cli(cut), env=_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    ckpt = cut / "checkpoint.pt"
    deadline = time.monotonic() + 120
    while not ckpt.exists() and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.01)
    proc.send_signal(signal.SIGKILL)
    proc.communicate()
    assert proc.returncode == -signal.SIGKILL, "the run ended before it could be killed mid-way"
    killed_at = K.load_checkpoint(ckpt)["step"]
    assert 0 < killed_at < 300
    assert not (cut / "model.pt").exists()

    resumed = subprocess.run(_cli(cut, "--resume"), env=_env(), capture_output=True, text=True, timeout=300)
    assert resumed.returncode == 0, resumed.stderr
    uninterrupted = subprocess.run(_cli(full), env=_env(), capture_output=True, text=True, timeout=300)
    assert uninterrupted.returncode == 0, uninterrupted.stderr
    a, b = T.History.load(full / "history.json"), T.History.load(cut / "history.json")
    assert b.step == a.step == list(range(1, 301))
    assert b.loss == a.loss  # bit-identical after a SIGKILL
    assert b.val == a.val


def test_cli_reports_bad_configuration(tmp_path):
    res = subprocess.run(_cli(tmp_path, "--set", "tile_size=61"), env=_env(), capture_output=True, text=True,
                         timeout=120)
    assert res.returncode == 2
    assert "tile_size" in res.stderr and "nearest valid sizes" in res.stderr
    assert "Traceback" not in res.stderr


# --------------------------------------------------------------------------
# Pre-trained weights cache
# --------------------------------------------------------------------------


def test_divergence_never_names_a_stale_checkpoint(tiny_data, tmp_path, monkeypatch):
    """resume=False: a checkpoint left by an earlier run in the folder is not 'the last good one'."""
    T.train(tiny_config(steps=4, checkpoint_every=4), data=tiny_data, out_dir=tmp_path, progress=False)
    assert (tmp_path / "checkpoint.pt").is_file()  # the earlier run's
    original = weighted_cross_entropy

    def nan_at_once(*args, **kwargs):
        return original(*args, **kwargs) * float("nan")

    monkeypatch.setattr(T, "weighted_cross_entropy", nan_at_once)
    with pytest.raises(T.TrainingDiverged, match="no checkpoint was written") as err:
        T.train(tiny_config(steps=12, checkpoint_every=4), data=tiny_data, out_dir=tmp_path, progress=False)
    assert err.value.checkpoint is None


@pytest.mark.parametrize("fix,match", [
    (lambda lab: lab * 255, r"training label 0 must hold only 0 and 1.*0/255"),
    (lambda lab: lab.astype(np.float32), r"training label 0 must be a bool or integer"),
])
def test_bad_training_labels_fail_before_the_first_step(tiny_data, fix, match, monkeypatch):
    monkeypatch.setattr(T, "train_step", lambda *a, **k: pytest.fail("no step may run on bad labels"))
    labels = [fix(np.asarray(lab)) for lab in tiny_data.labels]
    with pytest.raises(ValueError, match=match):
        T.train(tiny_config(), data=D.TrainData(tiny_data.images, labels, tiny_data.val_images,
                                                 tiny_data.val_labels), progress=False)


def test_held_out_label_without_cells_fails_at_the_start(tiny_data, monkeypatch):
    monkeypatch.setattr(T, "train_step", lambda *a, **k: pytest.fail("no step may run"))
    empty = [np.zeros_like(tiny_data.val_labels[0])]
    with pytest.raises(ValueError, match="held-out label 0 has no cell pixel"):
        T.train(tiny_config(val_every=2), data=D.TrainData(tiny_data.images, tiny_data.labels,
                                                           tiny_data.val_images, empty), progress=False)


def test_training_step_skips_the_per_step_value_checks(tiny_data, monkeypatch):
    """The data set validated labels and weights once; the loss must not re-check them every step
    (each check is a device-to-host synchronisation)."""
    seen = []
    original = weighted_cross_entropy

    def spy(*args, **kwargs):
        seen.append(kwargs.get("check_values", True))
        return original(*args, **kwargs)

    monkeypatch.setattr(T, "weighted_cross_entropy", spy)
    T.train(tiny_config(steps=3), data=tiny_data, progress=False)
    assert seen == [False, False, False]


def test_config_rejects_bad_values_where_they_are_written():
    for field, value, match in [("sigma", float("inf"), "sigma.*finite"), ("w0", float("nan"), "w0"),
                                ("lr", 0.0, "lr"), ("dropout", 1.0, "dropout"), ("seed", -1, "seed"),
                                ("augment", "gray", "augment.*one of"), ("name", " ", "name")]:
        with pytest.raises(ValueError, match=match):
            tiny_config(**{field: value})
    assert tiny_config(sigma=100.0).sigma == 100.0  # large sigma is fine (weights.py handles it)
    with pytest.raises(dataclasses.FrozenInstanceError):
        tiny_config().sigma = 3.0


def test_normalize_is_learned_on_normalised_images_and_saved_with_the_model(tiny_data, tmp_path):
    """``normalize="percentile"``: the same images scaled by 0.1 train the same network."""
    faint = D.TrainData([0.1 * im for im in tiny_data.images], tiny_data.labels,
                        [0.1 * im for im in tiny_data.val_images], tiny_data.val_labels)
    cfg = tiny_config(steps=4, normalize="percentile", augment="none")
    a, ha = T.train(cfg, data=tiny_data, out_dir=tmp_path / "a", progress=False)
    b, hb = T.train(cfg, data=faint, progress=False)
    assert ha.loss == pytest.approx(hb.loss, rel=1e-4)  # the network saw the same inputs
    assert ha.val["iou"] == pytest.approx(hb.val["iou"], abs=1e-6)  # prediction normalises too
    assert a.normalize == "percentile" and load_model(tmp_path / "a" / "model.pt").normalize == "percentile"
    plain = T.train(tiny_config(steps=4, augment="none"), data=faint, progress=False)[1].loss
    assert plain != pytest.approx(hb.loss, rel=1e-3)
    with pytest.raises(ValueError, match="normalize"):
        tiny_config(normalize="zscore")


def test_evaluate_pools_images_of_different_sizes():
    """A folder of your own holds images of several sizes: validation pools their counts."""
    from unet_tutorial.metrics import pixel_mismatch, threshold_sweep

    torch.manual_seed(0)
    net = UNet(base_channels=2, depth=2, dropout=0.0).eval()
    ims = [synthetic_em((64, 64), n_cells=5, seed=1), synthetic_em((48, 80), n_cells=5, seed=2)]
    images, labels = [p[0] for p in ims], [p[1] for p in ims]
    out = T.evaluate(net, images, labels)
    probs = T.predict_probabilities(net, images)
    assert isinstance(probs, list) and [p.shape for p in probs] == [(64, 64), (48, 80)]
    # the course's pixel error: 1 - F of the cell pixels, counts pooled over the images
    tp = sum(np.count_nonzero((p > 0.5) & (lab == 1)) for p, lab in zip(probs, labels))
    fp = sum(np.count_nonzero((p > 0.5) & (lab != 1)) for p, lab in zip(probs, labels))
    fn = sum(np.count_nonzero((p <= 0.5) & (lab == 1)) for p, lab in zip(probs, labels))
    assert out["pixel_error"] == pytest.approx(1 - 2 * tp / (2 * tp + fp + fn))
    wrong = sum(pixel_mismatch(p > 0.5, lab == 1) * p.size for p, lab in zip(probs, labels))
    assert out["pixel_error"] != pytest.approx(wrong / sum(p.size for p in probs))  # not 1 - accuracy
    both = ("pixel_error", "pixel_mismatch", "rand")
    same = threshold_sweep([probs[0]], [labels[0] == 1], thresholds=[0.5], metrics=both, progress=False)
    stacked = threshold_sweep(probs[0][None], (labels[0] == 1)[None], thresholds=[0.5], metrics=both,
                              progress=False)
    assert same.best == stacked.best
    with pytest.raises(ValueError, match=r"truth\[1\] must have the shape of prob\[1\]"):
        threshold_sweep(probs, [labels[0] == 1, labels[0] == 1], progress=False)
    with pytest.raises(ValueError, match="a list prob needs a list truth"):
        threshold_sweep(probs, labels[0], progress=False)
