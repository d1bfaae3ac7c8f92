"""The U-Net of Fig. 1 (Ronneberger, Fischer & Brox 2015, §2), in PyTorch.

The defaults of :class:`UNet` give the exact network of the paper: 1 input
channel, 2 classes, 64 feature channels doubling at each of the 4 poolings to
1024, unpadded ("valid") 3×3 convolutions each followed by a ReLU, 2×2 max
pooling with stride 2, 2×2 up-convolutions that halve the channels, the
center-cropped skip connection concatenated, a final 1×1 convolution, drop-out
at the end of the contracting path and He initialisation (§3). That is 23
convolutional layers, and a 572×572 input tile gives a 388×388 output map.

Size arithmetic (``padding="valid"``): every unpadded 3×3 convolution removes one pixel
per side, each pooling halves (the size must be even), each expanding step maps
``u → 2u − 4``: 572 → 568 | 284 → 280 | 140 → 136 | 68 → 64 | 32 → 28, back up
56 → 52 | 104 → 100 | 200 → 196 | 392 → 388. The valid sizes are
``s = 2**depth · k + 4 · (2**depth − 1)`` (depth 4: ``16k + 60``, ``k ≥ 8``), and the
network consumes a constant border of ``(s − output) / 2`` pixels per side (92).

``norm`` adds what practice added since 2015 (chapter "U-Net since 2015"): a batch,
instance or group normalisation after every 3×3 convolution, before its ReLU
(Ioffe & Szegedy 2015; Ulyanov et al. 2016; Wu & He 2018; nnU-Net uses instance norm).
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass
from typing import Literal

import torch
from torch import nn

from ._checks import check_int, check_planes
from .protocol import Protocol, WithProtocol
from .since2015 import NORMS, Norm, norm_layer

__all__ = [
    "UNet",
    "DoubleConv",
    "Down",
    "Up",
    "LayerShape",
    "output_size",
    "is_valid_input_size",
    "valid_input_sizes",
    "nearest_valid_input_sizes",
    "input_size_for",
    "border",
    "check_input_size",
    "explain_input_size",
    "center_crop",
    "format_trace",
]

Padding = Literal["valid", "same"]


# --------------------------------------------------------------------------
# Size arithmetic: pure functions of (input size, depth, padding)
# --------------------------------------------------------------------------


def _check_arch(depth: int, padding: str) -> None:
    if not isinstance(depth, int) or isinstance(depth, bool) or depth < 1:
        raise ValueError(f"depth (number of poolings) must be an int >= 1, got {depth!r}")
    if padding not in ("valid", "same"):
        raise ValueError(f'padding must be "valid" or "same", got {padding!r}')


def _size_chain(size: int, depth: int, padding: Padding) -> list[int] | None:
    """Sizes after every convolution, pooling and up-convolution, or None if invalid.

    Returns the x-y size (pixels) of every feature map in forward order, or
    ``None`` when some max-pooling would see an odd size or a size drops
    below 1.
    """
    shrink = 2 if padding == "valid" else 0  # pixels lost per 3×3 conv
    chain: list[int] = [size]
    s = size
    for level in range(depth + 1):
        for _ in range(2):
            s -= shrink
            if s < 1:
                return None
            chain.append(s)
        if level < depth:
            if s % 2:
                return None  # the seamless-tiling rule of §2: pool only even sizes
            s //= 2
            chain.append(s)
    for _ in range(depth):
        s *= 2
        chain.append(s)
        for _ in range(2):
            s -= shrink
            if s < 1:
                return None
            chain.append(s)
    return chain


def output_size(input_size: int, depth: int = 4, padding: Padding = "valid") -> int:
    """Output x-y size (pixels) of the U-Net for a square input of ``input_size``.

    For the paper's network (depth 4, valid padding) ``output_size(572) == 388``.

    Raises:
        ValueError: if ``input_size`` is not a valid size (some 2×2 max-pooling
            would see an odd size, or the output would be empty); the message
            names the nearest valid sizes.
    """
    check_input_size(input_size, depth, padding)
    chain = _size_chain(input_size, depth, padding)
    assert chain is not None
    return chain[-1]


def is_valid_input_size(input_size: int, depth: int = 4, padding: Padding = "valid") -> bool:
    """Whether every max-pooling sees an even size and the output is not empty.

    With ``padding="same"`` the output must also have the input's size, so the
    size must be a multiple of ``2**depth``.
    """
    _check_arch(depth, padding)
    if not isinstance(input_size, int) or isinstance(input_size, bool) or input_size < 1:
        return False
    chain = _size_chain(input_size, depth, padding)
    if chain is None:
        return False
    return padding == "valid" or chain[-1] == input_size


@functools.lru_cache(maxsize=None)  # pure; tiling asks it thousands of times per image
def _valid_start(depth: int, padding: Padding) -> tuple[int, int]:
    """Smallest valid input size and the period ``2**depth`` of valid sizes."""
    period = 2**depth
    if padding == "same":
        return period, period
    # Valid sizes form one residue class mod 2**depth (the even-size rule)
    # above a lower bound (every map of the expanding path at least 1 px):
    # the first is found by walking up; e.g. 188 for depth 4 (output 4 px).
    s = 1
    while _size_chain(s, depth, padding) is None:
        s += 1
    return s, period


def valid_input_sizes(
    depth: int = 4, padding: Padding = "valid", *, start: int = 1, stop: int = 1024
) -> list[int]:
    """All valid input sizes in ``[start, stop]`` (pixels), ascending.

    For depth 4 and valid padding these are ``16k + 60`` (``k ≥ 8``): 188, 204, …, 572, ….
    """
    _check_arch(depth, padding)
    first, period = _valid_start(depth, padding)
    if start > first:
        first += -(-(start - first) // period) * period
    return list(range(first, stop + 1, period))


def nearest_valid_input_sizes(
    input_size: int, depth: int = 4, padding: Padding = "valid"
) -> tuple[int | None, int]:
    """The nearest valid input sizes ``(below, above)`` around ``input_size``.

    ``below`` is the largest valid size ``<= input_size`` (``None`` if there is
    none), ``above`` the smallest valid size ``>= input_size``. For a valid
    size both equal ``input_size``.
    """
    _check_arch(depth, padding)
    first, period = _valid_start(depth, padding)
    if input_size <= first:
        return (first if input_size == first else None), first
    k, rem = divmod(input_size - first, period)
    below = first + k * period
    return below, (below if rem == 0 else below + period)


def check_input_size(input_size: int, depth: int = 4, padding: Padding = "valid") -> None:
    """Raise a ``ValueError`` naming the nearest valid sizes if ``input_size`` is invalid."""
    if is_valid_input_size(input_size, depth, padding):
        return
    if not isinstance(input_size, int) or isinstance(input_size, bool):
        raise ValueError(f"input size must be an int (pixels), got {input_size!r}")
    below, above = nearest_valid_input_sizes(input_size, depth, padding)
    rule = (
        "every 2x2 max-pooling must see an even size and the output must not be empty"
        if padding == "valid"
        else f"with 'same' padding the size must be a multiple of 2**depth = {2**depth}"
    )
    near = f"{below} or {above}" if below is not None else f"{above} (the smallest)"
    raise ValueError(
        f"input size {input_size} px is not valid for a U-Net of depth {depth} with "
        f"{padding!r} padding ({rule}); nearest valid sizes: {near}"
    )


def explain_input_size(input_size: int, depth: int = 4, padding: Padding = "valid") -> str:
    """Walk ``input_size`` through the network in words: each level's sizes, and where it breaks.

    One line per level of the contracting path (``570 → 568 → 566, pool → 283``),
    then the bottleneck and the expanding path, or the first step that violates
    the tiling rule (an odd size reaching a 2×2 max-pooling, or an empty map).
    """
    _check_arch(depth, padding)
    shrink = 2 if padding == "valid" else 0
    lines: list[str] = []
    s = input_size
    for level in range(depth + 1):
        a, b = s - shrink, s - 2 * shrink
        name = "bottleneck" if level == depth else f"level {level}"
        if b < 1:
            lines.append(f"{name}: {s} → {a} → {b}: the map is empty — input too small")
            return "\n".join(lines)
        if level == depth:
            lines.append(f"{name}: {s} → {a} → {b}")
            break
        if b % 2:
            lines.append(
                f"{name}: {s} → {a} → {b}, pool: {b} is odd — a 2×2 max-pooling would silently "
                "drop the last row/column, so the up-convolved features could no longer be "
                "centred on the copied map (a half-pixel shift): INVALID"
            )
            return "\n".join(lines)
        lines.append(f"{name}: {s} → {a} → {b}, pool → {b // 2}")
        s = b // 2
    s = b
    for level in reversed(range(depth)):
        up = 2 * s
        s = up - 2 * shrink
        if s < 1:
            lines.append(f"up to level {level}: {up} → empty — input too small")
            return "\n".join(lines)
        lines.append(f"up to level {level}: up-conv → {up} → {up - shrink} → {s}")
    lines.append(f"output: {s} px (valid)")
    return "\n".join(lines)


def input_size_for(output_size: int, depth: int = 4, padding: Padding = "valid") -> int:
    """Smallest valid input size whose output is at least ``output_size`` pixels.

    For the paper's network ``input_size_for(388) == 572``.
    """
    _check_arch(depth, padding)
    if not isinstance(output_size, int) or output_size < 1:
        raise ValueError(f"output size must be a positive int (pixels), got {output_size!r}")
    first, period = _valid_start(depth, padding)
    out_first = _size_chain(first, depth, padding)[-1]  # type: ignore[index]
    # Output grows by exactly `period` per step of `period` in the input.
    k = max(0, -(-(output_size - out_first) // period))
    return first + k * period


def border(depth: int = 4, padding: Padding = "valid") -> int:
    """Context (pixels) the network consumes on each side: ``(input − output) / 2``.

    92 px for the paper's network (572 − 388 = 184 = 2 · 92); 0 for "same" padding.
    """
    first, _ = _valid_start(depth, padding)
    return (first - _size_chain(first, depth, padding)[-1]) // 2  # type: ignore[index]


# --------------------------------------------------------------------------
# Building blocks
# --------------------------------------------------------------------------


class DoubleConv(nn.Sequential):
    """Two 3×3 convolutions, each followed by a ReLU (one level of Fig. 1); with ``norm``,
    a normalisation layer between each convolution and its ReLU."""

    def __init__(self, in_channels: int, out_channels: int, padding: Padding = "valid",
                 norm: Norm = "none") -> None:
        pad = 0 if padding == "valid" else 1
        layers: list[nn.Module] = []
        for c_in in (in_channels, out_channels):
            layers.append(nn.Conv2d(c_in, out_channels, 3, padding=pad))
            if norm != "none":
                layers.append(norm_layer(norm, out_channels))
            layers.append(nn.ReLU(inplace=True))
        super().__init__(*layers)


class Down(nn.Sequential):
    """2×2 max-pooling (stride 2), then a :class:`DoubleConv` doubling the channels."""

    def __init__(self, in_channels: int, out_channels: int, padding: Padding = "valid",
                 norm: Norm = "none") -> None:
        super().__init__(nn.MaxPool2d(2, stride=2), DoubleConv(in_channels, out_channels, padding, norm))


def center_crop(x: torch.Tensor, height: int, width: int) -> torch.Tensor:
    """Crop the central ``height × width`` window of an ``(N, C, H, W)`` tensor.

    Any ``(…, H, W)`` works: labels ``(N, H, W)`` are cropped the same way.

    Raises:
        ValueError: ``x`` not a tensor with at least 2 dimensions, empty, or a
            ``height``/``width`` that is not an int in ``[1, H]``/``[1, W]``.
    """
    # (sizes are symbolic when exported to ONNX: nothing to check then)
    if not torch.compiler.is_compiling():
        check_planes(x, "x")
        sizes = (("height", height, x.shape[-2]), ("width", width, x.shape[-1]))
        for name, v, n in sizes:
            if check_int(v, name, minimum=1) > n:
                raise ValueError(
                    f"{name} must be at most {n} pixels (the tensor's size), got {v}"
                )
    top = (x.shape[-2] - height) // 2
    left = (x.shape[-1] - width) // 2
    return x[..., top : top + height, left : left + width]


class Up(nn.Module):
    """2×2 up-convolution halving the channels, concatenation with the cropped skip,
    then a :class:`DoubleConv`."""

    def __init__(self, in_channels: int, out_channels: int, padding: Padding = "valid",
                 norm: Norm = "none") -> None:
        super().__init__()
        self.up = nn.ConvTranspose2d(in_channels, in_channels // 2, 2, stride=2)
        self.conv = DoubleConv(in_channels // 2 + out_channels, out_channels, padding, norm)

    def forward(self, x: torch.Tensor, skip: torch.Tensor) -> torch.Tensor:
        x = self.up(x)
        # The skip map is larger: the unpadded convolutions lost border pixels after
        # it was taken, so only its centre lines up with x (grey arrows of Fig. 1).
        skip = center_crop(skip, x.shape[-2], x.shape[-1])
        return self.conv(torch.cat([skip, x], dim=1))


@dataclass(frozen=True)
class LayerShape:
    """One feature map of the network: where it is, channels and x-y size (pixels)."""

    name: str
    kind: str  # "input", "conv3x3", "maxpool", "upconv", "concat", "conv1x1"
    level: int  # 0 = full resolution, depth = bottleneck
    channels: int
    height: int
    width: int


# --------------------------------------------------------------------------
# The network
# --------------------------------------------------------------------------


class UNet(WithProtocol, nn.Module):
    """The U-Net of Fig. 1; defaults give the exact version of the paper.

    Args:
        in_channels: channels of the input image (1 for the gray EM images).
        num_classes: output channels (2 = background/membrane and cell).
        base_channels: feature channels of the first level (64); they double
            at each pooling (64, 128, 256, 512, 1024).
        depth: number of 2×2 max-poolings (4).
        padding: ``"valid"`` (unpadded 3×3 convolutions, the paper) or
            ``"same"`` (zero-padded, output size = input size; for comparison).
        dropout: drop-out probability of the "drop-out layers at the end of the
            contracting path" (§3.1, plural): element-wise drop-out (as Caffe's
            ``Dropout`` layer) on the output of the deepest contracting level
            before the bottleneck (which feeds both its skip connection and the
            last pooling) and on the bottleneck's output; as in the authors'
            released Caffe network (layers ``d3c`` and ``d4c``). 0 disables it.
        norm: ``"none"`` (the paper) or a normalisation after every 3×3 convolution,
            before its ReLU: ``"batch"``, ``"instance"``, ``"group"`` (:func:`norm_layer`).

    Shape:
        input ``(N, in_channels, H, W)`` with ``H`` and ``W`` valid sizes
        (see :meth:`valid_input_sizes`), output ``(N, num_classes, H', W')``
        raw scores (logits) with ``H' = output_size(H)``.

    Weights are drawn from a Gaussian with standard deviation ``√(2/N)``, ``N``
    the number of incoming nodes of one neuron (§3, He et al. 2015); biases 0.
    """

    def __init__(
        self,
        in_channels: int = 1,
        num_classes: int = 2,
        base_channels: int = 64,
        depth: int = 4,
        padding: Padding = "valid",
        dropout: float = 0.5,
        norm: Norm = "none",
    ) -> None:
        super().__init__()
        for name, value in (
            ("in_channels", in_channels),
            ("num_classes", num_classes),
            ("base_channels", base_channels),
        ):
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise ValueError(f"{name} must be a positive int, got {value!r}")
        _check_arch(depth, padding)
        if not 0.0 <= dropout < 1.0:
            raise ValueError(f"dropout must be in [0, 1), got {dropout!r}")
        if norm not in NORMS:
            raise ValueError(f"norm must be one of {', '.join(NORMS)}, got {norm!r}")
        self.in_channels = in_channels
        self.num_classes = num_classes
        self.base_channels = base_channels
        self.depth = depth
        self.padding: Padding = padding
        self.norm: Norm = norm
        self.protocol = Protocol()  # how it is meant to be used, set when trained or loaded

        chans = [base_channels * 2**i for i in range(depth + 1)]
        self.inc = DoubleConv(in_channels, chans[0], padding, norm)
        self.downs = nn.ModuleList(Down(chans[i], chans[i + 1], padding, norm) for i in range(depth))
        # One drop-out layer for the deepest contracting level (before the
        # bottleneck) and one for the bottleneck: "drop-out layers at the end of
        # the contracting path" (§3.1). Element-wise, as Caffe's Dropout layer.
        self.dropout = nn.Dropout(dropout) if dropout > 0 else nn.Identity()
        self.ups = nn.ModuleList(Up(chans[i + 1], chans[i], padding, norm) for i in reversed(range(depth)))
        self.head = nn.Conv2d(chans[0], num_classes, 1)
        self.reset_parameters()

    # -- initialisation ----------------------------------------------------

    @staticmethod
    def fan_in(module: nn.Conv2d | nn.ConvTranspose2d) -> int:
        """Number of incoming nodes of one output neuron of a convolution (§3's ``N``).

        ``C_in · k · k`` for a convolution; for the 2×2, stride-2 up-convolution
        each output pixel is reached by one kernel tap per input channel, so
        ``C_in · k · k / stride²`` = ``C_in``.
        """
        kh, kw = module.kernel_size
        if isinstance(module, nn.ConvTranspose2d):
            sh, sw = module.stride
            return module.in_channels * max(1, (kh // sh) * (kw // sw))
        return module.in_channels // module.groups * kh * kw

    def reset_parameters(self) -> None:
        """He initialisation (§3): ``W ~ N(0, 2/N)``, biases zero."""
        for m in self.modules():
            if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d)) and not m.weight.is_meta:
                nn.init.normal_(m.weight, 0.0, math.sqrt(2.0 / self.fan_in(m)))
                if m.bias is not None:
                    nn.init.zeros_(m.bias)

    # -- size arithmetic (delegates to the module-level functions) -----------

    def output_size(self, input_size: int) -> int:
        """Output x-y size (pixels) for an input of ``input_size``; ``ValueError`` if invalid."""
        return output_size(input_size, self.depth, self.padding)

    def input_size_for(self, output_size: int) -> int:
        """Smallest valid input size whose output is at least ``output_size`` pixels."""
        return input_size_for(output_size, self.depth, self.padding)

    def is_valid_input_size(self, input_size: int) -> bool:
        """Whether ``input_size`` (pixels) is a valid input size of this network."""
        return is_valid_input_size(input_size, self.depth, self.padding)

    def valid_input_sizes(self, start: int = 1, stop: int = 1024) -> list[int]:
        """Valid input sizes in ``[start, stop]`` pixels."""
        return valid_input_sizes(self.depth, self.padding, start=start, stop=stop)

    def nearest_valid_input_sizes(self, input_size: int) -> tuple[int | None, int]:
        """Nearest valid input sizes ``(below, above)`` around ``input_size``."""
        return nearest_valid_input_sizes(input_size, self.depth, self.padding)

    @property
    def border(self) -> int:
        """Context (pixels) consumed on each side; 92 for the paper's network."""
        return border(self.depth, self.padding)

    @property
    def num_conv_layers(self) -> int:
        """Number of convolutional layers (3×3, up-convolutions and the 1×1): 23 in the paper."""
        return sum(isinstance(m, (nn.Conv2d, nn.ConvTranspose2d)) for m in self.modules())

    # -- forward -------------------------------------------------------------

    def check_input(self, x: torch.Tensor) -> None:
        """Raise ``ValueError`` naming the problem if ``x`` cannot go through the network."""
        if not isinstance(x, torch.Tensor):
            raise ValueError(f"expected a torch.Tensor of shape (N, C, H, W), got {type(x).__name__}")
        if x.ndim != 4:
            raise ValueError(
                f"expected a 4-D tensor (N, C, H, W), got shape {tuple(x.shape)}; "
                "add the batch/channel axes with x[None, None] or x.unsqueeze(0)"
            )
        if x.shape[1] != self.in_channels:
            raise ValueError(
                f"expected {self.in_channels} input channel(s), got {x.shape[1]} "
                f"(input shape {tuple(x.shape)})"
            )
        if not x.is_floating_point():
            raise ValueError(f"expected a floating-point tensor, got dtype {x.dtype}")
        for axis, size in (("height", x.shape[2]), ("width", x.shape[3])):
            try:
                check_input_size(int(size), self.depth, self.padding)
            except ValueError as err:
                raise ValueError(f"input {axis}: {err}") from None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Logits ``(N, num_classes, H', W')`` for an input ``(N, in_ch., H, W)``."""
        # (an ONNX export traces symbolic sizes: its own input rule checks them)
        if not torch.compiler.is_compiling():
            self.check_input(x)
        skips = []
        x = self.inc(x)
        for i, down in enumerate(self.downs):
            if i == self.depth - 1:
                # the end of the contracting path: the last level before the bottleneck
                x = self.dropout(x)
            skips.append(x)
            x = down(x)
        x = self.dropout(x)  # ... and the bottleneck
        for up, skip in zip(self.ups, reversed(skips)):
            x = up(x, skip)
        return self.head(x)

    # -- introspection ---------------------------------------------------------

    @torch.no_grad()
    def trace(self, input_size: int | tuple[int, int]) -> list[LayerShape]:
        """Every feature map's channels and x-y size for one input tile (Fig. 1).

        The shapes are recorded with forward hooks from the real layers of a
        copy of this network on the ``meta`` device (no memory, no arithmetic),
        so they are the model's own, not a formula. Raises ``ValueError`` for an
        invalid size, like :meth:`forward`.
        """
        h, w = (input_size, input_size) if isinstance(input_size, int) else input_size
        with torch.device("meta"):
            net = UNet(self.in_channels, self.num_classes, self.base_channels, self.depth, self.padding, 0.0)
        records: list[LayerShape] = [LayerShape("input", "input", 0, self.in_channels, h, w)]

        def record(name: str, kind: str, level: int, use_input: bool = False):
            def hook(module: nn.Module, args: tuple, out: torch.Tensor) -> None:
                t = args[0] if use_input else out
                records.append(LayerShape(name, kind, level, t.shape[1], t.shape[2], t.shape[3]))

            return hook

        def watch(block: DoubleConv, prefix: str, level: int) -> None:
            first, second = (m for m in block if isinstance(m, nn.Conv2d))  # a norm may sit between
            first.register_forward_hook(record(f"{prefix}.conv1", "conv3x3", level))
            second.register_forward_hook(record(f"{prefix}.conv2", "conv3x3", level))

        watch(net.inc, "enc0", 0)
        for i, down in enumerate(net.downs, start=1):
            down[0].register_forward_hook(record(f"enc{i}.pool", "maxpool", i))
            watch(down[1], f"enc{i}" if i < self.depth else "bottleneck", i)
        for j, up in enumerate(net.ups):
            level = self.depth - 1 - j
            up.up.register_forward_hook(record(f"dec{level}.upconv", "upconv", level))
            # Hooks fire in registration order: the concatenated input first.
            up.conv[0].register_forward_hook(record(f"dec{level}.concat", "concat", level, use_input=True))
            watch(up.conv, f"dec{level}", level)
        net.head.register_forward_hook(record("head", "conv1x1", 0))
        net.eval()
        net(torch.zeros(1, self.in_channels, h, w, device="meta"))
        return records

    def count_parameters(self) -> int:
        """Number of trainable parameters (31,030,658 for the paper's network)."""
        return sum(p.numel() for p in self.parameters() if p.requires_grad)

    def flops(self, input_size: int | tuple[int, int]) -> int:
        """Floating-point operations of one forward pass on one tile (multiply + add = 2).

        Counted from the traced shapes of every convolution: ``2 · C_in · k² ·
        C_out · H_out · W_out`` (the up-convolution: ``2 · C_in · C_out · H_out
        · W_out``, each output pixel receives one tap per input channel).
        Pooling, ReLU and the crops are ignored (under 1 %).
        """
        trace = self.trace(input_size)
        total = 0
        prev = trace[0]
        for rec in trace[1:]:
            if rec.kind in ("conv3x3", "conv1x1"):
                k2 = 9 if rec.kind == "conv3x3" else 1
                total += 2 * prev.channels * k2 * rec.channels * rec.height * rec.width
            elif rec.kind == "upconv":
                total += 2 * prev.channels * rec.channels * rec.height * rec.width
            prev = rec
        return total



# --------------------------------------------------------------------------
# The trace as text (the figure: unet_tutorial.plotting.draw_architecture)
# --------------------------------------------------------------------------


def format_trace(trace: list[LayerShape]) -> str:
    """The trace as a fixed-width text table: name, operation, channels, x-y size (pixels)."""
    lines = [f"{'feature map':<18} {'made by':<9} {'channels':>8} {'size (px)':>11}"]
    for r in trace:
        lines.append(f"{r.name:<18} {r.kind:<9} {r.channels:>8} {f'{r.height}x{r.width}':>11}")
    return "\n".join(lines)
