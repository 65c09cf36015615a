"""``newsrag eval``: the evaluation's commands, added to the ``newsrag`` command line through the
package's entry point (``newsrag.commands`` in pyproject.toml; ``ui.cli.command_groups``), or run
on their own: ``python -m eval sample|multihop|plain|all|compare``. This module only parses: the
work is ``eval.cli.run``, imported when a command runs, so ``newsrag --help`` stays light.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable

from index.settings import IndexSettings
from rag.settings import RagSettings

HELP = "run the evaluation sets and compare runs"


def add_arguments(parser: argparse.ArgumentParser, *, index_options: Callable[[argparse.ArgumentParser], None]
                  ) -> None:
    """The actions of ``eval`` and their options on ``parser``; ``index_options`` adds ``--home``
    and ``--collection`` as every ``newsrag`` command has them."""
    mode = RagSettings.__dataclass_fields__["mode"].default
    eval_commands = parser.add_subparsers(dest="eval_command", metavar="ACTION", required=True)
    sample = eval_commands.add_parser("sample", help="the gold set over the sample articles")
    sample.add_argument("--out", help="run folder (default: eval/runs/<timestamp>-sample)")
    sample.add_argument("--mode", help=f"answering mode (default: $NEWSRAG_MODE or {mode})")
    multihop = eval_commands.add_parser("multihop", help="the MultiHop-RAG benchmark (or a slice)")
    multihop.add_argument("--data", required=True, metavar="DIR",
                          help="folder with corpus.json and MultiHopRAG.json")
    multihop.add_argument("--out", help="run folder (default: eval/runs/<timestamp>-multihop)")
    multihop.add_argument("--mode", help=f"answering mode (default: $NEWSRAG_MODE or {mode})")
    multihop.add_argument("--limit", type=int, help="only the first N questions")
    plain = eval_commands.add_parser("plain", help="plain questions a reader types, over train-split articles")
    plain.add_argument("--data", default="../shared/datasets/multihop-rag-train", metavar="DIR",
                       help="the MultiHop-RAG train folder (its corpus.json holds the set's articles)")
    plain.add_argument("--set", dest="set_path", metavar="FILE", help="gold set (default eval/sets/plain.jsonl)")
    plain.add_argument("--out", help="run folder (default: eval/runs/<timestamp>-plain)")
    plain.add_argument("--mode", help=f"answering mode (default: $NEWSRAG_MODE or {mode})")
    plain.add_argument("--check", action="store_true", help="only validate the set against the corpus")
    everything = eval_commands.add_parser("all", help="both sets, then the CI gate")
    everything.add_argument("--data", default="../shared/datasets/multihop-rag-dev", metavar="DIR")
    everything.add_argument("--out", help="parent folder of the two runs")
    compare = eval_commands.add_parser("compare", help="what changed between two runs")
    compare.add_argument("run_a", metavar="RUN_A")
    compare.add_argument("run_b", metavar="RUN_B")
    for sub in (sample, multihop, plain, everything):
        sub.add_argument("--tuning", metavar="FILE", help="a JSON file of answering weights and thresholds "
                                                         "(rag/tuning.py; default: $NEWSRAG_TUNING or the built-in values)")
    for sub in (sample, multihop, plain, everything, compare):
        index_options(sub)


def settings(args: argparse.Namespace) -> RagSettings:
    """The settings of the environment, with the data directory, mode and tuning the arguments give."""
    index = IndexSettings.from_env(home=getattr(args, "home", None), collection=getattr(args, "collection", None))
    return RagSettings.from_env(index=index, mode=getattr(args, "mode", None),
                                tuning_file=getattr(args, "tuning", None))


def run(args: argparse.Namespace) -> int:
    from eval.cli import run as run_eval

    return run_eval(args, settings(args))
