"""Write one secret of a Helm values file to stdout, for a pipe into
`pulumi config set --secret` (the commands `make tenant` prints):

    .venv/bin/python -m fleet.secret_value values.yaml jwt.secret | \
        pulumi config set --secret --path 'datafly:tenant.secrets.jwtSecret' --stack hooli

The path is the one the values import names (`identityHub.env.ENCRYPTION_KEY` works for
both env forms). It refuses to write to a terminal, where the value would stay on screen
and in a log. Exit codes: 0 written; 2 refused (no such value, unreadable file, a terminal).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Optional

from .values_import import ValuesFileError, lookup, read_values

EXIT_OK, EXIT_REFUSED = 0, 2


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m fleet.secret_value", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("values", type=Path, help="the Helm values file")
    parser.add_argument("path", help="dotted path of the secret, e.g. jwt.secret")
    args = parser.parse_args(argv)
    if sys.stdout.isatty():
        print("error: refusing to print a secret to a terminal; pipe it into `pulumi config set --secret`",
              file=sys.stderr)
        return EXIT_REFUSED
    try:
        value = lookup(read_values(args.values), args.path)
    except ValuesFileError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_REFUSED
    except KeyError:
        print(f"error: values file {args.values} has no {args.path}", file=sys.stderr)
        return EXIT_REFUSED
    if not isinstance(value, str):
        print(f"error: {args.path} in {args.values} is not a string", file=sys.stderr)
        return EXIT_REFUSED
    # No newline: `pulumi config set` would keep it as part of the value.
    sys.stdout.write(value)
    return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
