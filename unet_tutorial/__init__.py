"""Helper package of the U-Net course: one module per idea of the paper.

- :mod:`unet_tutorial.model`: the network of Fig. 1 and its size arithmetic (§2).
"""

__version__ = "0.1.0"
