"""Overlap-tile prediction on an exported ONNX network, with onnxruntime (no PyTorch weights needed).

:class:`OnnxPredictor` is a plain predictor: a callable on a batch of tiles that
returns the class probabilities the exported network computes, with the
:class:`~unet_tutorial.inference.SizeRule` of the U-Net configuration stored in the
file's metadata (the same size arithmetic, §2) and the
:class:`~unet_tutorial.protocol.Protocol` saved with it (normalisation, threshold).
:func:`~unet_tutorial.inference.predict_tiled` tiles, mirrors and stitches it
exactly as it does the PyTorch network::

    net = OnnxPredictor("nuclei.onnx")
    prob = predict_tiled(net, image)[1]          # the same probabilities, within 1e-4

No PyTorch weights are involved: the session computes, the rule says which tiles it takes.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import torch

from ..protocol import Protocol, WithProtocol
from .tiling import SizeRule

__all__ = ["ONNX_METADATA_KEY", "OnnxPredictor", "OnnxUNet"]

#: Key of the metadata entry (JSON) that :func:`unet_tutorial.export.export_onnx` writes.
ONNX_METADATA_KEY = "unet_tutorial"

class OnnxPredictor(WithProtocol):
    """An exported U-Net run by onnxruntime: a predictor for ``predict_tiled`` (not a module).

    Args:
        path: an ``.onnx`` file of :func:`~unet_tutorial.export.export_onnx`.
        threads: intra-op threads of the session; default ``torch.get_num_threads()``
            (the same as PyTorch, for a fair comparison).
        providers: onnxruntime execution providers; default the CPU.

    Attributes:
        size_rule: the :class:`~unet_tutorial.inference.SizeRule` of the exported network.
        outputs: ``"probabilities"``: calls return the soft-max the file computes.
        protocol: the :class:`~unet_tutorial.protocol.Protocol` the exported model was saved
            with (normalisation, threshold, TTA, class names); ``threshold``, ``normalize``
            read its fields.
        in_channels, num_classes, depth, padding, border: the rule's, for convenience.

    Raises:
        FileNotFoundError: no such file.
        ValueError: not an ONNX file of this package (no metadata), or onnxruntime missing.
    """

    outputs = "probabilities"

    def __init__(self, path: str | os.PathLike[str], *, threads: int | None = None,
                 providers: list[str] | None = None) -> None:
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
        unet = info["unet"]
        self.size_rule = SizeRule.for_unet(
            depth=int(unet.get("depth", 4)), padding=unet.get("padding", "valid"),
            in_channels=int(unet.get("in_channels", 1)), num_classes=int(unet.get("num_classes", 2)),
            base_channels=int(unet.get("base_channels", 64)))
        options = ort.SessionOptions()
        options.intra_op_num_threads = int(threads or torch.get_num_threads())
        options.inter_op_num_threads = 1
        self.session = ort.InferenceSession(str(path), options, providers=providers or ["CPUExecutionProvider"])
        self.input_name = self.session.get_inputs()[0].name
        self.path = path
        self.protocol = Protocol.from_file(info)
        rule = self.size_rule
        self.in_channels, self.num_classes, self.depth, self.padding, self.border = (
            rule.in_channels, rule.num_classes, rule.depth, rule.padding, rule.border)

    def output_size(self, input_size: int) -> int:
        """Output size for a valid input size [pixels] (``ValueError`` naming valid sizes otherwise)."""
        return self.size_rule.output_size(input_size)

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        """Class probabilities ``(N, K, H − 2b, W − 2b)`` of a batch of tiles ``(N, C, H, W)``."""
        feed = np.ascontiguousarray(x.detach().to("cpu", torch.float32).numpy())
        prob = self.session.run(None, {self.input_name: feed})[0]
        return torch.from_numpy(prob).to(x.device)

    def __repr__(self) -> str:
        return f"OnnxPredictor({str(self.path)!r})"


#: The former name (chapter 8 and older code): the same predictor.
OnnxUNet = OnnxPredictor
