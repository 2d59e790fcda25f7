"""``python -m arena battle leaderboard|export|import`` (and ``battle judge``, from the battles' side).

Each action's parser is added by one function in ``SUBCOMMANDS`` and sets ``run(args, settings) -> exit code``.
"""

from __future__ import annotations

import argparse
import json
import math
from pathlib import Path

from arena.inputs import parse_day
from arena.settings import Settings
from arena.wording import counted

ROUNDS = 100  # arena.battles.ratings.ROUNDS, without importing numpy and scipy for every command


def add_commands(commands) -> None:
    actions = commands.add_parser("battle", help="votes on blind battles and the leaderboard they make"
                                  ).add_subparsers(dest="action", required=True)
    for add in SUBCOMMANDS:
        add(actions)


def run_command(args: argparse.Namespace, settings: Settings) -> int:
    return args.run(args, settings)


def _add_leaderboard(actions) -> None:
    sub = actions.add_parser("leaderboard", help="Bradley–Terry ratings with 95%% bootstrap intervals")
    sub.add_argument("--kind", choices=["text", "image"], default="text", help="text models or image generators")
    sub.add_argument("--voter", default="people",
                     help="people (blind votes, the default), named (Compare's picks) or a judge model's name")
    sub.add_argument("--suite", help="only votes on cases of this suite")
    sub.add_argument("--tag", help="only votes on cases with this tag")
    sub.add_argument("--since", help="from this date (YYYY-MM-DD)")
    sub.add_argument("--until", help="up to this date, inclusive (YYYY-MM-DD)")
    sub.add_argument("--with-leaks", action="store_true",
                     help="count blind votes whose answers named a model or vendor")
    sub.add_argument("--rounds", type=int, default=ROUNDS, help="bootstrap rounds (default %(default)s)")
    sub.add_argument("--seed", type=int, default=0, help="bootstrap seed (the same votes and seed: the same table)")
    sub.add_argument("--json", action="store_true", help="a JSON list of the rows")
    sub.set_defaults(run=leaderboard_command)


def _add_export(actions) -> None:
    sub = actions.add_parser("export", help="write every vote as JSON Lines, or CSV when --out ends in .csv")
    sub.add_argument("--out", type=Path, required=True)
    sub.add_argument("--kind", choices=["text", "image"], help="only votes on text models or on image generators")
    sub.add_argument("--voter", help="only people (blind), named, or this judge's votes (flagged ones included)")
    sub.set_defaults(run=export_command)


def _add_import(actions) -> None:
    sub = actions.add_parser("import", help="read votes: our JSON Lines, or FastChat battles (JSON list or lines)")
    sub.add_argument("file", type=Path)
    sub.add_argument("--kind", choices=["text", "image"], default="text",
                     help="what FastChat battles are of (they do not say; default %(default)s)")
    sub.set_defaults(run=import_command)


def _add_judge(actions) -> None:
    sub = actions.add_parser("judge", help="a judge model votes on each pair of a suite run's outputs, per case")
    sub.add_argument("run_id", help="a finished suite run (python -m arena suite runs)")
    sub.add_argument("--judge", required=True, help="the judging model (a text model; one that takes images for "
                                                    "pictures)")
    sub.set_defaults(run=judge_command)


# Add a function here to give ``battle`` another action.
SUBCOMMANDS = [_add_leaderboard, _add_export, _add_import, _add_judge]


def leaderboard_command(args: argparse.Namespace, settings: Settings) -> int:
    from arena.battles.leaderboard import board, vote_filter
    from arena.store import open_store

    if args.rounds < 0 or args.rounds > 10_000:
        from arena.cli.common import CliError
        raise CliError("--rounds is between 0 and 10000.")
    where = vote_filter(kind=args.kind, voter=args.voter, suite=args.suite, case_tag=args.tag,
                        since=parse_day(args.since), until=parse_day(args.until, end_of_day=True),
                        include_leaks=args.with_leaks)
    table = board(open_store(settings), where, rounds=args.rounds, seed=args.seed)
    if args.json:
        print(json.dumps([_rounded(row.to_dict()) for row in table.rows], indent=2, ensure_ascii=False))
        return 0
    if not table.rows:
        print(f"No votes yet for {args.kind} models from {args.voter}.")
        return 0
    width = max(len(row.model) for row in table.rows)
    print(f"{'rank':>4}  {'model':<{width}}  {'rating':>7}  {'95% interval':>15}  {'votes':>6}  {'win rate':>8}  note")
    for row in table.rows:
        interval = f"{row.lower:.0f} – {row.upper:.0f}" if row.lower is not None else "—"
        rating = f"{row.rating:.0f}" if row.rating is not None else "—"
        rate = f"{row.win_rate:.0%}" if row.win_rate is not None else "—"
        print(f"{row.rank or '—':>4}  {row.model:<{width}}  {rating:>7}  {interval:>15}  {row.votes:>6}  {rate:>8}  "
              f"{row.note}")
    print(f"{table.votes} votes, {table.rounds} bootstrap rounds (seed {table.seed})")
    return 0


def export_command(args: argparse.Namespace, settings: Settings) -> int:
    from arena.battles.leaderboard import export_votes
    from arena.store import open_store

    where = None
    if args.kind or args.voter:
        from arena.battles.leaderboard import vote_filter
        from arena.store.votes import VoteFilter

        where = (vote_filter(kind=args.kind, voter=args.voter, include_leaks=True) if args.voter
                 else VoteFilter(kind=args.kind, voter_kind=None))
    count = export_votes(open_store(settings), args.out, where)
    print(f"{counted(count, 'vote')} -> {args.out}")
    return 0


def import_command(args: argparse.Namespace, settings: Settings) -> int:
    from arena.battles.leaderboard import import_votes
    from arena.store import open_store

    stored, skipped = import_votes(open_store(settings), args.file, kind=args.kind)
    print(f"{counted(stored, 'vote')} imported" + (f", {skipped} already there" if skipped else "")
          + f" from {args.file}")
    return 0


def judge_command(args: argparse.Namespace, settings: Settings) -> int:
    """Each pair asked in both orders; one line per pair as it is judged, then the summary."""
    from arena.battles.judge import RunJudge
    from arena.cli.common import load_catalog, open_engine, open_store

    with open_engine(load_catalog(settings), settings, open_store(settings)) as engine:
        judging = RunJudge(engine, args.run_id, args.judge)
        words = {"a": "{a} wins", "b": "{b} wins", "tie": "tie", None: "no readable verdict"}
        report = judging.run_all(on_pair=lambda pair: print(
            f"{pair.case_id}: {pair.model_a} vs {pair.model_b}: "
            + words[pair.outcome].format(a=pair.model_a, b=pair.model_b)
            + (f" ({pair.problem})" if pair.problem else ""), flush=True))
    print(report.summary())
    return 0


def _rounded(row: dict) -> dict:
    return {k: (round(v, 2) if isinstance(v, float) and math.isfinite(v) else v) for k, v in row.items()}
