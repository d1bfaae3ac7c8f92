"""The measures of the claims ledger: each returns what the course measures for one claim.

Every function here takes no argument and returns a :class:`Measured`: the value a
rule of :mod:`unet_tutorial.ledger` compares (a number, a tuple, a bool) and the text
the ledger shows, with its provenance where the value comes from a record in
``results/``. The measures are cheap (seconds all together on 2 cores, apart from
loading data): size arithmetic, initialisation statistics, default parameters, small
deterministic computations, and numbers read from committed records. They train
nothing and time nothing: timings come from records (``results/speed-512``).

Values at the level of float rounding (the tiling checks) are shown as a bound, not as
digits, so that the claims page is the same on every machine.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any

__all__ = ["Measured", "MEASURES"]

#: The ISBI 2012 slice of the seamless check (a held-out slice of the reference model).
_SEAMLESS_SLICE = 25
#: Float rounding of float32 forward passes: below this, "equal".
FLOAT_NOISE = 1e-4


@dataclass(frozen=True)
class Measured:
    """A measured value and how the ledger shows it.

    Attributes:
        value: what the claim's rule compares; ``None`` when the measure found the
            claim's setting absent (every comparing rule then says "not reproduced").
        text: the value formatted for the reader, with its provenance where it comes
            from a record, e.g. ``"0.0471 (isbi2012-reference, held-out slices 25–29, 1 − max F)"``.

    Example:
        >>> Measured(388, "388×388").text
        '388×388'
    """

    value: Any
    text: str


# --------------------------------------------------------------------------
# Shared inputs (computed once per process)
# --------------------------------------------------------------------------


@functools.lru_cache(maxsize=1)
def _paper_net():
    """The paper's network, ``UNet()``, He-initialised from seed 0 (the global RNG is left untouched)."""
    import torch

    from .model import UNet

    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        return UNet().eval()


@functools.lru_cache(maxsize=1)
def _isbi_train():
    """The 30 labelled ISBI 2012 slices (:class:`~unet_tutorial.data.Samples`), read once."""
    from .data import load_isbi2012

    return load_isbi2012()


@functools.lru_cache(maxsize=None)
def _record(name: str) -> dict:
    from .experiments import load_record

    return load_record(name)


def _span(ids) -> str:
    """``"25–29"`` for consecutive numbers, else ``"85, 92, 106, 112"``."""
    ids = list(ids)
    if len(ids) > 2 and ids == list(range(ids[0], ids[-1] + 1)):
        return f"{ids[0]}–{ids[-1]}"
    return ", ".join(map(str, ids))


def _bound(value: float, bound: float = FLOAT_NOISE) -> str:
    """A float-rounding difference shown as a bound (the same text on every machine)."""
    return f"< {bound:g}" if value < bound else f"= {value:.1e}"


# --------------------------------------------------------------------------
# Chapter 1: the architecture
# --------------------------------------------------------------------------


def _why_u(arm: str) -> Measured:
    """``isbi2012-why-u``: held-out Rand error (``arm``) − (U-Net), paired by seed, with its 95 % interval."""
    import numpy as np

    from .experiments import comparison_to, interval_text

    rec = _record("isbi2012-why-u")
    d = next(r for r in comparison_to(rec, "unet") if r["arm"] == arm)["rand"]["difference"]
    minutes = np.mean([r["train_seconds"] for r in rec["runs"].values()]) / 60
    return Measured((d["mean"], d["low"], d["high"]),
                    f"Rand error ({arm}) − (unet) = {interval_text(d)} (isbi2012-why-u: {d['n']} paired seeds, "
                    f"{minutes:.1f} min of training per run, thresholds chosen on slice 24)")


def why_u_skips() -> Measured:
    return _why_u("no-skip")


def why_u_fcn() -> Measured:
    return _why_u("fcn")


def why_u_window() -> Measured:
    return _why_u("ciresan-n4")


def tile_output() -> Measured:
    n = _paper_net().output_size(572)
    return Measured(n, f"{n}×{n}")


def conv_layers() -> Measured:
    n = _paper_net().num_conv_layers
    return Measured(n, str(n))


def border() -> Measured:
    b = _paper_net().border
    return Measured(b, f"{b} px")


def tiling_rule() -> Measured:
    """Valid sizes of the paper's network, and a crop at a multiple of 16 px against the whole image."""
    import torch

    from .model import UNet, valid_input_sizes

    sizes = valid_input_sizes(4, "valid", stop=400)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        net = UNet(base_channels=8, dropout=0.0).eval()
        image = torch.rand(1, 1, 316, 316)  # 316 and 252 are valid sizes, the offset 32 = 2 · 16
    crop = image[..., 32:32 + 252, 32:32 + 252]
    with torch.no_grad():
        full, part = net(image), net(crop)
    diff = float((full[..., 32:32 + part.shape[-2], 32:32 + part.shape[-1]] - part).abs().max())
    step = sizes[1] - sizes[0]
    return Measured(diff, f"valid sizes {sizes[0]}, {sizes[1]}, {sizes[2]}, … (every {step} px); a crop at a "
                          f"multiple of {step} px matches the whole image (max |Δ| {_bound(diff)})")


def he_init() -> Measured:
    """Standard deviation of the second 3×3 convolution of level 0 (64 → 64 channels)."""
    from .model import UNet

    conv = _paper_net().inc[2]
    n_in = UNet.fan_in(conv)
    std = float(conv.weight.detach().std())
    return Measured(std, f"std {std:.4f} for N = {n_in} (UNet(), seed 0)")


# --------------------------------------------------------------------------
# Chapter 2: data and augmentation
# --------------------------------------------------------------------------


def deform_grid() -> Measured:
    """Spread of the control displacements of the course's default (paper) augmentation."""
    import numpy as np

    from .augment import ElasticDeform, elastic_displacement, paper_augmentation

    deform = next(t for t in paper_augmentation().transforms if isinstance(t, ElasticDeform))
    draws = np.stack([elastic_displacement((9, 9), deform.grid, deform.sigma, rng=np.random.default_rng(s)).control
                      for s in range(1000)])
    std = float(draws.std())
    paper_like = deform.grid == 3 and deform.interpolation == "bicubic"
    return Measured(std if paper_like else None,
                    f"{deform.grid}×{deform.grid} grid, control std {std:.2f} px over {len(draws)} draws, "
                    f"{deform.interpolation} field")


def isbi_train_size() -> Measured:
    slices = _isbi_train()
    shape = (len(slices), *slices.images[0].shape)  # all slices are one size (one stack)
    return Measured(shape, f"{shape[0]} images, {shape[1]}×{shape[2]}")


# --------------------------------------------------------------------------
# Chapter 3: weight maps
# --------------------------------------------------------------------------


#: Chapter 3's DSB 2018 image: of the first 50, the gray one of at most 360×360 px with
#: the most touching pairs of nuclei (56); the chapter finds it, the ledger names it.
W0_SIGMA_IMAGE = "0402a81e75262469925ea893b6706183832e85324f7b1e08e634129f5d522cdd"


def w0_sigma() -> Measured:
    """The paper configuration's w0 and σ, and the weight they give on a DSB 2018 separation border
    (of :data:`W0_SIGMA_IMAGE`, chapter 3's image)."""
    from .config import get_config
    from .data import load_dsb2018
    from .weights import balanced_class_weights, border_weight_map

    cfg = get_config("paper")
    nuclei = load_dsb2018(ids=[W0_SIGMA_IMAGE])
    instances = nuclei.instances[0]
    w_bg, _ = balanced_class_weights(nuclei.masks[0])  # the separation mask of the instances
    weights = border_weight_map(instances, w0=cfg.w0, sigma=cfg.sigma)
    return Measured((cfg.w0, cfg.sigma), f"w0 = {cfg.w0:g}, σ = {cfg.sigma:g} px: {weights.max():.2f} on a 2-px "
                                         f"border between DSB 2018 nuclei (w_c = {w_bg:.2f})")


# --------------------------------------------------------------------------
# Chapter 4: training
# --------------------------------------------------------------------------


def momentum() -> Measured:
    """Does SGD with momentum 0.99 and one tile per step (§3) train the network at some learning rate,
    as far as Adam at equal steps? The registered verdict of ``isbi2012-optimiser``
    (:func:`~unet_tutorial.experiments.optimiser_outcome`), each rate's outcome in the text."""
    from .experiments import interval_text, optimiser_outcome

    rec = _record("isbi2012-optimiser")
    out = optimiser_outcome(rec)
    parts = []
    for arm in rec["arms"]:
        runs = [o for o in out["outcomes"] if o["arm"] == arm]
        kinds = {o["outcome"] for o in runs}
        if kinds == {"diverged"}:
            what = "diverged (steps " + ", ".join(str(o["step"]) for o in runs) + ")"
        elif kinds == {"collapsed"}:
            what = "collapsed to one class"
        else:
            what = "Rand " + ", ".join(f"{o['metrics']['rand']:.3f}" if o["metrics"] else o["outcome"] for o in runs)
        parts.append(f"{arm}: {what}")
    steps = max(r["steps"] for r in rec["runs"].values())
    best = (f"; best SGD rate on the validation slice {out['best']}: held-out Rand error − Adam's "
            f"{interval_text(out['difference'])}" if out["best"] else "; no SGD rate trained in every seed")
    return Measured(out["verdict"], f"isbi2012-optimiser, {len(rec['seeds'])} paired seeds × {steps:,} steps: "
                    + "; ".join(parts) + best)


def few_images() -> Measured:
    """With 2 training slices: held-out Rand error (rigid + elastic) − (rigid), paired by seed, and its
    95 % interval; ``None`` when the unaugmented 2-slice arm does not overfit in every seed (the
    registered precondition: without it a regulariser has nothing to do, and the claim is not tested)."""
    from .experiments import overfitting, paired_difference

    few = _record("isbi2012-few-images")
    d = paired_difference(few, "rand", "n2-rigid", "n2-elastic")
    over = overfitting(few, "n2-none", "n24-rigid")
    n_over = sum(o["overfits"] for o in over)
    steps = few["runs"]["n2-rigid/seed0"]["steps"]
    text = (f"Rand error (n2-elastic) − (n2-rigid) = {d['mean']:+.3f}, 95 % interval [{d['low']:+.3f}, "
            f"{d['high']:+.3f}] (isbi2012-few-images: {d['n']} paired seeds × {steps:,} steps, thresholds "
            f"chosen on slice 24; the unaugmented 2-slice arm overfits in {n_over} of {len(over)} seeds)")
    return Measured((d["mean"], d["low"], d["high"]) if n_over == len(over) else None, text)


# --------------------------------------------------------------------------
# Chapter 5: overlap-tile inference, speed
# --------------------------------------------------------------------------


def seamless() -> Measured:
    """Tiled prediction (316 px tiles) against one pass over the whole mirrored slice 25."""
    import numpy as np

    from .experiments import load_result_model
    from .inference import forward_probabilities, mirror_pad, predict_tiled

    model = load_result_model("isbi2012-reference")
    image = _isbi_train().images[_SEAMLESS_SLICE]
    n = image.shape[0]
    size, b = model.input_size_for(n), model.border
    padded = mirror_pad(image, b, size - n - b, b, size - n - b)
    whole = forward_probabilities(model, padded)[1][:n, :n]
    tiled = predict_tiled(model, image, tile_size=316)[1]
    diff = float(np.abs(tiled - whole).max())
    return Measured(diff, f"max |tiled − whole| {_bound(diff)} (isbi2012-reference, slice {_SEAMLESS_SLICE}, "
                          f"316 px tiles vs. one {size} px pass)")


def _cpu_facts(rec: dict) -> str:
    m = rec["machine"]
    return f"{m['cpu']}, {m['threads']} threads, matmul {m['matmul_gflops']:.0f} GFLOP/s"


def sliding_window() -> Measured:
    rec = _record("speed-512")
    cpu = rec["timings"]["cpu"]
    ratio = cpu["speedup_vs_per_pixel"]
    return Measured(ratio, f"{ratio:,.0f}× faster than per-pixel patch classification (speed-512: Ciresan N4 "
                           f"{cpu['ciresan-n4']['seconds']:,.0f} s vs. reference U-Net "
                           f"{cpu['reference']['seconds']:.2f} s for a 512×512 slice; {_cpu_facts(rec)})")


def speed_512() -> Measured:
    rec = _record("speed-512")
    t = rec["timings"]
    text = (f"paper's network {t['cpu']['paper-unet']['seconds']:.1f} s, reference model "
            f"{t['cpu']['reference']['seconds']:.2f} s on the CPU (speed-512: {_cpu_facts(rec)})")
    if "cuda" in t:
        gpu = rec["machine"].get("gpu", "CUDA")
        text += f"; on {gpu}: paper's network {t['cuda']['paper-unet']['seconds']:.3f} s"
    return Measured(t["cpu"]["paper-unet"]["seconds"], text)


# --------------------------------------------------------------------------
# Chapters 6 and 7: the paper's tables, from the committed records
# --------------------------------------------------------------------------


#: Seed-paired runs of the reference recipe (16 channels, 444 px tiles, Eq. 2 with w_c, drop-out,
#: Adam + cosine) on 24 ISBI slices, shorter than isbi2012-reference and thresholded on slice 24:
#: their seed spread estimates the reference's, which was trained with one seed (an hour of CPU).
TABLE1_SEED_SOURCES: tuple[tuple[str, str], ...] = (
    ("isbi2012-why-u", "unet"), ("isbi2012-optimiser", "adam-0.001"), ("isbi2012-few-images", "n24-rigid"))


def table1_noise_floor(metrics: tuple[str, ...] = ("warping_splits_merges", "rand", "pixel_error")
                       ) -> dict[str, dict[str, Any]]:
    """How much Table 1's one-seed numbers would move with another seed: the seed s.d. of each
    metric pooled over :data:`TABLE1_SEED_SOURCES`
    (:func:`~unet_tutorial.experiments.pooled_seed_sd`), an estimate, not a measurement of the
    reference itself.

    Returns:
        ``{metric: {"sd", "df", "per_source"}}``.
    """
    from .experiments import pooled_seed_sd

    sources = [(_record(name), arm) for name, arm in TABLE1_SEED_SOURCES]
    return {m: pooled_seed_sd(sources, m) for m in metrics}


def _table1(metric: str, digits: int, convention: str) -> Measured:
    rec = _record("isbi2012-reference")
    value = rec["metrics"][metric]
    held = _span(rec["split"]["held_out"])
    sd = table1_noise_floor((metric,))[metric]
    return Measured(value, f"{value:.{digits}f} ± {sd['sd']:.{digits}f} (isbi2012-reference, held-out slices "
                           f"{held}, {convention}; ± the seed s.d. estimated from {len(TABLE1_SEED_SOURCES)} "
                           f"shorter seed-paired records, {sd['df']} degrees of freedom)")


def table1_warping() -> Measured:
    return _table1("warping_splits_merges", 6, "splits and merges")


def table1_rand() -> Measured:
    return _table1("rand", 4, "foreground-restricted")


def table1_pixel() -> Measured:
    return _table1("pixel_error", 4, "1 − max F")


def touching_separation() -> Measured:
    """Do Eq. 2's border weights separate touching nuclei? The registered verdict of
    ``dsb2018-border-weights`` (:func:`~unet_tutorial.experiments.matched_outcome`): touching pairs
    merged, (w_c + Eq. 2's border term) − (plain cross-entropy), paired by seed, each run at its
    threshold of best validation foreground IoU; it counts only if the foreground IoU is not more
    than 0.05 lower (its interval in the text)."""
    from .experiments import interval_text, matched_outcome

    bw = _record("dsb2018-border-weights")
    out = matched_outcome(bw, "merged_at_iou", "iou_at_iou", "plain", "wc-border")
    d, g = out["difference"], out["guard_difference"]
    steps = bw["runs"]["plain/seed0"]["steps"]
    return Measured(out["verdict"], f"DSB 2018 nuclei, dsb2018-border-weights ({d['n']} paired seeds x {steps} "
                                    f"steps, threshold of best validation IoU): touching pairs merged, Eq. 2 − "
                                    f"plain = {interval_text(d)}; foreground IoU, Eq. 2 − plain = "
                                    f"{interval_text(g)} (guard: interval above −0.05: "
                                    f"{'yes' if out['guard_ok'] else 'no'})")


def _table2(name: str, where: str) -> Measured:
    from .experiments import image_spread

    rec = _record(name)
    spread = image_spread(rec, "seg")
    return Measured(spread["value"], f"SEG {spread['value']:.4f} ± {spread['sd']:.4f} (s.d. over {spread['n']} "
                                     f"held-out frames {_span(rec['split']['held_out'])}, {where}; one training "
                                     f"seed: no seed spread; {name})")


def table2_u373() -> Measured:
    return _table2("ctc2015-u373", "sequence 02, gold truth")


def table2_u373_gold() -> Measured:
    return _table2("ctc2015-u373-gold", "gold truth; trained on the 13 partially annotated gold frames alone")


def table2_hela() -> Measured:
    return _table2("ctc2015-hela", "against silver truth")


#: claim key → its measure.
MEASURES = {f.__name__: f for f in (
    why_u_skips, why_u_fcn, why_u_window, tile_output, conv_layers, border, tiling_rule, he_init, deform_grid, isbi_train_size, w0_sigma, momentum,
    few_images, seamless, sliding_window, speed_512, table1_warping, table1_rand, table1_pixel,
    touching_separation, table2_u373, table2_u373_gold, table2_hela)}
