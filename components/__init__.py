"""Pulumi component resources, one per file, named after what they own.

Each takes `(name, args, opts=None)` with typed args, names its children
`f"{name}-<role>"` with `parent=self`, and calls `register_outputs` once, last.
Importing a module here never creates a resource.
"""
