"""Handlers of the ``newsrag`` commands: build settings, call ``index``/``rag``, print results."""

from __future__ import annotations

import argparse
import json
import sys

from index.progress import ProgressBar
from index.settings import IndexSettings

EXIT_FAILED = 1  # an error of ours, printed in one line (``ui.cli.main``)


def print_json(data: object) -> None:
    json.dump(data, sys.stdout, ensure_ascii=False, indent=2)
    sys.stdout.write("\n")


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


def _when(ts: float | None) -> str:
    import time

    return time.strftime("%Y-%m-%d %H:%M", time.localtime(ts)) if ts else "-"


def cmd_feeds(args) -> int:
    from index.feeds import Feeds, parse_every, public_feed

    settings = index_settings(args)
    feeds = Feeds(settings.home)
    action = args.feeds_command
    if action == "add":
        feed = feeds.add(args.url, every=parse_every(args.every, minimum=settings.fetch.min_every), name=args.name)
        print(f"added {feed['id']} {feed['url']} (every {feed['every']} s); `newsrag feeds poll {feed['id']}` "
              "polls it now, `newsrag serve` on its interval")
        return 0
    if action == "remove":
        feed = feeds.remove(feeds.find(args.feed)["id"])
        print(f"removed {feed['id']} {feed['url']} (its articles stay in the library)")
        return 0
    if action == "list":
        listed = [public_feed(f) for f in feeds.all()]
        if args.json:
            print_json(listed)
            return 0
        if not listed:
            print("No feeds — add one with `newsrag feeds add URL [--every 30m]`.")
            return 0
        for f in listed:
            last = f["last"] or {}
            counts = (f"{last.get('new', 0)} new, {last.get('updated', 0)} updated, {last.get('failed', 0)} failed"
                      if not last.get("not_modified") else "not modified")
            print(f"{f['id']}  {f['status']:6}  every {f['every']:>6} s  last {_when(f['last_poll'])}  "
                  f"next {_when(f['next_poll'])}  {counts}  {f['name']}")
            if f["last_error"]:
                print(f"    error: {f['last_error']}")
        return 0
    return _poll(args, settings, feeds)


def _poll(args, settings, feeds) -> int:
    from index.feeds import Poller
    from index.library import Library

    if args.feed:
        chosen, scheduled = [feeds.find(args.feed)], False
    elif args.all:
        chosen, scheduled = feeds.all(), False
    else:
        chosen, scheduled = feeds.due(), True  # cron: what is due, unless another server polls it
    library = Library(settings)
    poller = Poller(library)
    results, failed, changed = [], False, False
    try:
        for feed in chosen:
            bar = ProgressBar(enabled=not args.quiet and not args.json)
            try:
                result = poller.poll(feed["id"], scheduled=scheduled, progress=bar)
            finally:
                bar.close()
            failed |= result.feed["status"] == "failed" or bool((result.feed["last"] or {}).get("failed"))
            changed |= bool(result.report and (result.report.added or result.report.updated))
            results.append(result)
            if not args.json:
                print(result.summary())
                for line in (result.feed["last"] or {}).get("errors", []):
                    print(f"error: {line}", file=sys.stderr)
    finally:
        poller.close()
    if args.json:
        from index.feeds import public_feed

        print_json([{"feed": public_feed(r.feed), "skipped": r.skipped,
                     "report": r.report.to_dict() if r.report else None} for r in results])
    elif not chosen:
        print("No feed is due." if feeds.all() else "No feeds — add one with `newsrag feeds add URL`.")
    if changed:
        _check_watches(args, library, quiet=args.json)
    return EXIT_FAILED if failed else 0


def _check_watches(args, library, *, quiet: bool = False) -> None:
    """After an ingest: every watched question answered again; changes printed."""
    from rag.watches import Watches
    from ui.stream import story_resolver

    watches = Watches(library.settings.home)
    if not watches.all():
        return
    from rag.pipeline import Pipeline

    pipeline = Pipeline(rag_settings(args), library=library)
    for watch in watches.check_all(pipeline.ask, story_resolver(library)):
        if not quiet:
            print(f"watched question changed: {watch['question']} — {'; '.join(watch['history'][-1]['changes'])}")


def cmd_watch(args) -> int:
    from rag.watches import Watches, public_watch

    settings = index_settings(args)
    watches = Watches(settings.home)
    action = args.watch_command
    if action in ("add", "check"):
        from rag.pipeline import Pipeline
        from ui.stream import story_resolver

        pipeline = Pipeline(rag_settings(args))
        story_of = story_resolver(pipeline.library)
        if action == "add":
            watch = watches.add(args.question)
            watch = watches.check(watch["id"], pipeline.ask, story_of)
            shown = public_watch(watch)
            print(f"watching {watch['id']}: {watch['question']}")
            print(f"  now: {shown['direct'] or shown['answer'] or shown['error']}")
            return 0
        changed = watches.check_all(pipeline.ask, story_of)
        for watch in changed:
            print(f"changed {watch['id']}: {watch['question']} — {'; '.join(watch['history'][-1]['changes'])}")
        print(f"{len(watches.all())} watched, {len(changed)} changed")
        return 0
    if action == "remove":
        watch = watches.remove(args.id)
        print(f"no longer watching {watch['id']}: {watch['question']}")
        return 0
    if action == "show":
        watch = public_watch(watches.get(args.id), history=True)
        if args.json:
            print_json(watch)
            return 0
        print(watch["question"])
        for h in watch["history"]:
            why = "; ".join(h["changes"]) or "first answer"
            print(f"  {_when(h['at'])}  {why}\n    {h['direct'] or h['answer'][:200]}")
        return 0
    listed = [public_watch(w) for w in watches.all()]
    if args.json:
        print_json(listed)
        return 0
    if not listed:
        print('No watched questions — `newsrag watch add "How many drones were intercepted?"`.')
    for w in listed:
        mark = "*" if w["changed"] else " "
        print(f"{mark} {w['id']}  {w['question']}  — {w['direct'] or (w['answer'] or '')[:80]}")
    return 0


HANDLERS = {"ingest": cmd_ingest, "sync": cmd_sync, "articles": cmd_articles, "ask": cmd_ask,
            "serve": cmd_serve, "mcp": cmd_mcp, "feeds": cmd_feeds, "watch": cmd_watch}


def dispatch(args: argparse.Namespace) -> int:
    return HANDLERS[args.command](args)
