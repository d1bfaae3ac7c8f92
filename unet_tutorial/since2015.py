"""U-Net since 2015: what a decade of practice added to the paper's recipe, as options.

The paper's network and training are the defaults everywhere; each change here is an
option of :class:`~unet_tutorial.model.UNet` or :class:`~unet_tutorial.config.TrainConfig`
that the chapter "U-Net since 2015" measures against them:

- :func:`norm_layer`: a normalisation after every 3×3 convolution, before its ReLU
  (``UNet(norm=...)``, ``TrainConfig.norm``): batch normalisation (Ioffe & Szegedy 2015),
  instance normalisation (Ulyanov et al. 2016; the default of nnU-Net, Isensee et al.
  2021) or group normalisation (Wu & He 2018). The paper has none: its He
  initialisation (§3) keeps the activations' scale at the start, nothing keeps it later.

References
----------
.. [1] S. Ioffe, C. Szegedy, "Batch normalization", ICML 2015.
.. [2] D. Ulyanov, A. Vedaldi, V. Lempitsky, "Instance normalization: the missing
       ingredient for fast stylization", arXiv:1607.08022, 2016.
.. [3] Y. Wu, K. He, "Group normalization", ECCV 2018.
.. [4] F. Isensee et al., "nnU-Net: a self-configuring method for deep learning-based
       biomedical image segmentation", Nature Methods 18, 203–211, 2021.
"""

from __future__ import annotations

from typing import Literal

from torch import nn

__all__ = ["NORMS", "Norm", "norm_layer"]

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
