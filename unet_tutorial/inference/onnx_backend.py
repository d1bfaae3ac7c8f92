"""Overlap-tile prediction on an exported ONNX network, with onnxruntime (no PyTorch weights needed).

:class:`OnnxUNet` wraps an ``onnxruntime.InferenceSession`` of a file written by
:func:`unet_tutorial.export.export_onnx` in the size interface of
:class:`~unet_tutorial.model.UNet` (``output_size``, ``border``, ``depth``,
``padding``, ``in_channels``, ``trace``), so :func:`~unet_tutorial.inference.predict_tiled`
tiles, mirrors and stitches it exactly as it does the PyTorch network::

    net = OnnxUNet("nuclei.onnx")
    prob = predict_tiled(net, image)[1]          # the same probabilities, within 1e-4

The geometry comes from the U-Net configuration stored in the file's metadata
(the same size arithmetic, §2), as do the normalisation and threshold chosen for it.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import torch
from torch import nn

from ..model import UNet
from ..protocol import Protocol, WithProtocol

__all__ = ["ONNX_METADATA_KEY", "OnnxUNet"]

#: Key of the metadata entry (JSON) that :func:`unet_tutorial.export.export_onnx` writes.
ONNX_METADATA_KEY = "unet_tutorial"

# Probabilities are returned as their logarithm: predict_tiled's softmax gives them back
# exactly (softmax(log p) = p / sum(p) = p); the floor keeps log(0) finite.
_TINY = 1e-30


class OnnxUNet(WithProtocol, nn.Module):
    """An exported U-Net run by onnxruntime, usable wherever ``predict_tiled`` takes a model.

    Args:
        path: an ``.onnx`` file of :func:`~unet_tutorial.export.export_onnx`.
        threads: intra-op threads of the session; default ``torch.get_num_threads()``
            (the same as PyTorch, for a fair comparison).
        providers: onnxruntime execution providers; default the CPU.

    Attributes:
        protocol: the :class:`~unet_tutorial.protocol.Protocol` the exported model was saved
            with (normalisation, threshold, TTA, class names); ``threshold``, ``normalize``
            read its fields.

    Raises:
        FileNotFoundError: no such file.
        ValueError: not an ONNX file of this package (no metadata), or onnxruntime missing.
    """

    def __init__(self, path: str | os.PathLike[str], *, threads: int | None = None,
                 providers: list[str] | None = None) -> None:
        super().__init__()
        try:
            import onnx
            import onnxruntime as ort
        except ImportError as err:
            raise ValueError(f"the onnxruntime backend needs onnx and onnxruntime (pip install onnx onnxruntime): "
                             f"{err}") from None
        path = Path(path)
        if not path.is_file():
            raise FileNotFoundError(f"ONNX file not found: {path}")
        try:
            proto = onnx.load(str(path), load_external_data=False)
        except Exception as err:  # onnx raises DecodeError and others for a wrong file
            raise ValueError(f"{path} is not a readable ONNX file ({' '.join(str(err).split())[:200]}); "
                             "write one with: python -m unet_tutorial export --format onnx WEIGHTS OUT.onnx") from None
        meta = {p.key: p.value for p in proto.metadata_props}
        if ONNX_METADATA_KEY not in meta:
            raise ValueError(f"{path} has no {ONNX_METADATA_KEY!r} metadata: export it with "
                             "python -m unet_tutorial export --format onnx")
        info = json.loads(meta[ONNX_METADATA_KEY])
        # A weightless twin with the same configuration answers every size question (§2 arithmetic).
        object.__setattr__(self, "_shape", UNet(**info["unet"]))
        options = ort.SessionOptions()
        options.intra_op_num_threads = int(threads or torch.get_num_threads())
        options.inter_op_num_threads = 1
        self.session = ort.InferenceSession(str(path), options, providers=providers or ["CPUExecutionProvider"])
        self.input_name = self.session.get_inputs()[0].name
        self.path = path
        self.protocol = Protocol.from_file(info)
        for attr in ("in_channels", "num_classes", "depth", "padding"):
            setattr(self, attr, getattr(self._shape, attr))

    @property
    def border(self) -> int:
        """Context consumed on each side [pixels] (92 for the paper's network)."""
        return self._shape.border

    def output_size(self, input_size: int) -> int:
        """Output size for a valid input size [pixels] (``ValueError`` naming valid sizes otherwise)."""
        return self._shape.output_size(input_size)

    def trace(self, input_size: int | tuple[int, int]):
        """Feature-map sizes of one tile (for the memory estimate of ``predict_tiled``)."""
        return self._shape.trace(input_size)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Log-probabilities ``(N, K, H − 2b, W − 2b)`` of a batch of tiles ``(N, C, H, W)``."""
        feed = np.ascontiguousarray(x.detach().to("cpu", torch.float32).numpy())
        prob = self.session.run(None, {self.input_name: feed})[0]
        return torch.from_numpy(np.log(np.maximum(prob, _TINY))).to(x.device)
