"""Datafly Signal on AWS: one Pulumi stack per environment (`datafly:platform`) or per
customer (`datafly:tenant`).

    pulumi up --stack acme        # real deployment
    make plan STACK=acme          # the same program, offline, under the mock runtime
"""

import pulumi

from components.stack import deploy
from stackconfig import ConfigError, load_config
from stackconfig.pulumi_source import read_config

try:
    config = load_config(*read_config())
except ConfigError as exc:
    # RunError prints the message without a traceback; nothing is registered yet.
    raise pulumi.RunError("invalid stack configuration:\n" + str(exc)) from exc

for key, value in deploy(config).items():
    pulumi.export(key, value)
