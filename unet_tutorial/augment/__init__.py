"""Data augmentation of the U-Net paper (§3.1): elastic deformations and friends.

With very few annotated images (30 for ISBI 2012), the paper teaches the network
the invariances it needs by augmentation: shift and rotation invariance,
robustness to deformations and to gray-value variations. Random *elastic*
deformations are "the key concept to train a segmentation network with very few
annotated images": displacement vectors on a coarse 3×3 grid, drawn from a
Gaussian with 10 px standard deviation, interpolated bicubically to a smooth
per-pixel displacement field. (The paper's further, implicit augmentation, the
drop-out layers at the end of the contracting path, is part of
:class:`unet_tutorial.model.UNet`.)

Modules (every public name is exported here, so chapters write
``from unet_tutorial.augment import ...``):

- :mod:`.elastic`: the elastic deformation of §3.1 as functions:
  :func:`elastic_displacement` (the random field, for figures),
  :func:`apply_displacement` (resample an image/label with a given field) and
  :func:`elastic_deform` (both in one call), with the resampling helpers
  (bicubic field on the control grid, mirror padding, ``grid_sample``). They
  accept numpy ``(H, W)`` / ``(C, H, W)`` arrays or torch tensors
  ``(N, C, H, W)`` on any device (every sample its own field) and return the
  same type.
- :mod:`.transforms`: the composable, seeded transforms for training, callables
  ``t(image, label, weight, rng) -> (image, label, weight)`` on numpy arrays
  (image ``(H, W)`` or ``(C, H, W)``, label and weight ``(H, W)`` or ``None``):
  :class:`Compose`, :class:`ElasticDeform`, :class:`RandomFlip`,
  :class:`RandomRot90`, :class:`RandomRotation`, :class:`RandomShift`,
  :class:`GrayValue`; :func:`paper_augmentation` returns the default used in
  the course, :func:`flips_augmentation` only the exact symmetries; every
  training augmentation is registered by name in :data:`AUGMENTATIONS`
  (:func:`augmentation` looks one up; ``TrainConfig.augment`` accepts exactly these names).
- :mod:`._common`: the input checks shared by both (numbers are checked by
  :mod:`unet_tutorial._checks`).

Conventions: displacements are in pixels, channel 0 is the row (y) and channel 1
the column (x) displacement; the output pixel ``(y, x)`` takes the input value at
``(y + dy, x + dx)``. Images are interpolated smoothly, labels (and weight maps)
by nearest neighbour so that label values stay in the label set (instance ids
stay ids). Beyond the image border the input is mirrored (reflection about the
edge pixels), as in the overlap-tile strategy (§2, Fig. 2).
"""

from __future__ import annotations

from .elastic import (  # noqa: F401  (the helpers of elastic_deform are used by the tests)
    ElasticField,
    dense_field,
    grid_from_control,
    grid_from_field,
    field_margin,
    resample,
    apply_displacement,
    elastic_deform,
    elastic_displacement,
)
from .transforms import (  # noqa: F401  (affine_field is used by the tests)
    Compose,
    ElasticDeform,
    GrayValue,
    RandomFlip,
    RandomRot90,
    RandomRotation,
    RandomShift,
    Transform,
    affine_field,
    flips_augmentation,
    paper_augmentation,
    elastic_augmentation,
    AUGMENTATIONS,
    augmentation,
)

__all__ = [
    # elastic
    "ElasticField",
    "elastic_displacement",
    "dense_field",
    "apply_displacement",
    "elastic_deform",
    # transforms
    "Transform",
    "Compose",
    "ElasticDeform",
    "RandomFlip",
    "RandomRot90",
    "RandomRotation",
    "RandomShift",
    "GrayValue",
    "paper_augmentation",
    "flips_augmentation",
    "elastic_augmentation",
    "AUGMENTATIONS",
    "augmentation",
]
