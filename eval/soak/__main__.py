"""``python -m eval.soak``: the scenarios' sub-commands (see ``eval.soak``)."""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
import tempfile
import time
from pathlib import Path

import eval.soak as package
from eval.bench import DEFAULT_CORPUS
from eval.soak.big import scenario_big
from eval.soak.common import DATA
from eval.soak.kill import cmd_state, scenario_kill
from eval.soak.load import scenario_chroma, scenario_load
from eval.soak.probes import Target, scenario_probes
from eval.soak.replicas import scenario_replicas
from index.errors import ConfigError
from index.offline import OFFLINE_ENV


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m eval.soak", description=package.__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    kill = sub.add_parser("kill")
    kill.add_argument("--rounds", type=int, default=20)
    kill.add_argument("--articles", type=int, default=12)
    kill.add_argument("--seed", type=int, default=8)
    load = sub.add_parser("load")
    load.add_argument("--clients", type=int, default=32)
    load.add_argument("--seconds", type=float, default=60)
    load.add_argument("--baseline", type=float, default=30, help="seconds of one client first")
    chroma = sub.add_parser("chroma")
    chroma.add_argument("--clients", type=int, default=8)
    chroma.add_argument("--down", type=float, default=8)
    chroma.add_argument("--articles", type=int, default=12)
    chroma.add_argument("--up", type=float, default=10, help="seconds of load before Chroma is stopped")
    chroma.add_argument("--baseline", type=float, default=10, help="seconds of one client first")
    big = sub.add_parser("big")
    big.add_argument("--mb", type=float, default=9)
    big.add_argument("--sigterm", action="store_true", help="then stop the server in a second such upload")
    replicas = sub.add_parser("replicas")
    replicas.add_argument("--rounds", type=int, default=10)
    probes = sub.add_parser("probes")
    probes.add_argument("--url", help="probe this server (loopback) instead of starting one")
    probes.add_argument("--user", help="with --url: its login's user name")
    probes.add_argument("--password", help="with --url: its login's password")
    probes.add_argument("--token", help="with --url: its API token")
    probes.add_argument("--tmp", type=Path, help="with --url: its TMPDIR, searched for conversations")
    probes.add_argument("--home", type=Path, help="with --url: its home, searched for conversations")
    probes.add_argument("--work", help="folder for the server's home and log (default: a temporary one)")
    everything = sub.add_parser("all")
    everything.add_argument("--short", action="store_true", help="the CI form: a couple of minutes")
    state = sub.add_parser("state")
    state.add_argument("--plan", nargs="+", action="append", required=True, metavar="HOME FEED [PATH]")
    for p in (kill, load, chroma, big, replicas, everything):
        p.add_argument("--work", help="folder for indexes and logs (default: a temporary one)")
        p.add_argument("--data", type=Path, default=DEFAULT_CORPUS.parent,
                       help="the MultiHop-RAG dev slice (corpus.json, MultiHopRAG.json)")
    args = parser.parse_args(argv)
    target = None
    if args.command == "probes" and args.url:
        try:
            target = Target(url=args.url, user=args.user, password=args.password, token=args.token, tmp=args.tmp,
                            home=args.home)
        except ConfigError as exc:
            parser.error(str(exc))
    elif args.command == "probes" and any((args.user, args.password, args.token, args.tmp, args.home)):
        parser.error("--user, --password, --token, --tmp and --home go with --url; without it the probes "
                     "start a server of their own.")
    os.environ.update(OFFLINE_ENV)
    if args.command == "state":
        return cmd_state(args)
    if args.command != "probes":  # the only scenario without the dev slice
        DATA.update(corpus=args.data / "corpus.json", questions=args.data / "MultiHopRAG.json")
    with contextlib.ExitStack() as stack:
        work = Path(args.work) if args.work else Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="soak-")))
        work.mkdir(parents=True, exist_ok=True)
        if args.command == "kill":
            return emit([timed(scenario_kill, work, args.rounds, args.articles, args.seed)])
        if args.command == "load":
            return emit([timed(scenario_load, work, args.clients, args.seconds, args.baseline)])
        if args.command == "chroma":
            return emit([timed(scenario_chroma, work, args.clients, args.down, args.articles, up=args.up,
                               baseline=args.baseline)])
        if args.command == "big":
            return emit([timed(scenario_big, work, args.mb, args.sigterm)])
        if args.command == "replicas":
            return emit([timed(scenario_replicas, work, args.rounds)])
        if args.command == "probes":
            return emit([timed(scenario_probes, work, target)])
        if args.short:  # the load is the Chroma scenario's up phase: one server start fewer
            return emit([timed(scenario_kill, work, 1, 6, 8),
                         timed(scenario_chroma, work, 8, 3, 6, up=6, baseline=3)])
        return emit([timed(scenario_kill, work, 20, 12, 8), timed(scenario_load, work, 32, 60, 30),
                     timed(scenario_chroma, work, 8, 8, 12, up=10, baseline=10), timed(scenario_replicas, work, 10),
                     timed(scenario_probes, work, None), timed(scenario_big, work, 9.9, False)])


def timed(scenario, *args, **kwargs) -> dict:
    started = time.monotonic()
    result = scenario(*args, **kwargs)
    result["wall_s"] = round(time.monotonic() - started, 1)
    print(json.dumps(result), file=sys.stderr, flush=True)  # as it ends: a long run shows its progress
    return result


def emit(results: list[dict]) -> int:
    for result in results:
        print(json.dumps(result), flush=True)
    return 0 if all(r["ok"] for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
