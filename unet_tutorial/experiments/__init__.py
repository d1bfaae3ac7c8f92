"""Recorded experiments: long, reproducible training runs whose records ship with the course.

The chapters train small models in minutes, because CI re-executes them. The
paper's results need longer runs, so those are *recorded experiments*: each is
data (:class:`Experiment`: configuration, arms, seeds, data split, budget,
evaluation), run once with ``python -m unet_tutorial experiment run NAME``
(progress bar, checkpoints, ``--resume`` after a kill), and leaves in
``results/NAME/``:

- ``record.json``: the command, the package's git commit, versions, device,
  threads, CPU model, the machine's float32 matmul rate, seeds, every arm's full
  configuration, the split (``split.train``, ``split.held_out``: slice numbers),
  steps, wall and CPU time, the final ``metrics`` (a flat mapping
  ``name → value``; ``ARM/seedS/name`` where there are several runs; a one-run
  record's per-image scores as ``name_image0``, ``_image1``, ...: its spread over
  images, :func:`image_spread`, :func:`image_difference`) and the curves (step,
  seconds, training loss, held-out metrics at each validation);
- ``model.pt``: the kept model in float16 (≤ 10 MB), where the experiment keeps one;
  ``models/ARM.pt``: the first seed's model of each arm, where a chapter shows the arms
  side by side (``keep_arms``; ``load_result_model(name, arm=ARM)``), checked alike;
- ``pilot.json``: the short pilot that sized it (``experiment pilot NAME --steps N``:
  each arm's speed, loss and held-out metrics for a few seeds).

How an experiment decides (the principles every comparison follows):

- its **hypothesis** and **verdict rule** are written in the registry
  (:class:`Experiment`: ``hypothesis``, ``verdict_rule``) *before* it is run, and
  copied into its record;
- a short recorded **pilot** sizes it: the speed gives the steps a budget buys,
  the seed spread the number of seeds the difference needs;
- **seeds are paired** across arms (the same initialisation and tile order) and run
  seed by seed, so the arms of a seed see the same machine;
- **thresholds** are chosen on validation images that are never scored;
- runs are **long enough for the effect to exist**: a regulariser (augmentation) can
  only help a network that overfits, so the curves are recorded and the precondition
  checked (:func:`overfitting`);
- a comparison reports the **mean paired difference with a 95 % interval**
  (:func:`paired_difference`), and a verdict says "inconclusive" when the interval
  contains zero and the rule's bounds; "not reproduced" needs an interval that says so;
- a one-run model is trained **until its held-out curve flattens** (or its budget ends):
  :func:`curve_slope` gives the last points' slope with its interval, and a run of half
  the steps measures what the second half bought (:func:`budget_outcome`);
- a run whose loss becomes NaN is an **outcome**, not a crash: the record keeps it as
  ``diverged`` (the step, the loss, the learning rate) with its curves, and every run logs
  its gradient norm, so a divergence or a collapse (:func:`run_outcomes`) is seen in the
  record, not guessed.

``experiment check NAME`` re-evaluates the committed model on the recorded
held-out images and fails, naming the metric, when a recorded number is not
reproduced (``make test`` checks every record), so the book's numbers cannot
drift from the weights that ship with it. Chapters read the numbers with
:func:`load_record` (a typed :class:`Record`: ``record.split.held_out``,
``record.runs["ARM/seedS"].curves``, ``record.metrics[...]``), always under today's
metric names (a record of an older schema is read through :func:`upgrade_record`; the
committed files are never rewritten for it), and the models with :func:`load_result_model`.

Timing records (:data:`TIMINGS`, :mod:`.timing`: ``results/speed-512/``) are run and
checked by the same commands; their check re-times nothing (it checks that the record is
complete and that its speed ratio satisfies the claims ledger's rule).

Example::

    >>> from unet_tutorial.experiments import EXPERIMENTS, load_record
    >>> "isbi2012-reference" in EXPERIMENTS, "isbi2012-budget" in EXPERIMENTS
    (True, True)
    >>> load_record("isbi2012-reference")["metrics"]["rand"]  # doctest: +SKIP
"""

from __future__ import annotations

from .cli import add_experiment_command
from .convergence import COURSE_GOALS, budget_outcome, curve_slope, image_difference
from .evaluation import evaluate_isbi2012
from .registry import EXPERIMENTS, Arm, Experiment
from .records import SCHEMA_VERSION, Record, Run, Split, load_record, record_from_dict, upgrade_record
from .summary import (arm_summary, best_recipe, change_effects, comparison_to, effect_text, image_spread, interval_text, interval_verdict, matched_outcome,
                      optimiser_outcome, overfitting, paired_difference, pooled_seed_sd, run_outcomes, summary_rows, time_to_quality)
from .runner import (
    TOLERANCE,
    check_experiment,
    config_changes,
    load_result_model,
    machine_info,
    rescore_experiment,
    results_dir,
    run_experiment,
    run_pilot,
)
from .timing import MIN_SPEEDUP, TIMINGS, check_timing, record_speed_512

__all__ = [
    "Arm",
    "Experiment",
    "EXPERIMENTS",
    "TOLERANCE",
    "results_dir",
    "evaluate_isbi2012",
    "run_experiment",
    "run_pilot",
    "rescore_experiment",
    "check_experiment",
    "config_changes",
    "load_record",
    "record_from_dict",
    "upgrade_record",
    "Record",
    "Run",
    "Split",
    "SCHEMA_VERSION",
    "load_result_model",
    "machine_info",
    "add_experiment_command",
    "arm_summary",
    "summary_rows",
    "paired_difference",
    "interval_text",
    "time_to_quality",
    "overfitting",
    "run_outcomes",
    "optimiser_outcome",
    "comparison_to",
    "interval_verdict",
    "matched_outcome",
    "pooled_seed_sd",
    "image_spread",
    "COURSE_GOALS",
    "curve_slope",
    "image_difference",
    "budget_outcome",
    "change_effects",
    "best_recipe",
    "effect_text",
    "TIMINGS",
    "MIN_SPEEDUP",
    "record_speed_512",
    "check_timing",
]
