"""Handlers of the ``newsrag`` commands: build settings, call ``index``/``rag``, print results."""

from __future__ import annotations

import argparse
import sys

from index.progress import ProgressBar
from index.settings import IndexSettings
from ui.cli import EXIT_FAILED, print_json


def index_settings(args: argparse.Namespace) -> IndexSettings:
    return IndexSettings.from_env(home=getattr(args, "home", None),
                                  collection=getattr(args, "collection", None))


def open_library(args: argparse.Namespace):
    from index.library import Library

    return Library(index_settings(args))


def _report(report, args) -> int:
    if args.json:
        print_json(report.to_dict())
    else:
        for failure in report.failures:
            print(f"error: {failure}", file=sys.stderr)
        print(report.summary())
    return EXIT_FAILED if report.failures else 0


def _with_progress(args, action) -> int:
    """Run an ingest-like ``action(library, progress)`` with a progress bar, then report it."""
    library = open_library(args)
    bar = ProgressBar(enabled=not args.quiet and not args.json)
    try:
        report = action(library, bar)
    finally:
        bar.close()
    return _report(report, args)


def cmd_ingest(args) -> int:
    return _with_progress(args, lambda library, bar: library.ingest(args.paths, progress=bar))


def cmd_sync(args) -> int:
    return _with_progress(args, lambda library, bar: library.sync(args.folder, progress=bar))


def cmd_articles(args) -> int:
    library = open_library(args)
    if args.articles_command == "list":
        records = library.articles()
        if args.json:
            print_json([r.to_dict() for r in records])
            return 0
        if not records:
            print(f"No articles indexed in {library.where} — run `newsrag ingest data/articles`.")
            return 0
        for r in records:
            date = (r.published_at or "")[:10] or "-"
            print(f"{r.id}  {date:10}  {', '.join(r.sources) or '-':24.24}  {r.n_chunks:3d} chunks  {r.display_title}")
        print(f"{len(records)} article{'s' if len(records) != 1 else ''}")
        return 0
    if args.articles_command == "show":
        record = library.article(args.id)
        if args.json:
            print_json(record.to_dict(with_body=True))
        else:
            print(record.display_title)
            print(" · ".join(x for x in (", ".join(record.sources), record.published_at, record.author,
                                         record.url) if x))
            print()
            print(record.body)
        return 0
    record = library.remove(args.id)
    print(f"removed {record.id} ({record.display_title}, {record.n_chunks} chunks)")
    return 0


def rag_settings(args: argparse.Namespace, **overrides):
    from rag.settings import RagSettings

    return RagSettings.from_env(index=index_settings(args), **overrides)


def parse_filters(args: argparse.Namespace):
    from rag.filters import make_filters

    return make_filters(sources=args.source, since=args.since, until=args.until)


def cmd_ask(args) -> int:
    from rag.pipeline import Pipeline
    from ui.render import answer_as_text

    filters = parse_filters(args)
    pipeline = Pipeline(rag_settings(args, mode=args.mode))
    preload = getattr(pipeline.library.embedder, "preload", None)
    if preload is not None:  # the encoder loads while the store opens
        preload()
    answer = pipeline.ask(args.question, mode=args.mode, top_k=args.top_k, filters=filters)
    if args.json:
        print_json(answer.to_dict())
    else:
        print(answer_as_text(answer))
    return 0


def cmd_serve(args) -> int:
    from ui.server import serve

    return serve(rag_settings(args), host=args.host, port=args.port)


def cmd_mcp(args) -> int:
    from ui.mcp_server import run

    return run(rag_settings(args, mode=args.mode))


def cmd_eval(args) -> int:
    from eval.cli import run

    return run(args, rag_settings(args, mode=getattr(args, "mode", None), tuning_file=getattr(args, "tuning", None)))


HANDLERS = {"ingest": cmd_ingest, "sync": cmd_sync, "articles": cmd_articles, "ask": cmd_ask,
            "serve": cmd_serve, "mcp": cmd_mcp, "eval": cmd_eval}


def dispatch(args: argparse.Namespace) -> int:
    return HANDLERS[args.command](args)
