"""A platform's plan outputs, kept between plans so that a customer's plan reads them
instead of running the platform program again to answer its StackReference.

An entry is fresh only for the exact inputs that produced it: the platform's stack
configuration as the program receives it, the project file, and every file of the
program, its fabricators and its pinned requirements (`code_fingerprint`). Any change
to one of those is a miss, and the platform is planned again.

Secret outputs are never written: an entry records that they exist, with the
"[secret]" placeholder as value. No customer program reads one (a customer builds its
kubeconfig from the platform's plain outputs), and a plan's artefacts show secrets
redacted either way.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
from pathlib import Path
from typing import Any, Optional

from offline.run.runner import SECRET, StackOutput
from offline.run.stackfile import ROOT, StackFile

# What the program's outputs depend on, besides the stack file: its code and data, the
# mocks that fabricate provider outputs, and the pinned SDK versions.
CODE_PATHS = ("__main__.py", "requirements.txt", "components", "builders", "stackconfig", "derive",
              "offline/run", "schemas", "observability")
CODE_SUFFIXES = (".py", ".yaml", ".yml", ".json", ".txt")
FORMAT = 1


@functools.lru_cache(maxsize=4)
def code_fingerprint(root: Path = ROOT) -> str:
    digest = hashlib.sha256()
    for top in CODE_PATHS:
        path = root / top
        files = [path] if path.is_file() else sorted(p for p in path.rglob("*") if p.suffix in CODE_SUFFIXES
                                                       and "__pycache__" not in p.parts)
        for file in files:
            digest.update(str(file.relative_to(root)).encode() + b"\0" + file.read_bytes() + b"\0")
    return digest.hexdigest()


def entry_key(stack: StackFile, project_file: bytes) -> str:
    digest = hashlib.sha256(f"{FORMAT}\0{code_fingerprint()}\0".encode())
    digest.update(project_file)
    digest.update(json.dumps([stack.project, stack.stack, stack.config, sorted(stack.secret_keys)],
                             sort_keys=True).encode())
    return digest.hexdigest()


class OutputsCache:
    def __init__(self, directory: Path) -> None:
        self.directory = directory

    def _path(self, stack: str) -> Path:
        return self.directory / f"{stack}.json"

    def load(self, stack: str, key: str) -> Optional[dict[str, StackOutput]]:
        try:
            entry: dict[str, Any] = json.loads(self._path(stack).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        if entry.get("key") != key:
            return None
        return {name: StackOutput(o["value"], bool(o["secret"])) for name, o in entry["outputs"].items()}

    def store(self, stack: str, key: str, outputs: dict[str, StackOutput]) -> None:
        entry = {"key": key, "outputs": {name: {"value": SECRET if o.secret else o.value, "secret": o.secret}
                                         for name, o in sorted(outputs.items())}}
        self.directory.mkdir(parents=True, exist_ok=True)
        partial = self._path(stack).with_suffix(f".{os.getpid()}.tmp")
        partial.write_text(json.dumps(entry, indent=1, sort_keys=True) + "\n", encoding="utf-8")
        partial.replace(self._path(stack))  # atomic: a concurrent plan never reads half an entry
