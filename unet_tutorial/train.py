"""Training the U-Net (§3): the weighted loss, the paper's optimiser, checkpoints, scale-out.

What the paper prescribes (§3), and where it lives here:

- **Energy function** (Eq. 1): pixel-wise soft-max and cross-entropy weighted
  per pixel by a pre-computed weight map (Eq. 2, w0 = 10, σ = 5 px):
  :func:`weighted_cross_entropy` (in :mod:`unet_tutorial.losses`) and
  :func:`unet_tutorial.weights.border_weight_map`.
- **Optimiser**: stochastic gradient descent (Caffe's) with a single tile per
  step and a high momentum of **0.99**, "so that a large number of the
  previously seen training samples determine the update in the current
  optimization step". The paper gives neither the learning rate nor the
  number of iterations (only "about 10 hours" on a 6 GB Titan); the ``paper``
  configuration uses a constant 0.01, which is stable with the
  pixel-normalised loss and momentum 0.99 (effective step ``lr/(1−μ) = 1``).
- **Large tiles over large batches**: 572×572 input tiles, batch 1.

Everything a run needs is one :class:`TrainConfig` (a dataclass, loadable from
TOML; named configurations ``paper`` and ``cpu`` in ``unet_tutorial/configs``).
:func:`train` runs it on CUDA (mixed precision, ``channels_last``), Apple MPS
or the CPU (bfloat16 and ``channels_last`` where the CPU has native bfloat16,
see :mod:`unet_tutorial.hardware`), shows a progress bar, validates
periodically on held-out images,
and writes atomic, resumable checkpoints: a run killed at any moment and
resumed produces bit-identically the same losses as an uninterrupted run
(on the same device and thread count), because every random choice — which
tile, which augmentation, which drop-out mask — is a pure function of
``(seed, step, rank)``. Under ``torchrun`` the same code trains data-parallel
with :class:`~torch.nn.parallel.DistributedDataParallel` (NCCL on GPUs, gloo
on CPUs), each process seeing its own shard of the samples.

Command line: ``python -m unet_tutorial train --config cpu --data isbi2012 --out runs/x``.
"""

from __future__ import annotations

import argparse
import functools
import math
import os
import sys
import time
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np
import torch
from torch import nn

from .checkpoint import load_checkpoint, save_checkpoint, save_model, set_rng_state
from .config import TrainConfig, get_config, parse_override
from .data.registry import prepare_data
from .data.training import make_tile_dataset, normalized, with_target
from .hardware import precision_name, resolve_precision, select_device, use_channels_last
from .history import History, TrainingDiverged
from .losses import loss_function, weighted_cross_entropy
from .model import UNet
from .sampling import NumberedSamples, batches, sample_numbers, step_seed
from .since2015 import DeepSupervision
from .validation import evaluate, evaluate_classes, predict_probabilities

#: A training loss: ``(logits (N, K, o, o) float32, labels (N, s', s') int64, weights or None) → scalar``.
LossFn = Callable[[torch.Tensor, torch.Tensor, "torch.Tensor | None"], torch.Tensor]


def _eq1(logits: torch.Tensor, y: torch.Tensor, w: torch.Tensor | None) -> torch.Tensor:
    # The data set validated every label and weight map once, when it was built:
    # no per-step value checks (each costs a device-to-host synchronisation).
    return weighted_cross_entropy(logits, y, w, check_values=False)


__all__ = [
    "History", "TrainingDiverged", "LossFn", "resolve_precision", "build_model", "make_optimizer", "make_scheduler",
    "lr_factor", "train_step", "sample_numbers", "predict_probabilities", "evaluate", "evaluate_classes", "train",
    "add_train_command", "run_train_command", "main"
]


# --------------------------------------------------------------------------
# Precision, model, optimiser
# --------------------------------------------------------------------------


def build_model(config: TrainConfig) -> UNet:
    """The :class:`UNet` of ``config`` (1 input channel, ``config.output_classes`` classes, valid padding),
    seeded, carrying the class names of ``config`` in its protocol."""
    from .protocol import model_protocol

    from .architectures import build_network

    torch.manual_seed(config.seed)
    net = build_network(config.architecture, in_channels=1, num_classes=config.output_classes,
                        base_channels=config.base_channels, depth=config.depth, padding="valid",
                        dropout=config.dropout, **({"norm": config.norm} if config.norm != "none" else {}))
    net.protocol = model_protocol(net).replace(class_names=config.class_name_list())
    return net


def make_optimizer(model: nn.Module, config: TrainConfig) -> torch.optim.Optimizer:
    """SGD with momentum (§3; ``config.momentum`` = 0.99 in the paper) or Adam."""
    params = [p for p in model.parameters() if p.requires_grad]
    if config.optimizer == "sgd":
        return torch.optim.SGD(params, lr=config.lr, momentum=config.momentum, weight_decay=config.weight_decay)
    return torch.optim.Adam(params, lr=config.lr, betas=config.betas, weight_decay=config.weight_decay)


def lr_factor(step: int, config: TrainConfig) -> float:
    """Learning-rate multiplier for 0-based ``step``: linear warm-up, then constant or cosine.

    Cosine: ``f = m + (1 − m)·(1 + cos(π·t))/2`` with ``t`` going from 0 after the
    warm-up to 1 at the last step and ``m = lr_min_fraction``.
    """
    if config.warmup_steps and step < config.warmup_steps:
        return (step + 1) / config.warmup_steps
    if config.schedule == "constant":
        return 1.0
    span = max(1, config.steps - config.warmup_steps - 1)
    t = min(1.0, (step - config.warmup_steps) / span)
    m = config.lr_min_fraction
    return m + (1.0 - m) * 0.5 * (1.0 + math.cos(math.pi * t))


def make_scheduler(optimizer: torch.optim.Optimizer, config: TrainConfig) -> torch.optim.lr_scheduler.LambdaLR:
    """A :class:`~torch.optim.lr_scheduler.LambdaLR` applying :func:`lr_factor`, stepped once per step."""
    return torch.optim.lr_scheduler.LambdaLR(optimizer, lambda s: lr_factor(s, config))


# --------------------------------------------------------------------------
# The training loop
# --------------------------------------------------------------------------


def _distributed(dev: torch.device) -> tuple[int, int, bool]:
    """``(rank, world_size, initialised_here)``; starts the process group under torchrun.

    NCCL when training on CUDA (each process on its own GPU, ``cuda:LOCAL_RANK``), gloo otherwise.
    """
    import torch.distributed as dist

    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world <= 1 or not dist.is_available():
        return 0, 1, False
    if dist.is_initialized():
        return dist.get_rank(), dist.get_world_size(), False
    if dev.type == "cuda":
        torch.cuda.set_device(dev)  # before NCCL starts, so that it does not pile onto GPU 0
        dist.init_process_group("nccl")
    else:
        dist.init_process_group("gloo")
    return dist.get_rank(), dist.get_world_size(), True


def train_step(
    net: nn.Module,
    optimizer: torch.optim.Optimizer,
    x: torch.Tensor,
    y: torch.Tensor,
    w: torch.Tensor | None,
    *,
    scaler: torch.amp.GradScaler | None = None,
    amp_dtype: torch.dtype | None = None,
    grad_clip: float = 0.0,
    world_size: int = 1,
    loss_fn: LossFn | None = None,
    stats: dict[str, float] | None = None,
) -> float:
    """One optimisation step on a batch; returns the loss (averaged over processes).

    Forward pass (under autocast when ``amp_dtype`` is set), the loss of Eq. 1
    in float32, backward pass (scaled when ``scaler`` is enabled), optional
    gradient clipping, optimiser step. When the loss is NaN or infinite the
    parameters are left untouched and the loss is returned for the caller to
    stop (see :class:`TrainingDiverged`).

    Args:
        net: the network (possibly wrapped in DistributedDataParallel), in train mode.
        x: input tiles ``(N, C, s, s)``; y: labels ``(N, s', s')`` (int64);
            w: weights ``(N, s', s')`` or ``None``; ``s' >=`` the output size.
        loss_fn: ``(logits float32 (N, K, o, o), y, w) → scalar``; default Eq. 1
            (:func:`weighted_cross_entropy`, whose inputs the data set checked once).
        stats: when given, ``stats["grad_norm"]`` is set to the global gradient norm of
            this step (L2 over all parameters, unscaled, before clipping): what tells a
            collapse (vanishing) from a divergence (exploding).
    """
    optimizer.zero_grad(set_to_none=True)
    device_type = x.device.type
    with torch.autocast(device_type, dtype=amp_dtype or torch.float32, enabled=amp_dtype is not None):
        logits = net(x)
    loss = (loss_fn or _eq1)(logits.float(), y, w)
    value = loss.detach()
    if world_size > 1:
        import torch.distributed as dist

        dist.all_reduce(value)  # every process gets the same value, so all stop together
        value = value / world_size
    value = float(value)
    if not math.isfinite(value):
        if stats is not None:
            stats["grad_norm"] = math.nan  # no backward pass on a non-finite loss
        return value
    scaled = scaler is not None and scaler.is_enabled()
    (scaler.scale(loss) if scaled else loss).backward()
    if scaled and (grad_clip > 0 or stats is not None):
        scaler.unscale_(optimizer)  # norms and clipping act on the true gradients
    if stats is not None:
        grads = [p.grad for p in net.parameters() if p.grad is not None]
        stats["grad_norm"] = float(torch.nn.utils.get_total_norm(grads)) if grads else 0.0
    if grad_clip > 0:
        torch.nn.utils.clip_grad_norm_(net.parameters(), grad_clip)
    if scaled:
        scaler.step(optimizer)
        scaler.update()
    else:
        optimizer.step()
    return value


def train(
    config: TrainConfig | str = "cpu",
    *,
    data: Any = "isbi2012",
    out_dir: str | os.PathLike[str] | None = None,
    resume: bool = False,
    progress: bool = True,
    steps: int | None = None,
    device: str | torch.device | None = None,
    init: UNet | None = None,
    evaluate_fn: Callable[[UNet], dict[str, float]] | None = None,
    loss_fn: LossFn | None = None,
) -> tuple[UNet, History]:
    """Train a U-Net as §3 describes; return the trained model and its :class:`History`.

    Args:
        config: a :class:`TrainConfig`, a configuration name (``"cpu"``,
            ``"paper"``) or a TOML path.
        data: what :func:`prepare_data` accepts (default ``"isbi2012"``; the
            last ``config.holdout`` images are held out for validation).
        out_dir: folder for ``checkpoint.pt`` (latest, resumable),
            ``model.pt`` (final weights, :func:`~unet_tutorial.model.save_model`)
            and ``history.json``; ``None`` writes nothing.
        resume: continue from ``out_dir/checkpoint.pt`` if it exists (its
            configuration wins, except ``steps``/``device`` given here).
        progress: show a tqdm progress bar (loss, learning rate, speed).
        steps: override ``config.steps``.
        device: override ``config.device``.
        init: start from these weights instead of a fresh initialisation.
        evaluate_fn: how to validate: called with the model (eval mode) at every
            validation, returns metric name → value; default :func:`evaluate`
            on the held-out images of ``data`` at threshold 0.5.
        loss_fn: the loss, ``(logits (N, K, o, o), labels (N, s', s'), weights or
            None) → scalar``, labels and weights cropped by the loss itself; default
            ``config.loss``: Eq. 1 (:func:`weighted_cross_entropy`) or, for ``"dice+ce"``,
            :func:`~unet_tutorial.losses.dice_cross_entropy`.

    Returns:
        ``(model, history)``; the model is on the training device, in eval mode.

    Raises:
        TrainingDiverged: the loss became NaN/inf; the last good checkpoint stays.
        ValueError: bad configuration or data.
        FileNotFoundError: missing data files.
    """
    if isinstance(config, str):
        config = get_config(config)
    out = Path(out_dir) if out_dir is not None else None
    ckpt_path = out / "checkpoint.pt" if out is not None else None
    blob = None
    if resume:
        if ckpt_path is None:
            raise ValueError("resume=True needs out_dir (where checkpoint.pt is)")
        if ckpt_path.is_file():
            blob = load_checkpoint(ckpt_path)
            config = TrainConfig.from_dict(blob["config"], source=str(ckpt_path))
    overrides = {k: v for k, v in (("steps", steps), ("device", None if device is None else str(device))) if v is not None}
    if overrides:
        config = config.replace(**overrides)

    dev = select_device(config.device)
    amp_dtype = resolve_precision(config.precision, dev)
    # fp16 needs loss scaling (its exponent range is narrow); bf16 and fp32 do not
    scaler = torch.amp.GradScaler(dev.type, enabled=(amp_dtype == torch.float16 and dev.type == "cuda"))
    # Channels-last where it is faster: CUDA, and a CPU computing in bfloat16 (see hardware.use_channels_last).
    channels_last = use_channels_last(dev, amp_dtype, config.channels_last)
    memory_format = torch.channels_last if channels_last else torch.contiguous_format
    train_data = normalized(prepare_data(data, config.holdout, num_classes=config.num_classes), config.normalize)
    if train_data.num_classes != config.num_classes:
        raise ValueError(f"the data holds {train_data.num_classes}-class labels ({train_data.name}) but the "
                         f"configuration trains num_classes = {config.num_classes}: set num_classes = "
                         f"{train_data.num_classes} (the train command: --classes {train_data.num_classes})")
    train_data = with_target(train_data, config.target)  # the 3-class boundary target, if asked

    threads_before = torch.get_num_threads()
    own_group = False
    try:
        if config.num_threads:
            torch.set_num_threads(config.num_threads)
        rank, world, own_group = _distributed(dev)
        model = build_model(config)
        # saved with it; predict_tiled applies the normalisation, export and predict name the classes
        model.protocol = model.protocol.replace(normalize=config.normalize)
        if init is not None:
            model.load_state_dict(init.state_dict())
        model.to(dev, memory_format=memory_format)
        # deep supervision's heads train with the network but stay out of its file
        aux = DeepSupervision(model, config.deep_supervision).to(dev) if config.deep_supervision else None
        optimizer = make_optimizer(model if aux is None else nn.ModuleList([model, aux]), config)
        scheduler = make_scheduler(optimizer, config)
        history = History()
        start = 0
        ema = _weight_average(model, config.ema_decay)
        if blob is not None:
            model.load_state_dict(blob["state_dict"])
            if ema is not None:
                ema.load_state_dict(blob["ema"])
            if aux is not None:
                aux.load_state_dict(blob["aux"])
            optimizer.load_state_dict(blob["optimizer"])
            scheduler.load_state_dict(blob["scheduler"])
            if blob.get("scaler") and scaler.is_enabled():
                scaler.load_state_dict(blob["scaler"])
            set_rng_state(blob["rng"])
            history = History.from_dict(blob["history"])
            start = int(blob["step"])
        history.settings = {"precision": precision_name(amp_dtype), "channels_last": channels_last,
                            "device": str(dev)}
        net: nn.Module = model
        if world > 1:
            from torch.nn.parallel import DistributedDataParallel

            net = DistributedDataParallel(model, device_ids=[dev.index] if dev.type == "cuda" else None)

        samples = NumberedSamples(make_tile_dataset(train_data, config), config.seed)
        if loss_fn is None and config.loss != "ce":  # the data set checked the values once
            loss_fn = functools.partial(loss_function(config.loss), check_values=False)
        if aux is not None:
            loss_fn = aux.loss(loss_fn or _eq1)
        _loop(net, model, optimizer, scheduler, scaler, samples, train_data, config, history,
              start=start, dev=dev, amp_dtype=amp_dtype, memory_format=memory_format,
              rank=rank, world=world, out=out, progress=progress, evaluate_fn=evaluate_fn, loss_fn=loss_fn,
              ema=ema, aux=aux)
    finally:
        if aux is not None:
            aux.remove()
        torch.set_num_threads(threads_before)
        if own_group:
            import torch.distributed as dist

            dist.destroy_process_group()
    model = model if ema is None else ema.module  # the averaged weights, when kept
    model.eval()
    return model, history


def _weight_average(model: UNet, decay: float) -> torch.optim.swa_utils.AveragedModel | None:
    """An exponential moving average of ``model``'s weights (``decay`` per step), or ``None`` for 0."""
    if not decay:
        return None
    from torch.optim.swa_utils import AveragedModel, get_ema_multi_avg_fn

    return AveragedModel(model, multi_avg_fn=get_ema_multi_avg_fn(decay), use_buffers=True)


def _time_is_up(mine: bool, world: int, dev: torch.device) -> bool:
    """Whether any process ran out of time: all processes must stop at the same step."""
    if world == 1:
        return mine
    import torch.distributed as dist

    flag = torch.tensor([1.0 if mine else 0.0], device=dev)
    dist.all_reduce(flag, op=dist.ReduceOp.MAX)
    return bool(flag.item())


def _loop(net, model, optimizer, scheduler, scaler, samples, data, config, history, *,
          start, dev, amp_dtype, memory_format, rank, world, out, progress, evaluate_fn=None,
          loss_fn=None, ema=None, aux=None) -> None:
    """The optimisation steps ``start … config.steps − 1`` (see :func:`train`)."""
    from ._progress import progress_bar

    main_proc = rank == 0
    ckpt_path = out / "checkpoint.pt" if out is not None else None
    # Only a checkpoint of *this* run (resumed from it) is a good one to name: a file
    # left by an earlier run in the same folder is not, when resume=False.
    last_good: Path | None = ckpt_path if (ckpt_path is not None and start > 0 and ckpt_path.is_file()) else None
    time_offset = history.time[-1] if history.time else 0.0
    t0 = time.perf_counter()
    paused = 0.0  # seconds spent validating and writing checkpoints: not training time
    step = start

    def checkpoint(done: int) -> None:
        nonlocal last_good, paused
        if main_proc and ckpt_path is not None:
            t = time.perf_counter()
            save_checkpoint(ckpt_path, model, optimizer, scheduler, step=done, config=config,
                            history=history, scaler=scaler, ema=ema, aux=aux)
            history.save(out / "history.json")
            last_good = ckpt_path
            paused += time.perf_counter() - t

    def validate(done: int) -> None:
        nonlocal paused
        if main_proc and (evaluate_fn is not None or len(data.val_images)):
            t = time.perf_counter()
            judged = model if ema is None else ema.module  # the averaged weights, when kept
            judged.eval()
            if evaluate_fn is not None:
                metrics = {k: float(v) for k, v in evaluate_fn(judged).items()}
            else:
                metrics = evaluate(judged, data.val_images, data.val_labels, tta=config.val_tta, device=dev)
            history.log_validation(done, metrics)
            if progress:
                bar.write(f"step {done}: held-out " + ", ".join(f"{k} {v:.4f}" for k, v in metrics.items()))
            model.train()
            paused += time.perf_counter() - t

    bar = progress_bar(total=config.steps, initial=start, desc=f"train {config.name}", unit="step",
               disable=not (progress and main_proc), dynamic_ncols=True)
    net.train()
    try:
        for x, y, w in batches(samples, config, start, rank, world):
            torch.manual_seed(step_seed(config.seed, step, rank))  # drop-out masks: pure function of the step
            x = x.to(dev, non_blocking=True).contiguous(memory_format=memory_format)
            y = y.to(dev, non_blocking=True)
            w = w.to(dev, non_blocking=True) if w is not None else None
            lr = optimizer.param_groups[0]["lr"]
            stats: dict[str, float] = {}
            value = train_step(net, optimizer, x, y, w, scaler=scaler, amp_dtype=amp_dtype,
                               grad_clip=config.grad_clip, world_size=world, loss_fn=loss_fn, stats=stats)
            if not math.isfinite(value):
                history.log_step(step + 1, value, lr, time_offset + time.perf_counter() - t0 - paused,
                                 stats.get("grad_norm"))
                raise TrainingDiverged(step + 1, value, lr, last_good, history)
            if ema is not None:
                ema.update_parameters(model)
            scheduler.step()
            step += 1
            seconds = time_offset + time.perf_counter() - t0 - paused
            history.log_step(step, value, lr, seconds, stats.get("grad_norm"))
            bar.update(1)
            if step % 10 == 0 or step == config.steps:
                bar.set_postfix(loss=f"{np.mean(history.loss[-10:]):.4f}", lr=f"{lr:.2g}", refresh=False)
            if config.val_every and step % config.val_every == 0 and step < config.steps:
                validate(step)
            if config.checkpoint_every and step % config.checkpoint_every == 0 and step < config.steps:
                checkpoint(step)
            if config.max_minutes and _time_is_up(seconds > 60 * config.max_minutes, world, dev):
                if progress and main_proc:
                    bar.write(f"stopping after {step} steps: max_minutes = {config.max_minutes} reached")
                break
    finally:
        bar.close()
    if not history.val_step or history.val_step[-1] != step:
        validate(step)
    checkpoint(step)
    if main_proc and out is not None:
        extra = {"config": config.to_dict(), "step": step, "normalize": config.normalize}
        if history.val_step:
            extra["val"] = {k: v[-1] for k, v in history.val.items()}
        save_model(model if ema is None else ema.module, out / "model.pt", **extra)


# --------------------------------------------------------------------------
# Command line
# --------------------------------------------------------------------------


def add_train_command(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Register ``train`` on the ``python -m unet_tutorial`` sub-command parser."""
    p = subparsers.add_parser(
        "train",
        help="train a U-Net (§3) and write checkpoint.pt, model.pt and history.json",
        description="Train a U-Net as §3 of the paper describes. Writes OUT/checkpoint.pt (latest, "
        "resumable with --resume), OUT/model.pt (final weights) and OUT/history.json. "
        "Runs data-parallel under torchrun.",
    )
    p.add_argument("--config", default="cpu", help="'paper', 'cpu' or a TOML file (default: cpu)")
    p.add_argument("--data", default="isbi2012", metavar="NAME|DIR",
                   help="a data set: isbi2012 (slices 0-24 train, 25-29 validate), dsb2018, ctc-u373, ctc-hela "
                   "(their recorded splits), synthetic; or a folder DIR with images/ and masks/ (check it "
                   "with: python -m unet_tutorial doctor DIR)")
    p.add_argument("--val-fraction", type=float, metavar="F",
                   help="folder --data: fraction of its images held out, chosen by name (default 0.2)")
    p.add_argument("--classes", type=int, metavar="K",
                   help="folder --data: the masks hold class labels 0..K-1 (K >= 2); trains a K-class U-Net "
                   "with the class-balancing weights w_c (Eq. 2's borders need instance masks: off)")
    p.add_argument("--class-names", metavar="A,B,...",
                   help="with --classes: the K class names, class 0 first (saved with the model)")
    p.add_argument("--out", required=True, type=Path, help="output folder")
    p.add_argument("--resume", action="store_true",
                   help="continue from OUT/checkpoint.pt if it exists (with the checkpoint's configuration; "
                   "only --steps and --device still apply)")
    p.add_argument("--steps", type=int, help="total optimisation steps (overrides the configuration)")
    p.add_argument("--device", help="auto (default), cpu, cuda, cuda:1, mps")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                   help="override a configuration field, e.g. --set lr=1e-3 (repeatable)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.set_defaults(func=run_train_command)
    return p


def run_train_command(args: argparse.Namespace) -> int:
    """Run ``train`` from parsed arguments; returns the exit status (2 for bad input, 3 if diverged)."""
    try:
        config = get_config(args.config)
        overrides = dict(parse_override(s) for s in args.set)
        if args.class_names is not None and args.classes is None:
            raise ValueError("--class-names needs --classes K")
        if args.classes is not None:
            if args.classes < 2:
                raise ValueError(f"--classes must be >= 2, got {args.classes}")
            overrides = {"num_classes": args.classes, "class_names": args.class_names or "",
                         **({"border_weights": False} if args.classes > 2 else {}), **overrides}
        if overrides:
            config = config.replace(**overrides)
        from .data.registry import train_data_argument

        data = train_data_argument(args.data, args.val_fraction, args.classes)
        _, history = train(config, data=data, out_dir=args.out, resume=args.resume,
                           progress=not args.no_progress, steps=args.steps, device=args.device)
    except TrainingDiverged as err:
        print(f"error: {err}", file=sys.stderr)
        return 3
    except (ValueError, FileNotFoundError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    if int(os.environ.get("RANK", "0")) == 0:
        last = f"final loss {np.mean(history.loss[-20:]):.4f}" if history.loss else "no steps run"
        val = ", ".join(f"{k} {v[-1]:.4f}" for k, v in history.val.items())
        print(f"done: {len(history.step)} steps, {last}" + (f"; held-out {val}" if val else "") + f"; wrote {args.out}")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m unet_tutorial.train …``: the ``train`` command on its own."""
    parser = argparse.ArgumentParser(prog="python -m unet_tutorial.train")
    sub = parser.add_subparsers(dest="command", required=True)
    add_train_command(sub)
    args = parser.parse_args(["train", *(sys.argv[1:] if argv is None else argv)])
    return args.func(args)


if __name__ == "__main__":
    raise SystemExit(main())


