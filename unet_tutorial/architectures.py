"""Why a U (§1): the U-Net beside the networks it is argued against, at one interface.

§1 of the paper states the trade-off that the U resolves: a per-pixel classifier
needs a large window for *context*, but "larger patches require more max-pooling
layers that reduce the localization accuracy". The U-Net keeps both: the
contracting path gathers context, the expanding path and the skip connections
(the grey arrows of Fig. 1) bring back the resolution. To measure what each part
buys (the experiment ``isbi2012-why-u``), the course trains four networks on the
same tiles, loss and augmentation:

- ``"unet"``: :class:`~unet_tutorial.model.UNet`, the paper's network;
- ``"no-skip"``: :class:`NoSkipUNet`, the same encoder and decoder *without* the
  skip connections: the decoder must rebuild the detail from the bottleneck alone;
- ``"fcn"``: :class:`FCNUNet`, the fully convolutional network of Long et al. (2015)
  that U-Net extends: class scores at the bottleneck, upsampled once, plus the scores
  of one skip level (FCN-16s), then upsampled to the output in one step;
- ``"ciresan-n4"``: :class:`CiresanDense`, the sliding-window classifier of
  Ciresan et al. (2012) that won ISBI 2012, in its fully convolutional form: one
  output pixel = one 95×95 window's class scores, exactly (the max-poolings become
  stride-1 poolings and the later layers are dilated, "à trous"), so that a slice is
  classified in one pass instead of 262,144, and training on a tile *is* training on
  the batch of every window centred in its output (the loss is their mean).

Every network here maps ``(N, 1, s, s)`` to logits ``(N, 2, o, o)``, has
``output_size(s)``, ``border``, ``padding`` and ``depth`` (what
:func:`~unet_tutorial.inference.predict_tiled` needs) and a ``protocol``; build one
with :func:`build_network`, which is also how a model file is read back.
"""

from __future__ import annotations

import math
from typing import Any

import torch
from torch import nn

from .model import DoubleConv, UNet, center_crop
from .protocol import Protocol, WithProtocol

__all__ = ["ARCHITECTURES", "NoSkipUNet", "FCNUNet", "CiresanDense", "build_network", "architecture_of",
           "check_architecture_input", "network_config"]


class _UpNoSkip(nn.Module):
    """2×2 up-convolution halving the channels, then a :class:`DoubleConv`: no skip map joins."""

    def __init__(self, in_channels: int, out_channels: int, padding: str = "valid") -> None:
        super().__init__()
        self.up = nn.ConvTranspose2d(in_channels, in_channels // 2, 2, stride=2)
        self.conv = DoubleConv(in_channels // 2, out_channels, padding)

    def forward(self, x: torch.Tensor, skip: torch.Tensor) -> torch.Tensor:
        return self.conv(self.up(x))  # ``skip`` is ignored: that is the point


class NoSkipUNet(UNet):
    """The U-Net of Fig. 1 without its skip connections (same sizes, layers and drop-out).

    The expanding path sees only the bottleneck's features, upsampled four times:
    what the network still gets right measures what context alone gives; what it
    loses (thin membranes, exact boundaries) is what the grey arrows carry.
    """

    architecture = "no-skip"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        chans = [self.base_channels * 2**i for i in range(self.depth + 1)]
        self.ups = nn.ModuleList(_UpNoSkip(chans[i + 1], chans[i], self.padding) for i in reversed(range(self.depth)))
        self.reset_parameters()

    # the U-Net's trace (a meta copy of *its* layers) would describe another network
    trace = None  # type: ignore[assignment]


class FCNUNet(UNet):
    """The FCN-16s decoder of Long et al. (2015) on the U-Net's contracting path.

    Class scores (1×1 convolution) of the bottleneck, upsampled ×2 by a learned
    up-convolution, plus the class scores of the deepest skip level (centre-cropped,
    as in Fig. 1), then upsampled ×``2**(depth-1)`` in one learned step and cropped
    to the U-Net's output size, so that both networks take and return the same tiles.
    One upsampling and one skip: the design U-Net extends into a symmetric path.
    """

    architecture = "fcn"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        k, chans = self.num_classes, [self.base_channels * 2**i for i in range(self.depth + 1)]
        del self.ups, self.head
        self.score_bottom = nn.Conv2d(chans[-1], k, 1)
        self.score_skip = nn.Conv2d(chans[-2], k, 1)
        self.up2 = nn.ConvTranspose2d(k, k, 2, stride=2)
        factor = 2 ** (self.depth - 1)
        self.up_final = nn.ConvTranspose2d(k, k, factor, stride=factor)
        self.reset_parameters()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not torch.compiler.is_compiling():
            self.check_input(x)
        out_h, out_w = self.output_size(x.shape[-2]), self.output_size(x.shape[-1])
        x = self.inc(x)
        skip = x
        for i, down in enumerate(self.downs):
            if i == self.depth - 1:
                x = self.dropout(x)
            skip = x
            x = down(x)
        x = self.up2(self.score_bottom(self.dropout(x)))
        x = x + self.score_skip(center_crop(skip, x.shape[-2], x.shape[-1]))
        return center_crop(self.up_final(x), out_h, out_w)

    trace = None  # type: ignore[assignment]


class CiresanDense(WithProtocol, nn.Module):
    """Ciresan et al.'s N4 window classifier (§1) as a fully convolutional network.

    The layers of :class:`~unet_tutorial.baseline.CiresanN4` (convolutions of 4, 5, 4
    and 4 px with 48 maps, each followed by a 2×2 max-pooling, a fully connected layer
    of 200 units, 2 outputs) with each pooling of stride 1 and every later layer dilated
    by the product of the earlier strides (1, 2, 4, 8, 16): output pixel ``(i, j)`` is
    exactly N4's logits for the 95×95 window whose top-left corner is ``(i, j)``, i.e.
    the window centred on input pixel ``(i + 47, j + 47)``. :meth:`patch_classifier`
    returns N4 with the same weights (the test compares the two on a crop).

    Shape: input ``(N, 1, s, s)``, any ``s ≥ 95``; output ``(N, 2, s − 94, s − 94)``.
    """

    architecture = "ciresan-n4"
    window = 95
    border = 47
    padding = "valid"
    depth = 0  # no pooling grid: every tile size and position is valid

    def __init__(self, in_channels: int = 1, num_classes: int = 2) -> None:
        super().__init__()
        if in_channels != 1 or num_classes != 2:
            raise ValueError("CiresanDense classifies gray images into 2 classes "
                             f"(got in_channels={in_channels}, num_classes={num_classes})")
        self.in_channels, self.num_classes = in_channels, num_classes
        self.protocol = Protocol()
        layers: list[nn.Module] = []
        dilation, c_in = 1, 1
        for k in (4, 5, 4, 4):
            layers += [nn.Conv2d(c_in, 48, k, dilation=dilation), nn.ReLU(inplace=True),
                       nn.MaxPool2d(2, stride=1, dilation=dilation)]
            dilation, c_in = dilation * 2, 48
        # the fully connected layers: a 3×3 window of the last pooled maps, then 1×1
        layers += [nn.Conv2d(48, 200, 3, dilation=dilation), nn.ReLU(inplace=True), nn.Conv2d(200, 2, 1)]
        self.layers = nn.Sequential(*layers)
        for m in self.modules():  # He initialisation, as the U-Net (§3)
            if isinstance(m, nn.Conv2d):
                fan_in = m.in_channels * m.kernel_size[0] * m.kernel_size[1]
                nn.init.normal_(m.weight, 0.0, math.sqrt(2.0 / fan_in))
                nn.init.zeros_(m.bias)

    def output_size(self, input_size: int) -> int:
        """Output edge for an input of ``input_size`` px: one pixel per full 95×95 window."""
        return check_architecture_input("ciresan-n4", input_size)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.ndim != 4 or x.shape[1] != 1:
            raise ValueError(f"expected (N, 1, H, W), got shape {tuple(x.shape)}")
        if min(x.shape[-2:]) < self.window:
            raise ValueError(f"input of {tuple(x.shape[-2:])} px is smaller than the {self.window} px window")
        return self.layers(x)

    def patch_classifier(self) -> nn.Module:
        """N4 in its patch form (:class:`~unet_tutorial.baseline.CiresanN4`) with these weights."""
        from .baseline import CiresanN4

        n4 = CiresanN4()
        convs = [m for m in self.layers if isinstance(m, nn.Conv2d)]
        targets = [m for m in n4 if isinstance(m, (nn.Conv2d, nn.Linear))]
        with torch.no_grad():
            for src, dst in zip(convs, targets):
                dst.weight.copy_(src.weight.reshape(dst.weight.shape))
                dst.bias.copy_(src.bias)
        return n4.to(next(self.parameters()).device)


#: The networks of the comparison: name → class (``"unet"`` is the paper's).
ARCHITECTURES: dict[str, type[nn.Module]] = {
    "unet": UNet, "no-skip": NoSkipUNet, "fcn": FCNUNet, "ciresan-n4": CiresanDense}


def architecture_of(model: nn.Module) -> str:
    """The registered name of ``model``'s architecture (``"unet"`` for the paper's)."""
    return getattr(model, "architecture", "unet")


def check_architecture_input(name: str, input_size: int, depth: int = 4) -> int:
    """The output edge [px] of architecture ``name`` for a tile of ``input_size`` px.

    Raises:
        ValueError: an unknown name, or a size the network cannot take (named).
    """
    from .model import output_size

    if name not in ARCHITECTURES:
        raise ValueError(f"unknown architecture {name!r}; known: {', '.join(ARCHITECTURES)}")
    if name == "ciresan-n4":
        if not isinstance(input_size, int) or input_size < CiresanDense.window:
            raise ValueError(f"a tile of the Ciresan classifier must be at least {CiresanDense.window} px, "
                             f"got {input_size!r}")
        return input_size - 2 * CiresanDense.border
    return output_size(input_size, depth, "valid")


def network_config(model: nn.Module) -> dict[str, Any]:
    """The constructor arguments of ``model`` (a model file's ``unet`` entry; plain data).

    A :class:`~unet_tutorial.model.UNet` gives its six arguments, as files have always
    held them (and ``norm`` when it has one); the other architectures add their
    ``architecture`` name.
    """
    name = architecture_of(model)
    if name == "ciresan-n4":
        return {"architecture": name, "in_channels": model.in_channels, "num_classes": model.num_classes}
    drop = model.dropout.p if isinstance(model.dropout, nn.Dropout) else 0.0
    out = {"in_channels": model.in_channels, "num_classes": model.num_classes, "base_channels": model.base_channels,
           "depth": model.depth, "padding": model.padding, "dropout": float(drop)}
    if getattr(model, "norm", "none") != "none":  # files of the paper's network keep their six entries
        out["norm"] = model.norm
    return out if name == "unet" else {"architecture": name, **out}


def build_network(architecture: str = "unet", **config: Any) -> nn.Module:
    """A fresh network of ``architecture`` from its constructor arguments (a model file's ``unet`` entry).

    Raises:
        ValueError: an unknown architecture (the known ones named).
    """
    if architecture not in ARCHITECTURES:
        raise ValueError(f"unknown architecture {architecture!r}; known: {', '.join(ARCHITECTURES)}")
    if architecture == "ciresan-n4":
        config = {k: v for k, v in config.items() if k in ("in_channels", "num_classes")}
    return ARCHITECTURES[architecture](**config)
