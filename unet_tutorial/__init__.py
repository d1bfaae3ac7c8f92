"""Helper package of the U-Net course: one module per idea of the paper.

- :mod:`unet_tutorial.model`: the network of Fig. 1 and its size arithmetic (§2).
- :mod:`unet_tutorial.data`: one module per data set (ISBI 2012, DSB 2018, the Cell
  Tracking Challenge, synthetic stand-ins), training tiles and splits (§3, §4).
- :mod:`unet_tutorial.augment`: elastic deformation and the other augmentations (§3.1).
- :mod:`unet_tutorial.weights`: separation borders and the loss weight map of Eq. 2 (§3, Fig. 3).
- :mod:`unet_tutorial.losses`: the weighted cross-entropy of Eq. 1 (§3).
- :mod:`unet_tutorial.config`: training configurations (``paper``, ``cpu``, TOML files).
- :mod:`unet_tutorial.train`: the training step and loop, DDP, the ``train`` command (§3).
- :mod:`unet_tutorial.history`: what happened during a run.
- :mod:`unet_tutorial.checkpoint`: model files, checkpoints, the model cache, atomic writes.
- :mod:`unet_tutorial.inference`: overlap-tile prediction and test-time augmentation (§1, §2, Fig. 2).
- :mod:`unet_tutorial.predict`: image files and the ``predict`` command.
- :mod:`unet_tutorial.baseline`: the per-pixel sliding-window classifier the paper replaces (§1).
- :mod:`unet_tutorial.metrics`: the ISBI 2012 pixel, Rand and warping errors, the IoU (§4).
- :mod:`unet_tutorial.experiments`: recorded experiments, whose records and weights are in ``results/``.
- :mod:`unet_tutorial.exercises`: the chapters' exercises: the package's code, shown, and
  checkers that compare the reader's version with it.
- :mod:`unet_tutorial.plotting`: all figure code.
- :mod:`unet_tutorial.ledger`: the paper's checkable claims, their rules and verdicts;
  :mod:`unet_tutorial.measures`: what the course measures for each.

The one device policy of the package (CUDA, then Apple MPS, then the CPU) is
:func:`select_device`.
"""

from .hardware import select_device

__version__ = "0.1.0"

__all__ = ["select_device", "__version__"]
