"""Pure derivations from configuration values, shared by the config model and the builders.

What lives here: the base of every per-customer AWS name and the AWS name-length
limits it must fit (`names`), the VPC subnet plan (`network`) and the node group's AMI
type (`eks`). The config model (stackconfig/) calls them to refuse a configuration
before anything is registered; the builders call the same functions to build what the
configuration describes, so the two can never disagree.

This is the ground floor, below stackconfig: it imports only the standard library, and
any package of the project may import it (builders/ re-exports these names where they
used to live). Nothing here reads config, registers resources or does I/O.
"""
