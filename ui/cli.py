"""The ``newsrag`` command line.

Parsing is instant: every command imports what it needs (chromadb, torch, gradio) inside its
handler, so ``newsrag --help`` never loads a model. Errors of ours print as one line
(``error: ...``) with exit status 1; usage errors exit 2; Ctrl-C exits 130.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence

from index.errors import NewsragError

EXIT_FAILED = 1
EXIT_INTERRUPTED = 130


def _add_index_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--home", help="data directory (default: $NEWSRAG_HOME or ./.newsrag)")
    parser.add_argument("--collection", help="index name inside the store (default: newsrag)")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="newsrag",
        description="Ask questions of news articles; every answer cites the sentences it rests on.",
        epilog="Configuration comes from NEWSRAG_* environment variables; see the README.")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    ingest = commands.add_parser("ingest", help="index article files or folders (incremental)")
    ingest.add_argument("paths", nargs="+", metavar="PATH")
    ingest.add_argument("--quiet", action="store_true", help="no progress bar")
    ingest.add_argument("--json", action="store_true", help="print the report as JSON")
    _add_index_options(ingest)

    sync = commands.add_parser("sync", help="make the index mirror a folder (add, update, remove)")
    sync.add_argument("folder", metavar="DIR")
    sync.add_argument("--quiet", action="store_true", help="no progress bar")
    sync.add_argument("--json", action="store_true", help="print the report as JSON")
    _add_index_options(sync)

    articles = commands.add_parser("articles", help="list or remove indexed articles")
    article_commands = articles.add_subparsers(dest="articles_command", metavar="ACTION", required=True)
    listing = article_commands.add_parser("list", help="list indexed articles")
    listing.add_argument("--json", action="store_true")
    _add_index_options(listing)
    show = article_commands.add_parser("show", help="print one article")
    show.add_argument("id")
    show.add_argument("--json", action="store_true")
    _add_index_options(show)
    remove = article_commands.add_parser("remove", help="remove an article and its chunks")
    remove.add_argument("id")
    _add_index_options(remove)

    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    from ui import commands as handlers

    try:
        return handlers.dispatch(args)
    except NewsragError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_FAILED
    except KeyboardInterrupt:
        print("\ninterrupted: the index is consistent; run the same command again to finish.",
              file=sys.stderr)
        return EXIT_INTERRUPTED


def print_json(data: object) -> None:
    json.dump(data, sys.stdout, ensure_ascii=False, indent=2)
    sys.stdout.write("\n")


if __name__ == "__main__":
    sys.exit(main())
