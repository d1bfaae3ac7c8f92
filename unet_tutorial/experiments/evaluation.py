"""How an experiment's data is split and its models evaluated.

One :class:`DataProtocol` per data set: its :class:`~unet_tutorial.data.Split` (from the
data registry, :data:`unet_tutorial.data.DATASETS`), the evaluation of a model on it,
and optionally a classical baseline scored the same way.

- ISBI 2012: Table 1's protocol (TTA, the 10-threshold sweep, leaderboard conventions);
- PhC-U373: Table 2's SEG of the separated objects against the gold truth;
- DSB 2018: object-level scores of :func:`~unet_tutorial.inference.predict_instances`
  at the threshold chosen on a validation part, and the Otsu baseline.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Mapping, Sequence

import numpy as np
import torch

from ..model import UNet
from ..inference import objects_from
from ..protocol import model_protocol

__all__ = ["evaluate_isbi2012", "evaluate_ctc", "evaluate_dsb2018", "nuclei_metrics", "choose_threshold", "THRESHOLD_SCORES", "DataProtocol", "DATA",
           "DSB_THRESHOLD_SWEEP", "PER_SLICE_METRICS"]

# --------------------------------------------------------------------------
# Data and evaluation
# --------------------------------------------------------------------------


def evaluate_isbi2012(model: UNet, images: Sequence[np.ndarray], labels: Sequence[np.ndarray], *,
                      tta: bool = True, device: str | torch.device | None = None,
                      threshold_images: Sequence[np.ndarray] | None = None,
                      threshold_labels: Sequence[np.ndarray] | None = None) -> dict[str, float]:
    """The Table 1 protocol on held-out slices: TTA, the challenge's 10 thresholds, each metric's best.

    The probability of "cell" (overlap-tile, averaged over the 8 flips/rotations
    when ``tta``) is thresholded at 0.0, 0.1, …, 0.9; counts are pooled over the
    slices; each error keeps its best threshold (§4; the conventions: :mod:`unet_tutorial.metrics`).
    With validation slices (``threshold_images``, ``threshold_labels``), each
    error's threshold is instead the best of the 10 *on the validation slices*,
    and the held-out slices are scored at it: an error that no threshold chosen
    on the scored images can flatter (the challenge's best-of-10 is then kept as
    ``<name>_oracle``, the validation slices' own error as ``<name>_validation``: what
    a choice between runs may read without touching the held-out slices).

    Args:
        model: the network; images: float ``(H, W)`` slices in [0, 1];
            labels: their ``(H, W)`` labels, 1 = cell.

    Returns:
        Under the metric registry's names (:data:`~unet_tutorial.metrics.SWEEP_METRICS`):
        the leaderboard's conventions ``warping_splits_merges`` (splits and
        merges per pixel), ``rand`` (foreground-restricted Rand error),
        ``pixel_error`` (1 − F of the cell pixels), the others ``pixel_mismatch``
        (1 − accuracy) and ``warping`` (Jain's, all mismatches), and for each
        ``<name>_threshold``; ``cell_fraction``: the fraction of held-out pixels
        predicted "cell" at probability 0.5 (what the network predicts: near 1
        for a network that collapsed to "cell everywhere"; the labels' own
        fraction is ``cell_fraction_truth``); and for the leaderboard's three
        (:data:`PER_SLICE_METRICS`) each held-out slice's own error at that
        metric's threshold, ``<name>_image0``, ``_image1``, ... (in the order of
        ``images``): the spread of a one-run record over slices.
    """
    from ..metrics import SWEEP_METRICS, threshold_sweep

    def sweep(imgs, labs, thresholds=None):
        prob = np.stack(_probabilities(model, imgs, tta=tta, device=device))
        truth = np.stack([np.asarray(lab) == 1 for lab in labs])
        fractions = {"cell_fraction": float((prob > 0.5).mean()), "cell_fraction_truth": float(truth.mean())}
        return threshold_sweep(prob, truth, thresholds, metrics=SWEEP_METRICS, progress=False), fractions, prob, truth

    held, fractions, prob, truth = sweep(images, labels)
    if not threshold_images:
        out = {m: float(held.best[m]) for m in SWEEP_METRICS}
        out.update({f"{m}_threshold": float(held.best_threshold[m]) for m in SWEEP_METRICS})
        out.update(fractions)
    else:
        if threshold_labels is None or len(threshold_labels) != len(threshold_images):
            raise ValueError("threshold_labels must give one label image per validation slice")
        val = sweep(threshold_images, threshold_labels)[0]
        chosen = val.best_threshold
        out = dict(fractions)
        for m in SWEEP_METRICS:
            k = int(np.argmin(np.abs(np.asarray(held.thresholds) - chosen[m])))
            out[m] = float(held.values[m][k])
            out[f"{m}_threshold"] = float(chosen[m])
            out[f"{m}_oracle"] = float(held.best[m])
            out[f"{m}_validation"] = float(val.best[m])  # what chose it: for choosing between runs, too
    for m in PER_SLICE_METRICS:  # each slice alone, at the threshold the pooled score used
        for k in range(len(prob)):
            one = threshold_sweep(prob[k], truth[k], [out[f"{m}_threshold"]], metrics=(m,), progress=False)
            out[f"{m}_image{k}"] = float(one.values[m][0])
    return out


#: The errors of Table 1 that :func:`evaluate_isbi2012` also gives slice by slice (``rand_image0``, ...).
PER_SLICE_METRICS: tuple[str, ...] = ("rand", "warping_splits_merges", "pixel_error")


def evaluate_ctc(model: UNet, images: Sequence[np.ndarray], instances: Sequence[np.ndarray], *,
                 tta: bool = True, device: str | torch.device | None = None,
                 frames: Sequence[int] | None = None,
                 threshold_images: Sequence[np.ndarray] | None = None,
                 threshold_instances: Sequence[np.ndarray] | None = None,
                 thresholds: Sequence[float] | None = None) -> dict[str, float]:
    """Table 2's measure on held-out frames: SEG of the separated objects, and the foreground IoU.

    Objects come from :func:`unet_tutorial.inference.instances_from_probability` of the
    overlap-tile probability (the default speck size, TTA over the 8 flips/rotations when
    ``tta``) at the threshold with the best SEG on ``threshold_images`` (validation
    frames, :func:`choose_threshold`; recorded as ``threshold``), else at the model's
    own threshold or 0.5. ``seg`` pools
    the per-object scores of all frames, as the challenge does; ``iou`` is the mean over
    frames of the foreground IoU (predicted objects vs labelled cells: unlabelled cells of
    a partial annotation count against it); ``seg_frameNNN``/``iou_frameNNN`` per frame.
    """
    from ..inference import instances_from_probability
    from ..metrics import iou, seg_score

    threshold = _threshold_for(model, threshold_images, threshold_instances, "seg", tta=tta, device=device,
                               thresholds=thresholds)
    out: dict[str, float] = {}
    per_object, ious = [], []
    for k, (prob, truth) in enumerate(zip(_probabilities(model, images, tta=tta, device=device), instances)):
        pred = instances_from_probability(prob, threshold)
        scores = seg_score(pred, truth, per_object=True)
        per_object.append(scores)
        ious.append(iou(pred > 0, np.asarray(truth) > 0))
        tag = f"frame{frames[k]:03d}" if frames is not None else f"image{k}"
        out[f"seg_{tag}"], out[f"iou_{tag}"] = float(scores.mean()), float(ious[-1])
    out["seg"] = float(np.concatenate(per_object).mean())
    out["iou"] = float(np.mean(ious))
    if threshold_images:
        out["threshold"] = float(threshold)
    return out


#: Foreground thresholds tried on a validation part (DSB 2018, the cell tracking data): each run keeps its best.
DSB_THRESHOLD_SWEEP = (0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9)


def nuclei_metrics(preds: Sequence[np.ndarray], truths: Sequence[np.ndarray], *,
                   per_image: bool = False) -> dict[str, float]:
    """Object-level scores of instance predictions against instance labels (DSB 2018 conventions).

    Args:
        preds, truths: int ``(H, W)`` label images (0 = background), pairwise the same shape.
        per_image: also give each image's DSB score, ``dsb_image0``, ``dsb_image1``, ...
            (the spread of a one-run record over images).

    Returns:
        ``dsb`` (:func:`~unet_tutorial.metrics.dsb_score`, mean over images), ``f1``
        (F1 at IoU 0.5 of the counts pooled over images), ``merged`` (fraction of the
        touching true pairs merged into one predicted object, pooled;
        :func:`~unet_tutorial.metrics.touching_merges`), ``missed`` (fraction of the
        true nuclei without any predicted pixel, pooled), ``iou`` (foreground IoU, mean
        over images), and the counts ``pairs``, ``nuclei``.
    """
    from ..metrics import dsb_score, iou, match_instances, touching_merges

    if len(preds) != len(truths) or not preds:
        raise ValueError(f"need as many predictions as labels (>= 1), got {len(preds)} and {len(truths)}")
    dsb, ious, tp, fp, fn, pairs, merged, nuclei, missed = [], [], 0, 0, 0, 0, 0, 0, 0
    for pred, truth in zip(preds, truths):
        dsb.append(dsb_score(pred, truth))
        ious.append(iou(pred > 0, truth > 0))
        m = match_instances(pred, truth, 0.5)
        tp, fp, fn = tp + m.tp, fp + m.fp, fn + m.fn
        t = touching_merges(pred, truth, labelled=True)
        pairs, merged = pairs + t.n_pairs, merged + t.n_merged
        present = np.unique(truth[truth > 0])
        nuclei, missed = nuclei + present.size, missed + int(np.count_nonzero(t.component[present] == 0))
    out = {"dsb": float(np.mean(dsb)), "f1": 2 * tp / max(2 * tp + fp + fn, 1),
           "merged": merged / max(pairs, 1), "missed": missed / max(nuclei, 1), "iou": float(np.mean(ious)),
           "pairs": float(pairs), "nuclei": float(nuclei)}
    if per_image:
        out.update({f"dsb_image{k}": float(v) for k, v in enumerate(dsb)})
    return out


#: The instance metrics :func:`choose_threshold` can maximise (registered with ``objects`` in
#: :mod:`unet_tutorial.metrics.registry`): the mean DSB score over images, SEG pooled over objects.
THRESHOLD_SCORES: tuple[str, ...] = ("dsb", "seg")


def choose_threshold(probs: Sequence[np.ndarray], instances: Sequence[np.ndarray],
                     thresholds: Sequence[float] = DSB_THRESHOLD_SWEEP, *, score: str = "dsb") -> float:
    """The foreground threshold whose objects score best on validation images.

    Args:
        probs: foreground probabilities ``(H, W)`` in [0, 1] of validation images.
        instances: their true instance labels ``(H, W)``.
        thresholds: the candidates; ties go to the one nearest 0.5, then the lower.
        score: the name of a registered instance metric: ``"dsb"`` (mean DSB score,
            DSB 2018), ``"seg"`` (SEG pooled over the objects, the cell tracking
            challenge), or any metric registered with ``objects``.

    Returns:
        The chosen threshold (objects by
        :func:`~unet_tutorial.inference.instances_from_probability`).
    """
    from ..inference import instances_from_probability

    if not len(thresholds):
        raise ValueError("thresholds is empty: give at least one candidate")
    from ..metrics import METRICS

    if score not in METRICS or METRICS[score].objects is None:
        known = sorted(m.name for m in METRICS.values() if m.objects is not None)
        raise ValueError(f"score must be a registered instance metric ({', '.join(known)}), got {score!r}")
    metric = METRICS[score]
    sign = -1.0 if metric.lower_is_better else 1.0
    scores = {float(t): sign * metric.objects([instances_from_probability(p, t) for p in probs], instances)
              for t in thresholds}
    return _best(scores)


def _best(scores: Mapping[float, float]) -> float:
    """The threshold of the highest score; ties go to the one nearest 0.5, then the lower."""
    return max(scores, key=lambda t: (scores[t], -abs(t - 0.5), -t))


def _class_probabilities(model: UNet, images: Sequence[np.ndarray], *, tta: bool,
                         device: str | torch.device | None) -> list[np.ndarray]:
    """Overlap-tile class probabilities ``(K, H, W)`` of ``images`` (their tiles batched together)."""
    from ..inference import predict_tiled_many

    return list(predict_tiled_many(model, list(images), tta=tta, device=device))


def _probabilities(model: UNet, images: Sequence[np.ndarray], *, tta: bool,
                   device: str | torch.device | None) -> list[np.ndarray]:
    """The foreground probabilities ``(H, W)`` (class 1) of :func:`_class_probabilities`."""
    return [p[1] for p in _class_probabilities(model, images, tta=tta, device=device)]


def _threshold_for(model: UNet, images, instances, score: str, *, tta: bool, device,
                   thresholds: Sequence[float] | None = None) -> float:
    """The threshold chosen on validation ``images`` (if any), else the model's own, else 0.5."""
    if images:
        probs = _probabilities(model, images, tta=tta, device=device)
        return choose_threshold(probs, instances, thresholds or DSB_THRESHOLD_SWEEP, score=score)
    return _own_threshold(model)


def _own_threshold(model: UNet) -> float:
    """The threshold saved with the model (its protocol), else 0.5: when there are no validation images."""
    own = model_protocol(model).threshold
    return 0.5 if own is None else float(own)


def evaluate_dsb2018(model: UNet, images: Sequence[np.ndarray], instances: Sequence[np.ndarray], *,
                     tta: bool = False, device: str | torch.device | None = None,
                     threshold_images: Sequence[np.ndarray] | None = None,
                     threshold_instances: Sequence[np.ndarray] | None = None,
                     thresholds: Sequence[float] = DSB_THRESHOLD_SWEEP) -> dict[str, float]:
    """Nuclei scores of :func:`~unet_tutorial.inference.predict_instances` at thresholds chosen beforehand.

    Two thresholds are chosen on ``threshold_images`` (a validation part, never the
    evaluated images) among ``thresholds``: the one of the best mean DSB score (the
    competition's choice) and the one of the best foreground IoU (each model at its
    best masks, so that a loss cannot merge fewer touching pairs merely by drawing
    smaller nuclei: the comparison "at matched foreground IoU" of
    ``dsb2018-border-weights``). Without validation images both are the model's own
    threshold (``model.protocol.threshold``) or 0.5.

    Returns:
        :func:`nuclei_metrics`' scores at the DSB-chosen ``threshold``; the same scores
        at ``threshold_iou`` with the suffix ``_at_iou`` (``merged_at_iou``, ...); and
        the validation sweep, ``val_<dsb|iou|merged>@<threshold>`` (e.g. ``val_iou@0.5``),
        which shows how each score moves with the threshold.
    """
    objects = objects_from(model)
    sweep: dict[float, dict[str, float]] = {}
    if threshold_images:
        if threshold_instances is None or len(threshold_instances) != len(threshold_images):
            raise ValueError("threshold_instances must give one instance label per threshold image")
        if not len(thresholds):
            raise ValueError("thresholds is empty: give at least one candidate")
        val = _class_probabilities(model, threshold_images, tta=tta, device=device)
        sweep = {float(t): nuclei_metrics([objects(p, t) for p in val], threshold_instances)
                 for t in thresholds}
        threshold = _best({t: m["dsb"] for t, m in sweep.items()})
        matched = _best({t: m["iou"] for t, m in sweep.items()})
    else:
        threshold = matched = _own_threshold(model)
    probs = _class_probabilities(model, images, tta=tta, device=device)
    out = {**nuclei_metrics([objects(p, threshold) for p in probs], instances, per_image=True),
           "threshold": float(threshold)}
    at_iou = out if matched == threshold else nuclei_metrics([objects(p, matched) for p in probs], instances)
    out.update({f"{k}_at_iou": at_iou[k] for k in ("dsb", "f1", "merged", "missed", "iou")})
    out["threshold_iou"] = float(matched)
    out.update({f"val_{k}@{t:g}": m[k] for t, m in sweep.items() for k in ("dsb", "iou", "merged")})
    return out


def _otsu_baseline(split) -> dict[str, float]:
    """:func:`unet_tutorial.baseline.otsu_instances` on the held-out images, scored like the models."""
    from ..baseline import otsu_instances

    return nuclei_metrics([otsu_instances(im) for im in split.held_out.images], list(split.held_out.instances),
                          per_image=True)


@dataclass(frozen=True)
class DataProtocol:
    """A data set's evaluation and (optional) classical baseline, for the experiments.

    Attributes:
        dataset: the name of its data set in :data:`unet_tutorial.data.DATASETS` (whose
            ``split(train_ids, held_out, validation)`` gives the :class:`~unet_tutorial.data.Split`).
        evaluate: ``(model, split, *, tta, device) → metrics`` on the held-out part of ``split``
            (thresholds chosen on its validation part, if any).
        protocol: the name of the evaluation protocol (for the record).
        baseline: ``split → metrics`` of a method without training, scored the same way.
        baseline_name: what that method is, in a few words (for tables).
    """

    dataset: str
    evaluate: Callable[..., dict[str, float]]
    protocol: str
    baseline: Callable[[Any], dict[str, float]] | None = None
    baseline_name: str = ""

    def split(self, train_ids, held_out, validation=()):
        """The :class:`~unet_tutorial.data.Split` of these ids (see :func:`unet_tutorial.data.make_split`)."""
        from ..data import make_split

        return make_split(self.dataset, tuple(train_ids), tuple(held_out), tuple(validation))


def _isbi(m, split, **kw) -> dict[str, float]:
    val = split.validation
    return evaluate_isbi2012(m, split.held_out.images, split.held_out.masks,
                             threshold_images=val.images if val else None,
                             threshold_labels=val.masks if val else None, **kw)


def _ctc(m, split, **kw) -> dict[str, float]:
    val = split.validation
    # per-frame keys as recorded: seg_image0, ... (the records name frames by position)
    return evaluate_ctc(m, split.held_out.images, split.held_out.instances,
                        threshold_images=val.images if val else None,
                        threshold_instances=val.instances if val else None, **kw)


def _dsb(m, split, **kw) -> dict[str, float]:
    val = split.validation
    return evaluate_dsb2018(m, split.held_out.images, split.held_out.instances,
                            threshold_images=val.images if val else None,
                            threshold_instances=val.instances if val else None, **kw)


DATA: dict[str, DataProtocol] = {
    "isbi2012": DataProtocol("isbi2012", _isbi, "isbi2012-table1"),
    # PhC-U373 sequence 02: scored against the gold truth of the held-out frames
    "ctc-u373": DataProtocol("ctc-u373", _ctc, "ctc-u373-seg"),
    # the same held-out frames and scoring; trained on the gold frames alone
    "ctc-u373-gold": DataProtocol("ctc-u373-gold", _ctc, "ctc-u373-seg"),
    # DIC-HeLa: no public gold truth, so scored against the silver truth (the record says so)
    "ctc-hela": DataProtocol("ctc-hela", _ctc, "ctc-hela-seg-silver"),
    "dsb2018": DataProtocol("dsb2018", _dsb, "dsb2018-instances", _otsu_baseline,
                            "Otsu threshold + connected components (otsu_instances)"),
}


def crop_for_smoke(split):
    """A tiny version of a split for the smoke test: its first 4 training images, and a 96 px window
    of one held-out image, on a cell (the same crop stands in for the validation part)."""
    from ..data import Samples, Split

    held = split.held_out
    lab = np.asarray(held.masks[0])
    ys, xs = np.nonzero(lab)
    y0 = int(min(max(ys[0] - 48, 0), max(lab.shape[0] - 96, 0))) if ys.size else 0
    x0 = int(min(max(xs[0] - 48, 0), max(lab.shape[1] - 96, 0))) if xs.size else 0
    win = (slice(y0, y0 + 96), slice(x0, x0 + 96))
    small = Samples((held.images[0][..., win[0], win[1]],), (lab[win],),
                    None if held.instances is None else (held.instances[0][win],), held.ids[:1], held.name,
                    held.num_classes)
    train = split.train.select(list(split.train.ids[:4]))
    validation = None
    if split.validation is not None:  # the held-out crop, under another id
        validation = Samples(small.images, small.masks, small.instances, ("smoke-validation",), held.name,
                             held.num_classes)
    return Split(train, small, validation, split.name, split.detail)
