"""How fast the Library tab renders a large library: ``python -m eval.bench_library --articles 5000``.

``fill`` writes a synthetic library straight into the store (titles, outlets and dates drawn from
small word lists, about one article in ten untitled and one in ten undated; one passage each, with
random unit vectors: the listing never reads vectors, so no model is needed and 50,000 articles
take a minute). ``measure`` opens the chat in headless Chromium and times, from the click on the
Library tab, until the first page of the table is drawn; then a search and the next page. Each is
run ``--runs`` times in fresh browser pages; medians are printed as JSON with the server-side
times (catalog read, listing build, one page). ``--baseline`` also measures, in the same run, a
library of two articles (the ratio cancels out the machine's other load).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import random
import statistics
import subprocess
import sys
import time
from pathlib import Path

from eval.processes import free_port, stop, wait_http
from index.offline import OFFLINE_ENV, stay_offline

WORDS = ("harbour council budget storm ferry election court hospital airport drought strike vaccine bridge "
         "refinery wildfire summit tariff pension school museum railway festival flood senate port").split()
VERBS = "approves closes reopens delays rejects expands halts opens funds blocks".split()
OUTLETS = [f"{place} {kind}" for place in ("Gozo", "Valley", "Coast", "Harbour", "Metro", "Island", "River",
                                           "North")
           for kind in ("Gazette", "Ledger", "Courier", "Times", "Review")]
CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--no-first-run"]


def fill(library, n: int, *, seed: int = 7, batch: int = 500, untitled_every: int = 10) -> None:
    """Add ``n`` synthetic articles (one passage each) to ``library``'s store; one in
    ``untitled_every`` has no title (0: none)."""
    import numpy as np

    from index.articles import lead_of
    from index.chunking import make_header
    from index.store import ArticleRecord, ChunkRecord, chunk_id

    rng = random.Random(seed)
    vectors = np.random.default_rng(seed)
    start = time.mktime((2021, 1, 1, 0, 0, 0, 0, 0, -1))
    items = []
    for i in range(n):
        a, b = rng.sample(WORDS, 2)
        untitled = untitled_every and i % untitled_every == 3
        title = None if untitled else f"{a.title()} {rng.choice(VERBS)} {b} plan #{i}"
        body = f"The {a} {rng.choice(VERBS)} the {b} plan on day {i}. Officials said {rng.randint(2, 900)} people " \
               f"were affected in district {i % 97}."
        when = None if i % 10 == 7 else time.strftime("%Y-%m-%d", time.gmtime(start + rng.randint(0, 3 * 365) * 86400))
        outlet = rng.choice(OUTLETS)
        aid, version = f"s{i:07d}", f"vs{i:07d}"
        header = make_header(title, outlet, when)
        chunk = ChunkRecord(id=chunk_id(version, 0), article_id=aid, version=version, index=0,
                            text=header + body, header_len=len(header), start=0, end=len(body),
                            sentences=((0, len(body)),))
        record = ArticleRecord(id=aid, version=version, title=title, lead=lead_of(body), source=outlet,
                               published_at=when, n_chunks=1, ingested_at=time.time(), body=body,
                               origins=({"key": f"synthetic:{i}", "origin": f"synthetic:{i}", "path": "",
                                         "title": title, "source": outlet},))
        vector = vectors.standard_normal((1, 384)).astype("float32")
        items.append((record, [chunk], vector / np.linalg.norm(vector)))
        if len(items) == batch:
            library.store.write_articles(items)
            items = []
    if items:
        library.store.write_articles(items)


def _library(home: Path):
    from index.library import Library
    from index.settings import IndexSettings

    return Library(IndexSettings(home=home))


@contextlib.contextmanager
def serving(library):
    """``newsrag serve`` on the library's data directory and a free loopback port; yields its URL."""
    port = free_port()
    env = {**os.environ, **OFFLINE_ENV, "NEWSRAG_MODEL_DIR": str(library.settings.model_path)}
    process = subprocess.Popen([sys.executable, "-m", "ui.cli", "serve", "--home", str(library.settings.home),
                                "--port", str(port)], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        url = f"http://127.0.0.1:{port}"
        wait_http(f"{url}/healthz", timeout=300, process=process, ready=lambda status: status == 200)
        yield url
    finally:
        stop(process)


def measure(url: str, runs: int) -> dict:
    """Median seconds: Library tab click -> first page drawn; a search; the next page."""
    from playwright.sync_api import sync_playwright

    times: dict[str, list[float]] = {"tab": [], "search": [], "next_page": []}
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        for _ in range(runs):
            page = browser.new_page(viewport={"width": 1440, "height": 900})
            page.set_default_timeout(120_000)
            page.goto(url)
            page.wait_for_selector("#nr-question textarea")
            started = time.perf_counter()
            page.click("button[role=tab]:has-text('Library')")
            page.wait_for_selector("#nr-articles tbody tr")
            page.wait_for_selector("#nr-pager .nr-pager")
            times["tab"].append(time.perf_counter() - started)
            before = page.inner_text("#nr-pager")
            started = time.perf_counter()
            page.locator("#nr-lib-q input").press_sequentially("harbour", delay=0)
            page.wait_for_function("(before) => document.querySelector('#nr-pager').innerText !== before", arg=before)
            times["search"].append(time.perf_counter() - started)
            before = page.inner_text("#nr-pager")
            if page.is_enabled("#nr-next"):
                started = time.perf_counter()
                page.click("#nr-next")
                page.wait_for_function("(before) => document.querySelector('#nr-pager').innerText !== before",
                                       arg=before)
                times["next_page"].append(time.perf_counter() - started)
            page.close()
        browser.close()
    return {k: round(statistics.median(v), 3) for k, v in times.items() if v}


def server_side(library, runs: int) -> dict:
    """Median seconds of the catalog read, the listing build and one page, in this process."""
    from index.browse import ArticleQuery, Listing

    read, build, page = [], [], []
    for _ in range(runs):
        started = time.perf_counter()
        records = library.store.list_articles()
        read.append(time.perf_counter() - started)
        started = time.perf_counter()
        listing = Listing(records)
        build.append(time.perf_counter() - started)
        started = time.perf_counter()
        listing.page(ArticleQuery(q="harbour", sort="oldest", offset=50))
        page.append(time.perf_counter() - started)
    return {"catalog_read": round(statistics.median(read), 4), "listing_build": round(statistics.median(build), 4),
            "page": round(statistics.median(page), 5)}


def run(home: Path, articles: int, runs: int) -> dict:
    library = _library(home)
    have = library.store.counts()["articles"]
    if have < articles:
        started = time.perf_counter()
        fill(library, articles - have, seed=have + 7)
        library.mark_changed()
        print(f"filled {articles - have} articles in {time.perf_counter() - started:.1f} s", file=sys.stderr)
    with serving(library) as url:
        browser = measure(url, runs)
    return {"articles": library.store.counts()["articles"], "browser_s": browser,
            "server_s": server_side(library, runs)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m eval.bench_library", description=__doc__.split("\n\n")[0])
    parser.add_argument("--articles", type=int, nargs="+", default=[5000])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--home", type=Path, default=Path("/tmp/newsrag-bench-library"),
                        help="one data directory per size is kept under it and reused")
    parser.add_argument("--baseline", action="store_true", help="also measure a library of 2 articles")
    args = parser.parse_args(argv)
    stay_offline()
    sizes = ([2] if args.baseline else []) + args.articles
    results = {str(n): run(args.home / f"n{n}", n, args.runs) for n in sizes}
    if args.baseline:
        base = results["2"]["browser_s"]["tab"]
        for n in args.articles:
            results[str(n)]["tab_vs_2_articles"] = round(results[str(n)]["browser_s"]["tab"] / base, 2)
    print(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
