"""The offline plan: run the program for a stack under the mock runtime, print a
preview tree, write out/<stack>/, validate every Kubernetes object and evaluate the
policy pack (policies/) against every recorded resource.

    python -m offline.plan acme            # one stack
    python -m offline.plan --all           # every stacks/Pulumi.*.yaml, on every core

Exit codes: 0 clean, 1 validation or mandatory-policy violations, 2 bad configuration (or stack file),
3 the program itself failed (a bug: the traceback is printed).
"""

from __future__ import annotations

import gc
import sys

if __name__ == "__main__":
    # A plan is short-lived and its objects live until it ends: the cyclic collector
    # would only rescan them (a fifth of the run). Multi-stack plans collect between
    # stacks instead (offline/run/runner.py). Before the imports below, which allocate most.
    gc.disable()

import argparse
import os
from collections.abc import Sequence
from pathlib import Path
from typing import NoReturn, Optional

from offline.fleet_plan import StackReport, plan_and_print, plan_stacks
from offline.planner import EXIT_CONFIG, EXIT_MEANINGS, EXIT_OK, EXIT_PROGRAM, EXIT_VIOLATIONS, Planner, PlanResult
from offline.report.printed import print_result, summary_table
from offline.run.stackfile import ROOT, stack_names
from offline.run.workers import default_jobs

# The CLI's names, as tests and the fleet tools import them.
__all__ = ["EXIT_CONFIG", "EXIT_MEANINGS", "EXIT_OK", "EXIT_PROGRAM", "EXIT_VIOLATIONS", "Planner", "PlanResult",
           "StackReport", "main", "plan_and_print", "print_result", "summary_table"]


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m offline.plan", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("stacks", nargs="*", help="stack names (stacks/Pulumi.<name>.yaml)")
    parser.add_argument("--all", action="store_true", help="plan every stack file")
    parser.add_argument("--out", type=Path, default=ROOT / "out", help="output directory (default out/)")
    parser.add_argument("--fresh", action="store_true",
                        help="plan a customer's platform stack again even when its outputs from an "
                             "earlier plan of the same code and stack file are in out/.cache/")
    parser.add_argument("--jobs", type=int, default=default_jobs(),
                        help="worker processes for several stacks (default: one per core)")
    # Where Pulumi.yaml and the stack files are read from (tests point it elsewhere).
    parser.add_argument("--root", type=Path, default=ROOT, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    names: list[str] = stack_names(args.root) if args.all else list(args.stacks)
    if not names:
        parser.error("name a stack, or pass --all")
    planner = Planner(args.root, args.out, reuse_outputs=not args.fresh)
    if len(names) > 1:
        return plan_stacks(planner, names, args.jobs)
    report = plan_and_print(planner, names[0])
    sys.stdout.write(report.out)
    sys.stderr.write(report.err)
    return report.exit_code


def exit_without_teardown(code: int) -> NoReturn:
    """Exit once the output is flushed, skipping the interpreter's teardown: freeing
    every module of the provider SDKs object by object costs more than half a second,
    and a plan holds nothing that needs closing (its files are written and closed)."""
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


if __name__ == "__main__":
    exit_without_teardown(main())
