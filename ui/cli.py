"""The ``newsrag`` command line.

Parsing is instant: every command imports what it needs (chromadb, torch, gradio) inside its
handler, so ``newsrag --help`` never loads a model. Errors of ours print as one line
(``error: ...``) with exit status 1; usage errors exit 2; Ctrl-C exits 130.
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
from collections.abc import Sequence

from index.errors import NewsragError
from index.settings import add_index_options
from rag.settings import RagSettings
from ui.settings import DEFAULT_HOST, DEFAULT_PORT

EXIT_INTERRUPTED = 130


def _default(settings, name: str):
    """The default of a settings field, as the settings write it (the help text repeats none)."""
    field = settings.__dataclass_fields__[name]
    return field.default_factory() if field.default_factory is not dataclasses.MISSING else field.default





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
    add_index_options(ingest)

    sync = commands.add_parser("sync", help="make the index mirror a folder (add, update, remove)")
    sync.add_argument("folder", metavar="DIR")
    sync.add_argument("--quiet", action="store_true", help="no progress bar")
    sync.add_argument("--json", action="store_true", help="print the report as JSON")
    add_index_options(sync)

    articles = commands.add_parser("articles", help="list or remove indexed articles")
    article_commands = articles.add_subparsers(dest="articles_command", metavar="ACTION", required=True)
    listing = article_commands.add_parser("list", help="list indexed articles")
    listing.add_argument("--json", action="store_true")
    add_index_options(listing)
    show = article_commands.add_parser("show", help="print one article")
    show.add_argument("id")
    show.add_argument("--json", action="store_true")
    add_index_options(show)
    remove = article_commands.add_parser("remove", help="remove an article and its chunks")
    remove.add_argument("id")
    add_index_options(remove)

    ask = commands.add_parser("ask", help="answer a question from the indexed articles, with citations")
    ask.add_argument("question")
    ask.add_argument("--json", action="store_true", help="print the answer object as JSON")
    mode = _default(RagSettings, "mode")
    ask.add_argument("--mode", help=f"extractive (no LLM), openai, ollama or llamacpp (default: $NEWSRAG_MODE or {mode})")
    ask.add_argument("--top-k", type=int,
                     help=f"passages given to the answerer (default: $NEWSRAG_TOP_K or {_default(RagSettings, 'top_k')})")
    ask.add_argument("--source", action="append", metavar="OUTLET",
                     help="only articles from this outlet (repeat, or separate with '|')")
    ask.add_argument("--since", metavar="YYYY-MM-DD", help="only articles published on or after")
    ask.add_argument("--until", metavar="YYYY-MM-DD", help="only articles published on or before")
    add_index_options(ask)

    serve = commands.add_parser("serve", help="start the chat and the HTTP API")
    serve.add_argument("--host", default=DEFAULT_HOST,
                       help=f"address to bind (default {DEFAULT_HOST}; any other needs NEWSRAG_AUTH)")
    serve.add_argument("--port", type=int, default=DEFAULT_PORT)
    add_index_options(serve)

    feeds = commands.add_parser("feeds", help="feeds (RSS, Atom, JSON Feed, sitemaps) that keep the library current")
    feed_commands = feeds.add_subparsers(dest="feeds_command", metavar="ACTION", required=True)
    feed_add = feed_commands.add_parser("add", help="add a feed (polled by `newsrag serve`, or `feeds poll`)")
    feed_add.add_argument("url")
    feed_add.add_argument("--every", default="30m", help="interval: 30m (default), 2h, 1d, 90s")
    feed_add.add_argument("--name", help="how the feed is shown (default: its title)")
    feed_list = feed_commands.add_parser("list", help="the feeds, their last and next poll")
    feed_list.add_argument("--json", action="store_true")
    feed_remove = feed_commands.add_parser("remove", help="stop polling a feed (its articles stay)")
    feed_remove.add_argument("feed", metavar="ID|URL|NAME")
    feed_poll = feed_commands.add_parser("poll", help="poll the feeds that are due (for cron), one feed, or --all")
    feed_poll.add_argument("feed", nargs="?", metavar="ID|URL|NAME")
    feed_poll.add_argument("--all", action="store_true", help="every feed, due or not")
    feed_poll.add_argument("--quiet", action="store_true", help="no progress bar")
    feed_poll.add_argument("--json", action="store_true", help="print the results as JSON")
    for sub in (feed_add, feed_list, feed_remove, feed_poll):
        add_index_options(sub)

    watch = commands.add_parser("watch", help="watched questions: answered again after every ingest")
    watch_commands = watch.add_subparsers(dest="watch_command", metavar="ACTION", required=True)
    watch_add = watch_commands.add_parser("add", help="watch a question (answered now, and after each ingest)")
    watch_add.add_argument("question")
    watch_list = watch_commands.add_parser("list", help="watched questions, marked * when changed")
    watch_list.add_argument("--json", action="store_true")
    watch_show = watch_commands.add_parser("show", help="a watched question and the history of its answers")
    watch_show.add_argument("id")
    watch_show.add_argument("--json", action="store_true")
    watch_remove = watch_commands.add_parser("remove", help="stop watching a question")
    watch_remove.add_argument("id")
    watch_check = watch_commands.add_parser("check", help="answer every watched question again now")
    for sub in (watch_add, watch_list, watch_show, watch_remove, watch_check):
        add_index_options(sub)

    mcp = commands.add_parser("mcp", help="serve the library to desktop assistants over MCP (stdio)")
    mcp.add_argument("--mode", help=f"default answering mode of the `ask` tool (default: $NEWSRAG_MODE or {mode})")
    add_index_options(mcp)

    for name, command in command_groups().items():  # `newsrag eval`: the evaluation's own commands
        group = commands.add_parser(name, help=command.HELP)
        command.add_arguments(group, index_options=add_index_options)
        group.set_defaults(group=command)
    return parser


COMMAND_GROUP = "newsrag.commands"


def command_groups() -> dict:
    """Commands other packages add to ``newsrag``, by name: the entry points of ``COMMAND_GROUP``
    (pyproject.toml), each an object with ``HELP``, ``add_arguments(parser, index_options=...)`` and
    ``run(args)``. The evaluation (``newsrag eval``) is one: ui and eval are layers side by side and
    never import each other (``make lint``); the package's metadata joins them."""
    from importlib.metadata import entry_points

    return {point.name: point.load() for point in sorted(entry_points(group=COMMAND_GROUP), key=lambda p: p.name)}


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    from ui import commands as handlers

    try:
        group = getattr(args, "group", None)
        return group.run(args) if group is not None else handlers.dispatch(args)
    except NewsragError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return handlers.EXIT_FAILED
    except BrokenPipeError:  # `newsrag ... | head`
        sys.stderr.close()
        return 0
    except KeyboardInterrupt:
        print("\ninterrupted: the index is consistent; run the same command again to finish.",
              file=sys.stderr)
        return EXIT_INTERRUPTED


if __name__ == "__main__":
    sys.exit(main())
