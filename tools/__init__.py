"""Project tools (documentation generation)."""
