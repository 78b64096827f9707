"""Stack selection for the CI workflows (prints a JSON list for a job matrix).

    python -m fleet.ci changed origin/main     # stacks a pull request's changes affect
    python -m fleet.ci role platform           # stacks of one role (platform or tenant)

A change to a stack file affects that stack; a change to anything the program runs
(`__main__.py`, components/, builders/, stackconfig/, Pulumi.yaml, requirements.txt,
schemas/) affects every stack; documentation, tests, the offline plan tooling and the
workflows themselves affect none.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Optional

import yaml

from offline.run.stackfile import ROOT, stack_names, stack_path

# Paths that never change what a stack deploys.
_INERT_PREFIXES = ("docs/", "tests/", "offline/", "tools/", "fleet/", ".github/", ".ci/", "out/")
_INERT_FILES = ("requirements-dev.txt", "Makefile", "pyproject.toml", ".gitignore")


def stacks_to_preview(changed: Iterable[str], stacks: Sequence[str], config_dir: str = "stacks") -> list[str]:
    selected: set[str] = set()
    for path in changed:
        name = Path(path).name
        if path.startswith(f"{config_dir}/"):
            if name.startswith("Pulumi.") and name.endswith(".yaml"):
                stack = name[len("Pulumi."):-len(".yaml")]
                if stack in stacks:  # a deleted stack file has nothing to preview
                    selected.add(stack)
            continue
        if path.endswith(".md") or path.startswith(_INERT_PREFIXES) or path in _INERT_FILES:
            continue
        return sorted(stacks)
    return sorted(selected)


def stacks_of_role(role: str, root: Path = ROOT) -> list[str]:
    key = f"datafly:{role}"
    found = []
    for stack in stack_names(root):
        document = yaml.safe_load(stack_path(stack, root).read_text(encoding="utf-8")) or {}
        if key in (document.get("config") or {}):
            found.append(stack)
    return found


def _changed_files(base: str, root: Path) -> list[str]:
    output = subprocess.run(["git", "diff", "--name-only", f"{base}...HEAD"], cwd=root,
                            check=True, capture_output=True, text=True).stdout
    return [line for line in output.splitlines() if line]


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m fleet.ci", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)
    changed = commands.add_parser("changed", help="stacks affected by the changes since BASE")
    changed.add_argument("base", help="git ref the pull request merges into, e.g. origin/main")
    role = commands.add_parser("role", help="stacks of a role")
    role.add_argument("role", choices=("platform", "tenant"))
    args = parser.parse_args(argv)
    if args.command == "changed":
        config_dir = stack_path("x", ROOT).parent.relative_to(ROOT).as_posix()
        print(json.dumps(stacks_to_preview(_changed_files(args.base, ROOT), stack_names(ROOT), config_dir)))
    else:
        print(json.dumps(stacks_of_role(args.role, ROOT)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
