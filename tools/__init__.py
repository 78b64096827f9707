"""Project tools (documentation generation, the plan snapshots).

Layer (.importlinter): the top floor, beside fleet (neither imports the other). tools
may import every package below (offline, policies, components, builders, stackconfig,
derive); nothing in the project imports tools but the tests.
"""
