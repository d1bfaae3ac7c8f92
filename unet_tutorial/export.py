"""The trained network outside Python: ONNX, and bioimage.io model packages for Fiji, ilastik, napari, QuPath.

- :func:`export_onnx`: the network followed by the softmax of Eq. 1, with any batch
  size and every **valid** tile size ``min + k·step`` (``k ≥ 0``; 188 + 16k for the
  course's depth-4 network, from the size arithmetic of §2); the U-Net configuration,
  the input normalisation and the threshold go into the file's metadata, so
  :class:`~unet_tutorial.inference.onnx_backend.OnnxPredictor` can tile it like the
  PyTorch network (``predict --backend onnxruntime``).
- :func:`export_bioimageio`: a bioimage.io model package (format 0.5) around that
  ONNX file: input axes ``batch, channel, y, x`` with the parameterised size
  ``min + n·step``, the output size referenced to the input with the offset
  ``−2·border`` (the halo the valid network already removed), the preprocessing
  (the percentile normalisation of a model trained with it, as ``scale_range``
  then ``clip``), a test input and its output, the documentation, the paper's
  citation and the licence. :func:`validate_bioimageio` checks it with
  ``bioimageio.core`` (the package's test tensors reproduced on the CPU).

Command line: ``python -m unet_tutorial export --format onnx|bioimageio WEIGHTS OUT``.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import logging
import os
import sys
import tempfile
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from .checkpoint import model_config
from .inference.onnx_backend import ONNX_METADATA_KEY
from .model import UNet
from .normalize import NORMALIZE_PERCENTILES, model_normalization, normalize_image
from .protocol import default_class_names, model_protocol

__all__ = ["valid_size_rule", "export_onnx", "export_bioimageio", "validate_bioimageio", "add_export_command"]

#: ONNX operator set of the exports (onnxruntime 1.16+ and deepImageJ's runtimes read it).
ONNX_OPSET = 18

_PAPER_DOI = "10.1007/978-3-319-24574-4_28"
_COURSE_LICENSE = "MIT"


class _Probabilities(nn.Module):
    """The network, then the softmax over classes (Eq. 1's ``p_k(x)``): what a consumer wants."""

    def __init__(self, net: UNet) -> None:
        super().__init__()
        self.net = net

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.softmax(self.net(x), dim=1)


def valid_size_rule(model: UNet) -> tuple[int, int]:
    """``(min, step)``: the valid input sizes of ``model`` are ``min + k·step``, ``k = 0, 1, …`` [pixels].

    ``min`` is the smallest size every map of the expanding path survives (§2's size
    arithmetic, :meth:`UNet.valid_input_sizes`); ``step = 2**depth`` keeps every
    max-pooling on an even size. For the paper's network: ``(188, 16)`` (188 → 4 px output).

    Examples:
        >>> valid_size_rule(UNet(base_channels=4))
        (188, 16)
    """
    step = 2**model.depth
    return model.valid_input_sizes(1, 64 * step)[0], step


def _check_unet(model: object) -> UNet:
    if not isinstance(model, UNet):
        raise ValueError(f"expected a unet_tutorial.model.UNet, got {type(model).__name__}")
    if model.padding != "valid":
        raise ValueError("only valid-padding networks are exported (the size rule and halo are theirs)")
    return model


@contextlib.contextmanager
def _quiet_exporter():
    """Silence the exporter's progress lines and its notes on absent torchvision ops (not used here)."""
    logger = logging.getLogger("torch.onnx")
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()):
            warnings.simplefilter("ignore", FutureWarning)
            yield
    finally:
        logger.setLevel(level)


def export_onnx(model: UNet, path: str | os.PathLike[str], *, opset: int = ONNX_OPSET) -> Path:
    """Write ``model`` (then its softmax) as an ONNX file with dynamic batch and tile sizes.

    Input ``"image"``: float32 ``(N, C, S_y, S_x)``, each ``S = min + k·step``
    (:func:`valid_size_rule`), normalised as the model was trained (see
    :mod:`unet_tutorial.normalize`). Output ``"probabilities"``: float32
    ``(N, K, S_y − 2b, S_x − 2b)``, ``b = model.border``. The metadata entry
    ``unet_tutorial`` (JSON) holds the U-Net configuration, ``border``, the size rule,
    ``normalize`` and ``threshold``.

    Args:
        model: a valid-padding :class:`~unet_tutorial.model.UNet` (weights of any dtype;
            exported in float32).
        path: the ``.onnx`` file to write (its folder is created).
        opset: ONNX operator set version.

    Returns:
        ``path`` as a :class:`~pathlib.Path`.

    Raises:
        ValueError: not a valid-padding UNet.
    """
    import onnx

    net = _check_unet(model)
    first, step = valid_size_rule(net)
    shape_net = UNet(**model_config(net))
    shape_net.load_state_dict({k: v.detach().float().cpu() for k, v in net.state_dict().items()})
    wrapped = _Probabilities(shape_net).eval()
    # k = 3 and batch 2 in the example: torch.export specialises dimensions traced at 0 or 1
    example = torch.zeros(2, net.in_channels, first + 3 * step, first + 3 * step)
    dims = {0: torch.export.Dim("batch", min=1, max=1024),
            2: step * torch.export.Dim("ky", min=0, max=1024) + first,
            3: step * torch.export.Dim("kx", min=0, max=1024) + first}
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with _quiet_exporter():
        program = torch.onnx.export(wrapped, (example,), input_names=["image"], output_names=["probabilities"],
                                    dynamic_shapes={"x": dims}, opset_version=opset, dynamo=True, verbose=False)
    proto = program.model_proto
    info = {"unet": model_config(net), "border": net.border, "size_min": first, "size_step": step,
            "normalize": model_normalization(net), "threshold": model_protocol(net).threshold,
            "protocol": model_protocol(net).to_dict()}
    entry = proto.metadata_props.add()
    entry.key, entry.value = ONNX_METADATA_KEY, json.dumps(info)
    onnx.save(proto, str(path))
    return path


def _test_tile(model: UNet, image: np.ndarray | None) -> np.ndarray:
    """A test input ``(1, C, S, S)`` of the smallest valid size with an output of >= 64 px."""
    first, step = valid_size_rule(model)
    size = first
    while model.output_size(size) < 64:
        size += step
    if image is None:  # *synthetic* test content: discs on a background (stated in the package docs)
        from .data import synthetic_nuclei

        image = synthetic_nuclei((size, size), seed=0)[0]
    im = np.asarray(image, dtype=np.float32)
    if im.ndim == 2:
        im = np.repeat(im[None], model.in_channels, axis=0)
    reps = (1, -(-size // im.shape[-2]), -(-size // im.shape[-1]))
    im = np.tile(im, reps)[:, :size, :size]  # a tile cut from the image (repeated if it is small)
    return np.ascontiguousarray(im[None])


def export_bioimageio(model: UNet, path: str | os.PathLike[str], *, name: str, description: str,
                      test_image: np.ndarray | None = None, training_data: str = "",
                      authors: tuple[str, ...] = ("unet_tutorial contributors",)) -> Path:
    """Write a bioimage.io model package (``.zip``, format 0.5) of ``model`` with ONNX weights.

    Args:
        model: a valid-padding :class:`~unet_tutorial.model.UNet`; its ``normalize``
            becomes the package's preprocessing, its ``threshold`` is stated in the docs.
        path: the ``.zip`` to write.
        name: the model's name (letters, digits, spaces, ``_-.``).
        description: one sentence: what it segments.
        test_image: an image ``(H, W)`` (or ``(C, H, W)``) as the model takes it *before*
            normalisation; the test tile is cut from it. ``None``: a *synthetic* image.
        training_data: a sentence on what it was trained on (for the documentation).
        authors: author names.

    Returns:
        ``path``.

    Raises:
        ValueError: not a valid-padding UNet, or a description the bioimage.io spec rejects.
    """
    from bioimageio.spec import save_bioimageio_package
    from bioimageio.spec.model.v0_5 import (AxisId, BatchAxis, ChannelAxis, CiteEntry, ClipDescr, ClipKwargs,
                                            Doi, FileDescr, Identifier, InputTensorDescr, LicenseId,
                                            ModelDescr, OnnxWeightsDescr, OutputTensorDescr, ParameterizedSize,
                                            ScaleRangeDescr, ScaleRangeKwargs, SizeReference, SpaceInputAxis,
                                            SpaceOutputAxis, TensorId, WeightsDescr)
    from bioimageio.spec.generic.v0_3 import Author

    net = _check_unet(model)
    first, step = valid_size_rule(net)
    mode = model_normalization(net)
    with tempfile.TemporaryDirectory(prefix="unet_bioimageio_") as tmp:  # the zip keeps what it needs
        work = Path(tmp)
        onnx_path = export_onnx(net, work / "weights.onnx")
        raw = _test_tile(net, test_image)
        from .inference.onnx_backend import OnnxPredictor

        normed = normalize_image(raw, mode) if mode != "none" else raw
        prob = OnnxPredictor(onnx_path).session.run(None, {"image": normed.astype(np.float32)})[0]
        np.save(work / "test_input.npy", raw.astype(np.float32))
        np.save(work / "test_output.npy", prob.astype(np.float32))
        threshold = getattr(net, "threshold", None)
        source = ("a *synthetic* image (discs on a dark background), not real data" if test_image is None
                  else "a tile cut from a real image of the training domain")
        (work / "README.md").write_text(_documentation(net, name, description, training_data, first, step,
                                                       mode, threshold, source))

        inp, out = TensorId("image"), TensorId("probabilities")
        spatial = [SpaceInputAxis(id=AxisId(a), size=ParameterizedSize(min=first, step=step)) for a in ("y", "x")]
        pre = []
        if mode == "percentile":  # the normalisation of training, per image and channel-joint
            lo, hi = NORMALIZE_PERCENTILES
            pre = [ScaleRangeDescr(kwargs=ScaleRangeKwargs(axes=[AxisId("channel"), AxisId("y"), AxisId("x")],
                                                           min_percentile=lo, max_percentile=hi)),
                   ClipDescr(kwargs=ClipKwargs(min=0.0, max=1.0))]
        classes = list(model_protocol(net).class_names)  # saved with the model (train --class-names)
        if len(classes) != net.num_classes:
            classes = list(default_class_names(net.num_classes))
        descr = ModelDescr(
            name=name,
            description=description,
            authors=[Author(name=a) for a in authors],
            cite=[CiteEntry(text="Ronneberger, Fischer, Brox. U-Net: Convolutional Networks for Biomedical Image "
                            "Segmentation. MICCAI 2015", doi=Doi(_PAPER_DOI))],
            license=LicenseId(_COURSE_LICENSE),
            documentation=FileDescr(source=work / "README.md"),
            tags=["unet", "segmentation", "2d", "instance-segmentation" if threshold is not None else "semantic"],
            inputs=[InputTensorDescr(
                id=inp, description="gray image" if net.in_channels == 1 else f"{net.in_channels}-channel image",
                axes=[BatchAxis(), ChannelAxis(channel_names=[Identifier(f"c{c}") for c in range(net.in_channels)]),
                      *spatial],
                test_tensor=FileDescr(source=work / "test_input.npy"), preprocessing=pre)],
            outputs=[OutputTensorDescr(
                id=out, description="class probabilities (softmax), channel 1 = foreground",
                axes=[BatchAxis(), ChannelAxis(channel_names=[Identifier(c.replace(" ", "_")) for c in classes]),
                      *[SpaceOutputAxis(id=AxisId(a), size=SizeReference(tensor_id=inp, axis_id=AxisId(a),
                                                                         offset=-2 * net.border)) for a in ("y", "x")]],
                test_tensor=FileDescr(source=work / "test_output.npy"))],
            weights=WeightsDescr(onnx=OnnxWeightsDescr(source=onnx_path, opset_version=ONNX_OPSET)),
        )
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        save_bioimageio_package(descr, output_path=path)
    return path


def _documentation(net: UNet, name: str, description: str, training_data: str, first: int, step: int,
                   mode: str, threshold: float | None, test_source: str) -> str:
    norm = ("each image's 1st and 99.8th percentiles are mapped to 0 and 1 (clipped; in the "
            "package's preprocessing)" if mode == "percentile" else
            "none beyond scaling to [0, 1] (8-bit images / 255): give the image as float32 in [0, 1]")
    thr = (f"Foreground where the probability of channel 1 is above **{threshold:.2f}** (chosen on "
           "validation images); objects are its connected components." if threshold is not None else
           "Foreground where the probability of channel 1 is above 0.5.")
    return f"""# {name}

{description}

A U-Net (Ronneberger, Fischer, Brox, MICCAI 2015) with unpadded ("valid") convolutions,
{net.base_channels} channels in the first level, depth {net.depth}, trained with the course
*U-Net, from the paper* (`unet_tutorial`). {training_data}

## Input and output
- Input `image`: `(batch, channel, y, x)`, each side `{first} + n * {step}` pixels.
  Normalisation: {norm}.
- Output `probabilities`: the softmax over {net.num_classes} classes, each side
  {2 * net.border} pixels shorter than the input: the network consumes {net.border} pixels of
  context on every side. Segment a large image by overlapping tiles whose outputs abut
  (the overlap-tile strategy of the paper, Fig. 2), mirroring the image beyond its edges.
- {thr}

The test input is {test_source}; the test output is this package's own prediction for it.
"""


def validate_bioimageio(path: str | os.PathLike[str]) -> Any:
    """Validate a package with ``bioimageio.core.test_model`` (format checks, test tensors re-predicted).

    Returns:
        The validation summary (``.status`` is ``"passed"`` or ``"failed"``).
    """
    from bioimageio.core import test_model

    return test_model(str(path), weight_format="onnx", devices=["cpu"])


def add_export_command(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Register ``python -m unet_tutorial export``."""
    p = subparsers.add_parser("export", help="write a trained model as ONNX or as a bioimage.io package",
                              description="Export a model file (or the name of a model in results/) to ONNX "
                              "(runs in onnxruntime: predict --backend onnxruntime) or to a bioimage.io "
                              "model package (.zip; opens in Fiji/deepImageJ, ilastik, napari, QuPath).")
    p.add_argument("weights", metavar="WEIGHTS", help="a model file or the name of a model in results/")
    p.add_argument("out", metavar="OUT", help="the .onnx or .zip file to write")
    p.add_argument("--format", required=True, choices=("onnx", "bioimageio"))
    p.add_argument("--name", default=None, help="bioimageio: model name (default: from WEIGHTS)")
    p.add_argument("--description", default=None, help="bioimageio: one sentence on what it segments")
    p.add_argument("--no-validate", action="store_true", help="bioimageio: skip the bioimageio.core test")
    p.set_defaults(func=run_export_command)
    return p


def run_export_command(args: argparse.Namespace) -> int:
    """Run ``export``; exit code 0, 1 when the package fails validation, 2 on bad input."""
    from .checkpoint import load_model
    from ._checks import one_line
    from .predict import resolve_weights

    try:
        weights = resolve_weights(args.weights)
        model = load_model(weights)
        if args.format == "onnx":
            print(f"wrote {export_onnx(model, args.out)}")
            return 0
        stem = weights.parent.name if weights.stem == "model" else weights.stem  # results/NAME/model.pt
        out = export_bioimageio(model, args.out, name=args.name or f"unet-tutorial {stem}",
                                description=args.description or f"U-Net segmentation ({stem}), from the "
                                "course U-Net, from the paper.")
    except (FileNotFoundError, ValueError, OSError) as err:
        print(f"unet_tutorial export: error: {one_line(err)}", file=sys.stderr)
        return 2
    print(f"wrote {out}")
    if args.no_validate:
        return 0
    summary = validate_bioimageio(out)
    print(f"bioimageio.core test: {summary.status}")
    return 0 if summary.status == "passed" else 1
