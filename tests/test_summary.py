"""Reading a record's comparison: outcomes of runs, the optimiser's verdict, paired comparisons."""

from __future__ import annotations

import math

import numpy as np
import pytest

from unet_tutorial.experiments import (comparison_to, interval_verdict, matched_outcome, optimiser_outcome,
                                      pooled_seed_sd, run_outcomes, image_spread)


def run(arm: str, seed: int, rand: float | None, *, fraction: float = 0.78, diverged_at: int | None = None,
        validation: float | None = None) -> tuple[str, dict]:
    metrics = {} if rand is None else {"rand": rand, "rand_validation": validation if validation is not None
                                       else rand, "cell_fraction": fraction}
    r = {"arm": arm, "seed": seed, "steps": 100, "metrics": metrics,
         "curves": {"train": {"loss": [0.5], "grad_norm": [1.0, 2.0, 3.0]}, "validation": {}}}
    if diverged_at is not None:
        r["diverged"] = {"step": diverged_at, "loss": "nan", "lr": 0.01}
    return f"{arm}/seed{seed}", r


def record(*runs: tuple[str, dict]) -> dict:
    rs = dict(runs)
    arms = list(dict.fromkeys(r["arm"] for r in rs.values()))
    seeds = sorted({r["seed"] for r in rs.values()})
    metrics = {f"{k}/{m}": v for k, r in rs.items() for m, v in r["metrics"].items()}
    return {"arms": arms, "seeds": seeds, "runs": rs, "metrics": metrics}


def test_outcomes_tell_trained_collapsed_and_diverged_runs():
    rec = record(run("a", 0, 0.1), run("b", 0, 0.6, fraction=0.995), run("c", 0, None, diverged_at=95))
    got = {o["arm"]: (o["outcome"], o["step"]) for o in run_outcomes(rec)}
    assert got == {"a": ("trained", 100), "b": ("collapsed", 100), "c": ("diverged", 95)}
    assert run_outcomes(rec)[0]["grad_norm"] == 2.0  # the median of the last windows


def test_sgd_trains_when_its_best_rate_is_close_to_adam_in_every_seed():
    rec = record(run("sgd-1", 0, 0.12, validation=0.2), run("sgd-2", 0, 0.30, validation=0.1),
                 run("adam", 0, 0.10), run("sgd-1", 1, 0.13, validation=0.2),
                 run("sgd-2", 1, 0.35, validation=0.1), run("adam", 1, 0.11))
    out = optimiser_outcome(rec, reference="adam")
    # the best rate is chosen on the validation slice (sgd-2), not on the scored one (sgd-1)
    assert out["best"] == "sgd-2" and out["verdict"] == "inconclusive"  # sgd-1 is close, the chosen one is not
    rec = record(run("sgd-1", 0, 0.12), run("adam", 0, 0.10), run("sgd-1", 1, 0.14), run("adam", 1, 0.11))
    out = optimiser_outcome(rec, reference="adam")
    assert out["verdict"] == "reproduced" and out["difference"]["mean"] == pytest.approx(0.025)


def test_sgd_worse_in_every_seed_is_not_reproduced_only_when_the_interval_says_so():
    rec = record(*(r for s, (d, a) in enumerate([(0.30, 0.10), (0.45, 0.12)])
                   for r in (run("sgd", s, d), run("adam", s, a))))
    assert optimiser_outcome(rec, reference="adam")["verdict"] == "inconclusive"  # 2 seeds: t = 12.7
    rec = record(*(r for s, (d, a) in enumerate([(0.30, 0.10), (0.35, 0.12), (0.33, 0.11)])
                   for r in (run("sgd", s, d), run("adam", s, a))))
    out = optimiser_outcome(rec, reference="adam")
    assert out["verdict"] == "not reproduced" and out["difference"]["low"] > 0


def test_sgd_not_reproduced_when_every_run_collapses_or_diverges():
    rec = record(run("sgd-1", 0, 0.7, fraction=0.99), run("sgd-2", 0, None, diverged_at=40), run("adam", 0, 0.1),
                 run("sgd-1", 1, 0.7, fraction=0.99), run("sgd-2", 1, None, diverged_at=41), run("adam", 1, 0.1))
    out = optimiser_outcome(rec, reference="adam")
    assert out["best"] is None and out["difference"] is None and out["verdict"] == "not reproduced"


def test_comparison_to_a_reference_arm_gives_each_arm_its_interval_and_verdict():
    rec = record(*(run("u", s, 0.10 + 0.01 * s) for s in range(3)), *(run("x", s, 0.30 + 0.012 * s) for s in range(3)),
                 *(run("y", s, 0.10 + 0.05 * (-1) ** s) for s in range(3)))
    rows = {r["arm"]: r["rand"] for r in comparison_to(rec, "u")}
    assert rows["x"]["verdict"] == "reproduced" and rows["x"]["difference"]["low"] > 0
    assert rows["y"]["verdict"] == "inconclusive"
    assert interval_verdict({"low": -0.3, "high": -0.1}) == "not reproduced"
    assert interval_verdict({"low": math.nan, "high": 1.0}) == "inconclusive"


def test_plot_runs_draws_every_run_and_marks_a_divergence():
    import matplotlib

    matplotlib.use("Agg")
    from unet_tutorial.plotting import plot_runs

    def curves(n: int, diverged: bool = False) -> dict:
        loss = [1.0 / (k + 1) for k in range(n)] + ([math.nan] if diverged else [])
        steps = [25 * (k + 1) for k in range(len(loss))]
        return {"train": {"step": steps, "loss": loss, "grad_norm": [2.0] * len(loss)},
                "validation": {"step": [50], "rand": [0.3], "cell_fraction": [0.7]}}

    rec = record(run("adam", 0, 0.1), run("sgd", 0, None, diverged_at=95))
    rec["runs"]["adam/seed0"]["curves"] = curves(4)
    rec["runs"]["adam/seed0"]["metrics"]["cell_fraction_truth"] = 0.78
    rec["runs"]["sgd/seed0"]["curves"] = curves(3, diverged=True)
    axes = plot_runs(rec)
    assert len(axes) == 4 and axes[1].get_yscale() == "log"
    loss_lines = axes[0].get_lines()
    assert len(loss_lines) == 3  # two runs and the divergence's cross
    cross = [ln for ln in loss_lines if ln.get_marker() == "x"]
    assert len(cross) == 1 and cross[0].get_xdata()[0] == 75  # the last finite point
    assert any(ln.get_ydata()[0] == 0.78 for ln in axes[3].get_lines())  # the labels' own fraction
    matplotlib.pyplot.close("all")


def two_arms(merged_b: list[float], iou_b: list[float]) -> dict:
    """Control arm a (merged 0.8, IoU 0.7 in every seed) and arm b with the given values."""
    m = {}
    for s, (mb, ib) in enumerate(zip(merged_b, iou_b)):
        m.update({f"a/seed{s}/merged": 0.8, f"a/seed{s}/iou": 0.7, f"b/seed{s}/merged": mb, f"b/seed{s}/iou": ib})
    return {"arms": ["a", "b"], "seeds": list(range(len(merged_b))), "metrics": m}


@pytest.mark.parametrize(("merged_b", "iou_b", "verdict", "guard_ok"), [
    ([0.5, 0.52, 0.49], [0.69, 0.71, 0.70], "reproduced", True),     # fewer merges, same masks
    ([0.5, 0.52, 0.49], [0.50, 0.62, 0.40], "inconclusive", False),  # fewer merges, smaller masks
    ([0.9, 0.92, 0.91], [0.69, 0.71, 0.70], "not reproduced", True),  # more merges
    ([0.5, 0.95, 0.70], [0.69, 0.71, 0.70], "inconclusive", True),   # the interval contains 0
])
def test_matched_outcome_counts_fewer_merges_only_at_matched_masks(merged_b, iou_b, verdict, guard_ok):
    out = matched_outcome(two_arms(merged_b, iou_b), "merged", "iou", "a", "b")
    assert out["verdict"] == verdict and out["guard_ok"] is guard_ok
    assert out["difference"]["mean"] == pytest.approx(sum(merged_b) / 3 - 0.8)
    assert out["guard_difference"]["n"] == 3


def test_pooled_seed_sd_weights_each_source_by_its_degrees_of_freedom():
    three = {"arms": ["a"], "seeds": [0, 1, 2], "metrics": {"a/seed0/x": 0.0, "a/seed1/x": 1.0, "a/seed2/x": 2.0}}
    two = {"arms": ["b"], "seeds": [0, 1], "metrics": {"b/seed0/x": 0.0, "b/seed1/x": 4.0}}
    got = pooled_seed_sd([(three, "a"), (two, "b")], "x")
    # variances 1 (df 2) and 8 (df 1): pooled (2 * 1 + 1 * 8) / 3
    assert got["sd"] == pytest.approx(math.sqrt(10 / 3)) and got["df"] == 3
    assert got["per_source"] == pytest.approx([1.0, math.sqrt(8)])
    one = {"arms": ["c"], "seeds": [0], "metrics": {"c/seed0/x": 1.0}}
    with pytest.raises(ValueError, match="one seed"):
        pooled_seed_sd([(one, "c")], "x")
    with pytest.raises(ValueError, match="empty"):
        pooled_seed_sd([], "x")


def test_plot_threshold_tradeoff_draws_each_runs_sweep_and_marks_its_chosen_threshold():
    import matplotlib

    matplotlib.use("Agg")
    from unet_tutorial.plotting import plot_threshold_tradeoff

    m = {}
    for arm, shift in (("plain", 0.0), ("wc-border", -0.3)):
        for seed in (0, 1):
            for t in (0.3, 0.5, 0.7):
                m[f"{arm}/seed{seed}/val_iou@{t:g}"] = 0.9 - abs(t - 0.5)
                m[f"{arm}/seed{seed}/val_merged@{t:g}"] = 0.9 - t / 2 + shift
            m[f"{arm}/seed{seed}/threshold_iou"] = 0.5
    rec = {"arms": ["plain", "wc-border"], "seeds": [0, 1], "metrics": m}
    ax = plot_threshold_tradeoff(rec)
    lines = ax.get_lines()
    assert len(lines) == 8  # a sweep line and a chosen-threshold dot per run
    dots = [ln for ln in lines if ln.get_marker() == "o"]
    assert [(d.get_xdata()[0], round(d.get_ydata()[0], 3)) for d in dots] == [(0.9, 0.65)] * 2 + [(0.9, 0.35)] * 2
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["plain", "wc-border"]
    del m["plain/seed1/val_iou@0.3"], m["plain/seed1/val_iou@0.5"], m["plain/seed1/val_iou@0.7"]
    with pytest.raises(KeyError, match="no validation sweep"):
        plot_threshold_tradeoff(rec)


def test_plot_paired_draws_one_line_per_seed_from_control_to_treated():
    import matplotlib

    matplotlib.use("Agg")
    from unet_tutorial.plotting import plot_paired

    rec = record(*(run("a", s, 0.5 + 0.1 * s) for s in range(3)), *(run("b", s, 0.2 + 0.1 * s) for s in range(3)))
    ax = plot_paired(rec, "rand", "a", "b")
    lines = ax.get_lines()
    assert len(lines) == 3
    assert [tuple(np.round(ln.get_ydata(), 3)) for ln in lines] == [(0.5, 0.2), (0.6, 0.3), (0.7, 0.4)]
    assert [t.get_text() for t in ax.get_xticklabels()] == ["a", "b"]


def test_image_spread_reads_the_per_frame_scores_in_order_and_refuses_a_record_without_them():
    rec = {"metrics": {"seg": 0.6, "seg_image0": 0.5, "seg_image1": 0.9, "seg_image2": 0.4, "seg_image10": 0.0}}
    got = image_spread(rec, "seg")
    # image10 is not reached: the frames are numbered without a gap from 0
    assert got["values"] == [0.5, 0.9, 0.4] and got["n"] == 3 and got["value"] == 0.6
    assert got["min"] == 0.4 and got["max"] == 0.9
    assert got["sd"] == pytest.approx(np.std([0.5, 0.9, 0.4], ddof=1))
    with pytest.raises(KeyError, match="two or more"):
        image_spread({"metrics": {"seg": 0.6, "seg_image0": 0.5}}, "seg")
    with pytest.raises(KeyError, match="0 per-image 'iou'"):
        image_spread(rec, "iou")


def _since_record():
    """Three arms, three seeds: `a` beats the paper in every seed, `b` once up once down."""
    paper = (0.40, 0.45, 0.50)
    values = {"paper": paper, "a": tuple(v + d for v, d in zip(paper, (0.10, 0.12, 0.11))),
              "b": tuple(v + d for v, d in zip(paper, (0.05, -0.06, 0.01)))}
    metrics = {f"{arm}/seed{s}/{m}": v + (0.0 if m == "dsb" else 0.1)
               for arm, vs in values.items() for s, v in enumerate(vs) for m in ("dsb", "merged_at_iou", "iou")}
    runs = {f"{arm}/seed{s}": {"arm": arm, "seed": s, "steps": steps, "train_seconds": steps * sec}
            for arm, steps, sec in (("paper", 800, 0.15), ("a", 600, 0.2), ("b", 800, 0.15)) for s in range(3)}
    configs = {"paper": {"name": "x", "steps": 800, "seed": 0, "norm": "none", "loss": "ce"},
               "a": {"name": "x", "steps": 600, "seed": 0, "norm": "instance", "loss": "ce"},
               "b": {"name": "x", "steps": 800, "seed": 0, "norm": "none", "loss": "dice+ce"}}
    return {"arms": ["paper", "a", "b"], "seeds": [0, 1, 2], "metrics": metrics, "runs": runs,
            "configs": configs}


def test_change_effects_decide_each_arm_by_its_paired_interval_and_say_its_cost():
    from unet_tutorial.experiments.summary import best_recipe, change_effects

    rec = _since_record()
    effects = {e["arm"]: e for e in change_effects(rec)}
    assert set(effects) == {"a", "b"}
    assert effects["a"]["effect"] == "helps" and effects["b"]["effect"] == "inconclusive"
    assert effects["a"]["difference"]["mean"] == pytest.approx(0.11)
    assert effects["a"]["steps"] == 600 and effects["a"]["cost"] == pytest.approx(0.2 / 0.15)
    assert set(effects["a"]["beside"]) == {"merged_at_iou", "iou"}
    # the recipe: the helping arm's differences from the paper, its steps left out
    assert best_recipe(rec) == {"arm": "a", "overrides": {"norm": "instance"}}
    # a change that hurts in every seed is called so, and nothing helps: the paper's recipe stays
    for s in range(3):
        rec["metrics"][f"a/seed{s}/dsb"] = rec["metrics"][f"paper/seed{s}/dsb"] - 0.1 - 0.01 * s
    assert {e["arm"]: e["effect"] for e in change_effects(rec)}["a"] == "hurts"
    assert best_recipe(rec) == {"arm": "paper", "overrides": {}}


def test_for_an_error_a_change_helps_when_its_interval_lies_below_zero():
    from unet_tutorial.experiments.summary import best_recipe, change_effects

    rec = _since_record()  # read "dsb" as an error: a is higher in every seed, so it hurts
    effects = {e["arm"]: e["effect"] for e in change_effects(rec, beside=(), lower_is_better=True)}
    assert effects == {"a": "hurts", "b": "inconclusive"}
    assert best_recipe(rec, lower_is_better=True) == {"arm": "paper", "overrides": {}}
    for s in range(3):  # now a is lower in every seed, by 0.08-0.1
        rec["metrics"][f"a/seed{s}/dsb"] = rec["metrics"][f"paper/seed{s}/dsb"] - 0.08 - 0.01 * s
    assert {e["arm"]: e["effect"] for e in change_effects(rec, lower_is_better=True)}["a"] == "helps"
    assert best_recipe(rec, lower_is_better=True) == {"arm": "a", "overrides": {"norm": "instance"}}
    assert {e["arm"]: e["effect"] for e in change_effects(rec)}["a"] == "hurts"  # as a score
    import matplotlib

    matplotlib.use("Agg")
    from unet_tutorial.plotting import plot_effects

    bars = [ln for ln in plot_effects(rec, lower_is_better=True).lines if ln.get_linewidth() == 3]
    assert [b.get_color() for b in bars] == ["0.45", "C2"]  # b inconclusive, a helps: below 0, in green
    assert bars[1].get_xdata()[1] < 0


def test_plot_effects_draws_each_arms_interval_in_its_verdicts_colour():
    import matplotlib

    matplotlib.use("Agg")
    from unet_tutorial.plotting import plot_effects, plot_loss_by_time

    rec = _since_record()
    ax = plot_effects(rec)
    bars = [ln for ln in ax.lines if len(ln.get_xdata()) == 2 and ln.get_linewidth() == 3]
    # bottom to top: b (inconclusive, grey), a (helps, green); each bar spans the 95 % interval
    assert [b.get_color() for b in bars] == ["0.45", "C2"]
    assert bars[1].get_xdata()[0] > 0 > bars[0].get_xdata()[0]
    assert [t.get_text().split("\n")[0] for t in ax.get_yticklabels()] == ["b", "a"]
    for arm in rec["arms"]:
        for s in rec["seeds"]:
            rec["runs"][f"{arm}/seed{s}"]["curves"] = {"train": {"seconds": [1, 2, 3], "loss": [1.0, 0.5, 0.4]}}
    axes = plot_loss_by_time(rec, columns=2)
    assert [a.get_title() for a in axes] == ["paper", "a", "b"] and len(axes[0].lines) == 3
