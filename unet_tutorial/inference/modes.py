"""How a network is run for prediction: eval mode and the memory format, each restored afterwards."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import torch
from torch import nn

__all__ = ["eval_mode", "channels_last"]


@contextmanager
def eval_mode(model: nn.Module) -> Iterator[nn.Module]:
    """Put ``model`` in eval mode (drop-out off) for a ``with`` block, then restore its mode."""
    was_training = model.training
    model.eval()
    try:
        yield model
    finally:
        model.train(was_training)


@contextmanager
def channels_last(model: nn.Module, enabled: bool = True) -> Iterator[nn.Module]:
    """Store a module's 4-D parameters channels-last (NHWC) for a ``with`` block, then put them back.

    oneDNN's CPU convolutions and cuDNN's tensor-core kernels prefer NHWC data;
    the original tensors are restored afterwards, so the caller's model is left
    exactly as it was. ``enabled=False`` changes nothing.
    """
    saved: list[tuple[torch.Tensor, torch.Tensor]] = []
    try:
        if enabled:
            with torch.no_grad():
                for p in model.parameters():
                    if p.ndim == 4:
                        saved.append((p, p.data))
                        p.data = p.data.contiguous(memory_format=torch.channels_last)
        yield model
    finally:
        with torch.no_grad():
            for p, data in saved:
                p.data = data
