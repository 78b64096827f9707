"""Read a YAML file a user hands us (a stack file, a Helm values file) so that hostile or
broken input fails fast, with one line naming the file and where:

- bytes that are not UTF-8 (even in a comment) or a NUL byte (a binary file): the byte offset;
- alias expansion is bounded: a "billion laughs" document is refused after composing its
  (small) node graph, before anything expands it, so time and memory stay bounded;
- a key given twice in one mapping, at any depth: its dotted path and both lines
  (PyYAML keeps the last one silently);
- recursive aliases (a node that contains itself).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Optional

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from builders.yaml_text import SAFE_LOADER

# Nodes a document may expand to once aliases are followed. The largest stack file here
# has a few hundred; a Helm values file a few thousand.
MAX_EXPANDED_NODES = 100_000
MAX_BYTES = 4 * 1024 * 1024


class YamlFileError(Exception):
    """One line: the file, what is wrong and where."""


def _decode(data: bytes, shown: str) -> str:
    nul = data.find(b"\x00")
    if nul >= 0:
        raise YamlFileError(f"{shown}: a binary file, not YAML (NUL byte at byte offset {nul})")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise YamlFileError(
            f"{shown}: not UTF-8 text: byte 0x{data[exc.start]:02x} at byte offset {exc.start} "
            f"(YAML files must be UTF-8, comments included)"
        ) from None


def _check_graph(node: Node, shown: str) -> None:
    """Count the nodes the document expands to (shared nodes once per use), refusing
    cycles and anything over the budget; check duplicate keys on the way."""
    sizes: dict[int, int] = {}
    checked: set[int] = set()

    def size(current: Node, path: str, active: set[int]) -> int:
        key = id(current)
        if key in sizes:
            return sizes[key]
        if key in active:
            raise YamlFileError(f"{shown}: line {current.start_mark.line + 1}: {path or 'the document'} "
                                "contains itself through an alias")
        total = 1
        if isinstance(current, (MappingNode, SequenceNode)):
            active.add(key)
            if isinstance(current, MappingNode):
                if key not in checked:
                    _duplicates(current, path, shown)
                    checked.add(key)
                children = [(f"{path}.{_label(k)}" if path else _label(k), k, v) for k, v in current.value]
                for child_path, k, v in children:
                    total += size(k, child_path, active) + size(v, child_path, active)
                    if total > MAX_EXPANDED_NODES:
                        break
            else:
                for index, item in enumerate(current.value):
                    total += size(item, f"{path}.{index}" if path else str(index), active)
                    if total > MAX_EXPANDED_NODES:
                        break
            active.discard(key)
        if total > MAX_EXPANDED_NODES:
            raise YamlFileError(
                f"{shown}: line {current.start_mark.line + 1}: aliases expand {path or 'the document'} to more than "
                f"{MAX_EXPANDED_NODES} nodes (an alias bomb?); refused before expanding it"
            )
        sizes[key] = total
        return total

    size(node, "", set())


def _label(node: Node) -> str:
    return str(node.value) if isinstance(node, ScalarNode) else "<complex key>"


def _duplicates(node: MappingNode, path: str, shown: str) -> None:
    seen: dict[tuple[str, str], int] = {}
    for key_node, _ in node.value:
        if not isinstance(key_node, ScalarNode) or key_node.tag == "tag:yaml.org,2002:merge":
            continue
        # Resolved tag + text: `1` and `"1"` are different keys, `a` twice is not.
        ident = (key_node.tag, key_node.value)
        line = key_node.start_mark.line + 1
        if ident in seen:
            full = f"{path}.{key_node.value}" if path else str(key_node.value)
            raise YamlFileError(f"{shown}: line {line}: duplicate key {full} (first at line {seen[ident]}); "
                                "YAML would silently keep the last one")
        seen[ident] = line


def loads(text: str, shown: str) -> Any:
    # libyaml's parser and composer build the same nodes, marks included, several times
    # faster than PyYAML's pure-Python ones; the constructor is PyYAML's safe one either way.
    try:
        return _load(SAFE_LOADER, text, shown)
    except yaml.YAMLError:
        # PyYAML's own parser words a syntax error more precisely (it names the
        # offending character): parse again with it to say what is wrong.
        try:
            _load(yaml.SafeLoader, text, shown)
        except yaml.YAMLError as precise:
            exc = precise
        raise YamlFileError(f"{shown} is not valid YAML: {' '.join(str(exc).split())}") from None


def _load(loader_class: Any, text: str, shown: str) -> Any:
    loader = loader_class(text)
    try:
        node: Optional[Node] = loader.get_single_node()
        if node is None:
            return None
        _check_graph(node, shown)
        return loader.construct_document(node)
    finally:
        loader.dispose()


def load_bytes(data: bytes, shown: str) -> Any:
    if len(data) > MAX_BYTES:
        raise YamlFileError(f"{shown}: {len(data)} bytes; larger than the {MAX_BYTES} bytes a YAML file here may have")
    return loads(_decode(data, shown), shown)


def load_file(path: Path, shown: Optional[str] = None) -> Any:
    """Parse one YAML document; raises YamlFileError (one line) or OSError."""
    with open(path, "rb") as handle:
        data = handle.read(MAX_BYTES + 1)
    return load_bytes(data, shown or str(path))
