"""Command line of the course package: ``python -m unet_tutorial <command> …``.

Commands register themselves on the sub-parsers (one ``add_<name>_command``
function per module), so this file stays a thin dispatcher.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from .doctor import add_doctor_command
from .experiments import add_experiment_command
from .export import add_export_command
from .predict import add_predict_command
from .train import add_train_command


def build_parser() -> argparse.ArgumentParser:
    """The ``unet_tutorial`` argument parser with every subcommand registered."""
    parser = argparse.ArgumentParser(
        prog="python -m unet_tutorial",
        description="The U-Net course package (Ronneberger, Fischer & Brox 2015).",
    )
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    add_predict_command(subparsers)
    add_train_command(subparsers)
    add_experiment_command(subparsers)
    add_doctor_command(subparsers)
    add_export_command(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Parse ``argv`` (default ``sys.argv[1:]``), run the command, return its exit code."""
    args = build_parser().parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
