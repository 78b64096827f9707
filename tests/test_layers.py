"""The package layers (.importlinter), checked by import-linter: no import runs up.

The contract is run against the project, against every package the project has, and
against small package trees with one forbidden import each, which it must refuse."""

from __future__ import annotations

import configparser
import subprocess
import sys
from pathlib import Path

import pytest

from offline.run.stackfile import ROOT

CONFIG = ROOT / ".importlinter"
# Outside every layer: the test suite may import anything.
NOT_LAYERED = {"tests"}


def _lint_imports(project: Path, config: Path = CONFIG) -> subprocess.CompletedProcess[str]:
    """`lint-imports --config <config>` run in `project` (import-linter puts the working
    directory first on the import path, so `project`'s packages are the ones analysed)."""
    return subprocess.run(
        [sys.executable, "-c", "from importlinter.cli import lint_imports_command; lint_imports_command()",
         "--config", str(config), "--no-cache", "--no-logo"],
        cwd=project, capture_output=True, text=True, timeout=120, check=False,
    )


def _config() -> configparser.ConfigParser:
    parser = configparser.ConfigParser()
    parser.read(CONFIG, encoding="utf-8")
    return parser


def _layers() -> list[list[str]]:
    """The contract's layers, top first; each a list of the packages side by side."""
    lines = _config()["importlinter:contract:layers"]["layers"].split("\n")
    return [[name.strip() for name in line.split("|")] for line in lines if line.strip()]


def test_the_project_keeps_its_layers() -> None:
    result = _lint_imports(ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Contracts: 1 kept, 0 broken." in result.stdout


def test_every_package_of_the_project_is_in_a_layer() -> None:
    packages = {path.parent.name for path in ROOT.glob("*/__init__.py")} - NOT_LAYERED
    root_packages = set(_config()["importlinter"]["root_packages"].split())
    layered = [name for layer in _layers() for name in layer]
    assert sorted(layered) == sorted(set(layered)), "a package sits in two layers"
    assert root_packages == packages
    assert set(layered) == packages


def _tree(tmp_path: Path, importer: str, imported: str) -> Path:
    """Every layered package, empty but for one module of `importer` importing `imported`."""
    for layer in _layers():
        for name in layer:
            (tmp_path / name).mkdir()
            (tmp_path / name / "__init__.py").write_text(f'"""Stand-in for {name}."""\n', encoding="utf-8")
    (tmp_path / importer / "uses.py").write_text(f"import {imported}.anything\n", encoding="utf-8")
    (tmp_path / imported / "anything.py").write_text("VALUE = 1\n", encoding="utf-8")
    return tmp_path


@pytest.mark.parametrize(
    ("importer", "imported"),
    [
        ("stackconfig", "builders"),  # the config model reaching for builders' helpers
        ("offline", "fleet"),  # the plan reaching for a fleet tool
        ("derive", "stackconfig"),  # the ground floor reaching up
        ("components", "policies"),  # side by side: independent
        ("tools", "fleet"),  # side by side: independent
    ],
)
def test_an_upward_or_sideways_import_breaks_the_contract(tmp_path: Path, importer: str, imported: str) -> None:
    result = _lint_imports(_tree(tmp_path, importer, imported))
    assert result.returncode == 1, result.stdout + result.stderr
    assert "Contracts: 0 kept, 1 broken." in result.stdout
    assert f"{importer}.uses -> {imported}.anything" in result.stdout


def test_a_downward_import_keeps_the_contract(tmp_path: Path) -> None:
    # The same tree and contract with an allowed import: the refusals above are the
    # import's direction, not the tree.
    result = _lint_imports(_tree(tmp_path, "fleet", "offline"))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Contracts: 1 kept, 0 broken." in result.stdout
