"""Where a recorded model stops improving: curve slopes, per-image differences, the budget verdict."""

import numpy as np
import pytest

from unet_tutorial.experiments import COURSE_GOALS, budget_outcome, curve_slope, image_difference


def test_curve_slope_recovers_a_line_and_its_interval_covers_zero_only_when_flat():
    steps = np.arange(1, 9) * 1000
    noise = np.array([0.004, -0.003, 0.002, -0.004, 0.003, -0.002, 0.004, -0.003])
    falling = curve_slope(steps, 0.5 - 0.02 * steps / 1000 + noise, last=6)
    assert falling["slope"] == pytest.approx(-0.02, abs=0.003) and falling["high"] < 0
    assert falling["steps"] == (3000, 8000) and falling["n"] == 6
    flat = curve_slope(steps, 0.3 + noise, last=6)
    assert flat["low"] < 0 < flat["high"]
    exact = curve_slope([0, 500, 1000], [1.0, 0.5, 0.0], last=3)  # per 1,000 steps; no scatter
    assert exact["slope"] == pytest.approx(-1.0) and exact["low"] == pytest.approx(exact["high"])
    with pytest.raises(ValueError, match="between 3"):
        curve_slope(steps, noise, last=2)
    with pytest.raises(ValueError, match="differ in length"):
        curve_slope(steps, noise[:-1], last=3)


def test_image_difference_pairs_images_and_names_what_is_missing():
    a = {"rand": 0.2, "rand_image0": 0.1, "rand_image1": 0.3, "rand_image2": 0.2}
    b = {"rand_image0": 0.05, "rand_image1": 0.2, "rand_image2": 0.2}
    d = image_difference(a, b, "rand")
    assert d["differences"] == pytest.approx([-0.05, -0.1, 0.0]) and d["n"] == 3
    assert d["mean"] == pytest.approx(-0.05) and d["low"] < d["mean"] < d["high"]
    with pytest.raises(KeyError, match="missing from the second"):
        image_difference(a, {"rand": 0.1}, "rand")
    with pytest.raises(ValueError, match="not the same images"):
        image_difference(a, {"rand_image0": 0.1}, "rand")


def _record(values, steps):
    metrics = {"rand": float(np.mean(values)), **{f"rand_image{k}": v for k, v in enumerate(values)}}
    return {"metrics": metrics, "runs": {"main": {"steps": steps}}}


@pytest.mark.parametrize("gain, verdict", [(0.001, "flattened"), (0.05, "still improving"),
                                           (0.01, "inconclusive")])
def test_budget_outcome_follows_the_registered_rule(gain, verdict):
    longer = [0.05, 0.07, 0.06, 0.08, 0.04]
    scatter = np.array([0.002, -0.002, 0.001, -0.001, 0.0])
    shorter = list(np.add(longer, gain + scatter))
    out = budget_outcome(_record(shorter, 7500), _record(longer, 15000))
    assert out["verdict"] == verdict and out["mean"] == pytest.approx(gain)
    assert out["steps"] == (7500, 15000) and out["longer"] == pytest.approx(np.mean(longer))


def test_course_goals_name_registered_data_sets_and_metrics():
    from unet_tutorial.experiments.evaluation import DATA

    assert set(COURSE_GOALS) <= set(DATA)
    assert COURSE_GOALS["isbi2012"]["rand"] == 0.050 and COURSE_GOALS["dsb2018"]["dsb"] == 0.55
