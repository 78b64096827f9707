"""Pulumi component resources, one per file, named after what they own.

Each takes `(name, args, opts=None)` with typed args, names its children
`f"{name}-<role>"` with `parent=self`, and calls `register_outputs` once, last.
Importing a module here never creates a resource.

Layer (.importlinter): components import builders, stackconfig and derive, never
policies (side by side), offline, fleet or tools; the Pulumi program (`__main__.py`),
offline, fleet and tools may import them.
"""
