"""The energy function of the U-Net (§3, Eq. 1): pixel-wise soft-max and weighted cross-entropy.

The network's last 1×1 convolution gives, for every output pixel ``x``, one raw
score (logit) ``a_k(x)`` per class ``k``. The paper turns them into
probabilities with a pixel-wise soft-max,

.. math::  p_k(x) = \\exp(a_k(x)) \\,/\\, \\sum_{k'} \\exp(a_{k'}(x)),

and penalises at every pixel the log-probability of the true label
``ℓ(x)``, weighted by a pre-computed weight map ``w(x)`` (Eq. 2, see
:mod:`unet_tutorial.weights`). The paper writes the energy as
``E = Σ_x w(x) log p_ℓ(x)(x)``; what is *minimised* here is its negative,
normalised by the number of pixels ``|Ω|`` of the output map(s):

.. math::  L = -\\frac{1}{|Ω|} \\sum_{x ∈ Ω} w(x) \\log p_{ℓ(x)}(x).

Normalising by the pixel count (not by ``Σ w``) keeps the loss, and so the
useful learning rate, independent of the tile size while still letting the
weights change the balance between pixels.

Since 2015 (chapter "U-Net since 2015"): :func:`soft_dice_loss` and
:func:`dice_cross_entropy`, Eq. 1 plus the soft Dice loss of the foreground classes
(Milletari et al. 2016; the default loss of nnU-Net, Isensee et al. 2021), selected by
``TrainConfig.loss`` through :data:`LOSSES`.
"""

from __future__ import annotations

from typing import Literal

import torch
import torch.nn.functional as F

from .model import center_crop

__all__ = ["weighted_cross_entropy", "soft_dice_loss", "dice_cross_entropy", "LOSSES", "loss_function"]

Reduction = Literal["mean", "sum", "none"]


def _check_inputs(
    logits: torch.Tensor, target: torch.Tensor, weight: torch.Tensor | None
) -> None:
    """Raise ``ValueError`` naming the problem with the shapes, dtypes or values."""
    if not isinstance(logits, torch.Tensor) or logits.ndim != 4:
        shape = tuple(logits.shape) if isinstance(logits, torch.Tensor) else type(logits).__name__
        raise ValueError(f"logits must be a 4-D tensor (N, K, h, w), got {shape}")
    if not logits.is_floating_point():
        raise ValueError(f"logits must be floating point, got dtype {logits.dtype}")
    n, k, h, w = logits.shape
    if k < 2:
        raise ValueError(f"logits need at least 2 classes (K >= 2) for a soft-max, got K = {k}")
    if not isinstance(target, torch.Tensor) or target.ndim != 3:
        shape = tuple(target.shape) if isinstance(target, torch.Tensor) else type(target).__name__
        raise ValueError(f"target must be a 3-D tensor (N, H, W) of class labels, got {shape}")
    if target.is_floating_point() or target.is_complex() or target.dtype == torch.bool:
        raise ValueError(f"target must hold integer class labels (int64), got dtype {target.dtype}")
    if target.shape[0] != n:
        raise ValueError(f"batch sizes differ: logits have N = {n}, target has N = {target.shape[0]}")
    if target.shape[1] < h or target.shape[2] < w:
        raise ValueError(
            f"target {tuple(target.shape[1:])} is smaller than the logits' output map {(h, w)}; "
            "it must be at least as large (it is center-cropped to the logits' size)"
        )
    if weight is not None:
        if not isinstance(weight, torch.Tensor) or weight.shape != target.shape:
            shape = tuple(weight.shape) if isinstance(weight, torch.Tensor) else type(weight).__name__
            raise ValueError(f"weight must have the target's shape {tuple(target.shape)}, got {shape}")
        if not weight.is_floating_point():
            raise ValueError(f"weight must be floating point, got dtype {weight.dtype}")


def weighted_cross_entropy(
    logits: torch.Tensor,
    target: torch.Tensor,
    weight: torch.Tensor | None = None,
    *,
    reduction: Reduction = "mean",
    check_values: bool = True,
) -> torch.Tensor:
    """Pixel-wise soft-max cross-entropy weighted by a weight map (§3, Eq. 1).

    Computes ``L = -(1/|Ω|) Σ_{x∈Ω} w(x) log p_ℓ(x)(x)`` where ``p`` is the
    soft-max of ``logits`` over the class axis, ``ℓ(x)`` the true label and
    ``Ω`` all pixels of the ``N`` output maps (``|Ω| = N·h·w``).

    Because the unpadded network's output is smaller than its input tile,
    ``target`` and ``weight`` may be given at a larger size (e.g. the input
    tile's); they are center-cropped to the logits' ``h × w`` with
    :func:`unet_tutorial.model.center_crop`, which is where the output map
    sits.

    Args:
        logits: raw scores ``(N, K, h, w)`` of the network (before soft-max).
            Computed in float32 whatever their dtype (mixed precision safe).
        target: class labels ``(N, H, W)``, integer dtype (int64), values in
            ``[0, K)``; ``H >= h`` and ``W >= w``.
        weight: per-pixel weights ``w(x)`` ``(N, H, W)``, floating point and
            non-negative; ``None`` means ``w ≡ 1`` (plain cross-entropy).
        reduction: ``"mean"`` (the normalised loss above), ``"sum"`` (the
            paper's un-normalised ``-E``) or ``"none"`` (the per-pixel
            ``-w(x) log p_ℓ(x)(x)``, shape ``(N, h, w)``).
        check_values: check the label range and that the weights are finite
            and non-negative. Each check reads a value back from the device (a
            synchronisation per check, four per call); the training loop passes
            ``False`` because its data set validated every label and weight map
            once, when it was built. Shapes and dtypes are always checked (free).

    Returns:
        A scalar tensor (or ``(N, h, w)`` for ``reduction="none"``).

    Raises:
        ValueError: for wrong shapes or dtypes, labels outside ``[0, K)``,
            negative or non-finite weights, or an unknown ``reduction``.
    """
    if reduction not in ("mean", "sum", "none"):
        raise ValueError(f'reduction must be "mean", "sum" or "none", got {reduction!r}')
    _check_inputs(logits, target, weight)
    n, k, h, w = logits.shape
    target = center_crop(target, h, w)
    if check_values:
        lo, hi = int(target.min()), int(target.max())
        if lo < 0 or hi >= k:
            raise ValueError(
                f"target labels must lie in [0, {k}) for K = {k} classes, found values in [{lo}, {hi}]"
            )
    # log_softmax is the numerically stable form of log(exp(a_k) / Σ exp(a_k')).
    log_p = F.log_softmax(logits.float(), dim=1)
    log_p_true = log_p.gather(1, target.long().unsqueeze(1)).squeeze(1)  # (N, h, w)
    if weight is not None:
        weight = center_crop(weight, h, w)
        if check_values:
            if not bool(torch.isfinite(weight).all()):
                raise ValueError("weight contains NaN or infinite values")
            if bool((weight < 0).any()):
                raise ValueError(f"weight must be non-negative, found minimum {float(weight.min()):g}")
        per_pixel = -weight.float() * log_p_true
    else:
        per_pixel = -log_p_true
    if reduction == "none":
        return per_pixel
    if reduction == "sum":
        return per_pixel.sum()
    return per_pixel.mean()


def soft_dice_loss(logits: torch.Tensor, target: torch.Tensor, *, smooth: float = 1.0) -> torch.Tensor:
    """The soft Dice loss of the foreground classes: ``1 − mean_k 2|P_k·T_k| / (|P_k| + |T_k|)``.

    ``P_k`` is the soft-max probability of class ``k`` and ``T_k`` its one-hot target,
    summed over the whole batch and all pixels (the "batch Dice" of nnU-Net, so that a
    tile without foreground does not get a loss of 1), for the classes ``k = 1 … K−1``
    (class 0, the background, is left out, as in nnU-Net). ``smooth`` (pixels) keeps
    the ratio defined when a class is absent from both. Unlike Eq. 1, every class
    counts by its overlap, not by its pixel count: no class-balancing weight is needed.

    Args:
        logits: ``(N, K, h, w)`` raw scores.
        target: ``(N, H, W)`` integer labels in ``[0, K)``, ``H >= h``, ``W >= w``
            (center-cropped to the logits, as in :func:`weighted_cross_entropy`).
        smooth: added to numerator and denominator, > 0.

    Returns:
        A scalar tensor in ``[0, 1]``.

    Raises:
        ValueError: wrong shapes or dtypes (as :func:`weighted_cross_entropy`), or
            ``smooth`` not positive.

    Examples:
        >>> t = torch.tensor([[[0, 1], [1, 1]]])
        >>> perfect = torch.stack([(t == 0).float(), (t == 1).float()], 1) * 20 - 10
        >>> round(float(soft_dice_loss(perfect, t)), 4)
        0.0
    """
    _check_inputs(logits, target, None)
    if not smooth > 0:
        raise ValueError(f"smooth must be positive, got {smooth!r}")
    n, k, h, w = logits.shape
    target = center_crop(target, h, w).long()
    p = F.softmax(logits.float(), dim=1)[:, 1:]  # (N, K-1, h, w): the foreground classes
    t = F.one_hot(target, k).permute(0, 3, 1, 2)[:, 1:].float()
    dims = (0, 2, 3)
    dice = (2 * (p * t).sum(dims) + smooth) / (p.sum(dims) + t.sum(dims) + smooth)
    return 1 - dice.mean()


def dice_cross_entropy(logits: torch.Tensor, target: torch.Tensor, weight: torch.Tensor | None = None, *,
                       check_values: bool = True) -> torch.Tensor:
    """Eq. 1 (weighted by ``weight``, e.g. Eq. 2's map) plus :func:`soft_dice_loss`, unweighted sum.

    nnU-Net's default loss adds cross-entropy and soft Dice; keeping the pixel weights in
    the cross-entropy term keeps Eq. 2's separation borders in the comparison.
    """
    return (weighted_cross_entropy(logits, target, weight, check_values=check_values)
            + soft_dice_loss(logits, target))


#: ``TrainConfig.loss`` → the loss ``(logits, target, weight, *, check_values) → scalar``.
LOSSES = {"ce": weighted_cross_entropy, "dice+ce": dice_cross_entropy}


def loss_function(name: str):
    """The loss of ``TrainConfig.loss`` ``name`` (:data:`LOSSES`).

    Raises:
        ValueError: an unknown name (the known ones listed).
    """
    if name not in LOSSES:
        raise ValueError(f"unknown loss {name!r}; known: {', '.join(LOSSES)}")
    return LOSSES[name]
