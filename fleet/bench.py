"""Benchmark of the offline plan (`make bench`): time and peak memory.

    python -m fleet.bench [--stack acme] [--runs 3] [--sizes 1,10,50] [--out out/bench]

Every measurement is a fresh `python -m offline.plan ...` subprocess, exactly what
`make plan` / `make plan-all` run, so interpreter start and imports (the Pulumi SDKs)
are included; a warm-up run first fills the bytecode caches. Peak memory is the child's
maximum resident set size (`os.wait4` rusage). A customer stack's plan includes its
platform stack's plan (the StackReference is answered from it).

plan-all is measured over N generated customer stacks (made by fleet.onboard) plus the
platform stack they run on, in a temporary copy of the project's stack directory.

Targets: one customer stack plans in under 3 s; 50 stacks take no more than 50 times
one stack. Writes out/bench/report.md and out/bench/report.json.
"""

from __future__ import annotations

import argparse
import json
import os
import platform as host
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Optional

from offline.run.stackfile import ROOT, stack_path

from .onboard import onboard

ONE_STACK_TARGET_SECONDS = 3.0
PLATFORM = "platform"


@dataclass(frozen=True)
class Measurement:
    seconds: float
    peak_rss_mib: float
    exit_code: int


def measure(argv: Sequence[str], cwd: Path = ROOT) -> Measurement:
    """Wall time and peak RSS of one child process (its output is discarded)."""
    started = time.perf_counter()
    child = subprocess.Popen(list(argv), cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _, status, usage = os.wait4(child.pid, 0)
    seconds = time.perf_counter() - started
    child.returncode = os.waitstatus_to_exitcode(status)
    # Linux reports ru_maxrss in KiB.
    return Measurement(round(seconds, 3), round(usage.ru_maxrss / 1024, 1), child.returncode)


def plan_command(stacks: Sequence[str], root: Path, out: Path) -> list[str]:
    names = list(stacks) if stacks else ["--all"]
    return [sys.executable, "-m", "offline.plan", *names, "--root", str(root), "--out", str(out)]


def generated_root(count: int, into: Path, source: Path = ROOT) -> list[str]:
    """A project copy with the platform stack and `count` onboarded customers on it."""
    shutil.copy(source / "Pulumi.yaml", into / "Pulumi.yaml")
    config_dir = into / stack_path(PLATFORM, source).parent.relative_to(source)
    config_dir.mkdir(parents=True)
    shutil.copy(stack_path(PLATFORM, source), config_dir / stack_path(PLATFORM, source).name)
    names = [f"bench{index:03d}" for index in range(1, count + 1)]
    for name in names:
        onboard(name, f"{name}.example.com", into, tag="v1.2.0")
    return names


def run_bench(stack: str, runs: int, sizes: Sequence[int]) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="bench-") as scratch:
        work = Path(scratch)
        single_cmd = plan_command([stack], ROOT, work / "out-single")
        measure(single_cmd)  # warm-up: bytecode caches, page cache
        singles = [measure(single_cmd) for _ in range(runs)]
        failed = [m for m in singles if m.exit_code != 0]
        if failed:
            raise SystemExit(f"bench: `{' '.join(single_cmd)}` exited {failed[0].exit_code}")
        one = statistics.median(m.seconds for m in singles)
        fleet = []
        for size in sizes:
            root = work / f"fleet-{size}"
            root.mkdir()
            generated_root(size, root)
            result = measure(plan_command([], root, root / "out"))
            if result.exit_code != 0:
                raise SystemExit(f"bench: plan-all over {size} generated stacks exited {result.exit_code}")
            fleet.append({"customers": size, "stacks": size + 1, **asdict(result),
                          "perCustomerSeconds": round(result.seconds / size, 3)})
    largest = max(fleet, key=lambda f: int(f["customers"])) if fleet else None
    return {
        "machine": {"cpus": os.cpu_count(), "python": host.python_version(), "platform": host.platform()},
        "method": "fresh subprocess per measurement (interpreter start and imports included), after one warm-up",
        "oneStack": {
            "stack": stack,
            "runs": [asdict(m) for m in singles],
            "medianSeconds": one,
            "peakRssMib": max(m.peak_rss_mib for m in singles),
            "targetSeconds": ONE_STACK_TARGET_SECONDS,
            "meetsTarget": one < ONE_STACK_TARGET_SECONDS,
        },
        "planAll": fleet,
        "linear": None if largest is None else {
            "customers": largest["customers"],
            "seconds": largest["seconds"],
            "limitSeconds": round(int(largest["customers"]) * one, 3),
            "meetsTarget": float(largest["seconds"]) <= int(largest["customers"]) * one,
        },
    }


def report_markdown(data: dict[str, Any]) -> str:
    one = data["oneStack"]
    lines = [
        "# Offline plan benchmark",
        "",
        f"Machine: {data['machine']['cpus']} CPUs, Python {data['machine']['python']}, {data['machine']['platform']}.",
        f"Method: {data['method']}.",
        "",
        f"## One customer stack (`python -m offline.plan {one['stack']}`, includes its platform's plan)",
        "",
        "| run | seconds | peak RSS (MiB) |",
        "|---|---:|---:|",
    ]
    for index, run in enumerate(one["runs"], start=1):
        lines.append(f"| {index} | {run['seconds']:.2f} | {run['peak_rss_mib']:.0f} |")
    verdict = "meets" if one["meetsTarget"] else "MISSES"
    lines += [
        "",
        f"Median {one['medianSeconds']:.2f} s, peak {one['peakRssMib']:.0f} MiB: {verdict} the "
        f"< {one['targetSeconds']:.0f} s target.",
        "",
        "## plan-all over generated customer stacks (`python -m offline.plan --all`, + the platform stack)",
        "",
        "| customers | stacks | seconds | per customer | peak RSS (MiB) |",
        "|---:|---:|---:|---:|---:|",
    ]
    for row in data["planAll"]:
        lines.append(f"| {row['customers']} | {row['stacks']} | {row['seconds']:.2f} | "
                     f"{row['perCustomerSeconds']:.2f} | {row['peak_rss_mib']:.0f} |")
    linear = data["linear"]
    if linear is not None:
        verdict = "meets" if linear["meetsTarget"] else "MISSES"
        lines += ["", f"{linear['customers']} stacks: {linear['seconds']:.2f} s against a limit of "
                      f"{linear['customers']} × one stack = {linear['limitSeconds']:.2f} s: {verdict} the target."]
    return "\n".join(lines) + "\n"


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m fleet.bench", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--stack", default="acme", help="the customer stack timed alone (default acme)")
    parser.add_argument("--runs", type=int, default=3, help="measurements of the single stack (median taken)")
    parser.add_argument("--sizes", default="1,10,50", help="generated fleet sizes for plan-all")
    parser.add_argument("--out", type=Path, default=ROOT / "out" / "bench", help="report directory")
    args = parser.parse_args(argv)
    sizes = [int(s) for s in args.sizes.split(",") if s.strip()]
    data = run_bench(args.stack, args.runs, sizes)
    args.out.mkdir(parents=True, exist_ok=True)
    markdown = report_markdown(data)
    (args.out / "report.md").write_text(markdown, encoding="utf-8")
    (args.out / "report.json").write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
    print(markdown, end="")
    print(f"Wrote {args.out / 'report.md'} and {args.out / 'report.json'}")
    missed = missed_targets(data)
    if missed:
        print("bench: MISSED " + "; ".join(missed), file=sys.stderr)
        return EXIT_MISSED
    return 0


EXIT_MISSED = 1


def missed_targets(data: dict[str, Any]) -> list[str]:
    """The targets the report misses: `make bench` fails on any of them."""
    missed = []
    one = data["oneStack"]
    if not one["meetsTarget"]:
        missed.append(f"one stack took {one['medianSeconds']:.2f} s (target < {one['targetSeconds']:.0f} s)")
    linear = data["linear"]
    if linear is not None and not linear["meetsTarget"]:
        missed.append(f"{linear['customers']} stacks took {linear['seconds']:.2f} s "
                      f"(limit {linear['limitSeconds']:.2f} s)")
    return missed


if __name__ == "__main__":
    sys.exit(main())
