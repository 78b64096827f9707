"""Fleet operations: onboarding customers, promoting releases across customer stacks,
CI helpers, the deploy-time estimate of a plan and the plan benchmark."""
