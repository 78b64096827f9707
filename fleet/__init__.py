"""Fleet operations: onboarding customers, promoting releases across customer stacks,
CI helpers and the plan benchmark (the deploy-time estimate the plan prints is
offline/report/deploy_time.py).

Layer (.importlinter): the top floor, beside tools (neither imports the other). fleet
may import every package below (offline, policies, components, builders, stackconfig,
derive); nothing in the project imports fleet but the tests.
"""
