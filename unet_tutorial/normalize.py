"""Input normalisation: the intensity scale a model was trained on, applied again at prediction.

The paper's images (ISBI 2012 EM, 8-bit) need none beyond ``/ 255``. Nuclei images
of the Data Science Bowl 2018 do: a faint fluorescence image spans 0-0.1 of the
range and a bright one 0-1, so a network without normalisation must learn every
contrast at once. ``"percentile"`` maps each image's 1st and 99.8th percentiles to
0 and 1 (the convention of CSBDeep/StarDist and of :func:`~unet_tutorial.data.load_ctc`
for 16-bit frames), clipped to [0, 1].

A model trained with ``TrainConfig.normalize = "percentile"`` carries
``model.normalize = "percentile"`` (saved in its file), and
:func:`~unet_tutorial.inference.predict_tiled` applies the same normalisation to
every image it is given, so a reader never normalises by hand.
"""

from __future__ import annotations

import numpy as np

__all__ = ["NORMALIZE_MODES", "NORMALIZE_PERCENTILES", "normalize_image", "model_normalization"]

#: Percentiles mapped to 0 and 1 by the ``"percentile"`` normalisation.
NORMALIZE_PERCENTILES = (1.0, 99.8)

#: The normalisations a model can be trained with.
NORMALIZE_MODES = ("none", "percentile")


def normalize_image(image: np.ndarray, mode: str = "percentile",
                    percentiles: tuple[float, float] = NORMALIZE_PERCENTILES) -> np.ndarray:
    """Normalise one image's intensities: ``"none"`` (unchanged) or ``"percentile"``.

    ``"percentile"``: ``(x − p_lo) / (p_hi − p_lo)`` clipped to [0, 1], with ``p_lo``,
    ``p_hi`` the ``percentiles`` of all pixels (all channels together, so colours keep
    their ratios). A constant image becomes all zeros (nothing to stretch).

    Args:
        image: real ``(H, W)`` or ``(C, H, W)`` array, finite.
        mode: one of :data:`NORMALIZE_MODES`.
        percentiles: ``(low, high)`` in [0, 100], ``low < high``.

    Returns:
        float32 array of the same shape.

    Raises:
        ValueError: unknown ``mode``, bad ``percentiles``, a non-real, empty or non-finite image.

    Examples:
        >>> im = np.linspace(0.0, 0.1, 1000).reshape(10, 100)   # a faint image
        >>> out = normalize_image(im)
        >>> float(out.min()), float(out.max())
        (0.0, 1.0)
    """
    if mode not in NORMALIZE_MODES:
        raise ValueError(f"normalize must be one of {', '.join(repr(m) for m in NORMALIZE_MODES)}, got {mode!r}")
    lo_p, hi_p = (float(p) for p in percentiles)
    if not 0.0 <= lo_p < hi_p <= 100.0:
        raise ValueError(f"percentiles must satisfy 0 <= low < high <= 100, got {percentiles!r}")
    a = np.asarray(image)
    if a.dtype.kind not in "uif" or a.size == 0:
        raise ValueError(f"image must be a non-empty real array, got dtype {a.dtype}, shape {a.shape}")
    if a.dtype.kind == "f" and not np.isfinite(a).all():
        raise ValueError("image contains NaN or infinite values")
    if mode == "none":
        return a.astype(np.float32, copy=False)
    lo, hi = np.percentile(a, (lo_p, hi_p))  # of the raw values (uint16 frames exactly)
    if hi <= lo:
        return np.zeros(a.shape, np.float32)
    return np.clip((a.astype(np.float32) - np.float32(lo)) / np.float32(hi - lo), 0.0, 1.0)


def model_normalization(model: object) -> str:
    """The normalisation a model was trained with: ``model.normalize`` if set, else ``"none"``."""
    mode = getattr(model, "normalize", None) or "none"
    if mode not in NORMALIZE_MODES:
        raise ValueError(f"model.normalize must be one of {NORMALIZE_MODES}, got {mode!r}")
    return mode
