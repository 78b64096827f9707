"""Re-render the reviewed manifest snapshots (tests/snapshots/) from the offline plan.

    python -m tools.snapshots      (make snapshots)

Review the `git diff` before committing: it is exactly what changes in the cluster.
"""

from __future__ import annotations

from offline import plan
from offline.report import artefacts as report
from offline.run.stackfile import ROOT

SNAPSHOT_STACKS = ("acme",)


def main() -> int:
    planner = plan.Planner()
    for stack in SNAPSHOT_STACKS:
        result = planner.plan(stack)
        if result.run is None:
            print(f"{stack}: does not plan: {result.problems}")
            return result.exit_code
        path = ROOT / "tests" / "snapshots" / f"{stack}-manifests.yaml"
        path.write_text(report.render_yaml(report.kubernetes_objects(result.run)), encoding="utf-8")
        print(f"wrote {path.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
