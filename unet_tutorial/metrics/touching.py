"""Touching objects: does a prediction keep them apart? (paper §3, Eq. 2, Fig. 3).

The separation borders between touching cells and their large weights in the
loss (§3, Eq. 2, Fig. 3c–d) exist so that touching cells come out as separate
objects. :func:`touching_merges` counts the failures: the pairs of touching
ground-truth objects that the prediction merges into one connected component.
:func:`convex_touching_pairs` keeps the touching pairs that look like two cells
pressed together, not one cell annotated in fragments.
"Touching" has the definition of :func:`unet_tutorial.weights.touching_pairs`
(8-adjacent objects), the one used for the weight maps.

References
----------
.. [1] O. Ronneberger, P. Fischer, T. Brox, "U-Net: Convolutional networks for
       biomedical image segmentation", MICCAI 2015, LNCS 9351, pp. 234–241.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import ndimage as ndi

from .._checks import check_binary, check_instances
from ..weights import touching_pairs
from ._common import C4, C8, MASK_HINT

__all__ = ["TouchingMerges", "touching_merges", "convex_touching_pairs"]


@dataclass(frozen=True)
class TouchingMerges:
    """Which touching ground-truth objects a binary prediction merges.

    Attributes
    ----------
    pairs : ndarray of int, shape (P, 2)
        The ids ``(i, j)``, ``i < j``, of the touching (8-adjacent)
        ground-truth objects, as :func:`unet_tutorial.weights.touching_pairs`
        lists them.
    merged : ndarray of bool, shape (P,)
        True where both objects of the pair lie mostly in the same connected
        component of the prediction.
    component : ndarray of int, shape (max id + 1,)
        For each ground-truth id the label of the predicted component that
        covers most of its pixels (0: the object is entirely missed; index 0
        is unused).
    """

    pairs: np.ndarray
    merged: np.ndarray
    component: np.ndarray

    @property
    def n_pairs(self) -> int:
        """Number of touching pairs in the ground truth."""
        return len(self.pairs)

    @property
    def n_merged(self) -> int:
        """Number of those pairs merged into one predicted component."""
        return int(np.count_nonzero(self.merged))


def touching_merges(pred: np.ndarray, instances: np.ndarray, connectivity: int = 4, *,
                    labelled: bool = False) -> TouchingMerges:
    """For each pair of touching ground-truth objects: does the prediction merge them?

    Label the connected components of the predicted mask (4-connected by
    default, the convention of :func:`unet_tutorial.metrics.rand_error`); give
    every ground-truth object the component covering most of its pixels (ties:
    the lowest label; none when no pixel of the object is predicted); a
    touching pair (8-adjacent objects, :func:`unet_tutorial.weights.touching_pairs`)
    is *merged* when both objects got the same component.

    Parameters
    ----------
    pred : ndarray of bool or {0, 1}, shape (H, W)
        Predicted foreground (1 = object); with ``labelled``, predicted object
        ids (int, 0 = background) used as they are, e.g. from
        :func:`unet_tutorial.inference.predict_instances`, whose objects may touch.
    instances : ndarray of int, shape (H, W)
        Ground-truth instance ids, 0 = background.
    connectivity : {4, 8}, optional
        The connectivity of the predicted components (ignored with ``labelled``).
    labelled : bool, optional
        ``pred`` is a label image: its objects are the components.

    Returns
    -------
    result : TouchingMerges
        ``n_pairs``, ``n_merged``, the pairs and flags.

    Raises
    ------
    ValueError
        A non-binary ``pred`` (without ``labelled``), invalid ``pred`` labels
        (with it), invalid ``instances`` (not 2-D integers >= 0),
        different shapes, or a connectivity other than 4, 8.

    References
    ----------
    .. [1] O. Ronneberger, P. Fischer, T. Brox, "U-Net: Convolutional networks
           for biomedical image segmentation", MICCAI 2015 (§3, Eq. 2, Fig. 3).
    """
    p = check_instances(pred, "pred") if labelled else check_binary(pred, "pred", hint=MASK_HINT)
    inst = check_instances(instances, "instances").astype(np.int64)
    if inst.shape != p.shape:
        raise ValueError(f"pred and instances must have the same shape, got {p.shape} and {inst.shape}")
    if connectivity not in (4, 8):
        raise ValueError(f"connectivity must be 4 or 8, got {connectivity!r}")
    pairs = touching_pairs(inst)  # the same definition of "touching" as Fig. 3c
    if labelled:
        comp = p.astype(np.int64)
        n_comp = int(comp.max())
    else:
        comp, n_comp = ndi.label(p, structure=C4 if connectivity == 4 else C8)
    n_ids = int(inst.max()) + 1
    both = (inst > 0) & (comp > 0)
    # Sparse overlap counts (object id, component) through unique pair keys.
    keys, counts = np.unique(inst[both] * (n_comp + 1) + comp[both], return_counts=True)
    ids, comps = np.divmod(keys, n_comp + 1)
    # Sort by id, then count descending, then component ascending: the first row of
    # each id is its majority component.
    order = np.lexsort((comps, -counts, ids))
    ids, comps = ids[order], comps[order]
    first = np.r_[True, ids[1:] != ids[:-1]] if ids.size else np.zeros(0, bool)
    component = np.zeros(n_ids, dtype=np.int64)
    component[ids[first]] = comps[first]
    a, b = component[pairs[:, 0]], component[pairs[:, 1]]
    return TouchingMerges(pairs=pairs, merged=(a == b) & (a > 0), component=component)


def convex_touching_pairs(instances: np.ndarray, *, min_area: int = 60, min_solidity: float = 0.9,
                          max_union_solidity: float = 0.93) -> np.ndarray:
    """The touching pairs that look like two cells pressed together, as an ``(K, 2)`` array.

    Some annotations split one blob into several fragments; their common borders are not
    borders between cells. A pair of :func:`~unet_tutorial.weights.touching_pairs` is kept
    when each object is convex (solidity, its area over the area of its convex hull, at
    least ``min_solidity``) and not tiny (``min_area`` pixels or more), while the two
    together are not convex (solidity of their union below ``max_union_solidity``): a neck
    where they meet. Chapter 3 picks its example image by this count.

    Args:
        instances: ``(H, W)`` integer ids, 0 = background.
        min_area: smallest object kept, pixels.
        min_solidity: smallest solidity of each object of a pair, in (0, 1].
        max_union_solidity: the union's solidity must lie below it, in (0, 1].

    Returns:
        The kept rows of ``touching_pairs(instances)``, int, shape ``(K, 2)``.

    Raises:
        ValueError: ``instances`` is not an instance image, or a bound is out of range.

    Examples:
        >>> two = np.zeros((20, 30), dtype=np.int32)
        >>> yy, xx = np.mgrid[:20, :30]
        >>> two[(yy - 10) ** 2 + (xx - 9) ** 2 <= 36] = 1
        >>> two[((yy - 10) ** 2 + (xx - 21) ** 2 <= 36) & (two == 0)] = 2
        >>> convex_touching_pairs(two, min_area=20).tolist()  # two discs: a neck
        [[1, 2]]
        >>> halves = np.zeros((20, 30), dtype=np.int32)
        >>> halves[4:16, 4:26] = 1
        >>> halves[4:16, 15:26] = 2
        >>> convex_touching_pairs(halves, min_area=20).tolist()  # one rectangle cut in two
        []
    """
    from skimage.measure import regionprops

    inst = check_instances(instances)
    for name, v in (("min_solidity", min_solidity), ("max_union_solidity", max_union_solidity)):
        if not 0.0 < v <= 1.0:
            raise ValueError(f"{name} must be in (0, 1], got {v!r}")
    if min_area < 1:
        raise ValueError(f"min_area must be a positive number of pixels, got {min_area!r}")
    props = {p.label: p for p in regionprops(inst)}
    pairs = touching_pairs(inst)
    keep = []
    for p, q in pairs:
        a, b = props[p], props[q]
        if min(a.area, b.area) < min_area or min(a.solidity, b.solidity) < min_solidity:
            keep.append(False)
            continue
        union = regionprops(((inst == p) | (inst == q)).astype(np.uint8))[0]
        keep.append(union.solidity < max_union_solidity)
    return pairs[np.array(keep, dtype=bool)] if len(pairs) else pairs
