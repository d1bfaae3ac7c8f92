"""Helper package of the U-Net course: one module per idea of the paper.

- :mod:`unet_tutorial.model`: the network of Fig. 1 and its size arithmetic (§2).
- :mod:`unet_tutorial.data`: ISBI 2012 and DSB 2018 loaders, synthetic data, training tiles (§3, §4).
- :mod:`unet_tutorial.augment`: elastic deformation and other augmentations (§3.1).
- :mod:`unet_tutorial.weights`: separation borders and the loss weight map of Eq. 2 (§3, Fig. 3).
- :mod:`unet_tutorial.train`: the weighted cross-entropy of Eq. 1, SGD, checkpoints, DDP (§3).
- :mod:`unet_tutorial.inference`: overlap-tile prediction and test-time augmentation (§1, §2, Fig. 2).
- :mod:`unet_tutorial.metrics`: the ISBI 2012 pixel, Rand and warping errors and the IoU (§4).
- :mod:`unet_tutorial.plotting`: small plotting helpers shared by the chapters.
"""

__version__ = "0.1.0"
