"""U-Net since 2015: what a decade of practice added to the paper's recipe, as options.

The paper's network and training are the defaults everywhere; each change here is an
option of :class:`~unet_tutorial.model.UNet` or :class:`~unet_tutorial.config.TrainConfig`
that the chapter "U-Net since 2015" measures against them:

- :func:`norm_layer`: a normalisation after every 3×3 convolution, before its ReLU
  (``UNet(norm=...)``, ``TrainConfig.norm``): batch normalisation (Ioffe & Szegedy 2015),
  instance normalisation (Ulyanov et al. 2016; the default of nnU-Net, Isensee et al.
  2021) or group normalisation (Wu & He 2018). The paper has none: its He
  initialisation (§3) keeps the activations' scale at the start, nothing keeps it later.
- :func:`boundary_classes` and :func:`instances_from_classes`: the 3-class target
  (``TrainConfig.target = "boundary"``): background / interior / boundary, the objects
  grown by a seeded watershed from the interiors (the DSB 2018 winners; Caicedo et al.
  2019). It is Eq. 2's idea made a class: where the paper *weights* the pixels between
  touching cells, this target *names* each object's rim, and post-processing cuts there.
- :class:`DeepSupervision`: 1×1 heads on the coarser levels of the expanding path, each
  scored by the same loss against the labels (Lee et al. 2015; nnU-Net's default),
  ``TrainConfig.deep_supervision``: the gradient reaches the deep layers by a shorter
  path. Training only: the heads are dropped from the model file.

References
----------
.. [1] S. Ioffe, C. Szegedy, "Batch normalization", ICML 2015.
.. [2] D. Ulyanov, A. Vedaldi, V. Lempitsky, "Instance normalization: the missing
       ingredient for fast stylization", arXiv:1607.08022, 2016.
.. [3] Y. Wu, K. He, "Group normalization", ECCV 2018.
.. [4] F. Isensee et al., "nnU-Net: a self-configuring method for deep learning-based
       biomedical image segmentation", Nature Methods 18, 203–211, 2021.
.. [5] J. C. Caicedo et al., "Evaluation of deep learning strategies for nucleus
       segmentation in fluorescence images", Cytometry A 95, 952–965, 2019.
.. [6] C.-Y. Lee, S. Xie, P. Gallagher, Z. Zhang, Z. Tu, "Deeply-supervised nets",
       AISTATS 2015.
"""

from __future__ import annotations

from typing import Callable, Literal

import numpy as np
import torch
import torch.nn.functional as F
from scipy import ndimage as ndi
from torch import nn

from ._checks import check_instances, check_int, check_positive, check_probability

__all__ = ["PAPER_VS_NNUNET", "NORMS", "Norm", "norm_layer", "TARGETS", "BOUNDARY_CLASSES", "boundary_classes",
           "instances_from_classes", "predicts_boundaries", "DeepSupervision"]

#: The paper's training recipe and nnU-Net's defaults (Isensee et al. 2021, 2D configuration), point
#: by point: ``(aspect, the paper (§2-3), nnU-Net, the course's option for it or "-")``.
PAPER_VS_NNUNET: tuple[tuple[str, str, str, str], ...] = (
    ("normalisation layer", "none (He initialisation only)", "instance norm after every conv", "norm"),
    ("non-linearity", "ReLU", "leaky ReLU (slope 0.01)", "-"),
    ("3x3 convolutions", "unpadded (valid): output smaller than input", "zero-padded", "UNet(padding=)"),
    ("down-sampling", "2x2 max-pooling", "strided 3x3 convolution", "-"),
    ("loss", "cross-entropy weighted by Eq. 2", "Dice + cross-entropy, no weight map", "loss, border_weights"),
    ("deep supervision", "none", "every resolution but the two coarsest", "deep_supervision"),
    ("optimiser", "SGD, momentum 0.99, rate not given", "SGD, Nesterov momentum 0.99, rate 0.01",
     "optimizer, momentum, lr"),
    ("learning-rate schedule", "not given", "poly: (1 - epoch/1000)^0.9", "schedule"),
    ("tiles per step", "1 large tile", "at least 2", "batch_size"),
    ("training length", "10 h on a 2015 GPU", "1000 epochs of 250 steps", "steps"),
    ("augmentation", "shifts, rotations, gray values, elastic deformation",
     "rotation, scaling, noise, blur, brightness, contrast, gamma, mirroring; elastic off", "augment"),
    ("input normalisation", "not given", "z-score per image (non-CT)", "normalize"),
    ("objects", "2 classes; Eq. 2 weights the borders", "(semantic only)", "target"),
    ("weight averaging", "none", "none", "ema_decay"),
    ("prediction", "overlap-tile, mirrored borders", "sliding window, half overlap, Gaussian weights, mirroring",
     "predict_tiled(tta=)"),
)

Norm = Literal["none", "batch", "instance", "group"]
#: The normalisation layers ``UNet(norm=...)`` knows; ``"none"`` is the paper's network.
NORMS: tuple[str, ...] = ("none", "batch", "instance", "group")

#: Channels per group of ``"group"`` normalisation (at least one group).
GROUP_CHANNELS = 8


def norm_layer(kind: Norm, channels: int) -> nn.Module:
    """The normalisation layer ``kind`` for a feature map of ``channels`` channels.

    ``"batch"``: ``BatchNorm2d`` (statistics over the batch and the pixels, running
    averages at prediction); ``"instance"``: ``InstanceNorm2d`` with affine parameters (each
    image and channel over its own pixels, in training and at prediction alike);
    ``"group"``: ``GroupNorm`` with groups of :data:`GROUP_CHANNELS` channels (independent
    of the batch size, like instance norm, but pooling neighbouring channels).

    Raises:
        ValueError: ``kind`` is not one of :data:`NORMS` other than ``"none"``, or
            ``channels`` is not a positive int.

    Examples:
        >>> norm_layer("group", 16)
        GroupNorm(2, 16, eps=1e-05, affine=True)
    """
    if not isinstance(channels, int) or isinstance(channels, bool) or channels < 1:
        raise ValueError(f"channels must be a positive int, got {channels!r}")
    if kind == "batch":
        return nn.BatchNorm2d(channels)
    if kind == "instance":
        return nn.InstanceNorm2d(channels, affine=True)
    if kind == "group":
        return nn.GroupNorm(max(1, channels // GROUP_CHANNELS), channels)
    raise ValueError(f"norm must be one of {', '.join(n for n in NORMS if n != 'none')} here, got {kind!r}")


# --------------------------------------------------------------------------
# The 3-class target: background / interior / boundary
# --------------------------------------------------------------------------

#: What the network learns to predict (``TrainConfig.target``): ``"mask"`` = the paper's
#: 2 classes (Eq. 2 weights the borders), ``"boundary"`` = :data:`BOUNDARY_CLASSES`.
TARGETS: tuple[str, ...] = ("mask", "boundary")
#: The class names of a model trained on the 3-class target (saved with it: predictions
#: and evaluations read them to cut objects with :func:`instances_from_classes`).
BOUNDARY_CLASSES: tuple[str, ...] = ("background", "interior", "boundary")
#: Rim width [pixels] of :func:`boundary_classes` (2 px from each object's edge inwards).
BOUNDARY_WIDTH = 2
#: Seeds of :func:`instances_from_classes` smaller than this [pixels] are dropped (speckle).
MIN_SEED = 4


def boundary_classes(instances, width: int = BOUNDARY_WIDTH) -> np.ndarray:
    """The 3-class target of an instance label image: 0 background, 1 interior, 2 boundary.

    An object's pixel is *boundary* when a pixel of another label (another object or
    the background) lies within ``width`` px of it (4-connected steps, a diamond);
    its other pixels are *interior*. The image edge is no boundary: an object cut by
    the tile edge goes on outside it.

    Args:
        instances: int ``(H, W)`` object ids, 0 = background (for a separation mask,
            first :func:`~unet_tutorial.weights.instances_from_binary`).
        width: the rim's width [pixels], >= 1.

    Returns:
        uint8 ``(H, W)`` class labels ``0..2`` (:data:`BOUNDARY_CLASSES`).

    Examples:
        >>> lab = np.zeros((7, 7), int); lab[1:6, 1:6] = 1
        >>> boundary_classes(lab, width=1)[1:6, 1:6]
        array([[2, 2, 2, 2, 2],
               [2, 1, 1, 1, 2],
               [2, 1, 1, 1, 2],
               [2, 1, 1, 1, 2],
               [2, 2, 2, 2, 2]], dtype=uint8)
    """
    lab = check_instances(instances, "instances")
    width = check_int(width, "width", minimum=1)
    foot = ndi.iterate_structure(ndi.generate_binary_structure(2, 1), width)
    # a pixel is interior when every label within `width` px equals its own
    same = (ndi.maximum_filter(lab, footprint=foot, mode="nearest") == lab) & (
        ndi.minimum_filter(lab, footprint=foot, mode="nearest") == lab)
    out = np.zeros(lab.shape, np.uint8)
    out[lab > 0] = 2
    out[(lab > 0) & same] = 1
    return out


def instances_from_classes(probs, threshold: float = 0.5, *, min_size: int = 16, gap: int = 2) -> np.ndarray:
    """Objects ``(H, W)`` int32 (0 = background) from 3-class probabilities, by a seeded watershed.

    1. foreground = ``p_background < 0.5`` (interior + boundary above 0.5);
    2. seeds = 4-connected components of ``p_interior > threshold`` inside the
       foreground (smaller than :data:`MIN_SEED` px dropped): one per object, apart even
       where two objects touch, because the rim between them is "boundary";
    3. each seed grows over the foreground, downhill in ``p_interior``
       (``skimage.segmentation.watershed``), until it meets another;
    4. foreground regions that no seed reached (objects too small to have an
       interior) become objects of their own; objects under ``min_size`` px are
       dropped; the 2-px gaps that separation masks leave between touching objects
       are given back as :func:`~unet_tutorial.inference.instances_from_probability`
       does (``gap``).

    Args:
        probs: ``(3, H, W)`` soft-max probabilities of :data:`BOUNDARY_CLASSES`.
        threshold: the interior probability above which a pixel seeds an object
            (chosen on validation images like the 2-class model's threshold).
        min_size, gap: as :func:`~unet_tutorial.inference.instances_from_probability`.

    Raises:
        ValueError: ``probs`` not ``(3, H, W)`` in [0, 1], or a threshold outside [0, 1].
    """
    from skimage.segmentation import watershed

    from .inference import fill_gaps

    p = check_probability(probs, "probs", ndims=(3,))
    if p.shape[0] != 3:
        raise ValueError(f"probs must be (3, H, W): background, interior, boundary; got shape {p.shape}")
    t = check_positive(threshold, "threshold", allow_zero=True)
    if t > 1:
        raise ValueError(f"threshold must be in [0, 1], got {threshold!r}")
    min_size = check_int(min_size, "min_size", minimum=0)
    gap = check_int(gap, "gap", minimum=0)
    c4 = ndi.generate_binary_structure(2, 1)
    fg = p[0] < 0.5
    seeds, n = ndi.label((p[1] > t) & fg, structure=c4)
    if n:
        small = np.bincount(seeds.ravel()) < MIN_SEED
        small[0] = False
        seeds[small[seeds]] = 0
    labels = watershed(-p[1], markers=seeds, mask=fg, connectivity=1) if seeds.any() else np.zeros_like(seeds)
    rest, _ = ndi.label(fg & (labels == 0), structure=c4)
    labels = np.where(rest > 0, rest + labels.max(), labels)
    if min_size > 1 and labels.any():
        small = np.bincount(labels.ravel()) < min_size
        small[0] = False
        labels[small[labels]] = 0
    return fill_gaps(_renumber(labels), gap).astype(np.int32)


def _renumber(labels: np.ndarray) -> np.ndarray:
    """Ids 1…n in raster order of each object's first pixel (as ``ndi.label`` numbers them)."""
    ids, first = np.unique(labels.ravel(), return_index=True)
    order = ids[ids > 0][np.argsort(first[ids > 0])]
    lut = np.zeros(int(labels.max()) + 1, np.int32)
    lut[order] = np.arange(1, order.size + 1, dtype=np.int32)
    return lut[labels]


def predicts_boundaries(model) -> bool:
    """Whether ``model`` was trained on the 3-class target (its protocol names :data:`BOUNDARY_CLASSES`)."""
    from .protocol import model_protocol

    return model_protocol(model).class_names == BOUNDARY_CLASSES


# --------------------------------------------------------------------------
# Deep supervision
# --------------------------------------------------------------------------


class DeepSupervision(nn.Module):
    """Auxiliary outputs on the ``levels`` coarser levels of a U-Net's expanding path, and their loss.

    A 1×1 convolution (as the U-Net's own head) turns the output of each of the
    ``levels`` up-blocks before the last into class scores at that level's
    resolution; they are upsampled (bilinear) to full resolution and centre-cropped
    to the network's output, so every one is scored by the training loss against the
    same labels and weights. The total is the weighted sum with weights 1, 1/2, 1/4, …
    (full resolution first), normalised to sum 1, as nnU-Net does.

    The U-Net is not changed: forward hooks catch the up-blocks' outputs while it
    trains, the heads live here (the optimiser trains them; the checkpoint keeps them),
    and the model file holds the paper's network alone.

    Args:
        model: a :class:`~unet_tutorial.model.UNet`.
        levels: how many coarser levels to supervise, 1 … ``depth − 1``.
    """

    def __init__(self, model: nn.Module, levels: int) -> None:
        super().__init__()
        ups = list(getattr(model, "ups", ()))
        levels = check_int(levels, "levels", minimum=1)
        if levels > len(ups) - 1:
            raise ValueError(f"levels must be 1 … {len(ups) - 1} (the coarser levels of a depth-{len(ups)} "
                             f"U-Net's expanding path), got {levels}")
        blocks = ups[-1 - levels:-1][::-1]  # the finest of them first
        self.heads = nn.ModuleList(nn.Conv2d(_out_channels(b.conv), model.num_classes, kernel_size=1)
                                   for b in blocks)
        weights = torch.tensor([0.5 ** k for k in range(levels + 1)])
        self.register_buffer("weights", weights / weights.sum(), persistent=False)
        self._features: list[torch.Tensor | None] = [None] * levels
        self._hooks = [b.register_forward_hook(self._keep(i)) for i, b in enumerate(blocks)]

    def _keep(self, i: int):
        def hook(module, inputs, output):
            if module.training:  # predictions (validation, EMA copies) keep nothing
                self._features[i] = output
        return hook

    def outputs(self, logits: torch.Tensor) -> list[torch.Tensor]:
        """The auxiliary scores of the last training forward pass, each ``logits``' shape ``(N, K, o, o)``."""
        from .model import center_crop

        if any(f is None for f in self._features):
            raise RuntimeError("no training forward pass of the U-Net since DeepSupervision was attached")
        out = []
        for k, (head, feat) in enumerate(zip(self.heads, self._features), start=1):
            # the loss runs outside autocast: the heads see float32 features (bf16 in the network)
            up = F.interpolate(head(feat.float()), scale_factor=2 ** k, mode="bilinear", align_corners=False)
            out.append(center_crop(up, logits.shape[-2], logits.shape[-1]))
        return out

    def loss(self, base: Callable[..., torch.Tensor]) -> Callable[..., torch.Tensor]:
        """The training loss ``(logits, y, w) → scalar``: ``base`` on the output and on every auxiliary output."""
        def deep(logits, y, w):
            terms = [base(logits, y, w), *(base(a.float(), y, w) for a in self.outputs(logits))]
            self._features = [None] * len(self._features)  # each step's features are used once
            return sum(wt * t for wt, t in zip(self.weights, terms))
        return deep

    def remove(self) -> None:
        """Detach the hooks from the U-Net."""
        for h in self._hooks:
            h.remove()


def _out_channels(block: nn.Module) -> int:
    """Output channels of a double-convolution block: its last ``Conv2d``'s."""
    return [m for m in block.modules() if isinstance(m, nn.Conv2d)][-1].out_channels
