"""Fixtures shared by the test modules (helpers that write files live in ``folder_helpers.py``)."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable

import numpy as np
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


@pytest.fixture
def digest() -> Callable[[Iterable[np.ndarray]], str]:
    """sha256 of arrays' dtypes, shapes and bytes, in order: a checksum of what a loader returned."""

    def run(arrays: Iterable[np.ndarray]) -> str:
        h = hashlib.sha256()
        for a in arrays:
            a = np.ascontiguousarray(a)
            h.update(f"{a.dtype.str}{a.shape}".encode())
            h.update(a.tobytes())
        return h.hexdigest()

    return run
