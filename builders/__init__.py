"""Pure functions that build Kubernetes manifests, Helm values and IAM documents.

Nothing here registers resources or reads config: every function takes typed values
and returns plain data, so it is unit-tested and rendered to YAML without a runtime.

Layer (.importlinter): builders import only stackconfig (the typed config values) and
derive (whose helpers some modules here re-export); components, policies, offline,
fleet and tools may import builders.
"""
