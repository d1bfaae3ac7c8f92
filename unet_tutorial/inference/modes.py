"""How a network is run for prediction: eval mode and the memory format, each restored afterwards.

A predictor that is not a ``torch.nn.Module`` (an ONNX session, any callable on a batch of
tiles) has neither: :func:`prediction_mode` runs it under ``torch.inference_mode()`` only.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from typing import Any

import torch
from torch import nn

__all__ = ["eval_mode", "channels_last", "prediction_mode", "predictor_device"]


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


@contextmanager
def prediction_mode(predictor: Any, channels_last_weights: bool = False) -> Iterator[Any]:
    """Run ``predictor`` for prediction in a ``with`` block: a module in eval mode (with
    channels-last weights if asked), any predictor under ``torch.inference_mode()``."""
    with ExitStack() as stack:
        if isinstance(predictor, nn.Module):
            stack.enter_context(eval_mode(predictor))
            stack.enter_context(channels_last(predictor, channels_last_weights))
        stack.enter_context(torch.inference_mode())
        yield predictor


def predictor_device(predictor: Any) -> torch.device:
    """Where a predictor computes: a module's parameters' device, else its ``device``
    attribute, else the CPU (an ONNX session on the CPU provider)."""
    if isinstance(predictor, nn.Module):
        from ..hardware import model_device

        return model_device(predictor)
    return torch.device(getattr(predictor, "device", "cpu"))
