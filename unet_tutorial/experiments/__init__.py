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
  ``name → value``; ``ARM/seedS/name`` where there are several runs) and the
  curves (step, seconds, training loss, held-out metrics at each validation);
- ``model.pt``: the kept model in float16 (≤ 10 MB), where the experiment keeps one.

``experiment check NAME`` re-evaluates the committed model on the recorded
held-out images and fails, naming the metric, when a recorded number is not
reproduced (``make test`` checks every record), so the book's numbers cannot
drift from the weights that ship with it. Chapters read the numbers with
:func:`load_record` and the models with :func:`load_result_model`.

Timing records (:data:`TIMINGS`, :mod:`.timing`: ``results/speed-512/``) are run and
checked by the same commands; their check re-times nothing (it checks that the record is
complete and that its speed ratio satisfies the claims ledger's rule).

Example::

    >>> from unet_tutorial.experiments import EXPERIMENTS, load_record
    >>> sorted(EXPERIMENTS)[:2]
    ['isbi2012-paper', 'isbi2012-pilot']
    >>> load_record("isbi2012-reference")["metrics"]["rand"]  # doctest: +SKIP
"""

from __future__ import annotations

from .cli import add_experiment_command
from .evaluation import evaluate_isbi2012
from .registry import EXPERIMENTS, Arm, Experiment
from .summary import arm_summary, summary_rows
from .runner import (
    TOLERANCE,
    check_experiment,
    load_record,
    load_result_model,
    machine_info,
    rescore_experiment,
    results_dir,
    run_experiment,
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
    "rescore_experiment",
    "check_experiment",
    "load_record",
    "load_result_model",
    "machine_info",
    "add_experiment_command",
    "arm_summary",
    "summary_rows",
    "TIMINGS",
    "MIN_SPEEDUP",
    "record_speed_512",
    "check_timing",
]
