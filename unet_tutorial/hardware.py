"""The machine: which device computes, in which precision, with which memory format.

One policy for the whole package (training, prediction, benchmarks, records):

- :func:`select_device`: CUDA, then Apple MPS, then the CPU;
- :func:`cpu_features`: what the CPU says it can do (read from the operating
  system, never guessed from the model name), and :func:`cpu_has_native_bf16`;
- :func:`resolve_precision`: the autocast dtype of ``"auto"`` / ``"fp32"`` /
  ``"bf16"`` / ``"fp16"`` on a device: bfloat16 on GPUs that support it and on
  CPUs with native bfloat16 arithmetic (AVX512-BF16 or AMX on x86, the BF16
  extension on Arm), float32 elsewhere;
- :func:`use_channels_last`: whether convolutions run on channels-last (NHWC) data.

**bfloat16** keeps float32's 8-bit exponent (the same range, so no loss scaling)
and only 8 bits of mantissa (about 2–3 significant digits). Under autocast the
convolutions read and write bfloat16, while the master weights, the optimiser
state, the loss (Eq. 1) and the checkpoints stay float32: an update of 1e-4 of a
weight of 1 is lost in bfloat16 (its step there is 2**-7 ≈ 0.008) but not in
float32. Measured on a 2-core AMD EPYC with ``avx512_bf16`` (``benchmarks/bench_train.py``):
one training step of ``UNet(base_channels=16)`` on a 444 px tile is 1.6–1.9× faster
in bfloat16 with channels-last than in float32.
"""

from __future__ import annotations

import functools
import os
import platform
import subprocess
import warnings
from pathlib import Path

import torch

__all__ = ["select_device", "model_device", "mps_available", "cpu_features", "cpu_model",
           "cpu_has_native_bf16", "PRECISIONS", "resolve_precision", "use_channels_last",
           "precision_name"]

#: The precisions a configuration may name.
PRECISIONS = ("auto", "fp32", "bf16", "fp16")

#: CPU flags (Linux ``/proc/cpuinfo``) that mean bfloat16 arithmetic in hardware.
_X86_BF16_FLAGS = ("avx512_bf16", "amx_bf16")
_ARM_BF16_FLAGS = ("bf16",)  # the Armv8.6 BF16 extension, as Linux names it


# --------------------------------------------------------------------------
# Devices
# --------------------------------------------------------------------------


def mps_available() -> bool:
    """Whether Apple's Metal (MPS) backend can be used."""
    mps = getattr(torch.backends, "mps", None)
    return bool(mps is not None and mps.is_available())


def select_device(device: str | torch.device | None = "auto") -> torch.device:
    """The package's one device policy: ``"auto"``/``None`` picks CUDA, then Apple MPS, then the CPU.

    Under ``torchrun`` with CUDA, ``"auto"``/``"cuda"`` mean ``cuda:LOCAL_RANK``.

    Raises:
        ValueError: an unknown device string, or a device that is not available.
    """
    local_rank = int(os.environ.get("LOCAL_RANK", "0"))
    if device is None or device == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda", local_rank % max(1, torch.cuda.device_count()))
        if mps_available():
            return torch.device("mps")
        return torch.device("cpu")
    try:
        dev = torch.device(device)
    except (RuntimeError, TypeError) as err:
        raise ValueError(f"not a valid torch device: {device!r} ({err})") from None
    if dev.type == "cuda":
        if not torch.cuda.is_available():
            raise ValueError(f"device {str(dev)!r} requested but CUDA is not available on this machine")
        if dev.index is None:
            dev = torch.device("cuda", local_rank % torch.cuda.device_count())
    if dev.type == "mps" and not mps_available():
        raise ValueError("device 'mps' requested but Apple MPS is not available on this machine")
    return dev


def model_device(model: torch.nn.Module) -> torch.device:
    """The device of a module's first parameter (or buffer); the CPU for a module without either."""
    for p in model.parameters():
        return p.device
    for b in model.buffers():
        return b.device
    return torch.device("cpu")


# --------------------------------------------------------------------------
# The CPU
# --------------------------------------------------------------------------


def _cpuinfo() -> str:
    try:
        return Path("/proc/cpuinfo").read_text()
    except OSError:
        return ""


@functools.lru_cache(maxsize=1)
def cpu_features() -> frozenset[str]:
    """The CPU's feature flags as the operating system reports them (lower case).

    Linux: the ``flags`` (x86) or ``Features`` (Arm) line of ``/proc/cpuinfo``;
    macOS on Apple silicon: ``bf16`` when ``sysctl hw.optional.arm.FEAT_BF16`` is 1;
    empty where neither can be read (then nothing is assumed).
    """
    for line in _cpuinfo().splitlines():
        key, _, value = line.partition(":")
        if key.strip() in ("flags", "Features"):
            return frozenset(value.lower().split())
    if platform.system() == "Darwin":
        try:
            out = subprocess.run(["sysctl", "-n", "hw.optional.arm.FEAT_BF16"], capture_output=True,
                                 text=True, timeout=5).stdout.strip()
            return frozenset({"bf16"}) if out == "1" else frozenset()
        except (OSError, subprocess.SubprocessError):
            return frozenset()
    return frozenset()


def cpu_model() -> str:
    """The CPU's model name (``/proc/cpuinfo``), else what :mod:`platform` knows."""
    for line in _cpuinfo().splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return platform.processor() or platform.machine()


def cpu_has_native_bf16(features: frozenset[str] | None = None) -> bool:
    """Whether the CPU computes bfloat16 in hardware (AVX512-BF16 or AMX-BF16; Arm BF16).

    Without it, PyTorch emulates bfloat16 with float32 arithmetic plus
    conversions: slower than float32, not faster.

    Args:
        features: flags to decide from (default :func:`cpu_features`).
    """
    flags = cpu_features() if features is None else features
    arm = platform.machine().lower() in ("arm64", "aarch64")
    return any(f in flags for f in (_ARM_BF16_FLAGS if arm else _X86_BF16_FLAGS))


# --------------------------------------------------------------------------
# Precision and memory format
# --------------------------------------------------------------------------


def resolve_precision(precision: str, device: torch.device | str) -> torch.dtype | None:
    """The autocast dtype for ``precision`` on ``device`` (``None`` = plain float32).

    ``"auto"``: bfloat16 on CUDA GPUs that support it (no gradient scaler
    needed), float16 on older GPUs (with a :class:`torch.amp.GradScaler`),
    bfloat16 on a CPU with native bfloat16 (:func:`cpu_has_native_bf16`),
    float32 on MPS and other CPUs. ``"bf16"`` on a CPU without native support
    runs, with a warning that it will be slow.

    Raises:
        ValueError: an unknown precision name.
    """
    if precision not in PRECISIONS:
        raise ValueError(f'precision must be "auto", "fp32", "bf16" or "fp16", got {precision!r}')
    dev = torch.device(device)
    if precision == "fp32":
        return None
    if precision == "bf16":
        if dev.type == "cpu" and not cpu_has_native_bf16():
            warnings.warn("precision bf16 on a CPU without native bfloat16 (no avx512_bf16/amx_bf16 flag): "
                          "it is emulated and will be slower than fp32", RuntimeWarning, stacklevel=2)
        return torch.bfloat16
    if precision == "fp16":
        return torch.float16
    if dev.type == "cuda":
        return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
    if dev.type == "cpu" and cpu_has_native_bf16():
        return torch.bfloat16
    return None


def use_channels_last(device: torch.device | str, amp_dtype: torch.dtype | None, requested: bool = True) -> bool:
    """Whether to run convolutions on channels-last (NHWC) data.

    On CUDA always (when ``requested``); on a CPU together with bfloat16
    autocast, where oneDNN's bfloat16 convolutions are fastest in NHWC (one
    step 1.1–1.2× faster than bfloat16 alone, ``benchmarks/bench_train.py``); a
    float32 CPU step stays contiguous (channels-last measured 0.8–1.25× there
    across machines: no rule). Elsewhere (MPS) never.
    """
    dev = torch.device(device)
    if not requested:
        return False
    if dev.type == "cuda":
        return True
    return dev.type == "cpu" and amp_dtype == torch.bfloat16


def precision_name(amp_dtype: torch.dtype | None) -> str:
    """``"fp32"``, ``"bf16"`` or ``"fp16"``: the name of an autocast dtype (``None`` = float32)."""
    return {None: "fp32", torch.bfloat16: "bf16", torch.float16: "fp16"}[amp_dtype]
