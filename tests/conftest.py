"""Fixtures shared by the test modules (helpers that write files live in ``folder_helpers.py``)."""

from __future__ import annotations

from collections.abc import Callable

import pytest
import torch

from unet_tutorial.model import UNet


@pytest.fixture
def tiny_unet() -> Callable[..., UNet]:
    """A factory of small, seeded U-Nets in eval mode, without drop-out (fast enough for any test)."""

    def make(*, depth: int = 2, padding: str = "valid", base_channels: int = 4, seed: int = 0) -> UNet:
        torch.manual_seed(seed)
        return UNet(base_channels=base_channels, depth=depth, padding=padding, dropout=0.0).eval()

    return make
