"""``python -m eval``: the evaluation's commands without the rest of ``newsrag`` (the same as
``newsrag eval``)."""

from __future__ import annotations

import argparse
import sys

from eval import command
from index.errors import NewsragError
from index.settings import add_index_options


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m eval", description=command.HELP)
    command.add_arguments(parser, index_options=add_index_options)
    args = parser.parse_args(argv)
    try:
        return command.run(args)
    except NewsragError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
