"""The planner: reads a stack, validates its configuration, runs the program under the
mock runtime and checks the recorded plan. StackReferences are answered from the
referenced stack's own plan in this run, from its outputs kept by an earlier plan of
the same inputs (offline/run/outputs_cache.py), or from a fixture."""

from __future__ import annotations

import json
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Optional

from offline.check import capacity
from offline.check.checks import Violation, check_plan
from offline.check.fleet_checks import FleetEntry, FleetProblem, check_fleet, load_configs, problems_for
from offline.check.policy_check import evaluate_policies
from offline.run.outputs_cache import OutputsCache, entry_key
from offline.run.runner import PlanRun, ProgramConfigError, StackOutput, run_program
from offline.run.stackfile import ROOT, StackFile, StackFileError, read_stack, stack_path
from stackconfig import ConfigError, StackConfig, load_config, platform_problems

EXIT_OK, EXIT_VIOLATIONS, EXIT_CONFIG, EXIT_PROGRAM = 0, 1, 2, 3
EXIT_MEANINGS = {
    EXIT_OK: "clean",
    EXIT_VIOLATIONS: "validation or mandatory-policy violations",
    EXIT_CONFIG: "bad configuration or stack file",
    EXIT_PROGRAM: "the program failed (a bug)",
}
FIXTURES = Path(__file__).resolve().parent / "fixtures"


@dataclass
class PlanResult:
    stack: str
    exit_code: int
    run: Optional[PlanRun] = None
    problems: list[str] = field(default_factory=list)
    violations: list[Violation] = field(default_factory=list)
    policy_violations: list[Violation] = field(default_factory=list)
    kubernetes_version: str = ""
    capacity: Optional[capacity.CapacityReport] = None


class Planner:
    """Plans stacks, answering StackReferences from the referenced stack's own plan."""

    def __init__(self, root: Path = ROOT, out_dir: Optional[Path] = None, reuse_outputs: bool = True) -> None:
        self.root = root
        self.out_dir = out_dir if out_dir is not None else root / "out"
        # A platform's outputs from an earlier plan of the same inputs (offline/run/outputs_cache.py).
        self.outputs_cache = OutputsCache(self.out_dir / ".cache" / "platform-outputs") if reuse_outputs else None
        self._runs: dict[str, PlanResult] = {}
        self._results: dict[str, PlanResult] = {}
        self._fleet: Optional[list[FleetProblem]] = None
        # Every stack file, read and validated once (_load): those that validate, and
        # each one's configuration (None: it does not validate).
        self._entries: list[FleetEntry] = []
        self._configs: Optional[dict[str, Optional[StackConfig]]] = None
        # Each stack file as read once (or why it does not read), and each platform's
        # outputs as loaded once from the outputs cache (None: not there, or stale):
        # a fleet's customers all ask for the same platform's.
        self._stack_files: dict[str, StackFile | StackFileError] = {}
        self._loaded_outputs: dict[str, Optional[dict[str, StackOutput]]] = {}

    def prepare(self, stack: str) -> None:
        """Run `stack`'s program (no checks), so that its outputs are at hand for the
        StackReferences of its customers."""
        self._run(stack)

    def forget(self, stack: str) -> None:
        """Drop what this planner holds of `stack`'s plan (a worker, between stacks)."""
        self._results.pop(stack, None)
        self._runs.pop(stack, None)

    def _load(self) -> dict[str, Optional[StackConfig]]:
        if self._configs is None:
            loaded = load_configs(self.root, read=lambda stack, _root: self._read(stack))
            self._entries = [entry for entry in loaded.values() if entry is not None]
            self._configs = {stack: entry.config if entry is not None else None for stack, entry in loaded.items()}
        return self._configs

    def fleet_problems(self) -> list[FleetProblem]:
        """Clashes between this project's stack files (offline/check/fleet_checks.py), found once."""
        if self._fleet is None:
            self._load()
            self._fleet = check_fleet(self._entries)
        return self._fleet

    def stack_configs(self) -> dict[str, Optional[StackConfig]]:
        """Every stack file's validated configuration (None: it does not validate)."""
        return self._load()

    def plan(self, stack: str) -> PlanResult:
        if stack not in self._results:
            ran = self._run(stack)
            # A platform's plan judges its customers as a fleet too. Only here, not in
            # _run: the customers read the platform's outputs through _run, and one
            # customer's clash must not stop the others' plans.
            theirs = [p for p in problems_for(stack, self.fleet_problems(), self._entries)
                      if stack not in p.stacks] if ran.run is not None else []
            self._results[stack] = (PlanResult(stack, EXIT_CONFIG, problems=[str(p) for p in theirs]) if theirs
                                    else self._check(ran))
        return self._results[stack]

    def _run(self, stack: str) -> PlanResult:
        """Read, validate and run the stack's program; no checks yet (a stack read only
        for its outputs, through a StackReference, needs none)."""
        if stack not in self._runs:
            self._runs[stack] = self._run_uncached(stack)
        return self._runs[stack]

    def _read(self, stack: str) -> StackFile:
        if stack not in self._stack_files:
            try:
                self._stack_files[stack] = read_stack(stack, self.root)
            except StackFileError as exc:
                self._stack_files[stack] = exc
        read = self._stack_files[stack]
        if isinstance(read, StackFileError):
            raise read
        return read

    def _run_uncached(self, stack: str) -> PlanResult:
        try:
            stack_file = self._read(stack)
        except StackFileError as exc:
            return PlanResult(stack, EXIT_CONFIG, problems=[str(exc)])
        # Validated once with every stack file, for the fleet checks; validated here
        # only to report what is wrong with it.
        config = self._load().get(stack)
        if config is None:
            try:
                config = load_config(stack_file.config, stack_file.secret_keys)
            except ConfigError as exc:
                return PlanResult(stack, EXIT_CONFIG, problems=[str(p) for p in exc.problems])
        if stack_file.plaintext_secrets:
            return PlanResult(stack, EXIT_CONFIG, problems=[str(p) for p in stack_file.plaintext_secrets])
        clashes = problems_for(stack, self.fleet_problems())
        if clashes:
            return PlanResult(stack, EXIT_CONFIG, problems=[str(p) for p in clashes])
        references = self._references(config)
        if config.tenant is not None and config.tenant.platform is not None:
            outputs = references.get(config.tenant.platform.stack, {})
            mismatch = platform_problems(config, {k: v.value for k, v in outputs.items()})
            if mismatch:
                return PlanResult(stack, EXIT_CONFIG, problems=[str(p) for p in mismatch])
        try:
            run = run_program(stack_file, config.region, references)
        except ProgramConfigError as exc:
            return PlanResult(stack, EXIT_CONFIG, problems=[str(p) for p in exc.error.problems])
        if config.platform is not None and self.outputs_cache is not None:
            self.outputs_cache.store(stack, self._cache_key(stack_file), run.outputs)
            self._loaded_outputs.pop(stack, None)
        return PlanResult(stack, EXIT_OK, run=run, kubernetes_version=_kubernetes_version(config, references),
                          capacity=capacity.for_stack(stack, config, self.stack_configs()))

    @staticmethod
    def _check(ran: PlanResult) -> PlanResult:
        if ran.run is None:
            return ran
        violations = check_plan(ran.run, ran.kubernetes_version)
        policy_violations = evaluate_policies(ran.run)
        failed = bool(violations or policy_violations or (ran.capacity and ran.capacity.failed))
        return replace(ran, exit_code=EXIT_VIOLATIONS if failed else EXIT_OK, violations=violations,
                       policy_violations=policy_violations)

    def _references(self, config: StackConfig) -> dict[str, dict[str, StackOutput]]:
        names = []
        if config.tenant is not None and config.tenant.platform is not None:
            names.append(config.tenant.platform.stack)
        return {name: self.reference_outputs(name) for name in names}

    def reference_outputs(self, qualified: str) -> dict[str, StackOutput]:
        """Outputs of `<org>/<project>/<stack>`: the local stack's own offline plan when
        its stack file is here, otherwise the fixture offline/fixtures/<stack>.json."""
        stack = qualified.rsplit("/", 1)[-1]
        if stack_path(stack, self.root).exists():
            cached = self._cached_outputs(stack)
            if cached is not None:
                return cached
            result = self._run(stack)
            if result.run is None:
                raise StackFileError(
                    f"stack reference {qualified}: its stack {stack!r} does not plan: "
                    + "; ".join(result.problems)
                )
            return result.run.outputs
        fixture = FIXTURES / f"{stack}.json"
        if not fixture.exists():
            raise StackFileError(
                f"stack reference {qualified}: no stacks/Pulumi.{stack}.yaml and no fixture "
                f"offline/fixtures/{stack}.json to answer it"
            )
        data = json.loads(fixture.read_text(encoding="utf-8"))
        secret = set(data.get("secretOutputNames", []))
        return {k: StackOutput(v, k in secret) for k, v in data["outputs"].items()}


    def has_fresh_outputs(self, stack: str) -> bool:
        """Whether an earlier plan of the same inputs kept `stack`'s outputs."""
        return self._cached_outputs(stack) is not None

    def _cache_key(self, stack_file: StackFile) -> str:
        return entry_key(stack_file, (self.root / "Pulumi.yaml").read_bytes())

    def _cached_outputs(self, stack: str) -> Optional[dict[str, StackOutput]]:
        """The stack's outputs from an earlier plan of the same inputs, unless this run
        planned it already (then those) or a fleet clash now stops it from planning."""
        if self.outputs_cache is None or stack in self._runs or problems_for(stack, self.fleet_problems()):
            return None
        if stack not in self._loaded_outputs:
            try:
                stack_file = self._read(stack)
            except StackFileError:
                return None
            self._loaded_outputs[stack] = self.outputs_cache.load(stack, self._cache_key(stack_file))
        return self._loaded_outputs[stack]


def _kubernetes_version(config: StackConfig, references: dict[str, dict[str, StackOutput]]) -> str:
    if config.tenant is not None and config.tenant.platform is not None:
        platform = references.get(config.tenant.platform.stack, {})
        version = platform.get("kubernetesVersion")
        if version is not None:
            return str(version.value)
    return config.kubernetes_version
