"""Recorded experiments: every registered experiment runs (at a tiny budget), records, resumes and checks."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from unet_tutorial import experiments as E
from unet_tutorial.__main__ import main
from unet_tutorial.architectures import architecture_of
from unet_tutorial.data import data_dir

pytestmark = pytest.mark.skipif(not (data_dir() / "isbi2012").is_dir(), reason="needs the ISBI 2012 data")

RECORD_KEYS = {"name", "command", "git", "machine", "seeds", "configs", "split", "runs", "metrics",
               "status", "evaluation", "wall_seconds"}


@pytest.fixture(scope="module")
def smoke_records(tmp_path_factory) -> Path:
    """Every registered experiment run at 3 steps on the smallest valid tile."""
    root = tmp_path_factory.mktemp("results")
    for name in E.EXPERIMENTS:
        E.run_experiment(name, results=root, work_dir=root.parent / "work", smoke=True, progress=False,
                         command="pytest")
    return root


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(E.EXPERIMENTS))
def test_every_experiment_runs_records_and_checks(smoke_records, name):
    rec = E.load_record(name, smoke_records)
    assert RECORD_KEYS <= set(rec) and rec["status"] == "complete" and rec["smoke"]
    exp = E.EXPERIMENTS[name]
    assert {k: v for k, v in rec["split"].items() if k != "detail"} == exp.split_record()
    if exp.data == "dsb2018":  # the split of the DSB images by id, listed with sizes and modalities
        detail = rec["split"]["detail"]
        assert set(detail) == {"train", "validation", "held_out"} and rec["baseline"]["metrics"]["dsb"] >= 0
        ids = [set(part["ids"]) for part in detail.values()]
        assert not (ids[0] & ids[1] or ids[0] & ids[2] or ids[1] & ids[2])
    assert len(rec["runs"]) == len(exp.arms) * len(exp.seeds)
    for run in rec["runs"].values():
        assert run["steps"] == 3 and run["curves"]["validation"]["step"][-1] == 3
        # per-image scores in the result (a one-run record's spread), not at every point of the curve
        assert not any("_image" in k for k in run["curves"]["validation"])
        if exp.data in ("isbi2012", "dsb2018"):
            assert "rand_image0" in run["metrics"] or "dsb_image0" in run["metrics"]
        if exp.data == "isbi2012":  # what the network predicts, beside what the labels hold
            assert 0 <= run["metrics"]["cell_fraction"] <= 1 and 0 < run["metrics"]["cell_fraction_truth"] < 1
            if exp.validation:  # the threshold's choice, read from the validation slices only
                assert {"rand_validation", "rand_oracle"} <= set(run["metrics"])
                assert run["metrics"]["rand_oracle"] <= run["metrics"]["rand"]
    assert all(isinstance(v, float) for v in rec["metrics"].values())
    assert rec["machine"]["torch"] and rec["machine"]["matmul_gflops"] > 0
    assert rec["git"]["commit"] is None or len(rec["git"]["commit"]) == 40
    if exp.keep:
        assert (smoke_records / name / "model.pt").is_file() and rec["model"]["dtype"] == "float16"
        kept = E.load_result_model(name, smoke_records)
        assert kept.base_channels == rec["configs"][exp.keep]["base_channels"]
        if "threshold" in rec["model"]["metrics"]:  # chosen on the validation part, saved for predict
            assert kept.threshold == rec["model"]["metrics"]["threshold"]
    else:
        assert rec["model"] is None and exp.why_no_model
    for arm in exp.keep_arms:  # every kept arm's model, its architecture read back from the file
        kept = E.load_result_model(name, smoke_records, arm=arm)
        assert rec.arm_models[arm]["metrics"] == rec["runs"][f"{arm}/seed{exp.seeds[0]}"]["metrics"]
        assert architecture_of(kept) == rec["configs"][arm].get("architecture", "unet")
    assert E.check_experiment(name, smoke_records) == []


@pytest.mark.slow
def test_check_names_the_metric_that_is_not_reproduced(smoke_records, tmp_path):
    folder = tmp_path / "isbi2012-reference"
    folder.mkdir()
    rec = E.load_record("isbi2012-reference", smoke_records).to_dict()
    rec["model"]["metrics"]["rand"] += 0.01  # a number that the shipped weights do not give
    (folder / "record.json").write_text(json.dumps(rec))
    (folder / "model.pt").write_bytes((smoke_records / "isbi2012-reference" / "model.pt").read_bytes())
    problems = E.check_experiment("isbi2012-reference", tmp_path)
    assert len(problems) == 1 and "metric 'rand'" in problems[0]
    assert main(["experiment", "check", "--results", str(tmp_path)]) == 1


@pytest.mark.slow
def test_a_killed_experiment_resumes(tmp_path, monkeypatch):
    """Killed after its first run, the pilot resumes: the finished run is not repeated."""
    from unet_tutorial import train as T

    original, calls = T.train, []

    def train_then_die(*args, **kwargs):
        calls.append(kwargs.get("resume"))
        if len(calls) == 2:
            raise KeyboardInterrupt
        return original(*args, **kwargs)

    monkeypatch.setattr(T, "train", train_then_die)
    with pytest.raises(KeyboardInterrupt):
        E.run_experiment("isbi2012-pilot", results=tmp_path, work_dir=tmp_path / "w", smoke=True, progress=False)
    partial = E.load_record("isbi2012-pilot", tmp_path)
    assert partial["status"] == "partial" and list(partial["runs"]) == ["b16-t444-adam/seed0"]
    with pytest.raises(ValueError, match="partial.*--resume"):
        E.check_experiment("isbi2012-pilot", tmp_path)
    calls.clear()
    monkeypatch.setattr(T, "train", lambda *a, **k: (calls.append(k.get("resume")), original(*a, **k))[1])
    rec = E.run_experiment("isbi2012-pilot", results=tmp_path, work_dir=tmp_path / "w", smoke=True,
                           progress=False, resume=True)
    assert rec["status"] == "complete" and len(calls) == 3 and all(calls)  # 4 runs, the first not repeated


def test_missing_records_and_unknown_names_fail_clearly(tmp_path):
    with pytest.raises(FileNotFoundError, match="experiment run isbi2012-reference"):
        E.load_record("isbi2012-reference", tmp_path)
    with pytest.raises(FileNotFoundError, match="10 MB limit"):
        E.load_result_model("isbi2012-paper", tmp_path)
    with pytest.raises(ValueError, match="unknown experiment 'nope'; known: .*isbi2012-reference"):
        E.run_experiment("nope", results=tmp_path)
    assert main(["experiment", "run", "nope", "--results", str(tmp_path)]) == 2


def test_the_committed_records_are_complete_and_small():
    """What ships in results/: complete records, models within the size limits."""
    root = E.results_dir()
    records = sorted(root.glob("*/record.json"))
    assert records, "results/ holds no record"
    total = 0
    for path in records:
        rec = json.loads(path.read_text())
        assert rec["status"] == "complete" and not rec["smoke"], path
        assert rec["name"] == path.parent.name and rec["name"] in {**E.EXPERIMENTS, **E.TIMINGS}
        for f in path.parent.rglob("*"):  # models/ of the arms too
            if f.is_file():
                assert f.stat().st_size <= 10e6, f
                total += f.stat().st_size
        for kept in [rec.get("model") or {}, *(rec.get("arm_models") or {}).values()]:
            assert not kept or (path.parent / kept["file"]).is_file()
    assert total <= 40e6


@pytest.mark.slow
def test_rescore_updates_record_and_model_and_keeps_the_history(smoke_records, tmp_path):
    import shutil

    shutil.copytree(smoke_records / "ctc2015-hela", tmp_path / "ctc2015-hela")
    before = E.load_record("ctc2015-hela", tmp_path).to_dict()
    before["metrics"]["seg"] += 0.5  # as if scored under another protocol
    before["model"]["metrics"]["seg"] += 0.5
    (tmp_path / "ctc2015-hela" / "record.json").write_text(json.dumps(before))
    assert E.check_experiment("ctc2015-hela", tmp_path)  # the check sees the difference ...
    rec = E.rescore_experiment("ctc2015-hela", reason="a validation part chooses the threshold", results=tmp_path)
    assert E.check_experiment("ctc2015-hela", tmp_path) == []  # ... which the rescore removes
    assert rec["rescored"][-1]["previous_metrics"]["seg"] == before["metrics"]["seg"]
    assert rec["rescored"][-1]["reason"].startswith("a validation part")
    assert E.load_result_model("ctc2015-hela", tmp_path).threshold == rec["metrics"]["threshold"]
    with pytest.raises(ValueError, match="one run"):
        shutil.copytree(smoke_records / "isbi2012-pilot", tmp_path / "isbi2012-pilot")
        E.rescore_experiment("isbi2012-pilot", reason="x", results=tmp_path)
    with pytest.raises(ValueError, match="reason"):
        E.rescore_experiment("ctc2015-hela", reason=" ", results=tmp_path)


@pytest.mark.slow
def test_rescore_scores_the_baseline_again_and_keeps_the_old_one(smoke_records, tmp_path):
    """A record with a baseline (DSB 2018: Otsu) gets it scored again, per image too, beside the model."""
    import shutil

    shutil.copytree(smoke_records / "dsb2018-nuclei", tmp_path / "dsb2018-nuclei")
    before = E.load_record("dsb2018-nuclei", tmp_path).to_dict()
    old = {k: v for k, v in before["baseline"]["metrics"].items() if "_image" not in k}  # as a record of before
    before["baseline"]["metrics"] = old
    before["metrics"] = {k: v for k, v in before["metrics"].items() if "_image" not in k}
    (tmp_path / "dsb2018-nuclei" / "record.json").write_text(json.dumps(before))
    rec = E.rescore_experiment("dsb2018-nuclei", reason="per-image scores", results=tmp_path)
    base = rec["baseline"]["metrics"]
    assert base["dsb_image0"] == base["dsb"]  # the smoke split holds one held-out crop
    assert rec["metrics"]["baseline/dsb"] == base["dsb"] and "dsb_image0" in rec["metrics"]
    assert rec["rescored"][-1]["previous_baseline"]["metrics"] == old
    assert rec["split"]["detail"] == before["split"]["detail"]  # the parts' ids, as the run recorded them
    assert E.check_experiment("dsb2018-nuclei", tmp_path) == []


@pytest.mark.slow
def test_a_diverged_run_is_recorded_as_an_outcome(tmp_path, monkeypatch):
    """A learning rate too high for its optimiser is a result of the comparison, not a crash."""
    from unet_tutorial import train as T

    original = T.train

    def sgd_too_fast(cfg, **kwargs):
        if cfg.optimizer == "sgd":  # the pilot's SGD arm, at a rate that must diverge
            cfg = cfg.replace(lr=1e6, warmup_steps=0, schedule="constant")
        return original(cfg, **kwargs)

    monkeypatch.setattr(T, "train", sgd_too_fast)
    rec = E.run_experiment("isbi2012-pilot", results=tmp_path, work_dir=tmp_path / "w", smoke=True,
                           progress=False)
    run = rec["runs"]["b16-t444-sgd/seed0"]
    assert rec["status"] == "complete" and run["done"] and run["metrics"] == {}
    assert 1 <= run["diverged"]["step"] <= 3 and run["diverged"]["loss"] in ("nan", "inf")
    assert not any(k.startswith("b16-t444-sgd/") for k in rec["metrics"])
    assert "rand" in rec["runs"]["b16-t444-adam/seed0"]["metrics"]
    pilot = E.run_pilot("isbi2012-pilot", 3, seeds=(0,), results=tmp_path, progress=False, smoke=True)
    assert pilot["runs"]["b16-t444-sgd/seed0"]["diverged"]["step"] <= 3
    assert len(pilot["runs"]) == 4  # the runs after the diverged one ran too


def test_a_pilot_records_each_arms_speed_and_metrics(tmp_path):
    pilot = E.run_pilot("isbi2012-precision", 2, seeds=(0,), results=tmp_path, progress=False, smoke=True,
                        command="pytest")
    saved = json.loads((tmp_path / "isbi2012-precision" / "pilot.json").read_text())
    assert saved == json.loads(json.dumps(pilot))
    assert set(saved["runs"]) == {"fp32/seed0", "fast/seed0"} and saved["schema"] == E.SCHEMA_VERSION
    for run in saved["runs"].values():
        assert run["steps"] == 2 and run["steps_per_second"] > 0 and "rand" in run["metrics"]
        assert {"pixel_error", "pixel_mismatch"} <= set(run["metrics"])  # the registry's names
    assert saved["runs"]["fp32/seed0"]["settings"]["precision"] == "fp32"
    assert saved["machine"]["auto_precision"] == saved["runs"]["fast/seed0"]["settings"]["precision"]
    with pytest.raises(ValueError, match="steps"):
        E.run_pilot("isbi2012-precision", 0, results=tmp_path)


def test_registered_comparisons_state_their_hypothesis_before_the_run():
    exp = E.EXPERIMENTS["isbi2012-precision"]
    assert exp.hypothesis and exp.verdict_rule
    assert [a.name for a, _ in exp.runs()][:2] == ["fp32", "fast"]  # seed by seed: pairs run together


# --------------------------------------------------------------------------
# Typed records: declared fields, the committed JSON read in today's layout
# --------------------------------------------------------------------------


def _leaf_metrics(raw) -> dict:
    """Every ``(where, key) → value`` of a record's metrics, wherever a record keeps them."""
    out = {("metrics", k): v for k, v in raw.get("metrics", {}).items()}
    for key, run in raw.get("runs", {}).items():
        out.update({(f"runs/{key}", k): v for k, v in run.get("metrics", {}).items()})
        out.update({(f"curves/{key}", k): v for k, v in run.get("curves", {}).get("validation", {}).items()})
    for entry in ("model", "baseline"):
        out.update({(entry, k): v for k, v in (raw.get(entry) or {}).get("metrics", {}).items()})
    for arm, m in (raw.get("arm_models") or {}).items():
        out.update({(f"arm_models/{arm}", k): v for k, v in m.get("metrics", {}).items()})
    return out


def test_every_committed_record_loads_as_a_typed_record():
    from unet_tutorial.checkpoint import results_dir
    from unet_tutorial.metrics import FORMER_NAMES, current_metric_key

    names = sorted(p.parent.name for p in results_dir().glob("*/record.json"))
    assert names, "no committed record"
    for name in names:
        rec = E.load_record(name)
        assert isinstance(rec, E.Record) and rec.name == name
        file = json.loads((results_dir() / name / "record.json").read_text())
        # old files are not rewritten: each is read at the schema it was written with
        assert rec.schema == E.SCHEMA_VERSION == 2 and rec.schema_read == file.get("schema", 1) in (1, 2)
        assert rec["name"] == name and dict(rec) == rec.to_dict()  # still the JSON, read-only
        # the same numbers, each pixel error under its one name (pixel_fscore → pixel_error, pixel → ...)
        want = {(where, current_metric_key(k)): v for (where, k), v in _leaf_metrics(file).items()}
        got = _leaf_metrics(rec.to_dict())
        assert got == want
        left = [k for _, k in got if current_metric_key(k) != k]
        assert not left, f"{name}: former metric names left: {left[:3]}"
        for key, run in rec.runs.items():
            assert isinstance(run, E.Run) and run.metrics == rec["runs"][key]["metrics"]
            assert rec.run(run.arm, run.seed) is run
        assert list(rec.split.held_out) == list(rec.get("split", {}).get("held_out", []))
    old = {k.rpartition("/")[2] for name in names
           for _, k in _leaf_metrics(json.loads((results_dir() / name / "record.json").read_text()))}
    assert set(FORMER_NAMES) <= old  # the committed files do hold the former names: the upgrade is exercised


def test_a_record_is_read_only_and_refuses_a_newer_schema(tmp_path):
    rec = E.record_from_dict({"name": "x", "schema": 1, "split": {"train": [0, 1], "held_out": [2]},
                              "arms": ["a"], "seeds": [3],
                              "runs": {"a/seed3": {"arm": "a", "seed": 3, "steps": 5, "train_seconds": 1.5,
                                                   "metrics": {"rand": 0.1}}}})
    assert rec.split.train == (0, 1) and rec.run("a", 3).steps == 5 and rec.split.validation == ()
    with pytest.raises(TypeError):
        rec["name"] = "y"  # noqa: the mapping has no item assignment
    with pytest.raises(KeyError, match="no run of arm 'b'"):
        rec.run("b", 3)
    with pytest.raises(ValueError, match="newer than this package reads"):
        E.record_from_dict({"name": "x", "schema": E.SCHEMA_VERSION + 1})
    with pytest.raises(ValueError, match="at least a 'name'"):
        E.record_from_dict({"split": {}})


def test_a_schema_1_record_is_read_under_the_registry_names():
    """Version 1 → 2 renames the two pixel errors everywhere a record keeps metrics; nothing else changes."""
    old = {
        "name": "x", "arms": ["a"], "seeds": [0], "notes": "pixel_fscore: 1 - F (kept as written)",
        "metrics": {"a/seed0/pixel": 0.08, "a/seed0/pixel_fscore": 0.05, "a/seed0/pixel_fscore_threshold": 0.1,
                    "a/seed0/rand": 0.2, "baseline/pixel": 0.3},
        "runs": {"a/seed0": {"arm": "a", "seed": 0, "metrics": {"pixel": 0.08, "pixel_fscore_oracle": 0.04},
                             "curves": {"train": {"step": [1], "loss": [0.5]},
                                        "validation": {"step": [1], "pixel_validation": [0.07],
                                                       "pixel_fscore": [0.05], "rand": [0.2]}}}},
        "model": {"file": "model.pt", "metrics": {"pixel_fscore": 0.05}},
        "arm_models": {"a": {"file": "models/a.pt", "metrics": {"pixel": 0.08}}},
        "baseline": {"method": "otsu", "metrics": {"pixel": 0.3}},
        "rescored": [{"reason": "r", "previous_metrics": {"pixel_fscore": 0.06}}],
    }
    frozen = json.dumps(old)
    new = E.upgrade_record(old)
    assert json.dumps(old) == frozen  # the object read is not changed
    assert new["schema"] == E.SCHEMA_VERSION and new["notes"] == old["notes"]
    assert new["metrics"] == {"a/seed0/pixel_mismatch": 0.08, "a/seed0/pixel_error": 0.05,
                              "a/seed0/pixel_error_threshold": 0.1, "a/seed0/rand": 0.2,
                              "baseline/pixel_mismatch": 0.3}
    run = new["runs"]["a/seed0"]
    assert run["metrics"] == {"pixel_mismatch": 0.08, "pixel_error_oracle": 0.04}
    assert run["curves"] == {"train": {"step": [1], "loss": [0.5]},
                             "validation": {"step": [1], "pixel_mismatch_validation": [0.07],
                                            "pixel_error": [0.05], "rand": [0.2]}}
    assert new["model"]["metrics"] == {"pixel_error": 0.05} and new["model"]["file"] == "model.pt"
    assert new["arm_models"]["a"]["metrics"] == {"pixel_mismatch": 0.08}
    assert new["baseline"] == {"method": "otsu", "metrics": {"pixel_mismatch": 0.3}}
    assert new["rescored"] == [{"reason": "r", "previous_metrics": {"pixel_error": 0.06}}]
    rec = E.record_from_dict(old)
    assert rec.schema_read == 1 and rec.run("a", 0).metrics == run["metrics"]
    assert E.upgrade_record(new) == new  # today's layout is read as it is
    assert E.upgrade_record({"name": "y", "schema": 2, "metrics": {"pixel": 1.0}})["metrics"] == {"pixel": 1.0}
    with pytest.raises(ValueError, match="both name 'pixel_error'"):
        E.upgrade_record({"name": "z", "metrics": {"pixel_fscore": 0.1, "pixel_error": 0.1}})
    for bad in (0, "2", 1.5, True):
        with pytest.raises(ValueError, match="schema"):
            E.upgrade_record({"name": "z", "schema": bad})


def test_resume_starts_over_a_record_of_another_design(tmp_path, capsys):
    """A record left by an earlier design (other arms) is not mixed into the new one."""
    old = tmp_path / "isbi2012-precision"
    old.mkdir()
    (old / "record.json").write_text(json.dumps({
        "name": "isbi2012-precision", "arms": ["old-arm"], "seeds": [0], "status": "complete",
        "runs": {"old-arm/seed0": {"arm": "old-arm", "seed": 0, "done": True}},
        "metrics": {"old-arm/seed0/rand": 0.5}}))
    rec = E.run_experiment("isbi2012-precision", resume=True, results=tmp_path, work_dir=tmp_path / "work",
                           smoke=True, progress=False, command="pytest")
    assert "old-arm/seed0" not in rec["runs"] and not any(k.startswith("old-arm") for k in rec["metrics"])
    assert set(rec["runs"]) == {f"{a}/seed{s}" for s in (0, 1) for a in ("fp32", "fast")}
    assert "starting the record over" in capsys.readouterr().err


def test_resume_retrains_a_run_whose_recipe_changed(tmp_path, monkeypatch, capsys):
    """A done run of other steps or settings, and its checkpoint, are not taken for this run's."""
    from dataclasses import replace

    from unet_tutorial import train as T
    from unet_tutorial.experiments import registry

    exp = replace(registry.EXPERIMENTS["isbi2012-precision"], seeds=(0,))
    monkeypatch.setitem(registry.EXPERIMENTS, exp.name, exp)
    kw = dict(results=tmp_path, work_dir=tmp_path / "work", smoke=True, progress=False)
    E.run_experiment(exp.name, **kw)
    assert (tmp_path / "work" / exp.name / "fp32-seed0" / "checkpoint.pt").is_file()
    changed = replace(exp, overrides={**exp.overrides, "lr": 3e-4})
    monkeypatch.setitem(registry.EXPERIMENTS, exp.name, changed)
    original, resumes = T.train, []
    monkeypatch.setattr(T, "train", lambda *a, **k: (resumes.append(k.get("resume")), original(*a, **k))[1])
    capsys.readouterr()
    rec = E.run_experiment(exp.name, resume=True, **kw)
    err = capsys.readouterr().err
    assert "other configs than the registry" in err and "made with other lr" in err
    assert resumes == [False, False]  # both arms trained again, from the start
    assert {c["lr"] for c in rec["configs"].values()} == {3e-4}
    assert E.config_changes(rec["configs"]["fp32"], changed.train_config(changed.arms[0], 0, smoke=True)) == []


def test_curve_without_tta_and_the_result_with_it(tmp_path, monkeypatch):
    """curve_tta=False: every validation of the curve is scored without TTA, the recorded result once
    more with it (and the record says which is which)."""
    from dataclasses import replace

    from unet_tutorial.experiments import evaluation, registry
    from unet_tutorial.model import valid_input_sizes

    calls = []

    def fake(model, split, *, tta, device):  # the held-out score says how it was made
        calls.append(tta)
        return {"rand": 0.1 if tta else 0.3}

    monkeypatch.setitem(evaluation.DATA, "isbi2012", replace(evaluation.DATA["isbi2012"], evaluate=fake))
    exp = replace(registry.EXPERIMENTS["isbi2012-reference"], steps=3, val_every=2, curve_tta=False,
                  overrides={**registry.EXPERIMENTS["isbi2012-reference"].overrides, "warmup_steps": 0,
                             "tile_size": valid_input_sizes(4, "valid", stop=1024)[0]})
    monkeypatch.setitem(registry.EXPERIMENTS, exp.name, exp)
    rec = E.run_experiment(exp.name, results=tmp_path, work_dir=tmp_path / "work", progress=False)
    assert calls == [False, False, True]  # steps 2 and 3 of the curve, then the result
    run = rec["runs"]["main"]
    assert run["curves"]["validation"]["rand"] == [0.3, 0.3] and run["metrics"]["rand"] == 0.1
    assert rec["metrics"]["rand"] == 0.1 and rec["model"]["metrics"]["rand"] == 0.1
    assert rec["evaluation"]["tta"] is True and rec["evaluation"]["curve_tta"] is False


def test_more_seeds_extend_a_record(tmp_path, monkeypatch):
    """Registering more seeds keeps the finished runs of the first ones (a record grows)."""
    from dataclasses import replace

    from unet_tutorial.experiments import registry

    exp = registry.EXPERIMENTS["isbi2012-precision"]
    monkeypatch.setitem(registry.EXPERIMENTS, exp.name, replace(exp, seeds=(0,)))
    E.run_experiment(exp.name, results=tmp_path, work_dir=tmp_path / "work", smoke=True, progress=False)
    first = E.load_record(exp.name, tmp_path).runs["fp32/seed0"]
    # the record on disk as schema 1 wrote it (the former metric names): the resumed record reads it in
    path = tmp_path / exp.name / "record.json"
    old = json.loads(path.read_text())
    old.pop("schema")
    # (not the per-slice errors, pixel_error_image0, ...: schema 1 had none)
    text = re.sub(r'(["/])pixel_mismatch', r"\1pixel",
                  re.sub(r'(["/])pixel_error(?!_image)', r"\1pixel_fscore", json.dumps(old)))
    path.write_text(text)
    assert '"fp32/seed0/pixel_fscore"' in text and re.search(r"pixel_error(?!_image)", text) is None
    monkeypatch.setitem(registry.EXPERIMENTS, exp.name, replace(exp, seeds=(0, 1)))
    rec = E.run_experiment(exp.name, resume=True, results=tmp_path, work_dir=tmp_path / "work", smoke=True,
                           progress=False)
    assert set(rec["runs"]) == {f"{a}/seed{s}" for s in (0, 1) for a in ("fp32", "fast")}
    assert rec["runs"]["fp32/seed0"]["train_seconds"] == first.train_seconds  # not run again
    # one name per metric in the grown record: the first seed's numbers renamed, the new seed's alike
    written = json.loads(path.read_text())
    assert written["schema"] == E.SCHEMA_VERSION
    assert written["runs"]["fp32/seed0"]["metrics"] == dict(first.metrics)
    assert set(written["runs"]["fp32/seed1"]["metrics"]) == set(first.metrics)
    assert {"fp32/seed0/pixel_error", "fp32/seed1/pixel_error"} <= set(written["metrics"])
    assert not any(k.endswith(("/pixel", "/pixel_fscore")) for k in written["metrics"])
