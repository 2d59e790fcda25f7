"""``python -m arena pull NAME [NAME …]``: download catalog models' weights into the Hugging Face cache.

    python -m arena pull smolvlm-256m sd-turbo

The same checks and download as the app's Download button (only the files the loader needs, disk space first,
resume after Ctrl-C or a lost connection), with a progress bar on stderr.
"""

from __future__ import annotations

import argparse
import sys

from arena import downloads, hub
from arena.catalog import Catalog
from arena.cli.common import CliError, say
from arena.settings import Settings


def add_commands(commands) -> None:
    pull = commands.add_parser("pull", help="download models' weights (Hugging Face cache) for local use")
    pull.add_argument("names", nargs="+", metavar="NAME", help="catalog names (see `models`)")


def run_command(args: argparse.Namespace, catalog: Catalog, settings: Settings) -> int:
    unknown = [name for name in args.names if name not in catalog]
    if unknown:
        raise CliError(f"unknown model {', '.join(unknown)}; see `models` for the catalog's names")
    failed = 0
    for name in args.names:
        entry = catalog[name]
        if not hub.is_hub_entry(entry):
            print(f"{name}: nothing to download ({entry.model} is not a Hugging Face model of a local kind)")
            continue
        try:
            download = _pull(entry)
        except KeyboardInterrupt:
            say(f"{name}: stopped; `pull {name}` again goes on from where it stopped")
            return 130
        if download.state == "done":
            got = hub.human_bytes(download.total_bytes)
            snapshot = hub.local_snapshot(entry)
            disk = hub.folder_bytes(snapshot) if snapshot is not None else 0
            print(f"{name}: {'downloaded ' + got if download.total_bytes else 'already downloaded'} "
                  f"({entry.model}, {hub.human_bytes(disk)} on disk)")
        else:
            say(f"{name}: {download.error}")
            failed += 1
    return 1 if failed else 0


def _pull(entry) -> downloads.Download:
    from tqdm import tqdm

    download = downloads.Download(entry)
    bar: list[tqdm] = []

    def show(progress: downloads.Download) -> None:
        if progress.state != "downloading":
            return
        if not bar:
            bar.append(tqdm(total=progress.total_bytes, unit="B", unit_scale=True, unit_divisor=1000,
                            desc=entry.name, file=sys.stderr, mininterval=0.2, leave=True))
        bar[0].update(progress.done_bytes - bar[0].n)

    download.listeners.append(show)
    try:
        downloads.pull(download)
    finally:
        if bar:
            bar[0].close()
    return download
