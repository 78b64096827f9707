"""Per-area output fabricators (`@outputs_for` / `@invoke_for`), one module each.

Every module here is imported by `offline.run.fabricate.load_fabricators()`.
"""
