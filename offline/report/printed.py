"""What a plan prints: the preview tree, summary, deploy-time estimate, outputs,
capacity and the checks' verdicts of one stack, and the table that ends a plan of
many."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import TextIO

from offline.check.behaviour import warnings as behaviour_warnings
from offline.check.checks import cel_report
from offline.planner import EXIT_CONFIG, EXIT_MEANINGS, EXIT_OK, PlanResult
from offline.report import artefacts as report
from offline.report.deploy_time import deploy_time_lines
from policies import POLICIES


def print_result(result: PlanResult, out: TextIO, err: TextIO, out_dir: Path, root: Path) -> None:
    if result.run is None:
        what = "invalid stack configuration" if result.exit_code == EXIT_CONFIG else "plan failed"
        print(f"error: stack {result.stack}: {what}:", file=err)
        for line in result.problems:
            print(f"  {line}", file=err)
        report.mark_failed(out_dir / result.stack, result.exit_code, EXIT_MEANINGS[result.exit_code], result.problems)
        return
    run = result.run
    print(f"Previewing update ({run.stack.project}/{run.stack.stack}) offline, under the mock runtime:", file=out)
    print(file=out)
    for line in report.tree_lines(run):
        print(line, file=out)
    print(file=out)
    for line in report.summary_lines(run):
        print(line, file=out)
    print(file=out)
    for line in deploy_time_lines(run):
        print(line, file=out)
    print(file=out)
    if run.outputs:
        print("Outputs:", file=out)
        width = max(len(k) for k in run.outputs) + 2
        for key, output in sorted(run.outputs.items()):
            shown = "[secret]" if output.secret else json.dumps(output.value)
            print(f"    {key.ljust(width)}{shown}", file=out)
        print(file=out)
    if result.capacity is not None:
        print(result.capacity.title, file=out)
        for line in result.capacity.lines:
            print(line, file=out)
        for line in result.capacity.warnings:
            print(f"  warning: {line}", file=out)
        for line in result.capacity.errors:
            print(f"  error: {line}", file=out)
        print(file=out)
    paths = report.write_outputs(run, out_dir / result.stack)
    print("Wrote " + ", ".join(str(p.relative_to(root)) if p.is_relative_to(root) else str(p)
                              for p in paths.values()), file=out)
    for line in behaviour_warnings(run):
        print(line, file=out)
    if result.violations:
        print(f"\n{len(result.violations)} validation violation(s):", file=out)
        for violation in result.violations:
            print(f"  {violation}", file=out)
    else:
        print("Validation: every Kubernetes object and plan rule passed.", file=out)
    print(cel_report(run).summary() + ".", file=out)
    if result.policy_violations:
        print(f"\n{len(result.policy_violations)} mandatory policy violation(s) (policy pack policies/):", file=out)
        for violation in result.policy_violations:
            print(f"  policy {violation.path}: {violation.obj}: {violation.message}", file=out)
    else:
        print(f"Policies: all {len(POLICIES)} policies of the pack passed.", file=out)


def problem_summary(result: PlanResult) -> str:
    parts = []
    if result.problems:
        parts.append(f"{len(result.problems)} config problem(s)" if result.exit_code == EXIT_CONFIG
                     else "; ".join(result.problems))
    if result.violations:
        parts.append(f"{len(result.violations)} validation violation(s)")
    if result.policy_violations:
        parts.append(f"{len(result.policy_violations)} policy violation(s)")
    if result.capacity is not None and result.capacity.failed:
        parts.append(f"{len(result.capacity.errors)} capacity error(s)")
    return ", ".join(parts) or "-"


def summary_table(rows: Sequence[tuple[str, int, str]]) -> list[str]:
    """The end of a multi-stack plan: one row per stack (name, exit code, problem summary),
    then one line that says passed only when every stack did."""
    width = max([len("stack"), *(len(stack) for stack, _, _ in rows)]) + 2
    lines = [f"{'stack'.ljust(width)}exit  problems"]
    lines += [f"{stack.ljust(width)}{str(code).ljust(6)}{problems}" for stack, code, problems in rows]
    failed = [stack for stack, code, _ in rows if code != EXIT_OK]
    worst = max((code for _, code, _ in rows), default=EXIT_OK)
    if failed:
        lines.append(f"FAILED: {len(failed)} of {len(rows)} stacks ({', '.join(failed)}); "
                     f"exit {worst} ({EXIT_MEANINGS[worst]})")
    else:
        lines.append(f"All {len(rows)} stacks planned clean: validation and all {len(POLICIES)} policies passed.")
    return lines
