"""The evaluation metrics of the paper: the ISBI 2012 challenge (§4, Table 1) and the IoU (Table 2).

Every function takes binary cell masks ``(H, W)`` in the ISBI convention
(1 = cell, white in the label images; 0 = membrane / background), checked by
the package's one validator :func:`unet_tutorial._checks.check_binary`: bool,
or integers holding only 0 and 1; anything else (floats, 0/255 labels, NaN,
wrong shapes) raises :class:`ValueError`, so a probability map must be
thresholded explicitly (``prob > 0.5``) and an 8-bit label binarised
(``label > 0``). Every convention follows the challenge's reference code,
Fiji's *Trainable Segmentation* plugin
(``trainableSegmentation/metrics/{PixelError,RandError,WarpingError}.java``).

Modules
-------
- :mod:`.pixel`: the pixel error ``1 − F`` (the leaderboard's, the course's: ``pixel_error``),
  ``1 −`` accuracy for comparison (``pixel_mismatch``), precision / recall, IoU (§4, Table 1; Table 2).
- :mod:`.rand`: the challenge's foreground-restricted Rand error, and
  scikit-image's adapted Rand error for comparison (§4, Table 1).
- :mod:`.warping`: simple points, the topology-preserving warping of the
  challenge's Fiji code, the classification of the remaining mismatches,
  the warping error (§4, Table 1).
- :mod:`.registry`: every metric registered once, beside its definition, under the
  one name the sweep, histories, records and tables use (:data:`METRICS`); the names
  given up (:data:`FORMER_NAMES`) and :func:`current_metric_key`, which reads them.
- :mod:`.sweep`: the challenge protocol, a threshold sweep keeping each
  metric's best, and what the challenge ranked (§4, Table 1).
- :mod:`.touching`: are touching objects kept apart? (§3, Eq. 2, Fig. 3).
- :mod:`.summary`: all errors of one proposal, a markdown table, the mistakes
  as an RGB picture (the Evaluation chapter).
- :mod:`.instances`: instance-level metrics on label images (ids, 0 = background):
  ``match_instances``, ``instance_f1``, ``dsb_score`` (the Data Science Bowl 2018
  score), ``seg_score`` (the Cell Tracking Challenge's SEG, Table 2).

Figures live in :mod:`unet_tutorial.plotting` (:func:`unet_tutorial.plotting.plot_mistakes`);
the numerical modules here import no plotting library.

References
----------
.. [1] O. Ronneberger, P. Fischer, T. Brox, "U-Net: Convolutional networks for
       biomedical image segmentation", MICCAI 2015, LNCS 9351, pp. 234–241.
.. [2] I. Arganda-Carreras et al., "Crowdsourcing the creation of image
       segmentation algorithms for connectomics", Frontiers in Neuroanatomy 9:142,
       2015. doi:10.3389/fnana.2015.00142
"""

from __future__ import annotations

# Private, re-exported for tests/test_metrics.py.
from ._graph import articulation_pixels as articulation_pixels
from .instances import DSB_THRESHOLDS, InstanceMatch, dsb_score, instance_f1, match_instances, seg_score
from .pixel import PixelScores, class_iou, iou, pixel_error, pixel_mismatch, pixel_scores
from .registry import (
    FORMER_NAMES,
    METRIC_KEY_SUFFIXES,
    METRICS,
    Metric,
    Thresholded,
    current_metric_key,
    get_metric,
    register_metric,
    sweep_metric_names,
)
from .rand import RandScores, rand_error, rand_scores, skimage_adapted_rand_error
from .summary import COURSE_METRICS, MISMATCH_COLORS, error_summary, mismatch_rgb, summary_table
from .sweep import (
    CHALLENGE_RADIUS,
    CHALLENGE_THRESHOLDS,
    SWEEP_METRICS,
    SweepResult,
    threshold_sweep,
)
from .touching import TouchingMerges, convex_touching_pairs, touching_merges
from .warping import (
    MismatchType,
    WarpingResult,
    simple_point_table,
    warping_details,
    warping_error,
)

__all__ = [
    # pixel
    "pixel_error",
    "pixel_mismatch",
    "PixelScores",
    "pixel_scores",
    "iou",
    "class_iou",
    # rand
    "RandScores",
    "rand_scores",
    "rand_error",
    "skimage_adapted_rand_error",
    # warping
    "MismatchType",
    "WarpingResult",
    "warping_details",
    "warping_error",
    "simple_point_table",
    # registry
    "METRICS",
    "Metric",
    "Thresholded",
    "register_metric",
    "get_metric",
    "sweep_metric_names",
    "FORMER_NAMES",
    "METRIC_KEY_SUFFIXES",
    "current_metric_key",
    # sweep
    "CHALLENGE_THRESHOLDS",
    "CHALLENGE_RADIUS",
    "SWEEP_METRICS",
    "SweepResult",
    "threshold_sweep",
    # touching
    "TouchingMerges",
    "touching_merges",
    "convex_touching_pairs",
    # summary
    "COURSE_METRICS",
    "error_summary",
    "summary_table",
    "MISMATCH_COLORS",
    "mismatch_rgb",
    # instances
    "DSB_THRESHOLDS",
    "InstanceMatch",
    "match_instances",
    "instance_f1",
    "dsb_score",
    "seg_score",
]
