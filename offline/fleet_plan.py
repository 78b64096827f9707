"""Planning many stacks at once (`make plan-all`, `plan a b c`) over worker processes, one
per core (offline/run/workers.py). A platform's program runs first, in this process,
unless an earlier plan of the same inputs kept its outputs: the workers forked after it
read its customers' StackReferences from it, so no platform is planned twice.

Each stack's plan is printed as it finishes; a progress bar shows on a terminal, and
plain lines go to logs (CI). A table of every stack ends the run, and the exit code is
the worst stack's.
"""

from __future__ import annotations

import io
import os
import sys
import time
import traceback
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Callable, Optional, TextIO

from offline.planner import EXIT_CONFIG, EXIT_OK, EXIT_PROGRAM, Planner, PlanResult
from offline.report.printed import print_result, problem_summary, summary_table
from offline.run.stackfile import StackFileError
from offline.run.workers import map_unordered


@dataclass(frozen=True)
class StackReport:
    """One stack's plan as printed, small enough to send back from a worker."""

    stack: str
    exit_code: int
    problems: str
    out: str
    err: str
    seconds: float


def plan_and_print(planner: Planner, stack: str) -> StackReport:
    """Plan `stack`, write its artefacts, and return what its plan prints."""
    started = time.perf_counter()
    out, err = io.StringIO(), io.StringIO()
    try:
        result = planner.plan(stack)
    except StackFileError as exc:
        result = PlanResult(stack, EXIT_CONFIG, problems=[str(exc)])
    except Exception:  # noqa: BLE001 - a program bug: show it, exit 3
        traceback.print_exc(file=err)
        result = PlanResult(stack, EXIT_PROGRAM, problems=["the program failed; see the traceback above"])
    print_result(result, out, err, planner.out_dir, planner.root)
    return StackReport(stack, result.exit_code, problem_summary(result), out.getvalue(), err.getvalue(),
                       time.perf_counter() - started)


def platforms_first(planner: Planner, names: Sequence[str]) -> tuple[list[str], list[str], list[str]]:
    """(platform stacks among `names`, the others, and the local platforms those others
    run on that are not among `names`), from the configurations the planner read once."""
    configs = planner.stack_configs()
    platforms = [n for n in names if (config := configs.get(n)) is not None and config.platform is not None]
    customers = [n for n in names if n not in platforms]
    referenced = {config.tenant.platform.stack.rsplit("/", 1)[-1] for n in customers
                  if (config := configs.get(n)) is not None and config.tenant is not None
                  and config.tenant.platform is not None}
    return platforms, customers, sorted(p for p in referenced - set(platforms) if p in configs)


class Display:
    """Progress on a terminal (rich), plain lines otherwise; each stack's plan printed whole."""

    def __init__(self, total: int, out: TextIO, err: TextIO) -> None:
        self.total, self.done, self.out, self.err = total, 0, out, err
        self.progress = None
        if out.isatty() and not os.environ.get("CI"):
            from rich.console import Console
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

            self.progress = Progress(TextColumn("planning"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                                     TextColumn("{task.description}"), console=Console(file=out))
            self.task = self.progress.add_task("", total=total)

    @contextmanager
    def shown(self) -> Iterator[Display]:
        if self.progress is None:
            yield self
            return
        with self.progress:
            yield self

    def stack_done(self, report: StackReport) -> None:
        self.done += 1
        header = f"=== {report.stack} === [{self.done}/{self.total}, exit {report.exit_code}, {report.seconds:.1f} s]"
        if self.progress is not None:
            console = self.progress.console
            console.out(header + "\n" + report.out, highlight=False, end="")
            if report.err:
                console.out(report.err, highlight=False, end="")
            self.progress.update(self.task, advance=1, description=report.stack)
            return
        print(header, file=self.out)
        self.out.write(report.out)
        self.out.flush()
        if report.err:
            self.err.write(report.err)
            self.err.flush()


def plan_stacks(planner: Planner, names: Sequence[str], jobs: int,
                out: Optional[TextIO] = None, err: Optional[TextIO] = None) -> int:
    """Plan `names` on `jobs` workers, the platforms' programs run here first; print each
    stack as it finishes and a summary table at the end. Returns the worst exit code."""
    started = time.perf_counter()
    out, err = out or sys.stdout, err or sys.stderr
    platforms, customers, others = platforms_first(planner, names)
    # A platform whose outputs an earlier plan of the same inputs kept need not run
    # before its customers start. On the workers, platforms go first: they take longest.
    first = [p for p in platforms if not planner.has_fresh_outputs(p)]
    pooled = platforms + customers
    display = Display(len(names), out, err)
    reports: dict[str, StackReport] = {}
    with display.shown():
        for name in first:
            # Only its program, here: its outputs are what the customers wait for. Its
            # checks and its capacity judgement run on a worker, beside its customers.
            try:
                planner.prepare(name)
            except Exception:  # noqa: BLE001 - its worker plans it again and reports the failure
                pass
        # A customer's platform that is not planned here is read once here too (from the
        # outputs cache, or planned), so that no worker plans it again.
        for platform in others:
            try:
                planner.reference_outputs(platform)
            except StackFileError:
                pass  # each of its customers reports it
        task: Callable[[str], StackReport] = lambda name: _pooled(planner, name)  # noqa: E731
        for report in map_unordered(task, pooled, jobs):
            reports[report.stack] = report
            display.stack_done(report)
    print(file=out)
    for line in summary_table([(n, reports[n].exit_code, reports[n].problems) for n in names]):
        print(line, file=out)
    workers = min(jobs, len(pooled)) if len(pooled) > 1 else 1
    print(f"Planned {len(names)} stacks in {time.perf_counter() - started:.1f} s on {workers} worker(s) "
          f"({len(first)} platform program(s) run first for their customers).", file=out)
    return max((r.exit_code for r in reports.values()), default=EXIT_OK)


def _pooled(planner: Planner, name: str) -> StackReport:
    try:
        return plan_and_print(planner, name)
    finally:
        # Nothing of a stack's plan outlives it in a worker: memory stays flat (its
        # platform's outputs are in this planner, or in the outputs cache).
        planner.forget(name)
