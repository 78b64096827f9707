"""Entry point of the policy pack when the Pulumi CLI runs it:

    pulumi preview --policy-pack policies

The CLI executes this file as a program (as `__main__`); `PolicyPack(...)` then serves
the policies to the engine over gRPC and does not return. Importing the `policies`
package elsewhere (the offline plan, the tests) never reaches this.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

from pulumi_policy import EnforcementLevel, PolicyPack


def _load_pack_package() -> ModuleType:
    """The pack's modules, imported as a package whatever the directory is called (a
    published pack is unpacked under a name of the service's choosing)."""
    here = Path(__file__).resolve().parent
    spec = importlib.util.spec_from_file_location(
        "datafly_policies", here / "__init__.py", submodule_search_locations=[str(here)]
    )
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot load the policy pack from {here}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


if __name__ == "__main__":
    pack = _load_pack_package()
    PolicyPack(
        name=pack.PACK_NAME,
        description=pack.PACK_DESCRIPTION,
        policies=list(pack.POLICIES),
        enforcement_level=EnforcementLevel.MANDATORY,
    )
